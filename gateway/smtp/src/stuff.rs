//! Dot-stuffing for the downstream DATA leg (RFC 5321 section 4.5.2).

/// Streams a message into its DATA form; keeps the line position across calls.
#[derive(Debug, Clone)]
pub struct Stuffer {
    at_line_start: bool,
}

impl Default for Stuffer {
    fn default() -> Self {
        Stuffer {
            at_line_start: true,
        }
    }
}

impl Stuffer {
    /// Appends `input` to `out`, doubling every dot that starts a line.
    pub fn stuff(&mut self, mut input: &[u8], out: &mut Vec<u8>) {
        while !input.is_empty() {
            if self.at_line_start && input[0] == b'.' {
                out.push(b'.');
            }
            match memchr::memchr(b'\n', input) {
                Some(i) => {
                    out.extend_from_slice(&input[..=i]);
                    input = &input[i + 1..];
                    self.at_line_start = true;
                }
                None => {
                    out.extend_from_slice(input);
                    self.at_line_start = false;
                    return;
                }
            }
        }
    }

    /// Appends the end-of-data marker, completing an unterminated last line first (a BDAT
    /// message may end without CRLF; RFC 3030 section 3 requires the CRLF when converting).
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.at_line_start {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
        self.at_line_start = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{BodyReceiver, Progress};

    #[test]
    fn stuffs_and_roundtrips_through_receiver() {
        let msg = b".a\r\nb\r\n..c\r\n.\r\nend";
        for split in 0..msg.len() {
            let mut s = Stuffer::default();
            let mut wire = Vec::new();
            s.stuff(&msg[..split], &mut wire);
            s.stuff(&msg[split..], &mut wire);
            s.finish(&mut wire);
            let mut r = BodyReceiver::data(100);
            let mut back = Vec::new();
            assert_eq!(
                r.ingest(&wire, &mut back),
                Progress::Done {
                    consumed: wire.len()
                }
            );
            let mut expect = msg.to_vec();
            expect.extend_from_slice(b"\r\n");
            assert_eq!(back, expect);
        }
    }
}
