//! One upstream SMTP session, relayed in lockstep to its own downstream leg.
//!
//! The session answers EHLO, STARTTLS, NOOP and QUIT itself and relays MAIL, RCPT and RSET to the
//! smart host, replying upstream with exactly what the smart host said. With PIPELINING the
//! commands of one group go downstream in one write and their replies come back in order
//! (RFC 2920). The message is received into the session's fixed buffer, inspected, stamped and
//! sent downstream; the sender hears 250 only after the smart host said 250 for that message.

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
use cordon_smtp::dsn::{self, Notify, Ret};
use cordon_smtp::line::{discard_to_lf, next_line, LineEvent};
use cordon_smtp::reply::{Enhanced, Reply};
use cordon_smtp::{command_line_limit, MAX_COMMAND_LINE, MAX_RCPT_LINE};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;
use tokio::time::{timeout, timeout_at, Instant as Deadline};
use tokio_rustls::TlsAcceptor;

use crate::conn::{Conn, Io};
use crate::downstream::{DownError, Downstream, RelayPlan};
use crate::inspect::{Envelope, InspectorFactory, Verdict};
use crate::message::{prepare, push_field};
use crate::pool::{Lease, Slot};
use crate::server::Phase;

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
    let down = match Downstream::open(&shared.relay, &shared.config).await {
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
        d.quit(s.sh.config.timeouts.command).await;
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

    fn host(&self) -> &str {
        &self.sh.config.gateway.hostname
    }

    fn down(&mut self) -> &mut Downstream {
        self.down
            .as_mut()
            .expect("the downstream leg lives as long as the session loop")
    }

    fn smtputf8_offered(&self) -> bool {
        self.down.as_ref().is_some_and(|d| d.caps.smtputf8)
    }

    /// DSN requests are passed on only to a smart host that can honour them (RFC 3461 section
    /// 6.2 lets a relay drop them, but the sender then never hears of the final delivery).
    fn dsn_offered(&self) -> bool {
        self.esmtp && self.down.as_ref().is_some_and(|d| d.caps.dsn)
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
        let res = timeout(limit, self.up.write_all(&self.slot.replies)).await;
        self.slot.replies.clear();
        match res {
            Ok(Ok(())) => Ok(()),
            _ => Err(End::Gone),
        }
    }

    /// When the message data being read must be in: `[timeouts] data_phase` from the start
    /// of the phase plus a second per `min_data_rate` octets received (a fast sender of a
    /// large message is never cut; a dripping one is).
    fn data_deadline(&self) -> Deadline {
        let t = &self.sh.config.timeouts;
        let start = self.txn.data_started.unwrap_or_else(Deadline::now);
        let allowance = match t.min_data_rate {
            0 => std::time::Duration::ZERO,
            rate => std::time::Duration::from_secs_f64(self.txn.data_received as f64 / rate as f64),
        };
        start + t.data_phase + allowance
    }

    /// Reads more upstream input, within the deadline of what is awaited (the command line or
    /// the data phase), the idle limit and the session's deadline; a shutdown ends the wait
    /// at a command boundary (`Phase::Drain`) or anywhere (`Phase::Stop`) with `421 4.3.2`.
    async fn fill(&mut self, wait: Wait) -> Result<(), End> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.end == self.slot.up_in.len() {
            let (s, e) = (self.start, self.end);
            self.slot.up_in.copy_within(s..e, 0);
            self.end -= s;
            self.start = 0;
        }
        let t = &self.sh.config.timeouts;
        let now = Deadline::now();
        let deadline = match wait {
            Wait::Command => *self.line_deadline.get_or_insert(now + t.command_line),
            Wait::Data => self.data_deadline(),
        };
        let idle_end = now + t.idle;
        let limit = deadline.min(self.session_end).min(idle_end);
        let cut_at = match wait {
            Wait::Command => Phase::Drain,
            Wait::Data => Phase::Stop,
        };
        let end = self.end;
        let read = {
            let buf = &mut self.slot.up_in[end..];
            let up = &mut self.up;
            let shutdown = &mut self.shutdown;
            tokio::select! {
                r = timeout_at(limit, up.read(buf)) => Some(r),
                _ = wait_shutdown(shutdown, cut_at) => None,
            }
        };
        match read {
            None => {
                let r = reply(
                    421,
                    (4, 3, 2),
                    format!("{} Service shutting down, try again later", self.host()),
                );
                self.local(r);
                Err(End::Close)
            }
            Some(Err(_)) => {
                let why = if limit == self.session_end {
                    "session time limit"
                } else if limit == idle_end {
                    "idle timeout"
                } else if wait == Wait::Command {
                    "command deadline"
                } else {
                    "data deadline"
                };
                tracing::info!(session = %self.id, client = %self.peer.ip(), limit = why, "client timed out");
                let r = reply(
                    421,
                    (4, 4, 2),
                    format!("{} Error: timeout exceeded ({why})", self.host()),
                );
                self.local(r);
                Err(End::Close)
            }
            Some(Ok(Ok(0))) | Some(Ok(Err(_))) => Err(End::Gone),
            Some(Ok(Ok(n))) => {
                self.end += n;
                if wait == Wait::Data {
                    self.txn.data_received += n as u64;
                }
                Ok(())
            }
        }
    }

    async fn run(&mut self) -> Result<(), End> {
        let mut line = [0u8; MAX_RCPT_LINE];
        loop {
            if self.closing {
                self.flush().await?;
                return Err(End::Close);
            }
            match next_line(&self.slot.up_in[self.start..self.end], MAX_RCPT_LINE) {
                LineEvent::Line { len } => {
                    let n = len - 2;
                    line[..n].copy_from_slice(&self.slot.up_in[self.start..self.start + n]);
                    self.start += len;
                    self.line_deadline = None;
                    let limit = command_line_limit(&line[..n]);
                    if len > limit {
                        self.local(reply(
                            500,
                            (5, 5, 2),
                            format!("Error: command line longer than {limit} octets"),
                        ));
                        self.count_error()?;
                        continue;
                    }
                    self.command(&line[..n]).await?;
                }
                LineEvent::Incomplete => {
                    self.flush().await?;
                    self.fill(Wait::Command).await?;
                }
                LineEvent::TooLong => {
                    loop {
                        if let Some(n) = discard_to_lf(&self.slot.up_in[self.start..self.end]) {
                            self.start += n;
                            break;
                        }
                        self.start = self.end;
                        self.fill(Wait::Command).await?;
                    }
                    self.line_deadline = None;
                    self.local(reply(
                        500,
                        (5, 5, 2),
                        format!("Error: command line longer than {MAX_RCPT_LINE} octets"),
                    ));
                    self.count_error()?;
                }
                LineEvent::BareLf | LineEvent::BareCr => {
                    // Postfix's smtpd_forbid_bare_newline = reject: answer and hang up.
                    self.local(reply(
                        550,
                        (5, 5, 2),
                        "Error: bare <CR> or <LF> received; lines must end with <CR><LF>",
                    ));
                    self.flush().await?;
                    return Err(End::Close);
                }
            }
        }
    }
}

/// Returns once the server's phase is `at` or later.
async fn wait_shutdown(rx: &mut watch::Receiver<Phase>, at: Phase) {
    if *rx.borrow() >= at {
        return;
    }
    loop {
        if rx.changed().await.is_err() {
            // The server is gone without saying; treat as no shutdown.
            std::future::pending::<()>().await;
        }
        if *rx.borrow() >= at {
            return;
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

    async fn command(&mut self, line: &[u8]) -> Result<(), End> {
        if line.iter().any(|&b| b < 0x20 && b != b'\t' || b == 0x7f) {
            // A NUL or another control octet has no place in any command (RFC 5321 4.1.2's
            // grammar is printable), and would otherwise travel into Received: and logs.
            self.local(reply(
                501,
                (5, 5, 2),
                "Syntax error: control character in command",
            ));
            return self.count_error();
        }
        let cmd = match command::parse(line) {
            Ok(c) => c,
            Err(e) => {
                let r = match e {
                    CommandError::Unknown => reply(500, (5, 5, 2), "Error: command not recognized"),
                    CommandError::Syntax(why) => {
                        reply(501, (5, 5, 4), format!("Syntax error: {why}"))
                    }
                    CommandError::BadSender(why) => {
                        reply(501, (5, 1, 7), format!("Bad sender address syntax: {why}"))
                    }
                    CommandError::BadRecipient(why) => reply(
                        501,
                        (5, 1, 3),
                        format!("Bad recipient address syntax: {why}"),
                    ),
                    // 8-bit octets that are not UTF-8 can only be an address's: refused as
                    // RFC 6531 refuses non-ASCII without SMTPUTF8, the same for MAIL and RCPT.
                    CommandError::NotUtf8 if command_line_limit(line) > MAX_COMMAND_LINE => reply(
                        553,
                        (5, 6, 7),
                        "Must declare SMTPUTF8 and use UTF-8 in an address",
                    ),
                    CommandError::NotUtf8 => {
                        reply(500, (5, 5, 2), "Error: command is not valid UTF-8")
                    }
                };
                self.local(r);
                return self.count_error();
            }
        };
        match cmd {
            Command::Ehlo(d) => self.ehlo(d, true).await,
            Command::Helo(d) => self.ehlo(d, false).await,
            Command::Mail { from, params } => self.mail(from, params).await,
            Command::Rcpt { to, params } => self.rcpt(to, params).await,
            Command::Data => self.data().await,
            Command::Bdat { size, last } => self.bdat(size, last).await,
            Command::Rset => {
                self.reset_txn();
                self.down_cmds.extend_from_slice(b"RSET\r\n");
                self.pending.push_back(Pending::Rset);
                self.maybe_flush().await
            }
            Command::Noop => {
                self.local(reply(250, (2, 0, 0), "Ok"));
                Ok(())
            }
            Command::Quit => {
                if self.pipelined_after() {
                    return self.pipelining_violation("QUIT").await;
                }
                self.local(reply(221, (2, 0, 0), "Bye"));
                self.flush().await?;
                Err(End::Close)
            }
            Command::StartTls => self.starttls().await,
            Command::Help => {
                self.local(reply(214, (2, 0, 0), "cordon: see RFC 5321"));
                Ok(())
            }
            Command::Vrfy | Command::Expn => {
                self.local(reply(502, (5, 5, 1), "Error: command disabled"));
                Ok(())
            }
            Command::Auth => {
                self.local(reply(503, (5, 5, 1), "Error: authentication not enabled"));
                self.count_error()
            }
        }
    }

    async fn pipelining_violation(&mut self, after: &str) -> Result<(), End> {
        self.local(reply(
            554,
            (5, 5, 0),
            format!("Error: command pipelined after {after}"),
        ));
        self.flush().await?;
        Err(End::Close)
    }

    /// Pushes queued commands downstream now unless the smart host allows pipelining and more
    /// input is already waiting.
    async fn maybe_flush(&mut self) -> Result<(), End> {
        let pipelining = self.down.as_ref().is_some_and(|d| d.caps.pipelining);
        if !pipelining || self.pending.len() >= MAX_PENDING {
            self.flush().await?;
        }
        Ok(())
    }

    /// Sends queued downstream commands, relays their replies in order and writes every queued
    /// reply upstream.
    async fn flush(&mut self) -> Result<(), End> {
        if let Err(e) = self.flush_down().await {
            return self.downstream_failed(e).await;
        }
        self.write_replies().await
    }

    async fn flush_down(&mut self) -> Result<(), DownError> {
        let t = self.sh.config.timeouts.clone();
        if !self.down_cmds.is_empty() {
            let down = self
                .down
                .as_mut()
                .expect("the downstream leg lives as long as the session loop");
            let res = down.send(&self.down_cmds, t.mail, "sending commands").await;
            self.down_cmds.clear();
            res?;
        }
        while let Some(p) = self.pending.pop_front() {
            let r = match p {
                Pending::Local(r) => {
                    r.write_enhanced(&mut self.slot.replies);
                    continue;
                }
                Pending::Mail(path) => {
                    let r = self.down().read_reply(t.mail, "the MAIL reply").await?;
                    self.txn.mail_pending = false;
                    if r.is_positive() {
                        self.txn.mail = Some(path);
                        self.txn.started = Some(Instant::now());
                    }
                    r
                }
                Pending::Rcpt(path) => {
                    let r = self.down().read_reply(t.rcpt, "the RCPT reply").await?;
                    self.txn.rcpt_pending -= 1;
                    if r.is_positive() && self.txn.mail.is_some() {
                        self.txn.rcpts.push(path);
                    }
                    r
                }
                Pending::Rset => self.down().read_reply(t.command, "the RSET reply").await?,
            };
            self.relay_reply(r);
        }
        Ok(())
    }

    /// Passes a downstream reply upstream, refusing ones that make no sense here.
    fn relay_reply(&mut self, r: Reply) {
        if r.is_intermediate() {
            tracing::warn!(session = %self.id, reply = %r, "smart host sent an intermediate reply out of place");
            let r = reply(451, (4, 4, 0), "Error: protocol error at the next hop");
            r.write_enhanced(&mut self.slot.replies);
            self.closing = true;
            return;
        }
        if r.code == 421 {
            self.closing = true;
        }
        r.write_enhanced(&mut self.slot.replies);
    }

    /// The downstream leg failed: every command still waiting gets a 421 and the session ends.
    async fn downstream_failed(&mut self, e: DownError) -> Result<(), End> {
        self.sh.counters.downstream_error();
        tracing::warn!(session = %self.id, client = %self.peer.ip(), error = %e, "downstream failed");
        // Replies of our own that come before the failed command still go out in order.
        while let Some(Pending::Local(r)) = self.pending.front() {
            r.write_enhanced(&mut self.slot.replies);
            self.pending.pop_front();
        }
        self.pending.clear();
        self.down_cmds.clear();
        let r = reply(
            421,
            (4, 4, 2),
            format!(
                "{} Error: connection to the next hop failed, try again later",
                self.host()
            ),
        );
        r.write_enhanced(&mut self.slot.replies);
        // A broken leg is not worth a QUIT.
        self.down = None;
        self.write_replies().await?;
        Err(End::Close)
    }

    fn reset_txn(&mut self) {
        self.txn = Txn::default();
        self.slot.message.clear();
        self.slot.inspector.reset();
    }

    /// Resets the downstream transaction after a message we refused ourselves.
    async fn reset_down(&mut self) -> Result<(), End> {
        let limit = self.sh.config.timeouts.command;
        let res = async {
            let r = self
                .down()
                .command("RSET\r\n", limit, "the RSET reply")
                .await?;
            if r.is_positive() {
                Ok(())
            } else {
                Err(DownError::Protocol(format!("RSET refused: {r}")))
            }
        }
        .await;
        match res {
            Ok(()) => Ok(()),
            Err(e) => self.downstream_failed(e).await,
        }
    }

    async fn ehlo(&mut self, domain: String, esmtp: bool) -> Result<(), End> {
        self.flush().await?;
        if self.txn.mail.is_some() {
            self.reset_down().await?;
        }
        self.reset_txn();
        let mut lines = vec![format!(
            "{} Hello {} [{}]",
            self.host(),
            sanitize(&domain),
            self.peer.ip()
        )];
        if esmtp {
            lines.push("PIPELINING".into());
            lines.push(format!("SIZE {}", self.cfg().gateway.max_message_size));
            lines.push("8BITMIME".into());
            lines.push("ENHANCEDSTATUSCODES".into());
            if self.smtputf8_offered() {
                lines.push("SMTPUTF8".into());
            }
            if self.down.as_ref().is_some_and(|d| d.caps.dsn) {
                lines.push("DSN".into());
            }
            if self.sh.acceptor.is_some() && !self.up.is_tls() {
                lines.push("STARTTLS".into());
            }
            lines.push("CHUNKING".into());
        }
        Reply::plain(250, lines).write_plain(&mut self.slot.replies);
        self.helo = Some(domain);
        self.esmtp = esmtp;
        Ok(())
    }

    async fn starttls(&mut self) -> Result<(), End> {
        let Some(acceptor) = self.sh.acceptor.clone() else {
            self.local(reply(502, (5, 5, 1), "Error: command not implemented"));
            return Ok(());
        };
        if self.up.is_tls() {
            self.local(reply(503, (5, 5, 1), "Error: TLS already active"));
            return Ok(());
        }
        if self.pipelined_after() {
            // RFC 3207 section 4.2 and CVE-2011-0411: nothing sent in plain text after STARTTLS
            // may be acted on, so the injected commands get no reply at all.
            return self.pipelining_violation("STARTTLS").await;
        }
        self.local(reply(220, (2, 0, 0), "Ready to start TLS"));
        self.flush().await?;
        let Some(tcp) = self.up.take_plain() else {
            return Err(End::Gone);
        };
        match timeout(self.sh.config.timeouts.tls_handshake, acceptor.accept(tcp)).await {
            Ok(Ok(tls)) => self.up = Conn::Tls(Box::new(tokio_rustls::TlsStream::Server(tls))),
            Ok(Err(e)) => {
                tracing::info!(session = %self.id, client = %self.peer.ip(), error = %e, "STARTTLS handshake failed");
                return Err(End::Gone);
            }
            Err(_) => return Err(End::Gone),
        }
        // RFC 3207 section 4.2: forget everything learned before TLS.
        self.start = 0;
        self.end = 0;
        if self.txn.mail.is_some() {
            self.reset_down().await?;
        }
        self.reset_txn();
        self.helo = None;
        self.esmtp = false;
        Ok(())
    }

    async fn mail(&mut self, from: Path, params: Vec<Param>) -> Result<(), End> {
        if self.helo.is_none() {
            self.local(reply(503, (5, 5, 1), "Error: send HELO/EHLO first"));
            return self.count_error();
        }
        if self.cfg().gateway.tls.as_ref().is_some_and(|t| t.required) && !self.up.is_tls() {
            self.local(reply(530, (5, 7, 0), "Must issue a STARTTLS command first"));
            return self.count_error();
        }
        if self.txn.has_mail() {
            self.local(reply(503, (5, 5, 1), "Error: nested MAIL command"));
            return self.count_error();
        }
        let max = self.cfg().gateway.max_message_size as u64;
        if let Some(r) = duplicate_param(&params) {
            self.local(r);
            return self.count_error();
        }
        // The parameters as forwarded, kept apart from the path so a redirect can reuse them.
        let mut forwarded = String::new();
        let mut smtputf8 = false;
        let mut eightbit = false;
        let caps = self
            .down
            .as_ref()
            .map(|d| d.caps.clone())
            .unwrap_or_default();
        let dsn = self.dsn_offered();
        for p in &params {
            match (p.key.as_str(), p.value.as_deref()) {
                ("SIZE", Some(v)) if self.esmtp => match v.parse::<u64>() {
                    Ok(n) if n > max => {
                        self.local(reply(
                            552,
                            (5, 3, 4),
                            "Message size exceeds fixed maximum message size",
                        ));
                        return Ok(());
                    }
                    Ok(n) => {
                        if caps.size.is_some() {
                            forwarded.push_str(&format!(" SIZE={n}"));
                        }
                    }
                    Err(_) => {
                        self.local(reply(501, (5, 5, 4), "Bad SIZE parameter"));
                        return self.count_error();
                    }
                },
                ("BODY", Some(v))
                    if self.esmtp
                        && (v.eq_ignore_ascii_case("7BIT")
                            || v.eq_ignore_ascii_case("8BITMIME")) =>
                {
                    eightbit = v.eq_ignore_ascii_case("8BITMIME");
                    if caps.eightbitmime {
                        forwarded.push_str(&format!(" BODY={}", v.to_ascii_uppercase()));
                    }
                }
                ("RET", Some(v)) if dsn => match Ret::parse(v) {
                    Some(ret) => forwarded.push_str(&format!(" RET={}", ret.as_str())),
                    None => {
                        self.local(reply(501, (5, 5, 4), "Bad RET parameter syntax"));
                        return self.count_error();
                    }
                },
                ("ENVID", Some(v)) if dsn => {
                    if !dsn::valid_envid(v) {
                        self.local(reply(501, (5, 5, 4), "Bad ENVID parameter syntax"));
                        return self.count_error();
                    }
                    forwarded.push_str(&format!(" ENVID={v}"));
                }
                ("SMTPUTF8", None) if self.esmtp && self.smtputf8_offered() => {
                    smtputf8 = true;
                    forwarded.push_str(" SMTPUTF8");
                }
                (key, _) => {
                    self.local(reply(555, (5, 5, 4), format!("Unsupported option: {key}")));
                    return self.count_error();
                }
            }
        }
        if from.is_utf8() && !smtputf8 {
            self.local(reply(
                553,
                (5, 6, 7),
                "Must declare SMTPUTF8 to use UTF-8 in an address",
            ));
            return Ok(());
        }
        let forward = format!("MAIL FROM:<{}>{forwarded}\r\n", from.address());
        self.txn.mail_params = forwarded;
        self.txn.mail_pending = true;
        self.txn.smtputf8 = smtputf8;
        self.txn.eightbit = eightbit;
        self.down_cmds.extend_from_slice(forward.as_bytes());
        self.pending.push_back(Pending::Mail(from));
        self.maybe_flush().await
    }

    async fn rcpt(&mut self, to: Path, params: Vec<Param>) -> Result<(), End> {
        if !self.txn.has_mail() {
            self.local(reply(503, (5, 5, 1), "Error: need MAIL command"));
            return self.count_error();
        }
        if let Some(r) = duplicate_param(&params) {
            self.local(r);
            return self.count_error();
        }
        let mut forward = format!("RCPT TO:<{}>", to.address());
        let dsn = self.dsn_offered();
        for p in &params {
            match (p.key.as_str(), p.value.as_deref()) {
                ("NOTIFY", Some(v)) if dsn => match Notify::parse(v) {
                    Some(n) => forward.push_str(&format!(" NOTIFY={}", n.to_param())),
                    None => {
                        self.local(reply(501, (5, 5, 4), "Bad NOTIFY parameter syntax"));
                        return self.count_error();
                    }
                },
                ("ORCPT", Some(v)) if dsn => {
                    if !dsn::valid_orcpt(v, self.txn.smtputf8) {
                        self.local(reply(501, (5, 5, 4), "Bad ORCPT parameter syntax"));
                        return self.count_error();
                    }
                    forward.push_str(&format!(" ORCPT={v}"));
                }
                (key, _) => {
                    self.local(reply(555, (5, 5, 4), format!("Unsupported option: {key}")));
                    return self.count_error();
                }
            }
        }
        if self.txn.rcpts.len() + self.txn.rcpt_pending >= MAX_RECIPIENTS {
            self.local(reply(452, (4, 5, 3), "Error: too many recipients"));
            return Ok(());
        }
        if to.is_utf8() && !self.txn.smtputf8 {
            self.local(reply(
                553,
                (5, 6, 7),
                "Must declare SMTPUTF8 to use UTF-8 in an address",
            ));
            return Ok(());
        }
        // Whatever the address says (source routes, `%` hacks, quoted parts), it only ever goes
        // to the configured smart host.
        forward.push_str("\r\n");
        self.down_cmds.extend_from_slice(forward.as_bytes());
        self.txn.rcpt_pending += 1;
        self.pending.push_back(Pending::Rcpt(to));
        self.maybe_flush().await
    }

    /// The reply for DATA/BDAT when the envelope is not complete, if any.
    fn envelope_problem(&self) -> Option<Reply> {
        if self.txn.mail.is_none() {
            Some(reply(503, (5, 5, 1), "Error: need MAIL command"))
        } else if self.txn.rcpts.is_empty() {
            Some(reply(554, (5, 5, 1), "Error: no valid recipients"))
        } else {
            None
        }
    }

    fn discard_limit(&self) -> usize {
        self.cfg().gateway.max_message_size * DISCARD_FACTOR + (1 << 20)
    }

    async fn data(&mut self) -> Result<(), End> {
        self.flush().await?;
        if let Some(r) = self.envelope_problem() {
            self.local(r);
            return Ok(());
        }
        if self.txn.bdat.is_some() {
            self.local(reply(503, (5, 5, 1), "Error: DATA after BDAT"));
            return Ok(());
        }
        if self.pipelined_after() {
            return self.pipelining_violation("DATA").await;
        }
        self.local(reply(354, (2, 0, 0), "End data with <CR><LF>.<CR><LF>"));
        self.flush().await?;
        self.txn.data_started = Some(Deadline::now());
        let limit = self.cfg().gateway.max_message_size;
        let discard_limit = self.discard_limit();
        let mut rx = BodyReceiver::data(limit);
        let mut raw = 0usize;
        loop {
            match receive(&mut self.slot, &mut rx, self.start..self.end) {
                Progress::Done { consumed } => {
                    self.start += consumed;
                    break;
                }
                Progress::More => {
                    raw += self.end - self.start;
                    self.start = self.end;
                    if raw > discard_limit {
                        self.local(reply(
                            552,
                            (5, 3, 4),
                            "Message size exceeds fixed maximum message size",
                        ));
                        return Err(End::Close);
                    }
                    self.fill(Wait::Data).await?;
                }
            }
        }
        self.message_received(rx.error()).await
    }

    async fn bdat(&mut self, size: u64, last: bool) -> Result<(), End> {
        self.flush().await?;
        let problem = self.envelope_problem();
        let limit = self.cfg().gateway.max_message_size;
        self.txn.bdat_seen = self.txn.bdat_seen.saturating_add(size);
        if self.txn.bdat_seen > self.discard_limit() as u64 {
            // RFC 3030 wants the chunk read even when refused, but not without end.
            self.local(reply(
                552,
                (5, 3, 4),
                "Message size exceeds fixed maximum message size",
            ));
            return Err(End::Close);
        }
        if problem.is_none() && self.txn.bdat.is_none() {
            self.txn.bdat = Some(BodyReceiver::chunks(limit));
        }
        if self.txn.data_started.is_none() {
            self.txn.data_started = Some(Deadline::now());
        }
        let mut remaining = size as usize;
        loop {
            let take = remaining.min(self.end - self.start);
            if let (None, Some(rx)) = (&problem, self.txn.bdat.as_mut()) {
                receive(&mut self.slot, rx, self.start..self.start + take);
            }
            self.start += take;
            remaining -= take;
            if remaining == 0 {
                break;
            }
            self.fill(Wait::Data).await?;
        }
        if let Some(r) = problem {
            self.local(r);
            return Ok(());
        }
        let error = self.txn.bdat.as_ref().and_then(BodyReceiver::error);
        if !last && error.is_none() {
            self.local(reply(250, (2, 0, 0), format!("{size} octets received")));
            return Ok(());
        }
        let error = match self.txn.bdat.as_mut() {
            Some(rx) if last => rx.finish_chunks(),
            _ => error,
        };
        self.message_received(error).await
    }

    /// The whole message is in the buffer (or was refused on the way).
    async fn message_received(&mut self, error: Option<BodyError>) -> Result<(), End> {
        let refusal = match error {
            None => None,
            Some(BodyError::BareLf | BodyError::BareCr) => {
                tracing::warn!(session = %self.id, client = %self.peer.ip(), "message with bare CR or LF refused (possible SMTP smuggling)");
                self.local(reply(
                    550,
                    (5, 5, 2),
                    "Error: bare <CR> or <LF> in message data; lines must end with <CR><LF>",
                ));
                // Like Postfix: after a smuggling attempt the connection is not trusted further.
                return Err(End::Close);
            }
            Some(BodyError::LineTooLong) => Some(reply(
                554,
                (5, 6, 0),
                format!("Error: message has a line longer than {MAX_BODY_LINE} octets"),
            )),
            Some(BodyError::TooBig) => Some(reply(
                552,
                (5, 3, 4),
                "Message size exceeds fixed maximum message size",
            )),
        };
        if let Some(r) = refusal {
            tracing::info!(session = %self.id, client = %self.peer.ip(), reply = %r, "message refused");
            self.local(r);
            self.reset_down().await?;
            self.reset_txn();
            return Ok(());
        }
        self.deliver().await
    }

    fn received_header(&self, with_tls: Option<crate::conn::TlsInfo>) -> String {
        let helo = self
            .helo
            .as_deref()
            .map(sanitize)
            .unwrap_or_else(|| "unknown".into());
        let mut proto = String::new();
        if self.txn.smtputf8 {
            proto.push_str("UTF8");
        }
        proto.push_str(if self.esmtp { "ESMTP" } else { "SMTP" });
        if with_tls.is_some() {
            proto.push('S');
        }
        let tls = with_tls
            .map(|t| format!("\r\n\t(using {} with cipher {})", t.version, t.cipher))
            .unwrap_or_default();
        let date = chrono::Local::now().to_rfc2822();
        format!("Received: from {helo} ([{}]){tls}\r\n\tby {} (cordon) with {proto} id {};\r\n\t{date}\r\n", self.peer.ip(), self.host(), self.id)
    }

    /// Replaces the downstream envelope with `MAIL FROM:<from>` (with the sender's MAIL
    /// parameters: SIZE, BODY, SMTPUTF8 and DSN's RET/ENVID) and one `RCPT TO:<to>` (without the
    /// original recipients' NOTIFY/ORCPT, which were about other mailboxes). The inner error is
    /// the reply for the sender when the smart host refuses the new envelope.
    async fn redirect_envelope(&mut self, from: &Path, to: &str) -> Result<Result<(), Reply>, End> {
        let params = self.txn.mail_params.clone();
        self.reset_down().await?;
        let t = self.sh.config.timeouts.clone();
        let res = async {
            let m = self
                .down()
                .command(
                    &format!("MAIL FROM:<{}>{params}\r\n", from.address()),
                    t.mail,
                    "the MAIL reply",
                )
                .await?;
            if !m.is_positive() {
                return Ok(Err(m));
            }
            let r = self
                .down()
                .command(&format!("RCPT TO:<{to}>\r\n"), t.rcpt, "the RCPT reply")
                .await?;
            Ok(if r.is_positive() { Ok(()) } else { Err(r) })
        }
        .await;
        match res {
            Ok(Ok(())) => Ok(Ok(())),
            Ok(Err(r)) => {
                tracing::warn!(session = %self.id, reply = %r, "smart host refused the redirect envelope");
                self.reset_down().await?;
                Ok(Err(r))
            }
            Err(e) => self.downstream_failed(e).await.map(|_| Ok(())),
        }
    }

    /// Sends the notifications the last verdict asked for, each as its own downstream
    /// transaction from the null sender (RFC 3834: automatic messages must not cause replies).
    /// The sender already has its reply; a refused notification is logged, not retried.
    async fn send_notifications(&mut self) -> Result<(), End> {
        let notes = self.slot.inspector.notifications();
        if notes.is_empty() {
            return Ok(());
        }
        // The sender's reply goes out first: notifications must not delay it.
        self.write_replies().await?;
        let t = self.sh.config.timeouts.clone();
        for n in notes {
            let res = async {
                let down = self.down();
                let m = down
                    .command("MAIL FROM:<>\r\n", t.mail, "the MAIL reply")
                    .await?;
                if !m.is_positive() {
                    return Ok(m);
                }
                let r = down
                    .command(&format!("RCPT TO:<{}>\r\n", n.to), t.rcpt, "the RCPT reply")
                    .await?;
                if !r.is_positive() {
                    down.command("RSET\r\n", t.command, "the RSET reply")
                        .await?;
                    return Ok(r);
                }
                let mut staging = Vec::new();
                down.send_message(&[&n.message], &t, &mut staging).await
            }
            .await;
            match res {
                Ok(r) if r.is_positive() => {
                    tracing::info!(session = %self.id, to = %n.to, downstream = %r, "notification sent")
                }
                Ok(r) => {
                    tracing::warn!(session = %self.id, to = %n.to, downstream = %r, "notification refused")
                }
                Err(e) => return self.downstream_failed(e).await,
            }
        }
        Ok(())
    }

    async fn deliver(&mut self) -> Result<(), End> {
        let started = self.txn.started.unwrap_or_else(Instant::now);
        let mail = self.txn.mail.clone().unwrap_or_else(Path::null);
        let rcpts = std::mem::take(&mut self.txn.rcpts);
        let verdict = {
            let env = Envelope {
                session: &self.id,
                client: self.peer.ip(),
                helo: self.helo.as_deref().unwrap_or(""),
                mail_from: &mail,
                rcpts: &rcpts,
                tls: self.up.is_tls(),
            };
            let slot = &mut *self.slot;
            slot.inspector.finish(&env, &slot.message)
        };
        let size = self.slot.message.len();
        let extra = match verdict {
            Verdict::Reject(r) => {
                tracing::info!(session = %self.id, client = %self.peer.ip(), from = %mail.address(), rcpts = rcpts.len(), size, reply = %r, "message refused by policy");
                self.local(r);
                self.reset_down().await?;
                self.reset_txn();
                return self.send_notifications().await;
            }
            Verdict::Deliver { headers } => headers,
            Verdict::Redirect { to, headers } => {
                // The downstream transaction holds the original recipients: start it again with
                // the compliance mailbox as the only one.
                if let Err(r) = self.redirect_envelope(&mail, &to).await? {
                    self.local(r);
                    self.reset_txn();
                    return Ok(());
                }
                headers
            }
        };
        let down_8bit = self.down.as_ref().is_some_and(|d| d.caps.eightbitmime);
        if self.txn.eightbit && !down_8bit && self.slot.message.iter().any(|&b| b >= 0x80) {
            // RFC 6152 section 3: an 8-bit message for a 7-bit hop is converted or returned;
            // cordon does not rewrite MIME, so the sender gets a permanent, explained refusal.
            let r = reply(
                554,
                (5, 6, 3),
                "Conversion required but not supported: the smart host does not offer 8BITMIME",
            );
            tracing::warn!(session = %self.id, client = %self.peer.ip(), size, reply = %r, "8-bit message for a 7-bit smart host");
            self.local(r);
            self.reset_down().await?;
            self.reset_txn();
            return Ok(());
        }
        let mut prefix = self.received_header(self.up.tls_info()).into_bytes();
        let h = self.sh.config.headers.clone();
        for (name, value) in &extra {
            push_field(&mut prefix, name, value);
        }
        let timeouts = self.sh.config.timeouts.clone();
        let result = {
            let slot = &mut *self.slot;
            match prepare(&slot.message, &h, prefix) {
                Err(e) => Err(Ok(reply(554, (5, 6, 0), format!("Error: {e}")))),
                Ok(prepared) => {
                    let parts = prepared.parts();
                    let down = self
                        .down
                        .as_mut()
                        .expect("the downstream leg lives as long as the session loop");
                    down.send_message(&parts, &timeouts, &mut slot.down_out)
                        .await
                        .map_err(Err)
                }
            }
        };
        let elapsed = started.elapsed().as_millis() as u64;
        match result {
            Ok(r) => {
                self.slot.inspector.outcome(&r);
                let accepted = r.is_positive();
                if accepted {
                    self.sh.counters.message(size as u64);
                    tracing::info!(session = %self.id, client = %self.peer.ip(), from = %mail.address(), rcpts = rcpts.len(), size, downstream = %r, ms = elapsed, "message relayed");
                } else {
                    self.sh.counters.downstream_error();
                    tracing::info!(session = %self.id, client = %self.peer.ip(), from = %mail.address(), rcpts = rcpts.len(), size, downstream = %r, ms = elapsed, "message refused by the smart host");
                }
                self.relay_reply(r);
                self.reset_txn();
                if !accepted && !self.closing {
                    // A refused DATA leaves the smart host's transaction open; a refused
                    // message closed it. RSET is right after either.
                    self.reset_down().await?;
                }
                self.send_notifications().await
            }
            Err(Ok(r)) => {
                self.local(r);
                self.reset_down().await?;
                self.reset_txn();
                Ok(())
            }
            Err(Err(e)) => {
                tracing::warn!(session = %self.id, client = %self.peer.ip(), from = %mail.address(), rcpts = rcpts.len(), size, ms = elapsed, error = %e, "message not relayed");
                self.reset_txn();
                self.downstream_failed(e).await
            }
        }
    }
}

/// Takes `slot.up_in[input]` through `rx` into the message buffer and feeds what was stored to
/// the inspector, so the verdict is ready when the last byte is in.
fn receive(slot: &mut Slot, rx: &mut BodyReceiver, input: std::ops::Range<usize>) -> Progress {
    let before = slot.message.len();
    let progress = rx.ingest(&slot.up_in[input], &mut slot.message);
    if slot.message.len() > before {
        slot.inspector.feed(&slot.message[before..]);
    }
    progress
}

/// `501 5.5.4` when a MAIL or RCPT parameter is given twice (RFC 5321 section 4.1.2 lets a
/// keyword appear once; a second `SIZE=` or `NOTIFY=` must not silently win).
fn duplicate_param(params: &[Param]) -> Option<Reply> {
    params.iter().enumerate().find_map(|(i, p)| {
        params[..i]
            .iter()
            .any(|q| q.key == p.key)
            .then(|| reply(501, (5, 5, 4), format!("Duplicate parameter: {}", p.key)))
    })
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
