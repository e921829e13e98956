//! The gateway's error type: everything that can stop the process from serving, with the context a
//! person needs to fix it.

use std::net::SocketAddr;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Config(#[from] cordon_config::Error),
    /// A certificate, key or CA file that could be read but not used.
    #[error("{0}")]
    Tls(cordon_config::Diagnostic),
    /// Problems found after parsing (unknown detector names, unreadable dictionaries).
    #[error("{}", .0.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<cordon_config::Diagnostic>),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// Pinning, memory locking, the board profile or the supervisor failed.
    #[error("{0}")]
    Platform(String),
    /// The config port cannot start.
    #[error("config port: {0}")]
    ConfigPort(String),
    /// The appliance's stamp key cannot be read or made.
    #[error("stamp key: {0}")]
    StampKey(String),
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot set up logging: {0}")]
    Logging(String),
}
