//! The health half of `status`, what an administrator asks first: which config runs and
//! whether the file on disk differs, who applied it last, whether each smart host answers
//! now, when the SMTP certificate expires, and the newest incidents.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use cordon_config::{Config, SmartHost};
use cordon_control::bounded;
use cordon_wire::limits::{MAX_RECENT_INCIDENTS, MAX_STATUS_SMARTHOSTS};
use cordon_wire::{AuditRecord, IncidentBrief, SmartHostCheck, Text, TlsInfo};

use super::GatewayBackend;

/// How long a smart host may take to accept the connection, and then to greet: a smart host
/// on the LAN answers in milliseconds, Exchange Online in tens of them; one that takes
/// seconds is a problem worth showing. The hosts are checked at once, so `status` waits at
/// most about twice this (plus name resolution).
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// Bytes of the greeting read: its first line is what `status` shows.
const GREETING_READ: usize = 512;

impl GatewayBackend {
    /// Which config runs and whether the file `cordon run` was given differs from it.
    pub(super) fn origin(&self) -> (Text, bool) {
        let current = self.persisted.current();
        let file = self.file.display();
        match std::fs::read_to_string(&self.file) {
            Ok(text) if text == current.record.toml => (
                bounded(&format!(
                    "stored generation {} runs; the file {file} is the same",
                    current.generation
                )),
                false,
            ),
            Ok(_) => (
                bounded(&format!(
                    "stored generation {} runs; the file {file} differs from it (`cordonctl config apply {file}` stores it, `cordon run --config-source=file` runs it at the next start)",
                    current.generation
                )),
                true,
            ),
            Err(e) => (
                bounded(&format!(
                    "stored generation {} runs; the file {file} is unreadable: {e}",
                    current.generation
                )),
                true,
            ),
        }
    }

    /// The newest apply or rollback, looked up once and again after each audit record.
    pub(super) fn last_apply(&self) -> Option<AuditRecord> {
        let mut cached = self.last_apply.lock().unwrap_or_else(|p| p.into_inner());
        cached
            .get_or_insert_with(|| crate::incidents::last_apply(&self.journals, self.worker))
            .clone()
    }

    /// The newest incidents over every journal, in one line each.
    pub(super) fn recent(&self) -> heapless::Vec<IncidentBrief, MAX_RECENT_INCIDENTS> {
        crate::incidents::recent(&self.journals, MAX_RECENT_INCIDENTS)
            .into_iter()
            .map(|i| IncidentBrief {
                worker: i.worker,
                seq: i.seq,
                time_unix: i.time_unix,
                action: i.action,
                rule: i.rule,
                sender: i.sender,
            })
            .collect()
    }
}

/// The SMTP listener's certificate, read from its file now (what a restart or reload serves).
pub fn certificate(config: &Config) -> Option<TlsInfo> {
    let tls = config.gateway.tls.as_ref()?;
    let pem = std::fs::read(&tls.certificate.path).ok()?;
    cordon_control::certificate_info(&pem).ok()
}

/// Every smart host of `config` checked at once (first [`MAX_STATUS_SMARTHOSTS`]).
pub fn check_smarthosts(config: &Config) -> heapless::Vec<SmartHostCheck, MAX_STATUS_SMARTHOSTS> {
    let hosts: Vec<&SmartHost> = config
        .relay
        .smarthosts
        .iter()
        .take(MAX_STATUS_SMARTHOSTS)
        .collect();
    std::thread::scope(|s| {
        let checks: Vec<_> = hosts.iter().map(|h| s.spawn(|| check(h))).collect();
        checks
            .into_iter()
            .zip(&hosts)
            .map(|(c, h)| {
                c.join().unwrap_or_else(|_| SmartHostCheck {
                    address: bounded(&h.to_string()),
                    ok: false,
                    millis: 0,
                    detail: bounded("the check failed"),
                })
            })
            .collect()
    })
}

/// Connects to `host` and reads its greeting (a `220` is healthy), then says QUIT. A host
/// with TLS from the first byte is only connected to: its greeting comes after a handshake
/// this check does not make.
fn check(host: &SmartHost) -> SmartHostCheck {
    let started = Instant::now();
    let result = greet(host);
    let millis = u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX);
    let (ok, detail) = result.unwrap_or_else(|e| (false, e));
    SmartHostCheck {
        address: bounded(&host.to_string()),
        ok,
        millis,
        detail: bounded(&detail),
    }
}

fn greet(host: &SmartHost) -> Result<(bool, String), String> {
    let addrs: Vec<_> = (host.host.as_str(), host.port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {}: {e}", host.host))?
        .collect();
    let mut last = format!("{} has no address", host.host);
    for addr in addrs {
        let mut stream = match TcpStream::connect_timeout(&addr, CHECK_TIMEOUT) {
            Ok(s) => s,
            Err(e) => {
                last = format!("connect to {addr}: {e}");
                continue;
            }
        };
        if host.implicit_tls {
            return Ok((
                true,
                format!("connected to {addr} (TLS from the first byte: greeting not read)"),
            ));
        }
        let _ = stream.set_read_timeout(Some(CHECK_TIMEOUT));
        let _ = stream.set_write_timeout(Some(CHECK_TIMEOUT));
        let mut buf = [0u8; GREETING_READ];
        let mut len = 0;
        // Up to the end of the first line.
        while len < buf.len() && !buf[..len].contains(&b'\n') {
            match stream.read(&mut buf[len..]) {
                Ok(0) => break,
                Ok(n) => len += n,
                Err(e) => return Err(format!("no greeting from {addr}: {e}")),
            }
        }
        let _ = stream.write_all(b"QUIT\r\n");
        let text = String::from_utf8_lossy(&buf[..len]);
        let line = text.lines().next().unwrap_or("").trim().to_owned();
        if line.is_empty() {
            return Err(format!("{addr} closed the connection without a greeting"));
        }
        return Ok((line.starts_with("220"), line));
    }
    Err(last)
}
