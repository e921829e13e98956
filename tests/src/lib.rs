//! The behaviour-test harness: starts the real `cordon` binary and real peers (aiosmtpd capture
//! server, Postfix, swaks, openssl) on loopback, and talks SMTP to them over real sockets.
//!
//! # Layout
//! - [`support`]: paths, binaries, free ports, temporary directories, bounded waits.
//! - [`gateway`]: [`Gateway`], a running `cordon run` with a generated config ([`Cfg`]); its
//!   log is kept for asserts.
//! - [`peers`]: [`Capture`], the capturing smart host (`tests/peers/capture.py`); [`Postfix`],
//!   a throwaway instance (`tests/peers/postfix-instance.sh`); [`swaks`]; [`FakeSmarthost`];
//!   [`Sink`] (Postfix's `smtp-sink`).
//! - [`faulty`]: a fault-injecting smart host, scriptable per SMTP step.
//! - [`client`]: [`Client`], a small blocking SMTP client for hand-made sessions.
//! - [`mail`]: test messages and their DATA form.
//! - [`port`]: [`ctl`] (`cordonctl` against a gateway's socket), [`Follow`] (a `--follow`
//!   read line by line), [`Terminal`] (`cordonctl` on a pseudo-terminal) and messages that make an
//!   incident.
//! - [`certs`]: [`Certs`], a test CA and certificates made with rcgen.
//!
//! Every wait is bounded by a deadline and every spawned process is killed on drop. The tests
//! import everything from the crate root.

#![forbid(unsafe_code)]
// The harness is plain threads, not tokio: blocking sleeps in polling loops are fine here.
#![allow(clippy::disallowed_methods)]

pub mod certs;
pub mod client;
pub mod faulty;
pub mod gateway;
pub mod mail;
pub mod peers;
pub mod port;
pub mod support;

pub use certs::Certs;
pub use client::{Client, Reply};
pub use gateway::{Cfg, Gateway, Supervised};
pub use mail::{dot_stuff, make_message, with_attachment};
pub use peers::{swaks, Capture, Captured, FakeBehaviour, FakeSmarthost, Postfix, Sink};
pub use port::{
    ctl, ctl_in_terminal, send_ssn, ssn_message, Follow, Terminal, BLOCK_CARDS,
    BLOCK_CARDS_QUARANTINE_SSN, CARDS, EDM_SCHEMA,
};
pub use support::{
    bin, code_and_output, files_under, free_port, repo_root, wait_until, TempDir, PYTHON, STEP,
};
