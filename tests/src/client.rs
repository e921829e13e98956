//! A small blocking SMTP client for hand-made sessions.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

use crate::mail::dot_stuff;
use crate::support::STEP;

/// An SMTP reply as read by the test client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub lines: Vec<String>,
}

impl Reply {
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }
}

/// A small blocking SMTP client.
#[derive(Debug)]
pub struct Client {
    pub stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Client {
    pub fn connect(port: u16) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to cordon");
        Client::from_stream(stream)
    }

    /// Connects from a chosen local address (e.g. 127.0.0.2 for relay-guard tests).
    pub fn connect_from(src: IpAddr, port: u16) -> Client {
        use socket2::{Domain, Socket, Type};
        let s = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
        s.bind(&SocketAddr::new(src, 0).into())
            .expect("bind source");
        s.connect(&SocketAddr::from(([127, 0, 0, 1], port)).into())
            .expect("connect");
        Client::from_stream(s.into())
    }

    /// Connects to any address (e.g. `[::1]:port`).
    pub fn connect_addr(addr: SocketAddr) -> Client {
        Client::from_stream(TcpStream::connect(addr).expect("connect"))
    }

    fn from_stream(stream: TcpStream) -> Client {
        stream.set_read_timeout(Some(STEP)).expect("timeout");
        stream.set_nodelay(true).expect("nodelay");
        let reader = BufReader::new(stream.try_clone().expect("clone"));
        Client { stream, reader }
    }

    /// Reads one reply, or `None` when the server closed the connection.
    pub fn try_reply(&mut self) -> Option<Reply> {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            match self.reader.read_line(&mut line) {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
            let line = line.trim_end_matches(['\r', '\n']);
            let code: u16 = line.get(..3)?.parse().ok()?;
            lines.push(line.get(4..).unwrap_or("").to_string());
            if line.as_bytes().get(3) != Some(&b'-') {
                return Some(Reply { code, lines });
            }
        }
    }

    pub fn reply(&mut self) -> Reply {
        self.try_reply().expect("server closed the connection")
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    pub fn cmd(&mut self, line: &str) -> Reply {
        self.send(format!("{line}\r\n").as_bytes());
        self.reply()
    }

    /// Reads the greeting and says EHLO; returns the EHLO reply.
    pub fn hello(&mut self) -> Reply {
        let g = self.reply();
        assert_eq!(g.code, 220, "greeting: {g:?}");
        let r = self.cmd("EHLO client.test.example");
        assert_eq!(r.code, 250, "EHLO: {r:?}");
        r
    }

    /// A whole transaction with DATA; returns the final reply.
    pub fn send_mail(&mut self, from: &str, rcpts: &[&str], message: &[u8]) -> Reply {
        let r = self.cmd(&format!("MAIL FROM:<{from}>"));
        assert_eq!(r.code, 250, "MAIL: {r:?}");
        for rcpt in rcpts {
            let r = self.cmd(&format!("RCPT TO:<{rcpt}>"));
            assert_eq!(r.code, 250, "RCPT: {r:?}");
        }
        let r = self.cmd("DATA");
        assert_eq!(r.code, 354, "DATA: {r:?}");
        self.send(&dot_stuff(message));
        self.reply()
    }

    /// Greeting, EHLO and a whole transaction, or `None` as soon as the connection breaks or a
    /// step is refused (for tests where a dropped connection is an acceptable outcome).
    pub fn try_transaction(port: u16, from: &str, rcpts: &[&str], message: &[u8]) -> Option<Reply> {
        let stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
        let mut c = Client::from_stream(stream);
        let step = |c: &mut Client, line: &[u8], want: u16| -> Option<()> {
            c.stream.write_all(line).ok()?;
            (c.try_reply()?.code == want).then_some(())
        };
        (c.try_reply()?.code == 220).then_some(())?;
        step(&mut c, b"EHLO client.test.example\r\n", 250)?;
        step(&mut c, format!("MAIL FROM:<{from}>\r\n").as_bytes(), 250)?;
        for r in rcpts {
            step(&mut c, format!("RCPT TO:<{r}>\r\n").as_bytes(), 250)?;
        }
        step(&mut c, b"DATA\r\n", 354)?;
        c.stream.write_all(&dot_stuff(message)).ok()?;
        c.try_reply()
    }

    /// True when the server has closed the connection (reads EOF within a short time).
    pub fn is_closed(&mut self) -> bool {
        let _ = self.stream.set_read_timeout(Some(Duration::from_secs(5)));
        let mut buf = [0u8; 512];
        loop {
            match self.reader.read(&mut buf) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e) => {
                    return e.kind() != std::io::ErrorKind::WouldBlock
                        && e.kind() != std::io::ErrorKind::TimedOut
                }
            }
        }
    }
}
