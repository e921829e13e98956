//! The service extensions a server announces in its EHLO reply (RFC 5321 section 4.1.1.1).

use crate::reply::Reply;

/// What the downstream server offers; cordon only uses an extension the next hop has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    pub pipelining: bool,
    /// RFC 1870 fixed maximum message size; `Some(0)` means "no fixed limit".
    pub size: Option<u64>,
    pub eightbitmime: bool,
    pub smtputf8: bool,
    pub chunking: bool,
    pub starttls: bool,
    pub enhanced_status_codes: bool,
    /// RFC 3461 delivery status notifications.
    pub dsn: bool,
}

impl Capabilities {
    /// Reads the capabilities from a positive EHLO reply (the first line is the greeting).
    pub fn from_ehlo(reply: &Reply) -> Capabilities {
        let mut caps = Capabilities::default();
        for line in reply.lines.iter().skip(1) {
            let mut words = line.split_ascii_whitespace();
            let Some(keyword) = words.next() else {
                continue;
            };
            match keyword.to_ascii_uppercase().as_str() {
                "PIPELINING" => caps.pipelining = true,
                "SIZE" => caps.size = Some(words.next().and_then(|s| s.parse().ok()).unwrap_or(0)),
                "8BITMIME" => caps.eightbitmime = true,
                "SMTPUTF8" => caps.smtputf8 = true,
                "CHUNKING" => caps.chunking = true,
                "STARTTLS" => caps.starttls = true,
                "ENHANCEDSTATUSCODES" => caps.enhanced_status_codes = true,
                "DSN" => caps.dsn = true,
                _ => {}
            }
        }
        caps
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::parse_reply;

    #[test]
    fn exchange_like_ehlo() {
        let raw = b"250-mx.example Hello [1.2.3.4]\r\n250-SIZE 157286400\r\n250-PIPELINING\r\n\
250-DSN\r\n250-ENHANCEDSTATUSCODES\r\n250-STARTTLS\r\n250-8BITMIME\r\n250-BINARYMIME\r\n\
250-CHUNKING\r\n250 SMTPUTF8\r\n";
        let (r, _) = parse_reply(raw).unwrap().unwrap();
        let c = Capabilities::from_ehlo(&r);
        assert!(c.pipelining && c.eightbitmime && c.smtputf8 && c.chunking && c.starttls);
        assert!(c.enhanced_status_codes && c.dsn);
        assert_eq!(c.size, Some(157_286_400));
    }

    #[test]
    fn greeting_line_is_not_a_capability() {
        let (r, _) = parse_reply(b"250 PIPELINING\r\n").unwrap().unwrap();
        assert!(!Capabilities::from_ehlo(&r).pipelining);
    }
}
