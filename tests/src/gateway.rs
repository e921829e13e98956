//! The gateway under test: a generated configuration ([`Cfg`]) and a running `cordon run`
//! ([`Gateway`]) whose log is kept for asserts.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use crate::client::Client;
use crate::support::{bin, drain, free_port, wait_until, TempDir, STEP};

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
    /// More `[gateway]` lines (e.g. `slot_classes = [...]`).
    pub gateway_extra: String,
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
            gateway_extra: String::new(),
            timeouts: Vec::new(),
            control: None,
            extra: String::new(),
        }
    }

    /// Adds `[control]` with its state directory and Unix socket inside `dir`; returns the
    /// socket's path.
    pub fn control_in(&mut self, dir: &std::path::Path) -> PathBuf {
        let socket = dir.join("control.sock");
        self.control = Some(format!(
            "state_dir = {:?}\nsocket = {:?}\n",
            dir.join("state").display().to_string(),
            socket.display().to_string()
        ));
        socket
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
        t += &self.gateway_extra;
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
        Gateway::run(dir, &path, cfg, &[])
    }

    /// Starts `cordon run --config path` with `args` on a config file the test keeps (and may
    /// edit between restarts); `cfg` is what the file was rendered from (its ports).
    pub fn start_file(path: &std::path::Path, cfg: &Cfg, args: &[&str]) -> Gateway {
        Gateway::run(TempDir::new("gateway"), path, cfg, args)
    }

    fn run(dir: TempDir, path: &std::path::Path, cfg: &Cfg, args: &[&str]) -> Gateway {
        let mut child = Command::new(bin("cordon"))
            .arg("run")
            .arg("--config")
            .arg(path)
            .args(args)
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

    /// One session that sends a text message from `from` to bob@fabrikam.example (its
    /// Message-ID made from `subject`) and quits; the reply to the data.
    pub fn send_text(&self, from: &str, subject: &str, body: &str) -> crate::Reply {
        let msg = format!(
            "From: {from}\r\nTo: bob@fabrikam.example\r\nSubject: {subject}\r\nMessage-ID: <{subject}@contoso.com>\r\n\r\n{body}\r\n"
        );
        let mut c = self.client();
        c.hello();
        let r = c.send_mail(from, &["bob@fabrikam.example"], msg.as_bytes());
        c.cmd("QUIT");
        r
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

/// `cordon supervise` on the x86-dev board profile with the config file `config`; killed,
/// workers included (their parent-death signal), when dropped.
#[derive(Debug)]
pub struct Supervised(std::process::Child);

impl Supervised {
    pub fn start(config: &std::path::Path) -> Supervised {
        Supervised(
            Command::new(bin("cordon"))
                .args(["supervise", "--board"])
                .arg(crate::support::repo_root().join("board/x86-dev/board.toml"))
                .arg("--config")
                .arg(config)
                .env_remove("NOTIFY_SOCKET")
                .env_remove("JOURNAL_STREAM")
                .stderr(Stdio::null())
                .spawn()
                .expect("start cordon supervise"),
        )
    }

    /// The supervisor's pid (its children are the workers).
    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
