//! RCPT: order, DSN parameters, the recipient limit, relayed.

use super::*;

impl<S: Io> Session<S> {
    pub(super) async fn rcpt(&mut self, to: Path, params: Vec<Param>) -> Result<(), End> {
        if !self.txn.has_mail() {
            self.local(reply(503, (5, 5, 1), "Error: need MAIL command"));
            return self.count_error();
        }
        let forwarded = match negotiate::rcpt_params(&params, &self.offer(), self.txn.smtputf8) {
            Ok(f) => f,
            Err(r) => return self.refuse(r),
        };
        let mut forward = format!("RCPT TO:<{}>{forwarded}", to.address());
        if self.txn.rcpts.len() + self.txn.rcpt_pending >= MAX_RECIPIENTS {
            self.local(reply(452, (4, 5, 3), "Error: too many recipients"));
            return Ok(());
        }
        if to.is_utf8() && !self.txn.smtputf8 {
            self.local(reply(
                553,
                (5, 6, 7),
                "Must declare SMTPUTF8 to use UTF-8 in an address",
            ));
            return Ok(());
        }
        // Whatever the address says (source routes, `%` hacks, quoted parts), it only ever goes
        // to the configured smart host.
        forward.push_str("\r\n");
        self.down_cmds.extend_from_slice(forward.as_bytes());
        self.txn.rcpt_pending += 1;
        self.pending.push_back(Pending::Rcpt(to));
        self.maybe_flush().await
    }
}
