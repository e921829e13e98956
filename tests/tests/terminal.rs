//! Issue 18 in a terminal: an administrator runs `cordonctl` at a shell, so its stdout and
//! stderr are a pseudo-terminal, not the pipes the other behaviour tests read. For each
//! numbered item of the issue the same command runs both ways, and the terminal must receive
//! exactly the pipe's text (no colour, no terminal-width wrapping, no pager, the same exit
//! code), with and without `NO_COLOR`; the lines that answer the item are asserted exactly.

use std::path::Path;

use cordon_tests::*;

/// What changes between two runs a moment apart (memory in use, a round trip's
/// milliseconds, how long ago), so the three runs of one command compare equal.
fn steady(text: &str) -> String {
    let rules = [
        (r"\d+\.\d MiB used", "<MiB> used"),
        (r"(OK|FAIL) \d+ ms", "$1 <MS> ms"),
        (r"\(\d+ (s|min|h|days?) ago\)", "(<AGO>)"),
        (r"uptime      \S+ \S+ \S+", "uptime      <UPTIME>"),
        (r"(resident_bytes\.w\d+) +\d+", "$1 <BYTES>"),
    ];
    let mut t = text.to_owned();
    for (re, to) in rules {
        t = regex::Regex::new(re)
            .unwrap()
            .replace_all(&t, to)
            .into_owned();
    }
    t
}

/// Runs `args` over a pipe and in a terminal (with `NO_COLOR` unset, then set) and returns
/// the text once all three agree.
fn same_in_a_terminal(socket: &Path, args: &[&str]) -> (i32, String) {
    let (code, piped) = ctl(socket, args);
    let (tcode, tty) = ctl_in_terminal(socket, args, &[]);
    assert!(
        !tty.contains('\x1b'),
        "{args:?}: escape sequences in {tty:?}"
    );
    assert_eq!(
        (tcode, steady(&tty)),
        (code, steady(&piped)),
        "{args:?}: terminal vs pipe"
    );
    let (ncode, plain) = ctl_in_terminal(socket, args, &[("NO_COLOR", "1")]);
    assert_eq!(
        (ncode, steady(&plain)),
        (code, steady(&piped)),
        "{args:?}: NO_COLOR"
    );
    (code, piped)
}

const RULES: &str = r#"
[[rule]]
name = "quarantine-ssn"
match = "us_ssn"
action = "quarantine"
"#;

#[test]
fn every_numbered_item_reads_the_same_in_a_terminal() {
    let cap = Capture::start(&[]);
    let dir = TempDir::new("terminal");
    let mut cfg = Cfg::new(&cap.smarthost());
    cfg.max_sessions = 8;
    cfg.extra = RULES.to_string();
    let socket = cfg.control_in(dir.path());
    let gw = Gateway::start(&cfg);
    gw.wait_log("config port listening");
    // An incident from a sender longer than the table's column (item 12).
    let long = "a.very.long.sender.name.that.goes.on.and.on@subsidiary.contoso.com";
    let msg = format!("From: {long}\r\nTo: bob@fabrikam.example\r\nSubject: payroll\r\nMessage-ID: <payroll@contoso.com>\r\n\r\nemployee SSN 536-22-8190\r\n");
    let mut c = gw.client();
    c.hello();
    let r = c.send_mail(long, &["bob@fabrikam.example"], msg.as_bytes());
    assert_eq!(r.code, 250, "{}", r.text());
    c.cmd("QUIT");

    // Items 1 and 10: where the config came from, the listener, human times (item 3).
    let (code, status) = same_in_a_terminal(&socket, &["status"]);
    assert_eq!(code, 0, "{status}");
    assert!(
        status.contains(&format!("\nlisten      127.0.0.1:{}\n", gw.port)),
        "{status}"
    );
    assert!(
        status.contains("\norigin      stored generation 1 runs; the file ")
            && status.contains("\nconfig      generation 1\n"),
        "{status}"
    );
    let rfc3339 = regex::Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").unwrap();
    assert!(rfc3339.is_match(&status), "{status}");

    // Items 2, 3 and 12: the incident says why; its long sender wraps inside its column.
    let (code, list) = same_in_a_terminal(&socket, &["incidents"]);
    assert_eq!(code, 0, "{list}");
    let (header, row) = (list.lines().next().unwrap(), list.lines().nth(1).unwrap());
    assert!(header.starts_with("  ID  TIME"), "{list}");
    assert!(
        row.contains("quarantine-ssn") && rfc3339.is_match(row),
        "{list}"
    );
    // Columns follow their content: the long sender stays whole, in its column.
    assert_eq!(header.find("SENDER"), row.find(long), "{list}");
    let id = list
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let (code, show) = same_in_a_terminal(&socket, &["incidents", "show", &id]);
    assert_eq!(code, 0, "{show}");
    for line in [
        format!("incident {id}"),
        "  kind        dlp".to_owned(),
        "  action      quarantine".to_owned(),
        "  rule        quarantine-ssn".to_owned(),
        format!("  sender      {long}"),
        "  recipients  1: bob@fabrikam.example".to_owned(),
        "  subject     payroll".to_owned(),
        "  message-id  <payroll@contoso.com>".to_owned(),
        "DETECTOR  COUNT  CONFIDENCE  SAMPLES".to_owned(),
        "us_ssn        1  high        ***-**-8190".to_owned(),
    ] {
        assert!(show.lines().any(|l| l == line), "{line:?} in\n{show}");
    }

    // Item 5: JSON is JSON in a terminal too, with the config's lower-case words.
    let (_, json) = same_in_a_terminal(&socket, &["--json", "incidents"]);
    let first: serde_json::Value =
        serde_json::from_str(json.lines().next().unwrap()).expect("JSON");
    assert_eq!(first["action"], "quarantine", "{json}");

    // Item 4: an apply prints the restart-only warning at its line.
    let (_, running) = ctl(&socket, &["config", "get"]);
    let fewer = running.replace("max_sessions = 8", "max_sessions = 6");
    let line = fewer
        .lines()
        .position(|l| l.starts_with("max_sessions = 6"))
        .unwrap()
        + 1;
    let file = dir.path().join("fewer.toml");
    std::fs::write(&file, &fewer).unwrap();
    let f = file.display().to_string();
    let (code, check) = same_in_a_terminal(&socket, &["config", "check", &f]);
    assert_eq!(code, 0, "{check}");
    assert!(
        check.starts_with(&format!(
            "{f}:{line}:1: gateway.max_sessions: warning: changed: takes effect at the next start"
        )),
        "{check}"
    );

    // Items 6 and 7: one scan with an envelope; a bad regex on one line at its key, with no
    // permission hint (item 9).
    let eml = dir.path().join("m.eml");
    std::fs::write(&eml, ssn_message("scan")).unwrap();
    let (code, scan) = same_in_a_terminal(
        &socket,
        &[
            "scan",
            eml.to_str().unwrap(),
            "--from",
            "alice@contoso.com",
            "--to",
            "bob@fabrikam.example",
        ],
    );
    assert_eq!(code, 0, "{scan}");
    assert!(
        scan.contains("quarantine-ssn") && scan.contains("us_ssn"),
        "{scan}"
    );
    let bad = dir.path().join("bad.toml");
    let with_bad =
        format!("{running}\n[[pattern]]\nname = \"ticket\"\nregex = \"TCK-(\\\\d{{6}}\"\n");
    std::fs::write(&bad, &with_bad).unwrap();
    let (code, refused) = same_in_a_terminal(&socket, &["config", "check", bad.to_str().unwrap()]);
    assert_eq!(code, 1, "{refused}");
    let regex_line = with_bad
        .lines()
        .position(|l| l.starts_with("regex = "))
        .unwrap()
        + 1;
    assert!(
        refused.contains(&format!(
            "{}:{regex_line}:9: pattern[0].regex: invalid regex: unclosed group at character 5",
            bad.display()
        )) && !refused.contains("ask an administrator"),
        "{refused}"
    );

    // Item 8: a relative path checks offline (beside the file) but not through the port,
    // which keeps the config in its state directory, and the message says so.
    std::fs::write(dir.path().join("codes.txt"), "blue falcon\n").unwrap();
    let relative = dir.path().join("relative.toml");
    std::fs::write(
        &relative,
        format!("{running}\n[[dictionary]]\nname = \"codes\"\nfile = \"codes.txt\"\n"),
    )
    .unwrap();
    let offline = std::process::Command::new(bin("cordon"))
        .args(["check-config", relative.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(offline.status.success(), "{offline:?}");
    let (code, port) =
        same_in_a_terminal(&socket, &["config", "check", relative.to_str().unwrap()]);
    assert_eq!(code, 1, "{port}");
    assert!(
        port.contains(&format!(
            "dictionary[0].file: cannot read {}/codes.txt: No such file or directory (os error 2); relative paths resolve against the config's own directory (through the config port: its state directory)\n",
            dir.path().join("state").display()
        )),
        "{port}"
    );

    // Item 11: the effective config, the detectors, the trace and the log tail.
    let (code, changed) = same_in_a_terminal(&socket, &["config", "get", "--changed"]);
    assert_eq!(code, 0, "{changed}");
    assert!(changed.contains("max_sessions = 8"), "{changed}");
    let (code, detectors) = same_in_a_terminal(&socket, &["detectors"]);
    assert_eq!(code, 0);
    assert!(
        detectors.lines().any(|l| l.starts_with("us_ssn ")),
        "{detectors}"
    );
    let (code, trace) = same_in_a_terminal(&socket, &["trace"]);
    assert_eq!(code, 0);
    assert!(
        trace.contains("quarantine") && trace.contains("rule quarantine-ssn matched; us_ssn=1"),
        "{trace}"
    );
    let (code, log) = same_in_a_terminal(&socket, &["log", "-n", "3"]);
    assert_eq!(code, 0);
    assert_eq!(log.lines().count(), 3, "{log}");
    let (code, counters) = same_in_a_terminal(&socket, &["counters"]);
    assert_eq!(code, 0);
    assert!(
        counters
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["messages_total.quarantine", "1"]),
        "{counters}"
    );
}

/// Item 12: a follow in a terminal ends, when the gateway stops, with where to resume, not
/// `unexpected end of file`.
#[test]
fn a_follow_in_a_terminal_ends_with_where_to_resume() {
    let cap = Capture::start(&[]);
    let dir = TempDir::new("terminal-follow");
    let mut cfg = Cfg::new(&cap.smarthost());
    cfg.extra = RULES.to_string();
    let socket = cfg.control_in(dir.path());
    let gw = Gateway::start(&cfg);
    gw.wait_log("config port listening");
    assert_eq!(send_ssn(&gw, "seen"), 250);
    let mut follow = Terminal::spawn(&socket, &["--json", "incidents", "--follow"], &[]);
    // Once the follow has printed the backlog (the incident), stop the gateway.
    follow.wait_for("<seen@contoso.com>");
    gw.terminate_logs();
    let (code, out) = follow.finish();
    assert_eq!(code, 3, "{out}");
    let first: serde_json::Value =
        serde_json::from_str(out.lines().next().unwrap()).expect("the incident as JSON");
    let seq = first["seq"].as_u64().unwrap();
    assert!(
        out.ends_with(&format!(
            "cordonctl: gateway stopped: the follow ended; resume with `cordonctl incidents --follow --since {}`\n",
            seq + 1
        )),
        "{out}"
    );
}
