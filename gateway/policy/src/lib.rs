//! cordon-policy: the decision layer between the DLP engine and the SMTP proxy.
//!
//! Sans-IO like the engine it sits on: [`Findings`](cordon_dlp::Findings) and
//! the envelope go in, a [`Decision`] comes out; the decision turns into
//! verdict headers, an SMTP reply, notification messages and an incident. No
//! sockets, files or clocks: time, keys and hostnames are passed in, so every
//! function here is a plain function the tests call directly. The one
//! exception is [`generate_key`], which reads 32 bytes from the OS once, at
//! first start.
//!
//! # Layout
//! - [`direction`](mod@direction): outbound / inbound / internal from
//!   `[organization] domains` and the envelope.
//! - [`rules`]: [`evaluate`] runs `[[rule]]`s in order (strongest action
//!   wins, `stop` ends), [`parse_reply_line`] validates configured replies,
//!   [`on_scan_error`] turns a failed scan into a decision.
//! - [`headers`]: [`verdict_headers`], the `X-Cordon-*` fields a relayed
//!   message carries (single-line values, bounded).
//! - [`stamp`]: the signed inspected stamp ([`Stamp`]) and the loop guard
//!   ([`StampCheck`]).
//! - [`notify`]: [`notification`] builds the RFC 5322 message sent to the
//!   sender or the DLP team; redacted samples only.
//! - [`incident`]: [`Incident`], the fixed-size record ([`INCIDENT_BYTES`]) in
//!   the fixed-capacity [`IncidentRing`] the config port serves.
//! - [`counters`]: [`Counters`], what the data path records into cordon-metrics' table.
//! - [`judge`](mod@judge): [`judge`], the one pure verdict function: loop
//!   check, rules, scan errors, incidents, notifications and each rule's
//!   trace, for live mail and every dry run alike.
//! - [`log`](mod@log): [`LogSafe`], how message-derived text goes on a log
//!   line (escaped, capped).
//!
//! Full sensitive values never reach this crate: the engine hands out
//! redacted samples only, and [`notify`] withholds any sample that still
//! looks like a long number.

#![forbid(unsafe_code)]

pub mod counters;
pub mod direction;
pub mod headers;
pub mod incident;
pub mod judge;
pub mod log;
pub mod notify;
pub mod rules;
pub mod stamp;

pub use direction::{direction, is_internal};
pub use headers::{verdict_headers, MAX_HEADER_VALUE_BYTES};

pub use counters::{Counters, TracedMessage};
pub use incident::{DetectorSummary, Incident, IncidentKind, IncidentRing, INCIDENT_BYTES};
pub use judge::{judge, HeaderFacts, JudgeInput, Judgement, Notification, Outcome};
pub use log::{LogSafe, MAX_LOG_FIELD, MAX_LOG_LINE};
pub use notify::{notification, notify_addresses, NotificationContext};
pub use rules::{
    action_name, default_block_reply, dlp_confidence, evaluate, on_scan_error, parse_reply_line,
    rule_check, Decision, EnvelopeFacts, RuleTrace,
};
pub use stamp::{generate_key, Stamp, StampCheck, KEY_BYTES};

/// The one error type of this crate.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// The OS random source failed while generating the appliance key.
    #[error("cannot read 32 random bytes from the OS for the stamp key: {0}")]
    Random(String),
}
