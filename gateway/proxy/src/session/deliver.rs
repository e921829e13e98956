//! After the message: the verdict, the stamp and `Received:`, a redirect's new envelope, the relay
//! of the message and the notifications the verdict asks for.

use super::*;
use crate::incident_log::{Ack, ACK_TIMEOUT};

/// Waits for the incident log's answer (bounded by [`ACK_TIMEOUT`]).
async fn journaled(ack: tokio::sync::oneshot::Receiver<Ack>) -> Ack {
    match timeout(ACK_TIMEOUT, ack).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(_)) => Err("the journal writer stopped".into()),
        Err(_) => Err(format!("no fsync within {} s", ACK_TIMEOUT.as_secs())),
    }
}

impl<S: Io> Session<S> {
    pub(super) fn received_header(&self, with_tls: Option<crate::stream::TlsInfo>) -> String {
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
    pub(super) async fn redirect_envelope(
        &mut self,
        from: &Path,
        to: &str,
    ) -> Result<Result<(), Reply>, End> {
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
    pub(super) async fn send_notifications(&mut self) -> Result<(), End> {
        let notes = std::mem::take(&mut self.notes);
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

    pub(super) async fn deliver(&mut self) -> Result<(), End> {
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
            match self.slot.msg.as_mut() {
                Some(m) => {
                    let m = &mut **m;
                    m.inspector.finish(&env, &m.message)
                }
                // MAIL took a slot and only its end gives it back: unreachable, and refused
                // rather than relayed empty if it ever were not.
                None => Verdict::Reject(no_room()),
            }
        };
        let size = self.message().len();
        let ack = self.slot.msg.as_mut().and_then(|m| m.inspector.journaled());
        if let Some(ack) = ack {
            if let Err(why) = journaled(ack).await {
                // Not recorded, so not relayed and not refused: Exchange keeps the message and
                // retries; the notifications of a verdict that did not happen are dropped.
                let r = reply(
                    451,
                    (4, 3, 0),
                    "Temporary failure: the incident log cannot be written, try again later",
                );
                tracing::error!(session = %self.id, client = %self.peer.ip(), from = %mail.address(), rcpts = rcpts.len(), size, error = %why, reply = %r, "incident not journaled; message deferred");
                self.local(r);
                self.reset_down().await?;
                self.reset_txn();
                self.notes.clear();
                return Ok(());
            }
        }
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
        if self.txn.eightbit && !down_8bit && self.message().iter().any(|&b| b >= 0x80) {
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
        // Downstream latency: from handing the message over to the smart host's final reply.
        let handed = Instant::now();
        let result = {
            let slot = &mut *self.slot;
            let message = slot.msg.as_ref().map_or(&[][..], |m| &m.message[..]);
            match prepare(message, &h, prefix) {
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
        self.sh
            .counters
            .downstream_time(handed.elapsed().as_micros() as u64);
        match result {
            Ok(r) => {
                if let Some(m) = self.slot.msg.as_mut() {
                    m.inspector.outcome(&r);
                }
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
