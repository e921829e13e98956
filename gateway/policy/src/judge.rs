//! The verdict for one message as one pure function: [`judge`] takes what the scan found, the
//! envelope, the header facts and the config, and returns everything the caller needs: what to
//! do with the message, the incidents to record, the notifications to send and each rule's
//! trace. Live mail, the config port's dry run and `cordon scan --config` all call it, so a dry
//! run cannot disagree with the gateway (loop check and scan budget included).
//!
//! No clock, no key store, no ring: the time, the stamp key and a number for notification
//! Message-IDs come in; recording incidents and counting is the caller's.

use std::time::Duration;

use cordon_config::{Action, Config};
use cordon_dlp::{Findings, UnscannableReason};
use cordon_smtp::header::for_each_field;
use cordon_smtp::reply::{parse_reply_line, Enhanced, Reply};

use crate::headers::verdict_headers;
use crate::incident::{Incident, IncidentKind, MAX_INCIDENT_RCPTS};
use crate::notify::{notification, notify_addresses, NotificationContext};
use crate::rules::{evaluate, on_scan_error, Decision, EnvelopeFacts};
use crate::stamp::{Stamp, StampCheck, KEY_BYTES};

/// Octets of Message-ID and Date read from a message (the RFC 5322 line limit): the stamp signs
/// over these, and incidents and notifications quote them. A longer field is read only this
/// far, never copied whole.
pub const MAX_FIELD_READ: usize = 998;
/// Raw octets of the Subject decoded (RFC 2047 words shrink when decoded, so this yields more
/// than the incident's 256 octets of text); the rest of a folded Subject is never read.
pub const MAX_SUBJECT_READ: usize = 2048;
/// Octets of an inspected-stamp field read for verification; cordon's own stamp is about 120.
pub const MAX_STAMP_READ: usize = 512;
/// Stamp fields read per message (the proxy strips at most this many sender-supplied ones).
pub const MAX_STAMPS: usize = 64;

/// The reasons that mean the engine stopped reading part of the message.
pub const LIMIT_REASONS: [UnscannableReason; 7] = [
    UnscannableReason::InflatedBytesLimit,
    UnscannableReason::InflateRatioLimit,
    UnscannableReason::ZipEntriesLimit,
    UnscannableReason::ZipNestingLimit,
    UnscannableReason::MimeDepthLimit,
    UnscannableReason::PartsLimit,
    UnscannableReason::HeaderTooLarge,
];

/// What the header section says that the verdict needs, every field read capped.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct HeaderFacts {
    pub message_id: String,
    pub date: String,
    /// Decoded (RFC 2047) from at most [`MAX_SUBJECT_READ`] raw octets.
    pub subject: String,
    /// Values of every inspected-stamp header that arrived.
    pub stamps: Vec<String>,
}

impl HeaderFacts {
    /// Reads the facts from a message's header section; `inspected` is the stamp's field name.
    pub fn read(message: &[u8], inspected: &str) -> HeaderFacts {
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
            } else if f.is(inspected) && h.stamps.len() < MAX_STAMPS {
                h.stamps.push(f.unfolded_prefix(MAX_STAMP_READ));
            }
        });
        // RFC 2047 encoded words are decoded from the capped prefix only (a cut encoded word
        // stays as it was written).
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

/// What to do with a message. The headers include the inspected stamp, first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Relay it, adding these header fields (name, value) under the `Received:` line.
    Deliver { headers: Vec<(String, String)> },
    /// Relay it only to `to` (a compliance mailbox) instead of the envelope's recipients,
    /// adding these header fields.
    Redirect {
        to: String,
        headers: Vec<(String, String)>,
    },
    /// Refuse it with this reply; nothing goes downstream.
    Reject(Reply),
}

/// A notification to send after the sender has its reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub to: String,
    /// The whole RFC 5322 message.
    pub message: Vec<u8>,
}

/// Everything [`judge`] looks at.
#[derive(Debug)]
pub struct JudgeInput<'a> {
    pub config: &'a Config,
    /// The appliance's stamp key.
    pub key: &'a [u8; KEY_BYTES],
    /// The SMTP session id, for incidents.
    pub session: &'a str,
    /// `MAIL FROM`, `""` for the null sender.
    pub sender: &'a str,
    /// The accepted recipients.
    pub rcpts: &'a [String],
    /// The message as received, in octets.
    pub size: u64,
    pub headers: &'a HeaderFacts,
    pub findings: &'a Findings,
    /// Time the scan took, against `[policy] scan_timeout`.
    pub scan_time: Duration,
    /// Unix seconds, for incidents and notifications.
    pub now: i64,
    /// A number unique on this appliance for the notifications' Message-IDs.
    pub unique: u64,
}

/// What [`judge`] decided and everything that follows from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub outcome: Outcome,
    /// The rules' decision, with each rule's trace.
    pub decision: Decision,
    /// Incidents to record, in order (id 0, bounded): a forged stamp first, then the
    /// message's own.
    pub incidents: Vec<Incident>,
    /// Index in `incidents` of the message's own incident (its downstream reply is added to it).
    pub primary: Option<usize>,
    pub notifications: Vec<Notification>,
    /// The scan did not finish (a limit or the time budget): why.
    pub scan_error: Option<String>,
    /// The message carries cordon's own valid stamp: a loop.
    pub loop_detected: bool,
    /// A stamp claiming to be cordon's did not verify.
    pub forged_stamp: bool,
}

/// The scan-error reason, if the findings or the time spent say the scan did not finish.
pub fn scan_error(findings: &Findings, spent: Duration, budget: Duration) -> Option<String> {
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

fn incident(i: &JudgeInput<'_>, kind: IncidentKind, d: &Decision) -> Incident {
    let mut incident = Incident {
        id: 0,
        time: i.now,
        session: i.session.to_string(),
        message_id: i.headers.message_id.clone(),
        sender: i.sender.to_string(),
        rcpts: i.rcpts.iter().take(MAX_INCIDENT_RCPTS).cloned().collect(),
        rcpt_count: u32::try_from(i.rcpts.len()).unwrap_or(u32::MAX),
        subject: i.headers.subject.clone(),
        rule: d.rule.clone(),
        action: d.action,
        detectors: Incident::detectors_of(i.findings),
        kind,
        downstream_reply: None,
    };
    incident.bound();
    incident
}

/// The verdict for one message: the loop check first (cordon's own valid stamp), then the
/// rules, then `[policy] on_scan_error` for a scan that did not finish and that no rule blocks.
pub fn judge(i: &JudgeInput<'_>) -> Judgement {
    let cfg = i.config;
    let host = &cfg.gateway.hostname;
    let h = i.headers;
    let mut forged = false;
    for stamp in &h.stamps {
        match Stamp::verify(i.key, host, stamp, &h.message_id, &h.date) {
            StampCheck::Valid => {
                let reply = reply_from(&cfg.policy.on_loop);
                let d = Decision {
                    action: Action::Block,
                    reply: Some(reply.summary()),
                    ..Decision::deliver()
                };
                return Judgement {
                    incidents: vec![incident(i, IncidentKind::Loop, &d)],
                    primary: Some(0),
                    outcome: Outcome::Reject(reply),
                    decision: d,
                    notifications: Vec::new(),
                    scan_error: None,
                    loop_detected: true,
                    forged_stamp: false,
                };
            }
            StampCheck::Forged => forged = true,
            StampCheck::Foreign => {}
        }
    }

    let facts = EnvelopeFacts {
        sender: i.sender,
        rcpts: i.rcpts,
        size: i.size,
    };
    let rules = evaluate(&cfg.rules, &facts, i.findings, &cfg.organization.domains);
    let scan_err = scan_error(i.findings, i.scan_time, cfg.policy.scan_timeout);
    let d = match &scan_err {
        Some(reason) if rules.action < Action::Block => {
            let mut d = on_scan_error(cfg.policy.on_scan_error, reason);
            d.trace = rules.trace;
            d
        }
        _ => rules,
    };

    let mut incidents = Vec::new();
    if forged {
        incidents.push(incident(i, IncidentKind::ForgedStamp, &d));
    }
    let own = match &scan_err {
        Some(reason) => Some(IncidentKind::ScanError(reason.clone())),
        None if d.action != Action::Deliver => Some(IncidentKind::Verdict),
        None => None,
    };
    let primary = own.map(|kind| {
        incidents.push(incident(i, kind, &d));
        incidents.len() - 1
    });
    let notifications = match primary {
        None => Vec::new(),
        Some(_) => notify_addresses(&d, i.sender)
            .into_iter()
            .map(|to| Notification {
                message: notification(&NotificationContext {
                    hostname: host,
                    from: "",
                    to: &to,
                    time: i.now,
                    unique: i.unique,
                    decision: &d,
                    subject: &h.subject,
                    sender: i.sender,
                    rcpts: i.rcpts,
                    message_id: &h.message_id,
                    findings: i.findings,
                    stamp: Some((&cfg.headers.inspected, i.key)),
                }),
                to,
            })
            .collect(),
    };

    let mut headers = vec![(
        cfg.headers.inspected.clone(),
        Stamp::sign(i.key, host, &h.message_id, &h.date),
    )];
    headers.extend(verdict_headers(&d, &cfg.headers, i.rcpts));
    let outcome = match d.action {
        Action::Block => Outcome::Reject(reply_from(d.reply.as_deref().unwrap_or(""))),
        Action::Redirect => match d.redirect_to.clone() {
            Some(to) => Outcome::Redirect { to, headers },
            None => Outcome::Reject(reply_from("")),
        },
        Action::Deliver | Action::Tag | Action::Quarantine => Outcome::Deliver { headers },
    };
    Judgement {
        outcome,
        decision: d,
        incidents,
        primary,
        notifications,
        scan_error: scan_err,
        loop_detected: false,
        forged_stamp: forged,
    }
}
