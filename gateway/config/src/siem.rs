//! `[siem]`: where and how the gateway exports incidents and config changes as syslog.

use std::ops::Range;
use std::path::Path;

use crate::model::FileRef;
use crate::reader::{Reader, Section};

/// How events travel to the collector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiemTransport {
    /// RFC 5425: TLS, octet-counted frames.
    Tls,
    /// RFC 6587 octet counting over plain TCP.
    Tcp,
    /// RFC 5426: one datagram per event (no delivery guarantee).
    Udp,
}

/// What the syslog message's MSG part carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiemFormat {
    /// ArcSight Common Event Format.
    Cef,
    /// One JSON object.
    Json,
}

/// `[siem]`: the syslog exporter. Absent, nothing is exported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Siem {
    /// The collector, `host:port` (a name or an IP address).
    pub target: String,
    pub transport: SiemTransport,
    pub format: SiemFormat,
    /// CA that signs the collector's certificate (TLS; required there).
    pub ca_file: Option<FileRef>,
    /// Client certificate and key for collectors that require mutual TLS.
    pub client_certificate: Option<FileRef>,
    pub client_key: Option<FileRef>,
    /// The name the collector's certificate must carry; the target's host by default.
    pub server_name: Option<String>,
    /// Bytes of formatted events held while the collector is unreachable (one ring per worker,
    /// allocated at start); past it new events are dropped and counted.
    pub backlog: usize,
    /// RFC 5424 APP-NAME.
    pub app_name: String,
    /// RFC 5424 HOSTNAME; the system's host name when absent.
    pub hostname: Option<String>,
    /// RFC 5424 facility (0..=23); 13 (log audit) by default.
    pub facility: u8,
}

/// Default backlog, per worker: an event is typically 0.5 to 1 KiB (at most 8 KiB), so 4 MiB
/// holds some 5,000 incidents, minutes of a busy appliance's while a collector restarts, at a
/// fixed cost that fits the smallest board beside its session memory.
pub const DEFAULT_SIEM_BACKLOG: u64 = 4 << 20;
/// Smallest backlog: eight of the largest events (8 KiB each).
pub const MIN_SIEM_BACKLOG: u64 = 64 << 10;
/// Largest backlog, per worker: allocated at start on every worker, so it must stay a small
/// share of a board's RAM.
pub const MAX_SIEM_BACKLOG: u64 = 256 << 20;
/// RFC 5424 section 6.2.5: APP-NAME is at most 48 printable characters.
pub const MAX_APP_NAME: usize = 48;
/// RFC 5424 section 6.2.4: HOSTNAME is at most 255 printable characters.
pub const MAX_SYSLOG_HOSTNAME: usize = 255;
/// RFC 5424 section 6.2.1: facilities 0 to 23.
pub const MAX_FACILITY: i64 = 23;
/// Facility 13, "log audit" (RFC 5424 table 1): the events are DLP incidents and an audit trail.
pub const DEFAULT_FACILITY: u8 = 13;

/// Printable US-ASCII without space: what RFC 5424 header fields allow.
fn printable(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| (33..=126).contains(&b))
}

/// The host and port of `host:port` or `[v6]:port`.
pub fn split_target(target: &str) -> Option<(&str, u16)> {
    let (host, port) = target.rsplit_once(':')?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let port: u16 = port.parse().ok()?;
    (!host.is_empty() && port != 0 && !host.contains(char::is_whitespace)).then_some((host, port))
}

pub(crate) fn siem(
    mut s: Section<'_, '_>,
    r: &mut Reader<'_>,
    base: &Path,
    file_ref: impl Fn(&Reader<'_>, &Path, &str, &Range<usize>, &str) -> FileRef,
) -> Option<Siem> {
    let target = match s.string(r, "target") {
        Some((v, span)) => match split_target(&v) {
            Some(_) => Some(v),
            None => {
                r.error(
                    &span,
                    &s.key("target"),
                    format!("`{v}` is not host:port (example: siem.contoso.com:6514)"),
                );
                None
            }
        },
        None => {
            r.error(&s.span, &s.key("target"), "missing required key");
            None
        }
    };
    let transport = match s.string(r, "transport") {
        None => Some(SiemTransport::Tls),
        Some((v, span)) => match v.as_str() {
            "tls" => Some(SiemTransport::Tls),
            "tcp" => Some(SiemTransport::Tcp),
            "udp" => Some(SiemTransport::Udp),
            _ => {
                r.error(
                    &span,
                    &s.key("transport"),
                    format!("`{v}` is not one of \"tls\", \"tcp\", \"udp\""),
                );
                None
            }
        },
    };
    let format = match s.string(r, "format") {
        None => Some(SiemFormat::Cef),
        Some((v, span)) => match v.as_str() {
            "cef" => Some(SiemFormat::Cef),
            "json" => Some(SiemFormat::Json),
            _ => {
                r.error(
                    &span,
                    &s.key("format"),
                    format!("`{v}` is not one of \"cef\", \"json\""),
                );
                None
            }
        },
    };
    let mut file = |s: &mut Section<'_, '_>, key: &str| {
        s.string(r, key)
            .map(|(v, span)| file_ref(r, base, &v, &span, &s.key(key)))
    };
    let ca_file = file(&mut s, "ca_file");
    let client_certificate = file(&mut s, "client_certificate");
    let client_key = file(&mut s, "client_key");
    let server_name = s.string(r, "server_name").map(|(v, _)| v);
    let backlog = crate::parse::size_key(
        &mut s,
        r,
        "backlog",
        MIN_SIEM_BACKLOG..=MAX_SIEM_BACKLOG,
        "64KiB..256MiB",
    )
    .unwrap_or(DEFAULT_SIEM_BACKLOG) as usize;
    let app_name = match s.string(r, "app_name") {
        None => Some("cordon".to_string()),
        Some((v, _)) if printable(&v, MAX_APP_NAME) => Some(v),
        Some((v, span)) => {
            r.error(
                &span,
                &s.key("app_name"),
                format!("`{v}` is not 1 to {MAX_APP_NAME} printable ASCII characters without spaces (RFC 5424 APP-NAME)"),
            );
            None
        }
    };
    let hostname = match s.string(r, "hostname") {
        None => None,
        Some((v, _)) if printable(&v, MAX_SYSLOG_HOSTNAME) => Some(v),
        Some((v, span)) => {
            r.error(
                &span,
                &s.key("hostname"),
                format!("`{v}` is not 1 to {MAX_SYSLOG_HOSTNAME} printable ASCII characters without spaces (RFC 5424 HOSTNAME)"),
            );
            None
        }
    };
    let facility = s
        .integer(r, "facility", 0..MAX_FACILITY + 1)
        .map_or(DEFAULT_FACILITY, |(n, _)| n as u8);
    if transport == Some(SiemTransport::Tls) && ca_file.is_none() {
        r.error(
            &s.span,
            &s.key("ca_file"),
            "transport \"tls\" needs the CA that signs the collector's certificate",
        );
    }
    if transport != Some(SiemTransport::Tls)
        && (ca_file.is_some() || client_certificate.is_some() || client_key.is_some())
    {
        r.error(
            &s.span,
            &s.key("transport"),
            "ca_file, client_certificate and client_key need transport \"tls\"",
        );
    }
    if client_certificate.is_some() != client_key.is_some() {
        r.error(
            &s.span,
            &s.key("client_key"),
            "client_certificate and client_key go together",
        );
    }
    s.finish(r);
    Some(Siem {
        target: target?,
        transport: transport?,
        format: format?,
        ca_file,
        client_certificate,
        client_key,
        server_name,
        backlog,
        app_name: app_name?,
        hostname,
        facility,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::{parse, Error};

    const BASE: &str = "[gateway]\nhostname = \"dlp1.contoso.com\"\nlisten = [\"127.0.0.1:2525\"]\n\n[relay]\nsmarthosts = [\"smtp://127.0.0.1:25\"]\ntls = \"none\"\n";

    fn errors(text: &str) -> Vec<String> {
        match parse(text, Path::new("/etc/cordon/cordon.toml")) {
            Err(Error::Invalid { diagnostics, .. }) => {
                diagnostics.iter().map(|d| d.to_string()).collect()
            }
            other => panic!("expected diagnostics, got {other:?}"),
        }
    }

    #[test]
    fn a_full_section_parses_and_defaults_fill_in() {
        let c = parse(
            &format!("{BASE}[siem]\ntarget = \"siem.contoso.com:6514\"\nca_file = \"ca.pem\"\nclient_certificate = \"c.pem\"\nclient_key = \"k.pem\"\nbacklog = \"1MiB\"\nhostname = \"dlp1\"\n"),
            Path::new("/etc/cordon/cordon.toml"),
        )
        .unwrap();
        let s = c.siem.unwrap();
        assert_eq!(s.target, "siem.contoso.com:6514");
        assert_eq!(
            (s.transport, s.format),
            (SiemTransport::Tls, SiemFormat::Cef)
        );
        assert_eq!(s.ca_file.unwrap().path, Path::new("/etc/cordon/ca.pem"));
        assert_eq!((s.backlog, s.facility), (1 << 20, DEFAULT_FACILITY));
        assert_eq!(
            (s.app_name.as_str(), s.hostname.as_deref()),
            ("cordon", Some("dlp1"))
        );
        let c = parse(
            &format!(
                "{BASE}[siem]\ntarget = \"[::1]:514\"\ntransport = \"udp\"\nformat = \"json\"\n"
            ),
            Path::new("/etc/cordon/cordon.toml"),
        )
        .unwrap();
        let s = c.siem.unwrap();
        assert_eq!(
            (s.transport, s.format),
            (SiemTransport::Udp, SiemFormat::Json)
        );
        assert_eq!(s.backlog, DEFAULT_SIEM_BACKLOG as usize);
        assert!(parse(BASE, Path::new("/x.toml")).unwrap().siem.is_none());
    }

    #[test]
    fn each_bad_key_is_named_with_its_line() {
        let e = errors(&format!(
            "{BASE}[siem]\ntarget = \"nohost\"\ntransport = \"carrier-pigeon\"\nformat = \"leef\"\nbacklog = 0\napp_name = \"two words\"\nfacility = 24\nflavour = 1\n"
        ));
        let want = [
            ("siem.target", ":9:"),
            ("siem.transport", ":10:"),
            ("siem.format", ":11:"),
            ("siem.backlog", ":12:"),
            ("siem.app_name", ":13:"),
            ("siem.facility", ":14:"),
            ("siem.flavour", ":15:"),
        ];
        for (key, line) in want {
            assert!(
                e.iter().any(|d| d.contains(key) && d.contains(line)),
                "{key} at {line} not in {e:?}"
            );
        }
    }

    #[test]
    fn tls_needs_its_ca_and_plain_transports_take_no_tls_files() {
        let e = errors(&format!("{BASE}[siem]\ntarget = \"h:6514\"\n"));
        assert!(
            e.iter()
                .any(|d| d.contains("siem.ca_file") && d.contains("CA")),
            "{e:?}"
        );
        let e = errors(&format!(
            "{BASE}[siem]\ntarget = \"h:514\"\ntransport = \"tcp\"\nca_file = \"ca.pem\"\n"
        ));
        assert!(
            e.iter().any(|d| d.contains("need transport \"tls\"")),
            "{e:?}"
        );
        let e = errors(&format!(
            "{BASE}[siem]\ntarget = \"h:6514\"\nca_file = \"ca.pem\"\nclient_key = \"k.pem\"\n"
        ));
        assert!(e.iter().any(|d| d.contains("go together")), "{e:?}");
    }

    #[test]
    fn targets_split_into_host_and_port() {
        assert_eq!(split_target("siem:6514"), Some(("siem", 6514)));
        assert_eq!(split_target("[::1]:514"), Some(("::1", 514)));
        assert_eq!(split_target("10.0.0.1:0"), None);
        assert_eq!(split_target("siem"), None);
        assert_eq!(split_target(":514"), None);
    }
}
