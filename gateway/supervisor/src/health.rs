//! Where the supervisor says "healthy": systemd's service watchdog over sd_notify when run by
//! systemd, otherwise the board's hardware watchdog, otherwise nowhere (a development machine
//! without either). Silence is the signal: whoever listens restarts the service or the board.

use std::time::Duration;

use cordon_platform::notify::{self, Notifier};
use cordon_platform::watchdog::Watchdog;

use crate::{Board, Error};

/// Pets come at 1/PET_DIVISOR of the watchdog period, as sd_watchdog_enabled(3) recommends, so
/// one late pet never fires it.
pub const PET_DIVISOR: u32 = 2;

/// The health target chosen at start-up.
#[derive(Debug)]
pub enum Health {
    /// systemd: READY/STATUS/STOPPING always, WATCHDOG=1 every `pet_every` if `WatchdogSec=`.
    Systemd {
        notifier: Notifier,
        pet_every: Option<Duration>,
    },
    /// The board's hardware watchdog, opened and armed.
    Hardware {
        watchdog: Watchdog,
        pet_every: Duration,
    },
    /// Nobody listens: a development machine.
    Nowhere,
}

impl Health {
    /// `$NOTIFY_SOCKET` if set; else the board's watchdog device if it names one (failing to
    /// open it is an error: an appliance must not run unguarded by accident); else nowhere.
    pub fn from_env(board: &Board) -> Result<Health, Error> {
        if let Some(notifier) = Notifier::from_env()? {
            let pet_every = notify::watchdog_period_from_env().map(|p| p / PET_DIVISOR);
            return Ok(Health::Systemd {
                notifier,
                pet_every,
            });
        }
        match &board.watchdog_device {
            Some(path) => {
                let mut watchdog = Watchdog::open(path)?;
                let wanted = u32::try_from(board.watchdog_timeout.as_secs()).unwrap_or(u32::MAX);
                let got = watchdog.set_timeout(wanted)?;
                if got != wanted {
                    tracing::warn!(wanted, got, device = %path.display(), "watchdog driver rounded the timeout");
                }
                Ok(Health::Hardware {
                    watchdog,
                    pet_every: Duration::from_secs(u64::from(got.max(1))) / PET_DIVISOR,
                })
            }
            None => Ok(Health::Nowhere),
        }
    }

    /// How often to pet, if at all.
    pub fn pet_every(&self) -> Option<Duration> {
        match self {
            Health::Systemd { pet_every, .. } => *pet_every,
            Health::Hardware { pet_every, .. } => Some(*pet_every),
            Health::Nowhere => None,
        }
    }

    /// One pet. Failures are logged, not fatal: the missing pet is itself the alarm.
    pub fn pet(&mut self) {
        let r = match self {
            Health::Systemd { notifier, .. } => notifier.watchdog(),
            Health::Hardware { watchdog, .. } => watchdog.keepalive(),
            Health::Nowhere => Ok(()),
        };
        if let Err(e) = r {
            tracing::warn!(error = %e, "watchdog pet failed");
        }
    }

    /// READY=1 (systemd only).
    pub fn ready(&self, status: &str) {
        if let Health::Systemd { notifier, .. } = self {
            if let Err(e) = notifier.ready(status) {
                tracing::warn!(error = %e, "sd_notify READY failed");
            }
        }
    }

    /// STATUS= (systemd only).
    pub fn status(&self, status: &str) {
        if let Health::Systemd { notifier, .. } = self {
            if let Err(e) = notifier.status(status) {
                tracing::warn!(error = %e, "sd_notify STATUS failed");
            }
        }
    }

    /// STOPPING=1 (systemd only).
    pub fn stopping(&self) {
        if let Health::Systemd { notifier, .. } = self {
            if let Err(e) = notifier.stopping() {
                tracing::warn!(error = %e, "sd_notify STOPPING failed");
            }
        }
    }

    /// Clean shutdown: the magic close disarms a hardware watchdog.
    pub fn close(self) {
        if let Health::Hardware { watchdog, .. } = self {
            let path = watchdog.path().to_owned();
            match watchdog.magic_close() {
                Ok(()) => {
                    tracing::info!(device = %path.display(), "watchdog disarmed (magic close)")
                }
                Err(e) => {
                    tracing::warn!(error = %e, "watchdog magic close failed; the board may reboot")
                }
            }
        }
    }
}
