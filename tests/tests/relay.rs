//! Acceptance 1 of the gateway issue: real peers on both legs, and messages that arrive
//! byte-identical apart from cordon's Received and stamp lines.

use cordon_tests::*;

fn assert_relayed_intact(c: &Captured, sent: &[u8]) {
    let (added, rest) = c.split_stamp("X-Cordon-Inspected");
    assert!(
        added.starts_with("Received: from "),
        "no Received line: {added}"
    );
    assert!(added.contains("by dlp1.test.example (cordon)"), "{added}");
    assert!(
        added.contains("\r\nX-Cordon-Inspected: true; by=dlp1.test.example; sig="),
        "{added}"
    );
    assert_eq!(
        rest.len(),
        sent.len(),
        "length differs after removing the stamp"
    );
    assert!(rest == sent, "body differs after removing the stamp");
}

#[test]
fn messages_of_1k_1m_and_30m_arrive_byte_identical() {
    let cap = Capture::start(&[]);
    let mut cfg = Cfg::new(&cap.smarthost());
    cfg.max_message_size = "35MiB".into();
    cfg.max_sessions = 2;
    let gw = Gateway::start(&cfg);
    let mut c = gw.client();
    c.hello();
    let sizes = [1 << 10, 1 << 20, 30 << 20];
    let mut sent = Vec::new();
    for (i, size) in sizes.iter().enumerate() {
        let m = make_message(*size, &format!("size test {i}"));
        let r = c.send_mail("alice@contoso.com", &["bob@fabrikam.example"], &m);
        assert_eq!(r.code, 250, "{r:?}");
        sent.push(m);
    }
    assert_eq!(c.cmd("QUIT").code, 221);
    let got = cap.wait_messages(3);
    for (c, m) in got.iter().zip(&sent) {
        assert_relayed_intact(c, m);
        assert_eq!(c.rcpts(), vec!["bob@fabrikam.example"]);
        assert_eq!(c.mail_from(), "alice@contoso.com");
    }
    println!(
        "relayed {} messages of {:?} octets intact",
        got.len(),
        sizes
    );
}

#[test]
fn postfix_upstream_relays_through_cordon() {
    let cap = Capture::start(&[]);
    let gw = Gateway::start(&Cfg::new(&cap.smarthost()));
    let pf = Postfix::start(&format!("127.0.0.1:{}", gw.port));
    let body = make_message(200 << 10, "via postfix");
    let path = gw.dir.path().join("msg.eml");
    std::fs::write(&path, &body).unwrap();
    let (ok, out) = swaks(&[
        "--server",
        &format!("127.0.0.1:{}", pf.port),
        "--from",
        "alice@contoso.com",
        "--to",
        "bob@fabrikam.example",
        "--data",
        &path.display().to_string(),
    ]);
    assert!(ok, "{out}");
    let got = cap.wait_messages(1);
    let text = got[0].text();
    assert!(
        text.contains("X-Cordon-Inspected: true; by=dlp1.test.example"),
        "{text:.400}"
    );
    // Postfix adds its own Received line below ours; the original body is untouched.
    let body_start = body.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    // swaks ends the message with one more CRLF than the file has.
    let trim = |mut b: &[u8]| {
        while let Some(r) = b.strip_suffix(b"\r\n") {
            b = r;
        }
        b.to_vec()
    };
    assert!(
        trim(&got[0].raw).ends_with(&trim(&body[body_start..])),
        "body changed on the way"
    );
    assert_eq!(got[0].rcpts(), vec!["bob@fabrikam.example"]);
    // postlogd writes the delivery line after the smart host has the message: wait for it.
    wait_until("Postfix to log status=sent", STEP, || {
        pf.log().contains("status=sent").then_some(())
    });
    gw.wait_log("message relayed");
}

#[test]
fn postfix_smtpd_downstream_gets_bdat_and_pipelining() {
    // cordon -> Postfix smtpd (offers CHUNKING and PIPELINING) -> capture.
    let cap = Capture::start(&[]);
    let pf = Postfix::start(&format!("127.0.0.1:{}", cap.port));
    let gw = Gateway::start(&Cfg::new(&format!("smtp://127.0.0.1:{}", pf.port)));
    let mut c = gw.client();
    let ehlo = c.hello();
    assert!(ehlo.lines.iter().any(|l| l == "CHUNKING"), "{ehlo:?}");
    let m = make_message(300 << 10, "to postfix");
    let r = c.send_mail(
        "alice@contoso.com",
        &["carol@fabrikam.example", "dave@fabrikam.example"],
        &m,
    );
    assert_eq!(r.code, 250, "{r:?}");
    assert!(
        r.text().contains("queued as"),
        "the reply must be Postfix's own: {r:?}"
    );
    c.cmd("QUIT");
    let got = cap.wait_messages(1);
    let mut rcpts = got[0].rcpts();
    rcpts.sort();
    assert_eq!(
        rcpts,
        vec!["carol@fabrikam.example", "dave@fabrikam.example"]
    );
    let body_start = m.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert!(got[0].raw.ends_with(&m[body_start..]));
    assert!(got[0].text().contains("X-Cordon-Inspected: true"));
}

#[test]
fn sender_supplied_cordon_headers_are_removed() {
    let cap = Capture::start(&[]);
    let gw = Gateway::start(&Cfg::new(&cap.smarthost()));
    let mut c = gw.client();
    c.hello();
    let m = b"From: a@contoso.com\r\nX-Cordon-Action: Quarantine\r\nX-Cordon-Inspected: true; by=dlp1.test.example\r\nX-CORDON-Rule:\r\n folded\r\nSubject: forged\r\n\r\nX-Cordon-Action: in the body stays\r\n";
    assert_eq!(
        c.send_mail("a@contoso.com", &["b@fabrikam.example"], m)
            .code,
        250
    );
    let got = cap.wait_messages(1);
    let (added, rest) = got[0].split_stamp("X-Cordon-Inspected");
    assert_eq!(added.matches("X-Cordon-Inspected").count(), 1, "{added}");
    assert_eq!(
        rest,
        b"From: a@contoso.com\r\nSubject: forged\r\n\r\nX-Cordon-Action: in the body stays\r\n"
    );
}

#[test]
fn swaks_session_with_helo_and_8bit_and_noop() {
    let cap = Capture::start(&[]);
    let gw = Gateway::start(&Cfg::new(&cap.smarthost()));
    let (ok, out) = swaks(&[
        "--server",
        &format!("127.0.0.1:{}", gw.port),
        "--from",
        "x@contoso.com",
        "--to",
        "y@fabrikam.example",
        "--body",
        "Grüße, 8-bit body",
    ]);
    assert!(ok, "{out}");
    let mut c = gw.client();
    assert_eq!(c.reply().code, 220);
    let r = c.cmd("HELO old.client.example");
    assert_eq!(r.code, 250);
    let r = c.cmd("NOOP");
    assert_eq!((r.code, r.text()), (250, "2.0.0 Ok".into()));
    let r = c.cmd("VRFY root");
    assert!(r.text().starts_with("5.5.1"), "{r:?}");
    let r = c.cmd("FOO");
    assert_eq!(r.code, 500);
    assert!(r.text().starts_with("5.5.2"), "{r:?}");
    cap.wait_messages(1);
}
