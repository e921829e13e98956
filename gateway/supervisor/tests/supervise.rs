//! Behaviour tests of the supervisor, run as a real process (`cordon-fake supervise`) with
//! real fake workers, a test NOTIFY_SOCKET and, for the hardware path, a FIFO as the watchdog.

mod common;

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::time::{Duration, Instant};

use common::{alive, pids, Harness, Options, DEADLINE_MS};
use cordon_platform::affinity::allowed_cpus;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

fn healthy(d: &str) -> bool {
    d.contains("STATUS=2/2 workers healthy")
}

#[test]
fn workers_run_on_the_cores_the_board_names() {
    let mut h = Harness::start(Options::default());
    let workers = h.wait_ready();
    assert_eq!(workers.len(), 2, "{workers:?}");
    for (core, pid) in &workers {
        let cpus = allowed_cpus(Some(*pid)).unwrap();
        println!("core {core} worker pid {pid}: Cpus_allowed_list {cpus:?}");
        assert_eq!(cpus, vec![*core]);
    }
    let sup = allowed_cpus(Some(h.child.id())).unwrap();
    println!("supervisor: Cpus_allowed_list {sup:?} (control core 0)");
    assert_eq!(sup, vec![0]);
}

#[test]
fn a_killed_worker_is_replaced_within_a_second() {
    let mut h = Harness::start(Options::default());
    let before = h.wait_ready();
    let (_, victim) = before[1];
    let t0 = Instant::now();
    kill(Pid::from_raw(victim as i32), Signal::SIGKILL).unwrap();
    let d = h.wait_for(Duration::from_secs(1), "a replacement beating", |d| {
        healthy(d) && pids(d).iter().all(|&(_, p)| p != victim)
    });
    let took = t0.elapsed();
    println!("kill -9 of pid {victim}: replacement healthy after {took:?}; {d}");
    assert!(took < Duration::from_secs(1));
    let after = pids(&d);
    assert_eq!(after[0], before[0], "the other worker was untouched");
    assert!(h.log_text().contains("cause=killed by SIGKILL"));
}

#[test]
fn a_stopped_worker_is_detected_within_the_deadline_and_replaced() {
    let mut h = Harness::start(Options::default());
    let before = h.wait_ready();
    let (_, victim) = before[0];
    let t0 = Instant::now();
    kill(Pid::from_raw(victim as i32), Signal::SIGSTOP).unwrap();
    let limit = Duration::from_millis(DEADLINE_MS + 300);
    let d = h.wait_for(limit, "the stopped worker dropped", |d| {
        !pids(d).iter().any(|&(_, p)| p == victim) && d.contains("STATUS=")
    });
    let detected = t0.elapsed();
    println!(
        "SIGSTOP of pid {victim}: detected after {detected:?} (deadline {DEADLINE_MS} ms); {d}"
    );
    assert!(
        detected >= Duration::from_millis(DEADLINE_MS - 150),
        "too early: {detected:?}"
    );
    let d = h.wait_for(Duration::from_secs(1), "a replacement beating", healthy);
    println!("replaced after {:?}: {d}", t0.elapsed());
    assert!(!alive(victim), "the stopped worker was killed");
    assert!(h.log_text().contains("no heartbeat for"));
}

#[test]
fn a_crash_loop_stops_systemd_watchdog_pets() {
    // Core 1 beats, then exits after 300 ms, every time: a crash loop after a healthy start.
    let mut h = Harness::start(Options {
        args: &[
            "--mode-for",
            "1=exit",
            "--after-ms",
            "300",
            "--crash-loop-restarts",
            "3",
        ],
        watchdog_usec: Some(200_000), // pets every 100 ms
        ..Options::default()
    });
    h.wait_ready();
    let d = h.wait_for(Duration::from_secs(8), "crash loop status", |d| {
        d.contains("crash loop")
    });
    let t_loop = Instant::now();
    let pets_before = h.received.iter().filter(|(_, d)| d == "WATCHDOG=1").count();
    println!("{pets_before} WATCHDOG=1 pets before the crash loop; {d}");
    assert!(pets_before >= 1);
    // Ten pet periods of silence.
    let quiet_until = t_loop + Duration::from_secs(1);
    let mut late = 0;
    while let Some(d) = h.next(quiet_until) {
        late += usize::from(d == "WATCHDOG=1");
    }
    println!("pets in the second after the crash loop: {late}");
    assert_eq!(late, 0);
    assert!(h.log_text().contains("crash loop: no longer petting"));
}

#[test]
fn a_crash_loop_starves_the_hardware_watchdog_and_a_clean_stop_disarms_it() {
    // The FIFO standing in for /dev/watchdog needs a reader before the supervisor opens it.
    let reader = std::cell::RefCell::new(None);
    let prepare = |dir: &std::path::Path| {
        let path = dir.join("watchdog");
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let r = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NONBLOCK)
            .open(&path)
            .unwrap();
        *reader.borrow_mut() = Some(r);
    };
    let mut h = Harness::start(Options {
        notify: false,
        board_extra: "watchdog_device = \"{dir}/watchdog\"\nwatchdog_timeout = \"1s\"\n",
        // Core 1 beats, then exits after 1.5 s, every time; pets come every 500 ms.
        args: &[
            "--mode-for",
            "1=exit",
            "--after-ms",
            "1500",
            "--crash-loop-restarts",
            "3",
        ],
        prepare: &prepare,
        ..Options::default()
    });
    let mut reader: File = reader.borrow_mut().take().unwrap();

    // Record the pets until 2 s (four pet periods) pass without one, or 15 s in all.
    let start = Instant::now();
    let mut pets: Vec<Duration> = Vec::new();
    let mut last = start;
    let mut buf = [0u8; 64];
    let starved = loop {
        let now = Instant::now();
        if now - start > Duration::from_secs(15) {
            break false;
        }
        if !pets.is_empty() && now - last > Duration::from_secs(2) {
            break true;
        }
        match reader.read(&mut buf) {
            Ok(n) if n > 0 => {
                pets.extend(std::iter::repeat_n(now - start, n));
                last = now;
            }
            _ => wait_readable(&reader, Duration::from_millis(50)),
        }
    };
    println!("hardware pets at {pets:?}; starved: {starved}");
    assert!(pets.len() >= 2, "pets while healthy\n{}", h.log_text());
    assert!(
        starved,
        "pets kept coming during the crash loop\n{}",
        h.log_text()
    );
    assert!(h.log_text().contains("crash loop: no longer petting"));

    h.signal(Signal::SIGTERM);
    let st = h.wait_exit(Duration::from_secs(5));
    assert!(st.success(), "{st:?}");
    let mut rest = Vec::new();
    let _ = reader.read_to_end(&mut rest);
    println!(
        "after SIGTERM the device got {:?}",
        String::from_utf8_lossy(&rest)
    );
    assert_eq!(rest.last(), Some(&b'V'), "magic close");
}

/// Waits until `f` has data, at most `d`.
fn wait_readable(f: &File, d: Duration) {
    use std::os::fd::AsFd;
    let mut fds = [nix::poll::PollFd::new(
        f.as_fd(),
        nix::poll::PollFlags::POLLIN,
    )];
    let _ = nix::poll::poll(&mut fds, nix::poll::PollTimeout::try_from(d).unwrap());
}

#[test]
fn sigterm_drains_then_kills_stragglers_and_exits_zero() {
    // Core 0 drains in 200 ms; core 1 would take a minute and is killed at the 1 s deadline.
    let mut h = Harness::start(Options {
        args: &[
            "--drain-for",
            "0=200",
            "--drain-for",
            "1=60000",
            "--drain-deadline-ms",
            "1000",
        ],
        ..Options::default()
    });
    let workers = h.wait_ready();
    let t0 = Instant::now();
    h.signal(Signal::SIGTERM);
    h.wait_for(Duration::from_secs(1), "STOPPING=1", |d| d == "STOPPING=1");
    let st = h.wait_exit(Duration::from_secs(5));
    let took = t0.elapsed();
    println!("SIGTERM: supervisor exited {st:?} after {took:?}");
    assert!(st.success());
    assert!(
        took >= Duration::from_millis(1000),
        "waited for the drain deadline"
    );
    for (_, pid) in workers {
        assert!(!alive(pid), "worker {pid} survived");
    }
    let log = h.log_text();
    assert!(log.contains("worker stopped core=0 pid="), "{log}");
    assert!(log.contains("exited with status 0"), "{log}");
    assert!(
        log.contains("drain deadline passed; SIGKILL core=1"),
        "{log}"
    );
}

#[test]
fn sighup_reloads_only_a_valid_config() {
    let mut h = Harness::start(Options {
        args: &[
            "--validate-file",
            "{dir}/validate",
            "--hup-log",
            "{dir}/hup.log",
        ],
        ..Options::default()
    });
    let validate = h.dir.path().join("validate");
    let huplog = h.dir.path().join("hup.log");
    let workers = h.wait_ready();
    let lines = |p: &std::path::Path| {
        std::fs::read_to_string(p)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };

    std::fs::write(&validate, "ok\n").unwrap();
    h.signal(Signal::SIGHUP);
    let d = h.wait_for(Duration::from_secs(2), "reloaded", |d| {
        d.contains("reloaded")
    });
    println!("valid config: {d}");
    let deadline = Instant::now() + Duration::from_secs(2);
    while lines(&huplog) < 2 {
        assert!(Instant::now() < deadline, "workers did not get SIGHUP");
        h.pause(Duration::from_millis(10));
    }

    std::fs::write(&validate, "cordon.toml:3: gateway.listen: not an address\n").unwrap();
    h.signal(Signal::SIGHUP);
    let d = h.wait_for(Duration::from_secs(2), "reload refused", |d| {
        d.contains("reload refused")
    });
    println!("invalid config: {d}");
    assert!(d.contains("gateway.listen: not an address"));
    assert_eq!(lines(&huplog), 2, "no SIGHUP passed on for a bad config");
    for (_, pid) in &workers {
        assert!(alive(*pid), "worker {pid} kept running");
    }
    assert!(h.log_text().contains("reload refused"));
}
