//! Notification messages for the sender or the DLP team.
//!
//! Built from the decision, the envelope and the findings only: detector
//! names, distinct counts, confidence and the engine's redacted samples. No
//! byte of the inspected message body is ever copied in; the only text taken
//! from the message is its Subject (sanitised and bounded). As a second line
//! of defence, a sample that still holds more than [`MAX_SAMPLE_DIGITS`]
//! digits is withheld.
//!
//! The message itself is put together by `mail-builder`: RFC 2047 encoded
//! words for a non-ASCII Subject, folding, quoted-printable (or 7bit) for the
//! body, CRLF line ends, no line over 998 octets. This module decides what is
//! said; the crate decides how it is written.
//!
//! Memory: [`notification`] allocates (the body text, the builder's header
//! list, the output buffer). It runs once per notify target after the
//! verdict, off the per-byte data path, and each piece is bounded: the
//! subject by [`MAX_SUBJECT_CHARS`], the recipients by
//! [`MAX_RECIPIENTS_BYTES`], the findings by the engine's limits on listed
//! detectors, samples and unscannable entries.

use std::fmt::Write as _;

use mail_builder::headers::date::Date;
use mail_builder::headers::raw::Raw;
use mail_builder::headers::text::Text;
use mail_builder::MessageBuilder;

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

/// The display name on the From field.
const FROM_NAME: &str = "cordon DLP";

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
/// within 998 octets, body text/plain UTF-8), ready to send as its own
/// transaction from `ctx.from` (or `postmaster@<hostname>`) to `ctx.to`.
/// Marked `Auto-Submitted: auto-generated` (RFC 3834) so that
/// auto-responders stay quiet.
pub fn notification(ctx: &NotificationContext<'_>) -> Vec<u8> {
    let host = printable(ctx.hostname)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
        .collect::<String>();
    // Addresses go out as bare addr-specs: nothing that would end one or start another.
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
    // The stamp signs the Date and Message-ID exactly as written.
    let date = Date::new(ctx.time);
    let date_text = date.to_rfc822();
    let id = format!("cordon-notify.{}.{}@{host}", ctx.time, ctx.unique);
    let message_id = format!("<{id}>");
    let subject = format!(
        "[DLP] Message {}: {}",
        action_name(ctx.decision.action),
        cut_chars(&clean(ctx.subject), MAX_SUBJECT_CHARS)
    );
    let mut m = MessageBuilder::new()
        .from((FROM_NAME, from.as_str()))
        .to(addr(ctx.to))
        .subject(Text::new(subject))
        .date(date)
        .message_id(id);
    if let Some((name, key)) = ctx.stamp {
        let name = addr(name).replace([' ', ':'], "");
        let stamp = Stamp::sign(key, &host, &message_id, &date_text);
        m = m.header(name, Raw::new(stamp));
    }
    let mut out = Vec::new();
    m.header("Auto-Submitted", Raw::new("auto-generated"))
        .header("MIME-Version", Raw::new("1.0"))
        .text_body(body(ctx).replace('\n', "\r\n"))
        .serialize(&mut out);
    out
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

    /// A context around a subject, for the encoding tests.
    fn with_subject<'a>(
        d: &'a Decision,
        f: &'a Findings,
        subject: &'a str,
    ) -> NotificationContext<'a> {
        NotificationContext {
            hostname: "gw.contoso.com",
            from: "",
            to: "a@contoso.com",
            time: 1_751_364_000,
            unique: 7,
            decision: d,
            subject,
            sender: "a@contoso.com",
            rcpts: &[],
            message_id: "<m1@contoso.com>",
            findings: f,
            stamp: None,
        }
    }

    #[test]
    fn non_ascii_subject_is_rfc2047_encoded_and_decodes_back() {
        let (d, f) = (decision(), Findings::default());
        let subject = "Gehälter Q3 – 給与 ".repeat(6);
        let raw = notification(&with_subject(&d, &f, &subject));
        assert_well_formed(&raw);
        let text = String::from_utf8(raw.clone()).unwrap();
        let header = text
            .split("\r\n")
            .skip_while(|l| !l.starts_with("Subject: "))
            .take_while(|l| l.starts_with("Subject: ") || l.starts_with(' '))
            .collect::<Vec<_>>();
        assert!(header.len() > 1, "a long subject is folded: {header:?}");
        assert!(header.iter().all(|l| l.len() <= 78), "{header:?}");
        assert!(header.concat().contains("=?utf-8?"), "{header:?}");
        let parsed = MessageParser::default().parse(&raw).unwrap();
        assert_eq!(
            parsed.subject().unwrap(),
            format!("[DLP] Message block: {subject}")
        );
        let from = parsed.from().unwrap().first().unwrap();
        assert_eq!(from.name().unwrap(), FROM_NAME);
        assert_eq!(from.address().unwrap(), "postmaster@gw.contoso.com");
    }

    #[test]
    fn the_body_decodes_back_to_the_text_written() {
        // Trailing spaces, '=', non-ASCII and a line longer than 998 octets: each must come
        // back exactly after the transfer encoding.
        let (d, f) = (decision(), Findings::default());
        let subject = "ä= end ";
        let mut rcpts: Vec<String> = (0..150).map(|i| format!("user{i}@example.net")).collect();
        rcpts.push("ü@example.net".into());
        let mut ctx = with_subject(&d, &f, subject);
        ctx.rcpts = &rcpts;
        let raw = notification(&ctx);
        assert_well_formed(&raw);
        let text = String::from_utf8(raw.clone()).unwrap();
        assert!(
            text.contains("Content-Transfer-Encoding: quoted-printable\r\n"),
            "{text}"
        );
        let parsed = MessageParser::default().parse(&raw).unwrap();
        let written = body(&ctx).replace('\n', "\r\n");
        assert!(written.lines().any(|l| l.len() > 998));
        assert_eq!(parsed.body_text(0).unwrap().trim_end(), written.trim_end());
        // Short ASCII lines stay readable in the raw message (a mail log, a grep).
        let plain = String::from_utf8(notification(&with_subject(&d, &f, "plain"))).unwrap();
        assert!(
            plain.contains("\r\nRule:        block-card-dumps\r\n"),
            "{plain}"
        );
    }
}
