//! EHLO, HELO and STARTTLS.

use super::*;

impl<S: Io> Session<S> {
    pub(super) async fn ehlo(&mut self, domain: String, esmtp: bool) -> Result<(), End> {
        self.flush().await?;
        if self.txn.mail.is_some() {
            self.reset_down().await?;
        }
        self.reset_txn();
        let mut lines = vec![format!(
            "{} Hello {} [{}]",
            self.host(),
            sanitize(&domain),
            self.peer.ip()
        )];
        if esmtp {
            let mut offer = self.offer();
            offer.esmtp = true;
            lines.extend(negotiate::ehlo_keywords(&offer));
        }
        Reply::plain(250, lines).write_plain(&mut self.slot.replies);
        self.helo = Some(domain);
        self.esmtp = esmtp;
        Ok(())
    }

    pub(super) async fn starttls(&mut self) -> Result<(), End> {
        let Some(acceptor) = self.sh.acceptor.clone() else {
            self.local(reply(502, (5, 5, 1), "Error: command not implemented"));
            return Ok(());
        };
        if self.up.is_tls() {
            self.local(reply(503, (5, 5, 1), "Error: TLS already active"));
            return Ok(());
        }
        if self.pipelined_after() {
            // RFC 3207 section 4.2 and CVE-2011-0411: nothing sent in plain text after STARTTLS
            // may be acted on, so the injected commands get no reply at all.
            return self.pipelining_violation("STARTTLS").await;
        }
        self.local(reply(220, (2, 0, 0), "Ready to start TLS"));
        self.flush().await?;
        let Some(tcp) = self.up.take_plain() else {
            return Err(End::Gone);
        };
        match timeout(self.sh.config.timeouts.tls_handshake, acceptor.accept(tcp)).await {
            Ok(Ok(tls)) => self.up = Conn::Tls(Box::new(tokio_rustls::TlsStream::Server(tls))),
            Ok(Err(e)) => {
                tracing::info!(session = %self.id, client = %self.peer.ip(), error = %e, "STARTTLS handshake failed");
                return Err(End::Gone);
            }
            Err(_) => return Err(End::Gone),
        }
        // RFC 3207 section 4.2: forget everything learned before TLS.
        self.start = 0;
        self.end = 0;
        if self.txn.mail.is_some() {
            self.reset_down().await?;
        }
        self.reset_txn();
        self.helo = None;
        self.esmtp = false;
        Ok(())
    }
}
