//! Issue 18's message trace against the running gateway: every message the workers judged,
//! clean ones included, with its verdict, the deciding rule and why, read over the config
//! port (`cordonctl trace`); under `cordon supervise` one worker's port lists the messages of
//! every worker (the trace lives in the shared metric region).

use cordon_tests::*;

fn message(subject: &str, body: &str) -> Vec<u8> {
    format!("From: alice@contoso.com\r\nTo: bob@fabrikam.example\r\nSubject: {subject}\r\nMessage-ID: <{subject}@contoso.com>\r\n\r\n{body}\r\n").into_bytes()
}

fn send(gw: &Gateway, subject: &str, body: &str) -> u16 {
    gw.send_text("alice@contoso.com", subject, body).code
}

/// `cordonctl --json trace ARGS`, one object per message.
fn trace_json(socket: &std::path::Path, args: &[&str]) -> Vec<serde_json::Value> {
    let mut all = vec!["--json", "trace"];
    all.extend_from_slice(args);
    let (code, out) = ctl(socket, &all);
    assert_eq!(code, 0, "{out}");
    out.lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

#[test]
fn every_message_is_traced_with_its_verdict_rule_and_reason() {
    let cap = Capture::start(&[]);
    let dir = TempDir::new("trace");
    let mut cfg = Cfg::new(&cap.smarthost());
    cfg.max_sessions = 4;
    cfg.extra = BLOCK_CARDS_QUARANTINE_SSN.to_string();
    let socket = cfg.control_in(dir.path());
    let gw = Gateway::start(&cfg);
    gw.wait_log("config port listening");
    assert_eq!(send(&gw, "clean", "lunch at noon"), 250);
    assert_eq!(send(&gw, "cards", &format!("cards {CARDS}")), 550);
    assert_eq!(send(&gw, "ssn", "employee SSN 536-22-8190"), 250);

    let t = trace_json(&socket, &[]);
    let summary: Vec<(&str, Option<&str>, &str)> = t
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["rule"].as_str(),
                e["message_id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("deliver", None, "<clean@contoso.com>"),
            ("block", Some("block-cards"), "<cards@contoso.com>"),
            ("quarantine", Some("quarantine-ssn"), "<ssn@contoso.com>"),
        ]
    );
    assert_eq!(t[0]["reason"], "no rule matched; nothing found");
    assert_eq!(t[1]["reason"], "rule block-cards matched; credit_card=5");
    assert_eq!(t[2]["reason"], "rule quarantine-ssn matched; us_ssn=1");
    assert_eq!(t[0]["sender"], "alice@contoso.com");
    assert!(t.iter().all(|e| e["bytes"].as_u64().unwrap() > 100));

    // The newest only, and the table.
    let last = trace_json(&socket, &["--limit", "1"]);
    assert_eq!(last.len(), 1);
    assert_eq!(last[0]["action"], "quarantine");
    let (code, out) = ctl(&socket, &["trace"]);
    assert_eq!(code, 0, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("ID") && lines[0].contains("REASON"),
        "{out}"
    );
    assert!(
        lines[2].contains("block") && lines[2].contains("block-cards"),
        "{out}"
    );

    // Follow: the messages so far, then a new one without asking again. The lines are read on
    // a thread of their own so the wait is bounded.
    let mut follow = Follow::spawn(&socket, &["--json", "trace", "--follow"]);
    follow.wait_for("the follow's first lines", |seen| seen.len() >= 3);
    assert_eq!(send(&gw, "later", "see you"), 250);
    follow.wait_for("the new message in the follow", |seen| {
        seen.iter().any(|l| l.contains("<later@contoso.com>"))
    });
    let seen = &follow.seen;
    assert!(
        seen[..3].iter().any(|l| l.contains("<clean@contoso.com>")),
        "{seen:?}"
    );
}

#[test]
fn under_the_supervisor_one_port_traces_every_worker() {
    let cap = Capture::start(&[]);
    let dir = TempDir::new("trace-supervise");
    let mut cfg = Cfg::new(&cap.smarthost());
    let socket = cfg.control_in(dir.path());
    let path = dir.path().join("cordon.toml");
    std::fs::write(&path, cfg.render()).unwrap();
    let _guard = Supervised::start(&path);
    wait_until("the config port", STEP, || {
        (ctl(&socket, &["status"]).0 == 0).then_some(())
    });
    // Until both workers have judged a message (the second may still be starting): bounded.
    let mut sent = 0;
    let t = wait_until("messages on both workers", STEP, || {
        for _ in 0..4 {
            let r = Client::try_transaction(
                cfg.listen,
                "alice@contoso.com",
                &["bob@fabrikam.example"],
                &message(&format!("s{sent}"), "nothing sensitive"),
            );
            assert_eq!(r.map(|r| r.code), Some(250), "message {sent}");
            sent += 1;
        }
        let t = trace_json(&socket, &["--limit", "500"]);
        let workers: std::collections::BTreeSet<u64> =
            t.iter().map(|e| e["worker"].as_u64().unwrap()).collect();
        (workers.len() == 2 || sent >= 200).then_some(t)
    });
    // Every message, from both workers' rings, through one port.
    assert_eq!(t.len(), sent, "{t:?}");
    let workers: std::collections::BTreeSet<u64> =
        t.iter().map(|e| e["worker"].as_u64().unwrap()).collect();
    assert_eq!(workers.len(), 2, "{sent} messages, all on one worker");
    let times: Vec<u64> = t.iter().map(|e| e["time_ms"].as_u64().unwrap()).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "oldest first: {times:?}"
    );
}
