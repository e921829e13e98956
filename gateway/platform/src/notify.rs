//! The sd_notify protocol, written out: one datagram of `KEY=value` lines to the socket named
//! in `$NOTIFY_SOCKET` (a path, or `@name` for the abstract namespace). It is small enough that a
//! dependency would only add surface.

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

use crate::Error;

/// The environment variable systemd sets for `Type=notify` services.
pub const NOTIFY_SOCKET_ENV: &str = "NOTIFY_SOCKET";
/// systemd's watchdog period in microseconds (`WatchdogSec=`).
pub const WATCHDOG_USEC_ENV: &str = "WATCHDOG_USEC";
/// The pid the watchdog period is meant for; absent means "whoever reads it".
pub const WATCHDOG_PID_ENV: &str = "WATCHDOG_PID";

/// A connected-to-nothing datagram socket plus the address systemd listens on.
#[derive(Debug)]
pub struct Notifier {
    socket: UnixDatagram,
    addr: SocketAddr,
    /// The address as given, for error messages.
    name: String,
}

impl Notifier {
    /// The notifier for `$NOTIFY_SOCKET`, or `None` when not run by systemd.
    pub fn from_env() -> Result<Option<Notifier>, Error> {
        match std::env::var(NOTIFY_SOCKET_ENV) {
            Ok(v) if !v.is_empty() => Notifier::new(&v).map(Some),
            _ => Ok(None),
        }
    }

    /// A notifier for `addr`: a filesystem path, or `@name` for the abstract namespace.
    pub fn new(addr: &str) -> Result<Notifier, Error> {
        let bad = |reason| Error::NotifyAddress {
            addr: addr.to_owned(),
            reason,
        };
        let sock_addr = if let Some(name) = addr.strip_prefix('@') {
            SocketAddr::from_abstract_name(name.as_bytes())
                .map_err(|_| bad("abstract name too long"))?
        } else if addr.starts_with('/') {
            SocketAddr::from_pathname(addr).map_err(|_| bad("path too long"))?
        } else {
            // systemd also knows vsock addresses; an appliance never gets one.
            return Err(bad("neither an absolute path nor @abstract"));
        };
        let socket = UnixDatagram::unbound().map_err(|source| Error::Notify {
            addr: addr.to_owned(),
            source,
        })?;
        Ok(Notifier {
            socket,
            addr: sock_addr,
            name: addr.to_owned(),
        })
    }

    /// Sends `state` (newline-separated `KEY=value` assignments) as one datagram.
    pub fn send(&self, state: &str) -> Result<(), Error> {
        self.socket
            .send_to_addr(state.as_bytes(), &self.addr)
            .map(|_| ())
            .map_err(|source| Error::Notify {
                addr: self.name.clone(),
                source,
            })
    }

    /// `READY=1` with `MAINPID=` (this process) and a first status line.
    pub fn ready(&self, status: &str) -> Result<(), Error> {
        self.send(&format!(
            "READY=1\nMAINPID={}\nSTATUS={}",
            std::process::id(),
            one_line(status)
        ))
    }

    /// `STATUS=`: the line `systemctl status` shows.
    pub fn status(&self, status: &str) -> Result<(), Error> {
        self.send(&format!("STATUS={}", one_line(status)))
    }

    /// `WATCHDOG=1`: one pet of systemd's service watchdog.
    pub fn watchdog(&self) -> Result<(), Error> {
        self.send("WATCHDOG=1")
    }

    /// `STOPPING=1`: shutdown has begun.
    pub fn stopping(&self) -> Result<(), Error> {
        self.send("STOPPING=1")
    }

    /// `MAINPID=`: tells systemd which pid is the service's main process.
    pub fn main_pid(&self, pid: u32) -> Result<(), Error> {
        self.send(&format!("MAINPID={pid}"))
    }
}

/// A newline inside `STATUS=` would start a new assignment; flatten it.
fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

/// systemd's watchdog period for this process (`WatchdogSec=`), if it set one. Pet at half of it.
pub fn watchdog_period_from_env() -> Option<Duration> {
    let usec: u64 = std::env::var(WATCHDOG_USEC_ENV).ok()?.parse().ok()?;
    if let Ok(pid) = std::env::var(WATCHDOG_PID_ENV) {
        if pid.parse::<u32>().ok()? != std::process::id() {
            return None;
        }
    }
    (usec > 0).then(|| Duration::from_micros(usec))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_to_a_path_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let rx = UnixDatagram::bind(&path).unwrap();
        let n = Notifier::new(path.to_str().unwrap()).unwrap();
        n.ready("2 workers\nup").unwrap();
        n.watchdog().unwrap();
        let mut buf = [0u8; 512];
        let len = rx.recv(&mut buf).unwrap();
        let got = std::str::from_utf8(&buf[..len]).unwrap();
        assert_eq!(
            got,
            format!(
                "READY=1\nMAINPID={}\nSTATUS=2 workers up",
                std::process::id()
            )
        );
        let len = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..len], b"WATCHDOG=1");
    }

    #[test]
    fn sends_to_an_abstract_socket() {
        let name = format!("cordon-notify-test-{}", std::process::id());
        let rx = UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(&name).unwrap()).unwrap();
        let n = Notifier::new(&format!("@{name}")).unwrap();
        n.stopping().unwrap();
        let mut buf = [0u8; 64];
        let len = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..len], b"STOPPING=1");
    }

    #[test]
    fn rejects_relative_addresses() {
        assert!(matches!(
            Notifier::new("relative/path"),
            Err(Error::NotifyAddress { .. })
        ));
    }
}
