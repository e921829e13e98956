//! UTF-7 (RFC 2152), the one mail charset encoding_rs does not decode.
//!
//! The WHATWG Encoding Standard, which encoding_rs implements, leaves UTF-7 out because
//! browsers must not decode it; mail may still declare it (RFC 2152 was written for mail),
//! and a text part in `charset=utf-7` writes `4556` as `+ADQ-556`: before this decoder the
//! part was reported `unknown_charset` and its digits went unread. Hand-written because no
//! maintained crate decodes RFC 2152 as a stream (`utf7-imap` is RFC 3501's modified form
//! for mailbox names, on whole strings); it is a small state machine: direct characters as
//! they are, and between `+` and the first byte outside the base64 alphabet, 6-bit groups
//! gathered into UTF-16 code units. `+-` is a literal `+`; a `-` that ends a base64 run is
//! absorbed. Bytes above 0x7F (never valid UTF-7) and unpaired surrogates become U+FFFD, so
//! the output is always UTF-8.

/// The decoder's state between feeds.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Utf7 {
    in_base64: bool,
    /// No base64 character yet since the `+` (so `+-` is a literal plus).
    just_opened: bool,
    bits: u32,
    nbits: u32,
    /// A high surrogate waiting for its low half.
    high: Option<u16>,
}

const REPLACEMENT: &[u8] = "\u{FFFD}".as_bytes();

fn base64_value(b: u8) -> Option<u32> {
    Some(u32::from(match b {
        b'A'..=b'Z' => b - b'A',
        b'a'..=b'z' => b - b'a' + 26,
        b'0'..=b'9' => b - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    }))
}

/// Output gathered in a small buffer and handed on in runs.
struct Out<'a> {
    buf: [u8; 256],
    n: usize,
    sink: &'a mut dyn FnMut(&[u8]),
}

impl Out<'_> {
    fn push(&mut self, b: &[u8]) {
        if self.n + b.len() > self.buf.len() {
            self.flush();
        }
        self.buf[self.n..self.n + b.len()].copy_from_slice(b);
        self.n += b.len();
    }

    fn char(&mut self, c: char) {
        let mut tmp = [0u8; 4];
        self.push(c.encode_utf8(&mut tmp).as_bytes());
    }

    fn flush(&mut self) {
        if self.n > 0 {
            (self.sink)(&self.buf[..self.n]);
            self.n = 0;
        }
    }
}

impl Utf7 {
    /// Decodes `src` (a piece of the part, cut anywhere) to UTF-8 for `sink`; `last` ends the
    /// part, and a surrogate still waiting for its pair is then U+FFFD.
    pub(crate) fn feed(&mut self, src: &[u8], last: bool, sink: &mut dyn FnMut(&[u8])) {
        let mut out = Out {
            buf: [0; 256],
            n: 0,
            sink,
        };
        for &b in src {
            if self.in_base64 {
                if let Some(v) = base64_value(b) {
                    self.just_opened = false;
                    self.bits = (self.bits << 6 | v) & 0x00FF_FFFF;
                    self.nbits += 6;
                    if self.nbits >= 16 {
                        self.nbits -= 16;
                        let unit = (self.bits >> self.nbits) as u16;
                        self.unit(unit, &mut out);
                    }
                    continue;
                }
                // The run ends here; its leftover bits (fewer than 16) are padding.
                self.in_base64 = false;
                self.bits = 0;
                self.nbits = 0;
                let opened = std::mem::take(&mut self.just_opened);
                if b == b'-' {
                    if opened {
                        out.push(b"+");
                    }
                    continue;
                }
            } else if b == b'+' {
                self.in_base64 = true;
                self.just_opened = true;
                continue;
            }
            if self.high.take().is_some() {
                out.push(REPLACEMENT);
            }
            if b < 0x80 {
                out.push(&[b]);
            } else {
                out.push(REPLACEMENT);
            }
        }
        if last {
            if self.high.take().is_some() {
                out.push(REPLACEMENT);
            }
            *self = Utf7::default();
        }
        out.flush();
    }

    fn unit(&mut self, u: u16, out: &mut Out<'_>) {
        if let Some(h) = self.high.take() {
            if (0xDC00..0xE000).contains(&u) {
                let c = 0x10000 + ((u32::from(h) - 0xD800) << 10) + (u32::from(u) - 0xDC00);
                out.char(char::from_u32(c).unwrap_or('\u{FFFD}'));
                return;
            }
            out.push(REPLACEMENT);
        }
        match u {
            0xD800..=0xDBFF => self.high = Some(u),
            0xDC00..=0xDFFF => out.push(REPLACEMENT),
            _ => out.char(char::from_u32(u32::from(u)).unwrap_or('\u{FFFD}')),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(src: &[u8], cut: usize) -> String {
        let mut d = Utf7::default();
        let mut v = Vec::new();
        let (a, b) = src.split_at(cut.min(src.len()));
        d.feed(a, false, &mut |s| v.extend_from_slice(s));
        d.feed(b, true, &mut |s| v.extend_from_slice(s));
        String::from_utf8(v).expect("always UTF-8")
    }

    /// RFC 2152's examples and the cases around `+` and `-`, at every cut.
    #[test]
    fn rfc_2152_examples_at_every_cut() {
        let cases: &[(&[u8], &str)] = &[
            (b"A+ImIDkQ.", "A\u{2262}\u{391}."),
            (b"Hi Mom -+Jjo--!", "Hi Mom -\u{263A}-!"),
            (b"+ZeVnLIqe-", "\u{65E5}\u{672C}\u{8A9E}"),
            (b"1 +- 1 = 2", "1 + 1 = 2"),
            (b"card +ADQ-556 7375", "card 4556 7375"),
            (b"+ADQANQA1ADY-", "4556"),
            (b"+2D3eAA-", "\u{1F600}"),
            (b"x+AGE y", "xa y"),
            (b"+2D0-x", "\u{FFFD}x"),
            (b"+3gA-", "\u{FFFD}"),
            (b"caf\xe9", "caf\u{FFFD}"),
            (b"+2D0", "\u{FFFD}"),
        ];
        for (src, want) in cases {
            for cut in 0..=src.len() {
                assert_eq!(decode(src, cut), *want, "{src:?} cut at {cut}");
            }
        }
    }

    /// Python's encoder (the reference writer) agrees: text encoded by
    /// `str.encode("utf-7")` (Python 3.11.7) decodes back: runs ended by a space, not `-`.
    #[test]
    fn decodes_what_python_writes() {
        // "Visa 4556 7375 8689 9855 – Grüße 日本 😀".encode("utf-7")
        let src = b"Visa 4556 7375 8689 9855 +IBM Gr+APwA3w-e +ZeVnLA +2D3eAA-";
        assert_eq!(
            decode(src, 7),
            "Visa 4556 7375 8689 9855 \u{2013} Gr\u{fc}\u{df}e \u{65e5}\u{672c} \u{1F600}"
        );
    }
}
