//! The events as syslog messages: RFC 5424 headers and structured data around a CEF or JSON
//! payload, and the octet-counting frame (RFC 5425 section 4.3, RFC 6587 section 3.4.1). Sans-IO:
//! values in, bytes out.
//!
//! Every event names its journal record in the structured data, `[cordon@32473 seq="w0:12"
//! tag="..."]`, so a SIEM holds the last chain tag exported and `cordonctl incidents verify
//! --anchor` can prove that no record after it was lost. (32473 is the private enterprise
//! number RFC 5612 reserves for documentation; an operator with its own number can filter on
//! the SD-ID's name alone.)

use std::fmt::Write as _;

use cordon_config::SiemFormat;
use cordon_wire::{AuditRecord, Incident, IncidentKind, Verdict};

/// The largest syslog message (header, structured data and payload) sent: RFC 5425 section
/// 4.3.1 asks receivers to take 8192 octets, and rsyslog's default `maxMessageSize` is 8 KiB.
/// A longer payload is cut at a character boundary; the journal number and tag are in the
/// header's structured data, so they always arrive.
pub const MAX_MESSAGE: usize = 8192;

/// The structured-data ID of the journal reference (see the module doc).
pub const SD_ID: &str = "cordon@32473";

/// CEF header: vendor, product and version (the firmware's).
const CEF_VENDOR: &str = "Cordon";
const CEF_PRODUCT: &str = "cordon";

/// RFC 5424 section 6.2.1 severities used here.
const WARNING: u8 = 4;
const NOTICE: u8 = 5;
const INFORMATIONAL: u8 = 6;

/// Everything the formatter needs besides the event: fixed for the life of the exporter.
#[derive(Debug, Clone)]
pub struct Formatter {
    pub format: SiemFormat,
    pub facility: u8,
    pub hostname: String,
    pub app_name: String,
    /// RFC 5424 PROCID: the worker's process id.
    pub procid: u32,
    /// The firmware version, in the CEF header.
    pub version: String,
}

/// One event and where the journal holds it.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    Incident {
        incident: &'a Incident,
        tag: &'a [u8; 32],
    },
    Audit {
        record: &'a AuditRecord,
        tag: &'a [u8; 32],
    },
}

/// RFC 5424 section 6.2.1: PRI = facility x 8 + severity.
pub fn pri(facility: u8, severity: u8) -> u8 {
    facility.min(23) * 8 + severity.min(7)
}

/// RFC 5424 section 6.3.3: in a PARAM-VALUE, `"`, `\` and `]` are escaped with a backslash.
pub fn escape_sd_value(value: &str, out: &mut String) {
    for c in value.chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
}

/// CEF header fields: `\` and `|` are escaped with a backslash; a line break would end the
/// event, so it becomes a space.
pub fn escape_cef_header(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '\\' | '|' => {
                out.push('\\');
                out.push(c);
            }
            '\r' | '\n' => out.push(' '),
            _ => out.push(c),
        }
    }
}

/// CEF extension values: `\` and `=` are escaped with a backslash, line breaks are written
/// `\n` and `\r` (the CEF specification's rules; `|` needs no escape there).
pub fn escape_cef_value(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '\\' | '=' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            _ => out.push(c),
        }
    }
}

/// A header field (HOSTNAME, APP-NAME): printable US-ASCII only, at most `max` octets, `-`
/// (the NILVALUE) when nothing is left.
pub fn header_field(value: &str, max: usize) -> String {
    let s: String = value
        .bytes()
        .filter(|b| (33..=126).contains(b))
        .take(max)
        .map(char::from)
        .collect();
    if s.is_empty() {
        "-".into()
    } else {
        s
    }
}

/// RFC 3339 UTC with milliseconds, as RFC 5424 section 6.2.3 wants it.
pub fn timestamp(unix_secs: u64) -> String {
    let secs = i64::try_from(unix_secs).unwrap_or(i64::MAX);
    match chrono::DateTime::from_timestamp(secs, 0) {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => "-".into(),
    }
}

fn hex(tag: &[u8; 32]) -> String {
    let mut s = String::with_capacity(64);
    for b in tag {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The CEF severity (0-10) of an incident: what was done to the message.
fn cef_severity(i: &Incident) -> u8 {
    match (i.kind, i.action) {
        (IncidentKind::ForgedStamp, _) => 9,
        (_, Verdict::Block) => 8,
        (_, Verdict::Quarantine) => 7,
        (IncidentKind::ScanError, _) => 6,
        (_, Verdict::Redirect) => 6,
        (IncidentKind::Loop, _) => 5,
        (_, Verdict::Tag) => 4,
        (_, Verdict::Deliver) => 3,
    }
}

fn syslog_severity(cef: u8) -> u8 {
    match cef {
        7.. => WARNING,
        4..=6 => NOTICE,
        _ => INFORMATIONAL,
    }
}

/// `key=value` in a CEF extension, escaped, space-separated.
struct Extension(String);

impl Extension {
    fn add(&mut self, key: &str, value: &str) {
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        self.0.push_str(key);
        self.0.push('=');
        escape_cef_value(value, &mut self.0);
    }

    /// A custom string field with its label (`cs1Label=rule cs1=...`).
    fn labelled(&mut self, key: &str, label: &str, value: &str) {
        self.add(&format!("{key}Label"), label);
        self.add(key, value);
    }
}

impl Formatter {
    /// The complete RFC 5424 message (without its frame), at most [`MAX_MESSAGE`] octets.
    pub fn message(&self, event: Event<'_>) -> Vec<u8> {
        let (time, worker, seq, tag, msgid, severity, payload) = match event {
            Event::Incident { incident: i, tag } => {
                let cef = cef_severity(i);
                let payload = match self.format {
                    SiemFormat::Cef => self.cef_incident(i, tag),
                    SiemFormat::Json => json_incident(i, tag),
                };
                (
                    i.time_unix,
                    i.worker,
                    i.seq,
                    tag,
                    "incident",
                    syslog_severity(cef),
                    payload,
                )
            }
            Event::Audit { record: a, tag } => {
                let payload = match self.format {
                    SiemFormat::Cef => self.cef_audit(a, tag),
                    SiemFormat::Json => json_audit(a, tag),
                };
                let severity = if a.ok { NOTICE } else { WARNING };
                (
                    a.time_unix,
                    a.worker,
                    a.seq,
                    tag,
                    "audit",
                    severity,
                    payload,
                )
            }
        };
        let mut out = format!(
            "<{}>1 {} {} {} {} {msgid} [{SD_ID} seq=\"",
            pri(self.facility, severity),
            timestamp(time),
            header_field(&self.hostname, 255),
            header_field(&self.app_name, 48),
            self.procid,
        );
        escape_sd_value(&format!("w{worker}:{seq}"), &mut out);
        out.push_str("\" tag=\"");
        out.push_str(&hex(tag));
        out.push_str("\"] ");
        out.push_str(&payload);
        cut(&mut out, MAX_MESSAGE);
        out.into_bytes()
    }

    fn cef_header(&self, signature: &str, name: &str, severity: u8) -> String {
        let mut h = String::from("CEF:0|");
        escape_cef_header(CEF_VENDOR, &mut h);
        h.push('|');
        escape_cef_header(CEF_PRODUCT, &mut h);
        h.push('|');
        escape_cef_header(&self.version, &mut h);
        h.push('|');
        escape_cef_header(signature, &mut h);
        h.push('|');
        escape_cef_header(name, &mut h);
        let _ = write!(h, "|{severity}|");
        h
    }

    fn cef_incident(&self, i: &Incident, tag: &[u8; 32]) -> String {
        let name = match (&i.rule, i.kind) {
            (Some(rule), IncidentKind::Dlp) => format!("DLP rule {rule}: {}", i.action.as_str()),
            _ => format!("{}: {}", i.kind.as_str(), i.action.as_str()),
        };
        let mut h = self.cef_header(i.kind.as_str(), &name, cef_severity(i));
        let mut e = Extension(String::new());
        e.add("rt", &(i.time_unix.saturating_mul(1000)).to_string());
        e.add("externalId", &format!("w{}:{}", i.worker, i.seq));
        e.add("act", i.action.as_str());
        e.add("suser", &i.sender);
        let rcpts: Vec<&str> = i.rcpts.iter().map(|r| r.as_str()).collect();
        e.add("duser", &rcpts.join(","));
        e.add("cnt", &i.recipients.to_string());
        e.add("msg", &i.subject);
        e.labelled("cs1", "rule", i.rule.as_deref().unwrap_or(""));
        let detectors: Vec<String> = i
            .detectors
            .iter()
            .map(|d| format!("{}:{}:{}", d.name, d.count, d.confidence.as_str()))
            .collect();
        e.labelled("cs2", "detectors", &detectors.join(","));
        e.labelled("cs3", "messageId", &i.message_id);
        e.labelled("cs4", "chainTag", &hex(tag));
        e.labelled("cs5", "session", &i.session);
        if !i.reason.is_empty() {
            e.labelled("cs6", "reason", &i.reason);
        }
        if let Some(reply) = &i.downstream_reply {
            e.add("reason", reply);
        }
        h.push_str(&e.0);
        h
    }

    fn cef_audit(&self, a: &AuditRecord, tag: &[u8; 32]) -> String {
        let who = who(a);
        let name = format!("config {} by {who}", a.request);
        let severity = if a.ok { 3 } else { 5 };
        let mut h = self.cef_header(&format!("audit.{}", a.request), &name, severity);
        let mut e = Extension(String::new());
        e.add("rt", &(a.time_unix.saturating_mul(1000)).to_string());
        e.add("externalId", &format!("w{}:{}", a.worker, a.seq));
        e.add("act", &a.request);
        e.add("outcome", if a.ok { "success" } else { "failure" });
        if let Some(uid) = a.uid {
            e.add("suid", &uid.to_string());
        }
        e.add("suser", &who);
        if let Some(g) = a.generation {
            e.add("cn1Label", "generation");
            e.add("cn1", &g.to_string());
        }
        e.labelled("cs1", "changes", &a.changes);
        e.labelled("cs4", "chainTag", &hex(tag));
        e.labelled("cs5", "peer", &a.peer);
        if let Some(err) = &a.error {
            e.add("reason", err);
        }
        h.push_str(&e.0);
        h
    }
}

/// Who made an audited request: the certificate subject, else the uid, else the peer.
pub fn who(a: &AuditRecord) -> String {
    match (&a.subject, a.uid) {
        (Some(s), _) => s.to_string(),
        (None, Some(uid)) => format!("uid {uid}"),
        (None, None) => a.peer.to_string(),
    }
}

fn json_incident(i: &Incident, tag: &[u8; 32]) -> String {
    serde_json::json!({
        "event": "incident",
        "id": format!("w{}:{}", i.worker, i.seq),
        "tag": hex(tag),
        "incident": i,
    })
    .to_string()
}

fn json_audit(a: &AuditRecord, tag: &[u8; 32]) -> String {
    serde_json::json!({
        "event": "audit",
        "id": format!("w{}:{}", a.worker, a.seq),
        "tag": hex(tag),
        "who": who(a),
        "audit": a,
    })
    .to_string()
}

/// Cuts `s` to at most `max` octets at a character boundary.
fn cut(s: &mut String, max: usize) {
    if s.len() > max {
        let mut i = max;
        while !s.is_char_boundary(i) {
            i -= 1;
        }
        s.truncate(i);
    }
}

/// The octet-counting frame: `MSG-LEN SP SYSLOG-MSG` (RFC 5425 section 4.3, RFC 6587 3.4.1).
pub fn octet_counted(message: &[u8]) -> Vec<u8> {
    let mut out = format!("{} ", message.len()).into_bytes();
    out.extend_from_slice(message);
    out
}

#[cfg(test)]
mod tests {
    use cordon_wire::{bounded, Confidence, IncidentDetector};

    use super::*;

    fn formatter(format: SiemFormat) -> Formatter {
        Formatter {
            format,
            facility: 13,
            hostname: "dlp1.contoso.com".into(),
            app_name: "cordon".into(),
            procid: 4242,
            version: "0.1.0".into(),
        }
    }

    fn incident() -> Incident {
        let mut detectors = heapless::Vec::new();
        let _ = detectors.push(IncidentDetector {
            name: bounded("us_ssn"),
            count: 3,
            confidence: Confidence::High,
            samples: heapless::Vec::new(),
        });
        Incident {
            worker: 0,
            seq: 12,
            time_unix: 1_796_397_756,
            kind: IncidentKind::Dlp,
            reason: bounded(""),
            session: bounded("s1"),
            message_id: bounded("<a@contoso.com>"),
            sender: bounded("alice@contoso.com"),
            subject: bounded("pay|roll = 100%\\ done\r\nBcc: evil"),
            recipients: 2,
            rcpts: heapless::Vec::from_slice(&[bounded("bob@fabrikam.example")]).unwrap(),
            rule: Some(bounded("ssn")),
            action: Verdict::Quarantine,
            detectors,
            downstream_reply: None,
        }
    }

    #[test]
    fn pri_is_facility_times_eight_plus_severity() {
        assert_eq!(pri(13, 4), 108);
        assert_eq!(pri(0, 0), 0);
        assert_eq!(pri(23, 7), 191);
        // Out-of-range inputs are clamped, never a PRI above 191.
        assert_eq!(pri(99, 99), 191);
    }

    #[test]
    fn cef_escapes_per_position() {
        let mut h = String::new();
        escape_cef_header("a|b\\c=d\ne", &mut h);
        assert_eq!(h, "a\\|b\\\\c=d e");
        let mut v = String::new();
        escape_cef_value("a|b\\c=d\ne\rf", &mut v);
        assert_eq!(v, "a|b\\\\c\\=d\\ne\\rf");
    }

    #[test]
    fn sd_values_escape_quote_backslash_and_bracket() {
        let mut v = String::new();
        escape_sd_value("a\"b\\c]d[e", &mut v);
        assert_eq!(v, "a\\\"b\\\\c\\]d[e");
    }

    #[test]
    fn header_fields_are_printable_ascii_or_nil() {
        assert_eq!(header_field("dlp 1\u{e9}.x", 255), "dlp1.x");
        assert_eq!(header_field("", 48), "-");
        assert_eq!(header_field(&"a".repeat(60), 48).len(), 48);
    }

    #[test]
    fn an_incident_is_one_rfc5424_line_with_cef() {
        let tag = [0xab; 32];
        let m = formatter(SiemFormat::Cef).message(Event::Incident {
            incident: &incident(),
            tag: &tag,
        });
        let m = String::from_utf8(m).unwrap();
        assert!(!m.contains('\n') && !m.contains('\r'), "{m}");
        let expected_head = format!(
            "<108>1 2026-12-04T15:22:36.000Z dlp1.contoso.com cordon 4242 incident [cordon@32473 seq=\"w0:12\" tag=\"{}\"] CEF:0|Cordon|cordon|0.1.0|dlp|DLP rule ssn: quarantine|7|",
            "ab".repeat(32)
        );
        assert!(m.starts_with(&expected_head), "{m}");
        let ext = &m[expected_head.len()..];
        for field in [
            "rt=1796397756000",
            "externalId=w0:12",
            "act=quarantine",
            "suser=alice@contoso.com",
            "duser=bob@fabrikam.example",
            "cnt=2",
            "msg=pay|roll \\= 100%\\\\ done\\r\\nBcc: evil",
            "cs1Label=rule cs1=ssn",
            "cs2Label=detectors cs2=us_ssn:3:high",
            "cs3Label=messageId cs3=<a@contoso.com>",
        ] {
            assert!(ext.contains(field), "{field} not in {ext}");
        }
    }

    #[test]
    fn an_audit_record_names_who_and_what() {
        let record = AuditRecord {
            worker: 0,
            seq: 5,
            time_unix: 1_796_397_756,
            uid: Some(0),
            subject: None,
            peer: bounded("unix uid 0 pid 7"),
            request: bounded("apply"),
            generation: Some(3),
            changes: bounded("policy.rules[0].action"),
            ok: true,
            error: None,
        };
        let m = formatter(SiemFormat::Cef).message(Event::Audit {
            record: &record,
            tag: &[1; 32],
        });
        let m = String::from_utf8(m).unwrap();
        assert!(m.starts_with("<109>1 "), "{m}");
        assert!(m.contains(" audit [cordon@32473 seq=\"w0:5\""), "{m}");
        assert!(m.contains("|audit.apply|config apply by uid 0|3|"), "{m}");
        for field in [
            "suid=0",
            "outcome=success",
            "cn1Label=generation cn1=3",
            "cs1Label=changes cs1=policy.rules[0].action",
        ] {
            assert!(m.contains(field), "{field} not in {m}");
        }
    }

    #[test]
    fn json_payload_is_one_object_after_the_header() {
        let m = formatter(SiemFormat::Json).message(Event::Incident {
            incident: &incident(),
            tag: &[2; 32],
        });
        let m = String::from_utf8(m).unwrap();
        let json = &m[m.find("] ").unwrap() + 2..];
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(v["id"], "w0:12");
        assert_eq!(v["incident"]["sender"], "alice@contoso.com");
        assert_eq!(
            v["incident"]["subject"],
            "pay|roll = 100%\\ done\r\nBcc: evil"
        );
    }

    #[test]
    fn messages_are_cut_to_the_bound_and_framed_by_length() {
        let mut i = incident();
        i.subject = bounded(&"\u{e9}".repeat(200));
        for r in 0..8 {
            let _ = i.rcpts.push(bounded(&format!("{}{r}@x", "=".repeat(240))));
        }
        let m = formatter(SiemFormat::Cef).message(Event::Incident {
            incident: &i,
            tag: &[0; 32],
        });
        assert!(m.len() <= MAX_MESSAGE);
        assert!(std::str::from_utf8(&m).is_ok());
        let framed = octet_counted(b"<13>1 - - - - - - hi");
        assert_eq!(framed, b"20 <13>1 - - - - - - hi");
    }
}
