//! Row matching in one window of text: each primary column's finder proposes candidates that
//! start in `[from, to)`, a candidate whose keyed hash is in the column's index names rows,
//! and a named row matches when at least `min_fields` of its cells (the primary one counted)
//! are found within `proximity` bytes of the candidate. The window keeps
//! [`crate::limits::CONTEXT_BYTES`] of text on both sides of `[from, to)`, and `proximity`
//! is at most that, so the result does not depend on how the text was chunked.
//!
//! Candidates for the other cells are read from the region around the hit only, and only
//! when a primary value hit the table: a message that names no row costs one finder pass
//! and one hash per candidate.

use crate::detect::validate;
use crate::edm::normalise::{dates, for_words, name_into, push_ymd, ColumnType, Norm, Word};
use crate::edm::schema::{Finder, MAX_PATTERN_MATCH};
use crate::edm::table::{PrimaryIndex, Table};

/// Digit groups one number may have (`+1 555 123 4567`, a card in fours, an IBAN-like run):
/// a longer run is read as several numbers.
const MAX_GROUPS: usize = 12;

/// Digits one candidate number may have: a PAN has 19, account numbers fewer.
const MAX_DIGITS: usize = 32;

/// Words of a name cell looked for (`mary ann de souza`).
const MAX_NAME_WORDS: usize = 5;

/// Words of a code cell looked for (an IBAN in groups of four has up to nine).
const MAX_CODE_WORDS: usize = 9;

/// Longest e-mail local part (RFC 5321 §4.5.3.1.1) and domain looked at.
const MAX_LOCAL: usize = 64;
const MAX_DOMAIN: usize = 255;

impl Table {
    /// Calls `hit(row)` for every row that matches around a primary value starting in
    /// `[from, to)` of `hay`.
    pub(crate) fn scan(&self, hay: &[u8], from: usize, to: usize, hit: &mut impl FnMut(u32)) {
        for index in &self.primary {
            let kind = self.schema.columns[index.column].kind;
            candidates(index, hay, from, to, &mut |start, end, norm| {
                let h = self.hasher.hash64(kind, norm);
                for &row in index.rows_of(h) {
                    if self.row_matches(row, index.column, hay, start, end) {
                        hit(row);
                    }
                }
            });
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
        for (c, col) in self.schema.columns.iter().enumerate() {
            let target = cells[c];
            if c == primary || target == 0 {
                continue;
            }
            if found + left < need {
                return false;
            }
            left -= 1;
            if self.region_has(col.kind, &text, target) {
                found += 1;
                if found >= need {
                    return true;
                }
            }
        }
        false
    }

    /// Whether `text` holds a value of type `kind` whose 32-bit hash is `target`.
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
        Finder::CreditCard => numbers(hay, from, to, 12, &mut |s, e, d| {
            if (12..=19).contains(&d.len()) && validate::luhn(d) {
                f(s, e, d)
            }
        }),
        Finder::UsSsn => numbers(hay, from, to, 9, &mut |s, e, d| {
            if d.len() == 9 {
                f(s, e, d)
            }
        }),
        Finder::Digits => numbers(hay, from, to, 6, &mut |s, e, d| {
            if (6..=19).contains(&d.len()) {
                f(s, e, d)
            }
        }),
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
    let mut i = from;
    let floor = from.saturating_sub(MAX_DIGITS * 2);
    while i > floor
        && (hay[i - 1].is_ascii_digit()
            || (i >= 2 && is_sep(hay[i - 1]) && hay[i - 2].is_ascii_digit()))
    {
        i -= 1;
    }
    while i < to {
        let Some(start) = next_digit(hay, i, to) else {
            return;
        };
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
        i = j.max(start + 1);
    }
}

/// The first ASCII digit of `hay[i..to]`, eight bytes per step: prose is mostly letters, and a
/// byte-at-a-time search for the next digit was a fifth of the scan's time with a table loaded.
fn next_digit(hay: &[u8], mut i: usize, to: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    while i + 8 <= to {
        let mut w = [0u8; 8];
        w.copy_from_slice(&hay[i..i + 8]);
        let x = u64::from_le_bytes(w);
        // A byte strictly between b'/' and b':' (Bit Twiddling Hacks' hasbetween): each lane's
        // sums stay inside its byte, so the lowest flagged lane is the first digit.
        let low = x & !HIGH;
        let t = (ONES * (127 + u64::from(b':')) - low)
            & !x
            & (low + ONES * (127 - u64::from(b'/')))
            & HIGH;
        if t != 0 {
            return Some(i + (t.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    hay[i..to]
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

    fn nums(text: &str) -> Vec<String> {
        let mut v = Vec::new();
        numbers(text.as_bytes(), 0, text.len(), 1, &mut |_, _, d| {
            v.push(String::from_utf8(d.to_vec()).unwrap())
        });
        v
    }

    #[test]
    fn the_word_at_a_time_digit_search_finds_the_first_digit() {
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
