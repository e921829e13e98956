//! The gateway's error type: everything that can stop the process from serving, with the context a
//! person needs to fix it. Where it wraps another crate's error, that error is its `source`.

use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Config(#[from] cordon_config::Error),
    /// The proxy cannot use the configuration (TLS material, rule names) or its listeners.
    #[error(transparent)]
    Proxy(#[from] cordon_proxy::Error),
    /// Problems found in a stored configuration's files after parsing.
    #[error("{}", .0.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<cordon_config::Diagnostic>),
    /// The config port's TCP listener.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// Pinning to a core or locking memory failed.
    #[error("{0}")]
    Platform(#[source] cordon_platform::Error),
    /// `[siem]` names files the exporter cannot use.
    #[error("cannot start the SIEM exporter: {0}")]
    Siem(#[source] cordon_siem::Error),
    /// The board profile, the worker runtime or the supervisor failed.
    #[error("{0}")]
    Supervisor(#[source] cordon_supervisor::Error),
    /// The configured sessions do not fit the board's memory.
    #[error("the memory budget ({budget_mib} MiB: {detail}) exceeds the board's {board_mib} MiB: lower gateway.max_sessions, gateway.max_message_size or gateway.slot_classes")]
    OverBudget {
        budget_mib: u64,
        detail: String,
        board_mib: u64,
    },
    /// The config's incident journals and EDM tables do not fit the board's /data partition.
    #[error("the /data budget ({need_mib} MiB: {detail}) exceeds the {room_mib} MiB a config may use of the board's {data_mib} MiB data partition (ext4 keeps the rest): lower incidents.total_bytes or edm.storage_bytes")]
    OverData {
        need_mib: u64,
        detail: String,
        room_mib: u64,
        data_mib: u64,
    },
    #[error("cannot find my own binary: {0}")]
    CurrentExe(#[source] std::io::Error),
    /// The A/B config store cannot be read, or holds nothing usable.
    #[error("config port: {what}: {source}")]
    ConfigStore {
        what: &'static str,
        #[source]
        source: cordon_store::StoreError,
    },
    #[error("config port: the config store is empty")]
    ConfigStoreEmpty,
    /// Storing the boot config as the first generation failed.
    #[error("stamp key: cannot store the boot config in {}: {source}", dir.display())]
    ConfigSeed {
        dir: PathBuf,
        #[source]
        source: Box<cordon_wire::AppError>,
    },
    /// The config port's socket directory, socket or TLS material.
    #[error("config port: cannot create {}: {source}", dir.display())]
    ConfigPortDir {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config port: {}: {source}", path.display())]
    ConfigPortSocket {
        path: PathBuf,
        #[source]
        source: Box<cordon_control::Error>,
    },
    #[error("config port: [control.tcp]: {0}")]
    ConfigPortTls(#[source] Box<cordon_control::Error>),
    /// The state directory that holds the config store and the key.
    #[error("stamp key: {what} in {}: {source}", dir.display())]
    StateDir {
        what: &'static str,
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("stamp key: cannot read the config store in {}: {source}", dir.display())]
    StoreOpen {
        dir: PathBuf,
        #[source]
        source: cordon_store::StoreError,
    },
    /// The appliance's stamp key file.
    #[error("stamp key: {what} {}: {source}", path.display())]
    StampKeyFile {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("stamp key: bad key in {}: {len} bytes instead of {}", path.display(), cordon_policy::KEY_BYTES)]
    StampKeyLength { path: PathBuf, len: usize },
    #[error("stamp key: cannot make {}: {source}", path.display())]
    StampKeyRandom {
        path: PathBuf,
        #[source]
        source: cordon_policy::Error,
    },
    #[error("cannot start the runtime: {0}")]
    Runtime(#[source] std::io::Error),
    #[error("cannot set up logging: bad log level `{level}`: {source}")]
    LogLevel {
        level: String,
        #[source]
        source: tracing_subscriber::filter::ParseError,
    },
    #[error("cannot set up logging: {0}")]
    Logging(#[source] tracing_subscriber::util::TryInitError),
}

impl Error {
    /// The error as a person reads it: a config error with every located problem.
    pub fn report(&self) -> String {
        match self {
            Error::Config(c) => format!("invalid configuration:\n{}", c.report()),
            other => other.to_string(),
        }
    }
}
