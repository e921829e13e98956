//! `cordon-fake`: a test double with `cordon`'s `supervise` / `worker` shape, for the behaviour
//! tests in `tests/`. Its workers do no mail: they beat, crash, hang or drain slowly on command,
//! so each supervisor reaction can be provoked on purpose.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use cordon_supervisor::worker::{self, Heartbeat};
use cordon_supervisor::{Board, Limits, Supervisor};
use tokio::signal::unix::{signal, SignalKind};

#[derive(Parser, Debug)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Mode {
    /// Beat normally until SIGTERM.
    Beat,
    /// Exit with status 1 at once (a crash loop).
    Crash,
    /// Beat, then block the event loop after --after-ms (a stuck loop).
    Hang,
    /// Beat, then exit with status 1 after --after-ms.
    Exit,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Run fake workers under the real supervisor.
    Supervise(SuperviseArgs),
    /// One fake worker.
    Worker {
        #[arg(long)]
        core: usize,
        #[arg(long, value_enum)]
        mode: Mode,
        #[arg(long, default_value_t = 1000)]
        after_ms: u64,
        #[arg(long, default_value_t = 0)]
        drain_ms: u64,
        #[arg(long)]
        hup_log: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let result = match Cli::parse().command {
        Cmd::Supervise(args) => supervise(args),
        Cmd::Worker {
            core,
            mode,
            after_ms,
            drain_ms,
            hup_log,
        } => run_worker(core, mode, after_ms, drain_ms, hup_log),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("cordon-fake: {e}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Args, Debug)]
struct SuperviseArgs {
    #[arg(long)]
    board: PathBuf,
    /// Mode of every worker.
    #[arg(long, value_enum, default_value = "beat")]
    mode: Mode,
    /// Mode of one core's worker instead: CORE=MODE.
    #[arg(long = "mode-for")]
    mode_for: Vec<String>,
    #[arg(long, default_value_t = 1000)]
    after_ms: u64,
    /// How long a worker takes to drain after SIGTERM.
    #[arg(long, default_value_t = 0)]
    drain_ms: u64,
    /// One core's drain time instead: CORE=MS.
    #[arg(long = "drain-for")]
    drain_for: Vec<String>,
    /// Reload validation: the file must contain `ok`; otherwise its text is the reason.
    #[arg(long)]
    validate_file: Option<PathBuf>,
    /// Workers append `core pid` here on each SIGHUP.
    #[arg(long)]
    hup_log: Option<PathBuf>,
    #[arg(long)]
    crash_loop_restarts: Option<usize>,
    #[arg(long)]
    drain_deadline_ms: Option<u64>,
    #[arg(long)]
    startup_grace_ms: Option<u64>,
}

fn per_core<T: Copy>(
    overrides: &[String],
    core: usize,
    default: T,
    parse: fn(&str) -> Option<T>,
) -> T {
    overrides
        .iter()
        .filter_map(|o| o.split_once('='))
        .filter(|(c, _)| c.parse() == Ok(core))
        .find_map(|(_, v)| parse(v))
        .unwrap_or(default)
}

fn supervise(a: SuperviseArgs) -> Result<ExitCode, cordon_supervisor::Error> {
    let board = Board::load(&a.board)?;
    let exe = std::env::current_exe().map_err(cordon_supervisor::Error::Runtime)?;
    let mut limits = Limits::default();
    if let Some(n) = a.crash_loop_restarts {
        limits.crash_loop_restarts = n;
    }
    if let Some(ms) = a.drain_deadline_ms {
        limits.drain_deadline = Duration::from_millis(ms);
    }
    if let Some(ms) = a.startup_grace_ms {
        limits.startup_grace = Duration::from_millis(ms);
    }
    let SuperviseArgs {
        mode,
        mode_for,
        after_ms,
        drain_ms,
        drain_for,
        validate_file,
        hup_log,
        ..
    } = a;
    let make = move |core: usize| {
        let mode = per_core(&mode_for, core, mode, |v| Mode::from_str(v, true).ok());
        let drain = per_core(&drain_for, core, drain_ms, |v| v.parse().ok());
        let mut cmd = Command::new(&exe);
        cmd.arg("worker")
            .arg("--core")
            .arg(core.to_string())
            .arg("--mode")
            .arg(format!("{mode:?}").to_lowercase())
            .arg("--after-ms")
            .arg(after_ms.to_string())
            .arg("--drain-ms")
            .arg(drain.to_string());
        if let Some(h) = &hup_log {
            cmd.arg("--hup-log").arg(h);
        }
        cmd
    };
    let validate = move || match &validate_file {
        None => Ok(()),
        Some(f) => match std::fs::read_to_string(f) {
            Ok(t) if t.trim() == "ok" => Ok(()),
            Ok(t) => Err(t.trim().to_owned()),
            Err(e) => Err(format!("{}: {e}", f.display())),
        },
    };
    Supervisor::new(board, make, validate)
        .with_limits(limits)
        .run_blocking()?;
    Ok(ExitCode::SUCCESS)
}

fn run_worker(
    core: usize,
    mode: Mode,
    after_ms: u64,
    drain_ms: u64,
    hup_log: Option<PathBuf>,
) -> Result<ExitCode, cordon_supervisor::Error> {
    if let Mode::Crash = mode {
        return Ok(ExitCode::FAILURE);
    }
    // What `cordon worker` does too: pin itself (the supervisor already did; harmless).
    cordon_platform::affinity::pin_current(&[core])?;
    let heartbeat = Heartbeat::from_env()?;
    let rt = worker::runtime()?;
    rt.block_on(async move {
        if let Some(hb) = heartbeat {
            tokio::spawn(worker::heartbeat_task(hb));
        }
        let mut term =
            signal(SignalKind::terminate()).map_err(|source| cordon_supervisor::Error::Signal {
                signal: "SIGTERM",
                source,
            })?;
        let mut hup =
            signal(SignalKind::hangup()).map_err(|source| cordon_supervisor::Error::Signal {
                signal: "SIGHUP",
                source,
            })?;
        let after = tokio::time::sleep(Duration::from_millis(after_ms));
        tokio::pin!(after);
        loop {
            tokio::select! {
                _ = term.recv() => {
                    tokio::time::sleep(Duration::from_millis(drain_ms)).await;
                    return Ok(ExitCode::SUCCESS);
                }
                _ = hup.recv() => {
                    if let Some(path) = &hup_log {
                        let line = format!("{core} {}\n", std::process::id());
                        let _ = std::fs::OpenOptions::new()
                            .create(true)
                            .append(true)
                            .open(path)
                            .and_then(|mut f| f.write_all(line.as_bytes()));
                    }
                }
                _ = &mut after, if matches!(mode, Mode::Hang | Mode::Exit) => {
                    if let Mode::Exit = mode {
                        return Ok(ExitCode::FAILURE);
                    }
                    // A stuck event loop: the thread blocks, so no task (heartbeat) runs again.
                    loop {
                        std::thread::park();
                    }
                }
            }
        }
    })
}
