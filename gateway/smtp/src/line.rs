//! Finding command lines in an input buffer.
//!
//! Only CRLF ends a line. A bare LF or a bare CR is reported rather than tolerated: accepting
//! them is what makes SMTP smuggling possible when the next hop reads lines differently.

/// What the start of a buffer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEvent {
    /// A complete line of `len` octets including its CRLF.
    Line { len: usize },
    /// No complete line yet and nothing wrong so far.
    Incomplete,
    /// The line is longer than the limit; the caller discards input up to the next LF
    /// (see [`discard_to_lf`]) and answers with a 5xx.
    TooLong,
    /// An LF not preceded by CR.
    BareLf,
    /// A CR not followed by LF.
    BareCr,
}

/// Looks for the first line in `buf`, allowing at most `max` octets including CRLF.
pub fn next_line(buf: &[u8], max: usize) -> LineEvent {
    let window = &buf[..buf.len().min(max)];
    match memchr::memchr(b'\n', window) {
        Some(0) => LineEvent::BareLf,
        Some(i) => {
            if window[i - 1] != b'\r' {
                return LineEvent::BareLf;
            }
            if memchr::memchr(b'\r', &window[..i - 1]).is_some() {
                return LineEvent::BareCr;
            }
            LineEvent::Line { len: i + 1 }
        }
        None => {
            // A CR anywhere but in the last position is followed by something other than LF.
            if let Some(cr) = memchr::memchr(b'\r', window) {
                if cr + 1 < window.len() {
                    return LineEvent::BareCr;
                }
            }
            if buf.len() >= max {
                LineEvent::TooLong
            } else {
                LineEvent::Incomplete
            }
        }
    }
}

/// For an over-long line: how many octets to drop so that the buffer starts after the next LF,
/// or `None` when the whole buffer is still part of the long line.
pub fn discard_to_lf(buf: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', buf).map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_line() {
        assert_eq!(next_line(b"NOOP\r\nQUIT", 512), LineEvent::Line { len: 6 });
    }

    #[test]
    fn incomplete_line() {
        assert_eq!(next_line(b"NOO", 512), LineEvent::Incomplete);
        assert_eq!(next_line(b"NOOP\r", 512), LineEvent::Incomplete);
    }

    #[test]
    fn bare_lf_and_cr() {
        assert_eq!(next_line(b"NOOP\n", 512), LineEvent::BareLf);
        assert_eq!(next_line(b"\n", 512), LineEvent::BareLf);
        assert_eq!(next_line(b"NO\rOP\r\n", 512), LineEvent::BareCr);
        assert_eq!(next_line(b"NO\rOP", 512), LineEvent::BareCr);
    }

    #[test]
    fn too_long() {
        let long = vec![b'A'; 600];
        assert_eq!(next_line(&long, 512), LineEvent::TooLong);
        let mut exact = vec![b'A'; 510];
        exact.extend_from_slice(b"\r\n");
        assert_eq!(next_line(&exact, 512), LineEvent::Line { len: 512 });
        let mut over = vec![b'A'; 511];
        over.extend_from_slice(b"\r\n");
        assert_eq!(next_line(&over, 512), LineEvent::TooLong);
        assert_eq!(discard_to_lf(&over), Some(513));
    }
}
