//! One upstream SMTP session, relayed in lockstep to its own downstream leg.
//!
//! The session answers EHLO, STARTTLS, NOOP and QUIT itself and relays MAIL, RCPT and RSET to the
//! smart host, replying upstream with exactly what the smart host said. With PIPELINING the
//! commands of one group go downstream in one write and their replies come back in order
//! (RFC 2920). The message is received into the session's fixed buffer, inspected, stamped and
//! sent downstream; the sender hears 250 only after the smart host said 250 for that message.
//!
//! # Layout
//! - this file: the session's state ([`Session`], the transaction, what is pending downstream),
//!   [`serve`] and the reply helpers every verb uses;
//! - [`state`](self::state): the explicit [`State`] of the input: command lines, an over-long
//!   line being skipped, DATA's body, a BDAT chunk;
//! - [`ingest`](self::ingest): the one read loop (deadlines, shutdown) that hands the input to
//!   the step of the current state, and the dispatch of each command to its verb;
//! - `ehlo.rs` (EHLO, HELO, STARTTLS), `mail.rs`, `rcpt.rs`, `data.rs` (DATA, BDAT and their
//!   body steps): one file per verb;
//! - [`relay`](self::relay): pushing pipelined commands downstream and relaying their replies in
//!   order, and what a downstream failure does;
//! - [`deliver`](self::deliver): the verdict, the stamp and `Received:`, the redirect envelope,
//!   the message's relay and the notifications.

mod data;
mod deliver;
mod ehlo;
mod ingest;
mod mail;
mod rcpt;
mod relay;
mod state;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use cordon_config::Config;
use cordon_policy::Counters;
use cordon_smtp::address::{Param, Path};
use cordon_smtp::command::{self, Command, CommandError};
use cordon_smtp::data::{BodyError, BodyReceiver, Progress, MAX_BODY_LINE};
use cordon_smtp::line::{discard_to_lf, next_line, LineEvent};
use cordon_smtp::negotiate;
use cordon_smtp::reply::{Enhanced, Reply};
use cordon_smtp::{command_line_limit, MAX_COMMAND_LINE, MAX_RCPT_LINE};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;
use tokio::time::{timeout, timeout_at, Instant as Deadline};
use tokio_rustls::TlsAcceptor;

use self::data::no_room;
use self::state::{Next, State};
use crate::downstream::{DownError, Downstream, RelayPlan};
use crate::inspect::{Envelope, InspectorFactory, Verdict};
use crate::message::{prepare, push_field};
use crate::pool::{Lease, Slot};
use crate::shutdown::{self, Phase};
use crate::stream::{Conn, Io};

/// Postfix's `smtpd_recipient_limit` default; RFC 5321 section 4.5.3.1.8 asks for at least 100.
pub const MAX_RECIPIENTS: usize = 1000;
/// Postfix's `smtpd_hard_error_limit`: a client this confused is hung up on.
pub const MAX_ERRORS: u32 = 20;
/// Pipelined commands held before they are pushed downstream and answered.
pub const MAX_PENDING: usize = 256;
/// After a refused message, keep reading up to this multiple of the size limit to find the end
/// of DATA; past it the client is only wasting our time and is disconnected.
pub const DISCARD_FACTOR: usize = 2;

/// Everything sessions share, built once per configuration.
pub struct Shared {
    /// The config generation this was built from (0 when not persisted).
    pub generation: u64,
    /// Distinct for every build of this process, so pool slots know when their inspector is
    /// stale (a reload of an unpersisted config keeps generation 0).
    pub epoch: u64,
    pub config: Arc<Config>,
    pub acceptor: Option<TlsAcceptor>,
    pub relay: RelayPlan,
    pub inspectors: Arc<dyn InspectorFactory>,
    /// Messages, bytes and downstream errors; the inspector counts verdicts and detectors.
    pub counters: Arc<Counters>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("hostname", &self.config.gateway.hostname)
            .field("tls", &self.acceptor.is_some())
            .field("relay", &self.relay)
            .finish()
    }
}

static SESSION_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A short unique session id for logs and `Received:`.
fn session_id() -> String {
    let n = SESSION_COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!("{:08X}{:06X}", t as u32, n & 0xFF_FFFF)
}

/// Why a session ends.
#[derive(Debug)]
enum End {
    /// The conversation is over (QUIT, 421, a fatal protocol error); replies are flushed.
    Close,
    /// The upstream went away or a write failed: nothing more can be said.
    Gone,
}

/// A downstream command whose reply is still due, in upstream order.
#[derive(Debug)]
enum Pending {
    Local(Reply),
    Mail(Path),
    Rcpt(Path),
    Rset,
}

/// The mail transaction in progress.
#[derive(Debug, Default)]
struct Txn {
    mail: Option<Path>,
    mail_pending: bool,
    smtputf8: bool,
    /// The sender declared `BODY=8BITMIME`.
    eightbit: bool,
    /// The MAIL parameters as forwarded (` SIZE=.. BODY=.. SMTPUTF8 RET=.. ENVID=..`), for an
    /// envelope that a redirect starts again.
    mail_params: String,
    rcpts: Vec<Path>,
    rcpt_pending: usize,
    bdat: Option<BodyReceiver>,
    /// Octets of BDAT chunk data seen in this transaction (including refused ones).
    bdat_seen: u64,
    started: Option<Instant>,
    /// When the DATA or first BDAT of this transaction began: the data phase's deadline
    /// counts from here.
    data_started: Option<Deadline>,
    /// Octets read during the data phase, for the `min_data_rate` allowance.
    data_received: u64,
}

impl Txn {
    fn has_mail(&self) -> bool {
        self.mail.is_some() || self.mail_pending
    }
}

fn reply(code: u16, e: (u8, u16, u16), text: impl Into<String>) -> Reply {
    Reply::new(code, Enhanced(e.0, e.1, e.2), text)
}

/// Serves one accepted connection to its end.
pub async fn serve<S: Io + 'static>(
    shared: Arc<Shared>,
    stream: S,
    peer: SocketAddr,
    implicit_tls: bool,
    slot: Lease,
    shutdown: watch::Receiver<Phase>,
) {
    let id = session_id();
    let host = shared.config.gateway.hostname.clone();
    let mut up = Conn::Plain(stream);
    if implicit_tls {
        let Some(acceptor) = shared.acceptor.clone() else {
            return;
        };
        let Some(tcp) = up.take_plain() else { return };
        match timeout(shared.config.timeouts.tls_handshake, acceptor.accept(tcp)).await {
            Ok(Ok(tls)) => up = Conn::Tls(Box::new(tokio_rustls::TlsStream::Server(tls))),
            Ok(Err(e)) => {
                tracing::info!(session = %id, client = %peer.ip(), error = %e, "implicit TLS handshake failed");
                return;
            }
            Err(_) => {
                tracing::info!(session = %id, client = %peer.ip(), "implicit TLS handshake timed out");
                return;
            }
        }
    }
    // The downstream leg comes first: without it we must not accept anything.
    let mut slot = slot;
    let down = match Downstream::open(&shared.relay, &shared.config, &mut slot.down_in).await {
        Ok(d) => d,
        Err(e) => {
            shared.counters.downstream_error();
            tracing::warn!(session = %id, client = %peer.ip(), error = %e, "no smart host reachable; greeting with 421");
            let _ = timeout(shared.config.timeouts.command, up.write_all(format!("421 4.4.0 {host} Service not available: no smart host reachable, try again later\r\n").as_bytes())).await;
            let _ = up.shutdown().await;
            return;
        }
    };
    tracing::debug!(session = %id, client = %peer.ip(), smarthost = %down.host, down_tls = down.is_tls(), "session opened");
    let mut s = Session {
        sh: Arc::clone(&shared),
        id,
        peer,
        up,
        slot,
        start: 0,
        end: 0,
        down: Some(down),
        state: State::Command,
        down_cmds: Vec::new(),
        pending: VecDeque::new(),
        helo: None,
        esmtp: false,
        txn: Txn::default(),
        errors: 0,
        closing: false,
        shutdown,
        session_end: Deadline::now() + shared.config.timeouts.session,
        line_deadline: None,
        notes: Vec::new(),
    };
    let greeting = format!("220 {host} ESMTP cordon\r\n");
    s.slot.replies.extend_from_slice(greeting.as_bytes());
    let end = match s.write_replies().await {
        Ok(()) => s.run().await.err().unwrap_or(End::Close),
        Err(e) => e,
    };
    if matches!(end, End::Close) {
        let _ = s.write_replies().await;
        let _ = timeout(s.sh.config.timeouts.command, s.up.shutdown()).await;
    }
    if let Some(d) = s.down.take() {
        s.slot.down_in = d.quit(s.sh.config.timeouts.command).await;
    }
    tracing::debug!(session = %s.id, "session closed");
}

struct Session<S> {
    sh: Arc<Shared>,
    id: String,
    peer: SocketAddr,
    up: Conn<S>,
    slot: Lease,
    /// The unread window of `slot.up_in`.
    start: usize,
    end: usize,
    down: Option<Downstream>,
    /// What the upstream input is now; the ingest loop reads for it.
    state: State,
    /// Commands for downstream not yet written.
    down_cmds: Vec<u8>,
    pending: VecDeque<Pending>,
    helo: Option<String>,
    esmtp: bool,
    txn: Txn,
    errors: u32,
    /// A 421 was relayed; end after flushing.
    closing: bool,
    shutdown: watch::Receiver<Phase>,
    /// `[timeouts] session` from the greeting: no wait goes past it.
    session_end: Deadline,
    /// When the command line being read must be complete (`[timeouts] command_line`), set
    /// when the session starts waiting for it.
    line_deadline: Option<Deadline>,
    /// Notifications the last verdict asked for, taken from its message slot when the
    /// transaction ended and sent after the sender's reply.
    notes: Vec<crate::inspect::Notification>,
}

impl<S> Drop for Session<S> {
    /// A session cancelled mid-way (its task dropped) still gives the downstream leg's reply
    /// buffer back to its slot before the slot returns to the pool.
    fn drop(&mut self) {
        if let Some(d) = self.down.take() {
            self.slot.down_in = d.into_buf();
        }
    }
}

/// What a read waits for: the deadline and what a shutdown may cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// The next command (or the rest of one): a command boundary, ended at the drain.
    Command,
    /// Message data: only the drain deadline (`Phase::Stop`) cuts it.
    Data,
}

impl<S: Io> Session<S> {
    fn cfg(&self) -> &Config {
        &self.sh.config
    }

    /// The transaction's message as received so far (empty outside a transaction).
    fn message(&self) -> &[u8] {
        self.slot.msg.as_ref().map_or(&[], |m| &m.message)
    }

    fn host(&self) -> &str {
        &self.sh.config.gateway.hostname
    }

    fn down(&mut self) -> &mut Downstream {
        self.down
            .as_mut()
            .expect("the downstream leg lives as long as the session loop")
    }

    /// What this session offers its client now (the smart host's EHLO, the config, TLS).
    fn offer(&self) -> negotiate::Offer {
        negotiate::Offer {
            esmtp: self.esmtp,
            max_size: self.cfg().gateway.max_message_size as u64,
            down: self
                .down
                .as_ref()
                .map(|d| d.caps.clone())
                .unwrap_or_default(),
            starttls: self.sh.acceptor.is_some() && !self.up.is_tls(),
        }
    }

    /// Queues a negotiation's refusal; one that is a client error counts towards the limit.
    fn refuse(&mut self, r: negotiate::Refusal) -> Result<(), End> {
        self.local(r.reply);
        if r.is_error {
            return self.count_error();
        }
        Ok(())
    }

    /// Queues a reply of our own, in order with relayed ones.
    fn local(&mut self, r: Reply) {
        if self.pending.is_empty() {
            r.write_enhanced(&mut self.slot.replies);
        } else {
            self.pending.push_back(Pending::Local(r));
        }
    }

    async fn write_replies(&mut self) -> Result<(), End> {
        if self.slot.replies.is_empty() {
            return Ok(());
        }
        let limit = self.sh.config.timeouts.command;
        // Flushed as well: over TLS, write_all leaves what the socket had no room for in
        // rustls's buffer (see `Downstream::send`).
        let (up, replies) = (&mut self.up, &self.slot.replies);
        let res = timeout(limit, async {
            up.write_all(replies).await?;
            up.flush().await
        })
        .await;
        self.slot.replies.clear();
        match res {
            Ok(Ok(())) => Ok(()),
            _ => Err(End::Gone),
        }
    }
}

impl<S: Io> Session<S> {
    fn count_error(&mut self) -> Result<(), End> {
        self.errors += 1;
        if self.errors >= MAX_ERRORS {
            self.local(reply(
                421,
                (4, 7, 0),
                format!("{} Error: too many errors", self.host()),
            ));
            return Err(End::Close);
        }
        Ok(())
    }

    /// True when the client sent more after a command that must end its pipelined group.
    fn pipelined_after(&self) -> bool {
        self.start != self.end
    }
}

/// Keeps a client-supplied name safe for a header and a log line.
fn sanitize(s: &str) -> String {
    s.chars()
        .take(255)
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-:[]_".contains(c) {
                c
            } else {
                '?'
            }
        })
        .collect()
}
