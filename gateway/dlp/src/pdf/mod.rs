//! PDF text for the detectors, streamed in fixed memory.
//!
//! A PDF keeps its text in strings: literal `(...)` and hex `<...>` strings
//! in content streams (the operands of `Tj`, `TJ`, `'`, `"`) and in
//! dictionaries (`/Title (...)`). Content streams are nearly always
//! compressed, so a raw scan of the file sees nothing. This reader walks the
//! file as it arrives: outside streams it lexes strings; at each `stream`
//! keyword it looks at that object's dictionary and undoes the stream's
//! filter chain through fixed buffers, lexing the decoded content for
//! strings: FlateDecode, ASCIIHexDecode, ASCII85Decode, RunLengthDecode and
//! LZWDecode, alone or chained (`[/ASCII85Decode /FlateDecode]`), see
//! [`filters`]. Images, font programs and cross-reference streams are skipped
//! without decoding.
//!
//! Glyph-coded text (hex strings of a composite font such as Identity-H, or
//! of a subset font with its own encoding) is decoded through the font's
//! ToUnicode CMap, which may come later in the file: see [`fonts`].
//!
//! What cannot be read is reported, never passed silently: glyph text whose
//! font or map cannot be resolved (a table full, an unmapped code) is
//! `unscannable: pdf_glyph_text`; a stream with any other filter in its
//! chain (or a chain too long, or LZW with a predictor or `/EarlyChange 0`)
//! is `unsupported_compression`; a corrupt encoded stream is
//! `corrupt_archive`; the message-wide inflate budget and ratio apply, as for
//! ZIP entries, to every byte any decoder of the chain writes.

use crate::ctx::Ctx;
use crate::findings::UnscannableReason as R;
use crate::limits::STAGE_BUFFER_BYTES;

mod filters;
mod fonts;
use filters::{Chain, Filter, Filters, Status};
use fonts::Fonts;

/// Bytes of an object's dictionary kept to decide what its stream is; the
/// keys that matter (`/Filter`, `/Subtype`, `/Length1`) sit in the first
/// few hundred bytes of any real dictionary.
pub const DICT_TAIL_BYTES: usize = 512;
/// Longest token (operator, name, number) the lexer keeps; longer ones are
/// not anything it acts on (`begincodespacerange` is 19).
const MAX_TOKEN_BYTES: usize = 24;
/// A hex string is decoded into this many bytes before it is judged text or
/// glyph codes; longer hex strings (inline data, fonts) are not text.
const MAX_HEX_STRING_BYTES: usize = 256;
/// Extracted text is handed to the detectors in chunks of this size.
const TEXT_CHUNK_BYTES: usize = 4096;
/// `TJ` array adjustments at or below this (thousandths of an em) are the
/// gap between words: a space is written.
const TJ_WORD_GAP: i32 = -200;
/// The keyword that ends a stream's data, searched for in skipped bytes.
const ENDSTREAM: &[u8] = b"endstream";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lex {
    Normal,
    Comment,
    Str,
    Escape,
    Octal,
    Hex,
}

/// Extracted text waiting for the detectors: a chunk buffer, and whether its
/// last byte was a separator (so no second one is written).
struct TextBuf {
    buf: Box<[u8]>,
    len: usize,
    sep: bool,
}

impl TextBuf {
    fn out<'c, 'a>(&'c mut self, ctx: &'c mut Ctx<'a>) -> Out<'c, 'a> {
        Out { ctx, text: self }
    }
}

/// Where extracted text goes: the chunk buffer, flushed into the text pipe.
struct Out<'c, 'a> {
    ctx: &'c mut Ctx<'a>,
    text: &'c mut TextBuf,
}

impl Out<'_, '_> {
    fn text(&mut self, b: u8) {
        if self.text.len == self.text.buf.len() {
            self.flush();
        }
        let t = &mut *self.text;
        t.buf[t.len] = b;
        t.len += 1;
        t.sep = b == b' ' || b == b'\n';
    }

    fn sep(&mut self, b: u8) {
        if !self.text.sep {
            self.text(b);
        }
    }

    fn flush(&mut self) {
        let t = &mut *self.text;
        if t.len > 0 {
            self.ctx
                .text
                .push(self.ctx.det, self.ctx.acc, &t.buf[..t.len]);
            t.len = 0;
        }
    }
}

/// A token just ended: read it with [`Lexer::hist`]`(0)`.
const EV_TOKEN: u8 = 1;
/// A hex string just ended that is not text: glyph codes in content, or a
/// CMap operand. Read it with [`Lexer::hex`].
const EV_HEX: u8 = 2;
/// Tokens remembered, for `N G obj`, `/Name N G R` and `/F2 12 Tf`.
const HISTORY: usize = 4;

/// The string lexer used at the file level and in content streams: writes
/// the text of strings and separators for text-positioning operators, and
/// reports tokens and non-text hex strings to its owner.
struct Lexer {
    st: Lex,
    depth: u32,
    octal: u8,
    octal_digits: u8,
    hex: [u8; MAX_HEX_STRING_BYTES],
    hex_len: usize,
    hex_half: Option<u8>,
    hex_digits: usize,
    token: [u8; MAX_TOKEN_BYTES],
    token_len: usize,
    /// The last tokens, newest first.
    hist: [[u8; MAX_TOKEN_BYTES]; HISTORY],
    hist_len: [usize; HISTORY],
    in_array: u32,
    /// Reading a CMap: hex strings are its operands, not text.
    cmap: bool,
    /// Text-positioning operators and word gaps seen in this stream: two
    /// glyph runs with none between them are one word (a kerned `TJ`).
    breaks: u32,
    /// Of those, line breaks (`ET`, `BT`, `T*`...): glyph runs on either
    /// side of one are separate lines, as table cells are.
    lines: u32,
    /// Of the breaks, gaps in a `TJ` array (a cell boundary where the font
    /// draws its spaces as glyphs).
    gaps: u32,
    /// The text moved along its line (`Td` without a vertical offset)
    /// since the last glyph run, in ems of the current font size.
    move_ems: f32,
    /// The `Tf` size, by which `Td` offsets are turned into ems.
    font_size: f32,
    /// The hex string just ended is printable bytes: text in a simple font
    /// unless its font has a ToUnicode map (then it is glyph codes, as
    /// LibreOffice's one-byte codes `<2A>` for '7' are).
    hex_printable: bool,
    /// The literal string being read was too long to keep: it is text.
    lit_spilled: bool,
}

impl Lexer {
    fn new() -> Lexer {
        Lexer {
            st: Lex::Normal,
            depth: 0,
            octal: 0,
            octal_digits: 0,
            hex: [0; MAX_HEX_STRING_BYTES],
            hex_len: 0,
            hex_half: None,
            hex_digits: 0,
            token: [0; MAX_TOKEN_BYTES],
            token_len: 0,
            hist: [[0; MAX_TOKEN_BYTES]; HISTORY],
            hist_len: [0; HISTORY],
            in_array: 0,
            cmap: false,
            breaks: 0,
            lines: 0,
            gaps: 0,
            move_ems: 0.0,
            font_size: f32::NAN,
            hex_printable: false,
            lit_spilled: false,
        }
    }

    /// Starts a new content stream (or the file): nothing carries over.
    fn begin(&mut self) {
        self.st = Lex::Normal;
        self.depth = 0;
        self.token_len = 0;
        self.hist_len = [0; HISTORY];
        self.in_array = 0;
        self.cmap = false;
        self.move_ems = 0.0;
    }

    /// The `k`-th last token (0: the one that just ended).
    fn hist(&self, k: usize) -> &[u8] {
        &self.hist[k][..self.hist_len[k]]
    }

    fn last(&self) -> &[u8] {
        self.hist(0)
    }

    /// The hex string that just ended ([`EV_HEX`]).
    fn hex(&self) -> &[u8] {
        &self.hex[..self.hex_len]
    }

    /// Lexes one byte; returns [`EV_TOKEN`], [`EV_HEX`] or 0. `content`:
    /// operators and hex strings are text-drawing (a content stream), not
    /// dictionary syntax.
    fn byte(&mut self, b: u8, content: bool, out: &mut Out<'_, '_>) -> u8 {
        match self.st {
            Lex::Normal => return self.normal(b, content, out),
            Lex::Comment => {
                if b == b'\r' || b == b'\n' {
                    self.st = Lex::Normal;
                }
            }
            Lex::Str => match b {
                b'\\' => self.st = Lex::Escape,
                b'(' => {
                    self.depth += 1;
                    self.lit(b, content, out);
                }
                b')' => {
                    self.depth -= 1;
                    if self.depth == 0 {
                        self.st = Lex::Normal;
                        if !content {
                            out.sep(b'\n');
                        } else if !self.lit_spilled && self.hex_len > 0 {
                            return self.end_literal();
                        }
                    } else {
                        self.lit(b, content, out);
                    }
                }
                b'\r' | b'\n' => self.lit(b' ', content, out),
                _ => self.lit(b, content, out),
            },
            Lex::Escape => {
                self.st = Lex::Str;
                match b {
                    b'n' => self.lit(b'\n', content, out),
                    b'r' => self.lit(b'\r', content, out),
                    b't' => self.lit(b'\t', content, out),
                    b'b' => self.lit(8, content, out),
                    b'f' => self.lit(12, content, out),
                    b'0'..=b'7' => {
                        self.octal = b - b'0';
                        self.octal_digits = 1;
                        self.st = Lex::Octal;
                    }
                    // A backslash before a line break continues the string.
                    b'\r' | b'\n' => {}
                    _ => self.lit(b, content, out),
                }
            }
            Lex::Octal => {
                if (b'0'..=b'7').contains(&b) && self.octal_digits < 3 {
                    self.octal = self.octal.wrapping_mul(8).wrapping_add(b - b'0');
                    self.octal_digits += 1;
                    return 0;
                }
                self.lit(self.octal, content, out);
                self.st = Lex::Str;
                return self.byte(b, content, out);
            }
            Lex::Hex => match b {
                // `<<` opens a dictionary, not a hex string.
                b'<' if self.hex_digits == 0 => self.st = Lex::Normal,
                b'>' => {
                    self.st = Lex::Normal;
                    return self.end_hex(content, out);
                }
                _ if b.is_ascii_hexdigit() => {
                    self.hex_digits += 1;
                    let v = hex_value(b);
                    match self.hex_half.take() {
                        None => self.hex_half = Some(v),
                        Some(h) => {
                            if self.hex_len < MAX_HEX_STRING_BYTES {
                                self.hex[self.hex_len] = h << 4 | v;
                                self.hex_len += 1;
                            }
                        }
                    }
                }
                _ => {}
            },
        }
        0
    }

    fn normal(&mut self, b: u8, content: bool, out: &mut Out<'_, '_>) -> u8 {
        if is_regular(b) {
            if self.token_len < MAX_TOKEN_BYTES {
                self.token[self.token_len] = b;
            }
            // Over-long tokens keep counting so they never match a keyword.
            self.token_len = self.token_len.saturating_add(1);
            return 0;
        }
        let ended = self.token_len > 0;
        if ended {
            self.end_token(content, out);
        }
        match b {
            b'(' => {
                self.st = Lex::Str;
                self.depth = 1;
                self.hex_len = 0;
                self.lit_spilled = false;
            }
            b'<' => {
                self.st = Lex::Hex;
                self.hex_len = 0;
                self.hex_half = None;
                self.hex_digits = 0;
            }
            b'[' => self.in_array += 1,
            b']' => self.in_array = self.in_array.saturating_sub(1),
            b'%' => self.st = Lex::Comment,
            // A name starts: keep the slash so `/Encrypt` is one token.
            b'/' => {
                self.token[0] = b'/';
                self.token_len = 1;
            }
            _ => {}
        }
        if ended {
            EV_TOKEN
        } else {
            0
        }
    }

    fn end_token(&mut self, content: bool, out: &mut Out<'_, '_>) {
        self.hist.copy_within(0..HISTORY - 1, 1);
        self.hist_len.copy_within(0..HISTORY - 1, 1);
        if self.token_len <= MAX_TOKEN_BYTES {
            self.hist[0][..self.token_len].copy_from_slice(&self.token[..self.token_len]);
            self.hist_len[0] = self.token_len;
        } else {
            self.hist_len[0] = 0;
        }
        self.token_len = 0;
        if !content || self.cmap {
            return;
        }
        // A move to another line (`Td` with a vertical offset, `Tm` placing
        // the text anew) is a line break: table cells drawn in one text
        // object are lines of their own, as pdftotext reads them.
        let moves_down = |t: &[u8]| t.iter().any(|c| (b'1'..=b'9').contains(c));
        let sep = match self.last() {
            b"Td" | b"TD" if moves_down(self.hist(1)) => b'\n',
            b"Tm" => b'\n',
            b"Td" | b"TD" => {
                // Along the line: kept (in ems) for the glyph runs to judge
                // against their length (`fonts.rs`).
                self.move_ems += parse_num(self.hist(2)).unwrap_or(f32::NAN) / self.font_size;
                b' '
            }
            b"Tj" | b"TJ" => b' ',
            b"Tf" => {
                self.font_size = parse_num(self.hist(1))
                    .filter(|&n| n > 0.0)
                    .unwrap_or(f32::NAN);
                return;
            }
            b"T*" | b"'" | b"\"" | b"ET" | b"BT" => b'\n',
            t if self.in_array > 0 && parse_int(t).is_some_and(|n| n <= TJ_WORD_GAP) => {
                self.gaps = self.gaps.wrapping_add(1);
                b' '
            }
            _ => return,
        };
        out.sep(sep);
        self.breaks = self.breaks.wrapping_add(1);
        if sep == b'\n' {
            self.lines = self.lines.wrapping_add(1);
            self.move_ems = 0.0;
        }
    }

    /// What separates the glyph run about to be kept from the last one
    /// (when they are not one word and on different lines): reset for the
    /// next run.
    fn take_move(&mut self) -> fonts::Move {
        let m = fonts::Move {
            gaps: self.gaps,
            ems: self.move_ems,
        };
        self.move_ems = 0.0;
        m
    }

    /// One byte of a literal string. Outside content streams it is text at
    /// once; inside, the string is kept (up to [`MAX_HEX_STRING_BYTES`]) so
    /// that, when it holds bytes that are not printable text, its font can
    /// decide at the end: ghostscript writes a simple font's glyph codes as
    /// `(\001)` literals with a ToUnicode map. A longer string is text.
    fn lit(&mut self, b: u8, content: bool, out: &mut Out<'_, '_>) {
        if !content || self.lit_spilled {
            return text_byte(b, out);
        }
        if self.hex_len < MAX_HEX_STRING_BYTES {
            self.hex[self.hex_len] = b;
            self.hex_len += 1;
            return;
        }
        self.lit_spilled = true;
        for i in 0..self.hex_len {
            text_byte(self.hex[i], out);
        }
        text_byte(b, out);
    }

    /// A kept literal string ended: a glyph run for its font to decide.
    /// Printable bytes are text in a simple font, but only if the font has
    /// no ToUnicode map: ghostscript's subset fonts number their glyphs from
    /// 1, so `(*)` is code 0x2A, which its map gives as '7'.
    fn end_literal(&mut self) -> u8 {
        let s = &self.hex[..self.hex_len];
        self.hex_printable = s.iter().all(|&c| (0x20..0x7F).contains(&c));
        EV_HEX
    }

    fn end_hex(&mut self, content: bool, out: &mut Out<'_, '_>) -> u8 {
        if let Some(h) = self.hex_half.take() {
            // An odd digit count: the last digit is followed by 0.
            if self.hex_len < MAX_HEX_STRING_BYTES {
                self.hex[self.hex_len] = h << 4;
                self.hex_len += 1;
            }
        }
        let overflow = self.hex_digits > 2 * MAX_HEX_STRING_BYTES;
        if self.hex_len == 0 || overflow {
            // Empty, or too long to be text or a CMap operand (inline data).
            self.hex_len = 0;
            return 0;
        }
        if self.cmap {
            return EV_HEX;
        }
        // Text in a simple font is printable bytes; anything else is glyph
        // codes (or binary data such as a file ID outside content). In a
        // content stream the font decides, at the end (`Fonts::resolve`).
        let s = &self.hex[..self.hex_len];
        let printable = s.iter().all(|&c| c == b' ' || c.is_ascii_graphic());
        if content {
            self.hex_printable = printable;
            EV_HEX
        } else {
            if printable {
                for &c in s {
                    out.text(c);
                }
                out.sep(b' ');
            }
            0
        }
    }
}

/// A byte of string text: line and page controls become separators, as
/// the literal-string escapes `\n`, `\t` always did.
fn text_byte(b: u8, out: &mut Out<'_, '_>) {
    match b {
        b'\n' | b'\r' => out.sep(b'\n'),
        b'\t' | 8 | 12 => out.sep(b' '),
        _ => out.text(b),
    }
}

fn hex_value(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        _ => b - b'A' + 10,
    }
}

fn parse_int(t: &[u8]) -> Option<i32> {
    let s = std::str::from_utf8(t).ok()?;
    let int = s.split('.').next()?;
    if int.is_empty() || int == "-" {
        return Some(0);
    }
    int.parse().ok()
}

/// What the stream after the current `stream` keyword is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stream {
    /// Not in a stream.
    None,
    /// Filters this reader undoes: decode and lex the content.
    Decode(Filters),
    /// No filter: lex the bytes as content.
    Plain,
    /// Image, font program, metadata or xref: skip to `endstream`.
    Skip,
    /// Content under a filter chain cordon does not undo: reported, skipped.
    Unsupported,
}

/// Objects of one object stream whose numbers are tracked: more than that
/// and the stream's references are not attributed at all (never to the
/// wrong object).
pub const MAX_OBJSTM_OBJECTS: usize = 256;
/// An object number nothing may be attributed to.
const UNKNOWN_OBJ: u32 = u32::MAX;

/// The header of an object stream (`/Type /ObjStm`): pairs of object number
/// and offset (from `/First`) before the objects themselves, so the bytes of
/// each object can be told apart while the stream inflates.
struct ObjStm {
    active: bool,
    first: u64,
    pairs: Box<[(u32, u64)]>,
    n: usize,
    next: usize,
    overflow: bool,
    num: u64,
    in_num: bool,
    /// The header's numbers so far: even is an object number, odd its offset.
    count: usize,
    pos: u64,
    cur: u32,
}

impl ObjStm {
    fn new() -> ObjStm {
        ObjStm {
            active: false,
            first: 0,
            pairs: vec![(0, 0); MAX_OBJSTM_OBJECTS].into_boxed_slice(),
            n: 0,
            next: 0,
            overflow: false,
            num: 0,
            in_num: false,
            count: 0,
            pos: 0,
            cur: UNKNOWN_OBJ,
        }
    }

    fn begin(&mut self, first: Option<u32>) {
        self.active = first.is_some();
        self.first = u64::from(first.unwrap_or(0));
        self.n = 0;
        self.next = 0;
        self.overflow = false;
        self.num = 0;
        self.in_num = false;
        self.count = 0;
        self.pos = 0;
        self.cur = UNKNOWN_OBJ;
    }

    fn end_num(&mut self) {
        if !self.in_num {
            return;
        }
        self.in_num = false;
        if self.count.is_multiple_of(2) {
            if self.n < MAX_OBJSTM_OBJECTS {
                self.pairs[self.n].0 = u32::try_from(self.num).unwrap_or(UNKNOWN_OBJ);
            } else {
                self.overflow = true;
            }
        } else if self.n < MAX_OBJSTM_OBJECTS {
            self.pairs[self.n].1 = self.num;
            self.n += 1;
        }
        self.count += 1;
        self.num = 0;
    }

    /// One inflated byte: false while it is header (not content). `cur` is
    /// then the object the byte belongs to.
    fn byte(&mut self, b: u8) -> bool {
        let pos = self.pos;
        self.pos += 1;
        if pos < self.first {
            if b.is_ascii_digit() {
                self.in_num = true;
                self.num = self
                    .num
                    .saturating_mul(10)
                    .saturating_add(u64::from(b - b'0'));
            } else {
                self.end_num();
            }
            return false;
        }
        if pos == self.first {
            self.end_num();
        }
        while self.next < self.n && self.first + self.pairs[self.next].1 <= pos {
            self.cur = if self.overflow {
                UNKNOWN_OBJ
            } else {
                self.pairs[self.next].0
            };
            self.next += 1;
        }
        true
    }
}

/// Acts on what a lexer reported: references, object numbers, fonts and
/// CMaps for [`Fonts`]. `obj` is the object the bytes belong to.
fn on_event(
    ev: u8,
    lex: &mut Lexer,
    fonts: &mut Fonts,
    content: bool,
    obj: u32,
    out: &mut Out<'_, '_>,
) {
    if ev & EV_HEX != 0 {
        if lex.cmap {
            let in_array = lex.in_array > 0;
            fonts.cmap_hex(lex.hex(), in_array);
        } else if lex.hex_printable {
            // Text now, as a simple font's bytes; and kept, in case its font
            // turns out to have a map that says otherwise (known only at the
            // end: the font may follow the page).
            for &c in lex.hex() {
                text_byte(c, out);
            }
            if fonts.has_font() {
                let m = lex.take_move();
                fonts.glyphs(lex.hex(), lex.breaks, lex.lines, m, true);
            }
        } else {
            let m = lex.take_move();
            fonts.glyphs(lex.hex(), lex.breaks, lex.lines, m, false);
        }
    }
    if ev & EV_TOKEN == 0 {
        return;
    }
    match lex.last() {
        b"R" => {
            if let (Some(n), Some(_)) = (parse_uint(lex.hist(2)), parse_uint(lex.hist(1))) {
                let name = lex.hist(3);
                if name.first() == Some(&b'/') && obj != UNKNOWN_OBJ {
                    fonts.reference(name, n, obj);
                }
            }
        }
        b"Tf" if content => {
            let name = lex.hist(2);
            if name.first() == Some(&b'/') {
                fonts.set_font(name);
            }
        }
        b"begincmap" if content => {
            lex.cmap = true;
            fonts.cmap_begin(obj);
        }
        t if lex.cmap => fonts.cmap_token(t),
        _ => {}
    }
}

/// A PDF number (`-12.5`, `.24`).
fn parse_num(t: &[u8]) -> Option<f32> {
    std::str::from_utf8(t).ok()?.parse().ok()
}

fn parse_uint(t: &[u8]) -> Option<u32> {
    if t.is_empty() || t.len() > 10 || !t.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(t).ok()?.parse().ok()
}

/// One PDF part being read.
pub(crate) struct Pdf {
    outer: Lexer,
    inner: Lexer,
    fonts: Box<Fonts>,
    objstm: ObjStm,
    /// The object the file-level bytes are in (`N 0 obj`).
    obj: u32,
    /// The object whose stream is being read.
    stream_obj: u32,
    /// The current object's dictionary bytes (whitespace runs as one space),
    /// up to [`DICT_TAIL_BYTES`].
    dict: [u8; DICT_TAIL_BYTES],
    dict_len: usize,
    /// After the `stream` keyword: waiting for the end of its line.
    await_eol: bool,
    stream: Stream,
    /// Bytes of `endstream` matched so far while skipping.
    end_match: usize,
    /// The stream's filter chain has not ended (nor failed).
    decoding: bool,
    chain: Chain,
    text: TextBuf,
    /// The message's inflate budget ran out: no more inflating in this part.
    exhausted: bool,
    /// An `obj` keyword was read at file level. `%PDF` alone proves
    /// nothing: a file without a single object is not read as a PDF would
    /// be (bare text in it is not a string) and is reported `corrupt_pdf`.
    objects: bool,
}

impl std::fmt::Debug for Pdf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pdf({:?})", self.stream)
    }
}

impl Pdf {
    pub(crate) fn new() -> Pdf {
        Pdf {
            outer: Lexer::new(),
            inner: Lexer::new(),
            fonts: Box::new(Fonts::new()),
            objstm: ObjStm::new(),
            obj: 0,
            stream_obj: 0,
            dict: [0; DICT_TAIL_BYTES],
            dict_len: 0,
            await_eol: false,
            stream: Stream::None,
            end_match: 0,
            decoding: false,
            chain: Chain::new(STAGE_BUFFER_BYTES),
            text: TextBuf {
                buf: vec![0u8; TEXT_CHUNK_BYTES].into_boxed_slice(),
                len: 0,
                sep: true,
            },
            exhausted: false,
            objects: false,
        }
    }

    pub(crate) fn state_bytes(&self) -> usize {
        std::mem::size_of::<Pdf>()
            + self.chain.state_bytes()
            + self.fonts.state_bytes()
            + std::mem::size_of_val(&*self.objstm.pairs)
            + self.text.buf.len()
    }

    /// Starts a new PDF part.
    pub(crate) fn begin(&mut self) {
        self.outer.begin();
        self.inner.begin();
        self.fonts.begin();
        self.obj = 0;
        self.stream_obj = 0;
        self.dict_len = 0;
        self.await_eol = false;
        self.stream = Stream::None;
        self.end_match = 0;
        self.decoding = false;
        self.text.len = 0;
        self.text.sep = true;
        self.exhausted = false;
        self.objects = false;
    }

    pub(crate) fn feed(&mut self, ctx: &mut Ctx<'_>, mut data: &[u8]) {
        while !data.is_empty() {
            let used = match self.stream {
                Stream::None => self.outside(ctx, data),
                Stream::Decode(_) if self.decoding => self.decode_some(ctx, data),
                Stream::Plain => self.plain(ctx, data),
                Stream::Decode(_) | Stream::Skip | Stream::Unsupported => self.skip(data),
            };
            data = &data[used..];
        }
        self.text.out(ctx).flush();
    }

    /// End of the part: glyph text is decoded now that every font and CMap
    /// has gone by.
    pub(crate) fn finish(&mut self, ctx: &mut Ctx<'_>) {
        if matches!(self.stream, Stream::Decode(_)) && self.decoding {
            // The file ended inside an encoded stream.
            ctx.acc.unscannable(R::CorruptArchive);
        }
        self.end_stream();
        let Pdf { fonts, text, .. } = self;
        let mut out = text.out(ctx);
        out.sep(b'\n');
        let ok = fonts.resolve(&mut |run, sep| {
            if sep != 0 {
                out.sep(sep);
            }
            for &b in run {
                out.text(b);
            }
        });
        out.flush();
        if !ok {
            ctx.acc.unscannable(R::PdfGlyphText);
        }
        self.stream = Stream::None;
        self.decoding = false;
        if !self.objects {
            ctx.acc.unscannable(R::CorruptPdf);
        }
    }

    /// The stream's data is over: a CMap it held is complete.
    fn end_stream(&mut self) {
        if self.inner.cmap {
            self.fonts.cmap_end();
            self.inner.cmap = false;
        }
    }

    /// File level: strings, object numbers, references and the keywords that
    /// open streams.
    fn outside(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) -> usize {
        let (used, opened) = {
            let Pdf {
                outer,
                fonts,
                obj,
                dict,
                dict_len,
                await_eol,
                text,
                objects,
                ..
            } = self;
            let mut out = text.out(ctx);
            let mut result = (data.len(), None);
            for (i, &b) in data.iter().enumerate() {
                if *await_eol {
                    // `stream` is followed by CRLF or LF; the data starts after it.
                    if b == b'\n' {
                        *await_eol = false;
                        result = (i + 1, Some(open_as(&dict[..*dict_len])));
                        break;
                    }
                    continue;
                }
                // Kept with whitespace runs as one space, so `/Length 19` and
                // `/Length1 9` stay apart.
                let space = is_space(b);
                let after_space = *dict_len > 0 && dict[*dict_len - 1] == b' ';
                if *dict_len < DICT_TAIL_BYTES && !(space && after_space) {
                    dict[*dict_len] = if space { b' ' } else { b };
                    *dict_len += 1;
                }
                let ev = outer.byte(b, false, &mut out);
                if ev == 0 {
                    continue;
                }
                on_event(ev, outer, fonts, false, *obj, &mut out);
                if ev & EV_TOKEN == 0 {
                    continue;
                }
                match outer.last() {
                    b"obj" => {
                        *objects = true;
                        *dict_len = 0;
                        if let Some(n) = parse_uint(outer.hist(2)) {
                            *obj = n;
                        }
                    }
                    b"stream" if b == b'\n' => {
                        result = (i + 1, Some(open_as(&dict[..*dict_len])));
                        break;
                    }
                    b"stream" => *await_eol = true,
                    _ => {}
                }
            }
            result
        };
        if let Some((kind, first)) = opened {
            self.dict_len = 0;
            self.open_stream(kind, first, ctx);
        }
        used
    }

    fn open_stream(&mut self, kind: Stream, objstm_first: Option<u32>, ctx: &mut Ctx<'_>) {
        self.end_match = 0;
        self.inner.begin();
        self.fonts.stream_begin();
        self.objstm.begin(objstm_first);
        // An object stream's bytes belong to the objects inside it (known
        // only when inflating its header), never to the stream itself.
        self.stream_obj = if objstm_first.is_some() {
            UNKNOWN_OBJ
        } else {
            self.obj
        };
        self.stream = match kind {
            Stream::Unsupported => {
                ctx.acc.unscannable(R::UnsupportedCompression);
                Stream::Skip
            }
            Stream::Decode(_) if self.exhausted => Stream::Skip,
            k => k,
        };
        if let Stream::Decode(filters) = self.stream {
            self.chain.begin(&filters);
            self.decoding = true;
        }
    }

    /// Uncompressed content: lexed until the `endstream` token.
    fn plain(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) -> usize {
        let mut used = data.len();
        {
            let Pdf {
                inner,
                fonts,
                stream_obj,
                text,
                ..
            } = self;
            let mut out = text.out(ctx);
            for (i, &b) in data.iter().enumerate() {
                let ev = inner.byte(b, true, &mut out);
                if ev & EV_TOKEN != 0 && inner.last() == b"endstream" {
                    out.sep(b'\n');
                    used = i + 1;
                    break;
                }
                if ev != 0 {
                    on_event(ev, inner, fonts, true, *stream_obj, &mut out);
                }
            }
        }
        if used < data.len() || self.inner.last() == b"endstream" {
            self.end_stream();
            self.stream = Stream::None;
            self.outer.begin();
        }
        used
    }

    /// Raw stream bytes nobody reads: up to and including `endstream`.
    fn skip(&mut self, data: &[u8]) -> usize {
        self.end_stream();
        for (i, &b) in data.iter().enumerate() {
            if b == ENDSTREAM[self.end_match] {
                self.end_match += 1;
                if self.end_match == ENDSTREAM.len() {
                    self.end_match = 0;
                    self.stream = Stream::None;
                    self.outer.begin();
                    return i + 1;
                }
            } else {
                // The longest prefix of `endstream` that ends here (KMP fallback).
                let mut seen = [0u8; 9];
                seen[..self.end_match].copy_from_slice(&ENDSTREAM[..self.end_match]);
                seen[self.end_match] = b;
                let n = self.end_match + 1;
                self.end_match = (1..n)
                    .rev()
                    .find(|&k| seen[n - k..n] == ENDSTREAM[..k])
                    .unwrap_or(0);
            }
        }
        data.len()
    }

    /// Encoded content: decoded through the chain's fixed buffers and lexed.
    fn decode_some(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) -> usize {
        let limits = ctx.limits;
        let lim = filters::Limits {
            budget: limits.max_inflated_bytes.saturating_sub(*ctx.inflated),
            ratio: limits.max_inflate_ratio,
            grace: limits.ratio_grace_bytes,
        };
        let ran = {
            let Pdf {
                inner,
                fonts,
                objstm,
                stream_obj,
                chain,
                text,
                ..
            } = self;
            let mut out = text.out(ctx);
            chain.run(data, &lim, |decoded| {
                lex_content(decoded, inner, fonts, objstm, *stream_obj, &mut out);
            })
        };
        *ctx.inflated += ran.wrote;
        match ran.status {
            Status::More => {
                debug_assert_eq!(ran.used, data.len(), "a chain wanting input took it all");
                return ran.used;
            }
            Status::End => {}
            Status::Corrupt => ctx.acc.unscannable(R::CorruptArchive),
            Status::Budget => {
                ctx.acc.unscannable(R::InflatedBytesLimit);
                self.exhausted = true;
            }
            Status::Ratio => ctx.acc.unscannable(R::InflateRatioLimit),
        }
        // The rest, up to `endstream`, is skipped.
        self.decoding = false;
        ran.used
    }
}

/// Decoded content bytes through the content lexer; in an object stream,
/// each byte is attributed to the object it belongs to.
fn lex_content(
    decoded: &[u8],
    inner: &mut Lexer,
    fonts: &mut Fonts,
    objstm: &mut ObjStm,
    stream_obj: u32,
    out: &mut Out<'_, '_>,
) {
    for &b in decoded {
        let mut obj = stream_obj;
        if objstm.active {
            if !objstm.byte(b) {
                continue;
            }
            obj = objstm.cur;
        }
        let ev = inner.byte(b, true, out);
        if ev != 0 {
            on_event(ev, inner, fonts, true, obj, out);
        }
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' | 0)
}

/// A PDF regular character: part of a name or keyword.
fn is_regular(b: u8) -> bool {
    !is_space(b) && !b"()<>[]{}/%".contains(&b)
}

/// `name` (with its slash) starts at `i` and ends there, not as the prefix
/// of a longer name.
fn name_at(d: &[u8], i: usize, name: &[u8]) -> bool {
    d[i..].starts_with(name) && d.get(i + name.len()).is_none_or(|&c| !is_regular(c))
}

fn skip_space(d: &[u8], i: usize) -> usize {
    if d.get(i) == Some(&b' ') {
        i + 1
    } else {
        i
    }
}

/// Positions just after each occurrence of the key `name` and its space.
fn values_of<'d>(d: &'d [u8], name: &'d [u8]) -> impl Iterator<Item = usize> + 'd {
    (0..d.len())
        .filter(move |&i| name_at(d, i, name))
        .map(move |i| skip_space(d, i + name.len()))
}

/// What to do with a stream, and `/First` if it is an object stream.
fn open_as(d: &[u8]) -> (Stream, Option<u32>) {
    let is_objstm = values_of(d, b"/Type").any(|j| name_at(d, j, b"/ObjStm"));
    let first = values_of(d, b"/First").next().and_then(|j| number_at(d, j));
    (
        classify(d),
        if is_objstm { first.or(Some(0)) } else { None },
    )
}

/// Decides from an object's dictionary (whitespace runs as one space) what
/// its stream is.
fn classify(d: &[u8]) -> Stream {
    let has = |name: &[u8]| (0..d.len()).any(|i| name_at(d, i, name));
    let pair = |key: &[u8], value: &[u8]| values_of(d, key).any(|j| name_at(d, j, value));
    if pair(b"/Subtype", b"/Image")
        || pair(b"/Type", b"/XRef")
        || pair(b"/Type", b"/Metadata")
        || pair(b"/Subtype", b"/Type1C")
        || pair(b"/Subtype", b"/CIDFontType0C")
        || pair(b"/Subtype", b"/OpenType")
        || has(b"/Length1")
        || has(b"/Length2")
        || has(b"/Length3")
    {
        return Stream::Skip;
    }
    let Some(j) = values_of(d, b"/Filter").next() else {
        return Stream::Plain;
    };
    let Some(filters) = filters_at(d, j) else {
        return Stream::Unsupported;
    };
    if filters.is_empty() {
        return Stream::Plain;
    }
    // Flate predictor parameters are harmless: their tag bytes only reach
    // the lexer. LZW ones are not undone; and one decoder is kept, with
    // the default early code-size switch.
    let lzw_params = values_of(d, b"/Predictor").any(|k| number_at(d, k) > Some(1))
        || values_of(d, b"/EarlyChange").any(|k| number_at(d, k) == Some(0));
    if filters.has(Filter::Lzw) && lzw_params {
        return Stream::Unsupported;
    }
    Stream::Decode(filters)
}

/// The filter name or array at `j`; `None` if any name in it is not one
/// [`filters`] undoes or it does not fit (or is cut off, or indirect).
fn filters_at(d: &[u8], j: usize) -> Option<Filters> {
    let mut filters = Filters::NONE;
    let mut name = |k: usize| {
        let len = 1 + d
            .get(k + 1..)?
            .iter()
            .take_while(|&&c| is_regular(c))
            .count();
        let f = Filter::named(d.get(k..k + len).filter(|n| n.first() == Some(&b'/'))?)?;
        filters.push(f).then_some(k + len)
    };
    if d.get(j) != Some(&b'[') {
        name(j)?;
        return Some(filters);
    }
    let mut k = skip_space(d, j + 1);
    while d.get(k) != Some(&b']') {
        k = skip_space(d, name(k)?);
    }
    Some(filters)
}

/// The unsigned integer at `k`, if one is.
fn number_at(d: &[u8], k: usize) -> Option<u32> {
    let digits = d[k..].iter().take_while(|c| c.is_ascii_digit()).count();
    parse_uint(&d[k..k + digits])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endstream_is_found_after_a_false_start() {
        let mut p = Pdf::new();
        p.stream = Stream::Skip;
        let data = b"xxendstrendstream tail";
        let used = p.skip(data);
        assert_eq!(&data[..used], b"xxendstrendstream");
        assert_eq!(p.stream, Stream::None);
        // Split across calls.
        p.stream = Stream::Skip;
        assert_eq!(p.skip(b"..endst"), 7);
        assert_eq!(p.skip(b"ream!"), 4);
        assert_eq!(p.stream, Stream::None);
    }

    #[test]
    fn dictionaries_are_classified_by_whole_names() {
        use Filter::*;
        let c = |d: &[u8]| classify(d);
        let dec = |fs: &[Filter]| Stream::Decode(Filters::of(fs));
        assert_eq!(c(b"<< /Length 19 /Filter /FlateDecode >>"), dec(&[Flate]));
        assert_eq!(c(b"<</Length 19/Filter[ /FlateDecode ]>>"), dec(&[Flate]));
        assert_eq!(c(b"<< /Length1 9 /Filter /FlateDecode >>"), Stream::Skip);
        assert_eq!(
            c(b"<< /Subtype /Image /Filter /FlateDecode >>"),
            Stream::Skip
        );
        assert_eq!(
            c(b"<< /Subtype /Image /Filter [/ASCII85Decode /DCTDecode] >>"),
            Stream::Skip
        );
        assert_eq!(c(b"<</Subtype/ImageMask>>"), Stream::Plain);
        assert_eq!(c(b"<< /Length 9 >>"), Stream::Plain);
        assert_eq!(c(b"<< /Length 9 /Filter [] >>"), Stream::Plain);
        assert_eq!(c(b"<< /Filter /FlateDecodeX >>"), Stream::Unsupported);
        assert_eq!(
            c(b"<< /Filter [/ASCII85Decode /FlateDecode] >>"),
            dec(&[Ascii85, Flate])
        );
        assert_eq!(c(b"<</Filter[/AHx/Fl]>>"), dec(&[AsciiHex, Flate]));
        assert_eq!(c(b"<< /Filter /A85 >>"), dec(&[Ascii85]));
        assert_eq!(c(b"<< /Filter /RL >>"), dec(&[RunLength]));
        assert_eq!(c(b"<< /Filter /RunLengthDecode >>"), dec(&[RunLength]));
        assert_eq!(c(b"<< /Filter [/LZWDecode] >>"), dec(&[Lzw]));
        assert_eq!(
            c(b"<< /Filter [/A85 /AHx /RL /LZW] >>"),
            dec(&[Ascii85, AsciiHex, RunLength, Lzw])
        );
        // Anything else anywhere in the chain, five filters, a second
        // inflate or LZW state, a cut-off or indirect array: not read.
        for d in [
            &b"<< /Filter [/FlateDecode /DCTDecode] >>"[..],
            b"<< /Filter /DCTDecode >>",
            b"<< /Filter [/Crypt /FlateDecode] >>",
            b"<< /Filter [/A85 /JBIG2Decode] >>",
            b"<< /Filter [/A85 /AHx /RL /AHx /Fl] >>",
            b"<< /Filter [/Fl /FlateDecode] >>",
            b"<< /Filter [/LZW /LZW] >>",
            b"<< /Filter [/A85 /Fl",
            b"<< /Filter 7 0 R >>",
            b"<< /Filter /Fl#61teDecode >>",
        ] {
            assert_eq!(c(d), Stream::Unsupported, "{}", String::from_utf8_lossy(d));
        }
        // LZW with a predictor or the late code-size switch is not undone;
        // Flate with a predictor is read as before (its tag bytes are lexed).
        assert_eq!(
            c(b"<< /Filter /LZWDecode /DecodeParms << /Predictor 12 /Columns 4 >> >>"),
            Stream::Unsupported
        );
        assert_eq!(
            c(b"<< /Filter /LZWDecode /DecodeParms << /EarlyChange 0 >> >>"),
            Stream::Unsupported
        );
        assert_eq!(
            c(b"<< /Filter /LZWDecode /DecodeParms << /Predictor 1 /EarlyChange 1 >> >>"),
            dec(&[Lzw])
        );
        assert_eq!(
            c(b"<< /Filter /FlateDecode /DecodeParms << /Predictor 12 /Columns 4 >> >>"),
            dec(&[Flate])
        );
    }
}
