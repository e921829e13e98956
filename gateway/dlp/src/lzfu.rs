//! Compressed RTF ([MS-OXRTFCP]): the `PidTagRtfCompressed` property
//! (`PR_RTF_COMPRESSED`, 0x1009) in which Outlook keeps a message's RTF
//! body, in a `.msg` stream or a TNEF `attMAPIProps` list.
//!
//! The format is a 16-byte header (COMPSIZE, RAWSIZE, COMPTYPE, CRC) and
//! then either the raw RTF (`MELA`) or LZ77 runs (`LZFu`): a control byte
//! whose bits, low first, say whether each of the next eight tokens is a
//! literal byte or a two-byte big-endian reference (12-bit offset, 4-bit
//! length - 2) into a 4,096-byte circular dictionary that starts with a
//! fixed 207-byte RTF prefix (2.1.2.1). A reference whose offset is the
//! dictionary's write position ends the data.
//!
//! The decoder is sans-IO and works in fixed memory: the dictionary and a
//! small output buffer. Output stops at RAWSIZE and at
//! [`MAX_RTF_DECOMPRESSED_BYTES`]; the CRC (2.1.3.2, CRC-32 over the
//! compressed contents with no pre- or post-inversion) is checked at the
//! end.

use crate::findings::UnscannableReason as R;

/// The dictionary's size (a 12-bit offset, [MS-OXRTFCP] 2.1.2.1).
const DICT_BYTES: usize = 4096;
/// The dictionary's initial contents ([MS-OXRTFCP] 2.1.2.1): 207 bytes.
const INIT_DICT: &[u8] = b"{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss \\fmodern \\fscript \\fdecor MS Sans SerifSymbolArialTimes New RomanCourier{\\colortbl\\red0\\green0\\blue0\r\n\\par \\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx";
/// COMPTYPE values ([MS-OXRTFCP] 2.1.3.1.1).
const COMPRESSED: u32 = 0x7546_5A4C;
const UNCOMPRESSED: u32 = 0x414C_454D;
/// The header: COMPSIZE, RAWSIZE, COMPTYPE and CRC.
const HEADER_BYTES: usize = 16;
/// COMPSIZE counts the contents plus the 12 header bytes after it.
const COMPSIZE_HEADER: u32 = 12;
/// Decompressed RTF read per property. A reference expands two bytes to at
/// most 17, so a property that fits the 4 MiB compound-file buffer could
/// claim ~36 MiB; a mail body's RTF is a few hundred KiB, and past this
/// the rest is `document_too_large`.
pub const MAX_RTF_DECOMPRESSED_BYTES: u64 = 8 << 20;
/// Output is handed on in chunks of this size.
const OUT_BYTES: usize = 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum St {
    Header,
    Control,
    Literal,
    RefHigh,
    RefLow,
    Raw,
    /// The end reference was read, or RAWSIZE bytes were written.
    Done,
    /// Stopped with a reason.
    Failed(R),
}

/// One compressed-RTF property being decoded.
pub(crate) struct Lzfu {
    st: St,
    dict: [u8; DICT_BYTES],
    pos: usize,
    header: [u8; HEADER_BYTES],
    have: usize,
    control: u8,
    bit: u8,
    high: u8,
    /// Contents bytes COMPSIZE says are left.
    comp_left: u64,
    /// Output bytes RAWSIZE says are left.
    raw_left: u64,
    written: u64,
    /// `LZFu` rather than `MELA`: the CRC is checked.
    compressed: bool,
    crc: u32,
    want_crc: u32,
    out: [u8; OUT_BYTES],
    out_len: usize,
}

impl std::fmt::Debug for Lzfu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Lzfu({:?}, {} written)", self.st, self.written)
    }
}

impl Lzfu {
    pub(crate) fn new() -> Lzfu {
        let mut l = Lzfu {
            st: St::Header,
            dict: [0; DICT_BYTES],
            pos: 0,
            header: [0; HEADER_BYTES],
            have: 0,
            control: 0,
            bit: 8,
            high: 0,
            comp_left: 0,
            raw_left: 0,
            written: 0,
            compressed: false,
            crc: 0,
            want_crc: 0,
            out: [0; OUT_BYTES],
            out_len: 0,
        };
        l.begin();
        l
    }

    /// Starts a new property.
    pub(crate) fn begin(&mut self) {
        self.st = St::Header;
        self.dict[..INIT_DICT.len()].copy_from_slice(INIT_DICT);
        self.dict[INIT_DICT.len()..].fill(0);
        self.pos = INIT_DICT.len();
        self.have = 0;
        self.bit = 8;
        self.written = 0;
        self.crc = 0;
        self.out_len = 0;
    }

    /// Decodes `data`, handing the RTF to `emit`.
    pub(crate) fn feed(&mut self, data: &[u8], emit: &mut dyn FnMut(&[u8])) {
        for &b in data {
            match self.st {
                St::Header => self.header_byte(b),
                St::Failed(_) => break,
                // The CRC covers every contents byte COMPSIZE counts, padding
                // after the end included.
                St::Done if self.compressed && self.comp_left > 0 => {
                    self.comp_left -= 1;
                    self.crc = crc_byte(self.crc, b);
                }
                St::Done => break,
                _ => self.content_byte(b, emit),
            }
        }
        self.flush(emit);
    }

    /// The end of the property: `Some(reason)` if it was not whole (cut
    /// short, a CRC that does not match, a limit).
    pub(crate) fn finish(&mut self, emit: &mut dyn FnMut(&[u8])) -> Option<R> {
        self.flush(emit);
        match self.st {
            St::Failed(r) => Some(r),
            St::Done if !self.compressed => None,
            St::Done if self.comp_left == 0 && self.crc == self.want_crc => None,
            // Cut short, or a CRC that does not match.
            _ => Some(R::CorruptDocument),
        }
    }

    fn header_byte(&mut self, b: u8) {
        self.header[self.have] = b;
        self.have += 1;
        if self.have < HEADER_BYTES {
            return;
        }
        let h = &self.header;
        let word = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        let (comp, raw, kind) = (word(0), word(4), word(8));
        self.want_crc = word(12);
        self.raw_left = u64::from(raw);
        let Some(contents) = comp.checked_sub(COMPSIZE_HEADER) else {
            self.st = St::Failed(R::CorruptDocument);
            return;
        };
        self.comp_left = u64::from(contents);
        self.compressed = kind == COMPRESSED;
        self.st = match kind {
            COMPRESSED => St::Control,
            UNCOMPRESSED => St::Raw,
            _ => St::Failed(R::CorruptDocument),
        };
        if self.raw_left == 0 && matches!(self.st, St::Raw | St::Control) {
            // Nothing to write: the contents are only checked by the CRC.
            self.st = St::Done;
        }
    }

    fn content_byte(&mut self, b: u8, emit: &mut dyn FnMut(&[u8])) {
        if self.st != St::Raw {
            if self.comp_left == 0 {
                // Past COMPSIZE without an end reference.
                self.st = St::Failed(R::CorruptDocument);
                return;
            }
            self.comp_left -= 1;
            self.crc = crc_byte(self.crc, b);
        }
        match self.st {
            St::Raw => self.put(b, emit),
            St::Control => {
                self.control = b;
                self.bit = 0;
                self.next_token();
            }
            St::Literal => {
                self.put(b, emit);
                if self.st == St::Literal {
                    self.bit += 1;
                    self.next_token();
                }
            }
            St::RefHigh => {
                self.high = b;
                self.st = St::RefLow;
            }
            St::RefLow => {
                let r = u16::from_be_bytes([self.high, b]);
                let offset = usize::from(r >> 4);
                let len = usize::from(r & 0xF) + 2;
                if offset == self.pos {
                    self.st = St::Done;
                    return;
                }
                for i in 0..len {
                    let c = self.dict[(offset + i) % DICT_BYTES];
                    self.put(c, emit);
                    if self.st != St::RefLow {
                        return;
                    }
                }
                self.bit += 1;
                self.next_token();
            }
            _ => {}
        }
    }

    /// After a token: the next one's kind, or the next control byte.
    fn next_token(&mut self) {
        self.st = if self.bit == 8 {
            St::Control
        } else if self.control >> self.bit & 1 == 1 {
            St::RefHigh
        } else {
            St::Literal
        };
    }

    /// One output byte: into the dictionary and out, within RAWSIZE and
    /// the limit.
    fn put(&mut self, b: u8, emit: &mut dyn FnMut(&[u8])) {
        if self.raw_left == 0 {
            self.st = St::Done;
            return;
        }
        if self.written == MAX_RTF_DECOMPRESSED_BYTES {
            self.st = St::Failed(R::DocumentTooLarge);
            return;
        }
        self.raw_left -= 1;
        self.written += 1;
        self.dict[self.pos] = b;
        self.pos = (self.pos + 1) % DICT_BYTES;
        self.out[self.out_len] = b;
        self.out_len += 1;
        if self.out_len == OUT_BYTES {
            self.flush(emit);
        }
        if self.raw_left == 0 {
            // RAWSIZE written: what follows is the end reference or padding.
            self.st = St::Done;
        }
    }

    fn flush(&mut self, emit: &mut dyn FnMut(&[u8])) {
        if self.out_len > 0 {
            emit(&self.out[..self.out_len]);
            self.out_len = 0;
        }
    }
}

/// One step of the CRC-32 of [MS-OXRTFCP] 2.1.3.2 (the reflected
/// polynomial 0xEDB88320, no inversion), bit by bit: eight shifts per byte
/// of a property of at most a few MiB costs less than a table's memory.
fn crc_byte(crc: u32, b: u8) -> u32 {
    let mut c = (crc ^ u32::from(b)) & 0xFF;
    for _ in 0..8 {
        c = if c & 1 == 1 {
            c >> 1 ^ 0xEDB8_8320
        } else {
            c >> 1
        };
    }
    c ^ crc >> 8
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [MS-OXRTFCP] 4.1, "Example 1: Simple Compressed RTF".
    const SIMPLE: &[u8] = b"\x2d\x00\x00\x00\x2b\x00\x00\x00\x4c\x5a\x46\x75\xf1\xc5\xc7\xa7\x03\x00\x0a\x00\x72\x63\x70\x67\x31\x32\x35\x42\x32\x0a\xf3\x20\x68\x65\x6c\x09\x00\x20\x62\x77\x05\xb0\x6c\x64\x7d\x0a\x80\x0f\xa0";
    const SIMPLE_RTF: &[u8] = b"{\\rtf1\\ansi\\ansicpg1252\\pard hello world}\r\n";
    /// [MS-OXRTFCP] 4.2, "Example 2: Reading a Token from the Dictionary
    /// that Crosses WritePosition".
    const CROSSING: &[u8] = b"\x1a\x00\x00\x00\x1c\x00\x00\x00\x4c\x5a\x46\x75\xe2\xd4\x4b\x51\x41\x00\x04\x20\x57\x58\x59\x5a\x0d\x6e\x7d\x01\x0e\xb0";
    const CROSSING_RTF: &[u8] = b"{\\rtf1 WXYZWXYZWXYZWXYZWXYZ}";

    fn run(chunks: &[&[u8]]) -> (Vec<u8>, Option<R>) {
        let mut l = Lzfu::new();
        let mut out = Vec::new();
        for c in chunks {
            l.feed(c, &mut |s| out.extend_from_slice(s));
        }
        let r = l.finish(&mut |s| out.extend_from_slice(s));
        (out, r)
    }

    #[test]
    fn the_specs_examples_decompress_in_any_chunking() {
        for (comp, raw) in [(SIMPLE, SIMPLE_RTF), (CROSSING, CROSSING_RTF)] {
            assert_eq!(run(&[comp]), (raw.to_vec(), None));
            for at in 0..comp.len() {
                assert_eq!(run(&[&comp[..at], &comp[at..]]), (raw.to_vec(), None));
            }
        }
    }

    #[test]
    fn uncompressed_rtf_is_passed_through() {
        let mut m = 28u32.wrapping_add(12).to_le_bytes().to_vec();
        m.extend_from_slice(&28u32.to_le_bytes());
        m.extend_from_slice(b"MELA\0\0\0\0");
        m.extend_from_slice(CROSSING_RTF);
        assert_eq!(run(&[&m]), (CROSSING_RTF.to_vec(), None));
    }

    #[test]
    fn a_wrong_crc_a_cut_and_a_bad_type_are_corrupt() {
        let mut bad = CROSSING.to_vec();
        bad[12] ^= 1;
        assert_eq!(run(&[&bad]).1, Some(R::CorruptDocument));
        // The text is still read: a wrong CRC is reported, not hidden.
        assert_eq!(run(&[&bad]).0, CROSSING_RTF);
        let (out, r) = run(&[&CROSSING[..24]]);
        assert_eq!(r, Some(R::CorruptDocument));
        assert!(CROSSING_RTF.starts_with(&out));
        let mut kind = CROSSING.to_vec();
        kind[8] = b'X';
        assert_eq!(run(&[&kind]), (Vec::new(), Some(R::CorruptDocument)));
        assert_eq!(run(&[&[0u8; 16]]).1, Some(R::CorruptDocument));
    }

    #[test]
    fn output_stops_at_the_limit() {
        // RAWSIZE claims 4 GiB and no end reference comes: eight literals,
        // then references of 16 bytes each to the 16 bytes before them.
        let mut m = u32::MAX.to_le_bytes().to_vec();
        m.extend_from_slice(&u32::MAX.to_le_bytes());
        m.extend_from_slice(b"LZFu\0\0\0\0");
        m.extend_from_slice(&[0x00, b'x', b'x', b'x', b'x', b'x', b'x', b'x', b'x']);
        m.extend_from_slice(&[0x00, b'x', b'x', b'x', b'x', b'x', b'x', b'x', b'x']);
        let mut l = Lzfu::new();
        let mut n = 0u64;
        l.feed(&m, &mut |s| n += s.len() as u64);
        for _ in 0..=MAX_RTF_DECOMPRESSED_BYTES / (8 * 16) {
            let mut unit = vec![0xFF];
            for k in 0..8 {
                let offset = (l.pos + 16 * k + DICT_BYTES - 16) % DICT_BYTES;
                unit.extend_from_slice(&((offset as u16) << 4 | 14).to_be_bytes());
            }
            l.feed(&unit, &mut |s| n += s.len() as u64);
        }
        assert_eq!(n, MAX_RTF_DECOMPRESSED_BYTES);
        assert_eq!(
            l.finish(&mut |s| n += s.len() as u64),
            Some(R::DocumentTooLarge)
        );
    }
}
