//! Logging: one structured line per transaction. Under systemd (`JOURNAL_STREAM` set) events go
//! to journald with their fields; otherwise to stderr. Every line also goes to this process's
//! log ring in the shared metric region ([`cordon_metrics::log`]) once [`to_ring`] named it, so
//! `cordonctl log` reads the workers' and the supervisor's lines through the config port.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::sync::OnceLock;

use cordon_metrics::log::LogWriter;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
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
    let registry = tracing_subscriber::registry().with(filter).with(RingLayer);
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

/// The ring this process's lines go to, set once the metric region is mapped.
static RING: OnceLock<LogWriter> = OnceLock::new();

/// From now on, every line this process logs is also kept in `writer`'s ring (the first call
/// wins: a process has one ring).
pub fn to_ring(writer: LogWriter) {
    let _ = RING.set(writer);
}

/// Copies each event into the ring, formatted as the stderr lines are: the message, then
/// `key=value` for each field.
struct RingLayer;

thread_local! {
    /// One line's text, reused: formatting a line allocates only when it outgrows the last.
    static LINE: RefCell<String> = const { RefCell::new(String::new()) };
}

impl<S: Subscriber> Layer<S> for RingLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let Some(ring) = RING.get() else {
            return;
        };
        let time_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        LINE.with(|line| {
            let Ok(mut line) = line.try_borrow_mut() else {
                return; // a line logged while formatting one: dropped, never a panic
            };
            let level = format_line(event, &mut line);
            ring.write(time_ms, level, &line);
        });
    }
}

/// Formats `event` into `line` as the stderr lines read; returns its index in
/// [`cordon_metrics::log::LEVELS`].
fn format_line(event: &Event<'_>, line: &mut String) -> usize {
    line.clear();
    event.record(&mut Fields(line));
    match *event.metadata().level() {
        Level::ERROR => 0,
        Level::WARN => 1,
        Level::INFO => 2,
        Level::DEBUG => 3,
        Level::TRACE => 4,
    }
}

/// Writes the message first and the other fields after it as `key=value`.
struct Fields<'a>(&'a mut String);

impl Fields<'_> {
    fn separate(&mut self) {
        if !self.0.is_empty() {
            self.0.push(' ');
        }
    }
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.record_message(format_args!("{value}"));
        } else {
            self.separate();
            let _ = write!(self.0, "{}={value:?}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.record_message(format_args!("{value:?}"));
        } else {
            self.separate();
            let _ = write!(self.0, "{}={value:?}", field.name());
        }
    }
}

impl Fields<'_> {
    /// The message goes first, whatever order the fields came in.
    fn record_message(&mut self, message: std::fmt::Arguments<'_>) {
        let rest = std::mem::take(self.0);
        let _ = write!(self.0, "{message}");
        if !rest.is_empty() {
            self.0.push(' ');
            self.0.push_str(&rest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::util::SubscriberInitExt;

    #[test]
    fn lines_reach_the_ring_with_the_message_first() {
        let store = cordon_metrics::Store::heap(1);
        let ring = store.log_writer(0);
        let subscriber = tracing_subscriber::registry().with(OwnRing(ring));
        let _guard = subscriber.set_default();
        tracing::warn!(left_out = 3, name = "a b", "more detectors than cells");
        tracing::info!(session = "6B15", "relayed");
        let (lines, _) = store.log(&[], 10, 4);
        let texts: Vec<(&str, &str)> = lines
            .iter()
            .map(|l| (cordon_metrics::log::LEVELS[l.level], l.text.as_str()))
            .collect();
        assert_eq!(
            texts,
            [
                ("warn", r#"more detectors than cells left_out=3 name="a b""#),
                ("info", r#"relayed session="6B15""#)
            ]
        );
    }

    /// The ring layer over a given writer (the process-wide one is set once, for real).
    struct OwnRing(LogWriter);

    impl<S: Subscriber> Layer<S> for OwnRing {
        fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
            let mut line = String::new();
            let level = format_line(event, &mut line);
            self.0.write(0, level, &line);
        }
    }
}
