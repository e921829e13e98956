//! Acceptance 6 of the gateway issue: PIPELINING with 100 recipients, and BDAT relayed to a
//! downstream that only speaks DATA.

use cordon_tests::*;

#[test]
fn hundred_pipelined_recipients_one_refused() {
    let cap = Capture::start(&["--reject-rcpt", "user57@fabrikam.example"]);
    let gw = Gateway::start(&Cfg::new(&cap.smarthost()));
    let mut c = gw.client();
    let ehlo = c.hello();
    assert!(ehlo.lines.iter().any(|l| l == "PIPELINING"));
    let mut batch = String::from("MAIL FROM:<alice@contoso.com>\r\n");
    for i in 0..100 {
        batch.push_str(&format!("RCPT TO:<user{i}@fabrikam.example>\r\n"));
    }
    batch.push_str("DATA\r\n");
    c.send(batch.as_bytes());
    assert_eq!(c.reply().code, 250);
    for i in 0..100 {
        let r = c.reply();
        if i == 57 {
            assert_eq!(r.code, 550, "rcpt {i}: {r:?}");
            assert!(r.text().contains("user57@"), "{r:?}");
        } else {
            assert_eq!(r.code, 250, "rcpt {i}: {r:?}");
        }
    }
    assert_eq!(c.reply().code, 354);
    c.send(&dot_stuff(b"Subject: many\r\n\r\nhello all\r\n"));
    assert_eq!(c.reply().code, 250);
    let got = cap.wait_messages(1);
    let rcpts = got[0].rcpts();
    assert_eq!(rcpts.len(), 99);
    assert!(!rcpts.contains(&"user57@fabrikam.example".to_string()));
}

#[test]
fn bdat_upstream_becomes_data_downstream() {
    // aiosmtpd offers no CHUNKING, so cordon must convert.
    let cap = Capture::start(&[]);
    let gw = Gateway::start(&Cfg::new(&cap.smarthost()));
    let mut c = gw.client();
    let ehlo = c.hello();
    assert!(ehlo.lines.iter().any(|l| l == "CHUNKING"));
    let m = make_message(150_000, "chunked");
    let (a, b) = m.split_at(70_001);
    // Envelope, first chunk and second chunk pipelined in one write, as Exchange Online does.
    let mut w = format!(
        "MAIL FROM:<alice@contoso.com>\r\nRCPT TO:<bob@fabrikam.example>\r\nBDAT {}\r\n",
        a.len()
    )
    .into_bytes();
    w.extend_from_slice(a);
    w.extend_from_slice(format!("BDAT {} LAST\r\n", b.len()).as_bytes());
    w.extend_from_slice(b);
    c.send(&w);
    assert_eq!(c.reply().code, 250);
    assert_eq!(c.reply().code, 250);
    let r = c.reply();
    assert_eq!(r.code, 250, "{r:?}");
    assert!(r.text().contains("70001 octets"), "{r:?}");
    let r = c.reply();
    assert_eq!(r.code, 250, "{r:?}");
    assert!(
        r.text().contains("queued as"),
        "final reply must be the smart host's: {r:?}"
    );
    let got = cap.wait_messages(1);
    let (_, rest) = got[0].split_stamp("X-Cordon-Inspected");
    assert!(rest == m, "BDAT message changed on the way");
}

#[test]
fn bdat_errors_keep_the_session_in_sync() {
    let cap = Capture::start(&[]);
    let gw = Gateway::start(&Cfg::new(&cap.smarthost()));
    let mut c = gw.client();
    c.hello();
    // BDAT without MAIL: the chunk is still read (RFC 3030), then refused.
    c.send(b"BDAT 5 LAST\r\nhello");
    let r = c.reply();
    assert_eq!(r.code, 503, "{r:?}");
    // DATA after BDAT in one transaction is refused too, and RSET is relayed.
    assert_eq!(c.cmd("MAIL FROM:<a@contoso.com>").code, 250);
    assert_eq!(c.cmd("RCPT TO:<b@fabrikam.example>").code, 250);
    c.send(b"BDAT 4\r\nab\r\n");
    assert_eq!(c.reply().code, 250);
    assert_eq!(c.cmd("DATA").code, 503);
    assert_eq!(c.cmd("RSET").code, 250);
    // A bare LF inside a chunk is refused (it would be smuggling once converted to DATA).
    assert_eq!(c.cmd("MAIL FROM:<a@contoso.com>").code, 250);
    assert_eq!(c.cmd("RCPT TO:<b@fabrikam.example>").code, 250);
    c.send(b"BDAT 13 LAST\r\nSubject: x\n\nx");
    let r = c.reply();
    assert_eq!(r.code, 550, "{r:?}");
    assert!(cap.messages().is_empty());
}

#[test]
fn size_limits() {
    let cap = Capture::start(&[]);
    let mut cfg = Cfg::new(&cap.smarthost());
    cfg.max_message_size = "100KiB".into();
    let gw = Gateway::start(&cfg);
    let mut c = gw.client();
    let ehlo = c.hello();
    assert!(ehlo.lines.iter().any(|l| l == "SIZE 102400"), "{ehlo:?}");
    let r = c.cmd("MAIL FROM:<a@contoso.com> SIZE=200000");
    assert_eq!(r.code, 552, "{r:?}");
    assert!(r.text().starts_with("5.3.4"));
    // A body that turns out too big is refused after it is read, and the session goes on.
    assert_eq!(c.cmd("MAIL FROM:<a@contoso.com> SIZE=1000").code, 250);
    assert_eq!(c.cmd("RCPT TO:<b@fabrikam.example>").code, 250);
    assert_eq!(c.cmd("DATA").code, 354);
    c.send(&dot_stuff(&make_message(150 << 10, "too big")));
    let r = c.reply();
    assert_eq!(r.code, 552, "{r:?}");
    assert!(r.text().starts_with("5.3.4"));
    assert_eq!(
        c.send_mail(
            "a@contoso.com",
            &["b@fabrikam.example"],
            &make_message(50 << 10, "fits")
        )
        .code,
        250
    );
    let got = cap.wait_messages(1);
    assert!(got[0].text().contains("Subject: fits"));
    assert_eq!(cap.messages().len(), 1);
}
