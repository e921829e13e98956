//! Issue 12: deadlines against slow clients (item 3), long DSN lines (7), a smart host that
//! never greets (8), SIGTERM at a command boundary (9), and the small contract breaks of item
//! 10. Every deadline here is configured short, so nothing waits for minutes.

// Plain threads and blocking sockets, not tokio: sleeping between dripped bytes is the point.
#![allow(clippy::disallowed_methods)]

use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use cordon_tests::faulty::{Fault, FaultySmarthost, Step};
use cordon_tests::*;

fn gateway_with(cap: &Capture, timeouts: &[(&str, &str)]) -> Gateway {
    let mut cfg = Cfg::new(&cap.smarthost());
    cfg.timeouts = timeouts
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Gateway::start(&cfg)
}

/// Writes `bytes` one octet every `gap` until the server answers or closes; returns the reply.
fn drip(c: &mut Client, bytes: &[u8], gap: Duration) -> Option<Reply> {
    c.stream.set_nonblocking(false).expect("blocking socket");
    for b in bytes {
        if std::io::Write::write_all(&mut c.stream, &[*b]).is_err() {
            break;
        }
        std::thread::sleep(gap);
        // A reply (the 421) may already be waiting.
        c.stream
            .set_read_timeout(Some(Duration::from_millis(1)))
            .ok();
        let mut probe = [0u8; 1];
        let waiting = matches!(c.stream.peek(&mut probe), Ok(n) if n > 0);
        c.stream.set_read_timeout(Some(STEP)).ok();
        if waiting {
            break;
        }
    }
    c.try_reply()
}

fn assert_421(r: Option<Reply>, why: &str) {
    let r = r.expect("a reply before the close");
    assert_eq!(r.code, 421, "{r:?}");
    assert!(r.text().starts_with("4.4.2 "), "{r:?}");
    assert!(r.text().contains(why), "{r:?}");
}

#[test]
fn a_dripping_command_is_cut_at_the_command_deadline_while_others_are_served() {
    let cap = Capture::start(&[]);
    let gw = gateway_with(&cap, &[("command_line", "1s"), ("idle", "5m")]);
    let mut slow = gw.client();
    assert_eq!(slow.reply().code, 220);
    let t0 = Instant::now();
    let dripper = std::thread::spawn(move || {
        let r = drip(
            &mut slow,
            b"EHLO a-very-slow-client.example\r\n",
            Duration::from_millis(100),
        );
        (r, slow.is_closed())
    });
    // Meanwhile a fresh client is served end to end.
    let mut c = gw.client();
    c.hello();
    let r = c.send_mail(
        "alice@contoso.com",
        &["bob@fabrikam.example"],
        &make_message(1 << 10, "meanwhile"),
    );
    assert_eq!(r.code, 250, "{r:?}");
    let (r, closed) = dripper.join().expect("dripper");
    println!("dripping client cut after {:?}", t0.elapsed());
    assert_421(r, "command deadline");
    assert!(closed);
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
}

#[test]
fn a_dripping_message_is_cut_at_the_data_deadline() {
    let cap = Capture::start(&[]);
    let gw = gateway_with(
        &cap,
        &[("data_phase", "1s"), ("idle", "5m"), ("command_line", "5m")],
    );
    let mut c = gw.client();
    c.hello();
    assert_eq!(c.cmd("MAIL FROM:<alice@contoso.com>").code, 250);
    assert_eq!(c.cmd("RCPT TO:<bob@fabrikam.example>").code, 250);
    assert_eq!(c.cmd("DATA").code, 354);
    let t0 = Instant::now();
    let body = make_message(4 << 10, "drip");
    let r = drip(&mut c, &body, Duration::from_millis(50));
    println!("dripping message cut after {:?}", t0.elapsed());
    assert_421(r, "data deadline");
    assert!(c.is_closed());
    assert!(cap.messages().is_empty(), "nothing may be delivered");
}

#[test]
fn a_session_that_only_sends_noop_is_cut_at_the_session_deadline() {
    let cap = Capture::start(&[]);
    let gw = gateway_with(&cap, &[("session", "1s")]);
    let mut c = gw.client();
    c.hello();
    let t0 = Instant::now();
    let last = loop {
        c.send(b"NOOP\r\n");
        match c.try_reply() {
            Some(r) if r.code == 250 => std::thread::sleep(Duration::from_millis(200)),
            other => break other,
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "never cut");
    };
    assert_421(last, "session time limit");
}

#[test]
fn dsn_lines_get_the_room_rfc_3461_adds() {
    let cap = Capture::start(&["--dsn"]);
    let gw = Gateway::start(&Cfg::new(&cap.smarthost()));
    let mut c = gw.client();
    c.hello();
    let local = "a".repeat(60);
    let orcpt = format!("rfc822;{}@{}.example", local, "d".repeat(400));
    let r = c.cmd(&format!(
        "MAIL FROM:<alice@contoso.com> ENVID={}",
        "e".repeat(80)
    ));
    assert_eq!(r.code, 250, "{r:?}");
    let rcpt = format!("RCPT TO:<bob@fabrikam.example> NOTIFY=FAILURE ORCPT={orcpt}");
    assert!(
        rcpt.len() + 2 > 512 && rcpt.len() + 2 <= 1012,
        "{}",
        rcpt.len()
    );
    let r = c.cmd(&rcpt);
    assert_eq!(r.code, 250, "{r:?}");
    // Past the extended limits, and any other command past 512: 500 5.5.2.
    let r = c.cmd(&format!(
        "RCPT TO:<bob@fabrikam.example> ORCPT=rfc822;{}",
        "x".repeat(1000)
    ));
    assert_eq!((r.code, r.text().get(..6)), (500, Some("5.5.2 ")), "{r:?}");
    let r = c.cmd(&format!("NOOP {}", "x".repeat(600)));
    assert_eq!((r.code, r.text().get(..6)), (500, Some("5.5.2 ")), "{r:?}");
    assert!(r.text().contains("longer than 512 octets"), "{r:?}");
}

#[test]
fn a_smart_host_that_never_greets_is_skipped_and_remembered() {
    let cap = Capture::start(&[]);
    let silent = FaultySmarthost::start(false);
    silent.set(Step::Greeting, Some(Fault::Silence));
    let mut cfg = Cfg::new(&silent.smarthost());
    cfg.smarthosts.push(cap.smarthost());
    cfg.timeouts = vec![("greeting".into(), "1s".into())];
    let gw = Gateway::start(&cfg);
    for i in 0..3 {
        let mut c = gw.client();
        c.hello();
        let r = c.send_mail(
            "alice@contoso.com",
            &["bob@fabrikam.example"],
            &make_message(1 << 10, &format!("failover {i}")),
        );
        assert_eq!(r.code, 250, "{r:?}");
        c.cmd("QUIT");
    }
    assert_eq!(cap.wait_messages(3).len(), 3);
    // Only the first session waited for the silent host; the next ones went straight on.
    assert_eq!(silent.connections.load(Ordering::SeqCst), 1);
}

#[test]
fn sigterm_tells_a_session_waiting_for_a_command_421_at_once() {
    let cap = Capture::start(&[]);
    let gw = Gateway::start(&Cfg::new(&cap.smarthost()));
    // One session idle after MAIL, one in the middle of DATA.
    let mut idle = gw.client();
    idle.hello();
    assert_eq!(idle.cmd("MAIL FROM:<alice@contoso.com>").code, 250);
    let mut busy = gw.client();
    busy.hello();
    assert_eq!(busy.cmd("MAIL FROM:<alice@contoso.com>").code, 250);
    assert_eq!(busy.cmd("RCPT TO:<bob@fabrikam.example>").code, 250);
    assert_eq!(busy.cmd("DATA").code, 354);
    busy.send(b"Subject: in flight\r\n\r\nfirst half\r\n");
    let t0 = Instant::now();
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &gw.pid().to_string()])
        .status();
    let r = idle.try_reply().expect("421 before the close");
    println!("idle session told after {:?}: {r:?}", t0.elapsed());
    assert_eq!(r.code, 421, "{r:?}");
    assert!(r.text().starts_with("4.3.2 "), "{r:?}");
    assert!(r.text().contains("shutting down"), "{r:?}");
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert!(idle.is_closed());
    // The message in flight still gets its 250, then the 421 at the next command.
    busy.send(b"second half\r\n.\r\n");
    assert_eq!(busy.reply().code, 250);
    let r = busy.cmd("MAIL FROM:<alice@contoso.com>");
    assert_eq!(r.code, 421, "{r:?}");
    assert!(r.text().starts_with("4.3.2 "), "{r:?}");
    assert_eq!(cap.wait_messages(1).len(), 1);
}

#[test]
fn control_octets_and_eight_bit_addresses_get_exact_replies() {
    let cap = Capture::start(&[]);
    let gw = Gateway::start(&Cfg::new(&cap.smarthost()));
    let mut c = gw.client();
    assert_eq!(c.reply().code, 220);
    c.send(b"EHLO evil\x00host.example\r\n");
    let r = c.reply();
    assert_eq!((r.code, r.text().get(..6)), (501, Some("5.5.2 ")), "{r:?}");
    assert_eq!(c.cmd("EHLO client.test.example").code, 250);
    // 8-bit octets that are not UTF-8: the same refusal for MAIL and RCPT.
    c.send(b"MAIL FROM:<j\xf6rg@contoso.com>\r\n");
    let r = c.reply();
    assert_eq!((r.code, r.text().get(..6)), (553, Some("5.6.7 ")), "{r:?}");
    assert_eq!(c.cmd("MAIL FROM:<alice@contoso.com>").code, 250);
    c.send(b"RCPT TO:<j\xf6rg@fabrikam.example>\r\n");
    let r = c.reply();
    assert_eq!((r.code, r.text().get(..6)), (553, Some("5.6.7 ")), "{r:?}");
    // UTF-8 without SMTPUTF8: the same code.
    let r = c.cmd("RCPT TO:<jörg@fabrikam.example>");
    assert_eq!((r.code, r.text().get(..6)), (553, Some("5.6.7 ")), "{r:?}");
}

#[test]
fn refused_connections_are_logged_once_per_interval() {
    let cap = Capture::start(&[]);
    let mut cfg = Cfg::new(&cap.smarthost());
    cfg.allowed = vec!["127.0.0.1/32".into()];
    let gw = Gateway::start(&cfg);
    let other: IpAddr = "127.0.0.2".parse().unwrap();
    for _ in 0..20 {
        let mut c = Client::connect_from(other, gw.port);
        let r = c.reply();
        assert_eq!((r.code, r.text().get(..6)), (554, Some("5.7.1 ")), "{r:?}");
    }
    gw.wait_log("refused: not in allowed_clients");
    let logs = gw.terminate_logs();
    let lines = logs
        .lines()
        .filter(|l| l.contains("refused: not in allowed_clients"))
        .count();
    assert_eq!(lines, 1, "{logs}");
}

#[test]
fn a_354_after_the_message_is_a_protocol_error_not_a_relayed_message() {
    let host = FaultySmarthost::start(false);
    host.set(
        Step::Final,
        Some(Fault::Reply("354 more please\r\n".into())),
    );
    let gw = Gateway::start(&Cfg::new(&host.smarthost()));
    let mut c = gw.client();
    c.hello();
    let r = c.send_mail(
        "alice@contoso.com",
        &["bob@fabrikam.example"],
        &make_message(1 << 10, "three-five-four"),
    );
    assert_eq!((r.code, r.text().get(..6)), (421, Some("4.4.2 ")), "{r:?}");
    gw.wait_log("message not relayed");
    let logs = gw.terminate_logs();
    assert!(
        !logs.contains("\"message relayed\"") && !logs.contains(" message relayed"),
        "{logs}"
    );
    assert!(
        logs.contains("answered the end of the message with 354"),
        "{logs}"
    );
}
