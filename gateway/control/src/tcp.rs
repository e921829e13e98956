//! The optional TCP transport on the management address, protected by mutual TLS with a
//! pinned CA: only a client presenting a certificate issued by that one CA gets past the
//! handshake (no system roots, no anonymous clients). Disabled unless the gateway starts it.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::accept::accept_loop;
use crate::backend::Backend;
use crate::conn::{serve_connection, Peer, Shutdown};
use crate::limits::TLS_HANDSHAKE_TIMEOUT;
use crate::Error;

/// rustls with *ring*: the one provider the workspace builds (no aws-lc).
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn pem_error(
    what: &'static str,
    path: &Path,
) -> impl FnOnce(rustls_pki_types::pem::Error) -> Error {
    let path = path.to_owned();
    move |source| Error::TlsPem { what, path, source }
}

fn refused(what: &'static str, path: &Path) -> impl FnOnce(rustls::Error) -> Error {
    let path = path.to_owned();
    move |source| Error::TlsRefused { what, path, source }
}

/// Every certificate in a PEM file.
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(pem_error("cannot read certificates from", path))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem_error("bad certificate in", path))?;
    if certs.is_empty() {
        return Err(Error::TlsNoCertificate {
            path: path.to_owned(),
        });
    }
    Ok(certs)
}

/// The private key in a PEM file (PKCS#8, PKCS#1 or SEC1).
pub fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, Error> {
    PrivateKeyDer::from_pem_file(path).map_err(pem_error("cannot read private key from", path))
}

fn roots(ca: &Path) -> Result<Arc<RootCertStore>, Error> {
    let mut roots = RootCertStore::empty();
    for cert in load_certs(ca)? {
        roots
            .add(cert)
            .map_err(refused("unusable CA certificate in", ca))?;
    }
    Ok(Arc::new(roots))
}

/// The server's rustls config: `cert`/`key` as its identity, and a client certificate
/// required and verified against `client_ca` only.
pub fn server_tls_config(
    cert: &Path,
    key: &Path,
    client_ca: &Path,
) -> Result<Arc<ServerConfig>, Error> {
    let provider = provider();
    let verifier =
        WebPkiClientVerifier::builder_with_provider(roots(client_ca)?, Arc::clone(&provider))
            .build()
            .map_err(|source| Error::TlsVerifier {
                path: client_ca.to_owned(),
                source,
            })?;
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(Error::TlsProtocol)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(load_certs(cert)?, load_key(key)?)
        .map_err(refused("certificate and key", cert))?;
    Ok(Arc::new(config))
}

/// The client's rustls config (for `cordonctl --tcp`): the server must chain to `ca`, and
/// the client presents `cert`/`key` when both are given.
pub fn client_tls_config(
    ca: &Path,
    cert_and_key: Option<(&Path, &Path)>,
) -> Result<Arc<ClientConfig>, Error> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(Error::TlsProtocol)?
        .with_root_certificates(roots(ca)?);
    let config = match cert_and_key {
        Some((cert, key)) => builder
            .with_client_auth_cert(load_certs(cert)?, load_key(key)?)
            .map_err(refused("client certificate and key", cert))?,
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// Binds `addr` and serves the config port over mutual TLS until `shutdown` fires.
pub async fn serve_tcp_mtls<B: Backend>(
    addr: SocketAddr,
    cert: &Path,
    key: &Path,
    client_ca: &Path,
    backend: Arc<B>,
    shutdown: Shutdown,
) -> Result<(), Error> {
    let config = server_tls_config(cert, key, client_ca)?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(Error::io("bind", addr.to_string()))?;
    run_tcp_mtls(listener, config, backend, shutdown).await;
    Ok(())
}

/// Accepts on `listener`; each client must complete the mutual-TLS handshake within
/// [`TLS_HANDSHAKE_TIMEOUT`] (a client without a certificate from the pinned CA fails it
/// and is dropped), then is served like any other connection.
pub async fn run_tcp_mtls<B: Backend>(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    backend: Arc<B>,
    shutdown: Shutdown,
) {
    let acceptor = TlsAcceptor::from(config);
    accept_loop(
        || listener.accept(),
        shutdown,
        |(stream, addr), shutdown| {
            let acceptor = acceptor.clone();
            let backend = Arc::clone(&backend);
            async move {
                let peer = Peer::Tcp {
                    addr,
                    subject: None,
                };
                let tls = match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream))
                    .await
                {
                    Ok(Ok(tls)) => tls,
                    Ok(Err(e)) => {
                        tracing::warn!(%peer, error = %e, "config port: TLS handshake refused");
                        return;
                    }
                    Err(_) => {
                        tracing::warn!(%peer, "config port: TLS handshake timed out");
                        return;
                    }
                };
                // The audit trail names the client by its certificate's subject.
                let subject = tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .and_then(|c| x509_parser::parse_x509_certificate(c).ok())
                    .map(|(_, cert)| cert.subject().to_string());
                let peer = Peer::Tcp { addr, subject };
                if let Err(e) = serve_connection(tls, backend, peer.clone(), shutdown).await {
                    tracing::debug!(%peer, error = %e, "config port connection ended");
                }
            }
        },
    )
    .await;
}
