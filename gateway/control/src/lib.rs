//! cordon-control: the server side of the appliance's config port, and the client transports
//! `cordonctl` uses. It speaks the `cordon-wire` protocol over three transports (a Unix
//! socket with a peer-uid check, the serial console or a PTY in raw mode, and an optional
//! mutual-TLS TCP listener pinned to one CA) and knows nothing of the gateway's internals:
//! the gateway implements [`Backend`] and hands it to one of the `serve_*` functions with a
//! shutdown signal. Two helpers the gateway uses to implement [`Backend`] also live here:
//! [`Persisted`] (validate a config whole, commit it power-safe, report the generation) and
//! [`validate_tls_bundle`] (a certificate chain and key that match and are in date).
//!
//! # Layout
//! - [`backend`]: the [`Backend`] trait the gateway implements.
//! - [`audit`]: which requests the audit trail records, and the record of one.
//! - [`conn`]: [`serve_connection`], the one connection handler every transport runs: the
//!   handshake, the fixed-buffer decoder, staged uploads and incident follow.
//! - [`unix`]: [`serve_unix`] and the peer-uid check.
//! - [`serial`]: [`serve_serial`], and [`SerialPort`], an async raw-mode tty.
//! - [`tcp`]: [`serve_tcp_mtls`] and the rustls configs for both sides.
//! - [`client`]: [`Client`], the request/response side, over any of the transports.
//! - [`persist`]: [`Persisted`], the config-apply helper over `cordon-store`.
//! - [`tls_bundle`]: the TLS bundle check, [`validate_tls_bundle`].
//! - [`update`]: firmware bundles streamed to the root helper, resumable across connections.
//! - [`limits`]: the server's own bounds (connections, timeouts, read size).
//! - `fake` (feature `fake`): `FakeBackend`, a complete in-memory [`Backend`] for tests.
//!
//! The protocol, the transports and `cordonctl` are described in `docs/config-port.md`.

#![forbid(unsafe_code)]
#![allow(
    clippy::result_large_err,
    clippy::large_enum_variant,
    reason = "the wire's AppError and Response are fixed-size (~8 KiB, no allocator in cordon-wire); \
              they are returned by value on the control path only, never per message"
)]

use std::io;
use std::path::PathBuf;

mod accept;
pub mod audit;
pub mod backend;
pub mod client;
pub mod conn;
#[cfg(feature = "fake")]
pub mod fake;
pub mod limits;
pub mod persist;
pub mod serial;
pub mod tcp;
pub mod tls_bundle;
pub mod unix;
pub mod update;

pub use backend::{Backend, Identity};
pub use client::{Client, Transport};
pub use conn::{serve_connection, Peer, Shutdown};
pub use persist::Persisted;
pub use serial::{serve_serial, SerialPort};
pub use tcp::{client_tls_config, serve_tcp_mtls, server_tls_config};
pub use tls_bundle::{certificate_info, validate_tls_bundle};
pub use unix::{bind_unix, run_unix, serve_unix, uid_allowed};

/// Everything that can go wrong setting up or running a transport, or talking as a client.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A socket, device or file operation failed.
    #[error("cannot {op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Terminal settings (raw mode) could not be applied to a serial device.
    #[error("cannot set raw mode on {}: {source}", path.display())]
    Termios {
        path: PathBuf,
        #[source]
        source: nix::Error,
    },
    /// A certificate, key or CA file cannot be read, or holds broken PEM.
    #[error("TLS setup: {what} {}: {source}", path.display())]
    TlsPem {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: rustls_pki_types::pem::Error,
    },
    /// A certificate or CA file holds no certificate.
    #[error("TLS setup: no certificate in {}: empty PEM", path.display())]
    TlsNoCertificate { path: PathBuf },
    /// rustls refused a certificate, key or CA certificate read from `path`.
    #[error("TLS setup: {what} {}: {source}", path.display())]
    TlsRefused {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: rustls::Error,
    },
    /// The client-certificate verifier cannot be built from the CA in `path`.
    #[error("TLS setup: client verifier for {}: {source}", path.display())]
    TlsVerifier {
        path: PathBuf,
        #[source]
        source: rustls::server::VerifierBuilderError,
    },
    /// The crypto provider offers none of the protocol versions asked for.
    #[error("TLS setup: {0}")]
    TlsProtocol(#[source] rustls::Error),
    /// `--tcp HOST:PORT` names no valid TLS server name.
    #[error("TLS setup: bad server name {host}: {source}")]
    ServerName {
        host: String,
        #[source]
        source: rustls_pki_types::InvalidDnsNameError,
    },
    /// The TLS handshake with the server failed (its certificate, or ours, was refused).
    #[error("TLS setup: handshake with {addr}: {source}")]
    Handshake {
        addr: String,
        #[source]
        source: io::Error,
    },
    /// The connection broke or closed while a request was outstanding.
    #[error("connection lost: {0}")]
    Transport(#[source] io::Error),
    /// The peer sent something that is not a valid response frame.
    #[error("bad frame from the server: {0}")]
    Wire(#[source] cordon_wire::WireError),
    /// No response within the client's deadline.
    #[error("no response within {secs} s")]
    Timeout { secs: u64 },
    /// The server refused or failed the request (its error is in the reply).
    #[error(transparent)]
    Server(cordon_wire::WireError),
    /// The server answered with a response the request does not allow.
    #[error("unexpected response: {0}")]
    Unexpected(String),
}

impl Error {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { op, path, source }
    }
}

pub use cordon_wire::bounded;
