//! The validated configuration.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;

use crate::Diagnostic;

/// Where a value came from, kept so that later checks (a certificate that does not parse) can
/// still point at the line that named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub key: String,
}

impl Location {
    pub fn diagnostic(&self, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: self.file.clone(),
            line: self.line,
            column: self.column,
            key: self.key.clone(),
            message: message.into(),
        }
    }
}

/// A file named in the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRef {
    pub path: PathBuf,
    pub at: Location,
    /// The directory a relative path was resolved against; `None` for an absolute path.
    pub relative_to: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// The file this config was read from (for messages).
    pub source: PathBuf,
    pub gateway: Gateway,
    pub relay: Relay,
    pub organization: Organization,
    pub headers: Headers,
    pub timeouts: Timeouts,
    pub log: Log,
    pub dictionaries: Vec<Dictionary>,
    pub patterns: Vec<Pattern>,
    pub rules: Vec<Rule>,
    pub policy: Policy,
    /// `[incidents]`: the persistent incident log.
    pub incidents: Incidents,
    /// `[edm]`: the budgets of exact-data-match tables.
    pub edm: Edm,
    /// `[control]`: the config port; absent, the gateway runs from its file alone.
    pub control: Option<Control>,
    /// `[metrics]`: the Prometheus endpoint; absent, none is served.
    pub metrics: Option<crate::metrics::Metrics>,
    /// `[siem]`: the syslog exporter; absent, nothing is exported.
    pub siem: Option<crate::siem::Siem>,
}

impl Config {
    /// Every file the config refers to.
    pub fn files(&self) -> Vec<&FileRef> {
        let mut v = Vec::new();
        if let Some(t) = &self.gateway.tls {
            v.push(&t.certificate);
            v.push(&t.private_key);
        }
        v.extend(self.relay.ca_file.iter());
        if let Some(c) = &self.relay.client_auth {
            v.push(&c.certificate);
            v.push(&c.private_key);
        }
        v.extend(self.dictionaries.iter().filter_map(|d| d.file.as_ref()));
        if let Some(t) = self.control.as_ref().and_then(|c| c.tcp.as_ref()) {
            v.extend([&t.certificate, &t.private_key, &t.client_ca]);
        }
        v.extend(self.metrics.iter().flat_map(|m| m.files()));
        if let Some(s) = &self.siem {
            v.extend(s.ca_file.iter());
            v.extend(s.client_certificate.iter());
            v.extend(s.client_key.iter());
        }
        v
    }
}

/// `[gateway]`: the upstream-facing side.
#[derive(Debug, Clone)]
pub struct Gateway {
    /// Our name in the greeting, in EHLO on the downstream leg and in `Received:`.
    pub hostname: String,
    /// Plain SMTP listeners (STARTTLS offered when a certificate is configured).
    pub listen: Vec<SocketAddr>,
    /// Implicit-TLS listeners (RFC 8314, port 465 style).
    pub listen_tls: Vec<SocketAddr>,
    /// The relay guard: only these networks may connect.
    pub allowed_clients: Vec<IpNet>,
    /// Largest message accepted; also the size of each session's buffer.
    pub max_message_size: usize,
    /// Concurrent sessions (connections); each owns its I/O buffers, so this bounds memory.
    pub max_sessions: usize,
    /// The message buffers, by size class, ascending; the largest is `max_message_size`. A
    /// transaction takes the smallest free class that holds its `SIZE=` (default: one class of
    /// `max_sessions` buffers of `max_message_size`).
    pub slot_classes: Vec<SlotClass>,
    pub tls: Option<InboundTls>,
    /// Touch all session memory at start so the resident size never grows (default true).
    pub prefault: bool,
}

/// `count` message buffers of `size` octets (`[gateway] slot_classes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotClass {
    pub size: usize,
    pub count: usize,
}

impl SlotClass {
    /// Worker `index` of `workers`' share of `classes`: each class's buffers are dealt out
    /// round-robin, so the shares add up to exactly the configured counts (a worker may get
    /// none of a small class; its large transactions then get `452` and Exchange retries,
    /// possibly on another worker).
    pub fn share(classes: &[SlotClass], index: usize, workers: usize) -> Vec<SlotClass> {
        let workers = workers.max(1);
        classes
            .iter()
            .map(|c| SlotClass {
                size: c.size,
                count: c.count / workers + usize::from(index < c.count % workers),
            })
            .collect()
    }
}

#[derive(Debug, Clone)]
pub struct InboundTls {
    pub certificate: FileRef,
    pub private_key: FileRef,
    /// Refuse MAIL until the client has done STARTTLS.
    pub required: bool,
}

/// `[relay]`: the downstream (smart host) side.
#[derive(Debug, Clone)]
pub struct Relay {
    pub smarthosts: Vec<SmartHost>,
    pub tls: TlsMode,
    /// The name the smart host's certificate must carry (the connector's TlsDomain).
    pub tls_name: Option<String>,
    pub ca_file: Option<FileRef>,
    pub client_auth: Option<ClientAuth>,
}

/// A certificate cordon presents to the smart host (certificate-authenticated connector).
#[derive(Debug, Clone)]
pub struct ClientAuth {
    pub certificate: FileRef,
    pub private_key: FileRef,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmartHost {
    /// `smtps://`: TLS from the first byte.
    pub implicit_tls: bool,
    pub host: String,
    pub port: u16,
}

impl std::fmt::Display for SmartHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.implicit_tls { "smtps" } else { "smtp" };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain text only (lab use).
    None,
    /// STARTTLS when offered, without certificate checks; plain text otherwise.
    Opportunistic,
    /// TLS with a verified certificate, or no delivery (the sender gets a 4xx).
    Required,
}

/// `[organization]`.
#[derive(Debug, Clone, Default)]
pub struct Organization {
    /// The accepted domains; they decide a message's direction.
    pub domains: Vec<String>,
}

/// `[headers]`: the names of the headers cordon writes (and strips from senders).
#[derive(Debug, Clone)]
pub struct Headers {
    pub inspected: String,
    pub action: String,
    pub rule: String,
    pub original_recipients: String,
}

impl Headers {
    /// All names cordon owns; copies arriving from a sender are removed.
    pub fn owned(&self) -> [&str; 4] {
        [
            &self.inspected,
            &self.action,
            &self.rule,
            &self.original_recipients,
        ]
    }
}

/// `[timeouts]`: RFC 5321 section 4.5.3.2 values by default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP connect to a smart host (not in the RFC; kept short so the next host is tried).
    pub connect: Duration,
    /// Waiting for the smart host's 220 greeting (4.5.3.2.1).
    pub greeting: Duration,
    /// Waiting for the smart host's reply to EHLO, RSET, QUIT and STARTTLS.
    pub command: Duration,
    /// MAIL reply (4.5.3.2.2).
    pub mail: Duration,
    /// RCPT reply (4.5.3.2.3).
    pub rcpt: Duration,
    /// DATA's 354 (4.5.3.2.4).
    pub data_init: Duration,
    /// Each write of message data (4.5.3.2.5).
    pub data_block: Duration,
    /// The reply after the final dot (4.5.3.2.6).
    pub data_term: Duration,
    /// How long the upstream client may stay silent (server timeout, 4.5.3.2.7).
    pub idle: Duration,
    /// A TLS handshake on either leg.
    pub tls_handshake: Duration,
    /// A whole command line from when the session starts waiting for it: a deadline, not an
    /// idle timer, so a client dripping one byte at a time cannot hold a slot (Postfix's
    /// `smtpd_per_record_deadline`).
    pub command_line: Duration,
    /// The DATA or BDAT phase of one message: this long, plus one second per
    /// `min_data_rate` octets received (Postfix's `smtpd_min_data_rate`).
    pub data_phase: Duration,
    /// Octets per second a client must keep up on average during the data phase; 0 turns the
    /// allowance off (only `data_phase` counts).
    pub min_data_rate: u64,
    /// A whole session: after this, the next wait ends it with `421 4.4.2` (a sender that
    /// keeps a connection with NOOPs cannot hold a slot for ever).
    pub session: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        let m = |n: u64| Duration::from_secs(60 * n);
        Timeouts {
            connect: Duration::from_secs(30),
            // Not RFC 5321's 5 minutes: a smart host that accepts TCP and never greets would
            // hold every sender that long before the next host is tried. Exchange Online
            // greets in well under a second.
            greeting: Duration::from_secs(30),
            command: m(5),
            mail: m(5),
            rcpt: m(5),
            data_init: m(2),
            data_block: m(3),
            data_term: m(10),
            idle: m(5),
            tls_handshake: Duration::from_secs(30),
            command_line: m(5),
            data_phase: m(5),
            min_data_rate: 500,
            session: m(30),
        }
    }
}

/// `[log]`.
#[derive(Debug, Clone)]
pub struct Log {
    /// A tracing filter (`info`, `cordon=debug`).
    pub level: String,
}

/// `[[dictionary]]`: named term lists compiled into the inspection engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dictionary {
    pub name: String,
    pub terms: Vec<String>,
    /// Terms file (one per line), read when the engine is built.
    pub file: Option<FileRef>,
    pub case_sensitive: bool,
    pub whole_word: bool,
}

/// `[[pattern]]`: a custom regular expression detector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    pub name: String,
    pub regex: String,
    /// Where `regex` is written, for an error the engine finds in it.
    pub regex_at: Location,
    /// Longest match, so matches straddling two chunks are still found.
    pub max_len: usize,
    /// Supporting words that raise confidence to high when near a match.
    pub keywords: Vec<String>,
    pub confidence: Confidence,
}

/// Purview-style confidence of a detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Confidence {
    Low,
    Medium,
    High,
}

/// Which way a message travels, from `[organization] domains` and the envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Sender inside, at least one recipient outside.
    Outbound,
    /// Sender outside.
    Inbound,
    /// Sender and every recipient inside.
    Internal,
    Any,
}

/// What a rule does; ordered by strength (the strongest matching action wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    Deliver,
    Tag,
    Quarantine,
    Redirect,
    Block,
}

/// An address pattern: a full address or `@domain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressPattern {
    Address(String),
    Domain(String),
}

impl AddressPattern {
    /// Case-insensitive match of an envelope address.
    pub fn matches(&self, address: &str) -> bool {
        let a = address.to_ascii_lowercase();
        match self {
            AddressPattern::Address(x) => a == *x,
            AddressPattern::Domain(d) => a.rsplit_once('@').is_some_and(|(_, dom)| dom == d),
        }
    }
}

/// Who gets a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyTarget {
    /// The envelope sender.
    Sender,
    Address(String),
}

/// `[[rule]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub name: String,
    pub direction: Direction,
    pub senders: Vec<AddressPattern>,
    pub recipients: Vec<AddressPattern>,
    pub except_senders: Vec<AddressPattern>,
    pub except_recipients: Vec<AddressPattern>,
    /// Detector, dictionary or pattern names; any of them. Empty: content is not a condition.
    pub matches: Vec<String>,
    /// Where each `matches` entry was written, for "unknown detector" errors.
    pub matches_at: Vec<Location>,
    pub min_count: u32,
    /// For `doc:SET` names: the share of a protected document (in thousandths) a message
    /// must carry; 300 unless the rule says.
    pub min_similarity: u16,
    pub min_confidence: Confidence,
    /// Attachment file extensions (`pdf`) or MIME types (`application/zip`); any of them.
    pub attachment_types: Vec<String>,
    /// Message size at least this many octets.
    pub min_size: Option<u64>,
    /// Match messages the engine could not fully scan.
    pub unscannable: bool,
    /// Match messages with any of these unscannable reasons
    /// (`encrypted_archive`...); empty: reasons are not a condition.
    pub unscannable_reasons: Vec<String>,
    /// Where each `unscannable_reasons` entry was written, for "unknown reason" errors.
    pub unscannable_reasons_at: Vec<Location>,
    pub action: Action,
    /// For `block`: the SMTP reply (code, enhanced code, text).
    pub reply: Option<String>,
    /// For `redirect`: where the message goes instead.
    pub redirect_to: Option<String>,
    pub notify: Vec<NotifyTarget>,
    pub stop: bool,
    pub at: Location,
}

/// `[policy]`: what happens when inspection cannot finish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnScanError {
    Block,
    Tempfail,
    DeliverTagged,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub on_scan_error: OnScanError,
    /// Inspection time budget per message.
    pub scan_timeout: Duration,
    /// What to do with a message that carries this appliance's own valid stamp.
    pub on_loop: String,
    /// Incidents kept in memory for the config port.
    pub incident_ring: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            on_scan_error: OnScanError::Block,
            scan_timeout: Duration::from_secs(30),
            on_loop: "554 5.4.6 Routing loop detected".into(),
            incident_ring: 1024,
        }
    }
}

/// `[incidents]`: the persistent incident log, one journal per worker under
/// `<state_dir>/incidents` (without `[control]`: `incidents/` next to the config file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incidents {
    /// Bytes each worker's journal may hold on /data; the oldest segments go first.
    pub total_bytes: u64,
}

/// The default journal size: some 100,000 incidents of ~600 bytes per worker.
pub const DEFAULT_INCIDENT_LOG_BYTES: u64 = 64 << 20;

impl Default for Incidents {
    fn default() -> Self {
        Incidents {
            total_bytes: DEFAULT_INCIDENT_LOG_BYTES,
        }
    }
}

/// `[edm]`: what exact-data-match tables (`cordonctl edm upload`, kept in
/// `<state_dir>/edm`) may take. An upload beyond either budget is refused with the sizes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edm {
    /// Bytes all loaded tables may hold in memory, in each worker; counted in the start-up
    /// memory budget whether tables are loaded or not, so an upload never outgrows the board.
    pub memory_bytes: u64,
    /// Bytes all stored tables may take on /data, each counted twice (a replacement writes
    /// the new copy before the old one goes).
    pub storage_bytes: u64,
}

/// Default EDM memory: a million rows of six columns with two primary ones (48 MB), with
/// room for a small second table.
pub const DEFAULT_EDM_MEMORY_BYTES: u64 = 64 << 20;

/// Default EDM storage: twice the default memory's worth of bundles, twice over.
pub const DEFAULT_EDM_STORAGE_BYTES: u64 = 256 << 20;

impl Default for Edm {
    fn default() -> Self {
        Edm {
            memory_bytes: DEFAULT_EDM_MEMORY_BYTES,
            storage_bytes: DEFAULT_EDM_STORAGE_BYTES,
        }
    }
}

/// `[control]`: the local config port and where the appliance keeps its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Control {
    /// The writable data directory: the A/B config store and the stamp key.
    pub state_dir: PathBuf,
    /// The Unix socket `cordonctl` talks to.
    pub socket: Option<PathBuf>,
    /// The socket's file mode.
    pub socket_mode: u32,
    /// Peers (by uid) allowed on the socket.
    pub allowed_uids: Vec<u32>,
    /// A serial device (UART, virtio console, PTY) serving the same protocol.
    pub serial: Option<PathBuf>,
    /// The management TCP port with mutual TLS against a pinned CA.
    pub tcp: Option<ControlTcp>,
    /// Where `reboot` leaves its request for the root-owned `cordon-reboot.path` unit.
    pub reboot_request: Option<PathBuf>,
    /// The root-owned firmware update helper's socket (`cordon-update.socket`), through which
    /// `cordonctl update` installs bundles; `None`: no updates through the config port.
    pub update_socket: Option<PathBuf>,
    /// The booted slot is marked good without its smart hosts answering (a box commissioned
    /// before its smart host is reachable); otherwise an update whose first boot cannot reach
    /// one within `cordon slot mark-good`'s wait rolls back.
    pub update_waive_smarthost: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlTcp {
    pub listen: SocketAddr,
    pub certificate: FileRef,
    pub private_key: FileRef,
    /// Only clients with a certificate from this CA are served.
    pub client_ca: FileRef,
}
