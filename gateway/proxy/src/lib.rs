//! cordon's SMTP proxy: a non-queuing relay that inspects each message between Exchange Online
//! (upstream) and its smart host (downstream) and answers the sender only with what the smart
//! host answered. The `cordon` binary loads the configuration and runs this crate's [`server`].
//!
//! # Layout
//! - [`server`]: listeners, the relay guard, the session slot pool and shutdown.
//! - [`shutdown`]: the server's shutdown phases as sessions see them.
//! - [`pool`]: per-session buffers reserved at start-up; memory never grows with traffic.
//! - [`session`]: one upstream SMTP session, relayed in lockstep to its own downstream leg.
//! - [`downstream`]: the client leg to the smart host (greeting, EHLO, STARTTLS, commands).
//! - [`stream`]: a byte stream that may have been upgraded to TLS, over TCP or in memory.
//! - [`tls`]: rustls configurations for both legs.
//! - [`message`]: the stamp, `Received:` line and header removals applied to a message.
//! - [`inspect`]: the hook the inspection engine and policies plug into.
//! - [`dlp_inspector`]: the production inspector: DLP engine findings through
//!   `cordon_policy::judge` to a verdict, plus the dry run `cordon scan` shares.
//! - [`incident_log`]: the persistent incident log's writer thread, the ack the session waits
//!   for before its reply, and the record's wire form.
//! - [`engine`]: builds the DLP engine from the config and checks rule names against it.
//!
//! Protocol parsing and its pure decisions live in `cordon-smtp`, the verdict in
//! `cordon-policy`; this crate owns only sockets, timers and session state.

#![forbid(unsafe_code)]

pub mod dlp_inspector;
pub mod downstream;
pub mod engine;
pub mod error;
pub mod incident_export;
pub mod incident_log;
pub mod inspect;
pub mod message;
pub mod pool;
pub mod server;
pub mod session;
pub mod shutdown;
pub mod stream;
pub mod tls;

pub use error::Error;
