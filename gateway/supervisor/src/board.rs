//! Board profiles: one `board/<name>/board.toml` per kind of box. A profile is data about the
//! hardware (cores, memory, watchdog, serial lines, ports); the gateway's own settings live in
//! the config file. Unknown keys are errors, so a typo never silently falls back to a default.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::Error;

/// Most data cores a profile may name: above any board cordon targets, and it bounds the worker
/// table the supervisor allocates.
pub const MAX_DATA_CORES: usize = 64;
/// Default heartbeat period: frequent enough to catch a stuck loop in seconds, rare enough to
/// cost nothing (one byte through a pipe).
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_millis(500);
/// Default silence after which a worker is declared stuck: six missed beats, so a busy but alive
/// loop (a large message being scanned between awaits) is not killed.
pub const DEFAULT_HEARTBEAT_DEADLINE: Duration = Duration::from_secs(3);
/// Default hardware watchdog timeout; most drivers accept it and it leaves room for two pets.
pub const DEFAULT_WATCHDOG_TIMEOUT: Duration = Duration::from_secs(15);
/// A deadline must cover at least this many beats, so one late tick never kills a worker.
pub const MIN_BEATS_PER_DEADLINE: u32 = 2;

/// One board profile.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Board {
    /// Short name, same as the folder (`rpi4`).
    pub name: String,
    /// One line for people: which hardware this is.
    pub description: String,
    /// Cores that each run one pinned data-plane worker.
    pub data_cores: Vec<usize>,
    /// Core for the supervisor and the config port (may be shared with a data core on small
    /// boards).
    pub control_core: usize,
    /// Memory cordon may use, MiB: the budget start-up checks the config against.
    pub memory_mib: u64,
    /// Size of the `/data` partition the board's image makes, MiB: start-up and
    /// `check-config --board` refuse a config whose incident journals, EDM tables and config
    /// store would not fit it. Absent: not checked (a development machine's disk).
    #[serde(default)]
    pub data_mib: Option<u64>,
    /// Hardware watchdog petted when not run by systemd; absent: none on this board.
    #[serde(default)]
    pub watchdog_device: Option<PathBuf>,
    /// Timeout set on the hardware watchdog; pets come at half of it.
    #[serde(default = "default_watchdog_timeout", with = "duration")]
    pub watchdog_timeout: Duration,
    /// Kernel console device (`ttyAMA0`).
    pub console: String,
    /// Serial device of the config port; absent: network only.
    #[serde(default)]
    pub config_serial: Option<String>,
    /// Network interfaces the appliance uses, in order (first: mail side).
    #[serde(default)]
    pub interfaces: Vec<String>,
    /// How often each worker beats.
    #[serde(default = "default_interval", with = "duration")]
    pub heartbeat_interval: Duration,
    /// Silence after which a worker is killed and restarted.
    #[serde(default = "default_deadline", with = "duration")]
    pub heartbeat_deadline: Duration,
}

fn default_watchdog_timeout() -> Duration {
    DEFAULT_WATCHDOG_TIMEOUT
}
fn default_interval() -> Duration {
    DEFAULT_HEARTBEAT_INTERVAL
}
fn default_deadline() -> Duration {
    DEFAULT_HEARTBEAT_DEADLINE
}

/// Durations as people write them: `500ms`, `3s`, `1m`.
mod duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        humantime::parse_duration(&s)
            .map_err(|e| serde::de::Error::custom(format!("{s:?} is not a duration ({e})")))
    }
}

impl Board {
    /// Reads and checks `file`.
    pub fn load(file: &Path) -> Result<Board, Error> {
        let text = std::fs::read_to_string(file).map_err(|source| Error::ReadBoard {
            file: file.to_owned(),
            source,
        })?;
        Board::parse(&text, file)
    }

    /// Parses and checks `text`; `file` is only for messages.
    pub fn parse(text: &str, file: &Path) -> Result<Board, Error> {
        let board: Board = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
                .unwrap_or(1);
            let key = key_on_line(text, line).unwrap_or_default();
            Error::Board {
                file: file.to_owned(),
                line,
                key,
                message: e.message().trim().to_owned(),
            }
        })?;
        board.check(text, file)?;
        Ok(board)
    }

    fn check(&self, text: &str, file: &Path) -> Result<(), Error> {
        let fail = |key: &str, message: String| Error::Board {
            file: file.to_owned(),
            line: line_of_key(text, key),
            key: key.to_owned(),
            message,
        };
        if self.data_cores.is_empty() {
            return Err(fail("data_cores", "needs at least one core".into()));
        }
        if self.data_cores.len() > MAX_DATA_CORES {
            return Err(fail(
                "data_cores",
                format!("at most {MAX_DATA_CORES} cores"),
            ));
        }
        let mut sorted = self.data_cores.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted.len() != self.data_cores.len() {
            return Err(fail("data_cores", "a core is listed twice".into()));
        }
        if self.memory_mib == 0 {
            return Err(fail("memory_mib", "must be more than 0".into()));
        }
        if self.data_mib == Some(0) {
            return Err(fail("data_mib", "must be more than 0".into()));
        }
        if self.watchdog_timeout < Duration::from_secs(1) {
            return Err(fail(
                "watchdog_timeout",
                "watchdogs count in whole seconds: at least 1s".into(),
            ));
        }
        if self.heartbeat_interval.is_zero() {
            return Err(fail("heartbeat_interval", "must be more than 0".into()));
        }
        if self.heartbeat_deadline < self.heartbeat_interval * MIN_BEATS_PER_DEADLINE {
            return Err(fail(
                "heartbeat_deadline",
                format!(
                    "must be at least {MIN_BEATS_PER_DEADLINE} x heartbeat_interval ({:?})",
                    self.heartbeat_interval * MIN_BEATS_PER_DEADLINE
                ),
            ));
        }
        Ok(())
    }

    /// Bytes cordon may use.
    pub fn memory_bytes(&self) -> u64 {
        self.memory_mib.saturating_mul(1 << 20)
    }

    /// Every core cordon runs on (the control core and the data cores), sorted.
    pub fn cores(&self) -> Vec<usize> {
        let mut cores = self.data_cores.clone();
        cores.push(self.control_core);
        cores.sort_unstable();
        cores.dedup();
        cores
    }

    /// The `cordon.service.d/board.conf` drop-in for this board: the unit's CPU set and memory
    /// ceiling come from the profile, so systemd enforces what the supervisor plans with.
    /// `MemoryMax=` and `LimitMEMLOCK=` are `memory_mib`, the figure start-up checks the
    /// config's budget against: a config that fits starts, and the cgroup never lets the
    /// service grow past it into the rest of the board's RAM.
    pub fn service_dropin(&self, source: &str) -> String {
        let cores: Vec<String> = self.cores().iter().map(usize::to_string).collect();
        format!(
            "# Generated from {source} ({}) by `cordon board-units`: do not edit.\n\
             # Installed as /usr/lib/systemd/system/cordon.service.d/board.conf.\n\
             [Service]\n\
             CPUAffinity={}\n\
             MemoryMax={m}M\n\
             LimitMEMLOCK={m}M\n",
            self.name,
            cores.join(" "),
            m = self.memory_mib,
        )
    }
}

/// The key assigned on `line` (1-based), if the line is `key = value`.
fn key_on_line(text: &str, line: usize) -> Option<String> {
    let l = text.lines().nth(line.checked_sub(1)?)?;
    let (k, _) = l.split_once('=')?;
    Some(k.trim().to_owned())
}

/// The line assigning `key` at the top level, or 1.
fn line_of_key(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| l.split_once('=').is_some_and(|(k, _)| k.trim() == key))
        .map_or(1, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "t"
description = "test"
data_cores = [0, 1]
control_core = 0
memory_mib = 512
console = "ttyS0"
"#;

    #[test]
    fn the_service_dropin_carries_the_cores_and_memory() {
        let text = GOOD.replace("data_cores = [0, 1]", "data_cores = [3, 1, 2]");
        let b = Board::parse(&text, Path::new("t.toml")).unwrap();
        let d = b.service_dropin("board/t/board.toml");
        assert!(d.contains("\n[Service]\nCPUAffinity=0 1 2 3\n"), "{d}");
        assert!(d.contains("\nMemoryMax=512M\nLimitMEMLOCK=512M\n"), "{d}");
        assert!(
            d.starts_with("# Generated from board/t/board.toml (t)"),
            "{d}"
        );
    }

    #[test]
    fn defaults_fill_the_optional_keys() {
        let b = Board::parse(GOOD, Path::new("t.toml")).unwrap();
        assert_eq!(b.heartbeat_interval, DEFAULT_HEARTBEAT_INTERVAL);
        assert_eq!(b.heartbeat_deadline, DEFAULT_HEARTBEAT_DEADLINE);
        assert_eq!(b.watchdog_device, None);
        assert_eq!(b.memory_bytes(), 512 << 20);
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let text = format!("{GOOD}heartbeat_interval = \"soon\"\n");
        let e = Board::parse(&text, Path::new("b/board.toml")).unwrap_err();
        let s = e.to_string();
        assert!(s.starts_with("b/board.toml:8: heartbeat_interval:"), "{s}");

        let text = format!("{GOOD}heartbeat_deadline = \"600ms\"\n");
        let s = Board::parse(&text, Path::new("b.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            s.starts_with("b.toml:8: heartbeat_deadline: must be at least"),
            "{s}"
        );

        let s = Board::parse(&GOOD.replace("[0, 1]", "[1, 1]"), Path::new("b.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            s.starts_with("b.toml:4: data_cores: a core is listed twice"),
            "{s}"
        );

        let s = Board::parse(&format!("{GOOD}cores = 3\n"), Path::new("b.toml"))
            .unwrap_err()
            .to_string();
        assert!(s.starts_with("b.toml:8: cores: unknown field"), "{s}");
    }
}
