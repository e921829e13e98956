//! Issue 18's `status` against the running gateway, modelled on `systemctl status`: the state
//! and why it is degraded, where the config came from and whether the file differs, the last
//! apply from the audit trail (who, generation, when), each smart host checked now (one that
//! answers and one that does not), the SMTP certificate's expiry, the journal, the workers
//! and the newest incidents. The text is compared with `tests/golden/status.txt` once what
//! varies between runs (times, pids, ports, paths, sizes, milliseconds) is masked, and so is
//! `incidents show` of the newest incident against `tests/golden/incident-show.txt`;
//! `UPDATE_GOLDEN=1` rewrites it.

use std::path::Path;

use cordon_tests::*;

const RULES: &str = r#"
[[rule]]
name = "quarantine-ssn"
match = "us_ssn"
action = "quarantine"
"#;

/// Masks what differs from run to run, and collapses column padding (widths follow pids).
fn mask(text: &str, subs: &[(&str, &str)]) -> String {
    let mut t = text.to_string();
    for (from, to) in subs {
        t = t.replace(from, to);
    }
    let rules = [
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "<TIME>"),
        (r"\d+ (s|min|h|days?) ago", "<AGO>"),
        (r"in \d+ (s|min|h|days?)", "in <SPAN>"),
        (r"\d+\.\d MiB", "<MiB>"),
        (r"(OK|FAIL) \d+ ms", "$1 <MS> ms"),
        (r"220 [^\n]*", "220 <GREETING>"),
        (r"connect to [^\n]*", "connect to <DEAD>: <ERROR>"),
        (r"(?m)^uptime +.*\(since", "uptime <UPTIME> (since"),
        (r"(?m)^(\d+) +(\S+) +\d+ +", "$1 $2 <PID> "),
        (r" {2,}", "  "),
    ];
    for (re, to) in rules {
        t = regex::Regex::new(re)
            .unwrap()
            .replace_all(&t, to)
            .into_owned();
    }
    t
}

fn golden(name: &str, text: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, text).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        text, expected,
        "{name}: regenerate with UPDATE_GOLDEN=1 and review the diff"
    );
}

#[test]
fn status_answers_the_health_questions_like_systemctl_status() {
    let certs = Certs::new();
    let (cert, key) = certs.issue(&["localhost"]);
    let cap = Capture::start(&[]);
    // A second smart host nobody listens on: checked and reported FAIL, mail still flows
    // through the first.
    let dead = free_port();
    let dir = TempDir::new("status");
    let mut cfg = Cfg::new(&cap.smarthost());
    cfg.smarthosts.push(format!("127.0.0.1:{dead}"));
    cfg.max_sessions = 4;
    cfg.inbound_tls = Some((cert, key, false));
    cfg.extra = RULES.to_string();
    let socket = cfg.control_in(dir.path());
    let gw = Gateway::start(&cfg);
    gw.wait_log("config port listening");
    for i in 0..2 {
        assert_eq!(send_ssn(&gw, &format!("ssn-{i}")), 250);
    }
    // An apply over the socket: the file on disk now differs from the running generation.
    let mut applied = cfg.clone();
    applied.extra = RULES.replace("quarantine-ssn", "hold-ssn");
    let file = dir.path().join("applied.toml");
    std::fs::write(&file, applied.render()).unwrap();
    let (code, out) = ctl(&socket, &["config", "apply", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(send_ssn(&gw, "ssn-2"), 250);

    let (code, out) = ctl(&socket, &["status"]);
    assert_eq!(code, 0, "{out}");
    let config = gw.dir.path().join("cordon.toml");
    let masked = mask(
        &out,
        &[
            (config.to_str().unwrap(), "<CONFIG>"),
            (&format!("127.0.0.1:{}", cfg.listen), "<SMTP>"),
            (&cap.smarthost(), "<SMARTHOST>"),
            (&format!("127.0.0.1:{dead}"), "<DEAD>"),
            (env!("CARGO_PKG_VERSION"), "<VERSION>"),
        ],
    );
    golden("status.txt", &masked);

    // `incidents show` of the newest incident, every field of the record.
    let (code, out) = ctl(&socket, &["incidents", "show", "w0:4"]);
    assert_eq!(code, 0, "{out}");
    let session = regex::Regex::new(r"(?m)^  session     [0-9A-F]+$").unwrap();
    let out = session
        .replace(&out, "  session     <SESSION>")
        .into_owned();
    golden("incident-show.txt", &mask(&out, &[]));

    // The same answers in JSON, for scripts and monitoring.
    let (code, out) = ctl(&socket, &["--json", "status"]);
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["state"], "degraded");
    let problems: Vec<&str> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(
        problems,
        [
            format!("smart host smtp://127.0.0.1:{dead} failing").as_str(),
            "config file differs from the running generation"
        ]
    );
    assert_eq!(v["smarthosts"][0]["ok"], true, "{v}");
    assert!(v["smarthosts"][0]["detail"]
        .as_str()
        .unwrap()
        .starts_with("220 "));
    assert_eq!(v["smarthosts"][1]["ok"], false, "{v}");
    assert_eq!(v["last_apply"]["uid"], 0);
    assert_eq!(v["last_apply"]["generation"], 2);
    assert_eq!(v["file_differs"], true);
    assert_eq!(v["certificate"]["subject"], "CN=localhost");
    let recent: Vec<&str> = v["recent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["rule"].as_str().unwrap())
        .collect();
    assert_eq!(recent, ["hold-ssn", "quarantine-ssn", "quarantine-ssn"]);

    // The config history reads the same trail: the apply, then a rollback on top.
    let (code, out) = ctl(&socket, &["config", "rollback"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = ctl(&socket, &["--json", "config", "history"]);
    assert_eq!(code, 0, "{out}");
    let h: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rows: Vec<(&str, u64)> = h
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["request"].as_str().unwrap(),
                r["generation"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(rows[0].0, "rollback", "{out}");
    assert_eq!(rows[1], ("apply", 2), "{out}");
    let (code, out) = ctl(&socket, &["config", "history"]);
    assert_eq!(code, 0, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("GEN") && lines.len() == 3, "{out}");
    assert!(
        lines[2].contains("uid 0") && lines[2].contains(" apply "),
        "{out}"
    );

    // The running config with every default (postconf), and only what differs (postconf -n).
    let (code, effective) = ctl(&socket, &["config", "get", "--effective"]);
    assert_eq!(code, 0, "{effective}");
    for want in [
        "max_sessions = 4\n",
        "prefault = true\n",
        "data_phase = \"5m\"\n",
        "allowed_uids = [0]\n",
    ] {
        assert!(effective.contains(want), "{want:?} in\n{effective}");
    }
    let (code, changed) = ctl(&socket, &["config", "get", "--changed"]);
    assert_eq!(code, 0, "{changed}");
    assert!(changed.contains("max_sessions = 4\n"), "{changed}");
    assert!(changed.contains("hostname = "), "{changed}");
    assert!(
        !changed.contains("data_phase") && !changed.contains("allowed_uids"),
        "{changed}"
    );
}
