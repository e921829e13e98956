//! Issue 20 item 4 against the running gateway: the same card numbers sent in several
//! messages over real SMTP are counted by `cordonctl incidents repeats` (distinct values seen
//! in two messages or more, and the messages that carried them) from the keyed value tags in
//! the incident journal, and no card number is in the state directory, the log, the incidents
//! or the answer; the counts survive a restart (they are read from the journal).

use std::path::Path;

use cordon_tests::*;

const RULES: &str = r#"
[[rule]]
name = "any-card"
match = "credit_card"
min_count = 1
action = "block"
reply = "550 5.7.1 Message blocked: it contains payment card numbers"
"#;

/// Luhn-valid cards as written in the messages; `DIGITS` below are the same numbers.
const A: &str = "4556 5260 1815 9081";
const B: &str = "5425 3016 6131 8608";
const C: &str = "4929 9139 0996 0308";
const D: &str = "2221 8246 2819 4823";

fn send(gw: &Gateway, subject: &str, body: &str) -> u16 {
    gw.send_text("carol@contoso.com", subject, body).code
}

fn repeats(socket: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--json", "incidents", "repeats"];
    all.extend_from_slice(args);
    let (code, out) = ctl(socket, &all);
    assert_eq!(code, 0, "{out}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// None of the cards, grouped or as bare digits, in `hay`.
fn assert_no_card(what: &str, hay: &[u8]) {
    for card in [A, B, C, D] {
        for form in [card.to_string(), card.replace(' ', "")] {
            assert!(
                !hay.windows(form.len()).any(|w| w == form.as_bytes()),
                "{what} holds the card {form}"
            );
        }
    }
}

#[test]
fn the_same_cards_in_several_messages_are_counted_without_storing_them() {
    let cap = Capture::start(&[]);
    let dir = TempDir::new("repeats");
    let mut cfg = Cfg::new(&cap.smarthost());
    cfg.max_sessions = 4;
    cfg.extra = RULES.to_string();
    let socket = cfg.control_in(dir.path());
    let path = dir.path().join("cordon.toml");
    std::fs::write(&path, cfg.render()).unwrap();
    let gw = Gateway::start_file(&path, &cfg, &[]);
    gw.wait_log("config port listening");

    // A and B leave in three messages (written three ways), C once, D once.
    let dashed = |c: &str| c.replace(' ', "-");
    let bare = |c: &str| c.replace(' ', "");
    let bodies = [
        format!("the cards: {A} and {B}"),
        format!("again {} / {} and a new one {C}", dashed(A), dashed(B)),
        format!(
            "last time, payment card {} exp 09/29, card {} exp 10/28",
            bare(A),
            bare(B)
        ),
        format!("unrelated card {D}"),
    ];
    for (i, body) in bodies.iter().enumerate() {
        assert_eq!(send(&gw, &format!("m{i}"), body), 550, "message {i}");
    }

    let r = repeats(&socket, &[]);
    assert_eq!(r["messages"], 4, "{r}");
    assert_eq!(r["complete"], true, "{r}");
    let card = &r["detectors"][0];
    assert_eq!(card["detector"], "credit_card", "{r}");
    assert_eq!(card["distinct"], 4, "A, B, C, D: {r}");
    assert_eq!(card["repeated"], 2, "A and B: {r}");
    assert_eq!(card["repeat_messages"], 3, "{r}");
    assert_eq!(card["messages"], 4, "{r}");
    // The documented schema (docs/config-port.md, "Repeated values").
    let keys = |v: &serde_json::Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(
        keys(card),
        [
            "detector",
            "distinct",
            "messages",
            "repeat_messages",
            "repeated"
        ]
    );
    assert_eq!(
        keys(&r["top"][0]),
        [
            "detector",
            "first_unix",
            "incidents",
            "last_unix",
            "messages",
            "tag"
        ]
    );
    assert_eq!(keys(&r["top"][0]["incidents"][0]), ["seq", "worker"]);
    let top = r["top"].as_array().unwrap();
    assert_eq!(top.len(), 2, "{r}");
    for v in top {
        assert_eq!(v["messages"], 3, "{v}");
        assert_eq!(v["incidents"].as_array().map(Vec::len), Some(3), "{v}");
    }
    assert_ne!(top[0]["tag"], top[1]["tag"]);

    // The sentence the admin reads.
    let (code, text) = ctl(&socket, &["incidents", "repeats"]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("credit_card: the same 2 values left in 3 messages in the incident journals"),
        "{text}"
    );
    // A window after the messages counts nothing; a detector filter keeps only its own.
    let later = repeats(&socket, &["--since", "2099-01-01T00:00:00Z"]);
    assert_eq!(later["messages"], 0, "{later}");
    assert_eq!(later["detectors"], serde_json::json!([]), "{later}");
    let other = repeats(&socket, &["--detector", "iban"]);
    assert_eq!(other["messages"], 0, "{other}");

    // Read from the journal: a restart keeps the counts.
    let logs = gw.terminate_logs();
    let gw = Gateway::start_file(&path, &cfg, &[]);
    gw.wait_log("config port listening");
    let again = repeats(&socket, &[]);
    assert_eq!(again["detectors"], r["detectors"], "{again}");
    let incidents = ctl(&socket, &["--json", "incidents"]).1;
    let logs = format!("{logs}{}", gw.terminate_logs());

    // No card in clear anywhere the appliance writes or answers. The grep finds a card where
    // one is (the captured mail), so its silence means something.
    let delivered: Vec<u8> = bodies.concat().into_bytes();
    assert!(std::panic::catch_unwind(|| assert_no_card("the bodies", &delivered)).is_err());
    let state = dir.path().join("state");
    assert!(files_under(&state)
        .iter()
        .any(|(p, _)| p.to_string_lossy().contains("incidents")));
    for (p, bytes) in files_under(&state) {
        assert_no_card(&p.display().to_string(), &bytes);
    }
    assert_no_card("the gateway's log", logs.as_bytes());
    assert_no_card("cordonctl --json incidents", incidents.as_bytes());
    assert_no_card("cordonctl incidents repeats", text.as_bytes());
    assert_no_card(
        "cordonctl --json incidents repeats",
        r.to_string().as_bytes(),
    );
}
