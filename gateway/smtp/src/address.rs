//! Envelope paths and ESMTP parameters (RFC 5321 section 4.1.2).
//!
//! cordon relays every envelope to its configured smart host only, so no address form can route
//! mail elsewhere; parsing here exists to refuse malformed input with a precise reply and to hand
//! the downstream a canonical `<local@domain>` (source routes are dropped, as RFC 5321 appendix C
//! allows).

/// RFC 5321 section 4.5.3.1.1: a local part is at most 64 octets.
pub const MAX_LOCAL_PART: usize = 64;
/// RFC 5321 section 4.5.3.1.2: a domain is at most 255 octets.
pub const MAX_DOMAIN: usize = 255;
/// RFC 5321 section 4.5.3.1.3: a path is at most 256 octets including the angle brackets.
pub const MAX_PATH: usize = 256;
/// Parameters on one MAIL or RCPT command; more is hostile.
pub const MAX_PARAMS: usize = 16;

/// A parsed envelope address. The null reverse-path `<>` has an empty local part and domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    /// The local part as written (quotes kept), so the downstream sees what the sender meant.
    pub local: String,
    /// The domain, or empty for `<postmaster>` and `<>`.
    pub domain: String,
}

impl Path {
    pub fn null() -> Path {
        Path {
            local: String::new(),
            domain: String::new(),
        }
    }

    pub fn is_null(&self) -> bool {
        self.local.is_empty() && self.domain.is_empty()
    }

    /// The address without brackets: `local@domain`, `postmaster`, or empty for `<>`.
    pub fn address(&self) -> String {
        if self.domain.is_empty() {
            self.local.clone()
        } else {
            format!("{}@{}", self.local, self.domain)
        }
    }

    /// True when the address needs SMTPUTF8 (RFC 6531).
    pub fn is_utf8(&self) -> bool {
        !self.local.is_ascii() || !self.domain.is_ascii()
    }
}

/// Why a path was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("missing angle brackets")]
    Brackets,
    #[error("bad local part")]
    LocalPart,
    #[error("bad domain")]
    Domain,
    #[error("address too long")]
    TooLong,
}

/// Parses `<...>` at the start of `s`; returns the path and the rest of the string.
pub fn parse_path(s: &str, allow_null: bool) -> Result<(Path, &str), PathError> {
    let s = s.strip_prefix('<').ok_or(PathError::Brackets)?;
    let end = find_close(s).ok_or(PathError::Brackets)?;
    let inner = &s[..end];
    let rest = &s[end + 1..];
    if inner.len() + 2 > MAX_PATH {
        return Err(PathError::TooLong);
    }
    if inner.is_empty() {
        return if allow_null {
            Ok((Path::null(), rest))
        } else {
            Err(PathError::LocalPart)
        };
    }
    // Source route: "@a,@b:user@c". Kept from the wire only as far as to drop it.
    let mailbox = if inner.starts_with('@') {
        let colon = inner.find(':').ok_or(PathError::Domain)?;
        for hop in inner[..colon].split(',') {
            let hop = hop.strip_prefix('@').ok_or(PathError::Domain)?;
            check_domain(hop)?;
        }
        &inner[colon + 1..]
    } else {
        inner
    };
    let (local, domain) = split_mailbox(mailbox)?;
    check_local(local)?;
    if let Some(d) = domain {
        check_domain(d)?;
    } else if !local.eq_ignore_ascii_case("postmaster") {
        return Err(PathError::Domain);
    }
    Ok((
        Path {
            local: local.to_string(),
            domain: domain.unwrap_or("").to_string(),
        },
        rest,
    ))
}

/// The characters of a string that stand outside a quoted string (RFC 5321 quoted-string, with
/// backslash escapes), with their positions.
struct Unquoted<'a> {
    chars: std::str::CharIndices<'a>,
    quoted: bool,
}

impl<'a> Unquoted<'a> {
    fn new(s: &'a str) -> Self {
        Unquoted {
            chars: s.char_indices(),
            quoted: false,
        }
    }
}

impl Iterator for Unquoted<'_> {
    type Item = (usize, char);

    fn next(&mut self) -> Option<(usize, char)> {
        loop {
            let (i, c) = self.chars.next()?;
            match c {
                '\\' if self.quoted => {
                    self.chars.next();
                }
                '"' => self.quoted = !self.quoted,
                _ if !self.quoted => return Some((i, c)),
                _ => {}
            }
        }
    }
}

/// Finds the `>` closing the path, skipping quoted strings in the local part.
fn find_close(s: &str) -> Option<usize> {
    Unquoted::new(s).find(|&(_, c)| c == '>').map(|(i, _)| i)
}

/// Splits at the last `@` outside quotes.
fn split_mailbox(m: &str) -> Result<(&str, Option<&str>), PathError> {
    let mut chars = Unquoted::new(m);
    let at = chars.by_ref().filter(|&(_, c)| c == '@').last();
    if chars.quoted {
        return Err(PathError::LocalPart);
    }
    Ok(match at {
        Some((i, _)) => (&m[..i], Some(&m[i + 1..])),
        None => (m, None),
    })
}

fn check_local(local: &str) -> Result<(), PathError> {
    if local.is_empty() || local.len() > MAX_LOCAL_PART {
        return Err(PathError::LocalPart);
    }
    if local.starts_with('"') {
        // Quoted-string: printable ASCII (or UTF-8 under SMTPUTF8), backslash escapes.
        if local.len() < 2 || !local.ends_with('"') {
            return Err(PathError::LocalPart);
        }
        let body = &local[1..local.len() - 1];
        if body.chars().any(|c| c.is_control()) {
            return Err(PathError::LocalPart);
        }
        return Ok(());
    }
    // Dot-string: atoms separated by single dots.
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(PathError::LocalPart);
    }
    let atext =
        |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c) || !c.is_ascii();
    if local.chars().all(atext) {
        Ok(())
    } else {
        Err(PathError::LocalPart)
    }
}

fn check_domain(d: &str) -> Result<(), PathError> {
    if d.is_empty() || d.len() > MAX_DOMAIN {
        return Err(PathError::Domain);
    }
    if let Some(lit) = d.strip_prefix('[') {
        let lit = lit.strip_suffix(']').ok_or(PathError::Domain)?;
        let ok = match lit.strip_prefix("IPv6:") {
            Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok(),
            None => lit.parse::<std::net::Ipv4Addr>().is_ok(),
        };
        return if ok { Ok(()) } else { Err(PathError::Domain) };
    }
    for label in d.split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || !c.is_ascii());
        if !ok {
            return Err(PathError::Domain);
        }
    }
    Ok(())
}

/// One `KEYWORD[=VALUE]` parameter after a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// Upper-cased keyword.
    pub key: String,
    pub value: Option<String>,
}

/// The parameters after a path are malformed or too many.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("bad ESMTP parameters")]
pub struct ParamError;

/// Parses the parameters that follow a path.
pub fn parse_params(s: &str) -> Result<Vec<Param>, ParamError> {
    let mut params = Vec::new();
    for word in s.split(' ').filter(|w| !w.is_empty()) {
        if params.len() == MAX_PARAMS {
            return Err(ParamError);
        }
        let (k, v) = match word.split_once('=') {
            Some((k, v)) => (k, Some(v.to_string())),
            None => (word, None),
        };
        let key_ok = !k.is_empty()
            && k.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !key_ok {
            return Err(ParamError);
        }
        params.push(Param {
            key: k.to_ascii_uppercase(),
            value: v,
        });
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<String, PathError> {
        parse_path(s, true).map(|(p, _)| p.address())
    }

    #[test]
    fn plain_and_null() {
        assert_eq!(p("<a@b.example>").unwrap(), "a@b.example");
        assert_eq!(p("<>").unwrap(), "");
        assert_eq!(parse_path("<>", false), Err(PathError::LocalPart));
        assert_eq!(p("<Postmaster>").unwrap(), "Postmaster");
    }

    #[test]
    fn source_route_is_dropped() {
        assert_eq!(
            p("<@relay.example,@other.example:user@dest.example>").unwrap(),
            "user@dest.example"
        );
        assert_eq!(p("<@bad_host:user@dest.example>"), Err(PathError::Domain));
        assert_eq!(
            p("<@relay.example user@dest.example>"),
            Err(PathError::Domain)
        );
    }

    #[test]
    fn percent_hack_and_quotes_stay_addresses() {
        assert_eq!(
            p("<user%victim.example@contoso.com>").unwrap(),
            "user%victim.example@contoso.com"
        );
        assert_eq!(
            p("<\"john doe@x\"@contoso.com>").unwrap(),
            "\"john doe@x\"@contoso.com"
        );
        assert_eq!(
            p("<\"a>b\"@c.example> SIZE=1").unwrap(),
            "\"a>b\"@c.example"
        );
    }

    #[test]
    fn rejects_garbage() {
        use PathError::*;
        for (path, why) in [
            ("a@b", Brackets),
            ("<a@b", Brackets),
            ("<a..b@c>", LocalPart),
            ("<a b@c>", LocalPart),
            ("<\"open@c>", Brackets),
            ("<a@-b.example>", Domain),
            ("<a@[999.1.1.1]>", Domain),
            ("<nobody>", Domain),
        ] {
            assert_eq!(p(path), Err(why), "{path}");
        }
        assert!(p("<a@[IPv6:::1]>").is_ok());
        let long_local = format!("<{}@example.com>", "a".repeat(65));
        assert_eq!(p(&long_local), Err(LocalPart));
        let long_path = format!("<a@{}.example>", "b.".repeat(130));
        assert_eq!(p(&long_path), Err(TooLong));
    }

    #[test]
    fn params() {
        let v = parse_params(" SIZE=100 body=8BITMIME SMTPUTF8").unwrap();
        assert_eq!(
            v[0],
            Param {
                key: "SIZE".into(),
                value: Some("100".into())
            }
        );
        assert_eq!(v[1].key, "BODY");
        assert_eq!(
            v[2],
            Param {
                key: "SMTPUTF8".into(),
                value: None
            }
        );
        assert_eq!(parse_params("=x"), Err(ParamError));
        assert_eq!(parse_params("-X=1"), Err(ParamError));
    }
}
