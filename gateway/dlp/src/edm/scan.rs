//! Row matching in one window of text: each primary column's finder proposes candidates that
//! start in `[from, to)`, a candidate whose keyed hash is in the column's index names rows,
//! and a named row matches when at least `min_fields` of its cells (the primary one counted)
//! are found within `proximity` bytes of the candidate. The window keeps
//! [`crate::limits::CONTEXT_BYTES`] of text on both sides of `[from, to)`, and `proximity`
//! is at most that, so the result does not depend on how the text was chunked.
//!
//! Candidates for the other cells are read from the region around the hit only, and only
//! when a primary value hit the table: a message that names no row costs the finders' reading
//! and one hash per candidate.
//!
//! # The number finders ride on the digit pass
//! The card, SSN and digits finders read their numbers where the built-in digit pass
//! (`Detectors::scan_digits`) stops, through [`Numbers`], rather than in a pass of their own:
//! a second walk over the text, with its own mispredicted branch at every number of prose,
//! held plain text at 57-68% of its speed without a table (docs/dlp.md, issue 20). That pass
//! stops at every digit in `[from, to)` except those inside a token it jumps over, and its
//! tokens are digit groups joined by a space, a dash, a `.` or a NO-BREAK SPACE; a run read
//! here goes on across all of these (a number's separators include the first three, and a
//! number followed by a NO-BREAK SPACE and a digit is read on into the next one), so the run
//! at every digit the pass jumps over has already been read. [`Numbers::first`] backs up into a
//! run that straddles `from`, as [`numbers`] does. The other finders (e-mail, IBAN, pattern)
//! read the window themselves ([`Table::scan`]); [`numbers`] still reads the region around a
//! hit for the row's other number cells.

use std::hash::Hasher;
use std::ops::RangeInclusive;
use std::sync::Arc;

use wide::u8x16;

use crate::detect::validate;
use crate::edm::normalise::{
    dates, for_words, name_into, push_ymd, ColumnType, Norm, Word, MAX_CELL_BYTES,
};
use crate::edm::schema::{Finder, MAX_COLUMNS, MAX_PATTERN_MATCH};
use crate::edm::table::{CellHasher, PrimaryIndex, Table};

/// Digit groups one number may have (`+1 555 123 4567`, a card in fours, an IBAN-like run):
/// a longer run is read as several numbers.
const MAX_GROUPS: usize = 12;

/// Digits one candidate number may have: a PAN has 19, account numbers fewer.
const MAX_DIGITS: usize = 32;

/// Digits of a card number (ISO/IEC 7812-1: 12 to 19, the Luhn digit included).
const CARD_DIGITS: RangeInclusive<usize> = 12..=19;

/// Digits of a US SSN (`123-45-6789`).
const SSN_DIGITS: usize = 9;

/// Digits a `digits` finder takes: fewer is a year, an amount or a time; more than a PAN has is
/// not an account number.
const ACCOUNT_DIGITS: RangeInclusive<usize> = 6..=19;

/// Words of a name cell looked for (`mary ann de souza`).
const MAX_NAME_WORDS: usize = 5;

/// Words of a code cell looked for (an IBAN in groups of four has up to nine).
const MAX_CODE_WORDS: usize = 9;

/// Longest e-mail local part (RFC 5321 §4.5.3.1.1) and domain looked at.
const MAX_LOCAL: usize = 64;
const MAX_DOMAIN: usize = 255;

/// Fewest digits a number finder takes; `None` for the finders that read the window
/// themselves.
fn min_digits(finder: Finder) -> Option<usize> {
    match finder {
        Finder::CreditCard => Some(*CARD_DIGITS.start()),
        Finder::UsSsn => Some(SSN_DIGITS),
        Finder::Digits => Some(*ACCOUNT_DIGITS.start()),
        Finder::Email | Finder::Iban | Finder::Pattern => None,
    }
}

/// Whether a number finder takes the digit sequence `d`.
fn number_fits(finder: Finder, d: &[u8]) -> bool {
    match finder {
        Finder::CreditCard => CARD_DIGITS.contains(&d.len()) && validate::luhn(d),
        Finder::UsSsn => d.len() == SSN_DIGITS,
        Finder::Digits => ACCOUNT_DIGITS.contains(&d.len()),
        Finder::Email | Finder::Iban | Finder::Pattern => false,
    }
}

impl Table {
    /// Calls `hit(row)` for every row that matches around a value starting in `[from, to)` of
    /// `hay` that the e-mail, IBAN and pattern finders find; the number finders are fed by the
    /// digit pass ([`Numbers`]).
    pub(crate) fn scan(&self, hay: &[u8], from: usize, to: usize, hit: &mut impl FnMut(u32)) {
        for index in self
            .primary
            .iter()
            .filter(|p| min_digits(p.finder).is_none())
        {
            candidates(index, hay, from, to, &mut |start, end, norm| {
                self.rows_at(index, hay, start, end, norm, hit)
            });
        }
    }

    /// Every finder in a pass of its own: what the digit pass and [`Table::scan`] together
    /// must find (the tests' reference).
    #[cfg(test)]
    fn scan_alone(&self, hay: &[u8], from: usize, to: usize, hit: &mut impl FnMut(u32)) {
        for index in &self.primary {
            candidates(index, hay, from, to, &mut |start, end, norm| {
                self.rows_at(index, hay, start, end, norm, hit)
            });
        }
    }

    /// Calls `hit(row)` for every row that matches around `norm`, a value of `index`'s column
    /// found at `hay[start..end]`.
    fn rows_at(
        &self,
        index: &PrimaryIndex,
        hay: &[u8],
        start: usize,
        end: usize,
        norm: &[u8],
        hit: &mut impl FnMut(u32),
    ) {
        let kind = self.schema.columns[index.column].kind;
        let h = self.hasher.hash64(kind, norm);
        for &row in index.rows_of(h) {
            if self.row_matches(row, index.column, hay, start, end) {
                hit(row);
            }
        }
    }

    fn row_matches(&self, row: u32, primary: usize, hay: &[u8], start: usize, end: usize) -> bool {
        let need = usize::from(self.schema.min_fields);
        let mut found = 1;
        if found >= need {
            return true;
        }
        let p = usize::from(self.schema.proximity);
        let region = &hay[start.saturating_sub(p)..(end + p).min(hay.len())];
        let text = String::from_utf8_lossy(region);
        let cells = self.row(row);
        let mut left = cells
            .iter()
            .enumerate()
            .filter(|&(c, &h)| c != primary && h != 0)
            .count();
        let mut words = None;
        // The region is read once per column type, for all the row's cells of that type (a first
        // and a last name share one reading), the cheapest types first so that a row that can no
        // longer match stops early.
        for kind in CHEAPEST_FIRST {
            let mut targets = [0u32; MAX_COLUMNS];
            let mut n = 0;
            for (c, col) in self.schema.columns.iter().enumerate() {
                if c != primary && cells[c] != 0 && col.kind == kind {
                    targets[n] = cells[c];
                    n += 1;
                }
            }
            if n == 0 {
                continue;
            }
            if found + left < need {
                return false;
            }
            let words = words.get_or_insert_with(|| region_words(&text));
            found += self
                .region_finds(kind, &text, words, &targets[..n])
                .count_ones() as usize;
            left -= n;
            if found >= need {
                return true;
            }
        }
        false
    }

    /// Which of `targets` (32-bit hashes of cells of type `kind`) `text` holds a value of, as
    /// a bit per target; `words` are `text`'s words.
    fn region_finds(
        &self,
        kind: ColumnType,
        text: &str,
        words: &[Word<'_>],
        targets: &[u32],
    ) -> u32 {
        let mut found = 0u32;
        let mut seen = |h: u32| {
            for (t, &want) in targets.iter().enumerate() {
                if h == want {
                    found |= 1 << t;
                }
            }
        };
        let hash = |norm: &[u8]| self.hasher.hash32(kind, norm);
        match kind {
            ColumnType::Digits => numbers(text.as_bytes(), 0, text.len(), 1, &mut |_, _, d| {
                if !d.is_empty() {
                    seen(hash(d))
                }
            }),
            ColumnType::Email => emails(text.as_bytes(), 0, text.len(), &mut |_, _, n| {
                if !n.is_empty() {
                    seen(hash(n))
                }
            }),
            ColumnType::Name => {
                self.word_runs(kind, words, MAX_NAME_WORDS, b" ", name_into, &mut seen)
            }
            ColumnType::Code => {
                let upper = |w: &str, n: &mut Norm| {
                    w.chars()
                        .flat_map(char::to_uppercase)
                        .all(|c| n.push(c.encode_utf8(&mut [0; 4]).as_bytes()))
                };
                self.word_runs(kind, words, MAX_CODE_WORDS, b"", upper, &mut seen)
            }
            ColumnType::Date => {
                for i in 0..words.len() {
                    // Every reading of an ambiguous date is offered (`None` asks for the next).
                    dates(&words[i..], |ymd, _, _| {
                        let mut n = Norm::new();
                        push_ymd(&mut n, ymd);
                        seen(hash(n.as_bytes()));
                        None::<()>
                    });
                }
            }
        }
        found
    }

    /// `seen(hash)` for every run of 1 to `max` consecutive `words` whose cell form (each word
    /// by `norm`, joined by `sep`) fits a cell ([`MAX_CELL_BYTES`]; a longer run is no cell). A
    /// run's hash is fed word by word, and the runs that end at a word share its normalisation:
    /// each word is normalised once and hashed once per run it is in, where building every run
    /// whole, once per column, did both once per run and word before it (two thirds of a hit's
    /// instructions, callgrind).
    fn word_runs(
        &self,
        kind: ColumnType,
        words: &[Word<'_>],
        max: usize,
        sep: &[u8],
        norm: impl Fn(&str, &mut Norm) -> bool,
        seen: &mut impl FnMut(u32),
    ) {
        // The runs that may still grow, by start word modulo `max`: the hash so far and the
        // length of the cell form.
        let mut runs = [None; MAX_CODE_WORDS];
        let max = max.min(runs.len());
        for (j, w) in words.iter().enumerate() {
            let mut word = Norm::new();
            let ok = norm(w.text, &mut word);
            // The run that started `max` words ago has all its words; one starts here.
            runs[j % max] = Some((self.hasher.begin(kind), 0));
            for slot in &mut runs[..max] {
                let Some((h, len)) = slot else { continue };
                let gap = if *len > 0 { sep.len() } else { 0 };
                if !ok || *len + gap + word.as_bytes().len() > MAX_CELL_BYTES {
                    *slot = None;
                    continue;
                }
                h.write(&sep[..gap]);
                h.write(word.as_bytes());
                *len += gap + word.as_bytes().len();
                seen(CellHasher::end32(h));
            }
        }
    }

    /// Whether `text` holds a value of type `kind` whose 32-bit hash is `target`: the row
    /// matching as it was, one column at a time (the tests' reference for [`Table::region_finds`]).
    #[cfg(test)]
    fn region_has(&self, kind: ColumnType, text: &str, target: u32) -> bool {
        let is = |norm: &[u8]| !norm.is_empty() && self.hasher.hash32(kind, norm) == target;
        match kind {
            ColumnType::Digits => {
                let mut hit = false;
                numbers(text.as_bytes(), 0, text.len(), 1, &mut |_, _, digits| {
                    hit |= is(digits);
                });
                hit
            }
            ColumnType::Email => {
                let mut hit = false;
                emails(text.as_bytes(), 0, text.len(), &mut |_, _, n| hit |= is(n));
                hit
            }
            ColumnType::Name | ColumnType::Code => {
                let words = region_words(text);
                let max = if kind == ColumnType::Name {
                    MAX_NAME_WORDS
                } else {
                    MAX_CODE_WORDS
                };
                (0..words.len()).any(|i| {
                    let mut n = Norm::new();
                    words[i..].iter().take(max).any(|w| {
                        let ok = if kind == ColumnType::Name {
                            (n.as_bytes().is_empty() || n.push(b" ")) && name_into(w.text, &mut n)
                        } else {
                            w.text
                                .chars()
                                .flat_map(char::to_uppercase)
                                .all(|c| n.push(c.encode_utf8(&mut [0; 4]).as_bytes()))
                        };
                        ok && is(n.as_bytes())
                    })
                })
            }
            ColumnType::Date => {
                let words = region_words(text);
                (0..words.len()).any(|i| {
                    dates(&words[i..], |ymd, _, _| {
                        let mut n = Norm::new();
                        push_ymd(&mut n, ymd);
                        is(n.as_bytes()).then_some(())
                    })
                    .is_some()
                })
            }
        }
    }
}

/// Column types in the order [`Table::row_matches`] reads them: numbers and addresses are a
/// scan for a digit or an `@`, a date a few tests per word, names and codes a hash per run of
/// words.
const CHEAPEST_FIRST: [ColumnType; 5] = [
    ColumnType::Digits,
    ColumnType::Email,
    ColumnType::Date,
    ColumnType::Name,
    ColumnType::Code,
];

fn region_words(text: &str) -> Vec<Word<'_>> {
    let mut words = Vec::new();
    for_words(text, |w| {
        words.push(w);
        true
    });
    words
}

/// Runs `f(start, end, normalised)` for each candidate of `index`'s finder starting in
/// `[from, to)`.
fn candidates(
    index: &PrimaryIndex,
    hay: &[u8],
    from: usize,
    to: usize,
    f: &mut impl FnMut(usize, usize, &[u8]),
) {
    match index.finder {
        finder @ (Finder::CreditCard | Finder::UsSsn | Finder::Digits) => {
            let min = min_digits(finder).unwrap_or(1);
            numbers(hay, from, to, min, &mut |s, e, d| {
                if number_fits(finder, d) {
                    f(s, e, d)
                }
            })
        }
        Finder::Email => emails(hay, from, to, f),
        Finder::Iban => ibans(hay, from, to, f),
        Finder::Pattern => {
            let Some(re) = &index.regex else { return };
            let end = (to + MAX_PATTERN_MATCH).min(hay.len());
            for m in re.find_iter(&hay[from..end]) {
                let (s, e) = (from + m.start(), from + m.end());
                if s >= to {
                    break;
                }
                if e - s > MAX_PATTERN_MATCH {
                    continue;
                }
                let text = String::from_utf8_lossy(&hay[s..e]);
                let kind = index_kind_of_pattern(index);
                if let Ok(n) = crate::edm::normalise::normalise(kind.0, kind.1, &text) {
                    if !n.as_bytes().is_empty() {
                        f(s, e, n.as_bytes());
                    }
                }
            }
        }
    }
}

/// A pattern column's type and date order (kept on the index so the finder needs no schema).
fn index_kind_of_pattern(index: &PrimaryIndex) -> (ColumnType, crate::edm::normalise::DateOrder) {
    (index.kind, index.date_order)
}

fn is_sep(b: u8) -> bool {
    matches!(b, b' ' | b'-' | b'.' | b'/' | b'(' | b')')
}

/// The number finders of a scan's tables, fed by the built-in digit pass over one window (see
/// the module docs). Two words on the pass's stack; nothing grows.
pub(crate) struct Numbers {
    /// Fewest digits a loaded number finder takes: a run with fewer is passed over without
    /// reading its groups.
    floor: usize,
    /// The digit pass's stops before this are inside runs already read; `usize::MAX` when no
    /// table has a number finder, so that the pass never stops for them.
    pub(crate) until: usize,
}

impl Numbers {
    /// For one window's scan with `tables` loaded.
    pub(crate) fn new(tables: &[Arc<Table>]) -> Numbers {
        let floor = tables
            .iter()
            .flat_map(|t| &t.primary)
            .filter_map(|p| min_digits(p.finder))
            .min();
        match floor {
            Some(floor) => Numbers { floor, until: 0 },
            None => Numbers {
                floor: usize::MAX,
                until: usize::MAX,
            },
        }
    }

    /// Where to read first in the window `[from, to)` of `hay`, before the digit pass's own
    /// stops: a run that starts before `from` and may reach into the window (the pass starts
    /// after it), or one at `from` (the pass jumps over it when a NO-BREAK SPACE joins it to
    /// digits before `from`).
    pub(crate) fn first(&self, hay: &[u8], from: usize, to: usize) -> Option<usize> {
        if self.until == usize::MAX || from >= to {
            return None;
        }
        next_digit(hay, run_start(hay, from), from + 1)
    }

    /// At the digit `start` where the digit pass stops (`start >= self.until`): whether the run
    /// there is shorter than every number finder takes and ends in the 16 bytes from `start`,
    /// as most numbers of prose do; then `self.until` becomes its end and [`Numbers::at`] need
    /// not run. A leaf out of line, so that the digit pass's loop keeps the size it has without
    /// tables (inlined, it ran no faster: bench, 2026-12-06).
    #[inline(never)]
    pub(crate) fn passes(&mut self, hay: &[u8], start: usize) -> bool {
        match short_number(hay, start, self.floor) {
            // A NO-BREAK SPACE after it may join the next run (see [`goes_on`]).
            Some(end) if !matches!(hay[end], 0xC2 | 0xA0) => {
                self.until = end;
                true
            }
            _ => false,
        }
    }

    /// Reads the run at `start`, a digit where the digit pass stops (`start >= self.until`,
    /// `start < to`), and on into the runs it is joined to (see the module docs): every number
    /// finder's candidates starting in `[from, to)`, `hit(table, row)` for each row that
    /// matches around one. `self.until` becomes the end of what was read.
    pub(crate) fn at(
        &mut self,
        tables: &[Arc<Table>],
        hay: &[u8],
        mut start: usize,
        from: usize,
        to: usize,
        hit: &mut impl FnMut(usize, u32),
    ) {
        loop {
            let end = match short_number(hay, start, self.floor) {
                Some(end) => end,
                None => read_number(tables, hay, start, from, to, hit),
            };
            match goes_on(hay, end) {
                Some(next) if next < to => start = next,
                _ => {
                    self.until = end;
                    return;
                }
            }
        }
    }
}

/// [`Numbers::at`] past its first test: every number finder of `tables` at the number that
/// starts at `start`; returns where it ends. Out of line: inlined, its row matching's set-up
/// ran before that test, 60 instructions for every number of prose (callgrind).
#[inline(never)]
fn read_number(
    tables: &[Arc<Table>],
    hay: &[u8],
    start: usize,
    from: usize,
    to: usize,
    hit: &mut impl FnMut(usize, u32),
) -> usize {
    let mut end = start + 1;
    for (t, table) in tables.iter().enumerate() {
        for index in &table.primary {
            let Some(min) = min_digits(index.finder) else {
                continue;
            };
            end = number_at(hay, start, from, to, min, &mut |s, e, d| {
                if number_fits(index.finder, d) {
                    table.rows_at(index, hay, s, e, d, &mut |row| hit(t, row));
                }
            });
        }
    }
    end
}

/// Where the digits go on after a number that ends at `end`: right there when the run had
/// more than [`MAX_GROUPS`] groups (the number ends past the separator, at the next group), or
/// past a NO-BREAK SPACE (C2 A0, or a bare A0, as the digit pass reads it) followed by a
/// digit. `None` where the digit pass's token ends too.
fn goes_on(hay: &[u8], end: usize) -> Option<usize> {
    let skip = match hay.get(end..)? {
        [b, ..] if b.is_ascii_digit() => 0,
        [0xC2, 0xA0, ..] => 2,
        [0xA0, ..] => 1,
        _ => return None,
    };
    hay.get(end + skip)
        .filter(|b| b.is_ascii_digit())
        .map(|_| end + skip)
}

/// The start of the run of digit groups that `from` is in or right after, looking back at most
/// `2 * MAX_DIGITS` bytes (a longer run is read from there); `from` when there is none.
fn run_start(hay: &[u8], from: usize) -> usize {
    let mut i = from;
    let floor = from.saturating_sub(MAX_DIGITS * 2);
    while i > floor
        && (hay[i - 1].is_ascii_digit()
            || (i >= 2 && is_sep(hay[i - 1]) && hay[i - 2].is_ascii_digit()))
    {
        i -= 1;
    }
    i
}

/// Every number of at least `min_digits` digits starting in `[from, to)`: within a run of digit
/// groups joined by single separators, each contiguous sequence of groups, as its digits. The
/// bound lets a card finder step over the years, amounts and phone numbers of prose without
/// assembling their sequences.
pub(crate) fn numbers(
    hay: &[u8],
    from: usize,
    to: usize,
    min_digits: usize,
    f: &mut impl FnMut(usize, usize, &[u8]),
) {
    // Back up to the start of a run that began before `from`.
    let mut i = run_start(hay, from);
    while i < to {
        let Some(start) = next_digit(hay, i, to) else {
            return;
        };
        i = match short_number(hay, start, min_digits) {
            Some(end) => end,
            None => number_at(hay, start, from, to, min_digits, f),
        };
    }
}

/// The number at the digit `start` (at most [`MAX_GROUPS`] groups of the run there): each of
/// its sequences of at least `min_digits` digits whose first group starts in `[from, to)`, as
/// `f(start, end, digits)`. Returns where the number ends.
fn number_at(
    hay: &[u8],
    start: usize,
    from: usize,
    to: usize,
    min_digits: usize,
    f: &mut impl FnMut(usize, usize, &[u8]),
) -> usize {
    let mut groups = [(0usize, 0usize); MAX_GROUPS];
    let mut n = 0;
    let mut j = start;
    while n < MAX_GROUPS {
        let s = j;
        while j < hay.len() && hay[j].is_ascii_digit() {
            j += 1;
        }
        groups[n] = (s, j);
        n += 1;
        if j + 1 < hay.len() && is_sep(hay[j]) && hay[j + 1].is_ascii_digit() {
            j += 1;
        } else {
            break;
        }
    }
    let bounded = (start == 0 || !hay[start - 1].is_ascii_alphanumeric())
        && (j >= hay.len() || !hay[j].is_ascii_alphanumeric());
    // Digits from group `a` to the run's end: no sequence starting at `a` has more.
    let mut rest: usize = groups[..n].iter().map(|&(s, e)| e - s).sum();
    if bounded && rest >= min_digits {
        for a in 0..n {
            let from_a = rest;
            rest -= groups[a].1 - groups[a].0;
            if from_a < min_digits {
                break;
            }
            if groups[a].0 < from || groups[a].0 >= to {
                continue;
            }
            let mut digits = [0u8; MAX_DIGITS];
            let mut len = 0;
            for &(s, e) in &groups[a..n] {
                if len + (e - s) > MAX_DIGITS {
                    break;
                }
                digits[len..len + e - s].copy_from_slice(&hay[s..e]);
                len += e - s;
                f(groups[a].0, e, &digits[..len]);
            }
        }
    }
    j.max(start + 1)
}

/// Bytes of one vector step: `wide`'s 16-byte vectors (SSE2 on x86-64, NEON on aarch64).
const BLOCK: usize = 16;

fn load(block: &[u8]) -> u8x16 {
    let mut a = [0u8; BLOCK];
    a.copy_from_slice(block);
    u8x16::from(a)
}

/// Bit `k` set when byte `k` of `v` is an ASCII digit.
#[inline(always)]
fn digit_mask(v: u8x16) -> u32 {
    // Bytes below `0` wrap round to above 9.
    let d = v - u8x16::splat(b'0');
    d.min(u8x16::splat(9)).simd_eq(d).to_bitmask()
}

/// Bit `k` set when byte `k` of `v` is a separator of [`is_sep`].
#[inline(always)]
fn sep_mask(v: u8x16) -> u32 {
    // `-./` are 0x2D..=0x2F.
    let r = v - u8x16::splat(b'-');
    (r.min(u8x16::splat(2)).simd_eq(r)
        | v.simd_eq(u8x16::splat(b' '))
        | v.simd_eq(u8x16::splat(b'('))
        | v.simd_eq(u8x16::splat(b')')))
    .to_bitmask()
}

/// The end of the digit run at `start` when it has fewer than `min_digits` digits and ends
/// inside the 16 bytes from `start`, read from one block's digit and separator masks: the
/// years, amounts and phone numbers of prose, which no finder takes, pass in a few
/// instructions instead of a walk group by group. `None` leaves the run to the walk.
#[inline(always)]
fn short_number(hay: &[u8], start: usize, min_digits: usize) -> Option<usize> {
    let v = load(hay.get(start..start + BLOCK)?);
    let digits = digit_mask(v);
    // A digit, or a separator with a digit after it.
    let joined = digits | (sep_mask(v) & (digits >> 1));
    let stop = (!joined).trailing_zeros();
    // Byte 15's successor is outside the block: a separator there may join.
    if stop >= BLOCK as u32 - 1 {
        return None;
    }
    // A run of fewer bytes than `min_digits` has fewer digits: years and amounts end here
    // without counting.
    let run = digits & ((1 << stop) - 1);
    let short = (stop as usize) < min_digits || (run.count_ones() as usize) < min_digits;
    short.then_some(start + stop as usize)
}

/// The first ASCII digit of `hay[i..to]`, 16 bytes per step: prose is mostly letters, and a
/// byte-at-a-time search for the next digit was a fifth of the scan's time with a table loaded.
fn next_digit(hay: &[u8], mut i: usize, to: usize) -> Option<usize> {
    // The blocks that start before `to` and fit in `hay`.
    let lim = to.saturating_add(BLOCK - 1).min(hay.len());
    if let Some(window) = hay.get(i..lim) {
        for block in window.chunks_exact(BLOCK) {
            let m = digit_mask(load(block));
            if m != 0 {
                let at = i + m.trailing_zeros() as usize;
                return (at < to).then_some(at);
            }
            i += BLOCK;
        }
    }
    hay.get(i..to)?
        .iter()
        .position(u8::is_ascii_digit)
        .map(|p| i + p)
}

fn local_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-')
}

fn domain_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-')
}

/// Every e-mail address starting in `[from, to)`, lower-cased.
fn emails(hay: &[u8], from: usize, to: usize, f: &mut impl FnMut(usize, usize, &[u8])) {
    let end = (to + MAX_LOCAL + 1).min(hay.len());
    for at in memchr::memchr_iter(b'@', &hay[from..end]).map(|p| from + p) {
        let mut s = at;
        while s > 0 && at - s < MAX_LOCAL && local_char(hay[s - 1]) {
            s -= 1;
        }
        if s == at || s < from || s >= to {
            continue;
        }
        let mut e = at + 1;
        while e < hay.len() && e - at <= MAX_DOMAIN && domain_char(hay[e]) {
            e += 1;
        }
        while e > at + 1 && hay[e - 1] == b'.' {
            e -= 1;
        }
        if !hay[at + 1..e].contains(&b'.') {
            continue;
        }
        let mut n = Norm::new();
        for &b in &hay[s..e] {
            n.push(&[b.to_ascii_lowercase()]);
        }
        f(s, e, n.as_bytes());
    }
}

/// Every IBAN starting in `[from, to)`, grouped by single spaces or not, that has its
/// country's length and a valid mod-97 check; upper-cased and compact.
fn ibans(hay: &[u8], from: usize, to: usize, f: &mut impl FnMut(usize, usize, &[u8])) {
    for s in from..to.min(hay.len().saturating_sub(4)) {
        let h = &hay[s..];
        if !(h[0].is_ascii_alphabetic()
            && h[1].is_ascii_alphabetic()
            && h[2].is_ascii_digit()
            && h[3].is_ascii_digit())
            || (s > 0 && hay[s - 1].is_ascii_alphanumeric())
        {
            continue;
        }
        let cc = [h[0].to_ascii_uppercase(), h[1].to_ascii_uppercase()];
        let Some(want) = validate::iban_length(&cc) else {
            continue;
        };
        let mut n = Norm::new();
        let mut j = s;
        while j < hay.len() && n.as_bytes().len() < want {
            let b = hay[j];
            if b.is_ascii_alphanumeric() {
                n.push(&[b.to_ascii_uppercase()]);
            } else if !(b == b' ' && j + 1 < hay.len() && hay[j + 1].is_ascii_alphanumeric()) {
                break;
            }
            j += 1;
        }
        if n.as_bytes().len() == want
            && (j >= hay.len() || !hay[j].is_ascii_alphanumeric())
            && validate::iban_mod97(n.as_bytes())
        {
            f(s, j, n.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::keywords::KwCache;
    use crate::detect::{Detectors, BUILTINS};
    use crate::edm::normalise::DateOrder;
    use crate::edm::schema::{Column, Schema};
    use crate::edm::table::{Builder, EdmKey};
    use crate::findings::{Acc, Confidence};
    use crate::limits::Limits;

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// Text dense in digit groups, every separator a number or the digit pass joins on (NO-BREAK
    /// SPACE as C2 A0 and bare), and the letters and signs that stop or change a run; now and
    /// then a run of more groups than a number takes ([`MAX_GROUPS`]).
    fn numbery(rng: &mut Rng, len: usize) -> Vec<u8> {
        const OTHER: [&[u8]; 18] = [
            b" ",
            b"-",
            b".",
            b"/",
            b"(",
            b")",
            b"\xC2\xA0",
            b"\xA0",
            b"  ",
            b"+",
            b"$",
            b",",
            b":",
            b"_",
            b"a",
            b"X",
            b"ab ",
            b"\r\n",
        ];
        let mut t = Vec::with_capacity(len + 8);
        let digits = |rng: &mut Rng, t: &mut Vec<u8>| {
            for _ in 0..1 + rng.below(5) {
                t.push(b'0' + rng.below(10) as u8);
            }
        };
        while t.len() < len {
            match rng.below(20) {
                0 => {
                    let sep = OTHER[rng.below(8)];
                    for _ in 0..MAX_GROUPS - 4 + rng.below(8) {
                        digits(rng, &mut t);
                        t.extend_from_slice(sep);
                    }
                }
                1..=9 => digits(rng, &mut t),
                _ => t.extend_from_slice(OTHER[rng.below(OTHER.len())]),
            }
        }
        t
    }

    fn column(name: &str, primary: Finder) -> Column {
        Column {
            name: name.into(),
            kind: ColumnType::Digits,
            primary: Some(primary),
            pattern: None,
            date_order: DateOrder::Dmy,
        }
    }

    /// A table of `rows` (cells of the columns of `finders`), any one cell a match.
    fn table(finders: &[Finder], rows: &[Vec<String>]) -> Arc<Table> {
        let schema = Schema {
            min_fields: 1,
            proximity: 0,
            columns: (0..finders.len())
                .map(|i| column(&format!("c{i}"), finders[i]))
                .collect(),
        };
        let key = EdmKey::from_bytes([3; 32]);
        let mut b = Builder::new(schema, key.clone()).unwrap();
        for r in rows {
            b.push(r).unwrap();
        }
        Arc::new(Table::decode(&b.finish(), &key).unwrap())
    }

    /// Rows of each table found in `hay[from..to]` through the engine's digit pass.
    fn by_digit_pass(
        d: &mut Detectors,
        tables: &[Arc<Table>],
        hay: &[u8],
        from: usize,
        to: usize,
    ) -> Vec<u32> {
        d.edm = tables.to_vec();
        d.edm_base = BUILTINS.len();
        let names: Vec<String> = BUILTINS
            .iter()
            .map(|s| s.to_string())
            .chain((0..tables.len()).map(|t| format!("edm:t{t}")))
            .collect();
        let mut acc = Acc::new(names.len(), &Limits::default());
        d.scan(hay, from, to, &mut KwCache::new(), &mut acc);
        let f = acc.findings(&names);
        (0..tables.len())
            .map(|t| f.count(&format!("edm:t{t}"), Confidence::Low))
            .collect()
    }

    /// Rows of each table found in `hay[from..to]` by the finders' own passes.
    fn alone(tables: &[Arc<Table>], hay: &[u8], from: usize, to: usize) -> Vec<u32> {
        tables
            .iter()
            .map(|t| {
                let mut rows = std::collections::BTreeSet::new();
                t.scan_alone(hay, from, to, &mut |r| {
                    rows.insert(r);
                });
                rows.len() as u32
            })
            .collect()
    }

    /// The candidates of `finder` in `hay[from..to]` by its own pass, as digit strings.
    fn reference(finder: Finder, hay: &[u8], from: usize, to: usize) -> Vec<String> {
        let mut v = Vec::new();
        let min = min_digits(finder).unwrap();
        numbers(hay, from, to, min, &mut |_, _, d| {
            if number_fits(finder, d) {
                v.push(String::from_utf8(d.to_vec()).unwrap());
            }
        });
        v.sort();
        v.dedup();
        v
    }

    /// Compares the digit pass with the finders' own passes on `hay[from..to]`: one table whose
    /// rows are every `digits` candidate (each must be found), one of cards and SSNs (two primary
    /// columns, the floor of the two), and one of digit strings of the text that are no
    /// candidate (none may be found).
    fn digit_pass_agrees(d: &mut Detectors, hay: &[u8], from: usize, to: usize) {
        let digits = reference(Finder::Digits, hay, from, to);
        let cards = reference(Finder::CreditCard, hay, from, to);
        let ssns = reference(Finder::UsSsn, hay, from, to);
        // Decoys: every digit string of 6 to 19 digits inside a stretch of digits and
        // non-letters, that no pass proposes (a run's middle, across a letter-free gap).
        let loose: Vec<u8> = hay
            .iter()
            .map(|&b| if b.is_ascii_alphabetic() { b'|' } else { b })
            .collect();
        let mut decoys = std::collections::BTreeSet::new();
        for part in loose.split(|&b| b == b'|') {
            let ds: Vec<u8> = part.iter().copied().filter(u8::is_ascii_digit).collect();
            for a in 0..ds.len() {
                for n in 6..=19.min(ds.len() - a) {
                    let s = String::from_utf8(ds[a..a + n].to_vec()).unwrap();
                    if digits.binary_search(&s).is_err() {
                        decoys.insert(s);
                    }
                }
            }
        }
        let one = |v: &[String]| v.iter().map(|s| vec![s.clone()]).collect::<Vec<_>>();
        let mut pairs: Vec<Vec<String>> = cards
            .iter()
            .map(|c| vec![c.clone(), String::new()])
            .collect();
        pairs.extend(ssns.iter().map(|s| vec![String::new(), s.clone()]));
        let decoys: Vec<String> = decoys.into_iter().take(400).collect();
        let tables = [
            table(&[Finder::Digits], &one(&digits)),
            table(&[Finder::CreditCard, Finder::UsSsn], &pairs),
            table(&[Finder::Digits], &one(&decoys)),
        ];
        let want = vec![digits.len() as u32, pairs.len() as u32, 0];
        assert_eq!(alone(&tables, hay, from, to), want, "the reference itself");
        assert_eq!(
            by_digit_pass(d, &tables, hay, from, to),
            want,
            "window {from}..{to} of {:?}",
            String::from_utf8_lossy(hay)
        );
    }

    #[test]
    fn the_digit_pass_feeds_the_number_finders_every_candidate_from_any_window_start() {
        let mut d = Detectors::new(&[], &[]).unwrap();
        // Each format a number finder reads, and what the digit pass jumps over: NO-BREAK
        // SPACE joins, `$12345.67`, `+1 415 555 1234`, a run of more than MAX_GROUPS groups.
        let text =
            "x 4556 7375 8689 9855, 4556\u{A0}7375\u{A0}8689\u{A0}9855 and 4556-7375-8689-9855 \
            (4556)7375.8689/9855 ssn 123-45-6789 $12345.67 +1 415 555 1234 12 3456 7890 12 \
            1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 AB12 345678901 4556737586899855x";
        let hay = text.as_bytes();
        for from in 0..hay.len() {
            digit_pass_agrees(&mut d, hay, from, hay.len());
            digit_pass_agrees(&mut d, hay, from, (from + 40).min(hay.len()));
        }
    }

    #[test]
    fn the_digit_pass_feeds_the_number_finders_what_their_own_pass_finds() {
        let mut d = Detectors::new(&[], &[]).unwrap();
        let mut rng = Rng(0x2026_1206_0020);
        for _ in 0..400 {
            let len = 64 + rng.below(400);
            let hay = numbery(&mut rng, len);
            let from = rng.below(hay.len());
            let to = from + 1 + rng.below(hay.len() - from);
            digit_pass_agrees(&mut d, &hay, from, to);
        }
    }

    #[test]
    fn one_reading_per_column_type_finds_what_one_per_column_did() {
        const WORDS: [&str; 24] = [
            "Ann",
            "LEE",
            "Díaz",
            "DÍAZ",
            "o'neil",
            "Mary-Ann",
            "de",
            "souza",
            "STRASSE",
            "born",
            "12",
            "March",
            "1980",
            "12/03/1980",
            "1980-03-12",
            "3.12.80",
            "SW1A",
            "1AA",
            "m1",
            "1ae",
            "4556 5260",
            "ann.lee@example.org",
            ",",
            "\u{A0}",
        ];
        let table = table(&[Finder::Digits], &[vec!["123456".into()]]);
        let mut rng = Rng(0x2026_1206_0021);
        for _ in 0..300 {
            let text: Vec<&str> = (0..1 + rng.below(40))
                .map(|_| WORDS[rng.below(WORDS.len())])
                .collect();
            let text = text.join(" ");
            let words = region_words(&text);
            for kind in ColumnType::ALL {
                // Cells the text may hold (whole values of the word list, runs of its words
                // as a table writes them) and one it does not.
                let mut cells: Vec<String> = ["ann.lee@example.org", "1980-03-12", "1980-12-03"]
                    .map(String::from)
                    .to_vec();
                for _ in 0..3 {
                    let a = rng.below(words.len().max(1));
                    let b = (a + 1 + rng.below(6)).min(words.len());
                    let run = words.get(a..b).unwrap_or(&[]).iter().map(|w| w.text);
                    cells.push(run.collect::<Vec<_>>().join(" "));
                }
                let mut targets = vec![rng.next() as u32 | 1];
                for cell in &cells {
                    if let Ok(n) = crate::edm::normalise::normalise(kind, DateOrder::Dmy, cell) {
                        if !n.as_bytes().is_empty() {
                            targets.push(table.hasher.hash32(kind, n.as_bytes()));
                        }
                    }
                }
                let each = targets
                    .iter()
                    .enumerate()
                    .filter(|&(_, &t)| table.region_has(kind, &text, t))
                    .fold(0u32, |m, (i, _)| m | 1 << i);
                assert_eq!(
                    table.region_finds(kind, &text, &words, &targets),
                    each,
                    "{kind:?} in {text:?}"
                );
            }
        }
    }

    #[test]
    fn a_short_number_is_one_the_walk_takes_nothing_of() {
        let mut rng = Rng(0x0020_2612);
        for _ in 0..2000 {
            let hay = numbery(&mut rng, 40);
            for s in (0..hay.len()).filter(|&s| hay[s].is_ascii_digit()) {
                for min in [1, 6, 9, 12] {
                    let Some(end) = short_number(&hay, s, min) else {
                        continue;
                    };
                    let mut took = 0;
                    let walked = number_at(&hay, s, 0, hay.len(), min, &mut |_, _, _| took += 1);
                    assert_eq!((end, took), (walked, 0), "{min} at {s} of {hay:?}");
                }
            }
        }
    }

    fn nums(text: &str) -> Vec<String> {
        let mut v = Vec::new();
        numbers(text.as_bytes(), 0, text.len(), 1, &mut |_, _, d| {
            v.push(String::from_utf8(d.to_vec()).unwrap())
        });
        v
    }

    #[test]
    fn the_vector_digit_search_finds_the_first_digit() {
        // Every byte value in every lane, and runs with a digit at each offset from each start.
        let mut x: u64 = 0x2026_1206;
        let mut hay: Vec<u8> = (0..=255u8).chain(0..=255u8).collect();
        for _ in 0..4096 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            hay.push(if x.is_multiple_of(9) {
                b'0' + (x >> 8) as u8 % 10
            } else {
                (x >> 16) as u8
            });
        }
        for i in 0..hay.len() {
            for to in [i, i + 1, i + 7, i + 8, i + 9, i + 40, hay.len()] {
                let to = to.min(hay.len());
                let naive = hay[i..to]
                    .iter()
                    .position(u8::is_ascii_digit)
                    .map(|p| i + p);
                assert_eq!(next_digit(&hay, i, to), naive, "from {i} to {to}");
            }
        }
    }

    #[test]
    fn a_digit_bound_drops_only_shorter_numbers() {
        let text = "in 2015 paid $12345.67, call +1 415 555 1234, card 4556 7375 8689 9855 \
            exp 12/27, ref 12-34-56-78-90-12-34 and 1234567890123 then 12 3456 7890 12.";
        let all = |min: usize| {
            let mut v = Vec::new();
            numbers(text.as_bytes(), 0, text.len(), min, &mut |s, e, d| {
                if d.len() >= min {
                    v.push((s, e, String::from_utf8(d.to_vec()).unwrap()));
                }
            });
            v
        };
        for min in [6, 9, 12] {
            assert_eq!(
                all(min),
                all(1)
                    .into_iter()
                    .filter(|n| n.2.len() >= min)
                    .collect::<Vec<_>>(),
                "{min}"
            );
        }
        assert!(all(12).iter().any(|n| n.2 == "4556737586899855"));
    }

    #[test]
    fn numbers_are_every_run_of_groups() {
        assert_eq!(nums("tel 555 123"), vec!["555", "555123", "123"]);
        // A run glued to letters is an identifier, not a number.
        assert!(nums("a1234 5").is_empty());
        assert_eq!(nums("card 4556-5260"), vec!["4556", "45565260", "5260"]);
    }

    #[test]
    fn emails_and_ibans_are_normalised() {
        let text = b"write to Jo.Smith@Example.com. or GB82 WEST 1234 5698 7654 32 now";
        let mut seen = Vec::new();
        emails(text, 0, text.len(), &mut |_, _, n| seen.push(n.to_vec()));
        ibans(text, 0, text.len(), &mut |_, _, n| seen.push(n.to_vec()));
        assert_eq!(
            seen,
            vec![
                b"jo.smith@example.com".to_vec(),
                b"GB82WEST12345698765432".to_vec()
            ]
        );
    }
}
