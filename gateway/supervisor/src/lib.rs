//! `cordon-supervisor`: the appliance runtime around the gateway. It reads a board profile (which
//! cores carry mail, how much memory cordon may use, which watchdog guards the box), runs one
//! worker process per data core pinned to that core, watches each worker's heartbeat and exit,
//! restarts what fails with backoff, and tells systemd (or the hardware watchdog) that the box is
//! healthy only while it is. It knows nothing of SMTP: the caller says how to start a worker
//! (`Fn(core) -> Command`) and how to validate a reload (`Fn() -> Result<(), String>`).
//!
//! # Layout
//! - [`board`]: `board/<name>/board.toml`, parsed and checked, errors by file, line and key.
//! - [`supervisor`]: [`Supervisor`], its [`Limits`] and the [`Status`] snapshot for the config
//!   port. One single-threaded event loop: heartbeats, exits, restarts, signals, health.
//! - [`health`]: where "healthy" is reported: sd_notify, the hardware watchdog, or nowhere.
//! - [`worker`]: the worker's side: [`worker::runtime`] and [`worker::heartbeat_task`], which
//!   beats from inside the worker's event loop so a stuck loop falls silent.
//!
//! `src/bin/cordon-fake.rs` is a test double with the same `supervise` / `worker` shape as
//! `cordon`, used by the behaviour tests in `tests/`.

#![forbid(unsafe_code)]

pub mod board;
pub mod health;
pub mod supervisor;
pub mod worker;

use std::path::PathBuf;

pub use board::Board;
pub use supervisor::{Limits, Status, StatusHandle, Supervisor, WorkerState, WorkerStatus};

/// Everything the runtime can fail with, with the object it concerned.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: cannot read: {source}", file.display())]
    ReadBoard {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}: {key}: {message}", file.display())]
    Board {
        file: PathBuf,
        line: usize,
        key: String,
        message: String,
    },
    #[error(transparent)]
    Platform(#[from] cordon_platform::Error),
    #[error("cannot create the heartbeat pipe for the core {core} worker: {source}")]
    Pipe {
        core: usize,
        #[source]
        source: nix::Error,
    },
    #[error("cannot start the core {core} worker: {source}")]
    Spawn {
        core: usize,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start the tokio runtime: {0}")]
    Runtime(#[source] std::io::Error),
    #[error("cannot install the {signal} handler: {source}")]
    Signal {
        signal: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("{name}={value:?} is not valid: {reason}")]
    Env {
        name: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("heartbeat write failed (supervisor gone?): {0}")]
    Heartbeat(#[source] std::io::Error),
}
