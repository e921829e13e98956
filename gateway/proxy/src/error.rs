//! The proxy's error type: what stops it from serving a configuration, with the context a
//! person needs to fix it.

use std::net::SocketAddr;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A certificate, key or CA file that could be read but not used.
    #[error("{0}")]
    Tls(cordon_config::Diagnostic),
    /// Problems found after parsing (unknown detector names, unreadable dictionaries).
    #[error("{}", .0.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<cordon_config::Diagnostic>),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}
