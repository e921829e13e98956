//! Checks a TLS bundle before the gateway installs it: a PEM certificate chain (leaf first)
//! followed by the PEM private key. Refused, with a reason an admin can act on, when
//! anything is unreadable, the key does not belong to the leaf certificate, or the leaf is
//! expired or not yet valid: installing such a bundle would break every TLS handshake.

use cordon_wire::{AppError, ErrorCode, TlsInfo};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// A bundle that passed [`validate_tls_bundle`], ready to install.
#[derive(Debug)]
pub struct ValidBundle {
    /// Leaf first, as the bundle listed them.
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    /// What `InstallTls` reports back.
    pub info: TlsInfo,
}

fn invalid(message: &str) -> AppError {
    AppError::new(ErrorCode::InvalidTls, message)
}

/// Validates `bundle` at `now_unix` (seconds since the epoch; the caller passes the clock so
/// tests can move it).
pub fn validate_tls_bundle(bundle: &[u8], now_unix: u64) -> Result<ValidBundle, AppError> {
    let chain = CertificateDer::pem_slice_iter(bundle)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(&format!("unreadable certificate PEM: {e}")))?;
    let Some(leaf) = chain.first().cloned() else {
        return Err(invalid(
            "no certificate in the bundle (expected PEM CERTIFICATE blocks first)",
        ));
    };
    let key = PrivateKeyDer::from_pem_slice(bundle)
        .map_err(|e| invalid(&format!("no usable private key in the bundle: {e}")))?;

    let (_, parsed) = x509_parser::parse_x509_certificate(&leaf)
        .map_err(|e| invalid(&format!("leaf certificate does not parse: {e}")))?;
    let validity = parsed.validity();
    let not_before = validity.not_before.timestamp();
    let not_after = validity.not_after.timestamp();
    let now = i64::try_from(now_unix).unwrap_or(i64::MAX);
    if now < not_before {
        return Err(invalid(&format!(
            "certificate is not valid yet (from {})",
            validity.not_before
        )));
    }
    if now > not_after {
        return Err(invalid(&format!(
            "certificate expired on {}",
            validity.not_after
        )));
    }
    let subject = parsed.subject().to_string();

    let provider = rustls::crypto::ring::default_provider();
    let signing_key = provider
        .key_provider
        .load_private_key(key.clone_key())
        .map_err(|e| invalid(&format!("private key unusable: {e}")))?;
    CertifiedKey::new(chain.clone(), signing_key)
        .keys_match()
        .map_err(|e| invalid(&format!("private key does not match the certificate: {e}")))?;

    let digest = ring::digest::digest(&ring::digest::SHA256, &leaf);
    let mut sha256 = [0; 32];
    sha256.copy_from_slice(digest.as_ref());
    Ok(ValidBundle {
        chain,
        key,
        info: TlsInfo {
            subject: crate::bounded(&subject),
            not_after_unix: u64::try_from(not_after).unwrap_or(0),
            sha256,
        },
    })
}

/// The leaf certificate of a PEM chain as `InstallTls` reports it (subject, expiry, SHA-256),
/// without judging its dates: `status` shows what is installed, expired or not.
pub fn certificate_info(pem: &[u8]) -> Result<TlsInfo, AppError> {
    let leaf = CertificateDer::pem_slice_iter(pem)
        .next()
        .ok_or_else(|| invalid("no certificate in the file"))?
        .map_err(|e| invalid(&format!("unreadable certificate PEM: {e}")))?;
    let (_, parsed) = x509_parser::parse_x509_certificate(&leaf)
        .map_err(|e| invalid(&format!("certificate does not parse: {e}")))?;
    let digest = ring::digest::digest(&ring::digest::SHA256, &leaf);
    let mut sha256 = [0; 32];
    sha256.copy_from_slice(digest.as_ref());
    Ok(TlsInfo {
        subject: crate::bounded(&parsed.subject().to_string()),
        not_after_unix: u64::try_from(parsed.validity().not_after.timestamp()).unwrap_or(0),
        sha256,
    })
}
