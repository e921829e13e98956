//! The inspector the gateway runs: every message is fed to the DLP engine as it arrives, and its
//! findings go through the configured `[[rule]]`s (cordon-policy) to a verdict.
//!
//! Around the rules sit the contracts Exchange relies on:
//! - the inspected stamp `true; by=<hostname>; sig=<HMAC>` signed with the appliance key over the
//!   message's Message-ID and Date, so Exchange rules matching `true` work and cordon can tell
//!   its own stamp from a forgery;
//! - the loop guard: a message that already carries a valid stamp of this appliance has been
//!   through it; it is refused with `[policy] on_loop` (554 5.4.6 by default);
//! - a stamp that does not verify is a forgery: the gateway strips it, the message is inspected
//!   as usual, and an incident is raised;
//! - a scan that hit one of the engine's limits, or ran past `[policy] scan_timeout`, cannot
//!   vouch for the message: unless a rule already blocks, `[policy] on_scan_error` decides;
//! - every verdict other than deliver, every forged stamp and every loop is an incident: handed
//!   to the persistent incident log ([`crate::incident_log`]), whose answer the session awaits
//!   ([`Inspector::journaled`]) before it relays or refuses the message; counters are kept;
//! - rules with `notify` produce notification messages that the session sends downstream as
//!   separate transactions after the verdict.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cordon_config::Config;
use cordon_dlp::{Engine, Findings, Scanner};
use cordon_policy::{
    judge, Counters, HeaderFacts, Incident, IncidentRing, JudgeInput, Judgement, KEY_BYTES,
};
use cordon_smtp::reply::Reply;
use tokio::sync::{broadcast, oneshot};

use crate::incident_log::{self, Ack, IncidentLog};
use crate::inspect::{Envelope, Inspector, InspectorFactory, Notification, Verdict};

/// What outlives a configuration: the key, the counters, the incident ring and the incident
/// feed. A new config builds new inspectors around the same state.
#[derive(Debug, Clone)]
pub struct Durable {
    pub key: [u8; KEY_BYTES],
    pub counters: Arc<Counters>,
    pub incidents: Arc<Mutex<IncidentRing>>,
    /// Every incident once durable, with its journal number (the config port's follow mode).
    pub events: broadcast::Sender<cordon_wire::Incident>,
    /// The persistent incident log every incident goes to before its message is answered.
    /// `None` only where no message is answered: dry runs, and in-memory tests.
    pub log: Option<IncidentLog>,
    /// The SIEM exporter the journal writer offers every durable record to (`[siem]`), here
    /// for its counters.
    pub siem: Option<cordon_siem::Siem>,
}

/// Incidents a slow follower may fall behind by before it is caught up from the ring.
pub const INCIDENT_FEED: usize = 64;

impl Durable {
    /// Counters for the engine's detectors, a ring sized from `[policy] incident_ring` (both
    /// fixed for the life of the process).
    pub fn new(key: [u8; KEY_BYTES], engine: &Engine, config: &Config) -> Durable {
        Durable {
            key,
            counters: Arc::new(Counters::new(engine.detector_names())),
            incidents: Arc::new(Mutex::new(IncidentRing::new(config.policy.incident_ring))),
            events: broadcast::channel(INCIDENT_FEED).0,
            log: None,
            siem: None,
        }
    }
}

/// Shared by all sessions: the engine, the rules and the durable state.
#[derive(Debug)]
pub struct DlpInspectors {
    pub engine: Arc<Engine>,
    pub config: Arc<Config>,
    pub durable: Durable,
}

impl DlpInspectors {
    /// The verdict for `message` as live mail would get it, changing nothing (no incident, no
    /// counter): the config port's and `cordon scan`'s dry run. The envelope is `env` or, when
    /// `None`, the message's From and To, Cc and Bcc. The same [`judge`] as live mail, so the
    /// loop check and the scan budget apply here too.
    pub fn dry_run(&self, message: &[u8], env: Option<(&str, &[String])>) -> (Judgement, Findings) {
        let t = Instant::now();
        let mut scanner = self.engine.scanner();
        scanner.feed(message);
        let findings = scanner.finish();
        let scan_time = t.elapsed();
        let (sender, rcpts) = match env {
            Some((s, r)) => (s.to_string(), r.to_vec()),
            None => envelope_from_headers(message),
        };
        let headers = HeaderFacts::read(message, &self.config.headers.inspected);
        let j = judge(&JudgeInput {
            config: &self.config,
            key: &self.durable.key,
            session: "dry-run",
            sender: &sender,
            rcpts: &rcpts,
            size: message.len() as u64,
            headers: &headers,
            findings: &findings,
            scan_time,
            now: now_unix(),
            unique: 0,
        });
        (j, findings)
    }
}

/// A dry run's envelope from the header section: the first From address, and To, Cc and Bcc.
fn envelope_from_headers(message: &[u8]) -> (String, Vec<String>) {
    let parsed = mail_parser::MessageParser::default().parse_headers(message);
    let addrs = |a: Option<&mail_parser::Address<'_>>| -> Vec<String> {
        a.map(|a| {
            a.iter()
                .filter_map(|x| x.address().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
    };
    match &parsed {
        Some(m) => {
            let sender = addrs(m.from()).into_iter().next().unwrap_or_default();
            let mut rcpts = addrs(m.to());
            rcpts.extend(addrs(m.cc()));
            rcpts.extend(addrs(m.bcc()));
            (sender, rcpts)
        }
        None => (String::new(), Vec::new()),
    }
}

impl InspectorFactory for DlpInspectors {
    fn inspector(&self) -> Box<dyn Inspector> {
        Box::new(DlpInspector {
            scanner: {
                let mut scanner = self.engine.scanner();
                scanner.track_values(crate::incident_log::value_key(&self.durable.key));
                scanner
            },
            config: Arc::clone(&self.config),
            key: self.durable.key,
            incidents: Arc::clone(&self.durable.incidents),
            counters: Arc::clone(&self.durable.counters),
            log: self.durable.log.clone(),
            ack: None,
            scan_time: Duration::ZERO,
            incident: None,
            notifications: Vec::new(),
        })
    }
}

/// Per-session inspection state: the engine's fixed-size scanner and what the last verdict left
/// to do.
#[derive(Debug)]
pub struct DlpInspector {
    scanner: Scanner,
    config: Arc<Config>,
    key: [u8; KEY_BYTES],
    incidents: Arc<Mutex<IncidentRing>>,
    counters: Arc<Counters>,
    log: Option<IncidentLog>,
    /// The log's answer for the last verdict's incidents, for the session to await.
    ack: Option<oneshot::Receiver<Ack>>,
    /// Time spent scanning this message so far, against the budget.
    scan_time: Duration,
    /// The incident raised for the current message, to record the downstream's reply.
    incident: Option<u64>,
    notifications: Vec<Notification>,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Numbers notification Message-IDs: the process id in the high half keeps the workers of one
/// appliance apart.
static NOTIFICATION_SEQ: AtomicU64 = AtomicU64::new(0);

fn notification_unique() -> u64 {
    (u64::from(std::process::id()) << 32)
        | (NOTIFICATION_SEQ.fetch_add(1, Ordering::Relaxed) & 0xFFFF_FFFF)
}

impl DlpInspector {
    /// Keeps an incident in the ring (which numbers and bounds it); returns its ring id.
    fn record(&self, incident: &mut Incident) -> u64 {
        let mut ring = self.incidents.lock().unwrap_or_else(|p| p.into_inner());
        let id = ring.push(incident.clone());
        incident.bound();
        id
    }
}

impl Inspector for DlpInspector {
    fn feed(&mut self, chunk: &[u8]) {
        let t = Instant::now();
        self.scanner.feed(chunk);
        self.scan_time += t.elapsed();
    }

    fn finish(&mut self, env: &Envelope<'_>, message: &[u8]) -> Verdict {
        let t = Instant::now();
        let findings = self.scanner.finish();
        self.scan_time += t.elapsed();
        self.counters.scan_time(self.scan_time.as_micros() as u64);
        self.counters.findings(&findings);
        let headers = HeaderFacts::read(message, &self.config.headers.inspected);
        let rcpts: Vec<String> = env.rcpts.iter().map(|p| p.address()).collect();
        let sender = env.mail_from.address();
        let j = judge(&JudgeInput {
            config: &self.config,
            key: &self.key,
            session: env.session,
            sender: &sender,
            rcpts: &rcpts,
            size: message.len() as u64,
            headers: &headers,
            findings: &findings,
            scan_time: self.scan_time,
            now: now_unix(),
            unique: notification_unique(),
        });
        self.scan_time = Duration::ZERO;
        if j.loop_detected {
            self.counters.loop_detected();
        } else {
            self.counters
                .verdict(j.decision.action, message.len() as u64);
        }
        if j.forged_stamp {
            self.counters.forged_stamp();
        }
        if j.scan_error.is_some() {
            self.counters.scan_error();
        }
        self.counters.trace(&cordon_policy::TracedMessage {
            judgement: &j,
            findings: &findings,
            time_ms: now_ms(),
            bytes: message.len() as u64,
            sender: &sender,
            message_id: &headers.message_id,
        });
        self.incident = None;
        self.ack = None;
        let mut incidents = j.incidents;
        for (n, incident) in incidents.iter_mut().enumerate() {
            let id = self.record(incident);
            if j.primary == Some(n) {
                self.incident = Some(id);
            }
        }
        if !incidents.is_empty() {
            match &self.log {
                Some(log) => self.ack = Some(log.submit(incidents)),
                None => {
                    for i in &incidents {
                        incident_log::log_incident(i, 0, 0);
                    }
                }
            }
        }
        self.notifications = j.notifications;
        j.outcome
    }
    fn outcome(&mut self, reply: &Reply) {
        if let Some(id) = self.incident {
            let mut ring = self.incidents.lock().unwrap_or_else(|p| p.into_inner());
            ring.set_downstream_reply(id, &reply.summary());
        }
    }

    fn journaled(&mut self) -> Option<oneshot::Receiver<Ack>> {
        self.ack.take()
    }

    fn notifications(&mut self) -> Vec<Notification> {
        std::mem::take(&mut self.notifications)
    }

    fn reset(&mut self) {
        self.scanner.reset();
        self.scan_time = Duration::ZERO;
    }
}
