//! SMTP extensions cordon passes through only when the smart host has them: DSN (RFC 3461)
//! requests reach the smart host verbatim, and 8-bit mail never goes to a 7-bit hop.

use cordon_tests::*;

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn dsn_requests_reach_a_smart_host_that_offers_dsn() {
    let cap = Capture::start(&["--dsn"]);
    let gw = Gateway::start(&Cfg::new(&cap.smarthost()));
    let mut c = gw.client();
    let ehlo = c.hello();
    assert!(ehlo.lines.iter().any(|l| l == "DSN"), "{ehlo:?}");
    let r = c.cmd("MAIL FROM:<alice@contoso.com> RET=HDRS ENVID=QQ+2B314159");
    assert_eq!(r.code, 250, "{r:?}");
    let r = c.cmd(
        "RCPT TO:<bob@fabrikam.example> NOTIFY=success,FAILURE ORCPT=rfc822;Bob@fabrikam.example",
    );
    assert_eq!(r.code, 250, "{r:?}");
    let r = c.cmd("RCPT TO:<carol@fabrikam.example> NOTIFY=NEVER");
    assert_eq!(r.code, 250, "{r:?}");
    assert_eq!(c.cmd("DATA").code, 354);
    c.send(&dot_stuff(&make_message(2 << 10, "dsn")));
    c.send(b".\r\n");
    assert_eq!(c.reply().code, 250);
    let got = cap.wait_messages(1);
    assert_eq!(
        strings(&got[0].meta["dsn_mail"]),
        ["RET=HDRS", "ENVID=QQ+2B314159"]
    );
    let rcpts: Vec<Vec<String>> = got[0].meta["dsn_rcpts"]
        .as_array()
        .unwrap()
        .iter()
        .map(strings)
        .collect();
    assert_eq!(
        rcpts,
        [
            vec![
                "NOTIFY=SUCCESS,FAILURE".to_string(),
                "ORCPT=rfc822;Bob@fabrikam.example".to_string()
            ],
            vec!["NOTIFY=NEVER".to_string()],
        ]
    );
}

#[test]
fn postfix_passes_a_dsn_request_through_cordon() {
    // A client asks Postfix (the upstream MTA) for a success DSN; Postfix relays through cordon,
    // which must offer DSN so that Postfix passes the request on instead of answering it itself.
    let cap = Capture::start(&["--dsn"]);
    let gw = Gateway::start(&Cfg::new(&cap.smarthost()));
    let pf = Postfix::start(&format!("127.0.0.1:{}", gw.port));
    let mut c = Client::connect(pf.port);
    c.hello();
    let r = c.cmd("MAIL FROM:<alice@contoso.com> RET=HDRS ENVID=pf-1");
    assert_eq!(r.code, 250, "{r:?}");
    let r = c.cmd("RCPT TO:<bob@fabrikam.example> NOTIFY=SUCCESS,FAILURE");
    assert_eq!(r.code, 250, "{r:?}");
    assert_eq!(c.cmd("DATA").code, 354);
    c.send(&dot_stuff(&make_message(1 << 10, "dsn via postfix")));
    c.send(b".\r\n");
    assert_eq!(c.reply().code, 250);
    let got = cap.wait_messages(1);
    let mail = strings(&got[0].meta["dsn_mail"]);
    assert!(mail.contains(&"RET=HDRS".to_string()), "{mail:?}");
    assert!(mail.contains(&"ENVID=pf-1".to_string()), "{mail:?}");
    let rcpt = strings(&got[0].meta["dsn_rcpts"][0]);
    assert!(
        rcpt.iter().any(|p| p == "NOTIFY=SUCCESS,FAILURE"),
        "{rcpt:?}"
    );
    assert!(
        rcpt.iter()
            .any(|p| p.eq_ignore_ascii_case("ORCPT=rfc822;bob@fabrikam.example")),
        "{rcpt:?}"
    );
}

#[test]
fn dsn_is_not_offered_when_the_smart_host_lacks_it() {
    let cap = Capture::start(&[]);
    let gw = Gateway::start(&Cfg::new(&cap.smarthost()));
    let mut c = gw.client();
    let ehlo = c.hello();
    assert!(!ehlo.lines.iter().any(|l| l == "DSN"), "{ehlo:?}");
    let r = c.cmd("MAIL FROM:<alice@contoso.com> RET=FULL");
    assert_eq!(
        (r.code, r.text()),
        (555, "5.5.4 Unsupported option: RET".into())
    );
    assert_eq!(c.cmd("MAIL FROM:<alice@contoso.com>").code, 250);
    let r = c.cmd("RCPT TO:<bob@fabrikam.example> NOTIFY=SUCCESS");
    assert_eq!(r.code, 555, "{r:?}");
}

#[test]
fn malformed_or_repeated_parameters_get_501_and_the_session_goes_on() {
    let cap = Capture::start(&["--dsn"]);
    let gw = Gateway::start(&Cfg::new(&cap.smarthost()));
    let mut c = gw.client();
    c.hello();
    for bad in [
        "MAIL FROM:<alice@contoso.com> RET=BODY",
        "MAIL FROM:<alice@contoso.com> ENVID=a=b",
        "MAIL FROM:<alice@contoso.com> ENVID=a+2b",
        "MAIL FROM:<alice@contoso.com> SIZE=10 SIZE=20",
        "MAIL FROM:<alice@contoso.com> RET=HDRS RET=FULL",
    ] {
        let r = c.cmd(bad);
        assert_eq!(r.code, 501, "{bad}: {r:?}");
        assert!(r.text().starts_with("5.5.4 "), "{bad}: {r:?}");
    }
    assert_eq!(c.cmd("MAIL FROM:<alice@contoso.com>").code, 250);
    for bad in [
        "RCPT TO:<bob@fabrikam.example> NOTIFY=NEVER,SUCCESS",
        "RCPT TO:<bob@fabrikam.example> NOTIFY=",
        "RCPT TO:<bob@fabrikam.example> ORCPT=bob@fabrikam.example",
        "RCPT TO:<bob@fabrikam.example> ORCPT=rfc822;a+b@fabrikam.example",
        "RCPT TO:<bob@fabrikam.example> NOTIFY=DELAY NOTIFY=FAILURE",
    ] {
        let r = c.cmd(bad);
        assert_eq!(r.code, 501, "{bad}: {r:?}");
        assert!(r.text().starts_with("5.5.4 "), "{bad}: {r:?}");
    }
    assert_eq!(c.cmd("RCPT TO:<bob@fabrikam.example>").code, 250);
    assert_eq!(c.cmd("DATA").code, 354);
    c.send(&dot_stuff(&make_message(1 << 10, "after errors")));
    c.send(b".\r\n");
    assert_eq!(c.reply().code, 250);
    let got = cap.wait_messages(1);
    assert_eq!(got[0].rcpts(), ["bob@fabrikam.example"]);
    assert!(strings(&got[0].meta["dsn_mail"]).is_empty());
}

#[test]
fn eight_bit_mail_is_refused_for_a_seven_bit_smart_host() {
    // The fake smart host offers only PIPELINING: no 8BITMIME.
    let fake = FakeSmarthost::start(FakeBehaviour::Accept);
    let gw = Gateway::start(&Cfg::new(&fake.smarthost()));
    let mut c = gw.client();
    c.hello();
    let send = |c: &mut Client, body: &str| {
        assert_eq!(
            c.cmd("MAIL FROM:<alice@contoso.com> BODY=8BITMIME").code,
            250
        );
        assert_eq!(c.cmd("RCPT TO:<bob@fabrikam.example>").code, 250);
        assert_eq!(c.cmd("DATA").code, 354);
        c.send(format!("Subject: t\r\n\r\n{body}\r\n.\r\n").as_bytes());
        c.reply()
    };
    let r = send(&mut c, "Grüße aus Köln");
    assert_eq!(r.code, 554, "{r:?}");
    assert!(r.text().starts_with("5.6.3 "), "{r:?}");
    assert_eq!(fake.accepted.load(std::sync::atomic::Ordering::SeqCst), 0);
    // Declared 8BITMIME but all 7-bit: nothing to convert, so it is delivered.
    let r = send(&mut c, "plain ASCII after all");
    assert_eq!(r.code, 250, "{r:?}");
    assert_eq!(fake.accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[test]
fn a_redirect_keeps_the_senders_mail_parameters_but_not_the_recipients_dsn() {
    let cap = Capture::start(&["--dsn"]);
    let mut cfg = Cfg::new(&cap.smarthost());
    cfg.extra = r#"
[[dictionary]]
name = "legal-hold"
terms = ["Project Nightjar"]

[[rule]]
name = "redirect-legal"
match = "legal-hold"
action = "redirect"
redirect_to = "compliance@contoso.com"
"#
    .into();
    let gw = Gateway::start(&cfg);
    let mut c = gw.client();
    c.hello();
    let r = c.cmd("MAIL FROM:<jöran@contoso.com> SMTPUTF8 BODY=8BITMIME RET=HDRS ENVID=r-1");
    assert_eq!(r.code, 250, "{r:?}");
    let r =
        c.cmd("RCPT TO:<bob@fabrikam.example> NOTIFY=SUCCESS ORCPT=rfc822;bob@fabrikam.example");
    assert_eq!(r.code, 250, "{r:?}");
    assert_eq!(c.cmd("DATA").code, 354);
    c.send("Subject: Nightjar\r\n\r\nNotes on Project Nightjar, für Jöran.\r\n.\r\n".as_bytes());
    assert_eq!(c.reply().code, 250);
    let got = cap.wait_messages(1);
    assert_eq!(got[0].rcpts(), ["compliance@contoso.com"]);
    assert_eq!(got[0].mail_from(), "jöran@contoso.com");
    assert_eq!(strings(&got[0].meta["dsn_mail"]), ["RET=HDRS", "ENVID=r-1"]);
    assert_eq!(got[0].meta["dsn_rcpts"], serde_json::json!([[]]));
    let opts = strings(&got[0].meta["mail_options"]);
    assert!(opts.contains(&"SMTPUTF8".to_string()), "{opts:?}");
    assert!(opts.contains(&"BODY=8BITMIME".to_string()), "{opts:?}");
}

#[test]
fn a_redirect_keeps_the_parameters_of_a_sender_whose_local_part_quotes_a_bracket() {
    // `"x>y"@contoso.com` is a valid path: the parameters must not be cut at its `>`.
    let cap = Capture::start(&["--dsn"]);
    let mut cfg = Cfg::new(&cap.smarthost());
    cfg.extra = r#"
[[dictionary]]
name = "legal-hold"
terms = ["Project Nightjar"]

[[rule]]
name = "redirect-legal"
match = "legal-hold"
action = "redirect"
redirect_to = "compliance@contoso.com"
"#
    .into();
    let gw = Gateway::start(&cfg);
    let mut c = gw.client();
    c.hello();
    let r = c.cmd("MAIL FROM:<\"x>y\"@contoso.com> RET=HDRS ENVID=q-1");
    assert_eq!(r.code, 250, "{r:?}");
    assert_eq!(c.cmd("RCPT TO:<bob@fabrikam.example>").code, 250);
    assert_eq!(c.cmd("DATA").code, 354);
    c.send(b"Subject: Nightjar\r\n\r\nProject Nightjar notes.\r\n.\r\n");
    let r = c.reply();
    assert_eq!(r.code, 250, "{r:?}");
    let got = cap.wait_messages(1);
    assert_eq!(got[0].rcpts(), ["compliance@contoso.com"]);
    assert_eq!(strings(&got[0].meta["dsn_mail"]), ["RET=HDRS", "ENVID=q-1"]);
}
