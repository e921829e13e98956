//! Issue 18's log tail against the running gateway: `cordonctl log` reads the lines the
//! gateway logged (what a shell would find in the journal) over the config port, filters them
//! by level and follows new ones; under `cordon supervise` one port shows the supervisor's
//! lines and every worker's.

use std::process::Command;

use cordon_tests::*;

/// `cordonctl --json log ARGS`, one object per line.
fn log_json(socket: &std::path::Path, args: &[&str]) -> Vec<serde_json::Value> {
    let mut all = vec!["--json", "log"];
    all.extend_from_slice(args);
    let (code, out) = ctl(socket, &all);
    assert_eq!(code, 0, "{out}");
    out.lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

fn texts(lines: &[serde_json::Value]) -> Vec<String> {
    lines
        .iter()
        .map(|l| l["text"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_gateways_own_log_is_read_filtered_and_followed_over_the_port() {
    let cap = Capture::start(&[]);
    let dir = TempDir::new("log");
    let mut cfg = Cfg::new(&cap.smarthost());
    let socket = cfg.control_in(dir.path());
    let gw = Gateway::start(&cfg);
    gw.wait_log("config port listening");

    // What the gateway printed at start is in the tail, message first, then its fields.
    let all = log_json(&socket, &["-n", "200"]);
    let t = texts(&all);
    assert!(
        t.iter()
            .any(|l| l.starts_with("config port listening socket=")),
        "{t:?}"
    );
    assert!(
        t.iter()
            .any(|l| l.starts_with("cordon started; memory budget ")),
        "{t:?}"
    );
    assert!(all.iter().all(|l| l["source"] == "worker0"), "{all:?}");
    let times: Vec<u64> = all.iter().map(|l| l["time_ms"].as_u64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    assert!(all
        .iter()
        .all(|l| l["level"] == "info" || l["level"] == "warn"));

    // -n keeps the newest; --level error drops every info line.
    assert_eq!(log_json(&socket, &["-n", "1"]).len(), 1);
    let errors = log_json(&socket, &["--level", "error"]);
    assert!(errors.iter().all(|l| l["level"] == "error"), "{errors:?}");

    // The plain form: time, source, level, text.
    let (code, out) = ctl(&socket, &["log", "-n", "3"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(
        out.lines()
            .all(|l| l.contains("Z worker0 ") && l.len() > 40),
        "{out}"
    );

    // Follow: a line logged after cordonctl started arrives without asking again. A SIGHUP
    // reload logs one. The lines are read on a thread so the wait is bounded.
    let mut follow = Follow::spawn(&socket, &["--json", "log", "-n", "1", "--follow"]);
    follow.wait_for("the follow's first line", |seen| !seen.is_empty());
    let status = Command::new("kill")
        .args(["-HUP", &gw.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    follow.wait_for("the reload's line in the follow", |seen| {
        seen.iter()
            .any(|l| l.contains("SIGHUP: configuration reloaded"))
    });
}

#[test]
fn under_the_supervisor_one_port_shows_the_supervisor_and_every_worker() {
    let cap = Capture::start(&[]);
    let dir = TempDir::new("log-supervise");
    let mut cfg = Cfg::new(&cap.smarthost());
    let socket = cfg.control_in(dir.path());
    let path = dir.path().join("cordon.toml");
    std::fs::write(&path, cfg.render()).unwrap();
    let _guard = Supervised::start(&path);
    let all = wait_until("the supervisor's ready line and both workers", STEP, || {
        if ctl(&socket, &["status"]).0 != 0 {
            return None;
        }
        let all = log_json(&socket, &["-n", "500"]);
        let sources: std::collections::BTreeSet<String> = all
            .iter()
            .map(|l| l["source"].as_str().unwrap().to_owned())
            .collect();
        let ready = texts(&all)
            .iter()
            .any(|t| t.starts_with("all workers up; ready"));
        (ready && sources.len() == 3).then_some(all)
    });
    let sources: std::collections::BTreeSet<&str> =
        all.iter().map(|l| l["source"].as_str().unwrap()).collect();
    assert_eq!(
        sources,
        ["supervisor", "worker0", "worker1"].into_iter().collect(),
        "{all:?}"
    );
    let times: Vec<u64> = all.iter().map(|l| l["time_ms"].as_u64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
}
