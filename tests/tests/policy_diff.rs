//! Issue 21 item 5 against the running gateway: `cordonctl policy diff NEW.toml --corpus DIR`
//! replays a corpus of 50 messages on the appliance under the running policy and a tightened
//! one and prints exactly the messages whose verdict changes; `config apply --max-changes N
//! --corpus DIR` over N changes is refused and leaves the running config as it was, and under
//! N it applies, after which the same diff finds nothing left to change.

use std::path::Path;

use cordon_tests::*;

/// The running policy: an SSN rule that tags only from three SSNs on, and a card rule.
const RUNNING: &str = r#"
[[rule]]
name = "block-cards"
match = "credit_card"
min_count = 5
action = "block"

[[rule]]
name = "tag-ssn"
match = "us_ssn"
min_count = 3
action = "tag"
"#;

/// Distinct SSNs the `us_ssn` detector accepts.
const SSNS: [&str; 3] = ["536-22-8190", "287-65-4321", "349-71-2268"];

/// What message `i` of the corpus carries, and whether tightening `tag-ssn` to one SSN changes
/// its verdict (deliver -> tag).
fn body(i: usize) -> (String, bool) {
    match i % 5 {
        0 => (format!("Lunch on Friday? ({i})"), false),
        1 => (format!("employee SSN {}", SSNS[0]), true),
        2 => (
            format!("SSNs: {}, {}, {}", SSNS[0], SSNS[1], SSNS[2]),
            false,
        ),
        3 => (format!("card numbers: {CARDS}"), false),
        _ => (format!("SSNs: {} and {}", SSNS[1], SSNS[2]), true),
    }
}

/// Writes the 50-message corpus; returns the names whose verdict the tightening changes.
fn write_corpus(dir: &Path) -> Vec<String> {
    std::fs::create_dir_all(dir).unwrap();
    // Not part of the corpus: only *.eml files are replayed.
    std::fs::write(dir.join("README.txt"), "SSN 536-22-8190\n").unwrap();
    let mut changed = Vec::new();
    for i in 0..50 {
        let (text, changes) = body(i);
        let name = format!("msg-{i:02}.eml");
        let eml = format!("From: alice@contoso.com\r\nTo: bob@fabrikam.example\r\nSubject: corpus {i}\r\nMessage-ID: <corpus-{i}@contoso.com>\r\n\r\n{text}\r\n");
        std::fs::write(dir.join(&name), eml).unwrap();
        if changes {
            changed.push(name);
        }
    }
    changed
}

#[test]
fn a_tightened_rule_changes_exactly_the_messages_it_should_and_max_changes_guards_the_apply() {
    let smarthost = FakeSmarthost::start(FakeBehaviour::Accept);
    let dir = TempDir::new("policy-diff");
    let mut cfg = Cfg::new(&smarthost.smarthost());
    cfg.max_sessions = 4;
    cfg.extra = RUNNING.to_string();
    let socket = cfg.control_in(dir.path());
    let gw = Gateway::start(&cfg);
    gw.wait_log("config port listening");

    let corpus = dir.path().join("corpus");
    let expected = write_corpus(&corpus);
    assert_eq!(expected.len(), 20);
    let corpus_arg = corpus.display().to_string();
    let (code, running) = ctl(&socket, &["config", "get"]);
    assert_eq!(code, 0, "{running}");
    let tightened = running.replace("min_count = 3", "min_count = 1");
    assert_ne!(tightened, running);
    let new = dir.path().join("new.toml");
    std::fs::write(&new, &tightened).unwrap();
    let new_arg = new.display().to_string();

    // The table: a summary line, a title line, one row per changed message, in corpus order.
    let (code, out) = ctl(
        &socket,
        &["policy", "diff", &new_arg, "--corpus", &corpus_arg],
    );
    assert_eq!(code, 0, "{out}");
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some(
            format!("20 of 50 messages change verdict under {new_arg} (running generation 1)")
                .as_str()
        ),
        "{out}"
    );
    assert_eq!(
        lines
            .next()
            .map(|l| l.split_whitespace().collect::<Vec<_>>()),
        Some(vec!["MESSAGE", "RUNNING", "CANDIDATE"])
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split_whitespace().collect()).collect();
    let names: Vec<&str> = rows.iter().map(|r| r[0]).collect();
    assert_eq!(names, expected, "{out}");
    for r in &rows {
        assert_eq!(r[1..], ["deliver", "tag", "(tag-ssn)"], "{out}");
    }

    // The same diff as JSON.
    let (code, out) = ctl(
        &socket,
        &[
            "--json",
            "policy",
            "diff",
            &new_arg,
            "--corpus",
            &corpus_arg,
        ],
    );
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).expect(&out);
    assert_eq!(v["messages"], 50);
    assert_eq!(v["changed"], 20);
    assert_eq!(v["generation"], 1);
    let changes = v["changes"].as_array().unwrap();
    let json_names: Vec<&str> = changes
        .iter()
        .map(|c| c["message"].as_str().unwrap())
        .collect();
    assert_eq!(json_names, expected);
    assert_eq!(
        changes[0]["running"],
        serde_json::json!({ "action": "deliver", "rule": null, "scan_error": null })
    );
    assert_eq!(
        changes[0]["candidate"],
        serde_json::json!({ "action": "tag", "rule": "tag-ssn", "scan_error": null })
    );

    // A candidate the appliance refuses is reported like `config check`, and nothing runs.
    let broken = dir.path().join("broken.toml");
    std::fs::write(
        &broken,
        running.replace("min_count = 3", "min_count = \"x\""),
    )
    .unwrap();
    let broken_arg = broken.display().to_string();
    let (code, out) = ctl(
        &socket,
        &["policy", "diff", &broken_arg, "--corpus", &corpus_arg],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("{broken_arg}:")), "{out}");
    assert!(out.contains("min_count"), "{out}");

    // Over --max-changes: refused, the changes printed, the apply never sent.
    let (code, out) = ctl(
        &socket,
        &[
            "config",
            "apply",
            &new_arg,
            "--max-changes",
            "19",
            "--corpus",
            &corpus_arg,
        ],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("cordonctl: refused: the new policy changes 20 verdicts of the corpus, more than --max-changes 19; the running config is unchanged"),
        "{out}"
    );
    assert!(out.contains("msg-01.eml"), "{out}");
    let (code, after) = ctl(&socket, &["config", "get"]);
    assert_eq!(code, 0);
    assert_eq!(after, running, "the running config must be unchanged");
    let (_, status) = ctl(&socket, &["--json", "status"]);
    let status: serde_json::Value = serde_json::from_str(&status).expect(&status);
    assert_eq!(status["config_generation"], 1);

    // At --max-changes: applied, expecting the generation the diff ran against.
    let (code, out) = ctl(
        &socket,
        &[
            "config",
            "apply",
            &new_arg,
            "--max-changes",
            "20",
            "--corpus",
            &corpus_arg,
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out,
        format!("20 of 50 messages change verdict (at most 20 allowed)\napplied {new_arg} as generation 2\n")
    );
    // The diff predicted the applied policy: nothing is left to change.
    let (code, out) = ctl(
        &socket,
        &["policy", "diff", &new_arg, "--corpus", &corpus_arg],
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out,
        format!("0 of 50 messages change verdict under {new_arg} (running generation 2)\n")
    );
}
