//! The policies issue, end to end over real SMTP: verdicts, direction, notifications, the signed
//! stamp and loop guard, DKIM-safe bodies, scan errors, incidents and counters.

use cordon_tests::*;

/// Five distinct, Luhn-valid card numbers that are not well-known test numbers.
const CARDS: [&str; 5] = [
    "4556 5260 1815 9081",
    "5425 3016 6131 8608",
    "4929 9139 0996 0308",
    "2221 8246 2819 4823",
    "3714 199351 81902",
];
const SSN: &str = "536-22-8190";

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
notify = ["sender", "dlp-team@contoso.com"]

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

fn message(subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Alice <alice@contoso.com>\r\nTo: Bob <bob@fabrikam.example>\r\nSubject: {subject}\r\nMessage-ID: <{}@contoso.com>\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n",
        subject.replace(' ', "-")
    )
    .into_bytes()
}

fn private_key_body() -> String {
    let lines = [
        "PJeLIV7qmnmglBCbA+jWeEKNOzH+t3iK1ox5ZaPcJjuiJt7thWO9A6vGECjC9ZcK",
        "q3YtGxXv0s9dK2mB7Lr1hNwQ8eTf5uJzA4cR6pVyIoS0kWnD3gEaHbUlMiOxZjPq",
        "Z8fC2rLwVn4Ts7YeKm1Qb9Ud3Hx6Ga5JiNoR0pSvWyBkEtA+/MlcFhDq2X7u8zr3",
    ];
    format!("here is the deploy key\r\n-----BEGIN RSA PRIVATE KEY-----\r\n{}\r\n-----END RSA PRIVATE KEY-----", lines.join("\r\n"))
}

fn gateway(cap: &Capture, extra: &str) -> Gateway {
    let mut cfg = Cfg::new(&cap.smarthost());
    cfg.extra = extra.to_string();
    Gateway::start(&cfg)
}

/// Sends one message on a new session; returns the final reply.
fn send(gw: &Gateway, from: &str, rcpts: &[&str], msg: &[u8]) -> Reply {
    let mut c = gw.client();
    c.hello();
    let r = c.send_mail(from, rcpts, msg);
    c.cmd("QUIT");
    r
}

fn body_of(raw: &[u8]) -> &[u8] {
    let i = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header section");
    &raw[i + 4..]
}

/// The values of a (single-line) header field in a captured message.
fn header(m: &Captured, name: &str) -> Vec<String> {
    let text = m.text();
    let head = text.split("\r\n\r\n").next().unwrap_or("");
    let prefix = format!("{}:", name.to_ascii_lowercase());
    head.split("\r\n")
        .filter(|l| l.to_ascii_lowercase().starts_with(&prefix))
        .map(|l| l[prefix.len()..].trim().to_string())
        .collect()
}

/// Incident log lines (one per incident).
fn incidents(gw: &Gateway) -> Vec<String> {
    gw.logs()
        .lines()
        .filter(|l| l.contains(" incident=w"))
        .map(String::from)
        .collect()
}

#[test]
fn verdicts_end_to_end_with_notifications_incidents_and_counters() {
    let cap = Capture::start(&[]);
    let gw = gateway(&cap, RULES);
    let out = ("alice@contoso.com", &["bob@fabrikam.example"][..]);

    // Clean: only the stamp.
    let clean = message(
        "lunch",
        "Thursday at noon? Order 4111-2222-3333 is the catering.",
    );
    assert_eq!(send(&gw, out.0, out.1, &clean).code, 250);
    // SSN with its keyword: quarantine header for the Exchange moderation rule.
    let pii = message("payroll", &format!("employee SSN {SSN}, start Monday"));
    assert_eq!(send(&gw, out.0, out.1, &pii).code, 250);
    // A private key: tagged.
    let secret = message("deploy key", &private_key_body());
    assert_eq!(send(&gw, out.0, out.1, &secret).code, 250);
    // Five card numbers: blocked with the configured reply, nothing delivered.
    let dump = message(
        "card list",
        &format!(
            "visa / mastercard, expiry on file:\r\n{}",
            CARDS.join("\r\n")
        ),
    );
    let r = send(&gw, out.0, out.1, &dump);
    assert_eq!(
        (r.code, r.text()),
        (
            550,
            "5.7.1 Message blocked: it contains payment card numbers".to_string()
        )
    );
    // Redirect: only the compliance mailbox gets it.
    let legal = message("nightjar", "Status of Project Nightjar for the board.");
    assert_eq!(
        send(
            &gw,
            out.0,
            &["bob@fabrikam.example", "carol@fabrikam.example"],
            &legal
        )
        .code,
        250
    );

    // 4 relayed messages + 2 notifications (sender and DLP team) of the block.
    let got = cap.wait_messages(6);
    assert_eq!(
        got.len(),
        6,
        "{:#?}",
        got.iter().map(|m| m.rcpts()).collect::<Vec<_>>()
    );
    let by_subject = |s: &str| {
        got.iter()
            .find(|m| m.text().contains(&format!("\r\nSubject: {s}\r\n")))
            .unwrap_or_else(|| panic!("no message {s}"))
    };

    let c = by_subject("lunch");
    let stamp = header(c, "X-Cordon-Inspected");
    assert_eq!(stamp.len(), 1);
    assert!(
        stamp[0].starts_with("true; by=dlp1.test.example; sig="),
        "{stamp:?}"
    );
    assert!(header(c, "X-Cordon-Action").is_empty());

    let q = by_subject("payroll");
    assert_eq!(header(q, "X-Cordon-Action"), vec!["Quarantine"]);
    assert_eq!(header(q, "X-Cordon-Rule"), vec!["quarantine-pii"]);

    let t = by_subject("deploy key");
    assert_eq!(header(t, "X-Cordon-Action"), vec!["Tag"]);
    assert_eq!(header(t, "X-Cordon-Rule"), vec!["tag-secrets"]);

    let red = by_subject("nightjar");
    assert_eq!(red.rcpts(), vec!["compliance@contoso.com"]);
    assert_eq!(header(red, "X-Cordon-Action"), vec!["Redirect"]);
    assert_eq!(
        header(red, "X-Cordon-Original-Recipients"),
        vec!["bob@fabrikam.example, carol@fabrikam.example"]
    );

    // DKIM-safe: every delivered body is byte-identical to what was sent.
    for (m, sent) in [(q, &pii), (t, &secret), (red, &legal)] {
        assert!(body_of(&m.raw) == body_of(sent), "body changed");
    }
    // swaks adds one CRLF at the end of what it reads; the rest is byte-identical.
    assert!(body_of(&c.raw).starts_with(body_of(&clean)), "body changed");
    assert!(!got
        .iter()
        .any(|m| m.text().contains("Subject: card list\r\n")
            && m.rcpts().contains(&"bob@fabrikam.example".to_string())));

    // Notifications: from the null sender, to the sender and the DLP team, well formed, with
    // redacted samples only.
    let notes: Vec<&Captured> = got.iter().filter(|m| m.mail_from().is_empty()).collect();
    let mut to: Vec<String> = notes.iter().flat_map(|m| m.rcpts()).collect();
    to.sort();
    assert_eq!(to, vec!["alice@contoso.com", "dlp-team@contoso.com"]);
    for n in &notes {
        let text = n.text();
        for h in [
            "From: ",
            "To: ",
            "Subject: ",
            "Date: ",
            "Message-ID: ",
            "MIME-Version: 1.0",
            "Auto-Submitted: auto-generated",
        ] {
            assert!(
                text.contains(&format!("\r\n{h}")) || text.starts_with(h),
                "notification lacks {h}:\n{text}"
            );
        }
        assert!(
            text.contains("block-card-dumps") && text.contains("credit_card"),
            "{text}"
        );
        assert!(
            text.contains("**** ****"),
            "samples must be redacted: {text}"
        );
        assert!(
            !header(n, "X-Cordon-Inspected").is_empty(),
            "notifications carry the stamp"
        );
    }

    // No full sensitive value in anything cordon sent (other than the relayed message that
    // carries it by policy) or logged.
    let everything_sent: Vec<u8> = got
        .iter()
        .filter(|m| !m.text().contains("Subject: payroll\r\n"))
        .flat_map(|m| m.raw.clone())
        .collect();
    let logs = gw.logs();
    for card in CARDS {
        let digits: String = card.chars().filter(|c| c.is_ascii_digit()).collect();
        for form in [card.to_string(), digits] {
            assert!(
                !String::from_utf8_lossy(&everything_sent).contains(&form),
                "{form} was sent"
            );
            assert!(!logs.contains(&form), "{form} was logged");
        }
    }
    assert!(
        !logs.contains(SSN) && !logs.contains("536228190"),
        "the SSN was logged"
    );

    // Incidents: one per non-deliver verdict, with rule, action and counts. Log lines come
    // through a pipe after the replies the test already read: wait for the last one.
    gw.wait_log("incident=w0:4 ");
    let inc = incidents(&gw);
    assert_eq!(inc.len(), 4, "{inc:#?}");
    for (rule, action) in [
        ("quarantine-pii", "quarantine"),
        ("tag-secrets", "tag"),
        ("block-card-dumps", "block"),
        ("redirect-legal", "redirect"),
    ] {
        assert!(
            inc.iter()
                .any(|l| l.contains("kind=verdict") && l.contains(rule) && l.contains(action)),
            "no incident for {rule}: {inc:#?}"
        );
    }
    assert!(inc.iter().any(|l| l.contains("credit_card=5")), "{inc:#?}");

    // Counters, printed when cordon stops.
    let logs = gw.terminate_logs();
    let counters = logs
        .lines()
        .find(|l| l.contains("cordon stopped"))
        .expect("stop line")
        .to_string();
    for want in [
        "\"relayed_messages_total\":4",
        "\"messages_total.block\":1",
        "\"messages_total.quarantine\":1",
        "\"messages_total.tag\":1",
        "\"messages_total.redirect\":1",
        "\"messages_total.deliver\":1",
        "\"detector_hits_total.credit_card\":1",
        "\"detector_hits_total.us_ssn\":1",
    ] {
        assert!(counters.contains(want), "counters lack {want}: {counters}");
    }
}

#[test]
fn direction_decides_which_rule_applies() {
    let cap = Capture::start(&[]);
    let rules = r#"
[[rule]]
name = "ssn-out"
direction = "outbound"
match = "us_ssn"
action = "quarantine"

[[rule]]
name = "ssn-in"
direction = "inbound"
match = "us_ssn"
action = "tag"

[[rule]]
name = "ssn-internal"
direction = "internal"
match = "us_ssn"
action = "tag"
"#;
    let gw = gateway(&cap, rules);
    let pii = |s: &str| message(s, &format!("SSN {SSN}"));
    assert_eq!(
        send(
            &gw,
            "alice@contoso.com",
            &["bob@fabrikam.example"],
            &pii("outbound")
        )
        .code,
        250
    );
    assert_eq!(
        send(
            &gw,
            "bob@fabrikam.example",
            &["alice@contoso.com"],
            &pii("inbound")
        )
        .code,
        250
    );
    assert_eq!(
        send(
            &gw,
            "alice@contoso.com",
            &["dave@contoso.com"],
            &pii("internal")
        )
        .code,
        250
    );
    let got = cap.wait_messages(3);
    let find = |s: &str| {
        got.iter()
            .find(|m| m.text().contains(&format!("Subject: {s}\r\n")))
            .unwrap()
    };
    assert_eq!(
        (
            header(find("outbound"), "X-Cordon-Action"),
            header(find("outbound"), "X-Cordon-Rule")
        ),
        (vec!["Quarantine".into()], vec!["ssn-out".into()])
    );
    assert_eq!(
        (
            header(find("inbound"), "X-Cordon-Action"),
            header(find("inbound"), "X-Cordon-Rule")
        ),
        (vec!["Tag".into()], vec!["ssn-in".into()])
    );
    assert_eq!(
        (
            header(find("internal"), "X-Cordon-Action"),
            header(find("internal"), "X-Cordon-Rule")
        ),
        (vec!["Tag".into()], vec!["ssn-internal".into()])
    );
    gw.wait_log("incident=w0:3 ");
    assert_eq!(incidents(&gw).len(), 3);
}

#[test]
fn own_stamp_is_a_loop_and_forgeries_are_stripped() {
    let cap = Capture::start(&[]);
    let gw = gateway(&cap, RULES);
    let m = message("first pass", "nothing sensitive");
    assert_eq!(
        send(&gw, "alice@contoso.com", &["bob@fabrikam.example"], &m).code,
        250
    );
    let stamped = cap.wait_messages(1)[0].raw.clone();

    // The same message coming back with our valid stamp: a routing loop.
    let r = send(
        &gw,
        "alice@contoso.com",
        &["bob@fabrikam.example"],
        &stamped,
    );
    assert_eq!(
        (r.code, r.text()),
        (554, "5.4.6 Routing loop detected".to_string())
    );
    assert_eq!(cap.messages().len(), 1);
    gw.wait_log("kind=loop");

    // A forged stamp (and a forged verdict header): removed, the message inspected as usual.
    let forged = b"From: mallory@contoso.com\r\nSubject: forged\r\nMessage-ID: <forged@contoso.com>\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\nX-Cordon-Inspected: true; by=dlp1.test.example; sig=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\r\nX-Cordon-Action: Quarantine\r\n\r\nSSN 536-22-8190\r\n";
    assert_eq!(
        send(
            &gw,
            "mallory@contoso.com",
            &["bob@fabrikam.example"],
            forged
        )
        .code,
        250
    );
    let got = cap.wait_messages(2);
    let f = got
        .iter()
        .find(|m| m.text().contains("Subject: forged\r\n"))
        .unwrap();
    let stamps = header(f, "X-Cordon-Inspected");
    assert_eq!(stamps.len(), 1);
    assert!(
        !stamps[0].contains("00112233"),
        "the forged stamp survived: {stamps:?}"
    );
    // Inspected as usual: the SSN rule quarantines it, and the only action header is ours.
    assert_eq!(header(f, "X-Cordon-Action"), vec!["Quarantine"]);
    assert_eq!(header(f, "X-Cordon-Rule"), vec!["quarantine-pii"]);
    gw.wait_log("kind=forged_stamp");

    // A sender-supplied verdict on a clean message never reaches the downstream.
    let sneaky = b"From: mallory@contoso.com\r\nSubject: sneaky\r\nX-Cordon-Action: Quarantine\r\nX-Cordon-Rule: approve-me\r\n\r\nhello\r\n";
    assert_eq!(
        send(
            &gw,
            "mallory@contoso.com",
            &["bob@fabrikam.example"],
            sneaky
        )
        .code,
        250
    );
    let got = cap.wait_messages(3);
    let s = got
        .iter()
        .find(|m| m.text().contains("Subject: sneaky\r\n"))
        .unwrap();
    assert!(
        header(s, "X-Cordon-Action").is_empty() && header(s, "X-Cordon-Rule").is_empty(),
        "{}",
        s.text()
    );

    let logs = gw.terminate_logs();
    let counters = logs
        .lines()
        .find(|l| l.contains("cordon stopped"))
        .unwrap()
        .to_string();
    assert!(
        counters.contains("\"loops_total\":1") && counters.contains("\"forged_stamps_total\":1"),
        "{counters}"
    );
}

/// A multipart nested deeper than the engine's MIME depth limit (32).
fn too_deep() -> Vec<u8> {
    let mut m = String::from("From: a@contoso.com\r\nSubject: deep\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n");
    for i in 0..40 {
        m += &format!(
            "--b{i}\r\nContent-Type: multipart/mixed; boundary=\"b{}\"\r\n\r\n",
            i + 1
        );
    }
    m += "--b40\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b40--\r\n";
    for i in (0..40).rev() {
        m += &format!("--b{i}--\r\n");
    }
    m.into_bytes()
}

#[test]
fn scan_errors_follow_on_scan_error() {
    let cap = Capture::start(&[]);
    // Default: block, with a 5xx that names the reason.
    let gw = gateway(&cap, RULES);
    let r = send(&gw, "a@contoso.com", &["b@fabrikam.example"], &too_deep());
    assert_eq!(r.code, 550, "{r:?}");
    assert!(
        r.text().starts_with("5.7.1") && r.text().contains("mime_depth_limit"),
        "{r:?}"
    );
    gw.wait_log("kind=scan_error: mime_depth_limit");

    let gw = gateway(
        &cap,
        &format!("{RULES}\n[policy]\non_scan_error = \"tempfail\"\n"),
    );
    let r = send(&gw, "a@contoso.com", &["b@fabrikam.example"], &too_deep());
    assert_eq!(r.code, 451, "{r:?}");
    assert!(r.text().starts_with("4.7.1"), "{r:?}");

    let gw = gateway(
        &cap,
        &format!("{RULES}\n[policy]\non_scan_error = \"deliver-tagged\"\n"),
    );
    assert_eq!(
        send(&gw, "a@contoso.com", &["b@fabrikam.example"], &too_deep()).code,
        250
    );
    let got = cap.wait_messages(1);
    assert_eq!(header(&got[0], "X-Cordon-Action"), vec!["Tag"]);
    assert_eq!(header(&got[0], "X-Cordon-Rule"), vec!["scan-error"]);

    // The time budget: a scan that takes longer than scan_timeout is a scan error too.
    let gw = gateway(
        &cap,
        &format!("{RULES}\n[policy]\nscan_timeout = \"10ms\"\n"),
    );
    let big = message(
        "big",
        &"The quarterly numbers look fine; nothing to see here at all.\r\n".repeat(50_000),
    );
    let r = send(&gw, "a@contoso.com", &["b@fabrikam.example"], &big);
    assert_eq!(r.code, 550, "{r:?}");
    assert!(r.text().contains("scan_timeout"), "{r:?}");
    let logs = gw.terminate_logs();
    assert!(logs.contains("\"scan_errors_total\":1"), "{logs}");
    assert_eq!(cap.messages().len(), 1);
}
