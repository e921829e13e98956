//! Base64 written into text, read as the text it encodes.
//!
//! A sender who pastes `Q2FyZCA0NTU2IDczNzUgODY4OSA5ODU1` into a mail body, an HTML `data:`
//! URI's payload ([`crate::html_hidden`] hands it over), or a blob copied out of a terminal
//! shows the detectors letters and digits that mean nothing until decoded; any recipient
//! decodes them in one step. Every segment's folded text ([`crate::text`]) also passes
//! through [`Blobs`]:
//! - a run of at least [`MIN_RUN_CHARS`] base64 characters (the standard alphabet and the
//!   URL-safe `-` and `_`; `=` ends a run as padding) is decoded as it streams;
//! - a run continues over a line break when the line before it held at least
//!   [`WRAPPED_LINE_CHARS`] (a blob wrapped at 64 or 76 columns, as `base64` and PEM write it);
//! - the first [`JUDGE_BYTES`] decoded bytes decide: text (printable ASCII, tabs and line
//!   breaks, well-formed UTF-8) goes on into a window of its own, anything else (an image,
//!   an archive, and the long words, hashes and tokens that happen to be base64 characters
//!   and decode to noise) is dropped, so noise never reaches a detector.
//!
//! Not read: base64 inside the decoded text (one level), binary formats encoded inline (an
//! attached ZIP pasted as base64 is dropped as binary), text encoded as UTF-16 (PowerShell's
//! `-EncodedCommand`), and a run that starts mid-word (`abcQ2Fy…` decodes out of step).
//!
//! Hand-written: the runs are found in text already on its way to the window, eight bytes
//! a step with exact SWAR classes, so prose costs one class test per eight bytes; a base64
//! crate decodes whole inputs and would need the run buffered first.

use wide::u8x16;

use crate::detect::swar;

/// Shortest run decoded: 20 characters are 15 bytes (a card number's 16 digits written bare
/// take 22). Shorter runs are words, header names and identifiers, and in mail source each
/// one decoded and judged costs; the text judgement drops the long ones that qualify.
pub const MIN_RUN_CHARS: usize = 20;
/// A line of at least this many base64 characters that ends in a line break is a wrapped
/// blob's line (`base64` wraps at 76, PEM at 64): the run goes on after the break.
pub const WRAPPED_LINE_CHARS: usize = 40;
/// Decoded bytes looked at before any is read as text (a shortest run holds 15).
pub const JUDGE_BYTES: usize = 12;
/// Decoded text handed on at a time.
const OUT_BYTES: usize = 256;

/// The decoding of one character, or [`NOT_B64`].
const NOT_B64: u8 = 0xFF;
const fn b64_values() -> [u8; 256] {
    let mut t = [NOT_B64; 256];
    let mut i = 0;
    while i < 26 {
        t[b'A' as usize + i] = i as u8;
        t[b'a' as usize + i] = 26 + i as u8;
        i += 1;
    }
    let mut d = 0;
    while d < 10 {
        t[b'0' as usize + d] = 52 + d as u8;
        d += 1;
    }
    t[b'+' as usize] = 62;
    t[b'-' as usize] = 62;
    t[b'/' as usize] = 63;
    t[b'_' as usize] = 63;
    t
}
static VALUES: [u8; 256] = b64_values();

/// A block of base64 characters between `before` and `after` (the blocks either side) is
/// part of a run shorter than [`MIN_RUN_CHARS`] that ends inside `after`.
#[inline]
fn short_run(before: u64, after: u64) -> bool {
    let back = (!maybe_b64(before) & swar::HI).leading_zeros() / 8;
    let sep_after = !maybe_b64(after) & swar::HI;
    let fwd = sep_after.trailing_zeros() / 8;
    sep_after != 0 && (back + 8 + fwd) < MIN_RUN_CHARS as u32
}

/// How many base64 characters `data` starts with.
#[inline]
fn class_run(data: &[u8]) -> usize {
    let mut n = 0;
    while let Some(b) = data.get(n..n + 16) {
        let m = b64_mask16(b);
        if m != 0xFFFF {
            return n + (!m).trailing_zeros() as usize;
        }
        n += 16;
    }
    n + data[n..]
        .iter()
        .take_while(|&&c| VALUES[c as usize] != NOT_B64)
        .count()
}

/// The base64 characters (either alphabet) among 16 bytes, a bit each, exact.
#[inline(always)]
fn b64_mask16(b: &[u8]) -> u32 {
    let v = u8x16::from(<[u8; 16]>::try_from(b).expect("16 bytes"));
    let within = |x: u8x16, lo: u8, hi: u8| {
        let d = x - u8x16::splat(lo);
        d.min(u8x16::splat(hi - lo)).simd_eq(d)
    };
    let eq = |c: u8| v.simd_eq(u8x16::splat(c));
    (within(v | u8x16::splat(0x20), b'a', b'z')
        | within(v, b'0', b'9')
        | eq(b'+')
        | eq(b'/')
        | eq(b'-')
        | eq(b'_'))
    .to_bitmask()
}

/// Each block of eight of the 32 bytes holds a byte at or below the space.
#[inline(always)]
fn spaced(b: &[u8]) -> bool {
    swar::any_below(swar::load(b, 0), 0x21)
        & swar::any_below(swar::load(b, 8), 0x21)
        & swar::any_below(swar::load(b, 16), 0x21)
        & swar::any_below(swar::load(b, 24), 0x21)
}

/// A superset of the base64 characters in two range tests, for passing over text: with the case bit
/// set, `+` to `9` and `a` to DEL (letters, `_`, and the rare `[\\]^{|}~` with them), `,` and
/// `.` too. Taking more bytes for base64 only sends more text to the exact reading.
#[inline(always)]
fn maybe_b64(v: u64) -> u64 {
    let f = v | (swar::LO * 0x20);
    swar::range(f, b'+', b'9') | swar::range(f, b'a', 0x7F)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Counting a run too short to decode yet; its characters are in `pend`.
    Count,
    /// Decoding a run; decoded bytes are judged, then handed on.
    Decode,
    /// The run decoded to binary: its remaining characters are passed over.
    Binary,
}

/// The streaming reader of base64 runs (see the module documentation).
#[derive(Clone)]
pub(crate) struct Blobs {
    state: State,
    /// Characters of the current run on the current line.
    line: usize,
    /// A line break ended the last line of a decoding run (`\r` seen, or `\n`).
    brk: bool,
    /// The run's characters while it is shorter than [`MIN_RUN_CHARS`].
    pend: [u8; MIN_RUN_CHARS + 8],
    pend_len: usize,
    /// Bits not yet a whole byte, and how many.
    bits: u32,
    nbits: u32,
    /// The run's first decoded bytes until judged; then whether they were text.
    judge: [u8; JUDGE_BYTES],
    judge_len: usize,
    text: bool,
    /// Decoded text waiting to be handed on.
    out: [u8; OUT_BYTES],
    out_len: usize,
}

impl Default for Blobs {
    fn default() -> Blobs {
        Blobs {
            state: State::Count,
            line: 0,
            brk: false,
            pend: [0; MIN_RUN_CHARS + 8],
            pend_len: 0,
            bits: 0,
            nbits: 0,
            judge: [0; JUDGE_BYTES],
            judge_len: 0,
            text: false,
            out: [0; OUT_BYTES],
            out_len: 0,
        }
    }
}

impl Blobs {
    pub(crate) fn reset(&mut self) {
        *self = Blobs::default();
    }

    /// Text in; decoded text of the runs that qualify to `out`, each run followed by a line
    /// break so that runs never join.
    pub(crate) fn feed(&mut self, data: &[u8], out: &mut dyn FnMut(&[u8])) {
        let mut i = 0;
        // The state (`line`, `pend`) is exact up to here; blocks passed over after it are
        // accounted for when the passing stops.
        let mut synced = 0;
        while i < data.len() {
            if self.state == State::Count {
                // A run of MIN_RUN_CHARS (at least 8 + 7) that starts here covers a whole
                // block of eight on any grid: blocks with a space, a control byte or another
                // separator are passed over, the first test three instructions. A run carried
                // from the last feed is read on one byte at a time.
                if self.line == 0 {
                    while i + 8 <= data.len() {
                        if let Some(b) = data.get(i..i + 32) {
                            // Thirty-two at a time while each block of eight holds a space or
                            // a control byte (prose: nearly always).
                            if spaced(b) {
                                i += 32;
                                continue;
                            }
                        }
                        let v = swar::load(data, i);
                        if swar::any_below(v, 0x21) || maybe_b64(v) != swar::HI {
                            i += 8;
                        } else if i >= synced + 8
                            && i + 16 <= data.len()
                            && short_run(swar::load(data, i - 8), swar::load(data, i + 8))
                        {
                            // A long word: the blocks around it end the run short.
                            i += 8;
                        } else {
                            break;
                        }
                    }
                    self.resync(&data[synced..i], out);
                }
                // The run here (or the feed's last bytes), read exactly: up to the length
                // that starts decoding, else to its separator, which ends it.
                let run = class_run(&data[i..]);
                let take = run.min(MIN_RUN_CHARS.saturating_sub(self.line));
                self.pend_add(&data[i..i + take]);
                i += take;
                if self.line >= MIN_RUN_CHARS {
                    self.start_decoding(out);
                } else if i < data.len() {
                    self.byte(data[i], out);
                    i += 1;
                }
                synced = i;
                continue;
            }
            if let Some(b) = data.get(i..i + 16) {
                // Inside a run: the characters up to the next separator, sixteen bytes a step.
                let run = (!b64_mask16(b)).trailing_zeros() as usize;
                if run > 0 {
                    self.line += run;
                    self.brk = false;
                    if self.state == State::Decode {
                        for &c in &b[..run] {
                            self.decode(VALUES[c as usize], out);
                        }
                    }
                    i += run;
                    synced = i;
                    continue;
                }
            }
            self.byte(data[i], out);
            i += 1;
            synced = i;
        }
    }

    /// Brings the state up to date over `seen`, bytes passed over in blocks that each hold a
    /// separator (or fewer than eight): only the base64 characters at its end count.
    fn resync(&mut self, seen: &[u8], out: &mut dyn FnMut(&[u8])) {
        let tail = seen
            .iter()
            .rev()
            .take_while(|&&b| VALUES[b as usize] != NOT_B64)
            .count();
        if tail < seen.len() {
            self.pend_len = 0;
            self.line = 0;
        }
        self.pend_add(&seen[seen.len() - tail..]);
        if self.line >= MIN_RUN_CHARS {
            self.start_decoding(out);
        }
    }

    /// End of the segment: a run in progress ends.
    pub(crate) fn finish(&mut self, out: &mut dyn FnMut(&[u8])) {
        self.end_run(out);
        self.flush(out);
    }

    fn pend_add(&mut self, b: &[u8]) {
        let take = b.len().min(self.pend.len() - self.pend_len);
        self.pend[self.pend_len..self.pend_len + take].copy_from_slice(&b[..take]);
        self.pend_len += take;
        self.line += b.len();
    }

    fn start_decoding(&mut self, out: &mut dyn FnMut(&[u8])) {
        let (pend, n) = (self.pend, self.pend_len);
        // The run so far (16 to 23 characters) holds the bytes judged: most runs in mail
        // (header names, ids, binary blobs) fail here, before any byte is handed on.
        let mut head = [0u8; JUDGE_BYTES];
        let (mut bits, mut nbits, mut k) = (0u32, 0u32, 0);
        for &c in &pend[..n] {
            bits = (bits << 6) | u32::from(VALUES[c as usize]);
            nbits += 6;
            if nbits >= 8 {
                nbits -= 8;
                head[k] = (bits >> nbits) as u8;
                bits &= (1 << nbits) - 1;
                k += 1;
                if k == JUDGE_BYTES {
                    break;
                }
            }
        }
        if k == JUDGE_BYTES && !is_text(&head) {
            self.state = State::Binary;
            self.pend_len = 0;
            return;
        }
        self.state = State::Decode;
        for &c in &pend[..n] {
            self.decode(VALUES[c as usize], out);
        }
        self.pend_len = 0;
    }

    fn byte(&mut self, b: u8, out: &mut dyn FnMut(&[u8])) {
        let v = VALUES[b as usize];
        match self.state {
            State::Count => {
                if v == NOT_B64 {
                    self.pend_len = 0;
                    self.line = 0;
                } else {
                    self.pend_add(&[b]);
                    if self.line >= MIN_RUN_CHARS {
                        self.start_decoding(out);
                    }
                }
            }
            State::Decode | State::Binary => {
                if v != NOT_B64 {
                    self.brk = false;
                    self.line += 1;
                    if self.state == State::Decode {
                        self.decode(v, out);
                    }
                } else if (b == b'\r' || b == b'\n') && self.line >= WRAPPED_LINE_CHARS {
                    // A wrapped blob's line break: the next line goes on.
                    self.brk = true;
                    if b == b'\n' {
                        self.line = 0;
                    }
                } else if b == b'\n' && self.brk && self.line == 0 {
                    // A second line break (`\r\n` already passed): a blank line ends it.
                    self.end_run(out);
                } else if b == b'\r' && self.brk {
                    // `\r` of the next `\r\n` after a continued line: wait for the `\n`.
                } else {
                    self.end_run(out);
                }
            }
        }
    }

    /// Six bits in; a byte out when eight are there.
    #[inline]
    fn decode(&mut self, v: u8, out: &mut dyn FnMut(&[u8])) {
        self.bits = (self.bits << 6) | u32::from(v);
        self.nbits += 6;
        if self.nbits >= 8 {
            self.nbits -= 8;
            let byte = (self.bits >> self.nbits) as u8;
            self.bits &= (1 << self.nbits) - 1;
            self.decoded(byte, out);
        }
    }

    fn decoded(&mut self, byte: u8, out: &mut dyn FnMut(&[u8])) {
        if self.state == State::Binary {
            return;
        }
        if self.text {
            if self.out_len == OUT_BYTES {
                self.flush(out);
            }
            self.out[self.out_len] = byte;
            self.out_len += 1;
            return;
        }
        self.judge[self.judge_len] = byte;
        self.judge_len += 1;
        if self.judge_len == JUDGE_BYTES {
            self.verdict(out);
        }
    }

    /// Judges the decoded bytes so far: text goes on, anything else ends the reading.
    fn verdict(&mut self, out: &mut dyn FnMut(&[u8])) {
        let (judge, n) = (self.judge, self.judge_len);
        if is_text(&judge[..n]) {
            self.text = true;
            self.flush(out);
            out(&judge[..n]);
        } else {
            self.state = State::Binary;
        }
    }

    fn end_run(&mut self, out: &mut dyn FnMut(&[u8])) {
        if self.state == State::Decode && !self.text && self.judge_len > 0 {
            // A short run, decoded whole before the judgement was due.
            self.verdict(out);
        }
        if self.text {
            if self.out_len == OUT_BYTES {
                self.flush(out);
            }
            self.out[self.out_len] = b'\n';
            self.out_len += 1;
        }
        self.state = State::Count;
        self.line = 0;
        self.brk = false;
        self.pend_len = 0;
        self.bits = 0;
        self.nbits = 0;
        self.judge_len = 0;
        self.text = false;
    }

    fn flush(&mut self, out: &mut dyn FnMut(&[u8])) {
        if self.out_len > 0 {
            out(&self.out[..self.out_len]);
            self.out_len = 0;
        }
    }
}

/// Printable ASCII, tabs and line breaks, and well-formed UTF-8 (a character cut at the end
/// counts as well-formed): what a person wrote, not what a program packed.
pub(crate) fn is_text(b: &[u8]) -> bool {
    b.iter()
        .all(|&c| (c >= 0x20 && c != 0x7F) || matches!(c, b'\t' | b'\r' | b'\n'))
        && match std::str::from_utf8(b) {
            Ok(_) => true,
            Err(e) => e.error_len().is_none(),
        }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::picker;

    fn read(data: &[u8], cuts: &[usize]) -> Vec<u8> {
        let mut b = Blobs::default();
        let mut got = Vec::new();
        let mut from = 0;
        for &c in cuts.iter().chain(std::iter::once(&data.len())) {
            b.feed(&data[from..c], &mut |d| got.extend_from_slice(d));
            from = c;
        }
        b.finish(&mut |d| got.extend_from_slice(d));
        got
    }

    fn b64(s: &[u8]) -> String {
        base64_simd::STANDARD.encode_to_string(s)
    }

    #[test]
    fn the_classes_are_exact_and_the_pass_over_test_takes_more() {
        for b in 0..=255u8 {
            let v = u64::from_le_bytes([b, b'a', 0, 0x80, b, b' ', b'+', b]);
            let exact = b.is_ascii_alphanumeric() || b"+/-_".contains(&b);
            assert_eq!(exact, VALUES[b as usize] != NOT_B64, "{b:#x}");
            if exact {
                assert!(
                    maybe_b64(v) & 0x80 != 0 && maybe_b64(v) >> 56 != 0,
                    "{b:#x}"
                );
            }
            let mut w = [b'@'; 16];
            w[3] = b;
            w[15] = b;
            let want = if exact { 1 << 3 | 1 << 15 } else { 0 };
            assert_eq!(b64_mask16(&w), want, "{b:#x}");
        }
    }

    #[test]
    fn spaced_blocks_are_found_exactly() {
        let mut below = picker(5);
        for _ in 0..20_000 {
            let b: Vec<u8> = (0..32)
                .map(|_| if below(6) == 0 { b' ' } else { b'a' })
                .collect();
            let want = b.chunks(8).all(|c| c.iter().any(|&x| x <= 0x20));
            assert_eq!(spaced(&b), want, "{:?}", String::from_utf8_lossy(&b));
        }
    }

    #[test]
    fn encoded_text_in_prose_is_decoded() {
        let enc = b64(b"Card 4556 7375 8689 9855");
        let text = format!("Hello, here it is: {enc} thanks");
        assert_eq!(read(text.as_bytes(), &[]), b"Card 4556 7375 8689 9855\n");
        // The bare digits: 24 characters with padding.
        let enc = b64(b"4556737586899855");
        assert_eq!(enc.len(), 24);
        let text = format!("n={enc}.");
        assert_eq!(read(text.as_bytes(), &[]), b"4556737586899855\n");
    }

    #[test]
    fn url_safe_alphabet_and_missing_padding() {
        // 0xFB 0xFF in the middle would be `+/` in the standard alphabet.
        let enc = b64("Número 4556 7375 8689 9855 ok".as_bytes())
            .replace('+', "-")
            .replace('/', "_")
            .replace('=', "");
        let got = read(enc.as_bytes(), &[]);
        assert_eq!(got, "Número 4556 7375 8689 9855 ok\n".as_bytes());
    }

    #[test]
    fn words_hashes_and_binary_are_dropped() {
        let prose = b"Donaudampfschifffahrtsgesellschaftskapitaen e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 internationalisation";
        assert!(read(prose, &[]).is_empty());
        let png = b64(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR 4556 7375 8689 9855");
        assert!(read(png.as_bytes(), &[]).is_empty());
        // Runs shorter than the minimum are never decoded.
        let short = b64(b"4556 7375");
        assert!(short.len() < MIN_RUN_CHARS);
        assert!(read(short.as_bytes(), &[]).is_empty());
    }

    #[test]
    fn wrapped_blobs_go_on_and_blank_lines_end_them() {
        let secret =
            "Employee SSN 536-22-8190, card 4556 7375 8689 9855, account 12345678. ".repeat(3);
        let enc = b64(secret.as_bytes());
        let wrapped: Vec<&str> = enc
            .as_bytes()
            .chunks(76)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        for nl in ["\r\n", "\n"] {
            let text = format!("See below:{nl}{nl}{}{nl}{nl}Regards", wrapped.join(nl));
            assert_eq!(
                read(text.as_bytes(), &[]),
                format!("{secret}\n").as_bytes(),
                "{nl:?}"
            );
        }
        // A short line ends a run: the next line is a run of its own.
        let a = b64(b"first line of it");
        let b = b64(b"second line here");
        let text = format!("{a}\n{b}\n");
        assert_eq!(
            read(text.as_bytes(), &[]),
            b"first line of it\nsecond line here\n"
        );
    }

    #[test]
    fn any_cut_gives_the_same_text() {
        let secret = "Card 4556 7375 8689 9855 / SSN 536-22-8190 ".repeat(4);
        let enc = b64(secret.as_bytes());
        let wrapped = enc
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join("\r\n");
        let text = format!(
            "Dear team, the file: {wrapped}\r\n\r\nand n={} plus words_like-this-one-here.",
            b64(b"4556737586899855")
        );
        let whole = read(text.as_bytes(), &[]);
        assert_eq!(
            whole,
            format!("{secret}\n4556737586899855\n").as_bytes(),
            "{}",
            String::from_utf8_lossy(&whole)
        );
        for c in 0..=text.len() {
            assert_eq!(read(text.as_bytes(), &[c]), whole, "cut at {c}");
        }
        let mut below = picker(7);
        for _ in 0..200 {
            let mut cuts: Vec<usize> = (0..6).map(|_| below(text.len() + 1)).collect();
            cuts.sort_unstable();
            assert_eq!(read(text.as_bytes(), &cuts), whole, "cuts {cuts:?}");
        }
    }

    #[test]
    fn the_fast_path_reads_what_bytes_one_by_one_read() {
        let mut below = picker(11);
        let alphabet = b"ab+/=-_ \n\r.Q9";
        for _ in 0..5_000 {
            let len = below(200);
            let mut text: Vec<u8> = (0..len).map(|_| alphabet[below(alphabet.len())]).collect();
            if below(2) == 0 {
                let at = below(text.len() + 1);
                let enc = b64(b"some text 1234 5678 here, and more of it");
                text.splice(at..at, enc.bytes());
            }
            let mut one = Blobs::default();
            let mut got = Vec::new();
            for b in &text {
                one.feed(std::slice::from_ref(b), &mut |d| got.extend_from_slice(d));
            }
            one.finish(&mut |d| got.extend_from_slice(d));
            assert_eq!(read(&text, &[]), got, "{}", String::from_utf8_lossy(&text));
            let mut cuts: Vec<usize> = (0..3).map(|_| below(text.len() + 1)).collect();
            cuts.sort_unstable();
            assert_eq!(read(&text, &cuts), got, "{cuts:?}");
        }
    }
}
