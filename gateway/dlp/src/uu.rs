//! uuencoded blocks in text, read as the text they encode.
//!
//! uuencode is how mail carried files before MIME, and every `uudecode`, mail archive
//! reader and several clients still open it: a part declared `x-uuencode` (which MIME
//! readers pass through as it is) or a `begin 644 name` block in a plain body showed the
//! detectors only its punctuation. Every segment's folded text ([`crate::text`]) also passes
//! through [`Uu`]: a line `begin` + octal mode + name starts a block, each line after it is
//! decoded by its length character, `end` (or a line that is not uuencode) ends it, and the
//! first [`crate::blob::JUDGE_BYTES`] decoded bytes decide as for base64 ([`crate::blob`]):
//! text goes on into the same window, anything else (an encoded program or archive) is
//! dropped.
//!
//! Hand-written: the format is a dozen lines of arithmetic, and the crates that decode it
//! want whole inputs; this one streams a line at a time in fixed memory, and finds `begin `
//! with memchr's SIMD search so text without a block costs a search.

use memchr::memmem;

use crate::blob::{is_text, JUDGE_BYTES};

/// Longest line kept: a uuencoded line is at most 61 characters (`M` and 60), 80 allows
/// writers that pad or add a checksum character. A longer line ends the block.
const MAX_LINE_BYTES: usize = 80;
/// What starts a block (at the start of a line).
const BEGIN: &[u8] = b"begin ";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Looking for `begin ` at a line start.
    Seek,
    /// In the `begin` line: checking the mode, then up to its end.
    Header,
    /// Reading body lines.
    Body,
}

/// The streaming reader of uuencoded blocks (see the module documentation).
#[derive(Clone)]
pub(crate) struct Uu {
    state: State,
    /// The last byte seen was a line break (or nothing was seen yet).
    at_line_start: bool,
    /// Bytes of `begin ` matched at a line start, across feeds.
    begin_len: usize,
    /// In the header: octal digits of the mode seen, then whether the mode ended well.
    mode_digits: usize,
    mode_done: bool,
    line: [u8; MAX_LINE_BYTES],
    line_len: usize,
    line_long: bool,
    /// Decoded bytes until judged; then whether they were text.
    judge: [u8; JUDGE_BYTES],
    judge_len: usize,
    text: bool,
    binary: bool,
}

impl Default for Uu {
    fn default() -> Uu {
        Uu {
            state: State::Seek,
            at_line_start: true,
            begin_len: 0,
            mode_digits: 0,
            mode_done: false,
            line: [0; MAX_LINE_BYTES],
            line_len: 0,
            line_long: false,
            judge: [0; JUDGE_BYTES],
            judge_len: 0,
            text: false,
            binary: false,
        }
    }
}

impl Uu {
    pub(crate) fn reset(&mut self) {
        *self = Uu::default();
    }

    /// Text in; decoded text of the blocks that hold text to `out`.
    pub(crate) fn feed(&mut self, data: &[u8], out: &mut dyn FnMut(&[u8])) {
        let mut i = 0;
        while i < data.len() {
            match self.state {
                State::Seek => i = self.seek(data, i),
                State::Header => {
                    let b = data[i];
                    i += 1;
                    self.header(b);
                }
                State::Body => {
                    let b = data[i];
                    i += 1;
                    self.body(b, out);
                }
            }
        }
    }

    /// End of the segment: a block cut off by it ends.
    pub(crate) fn finish(&mut self, out: &mut dyn FnMut(&[u8])) {
        if self.state == State::Body && self.line_len > 0 && !self.line_long {
            self.body_line(out);
        }
        self.end_block(out);
        self.reset();
    }

    /// Finds the next `begin ` at a line start from `i`; returns where reading goes on.
    fn seek(&mut self, data: &[u8], mut i: usize) -> usize {
        // A match begun at the end of the last feed.
        while self.begin_len > 0 && i < data.len() {
            if data[i] == BEGIN[self.begin_len] {
                self.begin_len += 1;
                i += 1;
                if self.begin_len == BEGIN.len() {
                    self.begin_len = 0;
                    self.start_header();
                    return i;
                }
            } else {
                self.begin_len = 0;
                self.at_line_start = false;
            }
        }
        if i >= data.len() {
            return i;
        }
        let rest = &data[i..];
        let finder = memmem::Finder::new(BEGIN);
        for p in finder.find_iter(rest) {
            let line_start = if p == 0 {
                self.at_line_start
            } else {
                rest[p - 1] == b'\n'
            };
            if line_start {
                self.start_header();
                return i + p + BEGIN.len();
            }
        }
        // No block here: remember a line start at the end, and a `begin ` cut by it.
        for k in (1..BEGIN.len()).rev() {
            if rest.len() >= k && rest.ends_with(&BEGIN[..k]) {
                let before = rest.len() - k;
                let ls = if before == 0 {
                    self.at_line_start
                } else {
                    rest[before - 1] == b'\n'
                };
                if ls {
                    self.begin_len = k;
                    return data.len();
                }
            }
        }
        self.at_line_start = rest.last() == Some(&b'\n');
        data.len()
    }

    fn start_header(&mut self) {
        self.state = State::Header;
        self.mode_digits = 0;
        self.mode_done = false;
    }

    /// `begin` + space + three or four octal digits + space + a name.
    fn header(&mut self, b: u8) {
        if b == b'\n' {
            self.state = if self.mode_done {
                State::Body
            } else {
                State::Seek
            };
            self.at_line_start = true;
            self.line_len = 0;
            self.line_long = false;
            return;
        }
        if self.mode_done || self.state != State::Header {
            return;
        }
        match b {
            b'0'..=b'7' if self.mode_digits < 4 => self.mode_digits += 1,
            b' ' if self.mode_digits >= 3 => self.mode_done = true,
            _ => {
                // Not a uuencode header ("begin with the end in mind"): back to seeking.
                self.state = State::Seek;
                self.at_line_start = false;
            }
        }
    }

    fn body(&mut self, b: u8, out: &mut dyn FnMut(&[u8])) {
        if b == b'\n' {
            if self.line_long {
                self.end_block(out);
                self.state = State::Seek;
                self.at_line_start = true;
                return;
            }
            self.body_line(out);
            self.line_len = 0;
            return;
        }
        if self.line_len == MAX_LINE_BYTES {
            self.line_long = true;
        } else {
            self.line[self.line_len] = b;
            self.line_len += 1;
        }
    }

    /// One body line: `end`, an empty line, or a length character and its groups.
    fn body_line(&mut self, out: &mut dyn FnMut(&[u8])) {
        let mut line = &self.line[..self.line_len];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        if line == b"end" {
            self.end_block(out);
            self.state = State::Seek;
            self.at_line_start = true;
            return;
        }
        let Some((&len_char, groups)) = line.split_first() else {
            return;
        };
        if !(0x20..=0x60).contains(&len_char) || groups.iter().any(|&c| !(0x20..=0x60).contains(&c))
        {
            // Not uuencode: the block is over.
            self.end_block(out);
            self.state = State::Seek;
            self.at_line_start = true;
            return;
        }
        let n = usize::from((len_char - 0x20) & 0x3F);
        let mut bytes = [0u8; 64];
        let mut k = 0;
        for g in groups.chunks(4) {
            let v = |j: usize| u32::from((g.get(j).copied().unwrap_or(b'`') - 0x20) & 0x3F);
            let w = (v(0) << 18) | (v(1) << 12) | (v(2) << 6) | v(3);
            for s in [16, 8, 0] {
                if k < n.min(bytes.len()) {
                    bytes[k] = (w >> s) as u8;
                    k += 1;
                }
            }
        }
        self.decoded(&bytes[..k], out);
    }

    fn decoded(&mut self, mut bytes: &[u8], out: &mut dyn FnMut(&[u8])) {
        if self.binary {
            return;
        }
        if !self.text {
            let take = bytes.len().min(JUDGE_BYTES - self.judge_len);
            self.judge[self.judge_len..self.judge_len + take].copy_from_slice(&bytes[..take]);
            self.judge_len += take;
            bytes = &bytes[take..];
            if self.judge_len < JUDGE_BYTES {
                return;
            }
            self.verdict(out);
            if !self.text {
                return;
            }
        }
        out(bytes);
    }

    fn verdict(&mut self, out: &mut dyn FnMut(&[u8])) {
        let (judge, n) = (self.judge, self.judge_len);
        if is_text(&judge[..n]) {
            self.text = true;
            out(&judge[..n]);
        } else {
            self.binary = true;
        }
    }

    fn end_block(&mut self, out: &mut dyn FnMut(&[u8])) {
        if !self.text && !self.binary && self.judge_len > 0 {
            self.verdict(out);
        }
        if self.text {
            out(b"\n");
        }
        self.judge_len = 0;
        self.text = false;
        self.binary = false;
        self.line_len = 0;
        self.line_long = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::picker;

    fn read(data: &[u8], cuts: &[usize]) -> Vec<u8> {
        let mut u = Uu::default();
        let mut got = Vec::new();
        let mut from = 0;
        for &c in cuts.iter().chain(std::iter::once(&data.len())) {
            u.feed(&data[from..c], &mut |d| got.extend_from_slice(d));
            from = c;
        }
        u.finish(&mut |d| got.extend_from_slice(d));
        got
    }

    /// uuencode as `uuencode(1)` and Python's `binascii.b2a_uu` write it (backquote for 0).
    fn uuencode(data: &[u8]) -> String {
        let c = |v: u32| {
            let v = (v & 0x3F) as u8;
            (if v == 0 { b'`' } else { v + 0x20 }) as char
        };
        let mut s = String::from("begin 644 a.txt\n");
        for line in data.chunks(45) {
            s.push(c(line.len() as u32));
            for g in line.chunks(3) {
                let w = (u32::from(g[0]) << 16)
                    | (u32::from(*g.get(1).unwrap_or(&0)) << 8)
                    | u32::from(*g.get(2).unwrap_or(&0));
                for sh in [18, 12, 6, 0] {
                    s.push(c(w >> sh));
                }
            }
            s.push('\n');
        }
        s.push_str("`\nend\n");
        s
    }

    #[test]
    fn python_and_uuencode_blocks_are_decoded() {
        // `python3 -c 'import binascii; print(binascii.b2a_uu(b"card 4556 7375 8689 9855"))'`
        let py = b"begin 644 a.txt\n88V%R9\" T-34V(#<S-S4@.#8X.2 Y.#4U\n`\nend\n";
        assert_eq!(read(py, &[]), b"card 4556 7375 8689 9855\n");
        let text = "Employee SSN 536-22-8190, card 4556 7375 8689 9855.\n".repeat(5);
        let enc = format!(
            "Hi,\r\n\r\n{}\r\nThanks\r\n",
            uuencode(text.as_bytes()).replace('\n', "\r\n")
        );
        assert_eq!(read(enc.as_bytes(), &[]), format!("{text}\n").as_bytes());
        for c in 0..=enc.len() {
            assert_eq!(
                read(enc.as_bytes(), &[c]),
                format!("{text}\n").as_bytes(),
                "cut at {c}"
            );
        }
        let mut below = picker(3);
        for _ in 0..200 {
            let mut cuts: Vec<usize> = (0..5).map(|_| below(enc.len() + 1)).collect();
            cuts.sort_unstable();
            assert_eq!(read(enc.as_bytes(), &cuts), format!("{text}\n").as_bytes());
        }
    }

    #[test]
    fn prose_binary_and_false_starts_give_nothing() {
        assert!(read(
            b"We begin 2027 with a plan.\nbegin with the end in mind\n",
            &[]
        )
        .is_empty());
        assert!(read(b"to begin 644 things mid-line\n", &[]).is_empty());
        let bin = uuencode(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0card 4556 7375 8689 9855");
        assert!(read(bin.as_bytes(), &[]).is_empty());
        // A block whose lines stop being uuencode ends there.
        let mut t =
            uuencode(b"card 4556 7375 8689 9855, and more text here").replace("`\nend\n", "");
        t.push_str("Regards, {Dana}\n");
        assert_eq!(
            read(t.as_bytes(), &[]),
            b"card 4556 7375 8689 9855, and more text here\n"
        );
    }
}
