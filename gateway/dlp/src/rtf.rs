//! RTF to text, streamed in a few hundred bytes of state.
//!
//! RTF (`text/rtf` bodies, `.rtf` attachments, what Word and Outlook
//! write) is text wrapped in control words: `\par` and `\cell` end lines,
//! `\'hh` is a byte in the document's code page (`\ansicpgN`), `\uN` is a
//! UTF-16 code unit followed by `\ucN` fallback characters to skip, and
//! some groups are destinations that are not text (`{\*\...}`, the font,
//! colour and style tables, pictures, embedded object data). Hand-written
//! because the crates that parse RTF build a document tree in memory;
//! this is a state machine over the bytes as they arrive, so a value split
//! across feeds is still one run of text.
//!
//! Group depth is tracked to [`MAX_RTF_DEPTH`] levels with their skip flag
//! and `\uc` count; deeper groups inherit their parent's state (a crafted
//! nest cannot grow memory, and text in it is still read).

use encoding_rs::{Decoder, Encoding};

use crate::ctx::Ctx;

/// What every RTF document starts with.
pub(crate) const MAGIC: &[u8] = b"{\\rtf";

/// Group levels whose state is kept: Word nests tables and fields a few
/// dozen deep.
pub const MAX_RTF_DEPTH: usize = 256;
/// Longest control word name kept (RTF 1.9.1: at most 32 letters).
const MAX_WORD: usize = 32;
/// Text handed to the detectors at once.
const OUT_BYTES: usize = 4096;

/// Destinations that hold no text a person reads.
const SKIPPED: &[&[u8]] = &[
    b"fonttbl",
    b"colortbl",
    b"stylesheet",
    b"listtable",
    b"listoverridetable",
    b"rsidtbl",
    b"pict",
    b"objdata",
    b"themedata",
    b"colorschememapping",
    b"datastore",
    b"latentstyles",
    b"xmlnstbl",
    b"generator",
    b"pgdsctbl",
    b"filetbl",
    b"revtbl",
    b"mmathPr",
    b"blipuid",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum St {
    Text,
    /// After a backslash.
    Escape,
    /// Letters of a control word.
    Word,
    /// Its numeric parameter.
    Param,
    /// `\'` and the hex digits.
    Hex,
    /// `\binN` data.
    Bin,
}

/// One RTF document being read.
pub(crate) struct Rtf {
    st: St,
    word: [u8; MAX_WORD],
    word_len: usize,
    param: i64,
    neg: bool,
    has_param: bool,
    hex: u8,
    hex_digits: u8,
    depth: usize,
    /// Skip flags of the tracked levels, one bit each.
    skip: [u64; MAX_RTF_DEPTH / 64],
    uc: [u8; MAX_RTF_DEPTH],
    /// The next `{` after `\*` is an optional destination.
    star: bool,
    /// Fallback characters still to skip after a `\uN`.
    skip_chars: u32,
    bin_left: u64,
    decoder: Option<Decoder>,
    out: [u8; OUT_BYTES],
    out_len: usize,
}

impl std::fmt::Debug for Rtf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Rtf(depth {})", self.depth)
    }
}

impl Rtf {
    pub(crate) fn new() -> Rtf {
        Rtf {
            st: St::Text,
            word: [0; MAX_WORD],
            word_len: 0,
            param: 0,
            neg: false,
            has_param: false,
            hex: 0,
            hex_digits: 0,
            depth: 0,
            skip: [0; MAX_RTF_DEPTH / 64],
            uc: [1; MAX_RTF_DEPTH],
            star: false,
            skip_chars: 0,
            bin_left: 0,
            decoder: None,
            out: [0; OUT_BYTES],
            out_len: 0,
        }
    }

    pub(crate) fn begin(&mut self) {
        *self = Rtf::new();
        self.decoder = Some(encoding_rs::WINDOWS_1252.new_decoder_without_bom_handling());
    }

    fn level(&self) -> usize {
        self.depth.min(MAX_RTF_DEPTH - 1)
    }

    fn skipping(&self) -> bool {
        let l = self.level();
        self.skip[l / 64] & (1 << (l % 64)) != 0
    }

    fn set_skip(&mut self) {
        let l = self.level();
        self.skip[l / 64] |= 1 << (l % 64);
    }

    fn open(&mut self) {
        let (parent_skip, parent_uc) = (self.skipping(), self.uc[self.level()]);
        self.depth += 1;
        if self.depth < MAX_RTF_DEPTH {
            let l = self.depth;
            self.skip[l / 64] &= !(1 << (l % 64));
            if parent_skip {
                self.set_skip();
            }
            self.uc[l] = parent_uc;
        }
    }

    fn close(&mut self) {
        self.depth = self.depth.saturating_sub(1);
        self.star = false;
        self.skip_chars = 0;
    }

    /// Reads RTF bytes; text goes to the detectors.
    pub(crate) fn feed(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) {
        let mut i = 0;
        while i < data.len() {
            let b = data[i];
            match self.st {
                St::Bin => {
                    let take = (self.bin_left.min((data.len() - i) as u64)) as usize;
                    self.bin_left -= take as u64;
                    i += take;
                    if self.bin_left == 0 {
                        self.st = St::Text;
                    }
                    continue;
                }
                St::Text => match b {
                    b'\\' => self.st = St::Escape,
                    b'{' => {
                        self.open();
                        if std::mem::take(&mut self.star) {
                            self.set_skip();
                        }
                    }
                    b'}' => self.close(),
                    b'\r' | b'\n' => {}
                    _ => {
                        // Runs of plain text go out in one step.
                        let end = data[i..]
                            .iter()
                            .position(|&c| matches!(c, b'\\' | b'{' | b'}' | b'\r' | b'\n'))
                            .map_or(data.len(), |p| i + p);
                        self.chars(ctx, &data[i..end]);
                        i = end;
                        continue;
                    }
                },
                St::Escape => match b {
                    b'a'..=b'z' | b'A'..=b'Z' => {
                        self.word_len = 0;
                        self.word[0] = b;
                        self.word_len = 1;
                        self.param = 0;
                        self.neg = false;
                        self.has_param = false;
                        self.st = St::Word;
                    }
                    b'\'' => {
                        self.hex = 0;
                        self.hex_digits = 0;
                        self.st = St::Hex;
                    }
                    b'*' => {
                        self.star = true;
                        self.st = St::Text;
                    }
                    b'\r' | b'\n' => {
                        self.st = St::Text;
                        self.symbol(ctx, b"\n");
                    }
                    b'~' => {
                        self.st = St::Text;
                        self.symbol(ctx, b" ");
                    }
                    b'_' => {
                        self.st = St::Text;
                        self.symbol(ctx, b"-");
                    }
                    b'-' => self.st = St::Text,
                    _ => {
                        // `\\`, `\{`, `\}` and other symbols are themselves.
                        self.st = St::Text;
                        self.chars(ctx, &[b]);
                    }
                },
                St::Word => match b {
                    b'a'..=b'z' | b'A'..=b'Z' => {
                        if self.word_len < MAX_WORD {
                            self.word[self.word_len] = b;
                            self.word_len += 1;
                        }
                    }
                    b'-' if !self.has_param => {
                        self.neg = true;
                        self.st = St::Param;
                    }
                    b'0'..=b'9' => {
                        self.has_param = true;
                        self.param = i64::from(b - b'0');
                        self.st = St::Param;
                    }
                    _ => {
                        self.st = St::Text;
                        self.word_done(ctx);
                        if b != b' ' {
                            continue; // the delimiter is content
                        }
                    }
                },
                St::Param => match b {
                    b'0'..=b'9' => {
                        self.has_param = true;
                        // RTF parameters are 16 or 32-bit; more digits are noise.
                        self.param = (self.param * 10 + i64::from(b - b'0')).min(1 << 40);
                    }
                    _ => {
                        self.st = St::Text;
                        if self.neg {
                            self.param = -self.param;
                        }
                        self.word_done(ctx);
                        if self.st == St::Bin {
                            i += usize::from(b == b' ');
                            continue;
                        }
                        if b != b' ' {
                            continue;
                        }
                    }
                },
                St::Hex => {
                    let v = match b {
                        b'0'..=b'9' => b - b'0',
                        b'a'..=b'f' => b - b'a' + 10,
                        b'A'..=b'F' => b - b'A' + 10,
                        _ => {
                            self.st = St::Text;
                            continue;
                        }
                    };
                    self.hex = self.hex << 4 | v;
                    self.hex_digits += 1;
                    if self.hex_digits == 2 {
                        self.st = St::Text;
                        if self.skip_chars > 0 {
                            self.skip_chars -= 1;
                        } else if !self.skipping() {
                            let h = [self.hex];
                            self.decode(ctx, &h);
                        }
                    }
                }
            }
            i += 1;
        }
    }

    /// Plain characters: fallbacks after `\u` are skipped, the rest is text
    /// in the document's code page.
    fn chars(&mut self, ctx: &mut Ctx<'_>, mut t: &[u8]) {
        if self.skip_chars > 0 {
            let n = (self.skip_chars as usize).min(t.len());
            self.skip_chars -= n as u32;
            t = &t[n..];
        }
        if !t.is_empty() && !self.skipping() {
            self.decode(ctx, t);
        }
    }

    /// Text that is not in the code page (line breaks, spaces).
    fn symbol(&mut self, ctx: &mut Ctx<'_>, s: &[u8]) {
        if !self.skipping() {
            self.emit(ctx, s);
        }
    }

    fn decode(&mut self, ctx: &mut Ctx<'_>, mut t: &[u8]) {
        let Some(mut dec) = self.decoder.take() else {
            return self.emit(ctx, t);
        };
        while !t.is_empty() {
            let mut buf = [0u8; 1024];
            let (_, read, written, _) = dec.decode_to_utf8(t, &mut buf, false);
            self.emit(ctx, &buf[..written]);
            t = &t[read..];
        }
        self.decoder = Some(dec);
    }

    fn emit(&mut self, ctx: &mut Ctx<'_>, mut s: &[u8]) {
        while !s.is_empty() {
            let take = (OUT_BYTES - self.out_len).min(s.len());
            self.out[self.out_len..self.out_len + take].copy_from_slice(&s[..take]);
            self.out_len += take;
            s = &s[take..];
            if self.out_len == OUT_BYTES {
                self.flush(ctx);
            }
        }
    }

    fn flush(&mut self, ctx: &mut Ctx<'_>) {
        ctx.text.push(ctx.det, ctx.acc, &self.out[..self.out_len]);
        self.out_len = 0;
    }

    /// End of the document: what is buffered goes out.
    pub(crate) fn finish(&mut self, ctx: &mut Ctx<'_>) {
        self.flush(ctx);
    }

    fn word_done(&mut self, ctx: &mut Ctx<'_>) {
        let w = &self.word[..self.word_len];
        let p = self.param;
        if self.star || SKIPPED.contains(&w) {
            self.star = false;
            self.set_skip();
            return;
        }
        if self.skip_chars > 0 {
            // A control word is one fallback "character".
            self.skip_chars -= 1;
            return;
        }
        match w {
            b"par" | b"line" | b"row" | b"cell" | b"sect" | b"page" | b"nestcell" => {
                self.symbol(ctx, b"\n")
            }
            b"tab" | b"emspace" | b"enspace" | b"qmspace" => self.symbol(ctx, b" "),
            b"emdash" | b"endash" => self.symbol(ctx, b"-"),
            b"uc" if self.has_param => {
                let l = self.level();
                self.uc[l] = p.clamp(0, 255) as u8;
            }
            b"u" if self.has_param => {
                let unit = if p < 0 { p + 65536 } else { p } as u32;
                if !self.skipping() {
                    let c = char::from_u32(unit).unwrap_or('\u{FFFD}');
                    let mut b = [0u8; 4];
                    self.emit(ctx, c.encode_utf8(&mut b).as_bytes());
                }
                self.skip_chars = u32::from(self.uc[self.level()]);
            }
            b"ansicpg" if self.has_param => {
                self.decoder = Some(code_page(p).new_decoder_without_bom_handling());
            }
            b"bin" if self.has_param && p > 0 => {
                self.bin_left = p as u64;
                self.st = St::Bin;
            }
            _ => {}
        }
    }
}

/// The encoding of a Windows code page number (`\ansicpgN`); unknown
/// pages read as windows-1252, what RTF readers assume by default.
fn code_page(n: i64) -> &'static Encoding {
    use encoding_rs::*;
    match n {
        874 => WINDOWS_874,
        932 => SHIFT_JIS,
        936 => GBK,
        949 => EUC_KR,
        950 => BIG5,
        1250 => WINDOWS_1250,
        1251 => WINDOWS_1251,
        1253 => WINDOWS_1253,
        1254 => WINDOWS_1254,
        1255 => WINDOWS_1255,
        1256 => WINDOWS_1256,
        1257 => WINDOWS_1257,
        1258 => WINDOWS_1258,
        65001 => UTF_8,
        _ => WINDOWS_1252,
    }
}
