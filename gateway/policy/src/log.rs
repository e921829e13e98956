//! Message-derived text on a log line: escaped and capped.
//!
//! A Subject, sender or sample comes from the sender of the message. Written raw, an RFC 2047
//! encoded newline in a Subject would start a forged log line (log injection), and a folded
//! 30 MB Subject would make one 30 MB line. Every message-derived field of a log event goes
//! through [`LogSafe`].

use std::fmt;

/// Octets of one field written to a log line; the fields an event carries are few and each is
/// already bounded in the incident record, so a line stays under [`MAX_LOG_LINE`].
pub const MAX_LOG_FIELD: usize = 1024;

/// The longest log line cordon writes (documented in docs/config.md, `[log]`).
pub const MAX_LOG_LINE: usize = 16 << 10;

/// Displays a string with control characters and backslashes escaped (`\n`, `\r`, `\t`, `\\`,
/// `\u{1b}`) and cut after [`MAX_LOG_FIELD`] octets of output with `...`.
#[derive(Debug, Clone, Copy)]
pub struct LogSafe<'a>(pub &'a str);

impl fmt::Display for LogSafe<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut written = 0;
        for c in self.0.chars() {
            let mut buf = [0u8; 12];
            let piece: &str = match c {
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                '\\' => "\\\\",
                c if c.is_control() => {
                    use std::io::Write;
                    let mut cur = std::io::Cursor::new(&mut buf[..]);
                    let _ = write!(cur, "\\u{{{:x}}}", c as u32);
                    let n = cur.position() as usize;
                    std::str::from_utf8(&buf[..n]).unwrap_or("?")
                }
                c => c.encode_utf8(&mut buf),
            };
            if written + piece.len() > MAX_LOG_FIELD {
                return f.write_str("...");
            }
            f.write_str(piece)?;
            written += piece.len();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped_and_long_fields_cut() {
        assert_eq!(
            LogSafe("a\nb\r\tc\\d\u{1b}[31m\u{0}é").to_string(),
            "a\\nb\\r\\tc\\\\d\\u{1b}[31m\\u{0}é"
        );
        let long = "x".repeat(10 * MAX_LOG_FIELD);
        let out = LogSafe(&long).to_string();
        assert_eq!(out.len(), MAX_LOG_FIELD + 3);
        assert!(out.ends_with("..."));
        // A forged line cannot start: no newline survives.
        assert!(!LogSafe("s\n2026-12-04T00:00:00Z INFO forged")
            .to_string()
            .contains('\n'));
    }
}
