//! The one ingest loop: each turn hands the buffered input to the step of the session's
//! [`State`] (command lines, an over-long line being skipped, DATA's body, a BDAT chunk) and
//! reads more within the deadline that state waits under (a command line's, the data phase's,
//! the idle and session limits; a shutdown cuts a command wait at `Drain` and any wait at
//! `Stop`). Command lines are dispatched to their verbs here.

use super::*;

impl<S: Io> Session<S> {
    /// When the message data being read must be in: `[timeouts] data_phase` from the start
    /// of the phase plus a second per `min_data_rate` octets received (a fast sender of a
    /// large message is never cut; a dripping one is).
    pub(super) fn data_deadline(&self) -> Deadline {
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
    pub(super) async fn fill(&mut self, wait: Wait) -> Result<(), End> {
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
                _ = shutdown::reached(shutdown, cut_at) => None,
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

    /// The one ingest loop: hands the buffered input to the step of the current [`State`] and
    /// reads more when that step has used it all. Before waiting for a command it flushes, so
    /// a pipelined group is answered once the client has sent all of it.
    pub(super) async fn run(&mut self) -> Result<(), End> {
        let mut line = [0u8; MAX_RCPT_LINE];
        loop {
            // A relayed 421 ends the session at the next command boundary.
            if self.closing && matches!(self.state, State::Command) {
                self.flush().await?;
                return Err(End::Close);
            }
            let next = match self.state {
                State::Command => self.ingest_command(&mut line).await?,
                State::SkipLine => self.skip_line()?,
                State::Data { .. } => self.ingest_data().await?,
                State::Bdat { .. } => self.ingest_bdat().await?,
            };
            if next == Next::Read {
                let wait = self.state.wait();
                if wait == Wait::Command {
                    self.flush().await?;
                }
                self.fill(wait).await?;
            }
        }
    }

    /// [`State::Command`]: the next complete line goes to its verb.
    async fn ingest_command(&mut self, line: &mut [u8; MAX_RCPT_LINE]) -> Result<Next, End> {
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
                    return Ok(Next::Ingest);
                }
                self.command(&line[..n]).await?;
                Ok(Next::Ingest)
            }
            LineEvent::Incomplete => Ok(Next::Read),
            LineEvent::TooLong => {
                self.state = State::SkipLine;
                Ok(Next::Ingest)
            }
            LineEvent::BareLf | LineEvent::BareCr => {
                // Postfix's smtpd_forbid_bare_newline = reject: answer and hang up.
                self.local(reply(
                    550,
                    (5, 5, 2),
                    "Error: bare <CR> or <LF> received; lines must end with <CR><LF>",
                ));
                self.flush().await?;
                Err(End::Close)
            }
        }
    }

    /// [`State::SkipLine`]: drops input up to the over-long line's LF, then refuses it.
    fn skip_line(&mut self) -> Result<Next, End> {
        let Some(n) = discard_to_lf(&self.slot.up_in[self.start..self.end]) else {
            self.start = self.end;
            return Ok(Next::Read);
        };
        self.start += n;
        self.state = State::Command;
        self.line_deadline = None;
        self.local(reply(
            500,
            (5, 5, 2),
            format!("Error: command line longer than {MAX_RCPT_LINE} octets"),
        ));
        self.count_error()?;
        Ok(Next::Ingest)
    }

    pub(super) async fn command(&mut self, line: &[u8]) -> Result<(), End> {
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
}
