//! RCPT: order, DSN parameters, the recipient limit, relayed.

use super::*;

impl<S: Io> Session<S> {
    pub(super) async fn rcpt(&mut self, to: Path, params: Vec<Param>) -> Result<(), End> {
        if !self.txn.has_mail() {
            self.local(reply(503, (5, 5, 1), "Error: need MAIL command"));
            return self.count_error();
        }
        if let Some(r) = duplicate_param(&params) {
            self.local(r);
            return self.count_error();
        }
        let mut forward = format!("RCPT TO:<{}>", to.address());
        let dsn = self.dsn_offered();
        for p in &params {
            match (p.key.as_str(), p.value.as_deref()) {
                ("NOTIFY", Some(v)) if dsn => match Notify::parse(v) {
                    Some(n) => forward.push_str(&format!(" NOTIFY={}", n.to_param())),
                    None => {
                        self.local(reply(501, (5, 5, 4), "Bad NOTIFY parameter syntax"));
                        return self.count_error();
                    }
                },
                ("ORCPT", Some(v)) if dsn => {
                    if !dsn::valid_orcpt(v, self.txn.smtputf8) {
                        self.local(reply(501, (5, 5, 4), "Bad ORCPT parameter syntax"));
                        return self.count_error();
                    }
                    forward.push_str(&format!(" ORCPT={v}"));
                }
                (key, _) => {
                    self.local(reply(555, (5, 5, 4), format!("Unsupported option: {key}")));
                    return self.count_error();
                }
            }
        }
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
