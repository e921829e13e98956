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
//! - every verdict other than deliver, every forged stamp and every loop is an incident (logged
//!   through tracing and kept in the fixed-size ring), and counters are kept;
//! - rules with `notify` produce notification messages that the session sends downstream as
//!   separate transactions after the verdict.

use std::path::Path;
use std::sync::{Arc, Mutex};

use std::time::{Duration, Instant};
use tokio::sync::broadcast;

use cordon_config::{Action, Config};
use cordon_dlp::{Engine, Findings, Scanner, UnscannableReason};
use cordon_policy::incident::MAX_INCIDENT_RCPTS;
use cordon_policy::{
    evaluate, notification, notify_addresses, on_scan_error, parse_reply_line, verdict_headers,
    Counters, Decision, EnvelopeFacts, Incident, IncidentKind, IncidentRing, LogSafe,
    NotificationContext, Stamp, StampCheck, KEY_BYTES,
};
use cordon_smtp::header::for_each_field;
use cordon_smtp::reply::{Enhanced, Reply};

use crate::inspect::{Envelope, Inspector, InspectorFactory, Notification, Verdict};
use crate::message::MAX_REMOVED_FIELDS;
use crate::Error;

/// The reasons that mean the engine stopped reading part of the message.
const LIMIT_REASONS: [UnscannableReason; 7] = [
    UnscannableReason::InflatedBytesLimit,
    UnscannableReason::InflateRatioLimit,
    UnscannableReason::ZipEntriesLimit,
    UnscannableReason::ZipNestingLimit,
    UnscannableReason::MimeDepthLimit,
    UnscannableReason::PartsLimit,
    UnscannableReason::HeaderTooLarge,
];

/// The file next to the config that holds the appliance's stamp key.
pub const STAMP_KEY_FILE: &str = "stamp.key";

/// Reads the appliance's stamp key, kept next to the config, or makes one on first start
/// (32 random bytes, mode 0600, synced).
pub fn stamp_key(config: &Config) -> Result<[u8; KEY_BYTES], Error> {
    let dir = config.source.parent().unwrap_or(Path::new("."));
    let path = dir.join(STAMP_KEY_FILE);
    let err = |what: &str, e: String| Error::StampKey(format!("{what} {}: {e}", path.display()));
    let read = || -> Result<[u8; KEY_BYTES], Error> {
        let bytes = std::fs::read(&path).map_err(|e| err("cannot read", e.to_string()))?;
        bytes.try_into().map_err(|b: Vec<u8>| {
            err(
                "bad key in",
                format!("{} bytes instead of {KEY_BYTES}", b.len()),
            )
        })
    };
    if path.exists() {
        return read();
    }
    let key = cordon_policy::generate_key().map_err(|e| err("cannot make", e.to_string()))?;
    // Whole or not at all (a power cut mid-write must not leave a short key that stops every
    // later start), and when workers race on first start exactly one key wins: the others
    // read the winner's.
    let created = cordon_store::durable::create_file(&path, &key, 0o600)
        .map_err(|e| err("cannot create", e.to_string()))?;
    if !created {
        return read();
    }
    tracing::info!(path = %path.display(), "generated the appliance stamp key");
    Ok(key)
}

/// What outlives a configuration: the key, the counters, the incident ring and the incident
/// feed. A new config builds new inspectors around the same state.
#[derive(Debug, Clone)]
pub struct Durable {
    pub key: [u8; KEY_BYTES],
    pub counters: Arc<Counters>,
    pub incidents: Arc<Mutex<IncidentRing>>,
    /// Every incident as it is recorded (for the config port's follow mode).
    pub events: broadcast::Sender<Incident>,
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
    /// The policy's verdict and the engine's findings for `message`, changing nothing (no
    /// incident, no counter): the config port's dry run. The envelope comes from the
    /// message's From, To, Cc and Bcc.
    pub fn dry_run(&self, message: &[u8]) -> (Decision, Findings) {
        let mut scanner = self.engine.scanner();
        scanner.feed(message);
        let findings = scanner.finish();
        let parsed = mail_parser::MessageParser::default().parse_headers(message);
        let addrs = |a: Option<&mail_parser::Address<'_>>| -> Vec<String> {
            a.map(|a| {
                a.iter()
                    .filter_map(|x| x.address().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
        };
        let (sender, rcpts) = match &parsed {
            Some(m) => {
                let sender = addrs(m.from()).into_iter().next().unwrap_or_default();
                let mut rcpts = addrs(m.to());
                rcpts.extend(addrs(m.cc()));
                rcpts.extend(addrs(m.bcc()));
                (sender, rcpts)
            }
            None => (String::new(), Vec::new()),
        };
        let facts = EnvelopeFacts {
            sender: &sender,
            rcpts: &rcpts,
            size: message.len() as u64,
        };
        let cfg = &self.config;
        let d = evaluate(&cfg.rules, &facts, &findings, &cfg.organization.domains);
        match LIMIT_REASONS.iter().find(|r| findings.has_reason(**r)) {
            Some(r) if d.action < Action::Block => (
                on_scan_error(cfg.policy.on_scan_error, r.as_str()),
                findings,
            ),
            _ => (d, findings),
        }
    }
}

impl InspectorFactory for DlpInspectors {
    fn inspector(&self) -> Box<dyn Inspector> {
        Box::new(DlpInspector {
            scanner: self.engine.scanner(),
            config: Arc::clone(&self.config),
            key: self.durable.key,
            incidents: Arc::clone(&self.durable.incidents),
            counters: Arc::clone(&self.durable.counters),
            events: self.durable.events.clone(),
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
    events: broadcast::Sender<Incident>,
    /// Time spent scanning this message so far, against the budget.
    scan_time: Duration,
    /// The incident raised for the current message, to record the downstream's reply.
    incident: Option<u64>,
    notifications: Vec<Notification>,
}

/// Octets of Message-ID and Date read from a message (the RFC 5322 line limit): the stamp
/// signs over these, and incidents and notifications quote them. A longer field is read only
/// this far, never copied whole.
pub const MAX_FIELD_READ: usize = 998;
/// Raw octets of the Subject decoded (RFC 2047 words shrink when decoded, so this yields more
/// than the incident's 256 octets of text); the rest of a folded Subject is never read.
pub const MAX_SUBJECT_READ: usize = 2048;
/// Octets of an inspected-stamp field read for verification; cordon's own stamp is about 120.
pub const MAX_STAMP_READ: usize = 512;

/// What the header section says that the verdict needs, every field read capped.
#[derive(Debug, Default)]
struct HeaderFacts {
    message_id: String,
    date: String,
    subject: String,
    /// Values of every inspected-stamp header that arrived.
    stamps: Vec<String>,
}

impl HeaderFacts {
    fn read(message: &[u8], inspected: &str) -> HeaderFacts {
        let mut h = HeaderFacts::default();
        let mut subject_raw: Option<&[u8]> = None;
        for_each_field(message, |f| {
            if f.is("Message-ID") && h.message_id.is_empty() {
                h.message_id = f.unfolded_prefix(MAX_FIELD_READ);
            } else if f.is("Date") && h.date.is_empty() {
                h.date = f.unfolded_prefix(MAX_FIELD_READ);
            } else if f.is("Subject") && subject_raw.is_none() {
                let end = f.end.min(f.start + MAX_SUBJECT_READ);
                subject_raw = Some(&message[f.start..end]);
            } else if f.is(inspected) && h.stamps.len() < MAX_REMOVED_FIELDS {
                h.stamps.push(f.unfolded_prefix(MAX_STAMP_READ));
            }
        });
        // RFC 2047 encoded words are decoded for incidents and notifications, from the capped
        // prefix only (a cut encoded word stays as it was written).
        h.subject = subject_raw
            .map(|raw| {
                let mut field = Vec::with_capacity(raw.len() + 4);
                field.extend_from_slice(raw);
                field.extend_from_slice(b"\r\n\r\n");
                field
            })
            .and_then(|field| {
                mail_parser::MessageParser::default()
                    .parse_headers(&field)
                    .and_then(|m| m.subject().map(str::to_string))
            })
            .unwrap_or_default();
        h
    }
}

/// The scan-error reason, if the findings or the time spent say the scan did not finish.
fn scan_error(findings: &Findings, spent: Duration, budget: Duration) -> Option<String> {
    if spent > budget {
        return Some(format!("scan_timeout {}ms", budget.as_millis()));
    }
    LIMIT_REASONS
        .iter()
        .find(|r| findings.has_reason(**r))
        .map(|r| r.as_str().to_string())
}

/// An SMTP reply from a configured line; the fallback only guards against a config that
/// slipped past validation.
fn reply_from(line: &str) -> Reply {
    parse_reply_line(line).unwrap_or_else(|_| {
        Reply::new(
            550,
            Enhanced(5, 7, 1),
            "Message rejected by data loss prevention policy",
        )
    })
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl DlpInspector {
    /// The decision for a finished scan: the rules, then `on_scan_error` for an unfinished scan
    /// that no rule blocks. The second value is the scan-error reason, if any.
    fn decide(
        &self,
        env: &Envelope<'_>,
        findings: &Findings,
        size: u64,
    ) -> (Decision, Option<String>) {
        let rcpts: Vec<String> = env.rcpts.iter().map(|p| p.address()).collect();
        let sender = env.mail_from.address();
        let facts = EnvelopeFacts {
            sender: &sender,
            rcpts: &rcpts,
            size,
        };
        let cfg = &self.config;
        let decision = evaluate(&cfg.rules, &facts, findings, &cfg.organization.domains);
        match scan_error(findings, self.scan_time, cfg.policy.scan_timeout) {
            Some(reason) if decision.action < Action::Block => (
                on_scan_error(cfg.policy.on_scan_error, &reason),
                Some(reason),
            ),
            _ => (decision, None),
        }
    }

    /// Records an incident in the ring and the log; returns its id.
    fn incident(
        &self,
        kind: IncidentKind,
        env: &Envelope<'_>,
        h: &HeaderFacts,
        d: &Decision,
        findings: &Findings,
    ) -> u64 {
        let rcpts: Vec<String> = env
            .rcpts
            .iter()
            .take(MAX_INCIDENT_RCPTS)
            .map(|p| p.address())
            .collect();
        let mut incident = Incident {
            id: 0,
            time: now_unix(),
            session: env.session.to_string(),
            message_id: h.message_id.clone(),
            sender: env.mail_from.address(),
            rcpts,
            rcpt_count: u32::try_from(env.rcpts.len()).unwrap_or(u32::MAX),
            subject: h.subject.clone(),
            rule: d.rule.clone(),
            action: d.action,
            detectors: Incident::detectors_of(findings),
            kind,
            downstream_reply: None,
        };
        // Bounded before the ring, the live feed and the log line take it.
        incident.bound();
        let detectors: Vec<String> = incident
            .detectors
            .iter()
            .map(|d| format!("{}={} [{}]", d.name, d.count, d.samples.join(" | ")))
            .collect();
        let kind = match &incident.kind {
            IncidentKind::Verdict => "verdict".to_string(),
            IncidentKind::ForgedStamp => "forged_stamp".to_string(),
            IncidentKind::Loop => "loop".to_string(),
            IncidentKind::ScanError(r) => format!("scan_error: {r}"),
        };
        let id = {
            let mut ring = self.incidents.lock().unwrap_or_else(|p| p.into_inner());
            ring.push(incident.clone())
        };
        // Nobody following is fine.
        let _ = self.events.send(Incident {
            id,
            ..incident.clone()
        });
        // Every message-derived field escaped (no forged lines) and capped (no giant lines).
        tracing::warn!(
            incident = id,
            kind = %LogSafe(&kind),
            session = %incident.session,
            message_id = %LogSafe(&incident.message_id),
            sender = %LogSafe(&incident.sender),
            rcpts = %LogSafe(&incident.rcpts.join(",")),
            rcpt_count = incident.rcpt_count,
            subject = %LogSafe(&incident.subject),
            rule = %LogSafe(incident.rule.as_deref().unwrap_or("")),
            action = cordon_policy::action_name(incident.action),
            detectors = %LogSafe(&detectors.join("; ")),
            "incident"
        );
        id
    }

    fn notify(
        &mut self,
        env: &Envelope<'_>,
        h: &HeaderFacts,
        d: &Decision,
        findings: &Findings,
        unique: u64,
    ) {
        let sender = env.mail_from.address();
        let rcpts: Vec<String> = env.rcpts.iter().map(|p| p.address()).collect();
        let host = &self.config.gateway.hostname;
        for to in notify_addresses(d, &sender) {
            let message = notification(&NotificationContext {
                hostname: host,
                from: "",
                to: &to,
                time: now_unix(),
                unique,
                decision: d,
                subject: &h.subject,
                sender: &sender,
                rcpts: &rcpts,
                message_id: &h.message_id,
                findings,
                stamp: Some((&self.config.headers.inspected, &self.key)),
            });
            self.notifications.push(Notification { to, message });
        }
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
        self.incident = None;
        self.notifications.clear();
        let host = self.config.gateway.hostname.clone();
        let h = HeaderFacts::read(message, &self.config.headers.inspected);

        let mut forged = false;
        for stamp in &h.stamps {
            match Stamp::verify(&self.key, &host, stamp, &h.message_id, &h.date) {
                StampCheck::Valid => {
                    self.counters.loop_detected();
                    let reply = reply_from(&self.config.policy.on_loop);
                    let d = Decision {
                        action: Action::Block,
                        reply: Some(reply.summary()),
                        ..Decision::deliver()
                    };
                    self.incident = Some(self.incident(IncidentKind::Loop, env, &h, &d, &findings));
                    self.scan_time = Duration::ZERO;
                    return Verdict::Reject(reply);
                }
                StampCheck::Forged => forged = true,
                StampCheck::Foreign => {}
            }
        }

        let (d, scan_err) = self.decide(env, &findings, message.len() as u64);
        self.counters.verdict(d.action);
        if forged {
            self.counters.forged_stamp();
            self.incident(IncidentKind::ForgedStamp, env, &h, &d, &findings);
        }
        if let Some(reason) = &scan_err {
            self.counters.scan_error();
            self.incident = Some(self.incident(
                IncidentKind::ScanError(reason.clone()),
                env,
                &h,
                &d,
                &findings,
            ));
        } else if d.action != Action::Deliver {
            self.incident = Some(self.incident(IncidentKind::Verdict, env, &h, &d, &findings));
        }
        if let Some(id) = self.incident {
            self.notify(env, &h, &d, &findings, id);
        }
        self.scan_time = Duration::ZERO;

        let rcpts: Vec<String> = env.rcpts.iter().map(|p| p.address()).collect();
        let mut headers = vec![(
            self.config.headers.inspected.clone(),
            Stamp::sign(&self.key, &host, &h.message_id, &h.date),
        )];
        headers.extend(verdict_headers(&d, &self.config.headers, &rcpts));
        match d.action {
            Action::Block => Verdict::Reject(reply_from(d.reply.as_deref().unwrap_or(""))),
            Action::Redirect => match d.redirect_to {
                Some(to) => Verdict::Redirect { to, headers },
                None => Verdict::Reject(reply_from("")),
            },
            Action::Deliver | Action::Tag | Action::Quarantine => Verdict::Deliver { headers },
        }
    }

    fn outcome(&mut self, reply: &Reply) {
        if let Some(id) = self.incident {
            let mut ring = self.incidents.lock().unwrap_or_else(|p| p.into_inner());
            ring.set_downstream_reply(id, &reply.summary());
        }
    }

    fn notifications(&mut self) -> Vec<Notification> {
        std::mem::take(&mut self.notifications)
    }

    fn reset(&mut self) {
        self.scanner.reset();
        self.scan_time = Duration::ZERO;
    }
}
