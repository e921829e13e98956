//! The request and response types carried by config-port frames.
//!
//! Encoding is postcard: an enum is sent as the varint index of its variant, so the ORDER of
//! variants is the wire format. Add new variants at the end only, and bump
//! [`crate::PROTOCOL_VERSION`] for any change. `Hello` is variant 0 of both enums and its shape
//! must never change: it is how two versions find out they disagree.

use heapless::{String, Vec};
use postcard::experimental::max_size::MaxSize;
use serde::{Deserialize, Serialize};

use crate::error::{Issue, WireError};
use crate::limits::{
    CHUNK_LEN, MAX_ADDRESS_LEN, MAX_CONFIG_LEN, MAX_COUNTERS, MAX_FINDINGS, MAX_INCIDENTS_PER_PAGE,
    MAX_INCIDENT_DETECTORS, MAX_INCIDENT_RCPTS, MAX_INCIDENT_SAMPLES, MAX_ISSUES, MAX_LISTENERS,
    MAX_NAME_LEN, MAX_RECENT_INCIDENTS, MAX_SAMPLE_LEN, MAX_SCAN_MESSAGE_LEN, MAX_SCAN_RCPTS,
    MAX_STATUS_SMARTHOSTS, MAX_TEXT_LEN, MAX_TLS_BUNDLE_LEN, MAX_TRACE_PER_PAGE, MAX_WORKERS,
};
use crate::limits::{EDM_KEY_LEN, MAX_EDM_LEN, MAX_EDM_TABLES};
use crate::limits::{MAX_BUFFER_CLASSES, MAX_LOG_LINE_LEN, MAX_LOG_PER_PAGE, MAX_LOG_SOURCES};
use crate::limits::{MAX_DOC_NAME_LEN, MAX_FINGERPRINT_SETS, MAX_SET_DOCUMENTS};
use crate::limits::{MAX_REPEAT_DETECTORS, MAX_REPEAT_INCIDENTS, MAX_REPEAT_TOP, MAX_VALUE_TAGS};

/// Short identifier text (versions, board and counter names).
pub type Name = String<MAX_NAME_LEN>;
/// Human-readable text.
pub type Text = String<MAX_TEXT_LEN>;
/// An address or Message-ID.
pub type Address = String<MAX_ADDRESS_LEN>;
/// One chunk of a blob being uploaded or downloaded.
pub type Chunk = Vec<u8, CHUNK_LEN>;

/// What a client sends in one frame: the request plus an id the server echoes, so a client on
/// a serial line can tell a late reply to an abandoned request from the one it waits for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct RequestFrame {
    /// Chosen by the client; echoed in every response (and every followed incident).
    pub id: u32,
    pub request: Request,
}

/// What a server sends in one frame. `id` is the request's id, or [`UNATTRIBUTED_ID`] for an
/// error about a frame that could not be decoded far enough to read its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct ResponseFrame {
    pub id: u32,
    pub response: Response,
}

/// Response id used when the request's id is unknown (bad CRC, over-long frame).
pub const UNATTRIBUTED_ID: u32 = 0;

/// What a staged upload is for; each kind has its own size limit and consuming request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum BlobKind {
    /// A config TOML, consumed by `ValidateConfig` or `ApplyConfig`.
    Config,
    /// An RFC 5322 message, consumed by `Scan`.
    Message,
    /// PEM certificate chain followed by the PEM private key, consumed by `InstallTls`.
    TlsBundle,
    /// An EDM bundle (`cordonctl edm hash`), consumed by `EdmInstall`.
    Edm,
}

impl BlobKind {
    /// Largest blob of this kind the server accepts.
    pub const fn max_len(self) -> u32 {
        match self {
            Self::Config => MAX_CONFIG_LEN,
            Self::Message => MAX_SCAN_MESSAGE_LEN,
            Self::TlsBundle => MAX_TLS_BUNDLE_LEN,
            Self::Edm => MAX_EDM_LEN,
        }
    }
}

/// Every request of the config port. Each one is answered by exactly one [`Response`] (or
/// `Response::Error`), except `FollowIncidents`, which streams until `StopFollow`.
///
/// Anything bigger than a frame (a config, a message, a TLS bundle) is first staged with
/// `UploadBegin` + `UploadChunk`s, then consumed by the request that uses it. A connection
/// has one staging area; `UploadBegin` discards whatever was in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Request {
    /// Must be first on every connection; answered by `Response::Hello` or
    /// `WireError::VersionMismatch`. Variant 0 forever.
    Hello { protocol: u16, client: Name },
    /// Answered by `Response::Status`.
    Status,
    /// Answered by `Response::Counters`.
    Counters,
    /// Reads the running config from `offset`; answered by `Response::ConfigChunk`. A client
    /// repeats with the next offset until it has `total_len` bytes, and starts over if the
    /// generation changed between chunks.
    GetConfig { offset: u32 },
    /// Starts staging a blob of `total_len` bytes. Answered by `Response::UploadReady`, or
    /// `UploadTooLarge` above [`BlobKind::max_len`].
    UploadBegin { kind: BlobKind, total_len: u32 },
    /// The staged blob's bytes at `offset`. Chunks must arrive in order; resending the last
    /// chunk (its ack was lost) is accepted and ignored, any other offset is
    /// `UploadSequence`. Answered by `Response::UploadProgress`.
    UploadChunk { offset: u32, data: Chunk },
    /// Parse and check the staged config without touching anything; answered by
    /// `Response::ConfigValid` or an `InvalidConfig` error listing the issues.
    ValidateConfig,
    /// Validate the staged config whole, persist it power-safe, then apply it (new sessions
    /// use it, sessions in flight finish on the old one). With `expected_generation`, refused
    /// with `GenerationConflict` unless the running generation is that one, so two admins
    /// cannot silently overwrite each other. Answered by `Response::Applied`.
    ApplyConfig { expected_generation: Option<u64> },
    /// Make the previous config current again, as a new generation. `Response::RolledBack`.
    Rollback,
    /// Incidents with `seq >= since`, oldest first, at most `max` (capped by the page size).
    /// Answered by `Response::Incidents`.
    ListIncidents { since: u64, max: u16 },
    /// Sends `Response::Incident` for every incident with `seq >= since`, then for each new
    /// one as it happens, until the client sends `StopFollow`.
    FollowIncidents { since: u64 },
    /// Ends a follow; answered by `Response::Ok` after the last pushed incident.
    StopFollow,
    /// Dry-run the policy over the staged message. Answered by `Response::ScanReport`.
    Scan,
    /// Replace the SMTP TLS certificate and key with the staged bundle (validated: key
    /// matches the leaf, leaf not expired). Answered by `Response::TlsInstalled`.
    InstallTls,
    /// Restart every worker gracefully (sessions in flight finish). `Response::WorkersRestarting`.
    RestartWorkers,
    /// Reboot the appliance. Answered by `Response::Rebooting` before it goes down.
    Reboot,
    /// The detectors and bundles the gateway's engine knows, exactly as `cordon detectors`
    /// prints them (a table, or with `json` its JSON), read from `offset` like `GetConfig`.
    /// Answered by `Response::DetectorsChunk`.
    Detectors { json: bool, offset: u32 },
    /// The persistent incident log, filtered on the appliance: one page of the incidents the
    /// query keeps, oldest first by time across the workers' journals. Answered by
    /// `Response::IncidentResults`; the next page starts at its `next` cursors.
    QueryIncidents(IncidentQuery),
    /// Verify the chain of the first journal whose worker index is at least `worker`, and
    /// check `anchor` against it when it names that worker. Answered by
    /// `Response::IncidentsVerified`; ask again with its `next` for the next journal.
    VerifyIncidents {
        worker: u16,
        anchor: Option<JournalAnchor>,
    },
    /// Validate the staged config as `ValidateConfig` does and keep it, built, as this
    /// connection's candidate policy for `ScanCandidate`. Nothing is persisted or applied;
    /// the candidate lives until the next `StageCandidate`, `Hello` or the end of the
    /// connection. Answered by `Response::CandidateStaged`.
    StageCandidate,
    /// Dry-run the staged message twice: under the running policy and under the connection's
    /// candidate, each through its own engine and the verdict function live mail uses (a
    /// policy diff). Answered by `Response::ScanCompared`; `UploadMissing` without a
    /// candidate.
    ScanCandidate,
    /// The audit trail: records of state-changing config-port requests, kept in the journal
    /// of the worker that serves the port, from sequence number `since`, at most `max`.
    /// Answered by `Response::Audit`.
    QueryAudit { since: u64, max: u16 },
    /// The policy's dry run over the staged message, printed exactly as `cordon scan --config`
    /// prints it on the appliance (findings with confidence and redacted samples, the verdict,
    /// each rule's match or why not; with `json`, its JSON), for the envelope `from`/`to`
    /// (the message's From and To/Cc/Bcc when `from` is `None`). Read from `offset` like
    /// `GetConfig`; answered by `Response::ScanText`.
    ScanText {
        json: bool,
        from: Option<Address>,
        to: Vec<Address, MAX_SCAN_RCPTS>,
        offset: u32,
    },
    /// Verify the staged EDM bundle whole with `key` (the table's secret key, sent once over
    /// this authenticated transport and kept with the appliance's secrets, never logged),
    /// check it against the memory and storage budgets, store it power-safe as table `name`
    /// (replacing a table of that name), and load it for new sessions. Answered by
    /// `Response::EdmTables`; refused with `InvalidEdm` or `OverBudget`, the running tables
    /// unchanged.
    EdmInstall { name: Name, key: [u8; EDM_KEY_LEN] },
    /// The installed EDM tables. Answered by `Response::EdmTables`.
    EdmList,
    /// Remove EDM table `name` (rules naming it then match nothing). `Response::EdmTables`.
    EdmRemove { name: Name },
    /// The message trace: the newest messages every worker judged, clean ones included, with
    /// the verdict, the deciding rule and the reason, oldest first by time. `since[w]` is the
    /// first sequence number wanted of worker `w` (a previous page's `next`); empty asks for
    /// the newest `max`. Answered by `Response::Trace`.
    QueryTrace {
        since: Vec<u64, MAX_WORKERS>,
        max: u16,
    },
    /// The log tail: the newest lines every worker and the supervisor logged, oldest first by
    /// time, at `level` or more severe (0 error, 1 warn, 2 info, 3 debug, 4 trace). `since[s]`
    /// is the first sequence number wanted of source `s` (the workers, then the supervisor; a
    /// previous page's `next`); empty asks for the newest `max`. Answered by `Response::Log`.
    QueryLog {
        since: Vec<u64, MAX_LOG_SOURCES>,
        max: u16,
        level: u8,
    },
    /// Values that recur across incidents (the same card numbers in several messages),
    /// counted on the appliance from the keyed value tags in the incident journals; no
    /// value is stored or sent. Answered by `Response::Repeats`.
    QueryRepeats(RepeatQuery),
    /// Starts streaming a firmware bundle of `total_len` bytes into the slot that is not
    /// running (the appliance's root helper writes it; nothing is staged in memory). With
    /// `resume`, an upload of the same length that lost its connection continues where it
    /// stands: the answer's `received` and `running` say where, and the client checks
    /// `running` against its own file before it sends from there. Without `resume` (or when
    /// nothing is pending) a new upload starts. Answered by `Response::UpdateReady`;
    /// `Busy` while another connection's upload is moving, `Unsupported` without a helper.
    UpdateBegin { total_len: u64, resume: bool },
    /// The bundle's bytes at `offset` (the bytes received so far); `running` is the SHA-256
    /// of the bundle's first `offset + data.len()` bytes. A chunk at another offset is
    /// `UploadSequence` (resending the last one after a lost ack is accepted and ignored);
    /// a `running` that differs ends the upload (`UploadSequence`), as does a bundle the
    /// helper refuses (`UpdateRefused`, e.g. a bad signature, before anything is written).
    /// Answered by `Response::UpdateReceived`.
    UpdateChunk {
        offset: u64,
        data: Chunk,
        running: [u8; 32],
    },
    /// Every byte is sent: wait until the helper has written, read back and armed the slot.
    /// Answered by `Response::UpdateInstalled`, or `UpdateRefused` with the helper's reason
    /// (the slot then stays marked bad, nothing armed).
    UpdateFinish,
    /// Both root slots as the boot loader sees them. Answered by `Response::Slots`.
    UpdateStatus,
    /// Fingerprint the staged document (a `Message` upload: an `.eml`, or any file wrapped as
    /// the attachment of one, which the gateway's own readers open: docx, xlsx, PDF, zip...)
    /// and add it to set `set` as `document` (replacing a document of that name; the set is
    /// made, with a fresh secret key, if it does not exist). Only keyed fingerprints are kept;
    /// the document itself is not stored. Answered by `Response::Fingerprints` with the set's
    /// documents; `InvalidEdm` (a bad name, a document without text, too large, unreadable)
    /// or `OverBudget`, the sets unchanged.
    FingerprintAdd { set: Name, document: DocName },
    /// The fingerprint sets; with `set`, that set's documents too. `Response::Fingerprints`.
    FingerprintList { set: Option<Name> },
    /// Remove `document` from set `set`, or the whole set without `document`.
    /// `Response::Fingerprints`.
    FingerprintRemove {
        set: Name,
        document: Option<DocName>,
    },
}

impl Request {
    /// Number of variants; a decoded tag at or above it is an unknown request.
    pub const VARIANTS: u32 = 36;
}

/// Every response of the config port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Response {
    /// Variant 0 forever, see `Request::Hello`.
    Hello(HelloReply),
    /// The request failed; the error says why.
    Error(WireError),
    /// Plain acknowledgement (`StopFollow`).
    Ok,
    Status(Status),
    Counters(Counters),
    /// Part of the running config (TOML, UTF-8 split at arbitrary bytes).
    ConfigChunk {
        generation: u64,
        total_len: u32,
        offset: u32,
        data: Chunk,
    },
    /// Staging started; send chunks of at most `chunk_len` bytes.
    UploadReady {
        chunk_len: u32,
    },
    /// Bytes staged so far.
    UploadProgress {
        received: u32,
    },
    /// The config is valid; `warnings` uses the same shape as errors.
    ConfigValid {
        warnings: Vec<Issue, MAX_ISSUES>,
    },
    /// The config is persisted and live as `generation`; `warnings` as for `ConfigValid`
    /// (settings that take effect only at the next start).
    Applied {
        generation: u64,
        warnings: Vec<Issue, MAX_ISSUES>,
    },
    /// The previous config is live again as the new `generation`; `restored` is the
    /// generation whose content it carries.
    RolledBack {
        generation: u64,
        restored: u64,
    },
    Incidents(IncidentPage),
    /// One incident pushed while following.
    Incident(Incident),
    ScanReport(ScanReport),
    TlsInstalled(TlsInfo),
    /// Workers are restarting.
    WorkersRestarting {
        workers: u16,
    },
    /// The reboot has been started.
    Rebooting,
    /// Part of the detector list (UTF-8 split at arbitrary bytes), see `Request::Detectors`.
    DetectorsChunk {
        total_len: u32,
        offset: u32,
        data: Chunk,
    },
    /// Answer to `QueryIncidents`.
    IncidentResults(IncidentResults),
    /// Answer to `VerifyIncidents`: one journal's report, or none when no journal has an index
    /// at or above the one asked for.
    IncidentsVerified {
        report: Option<JournalReport>,
    },
    /// Answer to `StageCandidate`: the candidate is valid and kept; `generation` is the
    /// running config's it will be compared with, `warnings` as for `ConfigValid`.
    CandidateStaged {
        generation: u64,
        warnings: Vec<Issue, MAX_ISSUES>,
    },
    /// Answer to `ScanCandidate`.
    ScanCompared(ScanComparison),
    /// Answer to `QueryAudit`.
    Audit(AuditPage),
    /// Part of a `ScanText` report (UTF-8 split at arbitrary bytes).
    ScanText {
        total_len: u32,
        offset: u32,
        data: Chunk,
    },
    /// Answer to `EdmInstall`, `EdmList` and `EdmRemove`: the tables installed now.
    EdmTables(EdmTables),
    /// Answer to `QueryTrace`.
    Trace(TracePage),
    /// Answer to `QueryLog`.
    Log(LogPage),
    /// Answer to `QueryRepeats`.
    Repeats(RepeatReport),
    /// Answer to `UpdateBegin`: send chunks of at most `chunk_len` bytes from `received`;
    /// `running` is the SHA-256 of the first `received` bytes (all zeros when 0).
    UpdateReady {
        chunk_len: u32,
        received: u64,
        running: [u8; 32],
    },
    /// Answer to `UpdateChunk`: bytes received so far.
    UpdateReceived {
        received: u64,
    },
    /// Answer to `UpdateFinish`: the bundle is in `slot`, verified and armed for one attempt.
    UpdateInstalled {
        slot: Name,
        version: Name,
        bytes: u64,
    },
    /// Answer to `UpdateStatus`.
    Slots(SlotsReport),
    /// Answer to `FingerprintAdd`, `FingerprintList` and `FingerprintRemove`.
    Fingerprints(FingerprintSets),
}

/// A protected document's name in a fingerprint set (its file name).
pub type DocName = String<MAX_DOC_NAME_LEN>;

/// The fingerprint sets of the appliance and the budgets they share with the EDM tables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct FingerprintSets {
    pub sets: Vec<FingerprintSetInfo, MAX_FINGERPRINT_SETS>,
    /// The documents of the set asked for (or just added to); empty otherwise.
    pub documents: Vec<FingerprintDocument, MAX_SET_DOCUMENTS>,
    /// `[edm] memory_bytes`: what EDM tables and fingerprint sets may hold in memory together.
    pub memory_budget: u64,
    /// `[edm] storage_bytes`: what they may take on the data partition (two copies).
    pub storage_budget: u64,
}

/// One fingerprint set: sizes, never a fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct FingerprintSetInfo {
    pub name: Name,
    pub documents: u16,
    pub fingerprints: u32,
    pub memory_bytes: u64,
    pub stored_bytes: u64,
}

/// One protected document of a set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct FingerprintDocument {
    pub name: DocName,
    pub fingerprints: u32,
}

/// Both root slots (`cordonctl update status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct SlotsReport {
    /// `A` or `B`; `None` when the kernel was not booted from a slot.
    pub booted: Option<Name>,
    /// The boot loader's order, e.g. `B A`.
    pub order: Name,
    pub slots: Vec<SlotReport, 2>,
    /// Why the booted slot is not first in the order, when the boot loader fell back.
    pub rollback: Option<Text>,
}

/// One root slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct SlotReport {
    pub name: Name,
    pub booted: bool,
    /// `good`, `trying` (attempts left, not marked good), `bad` (no attempts: does not boot)
    /// or `writing` (an install did not finish: does not boot).
    pub state: Name,
    pub attempts: u8,
    pub version: Option<Name>,
    /// dm-verity root hash, 64 hex digits.
    pub root_hash: Option<String<64>>,
}

/// One line of the log tail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct LogEntry {
    /// The worker's index; the supervisor is `LogPage::supervisor`.
    pub source: u16,
    pub seq: u64,
    /// Milliseconds since the epoch.
    pub time_ms: u64,
    /// `error`, `warn`, `info`, `debug` or `trace`.
    pub level: Name,
    pub text: String<MAX_LOG_LINE_LEN>,
}

/// Answer to `QueryLog`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct LogPage {
    pub lines: Vec<LogEntry, MAX_LOG_PER_PAGE>,
    /// Per source (the workers, then the supervisor), the sequence number to ask from next.
    pub next: Vec<u64, MAX_LOG_SOURCES>,
    /// The supervisor's source number (the number of workers).
    pub supervisor: u16,
}

/// One judged message of the trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct TraceEntry {
    pub worker: u16,
    pub seq: u64,
    /// Milliseconds since the epoch.
    pub time_ms: u64,
    pub bytes: u64,
    /// `deliver`, `tag`, `quarantine`, `redirect`, `block` or `loop`.
    pub action: Name,
    pub rule: Option<Name>,
    pub sender: Address,
    pub message_id: Address,
    /// Why, in a few words: the deciding rule (or none) and what the engine found.
    pub reason: Text,
}

/// Answer to `QueryTrace`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct TracePage {
    pub entries: Vec<TraceEntry, MAX_TRACE_PER_PAGE>,
    /// Per worker, the sequence number to ask from next.
    pub next: Vec<u64, MAX_WORKERS>,
}

impl Response {
    /// Number of variants; a decoded tag at or above it is an unknown response.
    pub const VARIANTS: u32 = 33;
}

/// The EDM tables of the appliance and the budgets they live in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct EdmTables {
    pub tables: Vec<EdmTableInfo, MAX_EDM_TABLES>,
    /// `[edm] memory_bytes`: what all tables may hold in memory (per worker).
    pub memory_budget: u64,
    /// `[edm] storage_bytes`: what all tables may take on the data partition, counting the
    /// second copy a replacement writes before the first is gone.
    pub storage_budget: u64,
}

/// One installed EDM table: sizes and shape, never a cell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct EdmTableInfo {
    pub name: Name,
    pub rows: u32,
    pub columns: u8,
    pub min_fields: u8,
    pub proximity: u16,
    /// Bytes the loaded table holds in memory.
    pub memory_bytes: u64,
    /// Bytes of the stored bundle on the data partition.
    pub stored_bytes: u64,
}

/// The server's half of the handshake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct HelloReply {
    pub protocol: u16,
    /// cordon's software version (`CARGO_PKG_VERSION` of the gateway).
    pub software: Name,
    /// Board profile name, so a client knows which hardware it talks to.
    pub board: Name,
    /// The server's receive buffer, so a client can check it before sending big frames.
    pub max_frame: u32,
}

/// Answer to `Status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct Status {
    pub software: Name,
    pub board: Name,
    pub uptime_secs: u64,
    /// When the answering worker started (Unix seconds), so a client shows one start time
    /// rather than its own clock minus `uptime_secs`, which moves by a second between calls.
    pub started_unix: u64,
    pub workers: Vec<WorkerStatus, MAX_WORKERS>,
    /// SMTP sessions open now, over all workers.
    pub sessions: u32,
    pub memory: MemoryStatus,
    /// Generation of the running config (0 = factory default, never applied).
    pub config_generation: u64,
    /// The SMTP listeners bound at start (`listen`, then `listen_tls` as `tls ADDRESS`).
    pub listeners: Vec<Name, MAX_LISTENERS>,
    /// Restart-only settings applied since the start that do not run yet (`gateway.listen`,
    /// `control`, ...): a restart is pending while this is not empty.
    pub restart_pending: Vec<Name, MAX_ISSUES>,
    /// The persistent incident log of the worker that answers (the config port's worker).
    pub journal: JournalStatus,
    /// Where the running config came from, as the start log said it (file, stored generation,
    /// and whether they differ).
    pub config_origin: Text,
    /// The config file differs from the generation that runs (`cordon run
    /// --config-source=file` makes the file win).
    pub file_differs: bool,
    /// The newest `apply` or `rollback` in the audit trail: who, when, which generation.
    pub last_apply: Option<AuditRecord>,
    /// Each smart host, checked now (connect and greeting).
    pub smarthosts: Vec<SmartHostCheck, MAX_STATUS_SMARTHOSTS>,
    /// The SMTP listener's certificate (`[gateway.tls]`), when there is one.
    pub certificate: Option<TlsInfo>,
    /// The newest incidents over every worker's journal, newest first.
    pub recent: Vec<IncidentBrief, MAX_RECENT_INCIDENTS>,
    /// The message buffers (`[gateway] slot_classes`) over every worker, smallest first: a
    /// transaction holds one from MAIL to its end, so `in_use` = `count` is where senders hear
    /// `452 4.3.1`.
    pub buffers: Vec<BufferClass, MAX_BUFFER_CLASSES>,
}

/// One size class of message buffers, summed over the workers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct BufferClass {
    /// Bytes one buffer holds.
    pub size: u64,
    pub count: u32,
    pub in_use: u32,
}

/// One smart host as `status` checked it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct SmartHostCheck {
    /// `smtp://host:port` as the config names it.
    pub address: Text,
    pub ok: bool,
    /// How long the connection and greeting took.
    pub millis: u32,
    /// The greeting's first line when ok, why not otherwise.
    pub detail: Text,
}

/// An incident in one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct IncidentBrief {
    pub worker: u16,
    pub seq: u64,
    pub time_unix: u64,
    pub action: Verdict,
    pub rule: Option<Name>,
    pub sender: Address,
}

/// One worker's incident journal as its writer sees it: while `ok` is false, messages with an
/// incident get `451 4.3.0` (never a 250 without a durable record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct JournalStatus {
    pub worker: u16,
    pub ok: bool,
    /// Appends that failed since start (each one a message that got 451).
    pub failures: u64,
    /// Why the journal is not writable (or the last failure), if it ever failed.
    pub last_error: Option<Text>,
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    pub bytes: u64,
    /// `[incidents] total_bytes` of each journal.
    pub total_bytes: u64,
}

/// One worker process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct WorkerStatus {
    pub index: u16,
    /// The core it is pinned to; `None` when the board profile does not pin.
    pub core: Option<u16>,
    pub pid: u32,
    pub health: WorkerHealth,
    pub sessions: u32,
}

/// What the supervisor last observed of a worker (JSON: lower case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerHealth {
    Starting,
    Healthy,
    /// Alive but failing its checks (e.g. watchdog late).
    Degraded,
    /// Exited; the supervisor will restart it.
    Down,
}

impl WorkerHealth {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Healthy => "healthy",
            Self::Degraded => "degraded",
            Self::Down => "down",
        }
    }
}

/// Memory decided at start-up from the board profile, and what is in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct MemoryStatus {
    pub budget_bytes: u64,
    pub used_bytes: u64,
}

/// Answer to `Counters`: named values, so adding a counter needs no protocol change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct Counters {
    pub counters: Vec<Counter, MAX_COUNTERS>,
}

/// One monotonic counter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct Counter {
    pub name: Name,
    pub value: u64,
}

/// What the policy decided (or would decide) for a message. Serialised (JSON) in lower case,
/// as the config spells actions (`block`, not `Block`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Deliver,
    /// Delivered with an `X-Cordon-Action` header for Exchange rules to act on.
    Tag,
    Quarantine,
    Block,
    /// Delivered only to a compliance mailbox instead of the original recipients.
    Redirect,
}

impl Verdict {
    /// The config's name of the action, as printed in tables.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Deliver => "deliver",
            Self::Tag => "tag",
            Self::Quarantine => "quarantine",
            Self::Block => "block",
            Self::Redirect => "redirect",
        }
    }
}

/// Why an incident was raised: a forged stamp is not a DLP verdict, and must not read as one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentKind {
    /// A rule matched and its action is not deliver.
    Dlp,
    /// A stamp claiming to be this organisation's did not verify (it was stripped).
    ForgedStamp,
    /// The message carried this gateway's own valid stamp: a mail loop.
    Loop,
    /// Inspection could not finish (a limit or the time budget); `reason` says which.
    ScanError,
}

impl IncidentKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Dlp => "dlp",
            Self::ForgedStamp => "forged_stamp",
            Self::Loop => "loop",
            Self::ScanError => "scan_error",
        }
    }
}

/// How sure a detector is of its matches, as the config's `min_confidence` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }
}

/// A detector name or one redacted sample (the incident record's own bound).
pub type Sample = String<MAX_SAMPLE_LEN>;

/// One detector of an incident: what matched, how often, how surely, and redacted samples
/// (never the matched value itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct IncidentDetector {
    pub name: Sample,
    /// Distinct values found, at any confidence.
    pub count: u32,
    pub confidence: Confidence,
    pub samples: Vec<Sample, MAX_INCIDENT_SAMPLES>,
}

/// One entry of the incident ring: the incident record's every field (the record the
/// gateway keeps is bounded by the same limits, so nothing is cut on the way).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct Incident {
    /// The worker whose journal holds it (`w<worker>:<seq>` to the admin).
    pub worker: u16,
    /// Sequence number in that worker's journal: grows across restarts, never reused.
    pub seq: u64,
    pub time_unix: u64,
    pub kind: IncidentKind,
    /// Why, for `scan_error` (the limit or budget hit); empty otherwise.
    pub reason: Text,
    /// The SMTP session, to find the same session's log lines.
    pub session: Name,
    pub message_id: Address,
    pub sender: Address,
    pub subject: Address,
    /// How many recipients the message had; `rcpts` names the first of them.
    pub recipients: u32,
    pub rcpts: Vec<Address, MAX_INCIDENT_RCPTS>,
    /// The rule that decided, if any (none for a forged stamp or a loop).
    pub rule: Option<Name>,
    /// What was done with the message.
    pub action: Verdict,
    pub detectors: Vec<IncidentDetector, MAX_INCIDENT_DETECTORS>,
    /// The smart host's final reply, once known.
    pub downstream_reply: Option<Text>,
}

/// Answer to `ListIncidents`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct IncidentPage {
    pub incidents: Vec<Incident, MAX_INCIDENTS_PER_PAGE>,
    /// `since` for the next page.
    pub next: u64,
    /// Oldest sequence still in the ring: if it is above the requested `since`, the ring
    /// overwrote incidents the client never saw.
    pub oldest: u64,
}

/// One detector hit in a scanned message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct Finding {
    pub rule: Name,
    pub detector: Name,
    pub count: u32,
    /// Where it was found (header name, MIME part path), redacted of the match itself.
    pub location: Name,
}

/// Answer to `ScanEnd`: the dry run's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct ScanReport {
    pub verdict: Verdict,
    pub findings: Vec<Finding, MAX_FINDINGS>,
    /// Findings beyond `MAX_FINDINGS` that did not fit.
    pub more_findings: u32,
}

/// What one policy decides for a message, as a policy diff compares it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct Judged {
    pub verdict: Verdict,
    /// The rule that decided, if any.
    pub rule: Option<Name>,
    /// Why inspection could not vouch for the message (a limit or the time budget), if so.
    pub scan_error: Option<Name>,
}

/// Answer to `ScanCandidate`: the staged message under the running and the candidate policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct ScanComparison {
    /// The running config's generation at the time of the scan.
    pub generation: u64,
    pub running: Judged,
    pub candidate: Judged,
}

/// The certificate now in use, after `InstallTls`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct TlsInfo {
    pub subject: Text,
    pub not_after_unix: u64,
    pub sha256: [u8; 32],
}

/// Where a listing stands in one worker's journal: the next sequence number to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct Cursor {
    pub worker: u16,
    pub seq: u64,
}

/// A filtered read of the persistent incident log. Every filter given must match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct IncidentQuery {
    /// Per journal, the first sequence number wanted; a journal not named is read from its
    /// oldest record.
    pub since: Vec<Cursor, MAX_WORKERS>,
    /// Only this worker's journal (`incidents show w1:123`).
    pub worker: Option<u16>,
    /// Unix seconds: incidents at or after this time.
    pub after_unix: Option<u64>,
    /// Unix seconds: incidents before this time.
    pub before_unix: Option<u64>,
    /// The deciding rule's name, exactly.
    pub rule: Option<Name>,
    pub action: Option<Verdict>,
    /// Part of the envelope sender, case-insensitive.
    pub sender: Option<Address>,
    /// A detector named in the incident, exactly.
    pub detector: Option<Name>,
    /// Incidents wanted in this page (capped by [`MAX_INCIDENTS_PER_PAGE`]).
    pub max: u16,
}

impl IncidentQuery {
    /// Whether `incident` passes this query's filters (not `since`, `worker` or `max`, which
    /// say where to read): one definition for the gateway's journals and the test backend.
    pub fn keeps(&self, incident: &Incident) -> bool {
        let i = incident;
        self.after_unix.is_none_or(|t| i.time_unix >= t)
            && self.before_unix.is_none_or(|t| i.time_unix < t)
            && self
                .rule
                .as_ref()
                .is_none_or(|r| i.rule.as_ref().is_some_and(|x| x == r))
            && self.action.is_none_or(|a| i.action == a)
            && self
                .sender
                .as_ref()
                .is_none_or(|s| contains_ignore_ascii_case(&i.sender, s))
            && self
                .detector
                .as_ref()
                .is_none_or(|d| i.detectors.iter().any(|x| x.name == *d))
    }
}

/// `needle` occurs in `haystack`, ASCII letters compared without case (no allocation).
fn contains_ignore_ascii_case(haystack: &str, needle: &str) -> bool {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

/// One page of a `QueryIncidents`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct IncidentResults {
    pub incidents: Vec<Incident, MAX_INCIDENTS_PER_PAGE>,
    /// `since` for the next page: every journal's next sequence number.
    pub next: Vec<Cursor, MAX_WORKERS>,
    /// Every journal was read to its end: there is no next page (yet).
    pub done: bool,
}

/// The last record exported from one worker's journal (`cordonctl incidents verify` prints
/// it; `--anchor` gives it back to find tail loss).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct JournalAnchor {
    pub worker: u16,
    pub seq: u64,
    pub tag: [u8; 32],
}

/// Why a chain stops being provable at a record (`cordon_journal::BreakReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
#[serde(rename_all = "snake_case")]
pub enum BreakKind {
    /// Bytes changed (the CRC does not match).
    Crc,
    /// The tag does not follow: an edit with the CRC fixed, or another key.
    Chain,
    /// Records missing; `found` is the number found instead.
    Gap,
    /// An earlier number where a later one belongs; `found` as for `Gap`.
    Reordered,
    Torn,
    Malformed,
    SegmentName,
}

/// The first record the chain does not prove.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct JournalBreak {
    /// The sequence number that belongs at that place.
    pub seq: u64,
    pub kind: BreakKind,
    pub found: Option<u64>,
    /// Segment file name and byte offset.
    pub file: Name,
    pub offset: u64,
}

/// What an exported anchor says about the journal's tail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
#[serde(rename_all = "snake_case")]
pub enum AnchorOutcome {
    Matches,
    /// Records after `last_held` up to the anchor are gone.
    TailLost {
        last_held: Option<u64>,
    },
    /// The record at the anchor's number has another tag: the tail was rewritten.
    TagDiffers,
    /// Retention dropped that record since.
    BeforeRange,
    /// The chain breaks before it.
    NotReached,
}

/// `VerifyIncidents` for one journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct JournalReport {
    pub worker: u16,
    /// First and last sequence number of the unbroken chain from the oldest record held.
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    pub first_time_unix: Option<u64>,
    pub last_time_unix: Option<u64>,
    /// The last verified record's tag: the anchor to export.
    pub last_tag: Option<[u8; 32]>,
    /// `None`: the whole journal verifies.
    pub broken: Option<JournalBreak>,
    /// A partial record at the end (an append cut short; not a break).
    pub torn_tail_bytes: u64,
    pub anchor: Option<AnchorOutcome>,
    /// The journal could not be read at all.
    pub error: Option<Text>,
    /// The next journal's worker index, if there is one.
    pub next: Option<u16>,
}

/// One state-changing config-port request, as the audit trail records it (in the incident
/// journal of the worker serving the port, and in the SIEM stream): who asked, what, and
/// what came of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct AuditRecord {
    /// The journal that holds it and its number there (`w<worker>:<seq>`); zero on disk.
    pub worker: u16,
    pub seq: u64,
    pub time_unix: u64,
    /// The Unix peer's uid, when the request came over the Unix socket.
    pub uid: Option<u32>,
    /// The client certificate's subject, when it came over mutual TLS.
    pub subject: Option<Text>,
    /// The transport and peer as the log names them (`unix uid 0 pid 42`, `tcp 10.0.0.5:5123`).
    pub peer: Text,
    /// The request (`apply`, `rollback`, `install_tls`, `restart_workers`, `reboot`).
    pub request: Name,
    /// The config generation it produced (apply, rollback), or the running one.
    pub generation: Option<u64>,
    /// A summary of the changed keys (apply, rollback), or what was installed.
    pub changes: Text,
    pub ok: bool,
    /// The refusal's text when `ok` is false.
    pub error: Option<Text>,
}

/// Audit records per `Audit` page (at most ~1.3 KiB each): a page stays inside one frame.
pub const MAX_AUDIT_PER_PAGE: usize = 4;

/// Answer to `QueryAudit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct AuditPage {
    pub records: Vec<AuditRecord, MAX_AUDIT_PER_PAGE>,
    /// The sequence number to ask from for the next page.
    pub next: u64,
    /// The journal was read to its end.
    pub done: bool,
}

/// The keyed tags of the values an incident's detectors found, in the incident record only
/// (not on the port): `tags[i]` belongs to `detectors[i]` of the incident.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct ValueTags {
    pub tags: Vec<Vec<u64, MAX_VALUE_TAGS>, MAX_INCIDENT_DETECTORS>,
}

/// Which incidents `QueryRepeats` counts over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct RepeatQuery {
    /// Unix seconds: incidents at or after this time (all the journals hold when `None`).
    pub after_unix: Option<u64>,
    /// Only this detector's values.
    pub detector: Option<Sample>,
}

/// One detector's values over the incidents counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct RepeatDetector {
    pub detector: Sample,
    /// Distinct values seen (by tag).
    pub distinct: u32,
    /// Distinct values seen in two messages or more.
    pub repeated: u32,
    /// Messages with a value of this detector.
    pub messages: u32,
    /// Messages with at least one of the repeated values.
    pub repeat_messages: u32,
}

/// One value seen in several messages, named by its tag only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct RepeatValue {
    pub detector: Sample,
    /// The first 32 bits of the value's keyed tag: tells values apart in one answer; says
    /// nothing about the value without the appliance's key.
    pub tag: u32,
    pub messages: u32,
    pub first_unix: u64,
    pub last_unix: u64,
    /// The first incidents that carried it.
    pub incidents: Vec<Cursor, MAX_REPEAT_INCIDENTS>,
}

/// Answer to `QueryRepeats`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct RepeatReport {
    /// Incidents read (those with tagged values and those without).
    pub incidents: u64,
    /// Incidents with at least one tagged value.
    pub messages: u32,
    /// Every journal was read to its end and every value counted: when false, the read
    /// budget or the value table ran out and the counts are lower bounds.
    pub complete: bool,
    /// Distinct values left uncounted because the value table was full.
    pub untracked: u32,
    /// Per detector, the most repeated first.
    pub detectors: Vec<RepeatDetector, MAX_REPEAT_DETECTORS>,
    /// The values seen in the most messages (two or more), the most widespread first.
    pub top: Vec<RepeatValue, MAX_REPEAT_TOP>,
}
