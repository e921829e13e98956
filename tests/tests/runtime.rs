//! The appliance runtime with the real binary: `cordon supervise` on the x86-dev board profile
//! (pinned workers, a killed or frozen worker replaced), slot exhaustion and a connection burst
//! inside the printed budget, SIGHUP reloads and a SIGTERM drain that cuts no session.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cordon_tests::*;

/// A running `cordon supervise` with its log.
struct Supervised {
    child: Child,
    log: Arc<Mutex<String>>,
    port: u16,
    _dir: TempDir,
}

impl Supervised {
    fn start(cfg: &Cfg) -> Supervised {
        let dir = TempDir::new("supervise");
        let path = dir.path().join("cordon.toml");
        std::fs::write(&path, cfg.render()).unwrap();
        let mut child = Command::new(bin("cordon"))
            .args(["supervise", "--board"])
            .arg(repo_root().join("board/x86-dev/board.toml"))
            .arg("--config")
            .arg(&path)
            .env("RUST_LOG", "info")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("JOURNAL_STREAM")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().unwrap();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
                sink.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let s = Supervised {
            child,
            log,
            port: cfg.listen,
            _dir: dir,
        };
        s.wait_log("all workers up; ready", 1);
        s
    }

    fn logs(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    fn wait_log(&self, needle: &str, times: usize) {
        wait_until(
            &format!("{times} x `{needle}` in the supervisor log"),
            STEP,
            || (self.logs().matches(needle).count() >= times).then_some(()),
        );
    }

    /// Worker pids, from /proc (the supervisor's children).
    fn workers(&self) -> Vec<u32> {
        let children =
            std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", self.child.id()))
                .unwrap_or_default();
        children
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect()
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for w in self.workers() {
            let _ = Command::new("kill").args(["-9", &w.to_string()]).status();
        }
    }
}

fn cpus(pid: u32) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .unwrap_or("")
        .trim()
        .to_string()
}

fn signal(pid: u32, sig: &str) {
    assert!(Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap()
        .success());
}

#[test]
fn workers_run_pinned_on_the_board_cores() {
    let cap = Capture::start(&[]);
    let sup = Supervised::start(&Cfg::new(&cap.smarthost()));
    let workers = wait_until("two workers", STEP, || {
        let w = sup.workers();
        (w.len() == 2).then_some(w)
    });
    let mut pinned: Vec<String> = workers.iter().map(|&p| cpus(p)).collect();
    pinned.sort();
    println!("worker Cpus_allowed_list: {pinned:?}");
    assert_eq!(pinned, vec!["0", "1"]);
    let mut c = Client::connect(sup.port);
    c.hello();
    assert_eq!(
        c.send_mail(
            "a@contoso.com",
            &["b@fabrikam.example"],
            b"Subject: via a worker\r\n\r\nx\r\n"
        )
        .code,
        250
    );
    cap.wait_messages(1);
}

/// A message's subject and final reply code (`None`: the connection dropped).
type Outcome = (String, Option<u16>);

#[test]
fn a_killed_worker_loses_no_mail_and_is_replaced_within_a_second() {
    /// Messages in the load, spread over four client threads; bounded.
    const MESSAGES: usize = 20;
    let cap = Capture::start(&[]);
    let sup = Supervised::start(&Cfg::new(&cap.smarthost()));
    let victim = sup.workers()[0];
    let body = Arc::new(make_message(1 << 20, "load"));
    let results: Arc<Mutex<Vec<Outcome>>> = Arc::default();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (body, results, port) = (Arc::clone(&body), Arc::clone(&results), sup.port);
            std::thread::spawn(move || {
                for i in 0..MESSAGES / 4 {
                    let subject = format!("load-{t}-{i}");
                    let mut m = format!("Subject: {subject}\r\n").into_bytes();
                    m.extend_from_slice(&body);
                    // A dropped connection is an acceptable outcome for the killed worker.
                    let code =
                        Client::try_transaction(port, "a@contoso.com", &["b@fabrikam.example"], &m)
                            .map(|r| r.code);
                    results.lock().unwrap().push((subject, code));
                }
            })
        })
        .collect();
    wait_until("some messages before the kill", STEP, || {
        (results.lock().unwrap().len() >= 4).then_some(())
    });
    let killed = Instant::now();
    signal(victim, "-9");
    sup.wait_log("worker started", 3);
    let replaced = killed.elapsed();
    sup.wait_log("worker up (first heartbeat)", 3);
    println!("killed worker {victim}; a new worker was started {replaced:?} later");
    assert!(
        replaced < Duration::from_secs(1),
        "replacement took {replaced:?}"
    );
    for t in threads {
        t.join().unwrap();
    }
    let results = results.lock().unwrap();
    let delivered: Vec<&String> = results
        .iter()
        .filter(|r| r.1 == Some(250))
        .map(|r| &r.0)
        .collect();
    let got = cap.wait_messages(delivered.len());
    for s in &delivered {
        assert!(
            got.iter()
                .any(|m| m.text().contains(&format!("Subject: {s}\r\n"))),
            "{s} got 250 but never arrived"
        );
    }
    for r in results.iter() {
        assert!(
            matches!(r.1, None | Some(250) | Some(421) | Some(451)),
            "{r:?}"
        );
    }
    println!(
        "{} of {MESSAGES} delivered, the rest dropped or 4xx",
        delivered.len()
    );
    assert!(
        delivered.len() >= MESSAGES / 2,
        "the surviving worker should carry most of the load"
    );
}

#[test]
fn a_frozen_worker_is_detected_and_replaced() {
    let cap = Capture::start(&[]);
    let sup = Supervised::start(&Cfg::new(&cap.smarthost()));
    let victim = sup.workers()[1];
    let stopped = Instant::now();
    signal(victim, "-STOP");
    sup.wait_log("worker started", 3);
    let detected = stopped.elapsed();
    println!("SIGSTOPped worker {victim} detected and replaced after {detected:?} (deadline 3 s)");
    assert!(detected < Duration::from_secs(5), "{detected:?}");
    assert!(
        !sup.workers().contains(&victim),
        "the frozen worker is still a child"
    );
    let mut c = Client::connect(sup.port);
    c.hello();
    assert_eq!(
        c.send_mail(
            "a@contoso.com",
            &["b@fabrikam.example"],
            b"Subject: after\r\n\r\nx\r\n"
        )
        .code,
        250
    );
}

#[test]
fn extra_connections_get_421_and_a_burst_stays_inside_the_budget() {
    /// Connections in the burst; bounded.
    const BURST: usize = 1000;
    let cap = Capture::start(&[]);
    let mut cfg = Cfg::new(&cap.smarthost());
    cfg.max_sessions = 4;
    let gw = Gateway::start(&cfg);
    let budget_mib: u64 = gw
        .logs()
        .split("budget_mib=")
        .nth(1)
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .expect("budget in the start line");
    let mut held: Vec<Client> = (0..4)
        .map(|_| {
            let mut c = gw.client();
            assert_eq!(c.reply().code, 220);
            c
        })
        .collect();
    let started = Instant::now();
    let mut extra = gw.client();
    let r = extra.reply();
    println!("5th connection answered in {:?}: {r:?}", started.elapsed());
    assert_eq!(r.code, 421);
    assert!(r.text().starts_with("4.3.2"), "{r:?}");
    held.clear();
    // A burst of connections that greet and quit, four at a time; RSS sampled throughout.
    let mut peak = 0;
    for i in 0..BURST {
        let mut c = gw.client();
        let g = c.reply();
        assert!(g.code == 220 || g.code == 421, "{g:?}");
        if g.code == 220 {
            c.send(b"QUIT\r\n");
        }
        if i % 50 == 0 {
            peak = peak.max(gw.rss_kib());
        }
    }
    peak = peak.max(gw.rss_kib());
    println!(
        "peak RSS over {BURST} connections: {} KiB; printed budget {budget_mib} MiB",
        peak
    );
    assert!(
        peak <= budget_mib * 1024,
        "RSS {peak} KiB over the budget {budget_mib} MiB"
    );
}

#[test]
fn sighup_reloads_a_valid_config_and_keeps_the_old_one_otherwise() {
    let cap = Capture::start(&[]);
    let mut cfg = Cfg::new(&cap.smarthost());
    cfg.extra = "[[rule]]\nname = \"ssn\"\nmatch = \"us_ssn\"\naction = \"tag\"\n".into();
    let gw = Gateway::start(&cfg);
    let path = gw.dir.path().join("cordon.toml");
    let ssn = b"Subject: ssn\r\n\r\nSSN 536-22-8190\r\n";
    let send = |gw: &Gateway| {
        let mut c = gw.client();
        c.hello();
        c.send_mail("alice@contoso.com", &["bob@fabrikam.example"], ssn)
            .code
    };
    assert_eq!(send(&gw), 250);
    // Valid: block instead of tag.
    std::fs::write(
        &path,
        cfg.render()
            .replace("action = \"tag\"", "action = \"block\""),
    )
    .unwrap();
    signal(gw.pid(), "-HUP");
    gw.wait_log("SIGHUP: configuration reloaded");
    assert_eq!(send(&gw), 550);
    // Invalid: refused, the block rule stays.
    std::fs::write(&path, "[gateway]\nhostname = 3\n").unwrap();
    signal(gw.pid(), "-HUP");
    gw.wait_log("SIGHUP: configuration refused");
    assert_eq!(send(&gw), 550);
}

#[test]
fn sigterm_drains_sessions_in_flight() {
    let cap = Capture::start(&[]);
    let gw = Gateway::start(&Cfg::new(&cap.smarthost()));
    let mut c = gw.client();
    c.hello();
    assert_eq!(c.cmd("MAIL FROM:<a@contoso.com>").code, 250);
    assert_eq!(c.cmd("RCPT TO:<b@fabrikam.example>").code, 250);
    assert_eq!(c.cmd("DATA").code, 354);
    c.send(b"Subject: in flight\r\n\r\nfirst half\r\n");
    signal(gw.pid(), "-TERM");
    gw.wait_log("shutting down");
    // New connections are no longer accepted...
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", gw.port))
            .map(|s| {
                let mut s = s;
                let _ = s.write_all(b"");
                let mut buf = [0u8; 64];
                std::io::Read::read(&mut s, &mut buf).unwrap_or(0) == 0
            })
            .unwrap_or(true),
        "a new connection was served after SIGTERM"
    );
    // ...but the session in flight finishes.
    c.send(b"second half\r\n.\r\n");
    assert_eq!(c.reply().code, 250);
    c.send(b"QUIT\r\n");
    let logs = gw.terminate_logs();
    assert!(logs.contains("cordon stopped"));
    assert!(cap.wait_messages(1)[0].text().contains("second half"));
}

#[test]
fn a_budget_over_the_board_memory_is_refused_at_start() {
    let mut cfg = Cfg::new("smtp://127.0.0.1:25");
    cfg.max_message_size = "150MiB".into();
    cfg.max_sessions = 100;
    let dir = TempDir::new("budget");
    let path = dir.path().join("cordon.toml");
    std::fs::write(&path, cfg.render()).unwrap();
    let out = Command::new(bin("cordon"))
        .args(["supervise", "--board"])
        .arg(repo_root().join("board/x86-dev/board.toml"))
        .arg("--config")
        .arg(&path)
        .env_remove("NOTIFY_SOCKET")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("exceeds the board's 1024 MiB") && err.contains("max_sessions"),
        "{err}"
    );
}

#[test]
fn workers_restart_through_the_config_port() {
    let cap = Capture::start(&[]);
    let dir = TempDir::new("restart");
    let socket = dir.path().join("control.sock");
    let mut cfg = Cfg::new(&cap.smarthost());
    cfg.control = Some(format!(
        "state_dir = {:?}\nsocket = {:?}\n",
        dir.path().join("state").display().to_string(),
        socket.display().to_string()
    ));
    let sup = Supervised::start(&cfg);
    sup.wait_log("config port listening", 1);
    let before = sup.workers();
    // Status lists both workers with their cores.
    let st = Command::new(bin("cordonctl"))
        .arg("--socket")
        .arg(&socket)
        .arg("status")
        .output()
        .unwrap();
    let st = String::from_utf8_lossy(&st.stdout).to_string();
    assert!(st.contains("x86-dev"), "{st}");
    for pid in &before {
        assert!(
            st.contains(&pid.to_string()),
            "worker {pid} missing from status:\n{st}"
        );
    }
    let out = Command::new(bin("cordonctl"))
        .arg("--socket")
        .arg(&socket)
        .args(["workers", "restart"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    sup.wait_log("worker restarting on request", 2);
    sup.wait_log("worker up (first heartbeat)", 4);
    let after = wait_until("the old workers gone", STEP, || {
        let w = sup.workers();
        (w.len() == 2 && w.iter().all(|p| !before.contains(p))).then_some(w)
    });
    println!("workers {before:?} replaced by {after:?}");
    // A requested restart is not a failure.
    assert!(!sup.logs().contains("worker failed"), "{}", sup.logs());
    let mut c = Client::connect(sup.port);
    c.hello();
    assert_eq!(
        c.send_mail(
            "a@contoso.com",
            &["b@fabrikam.example"],
            b"Subject: after restart\r\n\r\nx\r\n"
        )
        .code,
        250
    );
}
