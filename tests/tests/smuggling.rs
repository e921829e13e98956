//! Acceptance 4 of the gateway issue: SMTP smuggling and STARTTLS command injection.

use cordon_tests::*;

const SMUGGLED: &str = "MAIL FROM:<ceo@contoso.com>\r\nRCPT TO:<victim@fabrikam.example>\r\nDATA\r\nSubject: smuggled\r\n\r\nsmuggled body\r\n";

fn attempt(vector: &str) {
    let cap = Capture::start(&[]);
    let gw = Gateway::start(&Cfg::new(&cap.smarthost()));
    let mut c = gw.client();
    c.hello();
    assert_eq!(c.cmd("MAIL FROM:<attacker@contoso.com>").code, 250);
    assert_eq!(c.cmd("RCPT TO:<someone@fabrikam.example>").code, 250);
    assert_eq!(c.cmd("DATA").code, 354);
    let payload = format!("Subject: carrier\r\n\r\nfirst message{vector}{SMUGGLED}\r\n.\r\n");
    c.send(payload.as_bytes());
    let r = c.reply();
    assert_eq!(r.code, 550, "vector {vector:?}: {r:?}");
    assert!(r.text().starts_with("5.5.2"), "{r:?}");
    assert!(c.is_closed(), "vector {vector:?}: connection left open");
    // Nothing of either message went downstream; a clean message afterwards still does, so the
    // capture was listening all along.
    let mut c2 = gw.client();
    c2.hello();
    assert_eq!(
        c2.send_mail(
            "a@contoso.com",
            &["b@fabrikam.example"],
            b"Subject: clean\r\n\r\nok\r\n"
        )
        .code,
        250
    );
    // The attack session ended before the clean one began, and cordon relays a message before
    // it answers, so anything smuggled would already be captured by now.
    let got = cap.wait_messages(1);
    let got_after = cap.messages();
    assert_eq!(
        got_after.len(),
        1,
        "vector {vector:?}: {} messages downstream",
        got_after.len()
    );
    assert!(got[0].text().contains("Subject: clean"));
}

#[test]
fn bare_lf_dot_bare_lf() {
    attempt("\n.\n");
}

#[test]
fn bare_lf_dot_crlf() {
    attempt("\n.\r\n");
}

#[test]
fn bare_cr_dot_crlf() {
    attempt("\r.\r\n");
}

#[test]
fn crlf_dot_bare_cr() {
    attempt("\r\n.\r");
}

#[test]
fn smuggled_mail_inside_a_clean_body_is_just_text() {
    let cap = Capture::start(&[]);
    let gw = Gateway::start(&Cfg::new(&cap.smarthost()));
    let mut c = gw.client();
    c.hello();
    let body = format!("Subject: carrier\r\n\r\nfirst\r\n{SMUGGLED}");
    assert_eq!(
        c.send_mail("a@contoso.com", &["b@fabrikam.example"], body.as_bytes())
            .code,
        250
    );
    // Every message cordon relays is answered downstream before QUIT is answered upstream.
    assert_eq!(c.cmd("QUIT").code, 221);
    let got = cap.wait_messages(1);
    assert_eq!(cap.messages().len(), 1);
    assert!(got[0].text().contains("MAIL FROM:<ceo@contoso.com>"));
    assert_eq!(got[0].rcpts(), vec!["b@fabrikam.example"]);
}

#[test]
fn bare_lf_in_a_command_is_refused() {
    let cap = Capture::start(&[]);
    let gw = Gateway::start(&Cfg::new(&cap.smarthost()));
    let mut c = gw.client();
    c.hello();
    c.send(b"MAIL FROM:<a@contoso.com>\n");
    let r = c.reply();
    assert_eq!(r.code, 550);
    assert!(r.text().starts_with("5.5.2"));
    assert!(c.is_closed());
}

#[test]
fn long_lines_are_refused_not_split() {
    let cap = Capture::start(&[]);
    let gw = Gateway::start(&Cfg::new(&cap.smarthost()));
    let mut c = gw.client();
    c.hello();
    let r = c.cmd(&format!("MAIL FROM:<{}@contoso.com>", "a".repeat(600)));
    assert_eq!(r.code, 500, "{r:?}");
    assert!(r.text().starts_with("5.5.2"));
    // The session survives and a message with a 1,200-octet line is refused whole.
    let long = format!("Subject: long\r\n\r\n{}\r\n", "x".repeat(1200));
    assert_eq!(c.cmd("MAIL FROM:<a@contoso.com>").code, 250);
    assert_eq!(c.cmd("RCPT TO:<b@fabrikam.example>").code, 250);
    assert_eq!(c.cmd("DATA").code, 354);
    c.send(&dot_stuff(long.as_bytes()));
    let r = c.reply();
    assert_eq!(r.code, 554, "{r:?}");
    assert!(r.text().starts_with("5.6.0"));
    // A 998-octet line is fine.
    let ok = format!("Subject: ok\r\n\r\n{}\r\n", "y".repeat(998));
    assert_eq!(
        c.send_mail("a@contoso.com", &["b@fabrikam.example"], ok.as_bytes())
            .code,
        250
    );
    let got = cap.wait_messages(1);
    assert_eq!(cap.messages().len(), 1);
    assert!(got[0].text().contains("Subject: ok"));
}

#[test]
fn data_pipelined_before_354_is_refused() {
    let cap = Capture::start(&[]);
    let gw = Gateway::start(&Cfg::new(&cap.smarthost()));
    let mut c = gw.client();
    c.hello();
    c.send(b"MAIL FROM:<a@contoso.com>\r\nRCPT TO:<b@fabrikam.example>\r\nDATA\r\nSubject: eager\r\n\r\nx\r\n.\r\n");
    assert_eq!(c.reply().code, 250);
    assert_eq!(c.reply().code, 250);
    let r = c.reply();
    assert_eq!(r.code, 554, "{r:?}");
    assert!(r.text().starts_with("5.5.0"));
    assert!(c.is_closed());
    assert!(cap.messages().is_empty());
}

#[test]
fn starttls_injection_gets_no_reply() {
    let cap = Capture::start(&[]);
    let certs = Certs::new();
    let (cert, key) = certs.issue(&["dlp1.test.example"]);
    let mut cfg = Cfg::new(&cap.smarthost());
    cfg.inbound_tls = Some((cert, key, false));
    let gw = Gateway::start(&cfg);
    let mut c = gw.client();
    let ehlo = c.hello();
    assert!(ehlo.lines.iter().any(|l| l == "STARTTLS"));
    c.send(b"STARTTLS\r\nMAIL FROM:<a@contoso.com>\r\n");
    let r = c.reply();
    assert_eq!(r.code, 554, "{r:?}");
    assert!(r.text().starts_with("5.5.0"));
    // No second reply (none for the injected MAIL), just the close.
    assert!(c.try_reply().is_none());
}

#[test]
fn commands_after_quit_are_refused() {
    let cap = Capture::start(&[]);
    let gw = Gateway::start(&Cfg::new(&cap.smarthost()));
    let mut c = gw.client();
    c.hello();
    c.send(b"QUIT\r\nMAIL FROM:<a@contoso.com>\r\n");
    let r = c.reply();
    assert_eq!(r.code, 554, "{r:?}");
    assert!(c.try_reply().is_none());
}
