//! A running `cordon-fake supervise` with a test NOTIFY_SOCKET, and bounded waits on what it
//! says. Every wait has a deadline; nothing sleeps and hopes.

#![allow(dead_code)]

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// Behaviour tests share two cores with the build; running them one at a time keeps the timing
/// assertions about the supervisor, not about contention between tests.
static SERIAL: Mutex<()> = Mutex::new(());

/// Heartbeat settings of the test board: fast, so detections take fractions of a second.
pub const INTERVAL_MS: u64 = 100;
pub const DEADLINE_MS: u64 = 500;

pub fn board(dir: &Path, extra: &str) -> PathBuf {
    let path = dir.join("board.toml");
    std::fs::write(
        &path,
        format!(
            "name = \"test\"\ndescription = \"behaviour tests\"\ndata_cores = [0, 1]\n\
             control_core = 0\nmemory_mib = 64\nconsole = \"ttyS0\"\n\
             heartbeat_interval = \"{INTERVAL_MS}ms\"\nheartbeat_deadline = \"{DEADLINE_MS}ms\"\n{extra}"
        ),
    )
    .unwrap();
    path
}

#[derive(Debug)]
pub struct Harness {
    _serial: MutexGuard<'static, ()>,
    pub dir: tempfile::TempDir,
    pub notify: Option<UnixDatagram>,
    pub child: Child,
    pub log: PathBuf,
    /// Every datagram received, in order, with its arrival time.
    pub received: Vec<(Instant, String)>,
}

pub struct Options<'a> {
    /// Extra board lines; `{dir}` stands for the test's temp dir.
    pub board_extra: &'a str,
    /// Supervisor arguments; `{dir}` stands for the test's temp dir.
    pub args: &'a [&'a str],
    pub notify: bool,
    /// `WATCHDOG_USEC` for the supervisor (systemd's `WatchdogSec=`).
    pub watchdog_usec: Option<u64>,
    /// Runs after the temp dir exists and before the supervisor starts.
    pub prepare: &'a dyn Fn(&Path),
}

impl Default for Options<'_> {
    fn default() -> Self {
        Options {
            board_extra: "",
            args: &[],
            notify: true,
            watchdog_usec: None,
            prepare: &|_| {},
        }
    }
}

impl Harness {
    pub fn start(o: Options<'_>) -> Harness {
        let serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().unwrap();
        (o.prepare)(dir.path());
        let here = dir.path().to_str().unwrap().to_owned();
        let board = board(dir.path(), &o.board_extra.replace("{dir}", &here));
        let log = dir.path().join("supervisor.log");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cordon-fake"));
        cmd.arg("supervise")
            .arg("--board")
            .arg(&board)
            .args(o.args.iter().map(|a| a.replace("{dir}", &here)));
        cmd.env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID");
        let notify = o.notify.then(|| {
            let path = dir.path().join("notify");
            let sock = UnixDatagram::bind(&path).unwrap();
            cmd.env("NOTIFY_SOCKET", &path);
            sock
        });
        if let Some(usec) = o.watchdog_usec {
            cmd.env("WATCHDOG_USEC", usec.to_string());
        }
        cmd.stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        let child = cmd.spawn().unwrap();
        Harness {
            _serial: serial,
            dir,
            notify,
            child,
            log,
            received: Vec::new(),
        }
    }

    pub fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32)
    }

    /// The next datagram, or None at `deadline`.
    pub fn next(&mut self, deadline: Instant) -> Option<String> {
        let sock = self.notify.as_ref()?;
        let left = deadline.checked_duration_since(Instant::now())?;
        sock.set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .unwrap();
        let mut buf = [0u8; 4096];
        let n = sock.recv(&mut buf).ok()?;
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        self.received.push((Instant::now(), text.clone()));
        Some(text)
    }

    /// Reads datagrams until one satisfies `pred`; panics with the log at the deadline.
    pub fn wait_for(
        &mut self,
        within: Duration,
        what: &str,
        pred: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + within;
        while let Some(d) = self.next(deadline) {
            if pred(&d) {
                return d;
            }
        }
        panic!("no {what} within {within:?}\nlog:\n{}", self.log_text());
    }

    /// Waits for READY=1 and returns the worker pids from its status line.
    pub fn wait_ready(&mut self) -> Vec<(usize, u32)> {
        let d = self.wait_for(Duration::from_secs(10), "READY=1", |d| {
            d.contains("READY=1")
        });
        pids(&d)
    }

    /// Waits up to `d` on the notify socket (recording what arrives), or on nothing.
    pub fn pause(&mut self, d: Duration) {
        if self.notify.is_some() {
            let _ = self.next(Instant::now() + d);
        } else {
            let _ = nix::poll::poll(&mut [], nix::poll::PollTimeout::try_from(d).unwrap());
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn signal(&self, sig: Signal) {
        kill(self.pid(), sig).unwrap();
    }

    /// Waits for the supervisor to exit, up to `within`.
    pub fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            assert!(
                Instant::now() < deadline,
                "supervisor still running after {within:?}\nlog:\n{}",
                self.log_text()
            );
            // Bounded by the deadline above: a short wait on the notify socket between polls.
            self.pause(Duration::from_millis(10));
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        // Workers die with it (PR_SET_PDEATHSIG).
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `(core, pid)` pairs from a `STATUS=... pids 0:123 1:456` datagram; `-` (down) is skipped.
pub fn pids(datagram: &str) -> Vec<(usize, u32)> {
    let status = datagram
        .lines()
        .find_map(|l| l.strip_prefix("STATUS="))
        .unwrap_or("");
    let Some((_, list)) = status.split_once("pids ") else {
        return Vec::new();
    };
    list.split(';')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .filter_map(|p| {
            let (c, pid) = p.split_once(':')?;
            Some((c.parse().ok()?, pid.parse().ok()?))
        })
        .collect()
}

pub fn alive(pid: u32) -> bool {
    // Signal 0 checks existence; a zombie still counts, so check its state too.
    kill(Pid::from_raw(pid as i32), None).is_ok()
        && std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| {
                !s.rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z')
            })
            .unwrap_or(false)
}
