//! What every behaviour test needs: the repository's paths and binaries, free ports, temporary
//! directories, bounded waits and a child's drained output.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
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

/// A port that was free a moment ago, chosen below the kernel's ephemeral range.
///
/// `bind(127.0.0.1:0)` hands out a port from the ephemeral range
/// (`net.ipv4.ip_local_port_range`), the same range every outgoing connection takes its source
/// port from: between this call and the server's own bind, a client connection elsewhere in the
/// run can take the port, and the server then fails with `EADDRINUSE`. Ports under the range are
/// only ever taken by an explicit bind, so they stay free unless another test picks the same one.
pub fn free_port() -> u16 {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let (low, high) = unreserved_ports();
    let span = usize::from(high - low);
    let seed = std::process::id() as usize
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos() as usize);
    for _ in 0..span {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        // A stride coprime with the span walks every port once; the seed spreads processes apart.
        let port = low + ((seed.wrapping_add(n.wrapping_mul(7919))) % span) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in 127.0.0.1:{low}..{high}");
}

/// The ports below the ephemeral range that tests may bind: from 20000 up to the range's start.
fn unreserved_ports() -> (u16, u16) {
    let start = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .next()
                .and_then(|p| p.parse::<u16>().ok())
        })
        .unwrap_or(32768);
    if start > 20000 + 1000 {
        (20000, start)
    } else {
        // An unusual range that starts low: fall back to the ports above it.
        (61000, 65000)
    }
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
pub(crate) fn drain(pipe: impl Read + Send + 'static, sink: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        let mut r = BufReader::new(pipe);
        let mut line = String::new();
        while r.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
            sink.lock().expect("log lock").push_str(&line);
            line.clear();
        }
    });
}

/// A finished command's exit code (-1 when a signal ended it) and its stdout then stderr.
pub fn code_and_output(out: &std::process::Output) -> (i32, String) {
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Every file under `dir` (which must exist), read whole: what a test greps for values that
/// must not be stored.
pub fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else if let Ok(bytes) = std::fs::read(&p) {
            out.push((p, bytes));
        }
    }
    out
}
