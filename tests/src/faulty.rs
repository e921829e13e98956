//! A fault-injecting smart host: a scripted SMTP server that misbehaves at one chosen step, for
//! the failures a real server will not produce on demand (a `250` to DATA, a reply to a message
//! it never received, silence, garbage, a close).
//!
//! Every step answers like a plain ESMTP server unless [`FaultySmarthost::set`] scripted a
//! [`Fault`] for it. `accepted` counts messages the host answered with a 2xx **after the whole
//! body**: the only acceptance that may ever become a 2xx for the sender.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The longest a silent or delayed step holds its connection: the gateway's configured
/// timeouts in the tests are far shorter, so the gateway gives up first.
pub const SILENCE: Duration = Duration::from_secs(20);

/// A downstream step the host can misbehave at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    Greeting,
    Ehlo,
    Mail,
    Rcpt,
    /// The reply to the DATA command (normally 354).
    Data,
    /// The reply after the end of the message (DATA's final dot or `BDAT .. LAST`).
    Final,
    Rset,
}

impl Step {
    pub const ALL: [Step; 6] = [
        Step::Greeting,
        Step::Ehlo,
        Step::Mail,
        Step::Rcpt,
        Step::Data,
        Step::Final,
    ];
}

/// What the host does at a step instead of its normal answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// These bytes, verbatim (any code, multi-line, garbage).
    Reply(String),
    /// No answer; the connection is held open until [`SILENCE`] passes or the peer leaves.
    Silence,
    /// The connection is closed.
    Close,
    /// The normal answer, after this long.
    Delay(Duration),
}

/// A running fault-injecting smart host; one scripted fault per step, changed between
/// connections with [`FaultySmarthost::set`].
#[derive(Debug)]
pub struct FaultySmarthost {
    pub port: u16,
    script: Arc<Mutex<HashMap<Step, Fault>>>,
    /// Messages answered with 2xx after their whole body.
    pub accepted: Arc<AtomicUsize>,
    /// Connections accepted.
    pub connections: Arc<AtomicUsize>,
}

impl FaultySmarthost {
    /// Starts the host; `chunking` makes it offer CHUNKING (the gateway then sends BDAT).
    pub fn start(chunking: bool) -> FaultySmarthost {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the faulty smart host");
        let port = listener.local_addr().expect("addr").port();
        let script = Arc::new(Mutex::new(HashMap::new()));
        let accepted = Arc::new(AtomicUsize::new(0));
        let connections = Arc::new(AtomicUsize::new(0));
        let (s, a, n) = (
            Arc::clone(&script),
            Arc::clone(&accepted),
            Arc::clone(&connections),
        );
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                n.fetch_add(1, Ordering::SeqCst);
                let script = s.lock().expect("script").clone();
                let a = Arc::clone(&a);
                std::thread::spawn(move || {
                    let _ = session(conn, &script, chunking, &a);
                });
            }
        });
        FaultySmarthost {
            port,
            script,
            accepted,
            connections,
        }
    }

    pub fn smarthost(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Scripts `fault` at `step` (and nothing else) for the connections that follow.
    pub fn set(&self, step: Step, fault: Option<Fault>) {
        let mut s = self.script.lock().expect("script");
        s.clear();
        if let Some(f) = fault {
            s.insert(step, f);
        }
    }

    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

/// Answers `normal` at `step` unless a fault is scripted. `Ok(false)`: the session is over.
fn answer(
    w: &mut TcpStream,
    script: &HashMap<Step, Fault>,
    step: Step,
    normal: &str,
) -> std::io::Result<bool> {
    match script.get(&step) {
        None => w.write_all(normal.as_bytes())?,
        Some(Fault::Reply(bytes)) => w.write_all(bytes.as_bytes())?,
        Some(Fault::Close) => return Ok(false),
        Some(Fault::Silence) => {
            // Hold the line until the peer gives up (EOF) or SILENCE passes.
            let _ = w.set_read_timeout(Some(SILENCE));
            let mut buf = [0u8; 4096];
            while let Ok(n) = w.read(&mut buf) {
                if n == 0 {
                    break;
                }
            }
            return Ok(false);
        }
        Some(Fault::Delay(d)) => {
            std::thread::sleep(*d);
            w.write_all(normal.as_bytes())?;
        }
    }
    Ok(true)
}

/// Answers the end of a whole message. A 2xx is counted as accepted before it is written, so
/// a test that sees the gateway's 250 also sees the count.
fn end_of_message(
    w: &mut TcpStream,
    script: &HashMap<Step, Fault>,
    accepted: &AtomicUsize,
) -> std::io::Result<bool> {
    let positive = match script.get(&Step::Final) {
        None | Some(Fault::Delay(_)) => true,
        Some(Fault::Reply(r)) => r.starts_with('2'),
        Some(Fault::Silence | Fault::Close) => false,
    };
    if positive {
        accepted.fetch_add(1, Ordering::SeqCst);
    }
    answer(w, script, Step::Final, "250 2.0.0 queued\r\n")
}

fn session(
    conn: TcpStream,
    script: &HashMap<Step, Fault>,
    chunking: bool,
    accepted: &AtomicUsize,
) -> std::io::Result<()> {
    conn.set_read_timeout(Some(SILENCE))?;
    let mut w = conn.try_clone()?;
    let mut r = BufReader::new(conn);
    if !answer(&mut w, script, Step::Greeting, "220 faulty.test ESMTP\r\n")? {
        return Ok(());
    }
    let ehlo = if chunking {
        "250-faulty.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 CHUNKING\r\n"
    } else {
        "250-faulty.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n"
    };
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let upper = line.to_ascii_uppercase();
        let go_on = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            answer(&mut w, script, Step::Ehlo, ehlo)?
        } else if upper.starts_with("MAIL") {
            answer(&mut w, script, Step::Mail, "250 2.1.0 ok\r\n")?
        } else if upper.starts_with("RCPT") {
            answer(&mut w, script, Step::Rcpt, "250 2.1.5 ok\r\n")?
        } else if upper.starts_with("RSET") {
            answer(&mut w, script, Step::Rset, "250 2.0.0 ok\r\n")?
        } else if upper.starts_with("QUIT") {
            let _ = w.write_all(b"221 2.0.0 bye\r\n");
            return Ok(());
        } else if upper.starts_with("DATA") {
            if !answer(&mut w, script, Step::Data, "354 go ahead\r\n")? {
                return Ok(());
            }
            let went_ahead = match script.get(&Step::Data) {
                None | Some(Fault::Delay(_)) => true,
                Some(Fault::Reply(r)) => r.starts_with("354"),
                Some(Fault::Silence | Fault::Close) => false,
            };
            if went_ahead {
                read_body(&mut r)?;
                end_of_message(&mut w, script, accepted)?
            } else {
                // The scripted answer was not 354: whatever follows is read as commands, as a
                // server that refused DATA would.
                true
            }
        } else if let Some(rest) = upper.strip_prefix("BDAT ") {
            let mut words = rest.split_whitespace();
            let size: usize = words.next().and_then(|n| n.parse().ok()).unwrap_or(0);
            let last = words.next() == Some("LAST");
            let mut chunk = vec![0u8; size];
            r.read_exact(&mut chunk)?;
            if last {
                end_of_message(&mut w, script, accepted)?
            } else {
                w.write_all(b"250 2.0.0 chunk ok\r\n")?;
                true
            }
        } else {
            w.write_all(b"500 5.5.2 unrecognised command\r\n")?;
            true
        };
        if !go_on {
            return Ok(());
        }
    }
}

/// Reads DATA up to and including `CRLF.CRLF`.
fn read_body(r: &mut BufReader<TcpStream>) -> std::io::Result<()> {
    let mut line = Vec::new();
    loop {
        line.clear();
        if r.read_until(b'\n', &mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if line == b".\r\n" {
            return Ok(());
        }
    }
}
