//! PDF text for the detectors, streamed in fixed memory.
//!
//! A PDF keeps its text in strings: literal `(...)` and hex `<...>` strings
//! in content streams (the operands of `Tj`, `TJ`, `'`, `"`) and in
//! dictionaries (`/Title (...)`). Content streams are nearly always
//! FlateDecode-compressed, so a raw scan of the file sees nothing. This
//! reader walks the file as it arrives: outside streams it lexes strings; at
//! each `stream` keyword it looks at that object's dictionary and inflates a
//! FlateDecode stream through one fixed window (miniz_oxide, zlib format),
//! lexing the inflated content for strings; images, font programs and
//! cross-reference streams are skipped without inflating.
//!
//! What cannot be read is reported, never passed silently: text drawn with
//! glyph codes (hex strings of a composite font such as Identity-H, whose
//! meaning is only in the font's ToUnicode map elsewhere in the file) is
//! `unscannable: pdf_glyph_text`; a stream with another filter chain than
//! FlateDecode alone is `unsupported_compression`; a corrupt deflate stream
//! is `corrupt_archive`; the message-wide inflate budget and ratio apply as
//! for ZIP entries.

use miniz_oxide::inflate::stream::{inflate, InflateState};
use miniz_oxide::{DataFormat, MZFlush, MZStatus};

use crate::findings::UnscannableReason as R;
use crate::limits::STAGE_BUFFER_BYTES;
use crate::zip::Ctx;

/// Bytes of an object's dictionary kept to decide what its stream is; the
/// keys that matter (`/Filter`, `/Subtype`, `/Length1`) sit in the first
/// few hundred bytes of any real dictionary.
pub const DICT_TAIL_BYTES: usize = 512;
/// Longest token (operator, name, number) the lexer keeps; longer ones are
/// not anything it acts on.
const MAX_TOKEN_BYTES: usize = 16;
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

/// Where extracted text goes: a chunk buffer flushed into the text pipe.
struct Out<'c, 'a> {
    ctx: &'c mut Ctx<'a>,
    buf: &'c mut [u8],
    len: &'c mut usize,
    /// The last byte written was a separator: do not write another.
    sep: &'c mut bool,
}

impl Out<'_, '_> {
    fn text(&mut self, b: u8) {
        if *self.len == self.buf.len() {
            self.flush();
        }
        self.buf[*self.len] = b;
        *self.len += 1;
        *self.sep = b == b' ' || b == b'\n';
    }

    fn sep(&mut self, b: u8) {
        if !*self.sep {
            self.text(b);
        }
    }

    fn flush(&mut self) {
        if *self.len > 0 {
            self.ctx
                .text
                .push(self.ctx.det, self.ctx.acc, &self.buf[..*self.len]);
            *self.len = 0;
        }
    }
}

/// The string lexer used at the file level and in content streams: writes
/// the text of strings and separators for text-positioning operators, and
/// hands each ended token to its owner.
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
    /// The token that just ended (valid right after `byte` returns true).
    last: [u8; MAX_TOKEN_BYTES],
    last_len: usize,
    in_array: u32,
    /// Hex strings in content that held glyph codes rather than text.
    glyph_strings: u64,
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
            last: [0; MAX_TOKEN_BYTES],
            last_len: 0,
            in_array: 0,
            glyph_strings: 0,
        }
    }

    /// Starts a new content stream (or the file): nothing carries over.
    fn begin(&mut self) {
        self.st = Lex::Normal;
        self.depth = 0;
        self.token_len = 0;
        self.last_len = 0;
        self.in_array = 0;
    }

    fn last(&self) -> &[u8] {
        &self.last[..self.last_len]
    }

    /// Lexes one byte; true when a token ended (read it with [`Lexer::last`]).
    /// `content`: operators and hex strings are text-drawing (a content
    /// stream), not dictionary syntax.
    fn byte(&mut self, b: u8, content: bool, out: &mut Out<'_, '_>) -> bool {
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
                    out.text(b);
                }
                b')' => {
                    self.depth -= 1;
                    if self.depth == 0 {
                        self.st = Lex::Normal;
                        if !content {
                            out.sep(b'\n');
                        }
                    } else {
                        out.text(b);
                    }
                }
                b'\r' | b'\n' => out.sep(b' '),
                _ => out.text(b),
            },
            Lex::Escape => {
                self.st = Lex::Str;
                match b {
                    b'n' | b'r' => out.sep(b'\n'),
                    b't' | b'b' | b'f' => out.sep(b' '),
                    b'0'..=b'7' => {
                        self.octal = b - b'0';
                        self.octal_digits = 1;
                        self.st = Lex::Octal;
                    }
                    // A backslash before a line break continues the string.
                    b'\r' | b'\n' => {}
                    _ => out.text(b),
                }
            }
            Lex::Octal => {
                if (b'0'..=b'7').contains(&b) && self.octal_digits < 3 {
                    self.octal = self.octal.wrapping_mul(8).wrapping_add(b - b'0');
                    self.octal_digits += 1;
                    return false;
                }
                out.text(self.octal);
                self.st = Lex::Str;
                return self.byte(b, content, out);
            }
            Lex::Hex => match b {
                // `<<` opens a dictionary, not a hex string.
                b'<' if self.hex_digits == 0 => self.st = Lex::Normal,
                b'>' => {
                    self.st = Lex::Normal;
                    self.end_hex(content, out);
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
        false
    }

    fn normal(&mut self, b: u8, content: bool, out: &mut Out<'_, '_>) -> bool {
        let delimiter = matches!(
            b,
            b'(' | b')'
                | b'<'
                | b'>'
                | b'['
                | b']'
                | b'{'
                | b'}'
                | b'/'
                | b'%'
                | b' '
                | b'\t'
                | b'\r'
                | b'\n'
                | b'\x0c'
                | 0
        );
        if !delimiter {
            if self.token_len < MAX_TOKEN_BYTES {
                self.token[self.token_len] = b;
            }
            // Over-long tokens keep counting so they never match a keyword.
            self.token_len = self.token_len.saturating_add(1);
            return false;
        }
        let ended = self.token_len > 0;
        if ended {
            self.end_token(content, out);
        }
        match b {
            b'(' => {
                self.st = Lex::Str;
                self.depth = 1;
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
        ended
    }

    fn end_token(&mut self, content: bool, out: &mut Out<'_, '_>) {
        if self.token_len <= MAX_TOKEN_BYTES {
            self.last[..self.token_len].copy_from_slice(&self.token[..self.token_len]);
            self.last_len = self.token_len;
        } else {
            self.last_len = 0;
        }
        self.token_len = 0;
        if !content {
            return;
        }
        match self.last() {
            b"Td" | b"TD" | b"Tm" | b"Tj" | b"TJ" => out.sep(b' '),
            b"T*" | b"'" | b"\"" | b"ET" | b"BT" => out.sep(b'\n'),
            t if self.in_array > 0 && parse_int(t).is_some_and(|n| n <= TJ_WORD_GAP) => {
                out.sep(b' ')
            }
            _ => {}
        }
    }

    fn end_hex(&mut self, content: bool, out: &mut Out<'_, '_>) {
        if let Some(h) = self.hex_half.take() {
            // An odd digit count: the last digit is followed by 0.
            if self.hex_len < MAX_HEX_STRING_BYTES {
                self.hex[self.hex_len] = h << 4;
                self.hex_len += 1;
            }
        }
        let overflow = self.hex_digits > 2 * MAX_HEX_STRING_BYTES;
        let s = &self.hex[..self.hex_len];
        if s.is_empty() || overflow {
            return;
        }
        // Text in a simple font is printable bytes; anything else is glyph
        // codes (or binary data such as a file ID outside content).
        if s.iter().all(|&c| c == b' ' || c.is_ascii_graphic()) {
            for &c in s {
                out.text(c);
            }
            out.sep(b' ');
        } else if content {
            self.glyph_strings += 1;
        }
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
    /// FlateDecode alone: inflate and lex the content.
    Flate,
    /// No filter: lex the bytes as content.
    Plain,
    /// Image, font program, metadata or xref: skip to `endstream`.
    Skip,
    /// Content under a filter chain cordon does not undo: reported, skipped.
    Unsupported,
}

/// One PDF part being read.
pub(crate) struct Pdf {
    outer: Lexer,
    inner: Lexer,
    /// The current object's dictionary bytes (whitespace dropped), up to
    /// [`DICT_TAIL_BYTES`].
    dict: [u8; DICT_TAIL_BYTES],
    dict_len: usize,
    /// After the `stream` keyword: waiting for the end of its line.
    await_eol: bool,
    stream: Stream,
    /// Bytes of `endstream` matched so far while skipping.
    end_match: usize,
    inflating: bool,
    stream_in: u64,
    stream_out: u64,
    inflate: Box<InflateState>,
    inflated: Box<[u8]>,
    text: Box<[u8]>,
    text_len: usize,
    text_sep: bool,
    /// The message's inflate budget ran out: no more inflating in this part.
    exhausted: bool,
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
            dict: [0; DICT_TAIL_BYTES],
            dict_len: 0,
            await_eol: false,
            stream: Stream::None,
            end_match: 0,
            inflating: false,
            stream_in: 0,
            stream_out: 0,
            inflate: InflateState::new_boxed(DataFormat::Zlib),
            inflated: vec![0u8; STAGE_BUFFER_BYTES].into_boxed_slice(),
            text: vec![0u8; TEXT_CHUNK_BYTES].into_boxed_slice(),
            text_len: 0,
            text_sep: true,
            exhausted: false,
        }
    }

    pub(crate) fn state_bytes(&self) -> usize {
        std::mem::size_of::<Pdf>()
            + std::mem::size_of::<InflateState>()
            + self.inflated.len()
            + self.text.len()
    }

    /// Starts a new PDF part.
    pub(crate) fn begin(&mut self) {
        self.outer.begin();
        self.outer.glyph_strings = 0;
        self.inner.begin();
        self.inner.glyph_strings = 0;
        self.dict_len = 0;
        self.await_eol = false;
        self.stream = Stream::None;
        self.end_match = 0;
        self.inflating = false;
        self.text_len = 0;
        self.text_sep = true;
        self.exhausted = false;
    }

    pub(crate) fn feed(&mut self, ctx: &mut Ctx<'_>, mut data: &[u8]) {
        while !data.is_empty() {
            let used = match self.stream {
                Stream::None => self.outside(ctx, data),
                Stream::Flate if self.inflating => self.inflate_some(ctx, data),
                Stream::Plain => self.plain(ctx, data),
                Stream::Flate | Stream::Skip | Stream::Unsupported => self.skip(data),
            };
            data = &data[used..];
        }
        let Pdf {
            text,
            text_len,
            text_sep,
            ..
        } = self;
        Out {
            ctx,
            buf: text,
            len: text_len,
            sep: text_sep,
        }
        .flush();
    }

    /// End of the part.
    pub(crate) fn finish(&mut self, ctx: &mut Ctx<'_>) {
        if self.stream == Stream::Flate && self.inflating {
            // The file ended inside a compressed stream.
            ctx.acc.unscannable(R::CorruptArchive);
        }
        if self.inner.glyph_strings + self.outer.glyph_strings > 0 {
            ctx.acc.unscannable(R::PdfGlyphText);
        }
        self.stream = Stream::None;
        self.inflating = false;
    }

    /// File level: strings and the keywords that open streams.
    fn outside(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) -> usize {
        let (used, opened) = {
            let Pdf {
                outer,
                dict,
                dict_len,
                await_eol,
                text,
                text_len,
                text_sep,
                ..
            } = self;
            let mut out = Out {
                ctx,
                buf: text,
                len: text_len,
                sep: text_sep,
            };
            let mut result = (data.len(), None);
            for (i, &b) in data.iter().enumerate() {
                if *await_eol {
                    // `stream` is followed by CRLF or LF; the data starts after it.
                    if b == b'\n' {
                        *await_eol = false;
                        result = (i + 1, Some(classify(&dict[..*dict_len])));
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
                if outer.byte(b, false, &mut out) {
                    match outer.last() {
                        b"obj" => *dict_len = 0,
                        b"stream" if b == b'\n' => {
                            result = (i + 1, Some(classify(&dict[..*dict_len])));
                            break;
                        }
                        b"stream" => *await_eol = true,
                        _ => {}
                    }
                }
            }
            result
        };
        if let Some(kind) = opened {
            self.dict_len = 0;
            self.open_stream(kind, ctx);
        }
        used
    }

    fn open_stream(&mut self, kind: Stream, ctx: &mut Ctx<'_>) {
        self.end_match = 0;
        self.inner.begin();
        self.stream = match kind {
            Stream::Unsupported => {
                ctx.acc.unscannable(R::UnsupportedCompression);
                Stream::Skip
            }
            Stream::Flate if self.exhausted => Stream::Skip,
            k => k,
        };
        if self.stream == Stream::Flate {
            self.inflate.reset(DataFormat::Zlib);
            self.inflating = true;
            self.stream_in = 0;
            self.stream_out = 0;
        }
    }

    /// Uncompressed content: lexed until the `endstream` token.
    fn plain(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) -> usize {
        let Pdf {
            inner,
            text,
            text_len,
            text_sep,
            ..
        } = self;
        let mut out = Out {
            ctx,
            buf: text,
            len: text_len,
            sep: text_sep,
        };
        for (i, &b) in data.iter().enumerate() {
            if inner.byte(b, true, &mut out) && inner.last() == b"endstream" {
                out.sep(b'\n');
                self.stream = Stream::None;
                self.outer.begin();
                return i + 1;
            }
        }
        data.len()
    }

    /// Raw stream bytes nobody reads: up to and including `endstream`.
    fn skip(&mut self, data: &[u8]) -> usize {
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

    /// Compressed content: inflated through the fixed window and lexed.
    fn inflate_some(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) -> usize {
        let r = inflate(&mut self.inflate, data, &mut self.inflated, MZFlush::None);
        let produced = r.bytes_written;
        self.stream_in += r.bytes_consumed as u64;
        self.stream_out += produced as u64;
        *ctx.inflated += produced as u64;
        {
            let Pdf {
                inner,
                inflated,
                text,
                text_len,
                text_sep,
                ..
            } = self;
            let mut out = Out {
                ctx,
                buf: text,
                len: text_len,
                sep: text_sep,
            };
            for &b in &inflated[..produced] {
                inner.byte(b, true, &mut out);
            }
        }
        let limits = ctx.limits;
        if *ctx.inflated > limits.max_inflated_bytes {
            ctx.acc.unscannable(R::InflatedBytesLimit);
            self.exhausted = true;
            self.inflating = false;
        } else if self.stream_out > limits.ratio_grace_bytes
            && self.stream_out > self.stream_in.max(1) * limits.max_inflate_ratio
        {
            ctx.acc.unscannable(R::InflateRatioLimit);
            self.inflating = false;
        }
        match r.status {
            Ok(MZStatus::StreamEnd) => self.inflating = false,
            Ok(_) => {}
            Err(_) => {
                ctx.acc.unscannable(R::CorruptArchive);
                self.inflating = false;
            }
        }
        if !self.inflating {
            // The rest up to `endstream` is skipped.
            return r.bytes_consumed;
        }
        if r.bytes_consumed == 0 && produced == 0 {
            // No progress with input available: the stream is stuck.
            ctx.acc.unscannable(R::CorruptArchive);
            self.inflating = false;
        }
        r.bytes_consumed
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
    // FlateDecode alone, as a name or a one-element array (predictor
    // parameters are harmless: their tag bytes only reach the lexer).
    let flate = if d.get(j) == Some(&b'[') {
        let k = skip_space(d, j + 1);
        name_at(d, k, b"/FlateDecode") && d.get(skip_space(d, k + 12)) == Some(&b']')
    } else {
        name_at(d, j, b"/FlateDecode")
    };
    if flate {
        Stream::Flate
    } else {
        Stream::Unsupported
    }
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
        let c = |d: &[u8]| classify(d);
        assert_eq!(c(b"<< /Length 19 /Filter /FlateDecode >>"), Stream::Flate);
        assert_eq!(c(b"<</Length 19/Filter[ /FlateDecode ]>>"), Stream::Flate);
        assert_eq!(c(b"<< /Length1 9 /Filter /FlateDecode >>"), Stream::Skip);
        assert_eq!(
            c(b"<< /Subtype /Image /Filter /FlateDecode >>"),
            Stream::Skip
        );
        assert_eq!(c(b"<</Subtype/ImageMask>>"), Stream::Plain);
        assert_eq!(c(b"<< /Length 9 >>"), Stream::Plain);
        assert_eq!(c(b"<< /Filter /FlateDecodeX >>"), Stream::Unsupported);
        assert_eq!(
            c(b"<< /Filter [/ASCII85Decode /FlateDecode] >>"),
            Stream::Unsupported
        );
        assert_eq!(
            c(b"<< /Filter [/FlateDecode /DCTDecode] >>"),
            Stream::Unsupported
        );
        assert_eq!(c(b"<< /Filter /DCTDecode >>"), Stream::Unsupported);
    }
}
