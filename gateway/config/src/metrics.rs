//! `[metrics]`: the read-only Prometheus endpoint on the management address.
//!
//! ```toml
//! [metrics]
//! listen = "192.0.2.10:9464"
//! # Optional, all three or none: TLS with a required client certificate from client_ca.
//! certificate = "/data/cordon/metrics.crt"
//! private_key = "/data/cordon/metrics.key"
//! client_ca = "/data/cordon/scrapers-ca.crt"
//! ```

use std::net::SocketAddr;
use std::path::Path;

use crate::model::FileRef;
use crate::reader::{Reader, Section};

/// `[metrics]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metrics {
    /// Where `GET /metrics` is served (the management address, not the mail ports).
    pub listen: SocketAddr,
    /// TLS with a required client certificate; `None`: plain HTTP (for a scraper on a
    /// management network the appliance already trusts).
    pub tls: Option<MetricsTls>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsTls {
    pub certificate: FileRef,
    pub private_key: FileRef,
    /// Only scrapers with a certificate from this CA are answered.
    pub client_ca: FileRef,
}

impl Metrics {
    /// The files `check_files` opens.
    pub fn files(&self) -> Vec<&FileRef> {
        self.tls
            .iter()
            .flat_map(|t| [&t.certificate, &t.private_key, &t.client_ca])
            .collect()
    }
}

pub(crate) fn metrics(mut s: Section<'_, '_>, r: &mut Reader<'_>, base: &Path) -> Option<Metrics> {
    let listen = match s.string(r, "listen") {
        None => {
            if s.raw("listen").is_none() {
                r.error(&s.span, &s.key("listen"), "missing required key");
            }
            None
        }
        Some((v, span)) => match v.parse::<SocketAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                r.error(
                    &span,
                    &s.key("listen"),
                    format!("`{v}` is not an IP:port address"),
                );
                None
            }
        },
    };
    const TLS_KEYS: [&str; 3] = ["certificate", "private_key", "client_ca"];
    let mut files = TLS_KEYS.map(|key| {
        s.string(r, key)
            .map(|(v, span)| crate::parse::file_ref(r, base, &v, &span, &s.key(key)))
    });
    let given = files.iter().filter(|f| f.is_some()).count();
    if given > 0 && given < TLS_KEYS.len() {
        for (key, f) in TLS_KEYS.iter().zip(&files) {
            if f.is_none() && s.raw(key).is_none() {
                r.error(
                    &s.span,
                    &s.key(key),
                    "TLS for the metrics endpoint needs certificate, private_key and client_ca \
                     (scrapers must present a client certificate)",
                );
            }
        }
    }
    s.finish(r);
    let tls = match &mut files {
        [Some(c), Some(k), Some(ca)] => Some(MetricsTls {
            certificate: c.clone(),
            private_key: k.clone(),
            client_ca: ca.clone(),
        }),
        _ => None,
    };
    Some(Metrics {
        listen: listen?,
        tls,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::{parse, Error};

    const EXAMPLE: &str = include_str!("../../cordon/examples/cordon.toml");

    fn with(section: &str) -> Result<crate::Config, Vec<String>> {
        parse(
            &format!("{EXAMPLE}\n{section}"),
            Path::new("/etc/cordon/c.toml"),
        )
        .map_err(|e| match e {
            Error::Invalid { diagnostics, .. } => {
                diagnostics.iter().map(|d| d.to_string()).collect()
            }
            e => vec![e.to_string()],
        })
    }

    #[test]
    fn absent_means_no_endpoint() {
        assert_eq!(with("").unwrap().metrics, None);
    }

    #[test]
    fn plain_and_mutual_tls_forms_parse() {
        let m = with("[metrics]\nlisten = \"127.0.0.1:9464\"\n")
            .unwrap()
            .metrics
            .unwrap();
        assert_eq!(m.listen, "127.0.0.1:9464".parse().unwrap());
        assert!(m.tls.is_none() && m.files().is_empty());
        let m = with(
            "[metrics]\nlisten = \"[::1]:9464\"\ncertificate = \"m.crt\"\nprivate_key = \"m.key\"\nclient_ca = \"/ca.crt\"\n",
        )
        .unwrap()
        .metrics
        .unwrap();
        let tls = m.tls.as_ref().unwrap();
        // Relative to the config file, as every other file reference.
        assert_eq!(tls.certificate.path, Path::new("/etc/cordon/m.crt"));
        assert_eq!(tls.client_ca.path, Path::new("/ca.crt"));
        assert_eq!(m.files().len(), 3);
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let lines = EXAMPLE.lines().count();
        let e = with("[metrics]\nlisten = \"localhost\"\nport = 1\n").unwrap_err();
        assert!(
            e.iter()
                .any(|l| l.contains(&format!("c.toml:{}", lines + 3))
                    && l.contains("metrics.listen")
                    && l.contains("not an IP:port")),
            "{e:?}"
        );
        assert!(e.iter().any(|l| l.contains("metrics.port")), "{e:?}");
        let e = with("[metrics]\n").unwrap_err();
        assert!(
            e.iter()
                .any(|l| l.contains("metrics.listen") && l.contains("missing")),
            "{e:?}"
        );
        let e = with("[metrics]\nlisten = \"127.0.0.1:1\"\ncertificate = \"m.crt\"\n").unwrap_err();
        assert!(
            e.iter()
                .any(|l| l.contains("metrics.private_key") && l.contains("client certificate")),
            "{e:?}"
        );
        assert!(e.iter().any(|l| l.contains("metrics.client_ca")), "{e:?}");
    }
}
