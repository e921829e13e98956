//! `cordon-platform`: the appliance's contact with Linux below the standard library, and the only
//! crate of the workspace allowed `unsafe`. Each call is wrapped in a safe function that states
//! its invariant in a `// SAFETY:` comment and returns [`Error`] with enough context to act on.
//!
//! # Layout
//! - [`affinity`]: pin a thread, process or pid to a set of cores; read `Cpus_allowed_list` back.
//! - [`memory`]: `mlockall` so nothing swaps to flash, with an error naming `RLIMIT_MEMLOCK`.
//! - [`process`]: what a supervisor sets up in a child between `fork` and `exec` (inherited
//!   heartbeat fd, parent-death signal, core pinning) and `PR_SET_PDEATHSIG` for the caller.
//! - [`notify`]: the sd_notify datagram protocol (`READY=1`, `STATUS=`, `WATCHDOG=1`, ...).
//! - [`shared`]: a `memfd` of `AtomicU64` counters that a supervisor's workers all map.
//! - [`watchdog`]: the Linux hardware watchdog device (`/dev/watchdog`), with a plain-write
//!   fallback so a FIFO or regular file can stand in for it in tests.

// The one crate of the workspace allowed `unsafe` (the workspace lint denies it; every other
// crate forbids it outright).
#![allow(unsafe_code)]

pub mod affinity;
pub mod memory;
pub mod notify;
pub mod process;
pub mod shared;
pub mod watchdog;

use std::path::PathBuf;

/// Everything that can go wrong below the standard library, with the object it concerned.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("core list {list:?} is invalid: {reason}")]
    CoreList { list: String, reason: &'static str },
    #[error("core {core} is beyond the {max} cores a CPU set can hold")]
    CoreOutOfRange { core: usize, max: usize },
    #[error("cannot pin pid {pid} to cores {cores:?}: {source}")]
    Affinity {
        pid: i32,
        cores: Vec<usize>,
        source: nix::Error,
    },
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} has no {field} line", path.display())]
    MissingField { path: PathBuf, field: &'static str },
    #[error(
        "mlockall failed ({source}): RLIMIT_MEMLOCK is {soft} bytes (hard {hard}); \
         raise it (LimitMEMLOCK= in the unit, or `ulimit -l`) or grant CAP_IPC_LOCK"
    )]
    MemoryLock {
        soft: u64,
        hard: u64,
        source: nix::Error,
    },
    #[error(
        "memory budget {needed} bytes exceeds RLIMIT_MEMLOCK {soft} bytes; raise LimitMEMLOCK="
    )]
    MemlockTooLow { needed: u64, soft: u64 },
    #[error("cannot read RLIMIT_MEMLOCK: {0}")]
    Rlimit(nix::Error),
    #[error("inherited descriptor {fd} {reason}")]
    InheritedFd { fd: i32, reason: &'static str },
    #[error("shared counters: {reason} failed: {source}")]
    Shared {
        reason: &'static str,
        source: nix::Error,
    },
    #[error("cannot set the parent-death signal: {0}")]
    DeathSignal(nix::Error),
    #[error("NOTIFY_SOCKET={addr:?} is not a usable socket address: {reason}")]
    NotifyAddress { addr: String, reason: &'static str },
    #[error("sd_notify to {addr:?} failed: {source}")]
    Notify {
        addr: String,
        source: std::io::Error,
    },
    #[error("watchdog {}: {op} failed: {source}", path.display())]
    Watchdog {
        path: PathBuf,
        op: &'static str,
        source: std::io::Error,
    },
}
