//! DATA and BDAT: the verbs check the envelope and switch the session to [`State::Data`] or
//! [`State::Bdat`]; the ingest steps here take the body into the slot's buffer through the
//! inspector, with the size and line limits and the smuggling checks.

use super::*;

impl<S: Io> Session<S> {
    /// The reply for DATA/BDAT when the envelope is not complete, if any.
    pub(super) fn envelope_problem(&self) -> Option<Reply> {
        if self.txn.mail.is_none() {
            Some(reply(503, (5, 5, 1), "Error: need MAIL command"))
        } else if self.txn.rcpts.is_empty() {
            Some(reply(554, (5, 5, 1), "Error: no valid recipients"))
        } else {
            None
        }
    }

    pub(super) fn discard_limit(&self) -> usize {
        self.cfg().gateway.max_message_size * DISCARD_FACTOR + (1 << 20)
    }

    pub(super) async fn data(&mut self) -> Result<(), End> {
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
        self.state = State::Data {
            rx: BodyReceiver::data(limit),
            raw: 0,
        };
        Ok(())
    }

    /// [`State::Data`]: the body into the slot up to CRLF.CRLF; past the discard limit the
    /// client is cut off.
    pub(super) async fn ingest_data(&mut self) -> Result<Next, End> {
        let discard_limit = self.discard_limit();
        let State::Data { rx, raw } = &mut self.state else {
            return Ok(Next::Ingest);
        };
        let limit = self.sh.config.gateway.max_message_size;
        match receive(&mut self.slot, rx, self.start..self.end, limit) {
            Progress::Done { consumed } => {
                self.start += consumed;
                let error = rx.error();
                self.state = State::Command;
                self.message_received(error).await?;
                Ok(Next::Ingest)
            }
            Progress::More => {
                *raw += self.end - self.start;
                self.start = self.end;
                if *raw > discard_limit {
                    self.local(reply(
                        552,
                        (5, 3, 4),
                        "Message size exceeds fixed maximum message size",
                    ));
                    return Err(End::Close);
                }
                Ok(Next::Read)
            }
        }
    }

    pub(super) async fn bdat(&mut self, size: u64, last: bool) -> Result<(), End> {
        self.flush().await?;
        let refusal = self.envelope_problem();
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
        if refusal.is_none() && self.txn.bdat.is_none() {
            self.txn.bdat = Some(BodyReceiver::chunks(limit));
        }
        if self.txn.data_started.is_none() {
            self.txn.data_started = Some(Deadline::now());
        }
        self.state = State::Bdat {
            size,
            last,
            remaining: size as usize,
            refusal,
        };
        Ok(())
    }

    /// [`State::Bdat`]: the chunk's octets into the transaction's receiver; when the chunk is
    /// complete, its reply (or the message's, for the last chunk).
    pub(super) async fn ingest_bdat(&mut self) -> Result<Next, End> {
        let State::Bdat {
            remaining, refusal, ..
        } = &mut self.state
        else {
            return Ok(Next::Ingest);
        };
        let take = (*remaining).min(self.end - self.start);
        let limit = self.sh.config.gateway.max_message_size;
        if let (true, Some(rx)) = (refusal.is_none(), self.txn.bdat.as_mut()) {
            receive(&mut self.slot, rx, self.start..self.start + take, limit);
        }
        self.start += take;
        *remaining -= take;
        if *remaining > 0 {
            return Ok(Next::Read);
        }
        let State::Bdat {
            size,
            last,
            refusal,
            ..
        } = std::mem::replace(&mut self.state, State::Command)
        else {
            return Ok(Next::Ingest);
        };
        if let Some(r) = refusal {
            self.local(r);
            return Ok(Next::Ingest);
        }
        let error = self.txn.bdat.as_ref().and_then(BodyReceiver::error);
        if !last && error.is_none() {
            self.local(reply(250, (2, 0, 0), format!("{size} octets received")));
            return Ok(Next::Ingest);
        }
        let error = match self.txn.bdat.as_mut() {
            Some(rx) if last => rx.finish_chunks(),
            _ => error,
        };
        self.message_received(error).await?;
        Ok(Next::Ingest)
    }

    /// The whole message is in the buffer (or was refused on the way).
    pub(super) async fn message_received(&mut self, error: Option<BodyError>) -> Result<(), End> {
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
            Some(BodyError::NoRoom) => {
                tracing::warn!(session = %self.id, client = %self.peer.ip(), "message outgrew its buffer and no larger one was free; refused with 452");
                Some(no_room())
            }
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
}

/// `452 4.3.1`: no message buffer is free for this transaction now. Exchange (like every MTA)
/// keeps the message and retries later, when a buffer will be free.
pub(super) fn no_room() -> Reply {
    reply(
        452,
        (4, 3, 1),
        "Insufficient system storage: all message buffers of this size are busy, try again later",
    )
}

/// Takes `slot.up_in[input]` through `rx` into the message buffer and feeds what was stored to
/// the inspector, so the verdict is ready when the last byte is in. A message about to outgrow
/// its buffer moves to a larger free one first (the receiver stores at most what it reads);
/// with none free, the receiver discards the rest and the message ends in `452`.
pub(super) fn receive(
    slot: &mut Slot,
    rx: &mut BodyReceiver,
    input: std::ops::Range<usize>,
    limit: usize,
) -> Progress {
    let Slot { up_in, msg, .. } = slot;
    let Some(m) = msg.as_mut() else {
        // Out of room, the receiver stores nothing: the empty Vec never allocates.
        rx.out_of_room();
        return rx.ingest(&up_in[input], &mut Vec::new());
    };
    let needed = (m.message.len() + input.len()).min(limit);
    if rx.error().is_none() && needed > m.room() && !m.grow(needed) {
        rx.out_of_room();
    }
    let before = m.message.len();
    let progress = rx.ingest(&up_in[input], &mut m.message);
    if m.message.len() > before {
        let m = &mut **m;
        m.inspector.feed(&m.message[before..]);
    }
    progress
}
