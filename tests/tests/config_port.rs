//! The config-port issue against the running gateway: every request over the Unix socket (with
//! `cordonctl`) and over a PTY standing in for the serial console, a config applied during a
//! load, and invalid configs refused whole.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use cordon_control::{Client as PortClient, SerialPort};
use cordon_tests::*;
use cordon_wire::{BlobKind, Request, Response, WireError};

const SSN_TAG: &str = r#"
[[rule]]
name = "ssn"
match = "us_ssn"
action = "tag"
"#;

/// A gateway with its config port on a Unix socket (and optionally a serial device).
fn gateway(cap: &Capture, dir: &Path, serial: Option<&Path>) -> (Gateway, PathBuf) {
    let socket = dir.join("control.sock");
    let mut cfg = Cfg::new(&cap.smarthost());
    cfg.max_sessions = 8;
    cfg.extra = SSN_TAG.to_string();
    let mut control = format!(
        "state_dir = {:?}\nsocket = {:?}\nsocket_mode = \"0600\"\nallowed_uids = [0]\n",
        dir.join("state").display().to_string(),
        socket.display().to_string()
    );
    if let Some(s) = serial {
        control += &format!("serial = {:?}\n", s.display().to_string());
    }
    cfg.control = Some(control);
    let gw = Gateway::start(&cfg);
    gw.wait_log("config port listening");
    (gw, socket)
}

/// The running config with `rule`'s action changed.
fn with_action(text: &str, action: &str) -> String {
    text.replace("action = \"tag\"", &format!("action = \"{action}\""))
}

fn tls_bundle(certs: &Certs) -> Vec<u8> {
    let (c, k) = certs.issue(&["dlp1.test.example"]);
    let mut b = std::fs::read(c).unwrap();
    b.extend(std::fs::read(k).unwrap());
    b
}

#[test]
fn every_request_over_the_unix_socket() {
    let dir = TempDir::new("ctl-sock");
    let cap = Capture::start(&[]);
    let certs = Certs::new();
    let (cert, key) = certs.issue(&["dlp1.test.example"]);
    let mut cfg_tls = (cert, key);
    // [gateway.tls] paths live in the data directory, so `tls install` can replace them.
    std::fs::copy(&cfg_tls.0, dir.path().join("cert.pem")).unwrap();
    std::fs::copy(&cfg_tls.1, dir.path().join("key.pem")).unwrap();
    cfg_tls = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let mut cfg = Cfg::new(&cap.smarthost());
    cfg.extra = SSN_TAG.to_string();
    cfg.inbound_tls = Some((cfg_tls.0.clone(), cfg_tls.1.clone(), false));
    let socket = cfg.control_in(dir.path());
    let gw = Gateway::start(&cfg);
    gw.wait_log("config port listening");

    let (code, out) = ctl(&socket, &["status"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("generation 1") && out.contains("healthy"),
        "{out}"
    );

    // Traffic, so counters and incidents have something to say.
    let mut c = gw.client();
    c.hello();
    assert_eq!(
        c.send_mail(
            "alice@contoso.com",
            &["bob@fabrikam.example"],
            &ssn_message("tagged")
        )
        .code,
        250
    );
    cap.wait_messages(1);
    gw.wait_log(" incident=w0:1 ");

    let (code, out) = ctl(&socket, &["counters"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("relayed_messages_total ") && l.trim_end().ends_with(" 1")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("messages_total.tag ") && l.trim_end().ends_with(" 1")),
        "{out}"
    );

    let (code, out) = ctl(&socket, &["incidents"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(" dlp ") && out.contains(" tag ") && out.contains("ssn"),
        "{out}"
    );

    // Issue 18, item 2: the incident says why, in the config's words.
    let (code, out) = ctl(&socket, &["--json", "incidents", "show", "1"]);
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["kind"], "dlp");
    assert_eq!(v["action"], "tag");
    assert_eq!(v["rule"], "ssn");
    assert_eq!(v["subject"], "tagged");
    assert_eq!(v["message_id"], "<tagged@contoso.com>");
    assert_eq!(v["rcpts"], serde_json::json!(["bob@fabrikam.example"]));
    assert_eq!(v["detectors"][0]["name"], "us_ssn");
    assert_eq!(v["detectors"][0]["count"], 1);
    assert!(
        ["low", "medium", "high"].contains(&v["detectors"][0]["confidence"].as_str().unwrap()),
        "{v}"
    );
    let sample = v["detectors"][0]["samples"][0].as_str().unwrap();
    assert!(
        !sample.contains("536-22-8190") && sample.ends_with("8190"),
        "{sample}"
    );

    // A forged stamp is its own kind of incident, not a deliver verdict with no rule.
    let forged = b"From: mallory@contoso.com\r\nSubject: forged\r\nMessage-ID: <forged@contoso.com>\r\nX-Cordon-Inspected: true; by=dlp1.test.example; sig=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\r\n\r\nhello\r\n";
    assert_eq!(
        c.send_mail("mallory@contoso.com", &["bob@fabrikam.example"], forged)
            .code,
        250
    );
    gw.wait_log("kind=forged_stamp");
    let (code, out) = ctl(&socket, &["--json", "incidents", "--since", "2"]);
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).expect("JSON");
    assert_eq!(
        (v["kind"].as_str(), v["message_id"].as_str()),
        (Some("forged_stamp"), Some("<forged@contoso.com>")),
        "{v}"
    );
    assert_eq!(v["rule"], serde_json::Value::Null);

    let (code, running) = ctl(&socket, &["config", "get"]);
    assert_eq!(code, 0);
    assert!(running.contains("name = \"ssn\""), "{running}");

    let new = dir.path().join("new.toml");
    std::fs::write(&new, with_action(&running, "quarantine")).unwrap();
    let (code, out) = ctl(&socket, &["config", "check", &new.display().to_string()]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = ctl(&socket, &["config", "apply", &new.display().to_string()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains('2'), "{out}");
    let (_, now) = ctl(&socket, &["config", "get"]);
    assert!(now.contains("action = \"quarantine\""));
    let (code, out) = ctl(&socket, &["config", "rollback"]);
    assert_eq!(code, 0, "{out}");
    let (_, now) = ctl(&socket, &["config", "get"]);
    assert!(now.contains("action = \"tag\""), "{now}");
    let (_, st) = ctl(&socket, &["status"]);
    assert!(st.contains("generation 3"), "{st}");

    let sample = dir.path().join("m.eml");
    std::fs::write(&sample, ssn_message("dry-run")).unwrap();
    let (code, out) = ctl(&socket, &["scan", &sample.display().to_string()]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("verdict: tag") && out.contains("us_ssn") && out.contains("***-**-8190"),
        "{out}"
    );
    // Issue 18 item 6: one scan, the same text from `cordon scan --config` on the running
    // config and from `cordonctl scan` over the port, envelope included.
    let (_, running) = ctl(&socket, &["config", "get"]);
    let running_file = dir.path().join("running.toml");
    std::fs::write(&running_file, running).unwrap();
    for envelope in [
        &[][..],
        &[
            "--from",
            "alice@contoso.com",
            "--to",
            "bob@fabrikam.example",
        ][..],
    ] {
        let mut args = vec!["scan"];
        args.extend_from_slice(envelope);
        let file = sample.display().to_string();
        args.push(&file);
        let (code, remote) = ctl(&socket, &args);
        assert_eq!(code, 0, "{remote}");
        let local = std::process::Command::new(bin("cordon"))
            .args(["scan", "--config"])
            .arg(&running_file)
            .args(envelope)
            .arg(&sample)
            .output()
            .unwrap();
        assert!(local.status.success(), "{local:?}");
        assert_eq!(
            remote,
            String::from_utf8_lossy(&local.stdout),
            "{envelope:?}"
        );
    }

    // A new certificate, installed for new sessions.
    let fresh = Certs::new();
    let (c2, k2) = fresh.issue(&["dlp1.test.example"]);
    let (code, out) = ctl(
        &socket,
        &[
            "tls",
            "install",
            "--cert",
            &c2.display().to_string(),
            "--key",
            &k2.display().to_string(),
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        std::fs::read(&cfg_tls.0).unwrap(),
        std::fs::read(&c2).unwrap()
    );
    let (ok, out) = swaks(&[
        "--server",
        &format!("127.0.0.1:{}", gw.port),
        "--tls",
        "--from",
        "a@contoso.com",
        "--to",
        "b@fabrikam.example",
    ]);
    assert!(ok, "STARTTLS with the installed certificate: {out}");

    // `cordon run` has no workers and does not reboot the box: a clear refusal, not a hang.
    let (code, out) = ctl(&socket, &["workers", "restart"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("no worker processes"), "{out}");
    let (code, out) = ctl(&socket, &["reboot"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("does not reboot the machine"), "{out}");
}

#[test]
fn invalid_configs_are_refused_whole() {
    let dir = TempDir::new("ctl-bad");
    let cap = Capture::start(&[]);
    let (_gw, socket) = gateway(&cap, dir.path(), None);
    let (_, running) = ctl(&socket, &["config", "get"]);
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        running
            .replace("action = \"tag\"", "action = \"explode\"")
            .replace("max_sessions = 8", "max_sessions = 0")
            .replace("match = \"us_ssn\"", "match = \"no_such_detector\""),
    )
    .unwrap();
    let (code, out) = ctl(&socket, &["config", "apply", &bad.display().to_string()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("gateway.max_sessions") && out.contains("rule[0].action"),
        "{out}"
    );
    // Unknown detector names are caught too (after the syntax is right).
    std::fs::write(
        &bad,
        running.replace("match = \"us_ssn\"", "match = \"no_such_detector\""),
    )
    .unwrap();
    let (code, out) = ctl(&socket, &["config", "apply", &bad.display().to_string()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("rule[0].match") && out.contains("no_such_detector"),
        "{out}"
    );
    let (_, st) = ctl(&socket, &["status"]);
    assert!(st.contains("generation 1"), "{st}");
    let (_, now) = ctl(&socket, &["config", "get"]);
    assert_eq!(now, running, "the running config changed");
}

/// Runs `f` on a thread with a big stack (the wire error type is large in debug builds).
fn on_big_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(32 << 20)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

#[test]
fn every_request_over_a_pty_console() {
    on_big_stack(|| {
        let dir = TempDir::new("ctl-pty");
        let cap = Capture::start(&[]);
        let pty = nix::pty::openpty(None, None).unwrap();
        let device = nix::unistd::ttyname(&pty.slave).unwrap();
        cordon_control::serial::set_raw(&pty.slave).unwrap();
        let (gw, _socket) = gateway(&cap, dir.path(), Some(&device));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let master = SerialPort::from_fd(pty.master).unwrap();
            let mut c = tokio::time::timeout(STEP, PortClient::over(Box::new(master), "console"))
                .await
                .expect("handshake in time")
                .expect("handshake");
            match c.call(Request::Status).await.unwrap() {
                Response::Status(s) => assert_eq!(s.config_generation, 1),
                r => panic!("{r:?}"),
            }
            assert!(matches!(
                c.call(Request::Counters).await.unwrap(),
                Response::Counters(_)
            ));
            let (generation, text) = c.get_config().await.unwrap();
            assert_eq!(generation, 1);
            c.upload(BlobKind::Config, with_action(&text, "block").as_bytes())
                .await
                .unwrap();
            assert!(matches!(
                c.call(Request::ValidateConfig).await.unwrap(),
                Response::ConfigValid { .. }
            ));
            c.upload(BlobKind::Config, with_action(&text, "block").as_bytes())
                .await
                .unwrap();
            match c
                .call(Request::ApplyConfig {
                    expected_generation: Some(1),
                })
                .await
                .unwrap()
            {
                Response::Applied {
                    generation,
                    warnings,
                } => {
                    assert_eq!(generation, 2);
                    assert!(warnings.is_empty(), "{warnings:?}");
                }
                r => panic!("{r:?}"),
            }
            assert!(matches!(
                c.call(Request::Rollback).await.unwrap(),
                Response::RolledBack { .. }
            ));
            assert!(matches!(
                c.call(Request::ListIncidents { since: 0, max: 8 })
                    .await
                    .unwrap(),
                Response::Incidents(_)
            ));
            c.upload(BlobKind::Message, &ssn_message("pty-scan"))
                .await
                .unwrap();
            match c.call(Request::Scan).await.unwrap() {
                Response::ScanReport(r) => assert_eq!(r.verdict, cordon_wire::Verdict::Tag),
                r => panic!("{r:?}"),
            }
            c.upload(BlobKind::TlsBundle, &tls_bundle(&Certs::new()))
                .await
                .unwrap();
            // No [gateway.tls] in this config: refused with the reason.
            match c.call(Request::InstallTls).await {
                Ok(Response::Error(WireError::App(e))) => {
                    assert!(e.message.contains("[gateway.tls]"), "{e:?}")
                }
                Err(cordon_control::Error::Server(WireError::App(e))) => {
                    assert!(e.message.contains("[gateway.tls]"), "{e:?}")
                }
                r => panic!("{r:?}"),
            }
            for r in [Request::RestartWorkers, Request::Reboot] {
                let answer = c.call(r).await;
                assert!(
                    matches!(
                        answer,
                        Ok(Response::Error(_)) | Err(cordon_control::Error::Server(_))
                    ),
                    "{answer:?}"
                );
            }
            // Follow: the backlog, then a live incident from a message sent now.
            c.send(Request::FollowIncidents { since: 0 }).await.unwrap();
            let mut sc = gw.client();
            sc.hello();
            assert_eq!(
                sc.send_mail(
                    "alice@contoso.com",
                    &["bob@fabrikam.example"],
                    &ssn_message("followed")
                )
                .code,
                250
            );
            let frame = tokio::time::timeout(STEP, c.recv())
                .await
                .expect("an incident in time")
                .unwrap();
            match frame.response {
                Response::Incident(i) => {
                    assert_eq!(i.message_id.as_str(), "<followed@contoso.com>")
                }
                r => panic!("{r:?}"),
            }
            c.send(Request::StopFollow).await.unwrap();
        });
        drop(pty.slave);
    });
}

/// (index, started, finished, final reply code) of one message of the load.
type Sent = (usize, Instant, Instant, u16);

#[test]
fn config_apply_during_a_load_switches_new_messages_only() {
    /// The load is at least this many messages (the issue's 50-message load)...
    const MESSAGES: usize = 50;
    /// ...and at most this many, whatever the apply's pace.
    const MAX_MESSAGES: usize = 400;
    /// Messages that must finish before the apply starts.
    const BEFORE: usize = 20;
    /// Messages the load sends once the apply has returned.
    const AFTER: usize = 5;
    let dir = TempDir::new("ctl-load");
    let cap = Capture::start(&[]);
    let (gw, socket) = gateway(&cap, dir.path(), None);
    let (_, running) = ctl(&socket, &["config", "get"]);
    let blocking = dir.path().join("block.toml");
    std::fs::write(&blocking, with_action(&running, "block")).unwrap();

    // Every message, sent one session each: at least MESSAGES, and on until
    // AFTER messages have started after the apply returned (or the bound is
    // reached, which the asserts below then report), so the load never races
    // the apply's pace.
    let results: Arc<Mutex<Vec<Sent>>> = Arc::default();
    let applied: Arc<Mutex<Option<Instant>>> = Arc::default();
    let port = gw.port;
    let load = {
        let results = Arc::clone(&results);
        let applied = Arc::clone(&applied);
        std::thread::spawn(move || {
            let mut sent_after = 0;
            for i in 0..MAX_MESSAGES {
                let started = Instant::now();
                let mut c = Client::connect(port);
                c.hello();
                let r = c.send_mail(
                    "alice@contoso.com",
                    &["bob@fabrikam.example"],
                    &ssn_message(&format!("load-{i}")),
                );
                c.cmd("QUIT");
                results
                    .lock()
                    .unwrap()
                    .push((i, started, Instant::now(), r.code));
                if applied.lock().unwrap().is_some_and(|done| started > done) {
                    sent_after += 1;
                }
                if sent_after >= AFTER && i + 1 >= MESSAGES {
                    break;
                }
            }
        })
    };
    wait_until("20 messages before the apply", STEP, || {
        (results.lock().unwrap().len() >= BEFORE).then_some(())
    });
    let apply_started = Instant::now();
    let (code, out) = ctl(
        &socket,
        &["config", "apply", &blocking.display().to_string()],
    );
    let apply_done = Instant::now();
    *applied.lock().unwrap() = Some(apply_done);
    assert_eq!(code, 0, "{out}");
    load.join().unwrap();
    let results = results.lock().unwrap();
    assert!(results.len() >= MESSAGES, "{} messages", results.len());
    let (mut before, mut after) = (0, 0);
    for &(i, started, finished, code) in results.iter() {
        assert!(code == 250 || code == 550, "message {i} failed with {code}");
        if finished < apply_started {
            assert_eq!(
                code, 250,
                "message {i} finished before the apply but was not delivered"
            );
            before += 1;
        } else if started > apply_done {
            assert_eq!(
                code, 550,
                "message {i} started after the apply but was not blocked"
            );
            after += 1;
        }
    }
    println!(
        "{} messages: {before} before the apply were delivered, {after} after it were blocked",
        results.len()
    );
    assert!(
        before >= BEFORE && after >= AFTER,
        "before {before}, after {after}"
    );
    // Everything delivered arrived.
    let delivered = results.iter().filter(|r| r.3 == 250).count();
    assert_eq!(cap.wait_messages(delivered).len(), delivered);
}

#[test]
fn reboot_leaves_a_request_for_the_root_owned_path_unit() {
    let dir = TempDir::new("ctl-reboot");
    let cap = Capture::start(&[]);
    let socket = dir.path().join("control.sock");
    let request = dir.path().join("run/reboot");
    std::fs::create_dir_all(request.parent().unwrap()).unwrap();
    let mut cfg = Cfg::new(&cap.smarthost());
    cfg.control = Some(format!(
        "state_dir = {:?}\nsocket = {:?}\nreboot_request = {:?}\n",
        dir.path().join("state").display().to_string(),
        socket.display().to_string(),
        request.display().to_string()
    ));
    let gw = Gateway::start(&cfg);
    gw.wait_log("config port listening");
    assert!(!request.exists());
    let (code, out) = ctl(&socket, &["reboot"]);
    assert_eq!(code, 0, "{out}");
    assert!(request.exists(), "no reboot request written");
    // systemd/cordon-reboot.path watches exactly this file by default.
    let unit = std::fs::read_to_string(repo_root().join("systemd/cordon-reboot.path")).unwrap();
    assert!(unit.contains("PathExists=/run/cordon/reboot"));
}

/// `cordon check-config FILE` (exit code, stdout and stderr together).
fn check_config(file: &Path) -> (i32, String) {
    let out = Command::new(bin("cordon"))
        .arg("check-config")
        .arg(file)
        .output()
        .expect("run cordon check-config");
    code_and_output(&out)
}

/// Issue 18, item 1: after a config-port apply the file no longer runs; the start log and
/// `check-config` say so, and `--config-source=file` makes the file win.
#[test]
fn the_start_log_and_check_config_say_whether_the_file_or_the_store_runs() {
    let dir = TempDir::new("ctl-source");
    let cap = Capture::start(&[]);
    let socket = dir.path().join("control.sock");
    let state = dir.path().join("state");
    let mut cfg = Cfg::new(&cap.smarthost());
    cfg.extra = SSN_TAG.to_string();
    cfg.control = Some(format!(
        "state_dir = {:?}\nsocket = {:?}\n",
        state.display().to_string(),
        socket.display().to_string()
    ));
    let file = dir.path().join("cordon.toml");
    std::fs::write(&file, cfg.render()).unwrap();
    let (f, s) = (file.display(), state.display());

    let gw = Gateway::start_file(&file, &cfg, &[]);
    gw.wait_log(&format!(
        "config: running generation 1, seeded from the file {f} (the config store in {s} was empty)"
    ));
    gw.wait_log("config port listening");
    assert_eq!(check_config(&file), (0, format!("{f}: ok\n")));

    // An administrator applies over the port, then someone edits the file.
    let quarantine = dir.path().join("quarantine.toml");
    std::fs::write(&quarantine, with_action(&cfg.render(), "quarantine")).unwrap();
    let (code, out) = ctl(
        &socket,
        &["config", "apply", &quarantine.display().to_string()],
    );
    assert_eq!(code, 0, "{out}");
    std::fs::write(&file, with_action(&cfg.render(), "block")).unwrap();
    assert_eq!(
        check_config(&file),
        (
            0,
            format!(
                "{f}: ok\n{f}: note: the config store in {s} holds generation 2, which differs from this file; `cordon run` runs generation 2, not this file (to run this file: `cordon run --config-source=file`, or `cordonctl config apply {f}`)\n"
            )
        )
    );

    // A restart runs the stored generation, and says the file is not used.
    gw.terminate_logs();
    let gw = Gateway::start_file(&file, &cfg, &[]);
    gw.wait_log(&format!(
        "config: running stored generation 2 from {s}; the file {f} differs from it and is not used (to run the file: `cordon run --config-source=file`, or `cordonctl config apply {f}`)"
    ));
    gw.wait_log("config port listening");
    let (_, running) = ctl(&socket, &["config", "get"]);
    assert!(running.contains("action = \"quarantine\""), "{running}");

    // The documented way to make the file win: it becomes the next stored generation.
    gw.terminate_logs();
    let gw = Gateway::start_file(&file, &cfg, &["--config-source=file"]);
    gw.wait_log(&format!(
        "config: running the file {f} as stored generation 3 (--config-source=file); it differed from stored generation 2, which `cordonctl config rollback` restores"
    ));
    gw.wait_log("config port listening");
    let (_, running) = ctl(&socket, &["config", "get"]);
    assert!(running.contains("action = \"block\""), "{running}");
    assert_eq!(check_config(&file), (0, format!("{f}: ok\n")));

    // From now on the file and the store agree, and a plain restart says so.
    gw.terminate_logs();
    let gw = Gateway::start_file(&file, &cfg, &[]);
    gw.wait_log(&format!(
        "config: running stored generation 3 from {s}; the file {f} is the same"
    ));
    assert_eq!(
        send_ssn(&gw, "file-wins"),
        550,
        "the file's block rule runs"
    );
}

/// Issue 18, items 4, 5, 9 and 12: `config apply` prints the restart-only warnings at
/// `file:line:col` under their own key; a refused apply with `--json` is JSON naming the
/// client's file; refusals that are not about permissions carry no permission hint; the start
/// log gives the budget's values and no `core=None`; a follow ends with "gateway stopped".
#[test]
fn apply_warnings_json_refusals_hints_and_the_end_of_a_follow() {
    let dir = TempDir::new("ctl-admin");
    let cap = Capture::start(&[]);
    let (gw, socket) = gateway(&cap, dir.path(), None);
    let log = gw.logs();
    let started = log.lines().find(|l| l.contains("cordon started")).unwrap();
    assert!(
        started.contains("cordon started; memory budget ")
            && started.contains(" MiB base + ")
            && started.contains(" sessions x "),
        "{started}"
    );
    assert!(!log.contains("core="), "{log}");
    let mib = started
        .split("budget_mib=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    assert!(
        started.contains(&format!("memory budget {mib} MiB = ")),
        "{started}"
    );

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
    let (code, out) = ctl(&socket, &["config", "apply", &f]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out,
        format!("{f}:{line}:1: gateway.max_sessions: warning: changed: takes effect at the next start (cordonctl workers restart, or restart the service)\napplied {f} as generation 2\n")
    );

    // Issue 18, items 4 and 10: `status` says what is bound and that a restart is pending.
    let (code, out) = ctl(&socket, &["status"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("\nlisten      127.0.0.1:{}\n", gw.port)),
        "{out}"
    );
    assert!(
        out.contains("\nconfig      generation 2; restart pending for gateway.max_sessions\n"),
        "{out}"
    );
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        running.replace("action = \"tag\"", "action = \"explode\""),
    )
    .unwrap();
    let out = Command::new(bin("cordonctl"))
        .args([
            "--socket",
            socket.to_str().unwrap(),
            "--json",
            "config",
            "apply",
        ])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(v["applied"], false);
    assert_eq!(v["error"]["code"], "invalid_config");
    assert_eq!(v["error"]["issues"][0]["file"], bad.display().to_string());
    assert_eq!(v["error"]["issues"][0]["key"], "rule[0].action");

    let (code, out) = ctl(&socket, &["workers", "restart"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("no worker processes") && !out.contains("ask an administrator"),
        "{out}"
    );

    // A follow that has seen an incident ends, when the gateway stops, with where to resume.
    assert_eq!(send_ssn(&gw, "seen"), 250);
    let mut follow = Command::new(bin("cordonctl"))
        .args([
            "--socket",
            socket.to_str().unwrap(),
            "--json",
            "incidents",
            "--follow",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(follow.stdout.take().unwrap()));
    // Audit records of the applies above share the journal's numbers, so the incident's number
    // is read, not assumed.
    let first: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    let seq = first["seq"].as_u64().expect("an incident with its number");
    gw.terminate_logs();
    let status = wait_until("the follow to end", STEP, || {
        follow.try_wait().ok().flatten()
    });
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut follow.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(3), "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "cordonctl: gateway stopped: the follow ended; resume with `cordonctl incidents --follow --since {}`\n",
            seq + 1
        )
    );
}

/// Issue 18 (and 15): `cordonctl detectors` asks the appliance over the config port and
/// prints exactly what `cordon detectors` prints, as a table and as JSON.
#[test]
fn cordonctl_detectors_prints_what_cordon_detectors_prints() {
    let dir = TempDir::new("ctl-detectors");
    let cap = Capture::start(&[]);
    let (_gw, socket) = gateway(&cap, dir.path(), None);
    for json in [false, true] {
        let mut local = Command::new(bin("cordon"));
        local.arg("detectors");
        let mut args = vec!["detectors"];
        if json {
            local.arg("--json");
            args.insert(0, "--json");
        }
        let local = local.output().unwrap();
        assert!(local.status.success());
        let local = String::from_utf8(local.stdout).unwrap();
        let (code, remote) = ctl(&socket, &args);
        assert_eq!(code, 0, "{remote}");
        assert_eq!(remote, local);
        if json {
            let v: serde_json::Value = serde_json::from_str(&remote).unwrap();
            assert!(
                v["detectors"].as_array().is_some_and(|d| d.len() > 10),
                "{v}"
            );
            assert!(v["bundles"].is_object(), "{v}");
        } else {
            assert!(remote.contains("us_ssn"), "{remote}");
            // Larger than one chunk: the reply came in several.
            assert!(
                remote.len() > cordon_wire::limits::CHUNK_LEN,
                "{}",
                remote.len()
            );
        }
    }
}
