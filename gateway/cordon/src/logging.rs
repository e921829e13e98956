//! Logging: one structured line per transaction. Under systemd (`JOURNAL_STREAM` set) events go
//! to journald with their fields; otherwise to stderr.

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

use crate::error::Error;

/// Installs the global subscriber. `RUST_LOG` overrides the configured level.
pub fn init(level: &str) -> Result<(), Error> {
    let filter = EnvFilter::try_from_env("RUST_LOG")
        .or_else(|_| EnvFilter::try_new(level))
        .map_err(|source| Error::LogLevel {
            level: level.to_string(),
            source,
        })?;
    let registry = tracing_subscriber::registry().with(filter);
    if std::env::var_os("JOURNAL_STREAM").is_some() {
        if let Ok(journald) = tracing_journald::layer() {
            return registry
                .with(journald.with_syslog_identifier("cordon".into()))
                .try_init()
                .map_err(Error::Logging);
        }
    }
    registry
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_target(false)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())),
        )
        .try_init()
        .map_err(Error::Logging)
}
