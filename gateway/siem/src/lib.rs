//! cordon-siem: the SIEM exporter (issue 21, item 2). Every incident and every audited config
//! change, once durable in the journal, becomes one RFC 5424 syslog message (payload CEF or
//! JSON, `[siem] format`) sent to a collector over TLS (RFC 5425), TCP (RFC 6587 octet
//! counting) or UDP (RFC 5426).
//!
//! Mail never waits for the exporter: the journal writer formats the event and offers it to a
//! fixed ring ([`Siem::offer`], [`ring`]), never waiting; the exporter task drains the queue into the
//! connection. While the collector is away the ring is the backlog, `[siem] backlog` bytes
//! (allocated at start); past it new events are dropped and counted (`cordon_siem_dropped_events_total`). The journal
//! keeps every event anyway, numbered and chained, and each exported event carries its
//! journal number and chain tag, so the SIEM's last tag anchors `cordonctl incidents verify`.
//!
//! # Layout
//! - [`format`]: RFC 5424 header and structured data, CEF and JSON payloads, the octet-counting
//!   frame (sans-IO).
//! - [`transport`]: [`Target`] and [`Connection`]: TLS, TCP and UDP to the collector.
//! - [`exporter`]: the task: queue to connection, reconnect with backoff, replay after a loss.
//!
//! `docs/operations.md` ("SIEM export") describes the events and the guarantees.

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

pub mod exporter;
pub mod format;
pub mod ring;
pub mod transport;

pub use format::{Event, Formatter};
pub use ring::Backlog;
pub use transport::{Connection, Target};

/// What can stop the exporter from starting.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `[siem] target` is not host:port (the config check refuses it first).
    #[error("SIEM target `{target}` is not host:port")]
    Target { target: String },
    /// A CA, certificate or key file is unreadable or refused.
    #[error("SIEM TLS: {what} {}: {reason}", path.display())]
    Tls {
        what: &'static str,
        path: PathBuf,
        reason: String,
    },
    /// The collector's name cannot be checked against a certificate.
    #[error("SIEM TLS: `{name}` is not a valid server name")]
    ServerName { name: String },
}

/// The exporter's counters, copied into the metric table (`cordon_siem_*`) by each worker.
#[derive(Debug, Default)]
pub struct Stats {
    /// Frames written to the collector (replays included).
    pub sent: AtomicU64,
    /// Events refused because the backlog was full.
    pub dropped: AtomicU64,
    /// Frames written again after a lost connection.
    pub resent: AtomicU64,
    /// Connections made, and failures to connect or write.
    pub connects: AtomicU64,
    pub errors: AtomicU64,
    pub connected: AtomicBool,
    pub last_error: Mutex<Option<String>>,
}

/// The handle the journal writer offers events through; cheap to clone.
#[derive(Debug, Clone)]
pub struct Siem {
    backlog: Arc<Backlog>,
    formatter: Arc<Formatter>,
    octet_counting: bool,
    stats: Arc<Stats>,
}

/// The exporter task, to be spawned on the gateway's runtime.
#[derive(Debug)]
pub struct Task {
    target: Target,
    backlog: Arc<Backlog>,
    stats: Arc<Stats>,
}

impl Task {
    /// Runs until `shutdown` turns true (then drains briefly).
    pub async fn run(self, shutdown: watch::Receiver<bool>) {
        exporter::run(self.target, self.backlog, self.stats, shutdown).await
    }
}

/// The host name for RFC 5424's HOSTNAME when `[siem] hostname` is not set.
fn system_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

impl Siem {
    /// Prepares the exporter for `config` (reading its TLS files now): the handle, and the task
    /// to spawn.
    pub fn new(config: &cordon_config::Siem, version: &str) -> Result<(Siem, Task), Error> {
        let target = Target::new(config)?;
        let backlog = Arc::new(Backlog::new(config.backlog));
        let stats = Arc::new(Stats::default());
        let formatter = Formatter {
            format: config.format,
            facility: config.facility,
            hostname: config.hostname.clone().unwrap_or_else(system_hostname),
            app_name: config.app_name.clone(),
            procid: std::process::id(),
            version: version.to_string(),
        };
        let siem = Siem {
            backlog: Arc::clone(&backlog),
            formatter: Arc::new(formatter),
            octet_counting: target.octet_counting(),
            stats: Arc::clone(&stats),
        };
        Ok((
            siem,
            Task {
                target,
                backlog,
                stats,
            },
        ))
    }

    /// Formats `event` and queues it without waiting; a full backlog drops it (counted).
    pub fn offer(&self, event: Event<'_>) {
        let message = self.formatter.message(event);
        let frame = if self.octet_counting {
            format::octet_counted(&message)
        } else {
            message
        };
        if !self.backlog.push(&frame) {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Events waiting in the backlog now.
    pub fn queued(&self) -> u64 {
        self.backlog.len() as u64
    }
}
