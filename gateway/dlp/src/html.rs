//! Streaming HTML- and XML-to-text: what a reader sees is what detectors see.
//!
//! Tags, comments and `<script>`/`<style>` contents are dropped (and read
//! separately, with word attributes, by [`crate::html_hidden`]); entities
//! (`&nbsp;`, `&#52;`, `&#x34;`) are decoded; soft hyphens and zero-width
//! characters written as entities vanish, so `41&shy;11` reads `4111`.
//! Inline tags join their neighbours (`4111<span>1111</span>` stays one
//! number, as Word splits runs anywhere); block tags (`<p>`, `<td>`, `<br>`;
//! `w:p`, `c`, `si` in OOXML) become a line break so adjacent cells do not
//! merge. In HTML mode whitespace runs collapse to one space, as a browser
//! renders them, so a term folded across source lines reads as typed.
//!
//! Output is identical for any input chunking: all state is in [`Html`].

use wide::u8x16;

use crate::limits::MAX_ENTITY_BYTES;

/// Which markup rules apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    Html,
    Xml,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum St {
    Text,
    Lt,
    TagName,
    InTag,
    Quote(u8),
    Bang,
    BangDash,
    Comment,
    CommentDash,
    CommentDash2,
    Entity,
    Raw,
    RawLt,
    RawName,
}

/// Output room kept free per input byte: the longest unknown entity written back.
const RESERVE: usize = MAX_ENTITY_BYTES + 8;

/// Bytes the text paths take in one step (one 16-byte vector).
const STEP: usize = 16;

/// Longest tag name we need to recognise ("blockquote", "table-cell" with a prefix).
const TAG_NAME_BYTES: usize = 24;

/// Streaming markup stripper.
#[derive(Debug)]
pub(crate) struct Html {
    mode: Mode,
    st: St,
    name: [u8; TAG_NAME_BYTES],
    name_len: usize,
    closing: bool,
    /// Inside `<script>` or `<style>`: which one, to find its end tag.
    raw: &'static [u8],
    ent: [u8; MAX_ENTITY_BYTES],
    ent_len: usize,
    last_space: bool,
    /// Last output was a block break: do not repeat it for nested blocks.
    last_nl: bool,
}

impl Html {
    pub(crate) fn new(mode: Mode) -> Html {
        Html {
            mode,
            st: St::Text,
            name: [0; TAG_NAME_BYTES],
            name_len: 0,
            closing: false,
            raw: b"",
            ent: [0; MAX_ENTITY_BYTES],
            ent_len: 0,
            last_space: true,
            last_nl: true,
        }
    }

    pub(crate) fn reset(&mut self, mode: Mode) {
        *self = Html::new(mode);
    }

    /// Converts `input`, writing text into `out` and handing full buffers to `sink`.
    pub(crate) fn feed(&mut self, input: &[u8], out: &mut [u8], sink: &mut impl FnMut(&[u8])) {
        let mut w = Writer { out, o: 0 };
        let mut i = 0;
        while i < input.len() {
            if w.o + RESERVE + STEP > w.out.len() {
                sink(&w.out[..w.o]);
                w.o = 0;
            }
            let c = input[i];
            match self.st {
                St::Text => {
                    let rest = &input[i..];
                    let k = match self.mode {
                        Mode::Html => self.html_text(rest, &mut w),
                        Mode::Xml => self.xml_text(rest, &mut w),
                    };
                    if k > 0 {
                        i += k;
                        continue;
                    }
                    // At a '<', or at a '&' whose reference may go on in the next input.
                    match c {
                        b'<' => match self.tag_at(rest, &mut w) {
                            Some(n) => {
                                i += n;
                                continue;
                            }
                            None => self.st = St::Lt,
                        },
                        b'&' => {
                            self.st = St::Entity;
                            self.ent_len = 0;
                        }
                        b' ' | b'\t' | b'\r' | b'\n' | 0x0C if self.mode == Mode::Html => {
                            self.space(&mut w);
                        }
                        _ => {
                            w.push(c);
                            self.last_space = false;
                            self.last_nl = false;
                        }
                    }
                }
                St::Lt => match c {
                    b'!' => self.st = St::Bang,
                    b'/' => {
                        self.closing = true;
                        self.name_len = 0;
                        self.st = St::TagName;
                    }
                    b'?' => self.st = St::InTag,
                    c if c.is_ascii_alphabetic() => {
                        self.closing = false;
                        self.name_len = 0;
                        self.st = St::TagName;
                        continue;
                    }
                    _ => {
                        // "a < b": not a tag.
                        w.push(b'<');
                        self.last_space = false;
                        self.last_nl = false;
                        self.st = St::Text;
                        continue;
                    }
                },
                St::TagName => {
                    if c.is_ascii_alphanumeric() || c == b':' || c == b'-' || c == b'_' {
                        if self.name_len < TAG_NAME_BYTES {
                            self.name[self.name_len] = c.to_ascii_lowercase();
                            self.name_len += 1;
                        }
                    } else {
                        self.st = St::InTag;
                        continue;
                    }
                }
                St::InTag => match c {
                    b'"' | b'\'' if self.mode == Mode::Html || self.name_len > 0 => {
                        self.st = St::Quote(c)
                    }
                    b'>' => self.end_tag(&mut w),
                    _ => {
                        // Attributes: this byte is nothing; skip to the next
                        // one that may matter.
                        let rest = &input[i + 1..];
                        i += 1 + memchr::memchr3(b'>', b'"', b'\'', rest).unwrap_or(rest.len());
                        continue;
                    }
                },
                St::Quote(q) => {
                    if c == q {
                        self.st = St::InTag;
                    } else {
                        let rest = &input[i..];
                        i += memchr::memchr(q, rest).unwrap_or(rest.len());
                        continue;
                    }
                }
                St::Bang => {
                    self.st = if c == b'-' { St::BangDash } else { St::InTag };
                    self.name_len = 0;
                    if c == b'>' {
                        self.st = St::Text;
                    }
                }
                St::BangDash => {
                    self.st = if c == b'-' { St::Comment } else { St::InTag };
                }
                St::Comment => {
                    if c == b'-' {
                        self.st = St::CommentDash;
                    } else {
                        let rest = &input[i..];
                        i += memchr::memchr(b'-', rest).unwrap_or(rest.len());
                        continue;
                    }
                }
                St::CommentDash => {
                    self.st = if c == b'-' {
                        St::CommentDash2
                    } else {
                        St::Comment
                    };
                }
                St::CommentDash2 => {
                    self.st = match c {
                        b'>' => St::Text,
                        b'-' => St::CommentDash2,
                        _ => St::Comment,
                    };
                }
                St::Entity => {
                    if (c.is_ascii_alphanumeric() || c == b'#') && self.ent_len < MAX_ENTITY_BYTES {
                        self.ent[self.ent_len] = c;
                        self.ent_len += 1;
                    } else {
                        let semi = c == b';';
                        self.entity(&mut w, semi);
                        self.st = St::Text;
                        if !semi {
                            continue;
                        }
                    }
                }
                St::Raw => {
                    // Skip to the next '<' quickly.
                    match memchr::memchr(b'<', &input[i..]) {
                        Some(p) => {
                            i += p + 1;
                            self.st = St::RawLt;
                        }
                        None => i = input.len(),
                    }
                    continue;
                }
                St::RawLt => {
                    if c == b'/' {
                        self.name_len = 0;
                        self.st = St::RawName;
                    } else {
                        self.st = St::Raw;
                        continue;
                    }
                }
                St::RawName => {
                    if c.is_ascii_alphabetic() && self.name_len < TAG_NAME_BYTES {
                        self.name[self.name_len] = c.to_ascii_lowercase();
                        self.name_len += 1;
                    } else if self.name[..self.name_len] == *self.raw {
                        self.closing = true;
                        self.raw = b"";
                        self.st = St::InTag;
                        continue;
                    } else {
                        self.st = St::Raw;
                        continue;
                    }
                }
            }
            i += 1;
        }
        if w.o > 0 {
            sink(&w.out[..w.o]);
        }
    }

    /// End of input: an entity cut by the end is written as text.
    pub(crate) fn finish(&mut self, out: &mut [u8], sink: &mut impl FnMut(&[u8])) {
        let mut w = Writer { out, o: 0 };
        if self.st == St::Entity {
            self.entity(&mut w, false);
        } else if self.st == St::Lt {
            w.push(b'<');
        }
        self.st = St::Text;
        if w.o > 0 {
            sink(&w.out[..w.o]);
        }
    }

    /// HTML text from the start of `rest`, whitespace collapsed, sixteen bytes at a time where
    /// they need no change (no markup character, no control byte, no second space), with
    /// character references decoded in place. Returns the bytes consumed: it stops at a `<`,
    /// at a `&` whose reference may go on in the next input, at the end of `rest`, or when the
    /// output has no room left for a step.
    fn html_text(&mut self, rest: &[u8], w: &mut Writer<'_>) -> usize {
        let mut k = 0;
        while k < rest.len() && w.o + RESERVE + STEP <= w.out.len() {
            if rest[k] == b'<' {
                // The next tag, often right after the last ("</span></p>").
                return k;
            }
            if let Some(chunk) = rest.get(k..k + STEP) {
                let mut block = [0u8; STEP];
                block.copy_from_slice(chunk);
                let v = u8x16::from(block);
                // One bit per byte, the first byte lowest.
                let sp = v.simd_eq(u8x16::splat(b' ')).to_bitmask();
                let ctl = v.min(u8x16::splat(b' ')).simd_eq(v).to_bitmask();
                let markup =
                    (v.simd_eq(u8x16::splat(b'<')) | v.simd_eq(u8x16::splat(b'&'))).to_bitmask();
                let mut stop = markup | (ctl & !sp) | (sp & (sp << 1));
                if self.last_space {
                    stop |= sp & 1;
                }
                // Bytes before the first stop are written as they are.
                let p = (stop.trailing_zeros() as usize).min(STEP);
                if p > 0 {
                    // All sixteen are stored (the room is there) and `p` of them kept: one
                    // store instead of a copy of variable length.
                    w.out[w.o..w.o + STEP].copy_from_slice(&block);
                    w.o += p;
                    let taken = if p == STEP { 0xFFFF } else { (1 << p) - 1 };
                    if !sp & taken != 0 {
                        self.last_nl = false;
                    }
                    self.last_space = block[p - 1] == b' ';
                    k += p;
                    if p == STEP {
                        continue;
                    }
                }
            }
            let c = rest[k];
            match c {
                b'<' => return k,
                b'&' if rest[k + 1..].starts_with(b"nbsp;") => {
                    // What mail writers put between words, without the call.
                    self.space(w);
                    k += 6;
                }
                b'&' => match self.entity_at(&rest[k..], w) {
                    Some(n) => k += n,
                    None => return k,
                },
                b' ' | b'\t' | b'\r' | b'\n' | 0x0C => {
                    self.space(w);
                    k += 1;
                }
                _ => {
                    w.push(c);
                    self.last_space = false;
                    self.last_nl = false;
                    k += 1;
                }
            }
        }
        k
    }

    /// XML text from the start of `rest`: copied up to the next markup character, character
    /// references decoded in place. Stops as [`Html::html_text`] does.
    fn xml_text(&mut self, rest: &[u8], w: &mut Writer<'_>) -> usize {
        let mut k = 0;
        while k < rest.len() && w.o + RESERVE + STEP <= w.out.len() {
            let run = memchr::memchr2(b'<', b'&', &rest[k..]).unwrap_or(rest.len() - k);
            let take = run.min(w.out.len() - RESERVE - STEP - w.o);
            if take > 0 {
                w.out[w.o..w.o + take].copy_from_slice(&rest[k..k + take]);
                w.o += take;
                k += take;
                self.last_nl = false;
                continue;
            }
            if rest[k] != b'&' {
                return k;
            }
            match self.entity_at(&rest[k..], w) {
                Some(n) => k += n,
                None => return k,
            }
        }
        k
    }

    /// A character reference at the start of `rest` (its `&`) that ends inside `rest`:
    /// decoded as the [`St::Entity`] state would, returning the bytes it took. None when the
    /// input ends first (the state machine carries it into the next input).
    fn entity_at(&mut self, rest: &[u8], w: &mut Writer<'_>) -> Option<usize> {
        let body = &rest[1..];
        if body.starts_with(b"nbsp;") {
            // What mail writers put between words: a no-break space, read as a space.
            self.nbsp(w);
            return Some(6);
        }
        let lim = body.len().min(MAX_ENTITY_BYTES);
        let n = body[..lim]
            .iter()
            .position(|&c| !(c.is_ascii_alphanumeric() || c == b'#'))
            .unwrap_or(lim);
        if n == body.len() {
            return None;
        }
        let semi = body[n] == b';';
        self.ent[..n].copy_from_slice(&body[..n]);
        self.ent_len = n;
        self.entity(w, semi);
        Some(1 + n + usize::from(semi))
    }

    /// A tag (`<name …>` or `</name …>`) whose name ends inside `rest`: the name read in one
    /// go, as the [`St::Lt`] and [`St::TagName`] states would, then its attributes to the `>`
    /// as [`St::InTag`] and [`St::Quote`] would, and the tag ended. Returns the bytes it took,
    /// leaving the state where the input ran out (in the tag or a quoted value) or after the
    /// tag; None for anything else (the state machine takes it).
    fn tag_at(&mut self, rest: &[u8], w: &mut Writer<'_>) -> Option<usize> {
        let closing = rest.get(1) == Some(&b'/');
        let start = 1 + usize::from(closing);
        if !rest.get(start)?.is_ascii_alphabetic() {
            return None;
        }
        // The name, lower-cased as it is read (the first TAG_NAME_BYTES bytes kept).
        let mut n = 0;
        loop {
            let &c = rest.get(start + n)?;
            if !(c.is_ascii_alphanumeric() || c == b':' || c == b'-' || c == b'_') {
                break;
            }
            if n < TAG_NAME_BYTES {
                self.name[n] = c.to_ascii_lowercase();
            }
            n += 1;
        }
        self.name_len = n.min(TAG_NAME_BYTES);
        self.closing = closing;
        self.st = St::InTag;
        // The attributes, as [`St::InTag`] and [`St::Quote`] read them, to the tag's end.
        let mut j = start + n;
        while let Some(e) = attribute_stop(rest, j) {
            j = e;
            match rest[j] {
                b'>' => {
                    self.end_tag(w);
                    return Some(j + 1);
                }
                q => match memchr::memchr(q, &rest[j + 1..]) {
                    Some(e) => j += e + 2,
                    None => {
                        self.st = St::Quote(q);
                        return Some(rest.len());
                    }
                },
            }
        }
        Some(rest.len())
    }

    /// A space written as a reference: collapsed in HTML, kept in XML.
    fn nbsp(&mut self, w: &mut Writer<'_>) {
        if self.mode == Mode::Html {
            self.space(w);
        } else {
            w.push(b' ');
        }
    }

    fn space(&mut self, w: &mut Writer<'_>) {
        if !self.last_space {
            w.push(b' ');
            self.last_space = true;
        }
    }

    fn end_tag(&mut self, w: &mut Writer<'_>) {
        self.st = St::Text;
        let name = &self.name[..self.name_len];
        let local = match name.iter().rposition(|&c| c == b':') {
            Some(p) => &name[p + 1..],
            None => name,
        };
        match self.mode {
            Mode::Html => {
                if !self.closing && (local == b"script" || local == b"style") {
                    self.raw = if local == b"script" {
                        b"script"
                    } else {
                        b"style"
                    };
                    self.st = St::Raw;
                    return;
                }
                if !self.last_nl && is_html_block(local) {
                    w.push(b'\n');
                    self.last_space = true;
                    self.last_nl = true;
                }
            }
            Mode::Xml => {
                if is_xml_block(local) {
                    if !self.last_nl {
                        w.push(b'\n');
                        self.last_nl = true;
                    }
                } else if matches!(local, b"tab" | b"s") {
                    w.push(b' ');
                    self.last_nl = false;
                }
            }
        }
        self.closing = false;
    }

    fn entity(&mut self, w: &mut Writer<'_>, semi: bool) {
        let e = &self.ent[..self.ent_len];
        let mut utf8 = [0u8; 4];
        let text: Option<&[u8]> = if let Some(num) = e.strip_prefix(b"#") {
            let (digits, radix) = match num.first() {
                Some(b'x') | Some(b'X') => (&num[1..], 16),
                _ => (num, 10),
            };
            std::str::from_utf8(digits)
                .ok()
                .and_then(|s| u32::from_str_radix(s, radix).ok())
                .and_then(char::from_u32)
                .map(|c| c.encode_utf8(&mut utf8).as_bytes())
        } else {
            named_entity(e, semi)
        };
        // One character decides spacing; a two-character reference
        // (`&NotEqualTilde;`) is written as it is.
        let single = text
            .and_then(|t| std::str::from_utf8(t).ok())
            .and_then(|t| {
                let mut cs = t.chars();
                cs.next().filter(|_| cs.next().is_none())
            });
        match (single, text) {
            // Invisible characters: dropping them is what a reader sees.
            (
                Some('\u{AD}' | '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}'),
                _,
            ) => {}
            (Some('\u{A0}' | ' ' | '\t' | '\n' | '\r'), _) => self.nbsp(w),
            (_, Some(t)) => {
                for &b in t {
                    w.push(b);
                }
                self.last_space = false;
                self.last_nl = false;
            }
            (_, None) => {
                // Not an entity: keep the text as written.
                w.push(b'&');
                for i in 0..self.ent_len {
                    let b = self.ent[i];
                    w.push_spill(b);
                }
                if semi {
                    w.push_spill(b';');
                }
                self.last_space = false;
                self.last_nl = false;
            }
        }
        self.ent_len = 0;
    }
}

/// What a named character reference stands for: HTML5's 2,231 references
/// from WHATWG's `entities.json` (the `htmlize` crate's table; without `;`
/// only the legacy ones such as `&amp` and `&nbsp`), except that spaces and
/// hyphens of every width read as ASCII space and `-`, so that digits
/// grouped with `&ensp;` or `&hyphen;` stay one value, and `&zwsp;`, which
/// mail writers use though HTML5 does not define it, vanishes.
fn named_entity(e: &[u8], semi: bool) -> Option<&'static [u8]> {
    match e {
        // What mail writers put between every word: answered without
        // hashing (the html row of `benches/throughput.rs`).
        b"nbsp" => return Some("\u{A0}".as_bytes()),
        b"amp" => return Some(b"&"),
        b"lt" => return Some(b"<"),
        b"gt" => return Some(b">"),
        b"quot" => return Some(b"\""),
        b"ensp" | b"emsp" | b"emsp13" | b"emsp14" | b"thinsp" | b"hairsp" | b"numsp"
        | b"puncsp" | b"ThinSpace" | b"VeryThinSpace" | b"MediumSpace" => return Some(b" "),
        b"hyphen" | b"dash" | b"minus" => return Some(b"-"),
        b"zwsp" => return Some("\u{200B}".as_bytes()),
        _ => {}
    }
    // "&" + name + optional ";": the table's keys are written that way.
    let mut key = [0u8; MAX_ENTITY_BYTES + 2];
    key[0] = b'&';
    key[1..=e.len()].copy_from_slice(e);
    let mut n = e.len() + 1;
    if semi {
        key[n] = b';';
        n += 1;
    }
    htmlize::ENTITIES.get(&key[..n]).copied()
}

/// The first `>`, `"` or `'` of `rest` from `j`: sixteen bytes a step (attributes are short,
/// and a call to `memchr3` cost more than the search).
fn attribute_stop(rest: &[u8], mut j: usize) -> Option<usize> {
    while let Some(chunk) = rest.get(j..j + STEP) {
        let mut block = [0u8; STEP];
        block.copy_from_slice(chunk);
        let v = u8x16::from(block);
        let m = (v.simd_eq(u8x16::splat(b'>'))
            | v.simd_eq(u8x16::splat(b'"'))
            | v.simd_eq(u8x16::splat(b'\'')))
        .to_bitmask();
        if m != 0 {
            return Some(j + m.trailing_zeros() as usize);
        }
        j += STEP;
    }
    rest.get(j..)?
        .iter()
        .position(|&c| matches!(c, b'>' | b'"' | b'\''))
        .map(|p| j + p)
}

/// HTML elements that start a new line (what a browser renders as a block).
fn is_html_block(local: &[u8]) -> bool {
    matches!(
        local,
        b"p" | b"div"
            | b"br"
            | b"tr"
            | b"td"
            | b"th"
            | b"li"
            | b"ul"
            | b"ol"
            | b"table"
            | b"h1"
            | b"h2"
            | b"h3"
            | b"h4"
            | b"h5"
            | b"h6"
            | b"hr"
            | b"blockquote"
            | b"pre"
            | b"title"
            | b"dt"
            | b"dd"
            | b"section"
            | b"article"
            | b"header"
            | b"footer"
            | b"tbody"
            | b"thead"
            | b"caption"
            | b"address"
            | b"body"
            | b"head"
    )
}

/// OOXML and ODF elements that end a paragraph, cell, row or line.
fn is_xml_block(local: &[u8]) -> bool {
    matches!(
        local,
        b"p" | b"tc"
            | b"tr"
            | b"c"
            | b"si"
            | b"row"
            | b"table-cell"
            | b"table-row"
            | b"h"
            | b"list-item"
            | b"br"
            | b"cr"
            | b"line-break"
            | b"txbody"
            | b"sp"
    )
}

struct Writer<'a> {
    out: &'a mut [u8],
    o: usize,
}

impl Writer<'_> {
    fn push(&mut self, b: u8) {
        self.out[self.o] = b;
        self.o += 1;
    }
    /// An unknown entity is written back verbatim; [`RESERVE`] leaves room.
    fn push_spill(&mut self, b: u8) {
        self.push(b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(mode: Mode, input: &[u8], split: usize) -> String {
        let mut h = Html::new(mode);
        let mut out = [0u8; 256];
        let mut v = Vec::new();
        let (a, b) = input.split_at(split.min(input.len()));
        h.feed(a, &mut out, &mut |s| v.extend_from_slice(s));
        h.feed(b, &mut out, &mut |s| v.extend_from_slice(s));
        h.finish(&mut out, &mut |s| v.extend_from_slice(s));
        String::from_utf8(v).unwrap()
    }

    fn conv_chunks<'a>(
        mode: Mode,
        out_len: usize,
        chunks: impl Iterator<Item = &'a [u8]>,
    ) -> Vec<u8> {
        let mut h = Html::new(mode);
        let mut out = vec![0u8; out_len];
        let mut v = Vec::new();
        for c in chunks {
            h.feed(c, &mut out, &mut |s| v.extend_from_slice(s));
        }
        h.finish(&mut out, &mut |s| v.extend_from_slice(s));
        v
    }

    #[test]
    fn bulk_paths_write_what_the_state_machine_writes() {
        // Fed one byte at a time, every byte goes through the state machine (no text run,
        // reference or tag name is whole in the input); fed whole, they take the bulk paths.
        let pieces: &[&[u8]] = &[
            b"a",
            b"Card",
            b" ",
            b"  ",
            b"\t",
            b"\r\n",
            b"\x0c",
            b"\x01",
            b"&nbsp;",
            b"&nbsp",
            b"&amp;",
            b"&#52;",
            b"&#x34;",
            b"&shy;",
            b"&ensp;",
            b"&bogus;",
            b"&",
            b"&&",
            b"<",
            b"</",
            b"< ",
            b"<p>",
            b"</p>",
            b"<br/>",
            b"<span style='a>b'>",
            b"<o:p>",
            b"</o:p>",
            b"<si>",
            b"<w:t xml:space=\"preserve\">",
            b"<!-- c -->",
            b"<!doctype html>",
            b"<script>x<p></script>",
            b"<style>p{}</style>",
            b"4556 7375",
            b"\xc3\xa9",
            b">",
            b";",
            b"#",
            b"&AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA;",
            b"<averyveryveryverylongtagnamethatgoeson>",
        ];
        let mut rng = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng as usize
        };
        for round in 0..3000 {
            let mode = if round % 2 == 0 {
                Mode::Html
            } else {
                Mode::Xml
            };
            let mut src = Vec::new();
            for _ in 0..1 + next() % 60 {
                src.extend_from_slice(pieces[next() % pieces.len()]);
            }
            let slow = conv_chunks(mode, 64, src.chunks(1));
            for out_len in [64, 4096] {
                assert_eq!(
                    conv_chunks(mode, out_len, std::iter::once(&src[..])),
                    slow,
                    "{mode:?} {:?}",
                    String::from_utf8_lossy(&src)
                );
            }
            let cut = next() % (src.len() + 1);
            let (a, b) = src.split_at(cut);
            assert_eq!(conv_chunks(mode, 64, [a, b].into_iter()), slow);
        }
    }

    #[test]
    fn html_hides_nothing() {
        let src = b"<html><head><style>p{x:1}</style></head><body><p class=MsoNormal>Card:&nbsp;&#52;556<span style='a>b'> 7375</span>\r\n 86<!-- x -->89 98&shy;55<o:p></o:p></p><script>var a='<p>';</script>Project\r\n   Falcon &amp; co &bogus; 1 < 2</body></html>";
        let want = "Card: 4556 7375 8689 9855\nProject Falcon & co &bogus; 1 < 2\n";
        for s in 0..src.len() {
            assert_eq!(conv(Mode::Html, src, s), want, "split {s}");
        }
    }

    #[test]
    fn every_html5_named_reference_decodes() {
        let src = b"a&period;b&commat;c&NewLine;d&bsol;e&lowbar;f&NotEqualTilde;g&amp h&period i";
        let want = "a.b@c d\\e_f\u{2242}\u{338}g& h&period i";
        for s in 0..src.len() {
            assert_eq!(conv(Mode::Html, src, s), want, "split {s}");
        }
        // Digits grouped by wide spaces and hyphens stay one value.
        assert_eq!(
            conv(Mode::Html, b"536&hyphen;22&hyphen;1234 4556&ensp;7375", 0),
            "536-22-1234 4556 7375"
        );
        assert_eq!(htmlize::ENTITIES.len(), 2231, "WHATWG's full list");
    }

    #[test]
    fn xml_cells_do_not_merge() {
        let src = b"<?xml version=\"1.0\"?><sst><si><t>4556 7375</t><t> 8689 9855</t></si><si><t>123</t></si></sst><w:p><w:r><w:t>41</w:t></w:r><w:r><w:t>11</w:t></w:r></w:p>";
        let want = "4556 7375 8689 9855\n123\n4111\n";
        for s in 0..src.len() {
            assert_eq!(conv(Mode::Xml, src, s), want, "split {s}");
        }
    }
}
