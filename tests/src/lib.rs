//! The behaviour-test harness: starts the real `cordon` binary and real peers (aiosmtpd capture
//! server, Postfix, swaks, openssl) on loopback, and talks SMTP to them over real sockets.
//!
//! # Layout
//! - [`Gateway`]: a running `cordon run` with a generated config; its log is kept for asserts.
//! - [`Capture`]: the capturing smart host (`tests/peers/capture.py`).
//! - [`Client`]: a small blocking SMTP client for hand-made sessions.
//! - [`Postfix`]: a throwaway Postfix instance (`tests/peers/postfix-instance.sh`).
//! - [`Certs`]: a test CA and certificates made with rcgen.
//! - [`faulty`]: a fault-injecting smart host, scriptable per SMTP step.
//!
//! Every wait is bounded by a deadline and every spawned process is killed on drop.

#![forbid(unsafe_code)]
// The harness is plain threads, not tokio: blocking sleeps in polling loops are fine here.
#![allow(clippy::disallowed_methods)]

pub mod faulty;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Debian's interpreter, which has python3-aiosmtpd.
pub const PYTHON: &str = "/usr/bin/python3";
/// No single step of a test waits longer than this.
pub const STEP: Duration = Duration::from_secs(60);

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repo")
        .to_path_buf()
}

/// A binary of the workspace, built by the test command before the tests run.
pub fn bin(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"));
    let profile = std::env::var("CORDON_TEST_PROFILE").unwrap_or_else(|_| "debug".into());
    let p = target.join(profile).join(name);
    assert!(
        p.exists(),
        "{} is missing: build it first (`cargo build --workspace --bins`), as scripts/test does",
        p.display()
    );
    p
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

static TMP_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A directory removed on drop.
#[derive(Debug)]
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("cordon-test-{}-{tag}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Polls `f` until it returns `Some` or the deadline passes.
pub fn wait_until<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Drains a child's pipe into a shared string on a thread so the child never blocks on it.
fn drain(pipe: impl Read + Send + 'static, sink: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        let mut r = BufReader::new(pipe);
        let mut line = String::new();
        while r.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
            sink.lock().expect("log lock").push_str(&line);
            line.clear();
        }
    });
}

/// One message received by the capture server.
#[derive(Debug, Clone)]
pub struct Captured {
    pub raw: Vec<u8>,
    pub meta: serde_json::Value,
}

impl Captured {
    pub fn rcpts(&self) -> Vec<String> {
        self.meta["rcpt_tos"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The envelope sender; the null reverse-path is `""` (aiosmtpd records it as `<>`).
    pub fn mail_from(&self) -> String {
        match self.meta["mail_from"].as_str().unwrap_or_default() {
            "<>" => String::new(),
            from => from.to_string(),
        }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.raw).to_string()
    }

    /// The message with cordon's `Received:` and stamp lines taken off the top, and those lines.
    pub fn split_stamp(&self, inspected: &str) -> (String, Vec<u8>) {
        let mut pos = 0;
        let raw = &self.raw;
        // Received: plus its folded lines, then the stamp and any verdict headers cordon added.
        let mut added = String::new();
        let mut seen_received = false;
        while pos < raw.len() {
            let end = raw[pos..]
                .windows(2)
                .position(|w| w == b"\r\n")
                .map(|i| pos + i + 2)
                .unwrap_or(raw.len());
            let line = String::from_utf8_lossy(&raw[pos..end]).to_string();
            let ours = (!seen_received && line.starts_with("Received: "))
                || (seen_received && (line.starts_with('\t') || line.starts_with(' ')))
                || line
                    .to_ascii_lowercase()
                    .starts_with(&format!("{}:", inspected.to_ascii_lowercase()))
                || line.starts_with("X-Cordon-");
            if !ours {
                break;
            }
            seen_received = true;
            added.push_str(&line);
            pos = end;
        }
        (added, raw[pos..].to_vec())
    }
}

/// The capturing smart host.
#[derive(Debug)]
pub struct Capture {
    child: Child,
    pub port: u16,
    pub dir: TempDir,
    pub log: Arc<Mutex<String>>,
}

impl Capture {
    /// Starts `capture.py` with extra arguments (`--reject-rcpt`, `--cert`, ...).
    pub fn start(args: &[&str]) -> Capture {
        let dir = TempDir::new("capture");
        let mut child = Command::new(PYTHON)
            .arg(repo_root().join("tests/peers/capture.py"))
            .arg("--dir")
            .arg(dir.path().join("mail"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start capture.py (is python3-aiosmtpd installed?)");
        let log = Arc::new(Mutex::new(String::new()));
        drain(child.stderr.take().expect("stderr"), Arc::clone(&log));
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        out.read_line(&mut line).expect("read READY");
        let port = line
            .trim()
            .strip_prefix("READY ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| {
                panic!(
                    "capture.py did not start: {line:?} {}",
                    log.lock().map(|l| l.clone()).unwrap_or_default()
                )
            });
        Capture {
            child,
            port,
            dir,
            log,
        }
    }

    pub fn smarthost(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Messages captured so far, in arrival order.
    pub fn messages(&self) -> Vec<Captured> {
        let dir = self.dir.path().join("mail");
        let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|e| e == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
            .into_iter()
            .map(|p| {
                let raw = std::fs::read(&p).expect("read eml");
                let meta = std::fs::read_to_string(p.with_extension("json"))
                    .ok()
                    .and_then(|t| serde_json::from_str(&t).ok())
                    .unwrap_or_default();
                Captured { raw, meta }
            })
            .collect()
    }

    /// Waits until at least `n` messages arrived.
    pub fn wait_messages(&self, n: usize) -> Vec<Captured> {
        wait_until(&format!("{n} captured message(s)"), STEP, || {
            let m = self.messages();
            (m.len() >= n).then_some(m)
        })
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A gateway configuration for tests; `render` makes the TOML.
#[derive(Debug, Clone)]
pub struct Cfg {
    pub hostname: String,
    /// The listen address without the port: `127.0.0.1`, or `[::1]` for IPv6.
    pub listen_host: String,
    pub listen: u16,
    pub listen_tls: Option<u16>,
    pub allowed: Vec<String>,
    pub smarthosts: Vec<String>,
    pub relay_tls: String,
    pub tls_name: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub client_auth: Option<(PathBuf, PathBuf)>,
    pub inbound_tls: Option<(PathBuf, PathBuf, bool)>,
    pub max_message_size: String,
    pub max_sessions: usize,
    pub timeouts: Vec<(String, String)>,
    /// `[control]` lines (without the header), e.g. `state_dir = ...`.
    pub control: Option<String>,
    /// Appended verbatim (further sections).
    pub extra: String,
}

impl Cfg {
    pub fn new(smarthost: &str) -> Cfg {
        Cfg {
            hostname: "dlp1.test.example".into(),
            listen_host: "127.0.0.1".into(),
            listen: free_port(),
            listen_tls: None,
            allowed: vec!["127.0.0.0/8".into(), "::1/128".into()],
            smarthosts: vec![smarthost.to_string()],
            relay_tls: "none".into(),
            tls_name: None,
            ca_file: None,
            client_auth: None,
            inbound_tls: None,
            // Small, because every session's buffer is touched at start.
            max_message_size: "4MiB".into(),
            max_sessions: 16,
            timeouts: Vec::new(),
            control: None,
            extra: String::new(),
        }
    }

    pub fn render(&self) -> String {
        let list = |v: &[String]| {
            v.iter()
                .map(|s| format!("{s:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut t = format!(
            "[gateway]\nhostname = {:?}\nlisten = [\"{}:{}\"]\nlisten_tls = [{}]\nallowed_clients = [{}]\nmax_message_size = {:?}\nmax_sessions = {}\n",
            self.hostname,
            self.listen_host,
            self.listen,
            self.listen_tls.map(|p| format!("\"127.0.0.1:{p}\"")).unwrap_or_default(),
            list(&self.allowed),
            self.max_message_size,
            self.max_sessions
        );
        if let Some((c, k, req)) = &self.inbound_tls {
            t += &format!(
                "\n[gateway.tls]\ncertificate = {:?}\nprivate_key = {:?}\nrequired = {req}\n",
                c.display().to_string(),
                k.display().to_string()
            );
        }
        t += &format!(
            "\n[relay]\nsmarthosts = [{}]\ntls = {:?}\n",
            list(&self.smarthosts),
            self.relay_tls
        );
        if let Some(n) = &self.tls_name {
            t += &format!("tls_name = {n:?}\n");
        }
        if let Some(ca) = &self.ca_file {
            t += &format!("ca_file = {:?}\n", ca.display().to_string());
        }
        if let Some((c, k)) = &self.client_auth {
            t += &format!(
                "client_certificate = {:?}\nclient_private_key = {:?}\n",
                c.display().to_string(),
                k.display().to_string()
            );
        }
        t += "\n[organization]\ndomains = [\"contoso.com\"]\n";
        if !self.timeouts.is_empty() {
            t += "\n[timeouts]\n";
            for (k, v) in &self.timeouts {
                t += &format!("{k} = {v:?}\n");
            }
        }
        t += "\n";
        t += &self.extra;
        if let Some(c) = &self.control {
            t += &format!("\n[control]\n{c}\n");
        }
        t
    }
}

/// A running `cordon run`.
#[derive(Debug)]
pub struct Gateway {
    child: Child,
    pub port: u16,
    pub tls_port: Option<u16>,
    pub log: Arc<Mutex<String>>,
    pub dir: TempDir,
}

impl Gateway {
    /// Writes the config, starts cordon and waits until it has bound its listeners.
    pub fn start(cfg: &Cfg) -> Gateway {
        let dir = TempDir::new("gateway");
        let path = dir.path().join("cordon.toml");
        std::fs::write(&path, cfg.render()).expect("write config");
        let mut child = Command::new(bin("cordon"))
            .arg("run")
            .arg("--config")
            .arg(&path)
            .env("RUST_LOG", "info")
            .env_remove("JOURNAL_STREAM")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start cordon");
        let log = Arc::new(Mutex::new(String::new()));
        drain(child.stderr.take().expect("stderr"), Arc::clone(&log));
        let mut gw = Gateway {
            child,
            port: cfg.listen,
            tls_port: cfg.listen_tls,
            log,
            dir,
        };
        wait_until("cordon to start", STEP, || {
            if let Ok(Some(status)) = gw.child.try_wait() {
                panic!("cordon exited with {status}:\n{}", gw.logs());
            }
            gw.logs().contains("cordon started").then_some(())
        });
        gw
    }

    pub fn logs(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Waits until the log holds `needle`: log lines reach us through a pipe, after the replies
    /// the test may already have read.
    pub fn wait_log(&self, needle: &str) {
        wait_until(&format!("`{needle}` in the cordon log"), STEP, || {
            self.logs().contains(needle).then_some(())
        });
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory in KiB, from /proc.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("read /proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .expect("VmRSS")
    }

    pub fn client(&self) -> Client {
        Client::connect(self.port)
    }

    /// Sends SIGTERM, waits for a clean exit and returns the whole log (which ends with the
    /// counters cordon prints when it stops).
    pub fn terminate_logs(mut self) -> String {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status();
        let status = wait_until("cordon to exit", STEP, || {
            self.child.try_wait().ok().flatten()
        });
        assert!(
            status.success(),
            "cordon exited with {status}:\n{}",
            self.logs()
        );
        self.wait_log("cordon stopped");
        self.logs()
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An SMTP reply as read by the test client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub lines: Vec<String>,
}

impl Reply {
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }
}

/// A small blocking SMTP client.
#[derive(Debug)]
pub struct Client {
    pub stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Client {
    pub fn connect(port: u16) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to cordon");
        Client::from_stream(stream)
    }

    /// Connects from a chosen local address (e.g. 127.0.0.2 for relay-guard tests).
    pub fn connect_from(src: IpAddr, port: u16) -> Client {
        use socket2::{Domain, Socket, Type};
        let s = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
        s.bind(&SocketAddr::new(src, 0).into())
            .expect("bind source");
        s.connect(&SocketAddr::from(([127, 0, 0, 1], port)).into())
            .expect("connect");
        Client::from_stream(s.into())
    }

    /// Connects to any address (e.g. `[::1]:port`).
    pub fn connect_addr(addr: SocketAddr) -> Client {
        Client::from_stream(TcpStream::connect(addr).expect("connect"))
    }

    fn from_stream(stream: TcpStream) -> Client {
        stream.set_read_timeout(Some(STEP)).expect("timeout");
        stream.set_nodelay(true).expect("nodelay");
        let reader = BufReader::new(stream.try_clone().expect("clone"));
        Client { stream, reader }
    }

    /// Reads one reply, or `None` when the server closed the connection.
    pub fn try_reply(&mut self) -> Option<Reply> {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            match self.reader.read_line(&mut line) {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
            let line = line.trim_end_matches(['\r', '\n']);
            let code: u16 = line.get(..3)?.parse().ok()?;
            lines.push(line.get(4..).unwrap_or("").to_string());
            if line.as_bytes().get(3) != Some(&b'-') {
                return Some(Reply { code, lines });
            }
        }
    }

    pub fn reply(&mut self) -> Reply {
        self.try_reply().expect("server closed the connection")
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    pub fn cmd(&mut self, line: &str) -> Reply {
        self.send(format!("{line}\r\n").as_bytes());
        self.reply()
    }

    /// Reads the greeting and says EHLO; returns the EHLO reply.
    pub fn hello(&mut self) -> Reply {
        let g = self.reply();
        assert_eq!(g.code, 220, "greeting: {g:?}");
        let r = self.cmd("EHLO client.test.example");
        assert_eq!(r.code, 250, "EHLO: {r:?}");
        r
    }

    /// A whole transaction with DATA; returns the final reply.
    pub fn send_mail(&mut self, from: &str, rcpts: &[&str], message: &[u8]) -> Reply {
        let r = self.cmd(&format!("MAIL FROM:<{from}>"));
        assert_eq!(r.code, 250, "MAIL: {r:?}");
        for rcpt in rcpts {
            let r = self.cmd(&format!("RCPT TO:<{rcpt}>"));
            assert_eq!(r.code, 250, "RCPT: {r:?}");
        }
        let r = self.cmd("DATA");
        assert_eq!(r.code, 354, "DATA: {r:?}");
        self.send(&dot_stuff(message));
        self.reply()
    }

    /// Greeting, EHLO and a whole transaction, or `None` as soon as the connection breaks or a
    /// step is refused (for tests where a dropped connection is an acceptable outcome).
    pub fn try_transaction(port: u16, from: &str, rcpts: &[&str], message: &[u8]) -> Option<Reply> {
        let stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
        let mut c = Client::from_stream(stream);
        let step = |c: &mut Client, line: &[u8], want: u16| -> Option<()> {
            c.stream.write_all(line).ok()?;
            (c.try_reply()?.code == want).then_some(())
        };
        (c.try_reply()?.code == 220).then_some(())?;
        step(&mut c, b"EHLO client.test.example\r\n", 250)?;
        step(&mut c, format!("MAIL FROM:<{from}>\r\n").as_bytes(), 250)?;
        for r in rcpts {
            step(&mut c, format!("RCPT TO:<{r}>\r\n").as_bytes(), 250)?;
        }
        step(&mut c, b"DATA\r\n", 354)?;
        c.stream.write_all(&dot_stuff(message)).ok()?;
        c.try_reply()
    }

    /// True when the server has closed the connection (reads EOF within a short time).
    pub fn is_closed(&mut self) -> bool {
        let _ = self.stream.set_read_timeout(Some(Duration::from_secs(5)));
        let mut buf = [0u8; 512];
        loop {
            match self.reader.read(&mut buf) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e) => {
                    return e.kind() != std::io::ErrorKind::WouldBlock
                        && e.kind() != std::io::ErrorKind::TimedOut
                }
            }
        }
    }
}

/// The DATA form of a message: dot-stuffed and terminated.
pub fn dot_stuff(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + message.len() / 50 + 5);
    let mut at_start = true;
    for &b in message {
        if at_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        at_start = b == b'\n';
    }
    if !at_start {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// A well-formed message of about `size` octets with 76-octet lines, some starting with a dot
/// (to exercise stuffing) and some 8-bit text.
pub fn make_message(size: usize, subject: &str) -> Vec<u8> {
    let mut m = format!(
        "From: Alice <alice@contoso.com>\r\nTo: Bob <bob@fabrikam.example>\r\nSubject: {subject}\r\nMessage-ID: <{}@contoso.com>\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
        subject.replace(' ', ".")
    )
    .into_bytes();
    let mut i = 0u64;
    while m.len() < size {
        i += 1;
        let line = match i % 7 {
            0 => format!(".line {i} starts with a dot and must survive stuffing"),
            3 => format!("Zeile {i}: Grüße aus Köln, naïve café, 8-bit text for 8BITMIME"),
            _ => format!(
                "line {i:08} {}",
                "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ"
            ),
        };
        m.extend_from_slice(line.as_bytes());
        m.extend_from_slice(b"\r\n");
    }
    m
}

/// A test CA with server certificates, written as PEM files into a directory.
#[derive(Debug)]
pub struct Certs {
    pub dir: TempDir,
    pub ca: PathBuf,
}

impl Certs {
    /// A new CA.
    pub fn new() -> Certs {
        let dir = TempDir::new("certs");
        let ca = dir.path().join("ca.pem");
        let certs = Certs { dir, ca };
        let (cert, key) = certs.ca_params();
        std::fs::write(&certs.ca, cert).expect("write ca");
        std::fs::write(certs.dir.path().join("ca.key"), key).expect("write ca key");
        certs
    }

    fn ca_params(&self) -> (String, String) {
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = ca_cert_params().self_signed(&key).expect("self-sign CA");
        (cert.pem(), key.serialize_pem())
    }

    /// A certificate for `names`, signed by this CA; returns (cert.pem, key.pem) paths.
    pub fn issue(&self, names: &[&str]) -> (PathBuf, PathBuf) {
        let ca_key_pem = std::fs::read_to_string(self.dir.path().join("ca.key")).expect("ca key");
        let ca_key = rcgen::KeyPair::from_pem(&ca_key_pem).expect("parse ca key");
        let issuer = rcgen::Issuer::new(ca_cert_params(), ca_key);
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params =
            rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .expect("params");
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, names[0]);
        let cert = params.signed_by(&key, &issuer).expect("sign");
        let stem = names[0].replace(['.', '*'], "_");
        let c = self.dir.path().join(format!("{stem}.pem"));
        let k = self.dir.path().join(format!("{stem}.key"));
        std::fs::write(&c, cert.pem()).expect("write cert");
        std::fs::write(&k, key.serialize_pem()).expect("write key");
        (c, k)
    }
}

impl Default for Certs {
    fn default() -> Self {
        Certs::new()
    }
}

fn ca_cert_params() -> rcgen::CertificateParams {
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    p.distinguished_name
        .push(rcgen::DnType::CommonName, "cordon test CA");
    p.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    p
}

/// A throwaway Postfix instance listening on 127.0.0.1:`port`, relaying to `relay` (host:port).
#[derive(Debug)]
pub struct Postfix {
    pub port: u16,
    pub dir: TempDir,
}

impl Postfix {
    pub fn start(relay: &str) -> Postfix {
        let port = free_port();
        let dir = TempDir::new("postfix");
        let status = Command::new("bash")
            .arg(repo_root().join("tests/peers/postfix-instance.sh"))
            .args([
                "start",
                &dir.path().join("pf").display().to_string(),
                &port.to_string(),
                relay,
            ])
            .status()
            .expect("run postfix-instance.sh");
        assert!(status.success(), "postfix did not start");
        wait_until("postfix to listen", STEP, || {
            TcpStream::connect(("127.0.0.1", port)).ok().map(|_| ())
        });
        Postfix { port, dir }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pf/maillog")).unwrap_or_default()
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(repo_root().join("tests/peers/postfix-instance.sh"))
            .args(["stop", &self.dir.path().join("pf").display().to_string()])
            .status();
    }
}

/// Runs swaks with arguments; returns (success, combined output).
pub fn swaks(args: &[&str]) -> (bool, String) {
    let out = Command::new("swaks")
        .args(args)
        .args(["--timeout", "60"])
        .output()
        .expect("run swaks (apt-get install swaks)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// What a [`FakeSmarthost`] does once message data starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FakeBehaviour {
    /// Accept every message with 250.
    Accept,
    /// Close the connection after this many octets of message data.
    CloseMidData(usize),
    /// Never answer the final dot.
    StallAfterData,
}

/// A scripted smart host for failures a real server will not produce on demand.
#[derive(Debug)]
pub struct FakeSmarthost {
    pub port: u16,
    /// Messages answered with 250.
    pub accepted: Arc<AtomicUsize>,
}

impl FakeSmarthost {
    pub fn start(behaviour: FakeBehaviour) -> FakeSmarthost {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind fake");
        let port = listener.local_addr().expect("addr").port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&accepted);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                let count = Arc::clone(&count);
                std::thread::spawn(move || fake_session(conn, behaviour, &count));
            }
        });
        FakeSmarthost { port, accepted }
    }

    pub fn smarthost(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }
}

fn fake_session(conn: TcpStream, behaviour: FakeBehaviour, accepted: &AtomicUsize) {
    let _ = conn.set_read_timeout(Some(STEP));
    let mut w = conn.try_clone().expect("clone");
    let mut r = BufReader::new(conn);
    let _ = w.write_all(b"220 fake.test ESMTP\r\n");
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-fake.test\r\n250 PIPELINING\r\n",
            "DATA" => {
                let _ = w.write_all(b"354 go ahead\r\n");
                let mut seen = 0usize;
                let mut tail = Vec::new();
                loop {
                    let mut buf = [0u8; 4096];
                    let n = match r.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    seen += n;
                    if let FakeBehaviour::CloseMidData(limit) = behaviour {
                        if seen >= limit {
                            return;
                        }
                    }
                    tail.extend_from_slice(&buf[..n]);
                    if tail.len() > 8 {
                        tail.drain(..tail.len() - 8);
                    }
                    if tail.ends_with(b"\r\n.\r\n") {
                        break;
                    }
                }
                if behaviour == FakeBehaviour::StallAfterData {
                    std::thread::sleep(STEP);
                    return;
                }
                accepted.fetch_add(1, Ordering::SeqCst);
                b"250 2.0.0 accepted\r\n"
            }
            "QUIT" => {
                let _ = w.write_all(b"221 bye\r\n");
                return;
            }
            _ => b"250 2.0.0 ok\r\n",
        };
        if w.write_all(reply).is_err() {
            return;
        }
    }
}

/// Postfix's `smtp-sink`: a fast downstream that accepts and discards everything.
#[derive(Debug)]
pub struct Sink {
    child: Child,
    pub port: u16,
}

impl Sink {
    pub fn start() -> Sink {
        let port = free_port();
        // smtp-sink refuses to run as root without dropping privileges.
        let child = Command::new("smtp-sink")
            .args(["-u", "nobody", &format!("127.0.0.1:{port}"), "256"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start smtp-sink (apt-get install postfix)");
        wait_until("smtp-sink to listen", STEP, || {
            TcpStream::connect(("127.0.0.1", port)).ok().map(|_| ())
        });
        Sink { child, port }
    }

    pub fn smarthost(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
