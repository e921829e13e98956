//! `[[dictionary]]` matching: thousands of terms at line rate.
//!
//! An automaton walk costs ~3 ns/byte with 1,000 terms (PERF-NOTES), three
//! times the budget. Instead, as Hyperscan's FDR does, we filter first: a
//! candidate position's 4-byte prefix (case-folded with `| 0x20`, which
//! folds ASCII and Latin-1 letters alike) is hashed into a 2^18-bit set
//! built from the terms' prefixes. Only positions whose bit is set (about 2%
//! of word starts with 1,000 terms on English text) look in their filter
//! bucket, where a folded 8-byte head rejects terms that merely share the
//! 4-byte prefix before any byte-by-byte verification. Terms of 2-3 bytes
//! use a direct 2-byte bitmap.
//!
//! Candidate positions: every position for a dictionary that matches inside
//! words; for whole-word dictionaries only positions after a non-word byte,
//! and, when every term starts with an ASCII letter, only letters after a
//! non-letter (word starts), found 64 bytes at a time with SWAR masks.
//!
//! Verification folds case (ASCII and Latin-1) for case-insensitive
//! dictionaries, lets a space in a term match any run of whitespace (a term
//! folded across lines in HTML or plain text), and checks word boundaries.

use super::swar;
use crate::limits::{MAX_MATCH_BYTES, MAX_TERM_BYTES, MIN_TERM_BYTES};
use crate::Error;

/// Bits in the prefix filter: 32 KiB, an L1 cache on the targets.
const FILTER_BITS: u32 = 18;
const FILTER_WORDS: usize = 1 << (FILTER_BITS - 6);
const HASH_MUL: u32 = 0x9E37_79B1;
/// Buckets of the long-term index: 4,096 starts (16 KiB), about one term per bucket per 4,096
/// terms, so a filter hit is resolved in a bucket of a few entries.
const BUCKET_BITS: u32 = 12;

#[inline(always)]
fn bucket(h: usize) -> usize {
    h >> (FILTER_BITS - BUCKET_BITS)
}

/// Longest whitespace run one space of a term may stand for.
const MAX_FOLDED_SPACE: usize = 16;

#[derive(Clone, Debug)]
struct Term {
    /// Normalized: trimmed, inner whitespace runs as one space; lowercase if
    /// the dictionary is case-insensitive.
    bytes: Vec<u8>,
    dict: u32,
    case_sensitive: bool,
    whole_word: bool,
}

/// A long term as its filter bucket lists it.
#[derive(Clone, Copy, Debug)]
struct LongEntry {
    /// Folded 4-byte prefix, as hashed into the filter.
    prefix: u32,
    term: u32,
    /// Up to 8 leading bytes folded with `| 0x20`, before any space (which
    /// may stand for a whitespace run): a candidate whose folded bytes
    /// differ under `head_mask` cannot match. Terms often share 4-byte
    /// prefixes ("London" against "londex..."), and this check spares
    /// most byte-by-byte verifications (perf: 8 per filter hit on the
    /// 1,000-term bench).
    head: u64,
    head_mask: u64,
    /// For a term whose first word is shorter than 8 bytes ("Project
    /// Kalomir"): the offset of that first space, and the folded head of
    /// the word after it, checked after the candidate's whitespace run.
    /// Code-name dictionaries share their first word across hundreds of
    /// terms, where `head` alone cannot tell them apart (perf: 170
    /// verifications per "Project" on the bench). `next_mask` 0: no check.
    gap: u8,
    next: u64,
    next_mask: u64,
}

/// Folded bytes up to the first space (at most 8) of `b`, and their mask.
fn folded_head(b: &[u8]) -> (u64, u64) {
    let k = b
        .len()
        .min(8)
        .min(b.iter().position(|&c| c == b' ').unwrap_or(8));
    let mut head = [0u8; 8];
    for (h, &c) in head.iter_mut().zip(&b[..k]) {
        *h = c | 0x20;
    }
    let mask = if k == 8 {
        u64::MAX
    } else {
        (1u64 << (8 * k)) - 1
    };
    (u64::from_le_bytes(head), mask)
}

/// What follows a candidate's first word.
enum NextWord {
    /// No whitespace where the term has its space: it cannot match.
    NoSpace,
    /// The haystack ends too soon to tell: verify in full.
    Short,
    /// The folded 8 bytes after the whitespace run.
    Word(u64),
}

/// The end of the whitespace run at `p` that one space of a term stands
/// for: ASCII whitespace and no-break spaces, at most [`MAX_FOLDED_SPACE`].
fn skip_folded_space(hay: &[u8], p: usize) -> usize {
    let mut i = p;
    while i < hay.len() && i - p < MAX_FOLDED_SPACE {
        if is_space(hay[i]) {
            i += 1;
        } else if hay[i] == 0xC2 && hay.get(i + 1) == Some(&0xA0) {
            i += 2;
        } else {
            break;
        }
    }
    i
}

/// Reads the whitespace run at `p` (as `match_at` accepts it) and the 8
/// bytes after it.
fn next_word(hay: &[u8], p: usize) -> NextWord {
    let i = skip_folded_space(hay, p);
    if i == p && p < hay.len() {
        return NextWord::NoSpace;
    }
    match hay.get(i..i + 8) {
        Some(w) => NextWord::Word(
            u64::from_le_bytes(w.try_into().expect("8 bytes")) | 0x2020_2020_2020_2020,
        ),
        None => NextWord::Short,
    }
}

/// All dictionaries compiled together.
pub(crate) struct Dictionaries {
    filter: Box<[u64; FILTER_WORDS]>,
    short: Box<[u64; 1024]>,
    /// Terms of 4 bytes or more, sorted by filter bucket then prefix.
    long_index: Vec<LongEntry>,
    /// Where each filter bucket's entries start in `long_index` (one more entry than
    /// buckets): a candidate finds its terms with two loads, not a binary search.
    long_buckets: Box<[u32]>,
    /// (folded 2-byte prefix, term index), sorted.
    short_index: Vec<(u16, u32)>,
    terms: Vec<Term>,
    has_short: bool,
    /// Every term is whole-word and starts with an ASCII letter: only
    /// letters after non-letters are candidates.
    letter_starts: bool,
    /// Every term is whole-word: a filter hit right after a word character
    /// cannot match, so it skips verification.
    all_whole_word: bool,
}

impl std::fmt::Debug for Dictionaries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Terms may be customer names: show only the shape.
        write!(f, "Dictionaries({} terms)", self.terms.len())
    }
}

#[inline(always)]
fn fold4(x: u32) -> u32 {
    x | 0x2020_2020
}

#[inline(always)]
fn hash4(x: u32) -> usize {
    (fold4(x).wrapping_mul(HASH_MUL) >> (32 - FILTER_BITS)) as usize
}

fn normalize(term: &str, case_sensitive: bool) -> Vec<u8> {
    // The text is folded before the detectors see it (`crate::fold`): so is a term.
    let term = crate::fold::fold_str(term);
    let joined = term.split_whitespace().collect::<Vec<_>>().join(" ");
    if case_sensitive {
        joined.into_bytes()
    } else {
        joined.to_lowercase().into_bytes()
    }
}

/// One match: which dictionary and which term (for distinct counts).
#[derive(Clone, Copy, Debug)]
pub(crate) struct DictMatch {
    pub(crate) dict: u32,
    pub(crate) term: u32,
    /// Where the term starts: the tests check positions; the scanner needs
    /// only the term.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) start: usize,
}

impl Dictionaries {
    /// `dicts`: (name, terms, case_sensitive, whole_word) in detector order.
    pub(crate) fn new(dicts: &[(&str, &[String], bool, bool)]) -> Result<Dictionaries, Error> {
        let mut terms = Vec::new();
        for (d, (name, list, cs, ww)) in dicts.iter().enumerate() {
            if list.is_empty() {
                return Err(Error::EmptyDictionary {
                    name: name.to_string(),
                });
            }
            for t in list.iter() {
                let bytes = normalize(t, *cs);
                if bytes.len() < MIN_TERM_BYTES || bytes.len() > MAX_TERM_BYTES {
                    return Err(Error::TermLength {
                        dictionary: name.to_string(),
                        len: bytes.len(),
                        min: MIN_TERM_BYTES,
                        max: MAX_TERM_BYTES,
                    });
                }
                terms.push(Term {
                    bytes,
                    dict: d as u32,
                    case_sensitive: *cs,
                    whole_word: *ww,
                });
            }
        }
        let mut filter = Box::new([0u64; FILTER_WORDS]);
        let mut short = Box::new([0u64; 1024]);
        let mut long_index = Vec::new();
        let mut short_index = Vec::new();
        for (i, t) in terms.iter().enumerate() {
            let b = &t.bytes;
            if b.len() >= 4 {
                let x = fold4(u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
                let h = hash4(x);
                filter[h >> 6] |= 1 << (h & 63);
                let (head, head_mask) = folded_head(b);
                let (gap, next, next_mask) = match b.iter().position(|&c| c == b' ') {
                    Some(sp) if sp < 8 => {
                        let (n, m) = folded_head(&b[sp + 1..]);
                        (sp as u8, n, m)
                    }
                    _ => (0, 0, 0),
                };
                long_index.push(LongEntry {
                    prefix: x,
                    term: i as u32,
                    head,
                    head_mask,
                    gap,
                    next,
                    next_mask,
                });
            } else {
                let x = u16::from_le_bytes([b[0], b[1]]) | 0x2020;
                short[(x >> 6) as usize] |= 1 << (x & 63);
                short_index.push((x, i as u32));
            }
        }
        long_index.sort_unstable_by_key(|e| (bucket(hash4(e.prefix)), e.prefix, e.term));
        let mut long_buckets = vec![0u32; (1 << BUCKET_BITS) + 1].into_boxed_slice();
        for e in &long_index {
            long_buckets[bucket(hash4(e.prefix)) + 1] += 1;
        }
        for b in 1..long_buckets.len() {
            long_buckets[b] += long_buckets[b - 1];
        }
        short_index.sort_unstable();
        Ok(Dictionaries {
            all_whole_word: terms.iter().all(|t| t.whole_word),
            letter_starts: terms
                .iter()
                .all(|t| t.whole_word && t.bytes[0].is_ascii_alphabetic()),
            filter,
            has_short: !short_index.is_empty(),
            short,
            long_index,
            long_buckets,
            short_index,
            terms,
        })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Finds term matches starting in `[from, to)` of `hay` and hands each to
    /// `out`. Bytes past `to` are read for the match tails.
    pub(crate) fn scan(&self, hay: &[u8], from: usize, to: usize, out: &mut impl FnMut(DictMatch)) {
        let to = to.min(hay.len());
        if from >= to {
            return;
        }
        if self.letter_starts {
            self.scan_word_starts::<true>(hay, from, to, out);
        } else if self.all_whole_word {
            self.scan_word_starts::<false>(hay, from, to, out);
        } else {
            self.scan_positions(hay, from, to, out);
        }
    }

    /// Whole-word dictionaries: a term can only start where the previous
    /// byte is not an ASCII word character, about one position in six in
    /// prose. A 64-byte block's candidate starts come from one SWAR pass
    /// (8 bytes per step), and only those positions are hashed: the per-byte
    /// hash and filter load of [`Self::scan_positions`] was most of the cost
    /// of a dictionary (perf: 60% of the 1,000-term scan).
    ///
    /// `LETTERS`: every term starts with an ASCII letter, so a candidate is
    /// a letter after a non-letter, both read from one letter mask (half
    /// the SWAR work of the word mask, and no candidates at spaces after
    /// punctuation or in numbers).
    fn scan_word_starts<const LETTERS: bool>(
        &self,
        hay: &[u8],
        from: usize,
        to: usize,
        out: &mut impl FnMut(DictMatch),
    ) {
        let mut b = from;
        // Whether the byte before `b` lets a term start at `b`.
        let mut carry = u64::from(
            b == 0
                || if LETTERS {
                    !hay[b - 1].is_ascii_alphabetic()
                } else {
                    !is_ascii_word(hay[b - 1])
                },
        );
        // Blocks whose every candidate can read 4 bytes without a bound check.
        while b < to && b + BLOCK + 3 <= hay.len() {
            let block: &[u8; BLOCK] = hay[b..b + BLOCK].try_into().expect("BLOCK bytes");
            let mut cand = if LETTERS {
                let letters = letter_mask(block);
                let c = ((!letters << 1) | carry) & letters;
                carry = !letters >> 63;
                c
            } else {
                let nonword = nonword_mask(block);
                let c = (nonword << 1) | carry;
                carry = nonword >> 63;
                c
            };
            if to - b < BLOCK {
                cand &= (1u64 << (to - b)) - 1;
            }
            // Indexing the block (64 + 3 bytes) with `k < 64` needs no bound
            // check per candidate.
            let ext: &[u8; BLOCK + 3] = hay[b..b + BLOCK + 3].try_into().expect("BLOCK + 3 bytes");
            while cand != 0 {
                let k = cand.trailing_zeros() as usize & (BLOCK - 1);
                let i = b + k;
                cand &= cand - 1;
                let x = u32::from_le_bytes([ext[k], ext[k + 1], ext[k + 2], ext[k + 3]]);
                let h = hash4(x);
                if self.filter[h >> 6] & (1 << (h & 63)) != 0 {
                    self.verify_long(hay, i, fold4(x), h, out);
                }
                if self.has_short {
                    let y = x as u16 | 0x2020;
                    if self.short[(y >> 6) as usize] & (1 << (y & 63)) != 0 {
                        self.verify_short(hay, i, y, out);
                    }
                }
            }
            b += BLOCK;
        }
        if b < to {
            // The end of the haystack: per position, as the general loop does.
            self.scan_positions(hay, b, to, out);
        }
    }

    /// Every position of `[from, to)` goes through the filter.
    fn scan_positions(&self, hay: &[u8], from: usize, to: usize, out: &mut impl FnMut(DictMatch)) {
        let fast_end = to.min(hay.len().saturating_sub(8));
        let mut i = from;
        // Main loop: one 8-byte load serves four positions.
        while i + 4 <= fast_end {
            let w = u64::from_le_bytes(hay[i..i + 8].try_into().expect("8 bytes"));
            for k in 0..4 {
                let x = (w >> (8 * k)) as u32;
                let h = hash4(x);
                if self.filter[h >> 6] & (1 << (h & 63)) != 0 {
                    self.verify_long(hay, i + k, fold4(x), h, out);
                }
            }
            if self.has_short {
                for k in 0..4 {
                    let x = (w >> (8 * k)) as u16 | 0x2020;
                    if self.short[(x >> 6) as usize] & (1 << (x & 63)) != 0 {
                        self.verify_short(hay, i + k, x, out);
                    }
                }
            }
            i += 4;
        }
        // Tail: positions near the end of the haystack.
        while i < to {
            if i + 4 <= hay.len() {
                let x = u32::from_le_bytes([hay[i], hay[i + 1], hay[i + 2], hay[i + 3]]);
                let h = hash4(x);
                if self.filter[h >> 6] & (1 << (h & 63)) != 0 {
                    self.verify_long(hay, i, fold4(x), h, out);
                }
            }
            if self.has_short && i + 2 <= hay.len() {
                let x = u16::from_le_bytes([hay[i], hay[i + 1]]) | 0x2020;
                if self.short[(x >> 6) as usize] & (1 << (x & 63)) != 0 {
                    self.verify_short(hay, i, x, out);
                }
            }
            i += 1;
        }
    }

    #[cold]
    fn verify_long(
        &self,
        hay: &[u8],
        at: usize,
        x: u32,
        h: usize,
        out: &mut impl FnMut(DictMatch),
    ) {
        if self.all_whole_word
            && at > 0
            && (hay[at - 1].is_ascii_alphanumeric() || hay[at - 1] == b'_')
        {
            return;
        }
        let b = bucket(h);
        let (lo, hi) = (
            self.long_buckets[b] as usize,
            self.long_buckets[b + 1] as usize,
        );
        // Near the end of the haystack only the 4-byte prefix is compared.
        let (head, full) = match hay.get(at..at + 8) {
            Some(w) => (
                u64::from_le_bytes(w.try_into().expect("8 bytes")) | 0x2020_2020_2020_2020,
                u64::MAX,
            ),
            None => (0, 0),
        };
        // The word after the first space, read once per distinct gap.
        let mut seen_gap = u8::MAX;
        let mut word = NextWord::Short;
        for e in &self.long_index[lo..hi] {
            if e.prefix != x || (head ^ e.head) & e.head_mask & full != 0 {
                continue;
            }
            if e.next_mask != 0 {
                if e.gap != seen_gap {
                    seen_gap = e.gap;
                    word = next_word(hay, at + usize::from(e.gap));
                }
                match word {
                    NextWord::NoSpace => continue,
                    NextWord::Word(w) if (w ^ e.next) & e.next_mask != 0 => continue,
                    _ => {}
                }
            }
            self.verify_term(hay, at, e.term, out);
        }
    }

    #[cold]
    fn verify_short(&self, hay: &[u8], at: usize, x: u16, out: &mut impl FnMut(DictMatch)) {
        if self.all_whole_word
            && at > 0
            && (hay[at - 1].is_ascii_alphanumeric() || hay[at - 1] == b'_')
        {
            return;
        }
        let lo = self.short_index.partition_point(|&(p, _)| p < x);
        for &(p, t) in &self.short_index[lo..] {
            if p != x {
                break;
            }
            self.verify_term(hay, at, t, out);
        }
    }

    fn verify_term(&self, hay: &[u8], at: usize, t: u32, out: &mut impl FnMut(DictMatch)) {
        let term = &self.terms[t as usize];
        let Some(end) = match_at(hay, at, &term.bytes, term.case_sensitive) else {
            return;
        };
        if term.whole_word && !(word_boundary_before(hay, at) && word_boundary_after(hay, end)) {
            return;
        }
        out(DictMatch {
            dict: term.dict,
            term: t,
            start: at,
        });
    }

    /// A redacted form of term `t`: first character, then asterisks.
    pub(crate) fn redacted(&self, t: u32, out: &mut [u8; 48]) -> usize {
        let b = &self.terms[t as usize].bytes;
        let first = std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.chars().next())
            .map_or(1, char::len_utf8);
        out[..first].copy_from_slice(&b[..first]);
        let stars = (b.len() - first).min(out.len() - first);
        out[first..first + stars].fill(b'*');
        first + stars
    }
}

/// Bytes per candidate block: one bit per position in a `u64`.
const BLOCK: usize = 64;

/// The word characters of the whole-word prefilter: ASCII alphanumerics
/// and `_` (a non-ASCII byte before a term is left to verification).
#[inline(always)]
fn is_ascii_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Bit `k` set when `block[k]` is an ASCII letter.
#[inline(always)]
fn letter_mask(block: &[u8; BLOCK]) -> u64 {
    let mut m = 0u64;
    for (j, c) in block.chunks_exact(8).enumerate() {
        let w = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        // "hasbetween" (Bit Twiddling Hacks) on the byte with 0x20 set, so
        // capitals fold onto lowercase; exact per byte, never >= 0x80.
        let letter = swar::letters(w);
        // Byte k's flag to bit 8k + j: word j is column j of an 8x8 bit
        // matrix. (Gathering each word's flags with a multiply made the
        // compiler vectorize the loop with an emulated 64-bit multiply.)
        m |= (letter >> 7) << j;
    }
    transpose8(m)
}

/// Transposes the 8x8 bit matrix whose row `r` is byte `r` (Hacker's
/// Delight 7-3): bit 8r + c moves to bit 8c + r.
#[inline(always)]
fn transpose8(mut x: u64) -> u64 {
    let t = (x ^ (x >> 7)) & 0x00AA_00AA_00AA_00AA;
    x ^= t ^ (t << 7);
    let t = (x ^ (x >> 14)) & 0x0000_CCCC_0000_CCCC;
    x ^= t ^ (t << 14);
    let t = (x ^ (x >> 28)) & 0x0000_0000_F0F0_F0F0;
    x ^= t ^ (t << 28);
    x
}

/// Bit `k` set when `block[k]` is not [`is_ascii_word`].
#[inline(always)]
fn nonword_mask(block: &[u8; BLOCK]) -> u64 {
    const K: u64 = 0x0101_0101_0101_0101;
    const H: u64 = K * 0x80;
    let mut m = 0u64;
    for (j, c) in block.chunks_exact(8).enumerate() {
        let w = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        // Per byte, exact (no carry crosses a byte): "haszero" from Bit
        // Twiddling Hacks for `_`. Bytes >= 0x80 are never words.
        let u = w ^ (K * 0x5F);
        let underscore = !(((u & (K * 127)) + K * 127) | u);
        let nonword = !(swar::digits(w) | swar::letters(w) | underscore) & H;
        // Gather the eight high bits into one byte, byte k to bit k.
        let bits = ((nonword >> 7).wrapping_mul(0x0102_0408_1020_4080)) >> 56;
        m |= bits << (8 * j);
    }
    m
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0x0C)
}

/// Case fold for verification: ASCII letters, and Latin-1 capitals
/// (U+00C0..U+00DE encoded C3 80..9E) when `prev` is the C3 lead byte.
#[inline]
fn fold(prev: u8, b: u8) -> u8 {
    if b.is_ascii_uppercase() || (prev == 0xC3 && (0x80..=0x9E).contains(&b) && b != 0x97) {
        b | 0x20
    } else {
        b
    }
}

/// Whether `term` matches at `at`; returns the end of the match.
fn match_at(hay: &[u8], at: usize, term: &[u8], case_sensitive: bool) -> Option<usize> {
    let mut i = at;
    let mut prev = if at > 0 { hay[at - 1] } else { 0 };
    for &tb in term {
        if i >= hay.len() || i - at > MAX_MATCH_BYTES {
            return None;
        }
        if tb == b' ' {
            // One term space matches a whitespace run, or a no-break space.
            let run_start = i;
            i = skip_folded_space(hay, i);
            if i == run_start {
                return None;
            }
            prev = b' ';
            continue;
        }
        let hb = hay[i];
        let ok = if case_sensitive {
            hb == tb
        } else {
            fold(prev, hb) == tb
        };
        if !ok {
            return None;
        }
        prev = hb;
        i += 1;
    }
    Some(i)
}

/// Word characters: ASCII alphanumerics and `_`, and any non-ASCII
/// character except the punctuation blocks (C2 xx: NBSP, guillemets;
/// E2 80 xx: dashes, curly quotes).
fn is_word_at(hay: &[u8], i: usize) -> bool {
    let b = hay[i];
    if b < 0x80 {
        return b.is_ascii_alphanumeric() || b == b'_';
    }
    // Find the lead byte of this character.
    let mut j = i;
    while j > 0 && i - j < 3 && (hay[j] & 0xC0) == 0x80 {
        j -= 1;
    }
    !matches!(hay[j], 0xC2 | 0xE2 | 0xE3)
}

pub(crate) fn word_boundary_before(hay: &[u8], at: usize) -> bool {
    at == 0 || !is_word_at(hay, at - 1)
}

pub(crate) fn word_boundary_after(hay: &[u8], end: usize) -> bool {
    end >= hay.len() || !is_word_at(hay, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(d: &Dictionaries, hay: &[u8]) -> Vec<(u32, u32, usize)> {
        let mut v = Vec::new();
        d.scan(hay, 0, hay.len(), &mut |m| {
            v.push((m.dict, m.term, m.start))
        });
        v
    }

    #[test]
    fn case_whitespace_and_words() {
        let terms = vec![
            "Project Falcon".to_string(),
            "ÄRZTLICH".to_string(),
            "q3".to_string(),
        ];
        let d = Dictionaries::new(&[("codes", &terms, false, true)]).unwrap();
        let hay =
            "see PROJECT\r\n   falcon, ärztlich and Q3 but not q3x or subproject falcon".as_bytes();
        let got = find(&d, hay);
        let terms_found: Vec<u32> = got.iter().map(|g| g.1).collect();
        assert_eq!(terms_found, vec![0, 1, 2]);
    }

    #[test]
    fn block_masks_are_exact() {
        let mut block = [0u8; BLOCK];
        for round in 0..64u32 {
            for (k, b) in block.iter_mut().enumerate() {
                // Rounds 0-3 are every byte value in order; then mixtures.
                *b = if round < 4 {
                    (round * 64 + k as u32) as u8
                } else {
                    (k as u32 * 7 + round * 131 + (k as u32 * round) % 17) as u8
                };
            }
            let (letters, nonword) = (letter_mask(&block), nonword_mask(&block));
            for (k, &b) in block.iter().enumerate() {
                assert_eq!(letters >> k & 1 == 1, b.is_ascii_alphabetic(), "byte {b}");
                assert_eq!(nonword >> k & 1 == 1, !is_ascii_word(b), "byte {b}");
            }
        }
    }

    #[test]
    fn case_sensitive_and_substrings() {
        let terms = vec!["ACME-7".to_string()];
        let d = Dictionaries::new(&[("c", &terms, true, false)]).unwrap();
        assert_eq!(find(&d, b"xxACME-7yy").len(), 1);
        assert_eq!(find(&d, b"xxacme-7yy").len(), 0);
    }

    #[test]
    fn rejects_bad_terms() {
        let terms = vec!["a".to_string()];
        assert!(Dictionaries::new(&[("c", &terms, true, false)]).is_err());
        let none: Vec<String> = Vec::new();
        assert!(Dictionaries::new(&[("c", &none, true, false)]).is_err());
    }

    /// Every term tried at every position, with the filter's one stated
    /// limit (the first 4 bytes, or 2 for a short term, as written modulo
    /// `| 0x20`), sorted by (start, term).
    fn naive(d: &Dictionaries, hay: &[u8], from: usize, to: usize) -> Vec<(u32, usize)> {
        let mut v = Vec::new();
        for at in from..to.min(hay.len()) {
            for (t, term) in d.terms.iter().enumerate() {
                let k = if term.bytes.len() >= 4 { 4 } else { 2 };
                let Some(h) = hay.get(at..at + k) else {
                    continue;
                };
                if h.iter().zip(&term.bytes).any(|(a, b)| a | 0x20 != b | 0x20) {
                    continue;
                }
                d.verify_term(hay, at, t as u32, &mut |m| v.push((m.term, m.start)));
            }
        }
        v
    }

    /// The word-start scan reports exactly what checking every position
    /// reports, at any window range, for short and long terms, ASCII and
    /// Latin-1 text, whatever bytes come before a term.
    #[test]
    fn word_starts_equal_every_position() {
        let mut next = crate::testing::xorshift(0x2545_F491_4F6C_DD1Du64);
        let pieces: &[&[u8]] = &[
            b"a",
            b"Z",
            b"7",
            b"_",
            b" ",
            b"\r\n",
            b".",
            b"-",
            b"\x7f",
            b"\x10",
            b"\xff",
            "é".as_bytes(),
            "É".as_bytes(),
            "\u{a0}".as_bytes(),
            "\u{2014}".as_bytes(),
            b"ab",
            b"q3",
            b"Falcon",
            b"FALCON",
            b"project",
            b"PROJECT \r\n falcon",
            b"project faro",
            b"Project\xc2\xa0Faro",
            b"deal x",
            b"DEAL  ",
            b"x",
            b"faro",
            b"_ab",
            b"xab",
            b"9ab",
            "ärztlich".as_bytes(),
            "ÄRZTLICH".as_bytes(),
        ];
        // Terms sharing a first word shorter than 8 bytes ("project ...")
        // exercise the second-word check.
        let any_start = [
            "ab",
            "q3",
            "project falcon",
            "falcon",
            "ärztlich",
            "7a",
            "project faro",
            "deal x",
        ];
        let letter_start = [
            "ab",
            "q3",
            "Project Falcon",
            "falcon",
            "zab",
            "FALC",
            "project faro",
            "Deal X",
        ];
        for (terms, cs, ww) in [
            (&any_start, false, true),
            (&any_start, true, true),
            (&letter_start, false, true),
            (&letter_start, true, true),
            (&any_start, false, false),
            (&letter_start, true, false),
        ] {
            let terms: Vec<String> = terms.iter().map(|t| t.to_string()).collect();
            let d = Dictionaries::new(&[("t", &terms, cs, ww)]).unwrap();
            let mut found = 0;
            assert_eq!(d.all_whole_word, ww);
            assert_eq!(d.letter_starts, ww && terms[4] == "zab");
            for _ in 0..300 {
                let mut hay = Vec::new();
                let n = (next() % 400) as usize;
                while hay.len() < n {
                    hay.extend_from_slice(pieces[(next() % pieces.len() as u64) as usize]);
                }
                let from = (next() % (hay.len() as u64 + 1)) as usize;
                let to = from + (next() % (hay.len() - from + 1) as u64) as usize;
                let (mut a, mut b) = (Vec::new(), Vec::new());
                d.scan(&hay, from, to, &mut |m| a.push((m.term, m.start)));
                let mut sorted = a.clone();
                sorted.sort_by_key(|&(t, start)| (start, t));
                assert_eq!(
                    sorted,
                    naive(&d, &hay, from, to),
                    "cs {cs} from {from} to {to}"
                );
                found += a.len();
                d.scan_positions(&hay, from, to, &mut |m| b.push((m.term, m.start)));
                // The every-position loop reports a 4-position group's long
                // terms before its short ones; the word-start scan goes in
                // position order.
                b.sort_by_key(|&(_, start)| start);
                if ww {
                    assert_eq!(a, b, "cs {cs} from {from} to {to}");
                }
            }
            assert!(found > 50, "the inputs exercise matches: {found}");
        }
    }
}
