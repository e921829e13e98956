//! Acceptance 5 of the gateway issue: the relay guard and envelope tricks.

use cordon_tests::*;

#[test]
fn client_outside_allowed_clients_is_refused() {
    let cap = Capture::start(&[]);
    let mut cfg = Cfg::new(&cap.smarthost());
    cfg.allowed = vec!["127.0.0.1/32".into()];
    let gw = Gateway::start(&cfg);
    let mut c = Client::connect_from("127.0.0.2".parse().unwrap(), gw.port);
    let r = c.reply();
    assert_eq!(r.code, 554, "{r:?}");
    assert!(r.text().starts_with("5.7.1"), "{r:?}");
    assert!(r.text().contains("127.0.0.2"));
    assert!(c.is_closed());
    gw.wait_log("refused: not in allowed_clients");
    // 127.0.0.1 itself is served.
    let mut ok = Client::connect_from("127.0.0.1".parse().unwrap(), gw.port);
    ok.hello();
}

#[test]
fn ipv6_clients_are_matched_against_ipv6_networks() {
    let cap = Capture::start(&[]);
    let mut cfg = Cfg::new(&cap.smarthost());
    cfg.listen_host = "[::1]".into();
    let addr = std::net::SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, cfg.listen));
    // ::1 allowed: served end to end.
    cfg.allowed = vec!["10.0.0.0/8".into(), "::1/128".into()];
    let gw = Gateway::start(&cfg);
    let mut c = Client::connect_addr(addr);
    let ehlo = c.hello();
    assert!(ehlo.lines[0].contains("[::1]"), "{ehlo:?}");
    let r = c.send_mail(
        "alice@contoso.com",
        &["bob@fabrikam.example"],
        b"Subject: v6\r\n\r\nover IPv6\r\n",
    );
    assert_eq!(r.code, 250, "{r:?}");
    assert_eq!(cap.wait_messages(1)[0].meta["peer"], "127.0.0.1");
    drop(gw);
    // Only IPv4 loopback allowed: ::1 is another client and is refused.
    cfg.allowed = vec!["127.0.0.0/8".into()];
    let gw = Gateway::start(&cfg);
    let mut c = Client::connect_addr(addr);
    let r = c.reply();
    assert_eq!(r.code, 554, "{r:?}");
    assert!(r.text().starts_with("5.7.1"), "{r:?}");
    assert!(c.is_closed());
    gw.wait_log("refused: not in allowed_clients");
}

#[test]
fn envelope_tricks_only_ever_reach_the_smarthost() {
    let cap = Capture::start(&[]);
    let gw = Gateway::start(&Cfg::new(&cap.smarthost()));
    let mut c = gw.client();
    c.hello();
    assert_eq!(c.cmd("MAIL FROM:<a@contoso.com>").code, 250);
    for rcpt in [
        "<user%evil.example@fabrikam.example>",
        "<@evil.example,@relay.example:user@fabrikam.example>",
        "<\"user@evil.example\"@fabrikam.example>",
        "<user@[127.0.0.1]>",
    ] {
        let r = c.cmd(&format!("RCPT TO:{rcpt}"));
        assert_eq!(r.code, 250, "{rcpt}: {r:?}");
    }
    assert_eq!(c.cmd("DATA").code, 354);
    c.send(&dot_stuff(b"Subject: tricks\r\n\r\nx\r\n"));
    assert_eq!(c.reply().code, 250);
    let got = cap.wait_messages(1);
    // All four went to the one configured smart host; the source route was dropped.
    assert_eq!(
        got[0].rcpts(),
        vec![
            "user%evil.example@fabrikam.example",
            "user@fabrikam.example",
            "\"user@evil.example\"@fabrikam.example",
            "user@[127.0.0.1]"
        ]
    );
    // Malformed paths are refused locally with a precise code.
    assert_eq!(c.cmd("MAIL FROM:<a@contoso.com>").code, 250);
    let r = c.cmd("RCPT TO:<user@evil@example>");
    assert_eq!(r.code, 501, "{r:?}");
    let r = c.cmd("RCPT TO:user@fabrikam.example");
    assert_eq!(r.code, 501, "{r:?}");
}
