//! Builds the [`Config`] model from TOML, section by section, collecting every problem.

use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;
use toml::de::DeTable;

use crate::model::*;
use crate::reader::{Reader, Section};
use crate::units::{parse_duration, parse_size};
use crate::Error;

/// Exchange Online's own ceiling is 150 MB; a larger buffer per session would only waste memory.
pub const MAX_MESSAGE_SIZE_LIMIT: u64 = 150 << 20;
/// Below this even a plain notification does not fit.
pub const MIN_MESSAGE_SIZE: u64 = 64 << 10;
/// Sessions per appliance; far above what a small board's memory allows.
pub const MAX_SESSIONS_LIMIT: i64 = 100_000;
/// Default size limit: Exchange Online's default for messages it sends (35 MB).
pub const DEFAULT_MESSAGE_SIZE: u64 = 35 << 20;
pub const DEFAULT_MAX_SESSIONS: usize = 64;
/// Size classes of message buffers; a few cover Exchange's traffic (small, typical, largest).
pub const MAX_SLOT_CLASSES: usize = 8;

/// Parses and validates a config text. `file` is used only in messages; relative file paths in
/// the config are resolved against its directory.
pub fn parse(text: &str, file: &Path) -> Result<Config, Error> {
    let mut r = Reader::new(file, text);
    let doc = match DeTable::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            r.error(&span, "", format!("TOML syntax: {}", e.message().trim()));
            return Err(Error::Invalid {
                file: file.to_path_buf(),
                diagnostics: r.diagnostics,
            });
        }
    };
    let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut root = Section::root(&doc);

    let gateway = section(&mut root, &mut r, "gateway", true).map(|s| gateway(s, &mut r, &base));
    let relay = section(&mut root, &mut r, "relay", true).map(|s| relay(s, &mut r, &base));
    let organization = organization(
        section(&mut root, &mut r, "organization", false)
            .unwrap_or_else(|| Section::empty("organization")),
        &mut r,
    );
    let headers = headers(
        section(&mut root, &mut r, "headers", false).unwrap_or_else(|| Section::empty("headers")),
        &mut r,
    );
    let timeouts = timeouts(
        section(&mut root, &mut r, "timeouts", false).unwrap_or_else(|| Section::empty("timeouts")),
        &mut r,
    );
    let log = log(
        section(&mut root, &mut r, "log", false).unwrap_or_else(|| Section::empty("log")),
        &mut r,
    );
    let dictionaries: Vec<Dictionary> = root
        .tables(&mut r, "dictionary")
        .into_iter()
        .filter_map(|s| dictionary(s, &mut r, &base))
        .collect();
    let patterns: Vec<Pattern> = root
        .tables(&mut r, "pattern")
        .into_iter()
        .filter_map(|s| pattern(s, &mut r))
        .collect();
    let rules: Vec<Rule> = root
        .tables(&mut r, "rule")
        .into_iter()
        .filter_map(|s| rule(s, &mut r))
        .collect();
    let policy = policy(
        section(&mut root, &mut r, "policy", false).unwrap_or_else(|| Section::empty("policy")),
        &mut r,
    );
    let incidents = incidents(
        section(&mut root, &mut r, "incidents", false)
            .unwrap_or_else(|| Section::empty("incidents")),
        &mut r,
    );
    let edm = edm(
        section(&mut root, &mut r, "edm", false).unwrap_or_else(|| Section::empty("edm")),
        &mut r,
    );
    unique_names(&mut r, &doc, &dictionaries, &patterns, &rules);
    let control = root
        .table(&mut r, "control")
        .and_then(|s| control(s, &mut r, &base));
    let metrics = root
        .table(&mut r, "metrics")
        .and_then(|s| crate::metrics::metrics(s, &mut r, &base));
    let siem = root
        .table(&mut r, "siem")
        .and_then(|s| crate::siem::siem(s, &mut r, &base, file_ref));
    root.finish(&mut r);

    match (gateway, relay) {
        (Some(Some(gateway)), Some(Some(relay))) if r.diagnostics.is_empty() => Ok(Config {
            source: file.to_path_buf(),
            gateway,
            relay,
            organization,
            headers,
            timeouts,
            log,
            dictionaries,
            patterns,
            rules,
            policy,
            incidents,
            edm,
            control,
            metrics,
            siem,
        }),
        _ => Err(Error::Invalid {
            file: file.to_path_buf(),
            diagnostics: r.diagnostics,
        }),
    }
}

fn section<'t, 'i>(
    root: &mut Section<'t, 'i>,
    r: &mut Reader<'_>,
    key: &str,
    required: bool,
) -> Option<Section<'t, 'i>> {
    let s = root.table(r, key);
    if s.is_none() && required && root.raw(key).is_none() {
        r.error(&(0..0), key, format!("missing section [{key}]"));
    }
    s
}

fn missing(r: &mut Reader<'_>, s: &Section<'_, '_>, key: &str) {
    r.error(&s.span, &s.key(key), "missing required key");
}

pub(crate) fn file_ref(
    r: &Reader<'_>,
    base: &Path,
    value: &str,
    span: &Range<usize>,
    key: &str,
) -> FileRef {
    let p = PathBuf::from(value);
    let (path, relative_to) = if p.is_absolute() {
        (p, None)
    } else {
        (base.join(p), Some(base.to_path_buf()))
    };
    FileRef {
        path,
        at: r.location(span, key),
        relative_to,
    }
}

fn gateway(mut s: Section<'_, '_>, r: &mut Reader<'_>, base: &Path) -> Option<Gateway> {
    let hostname = match s.string(r, "hostname") {
        Some((h, span)) => {
            // RFC 5321 section 4.1.1.1: EHLO carries a fully qualified domain name.
            if !is_hostname(&h) || !h.contains('.') {
                r.error(
                    &span,
                    &s.key("hostname"),
                    format!("`{h}` is not a fully qualified host name (example: dlp1.contoso.com)"),
                );
            }
            Some(h)
        }
        None => {
            missing(r, &s, "hostname");
            None
        }
    };
    let (listen, n_plain) = addresses(&mut s, r, "listen");
    let (listen_tls, n_tls) = addresses(&mut s, r, "listen_tls");
    if n_plain + n_tls == 0 {
        r.error(
            &s.span,
            &s.key("listen"),
            "no listener: set `listen` and/or `listen_tls`",
        );
    }
    let allowed_clients = match s.strings(r, "allowed_clients") {
        Some(items) => items
            .into_iter()
            .filter_map(|(v, span, key)| match parse_net(&v) {
                Ok(n) => Some(n),
                Err(e) => {
                    r.error(&span, &key, e);
                    None
                }
            })
            .collect(),
        None => vec!["127.0.0.0/8".parse().ok()?, "::1/128".parse().ok()?],
    };
    let max_message_size = match s.raw("max_message_size") {
        None => DEFAULT_MESSAGE_SIZE,
        Some(v) => {
            let key = s.key("max_message_size");
            let parsed = match (v.get_ref().as_str(), v.get_ref().as_integer()) {
                (Some(text), _) => parse_size(text),
                (_, Some(i)) => i
                    .as_str()
                    .replace('_', "")
                    .parse::<u64>()
                    .map_err(|_| "must be a positive number".to_string()),
                _ => Err(format!(
                    "expected a size such as \"35MiB\", found {}",
                    v.get_ref().type_str()
                )),
            };
            match parsed {
                Ok(n) if (MIN_MESSAGE_SIZE..=MAX_MESSAGE_SIZE_LIMIT).contains(&n) => n,
                Ok(n) => {
                    r.error(&v.span(), &key, format!("{n} bytes is outside {MIN_MESSAGE_SIZE}..={MAX_MESSAGE_SIZE_LIMIT} (64KiB..150MiB)"));
                    DEFAULT_MESSAGE_SIZE
                }
                Err(e) => {
                    r.error(&v.span(), &key, e);
                    DEFAULT_MESSAGE_SIZE
                }
            }
        }
    };
    let prefault = s.bool(r, "prefault").unwrap_or(true);
    let max_sessions = s
        .integer(r, "max_sessions", 1..MAX_SESSIONS_LIMIT + 1)
        .map(|(n, _)| n as usize)
        .unwrap_or(DEFAULT_MAX_SESSIONS);
    let slot_classes = slot_classes(&mut s, r, max_message_size as usize, max_sessions);
    let tls = s.table(r, "tls").and_then(|mut t| {
        let certificate = t.string(r, "certificate");
        let private_key = t.string(r, "private_key");
        let required = t.bool(r, "required").unwrap_or(false);
        if certificate.is_none() {
            missing(r, &t, "certificate");
        }
        if private_key.is_none() {
            missing(r, &t, "private_key");
        }
        let result = match (certificate, private_key) {
            (Some((c, cs)), Some((k, ks))) => Some(InboundTls {
                certificate: file_ref(r, base, &c, &cs, &t.key("certificate")),
                private_key: file_ref(r, base, &k, &ks, &t.key("private_key")),
                required,
            }),
            _ => None,
        };
        t.finish(r);
        result
    });
    if !listen_tls.is_empty() && tls.is_none() {
        r.error(
            &s.span,
            &s.key("listen_tls"),
            "implicit TLS listeners need [gateway.tls] certificate and private_key",
        );
    }
    s.finish(r);
    Some(Gateway {
        hostname: hostname?,
        listen,
        listen_tls,
        allowed_clients,
        max_message_size: max_message_size as usize,
        max_sessions,
        slot_classes,
        tls,
        prefault,
    })
}

/// `slot_classes = ["200 x 256KiB", "40 x 4MiB", "2 x 35MiB"]`: ascending sizes, the largest
/// equal to `max_message_size` (so every message the SIZE advertisement admits has a class),
/// and no more buffers than sessions (a buffer without a session to use it is wasted memory).
fn slot_classes(
    s: &mut Section<'_, '_>,
    r: &mut Reader<'_>,
    max_message_size: usize,
    max_sessions: usize,
) -> Vec<SlotClass> {
    let default = vec![SlotClass {
        size: max_message_size,
        count: max_sessions,
    }];
    let Some(items) = s.strings(r, "slot_classes") else {
        return default;
    };
    let key = s.key("slot_classes");
    let span = s
        .raw("slot_classes")
        .map(|v| v.span())
        .unwrap_or(s.span.clone());
    let errors = r.diagnostics.len();
    let mut classes = Vec::new();
    for (text, span, key) in &items {
        match parse_slot_class(text) {
            Ok(c) if classes.last().is_some_and(|l: &SlotClass| l.size >= c.size) => r.error(
                span,
                key,
                "classes must be listed smallest first, each larger than the one before",
            ),
            Ok(c) if c.size > max_message_size => r.error(
                span,
                key,
                format!(
                    "{} bytes is larger than max_message_size ({max_message_size})",
                    c.size
                ),
            ),
            Ok(c) if (c.size as u64) < MIN_MESSAGE_SIZE => r.error(
                span,
                key,
                format!(
                    "{} bytes is below the smallest message buffer, 64KiB",
                    c.size
                ),
            ),
            Ok(c) => classes.push(c),
            Err(e) => r.error(span, key, e),
        }
    }
    if r.diagnostics.len() > errors {
        return default;
    }
    if items.len() > MAX_SLOT_CLASSES {
        r.error(&span, &key, format!("at most {MAX_SLOT_CLASSES} classes"));
        return default;
    }
    match classes.last() {
        None => {
            r.error(&span, &key, "needs at least one class (or leave it out)");
            return default;
        }
        Some(l) if l.size != max_message_size => {
            r.error(
                &span,
                &key,
                format!(
                    "the largest class ({} bytes) must equal max_message_size ({max_message_size}), so that every message SIZE admits has a buffer",
                    l.size
                ),
            );
            return default;
        }
        Some(_) => {}
    }
    let total: usize = classes.iter().map(|c| c.count).sum();
    if total > max_sessions {
        r.error(
            &span,
            &key,
            format!("{total} buffers for {max_sessions} sessions (max_sessions): a buffer is only used by a session, so the rest would be wasted memory"),
        );
        return default;
    }
    classes
}

/// `"COUNT x SIZE"`.
fn parse_slot_class(text: &str) -> Result<SlotClass, String> {
    let (count, size) = text
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("`{text}` is not `COUNT x SIZE` (example: \"40 x 4MiB\")"))?;
    let count: usize = count
        .trim()
        .parse()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("`{}` is not a positive count", count.trim()))?;
    let size = parse_size(size)?;
    Ok(SlotClass {
        size: usize::try_from(size).map_err(|_| format!("`{text}` is too large"))?,
        count,
    })
}

/// The valid addresses, and how many entries were written (valid or not).
fn addresses(s: &mut Section<'_, '_>, r: &mut Reader<'_>, key: &str) -> (Vec<SocketAddr>, usize) {
    let items = s.strings(r, key).unwrap_or_default();
    let written = items.len();
    let valid = items
        .into_iter()
        .filter_map(|(v, span, k)| match v.parse::<SocketAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                r.error(
                    &span,
                    &k,
                    format!("`{v}` is not an IP:port address (examples: 0.0.0.0:25, [::]:25)"),
                );
                None
            }
        })
        .collect();
    (valid, written)
}

fn parse_net(v: &str) -> Result<IpNet, String> {
    if let Ok(n) = v.parse::<IpNet>() {
        if n.trunc() != n {
            return Err(format!(
                "`{v}` has host bits set; did you mean {}?",
                n.trunc()
            ));
        }
        return Ok(n);
    }
    v.parse::<IpAddr>().map(IpNet::from).map_err(|_| {
        format!("`{v}` is not an IP network (examples: 10.0.0.0/8, 2001:db8::/32, 192.0.2.7)")
    })
}

fn relay(mut s: Section<'_, '_>, r: &mut Reader<'_>, base: &Path) -> Option<Relay> {
    let mut smarthosts = Vec::new();
    match s.strings(r, "smarthosts") {
        None => missing(r, &s, "smarthosts"),
        Some(items) => {
            if items.is_empty() {
                r.error(
                    &s.span,
                    &s.key("smarthosts"),
                    "at least one smart host is required",
                );
            }
            for (v, span, key) in items {
                match parse_smarthost(&v) {
                    Ok(h) => smarthosts.push(h),
                    Err(e) => r.error(&span, &key, e),
                }
            }
        }
    }
    let tls = match s.string(r, "tls") {
        None => TlsMode::Required,
        Some((v, span)) => match v.as_str() {
            "none" => TlsMode::None,
            "opportunistic" => TlsMode::Opportunistic,
            "required" => TlsMode::Required,
            _ => {
                r.error(
                    &span,
                    &s.key("tls"),
                    format!("`{v}` is not one of \"none\", \"opportunistic\", \"required\""),
                );
                TlsMode::Required
            }
        },
    };
    let tls_name = s.string(r, "tls_name").and_then(|(v, span)| {
        if is_hostname(&v) || v.parse::<IpAddr>().is_ok() {
            Some(v)
        } else {
            r.error(
                &span,
                &s.key("tls_name"),
                format!("`{v}` is not a host name"),
            );
            None
        }
    });
    if tls == TlsMode::Required && tls_name.is_none() {
        for h in &smarthosts {
            if h.host.parse::<IpAddr>().is_ok() {
                r.error(&s.span, &s.key("tls_name"), format!("smart host {h} is an IP address: set tls_name to the name its certificate carries"));
            }
        }
    }
    let ca_file = s
        .string(r, "ca_file")
        .map(|(v, span)| file_ref(r, base, &v, &span, &s.key("ca_file")));
    let cert = s.string(r, "client_certificate");
    let key = s.string(r, "client_private_key");
    let client_auth = match (cert, key) {
        (Some((c, cs)), Some((k, ks))) => Some(ClientAuth {
            certificate: file_ref(r, base, &c, &cs, &s.key("client_certificate")),
            private_key: file_ref(r, base, &k, &ks, &s.key("client_private_key")),
        }),
        (Some((_, span)), None) => {
            r.error(
                &span,
                &s.key("client_private_key"),
                "client_certificate needs client_private_key",
            );
            None
        }
        (None, Some((_, span))) => {
            r.error(
                &span,
                &s.key("client_certificate"),
                "client_private_key needs client_certificate",
            );
            None
        }
        (None, None) => None,
    };
    s.finish(r);
    Some(Relay {
        smarthosts,
        tls,
        tls_name,
        ca_file,
        client_auth,
    })
}

/// `smtp://host:port`, `smtps://host:port`, `host:port`, `host` (port 25), `[v6]:port`.
pub fn parse_smarthost(v: &str) -> Result<SmartHost, String> {
    let (implicit_tls, rest, default_port) = if let Some(r) = v.strip_prefix("smtps://") {
        (true, r, 465)
    } else if let Some(r) = v.strip_prefix("smtp://") {
        (false, r, 25)
    } else if v.contains("://") {
        return Err(format!(
            "`{v}`: only smtp:// and smtps:// smart hosts are supported"
        ));
    } else {
        (false, v, 25)
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let bad = || {
        format!("`{v}` is not a smart host (examples: smtp://contoso-com.mail.protection.outlook.com:25, smtps://[2001:db8::1]:465)")
    };
    let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
        let (h, tail) = inner.split_once(']').ok_or_else(bad)?;
        let port = match tail.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| bad())?,
            None if tail.is_empty() => default_port,
            None => return Err(bad()),
        };
        h.parse::<std::net::Ipv6Addr>().map_err(|_| bad())?;
        (h.to_string(), port)
    } else {
        match rest.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.parse::<u16>().map_err(|_| bad())?),
            None => (rest.to_string(), default_port),
        }
    };
    if port == 0 || !(is_hostname(&host) || host.parse::<IpAddr>().is_ok()) {
        return Err(bad());
    }
    Ok(SmartHost {
        implicit_tls,
        host,
        port,
    })
}

/// A DNS name with at least one label; `localhost` is allowed for labs.
fn is_hostname(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && !h.chars().all(|c| c.is_ascii_digit() || c == '.')
}

fn organization(mut s: Section<'_, '_>, r: &mut Reader<'_>) -> Organization {
    let mut domains = Vec::new();
    for (v, span, key) in s.strings(r, "domains").unwrap_or_default() {
        if is_hostname(&v) {
            domains.push(v.to_ascii_lowercase());
        } else {
            r.error(&span, &key, format!("`{v}` is not a domain name"));
        }
    }
    s.finish(r);
    Organization { domains }
}

fn headers(mut s: Section<'_, '_>, r: &mut Reader<'_>) -> Headers {
    let mut name = |key: &str, default: &str| -> String {
        match s.string(r, key) {
            None => default.to_string(),
            Some((v, span)) => {
                // RFC 5322 section 3.6.8: printable ASCII except colon.
                if !v.is_empty() && v.bytes().all(|b| (33..=126).contains(&b) && b != b':') {
                    v
                } else {
                    r.error(
                        &span,
                        &s.key(key),
                        format!("`{v}` is not a header field name"),
                    );
                    default.to_string()
                }
            }
        }
    };
    let h = Headers {
        inspected: name("inspected", "X-Cordon-Inspected"),
        action: name("action", "X-Cordon-Action"),
        rule: name("rule", "X-Cordon-Rule"),
        original_recipients: name("original_recipients", "X-Cordon-Original-Recipients"),
    };
    s.finish(r);
    h
}

fn timeouts(mut s: Section<'_, '_>, r: &mut Reader<'_>) -> Timeouts {
    let mut t = Timeouts::default();
    let fields: [(&str, &mut Duration); 13] = [
        ("connect", &mut t.connect),
        ("command_line", &mut t.command_line),
        ("data_phase", &mut t.data_phase),
        ("session", &mut t.session),
        ("greeting", &mut t.greeting),
        ("command", &mut t.command),
        ("mail", &mut t.mail),
        ("rcpt", &mut t.rcpt),
        ("data_init", &mut t.data_init),
        ("data_block", &mut t.data_block),
        ("data_term", &mut t.data_term),
        ("idle", &mut t.idle),
        ("tls_handshake", &mut t.tls_handshake),
    ];
    for (key, slot) in fields {
        if let Some((v, span)) = s.string(r, key) {
            match parse_duration(&v) {
                Ok(d) if d >= Duration::from_millis(10) && d <= Duration::from_secs(3600) => {
                    *slot = d
                }
                Ok(_) => r.error(&span, &s.key(key), "must be between 10ms and 1h"),
                Err(e) => r.error(&span, &s.key(key), e),
            }
        }
    }
    if let Some((n, _)) = s.integer(r, "min_data_rate", 0..(1 << 30)) {
        t.min_data_rate = n as u64;
    }
    s.finish(r);
    t
}

fn log(mut s: Section<'_, '_>, r: &mut Reader<'_>) -> Log {
    let level = s
        .string(r, "level")
        .map(|(v, _)| v)
        .unwrap_or_else(|| "info".to_string());
    s.finish(r);
    Log { level }
}

/// Names usable in `match`: letters, digits, `_` and `-`.
fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn name_of(
    s: &mut Section<'_, '_>,
    r: &mut Reader<'_>,
    what: &str,
) -> Option<(String, Range<usize>)> {
    match s.string(r, "name") {
        Some((n, span)) if is_name(&n) => Some((n, span)),
        Some((n, span)) => {
            r.error(
                &span,
                &s.key("name"),
                format!("`{n}` is not a valid {what} name (letters, digits, `_`, `-`)"),
            );
            None
        }
        None => {
            missing(r, s, "name");
            None
        }
    }
}

/// The terms of a dictionary (in the file), one per line; blank lines and `#` comments skipped.
pub const MAX_DICTIONARY_TERMS: usize = 100_000;

fn dictionary(mut s: Section<'_, '_>, r: &mut Reader<'_>, base: &Path) -> Option<Dictionary> {
    let name = name_of(&mut s, r, "dictionary");
    let terms: Vec<String> = s
        .strings(r, "terms")
        .unwrap_or_default()
        .into_iter()
        .map(|(t, _, _)| t)
        .collect();
    let file = s
        .string(r, "file")
        .map(|(v, span)| file_ref(r, base, &v, &span, &s.key("file")));
    if terms.is_empty() && file.is_none() {
        r.error(
            &s.span,
            &s.key("terms"),
            "a dictionary needs `terms` or `file`",
        );
    }
    if terms.len() > MAX_DICTIONARY_TERMS {
        r.error(
            &s.span,
            &s.key("terms"),
            format!("more than {MAX_DICTIONARY_TERMS} terms"),
        );
    }
    let case_sensitive = s.bool(r, "case_sensitive").unwrap_or(false);
    let whole_word = s.bool(r, "whole_word").unwrap_or(true);
    s.finish(r);
    Some(Dictionary {
        name: name?.0,
        terms,
        file,
        case_sensitive,
        whole_word,
    })
}

/// Longest custom-pattern match; the engine keeps this much across chunk boundaries
/// (cordon-dlp MAX_MATCH_BYTES).
pub const MAX_PATTERN_LEN: i64 = 256;

fn confidence(
    s: &mut Section<'_, '_>,
    r: &mut Reader<'_>,
    key: &str,
    default: Confidence,
) -> Confidence {
    match s.string(r, key) {
        None => default,
        Some((v, span)) => match v.as_str() {
            "low" => Confidence::Low,
            "medium" => Confidence::Medium,
            "high" => Confidence::High,
            _ => {
                r.error(
                    &span,
                    &s.key(key),
                    format!("`{v}` is not one of \"low\", \"medium\", \"high\""),
                );
                default
            }
        },
    }
}

fn pattern(mut s: Section<'_, '_>, r: &mut Reader<'_>) -> Option<Pattern> {
    let name = name_of(&mut s, r, "pattern");
    let regex = s.string(r, "regex");
    if regex.is_none() {
        missing(r, &s, "regex");
    }
    let regex_at = match &regex {
        Some((_, span)) => r.location(span, &s.key("regex")),
        None => r.location(&s.span, &s.key("regex")),
    };
    let max_len = s
        .integer(r, "max_len", 1..MAX_PATTERN_LEN + 1)
        .map(|(n, _)| n as usize)
        .unwrap_or(64);
    let keywords = s
        .strings(r, "keywords")
        .unwrap_or_default()
        .into_iter()
        .map(|(t, _, _)| t)
        .collect();
    let confidence = confidence(&mut s, r, "confidence", Confidence::Medium);
    s.finish(r);
    Some(Pattern {
        name: name?.0,
        regex: regex?.0,
        regex_at,
        max_len,
        keywords,
        confidence,
    })
}

fn address_patterns(s: &mut Section<'_, '_>, r: &mut Reader<'_>, key: &str) -> Vec<AddressPattern> {
    let mut out = Vec::new();
    for (v, span, k) in s.strings(r, key).unwrap_or_default() {
        let v = v.to_ascii_lowercase();
        if let Some(d) = v.strip_prefix('@') {
            if is_hostname(d) {
                out.push(AddressPattern::Domain(d.to_string()));
                continue;
            }
        } else if let Some((l, d)) = v.rsplit_once('@') {
            if !l.is_empty() && is_hostname(d) {
                out.push(AddressPattern::Address(v.clone()));
                continue;
            }
        }
        r.error(
            &span,
            &k,
            format!("`{v}` is neither an address nor `@domain`"),
        );
    }
    out
}

/// A configured reply is shown in the sender's NDR; this keeps it well inside one 512-octet
/// reply line.
pub const MAX_CONFIGURED_REPLY: usize = 400;

/// Checks a configured SMTP reply line: `5xx X.Y.Z text` or `4xx X.Y.Z text`.
pub fn check_reply(v: &str) -> Result<(), String> {
    let example = "(example: \"550 5.7.1 Message rejected by policy\")";
    if v.len() > MAX_CONFIGURED_REPLY {
        return Err(format!(
            "reply is longer than {MAX_CONFIGURED_REPLY} octets {example}"
        ));
    }
    cordon_smtp::reply::parse_reply_line(v)
        .map(|_| ())
        .map_err(|e| format!("{e} {example}"))
}

fn rule(mut s: Section<'_, '_>, r: &mut Reader<'_>) -> Option<Rule> {
    let name = name_of(&mut s, r, "rule");
    let at = r.location(&s.span, &s.path);
    let direction = match s.string(r, "direction") {
        None => Direction::Any,
        Some((v, span)) => match v.as_str() {
            "outbound" => Direction::Outbound,
            "inbound" => Direction::Inbound,
            "internal" => Direction::Internal,
            "any" => Direction::Any,
            _ => {
                r.error(
                    &span,
                    &s.key("direction"),
                    format!("`{v}` is not one of \"outbound\", \"inbound\", \"internal\", \"any\""),
                );
                Direction::Any
            }
        },
    };
    let senders = address_patterns(&mut s, r, "senders");
    let recipients = address_patterns(&mut s, r, "recipients");
    let except_senders = address_patterns(&mut s, r, "except_senders");
    let except_recipients = address_patterns(&mut s, r, "except_recipients");
    let mut matches = Vec::new();
    let mut matches_at = Vec::new();
    for (v, span, k) in s.strings(r, "match").unwrap_or_default() {
        // `edm:TABLE` names an exact-data-match table, `doc:SET` a fingerprint set (whether
        // installed, the engine says).
        let bare = v
            .strip_prefix("edm:")
            .or_else(|| v.strip_prefix("doc:"))
            .unwrap_or(&v);
        if is_name(bare) {
            matches.push(v);
            matches_at.push(r.location(&span, &k));
        } else {
            r.error(
                &span,
                &k,
                format!("`{v}` is not a detector, dictionary, pattern, edm:TABLE or doc:SET name"),
            );
        }
    }
    let min_count = s
        .integer(r, "min_count", 1..1_000_001)
        .map(|(n, _)| n as u32)
        .unwrap_or(1);
    let min_similarity = s
        .share(r, "min_similarity")
        .unwrap_or(DEFAULT_MIN_SIMILARITY);
    let min_confidence = confidence(&mut s, r, "min_confidence", Confidence::Medium);
    let attachment_types = s
        .strings(r, "attachment_types")
        .unwrap_or_default()
        .into_iter()
        .map(|(t, _, _)| t.trim_start_matches('.').to_ascii_lowercase())
        .collect();
    let min_size = s
        .raw("min_size")
        .and_then(|v| match v.get_ref().as_str().map(parse_size) {
            Some(Ok(n)) => Some(n),
            Some(Err(e)) => {
                r.error(&v.span(), &s.key("min_size"), e);
                None
            }
            None => {
                r.error(
                    &v.span(),
                    &s.key("min_size"),
                    "expected a size such as \"5MiB\"",
                );
                None
            }
        });
    let unscannable = s.bool(r, "unscannable").unwrap_or(false);
    // Names are checked against the engine's reasons where detectors are (cordon's engine.rs).
    let mut unscannable_reasons = Vec::new();
    let mut unscannable_reasons_at = Vec::new();
    for (v, span, k) in s.strings(r, "unscannable_reasons").unwrap_or_default() {
        unscannable_reasons.push(v);
        unscannable_reasons_at.push(r.location(&span, &k));
    }
    let action = match s.string(r, "action") {
        None => {
            missing(r, &s, "action");
            None
        }
        Some((v, span)) => match v.as_str() {
            "deliver" => Some(Action::Deliver),
            "tag" => Some(Action::Tag),
            "quarantine" => Some(Action::Quarantine),
            "redirect" => Some(Action::Redirect),
            "block" => Some(Action::Block),
            _ => {
                r.error(&span, &s.key("action"), format!("`{v}` is not one of \"deliver\", \"tag\", \"quarantine\", \"redirect\", \"block\""));
                None
            }
        },
    };
    let reply = s
        .string(r, "reply")
        .and_then(|(v, span)| match check_reply(&v) {
            Ok(()) => Some(v),
            Err(e) => {
                r.error(&span, &s.key("reply"), e);
                None
            }
        });
    let redirect_to = s
        .string(r, "redirect_to")
        .and_then(|(v, span)| match v.rsplit_once('@') {
            Some((l, d)) if !l.is_empty() && is_hostname(d) => Some(v),
            _ => {
                r.error(
                    &span,
                    &s.key("redirect_to"),
                    format!("`{v}` is not an address"),
                );
                None
            }
        });
    if action == Some(Action::Redirect) && redirect_to.is_none() && s.raw("redirect_to").is_none() {
        r.error(
            &s.span,
            &s.key("redirect_to"),
            "action = \"redirect\" needs redirect_to",
        );
    }
    let mut notify = Vec::new();
    for (v, span, k) in s.strings(r, "notify").unwrap_or_default() {
        if v == "sender" {
            notify.push(NotifyTarget::Sender);
        } else if v
            .rsplit_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && is_hostname(d))
        {
            notify.push(NotifyTarget::Address(v));
        } else {
            r.error(
                &span,
                &k,
                format!("`{v}` is neither \"sender\" nor an address"),
            );
        }
    }
    let stop = s.bool(r, "stop").unwrap_or(false);
    s.finish(r);
    Some(Rule {
        name: name?.0,
        direction,
        senders,
        recipients,
        except_senders,
        except_recipients,
        matches,
        matches_at,
        min_count,
        min_similarity,
        min_confidence,
        attachment_types,
        min_size,
        unscannable,
        unscannable_reasons,
        unscannable_reasons_at,
        action: action?,
        reply,
        redirect_to,
        notify,
        stop,
        at,
    })
}

/// A `doc:` rule's share of a protected document when it names none (thousandths): a third
/// of a document is a deliberate copy, not a shared phrase (unrelated documents score under
/// a twentieth).
pub const DEFAULT_MIN_SIMILARITY: u16 = 300;

/// The socket mode when none is given: owner and group (the admin group) only.
pub const DEFAULT_SOCKET_MODE: u32 = 0o660;

fn control(mut s: Section<'_, '_>, r: &mut Reader<'_>, base: &Path) -> Option<Control> {
    let state_dir = s.string(r, "state_dir").map(|(v, _)| {
        let p = PathBuf::from(v);
        if p.is_absolute() {
            p
        } else {
            base.join(p)
        }
    });
    if state_dir.is_none() {
        missing(r, &s, "state_dir");
    }
    let socket = s.string(r, "socket").map(|(v, _)| PathBuf::from(v));
    let socket_mode = match s.string(r, "socket_mode") {
        None => DEFAULT_SOCKET_MODE,
        Some((v, span)) => match u32::from_str_radix(&v, 8) {
            Ok(m) if m <= 0o777 && m & 0o007 == 0 => m,
            _ => {
                r.error(&span, &s.key("socket_mode"), format!("`{v}` is not an octal mode without access for others (examples: \"0600\", \"0660\")"));
                DEFAULT_SOCKET_MODE
            }
        },
    };
    let allowed_uids = match s.raw("allowed_uids") {
        None => vec![0],
        Some(v) => match v.get_ref() {
            toml::de::DeValue::Array(items) => items
                .iter()
                .filter_map(|i| {
                    match i
                        .get_ref()
                        .as_integer()
                        .and_then(|n| n.as_str().parse::<u32>().ok())
                    {
                        Some(u) => Some(u),
                        None => {
                            r.error(
                                &i.span(),
                                &s.key("allowed_uids"),
                                "expected a uid (a non-negative integer)",
                            );
                            None
                        }
                    }
                })
                .collect(),
            _ => {
                r.error(&v.span(), &s.key("allowed_uids"), "expected a list of uids");
                Vec::new()
            }
        },
    };
    let serial = s.string(r, "serial").map(|(v, _)| PathBuf::from(v));
    let reboot_request = s.string(r, "reboot_request").map(|(v, _)| PathBuf::from(v));
    let update_socket = s.string(r, "update_socket").map(|(v, _)| PathBuf::from(v));
    let update_waive_smarthost = s.bool(r, "update_waive_smarthost").unwrap_or(false);
    let tcp = s.table(r, "tcp").and_then(|mut t| {
        let listen = t
            .string(r, "listen")
            .and_then(|(v, span)| match v.parse::<SocketAddr>() {
                Ok(a) => Some(a),
                Err(_) => {
                    r.error(
                        &span,
                        &t.key("listen"),
                        format!("`{v}` is not an IP:port address"),
                    );
                    None
                }
            });
        let mut file = |t: &mut Section<'_, '_>, key: &str| match t.string(r, key) {
            Some((v, span)) => Some(file_ref(r, base, &v, &span, &t.key(key))),
            None => {
                missing(r, t, key);
                None
            }
        };
        let certificate = file(&mut t, "certificate");
        let private_key = file(&mut t, "private_key");
        let client_ca = file(&mut t, "client_ca");
        if listen.is_none() && t.raw("listen").is_none() {
            missing(r, &t, "listen");
        }
        t.finish(r);
        Some(ControlTcp {
            listen: listen?,
            certificate: certificate?,
            private_key: private_key?,
            client_ca: client_ca?,
        })
    });
    if socket.is_none() && serial.is_none() && tcp.is_none() && s.raw("tcp").is_none() {
        r.error(
            &s.span,
            &s.key("socket"),
            "the config port needs at least one of `socket`, `serial`, `[control.tcp]`",
        );
    }
    s.finish(r);
    Some(Control {
        state_dir: state_dir?,
        socket,
        socket_mode,
        allowed_uids,
        serial,
        tcp,
        reboot_request,
        update_socket,
        update_waive_smarthost,
    })
}

/// Incidents kept in memory; a few MiB at most.
pub const MAX_INCIDENT_RING: i64 = 100_000;

fn policy(mut s: Section<'_, '_>, r: &mut Reader<'_>) -> Policy {
    let mut p = Policy::default();
    if let Some((v, span)) = s.string(r, "on_scan_error") {
        match v.as_str() {
            "block" => p.on_scan_error = OnScanError::Block,
            "tempfail" => p.on_scan_error = OnScanError::Tempfail,
            "deliver-tagged" => p.on_scan_error = OnScanError::DeliverTagged,
            _ => r.error(
                &span,
                &s.key("on_scan_error"),
                format!("`{v}` is not one of \"block\", \"tempfail\", \"deliver-tagged\""),
            ),
        }
    }
    if let Some((v, span)) = s.string(r, "scan_timeout") {
        match parse_duration(&v) {
            Ok(d) if d >= Duration::from_millis(10) && d <= Duration::from_secs(600) => {
                p.scan_timeout = d
            }
            Ok(_) => r.error(
                &span,
                &s.key("scan_timeout"),
                "must be between 10ms and 10m",
            ),
            Err(e) => r.error(&span, &s.key("scan_timeout"), e),
        }
    }
    if let Some((v, span)) = s.string(r, "on_loop") {
        match check_reply(&v) {
            Ok(()) => p.on_loop = v,
            Err(e) => r.error(&span, &s.key("on_loop"), e),
        }
    }
    if let Some((n, _)) = s.integer(r, "incident_ring", 1..MAX_INCIDENT_RING + 1) {
        p.incident_ring = n as usize;
    }
    s.finish(r);
    p
}

/// Smallest incident journal: two segments of the smallest size the gateway uses (32 KiB each,
/// room for a segment header and the largest incident record).
pub const MIN_INCIDENT_LOG_BYTES: u64 = 64 << 10;
/// Largest incident journal per worker: /data on the smallest board is a few GiB, shared with
/// the config store and the other workers' journals.
pub const MAX_INCIDENT_LOG_BYTES: u64 = 4 << 30;

fn incidents(mut s: Section<'_, '_>, r: &mut Reader<'_>) -> Incidents {
    let mut i = Incidents::default();
    if let Some(n) = size_key(
        &mut s,
        r,
        "total_bytes",
        MIN_INCIDENT_LOG_BYTES..=MAX_INCIDENT_LOG_BYTES,
        "64KiB..4GiB",
    ) {
        i.total_bytes = n;
    }
    s.finish(r);
    i
}

/// A size key (`"64MiB"`, or a number of bytes) within `range` (`shown` as the error names
/// it); errors carry the file, line and key.
pub(crate) fn size_key(
    s: &mut Section<'_, '_>,
    r: &mut Reader<'_>,
    name: &str,
    range: std::ops::RangeInclusive<u64>,
    shown: &str,
) -> Option<u64> {
    let v = s.raw(name)?;
    let key = s.key(name);
    let parsed = match (v.get_ref().as_str(), v.get_ref().as_integer()) {
        (Some(text), _) => parse_size(text),
        (_, Some(n)) => n
            .as_str()
            .replace('_', "")
            .parse::<u64>()
            .map_err(|_| "must be a positive number".to_string()),
        _ => Err(format!(
            "expected a size such as \"64MiB\", found {}",
            v.get_ref().type_str()
        )),
    };
    match parsed {
        Ok(n) if range.contains(&n) => Some(n),
        Ok(n) => {
            r.error(
                &v.span(),
                &key,
                format!(
                    "{n} bytes is outside {}..={} ({shown})",
                    range.start(),
                    range.end()
                ),
            );
            None
        }
        Err(e) => {
            r.error(&v.span(), &key, e);
            None
        }
    }
}

/// `[edm] memory_bytes` bounds: below 64 KiB no table of use fits; 4 GiB is more than any
/// supported board has for one worker.
pub const EDM_MEMORY_RANGE: (u64, u64) = (64 << 10, 4 << 30);

/// `[edm] storage_bytes` bounds, as for the incident journal.
pub const EDM_STORAGE_RANGE: (u64, u64) = (64 << 10, 16 << 30);

fn edm(mut s: Section<'_, '_>, r: &mut Reader<'_>) -> Edm {
    let mut e = Edm::default();
    let memory = EDM_MEMORY_RANGE.0..=EDM_MEMORY_RANGE.1;
    if let Some(n) = size_key(&mut s, r, "memory_bytes", memory, "EDM memory budget") {
        e.memory_bytes = n;
    }
    let storage = EDM_STORAGE_RANGE.0..=EDM_STORAGE_RANGE.1;
    if let Some(n) = size_key(&mut s, r, "storage_bytes", storage, "EDM storage budget") {
        e.storage_bytes = n;
    }
    s.finish(r);
    e
}

/// Dictionary, pattern and rule names must be unique; dictionaries and patterns share the
/// namespace of `match`.
fn unique_names(
    r: &mut Reader<'_>,
    _doc: &toml::Spanned<DeTable<'_>>,
    d: &[Dictionary],
    p: &[Pattern],
    rules: &[Rule],
) {
    let mut seen = std::collections::HashSet::new();
    for n in d.iter().map(|x| &x.name).chain(p.iter().map(|x| &x.name)) {
        if !seen.insert(n.clone()) {
            r.error(
                &(0..0),
                "dictionary/pattern",
                format!("the name `{n}` is used twice"),
            );
        }
    }
    let mut seen = std::collections::HashSet::new();
    for rule in rules {
        if !seen.insert(rule.name.clone()) {
            let d = rule
                .at
                .diagnostic(format!("rule name `{}` is used twice", rule.name));
            r.diagnostics.push(d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../cordon/examples/cordon.toml");

    fn errors(text: &str) -> Vec<String> {
        match parse(text, Path::new("t.toml")) {
            Ok(_) => Vec::new(),
            Err(Error::Invalid { diagnostics, .. }) => {
                diagnostics.iter().map(|d| d.to_string()).collect()
            }
            Err(e) => vec![e.to_string()],
        }
    }

    #[test]
    fn deadlines_and_their_defaults() {
        let base = "[gateway]\nhostname = \"dlp1.contoso.com\"\nlisten = [\"127.0.0.1:2525\"]\nallowed_clients = [\"127.0.0.1/32\"]\n\n[relay]\nsmarthosts = [\"smtp://127.0.0.1:25\"]\ntls = \"none\"\n";
        let c = parse(base, Path::new("t.toml")).unwrap();
        let t = &c.timeouts;
        // A smart host that never greets costs 30 s, not RFC 5321's 5 minutes.
        assert_eq!(t.greeting, Duration::from_secs(30));
        assert_eq!(t.command_line, Duration::from_secs(300));
        assert_eq!(t.data_phase, Duration::from_secs(300));
        assert_eq!(t.min_data_rate, 500);
        assert_eq!(t.session, Duration::from_secs(1800));
        let text = format!("{base}\n[timeouts]\ncommand_line = \"2s\"\ndata_phase = \"3s\"\nmin_data_rate = 0\nsession = \"1h\"\n");
        let c = parse(&text, Path::new("t.toml")).unwrap();
        let t = &c.timeouts;
        assert_eq!(
            (t.command_line, t.data_phase, t.min_data_rate, t.session),
            (
                Duration::from_secs(2),
                Duration::from_secs(3),
                0,
                Duration::from_secs(3600)
            )
        );
        let e = errors(&format!(
            "{base}\n[timeouts]\nsession = \"2h\"\nmin_data_rate = -1\n"
        ));
        assert!(
            e.iter()
                .any(|e| e.contains("timeouts.session") && e.contains("between 10ms and 1h")),
            "{e:?}"
        );
        assert!(
            e.iter()
                .any(|e| e.contains("timeouts.min_data_rate") && e.contains("out of range")),
            "{e:?}"
        );
    }

    #[test]
    fn example_parses() {
        let c = parse(EXAMPLE, Path::new("/etc/cordon/cordon.toml")).unwrap();
        assert_eq!(c.gateway.hostname, "dlp1.contoso.com");
        assert_eq!(c.gateway.max_message_size, 35 << 20);
        assert_eq!(
            c.relay.smarthosts[0].host,
            "contoso-com.mail.protection.outlook.com"
        );
        assert_eq!(c.relay.tls, TlsMode::Required);
        assert_eq!(c.gateway.allowed_clients.len(), 8);
        assert_eq!(c.gateway.listen[0].port(), 25);
        assert_eq!(c.headers.inspected, "X-Cordon-Inspected");
    }

    #[test]
    fn slot_classes_default_to_one_class_of_max_message_size() {
        let c = parse(EXAMPLE, Path::new("t.toml")).unwrap();
        assert_eq!(
            c.gateway.slot_classes,
            vec![SlotClass {
                size: 35 << 20,
                count: 64
            }]
        );
    }

    #[test]
    fn slot_classes_parse_and_are_checked() {
        let with = |v: &str| {
            EXAMPLE.replace(
                "max_sessions = 64",
                &format!("max_sessions = 64\nslot_classes = {v}"),
            )
        };
        let c = parse(
            &with(r#"["40 x 256KiB", "20 x 4MiB", "2X35MiB"]"#),
            Path::new("t.toml"),
        )
        .unwrap();
        let sizes: Vec<_> = c
            .gateway
            .slot_classes
            .iter()
            .map(|c| (c.count, c.size))
            .collect();
        assert_eq!(sizes, vec![(40, 256 << 10), (20, 4 << 20), (2, 35 << 20)]);
        for (v, want) in [
            (r#"["2 x 35MiB", "40 x 256KiB"]"#, "gateway.slot_classes[1]: classes must be listed smallest first"),
            (r#"["40 x 256KiB", "2 x 10MiB"]"#, "gateway.slot_classes: the largest class (10485760 bytes) must equal max_message_size (36700160)"),
            (r#"["60 x 256KiB", "5 x 35MiB"]"#, "gateway.slot_classes: 65 buffers for 64 sessions"),
            (r#"["many x 35MiB"]"#, "gateway.slot_classes[0]: `many` is not a positive count"),
            (r#"["0 x 35MiB"]"#, "gateway.slot_classes[0]: `0` is not a positive count"),
            (r#"["35MiB"]"#, "gateway.slot_classes[0]: `35MiB` is not `COUNT x SIZE`"),
            (r#"["4 x 1KiB", "2 x 35MiB"]"#, "gateway.slot_classes[0]: 1024 bytes is below the smallest message buffer"),
            (r#"["4 x 40MiB"]"#, "gateway.slot_classes[0]: 41943040 bytes is larger than max_message_size"),
            (r#"[]"#, "gateway.slot_classes: needs at least one class"),
        ] {
            let e = errors(&with(v));
            assert!(e.iter().any(|e| e.contains(want)), "{v}: {e:?}");
            assert!(e.iter().all(|e| e.starts_with("t.toml:")), "{e:?}");
        }
    }

    #[test]
    fn slot_class_shares_add_up_to_the_configured_counts() {
        let classes = [
            SlotClass {
                size: 1,
                count: 201,
            },
            SlotClass { size: 2, count: 2 },
        ];
        for workers in 1..6 {
            let shares: Vec<_> = (0..workers)
                .map(|i| SlotClass::share(&classes, i, workers))
                .collect();
            for (k, c) in classes.iter().enumerate() {
                assert_eq!(shares.iter().map(|s| s[k].count).sum::<usize>(), c.count);
                let (lo, hi) = shares.iter().fold((usize::MAX, 0), |(lo, hi), s| {
                    (lo.min(s[k].count), hi.max(s[k].count))
                });
                assert!(hi - lo <= 1, "{workers} workers: uneven share of class {k}");
            }
        }
    }

    #[test]
    fn every_error_has_line_and_key() {
        let text = "[gateway]\nhostname = \"dlp\"\nlisten = [\"0.0.0.0:99999\"]\nallowed_clients = [\"10.0.0.1/8\", \"nonsense\"]\nmax_sessions = 0\nmax_message_size = \"35 parsecs\"\nbogus = 1\n\n[relay]\nsmarthosts = [\"ftp://x\"]\ntls = \"maybe\"\n";
        let e = errors(text);
        let expect = [
            "t.toml:2:12: gateway.hostname:",
            "t.toml:3:11: gateway.listen[0]:",
            "t.toml:4:20: gateway.allowed_clients[0]: `10.0.0.1/8` has host bits set",
            "t.toml:4:34: gateway.allowed_clients[1]:",
            "t.toml:5:16: gateway.max_sessions:",
            "t.toml:6:20: gateway.max_message_size:",
            "t.toml:7:1: gateway.bogus: unknown key",
            "t.toml:10:15: relay.smarthosts[0]:",
            "t.toml:11:7: relay.tls:",
        ];
        for x in expect {
            assert!(
                e.iter().any(|l| l.starts_with(x)),
                "missing `{x}` in {e:#?}"
            );
        }
        assert_eq!(e.len(), expect.len(), "{e:#?}");
    }

    #[test]
    fn syntax_error_is_located() {
        let e = errors("[gateway\nhostname = 1\n");
        assert!(e[0].starts_with("t.toml:1:"), "{e:?}");
    }

    #[test]
    fn missing_sections_and_types() {
        let e = errors("gateway = 3\n");
        assert!(
            e.iter().any(|l| l.contains("gateway: expected a table")),
            "{e:?}"
        );
        assert!(
            e.iter().any(|l| l.contains("relay: missing section")),
            "{e:?}"
        );
    }

    #[test]
    fn incident_log_size_is_a_checked_size() {
        let base = "[gateway]\nhostname = \"dlp1.contoso.com\"\nlisten = [\"127.0.0.1:2525\"]\n\n[relay]\nsmarthosts = [\"smtp://127.0.0.1:25\"]\ntls = \"none\"\n";
        let c = parse(base, Path::new("t.toml")).unwrap();
        assert_eq!(c.incidents.total_bytes, 64 << 20);
        let c = parse(
            &format!("{base}[incidents]\ntotal_bytes = \"1 MiB\"\n"),
            Path::new("t.toml"),
        )
        .unwrap();
        assert_eq!(c.incidents.total_bytes, 1 << 20);
        let e = errors(&format!("{base}[incidents]\ntotal_bytes = \"1KiB\"\n"));
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].contains("t.toml:9:15:")
                && e[0].contains("incidents.total_bytes")
                && e[0].contains("outside"),
            "{e:?}"
        );
        let e = errors(&format!(
            "{base}[incidents]\ntotal_bytes = \"5 parsecs\"\nsize = 1\n"
        ));
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(e[0].contains("unknown size unit"), "{e:?}");
        assert!(e[1].contains("incidents.size"), "{e:?}");
    }

    #[test]
    fn edm_budgets_are_checked_sizes() {
        let base = "[gateway]\nhostname = \"dlp1.contoso.com\"\nlisten = [\"127.0.0.1:2525\"]\n\n[relay]\nsmarthosts = [\"smtp://127.0.0.1:25\"]\ntls = \"none\"\n";
        let c = parse(base, Path::new("t.toml")).unwrap();
        assert_eq!(c.edm, Edm::default());
        let c = parse(
            &format!("{base}[edm]\nmemory_bytes = \"8 MiB\"\nstorage_bytes = 1_048_576\n"),
            Path::new("t.toml"),
        )
        .unwrap();
        assert_eq!(
            (c.edm.memory_bytes, c.edm.storage_bytes),
            (8 << 20, 1 << 20)
        );
        let e = errors(&format!("{base}[edm]\nmemory_bytes = \"1KiB\"\nrows = 3\n"));
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(
            e[0].contains("edm.memory_bytes") && e[0].contains("outside"),
            "{e:?}"
        );
        assert!(e[1].contains("edm.rows"), "{e:?}");
    }

    #[test]
    fn rules_may_name_edm_tables() {
        let base = "[gateway]\nhostname = \"dlp1.contoso.com\"\nlisten = [\"127.0.0.1:2525\"]\n\n[relay]\nsmarthosts = [\"smtp://127.0.0.1:25\"]\ntls = \"none\"\n";
        let rule =
            |m: &str| format!("{base}[[rule]]\nname = \"r\"\nmatch = {m:?}\naction = \"block\"\n");
        let c = parse(&rule("edm:customers"), Path::new("t.toml")).unwrap();
        assert_eq!(c.rules[0].matches, ["edm:customers"]);
        let c = parse(&rule("doc:contracts"), Path::new("t.toml")).unwrap();
        assert_eq!(c.rules[0].matches, ["doc:contracts"]);
        assert_eq!(c.rules[0].min_similarity, DEFAULT_MIN_SIMILARITY);
        for bad in ["edm:", "edm:a b", "crm:customers", "doc:", "doc:A B"] {
            let e = errors(&rule(bad));
            assert_eq!(e.len(), 1, "{bad}: {e:?}");
            assert!(e[0].contains("edm:TABLE or doc:SET name"), "{bad}: {e:?}");
        }
    }

    #[test]
    fn min_similarity_is_a_share() {
        let base = "[gateway]\nhostname = \"dlp1.contoso.com\"\nlisten = [\"127.0.0.1:2525\"]\n\n[relay]\nsmarthosts = [\"smtp://127.0.0.1:25\"]\ntls = \"none\"\n";
        let rule = |v: &str| {
            format!("{base}[[rule]]\nname = \"r\"\nmatch = \"doc:contracts\"\nmin_similarity = {v}\naction = \"block\"\n")
        };
        for (v, want) in [("0.25", 250), ("1", 1000), ("0.3", 300), ("0.0005", 1)] {
            let c = parse(&rule(v), Path::new("t.toml")).unwrap();
            assert_eq!(c.rules[0].min_similarity, want, "{v}");
        }
        for bad in ["0", "0.0", "1.5", "-0.2", "30", "\"0.3\""] {
            let e = errors(&rule(bad));
            assert_eq!(e.len(), 1, "{bad}: {e:?}");
            assert!(e[0].contains("min_similarity"), "{bad}: {e:?}");
            assert!(e[0].contains("share above 0 and at most 1"), "{bad}: {e:?}");
        }
    }

    #[test]
    fn policy_example_parses() {
        let text: &str = EXAMPLE;
        let c = parse(text, Path::new("p.toml")).unwrap();
        assert_eq!(
            c.dictionaries[0].terms,
            vec!["Project Falcon", "Bluebird merger"]
        );
        assert_eq!(c.rules.len(), 5);
        assert_eq!(c.rules[0].action, Action::Block);
        assert_eq!(c.rules[0].min_count, 5);
        assert_eq!(c.rules[0].notify, vec![NotifyTarget::Sender]);
        assert_eq!(c.rules[1].matches, vec!["us_ssn", "iban", "codenames"]);
        assert_eq!(c.rules[2].direction, Direction::Any);
        assert_eq!(c.rules[3].action, Action::Quarantine);
        assert_eq!(
            c.rules[3].unscannable_reasons,
            vec![
                "encrypted_archive",
                "encrypted_document",
                "corrupt_archive",
                "corrupt_pdf",
                "unsupported_compression",
                "sevenzip_archive",
                "rar_archive",
                "corrupt_document",
                "partial_message"
            ]
        );
        assert_eq!(c.rules[3].unscannable_reasons_at.len(), 9);
        assert!(c.rules[4].unscannable && c.rules[4].action == Action::Tag);
        assert_eq!(c.policy.on_scan_error, OnScanError::Block);
    }

    #[test]
    fn bad_rules_are_located() {
        let base = "[gateway]\nhostname=\"a.example\"\nlisten=[\"127.0.0.1:25\"]\n[relay]\nsmarthosts=[\"mx.example\"]\n";
        let e = errors(&format!("{base}[[rule]]\nname = \"r\"\naction = \"explode\"\nreply = \"250 ok\"\nsenders = [\"nobody\"]\n[[rule]]\nname = \"r\"\naction = \"redirect\"\n[[rule]]\nname = \"dup\"\naction = \"tag\"\n[[rule]]\nname = \"dup\"\naction = \"tag\"\n[policy]\non_scan_error = \"shrug\"\n"));
        for x in [
            "rule[0].action",
            "rule[0].reply",
            "rule[0].senders[0]",
            "rule[1].redirect_to",
            "used twice",
            "policy.on_scan_error",
        ] {
            assert!(e.iter().any(|l| l.contains(x)), "missing {x} in {e:#?}");
        }
    }

    #[test]
    fn smarthost_forms() {
        let h = parse_smarthost("smtps://[::1]:4650").unwrap();
        assert!(h.implicit_tls);
        assert_eq!((h.host.as_str(), h.port), ("::1", 4650));
        assert_eq!(parse_smarthost("mx.example").unwrap().port, 25);
        assert_eq!(parse_smarthost("127.0.0.1:2526").unwrap().host, "127.0.0.1");
        for bad in [
            "smtp://bad host:25",
            "smtp://x:0",
            "[::1:25",
            "[::zz]:25",
            "x:port",
        ] {
            let e = parse_smarthost(bad).unwrap_err();
            assert!(
                e.starts_with(&format!("`{bad}` is not a smart host (examples: ")),
                "{e}"
            );
        }
        let e = parse_smarthost("lmtp://x:24").unwrap_err();
        assert!(e.contains("only smtp:// and smtps://"), "{e}");
    }

    #[test]
    fn required_tls_to_ip_needs_name() {
        let e = errors("[gateway]\nhostname=\"a.example\"\nlisten=[\"127.0.0.1:25\"]\n[relay]\nsmarthosts=[\"127.0.0.1:25\"]\n");
        assert!(e.iter().any(|l| l.contains("relay.tls_name")), "{e:?}");
    }
}
