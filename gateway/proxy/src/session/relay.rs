//! Commands go downstream in pipelined groups and their replies come back upstream in order;
//! a broken downstream leg ends the session with 421.

use super::*;

impl<S: Io> Session<S> {
    pub(super) async fn pipelining_violation(&mut self, after: &str) -> Result<(), End> {
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
    pub(super) async fn maybe_flush(&mut self) -> Result<(), End> {
        let pipelining = self.down.as_ref().is_some_and(|d| d.caps.pipelining);
        if !pipelining || self.pending.len() >= MAX_PENDING {
            self.flush().await?;
        }
        Ok(())
    }

    /// Sends queued downstream commands, relays their replies in order and writes every queued
    /// reply upstream.
    pub(super) async fn flush(&mut self) -> Result<(), End> {
        if let Err(e) = self.flush_down().await {
            return self.downstream_failed(e).await;
        }
        self.write_replies().await
    }

    pub(super) async fn flush_down(&mut self) -> Result<(), DownError> {
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
                    } else {
                        // No transaction: its message buffer goes back for others.
                        self.slot.msg = None;
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
    pub(super) fn relay_reply(&mut self, r: Reply) {
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
    pub(super) async fn downstream_failed(&mut self, e: DownError) -> Result<(), End> {
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
        if let Some(d) = self.down.take() {
            self.slot.down_in = d.into_buf();
        }
        self.write_replies().await?;
        Err(End::Close)
    }

    /// Ends the transaction: its message slot goes back to the pool, keeping the
    /// notifications its verdict asked for, which are sent after the sender's reply.
    pub(super) fn reset_txn(&mut self) {
        self.txn = Txn::default();
        if let Some(mut m) = self.slot.msg.take() {
            self.notes.extend(m.inspector.notifications());
        }
    }

    /// Resets the downstream transaction after a message we refused ourselves.
    pub(super) async fn reset_down(&mut self) -> Result<(), End> {
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
}
