//! rustls configurations for both legs, built once from the config.
//!
//! TLS 1.2 is the minimum on both legs. The downstream leg verifies the smart host against
//! `tls_name` (the Exchange connector's TlsDomain) with the webpki roots plus an optional CA file
//! when TLS is `required`; `opportunistic` encrypts without checking, as Postfix's `may` does.

use std::sync::Arc;

use cordon_config::{Config, FileRef, TlsMode};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::Error;

/// TLS 1.3 and 1.2 only.
static VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_error(f: &FileRef, msg: impl Into<String>) -> Error {
    Error::Tls(f.at.diagnostic(msg))
}

/// Reads a PEM certificate chain.
pub fn load_certs(f: &FileRef) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(&f.path)
        .map_err(|e| {
            tls_error(
                f,
                format!("cannot read certificates from {}: {e}", f.path.display()),
            )
        })?
        .collect::<Result<_, _>>()
        .map_err(|e| tls_error(f, format!("bad PEM in {}: {e}", f.path.display())))?;
    if certs.is_empty() {
        return Err(tls_error(
            f,
            format!("{} holds no CERTIFICATE block", f.path.display()),
        ));
    }
    Ok(certs)
}

/// Reads a PEM private key (PKCS#8, PKCS#1 or SEC1).
pub fn load_key(f: &FileRef) -> Result<PrivateKeyDer<'static>, Error> {
    PrivateKeyDer::from_pem_file(&f.path).map_err(|e| {
        tls_error(
            f,
            format!("no usable private key in {}: {e}", f.path.display()),
        )
    })
}

/// The acceptor for STARTTLS and implicit TLS on the upstream leg, if a certificate is configured.
pub fn server_config(config: &Config) -> Result<Option<TlsAcceptor>, Error> {
    let Some(t) = &config.gateway.tls else {
        return Ok(None);
    };
    let certs = load_certs(&t.certificate)?;
    let key = load_key(&t.private_key)?;
    let sc = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(VERSIONS)
        .map_err(|e| tls_error(&t.certificate, e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            tls_error(
                &t.private_key,
                format!("key does not fit the certificate: {e}"),
            )
        })?;
    Ok(Some(TlsAcceptor::from(Arc::new(sc))))
}

/// The connector for the downstream leg, per the `[relay] tls` mode.
pub fn client_config(config: &Config) -> Result<Option<TlsConnector>, Error> {
    let relay = &config.relay;
    let builder = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(VERSIONS)
        .map_err(|e| {
            Error::Tls(cordon_config::Diagnostic {
                file: config.source.clone(),
                line: 0,
                column: 0,
                key: "relay.tls".into(),
                message: e.to_string(),
            })
        })?;
    let builder = match relay.tls {
        TlsMode::None => return Ok(None),
        TlsMode::Required => {
            let mut roots = RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            if let Some(ca) = &relay.ca_file {
                for c in load_certs(ca)? {
                    roots
                        .add(c)
                        .map_err(|e| tls_error(ca, format!("unusable CA certificate: {e}")))?;
                }
            }
            builder.with_root_certificates(roots)
        }
        TlsMode::Opportunistic => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider()))),
    };
    let cc = match &relay.client_auth {
        Some(a) => {
            let certs = load_certs(&a.certificate)?;
            let key = load_key(&a.private_key)?;
            builder.with_client_auth_cert(certs, key).map_err(|e| {
                tls_error(
                    &a.private_key,
                    format!("client key does not fit the certificate: {e}"),
                )
            })?
        }
        None => builder.with_no_client_auth(),
    };
    Ok(Some(TlsConnector::from(Arc::new(cc))))
}

/// The name to verify the smart host against.
pub fn server_name(config: &Config, host: &str) -> Option<ServerName<'static>> {
    let name = config.relay.tls_name.as_deref().unwrap_or(host);
    ServerName::try_from(name.to_string()).ok()
}

/// Opportunistic TLS: encrypt, accept any certificate (signatures are still checked so the
/// handshake itself is sound).
#[derive(Debug)]
struct NoVerify(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
