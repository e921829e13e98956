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
    let mut p = rustls::crypto::ring::default_provider();
    prefer(&mut p.cipher_suites, aes_instructions());
    Arc::new(p)
}

/// Whether this CPU encrypts AES-GCM in hardware (AES plus carry-less multiply). The Raspberry
/// Pi 4's Cortex-A72 does not (its SoC omits the ARMv8 crypto extensions): there ring falls back
/// to constant-time AES on NEON, several times the cost of ChaCha20-Poly1305.
pub fn aes_instructions() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("aes")
            && std::arch::is_x86_feature_detected!("pclmulqdq")
    }
    #[cfg(target_arch = "aarch64")]
    {
        std::arch::is_aarch64_feature_detected!("aes")
            && std::arch::is_aarch64_feature_detected!("pmull")
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        false
    }
}

/// The suites in preference order for this CPU: ring's order (AES-GCM first) with AES
/// instructions, ChaCha20-Poly1305 first without; TLS 1.3 suites stay ahead of TLS 1.2 ones.
pub fn prefer(suites: &mut [rustls::SupportedCipherSuite], aes: bool) {
    suites.sort_by_key(|s| {
        let tls12 = matches!(s, rustls::SupportedCipherSuite::Tls12(_));
        let chacha = format!("{:?}", s.suite()).contains("CHACHA20");
        (tls12, aes == chacha)
    });
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
    let mut sc = ServerConfig::builder_with_provider(provider())
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
    // Our order, not the client's: Exchange (AES hardware) lists AES-GCM first, which a board
    // without AES instructions pays for several times over.
    sc.ignore_client_order = true;
    let first = sc
        .crypto_provider()
        .cipher_suites
        .first()
        .map(|s| format!("{:?}", s.suite()))
        .unwrap_or_default();
    tracing::info!(aes_instructions = aes_instructions(), first = %first, "TLS cipher suite preference");
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

#[cfg(test)]
mod tests {
    use super::*;

    fn names(aes: bool) -> Vec<String> {
        let mut s = rustls::crypto::ring::default_provider().cipher_suites;
        prefer(&mut s, aes);
        s.iter().map(|s| format!("{:?}", s.suite())).collect()
    }

    #[test]
    fn without_aes_instructions_chacha20_comes_first_in_each_version() {
        let with = names(true);
        let without = names(false);
        assert!(with[0].contains("AES"), "{with:?}");
        assert!(without[0].contains("CHACHA20"), "{without:?}");
        // TLS 1.3 suites (TLS13_*) stay ahead of every TLS 1.2 one.
        let first12 = without
            .iter()
            .position(|n| !n.starts_with("TLS13"))
            .unwrap();
        assert!(without[..first12].iter().all(|n| n.starts_with("TLS13")));
        assert!(without[first12].contains("CHACHA20"), "{without:?}");
        assert_eq!(with.len(), without.len());
    }
}
