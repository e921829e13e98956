//! `cordon scan` (the dry run) and live mail call the same verdict function (issue 14): the
//! same 50 messages through a live session and through `DlpInspectors::dry_run` get the same
//! verdict, a resent stamped message is a loop in both, and a scan over its time budget is a
//! scan error in both.

mod harness;

use cordon_policy::Outcome;
use harness::{config, Harness, Peer};

const RULES: &str = r#"
[[dictionary]]
name = "legal-hold"
terms = ["Project Nightjar"]

[[rule]]
name = "block-card-dumps"
direction = "outbound"
match = "credit_card"
min_count = 5
action = "block"
reply = "550 5.7.1 Message blocked: it contains payment card numbers"

[[rule]]
name = "quarantine-pii"
direction = "outbound"
match = ["us_ssn", "iban"]
action = "quarantine"

[[rule]]
name = "tag-secrets"
match = ["private_key", "aws_access_key", "github_token"]
action = "tag"

[[rule]]
name = "redirect-legal"
match = "legal-hold"
action = "redirect"
redirect_to = "compliance@contoso.com"
"#;

const CARDS: [&str; 7] = [
    "4556 5260 1815 9081",
    "5425 3016 6131 8608",
    "4929 9139 0996 0308",
    "2221 8246 2819 4823",
    "3714 199351 81902",
    "4716 3370 6914 5276",
    "5187 6306 5934 4627",
];

/// Message `i` of the corpus: a mix of clean text, 1..7 cards, an SSN, an IBAN, a key id, the
/// dictionary term, to internal and external recipients.
fn corpus(i: usize) -> (Vec<u8>, &'static str) {
    let mut body = format!("Hello, message {i} of the agreement corpus.\r\n");
    if !i.is_multiple_of(7) {
        let n = i % 8;
        body += &format!("cards: {}\r\n", CARDS[..n.min(7)].join(", "));
    }
    if i % 5 == 1 {
        body += "SSN 536-22-8190 (social security number)\r\n";
    }
    if i % 11 == 2 {
        body += "IBAN GB82 WEST 1234 5698 7654 32\r\n";
    }
    if i % 9 == 3 {
        body += "aws key AKIAIOSFODNN7EXAMPLF\r\n";
    }
    if i % 13 == 4 {
        body += "about Project Nightjar\r\n";
    }
    let to = if i.is_multiple_of(4) {
        "carol@contoso.com"
    } else {
        "bob@fabrikam.example"
    };
    let msg = format!(
        "From: alice@contoso.com\r\nTo: {to}\r\nSubject: agreement {i}\r\nMessage-ID: <agree-{i}@contoso.com>\r\nDate: Fri, 04 Dec 2026 10:00:00 +0000\r\n\r\n{body}"
    );
    (msg.into_bytes(), to)
}

/// A verdict in comparable form: block with its reply code, or delivery with the action header
/// and where it went.
fn dry(h: &Harness, msg: &[u8], to: &str) -> String {
    let rcpts = vec![to.to_string()];
    let (j, _) = h
        .inspectors
        .dry_run(msg, Some(("alice@contoso.com", &rcpts)));
    let (to, headers) = match j.outcome {
        Outcome::Reject(r) => return format!("reject {}", r.code),
        Outcome::Deliver { headers } => (to.to_string(), headers),
        Outcome::Redirect { to, headers } => (to, headers),
    };
    let action = headers
        .iter()
        .find(|(n, _)| n == "X-Cordon-Action")
        .map_or("-", |(_, v)| v.as_str());
    format!("deliver {action} to {to}")
}

/// The same, as the live session did it.
async fn live(h: &mut Harness, msg: &[u8], to: &str) -> String {
    let before = h.peer.accepted().len();
    assert_eq!(h.client.mail_from("alice@contoso.com").await.code, 250);
    assert_eq!(h.client.rcpt_to(to).await.code, 250);
    let r = h.client.cmd("DATA").await;
    assert_eq!(r.code, 354);
    let mut out = msg.to_vec();
    out.extend_from_slice(b".\r\n");
    h.client.send(&out).await;
    let r = h.client.reply().await;
    if r.code / 100 != 2 {
        return format!("reject {}", r.code);
    }
    let got = h.peer.accepted();
    assert_eq!(got.len(), before + 1);
    let m = &got[before];
    let text = String::from_utf8_lossy(&m.body);
    let action = text
        .lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| l.strip_prefix("X-Cordon-Action: "))
        .unwrap_or("-")
        .to_string();
    let rcpt = m.rcpts[0]
        .trim_start_matches("RCPT TO:<")
        .split('>')
        .next()
        .unwrap_or("")
        .to_string();
    format!("deliver {action} to {rcpt}")
}

#[tokio::test(start_paused = true)]
async fn dry_run_and_live_mail_agree_on_fifty_messages_a_loop_and_a_timeout() {
    let mut h = Harness::start(&config(RULES), Peer::default());
    h.client.ehlo().await;
    let mut kinds = std::collections::BTreeMap::new();
    for i in 0..50 {
        let (msg, to) = corpus(i);
        let want = dry(&h, &msg, to);
        let got = live(&mut h, &msg, to).await;
        assert_eq!(got, want, "message {i}");
        *kinds.entry(want).or_insert(0) += 1;
    }
    println!("verdicts over 50 messages: {kinds:?}");
    assert!(
        kinds.len() >= 5,
        "the corpus covers every action: {kinds:?}"
    );

    // A stamped message sent again (what a mail loop looks like): both say 554.
    let stamped = h
        .peer
        .accepted()
        .into_iter()
        .find(|m| !String::from_utf8_lossy(&m.body).contains("X-Cordon-Action"))
        .expect("a delivered clean message")
        .body;
    assert_eq!(dry(&h, &stamped, "bob@fabrikam.example"), "reject 554");
    assert_eq!(
        live(&mut h, &stamped, "bob@fabrikam.example").await,
        "reject 554"
    );

    // Over the scan budget: a scan error in both (on_scan_error = block by default).
    let cfg = config(&format!("{RULES}\n[policy]\nscan_timeout = \"10ms\"\n"))
        .replace("max_message_size = \"1MiB\"", "max_message_size = \"8MiB\"");
    let mut h = Harness::start(&cfg, Peer::default());
    h.client.ehlo().await;
    let big = format!(
        "From: alice@contoso.com\r\nTo: bob@fabrikam.example\r\nSubject: big\r\n\r\n{}",
        "The quarterly numbers look fine; nothing to see here at all.\r\n".repeat(50_000)
    )
    .into_bytes();
    let rcpts = vec!["bob@fabrikam.example".to_string()];
    let (j, _) = h
        .inspectors
        .dry_run(&big, Some(("alice@contoso.com", &rcpts)));
    assert!(
        j.scan_error
            .as_deref()
            .is_some_and(|e| e.starts_with("scan_timeout")),
        "{:?}",
        j.scan_error
    );
    assert_eq!(dry(&h, &big, "bob@fabrikam.example"), "reject 550");
    assert_eq!(
        live(&mut h, &big, "bob@fabrikam.example").await,
        "reject 550"
    );
}
