//! The in-memory session harness (Stalwart's and mini-redis's habit): a real
//! [`cordon_proxy::session::serve`] over a `tokio::io::duplex`, its downstream leg dialled to a
//! scripted smart host on another duplex, time paused so every timeout fires at once. No
//! process, no socket, no real second passes.
//!
//! - [`Harness::start`] builds the shared state from a config text, as `cordon run` does.
//! - [`Client`] speaks SMTP to the session: [`Client::ehlo`], [`Client::mail_from`],
//!   [`Client::data`] with the expected code.
//! - [`Peer`] is the smart host: normal ESMTP unless a step is scripted with a [`Fault`]; it
//!   records what it accepted.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cordon_proxy::dlp_inspector::{DlpInspectors, Durable};
use cordon_proxy::downstream::Dial;
use cordon_proxy::pool::Pool;
use cordon_proxy::shutdown::Phase;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, DuplexStream};
use tokio::sync::watch;

/// Duplex buffer per direction: like a socket buffer, writes past it wait for the reader.
const PIPE: usize = 256 << 10;

/// A config for the harness: loopback names, no TLS, the given extra sections.
pub fn config(extra: &str) -> String {
    format!(
        "[gateway]\nhostname = \"dlp1.test.example\"\nlisten = [\"127.0.0.1:2525\"]\nallowed_clients = [\"127.0.0.0/8\"]\nmax_message_size = \"1MiB\"\nmax_sessions = 4\nprefault = false\n\n[relay]\nsmarthosts = [\"smtp://mx.test.example:25\"]\ntls = \"none\"\n\n[organization]\ndomains = [\"contoso.com\"]\n{extra}"
    )
}

/// A downstream step a [`Peer`] can be scripted at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    Greeting,
    Ehlo,
    Mail,
    Rcpt,
    Data,
    Final,
    Rset,
}

/// What the peer does at a scripted step.
#[derive(Debug, Clone)]
pub enum Fault {
    /// These bytes instead of the normal reply.
    Reply(&'static str),
    /// No reply; the connection stays open.
    Silence,
    /// The connection is closed.
    Close,
    /// Close after this many octets of message data.
    CloseAfter(usize),
}

/// One message the peer accepted.
#[derive(Debug, Clone, Default)]
pub struct Accepted {
    pub mail: String,
    pub rcpts: Vec<String>,
    pub body: Vec<u8>,
}

/// The scripted smart host.
#[derive(Debug, Clone, Default)]
pub struct Peer {
    pub faults: HashMap<Step, Fault>,
    /// Extra EHLO keywords (`DSN`, `CHUNKING`, `SMTPUTF8`).
    pub extensions: Vec<&'static str>,
    pub accepted: Arc<Mutex<Vec<Accepted>>>,
    /// Every command line it received, in order.
    pub commands: Arc<Mutex<Vec<String>>>,
}

impl Peer {
    pub fn with(mut self, step: Step, fault: Fault) -> Peer {
        self.faults.insert(step, fault);
        self
    }

    pub fn offering(mut self, ext: &'static str) -> Peer {
        self.extensions.push(ext);
        self
    }

    pub fn accepted(&self) -> Vec<Accepted> {
        self.accepted.lock().unwrap().clone()
    }

    pub fn commands(&self) -> Vec<String> {
        self.commands.lock().unwrap().clone()
    }

    /// Answers `normal` at `step` unless scripted; `false` ends the session.
    async fn answer(&self, w: &mut (impl AsyncWriteExt + Unpin), step: Step, normal: &str) -> bool {
        match self.faults.get(&step) {
            None | Some(Fault::CloseAfter(_)) => w.write_all(normal.as_bytes()).await.is_ok(),
            Some(Fault::Reply(r)) => w.write_all(r.as_bytes()).await.is_ok(),
            Some(Fault::Close) => false,
            Some(Fault::Silence) => {
                std::future::pending::<()>().await;
                false
            }
        }
    }

    async fn serve(self, io: DuplexStream) {
        let (r, mut w) = tokio::io::split(io);
        let mut r = BufReader::new(r);
        if !self
            .answer(&mut w, Step::Greeting, "220 mx.test.example ESMTP\r\n")
            .await
        {
            return;
        }
        let mut txn = Accepted::default();
        let mut line = String::new();
        loop {
            line.clear();
            if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            self.commands
                .lock()
                .unwrap()
                .push(line.trim_end().to_string());
            let upper = line.to_ascii_uppercase();
            let ok = if upper.starts_with("EHLO") {
                let mut ehlo =
                    String::from("250-mx.test.example\r\n250-PIPELINING\r\n250-8BITMIME\r\n");
                for e in &self.extensions {
                    ehlo += &format!("250-{e}\r\n");
                }
                ehlo += "250 SIZE 50000000\r\n";
                self.answer(&mut w, Step::Ehlo, &ehlo).await
            } else if upper.starts_with("MAIL") {
                txn = Accepted {
                    mail: line.trim_end().to_string(),
                    ..Accepted::default()
                };
                self.answer(&mut w, Step::Mail, "250 2.1.0 Ok\r\n").await
            } else if upper.starts_with("RCPT") {
                txn.rcpts.push(line.trim_end().to_string());
                self.answer(&mut w, Step::Rcpt, "250 2.1.5 Ok\r\n").await
            } else if upper.starts_with("RSET") {
                self.answer(&mut w, Step::Rset, "250 2.0.0 Ok\r\n").await
            } else if upper.starts_with("QUIT") {
                let _ = w.write_all(b"221 2.0.0 Bye\r\n").await;
                return;
            } else if upper.starts_with("DATA") {
                if !self
                    .answer(
                        &mut w,
                        Step::Data,
                        "354 End data with <CR><LF>.<CR><LF>\r\n",
                    )
                    .await
                {
                    return;
                }
                match self.faults.get(&Step::Data) {
                    Some(Fault::Reply(r)) if !r.starts_with("354") => true,
                    _ => {
                        let limit = match self.faults.get(&Step::Final) {
                            Some(Fault::CloseAfter(n)) => *n,
                            _ => usize::MAX,
                        };
                        let mut body = Vec::new();
                        let mut l = Vec::new();
                        loop {
                            l.clear();
                            if r.read_until(b'\n', &mut l).await.unwrap_or(0) == 0 {
                                return;
                            }
                            if l == b".\r\n" {
                                break;
                            }
                            let data = if l.starts_with(b"..") {
                                &l[1..]
                            } else {
                                &l[..]
                            };
                            body.extend_from_slice(data);
                            if body.len() >= limit {
                                return;
                            }
                        }
                        self.finish(&mut w, &mut txn, body).await
                    }
                }
            } else if let Some(rest) = upper.strip_prefix("BDAT ") {
                let mut words = rest.split_whitespace();
                let size: usize = words.next().and_then(|n| n.parse().ok()).unwrap_or(0);
                let last = words.next() == Some("LAST");
                let mut chunk = vec![0u8; size];
                if r.read_exact(&mut chunk).await.is_err() {
                    return;
                }
                txn.body.extend_from_slice(&chunk);
                if last {
                    let body = std::mem::take(&mut txn.body);
                    self.finish(&mut w, &mut txn, body).await
                } else {
                    w.write_all(b"250 2.0.0 chunk\r\n").await.is_ok()
                }
            } else {
                w.write_all(b"500 5.5.2 what?\r\n").await.is_ok()
            };
            if !ok {
                return;
            }
        }
    }

    async fn finish(
        &self,
        w: &mut (impl AsyncWriteExt + Unpin),
        txn: &mut Accepted,
        body: Vec<u8>,
    ) -> bool {
        let positive = match self.faults.get(&Step::Final) {
            None => true,
            Some(Fault::Reply(r)) => r.starts_with('2'),
            _ => false,
        };
        if positive {
            let mut t = std::mem::take(txn);
            t.body = body;
            self.accepted.lock().unwrap().push(t);
        }
        self.answer(w, Step::Final, "250 2.0.0 Ok: queued\r\n")
            .await
    }
}

/// One session under test.
#[derive(Debug)]
pub struct Harness {
    pub client: Client,
    pub peer: Peer,
    pub phase: watch::Sender<Phase>,
    pub session: tokio::task::JoinHandle<()>,
    /// The one-slot pool the session leased from: it gets the slot back when the session ends.
    pub pool: Arc<Pool>,
    /// The inspectors the session uses: their dry run must agree with the session.
    pub inspectors: Arc<DlpInspectors>,
}

impl Harness {
    /// A session on `config_text` (see [`config`]) whose smart host is `peer`.
    pub fn start(config_text: &str, peer: Peer) -> Harness {
        let config = Arc::new(
            cordon_config::parse(config_text, Path::new("harness.toml")).expect("a valid config"),
        );
        let engine = cordon_proxy::engine::build(&config).expect("engine");
        let durable = Durable::new([7; 32], &engine, &config);
        let inspectors = Arc::new(DlpInspectors {
            engine,
            config: Arc::clone(&config),
            durable: durable.clone(),
        });
        let mut shared = cordon_proxy::server::shared(
            0,
            Arc::clone(&config),
            Arc::clone(&inspectors) as Arc<dyn cordon_proxy::inspect::InspectorFactory>,
            Arc::clone(&durable.counters),
        )
        .expect("shared state");
        let p = peer.clone();
        shared.relay.dial = Dial::Custom(Arc::new(move |_host| {
            let (ours, theirs) = tokio::io::duplex(PIPE);
            tokio::spawn(p.clone().serve(theirs));
            Ok(Box::new(ours))
        }));
        let pool = Pool::new(
            1,
            &config.gateway.slot_classes,
            config.policy.incident_ring,
            false,
            &*inspectors,
            shared.epoch,
        );
        let slot = pool.try_lease().expect("a slot");
        let (client, server) = tokio::io::duplex(PIPE);
        let (phase, rx) = watch::channel(Phase::Running);
        let peer_addr: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let session = tokio::spawn(cordon_proxy::session::serve(
            Arc::new(shared),
            server,
            peer_addr,
            false,
            slot,
            rx,
        ));
        Harness {
            client: Client::new(client),
            peer,
            phase,
            session,
            pool,
            inspectors,
        }
    }
}

/// A reply as the client read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub lines: Vec<String>,
}

impl Reply {
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }

    /// The enhanced code of the first line (`5.5.2`), if any.
    pub fn enhanced(&self) -> &str {
        self.lines
            .first()
            .and_then(|l| l.split_whitespace().next())
            .unwrap_or("")
    }
}

/// The sending side.
#[derive(Debug)]
pub struct Client {
    r: BufReader<tokio::io::ReadHalf<DuplexStream>>,
    w: tokio::io::WriteHalf<DuplexStream>,
}

impl Client {
    fn new(io: DuplexStream) -> Client {
        let (r, w) = tokio::io::split(io);
        Client {
            r: BufReader::new(r),
            w,
        }
    }

    /// The next reply, or `None` once the session closed.
    pub async fn try_reply(&mut self) -> Option<Reply> {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            if self.r.read_line(&mut line).await.ok()? == 0 {
                return None;
            }
            let line = line.trim_end_matches(['\r', '\n']);
            let code: u16 = line.get(..3)?.parse().ok()?;
            lines.push(line.get(4..).unwrap_or("").to_string());
            if line.as_bytes().get(3) != Some(&b'-') {
                return Some(Reply { code, lines });
            }
        }
    }

    pub async fn reply(&mut self) -> Reply {
        self.try_reply().await.expect("the session closed")
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.w.write_all(bytes).await.expect("write to the session");
    }

    /// Writes if the session still reads; `false` once it closed.
    pub async fn try_send(&mut self, bytes: &[u8]) -> bool {
        self.w.write_all(bytes).await.is_ok()
    }

    pub async fn cmd(&mut self, line: &str) -> Reply {
        self.send(format!("{line}\r\n").as_bytes()).await;
        self.reply().await
    }

    /// Asserts the reply's code and enhanced code.
    pub async fn expect(&mut self, line: &str, code: u16, enhanced: &str) -> Reply {
        let r = self.cmd(line).await;
        assert_eq!((r.code, r.enhanced()), (code, enhanced), "{line}: {r:?}");
        r
    }

    /// Greeting and EHLO; returns the EHLO reply.
    pub async fn ehlo(&mut self) -> Reply {
        let g = self.reply().await;
        assert_eq!(g.code, 220, "greeting: {g:?}");
        let r = self.cmd("EHLO client.test.example").await;
        assert_eq!(r.code, 250, "EHLO: {r:?}");
        r
    }

    pub async fn mail_from(&mut self, from: &str) -> Reply {
        self.cmd(&format!("MAIL FROM:<{from}>")).await
    }

    pub async fn rcpt_to(&mut self, to: &str) -> Reply {
        self.cmd(&format!("RCPT TO:<{to}>")).await
    }

    /// DATA, the body (dot-stuffed and terminated) and the final reply, which must have `code`.
    pub async fn data(&mut self, body: &[u8], code: u16) -> Reply {
        let r = self.cmd("DATA").await;
        assert_eq!(r.code, 354, "DATA: {r:?}");
        let mut out = Vec::new();
        for line in body.split_inclusive(|&b| b == b'\n') {
            if line.starts_with(b".") {
                out.push(b'.');
            }
            out.extend_from_slice(line);
        }
        out.extend_from_slice(b".\r\n");
        self.send(&out).await;
        let r = self.reply().await;
        assert_eq!(r.code, code, "final reply: {r:?}");
        r
    }

    /// A whole transaction to one recipient.
    pub async fn transaction(&mut self, body: &[u8], code: u16) -> Reply {
        assert_eq!(self.mail_from("alice@contoso.com").await.code, 250);
        assert_eq!(self.rcpt_to("bob@fabrikam.example").await.code, 250);
        self.data(body, code).await
    }

    /// True once the session closed its side (reads EOF).
    pub async fn closed(&mut self) -> bool {
        let mut rest = Vec::new();
        tokio::time::timeout(Duration::from_secs(3600), self.r.read_to_end(&mut rest))
            .await
            .is_ok()
    }
}

/// A small clean message.
pub fn message(subject: &str) -> Vec<u8> {
    format!(
        "From: alice@contoso.com\r\nTo: bob@fabrikam.example\r\nSubject: {subject}\r\nMessage-ID: <{}@contoso.com>\r\n\r\nhello\r\n.leading dot\r\n",
        subject.replace(' ', "-")
    )
    .into_bytes()
}
