//! End-to-end tests of the real `cordonctl` binary: against the real config-port server
//! (with the fake backend) over a Unix socket, and `exchange-setup` against a reviewed
//! golden file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use cordon_control::fake::{FakeBackend, TestCa};
use cordon_wire::Verdict;
use tokio::sync::watch;

const EXAMPLE: &str = include_str!("../../cordon/examples/cordon.toml");

fn cordonctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cordonctl"))
        .args(args)
        .output()
        .expect("run cordonctl")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A config-port server with the fake backend on a Unix socket, on its own thread.
struct Server {
    socket: PathBuf,
    backend: Arc<FakeBackend>,
    dir: tempfile::TempDir,
    stop: Option<watch::Sender<bool>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(allowed_uids: Vec<u32>, mode: u32) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        let backend = Arc::new(FakeBackend::new(&data, EXAMPLE));
        let socket = dir.path().join("control.sock");
        let (stop, shutdown) = watch::channel(false);
        let thread = std::thread::spawn({
            let (backend, socket) = (Arc::clone(&backend), socket.clone());
            move || {
                // The gateway's runtime threads get an 8 MiB stack (cordon run gives them the
                // main thread's): the debug-build connection handler needs more than tokio's
                // 2 MiB default since the policy-diff requests joined it.
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_stack_size(8 << 20)
                    .enable_all()
                    .build()
                    .unwrap()
                    .block_on(cordon_control::serve_unix(
                        &socket,
                        mode,
                        &allowed_uids,
                        backend,
                        shutdown,
                    ))
                    .unwrap();
            }
        });
        while !socket.exists() {
            #[allow(
                clippy::disallowed_methods,
                reason = "the test's own thread, not a tokio worker"
            )]
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        Server {
            socket,
            backend,
            dir,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut all = vec!["--socket", self.socket.to_str().unwrap()];
        all.extend_from_slice(args);
        cordonctl(&all)
    }

    fn file(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn me() -> u32 {
    nix::unistd::getuid().as_raw()
}

#[test]
fn status_counters_and_config_round_trip() {
    let server = Server::start(vec![me()], 0o600);
    let out = server.run(&["status"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("fake-board") && text.contains("generation 0"),
        "{text}"
    );
    // Issue 18, item 3: the start as an RFC 3339 time, health in lower case.
    let uptime =
        regex::Regex::new(r"(?m)^uptime      1h 2m 5s \(since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)$")
            .unwrap();
    assert!(uptime.is_match(&text), "{text}");
    assert!(text.contains(" healthy "), "{text}");
    // Issue 16: the message buffers by size class and their use.
    assert!(
        text.contains("\nbuffers     120 x 256 KiB (3 in use), 2 x 150 MiB (2 in use: full)\n"),
        "{text}"
    );

    let out = server.run(&["--json", "status"]);
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["board"], "fake-board");
    assert_eq!(value["workers"][0]["health"], "healthy");
    let started = value["started"].as_str().unwrap();
    assert!(humantime::parse_rfc3339(started).is_ok(), "{started}");
    assert_eq!(value["workers"].as_array().unwrap().len(), 2);

    let out = server.run(&["counters"]);
    assert!(stdout(&out).contains("messages_in"), "{}", stdout(&out));
    let out = server.run(&["--json", "counters"]);
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["messages_blocked"], 3);

    let out = server.run(&["config", "get"]);
    assert_eq!(stdout(&out), EXAMPLE);
}

#[test]
fn config_check_apply_and_rollback() {
    let server = Server::start(vec![me()], 0o600);
    let bad = server.file(
        "bad.toml",
        &EXAMPLE.replace("max_sessions = 64", "max_sessions = \"lots\""),
    );
    let out = server.run(&["config", "check", &bad]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let line = EXAMPLE
        .lines()
        .position(|l| l.starts_with("max_sessions"))
        .unwrap()
        + 1;
    let first = stdout(&out).lines().next().unwrap_or_default().to_owned();
    let prefix = format!("{bad}:{line}:");
    assert!(
        first.starts_with(&prefix) && first.contains(": gateway.max_sessions: "),
        "{first}"
    );
    // Applying it is refused whole; the running config does not change.
    let out = server.run(&["config", "apply", &bad]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("unchanged"), "{}", stderr(&out));
    assert_eq!(stdout(&server.run(&["config", "get"])), EXAMPLE);

    let good = server.file("good.toml", &EXAMPLE.replace("dlp1.", "dlp2."));
    let out = server.run(&["config", "check", &good]);
    assert!(out.status.success() && stdout(&out).contains("valid"));
    let out = server.run(&["config", "apply", &good]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("generation 1"));
    let out = server.run(&["config", "rollback"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("NoPreviousConfig"),
        "{}",
        stderr(&out)
    );
    let out = server.run(&["config", "apply", "--expect-generation", "7", &good]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("GenerationConflict"));
    let third = server.file("third.toml", &EXAMPLE.replace("dlp1.", "dlp3."));
    assert!(server.run(&["config", "apply", &third]).status.success());
    let out = server.run(&["--json", "config", "rollback"]);
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (value["generation"].as_u64(), value["restored"].as_u64()),
        (Some(3), Some(1))
    );
    assert!(stdout(&server.run(&["config", "get"])).contains("dlp2.contoso.com"));
}

#[test]
fn incidents_scan_tls_workers_reboot() {
    let server = Server::start(vec![me()], 0o600);
    for _ in 0..10 {
        server.backend.record_incident(Verdict::Block, "no-secrets");
    }
    // More than one page: all ten are listed.
    let out = server.run(&["incidents"]);
    assert_eq!(stdout(&out).lines().count(), 11, "{}", stdout(&out));
    let out = server.run(&["--json", "incidents", "--since", "9"]);
    let seqs: Vec<u64> = stdout(&out)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["seq"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(seqs, [9, 10]);

    // Follow: the backlog, then a new incident as it happens.
    let mut child = Command::new(env!("CARGO_BIN_EXE_cordonctl"))
        .args([
            "--socket",
            server.socket.to_str().unwrap(),
            "--json",
            "incidents",
            "--follow",
            "--since",
            "10",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
    assert!(lines.next().unwrap().unwrap().contains("\"seq\":10"));
    server.backend.record_incident(Verdict::Quarantine, "pii");
    assert!(lines.next().unwrap().unwrap().contains("\"seq\":11"));
    child.kill().unwrap();
    child.wait().unwrap();

    let eml = server.file("m.eml", "Subject: x\r\n\r\nthe SECRET plan\r\n");
    // The appliance renders the report (the fake names the envelope it was given).
    let out = server.run(&["scan", &eml]);
    assert!(out.status.success());
    assert_eq!(stdout(&out), "verdict: block (envelope (From) -> (To))\n");
    let out = server.run(&[
        "scan",
        "--from",
        "alice@contoso.com",
        "--to",
        "bob@fabrikam.example",
        "--to",
        "carol@contoso.com",
        &eml,
    ]);
    assert_eq!(
        stdout(&out),
        "verdict: block (envelope alice@contoso.com -> bob@fabrikam.example, carol@contoso.com)\n"
    );
    let out = server.run(&["scan", "--to", "bob@fabrikam.example", &eml]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--to needs --from"),
        "{}",
        stderr(&out)
    );

    let ca = TestCa::new("tls CA");
    let leaf = ca.leaf("dlp1.contoso.com", None);
    let cert = server.file("cert.pem", &leaf.cert_pem);
    let key = server.file("key.pem", &leaf.key_pem);
    let out = server.run(&["tls", "install", "--cert", &cert, "--key", &key]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("dlp1.contoso.com"));
    let not_after = regex::Regex::new(
        r"(?m)^not after  \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(in \d+ (days|day|h|min|s)\)$",
    )
    .unwrap();
    assert!(not_after.is_match(&stdout(&out)), "{}", stdout(&out));
    let out = server.run(&["--json", "tls", "install", "--cert", &cert, "--key", &key]);
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        humantime::parse_rfc3339(value["not_after"].as_str().unwrap()).is_ok(),
        "{value}"
    );
    assert!(value["not_after_unix"].is_u64(), "{value}");
    let expired = ca.leaf("old.contoso.com", Some((2000, 2001)));
    let cert = server.file("old.pem", &expired.cert_pem);
    let key = server.file("old.key", &expired.key_pem);
    let out = server.run(&["tls", "install", "--cert", &cert, "--key", &key]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("expired"), "{}", stderr(&out));

    let out = server.run(&["workers", "restart"]);
    assert!(stdout(&out).contains("restarting 2 workers"));
    let out = server.run(&["reboot"]);
    assert!(out.status.success() && stdout(&out).contains("rebooting"));
}

#[test]
fn exit_codes_for_usage_and_transport_errors() {
    let out = cordonctl(&["--socket", "/nonexistent/control.sock", "status"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains("/nonexistent/control.sock"),
        "{}",
        stderr(&out)
    );
    // Issue 18, item 12: what to check when the socket is missing.
    assert!(
        stderr(&out).contains("(no gateway listens on /nonexistent/control.sock: is cordon running, with [control] socket = \"/nonexistent/control.sock\"? Another socket: --socket PATH)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(cordonctl(&["no-such-command"]).status.code(), Some(2));
    assert_eq!(cordonctl(&["scan"]).status.code(), Some(2));
    assert_eq!(
        cordonctl(&["exchange-setup", "--config", "/nonexistent.toml"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn a_config_that_is_not_utf8_is_named_with_its_cause() {
    // It used to exit 1 without a word: the error was taken for an already printed one.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1.toml");
    std::fs::write(&path, b"[gateway]\nhostname = \"caf\xe9\"\n").unwrap();
    let out = cordonctl(&["exchange-setup", "--config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{} is not UTF-8: invalid utf-8", path.display())),
        "{err}"
    );
}

#[test]
fn another_uid_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    if me() != 0 {
        eprintln!("skipped: needs root to run the client as another user");
        return;
    }
    // The socket's mode lets anyone connect; the uid check is what refuses.
    let server = Server::start(vec![0], 0o666);
    std::fs::set_permissions(server.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cordonctl"))
        .args(["--socket", server.socket.to_str().unwrap(), "status"])
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("NotPermitted"), "{}", stderr(&out));
    // Root, on the list, is served.
    assert!(server.run(&["status"]).status.success());
}

/// `cordonctl status | head -1`: a reader that goes away ends cordonctl as SIGPIPE ends any
/// Unix tool, quietly, not with a panic about a broken pipe.
#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let server = Server::start(vec![me()], 0o600);
    let mut child = Command::new(env!("CARGO_BIN_EXE_cordonctl"))
        .args(["--socket", server.socket.to_str().unwrap(), "status"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The reading end is closed before cordonctl writes its first line.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.signal(), Some(13), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
}

fn example_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../cordon/examples/cordon.toml")
}

/// The inputs every complete run gives.
const COMPLETE: &[&str] = &[
    "--approver",
    "dlp-approver@contoso.com",
    "--sender-ip",
    "198.51.100.25",
    "--test-recipient",
    "postmaster@fabrikam.example",
];

fn cert_example() -> String {
    let changed = EXAMPLE.replace(
        "# client_certificate = \"/data/cordon/tls/client.pem\"\n# client_private_key = \"/data/cordon/tls/client.key\"",
        "client_certificate = \"/data/cordon/tls/client.pem\"\nclient_private_key = \"/data/cordon/tls/client.key\"",
    );
    assert!(
        changed.contains("\nclient_certificate"),
        "the example's relay section changed; update this test"
    );
    changed
}

fn golden(name: &str, out: &Output) {
    assert!(out.status.success(), "{}", stderr(out));
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &out.stdout).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        stdout(out),
        expected,
        "{name}: regenerate with UPDATE_GOLDEN=1 and review the diff"
    );
}

/// Each non-obvious parameter carries its reason and the reference page (anchored at the
/// parameter) that documents it; the seed and the rule-processing page are cited where the
/// script relies on them.
fn assert_documented(script: &str) {
    for param in [
        "-IsTransportRuleScoped",
        "-UseMXRecord",
        "-TlsSettings",
        "-CloudServicesMailEnabled $true",
        "-Priority 0",
        "-ExceptIfSenderIpRanges",
        "-HeaderMatchesPatterns",
        "-ModerateMessageByUser",
    ] {
        let line = script
            .lines()
            .find(|l| l.contains(param))
            .unwrap_or_else(|| panic!("{param} missing"));
        let anchor = format!("#{}", param.split(' ').next().unwrap().to_ascii_lowercase());
        assert!(
            line.contains("<# ")
                && line.contains("https://learn.microsoft.com/")
                && line.contains(&anchor),
            "{param} has no reference comment: {line}"
        );
    }
    // Every comment beside a parameter names its source.
    for line in script.lines().filter(|l| l.contains("<# ")) {
        assert!(line.contains("https://learn.microsoft.com/"), "{line}");
    }
    for url in GOLDEN_URLS {
        assert!(script.contains(url), "{url} not cited");
    }
}

const GOLDEN_URLS: [&str; 3] = [
    "https://learn.microsoft.com/powershell/module/exchangepowershell/new-outboundconnector#-",
    "https://learn.microsoft.com/exchange/security-and-compliance/mail-flow-rules/mail-flow-rules",
    "https://learn.microsoft.com/exchange/mail-flow-best-practices/use-connectors-to-configure-mail-flow/integrate-office-365-with-an-email-add-on-service",
];

#[test]
fn exchange_setup_ip_mode_matches_the_golden_file() {
    let config = example_path();
    let mut args = vec!["exchange-setup", "--config", config.to_str().unwrap()];
    args.extend_from_slice(COMPLETE);
    let out = cordonctl(&args);
    golden("exchange-setup-ip.ps1", &out);
    let script = stdout(&out);
    assert_documented(&script);
    assert!(script.contains("-SenderIPAddresses 198.51.100.25"));
    assert!(
        !script.contains("-RequireTls $") && !script.contains("-RestrictDomainsToIPAddresses $")
    );
}

#[test]
fn exchange_setup_certificate_mode_matches_the_golden_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cordon.toml");
    std::fs::write(&path, cert_example()).unwrap();
    let ca = TestCa::new("relay CA");
    let leaf = ca.leaf("relay.dlp.contoso.com", None);
    let cert = dir.path().join("client.pem");
    std::fs::write(&cert, &leaf.cert_pem).unwrap();
    let mut args = vec![
        "exchange-setup",
        "--config",
        path.to_str().unwrap(),
        "--client-cert",
        cert.to_str().unwrap(),
    ];
    args.extend_from_slice(COMPLETE);
    let out = cordonctl(&args);
    golden("exchange-setup-certificate.ps1", &out);
    let script = stdout(&out);
    assert_documented(&script);
    // The name comes from the client certificate, not from gateway.hostname.
    assert!(script.contains("-TlsSenderCertificateName relay.dlp.contoso.com"));
    assert!(script.contains("Get-AcceptedDomain -Identity relay.dlp.contoso.com"));
    let mut check = args.clone();
    check.push("--check");
    let out = cordonctl(&check);
    assert!(out.status.success(), "{}", stdout(&out));
}

#[test]
fn exchange_setup_several_gateways_match_the_golden_file() {
    let config = example_path();
    let mut args = vec![
        "exchange-setup",
        "--config",
        config.to_str().unwrap(),
        "--gateway",
        "dlp1.contoso.com",
        "--gateway",
        "dlp2.contoso.com",
        "--sender-ip",
        "203.0.113.25",
    ];
    args.extend_from_slice(COMPLETE);
    let out = cordonctl(&args);
    golden("exchange-setup-gateways.ps1", &out);
    let script = stdout(&out);
    assert!(script.contains("-SmartHosts dlp1.contoso.com, dlp2.contoso.com"));
    assert!(script.contains("-TlsDomain *.contoso.com"));
    assert!(script.contains("-SenderIPAddresses 203.0.113.25, 198.51.100.25"));
    assert!(script.contains("-ExceptIfSenderIpRanges 203.0.113.25, 198.51.100.25"));
}

#[test]
fn exchange_setup_json_lists_the_commands() {
    let config = example_path();
    let mut args = vec![
        "--json",
        "exchange-setup",
        "--config",
        config.to_str().unwrap(),
    ];
    args.extend_from_slice(COMPLETE);
    let out = cordonctl(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let commands = v["commands"].as_array().unwrap();
    let route = commands
        .iter()
        .find(|c| {
            c["cmdlet"] == "New-TransportRule"
                && c["parameters"]["RouteMessageOutboundConnector"].is_string()
        })
        .unwrap();
    assert_eq!(route["parameters"]["Priority"], 1);
    assert_eq!(route["parameters"]["Enabled"], false);
    assert_eq!(
        route["parameters"]["ExceptIfSenderIpRanges"],
        "198.51.100.25"
    );
    assert_eq!(v["mode"]["ip"][0], "198.51.100.25");
    assert!(commands.iter().any(
        |c| c["cmdlet"] == "Remove-OutboundConnector" && c["function"] == "Undo-CordonDlpSetup"
    ));
}

#[test]
fn exchange_setup_takes_every_value_from_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let changed = cert_example()
        .replace("dlp1.contoso.com", "gw9.fabrikam.net")
        .replace("X-Cordon-Inspected", "X-Fab-Seen")
        .replace("X-Cordon-Action", "X-Fab-Verdict")
        .replace("mail.protection.outlook.com\"", "relay.fabrikam.example\"");
    let path = dir.path().join("fabrikam.toml");
    std::fs::write(&path, &changed).unwrap();
    let out = cordonctl(&[
        "exchange-setup",
        "--config",
        path.to_str().unwrap(),
        "--approver",
        "boss@fabrikam.net",
        "--sender-ip",
        "198.51.100.9",
        "--cert-domain",
        "relay.fabrikam.net",
        "--test-recipient",
        "test@example.org",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let script = stdout(&out);
    for expected in [
        "-SmartHosts gw9.fabrikam.net",
        "-TlsDomain gw9.fabrikam.net",
        "-RemoveHeader X-Fab-Seen",
        "-HeaderMatchesMessageHeader X-Fab-Verdict",
        "-TlsSenderCertificateName relay.fabrikam.net",
        "-ModerateMessageByUser boss@fabrikam.net",
    ] {
        assert!(
            script.contains(expected),
            "missing {expected:?} in:\n{script}"
        );
    }
    for stale in [
        "dlp1.contoso.com",
        "X-Cordon-Inspected",
        "X-Cordon-Action",
        "<",
    ] {
        let code: Vec<&str> = script.lines().filter(|l| !l.starts_with('#')).collect();
        assert!(
            !code.iter().any(|l| l.replace("<#", "").contains(stale)),
            "stale {stale:?} in:\n{script}"
        );
    }
}

/// Runs `--check` on `toml` with `args` (plus the complete inputs unless overridden); returns
/// (exit code, stdout).
fn check(toml: &str, args: &[&str]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cordon.toml");
    std::fs::write(&path, toml).unwrap();
    let mut all = vec![
        "exchange-setup",
        "--config",
        path.to_str().unwrap(),
        "--check",
    ];
    all.extend_from_slice(args);
    for pair in COMPLETE.chunks(2) {
        if !args.contains(&pair[0]) {
            all.extend_from_slice(pair);
        }
    }
    let out = cordonctl(&all);
    (out.status.code(), stdout(&out))
}

#[test]
fn exchange_check_passes_the_production_example() {
    let (code, out) = check(EXAMPLE, &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("ok: this config can work with Exchange Online"),
        "{out}"
    );
    assert!(!out.contains("warning"), "{out}");
}

#[test]
fn exchange_check_refuses_each_config_that_cannot_work() {
    let ca = TestCa::new("relay CA");
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.pem");
    std::fs::write(&other, ca.leaf("other.contoso.com", None).cert_pem).unwrap();
    let cert = cert_example();
    let cases: Vec<(String, Vec<&str>, &str)> = vec![
        (
            EXAMPLE.replace("0.0.0.0:25", "0.0.0.0:2525"),
            vec![],
            "problem: [gateway] listen has no address on port 25 (it listens on 2525): Exchange Online delivers to a connector's smart hosts on port 25 only",
        ),
        (
            cert.replace("tls = \"required\"", "tls = \"none\""),
            vec!["--cert-domain", "relay.dlp.contoso.com"],
            "problem: [relay] tls = \"none\" with a client certificate: the certificate is only presented inside TLS",
        ),
        (
            cert.clone(),
            vec!["--cert-domain", "relay.dlp.contoso.com", "--client-cert", other.to_str().unwrap()],
            "problem: the relay client certificate names other.contoso.com but the inbound connector expects relay.dlp.contoso.com",
        ),
        (
            EXAMPLE.into(),
            vec!["--sender-ip", "10.20.30.40"],
            "problem: --sender-ip 10.20.30.40 is not a public address",
        ),
        (
            EXAMPLE.into(),
            vec!["--sender-ip", "2001:db8::25"],
            "problem: --sender-ip 2001:db8::25 is IPv6, which SenderIPAddresses does not support",
        ),
        (
            EXAMPLE.into(),
            vec!["--sender-ip", "198.51.100.0/23"],
            "problem: --sender-ip 198.51.100.0/23 is wider than /24",
        ),
        (
            EXAMPLE.into(),
            vec!["--sender-ip", "gw.contoso.com"],
            "problem: --sender-ip gw.contoso.com is not an IPv4 address or CIDR range",
        ),
        (
            EXAMPLE.into(),
            vec!["--approver", "a@contoso.com,b@contoso.com"],
            "problem: --approver \"a@contoso.com,b@contoso.com\" is not a single mailbox address",
        ),
        (
            EXAMPLE.into(),
            vec!["--gateway", "dlp1.contoso.com", "--gateway", "dlp.fabrikam.net"],
            "problem: the gateways dlp1.contoso.com, dlp.fabrikam.net are not all directly under one parent domain",
        ),
    ];
    for (toml, args, expected) in cases {
        let (code, out) = check(&toml, &args);
        assert_eq!(code, Some(1), "{args:?}: {out}");
        assert!(
            out.contains(expected),
            "{args:?}: expected {expected:?} in:\n{out}"
        );
        assert!(!out.contains("ok:"), "{out}");
    }
    // A port-25 forwarder in front is declared, not refused.
    let (code, out) = check(
        &EXAMPLE.replace("0.0.0.0:25", "0.0.0.0:2525"),
        &["--port25-forwarder"],
    );
    assert_eq!(code, Some(0), "{out}");
    // Missing inputs are named.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, EXAMPLE).unwrap();
    let out = cordonctl(&[
        "exchange-setup",
        "--config",
        path.to_str().unwrap(),
        "--check",
    ]);
    assert_eq!(out.status.code(), Some(1));
    for flag in ["--approver", "--sender-ip", "--test-recipient"] {
        assert!(stdout(&out).contains(flag), "{flag}: {}", stdout(&out));
    }
}

#[test]
fn exchange_check_warns_about_rules_and_ranges_this_routing_never_feeds() {
    let toml = EXAMPLE
        .replace(
            "name = \"quarantine-pii\"\ndirection = \"outbound\"",
            "name = \"quarantine-pii\"\ndirection = \"inbound\"",
        )
        .replace(
            "name = \"block-card-dumps\"\ndirection = \"outbound\"",
            "name = \"block-card-dumps\"\ndirection = \"internal\"",
        )
        .replace(", \"2a01:111:f400::/48\", \"2a01:111:f403::/48\"", "");
    let (code, out) = check(&toml, &[]);
    assert_eq!(code, Some(0), "warnings alone do not fail: {out}");
    for expected in [
        "warning: rule \"quarantine-pii\" has direction = \"inbound\" and never fires",
        "warning: rule \"block-card-dumps\" has direction = \"internal\" and never fires",
        "warning: [gateway] allowed_clients does not cover Exchange Online's 2a01:111:f400::/48",
        "warning: [gateway] allowed_clients does not cover Exchange Online's 2a01:111:f403::/48",
    ] {
        assert!(out.contains(expected), "expected {expected:?} in:\n{out}");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, &toml).unwrap();
    let mut args = vec![
        "--json",
        "exchange-setup",
        "--config",
        path.to_str().unwrap(),
        "--check",
    ];
    args.extend_from_slice(COMPLETE);
    let out = cordonctl(&args);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert!(v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["severity"] == "warning"));
}

#[test]
fn exchange_setup_from_the_running_config() {
    let server = Server::start(vec![me()], 0o600);
    let out = server.run(&["exchange-setup", "--approver", "a@contoso.com"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("the running config (generation 0)"));
    assert!(stdout(&out).contains("-SmartHosts dlp1.contoso.com"));
    // A fleet given on the command line feeds the same connector.
    let out = server.run(&[
        "exchange-setup",
        "--approver",
        "a@contoso.com",
        "--gateway",
        "dlp1.contoso.com",
        "--gateway",
        "dlp2.contoso.com",
    ]);
    assert!(stdout(&out).contains("-SmartHosts dlp1.contoso.com, dlp2.contoso.com"));
}

/// Issue 18, item 2: `incidents show`, the incident's JSON fields, and `--since` / `--after`
/// as separate filters.
#[test]
fn incidents_show_json_fields_since_and_after() {
    let server = Server::start(vec![me()], 0o600);
    for _ in 0..3 {
        server.backend.record_incident(Verdict::Block, "no-secrets");
    }
    let out = server.run(&["incidents", "show", "2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The relative part depends on today; everything else is exact.
    let ago = regex::Regex::new(r" \(\d+ (s|min|h|day|days) ago\)").unwrap();
    assert_eq!(
        ago.replace(&stdout(&out), " (AGO)"),
        "incident w0:2
  kind        dlp
  time        2023-11-14T22:13:22Z (AGO)
  action      block
  rule        no-secrets
  sender      alice@contoso.com
  recipients  1: bob@fabrikam.example
  subject     report 2
  message-id  <m2@contoso.com>
  session     s2
  downstream  250 2.0.0 queued

DETECTOR     COUNT  CONFIDENCE  SAMPLES
credit_card      2  high        4556 **** **** 9855
"
    );
    let out = server.run(&["--json", "incidents", "show", "2"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["seq"], 2);
    assert_eq!(v["kind"], "dlp");
    assert_eq!(v["action"], "block");
    assert_eq!(v["rule"], "no-secrets");
    assert_eq!(v["time"], "2023-11-14T22:13:22Z");
    assert_eq!(v["time_unix"], 1_700_000_002);
    assert_eq!(v["subject"], "report 2");
    assert_eq!(v["recipients"], 1);
    assert_eq!(v["rcpts"][0], "bob@fabrikam.example");
    assert_eq!(v["detectors"][0]["name"], "credit_card");
    assert_eq!(v["detectors"][0]["count"], 2);
    assert_eq!(v["detectors"][0]["confidence"], "high");
    assert_eq!(v["detectors"][0]["samples"][0], "4556 **** **** 9855");

    let seqs = |args: &[&str]| -> Vec<u64> {
        let out = server.run(args);
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["seq"]
                    .as_u64()
                    .unwrap()
            })
            .collect()
    };
    assert_eq!(seqs(&["--json", "incidents", "--since", "2"]), [2, 3]);
    assert_eq!(
        seqs(&["--json", "incidents", "--after", "2023-11-14T22:13:23Z"]),
        [3]
    );
    assert_eq!(
        seqs(&[
            "--json",
            "incidents",
            "--since",
            "3",
            "--after",
            "2023-11-14T22:13:21Z"
        ]),
        [3]
    );
    // A listing's line: lower-case kind and action, the rule, the detectors.
    let out = server.run(&["incidents", "--since", "3"]);
    let line = stdout(&out).lines().nth(1).unwrap().to_owned();
    assert_eq!(
        line.split_whitespace().collect::<Vec<_>>(),
        [
            "w0:3",
            "2023-11-14T22:13:23Z",
            "dlp",
            "block",
            "alice@contoso.com",
            "no-secrets",
            "credit_card",
            "2",
            "high",
            "report",
            "3"
        ]
    );

    let out = server.run(&["incidents", "show", "99"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "cordonctl: no incident w0:99: not in the journal (dropped by retention, or not recorded yet); `cordonctl incidents verify` shows the range held\n"
    );
    let out = server.run(&["incidents", "--after", "yesterday"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("\"yesterday\" is neither a time"),
        "{}",
        stderr(&out)
    );
}

/// `detectors` prints the appliance's list as it comes, table or JSON.
#[test]
fn detectors_prints_the_appliances_list() {
    let server = Server::start(vec![me()], 0o600);
    let out = server.run(&["detectors"]);
    assert_eq!(
        stdout(&out),
        "NAME         FAMILY\ncredit_card  financial\n"
    );
    let out = server.run(&["--json", "detectors"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["detectors"][0]["name"], "credit_card");
}

/// Issue 18, item 11: `config diff FILE`, and "unchanged" for an identical apply (no new
/// generation, so the rollback slot keeps the previous config).
#[test]
fn config_diff_and_an_unchanged_apply() {
    let server = Server::start(vec![me()], 0o600);
    let first = server.file("first.toml", &EXAMPLE.replace("dlp1.", "dlp2."));
    assert!(server.run(&["config", "apply", &first]).status.success());
    let out = server.run(&["config", "apply", &first]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!("unchanged: {first} is the running generation 1 already\n")
    );
    let out = server.run(&["--json", "config", "apply", &first]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["unchanged"].as_bool(), v["generation"].as_u64()),
        (Some(true), Some(1))
    );

    let out = server.run(&["config", "diff", &first]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        stdout(&out),
        format!("{first} is the same as the running generation 1\n")
    );
    let running = EXAMPLE.replace("dlp1.", "dlp2.");
    let (n, old) = running
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains("dlp2."))
        .unwrap();
    let second = server.file("second.toml", &running.replacen("dlp2.", "dlp3.", 1));
    let out = server.run(&["config", "diff", &second]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out),
        format!(
            "--- running generation 1\n+++ {second}\n-{l}: {old}\n+{l}: {new}\n",
            l = n + 1,
            new = old.replacen("dlp2.", "dlp3.", 1)
        )
    );
    let out = server.run(&["--json", "config", "diff", &second]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["same"], false);
    assert_eq!(v["changes"][0]["op"], "-");
    assert_eq!(v["changes"][1]["line"], n + 1);
}

/// The type of a JSON value, as docs/config-port.md names it.
fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "integer",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// `v` has exactly these fields, each of this type (`a|b`: either).
fn assert_schema(what: &str, v: &serde_json::Value, fields: &[(&str, &str)]) {
    let obj = v
        .as_object()
        .unwrap_or_else(|| panic!("{what}: not an object: {v}"));
    let mut got: Vec<&str> = obj.keys().map(|k| k.as_str()).collect();
    let mut want: Vec<&str> = fields.iter().map(|(k, _)| *k).collect();
    got.sort_unstable();
    want.sort_unstable();
    assert_eq!(got, want, "{what}: field names");
    for (k, t) in fields {
        let actual = json_type(&obj[*k]);
        assert!(
            t.split('|').any(|t| t == actual),
            "{what}.{k}: {actual}, documented {t}"
        );
    }
}

/// Issue 18, item 8: every `--json` output has the field names and types
/// docs/config-port.md ("JSON schemas") documents.
#[test]
fn json_outputs_match_the_documented_schemas() {
    let server = Server::start(vec![me()], 0o600);
    server.backend.record_incident(Verdict::Block, "no-secrets");
    let run = |args: &[&str]| -> serde_json::Value {
        let out = server.run(args);
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", stdout(&out)))
    };
    let issue = [
        ("file", "string"),
        ("line", "integer"),
        ("column", "integer"),
        ("key", "string"),
        ("reason", "string"),
    ];
    let incident = run(&["--json", "incidents", "show", "1"]);
    assert_schema(
        "incident",
        &incident,
        &[
            ("id", "string"),
            ("worker", "integer"),
            ("seq", "integer"),
            ("time", "string"),
            ("time_unix", "integer"),
            ("kind", "string"),
            ("reason", "string"),
            ("session", "string"),
            ("message_id", "string"),
            ("sender", "string"),
            ("subject", "string"),
            ("recipients", "integer"),
            ("rcpts", "array"),
            ("rule", "string|null"),
            ("action", "string"),
            ("detectors", "array"),
            ("downstream_reply", "string|null"),
        ],
    );
    assert_schema(
        "incident.detectors[]",
        &incident["detectors"][0],
        &[
            ("name", "string"),
            ("count", "integer"),
            ("confidence", "string"),
            ("samples", "array"),
        ],
    );
    let listed = stdout(&server.run(&["--json", "incidents"]));
    let line: serde_json::Value = serde_json::from_str(listed.lines().next().unwrap()).unwrap();
    assert_eq!(
        line, incident,
        "incidents --json and incidents show --json differ"
    );

    let status = run(&["--json", "status"]);
    assert_schema(
        "status",
        &status,
        &[
            ("software", "string"),
            ("board", "string"),
            ("uptime_secs", "integer"),
            ("started_unix", "integer"),
            ("started", "string"),
            ("workers", "array"),
            ("sessions", "integer"),
            ("memory", "object"),
            ("config_generation", "integer"),
            ("listeners", "array"),
            ("restart_pending", "array"),
            ("journal", "object"),
            ("state", "string"),
            ("problems", "array"),
            ("config_origin", "string"),
            ("file_differs", "boolean"),
            ("last_apply", "object|null"),
            ("smarthosts", "array"),
            ("certificate", "object|null"),
            ("recent", "array"),
            ("buffers", "array"),
        ],
    );
    assert_schema(
        "status.buffers[]",
        &status["buffers"][0],
        &[
            ("size", "integer"),
            ("count", "integer"),
            ("in_use", "integer"),
        ],
    );
    assert_schema(
        "status.workers[]",
        &status["workers"][0],
        &[
            ("index", "integer"),
            ("core", "integer|null"),
            ("pid", "integer"),
            ("health", "string"),
            ("sessions", "integer"),
        ],
    );
    assert_schema(
        "status.memory",
        &status["memory"],
        &[("budget_bytes", "integer"), ("used_bytes", "integer")],
    );

    let good = server.file("good.toml", &EXAMPLE.replace("dlp1.", "dlp2."));
    assert_schema(
        "config check",
        &run(&["--json", "config", "check", &good]),
        &[("valid", "boolean"), ("warnings", "array")],
    );
    assert_schema(
        "config apply",
        &run(&["--json", "config", "apply", &good]),
        &[
            ("applied", "boolean"),
            ("generation", "integer"),
            ("warnings", "array"),
        ],
    );
    assert_schema(
        "config apply (unchanged)",
        &run(&["--json", "config", "apply", &good]),
        &[
            ("applied", "boolean"),
            ("unchanged", "boolean"),
            ("generation", "integer"),
            ("warnings", "array"),
        ],
    );
    let bad = server.file(
        "bad.toml",
        &EXAMPLE.replace("max_sessions = ", "max_sessions = -"),
    );
    let refused = run(&["--json", "config", "apply", &bad]);
    assert_schema(
        "config apply (refused)",
        &refused,
        &[("applied", "boolean"), ("error", "object")],
    );
    assert_schema(
        "error",
        &refused["error"],
        &[
            ("code", "string"),
            ("message", "string"),
            ("issues", "array"),
        ],
    );
    assert_schema("issue", &refused["error"]["issues"][0], &issue);
    assert_schema(
        "config check (refused)",
        &run(&["--json", "config", "check", &bad]),
        &[("valid", "boolean"), ("error", "object")],
    );
    let diff = run(&["--json", "config", "diff", &bad]);
    assert_schema(
        "config diff",
        &diff,
        &[
            ("generation", "integer"),
            ("file", "string"),
            ("same", "boolean"),
            ("changes", "array"),
        ],
    );
    assert_schema(
        "config diff.changes[]",
        &diff["changes"][0],
        &[("op", "string"), ("line", "integer"), ("text", "string")],
    );

    let ca = TestCa::new("tls CA");
    let leaf = ca.leaf("dlp1.contoso.com", None);
    let cert = server.file("cert.pem", &leaf.cert_pem);
    let key = server.file("key.pem", &leaf.key_pem);
    assert_schema(
        "tls install",
        &run(&["--json", "tls", "install", "--cert", &cert, "--key", &key]),
        &[
            ("subject", "string"),
            ("not_after", "string"),
            ("not_after_unix", "integer"),
            ("sha256", "string"),
        ],
    );

    // The audit trail (the applies above were audited) and the config history.
    let audit = run(&["--json", "audit"]);
    assert_schema(
        "audit",
        &audit,
        &[("records", "array"), ("more_since", "integer|null")],
    );
    let record_fields: &[(&str, &str)] = &[
        ("worker", "integer"),
        ("seq", "integer"),
        ("time_unix", "integer"),
        ("uid", "integer|null"),
        ("subject", "string|null"),
        ("peer", "string"),
        ("request", "string"),
        ("generation", "integer|null"),
        ("changes", "string"),
        ("ok", "boolean"),
        ("error", "string|null"),
    ];
    assert_schema("audit.records[]", &audit["records"][0], record_fields);
    let history = run(&["--json", "config", "history"]);
    assert!(!history.as_array().unwrap().is_empty(), "{history}");
    assert_schema("config history[]", &history[0], record_fields);
    assert_schema(
        "status.last_apply",
        &run(&["--json", "status"])["last_apply"],
        record_fields,
    );

    // The message trace: one object per line, oldest first.
    let out = stdout(&server.run(&["--json", "trace"]));
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert_schema(
        "trace",
        &lines[1],
        &[
            ("worker", "integer"),
            ("seq", "integer"),
            ("time_ms", "integer"),
            ("bytes", "integer"),
            ("action", "string"),
            ("rule", "string|null"),
            ("sender", "string"),
            ("message_id", "string"),
            ("reason", "string"),
        ],
    );
    let last = stdout(&server.run(&["--json", "trace", "--limit", "1"]));
    assert!(
        last.trim().contains("<m2@contoso.com>") && last.lines().count() == 1,
        "{last}"
    );

    // The log tail: one object per line, oldest first, the supervisor named.
    let out = stdout(&server.run(&["--json", "log"]));
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert_schema(
        "log",
        &lines[0],
        &[
            ("time", "string"),
            ("time_ms", "integer"),
            ("source", "string"),
            ("seq", "integer"),
            ("level", "string"),
            ("text", "string"),
        ],
    );
    assert_eq!(lines[0]["source"], "supervisor", "{out}");
    assert_eq!(lines[2]["level"], "warn", "{out}");
    // --level warn keeps the warning only; -n 1 the newest line.
    let warn = stdout(&server.run(&["log", "--level", "warn"]));
    assert!(
        warn.lines().count() == 1 && warn.contains(" worker0 ") && warn.contains("warn"),
        "{warn}"
    );
    let newest = stdout(&server.run(&["log", "-n", "1"]));
    assert!(
        newest.lines().count() == 1 && newest.contains("refused the connection"),
        "{newest}"
    );
    let bad = server.run(&["log", "--level", "loud"]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("error, warn, info, debug, trace"),
        "{bad:?}"
    );

    // Repeated values: the top level here (the fake's incidents carry no value tags); the
    // detector and value objects against the real gateway in tests/tests/repeats.rs.
    let repeats = run(&["--json", "incidents", "repeats"]);
    assert_schema(
        "incidents repeats",
        &repeats,
        &[
            ("incidents", "integer"),
            ("messages", "integer"),
            ("complete", "boolean"),
            ("untracked", "integer"),
            ("detectors", "array"),
            ("top", "array"),
        ],
    );
    assert_eq!(repeats["incidents"], 1, "{repeats}");
}
