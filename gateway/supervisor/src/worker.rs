//! The worker's side of the supervisor contract. A worker runs one single-threaded tokio runtime
//! ([`runtime`]) pinned to its core, and spawns [`heartbeat_task`] on it. Because the beat is a
//! task of the same event loop as the sessions, a loop that stops polling (a parser spinning on
//! hostile input, a blocking call) stops beating, and the supervisor replaces the worker.

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use tokio::time::MissedTickBehavior;

use crate::Error;

/// Environment variable naming the inherited write end of the heartbeat pipe.
pub const HEARTBEAT_FD_ENV: &str = "CORDON_HEARTBEAT_FD";
/// Environment variable with the beat period in milliseconds (the board's `heartbeat_interval`).
pub const HEARTBEAT_INTERVAL_ENV: &str = "CORDON_HEARTBEAT_INTERVAL_MS";
/// Longest beat period accepted from the environment: beyond it the supervisor's deadline could
/// never be met, so the value must be a mistake.
const MAX_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(60);

/// The byte a beat writes; its value carries no meaning.
const BEAT: &[u8] = b".";

/// The write end of the heartbeat pipe and how often to beat.
#[derive(Debug)]
pub struct Heartbeat {
    pipe: File,
    interval: Duration,
}

impl Heartbeat {
    /// The heartbeat the supervisor set up, or `None` when the process was not started by one
    /// (for example `cordon run`).
    pub fn from_env() -> Result<Option<Heartbeat>, Error> {
        let Ok(fd) = std::env::var(HEARTBEAT_FD_ENV) else {
            return Ok(None);
        };
        let number: i32 = fd.parse().map_err(|_| Error::Env {
            name: HEARTBEAT_FD_ENV,
            value: fd.clone(),
            reason: "not a descriptor number",
        })?;
        let ms = std::env::var(HEARTBEAT_INTERVAL_ENV).unwrap_or_default();
        let interval = ms
            .parse::<u64>()
            .ok()
            .map(Duration::from_millis)
            .filter(|d| !d.is_zero() && *d <= MAX_HEARTBEAT_INTERVAL)
            .ok_or(Error::Env {
                name: HEARTBEAT_INTERVAL_ENV,
                value: ms.clone(),
                reason: "not a period in milliseconds between 1 and 60000",
            })?;
        let fd = cordon_platform::process::take_inherited_fd(number)?;
        Heartbeat::new(fd, interval).map(Some)
    }

    /// A heartbeat on an already-open pipe write end.
    pub fn new(pipe: OwnedFd, interval: Duration) -> Result<Heartbeat, Error> {
        // Non-blocking: if the supervisor stops reading, a full pipe must not stall the loop.
        let flags =
            fcntl(pipe.as_fd(), FcntlArg::F_GETFL).map_err(|e| Error::Heartbeat(e.into()))?;
        let flags = OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK;
        fcntl(pipe.as_fd(), FcntlArg::F_SETFL(flags)).map_err(|e| Error::Heartbeat(e.into()))?;
        Ok(Heartbeat {
            pipe: File::from(pipe),
            interval,
        })
    }

    /// The beat period.
    pub fn interval(&self) -> Duration {
        self.interval
    }
}

/// Beats every interval, forever. Returns only when the pipe is broken (the supervisor is gone),
/// which a worker should treat as the order to stop. Spawn it on the worker's own
/// (single-threaded) runtime: `tokio::task::spawn_local` or `tokio::spawn` both keep it on the
/// event loop it is meant to vouch for.
pub async fn heartbeat_task(mut heartbeat: Heartbeat) -> Error {
    let mut tick = tokio::time::interval(heartbeat.interval);
    // After a stall, beat once rather than in a burst that would hide it.
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match heartbeat.pipe.write(BEAT) {
            Ok(_) => {}
            // A full pipe: the supervisor is not reading (stopped, busy); nothing to add.
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Error::Heartbeat(e),
        }
    }
}

/// The worker's runtime: one thread, the one pinned to the worker's core.
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use nix::unistd::pipe2;

    use super::*;

    #[test]
    fn beats_once_per_interval_and_stops_on_a_broken_pipe() {
        let (r, w) = pipe2(OFlag::O_CLOEXEC).unwrap();
        let hb = Heartbeat::new(w, Duration::from_millis(10)).unwrap();
        let rt = runtime().unwrap();
        let mut r = File::from(r);
        rt.block_on(async {
            let task = tokio::spawn(heartbeat_task(hb));
            tokio::time::sleep(Duration::from_millis(55)).await;
            let mut buf = [0u8; 64];
            let n = r.read(&mut buf).unwrap();
            assert!((3..=7).contains(&n), "{n} beats in 55 ms at 10 ms");
            drop(r);
            let e = tokio::time::timeout(Duration::from_secs(2), task)
                .await
                .unwrap()
                .unwrap();
            assert!(matches!(e, Error::Heartbeat(_)), "{e}");
        });
    }
}
