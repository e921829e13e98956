//! Issue 12, items 2 and 6: what an incident, a notification or a log line takes from a message
//! is capped where it is read, so memory does not grow with hostile headers, no log line is
//! larger than the documented cap, and an encoded newline cannot forge a log line.

use cordon_tests::*;

/// Five distinct Luhn-valid card numbers: the block rule's evidence.
const CARDS: &str = "4556 5260 1815 9081, 5425 3016 6131 8608, 4929 9139 0996 0308, \
                     2221 8246 2819 4823, 3714 199351 81902";

const RULES: &str = r#"
[[rule]]
name = "block-card-dumps"
match = "credit_card"
min_count = 5
action = "block"
reply = "550 5.7.1 Message blocked: it contains payment card numbers"
notify = ["sender"]
"#;

/// Messages sent; the RSS is compared after `WARM` and at the end.
const MESSAGES: usize = 100;
const WARM: usize = 10;
/// The size of the Subject and of the Message-ID of each message.
const FIELD: usize = 2 << 20;
/// docs/config.md, `[log]`: the longest line cordon writes (cordon_policy::MAX_LOG_LINE).
const MAX_LOG_LINE: usize = 16 << 10;

/// A header field of `size` octets, folded every 76.
fn folded(name: &str, size: usize, fill: u8) -> Vec<u8> {
    let mut f = format!("{name}: ").into_bytes();
    let mut line = 0;
    while f.len() < size {
        if line == 76 {
            f.extend_from_slice(b"\r\n ");
            line = 0;
        }
        f.push(fill);
        line += 1;
    }
    f.extend_from_slice(b"\r\n");
    f
}

fn hostile_message(i: usize) -> Vec<u8> {
    let mut m = b"From: alice@contoso.com\r\nTo: bob@fabrikam.example\r\n".to_vec();
    m.extend(folded("Subject", FIELD, b'a' + (i % 26) as u8));
    m.extend(folded("Message-ID", FIELD, b'<'));
    m.extend_from_slice(format!("\r\ncards: {CARDS}\r\n").as_bytes());
    m
}

fn rss_kib(gw: &Gateway) -> u64 {
    gw.rss_kib()
}

#[test]
fn blocked_messages_with_huge_subjects_keep_memory_and_log_lines_bounded() {
    let cap = Capture::start(&[]);
    let mut cfg = Cfg::new(&cap.smarthost());
    cfg.max_sessions = 2;
    cfg.max_message_size = "8MiB".into();
    cfg.extra = RULES.to_string();
    let gw = Gateway::start(&cfg);
    let budget_mib: u64 = gw
        .logs()
        .split("budget_mib=")
        .nth(1)
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .expect("budget in the start line");
    let mut c = gw.client();
    c.hello();
    let mut warm = 0;
    for i in 0..MESSAGES {
        let r = c.send_mail(
            "alice@contoso.com",
            &["bob@fabrikam.example"],
            &hostile_message(i),
        );
        assert_eq!(r.code, 550, "message {i}: {r:?}");
        assert!(r.text().contains("payment card numbers"), "{r:?}");
        if i + 1 == WARM {
            // Past the first messages: allocator pools and the incident ring's first records.
            warm = rss_kib(&gw);
        }
    }
    c.cmd("QUIT");
    let end = rss_kib(&gw);
    println!(
        "RSS after {WARM} messages {warm} KiB, after {MESSAGES} {end} KiB ({:+.2}%); budget {budget_mib} MiB",
        (end as f64 - warm as f64) * 100.0 / warm as f64
    );
    assert!(
        end <= budget_mib * 1024,
        "RSS {end} KiB over the budget {budget_mib} MiB"
    );
    assert!(
        end * 100 <= warm * 102,
        "RSS grew from {warm} KiB to {end} KiB over {MESSAGES} hostile messages"
    );
    gw.wait_log(&format!("incident=w0:{MESSAGES} "));
    let logs = gw.terminate_logs();
    let longest = logs.lines().map(str::len).max().unwrap_or(0);
    println!("longest log line: {longest} octets (cap {MAX_LOG_LINE})");
    assert!(longest <= MAX_LOG_LINE, "a log line of {longest} octets");
    assert_eq!(
        logs.lines().filter(|l| l.contains(" incident=w")).count(),
        MESSAGES,
        "one incident line per blocked message"
    );
}

#[test]
fn an_encoded_newline_in_the_subject_forges_no_log_line() {
    let cap = Capture::start(&[]);
    let mut cfg = Cfg::new(&cap.smarthost());
    cfg.extra = RULES.to_string();
    let gw = Gateway::start(&cfg);
    // "x\nFORGED cordon stopped" as an RFC 2047 base64 word.
    let subject = "=?utf-8?B?eApGT1JHRUQgY29yZG9uIHN0b3BwZWQ=?=";
    let msg = format!(
        "From: alice@contoso.com\r\nTo: bob@fabrikam.example\r\nSubject: {subject}\r\n\r\ncards: {CARDS}\r\n"
    );
    let mut c = gw.client();
    c.hello();
    let r = c.send_mail(
        "alice@contoso.com",
        &["bob@fabrikam.example"],
        msg.as_bytes(),
    );
    assert_eq!(r.code, 550, "{r:?}");
    gw.wait_log("incident=w0:1 ");
    let logs = gw.logs();
    assert!(
        !logs.lines().any(|l| l.starts_with("FORGED")),
        "a forged line:\n{logs}"
    );
    assert!(logs.contains("x\\nFORGED cordon stopped"), "{logs}");
}
