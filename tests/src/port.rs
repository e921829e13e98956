//! The config port from a test: `cordonctl` against a gateway's Unix socket, and the messages
//! that make an incident.

use std::path::Path;
use std::process::Command;

use crate::gateway::Gateway;
use crate::support::bin;

/// Runs `cordonctl --socket SOCKET ARGS`; returns its exit code and stdout then stderr.
pub fn ctl(socket: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(bin("cordonctl"))
        .arg("--socket")
        .arg(socket)
        .args(args)
        .output()
        .expect("run cordonctl");
    crate::support::code_and_output(&out)
}

/// A message with a US SSN (an `us_ssn` finding), its Message-ID made from `subject`.
pub fn ssn_message(subject: &str) -> Vec<u8> {
    format!("From: alice@contoso.com\r\nTo: bob@fabrikam.example\r\nSubject: {subject}\r\nMessage-ID: <{subject}@contoso.com>\r\n\r\nemployee SSN 536-22-8190\r\n").into_bytes()
}

/// Sends one message with an SSN in a session of its own; returns the final reply code.
pub fn send_ssn(gw: &Gateway, subject: &str) -> u16 {
    let mut c = gw.client();
    c.hello();
    c.send_mail(
        "alice@contoso.com",
        &["bob@fabrikam.example"],
        &ssn_message(subject),
    )
    .code
}

/// An EDM schema of six columns, two of them primary (card and e-mail): the 48-byte row of
/// issue 20's acceptance figure, used by the EDM tests and tests/peers/edm_table.py's tables.
pub const EDM_SCHEMA: &str = r#"
min_fields = 3
proximity = 300

[[column]]
name = "card"
type = "digits"
primary = "credit_card"

[[column]]
name = "email"
type = "email"
primary = "email"

[[column]]
name = "first_name"
type = "name"

[[column]]
name = "last_name"
type = "name"

[[column]]
name = "dob"
type = "date"
date_order = "dmy"

[[column]]
name = "postcode"
type = "code"
"#;

/// Five distinct Luhn-valid card numbers: [`BLOCK_CARDS`] blocks a message with all of them.
pub const CARDS: &str = "4556 5260 1815 9081, 5425 3016 6131 8608, 4929 9139 0996 0308, 2221 8246 2819 4823, 3714 199351 81902";

/// The text of [`BLOCK_CARDS`], shared with [`BLOCK_CARDS_QUARANTINE_SSN`] by a macro so
/// the two cannot drift apart (`concat!` takes literals only).
macro_rules! block_cards {
    () => {
        r#"
[[rule]]
name = "block-cards"
match = "credit_card"
min_count = 5
action = "block"
reply = "550 5.7.1 Message blocked: it contains payment card numbers"
"#
    };
}

/// A rule that blocks a message with five card numbers ([`CARDS`]) with its own reply.
pub const BLOCK_CARDS: &str = block_cards!();

/// [`BLOCK_CARDS`], then a rule that quarantines a message with a US SSN: two rules with
/// distinct actions and detectors.
pub const BLOCK_CARDS_QUARANTINE_SSN: &str = concat!(
    block_cards!(),
    r#"
[[rule]]
name = "quarantine-ssn"
match = "us_ssn"
action = "quarantine"
"#
);

/// `cordonctl --socket SOCKET ARGS` left running (a `--follow`) with its stdout on a pipe, read
/// line by line on a thread of its own so that every wait is bounded; killed on drop.
#[derive(Debug)]
pub struct Follow {
    child: std::process::Child,
    rx: std::sync::mpsc::Receiver<String>,
    /// Every line read so far.
    pub seen: Vec<String>,
}

impl Follow {
    pub fn spawn(socket: &Path, args: &[&str]) -> Follow {
        let mut child = Command::new(bin("cordonctl"))
            .arg("--socket")
            .arg(socket)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("run cordonctl");
        let out = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufRead::lines(std::io::BufReader::new(out)).map_while(Result::ok)
            {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Follow {
            child,
            rx,
            seen: Vec::new(),
        }
    }

    /// Waits (bounded) until `done` holds for the lines read so far.
    pub fn wait_for(&mut self, what: &str, done: impl Fn(&[String]) -> bool) {
        crate::support::wait_until(what, crate::STEP, || {
            self.seen.extend(self.rx.try_iter());
            done(&self.seen).then_some(())
        });
    }
}

impl Drop for Follow {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `cordonctl --socket SOCKET ARGS` as an administrator runs it at a terminal: stdout and
/// stderr on a pseudo-terminal (80 x 24, `TERM=xterm-256color`, `NO_COLOR` unset unless `env`
/// sets it), stdin closed. What the terminal receives is read as it comes, its `\r\n` (the
/// line discipline's newline) read back as `\n`. Every wait is bounded.
#[derive(Debug)]
pub struct Terminal {
    child: std::process::Child,
    rx: std::sync::mpsc::Receiver<Vec<u8>>,
    seen: Vec<u8>,
}

impl Terminal {
    pub fn spawn(socket: &Path, args: &[&str], env: &[(&str, &str)]) -> Terminal {
        use std::io::Read;
        let size = nix::pty::Winsize {
            ws_row: 24,
            ws_col: 80,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = nix::pty::openpty(Some(&size), None).expect("openpty");
        let child = {
            let err = pty.slave.try_clone().expect("dup the terminal");
            Command::new(bin("cordonctl"))
                .arg("--socket")
                .arg(socket)
                .args(args)
                .env("TERM", "xterm-256color")
                .env_remove("NO_COLOR")
                .envs(env.iter().copied())
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::from(pty.slave))
                .stderr(std::process::Stdio::from(err))
                .spawn()
                .expect("run cordonctl")
            // The Command, and with it this process's copies of the terminal, is dropped
            // here: the master reads end-of-file (EIO) once cordonctl has exited.
        };
        let mut master = std::fs::File::from(pty.master);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = master.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Terminal {
            child,
            rx,
            seen: Vec::new(),
        }
    }

    /// What the terminal has shown so far.
    pub fn text(&mut self) -> String {
        self.seen.extend(self.rx.try_iter().flatten());
        String::from_utf8_lossy(&self.seen).replace("\r\n", "\n")
    }

    /// Waits (bounded) until the terminal shows `needle`.
    pub fn wait_for(&mut self, needle: &str) {
        crate::support::wait_until(&format!("{needle:?} in the terminal"), crate::STEP, || {
            self.text().contains(needle).then_some(())
        });
    }

    /// Waits (bounded) for cordonctl to exit and the terminal to close; the exit code and
    /// everything the terminal showed.
    pub fn finish(mut self) -> (i32, String) {
        let status = crate::support::wait_until("cordonctl to exit", crate::STEP, || {
            self.child.try_wait().expect("wait for cordonctl")
        });
        let deadline = std::time::Instant::now() + crate::STEP;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(chunk) => self.seen.extend(chunk),
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    panic!("the terminal stayed open after cordonctl exited")
                }
            }
        }
        (status.code().unwrap_or(-1), self.text())
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `cordonctl` in a [`Terminal`] to its end.
pub fn ctl_in_terminal(socket: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    Terminal::spawn(socket, args, env).finish()
}
