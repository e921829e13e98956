//! A test CA and certificates made with rcgen, written as PEM files.

use std::path::PathBuf;

use crate::support::TempDir;

/// A test CA with server certificates, written as PEM files into a directory.
#[derive(Debug)]
pub struct Certs {
    pub dir: TempDir,
    pub ca: PathBuf,
}

impl Certs {
    /// A new CA.
    pub fn new() -> Certs {
        let dir = TempDir::new("certs");
        let ca = dir.path().join("ca.pem");
        let certs = Certs { dir, ca };
        let (cert, key) = certs.ca_params();
        std::fs::write(&certs.ca, cert).expect("write ca");
        std::fs::write(certs.dir.path().join("ca.key"), key).expect("write ca key");
        certs
    }

    fn ca_params(&self) -> (String, String) {
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = ca_cert_params().self_signed(&key).expect("self-sign CA");
        (cert.pem(), key.serialize_pem())
    }

    /// A certificate for `names`, signed by this CA; returns (cert.pem, key.pem) paths.
    pub fn issue(&self, names: &[&str]) -> (PathBuf, PathBuf) {
        let ca_key_pem = std::fs::read_to_string(self.dir.path().join("ca.key")).expect("ca key");
        let ca_key = rcgen::KeyPair::from_pem(&ca_key_pem).expect("parse ca key");
        let issuer = rcgen::Issuer::new(ca_cert_params(), ca_key);
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params =
            rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .expect("params");
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, names[0]);
        let cert = params.signed_by(&key, &issuer).expect("sign");
        let stem = names[0].replace(['.', '*'], "_");
        let c = self.dir.path().join(format!("{stem}.pem"));
        let k = self.dir.path().join(format!("{stem}.key"));
        std::fs::write(&c, cert.pem()).expect("write cert");
        std::fs::write(&k, key.serialize_pem()).expect("write key");
        (c, k)
    }
}

impl Default for Certs {
    fn default() -> Self {
        Certs::new()
    }
}

fn ca_cert_params() -> rcgen::CertificateParams {
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    p.distinguished_name
        .push(rcgen::DnType::CommonName, "cordon test CA");
    p.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    p
}
