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
        let max = self.cfg().gateway.max_message_size as u64;
        if let Some(r) = duplicate_param(&params) {
            self.local(r);
            return self.count_error();
        }
        // The parameters as forwarded, kept apart from the path so a redirect can reuse them.
        let mut forwarded = String::new();
        let mut smtputf8 = false;
        let mut eightbit = false;
        let caps = self
            .down
            .as_ref()
            .map(|d| d.caps.clone())
            .unwrap_or_default();
        let dsn = self.dsn_offered();
        for p in &params {
            match (p.key.as_str(), p.value.as_deref()) {
                ("SIZE", Some(v)) if self.esmtp => match v.parse::<u64>() {
                    Ok(n) if n > max => {
                        self.local(reply(
                            552,
                            (5, 3, 4),
                            "Message size exceeds fixed maximum message size",
                        ));
                        return Ok(());
                    }
                    Ok(n) => {
                        if caps.size.is_some() {
                            forwarded.push_str(&format!(" SIZE={n}"));
                        }
                    }
                    Err(_) => {
                        self.local(reply(501, (5, 5, 4), "Bad SIZE parameter"));
                        return self.count_error();
                    }
                },
                ("BODY", Some(v))
                    if self.esmtp
                        && (v.eq_ignore_ascii_case("7BIT")
                            || v.eq_ignore_ascii_case("8BITMIME")) =>
                {
                    eightbit = v.eq_ignore_ascii_case("8BITMIME");
                    if caps.eightbitmime {
                        forwarded.push_str(&format!(" BODY={}", v.to_ascii_uppercase()));
                    }
                }
                ("RET", Some(v)) if dsn => match Ret::parse(v) {
                    Some(ret) => forwarded.push_str(&format!(" RET={}", ret.as_str())),
                    None => {
                        self.local(reply(501, (5, 5, 4), "Bad RET parameter syntax"));
                        return self.count_error();
                    }
                },
                ("ENVID", Some(v)) if dsn => {
                    if !dsn::valid_envid(v) {
                        self.local(reply(501, (5, 5, 4), "Bad ENVID parameter syntax"));
                        return self.count_error();
                    }
                    forwarded.push_str(&format!(" ENVID={v}"));
                }
                ("SMTPUTF8", None) if self.esmtp && self.smtputf8_offered() => {
                    smtputf8 = true;
                    forwarded.push_str(" SMTPUTF8");
                }
                (key, _) => {
                    self.local(reply(555, (5, 5, 4), format!("Unsupported option: {key}")));
                    return self.count_error();
                }
            }
        }
        if from.is_utf8() && !smtputf8 {
            self.local(reply(
                553,
                (5, 6, 7),
                "Must declare SMTPUTF8 to use UTF-8 in an address",
            ));
            return Ok(());
        }
        let forward = format!("MAIL FROM:<{}>{forwarded}\r\n", from.address());
        self.txn.mail_params = forwarded;
        self.txn.mail_pending = true;
        self.txn.smtputf8 = smtputf8;
        self.txn.eightbit = eightbit;
        self.down_cmds.extend_from_slice(forward.as_bytes());
        self.pending.push_back(Pending::Mail(from));
        self.maybe_flush().await
    }
}
