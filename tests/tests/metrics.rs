//! Issue 21 item 3 against the running gateway: `/metrics` on `[metrics] listen` counts the
//! messages a test sends (by verdict), Debian's `promtool check metrics` accepts the
//! exposition, a real Prometheus started here scrapes it and answers a query with the count,
//! the endpoint is read-only (404, 405), and with `client_ca` a scraper without a client
//! certificate gets nothing.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use cordon_tests::*;

const CLEAN: usize = 5;
const BLOCKED: usize = 3;

fn message(subject: &str, body: &str) -> Vec<u8> {
    format!("From: alice@contoso.com\r\nTo: bob@fabrikam.example\r\nSubject: {subject}\r\nMessage-ID: <{subject}@contoso.com>\r\n\r\n{body}\r\n").into_bytes()
}

/// Sends CLEAN clean and BLOCKED blocked messages, each in a session of its own.
fn send_all(gw: &Gateway) {
    for i in 0..CLEAN + BLOCKED {
        let (body, want) = if i < CLEAN {
            ("nothing sensitive".to_string(), 250)
        } else {
            (format!("cards {CARDS}"), 550)
        };
        let mut c = gw.client();
        c.hello();
        let r = c.send_mail(
            "alice@contoso.com",
            &["bob@fabrikam.example"],
            &message(&format!("m{i}"), &body),
        );
        assert_eq!(r.code, want, "message {i}: {r:?}");
        c.cmd("QUIT");
    }
}

/// One HTTP/1.1 exchange over plain TCP; returns (status code, body).
fn http(port: u16, request: &str) -> (u16, String) {
    // Not listening (yet): no answer, code 0, for the caller to poll again.
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return (0, String::new());
    };
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    // A refused connection (TLS port, oversized head) may end in a reset: no answer, code 0.
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let out = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let code = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, body.to_string())
}

fn get(port: u16, path: &str) -> (u16, String) {
    http(
        port,
        &format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"),
    )
}

/// Percent-encodes a PromQL query for a URL.
fn encode(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A Prometheus of Debian's package, with its own config, storage and port, scraping `target`
/// every second.
struct Prometheus {
    child: Child,
    port: u16,
    _dir: TempDir,
}

impl Prometheus {
    fn start(target: &str) -> Prometheus {
        let dir = TempDir::new("prometheus");
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: cordon\n    static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .unwrap();
        let port = free_port();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run prometheus (scripts/preflight installs Debian's prometheus)");
        Prometheus {
            child,
            port,
            _dir: dir,
        }
    }

    /// The value of an instant query's single sample, once there is one.
    fn query(&self, q: &str) -> Option<String> {
        let (code, body) = get(self.port, &format!("/api/v1/query?query={}", encode(q)));
        if code != 200 {
            return None;
        }
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        v["data"]["result"][0]["value"][1]
            .as_str()
            .map(str::to_owned)
    }

    /// Polls until `q` answers `want` (each scrape and query a second apart at most).
    fn wait_for(&self, q: &str, want: &str) {
        let mut last = None;
        wait_until(
            &format!("Prometheus to answer {q} = {want}"),
            Duration::from_secs(40),
            || {
                last = self.query(q);
                (last.as_deref() == Some(want)).then_some(())
            },
        );
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn promtool_check(exposition: &str, dir: &Path) {
    let file = dir.join("scrape.txt");
    std::fs::write(&file, exposition).unwrap();
    let out = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&file).unwrap())
        .output()
        .expect("run promtool (scripts/preflight installs Debian's prometheus)");
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool check metrics: {}{}\n{exposition}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn prometheus_scrapes_the_message_count_the_test_sent() {
    let cap = Capture::start(&[]);
    let mut cfg = Cfg::new(&cap.smarthost());
    let port = free_port();
    cfg.extra = format!("{BLOCK_CARDS}\n[metrics]\nlisten = \"127.0.0.1:{port}\"\n");
    let gw = Gateway::start(&cfg);
    gw.wait_log("metrics endpoint listening");

    send_all(&gw);
    cap.wait_messages(CLEAN);

    let (code, text) = get(port, "/metrics");
    assert_eq!(code, 200, "{text}");
    for want in [
        format!("cordon_messages_total{{verdict=\"deliver\"}} {CLEAN}\n"),
        format!("cordon_messages_total{{verdict=\"block\"}} {BLOCKED}\n"),
        format!("cordon_relayed_messages_total {CLEAN}\n"),
        format!("cordon_detector_hits_total{{detector=\"credit_card\"}} {BLOCKED}\n"),
        format!("cordon_scan_seconds_count {}\n", CLEAN + BLOCKED),
        format!("cordon_downstream_seconds_count {CLEAN}\n"),
        "cordon_worker_restarts_total{worker=\"0\"} 0\n".to_string(),
    ] {
        assert!(text.contains(&want), "no {want:?} in\n{text}");
    }
    promtool_check(&text, gw.dir.path());

    // Read-only, one path.
    assert_eq!(get(port, "/").0, 404);
    assert_eq!(get(port, "/metrics/../config").0, 404);
    let (code, _) = http(
        port,
        "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(code, 405);
    // An oversized head is refused, not buffered (the reply may be lost to the reset that
    // closing with unread bytes sends), and the endpoint goes on serving.
    let (code, _) = http(
        port,
        &format!("GET /metrics HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(9000)),
    );
    assert!(code == 431 || code == 0, "{code}");
    assert_eq!(get(port, "/metrics").0, 200);

    let prom = Prometheus::start(&format!("127.0.0.1:{port}"));
    prom.wait_for("sum(cordon_messages_total)", &(CLEAN + BLOCKED).to_string());
    prom.wait_for(
        "cordon_messages_total{verdict=\"block\"}",
        &BLOCKED.to_string(),
    );
    prom.wait_for("up{job=\"cordon\"}", "1");

    // `cordonctl counters` reads the same table.
    drop(prom);
    let logs = gw.terminate_logs();
    let stop = logs
        .lines()
        .find(|l| l.contains("cordon stopped"))
        .expect("stop line");
    assert!(
        stop.contains(&format!("\"messages_total.block\":{BLOCKED}")),
        "{stop}"
    );
}

/// `openssl s_client` sends a scrape; returns everything it printed.
fn tls_scrape(port: u16, ca: &Path, client: Option<(&Path, &Path)>) -> String {
    let mut cmd = Command::new("openssl");
    cmd.args([
        "s_client",
        "-quiet",
        "-connect",
        &format!("127.0.0.1:{port}"),
    ])
    .arg("-CAfile")
    .arg(ca)
    .args(["-verify_return_error", "-servername", "localhost"]);
    if let Some((c, k)) = client {
        cmd.arg("-cert").arg(c).arg("-key").arg(k);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run openssl");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    // The endpoint closes each connection after its answer (or its refusal), and its request
    // deadline bounds the wait.
    let out = child.wait_with_output().unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn with_client_ca_a_scraper_without_a_certificate_gets_nothing() {
    let certs = Certs::new();
    let (cert, key) = certs.issue(&["localhost", "127.0.0.1"]);
    let (client_cert, client_key) = certs.issue(&["prometheus.scraper"]);
    let cap = Capture::start(&[]);
    let mut cfg = Cfg::new(&cap.smarthost());
    let port = free_port();
    cfg.extra = format!(
        "[metrics]\nlisten = \"127.0.0.1:{port}\"\ncertificate = {:?}\nprivate_key = {:?}\nclient_ca = {:?}\n",
        cert.display().to_string(),
        key.display().to_string(),
        certs.ca.display().to_string()
    );
    let gw = Gateway::start(&cfg);
    gw.wait_log("metrics endpoint listening");

    let refused = tls_scrape(port, &certs.ca, None);
    assert!(!refused.contains("cordon_messages_total"), "{refused}");
    assert!(!refused.contains("HTTP/1.1 200"), "{refused}");
    gw.wait_log("metrics endpoint: TLS refused");

    let served = tls_scrape(port, &certs.ca, Some((&client_cert, &client_key)));
    assert!(served.contains("HTTP/1.1 200 OK"), "{served}");
    assert!(
        served.contains("# TYPE cordon_messages_total counter"),
        "{served}"
    );

    // Plain HTTP on the TLS port is not an answer either.
    let (code, _) = get(port, "/metrics");
    assert_ne!(code, 200);
}

/// The value of one sample line `name value` in an exposition.
fn sample(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// The worker pinned to `core`, among the supervisor's children.
fn worker_on(supervisor: u32, core: &str) -> Option<u32> {
    let children =
        std::fs::read_to_string(format!("/proc/{supervisor}/task/{supervisor}/children")).ok()?;
    children
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .find(|pid: &u32| {
            std::fs::read_to_string(format!("/proc/{pid}/status"))
                .unwrap_or_default()
                .lines()
                .any(|l| l.strip_prefix("Cpus_allowed_list:").map(str::trim) == Some(core))
        })
}

#[test]
fn under_the_supervisor_one_scrape_covers_every_worker_and_survives_a_restart() {
    let cap = Capture::start(&[]);
    let mut cfg = Cfg::new(&cap.smarthost());
    let port = free_port();
    cfg.extra = format!("{BLOCK_CARDS}\n[metrics]\nlisten = \"127.0.0.1:{port}\"\n");
    let dir = TempDir::new("metrics-supervise");
    let path = dir.path().join("cordon.toml");
    std::fs::write(&path, cfg.render()).unwrap();
    let guard = Supervised::start(&path);
    let supervisor = guard.pid();
    let scrape = || {
        // Not listening yet (or a worker restarting): no scrape, poll again.
        let (code, text) = get(port, "/metrics");
        (code == 200).then_some(text)
    };
    // Worker 1's gauges, written by its own process, read by worker 0's endpoint.
    let text = wait_until("worker 1's RSS in worker 0's scrape", STEP, || {
        scrape().filter(|t| sample(t, "cordon_resident_bytes{worker=\"1\"}").unwrap_or(0) > 0)
    });
    assert!(
        sample(&text, "cordon_resident_bytes{worker=\"0\"}").unwrap_or(0) > 0,
        "{text}"
    );

    let n = 16;
    for i in 0..n {
        let r = Client::try_transaction(
            cfg.listen,
            "alice@contoso.com",
            &["bob@fabrikam.example"],
            &message(&format!("s{i}"), "nothing sensitive"),
        );
        assert_eq!(r.map(|r| r.code), Some(250), "message {i}");
    }
    let total = |t: &str| sample(t, "cordon_messages_total{verdict=\"deliver\"}");
    assert_eq!(
        total(&scrape().unwrap()),
        Some(n),
        "the kernel spreads 16 connections over both workers; the sum counts them all"
    );

    // A killed worker is restarted into the same slot: its counts stay, the restart is counted.
    let victim = worker_on(supervisor, "1").expect("the worker on core 1");
    assert!(Command::new("kill")
        .args(["-9", &victim.to_string()])
        .status()
        .unwrap()
        .success());
    let text = wait_until("the restart in the scrape", STEP, || {
        scrape().filter(|t| sample(t, "cordon_worker_restarts_total{worker=\"1\"}") == Some(1))
    });
    assert_eq!(total(&text), Some(n), "{text}");
    assert_eq!(
        sample(&text, "cordon_worker_restarts_total{worker=\"0\"}"),
        Some(0)
    );
    promtool_check(&text, dir.path());
}
