//! The cordon gateway: a non-queuing SMTP proxy that inspects each message between Exchange
//! Online (upstream) and its smart host (downstream) and answers the sender only with what the
//! smart host answered.
//!
//! # Layout
//! - [`boot`]: `cordon run`, `cordon supervise` and `cordon worker`: loading, signals, reload.
//! - [`server`]: listeners, the relay guard, the session slot pool and shutdown.
//! - [`pool`]: per-session buffers reserved at start-up; memory never grows with traffic.
//! - [`session`]: one upstream SMTP session, relayed in lockstep to its own downstream leg.
//! - [`downstream`]: the client leg to the smart host (greeting, EHLO, STARTTLS, commands).
//! - [`message`]: the stamp, `Received:` line and header removals applied to a message.
//! - [`inspect`]: the hook the inspection engine and policies plug into.
//! - [`policy`]: the production inspector: DLP engine findings through the rules to a verdict.
//! - [`live`]: builds what sessions share from a config, at start and on every apply.
//! - [`control`]: the gateway behind the config port (status, apply, rollback, incidents, scan).
//! - [`engine`]: builds the DLP engine from the config and checks rule names against it.
//! - [`conn`]: a TCP stream that may have been upgraded to TLS.
//! - [`tls`]: rustls configurations for both legs.
//! - [`logging`]: journald under systemd, stderr otherwise.
//!
//! Protocol parsing lives in `cordon-smtp` and configuration in `cordon-config`; this crate owns
//! only sockets, timers and session state.

#![forbid(unsafe_code)]

pub mod boot;
pub mod conn;
pub mod control;
pub mod downstream;
pub mod engine;
pub mod error;
pub mod inspect;
pub mod live;
pub mod logging;
pub mod message;
pub mod policy;
pub mod pool;
pub mod server;
pub mod session;
pub mod tls;

pub use error::Error;
