//! Every size bound of the config port, each with the reason it has that value.
//!
//! The bounds are part of the protocol: a peer may rely on them, so changing one
//! means bumping [`crate::PROTOCOL_VERSION`].

/// Version of this protocol; both peers send it in `Hello` and refuse a mismatch.
/// Bump it whenever a message's encoding changes (a variant added, a field or a bound changed).
/// Version 2: `Issue` carries a column. Version 3: `Verdict::Redirect`. Version 4: an
/// `Incident` carries the whole incident record (kind, subject, recipients, detectors),
/// `Applied` carries warnings, `ErrorCode::Unsupported`, `Detectors`, `Status` listeners and
/// pending restart. Version 5: incidents come from the persistent journal (`Incident::worker`,
/// `QueryIncidents`, `VerifyIncidents`, `Status::journal`). Version 6: policy diffs
/// (`StageCandidate`, `ScanCandidate`). Version 7: the audit trail (`QueryAudit`, `Audit`).
/// Version 8: `Status` answers the health questions (config origin, last apply, smart-host
/// checks, certificate expiry, recent incidents); `ScanText` (the dry run as `cordon scan`
/// prints it, with an envelope). Version 9: EDM tables (`BlobKind::Edm`, `EdmInstall`,
/// `EdmList`, `EdmRemove`, `EdmTables`, `ErrorCode::InvalidEdm` and `OverBudget`). Version
/// 10: the message trace (`QueryTrace`, `Trace`). Version 11: the log tail (`QueryLog`, `Log`).
/// Version 12: `Status::buffers`, the message buffers by size class. Version 13: repeated values
/// (`QueryRepeats`, `Repeats`). Version 14: `Status::started_unix`. Version 15: firmware
/// updates (`UpdateBegin`, `UpdateChunk`, `UpdateFinish`, `UpdateStatus`, their answers,
/// `ErrorCode::UpdateRefused`), document fingerprints (`FingerprintAdd`, `FingerprintList`,
/// `FingerprintRemove`, `Fingerprints`).
pub const PROTOCOL_VERSION: u16 = 15;

/// Fingerprint sets an appliance holds (`cordon_dlp` keeps no bound of its own; the gateway
/// refuses a set beyond this many).
pub const MAX_FINGERPRINT_SETS: usize = 16;

/// Documents one fingerprint set holds (`cordon_dlp::fingerprint::MAX_DOCUMENTS`, tied by a
/// test in cordon).
pub const MAX_SET_DOCUMENTS: usize = 64;

/// Longest protected document name (`cordon_dlp::fingerprint::MAX_DOCUMENT_NAME`).
pub const MAX_DOC_NAME_LEN: usize = 64;

/// Largest config TOML accepted: the example config is ~4 KiB; 64 KiB leaves room for large
/// rule sets while the server can hold a staged config whole and validate it in one pass.
pub const MAX_CONFIG_LEN: u32 = 64 * 1024;

/// Largest TLS bundle (certificate chain then private key, PEM): a leaf plus two
/// intermediates and a 4096-bit RSA key is ~10 KiB.
pub const MAX_TLS_BUNDLE_LEN: u32 = 32 * 1024;

/// Largest message accepted for a dry-run scan: the gateway's own SMTP `SIZE` ceiling, so
/// any message the gateway could receive can be tested.
pub const MAX_SCAN_MESSAGE_LEN: u32 = 50 * 1024 * 1024;

/// Largest EDM bundle (`cordon_dlp::edm::MAX_BUNDLE_BYTES`, tied by a test in cordon): a
/// million rows of eight columns, two of them primary, fit.
pub const MAX_EDM_LEN: u32 = 64 << 20;

/// EDM tables listed by `EdmTables`: every table an appliance holds (the gateway refuses a
/// table beyond this many).
pub const MAX_EDM_TABLES: usize = 16;

/// Bytes of an EDM table's key (`cordon_dlp::edm::KEY_BYTES`).
pub const EDM_KEY_LEN: usize = 32;

/// Bytes of a blob carried by one `UploadChunk` or `ConfigChunk`: 8 KiB is ~0.7 s on a
/// 115200-baud console, so a frame lost to line noise is cheap to resend, and frames (and the
/// messages decoded from them, which live on the stack) stay small.
pub const CHUNK_LEN: usize = 8 * 1024;

/// Short identifiers (software version, board name, client name, counter names).
pub const MAX_NAME_LEN: usize = 48;

/// Free-text human messages (error text, a validation reason).
pub const MAX_TEXT_LEN: usize = 256;

/// A config key path such as `policy.rules[3].action`; deep tables stay under 128 bytes.
pub const MAX_KEY_LEN: usize = 128;

/// An e-mail address or a Message-ID: RFC 5321 §4.5.3.1.3 caps a path at 256 octets.
pub const MAX_ADDRESS_LEN: usize = 256;

/// Validation issues reported for one refused config: enough to fix a file in one pass
/// without letting a hopeless file produce an unbounded reply.
pub const MAX_ISSUES: usize = 16;

/// Workers listed by `Status`: one worker per core, and no supported board has more than 64.
pub const MAX_WORKERS: usize = 64;

/// Listeners named in `Status`: a gateway binds a handful of addresses (plain and implicit
/// TLS, IPv4 and IPv6); more are counted in the log only.
pub const MAX_LISTENERS: usize = 8;

/// Smart hosts `status` checks and reports: an Exchange Online connector has one MX name, a
/// site with its own relays two or three; the first eight are checked.
pub const MAX_STATUS_SMARTHOSTS: usize = 8;

/// Newest incidents in `status` (as `systemctl status` shows the last log lines).
pub const MAX_RECENT_INCIDENTS: usize = 5;

/// Counters in one `Counters` reply: named pairs so new counters need no protocol change.
pub const MAX_COUNTERS: usize = 128;

/// Incidents per `Incidents` page (at most ~5.6 KiB each, every field at its cap): a page
/// stays inside one frame. Pages are read until the ring is exhausted, so a small page costs
/// round trips, not incidents.
pub const MAX_INCIDENTS_PER_PAGE: usize = 2;

/// Messages per `Trace` page (under 1 KiB each, every field at its cap): a page stays inside
/// one frame; a reader asks again from `next`.
pub const MAX_TRACE_PER_PAGE: usize = 8;

/// Log lines per `Log` page (under 560 bytes each, every field at its cap): a page stays
/// inside one frame; a reader asks again from `next`.
pub const MAX_LOG_PER_PAGE: usize = 16;

/// Octets of one log line's text: what the appliance's log ring keeps of a line
/// (`cordon_metrics::log::LINE_TEXT`, a test in cordon ties the two); longer lines end in `…`.
pub const MAX_LOG_LINE_LEN: usize = 488;

/// Size classes of message buffers in `Status`: the config's bound
/// (`cordon_config::MAX_SLOT_CLASSES`, a test in cordon ties the two).
pub const MAX_BUFFER_CLASSES: usize = 8;

/// `QueryLog`'s levels, most severe first: `level` is an index into this list, and a
/// `LogEntry` names one of them (the appliance's log ring numbers them alike:
/// `cordon_metrics::log::LEVELS`, a test in cordon ties the two).
pub const LOG_LEVELS: [&str; 5] = ["error", "warn", "info", "debug", "trace"];

/// Log sources: every worker, then the supervisor.
pub const MAX_LOG_SOURCES: usize = MAX_WORKERS + 1;

/// Recipients named in one incident: `cordon_policy::MAX_INCIDENT_RCPTS`, the record's bound
/// (a test in cordon ties the two).
pub const MAX_INCIDENT_RCPTS: usize = 8;

/// Envelope recipients a `ScanText` dry run takes: enough to test a rule's recipients and
/// direction; a real message's envelope is not needed whole for that.
pub const MAX_SCAN_RCPTS: usize = 16;

/// Detectors listed in one incident: `cordon_policy::MAX_INCIDENT_DETECTORS`.
pub const MAX_INCIDENT_DETECTORS: usize = 8;

/// Redacted samples per detector in one incident: `cordon_policy::MAX_INCIDENT_SAMPLES`.
pub const MAX_INCIDENT_SAMPLES: usize = 3;

/// Octets of a detector name or one redacted sample: `cordon_policy::MAX_INCIDENT_NAME`.
pub const MAX_SAMPLE_LEN: usize = 64;

/// Value tags per detector in one incident record: `cordon_dlp::tracking::MAX_VALUE_TAGS`.
pub const MAX_VALUE_TAGS: usize = 32;

/// Detectors one `Repeats` answer lists: a message meets a handful of identifier types;
/// the busiest 16 fit a frame with room to spare.
pub const MAX_REPEAT_DETECTORS: usize = 16;

/// Repeated values one `Repeats` answer lists (the most widespread first), each with the
/// first few incidents that carried it.
pub const MAX_REPEAT_TOP: usize = 16;

/// Incidents named per repeated value: enough to open one with `incidents show`.
pub const MAX_REPEAT_INCIDENTS: usize = 4;

/// Findings in a scan report: the report says how many more there were.
pub const MAX_FINDINGS: usize = 32;

/// Bytes of the CRC-32 trailer inside every frame.
pub const CRC_LEN: usize = 4;

/// Largest postcard body of any frame: a full chunk or incident page plus headers.
/// `frame.rs` proves at compile time that every message's `POSTCARD_MAX_SIZE` fits.
pub const MAX_BODY_LEN: usize = 12 * 1024;

/// COBS worst case adds one code byte per 254 data bytes, plus one.
pub const fn cobs_max_len(len: usize) -> usize {
    len + len / 254 + 1
}

/// Bytes a receiver must buffer for one encoded frame, delimiter excluded; also the size of
/// the buffer a sender needs for [`crate::encode_frame`] (plus one for the delimiter).
pub const MAX_FRAME_LEN: usize = cobs_max_len(MAX_BODY_LEN + CRC_LEN);

/// Buffer size for [`crate::encode_frame`]: the encoded frame plus its 0x00 delimiter.
pub const MAX_ENCODED_FRAME_LEN: usize = MAX_FRAME_LEN + 1;
