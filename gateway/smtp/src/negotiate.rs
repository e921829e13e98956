//! The server side's decisions about what a client may use, against what the gateway and its
//! smart host offer: the EHLO keywords and the MAIL and RCPT parameters. Pure: the session
//! asks, these answer with what to forward or the reply to give.
//!
//! A relay may only offer what the next hop can honour: SMTPUTF8 and DSN are advertised (and
//! their parameters accepted) only when the smart host has them, SIZE and BODY are forwarded
//! only to a smart host that declared them, and an unknown parameter is refused rather than
//! dropped (RFC 5321 section 4.1.1.11).

use crate::address::Param;
use crate::dsn::{self, Notify, Ret};
use crate::ehlo::Capabilities;
use crate::reply::{Enhanced, Reply};

/// What this session offers its client, from the gateway's config and the smart host's EHLO.
#[derive(Debug, Clone, Default)]
pub struct Offer {
    /// The client said EHLO (not HELO): extensions are in use.
    pub esmtp: bool,
    /// `[gateway] max_message_size`, advertised as SIZE.
    pub max_size: u64,
    /// The smart host's capabilities.
    pub down: Capabilities,
    /// STARTTLS can be offered (a certificate is configured and the session is not TLS yet).
    pub starttls: bool,
}

impl Offer {
    /// DSN parameters pass only to a smart host that can honour them (RFC 3461 section 6.2
    /// lets a relay drop them, but the sender would then never hear of the final delivery).
    pub fn dsn(&self) -> bool {
        self.esmtp && self.down.dsn
    }

    pub fn smtputf8(&self) -> bool {
        self.esmtp && self.down.smtputf8
    }
}

/// The EHLO keywords after the greeting line, in the order cordon lists them.
pub fn ehlo_keywords(offer: &Offer) -> Vec<String> {
    let mut k = vec![
        "PIPELINING".to_string(),
        format!("SIZE {}", offer.max_size),
        "8BITMIME".into(),
        "ENHANCEDSTATUSCODES".into(),
    ];
    if offer.down.smtputf8 {
        k.push("SMTPUTF8".into());
    }
    if offer.down.dsn {
        k.push("DSN".into());
    }
    if offer.starttls {
        k.push("STARTTLS".into());
    }
    k.push("CHUNKING".into());
    k
}

/// A refused MAIL or RCPT: the reply, and whether it counts as a client error (towards the
/// hang-up limit) or is an ordinary refusal of this one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub reply: Reply,
    pub is_error: bool,
}

fn error(code: u16, e: (u8, u16, u16), text: impl Into<String>) -> Refusal {
    Refusal {
        reply: Reply::new(code, Enhanced(e.0, e.1, e.2), text),
        is_error: true,
    }
}

fn refusal(code: u16, e: (u8, u16, u16), text: impl Into<String>) -> Refusal {
    Refusal {
        is_error: false,
        ..error(code, e, text)
    }
}

/// `501 5.5.4` when a parameter is given twice (RFC 5321 section 4.1.2 lets a keyword appear
/// once; a second `SIZE=` or `NOTIFY=` must not silently win).
pub fn duplicate_param(params: &[Param]) -> Option<Refusal> {
    params.iter().enumerate().find_map(|(i, p)| {
        params[..i]
            .iter()
            .any(|q| q.key == p.key)
            .then(|| error(501, (5, 5, 4), format!("Duplicate parameter: {}", p.key)))
    })
}

/// What a MAIL command's parameters come to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailParams {
    /// The parameters as forwarded (` SIZE=.. BODY=.. SMTPUTF8 RET=.. ENVID=..`), kept apart
    /// from the path so a redirect can start the envelope again with them.
    pub forwarded: String,
    pub smtputf8: bool,
    /// `BODY=8BITMIME` was declared.
    pub eightbit: bool,
    /// The size the client declared with `SIZE=` (RFC 1870), which picks the message buffer.
    pub size: Option<u64>,
}

/// Checks MAIL's parameters; `from_utf8` says the reverse path has non-ASCII characters.
pub fn mail_params(
    params: &[Param],
    from_utf8: bool,
    offer: &Offer,
) -> Result<MailParams, Refusal> {
    if let Some(r) = duplicate_param(params) {
        return Err(r);
    }
    let mut m = MailParams::default();
    for p in params {
        match (p.key.as_str(), p.value.as_deref()) {
            ("SIZE", Some(v)) if offer.esmtp => match v.parse::<u64>() {
                Ok(n) if n > offer.max_size => {
                    return Err(refusal(
                        552,
                        (5, 3, 4),
                        "Message size exceeds fixed maximum message size",
                    ))
                }
                Ok(n) => {
                    m.size = Some(n);
                    if offer.down.size.is_some() {
                        m.forwarded.push_str(&format!(" SIZE={n}"));
                    }
                }
                Err(_) => return Err(error(501, (5, 5, 4), "Bad SIZE parameter")),
            },
            ("BODY", Some(v))
                if offer.esmtp
                    && (v.eq_ignore_ascii_case("7BIT") || v.eq_ignore_ascii_case("8BITMIME")) =>
            {
                m.eightbit = v.eq_ignore_ascii_case("8BITMIME");
                if offer.down.eightbitmime {
                    m.forwarded
                        .push_str(&format!(" BODY={}", v.to_ascii_uppercase()));
                }
            }
            ("RET", Some(v)) if offer.dsn() => match Ret::parse(v) {
                Some(ret) => m.forwarded.push_str(&format!(" RET={}", ret.as_str())),
                None => return Err(error(501, (5, 5, 4), "Bad RET parameter syntax")),
            },
            ("ENVID", Some(v)) if offer.dsn() => {
                if !dsn::valid_envid(v) {
                    return Err(error(501, (5, 5, 4), "Bad ENVID parameter syntax"));
                }
                m.forwarded.push_str(&format!(" ENVID={v}"));
            }
            ("SMTPUTF8", None) if offer.smtputf8() => {
                m.smtputf8 = true;
                m.forwarded.push_str(" SMTPUTF8");
            }
            (key, _) => {
                return Err(error(555, (5, 5, 4), format!("Unsupported option: {key}")));
            }
        }
    }
    if from_utf8 && !m.smtputf8 {
        return Err(refusal(
            553,
            (5, 6, 7),
            "Must declare SMTPUTF8 to use UTF-8 in an address",
        ));
    }
    Ok(m)
}

/// Checks RCPT's parameters; returns them as forwarded (` NOTIFY=.. ORCPT=..`). `smtputf8` is
/// the transaction's (a UTF-8 ORCPT needs it).
pub fn rcpt_params(params: &[Param], offer: &Offer, smtputf8: bool) -> Result<String, Refusal> {
    if let Some(r) = duplicate_param(params) {
        return Err(r);
    }
    let mut forwarded = String::new();
    for p in params {
        match (p.key.as_str(), p.value.as_deref()) {
            ("NOTIFY", Some(v)) if offer.dsn() => match Notify::parse(v) {
                Some(n) => forwarded.push_str(&format!(" NOTIFY={}", n.to_param())),
                None => return Err(error(501, (5, 5, 4), "Bad NOTIFY parameter syntax")),
            },
            ("ORCPT", Some(v)) if offer.dsn() => {
                if !dsn::valid_orcpt(v, smtputf8) {
                    return Err(error(501, (5, 5, 4), "Bad ORCPT parameter syntax"));
                }
                forwarded.push_str(&format!(" ORCPT={v}"));
            }
            (key, _) => {
                return Err(error(555, (5, 5, 4), format!("Unsupported option: {key}")));
            }
        }
    }
    Ok(forwarded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(s: &str) -> Vec<Param> {
        crate::address::parse_params(s).unwrap()
    }

    fn offer(down: Capabilities) -> Offer {
        Offer {
            esmtp: true,
            max_size: 1000,
            down,
            starttls: false,
        }
    }

    fn code(r: Result<impl std::fmt::Debug, Refusal>) -> (u16, String, bool) {
        let r = r.unwrap_err();
        (
            r.reply.code,
            r.reply.enhanced_or_default().to_string(),
            r.is_error,
        )
    }

    #[test]
    fn ehlo_offers_only_what_the_smart_host_has() {
        let plain = ehlo_keywords(&offer(Capabilities::default()));
        assert_eq!(
            plain,
            [
                "PIPELINING",
                "SIZE 1000",
                "8BITMIME",
                "ENHANCEDSTATUSCODES",
                "CHUNKING"
            ]
        );
        let mut o = offer(Capabilities {
            dsn: true,
            smtputf8: true,
            ..Capabilities::default()
        });
        o.starttls = true;
        assert_eq!(
            ehlo_keywords(&o)[4..],
            ["SMTPUTF8", "DSN", "STARTTLS", "CHUNKING"]
        );
    }

    #[test]
    fn mail_parameters_forwarded_as_the_smart_host_understands_them() {
        let full = offer(Capabilities {
            size: Some(0),
            eightbitmime: true,
            smtputf8: true,
            dsn: true,
            ..Capabilities::default()
        });
        let m = mail_params(
            &params("SIZE=10 BODY=8bitmime SMTPUTF8 RET=hdrs ENVID=x1"),
            true,
            &full,
        )
        .unwrap();
        assert_eq!(
            m.forwarded,
            " SIZE=10 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=x1"
        );
        assert!(m.smtputf8 && m.eightbit);
        assert_eq!(m.size, Some(10));
        // A bare smart host: SIZE and BODY checked but not forwarded; the declared SIZE still
        // picks the message buffer.
        let bare = offer(Capabilities::default());
        let m = mail_params(&params("SIZE=10 BODY=7BIT"), false, &bare).unwrap();
        assert_eq!(
            m,
            MailParams {
                size: Some(10),
                ..MailParams::default()
            }
        );
    }

    #[test]
    fn mail_refusals() {
        let bare = offer(Capabilities::default());
        assert_eq!(
            code(mail_params(&params("SIZE=1001"), false, &bare)),
            (552, "5.3.4".into(), false)
        );
        assert_eq!(
            code(mail_params(&params("SIZE=x"), false, &bare)),
            (501, "5.5.4".into(), true)
        );
        assert_eq!(
            code(mail_params(&params("SIZE=1 SIZE=2"), false, &bare)),
            (501, "5.5.4".into(), true)
        );
        assert_eq!(
            code(mail_params(&params("RET=FULL"), false, &bare)),
            (555, "5.5.4".into(), true)
        );
        assert_eq!(
            code(mail_params(&params("SMTPUTF8"), false, &bare)),
            (555, "5.5.4".into(), true)
        );
        assert_eq!(
            code(mail_params(&[], true, &bare)),
            (553, "5.6.7".into(), false)
        );
        // HELO: no extensions at all.
        let helo = Offer {
            esmtp: false,
            ..bare
        };
        assert_eq!(
            code(mail_params(&params("SIZE=1"), false, &helo)),
            (555, "5.5.4".into(), true)
        );
    }

    #[test]
    fn rcpt_parameters() {
        let dsn = offer(Capabilities {
            dsn: true,
            ..Capabilities::default()
        });
        assert_eq!(
            rcpt_params(
                &params("NOTIFY=failure,delay ORCPT=rfc822;b@x.example"),
                &dsn,
                false
            )
            .unwrap(),
            " NOTIFY=FAILURE,DELAY ORCPT=rfc822;b@x.example"
        );
        assert_eq!(
            code(rcpt_params(&params("NOTIFY=sometimes"), &dsn, false)),
            (501, "5.5.4".into(), true)
        );
        assert_eq!(
            code(rcpt_params(&params("ORCPT=bad"), &dsn, false)),
            (501, "5.5.4".into(), true)
        );
        let bare = offer(Capabilities::default());
        assert_eq!(
            code(rcpt_params(&params("NOTIFY=NEVER"), &bare, false)),
            (555, "5.5.4".into(), true)
        );
    }
}
