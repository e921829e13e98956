//! Notification messages for the sender or the DLP team.
//!
//! Built from the decision, the envelope and the findings only: detector
//! names, distinct counts, confidence and the engine's redacted samples. No
//! byte of the inspected message body is ever copied in; the only text taken
//! from the message is its Subject (sanitised and bounded). As a second line
//! of defence, a sample that still holds more than [`MAX_SAMPLE_DIGITS`]
//! digits is withheld.

use std::fmt::Write as _;

use cordon_config::{Action, NotifyTarget};
use cordon_dlp::Findings;

use crate::headers::recipient_list;
use crate::rules::{action_name, printable, Decision};
use crate::stamp::{Stamp, KEY_BYTES};

/// Characters of the original subject quoted (memory and readability; a
/// subject can legally be kilobytes long).
pub const MAX_SUBJECT_CHARS: usize = 200;

/// Bytes of the recipient list quoted in the body.
pub const MAX_RECIPIENTS_BYTES: usize = 2000;

/// A redacted card sample keeps 8 digits (`4556 **** **** 9855`); more than
/// that means a sample was not redacted as promised, so it is not shown.
pub const MAX_SAMPLE_DIGITS: usize = 8;

/// Quoted-printable lines are at most 76 characters (RFC 2045 6.7 rule 5).
const QP_LINE: usize = 76;

/// An RFC 2047 encoded word is at most 75 characters (RFC 2047 section 2).
const ENCODED_WORD: usize = 75;

/// Everything a notification says; all borrowed from the session.
#[derive(Debug, Clone, Copy)]
pub struct NotificationContext<'a> {
    /// The appliance's hostname: Message-ID domain and the default From.
    pub hostname: &'a str,
    /// The From address; `""` means `postmaster@<hostname>`.
    pub from: &'a str,
    /// The recipient of this notification (one message per target).
    pub to: &'a str,
    /// Unix seconds, for the Date field.
    pub time: i64,
    /// A number unique to this notification on this appliance (the
    /// incident id), for the Message-ID.
    pub unique: u64,
    pub decision: &'a Decision,
    /// The inspected message's decoded Subject.
    pub subject: &'a str,
    pub sender: &'a str,
    pub rcpts: &'a [String],
    /// The inspected message's Message-ID (so the DLP team can find it).
    pub message_id: &'a str,
    pub findings: &'a Findings,
    /// When set, the notification carries our signed inspected stamp under
    /// this header name, so Exchange does not route it back through us.
    pub stamp: Option<(&'a str, &'a [u8; KEY_BYTES])>,
}

/// The addresses a decision's `notify` targets resolve to: `sender` is the
/// envelope sender (skipped for the null sender, RFC 3834 / RFC 5321 6.1),
/// duplicates removed case-insensitively.
pub fn notify_addresses(decision: &Decision, sender: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in &decision.notify {
        let a = match t {
            NotifyTarget::Sender => sender,
            NotifyTarget::Address(a) => a.as_str(),
        };
        if !a.is_empty() && !out.iter().any(|o| o.eq_ignore_ascii_case(a)) {
            out.push(a.to_string());
        }
    }
    out
}

/// Control characters (CR, LF, tabs, escapes) become spaces.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn cut_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

/// An unstructured header value: as is when printable ASCII, else RFC 2047
/// Q-encoded words of whole UTF-8 characters, folded one word per line.
fn encode_unstructured(s: &str) -> String {
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return s.to_string();
    }
    const PRE: &str = "=?UTF-8?Q?";
    const POST: &str = "?=";
    let room = ENCODED_WORD - PRE.len() - POST.len();
    let mut words = Vec::new();
    let mut cur = String::new();
    for c in s.chars() {
        let mut enc = String::new();
        if c == ' ' {
            enc.push('_');
        } else if c.is_ascii_alphanumeric() || "!*+-/".contains(c) {
            enc.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                let _ = write!(enc, "={b:02X}");
            }
        }
        if cur.len() + enc.len() > room {
            words.push(std::mem::take(&mut cur));
        }
        cur.push_str(&enc);
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
        .iter()
        .map(|w| format!("{PRE}{w}{POST}"))
        .collect::<Vec<_>>()
        .join("\r\n ")
}

/// Quoted-printable body (RFC 2045 6.7) with CRLF line ends.
fn quoted_printable(text: &str) -> String {
    let mut out = String::new();
    for line in text.split('\n') {
        let bytes = line.as_bytes();
        let mut len = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let last = i + 1 == bytes.len();
            let literal =
                (b == b' ' || b == b'\t') && !last || ((33..=126).contains(&b) && b != b'=');
            let tok_len = if literal { 1 } else { 3 };
            // Keep room for the soft break's '='.
            if len + tok_len > QP_LINE - 1 {
                out.push_str("=\r\n");
                len = 0;
            }
            if literal {
                out.push(b as char);
            } else {
                let _ = write!(out, "={b:02X}");
            }
            len += tok_len;
        }
        out.push_str("\r\n");
    }
    out
}

fn verb(action: Action) -> &'static str {
    match action {
        Action::Deliver => "delivered",
        Action::Tag => "delivered with a data loss prevention tag",
        Action::Quarantine => "held for approval (quarantine)",
        Action::Redirect => "redirected to a compliance mailbox instead of its recipients",
        Action::Block => "blocked and not delivered",
    }
}

fn safe_sample(s: &str) -> String {
    if s.bytes().filter(u8::is_ascii_digit).count() > MAX_SAMPLE_DIGITS {
        "(sample withheld)".to_string()
    } else {
        clean(s)
    }
}

fn body(ctx: &NotificationContext<'_>) -> String {
    let d = ctx.decision;
    let mut b = String::new();
    let host = printable(ctx.hostname);
    let _ = writeln!(
        b,
        "This is an automatic notice from the data loss prevention gateway {host}."
    );
    let _ = writeln!(b);
    let _ = writeln!(b, "A message was {} by policy.", verb(d.action));
    let _ = writeln!(b);
    let _ = writeln!(b, "Action:      {}", action_name(d.action));
    let _ = writeln!(
        b,
        "Rule:        {}",
        clean(d.rule.as_deref().unwrap_or("(none)"))
    );
    let others: Vec<&str> = d
        .matched
        .iter()
        .map(String::as_str)
        .filter(|m| Some(*m) != d.rule.as_deref())
        .collect();
    if !others.is_empty() {
        let _ = writeln!(b, "Also matched: {}", clean(&others.join(", ")));
    }
    let _ = writeln!(
        b,
        "Subject:     {}",
        cut_chars(&clean(ctx.subject), MAX_SUBJECT_CHARS)
    );
    let sender = if ctx.sender.is_empty() {
        "<>"
    } else {
        ctx.sender
    };
    let _ = writeln!(b, "Sender:      {}", clean(sender));
    let _ = writeln!(
        b,
        "Recipients:  {}",
        recipient_list(ctx.rcpts, MAX_RECIPIENTS_BYTES)
    );
    if !ctx.message_id.is_empty() {
        let _ = writeln!(
            b,
            "Message-ID:  {}",
            cut_chars(&clean(ctx.message_id), MAX_SUBJECT_CHARS)
        );
    }
    let _ = writeln!(b);
    if ctx.findings.detectors.is_empty() {
        let _ = writeln!(b, "No detector matched.");
    } else {
        let _ = writeln!(b, "What was found (redacted samples only):");
        for det in &ctx.findings.detectors {
            let more = if det.count_is_lower_bound { "+" } else { "" };
            let _ = writeln!(
                b,
                "  - {}: {}{} distinct value(s), confidence {}",
                clean(&det.name),
                det.counts.low,
                more,
                det.confidence
            );
            if !det.samples.is_empty() {
                let s: Vec<String> = det.samples.iter().map(|s| safe_sample(s)).collect();
                let _ = writeln!(b, "      samples: {}", s.join(" | "));
            }
        }
    }
    if !ctx.findings.unscannable.is_empty() {
        let mut reasons: Vec<&str> = ctx
            .findings
            .unscannable
            .iter()
            .map(|u| u.reason.as_str())
            .collect();
        reasons.sort_unstable();
        reasons.dedup();
        let _ = writeln!(b, "Not fully inspected: {}", reasons.join(", "));
    }
    let _ = writeln!(b);
    let _ = write!(b, "The message content is not included in this notice.");
    b
}

/// The complete notification message (RFC 5322, CRLF line ends, every line
/// within 998 octets, body text/plain UTF-8 in quoted-printable), ready to
/// send as its own transaction from `ctx.from` (or `postmaster@<hostname>`)
/// to `ctx.to`. Marked `Auto-Submitted: auto-generated` (RFC 3834) so that
/// auto-responders stay quiet.
pub fn notification(ctx: &NotificationContext<'_>) -> Vec<u8> {
    let host = printable(ctx.hostname)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
        .collect::<String>();
    let addr = |a: &str| -> String {
        printable(a)
            .chars()
            .filter(|c| !matches!(c, '<' | '>' | ',' | ';' | '"'))
            .collect()
    };
    let from = if ctx.from.is_empty() {
        format!("postmaster@{host}")
    } else {
        addr(ctx.from)
    };
    let date = chrono::DateTime::from_timestamp(ctx.time, 0)
        .unwrap_or_default()
        .to_rfc2822();
    let message_id = format!("<cordon-notify.{}.{}@{host}>", ctx.time, ctx.unique);
    let subject = format!(
        "[DLP] Message {}: {}",
        action_name(ctx.decision.action),
        cut_chars(&clean(ctx.subject), MAX_SUBJECT_CHARS)
    );
    let mut m = String::new();
    let _ = write!(m, "From: cordon DLP <{from}>\r\n");
    let _ = write!(m, "To: <{}>\r\n", addr(ctx.to));
    let _ = write!(m, "Subject: {}\r\n", encode_unstructured(&subject));
    let _ = write!(m, "Date: {date}\r\n");
    let _ = write!(m, "Message-ID: {message_id}\r\n");
    if let Some((name, key)) = ctx.stamp {
        let name = addr(name).replace([' ', ':'], "");
        let _ = write!(
            m,
            "{name}: {}\r\n",
            Stamp::sign(key, &host, &message_id, &date)
        );
    }
    m.push_str("Auto-Submitted: auto-generated\r\n");
    m.push_str("MIME-Version: 1.0\r\n");
    m.push_str("Content-Type: text/plain; charset=utf-8\r\n");
    m.push_str("Content-Transfer-Encoding: quoted-printable\r\n");
    m.push_str("\r\n");
    m.push_str(&quoted_printable(&body(ctx)));
    m.into_bytes()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use cordon_dlp::{Engine, EngineConfig};
    use mail_parser::MessageParser;

    use super::*;

    const CARD: &str = "4556 7375 8689 9855";

    fn scan(msg: &str) -> Findings {
        let engine = Arc::new(Engine::new(&EngineConfig::default()).unwrap());
        let mut s = engine.scanner();
        s.feed(msg.as_bytes());
        s.finish()
    }

    fn decision() -> Decision {
        Decision {
            action: Action::Block,
            rule: Some("block-card-dumps".into()),
            matched: vec!["block-card-dumps".into(), "tag-all".into()],
            reply: Some("550 5.7.1 blocked".into()),
            redirect_to: None,
            notify: vec![NotifyTarget::Sender],
            trace: vec![],
        }
    }

    fn assert_well_formed(raw: &[u8]) {
        let text = std::str::from_utf8(raw).unwrap();
        assert!(text.is_ascii(), "8-bit bytes in a QP message");
        for line in text.split("\r\n") {
            assert!(line.len() <= 998, "line of {} octets", line.len());
            assert!(!line.contains('\r') && !line.contains('\n'), "bare CR/LF");
        }
        assert!(!text.replace("\r\n", "").contains('\n'));
    }

    #[test]
    fn well_formed_and_redacted() {
        let msg = format!(
            "From: alice@contoso.com\r\nTo: bob@example.net\r\nSubject: Q3 cards\r\n\r\n\
             Here is the customer's credit card: {CARD} exp 09/27\r\n"
        );
        let findings = scan(&msg);
        assert_eq!(
            findings.count("credit_card", cordon_dlp::Confidence::Low),
            1
        );
        let d = decision();
        let rcpts = vec!["bob@example.net".to_string()];
        let key = [3u8; 32];
        let ctx = NotificationContext {
            hostname: "gw.contoso.com",
            from: "",
            to: "alice@contoso.com",
            time: 1_751_364_000,
            unique: 42,
            decision: &d,
            subject: "Q3 cards",
            sender: "alice@contoso.com",
            rcpts: &rcpts,
            message_id: "<m1@contoso.com>",
            findings: &findings,
            stamp: Some(("X-Cordon-Inspected", &key)),
        };
        let raw = notification(&ctx);
        assert_well_formed(&raw);
        let text = String::from_utf8(raw.clone()).unwrap();
        let digits_only: String = text.chars().filter(char::is_ascii_digit).collect();
        assert!(!text.contains(CARD));
        assert!(!digits_only.contains("4556737586899855"));
        assert!(!text.contains("customer's credit card"));

        let parsed = MessageParser::default().parse(&raw).unwrap();
        assert_eq!(
            parsed.from().unwrap().first().unwrap().address().unwrap(),
            "postmaster@gw.contoso.com"
        );
        assert_eq!(
            parsed.to().unwrap().first().unwrap().address().unwrap(),
            "alice@contoso.com"
        );
        assert_eq!(parsed.subject().unwrap(), "[DLP] Message block: Q3 cards");
        assert_eq!(
            parsed.message_id().unwrap(),
            "cordon-notify.1751364000.42@gw.contoso.com"
        );
        assert_eq!(parsed.date().unwrap().to_timestamp(), 1_751_364_000);
        let body = parsed.body_text(0).unwrap();
        assert!(body.contains("Rule:        block-card-dumps"), "{body}");
        assert!(body.contains("Action:      block"));
        assert!(body.contains("Also matched: tag-all"));
        assert!(body.contains("Subject:     Q3 cards"));
        assert!(body.contains("Sender:      alice@contoso.com"));
        assert!(body.contains("Recipients:  bob@example.net"));
        assert!(body.contains("credit_card: 1 distinct value(s)"));
        assert!(body.contains("4556 **** **** 9855"), "{body}");
        assert!(!body.contains(CARD));
        assert!(!body.contains("customer"));
        // Our own stamp is on it and verifies.
        let stamp = parsed
            .header_raw("X-Cordon-Inspected")
            .unwrap()
            .trim()
            .to_string();
        let date = text.lines().find_map(|l| l.strip_prefix("Date: ")).unwrap();
        assert_eq!(
            Stamp::verify(
                &key,
                "gw.contoso.com",
                &stamp,
                "<cordon-notify.1751364000.42@gw.contoso.com>",
                date
            ),
            crate::StampCheck::Valid
        );
    }

    #[test]
    fn hostile_subject_and_long_lines() {
        let findings = Findings::default();
        let d = decision();
        let rcpts: Vec<String> = (0..500).map(|i| format!("u{i}@example.net")).collect();
        let subject = format!(
            "Hi\r\nBcc: victim@example.net\r\n\r\nbody {} é {}",
            "x".repeat(3000),
            "ü".repeat(100)
        );
        let ctx = NotificationContext {
            hostname: "gw",
            from: "dlp-notices@contoso.com",
            to: "dlp-team@contoso.com\r\nBcc: x@y",
            time: 0,
            unique: 1,
            decision: &d,
            subject: &subject,
            sender: "",
            rcpts: &rcpts,
            message_id: "",
            findings: &findings,
            stamp: None,
        };
        let raw = notification(&ctx);
        assert_well_formed(&raw);
        let parsed = MessageParser::default().parse(&raw).unwrap();
        assert!(parsed.bcc().is_none());
        assert_eq!(parsed.header_values("To").count(), 1);
        let subj = parsed.subject().unwrap();
        assert!(subj.starts_with("[DLP] Message block: Hi  Bcc: victim@example.net"));
        assert!(subj.chars().count() < MAX_SUBJECT_CHARS + 40);
        let body = parsed.body_text(0).unwrap();
        assert!(body.contains("Sender:      <>"));
        assert!(body.contains("more)"));
        assert!(body.contains("No detector matched."));
        assert!(!body.contains(&"x".repeat(MAX_SUBJECT_CHARS + 1)));
    }

    #[test]
    fn unredacted_samples_are_withheld() {
        let mut findings = scan(&format!("Subject: x\r\n\r\ncard {CARD}\r\n"));
        findings.detectors[0].samples = vec!["4556737586899855".into()];
        let d = decision();
        let ctx = NotificationContext {
            hostname: "gw",
            from: "",
            to: "a@contoso.com",
            time: 0,
            unique: 1,
            decision: &d,
            subject: "x",
            sender: "a@contoso.com",
            rcpts: &[],
            message_id: "",
            findings: &findings,
            stamp: None,
        };
        let raw = String::from_utf8(notification(&ctx)).unwrap();
        assert!(!raw.contains("4556737586899855"));
        assert!(raw.contains("(sample withheld)"));
    }

    #[test]
    fn notify_targets_resolve() {
        let mut d = decision();
        d.notify = vec![
            NotifyTarget::Sender,
            NotifyTarget::Address("DLP@contoso.com".into()),
            NotifyTarget::Address("alice@contoso.com".into()),
            NotifyTarget::Address("dlp@contoso.com".into()),
        ];
        assert_eq!(
            notify_addresses(&d, "Alice@contoso.com"),
            ["Alice@contoso.com", "DLP@contoso.com"]
        );
        assert_eq!(
            notify_addresses(&d, ""),
            ["DLP@contoso.com", "alice@contoso.com"]
        );
    }

    #[test]
    fn qp_soft_breaks_and_trailing_space() {
        let q = quoted_printable(&format!("{} \nä=", "a".repeat(200)));
        for l in q.split("\r\n") {
            assert!(l.len() <= QP_LINE, "{l}");
        }
        assert!(q.contains("=20\r\n"));
        assert!(q.contains("=C3=A4=3D"));
    }
}
