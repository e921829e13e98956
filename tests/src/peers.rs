//! The real peers the gateway talks to: the capturing smart host (aiosmtpd), a throwaway
//! Postfix, swaks, a scripted fake smart host and Postfix's `smtp-sink`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::support::{drain, free_port, repo_root, wait_until, TempDir, PYTHON, STEP};

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
