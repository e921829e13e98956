//! The downstream leg: cordon as an SMTP client of the smart host.
//!
//! A session opens its downstream leg before it greets the sender, so a message is only ever
//! accepted when the next hop is there to take it. Every wait has the RFC 5321 section 4.5.3.2
//! timeout from `[timeouts]`.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use cordon_config::{Config, SmartHost, TlsMode};
use cordon_smtp::ehlo::Capabilities;
use cordon_smtp::reply::{parse_reply, Reply};
use cordon_smtp::stuff::Stuffer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::TlsConnector;

use crate::stream::{Conn, Io};
use crate::tls;

/// The longest reply accepted from the smart host; an EHLO reply with twenty extensions is under
/// 1 KiB, so more is a broken or hostile server.
pub const REPLY_BUFFER: usize = 16 << 10;
/// Message data is written in pieces of this size, each under the data-block timeout.
pub const WRITE_CHUNK: usize = 64 << 10;

/// What went wrong on the downstream leg.
#[derive(Debug, thiserror::Error)]
pub enum DownError {
    /// The name did not resolve in time, or to no address.
    #[error("cannot connect to {host}: {reason}")]
    Unreachable { host: String, reason: &'static str },
    /// The name lookup, or a connection to an address of the host, failed.
    #[error("cannot connect to {host}: {}{source}", addr.map(|a| format!("{a}: ")).unwrap_or_default())]
    Connect {
        host: String,
        addr: Option<std::net::SocketAddr>,
        #[source]
        source: io::Error,
    },
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
    #[error("connection lost: {0}")]
    Io(#[from] io::Error),
    #[error("protocol error: {0}")]
    Protocol(String),
    #[error("TLS with {host} failed: {reason}")]
    Tls { host: String, reason: String },
    #[error("TLS with {host} failed: {source}")]
    Handshake {
        host: String,
        #[source]
        source: io::Error,
    },
    #[error("{host} refused the session: {reply}")]
    Refused { host: String, reply: Reply },
}

/// How sessions reach a smart host: TCP in production; the in-memory session tests put a
/// function here that hands out one end of a duplex whose other end is a scripted peer.
#[derive(Clone, Default)]
pub enum Dial {
    #[default]
    Tcp,
    Custom(Arc<DialFn>),
}

impl std::fmt::Debug for Dial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Dial::Tcp => "Tcp",
            Dial::Custom(_) => "Custom",
        })
    }
}

/// A synchronous stream maker for [`Dial::Custom`].
pub type DialFn = dyn Fn(&SmartHost) -> Result<Box<dyn Io>, DownError> + Send + Sync;

/// An open, greeted downstream session.
#[derive(Debug)]
pub struct Downstream {
    conn: Conn<Box<dyn Io>>,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    pub caps: Capabilities,
    /// Which smart host this is, for logs.
    pub host: String,
}

/// How long a smart host that failed (no connection, no greeting, refused, broken TLS) is
/// tried only after the others: Postfix keeps a dead host for about a minute too. One host
/// that accepts TCP and never greets would otherwise cost every sender the greeting timeout.
pub const HOST_DOWN_FOR: Duration = Duration::from_secs(60);

/// Which smart hosts failed recently, shared by the sessions of one config (one worker
/// process: each worker learns on its own). Fixed size: one entry per configured host.
#[derive(Debug)]
pub struct HostHealth {
    down_until: Vec<std::sync::Mutex<Option<std::time::Instant>>>,
}

impl HostHealth {
    fn new(hosts: usize) -> HostHealth {
        HostHealth {
            down_until: (0..hosts).map(|_| std::sync::Mutex::new(None)).collect(),
        }
    }

    fn is_down(&self, i: usize) -> bool {
        self.down_until[i]
            .lock()
            .map(|d| d.is_some_and(|t| std::time::Instant::now() < t))
            .unwrap_or(false)
    }

    fn mark(&self, i: usize, failed: bool) {
        if let Ok(mut d) = self.down_until[i].lock() {
            *d = failed.then(|| std::time::Instant::now() + HOST_DOWN_FOR);
        }
    }

    /// Host indexes in the order to try: the ones not marked down first (config order), then
    /// the marked ones, so a session still gets through when every host failed a moment ago.
    fn order(&self) -> Vec<usize> {
        let n = self.down_until.len();
        let (mut up, down): (Vec<usize>, Vec<usize>) = (0..n).partition(|&i| !self.is_down(i));
        up.extend(down);
        up
    }
}

/// The downstream settings a session needs, resolved once per config.
#[derive(Clone)]
pub struct RelayPlan {
    pub hosts: Vec<SmartHost>,
    pub mode: TlsMode,
    pub connector: Option<TlsConnector>,
    pub helo: String,
    pub timeouts: cordon_config::Timeouts,
    pub health: Arc<HostHealth>,
    pub dial: Dial,
}

impl std::fmt::Debug for RelayPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayPlan")
            .field("hosts", &self.hosts)
            .field("mode", &self.mode)
            .field("helo", &self.helo)
            .finish()
    }
}

impl RelayPlan {
    pub fn new(config: &Config, connector: Option<TlsConnector>) -> RelayPlan {
        RelayPlan {
            hosts: config.relay.smarthosts.clone(),
            mode: config.relay.tls,
            connector,
            helo: config.gateway.hostname.clone(),
            timeouts: config.timeouts.clone(),
            health: Arc::new(HostHealth::new(config.relay.smarthosts.len())),
            dial: Dial::Tcp,
        }
    }
}

impl Downstream {
    /// Opens a session with the first smart host that answers and (if required) does TLS.
    /// The error of the last host tried is returned when none works.
    ///
    /// The reply buffer is the session slot's (`buf`, [`REPLY_BUFFER`] octets): the leg holds it
    /// while open and gives it back through [`Downstream::into_buf`] or [`Downstream::quit`], so
    /// connecting allocates nothing. On failure it is back in `buf`.
    pub async fn open(
        plan: &RelayPlan,
        config: &Config,
        buf: &mut Box<[u8]>,
    ) -> Result<Downstream, DownError> {
        let mut last = DownError::Protocol("no smart host configured".into());
        for i in plan.health.order() {
            let host = &plan.hosts[i];
            match Self::open_one(plan, config, host, std::mem::take(buf)).await {
                Ok(d) => {
                    plan.health.mark(i, false);
                    return Ok(d);
                }
                Err((e, b)) => {
                    *buf = b;
                    plan.health.mark(i, true);
                    tracing::warn!(smarthost = %host, error = %e, retry_first_after_s = HOST_DOWN_FOR.as_secs(), "smart host unusable, trying the next");
                    last = e;
                }
            }
        }
        Err(last)
    }

    async fn open_one(
        plan: &RelayPlan,
        config: &Config,
        host: &SmartHost,
        buf: Box<[u8]>,
    ) -> Result<Downstream, (DownError, Box<[u8]>)> {
        let stream = match &plan.dial {
            Dial::Tcp => dial_tcp(&plan.timeouts, host).await,
            Dial::Custom(f) => f(host),
        };
        let stream = match stream {
            Ok(s) => s,
            Err(e) => return Err((e, buf)),
        };
        // The slot's buffer is only missing when a session was cancelled while it connected
        // (its task dropped, at process exit): that slot gets a new one.
        let buf = if buf.len() == REPLY_BUFFER {
            buf
        } else {
            vec![0; REPLY_BUFFER].into_boxed_slice()
        };
        let mut d = Downstream {
            conn: Conn::Plain(stream),
            buf,
            start: 0,
            end: 0,
            caps: Capabilities::default(),
            host: host.to_string(),
        };
        match d.greet(plan, config, host).await {
            Ok(()) => Ok(d),
            Err(e) => Err((e, d.into_buf())),
        }
    }

    /// Gives the reply buffer back to the session slot.
    pub fn into_buf(self) -> Box<[u8]> {
        self.buf
    }

    /// Greeting, EHLO and STARTTLS on a fresh connection.
    async fn greet(
        &mut self,
        plan: &RelayPlan,
        config: &Config,
        host: &SmartHost,
    ) -> Result<(), DownError> {
        let t = &plan.timeouts;
        let name = host.to_string();
        let d = self;
        if host.implicit_tls {
            d.handshake(plan, config, host).await?;
        }
        let greeting = d.read_reply(t.greeting, "the greeting").await?;
        if greeting.code != 220 {
            return Err(DownError::Refused {
                host: name,
                reply: greeting,
            });
        }
        d.ehlo(plan).await?;
        if !host.implicit_tls && plan.mode != TlsMode::None {
            if d.caps.starttls {
                let r = d
                    .command("STARTTLS\r\n", t.command, "the STARTTLS reply")
                    .await?;
                if r.code != 220 {
                    return Err(DownError::Tls {
                        host: name,
                        reason: format!("STARTTLS refused: {r}"),
                    });
                }
                d.handshake(plan, config, host).await?;
                d.ehlo(plan).await?;
            } else if plan.mode == TlsMode::Required {
                return Err(DownError::Tls {
                    host: name,
                    reason: "the smart host does not offer STARTTLS and TLS is required".into(),
                });
            }
        }
        Ok(())
    }

    async fn handshake(
        &mut self,
        plan: &RelayPlan,
        config: &Config,
        host: &SmartHost,
    ) -> Result<(), DownError> {
        let fail = |reason: String| DownError::Tls {
            host: host.to_string(),
            reason,
        };
        let connector = plan
            .connector
            .clone()
            .ok_or_else(|| fail("TLS is disabled by [relay] tls = \"none\"".into()))?;
        let server_name =
            tls::server_name(config, &host.host).ok_or_else(|| fail("invalid TLS name".into()))?;
        if self.start != self.end {
            // Plain-text bytes after the STARTTLS reply would be taken as TLS data.
            return Err(DownError::Protocol(
                "smart host sent data after its STARTTLS reply".into(),
            ));
        }
        let tcp = self
            .conn
            .take_plain()
            .ok_or_else(|| fail("connection is already TLS".into()))?;
        let tls = timeout(
            plan.timeouts.tls_handshake,
            connector.connect(server_name, tcp),
        )
        .await
        .map_err(|_| DownError::Timeout("the TLS handshake"))?
        .map_err(|source| DownError::Handshake {
            host: host.to_string(),
            source,
        })?;
        self.conn = Conn::Tls(Box::new(tokio_rustls::TlsStream::Client(tls)));
        Ok(())
    }

    async fn ehlo(&mut self, plan: &RelayPlan) -> Result<(), DownError> {
        let t = plan.timeouts.command;
        let r = self
            .command(&format!("EHLO {}\r\n", plan.helo), t, "the EHLO reply")
            .await?;
        if r.is_positive() {
            self.caps = Capabilities::from_ehlo(&r);
            return Ok(());
        }
        // RFC 5321 section 3.2: fall back to HELO for servers without extensions.
        let r = self
            .command(&format!("HELO {}\r\n", plan.helo), t, "the HELO reply")
            .await?;
        if !r.is_positive() {
            return Err(DownError::Refused {
                host: self.host.clone(),
                reply: r,
            });
        }
        self.caps = Capabilities::default();
        Ok(())
    }

    pub fn is_tls(&self) -> bool {
        self.conn.is_tls()
    }

    /// Writes raw bytes (one or more command lines, or message data) under a timeout.
    ///
    /// Every reply cordon expects has been read before it writes again (pipelined groups are
    /// answered in full first), so unread input here is a reply nobody asked for: a smart host
    /// that answered twice, or answered the message before it had it. Reading on would pair
    /// every later reply with the wrong command (a stale 250 taken for the message's), so the
    /// leg is given up instead.
    pub async fn send(
        &mut self,
        bytes: &[u8],
        limit: Duration,
        what: &'static str,
    ) -> Result<(), DownError> {
        if self.start != self.end {
            return Err(DownError::Protocol(format!(
                "unsolicited reply before {what}: {}",
                printable_prefix(&self.buf[self.start..self.end])
            )));
        }
        // Flushed as well: over TLS, write_all only hands the bytes to rustls, and records the
        // socket had no room for stay buffered until the next write. After a message's final
        // bytes there is none, so without the flush the smart host waited for the end of the
        // data while cordon waited for its reply (found by bench/tls.sh with 10 MB messages).
        timeout(limit, async {
            self.conn.write_all(bytes).await?;
            self.conn.flush().await
        })
        .await
        .map_err(|_| DownError::Timeout(what))??;
        Ok(())
    }

    /// Sends one command line and waits for its reply.
    pub async fn command(
        &mut self,
        line: &str,
        limit: Duration,
        what: &'static str,
    ) -> Result<Reply, DownError> {
        self.send(line.as_bytes(), limit, what).await?;
        self.read_reply(limit, what).await
    }

    /// Reads the next complete reply.
    pub async fn read_reply(
        &mut self,
        limit: Duration,
        what: &'static str,
    ) -> Result<Reply, DownError> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            match parse_reply(&self.buf[self.start..self.end]) {
                Ok(Some((reply, used))) => {
                    self.start += used;
                    if self.start == self.end {
                        self.start = 0;
                        self.end = 0;
                    }
                    return Ok(reply);
                }
                Ok(None) => {}
                Err(e) => {
                    return Err(DownError::Protocol(format!(
                        "bad reply while waiting for {what}: {e}"
                    )))
                }
            }
            if self.end == self.buf.len() {
                if self.start == 0 {
                    return Err(DownError::Protocol(format!(
                        "reply longer than {REPLY_BUFFER} octets"
                    )));
                }
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            let n = tokio::time::timeout_at(deadline, self.conn.read(&mut self.buf[self.end..]))
                .await
                .map_err(|_| DownError::Timeout(what))??;
            if n == 0 {
                return Err(DownError::Io(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("smart host closed the connection while we waited for {what}"),
                )));
            }
            self.end += n;
        }
    }

    /// Sends a message made of `parts` (already stamped) and returns the final reply.
    ///
    /// With CHUNKING the message goes as one `BDAT n LAST`; otherwise as DATA with dot-stuffing.
    /// A 4xx/5xx answer to DATA is returned as the final reply (the sender hears the smart host's
    /// refusal); any other answer but 354 is a protocol error, never a success: a `250` to DATA
    /// says nothing about a message that was never sent. A final reply that is not 2xx, 4xx or
    /// 5xx (a 354 after the body) is a protocol error too.
    pub async fn send_message(
        &mut self,
        parts: &[&[u8]],
        t: &cordon_config::Timeouts,
        staging: &mut Vec<u8>,
    ) -> Result<Reply, DownError> {
        if self.caps.chunking {
            let total: usize = parts.iter().map(|p| p.len()).sum();
            self.send(
                format!("BDAT {total} LAST\r\n").as_bytes(),
                t.data_block,
                "the BDAT command",
            )
            .await?;
            for part in parts {
                for piece in part.chunks(WRITE_CHUNK) {
                    self.send(piece, t.data_block, "a data block").await?;
                }
            }
            let r = self
                .read_reply(t.data_term, "the reply to the message")
                .await?;
            return final_reply(r);
        }
        let r = self
            .command("DATA\r\n", t.data_init, "the DATA reply")
            .await?;
        match r.class() {
            3 if r.code == 354 => {}
            4 | 5 => return Ok(r),
            _ => {
                return Err(DownError::Protocol(format!(
                    "the smart host answered DATA with {} instead of 354",
                    r.summary()
                )))
            }
        }
        let mut stuffer = Stuffer::default();
        staging.clear();
        for part in parts {
            for piece in part.chunks(WRITE_CHUNK) {
                stuffer.stuff(piece, staging);
                if staging.len() >= WRITE_CHUNK {
                    self.send(staging, t.data_block, "a data block").await?;
                    staging.clear();
                }
            }
        }
        stuffer.finish(staging);
        self.send(staging, t.data_block, "the end of the message")
            .await?;
        staging.clear();
        let r = self
            .read_reply(t.data_term, "the reply to the message")
            .await?;
        final_reply(r)
    }

    /// Ends the session politely (errors do not matter any more) and gives the reply buffer
    /// back to the session slot.
    pub async fn quit(mut self, limit: Duration) -> Box<[u8]> {
        let _ = timeout(limit, async {
            if self.conn.write_all(b"QUIT\r\n").await.is_ok() && self.conn.flush().await.is_ok() {
                let _ = self.read_reply(limit, "the QUIT reply").await;
            }
            let _ = self.conn.shutdown().await;
        })
        .await;
        self.buf
    }
}

/// Resolves and connects to `host` over TCP, each address under the connect timeout.
async fn dial_tcp(t: &cordon_config::Timeouts, host: &SmartHost) -> Result<Box<dyn Io>, DownError> {
    let name = host.to_string();
    let addrs = timeout(
        t.connect,
        tokio::net::lookup_host((host.host.as_str(), host.port)),
    )
    .await
    .map_err(|_| DownError::Unreachable {
        host: name.clone(),
        reason: "name lookup timed out",
    })?
    .map_err(|source| DownError::Connect {
        host: name.clone(),
        addr: None,
        source,
    })?;
    let mut last = DownError::Unreachable {
        host: name.clone(),
        reason: "no address",
    };
    let mut stream = None;
    for addr in addrs {
        let source = match timeout(t.connect, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => {
                stream = Some(s);
                break;
            }
            Ok(Err(e)) => e,
            Err(_) => io::Error::new(io::ErrorKind::TimedOut, "connect timed out"),
        };
        last = DownError::Connect {
            host: name.clone(),
            addr: Some(addr),
            source,
        };
    }
    let stream = stream.ok_or(last)?;
    // Replies and commands are small writes: Nagle plus delayed ACK would stall each one.
    stream.set_nodelay(true)?;
    Ok(Box::new(stream))
}

/// The smart host's answer to a whole message, passed on only when it is one an SMTP client may
/// act on: 2xx (accepted), 4xx or 5xx (refused). A 3xx here would tell the sender to go on
/// although the message is complete.
fn final_reply(r: Reply) -> Result<Reply, DownError> {
    match r.class() {
        2 | 4 | 5 => Ok(r),
        _ => Err(DownError::Protocol(format!(
            "the smart host answered the end of the message with {}",
            r.summary()
        ))),
    }
}

/// The start of unexpected input, safe for a log line.
fn printable_prefix(b: &[u8]) -> String {
    const SHOWN: usize = 64;
    b.iter()
        .take(SHOWN)
        .map(|&c| {
            if c.is_ascii_graphic() || c == b' ' {
                c as char
            } else {
                '.'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_host_is_tried_last_until_its_time_is_up() {
        let h = HostHealth::new(3);
        assert_eq!(h.order(), [0, 1, 2]);
        h.mark(0, true);
        assert_eq!(h.order(), [1, 2, 0]);
        h.mark(2, true);
        assert_eq!(h.order(), [1, 0, 2]);
        // Every host down: all are still tried, in config order.
        h.mark(1, true);
        assert_eq!(h.order(), [0, 1, 2]);
        h.mark(0, false);
        assert_eq!(h.order(), [0, 1, 2]);
        // Past HOST_DOWN_FOR a mark no longer counts.
        *h.down_until[1].lock().unwrap() = Some(std::time::Instant::now());
        assert!(!h.is_down(1));
    }
}
