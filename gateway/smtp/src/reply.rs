//! SMTP replies: parsing what the downstream server says, and formatting what we say.
//!
//! Every reply cordon sends after the greeting and EHLO carries an enhanced status code
//! (RFC 2034, RFC 3463). Replies relayed from downstream keep its code, enhanced code and text;
//! when the downstream gave no enhanced code, the generic one for the class (`X.0.0`) is added.

use std::fmt;

use crate::{MAX_REPLY_LINE, MAX_REPLY_LINES};

/// RFC 5321 section 4.5.3.1.5: a reply line is at most 512 octets including CRLF; relayed text is
/// cut to fit.
pub const MAX_OUT_REPLY_LINE: usize = 512;

/// An enhanced status code `class.subject.detail` (RFC 3463).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enhanced(pub u8, pub u16, pub u16);

impl fmt::Display for Enhanced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// A complete (possibly multi-line) reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub enhanced: Option<Enhanced>,
    /// The text of each line, without code and enhanced code.
    pub lines: Vec<String>,
}

/// Why a downstream reply could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error("reply line is not `NNN text`")]
    Syntax,
    #[error("reply lines disagree on the code")]
    CodeMismatch,
    #[error("reply line longer than {MAX_REPLY_LINE} octets")]
    LineTooLong,
    #[error("reply has more than {MAX_REPLY_LINES} lines")]
    TooManyLines,
}

impl Reply {
    /// A one-line reply with an enhanced code.
    pub fn new(code: u16, enhanced: Enhanced, text: impl Into<String>) -> Reply {
        Reply {
            code,
            enhanced: Some(enhanced),
            lines: vec![text.into()],
        }
    }

    /// A reply without enhanced code, used only for the greeting and EHLO (RFC 2034 section 3).
    pub fn plain(code: u16, lines: Vec<String>) -> Reply {
        Reply {
            code,
            enhanced: None,
            lines,
        }
    }

    /// The reply class digit: 2, 3, 4 or 5.
    pub fn class(&self) -> u16 {
        self.code / 100
    }

    pub fn is_positive(&self) -> bool {
        self.class() == 2
    }

    pub fn is_intermediate(&self) -> bool {
        self.class() == 3
    }

    pub fn is_transient(&self) -> bool {
        self.class() == 4
    }

    /// The enhanced code to show: the reply's own or the class's generic one.
    pub fn enhanced_or_default(&self) -> Enhanced {
        self.enhanced.unwrap_or(Enhanced(self.class() as u8, 0, 0))
    }

    /// Appends the wire form with an enhanced code on every line (RFC 2034 requires it on each
    /// line of a multi-line reply).
    pub fn write_enhanced(&self, out: &mut Vec<u8>) {
        let enh = self.enhanced_or_default();
        self.write_lines(out, Some(enh));
    }

    /// Appends the wire form without enhanced codes (greeting, EHLO).
    pub fn write_plain(&self, out: &mut Vec<u8>) {
        self.write_lines(out, None);
    }

    fn write_lines(&self, out: &mut Vec<u8>, enh: Option<Enhanced>) {
        use std::io::Write;
        let n = self.lines.len().max(1);
        for i in 0..n {
            let mut text = self.lines.get(i).map(String::as_str).unwrap_or("");
            // "250-" + "2.0.0 " + text + CRLF must fit; cut at a character boundary.
            let room =
                MAX_OUT_REPLY_LINE - 4 - 2 - enh.map(|e| e.to_string().len() + 1).unwrap_or(0);
            if text.len() > room {
                let mut cut = room;
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                text = &text[..cut];
            }
            let sep = if i + 1 == n { ' ' } else { '-' };
            // Writing into a Vec cannot fail. An empty text leaves no trailing space
            // (`250\r\n`, `250 2.0.0\r\n`): RFC 5321 4.2's textstring is optional, and so is
            // the space before it.
            let _ = match (enh, text.is_empty()) {
                (Some(e), false) => write!(out, "{}{}{} {}\r\n", self.code, sep, e, text),
                (Some(e), true) => write!(out, "{}{}{}\r\n", self.code, sep, e),
                (None, true) if sep == ' ' => write!(out, "{}\r\n", self.code),
                (None, _) => write!(out, "{}{}{}\r\n", self.code, sep, text),
            };
        }
    }

    /// The reply on one line, for logs.
    pub fn summary(&self) -> String {
        let mut s = format!("{}", self.code);
        if let Some(e) = self.enhanced {
            s.push_str(&format!(" {e}"));
        }
        for l in &self.lines {
            s.push(' ');
            s.push_str(l);
        }
        s
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary())
    }
}

/// Why a configured reply line (a policy's `reply`, `on_loop`) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid SMTP reply {reply:?}: {reason}")]
pub struct ReplyLineError {
    /// The reply as written.
    pub reply: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// Parses a one-line refusal written by an administrator, `550 5.7.1 Some text`: the code must
/// be 4xx or 5xx, the enhanced code (RFC 3463) must agree with its class, the text must be
/// printable ASCII and present, and the line must fit [`MAX_OUT_REPLY_LINE`] with its CRLF.
pub fn parse_reply_line(line: &str) -> Result<Reply, ReplyLineError> {
    let bad = |reason| ReplyLineError {
        reply: line.to_string(),
        reason,
    };
    if line.len() + 2 > MAX_OUT_REPLY_LINE {
        return Err(bad("longer than 510 octets (RFC 5321 4.5.3.1.5)"));
    }
    if !line.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(bad("only printable ASCII is allowed (no CR, LF or 8-bit)"));
    }
    let b = line.as_bytes();
    if b.len() < 3 || !b[..3].iter().all(u8::is_ascii_digit) {
        return Err(bad("must start with a three-digit code"));
    }
    let code: u16 = line[..3].parse().map_err(|_| bad("bad code"))?;
    if !matches!(b[0], b'4' | b'5') || b[1] > b'5' {
        return Err(bad("code must be 4xx or 5xx with a second digit 0-5"));
    }
    if b.get(3) != Some(&b' ') {
        return Err(bad("code must be followed by a space and an enhanced code"));
    }
    let rest = &line[4..];
    let (enh, text) = rest.split_once(' ').unwrap_or((rest, ""));
    let mut parts = enh.split('.');
    let (Some(class), Some(subject), Some(detail), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad(
            "enhanced code must be class.subject.detail, e.g. 5.7.1",
        ));
    };
    let num = |s: &str, max_digits: usize| -> Option<u16> {
        if s.is_empty() || s.len() > max_digits || !s.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let (Some(class), Some(subject), Some(detail)) =
        (num(class, 1), num(subject, 3), num(detail, 3))
    else {
        return Err(bad(
            "enhanced code must be digits: class.subject.detail (RFC 3463)",
        ));
    };
    if u16::from(b[0] - b'0') != class {
        return Err(bad(
            "enhanced class must match the code (4.x.x with 4xx, 5.x.x with 5xx)",
        ));
    }
    let text = text.trim();
    if text.is_empty() {
        return Err(bad("text is missing"));
    }
    Ok(Reply::new(
        code,
        Enhanced(class as u8, subject, detail),
        text,
    ))
}

/// Parses one complete reply from the start of `buf`.
///
/// Returns `Ok(None)` when more input is needed, or the reply and the number of octets it used.
pub fn parse_reply(buf: &[u8]) -> Result<Option<(Reply, usize)>, ReplyError> {
    let mut pos = 0;
    let mut code = None;
    let mut enhanced = None;
    let mut lines = Vec::new();
    loop {
        let rest = &buf[pos..];
        let Some(nl) = memchr::memchr(b'\n', rest) else {
            if rest.len() > MAX_REPLY_LINE {
                return Err(ReplyError::LineTooLong);
            }
            return Ok(None);
        };
        if nl > MAX_REPLY_LINE {
            return Err(ReplyError::LineTooLong);
        }
        // Servers should end lines with CRLF; a lone LF from downstream is tolerated because it
        // cannot smuggle anything into a reply.
        let mut line = &rest[..nl];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        pos += nl + 1;
        if line.len() < 3 || !line[..3].iter().all(u8::is_ascii_digit) {
            return Err(ReplyError::Syntax);
        }
        let this_code = u16::from(line[0] - b'0') * 100
            + u16::from(line[1] - b'0') * 10
            + u16::from(line[2] - b'0');
        if !(200..600).contains(&this_code) || line[1] > b'5' {
            return Err(ReplyError::Syntax);
        }
        if *code.get_or_insert(this_code) != this_code {
            return Err(ReplyError::CodeMismatch);
        }
        let last = match line.get(3) {
            None | Some(b' ') => true,
            Some(b'-') => false,
            Some(_) => return Err(ReplyError::Syntax),
        };
        let text = if line.len() > 4 { &line[4..] } else { &[][..] };
        // Control characters (a lone CR above all) must not travel upstream.
        let text: String = String::from_utf8_lossy(text)
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let (enh, text) = split_enhanced(this_code, &text);
        if enhanced.is_none() {
            enhanced = enh;
        }
        lines.push(text.to_string());
        if lines.len() > MAX_REPLY_LINES {
            return Err(ReplyError::TooManyLines);
        }
        if last {
            return Ok(Some((
                Reply {
                    code: this_code,
                    enhanced,
                    lines,
                },
                pos,
            )));
        }
    }
}

/// Splits a leading enhanced code off a reply text, if it matches the reply's class.
fn split_enhanced(code: u16, text: &str) -> (Option<Enhanced>, &str) {
    let (head, tail) = match text.split_once(' ') {
        Some((h, t)) => (h, t),
        None => (text, ""),
    };
    let mut parts = head.split('.');
    let (Some(a), Some(b), Some(c), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return (None, text);
    };
    let ok = |s: &str, max: usize| {
        !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit())
    };
    if !(ok(a, 1) && ok(b, 3) && ok(c, 3)) {
        return (None, text);
    }
    let class: u8 = a.parse().unwrap_or(0);
    if u16::from(class) != code / 100 {
        return (None, text);
    }
    let (Ok(b), Ok(c)) = (b.parse(), c.parse()) else {
        return (None, text);
    };
    (Some(Enhanced(class, b, c)), tail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_code_is_relayed_without_a_trailing_space() {
        let (r, _) = parse_reply(b"250\r\n").unwrap().unwrap();
        let mut out = Vec::new();
        r.write_enhanced(&mut out);
        assert_eq!(out, b"250 2.0.0\r\n");
        out.clear();
        r.write_plain(&mut out);
        assert_eq!(out, b"250\r\n");
        let (r, _) = parse_reply(b"451 4.3.0\r\n").unwrap().unwrap();
        out.clear();
        r.write_enhanced(&mut out);
        assert_eq!(out, b"451 4.3.0\r\n");
    }

    #[test]
    fn single_line_with_enhanced() {
        let (r, n) = parse_reply(b"250 2.1.0 Ok\r\nrest").unwrap().unwrap();
        assert_eq!(n, 14);
        assert_eq!(r.code, 250);
        assert_eq!(r.enhanced, Some(Enhanced(2, 1, 0)));
        assert_eq!(r.lines, vec!["Ok"]);
    }

    #[test]
    fn multi_line_refolded_with_codes() {
        let (r, _) = parse_reply(b"550-5.1.1 first\r\n550-second\r\n550 5.1.1 third\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(r.lines, vec!["first", "second", "third"]);
        let mut out = Vec::new();
        r.write_enhanced(&mut out);
        assert_eq!(
            out,
            b"550-5.1.1 first\r\n550-5.1.1 second\r\n550 5.1.1 third\r\n"
        );
    }

    #[test]
    fn missing_enhanced_gets_class_default() {
        let (r, _) = parse_reply(b"451 try later\r\n").unwrap().unwrap();
        let mut out = Vec::new();
        r.write_enhanced(&mut out);
        assert_eq!(out, b"451 4.0.0 try later\r\n");
    }

    #[test]
    fn enhanced_of_wrong_class_is_text() {
        let (r, _) = parse_reply(b"250 5.1.1 odd\r\n").unwrap().unwrap();
        assert_eq!(r.enhanced, None);
        assert_eq!(r.lines, vec!["5.1.1 odd"]);
    }

    #[test]
    fn relayed_lines_fit_512_octets_and_carry_no_controls() {
        let long = format!("250 {}\r\n", "x".repeat(2000));
        let (r, _) = parse_reply(long.as_bytes()).unwrap().unwrap();
        let mut out = Vec::new();
        r.write_enhanced(&mut out);
        assert_eq!(out.len(), MAX_OUT_REPLY_LINE);
        assert!(parse_reply(&out).unwrap().is_some());
        let (r, _) = parse_reply(b"550 a\rb\x01c\r\n").unwrap().unwrap();
        assert_eq!(r.lines, vec!["a b c"]);
    }

    #[test]
    fn configured_reply_lines() {
        let r = parse_reply_line("550 5.7.1 Message blocked").unwrap();
        assert_eq!(
            (r.code, r.enhanced, r.lines),
            (
                550,
                Some(Enhanced(5, 7, 1)),
                vec!["Message blocked".to_string()]
            )
        );
        let r = parse_reply_line("451 4.7.100 Try later").unwrap();
        assert_eq!(
            (r.code, r.enhanced, r.lines),
            (
                451,
                Some(Enhanced(4, 7, 100)),
                vec!["Try later".to_string()]
            )
        );
        assert_eq!(
            parse_reply_line("554 5.4.6 Routing loop detected")
                .unwrap()
                .code,
            554
        );
        const DIGITS: &str = "must start with a three-digit code";
        const CLASS: &str = "code must be 4xx or 5xx with a second digit 0-5";
        const SPACE: &str = "code must be followed by a space and an enhanced code";
        const PARTS: &str = "enhanced code must be class.subject.detail, e.g. 5.7.1";
        const ENH_DIGITS: &str = "enhanced code must be digits: class.subject.detail (RFC 3463)";
        const MATCH: &str = "enhanced class must match the code (4.x.x with 4xx, 5.x.x with 5xx)";
        const TEXT: &str = "text is missing";
        const ASCII: &str = "only printable ASCII is allowed (no CR, LF or 8-bit)";
        for (bad, reason) in [
            ("", DIGITS),
            ("55", DIGITS),
            ("250 2.0.0 ok", CLASS),
            ("550", SPACE),
            ("550 ", PARTS),
            ("550 5.7.1", TEXT),
            ("550 5.7.1 ", TEXT),
            ("550 4.7.1 class mismatch", MATCH),
            ("550 5.7 two parts", PARTS),
            ("550 5.7.1.2 four parts", PARTS),
            ("550 5.x.1 letters", ENH_DIGITS),
            ("550 5.7.1000 too long", ENH_DIGITS),
            ("5505.7.1 no space", SPACE),
            ("560 5.7.1 second digit", CLASS),
            ("550 5.7.1 bad\r\nRCPT TO:<x>", ASCII),
            ("550 5.7.1 caf\u{e9}", ASCII),
            ("abc 5.7.1 text", DIGITS),
        ] {
            assert_eq!(
                parse_reply_line(bad),
                Err(ReplyLineError {
                    reply: bad.to_string(),
                    reason
                }),
                "{bad:?}"
            );
        }
        let long = format!("550 5.7.1 {}", "x".repeat(600));
        let e = parse_reply_line(&long).unwrap_err();
        assert!(e.to_string().contains("510"), "{e}");
    }

    #[test]
    fn incomplete_and_bad() {
        assert_eq!(parse_reply(b"250-a\r\n250 b").unwrap(), None);
        assert_eq!(parse_reply(b"xyz\r\n"), Err(ReplyError::Syntax));
        assert_eq!(
            parse_reply(b"250-a\r\n251 b\r\n"),
            Err(ReplyError::CodeMismatch)
        );
        assert_eq!(parse_reply(b"199 no\r\n"), Err(ReplyError::Syntax));
        assert_eq!(parse_reply(b"250\r\n").unwrap().unwrap().0.lines, vec![""]);
    }
}
