//! Delivery Status Notification parameters (RFC 3461 section 4), checked before cordon passes
//! them on to a smart host that offers DSN.
//!
//! cordon never generates DSNs itself (it queues nothing); it only relays the sender's requests,
//! so the final destination can honour them. Each parameter is validated here and forwarded
//! verbatim: `ENVID` and `ORCPT` are xtext whose case matters to the sender.

/// RFC 3461 section 4.4: ENVID is at most 100 characters.
pub const MAX_ENVID: usize = 100;
/// RFC 3461 section 4.2: ORCPT is at most 500 characters.
pub const MAX_ORCPT: usize = 500;

/// `RET=`: what a failure DSN returns of the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ret {
    Full,
    Hdrs,
}

impl Ret {
    pub fn parse(v: &str) -> Option<Ret> {
        if v.eq_ignore_ascii_case("FULL") {
            Some(Ret::Full)
        } else if v.eq_ignore_ascii_case("HDRS") {
            Some(Ret::Hdrs)
        } else {
            None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Ret::Full => "FULL",
            Ret::Hdrs => "HDRS",
        }
    }
}

/// `NOTIFY=`: `NEVER`, or a non-empty set of `SUCCESS`, `FAILURE`, `DELAY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Notify {
    pub success: bool,
    pub failure: bool,
    pub delay: bool,
}

impl Notify {
    /// `None` for a malformed value: an empty list, an unknown or repeated keyword, or `NEVER`
    /// combined with anything else.
    pub fn parse(v: &str) -> Option<Notify> {
        if v.eq_ignore_ascii_case("NEVER") {
            return Some(Notify::default());
        }
        let mut n = Notify::default();
        for word in v.split(',') {
            let flag = if word.eq_ignore_ascii_case("SUCCESS") {
                &mut n.success
            } else if word.eq_ignore_ascii_case("FAILURE") {
                &mut n.failure
            } else if word.eq_ignore_ascii_case("DELAY") {
                &mut n.delay
            } else {
                return None;
            };
            if *flag {
                return None;
            }
            *flag = true;
        }
        Some(n)
    }

    /// The canonical form forwarded downstream.
    pub fn to_param(self) -> String {
        let words: Vec<&str> = [
            (self.success, "SUCCESS"),
            (self.failure, "FAILURE"),
            (self.delay, "DELAY"),
        ]
        .into_iter()
        .filter_map(|(on, w)| on.then_some(w))
        .collect();
        if words.is_empty() {
            "NEVER".into()
        } else {
            words.join(",")
        }
    }
}

/// RFC 3461 section 4: `xtext = *( xchar / hexchar )`, where `xchar` is any printable ASCII but
/// `+` and `=`, and `hexchar` is `+` and two upper-case hex digits.
pub fn is_xtext(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => {
                let hex = |c: u8| c.is_ascii_digit() || (b'A'..=b'F').contains(&c);
                if !(i + 2 < b.len() && hex(b[i + 1]) && hex(b[i + 2])) {
                    return false;
                }
                i += 3;
            }
            b'=' => return false,
            0x21..=0x7E => i += 1,
            _ => return false,
        }
    }
    true
}

/// `ENVID=` value: xtext of at most [`MAX_ENVID`] characters.
pub fn valid_envid(v: &str) -> bool {
    !v.is_empty() && v.len() <= MAX_ENVID && is_xtext(v)
}

/// `ORCPT=` value: `addr-type ";" xtext` of at most [`MAX_ORCPT`] characters. The address type
/// is an atom (`rfc822`, `utf-8`, ...). With `utf8` (the transaction declared SMTPUTF8), an
/// `utf-8` address may also carry UTF-8 characters (RFC 6533 section 3).
pub fn valid_orcpt(v: &str, utf8: bool) -> bool {
    let Some((kind, addr)) = v.split_once(';') else {
        return false;
    };
    let atom = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&c))
    };
    if v.len() > MAX_ORCPT || !atom(kind) || addr.is_empty() {
        return false;
    }
    if utf8 && kind.eq_ignore_ascii_case("utf-8") {
        // utf-8-addr-xtext: printable ASCII except `+`, `=`, `\`, plus UTF-8 and `\x{HEX}`.
        return addr
            .chars()
            .all(|c| !c.is_ascii() || (c.is_ascii_graphic() && c != '+' && c != '='));
    }
    is_xtext(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ret_values() {
        assert_eq!(Ret::parse("full"), Some(Ret::Full));
        assert_eq!(Ret::parse("HDRS"), Some(Ret::Hdrs));
        assert_eq!(Ret::parse("BODY"), None);
        assert_eq!(Ret::parse(""), None);
    }

    #[test]
    fn notify_values() {
        let n = Notify::parse("success,Failure").unwrap();
        assert!(n.success && n.failure && !n.delay);
        assert_eq!(n.to_param(), "SUCCESS,FAILURE");
        assert_eq!(Notify::parse("NEVER").unwrap().to_param(), "NEVER");
        assert_eq!(Notify::parse("DELAY").unwrap().to_param(), "DELAY");
        for bad in ["", "NEVER,SUCCESS", "SUCCESS,SUCCESS", "SUCCESS,", "ALWAYS"] {
            assert_eq!(Notify::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn xtext() {
        assert!(is_xtext("QQ314159"));
        assert!(is_xtext("a+2Bb+3Dc"));
        assert!(is_xtext(""));
        for bad in ["a b", "a=b", "a+2b", "a+2", "a+", "é", "a\tb"] {
            assert!(!is_xtext(bad), "{bad:?}");
        }
    }

    #[test]
    fn envid_and_orcpt() {
        assert!(valid_envid("QQ314159"));
        assert!(!valid_envid(""));
        assert!(!valid_envid(&"x".repeat(MAX_ENVID + 1)));
        assert!(valid_orcpt("rfc822;bob@fabrikam.example", false));
        assert!(valid_orcpt("RFC822;bob+2Bx@fabrikam.example", false));
        assert!(!valid_orcpt("rfc822;bob+x@fabrikam.example", false));
        assert!(!valid_orcpt("rfc822", false));
        assert!(!valid_orcpt(";bob@fabrikam.example", false));
        assert!(!valid_orcpt("rfc822;", false));
        assert!(!valid_orcpt("utf-8;jöran@example.se", false));
        assert!(valid_orcpt("utf-8;jöran@example.se", true));
        assert!(!valid_orcpt("rfc822;jöran@example.se", true));
        let long = format!("rfc822;{}@x", "a".repeat(MAX_ORCPT));
        assert!(!valid_orcpt(&long, false));
    }
}
