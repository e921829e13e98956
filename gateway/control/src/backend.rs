//! What the server needs from the gateway. The gateway implements [`Backend`]; tests use a
//! fake. Every method is synchronous: the connection handler runs the ones that may block
//! (fsync, a scan of a large message, a reboot) on tokio's blocking pool.

use cordon_store::Rollback;
use cordon_wire::{
    limits::MAX_ISSUES, AppError, AuditPage, AuditRecord, Counters, EdmTables, Incident,
    IncidentPage, IncidentQuery, IncidentResults, Issue, JournalAnchor, JournalReport, Name,
    ScanComparison, ScanReport, Status, TlsInfo,
};
use tokio::sync::broadcast;

/// Validation warnings: a config that is accepted but worth a second look.
pub type Warnings = heapless::Vec<Issue, MAX_ISSUES>;

/// Who answers the handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The gateway's software version.
    pub software: Name,
    /// The board profile's name.
    pub board: Name,
}

/// The gateway as the config port sees it.
pub trait Backend: Send + Sync + 'static {
    /// A candidate policy validated and built by [`Backend::stage_candidate`], kept by one
    /// connection for its policy diff (at most one per connection, so at most
    /// [`crate::limits::MAX_CONNECTIONS`] per listener).
    type Candidate: Send + Sync + 'static;

    /// Software version and board, for `Hello`.
    fn identity(&self) -> Identity;
    /// `Status`: workers, sessions, memory, config generation.
    fn status(&self) -> Status;
    /// `Counters`.
    fn counters(&self) -> Counters;
    /// The running config: its generation (0 = factory default) and TOML text.
    fn current_config(&self) -> (u64, String);
    /// `ValidateConfig`: parse and check `toml` without changing anything. A refusal is an
    /// `InvalidConfig` error whose issues locate every problem ([`crate::Persisted::validate`]
    /// builds it).
    fn validate(&self, toml: &str) -> Result<Warnings, AppError>;
    /// `ApplyConfig`: validate `toml` whole, persist it power-safe, then make it live for new
    /// sessions; returns the new generation and the same warnings [`Backend::validate`] gives
    /// (settings that take effect only at the next start). Refused with `GenerationConflict`
    /// when `expected_generation` is given and is not the running one. On any error the
    /// running config is unchanged.
    fn apply(
        &self,
        toml: &str,
        expected_generation: Option<u64>,
    ) -> Result<(u64, Warnings), AppError>;
    /// `Rollback`: make the previous config live again as a new generation.
    fn rollback(&self) -> Result<Rollback, AppError>;
    /// `ListIncidents`: incidents with `seq >= since`, oldest first, at most `max`.
    fn incidents(&self, since: u64, max: usize) -> IncidentPage;
    /// `QueryIncidents`: one page of the persistent incident log, filtered on the appliance
    /// under fixed memory. Reads files: run on the blocking pool.
    fn query_incidents(&self, query: &IncidentQuery) -> Result<IncidentResults, AppError>;
    /// `QueryRepeats`: values seen in several incidents, counted from the journals' value
    /// tags under fixed memory. Reads files: run on the blocking pool.
    fn query_repeats(
        &self,
        query: &cordon_wire::RepeatQuery,
    ) -> Result<cordon_wire::RepeatReport, AppError>;
    /// `VerifyIncidents`: the chain of the first journal with a worker index at or above
    /// `worker` (`None` when there is none), checked against `anchor` if it names that journal.
    fn verify_incidents(
        &self,
        worker: u16,
        anchor: Option<JournalAnchor>,
    ) -> Result<Option<JournalReport>, AppError>;
    /// New incidents as they are recorded, for `FollowIncidents`. The handler subscribes
    /// before reading the backlog and skips duplicates, so nothing falls in between; a
    /// lagging receiver is caught up from [`Backend::incidents`].
    fn subscribe_incidents(&self) -> broadcast::Receiver<Incident>;
    /// `QueryTrace`: the message trace from `since` (per worker), at most `max` entries.
    fn trace(&self, since: &[u64], max: usize) -> cordon_wire::TracePage;
    /// `QueryLog`: the log tail from `since` (per source: the workers, then the supervisor),
    /// at most `max` lines at `level` (0 error .. 4 trace) or more severe.
    fn log(&self, since: &[u64], max: usize, level: usize) -> cordon_wire::LogPage;
    /// `Scan`: the policy's dry run over an RFC 5322 message.
    fn scan(&self, message: &[u8]) -> Result<ScanReport, AppError>;
    /// `ScanText`: the same dry run, printed as `cordon scan --config` prints it (JSON with
    /// `json`), for the envelope `from`/`to` or the message's own addresses.
    fn scan_text(
        &self,
        message: &[u8],
        json: bool,
        envelope: Option<(String, Vec<String>)>,
    ) -> Result<String, AppError>;
    /// `StageCandidate`: validate `toml` as [`Backend::validate`] does and build it for dry
    /// runs, changing nothing; returns it with the running generation and the warnings.
    fn stage_candidate(&self, toml: &str) -> Result<(Self::Candidate, u64, Warnings), AppError>;
    /// `ScanCandidate`: the dry run of `message` under the running policy and `candidate`.
    fn scan_candidate(
        &self,
        candidate: &Self::Candidate,
        message: &[u8],
    ) -> Result<ScanComparison, AppError>;
    /// `InstallTls`: a PEM chain then key ([`crate::validate_tls_bundle`] checks it), installed
    /// for new SMTP sessions.
    fn install_tls(&self, bundle: &[u8]) -> Result<TlsInfo, AppError>;
    /// `RestartWorkers`: graceful restart; returns how many workers are restarting.
    fn restart_workers(&self) -> Result<u16, AppError>;
    /// `Detectors`: the detector list as `cordon detectors` prints it (`json`: its JSON).
    fn detectors(&self, json: bool) -> String;
    /// `EdmInstall`: verify `bundle` whole with `key`, check the budgets, store it power-safe
    /// as table `name` and load it for new sessions; on any error the running tables stay.
    /// Reads and writes files: run on the blocking pool.
    fn edm_install(&self, name: &str, key: &[u8; 32], bundle: &[u8])
        -> Result<EdmTables, AppError>;
    /// `EdmList`: the installed tables and the budgets.
    fn edm_list(&self) -> Result<EdmTables, AppError>;
    /// `EdmRemove`: remove table `name` from the data partition and from new sessions.
    fn edm_remove(&self, name: &str) -> Result<EdmTables, AppError>;
    /// The appliance's firmware upload and its helper (`UpdateBegin`, `UpdateChunk`,
    /// `UpdateFinish`, `UpdateStatus`); [`crate::update::Updates::new`] with `None` when this
    /// gateway installs no updates.
    fn updates(&self) -> &crate::update::Updates;
    /// `FingerprintAdd`: fingerprint `message` (the staged document) into set `set` as
    /// `document`, store the set power-safe and load it for new sessions; on any error the
    /// sets stay as they were. Reads and writes files: run on the blocking pool.
    fn fingerprint_add(
        &self,
        set: &str,
        document: &str,
        message: &[u8],
    ) -> Result<cordon_wire::FingerprintSets, AppError>;
    /// `FingerprintList`: the sets, and the documents of `set` when given.
    fn fingerprint_list(&self, set: Option<&str>)
        -> Result<cordon_wire::FingerprintSets, AppError>;
    /// `FingerprintRemove`: a document of `set`, or the whole set.
    fn fingerprint_remove(
        &self,
        set: &str,
        document: Option<&str>,
    ) -> Result<cordon_wire::FingerprintSets, AppError>;
    /// `Reboot`: start the reboot. The reply is sent after this returns, so it must start the
    /// reboot asynchronously (e.g. after a short delay) rather than block.
    fn reboot(&self) -> Result<(), AppError>;
    /// Records a state-changing request (who, what, result) in the audit trail: the incident
    /// journal and the SIEM stream. Returns once the record is durable.
    fn audit(&self, record: AuditRecord) -> Result<(), AppError>;
    /// `QueryAudit`: audit records from sequence number `since`, at most `max`. Reads files:
    /// run on the blocking pool.
    fn query_audit(&self, since: u64, max: usize) -> Result<AuditPage, AppError>;
}
