//! Message buffers in size classes (issue 16) through the real binary over TCP: the start line
//! names each class, a SIZE that no free class holds hears `452 4.3.1` while smaller mail
//! flows, and a message that outgrows its class with nothing larger free is refused with
//! `452` at the end of its data, with nothing relayed; `cordonctl status` shows the classes
//! and their use. The in-memory cases are in
//! `gateway/proxy/tests/slots.rs`.

use cordon_tests::*;

fn text_of(kib: usize, subject: &str) -> Vec<u8> {
    let mut m = format!(
        "From: alice@contoso.com\r\nTo: bob@fabrikam.example\r\nSubject: {subject}\r\n\r\n"
    )
    .into_bytes();
    while m.len() < kib << 10 {
        m.extend_from_slice(b"plain words for a plain message, nothing to find here at all\r\n");
    }
    m
}

#[test]
fn slot_classes_refuse_with_452_what_no_free_buffer_holds_and_serve_the_rest() {
    let cap = Capture::start(&[]);
    let mut cfg = Cfg::new(&cap.smarthost());
    cfg.max_message_size = "1MiB".into();
    cfg.max_sessions = 4;
    cfg.gateway_extra = "slot_classes = [\"2 x 64KiB\", \"1 x 1MiB\"]\n".into();
    let dir = TempDir::new("slots");
    let socket = cfg.control_in(dir.path());
    let gw = Gateway::start(&cfg);
    gw.wait_log("cordon started");
    let logs = gw.logs();
    assert!(
        logs.contains("4 sessions x 432 KiB + 2 x (64 KiB message + 5120 KiB scanner) + 1 x (1024 KiB message + 5120 KiB scanner)"),
        "{logs}"
    );

    // A declares a large message and holds the only large buffer.
    let mut a = gw.client();
    a.hello();
    assert_eq!(a.cmd("MAIL FROM:<alice@contoso.com> SIZE=900000").code, 250);
    // `status` shows the classes and that the large one is full.
    let (code, status) = ctl(&socket, &["status"]);
    assert_eq!(code, 0, "{status}");
    assert!(
        status.contains("\nbuffers     2 x 64 KiB, 1 x 1 MiB (1 in use: full)\n"),
        "{status}"
    );
    let (_, json) = ctl(&socket, &["--json", "status"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        v["buffers"],
        serde_json::json!([
            {"size": 65536, "count": 2, "in_use": 0},
            {"size": 1048576, "count": 1, "in_use": 1}
        ])
    );
    // B's large SIZE waits; its small message does not.
    let mut b = gw.client();
    b.hello();
    let r = b.cmd("MAIL FROM:<alice@contoso.com> SIZE=900000");
    assert_eq!(r.code, 452, "{r:?}");
    assert!(r.text().starts_with("4.3.1 "), "{r:?}");
    let r = b.send_mail(
        "alice@contoso.com",
        &["bob@fabrikam.example"],
        &text_of(2, "small"),
    );
    assert_eq!(r.code, 250, "{r:?}");
    // B again, without SIZE, with a message that outgrows the 64 KiB class: refused at the end
    // of its data, nothing relayed.
    let r = b.send_mail(
        "alice@contoso.com",
        &["bob@fabrikam.example"],
        &text_of(300, "outgrows"),
    );
    assert_eq!(r.code, 452, "{r:?}");
    assert!(r.text().starts_with("4.3.1 "), "{r:?}");
    // A's large message goes through whole.
    assert_eq!(a.cmd("RCPT TO:<bob@fabrikam.example>").code, 250);
    assert_eq!(a.cmd("DATA").code, 354);
    let big = text_of(800, "large");
    a.send(&dot_stuff(&big));
    assert_eq!(a.reply().code, 250);
    // Now B's message that outgrew its class moves to the free large buffer.
    let r = b.send_mail(
        "alice@contoso.com",
        &["bob@fabrikam.example"],
        &text_of(300, "outgrows again"),
    );
    assert_eq!(r.code, 250, "{r:?}");
    let got = cap.wait_messages(3);
    let subjects: Vec<String> = got
        .iter()
        .map(|m| {
            let t = m.text();
            t.lines()
                .find_map(|l| l.strip_prefix("Subject: ").map(str::to_string))
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(subjects, ["small", "large", "outgrows again"]);
    assert!(got[1].raw.ends_with(&big[big.len() - 1000..]));
}

/// Under `cordon supervise` the classes are dealt to the workers, and one worker's `status`
/// sums every worker's buffers (the others' from their metric slots).
#[test]
fn status_under_the_supervisor_sums_every_workers_buffers() {
    let cap = Capture::start(&[]);
    let dir = TempDir::new("slots-supervise");
    let mut cfg = Cfg::new(&cap.smarthost());
    cfg.max_message_size = "1MiB".into();
    cfg.max_sessions = 8;
    cfg.gateway_extra = "slot_classes = [\"5 x 64KiB\", \"3 x 1MiB\"]\n".into();
    let socket = cfg.control_in(dir.path());
    let path = dir.path().join("cordon.toml");
    std::fs::write(&path, cfg.render()).unwrap();
    let _guard = Supervised::start(&path);
    // Until both workers have published their classes (each refreshes once a second).
    let status = wait_until("both workers' buffers in status", STEP, || {
        let (code, out) = ctl(&socket, &["status"]);
        (code == 0 && out.contains("\nbuffers     5 x 64 KiB, 3 x 1 MiB\n")).then_some(out)
    });
    assert!(status.contains("\nWORKER"), "{status}");
}
