//! MAIL: order, parameters negotiated against what the smart host offers, relayed.

use super::*;

impl<S: Io> Session<S> {
    pub(super) async fn mail(&mut self, from: Path, params: Vec<Param>) -> Result<(), End> {
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
        let m = match negotiate::mail_params(&params, from.is_utf8(), &self.offer()) {
            Ok(m) => m,
            Err(r) => return self.refuse(r),
        };
        // The transaction's message buffer: the smallest free class that holds the declared
        // SIZE (or the smallest free one, growing later if it must). None free: 452 before
        // anything is relayed, and Exchange retries.
        let declared = m
            .size
            .map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX));
        self.slot.msg = None;
        let lease = self
            .slot
            .pool()
            .lease_message(declared, &*self.sh.inspectors, self.sh.epoch);
        match lease {
            Some(lease) => self.slot.msg = Some(lease),
            None => {
                self.sh.counters.message_slot_refused();
                tracing::warn!(session = %self.id, client = %self.peer.ip(), size = declared, "no message buffer free for this size; MAIL refused with 452");
                self.local(data::no_room());
                return Ok(());
            }
        }
        let forward = format!("MAIL FROM:<{}>{}\r\n", from.address(), m.forwarded);
        self.txn.mail_params = m.forwarded;
        self.txn.mail_pending = true;
        self.txn.smtputf8 = m.smtputf8;
        self.txn.eightbit = m.eightbit;
        self.down_cmds.extend_from_slice(forward.as_bytes());
        self.pending.push_back(Pending::Mail(from));
        self.maybe_flush().await
    }
}
