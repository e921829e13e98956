//! Acceptance 2 of the gateway issue: downstream refusals, temporary failures, unreachable smart
//! hosts and broken connections reach the sender as the matching reply or a 4xx, never as 250.

use cordon_tests::*;

#[test]
fn recipient_refused_downstream_is_refused_upstream() {
    let cap = Capture::start(&["--reject-rcpt", "nobody@fabrikam.example"]);
    let gw = Gateway::start(&Cfg::new(&cap.smarthost()));
    let mut c = gw.client();
    c.hello();
    assert_eq!(c.cmd("MAIL FROM:<alice@contoso.com>").code, 250);
    assert_eq!(c.cmd("RCPT TO:<bob@fabrikam.example>").code, 250);
    let r = c.cmd("RCPT TO:<nobody@fabrikam.example>");
    assert_eq!(r.code, 550, "{r:?}");
    assert_eq!(
        r.text(),
        "5.1.1 <nobody@fabrikam.example>: Recipient address rejected: User unknown"
    );
    assert_eq!(c.cmd("DATA").code, 354);
    c.send(&dot_stuff(b"Subject: one refused\r\n\r\nhi\r\n"));
    assert_eq!(c.reply().code, 250);
    let got = cap.wait_messages(1);
    assert_eq!(got[0].rcpts(), vec!["bob@fabrikam.example"]);
}

#[test]
fn data_tempfail_downstream_is_relayed() {
    let cap = Capture::start(&["--data-reply", "451 4.3.0 Mailbox database busy, try later"]);
    let gw = Gateway::start(&Cfg::new(&cap.smarthost()));
    let mut c = gw.client();
    c.hello();
    let r = c.send_mail(
        "alice@contoso.com",
        &["bob@fabrikam.example"],
        b"Subject: t\r\n\r\nx\r\n",
    );
    assert_eq!(
        (r.code, r.text()),
        (451, "4.3.0 Mailbox database busy, try later".to_string())
    );
    // The session goes on: the next message gets the same treatment, and nothing is stored.
    let r = c.send_mail(
        "alice@contoso.com",
        &["bob@fabrikam.example"],
        b"Subject: t2\r\n\r\nx\r\n",
    );
    assert_eq!(r.code, 451);
    assert!(cap.messages().is_empty());
}

#[test]
fn unreachable_smarthost_greets_with_421() {
    let dead = free_port();
    let gw = Gateway::start(&Cfg::new(&format!("smtp://127.0.0.1:{dead}")));
    let mut c = gw.client();
    let r = c.reply();
    assert_eq!(r.code, 421, "{r:?}");
    assert!(r.text().starts_with("4.4.0 "), "{r:?}");
    assert!(c.is_closed());
}

#[test]
fn second_smarthost_is_used_when_the_first_is_down() {
    let cap = Capture::start(&[]);
    let mut cfg = Cfg::new(&format!("smtp://127.0.0.1:{}", free_port()));
    cfg.smarthosts.push(cap.smarthost());
    let gw = Gateway::start(&cfg);
    let mut c = gw.client();
    c.hello();
    assert_eq!(
        c.send_mail(
            "a@contoso.com",
            &["b@fabrikam.example"],
            b"Subject: fallback\r\n\r\nx\r\n"
        )
        .code,
        250
    );
    cap.wait_messages(1);
}

#[test]
fn downstream_closing_mid_data_gives_4xx_and_no_delivery() {
    let fake = FakeSmarthost::start(FakeBehaviour::CloseMidData(10_000));
    let gw = Gateway::start(&Cfg::new(&fake.smarthost()));
    let mut c = gw.client();
    c.hello();
    let r = c.send_mail(
        "a@contoso.com",
        &["b@fabrikam.example"],
        &make_message(200_000, "cut"),
    );
    assert_eq!(r.code, 421, "{r:?}");
    assert!(r.text().starts_with("4.4.2"), "{r:?}");
    assert!(c.is_closed());
    assert_eq!(fake.accepted.load(std::sync::atomic::Ordering::SeqCst), 0);
    gw.wait_log("message not relayed");
}

#[test]
fn downstream_timeout_after_data_gives_4xx() {
    let fake = FakeSmarthost::start(FakeBehaviour::StallAfterData);
    let mut cfg = Cfg::new(&fake.smarthost());
    cfg.timeouts.push(("data_term".into(), "1s".into()));
    let gw = Gateway::start(&cfg);
    let mut c = gw.client();
    c.hello();
    let started = std::time::Instant::now();
    let r = c.send_mail(
        "a@contoso.com",
        &["b@fabrikam.example"],
        b"Subject: slow\r\n\r\nx\r\n",
    );
    assert_eq!(r.code, 421, "{r:?}");
    let waited = started.elapsed();
    println!("downstream data_term timeout answered after {waited:?}");
    assert!(waited < std::time::Duration::from_secs(20));
    assert_eq!(fake.accepted.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[test]
fn fake_smarthost_accepts_normally() {
    // The scripted peer itself works, so the failures above are cordon's doing.
    let fake = FakeSmarthost::start(FakeBehaviour::Accept);
    let gw = Gateway::start(&Cfg::new(&fake.smarthost()));
    let mut c = gw.client();
    c.hello();
    assert_eq!(
        c.send_mail(
            "a@contoso.com",
            &["b@fabrikam.example"],
            &make_message(50_000, "ok")
        )
        .code,
        250
    );
    assert_eq!(fake.accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
}
