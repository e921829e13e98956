//! The supervisor: one worker process per data core, each pinned to its core and watched through
//! a heartbeat pipe and its exit status. Everything happens on one single-threaded event loop
//! that wakes every [`Limits::tick`]: drain the heartbeat pipes, reap exits, kill the silent,
//! restart what is due, then report health. Signals (SIGTERM, SIGINT, SIGHUP) are branches of
//! the same loop, so there is no shared state and no lock except the [`StatusHandle`] snapshot.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, ExitStatus};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cordon_platform::affinity;
use cordon_platform::notify::{NOTIFY_SOCKET_ENV, WATCHDOG_PID_ENV, WATCHDOG_USEC_ENV};
use cordon_platform::process::ChildSetup;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::sys::signal::{kill, Signal};
use nix::unistd::{pipe2, Pid};
use tokio::signal::unix::{signal, SignalKind};
use tokio::time::MissedTickBehavior;

use crate::health::Health;
use crate::worker::{HEARTBEAT_FD_ENV, HEARTBEAT_INTERVAL_ENV};
use crate::{Board, Error};

/// First restart delay: a worker killed by one hostile message is serving again well within a
/// second.
pub const BACKOFF_INITIAL: Duration = Duration::from_millis(100);
/// Longest restart delay. It must stay well under systemd's `WatchdogSec=` (30 s in
/// `cordon.service`), since pets pause while a worker is down.
pub const BACKOFF_MAX: Duration = Duration::from_secs(10);
/// A worker healthy this long has its backoff reset: its earlier crashes are history.
pub const STABLE_AFTER: Duration = Duration::from_secs(30);
/// Restarts (all workers together) within [`CRASH_LOOP_WINDOW`] that make a crash loop. With
/// the backoff above one worker needs about 13 s to reach it; a single bad message does not.
pub const CRASH_LOOP_RESTARTS: usize = 8;
/// Window over which restarts are counted.
pub const CRASH_LOOP_WINDOW: Duration = Duration::from_secs(60);
/// Time from spawn to the first beat: the worker loads its config and builds the DLP engine
/// (dictionaries) before its event loop runs.
pub const STARTUP_GRACE: Duration = Duration::from_secs(10);
/// SIGTERM to SIGKILL: sessions in flight get this long to finish. Matches `cordon run`'s drain
/// and stays under the unit's `TimeoutStopSec=`.
pub const DRAIN_DEADLINE: Duration = Duration::from_secs(30);
/// The loop's wake-up period: the added latency of a missed-heartbeat detection (a worker's exit
/// wakes the loop at once through SIGCHLD), and cheap (a few syscalls).
pub const TICK: Duration = Duration::from_millis(20);
/// After SIGKILL, how long a process may take to be reaped before it is reported and left
/// (a process stuck in the kernel cannot be helped from here).
pub const REAP_DEADLINE: Duration = Duration::from_secs(5);
/// Reads of one heartbeat pipe per tick: at one beat per interval there are never more than a
/// few bytes; the bound keeps a misbehaving worker from holding the loop.
const MAX_READS_PER_TICK: usize = 4;

/// The supervisor's tunables; [`Limits::default`] is the named constants above. Tests shorten
/// them; the appliance uses the defaults.
#[derive(Debug, Clone)]
pub struct Limits {
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    pub stable_after: Duration,
    pub crash_loop_restarts: usize,
    pub crash_loop_window: Duration,
    pub startup_grace: Duration,
    pub drain_deadline: Duration,
    pub tick: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            backoff_initial: BACKOFF_INITIAL,
            backoff_max: BACKOFF_MAX,
            stable_after: STABLE_AFTER,
            crash_loop_restarts: CRASH_LOOP_RESTARTS,
            crash_loop_window: CRASH_LOOP_WINDOW,
            startup_grace: STARTUP_GRACE,
            drain_deadline: DRAIN_DEADLINE,
            tick: TICK,
        }
    }
}

/// Where one worker stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerState {
    /// Spawned, no beat yet.
    Starting,
    /// Beating within the deadline.
    Healthy,
    /// Beating no longer; about to be killed.
    Silent,
    /// Down, waiting out its backoff.
    Restarting,
    /// Shutting down (SIGTERM sent).
    Stopping,
}

/// One worker in a [`Status`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerStatus {
    pub core: usize,
    pub pid: Option<u32>,
    pub state: WorkerState,
    /// Restarts of this core's worker since the supervisor started.
    pub restarts: u32,
    /// Time since its last beat; `None` before the first.
    pub last_heartbeat_age: Option<Duration>,
}

/// A snapshot for the config port.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// READY=1 was sent: every worker has beaten at least once.
    pub ready: bool,
    /// Restarts exceeded the crash-loop limit: the watchdog is no longer petted.
    pub crash_loop: bool,
    pub workers: Vec<WorkerStatus>,
}

/// A cheap, cloneable view of the supervisor's status, refreshed every tick.
#[derive(Debug, Clone, Default)]
pub struct StatusHandle(Arc<Mutex<Status>>);

impl StatusHandle {
    /// The latest snapshot.
    pub fn snapshot(&self) -> Status {
        self.0.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

/// How to start the worker for a core.
type CommandFactory = Box<dyn Fn(usize) -> Command + Send>;
/// Validates the config before a reload is passed on.
type Validator = Box<dyn Fn() -> Result<(), String> + Send>;

#[derive(Debug)]
struct Worker {
    core: usize,
    child: Option<Child>,
    /// Read end of the heartbeat pipe, non-blocking.
    beats: Option<File>,
    spawned: Instant,
    first_beat: Option<Instant>,
    last_beat: Option<Instant>,
    restarts: u32,
    backoff: Duration,
    restart_at: Option<Instant>,
}

impl Worker {
    fn healthy(&self, now: Instant, deadline: Duration) -> bool {
        self.child.is_some() && self.last_beat.is_some_and(|t| now - t <= deadline)
    }

    /// Drains the pipe; true if at least one beat arrived.
    fn read_beats(&mut self) -> bool {
        let Some(pipe) = &mut self.beats else {
            return false;
        };
        let mut buf = [0u8; 64];
        let mut got = false;
        for _ in 0..MAX_READS_PER_TICK {
            match pipe.read(&mut buf) {
                Ok(0) => {
                    // The worker closed its end (it is exiting); its exit is reaped separately.
                    self.beats = None;
                    break;
                }
                Ok(_) => got = true,
                Err(_) => break, // WouldBlock: drained
            }
        }
        got
    }
}

/// Runs and watches the workers. Build with [`Supervisor::new`], then [`Supervisor::run`] (in an
/// existing runtime) or [`Supervisor::run_blocking`].
pub struct Supervisor {
    board: Board,
    limits: Limits,
    make: CommandFactory,
    validate: Validator,
    workers: Vec<Worker>,
    /// Recent restart times, at most `crash_loop_restarts` of them.
    restarts: VecDeque<Instant>,
    crash_loop: bool,
    ready: bool,
    petting: bool,
    last_status: String,
    status: StatusHandle,
    /// Killed processes not yet reaped, with the time of the kill.
    reaping: Vec<(Child, Instant)>,
    /// Workers replaced on request (SIGUSR1), draining their sessions, with when they were
    /// told; killed at the drain deadline.
    draining: Vec<(Child, Instant)>,
}

impl std::fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervisor")
            .field("board", &self.board.name)
            .field("limits", &self.limits)
            .field("workers", &self.workers)
            .finish_non_exhaustive()
    }
}

impl Supervisor {
    /// A supervisor for `board`'s data cores. `make(core)` returns the command for one worker
    /// (the supervisor adds the heartbeat fd, pinning and parent-death signal); `validate()` is
    /// called on SIGHUP and must say whether the config on disk is fit to reload.
    pub fn new(
        board: Board,
        make: impl Fn(usize) -> Command + Send + 'static,
        validate: impl Fn() -> Result<(), String> + Send + 'static,
    ) -> Supervisor {
        let now = Instant::now();
        let limits = Limits::default();
        let workers = board
            .data_cores
            .iter()
            .map(|&core| Worker {
                core,
                child: None,
                beats: None,
                spawned: now,
                first_beat: None,
                last_beat: None,
                restarts: 0,
                backoff: limits.backoff_initial,
                restart_at: Some(now),
            })
            .collect();
        Supervisor {
            board,
            limits,
            make: Box::new(make),
            validate: Box::new(validate),
            workers,
            restarts: VecDeque::new(),
            crash_loop: false,
            ready: false,
            petting: false,
            last_status: String::new(),
            status: StatusHandle::default(),
            reaping: Vec::new(),
            draining: Vec::new(),
        }
    }

    /// Replaces the default limits.
    pub fn with_limits(mut self, limits: Limits) -> Supervisor {
        for w in &mut self.workers {
            w.backoff = limits.backoff_initial;
        }
        self.limits = limits;
        self
    }

    /// A handle the config port can keep to read [`Status`] while the supervisor runs.
    pub fn status_handle(&self) -> StatusHandle {
        self.status.clone()
    }

    /// The current snapshot.
    pub fn status(&self) -> Status {
        self.status.snapshot()
    }

    /// Builds a single-threaded runtime and runs until SIGTERM or SIGINT.
    pub fn run_blocking(self) -> Result<(), Error> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(Error::Runtime)?
            .block_on(self.run())
    }

    /// Runs until SIGTERM or SIGINT, then drains the workers and returns `Ok` (the exit code
    /// systemd should see is 0). Errors only at start-up: health target, signal handlers.
    pub async fn run(mut self) -> Result<(), Error> {
        let mut health = Health::from_env(&self.board)?;
        if let Err(e) = affinity::pin_current(&[self.board.control_core]) {
            tracing::warn!(error = %e, "supervisor not pinned to the control core");
        }
        let sig = |kind, name| {
            signal(kind).map_err(|source| Error::Signal {
                signal: name,
                source,
            })
        };
        let mut term = sig(SignalKind::terminate(), "SIGTERM")?;
        let mut int = sig(SignalKind::interrupt(), "SIGINT")?;
        let mut hup = sig(SignalKind::hangup(), "SIGHUP")?;
        let mut usr1 = sig(SignalKind::user_defined1(), "SIGUSR1")?;
        // A worker's exit wakes the loop at once instead of at the next tick.
        let mut chld = sig(SignalKind::child(), "SIGCHLD")?;
        tracing::info!(
            board = %self.board.name,
            data_cores = ?self.board.data_cores,
            control_core = self.board.control_core,
            heartbeat_interval_ms = self.board.heartbeat_interval.as_millis() as u64,
            heartbeat_deadline_ms = self.board.heartbeat_deadline.as_millis() as u64,
            health = health_name(&health),
            "supervisor starting"
        );
        let mut tick = tokio::time::interval(self.limits.tick);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut next_pet = Instant::now();
        let stop = loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = chld.recv() => {}
                _ = term.recv() => break "SIGTERM",
                _ = int.recv() => break "SIGINT",
                _ = hup.recv() => self.reload(&health),
                _ = usr1.recv() => self.restart_all(Instant::now()),
            }
            let now = Instant::now();
            self.finish_draining(now);
            for i in 0..self.workers.len() {
                self.check(i, now);
            }
            self.reap(now);
            self.report(&mut health, now, &mut next_pet);
        };
        self.drain(health, stop).await;
        Ok(())
    }

    /// One worker, one tick: beats, exit, silence, backoff reset, due restart.
    fn check(&mut self, i: usize, now: Instant) {
        let deadline = self.board.heartbeat_deadline;
        let w = &mut self.workers[i];
        if w.child.is_none() {
            if w.restart_at.is_some_and(|t| now >= t) {
                self.spawn(i, now);
            }
            return;
        }
        if w.read_beats() {
            w.last_beat = Some(now);
            if w.first_beat.is_none() {
                w.first_beat = Some(now);
                tracing::info!(
                    core = w.core,
                    pid = w.child.as_ref().map(Child::id),
                    startup_ms = (now - w.spawned).as_millis() as u64,
                    "worker up (first heartbeat)"
                );
            }
        }
        let exited = w.child.as_mut().map(Child::try_wait);
        match exited {
            Some(Ok(Some(status))) => {
                let child = w.child.take();
                let cause = describe(status);
                self.failed(i, now, child, cause);
                return;
            }
            Some(Err(e)) => tracing::warn!(core = w.core, error = %e, "cannot poll worker"),
            _ => {}
        }
        let (since, limit, what) = match w.last_beat {
            Some(t) => (t, deadline, "heartbeat deadline"),
            None => (w.spawned, self.limits.startup_grace, "startup grace"),
        };
        let silent = now - since;
        if silent > limit {
            let mut child = w.child.take();
            if let Some(c) = &mut child {
                // SIGKILL works on a stopped (SIGSTOP) process too; reaped in `reap`.
                let _ = c.kill();
            }
            let cause = format!(
                "no heartbeat for {} ms ({what} {} ms); killed with SIGKILL",
                silent.as_millis(),
                limit.as_millis()
            );
            self.failed(i, now, child, cause);
            return;
        }
        if w.first_beat
            .is_some_and(|t| now - t >= self.limits.stable_after)
        {
            w.backoff = self.limits.backoff_initial;
        }
    }

    /// SIGUSR1 (the config port's "restart workers"): every worker is told to drain (SIGTERM)
    /// and a fresh one is started on its core at once, sharing the port meanwhile. A requested
    /// restart is neither a failure nor part of a crash loop.
    fn restart_all(&mut self, now: Instant) {
        for w in &mut self.workers {
            let Some(child) = w.child.take() else {
                continue;
            };
            let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
            tracing::info!(
                core = w.core,
                pid = child.id(),
                "worker restarting on request; the old one drains"
            );
            self.draining.push((child, now));
            w.beats = None;
            w.restart_at = Some(now);
        }
    }

    /// Reaps drained workers; kills those still running at the drain deadline.
    fn finish_draining(&mut self, now: Instant) {
        let deadline = self.limits.drain_deadline;
        let mut overdue = Vec::new();
        self.draining
            .retain_mut(|(child, told)| match child.try_wait() {
                Ok(Some(_)) | Err(_) => false,
                Ok(None) if now - *told > deadline => {
                    let _ = child.kill();
                    overdue.push(child.id());
                    false
                }
                Ok(None) => true,
            });
        for pid in overdue {
            tracing::warn!(
                pid,
                "replaced worker still draining at the deadline; killed"
            );
        }
    }

    /// Records a failure, schedules the restart and watches for a crash loop.
    fn failed(&mut self, i: usize, now: Instant, child: Option<Child>, cause: String) {
        let limits = &self.limits;
        let w = &mut self.workers[i];
        let pid = child.as_ref().map(Child::id);
        if let Some(c) = child {
            self.reaping.push((c, now));
        }
        w.beats = None;
        w.restarts += 1;
        let delay = w.backoff;
        w.backoff = (w.backoff * 2).min(limits.backoff_max);
        w.restart_at = Some(now + delay);
        tracing::warn!(
            core = w.core,
            pid,
            cause = %cause,
            last_heartbeat_age_ms = w.last_beat.map(|t| (now - t).as_millis() as u64),
            restarts = w.restarts,
            restart_in_ms = delay.as_millis() as u64,
            "worker failed; restarting"
        );
        self.restarts.push_back(now);
        while self.restarts.len() > limits.crash_loop_restarts {
            self.restarts.pop_front();
        }
        let recent = self
            .restarts
            .iter()
            .filter(|&&t| now - t <= limits.crash_loop_window)
            .count();
        if !self.crash_loop && recent >= limits.crash_loop_restarts {
            self.crash_loop = true;
            tracing::error!(
                restarts = recent,
                window_s = limits.crash_loop_window.as_secs(),
                "crash loop: no longer petting the watchdog, so the service (or board) is restarted"
            );
        }
    }

    /// Starts the worker for slot `i`.
    fn spawn(&mut self, i: usize, now: Instant) {
        let core = self.workers[i].core;
        match self.start(core) {
            Ok((child, beats)) => {
                let w = &mut self.workers[i];
                tracing::info!(
                    core,
                    pid = child.id(),
                    restarts = w.restarts,
                    "worker started"
                );
                w.child = Some(child);
                w.beats = Some(beats);
                w.spawned = now;
                w.first_beat = None;
                w.last_beat = None;
                w.restart_at = None;
            }
            Err(e) => self.failed(i, now, None, format!("cannot start: {e}")),
        }
    }

    fn start(&self, core: usize) -> Result<(Child, File), Error> {
        let pipe_err = |source| Error::Pipe { core, source };
        let (read, write) = pipe2(OFlag::O_CLOEXEC).map_err(pipe_err)?;
        let flags = fcntl(read.as_fd(), FcntlArg::F_GETFL).map_err(pipe_err)?;
        fcntl(
            read.as_fd(),
            FcntlArg::F_SETFL(OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK),
        )
        .map_err(pipe_err)?;
        let mut cmd = (self.make)(core);
        cmd.env(HEARTBEAT_FD_ENV, write.as_raw_fd().to_string())
            .env(
                HEARTBEAT_INTERVAL_ENV,
                self.board.heartbeat_interval.as_millis().to_string(),
            )
            // Only the supervisor speaks to systemd (NotifyAccess=main).
            .env_remove(NOTIFY_SOCKET_ENV)
            .env_remove(WATCHDOG_USEC_ENV)
            .env_remove(WATCHDOG_PID_ENV);
        ChildSetup {
            inherit_fds: vec![write.as_raw_fd()],
            parent_death_signal: Some(Signal::SIGKILL),
            cores: Some(vec![core]),
        }
        .apply(&mut cmd)?;
        let child = cmd
            .spawn()
            .map_err(|source| Error::Spawn { core, source })?;
        // Our copy of the write end must go, or the pipe never reports the worker's end closing.
        drop(write);
        // Already pinned before exec; pinning by pid as well makes the set visible to tools
        // even if the command re-pins itself wrongly before its first beat.
        if let Err(e) = affinity::pin_pid(child.id() as i32, &[core]) {
            tracing::warn!(core, pid = child.id(), error = %e, "cannot re-pin worker");
        }
        Ok((child, File::from(read)))
    }

    /// Reaps killed processes; reports any that outlive [`REAP_DEADLINE`].
    fn reap(&mut self, now: Instant) {
        self.reaping
            .retain_mut(|(child, killed)| match child.try_wait() {
                Ok(Some(_)) | Err(_) => false,
                Ok(None) if now - *killed > REAP_DEADLINE => {
                    tracing::error!(
                        pid = child.id(),
                        "killed worker not reaped; giving up on it"
                    );
                    false
                }
                Ok(None) => true,
            });
    }

    /// Refreshes the snapshot, sends READY/STATUS on change and pets when everything is healthy.
    fn report(&mut self, health: &mut Health, now: Instant, next_pet: &mut Instant) {
        let deadline = self.board.heartbeat_deadline;
        let grace = self.limits.startup_grace;
        let all_healthy = self.workers.iter().all(|w| w.healthy(now, deadline));
        // At boot no worker has beaten yet; the hardware watchdog must be fed meanwhile, as long
        // as every worker is still inside its first start-up grace.
        let booting = !self.ready
            && self.workers.iter().all(|w| {
                w.healthy(now, deadline)
                    || (w.child.is_some() && w.restarts == 0 && now - w.spawned <= grace)
            });
        let line = self.status_line(now);
        if !self.ready && all_healthy {
            self.ready = true;
            tracing::info!(workers = self.workers.len(), "all workers up; ready");
            health.ready(&line);
            self.last_status.clone_from(&line);
        } else if line != self.last_status {
            health.status(&line);
            self.last_status = line;
        }
        let pettable = !self.crash_loop && (all_healthy || booting);
        if pettable != self.petting && health.pet_every().is_some() {
            self.petting = pettable;
            if pettable {
                tracing::info!("watchdog pets resumed: all workers healthy");
            } else {
                tracing::warn!(
                    crash_loop = self.crash_loop,
                    "watchdog pets paused: a worker is unhealthy"
                );
            }
        }
        if let Some(every) = health.pet_every() {
            if pettable && now >= *next_pet {
                health.pet();
                *next_pet = now + every;
            }
        }
        if let Ok(mut s) = self.status.0.lock() {
            s.ready = self.ready;
            s.crash_loop = self.crash_loop;
            s.workers.clear();
            s.workers.extend(self.workers.iter().map(|w| WorkerStatus {
                core: w.core,
                pid: w.child.as_ref().map(Child::id),
                state: state_of(w, now, deadline),
                restarts: w.restarts,
                last_heartbeat_age: w.last_beat.map(|t| now - t),
            }));
        }
    }

    /// `2/2 workers healthy; 1 restarts; pids 0:123 1:456`: what `systemctl status` shows.
    fn status_line(&self, now: Instant) -> String {
        let deadline = self.board.heartbeat_deadline;
        let healthy = self
            .workers
            .iter()
            .filter(|w| w.healthy(now, deadline))
            .count();
        let restarts: u32 = self.workers.iter().map(|w| w.restarts).sum();
        let mut line = format!(
            "{healthy}/{} workers healthy; {restarts} restarts; pids",
            self.workers.len()
        );
        for w in &self.workers {
            match &w.child {
                Some(c) => write!(line, " {}:{}", w.core, c.id()),
                None => write!(line, " {}:-", w.core),
            }
            .unwrap_or(());
        }
        if self.crash_loop {
            line.push_str("; crash loop, watchdog not petted");
        }
        line
    }

    /// SIGHUP: validate, then pass the reload on, or keep the running config and say why.
    fn reload(&mut self, health: &Health) {
        match (self.validate)() {
            Ok(()) => {
                let mut sent = 0;
                for w in &self.workers {
                    if let Some(c) = &w.child {
                        if kill(Pid::from_raw(c.id() as i32), Signal::SIGHUP).is_ok() {
                            sent += 1;
                        }
                    }
                }
                tracing::info!(workers = sent, "config valid; reload passed to the workers");
                health.status(&format!("reloaded: config valid, {sent} workers reloading"));
            }
            Err(why) => {
                tracing::warn!(reason = %why, "reload refused: invalid config; the running config stays");
                health.status(&format!("reload refused: {why}"));
            }
        }
    }

    /// SIGTERM: pass it on, wait for the workers up to the drain deadline, SIGKILL the rest,
    /// disarm the watchdog.
    async fn drain(mut self, mut health: Health, cause: &'static str) {
        let start = Instant::now();
        tracing::info!(
            signal = cause,
            drain_deadline_ms = self.limits.drain_deadline.as_millis() as u64,
            "stopping: SIGTERM passed to the workers"
        );
        health.stopping();
        health.status("stopping: draining sessions");
        for w in &self.workers {
            if let Some(c) = &w.child {
                let _ = kill(Pid::from_raw(c.id() as i32), Signal::SIGTERM);
            }
        }
        let mut tick = tokio::time::interval(self.limits.tick);
        let mut next_pet = start;
        let mut killed_at: Option<Instant> = None;
        loop {
            tick.tick().await;
            let now = Instant::now();
            for w in &mut self.workers {
                let Some(c) = &mut w.child else { continue };
                match c.try_wait() {
                    Ok(Some(status)) => {
                        tracing::info!(
                            core = w.core,
                            pid = c.id(),
                            status = %describe(status),
                            after_ms = (now - start).as_millis() as u64,
                            "worker stopped"
                        );
                        w.child = None;
                    }
                    Ok(None) => {}
                    Err(_) => w.child = None,
                }
            }
            self.reap(now);
            if let Some(every) = health.pet_every() {
                // Keep the board alive while sessions finish, unless it is crash-looping.
                if !self.crash_loop && now >= next_pet {
                    health.pet();
                    next_pet = now + every;
                }
            }
            if self.workers.iter().all(|w| w.child.is_none()) {
                break;
            }
            match killed_at {
                None if now - start >= self.limits.drain_deadline => {
                    for w in &mut self.workers {
                        if let Some(c) = &mut w.child {
                            tracing::warn!(
                                core = w.core,
                                pid = c.id(),
                                "drain deadline passed; SIGKILL"
                            );
                            let _ = c.kill();
                        }
                    }
                    killed_at = Some(now);
                }
                Some(t) if now - t > REAP_DEADLINE => {
                    tracing::error!("workers not reaped after SIGKILL; exiting anyway");
                    break;
                }
                _ => {}
            }
        }
        health.close();
        tracing::info!(
            after_ms = start.elapsed().as_millis() as u64,
            "supervisor stopped"
        );
    }
}

fn state_of(w: &Worker, now: Instant, deadline: Duration) -> WorkerState {
    match (&w.child, w.last_beat) {
        (None, _) => WorkerState::Restarting,
        (Some(_), None) => WorkerState::Starting,
        (Some(_), Some(t)) if now - t <= deadline => WorkerState::Healthy,
        (Some(_), Some(_)) => WorkerState::Silent,
    }
}

fn health_name(h: &Health) -> &'static str {
    match h {
        Health::Systemd {
            pet_every: Some(_), ..
        } => "systemd (watchdog)",
        Health::Systemd {
            pet_every: None, ..
        } => "systemd (no WatchdogSec)",
        Health::Hardware { .. } => "hardware watchdog",
        Health::Nowhere => "none",
    }
}

/// "exited with status 1" / "killed by SIGKILL".
fn describe(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exited with status {code}");
    }
    match status.signal() {
        Some(n) => match Signal::try_from(n) {
            Ok(s) => format!("killed by {s}"),
            Err(_) => format!("killed by signal {n}"),
        },
        None => "ended".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn board() -> Board {
        Board::parse(
            "name = \"t\"\ndescription = \"t\"\ndata_cores = [0]\ncontrol_core = 0\n\
             memory_mib = 1\nconsole = \"ttyS0\"\n",
            Path::new("t.toml"),
        )
        .unwrap()
    }

    #[test]
    fn run_can_be_spawned_on_a_multi_threaded_runtime() {
        fn send<T: Send>(_: &T) {}
        let s = Supervisor::new(board(), |_| Command::new("true"), || Ok(()));
        let handle = s.status_handle();
        assert_eq!(handle.snapshot(), Status::default());
        let fut = s.run();
        send(&fut);
    }

    #[test]
    fn exit_causes_read_like_a_log_line() {
        assert_eq!(
            describe(ExitStatus::from_raw(1 << 8)),
            "exited with status 1"
        );
        assert_eq!(describe(ExitStatus::from_raw(9)), "killed by SIGKILL");
    }
}
