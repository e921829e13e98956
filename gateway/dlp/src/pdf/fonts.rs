//! Glyph-coded PDF text and the ToUnicode maps that give it meaning.
//!
//! Composite fonts (Identity-H, as Chrome and Word write them) and subset
//! TrueType fonts with custom encodings draw text as glyph codes: `<0017>`
//! means '4' only through the font's ToUnicode CMap, a stream somewhere else
//! in the file, often after the page that uses it. So glyph text is kept (in
//! a fixed buffer, with the resource name of its font) until the end of the
//! PDF, while the file's references (`/F2 7 0 R`), font-to-CMap links
//! (`/ToUnicode 9 0 R` inside `7 0 obj`) and CMaps (`bfchar`, `bfrange`) are
//! collected as they stream by; at the end each run is decoded through its
//! font's map. Whatever cannot be resolved (a table full, an unmapped code)
//! is reported by the caller as `pdf_glyph_text`.

/// Name-to-object references remembered (`/F2 7 0 R`); a page's font
/// resources are among them.
pub const MAX_REFS: usize = 256;
/// Font objects linked to their ToUnicode stream.
pub const MAX_LINKS: usize = 64;
/// ToUnicode CMaps read per PDF.
pub const MAX_CMAPS: usize = 32;
/// `bfchar`/`bfrange` entries over all CMaps of one PDF (a subset font maps
/// a few hundred glyphs).
pub const MAX_CMAP_ENTRIES: usize = 4096;
/// Glyph-coded text kept until the PDF ends (~32,000 two-byte glyphs).
pub const GLYPH_BUFFER_BYTES: usize = 64 * 1024;
/// Fonts the kept glyph text may name.
pub const MAX_GLYPH_FONTS: usize = 32;
/// Longest resource name kept (`/C2_0`, `/TT1`: a handful of bytes).
const NAME_BYTES: usize = 16;
/// A kept glyph run: font index, separator before it (0 joined, space, line
/// feed, [`MOVE`] or [`GAP`]) with [`PRINTABLE`], the move in tenths of an
/// em (for [`MOVE`]), length (u16 LE), then the codes.
const HEAD: usize = 5;
/// Set in a run's separator byte when its codes are printable bytes.
const PRINTABLE: u8 = 0x80;
/// Separator: the run follows the last one on its line after a `Td` or a
/// new `Tj` (Chromium and ghostscript split words there: kerning), by the
/// move kept beside it. Decided in [`Fonts::resolve`].
const MOVE: u8 = 1;
/// Separator: a `TJ` gap wider than a word space. Decided in
/// [`Fonts::resolve`].
const GAP: u8 = 2;
/// A move not along the line, or of unknown size.
const UNKNOWN_MOVE: u8 = u8::MAX;
/// Widest advance a glyph is taken to have, in tenths of an em, when a
/// [`MOVE`] is judged: a move no longer than the last run at this width is
/// the run's own advance, and the next run continues its word. Latin
/// letters and digits are 0.5 to 0.75 em wide.
const MAX_GLYPH_TENTHS: u32 = 8;
/// A [`MOVE`] further than the last run at a full em per glyph plus this
/// many tenths of an em is a jump to another column.
const COLUMN_JUMP_TENTHS: u32 = 10;

/// How far the text moved along its line before a glyph run.
#[derive(Clone, Copy, Debug)]
pub(super) struct Move {
    /// The stream's count of `TJ` gaps so far.
    pub(super) gaps: u32,
    /// The `Td` offsets along the line, in ems (NaN: unknown).
    pub(super) ems: f32,
}

/// Dictionary keys whose references are never font resources: not kept, so
/// the table holds what matters.
const NOT_RESOURCES: &[&[u8]] = &[
    b"/Parent",
    b"/Contents",
    b"/Resources",
    b"/Annots",
    b"/Pages",
    b"/Root",
    b"/Info",
    b"/FontDescriptor",
    b"/FontFile",
    b"/FontFile2",
    b"/FontFile3",
    b"/Metadata",
    b"/StructTreeRoot",
    b"/P",
    b"/Pg",
    b"/K",
    b"/Length",
    b"/Encoding",
];

#[derive(Clone, Copy, Default)]
struct Name {
    bytes: [u8; NAME_BYTES],
    len: u8,
}

impl Name {
    fn new(b: &[u8]) -> Option<Name> {
        if b.len() > NAME_BYTES {
            return None;
        }
        let mut n = Name::default();
        n.bytes[..b.len()].copy_from_slice(b);
        n.len = b.len() as u8;
        Some(n)
    }

    fn get(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

#[derive(Clone, Copy, Default)]
struct CMap {
    obj: u32,
    /// Bytes per code (from `codespacerange`; 2 if it was not given).
    width: u8,
    start: u32,
    len: u32,
}

/// One mapping: codes `lo..=hi` to `dst + (code - lo)`.
#[derive(Clone, Copy, Default)]
struct Entry {
    lo: u16,
    hi: u16,
    dst: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Section {
    None,
    Codespace,
    BfChar,
    BfRange,
}

pub(super) struct Fonts {
    refs: Box<[(Name, u32)]>,
    n_refs: usize,
    links: [(u32, u32); MAX_LINKS],
    n_links: usize,
    cmaps: [CMap; MAX_CMAPS],
    n_cmaps: usize,
    entries: Box<[Entry]>,
    n_entries: usize,
    /// The CMap being read, if any.
    cmap_open: bool,
    section: Section,
    ops: [u32; 2],
    n_ops: usize,
    /// In a `bfrange` array: the next code.
    array_code: Option<u32>,
    glyph_fonts: [Name; MAX_GLYPH_FONTS],
    n_glyph_fonts: usize,
    font: Option<u8>,
    glyphs: Box<[u8]>,
    n_glyphs: usize,
    /// The `breaks` count of the last glyph run, and in which stream.
    last_breaks: Option<u32>,
    /// The `lines` count of the last glyph run.
    last_lines: u32,
    /// The `gaps` count of the last glyph run.
    last_gaps: u32,
    /// Glyph text, a font or a table was lost to a limit.
    lost: bool,
    /// Per font, the printable codes of runs that did not fit in the
    /// buffer. They went out as text already, which is right unless the
    /// font's map gives them other characters: `resolve` checks.
    dropped: [u128; MAX_GLYPH_FONTS],
}

impl Fonts {
    pub(super) fn new() -> Fonts {
        Fonts {
            refs: vec![(Name::default(), 0); MAX_REFS].into_boxed_slice(),
            n_refs: 0,
            links: [(0, 0); MAX_LINKS],
            n_links: 0,
            cmaps: [CMap::default(); MAX_CMAPS],
            n_cmaps: 0,
            entries: vec![Entry::default(); MAX_CMAP_ENTRIES].into_boxed_slice(),
            n_entries: 0,
            cmap_open: false,
            section: Section::None,
            ops: [0; 2],
            n_ops: 0,
            array_code: None,
            glyph_fonts: [Name::default(); MAX_GLYPH_FONTS],
            n_glyph_fonts: 0,
            font: None,
            glyphs: vec![0u8; GLYPH_BUFFER_BYTES].into_boxed_slice(),
            n_glyphs: 0,
            last_breaks: None,
            last_lines: 0,
            last_gaps: 0,
            lost: false,
            dropped: [0; MAX_GLYPH_FONTS],
        }
    }

    pub(super) fn state_bytes(&self) -> usize {
        std::mem::size_of::<Fonts>()
            + self.refs.len() * std::mem::size_of::<(Name, u32)>()
            + self.entries.len() * std::mem::size_of::<Entry>()
            + self.glyphs.len()
    }

    /// A new PDF.
    pub(super) fn begin(&mut self) {
        self.n_refs = 0;
        self.n_links = 0;
        self.n_cmaps = 0;
        self.n_entries = 0;
        self.cmap_open = false;
        self.section = Section::None;
        self.n_ops = 0;
        self.array_code = None;
        self.n_glyph_fonts = 0;
        self.font = None;
        self.n_glyphs = 0;
        self.last_breaks = None;
        self.lost = false;
        self.dropped = [0; MAX_GLYPH_FONTS];
    }

    /// A new content stream: its first run never joins the last one.
    pub(super) fn stream_begin(&mut self) {
        self.last_breaks = None;
    }

    /// `name obj 0 R` inside object `in_obj`.
    pub(super) fn reference(&mut self, name: &[u8], obj: u32, in_obj: u32) {
        if name == b"/ToUnicode" {
            if let Some(l) = self.links[..self.n_links]
                .iter_mut()
                .find(|l| l.0 == in_obj)
            {
                l.1 = obj;
            } else if self.n_links < MAX_LINKS {
                self.links[self.n_links] = (in_obj, obj);
                self.n_links += 1;
            } else {
                self.lost = true;
            }
            return;
        }
        if NOT_RESOURCES.contains(&name) {
            return;
        }
        let Some(n) = Name::new(name) else { return };
        if let Some(r) = self.refs[..self.n_refs]
            .iter_mut()
            .find(|r| r.0.get() == name)
        {
            r.1 = obj;
        } else if self.n_refs < MAX_REFS {
            self.refs[self.n_refs] = (n, obj);
            self.n_refs += 1;
        }
        // A full table only matters if a glyph run's font is missing, which
        // `resolve` reports.
    }

    /// `/F2 12 Tf` in a content stream.
    /// Whether a `Tf` set a font for the glyph runs that follow.
    pub(super) fn has_font(&self) -> bool {
        self.font.is_some()
    }

    pub(super) fn set_font(&mut self, name: &[u8]) {
        self.font = None;
        let Some(n) = Name::new(name) else {
            self.lost = true;
            return;
        };
        if let Some(i) = self.glyph_fonts[..self.n_glyph_fonts]
            .iter()
            .position(|f| f.get() == name)
        {
            self.font = Some(i as u8);
        } else if self.n_glyph_fonts < MAX_GLYPH_FONTS {
            self.glyph_fonts[self.n_glyph_fonts] = n;
            self.font = Some(self.n_glyph_fonts as u8);
            self.n_glyph_fonts += 1;
        } else {
            self.lost = true;
        }
    }

    /// Glyph codes drawn with the current font: kept for the end. `breaks`
    /// is the stream's count of text breaks so far: the same count as the
    /// last run's means this run continues its word; `lines` counts the
    /// line breaks among them: another count than the last run's means a new
    /// line (LibreOffice draws each table cell in its own `BT`..`ET`, and a
    /// card number with the next cell's digits after a mere space would read
    /// as one longer number).
    /// `printable` runs were written out as their bytes already (text in
    /// a simple font); they are kept for the case that their font turns out
    /// to have a ToUnicode map, which then decides. One that does not fit
    /// is remembered by its codes only (see [`Fonts::resolve`]).
    pub(super) fn glyphs(
        &mut self,
        codes: &[u8],
        breaks: u32,
        lines: u32,
        moved: Move,
        printable: bool,
    ) {
        let Some(font) = self.font else {
            self.lost = true;
            return;
        };
        let need = HEAD + codes.len();
        if self.n_glyphs + need > self.glyphs.len() || codes.len() > usize::from(u16::MAX) {
            if printable {
                for &c in codes {
                    self.dropped[usize::from(font)] |= 1u128 << (c & 0x7F);
                }
            } else {
                self.lost = true;
            }
            return;
        }
        let sep = if self.last_breaks == Some(breaks) {
            0
        } else if self.last_breaks.is_none() {
            b' '
        } else if self.last_lines != lines {
            b'\n'
        } else if self.last_gaps != moved.gaps {
            GAP
        } else {
            MOVE
        };
        let tenths = moved.ems * 10.0;
        let tenths = if (0.0..f32::from(UNKNOWN_MOVE)).contains(&tenths) {
            tenths.round() as u8
        } else {
            UNKNOWN_MOVE
        };
        self.last_breaks = Some(breaks);
        self.last_lines = lines;
        self.last_gaps = moved.gaps;
        let g = &mut self.glyphs[self.n_glyphs..self.n_glyphs + need];
        g[0] = font;
        g[1] = sep | if printable { PRINTABLE } else { 0 };
        g[2] = tenths;
        g[3..HEAD].copy_from_slice(&(codes.len() as u16).to_le_bytes());
        g[HEAD..].copy_from_slice(codes);
        self.n_glyphs += need;
    }

    /// A stream of object `obj` turned out to be a CMap (`begincmap`).
    pub(super) fn cmap_begin(&mut self, obj: u32) {
        self.cmap_end();
        if self.n_cmaps == MAX_CMAPS {
            self.lost = true;
            return;
        }
        self.cmaps[self.n_cmaps] = CMap {
            obj,
            width: 2,
            start: self.n_entries as u32,
            len: 0,
        };
        self.cmap_open = true;
        self.section = Section::None;
        self.n_ops = 0;
        self.array_code = None;
    }

    /// The CMap's stream ended: its entries are sorted for lookups.
    pub(super) fn cmap_end(&mut self) {
        if !self.cmap_open {
            return;
        }
        self.cmap_open = false;
        let c = &mut self.cmaps[self.n_cmaps];
        c.len = self.n_entries as u32 - c.start;
        let (start, end) = (c.start as usize, self.n_entries);
        self.entries[start..end].sort_unstable_by_key(|e| e.lo);
        self.n_cmaps += 1;
    }

    pub(super) fn cmap_token(&mut self, tok: &[u8]) {
        if !self.cmap_open {
            return;
        }
        self.section = match tok {
            b"begincodespacerange" => Section::Codespace,
            b"beginbfchar" => Section::BfChar,
            b"beginbfrange" => Section::BfRange,
            b"endcodespacerange" | b"endbfchar" | b"endbfrange" => Section::None,
            _ => return,
        };
        self.n_ops = 0;
        self.array_code = None;
    }

    /// A hex string in the CMap; `in_array` if inside `[...]`.
    pub(super) fn cmap_hex(&mut self, bytes: &[u8], in_array: bool) {
        if !self.cmap_open {
            return;
        }
        match self.section {
            Section::None => {}
            Section::Codespace => {
                if self.n_ops == 0 {
                    self.cmaps[self.n_cmaps].width = bytes.len().clamp(1, 2) as u8;
                }
                self.n_ops = (self.n_ops + 1) % 2;
            }
            Section::BfChar => {
                if self.n_ops == 0 {
                    self.ops[0] = code_of(bytes);
                    self.n_ops = 1;
                } else {
                    let code = self.ops[0];
                    self.add(code, code, bytes);
                    self.n_ops = 0;
                }
            }
            Section::BfRange => {
                if self.n_ops == 2 && !in_array && self.array_code.is_some() {
                    // The array ended: this string starts the next range.
                    self.n_ops = 0;
                    self.array_code = None;
                }
                match self.n_ops {
                    0 | 1 => {
                        self.ops[self.n_ops] = code_of(bytes);
                        self.n_ops += 1;
                    }
                    _ if in_array => {
                        let code = self.array_code.unwrap_or(self.ops[0]);
                        if code <= self.ops[1] {
                            self.add(code, code, bytes);
                        }
                        self.array_code = Some(code + 1);
                    }
                    _ => {
                        let (lo, hi) = (self.ops[0], self.ops[1]);
                        self.add(lo, hi, bytes);
                        self.n_ops = 0;
                    }
                }
            }
        }
    }

    fn add(&mut self, lo: u32, hi: u32, dst: &[u8]) {
        let (Ok(lo), Ok(hi)) = (u16::try_from(lo), u16::try_from(hi)) else {
            return;
        };
        let Some(dst) = first_char(dst) else { return };
        if lo > hi {
            return;
        }
        if self.n_entries == MAX_CMAP_ENTRIES {
            self.lost = true;
            return;
        }
        self.entries[self.n_entries] = Entry { lo, hi, dst };
        self.n_entries += 1;
    }

    fn cmap_for(&self, font: &[u8]) -> Option<&CMap> {
        let obj = self.refs[..self.n_refs]
            .iter()
            .find(|r| r.0.get() == font)?
            .1;
        let cmap_obj = self.links[..self.n_links].iter().find(|l| l.0 == obj)?.1;
        self.cmaps[..self.n_cmaps]
            .iter()
            .find(|c| c.obj == cmap_obj)
    }

    fn lookup(&self, c: &CMap, code: u16) -> Option<char> {
        let es = &self.entries[c.start as usize..(c.start + c.len) as usize];
        // Sorted by `lo`: the candidate is the last entry starting at or below.
        // Ranges do not overlap in a well-formed map, so one comparison
        // decides (and a hostile map cannot make a lookup walk the table).
        let i = es.partition_point(|e| e.lo <= code);
        let e = es[..i].last().filter(|e| e.hi >= code)?;
        char::from_u32(e.dst + u32::from(code - e.lo))
    }

    /// Calls `f(self, font, sep, tenths, printable, codes)` for each kept run.
    fn each_run(&self, mut f: impl FnMut(&Fonts, usize, u8, u8, bool, &[u8])) {
        let mut i = 0;
        while i + HEAD <= self.n_glyphs {
            let g = &self.glyphs[i..];
            let len = usize::from(u16::from_le_bytes([g[3], g[4]]));
            f(
                self,
                usize::from(g[0]),
                g[1] & !PRINTABLE,
                g[2],
                g[1] & PRINTABLE != 0,
                &g[HEAD..HEAD + len],
            );
            i += HEAD + len;
        }
    }

    /// Decodes the kept glyph text, run by run, into `emit(text, sep)`
    /// (`sep` 0: the run continues the previous one's word; else the space
    /// or line feed before it). False when
    /// some of it could not be decoded (or was lost to a limit).
    pub(super) fn resolve(&mut self, emit: &mut dyn FnMut(&[u8], u8)) -> bool {
        self.cmap_end();
        let mut ok = !self.lost;
        // Which fonts draw their spaces as glyphs: in their runs, a move or
        // a gap is then positioning (kerning split, table cell), not a
        // word space.
        let mut spaces = 0u32;
        self.each_run(|f, font, _, _, _, codes| {
            if let Some(c) = f.cmap_for(f.glyph_fonts[font].get()) {
                let w = usize::from(c.width);
                if codes
                    .chunks(w)
                    .any(|k| f.lookup(c, code_from(k)) == Some(' '))
                {
                    spaces |= 1 << font;
                }
            }
        });
        let mut utf8 = [0u8; 4];
        let mut run = [0u8; 512];
        // The last run's glyphs, and whether it ended with a space.
        let mut last_glyphs = 0u32;
        let mut last_space = true;
        let mut i = 0;
        while i + HEAD <= self.n_glyphs {
            let font = usize::from(self.glyphs[i]);
            let printable = self.glyphs[i + 1] & PRINTABLE != 0;
            let kind = self.glyphs[i + 1] & !PRINTABLE;
            let tenths = u32::from(self.glyphs[i + 2]);
            let len = usize::from(u16::from_le_bytes([self.glyphs[i + 3], self.glyphs[i + 4]]));
            let codes = &self.glyphs[i + HEAD..i + HEAD + len];
            i += HEAD + len;
            let Some(c) = self.cmap_for(self.glyph_fonts[font].get()) else {
                // A simple font without a map: its printable bytes were the
                // text, and went out when they were read.
                ok &= printable;
                continue;
            };
            let w = usize::from(c.width);
            let draws_spaces = spaces & 1 << font != 0;
            let first_space = codes
                .chunks(w)
                .next()
                .is_some_and(|k| self.lookup(c, code_from(k)) == Some(' '));
            let mut sep = match kind {
                MOVE if draws_spaces && tenths <= last_glyphs * MAX_GLYPH_TENTHS => 0,
                MOVE if draws_spaces
                    && tenths != u32::from(UNKNOWN_MOVE)
                    && tenths > last_glyphs * 10 + COLUMN_JUMP_TENTHS =>
                {
                    b'\n'
                }
                GAP if draws_spaces && !last_space && !first_space => b'\n',
                MOVE | GAP => b' ',
                s => s,
            };
            let mut n = 0;
            let mut glyphs = 0;
            for code in codes.chunks(w) {
                let Some(ch) = self.lookup(c, code_from(code)) else {
                    ok = false;
                    continue;
                };
                glyphs += 1;
                let s = ch.encode_utf8(&mut utf8).as_bytes();
                if n + s.len() > run.len() {
                    emit(&run[..n], sep);
                    sep = 0;
                    n = 0;
                }
                run[n..n + s.len()].copy_from_slice(s);
                n += s.len();
            }
            if n > 0 {
                last_space = run[n - 1] == b' ';
            }
            last_glyphs = if sep == 0 {
                last_glyphs + glyphs
            } else {
                glyphs
            };
            emit(&run[..n], sep);
        }
        // Printable runs that did not fit were read as their bytes: right
        // where the font's map agrees or says nothing. Where it maps one
        // punctuation mark to another (StandardEncoding's 0x27 is U+2019),
        // no letter or digit was misread.
        for (font, &set) in self.dropped[..self.n_glyph_fonts].iter().enumerate() {
            let Some(c) = self.cmap_for(self.glyph_fonts[font].get()) else {
                continue;
            };
            for code in (0..128u8).filter(|&b| set & 1u128 << b != 0) {
                let misread = self.lookup(c, u16::from(code)).is_some_and(|ch| {
                    ch != char::from(code) && (code.is_ascii_alphanumeric() || ch.is_alphanumeric())
                });
                ok &= !misread;
            }
        }
        ok
    }
}

/// A glyph code in a run (1 or 2 bytes, big-endian).
fn code_from(k: &[u8]) -> u16 {
    k.iter().fold(0u16, |a, &b| a << 8 | u16::from(b))
}

/// A source code (1 or 2 bytes, big-endian; longer is cut to its last two).
fn code_of(b: &[u8]) -> u32 {
    b.iter()
        .fold(0u32, |a, &x| (a << 8 | u32::from(x)) & 0xFFFF)
}

/// The first character of a UTF-16BE destination (a ligature maps to
/// several; the first is enough to read the text).
fn first_char(b: &[u8]) -> Option<u32> {
    let unit = |i: usize| -> Option<u32> {
        Some(u32::from(u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?])))
    };
    match b.len() {
        1 => Some(u32::from(b[0])),
        _ => {
            let hi = unit(0)?;
            if (0xD800..0xDC00).contains(&hi) {
                let lo = unit(2)?;
                Some(0x10000 + ((hi - 0xD800) << 10) + (lo.checked_sub(0xDC00)? & 0x3FF))
            } else {
                Some(hi)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: Move = Move { gaps: 0, ems: 0.0 };

    fn decoded(f: &mut Fonts) -> (String, bool) {
        let mut s = Vec::new();
        let ok = f.resolve(&mut |t, sep| {
            if sep != 0 && !s.is_empty() {
                s.push(b'|');
            }
            s.extend_from_slice(t);
        });
        (String::from_utf8(s).unwrap(), ok)
    }

    fn cmap(f: &mut Fonts, obj: u32) {
        f.cmap_begin(obj);
        f.cmap_token(b"begincodespacerange");
        f.cmap_hex(&[0, 0], false);
        f.cmap_hex(&[0xFF, 0xFF], false);
        f.cmap_token(b"endcodespacerange");
        f.cmap_token(b"beginbfchar");
        f.cmap_hex(&[0, 3], false);
        f.cmap_hex(&[0, b' '], false);
        f.cmap_token(b"endbfchar");
        f.cmap_token(b"beginbfrange");
        // 0x13..0x1C -> '0'..'9'
        f.cmap_hex(&[0, 0x13], false);
        f.cmap_hex(&[0, 0x1C], false);
        f.cmap_hex(&[0, b'0'], false);
        // 0x24, 0x25 -> 'A', 'b' (array form)
        f.cmap_hex(&[0, 0x24], false);
        f.cmap_hex(&[0, 0x25], false);
        f.cmap_hex(&[0, b'A'], true);
        f.cmap_hex(&[0, b'b'], true);
        // after the array, a plain range again: 0x30 -> 'Z'
        f.cmap_hex(&[0, 0x30], false);
        f.cmap_hex(&[0, 0x30], false);
        f.cmap_hex(&[0, b'Z'], false);
        f.cmap_token(b"endbfrange");
        f.cmap_end();
    }

    #[test]
    fn glyphs_are_decoded_through_the_fonts_cmap_whatever_the_order() {
        let mut f = Fonts::new();
        // The page's text comes first...
        f.set_font(b"/F2");
        f.glyphs(&[0, 0x17, 0, 0x18, 0, 3], 0, 0, M, false);
        f.glyphs(&[0, 0x24, 0, 0x25], 0, 0, M, false);
        f.glyphs(&[0, 0x30], 1, 1, M, false);
        // ...then the resources, the font and its CMap.
        f.reference(b"/F2", 7, 3);
        f.reference(b"/ToUnicode", 9, 7);
        cmap(&mut f, 9);
        assert_eq!(decoded(&mut f), ("45 Ab|Z".to_string(), true));
    }

    /// Runs of `(breaks, lines, gaps, ems, codes)` in font /F2 (map:
    /// `cmap`), decoded with separators shown as `|` (line) and `_` (space).
    fn positioned(runs: &[(u32, u32, u32, f32, &[u8])]) -> String {
        let mut f = Fonts::new();
        f.set_font(b"/F2");
        for &(breaks, lines, gaps, ems, codes) in runs {
            f.glyphs(codes, breaks, lines, Move { gaps, ems }, false);
        }
        f.reference(b"/F2", 7, 3);
        f.reference(b"/ToUnicode", 9, 7);
        cmap(&mut f, 9);
        let mut s = Vec::new();
        assert!(f.resolve(&mut |t, sep| {
            match sep {
                b'\n' => s.push(b'|'),
                b' ' if !s.is_empty() => s.push(b'_'),
                _ => {}
            }
            s.extend_from_slice(t);
        }));
        String::from_utf8(s).unwrap()
    }

    #[test]
    fn moves_and_gaps_are_judged_by_whether_the_font_draws_spaces() {
        let four: &[u8] = &[0, 0x17, 0, 0x17, 0, 0x17, 0, 0x17];
        let space_four: &[u8] = &[0, 3, 0, 0x17, 0, 0x17, 0, 0x17, 0, 0x17];
        // The font draws spaces (code 3): a move no longer than the last
        // run (Chromium's kerning split) joins, a jump far past it is
        // another column, a TJ gap is a cell boundary unless it sits
        // beside a space glyph.
        assert_eq!(
            positioned(&[(0, 0, 0, 0.0, space_four), (1, 0, 0, 2.0, four)]),
            " 44444444"
        );
        assert_eq!(
            positioned(&[(0, 0, 0, 0.0, space_four), (1, 0, 0, 9.0, four)]),
            " 4444|4444"
        );
        assert_eq!(
            positioned(&[(0, 0, 0, 0.0, space_four), (1, 0, 1, 0.0, four)]),
            " 4444|4444"
        );
        assert_eq!(
            positioned(&[(0, 0, 0, 0.0, four), (1, 0, 1, 0.0, space_four)]),
            "4444_ 4444"
        );
        // Between those: a space.
        assert_eq!(
            positioned(&[(0, 0, 0, 0.0, space_four), (1, 0, 0, 5.0, four)]),
            " 4444_4444"
        );
        // A font without space glyphs spaces its words by moves and gaps.
        assert_eq!(
            positioned(&[(0, 0, 0, 0.0, four), (1, 0, 0, 0.5, four)]),
            "4444_4444"
        );
        assert_eq!(
            positioned(&[(0, 0, 0, 0.0, four), (1, 0, 1, 0.0, four)]),
            "4444_4444"
        );
    }

    #[test]
    fn an_unresolved_font_or_code_is_reported() {
        let mut f = Fonts::new();
        f.set_font(b"/F9");
        f.glyphs(&[0, 0x17], 0, 0, M, false);
        cmap(&mut f, 9);
        assert!(!decoded(&mut f).1);
        let mut f = Fonts::new();
        f.set_font(b"/F2");
        f.glyphs(&[0, 0x77], 0, 0, M, false);
        f.reference(b"/F2", 7, 3);
        f.reference(b"/ToUnicode", 9, 7);
        cmap(&mut f, 9);
        assert!(!decoded(&mut f).1);
    }

    #[test]
    fn printable_runs_past_the_buffer_are_judged_by_their_codes() {
        // The buffer full, printable runs are remembered by their codes:
        // a map that reads a digit otherwise is reported, one that agrees
        // (or only changes punctuation) is not.
        let run = |codes: &[u8], map: &[(u8, char)]| {
            let mut f = Fonts::new();
            f.set_font(b"/F2");
            f.n_glyphs = GLYPH_BUFFER_BYTES;
            f.glyphs(codes, 0, 0, M, true);
            f.reference(b"/F2", 7, 3);
            f.reference(b"/ToUnicode", 9, 7);
            f.cmap_begin(9);
            f.cmap_token(b"begincodespacerange");
            f.cmap_hex(&[0], false);
            f.cmap_hex(&[0xFF], false);
            f.cmap_token(b"endcodespacerange");
            f.cmap_token(b"beginbfchar");
            for &(code, ch) in map {
                f.cmap_hex(&[code], false);
                f.cmap_hex(&(ch as u16).to_be_bytes(), false);
            }
            f.cmap_token(b"endbfchar");
            f.cmap_end();
            f.n_glyphs = 0;
            f.resolve(&mut |_, _| {})
        };
        assert!(!run(b"*", &[(b'*', '7')]));
        assert!(run(b"7'", &[(b'7', '7'), (b'\'', '\u{2019}')]));
        assert!(run(b"7", &[]));
    }

    #[test]
    fn the_glyph_buffer_is_bounded() {
        let mut f = Fonts::new();
        f.set_font(b"/F2");
        let run = [0u8; 1000];
        for _ in 0..(GLYPH_BUFFER_BYTES / 1000 + 1) {
            f.glyphs(&run, 0, 0, M, false);
        }
        assert!(f.lost);
        assert!(f.n_glyphs <= GLYPH_BUFFER_BYTES);
    }

    #[test]
    fn utf16_destinations() {
        assert_eq!(first_char(&[0, 0x41]), Some(0x41));
        assert_eq!(first_char(&[0xD8, 0x3D, 0xDE, 0x00]), Some(0x1F600));
        assert_eq!(first_char(&[0, 0x66, 0, 0x69]), Some(0x66));
        assert_eq!(first_char(&[]), None);
    }
}
