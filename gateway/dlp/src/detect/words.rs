//! Keywords found around a candidate: whole words, ASCII case folded, the longest at each word
//! start.
//!
//! Every candidate a detector weighs (a card, an ID that passed its check digits) looks for its
//! keywords within [`crate::limits::CONTEXT_BYTES`] on either side. Through an Aho-Corasick
//! automaton that cost a walk of every byte of the context: the case-insensitive automata of
//! the built-in keywords and of the identifier catalogue's 342 were a quarter of the engine's
//! time on mail source, where IDs, dates and phone numbers put a candidate every kilobyte or so
//! (perf, 2026-12-07, the `mail export` row of the throughput bench). Only a word start can
//! begin a keyword that counts (the callers keep whole words), so this looks at word starts
//! only, tests their first one, two or three folded bytes against bit sets built from the
//! keywords, and compares whole keywords only where a bit is set (a few word starts in a
//! hundred of prose). Hand-written because no crate offers whole-word dictionary lookup at
//! chosen positions; `dict.rs` does the same for `[[dictionary]]` terms at line rate, with a
//! different word definition (underscores and non-ASCII letters join words there).
//!
//! What it reports is what the automaton reported where it counted: at each word start the
//! longest keyword that starts there (leftmost-longest), the next search after its end. A
//! keyword that starts inside a word, which the callers threw away, no longer hides an
//! overlapping one that starts at the next word.

use super::swar;

/// Bits of the three-byte prefix set: 64 Kibit (8 KiB), hashed, for a few hundred keywords.
const PRE3_BITS: u32 = 16;

/// The lookup key of a keyword's first `n` (1, 2 or 3) folded bytes: the bytes, and the length
/// in the top byte, so that "id" and "idn…" differ.
#[inline(always)]
fn key(b: &[u8], n: usize) -> u32 {
    let mut k = (n as u32) << 24;
    for (i, &c) in b[..n].iter().enumerate() {
        k |= u32::from(c.to_ascii_lowercase()) << (8 * i);
    }
    k
}

#[inline(always)]
fn pre3_bit(k: u32) -> usize {
    (k.wrapping_mul(0x9E37_79B1) >> (32 - PRE3_BITS)) as usize
}

/// Buckets of the keyword index: 4,096, a key's bucket the top bits of its [`pre3_bit`], so
/// that a key resolves in a bucket of a keyword or two instead of a binary search.
const BUCKET_BITS: u32 = 12;

#[inline(always)]
fn bucket(k: u32) -> usize {
    pre3_bit(k) >> (PRE3_BITS - BUCKET_BITS)
}

/// Whole-word keyword lookup (see the module documentation).
pub(crate) struct WordMatcher {
    /// Keywords as given, folded.
    words: Vec<Box<[u8]>>,
    /// (key of the first one, two or three bytes, keyword) sorted by bucket, then key, then
    /// longest keyword first.
    index: Vec<(u32, u32)>,
    /// Where each bucket's entries start in `index` (and the last ends).
    buckets: Box<[u32]>,
    /// First bytes of one-byte keywords (256 bits).
    pre1: [u64; 4],
    /// First two bytes of two-byte keywords, direct (64 Kibit).
    pre2: Box<[u64; 1024]>,
    /// First three bytes of longer keywords, hashed.
    pre3: Box<[u64; 1 << (PRE3_BITS - 6)]>,
    has1: bool,
    has2: bool,
    /// Folded first bytes of every keyword (256 bits).
    first: [u64; 4],
    /// Every keyword starts with a letter, a digit or a non-ASCII byte, so word starts are
    /// found eight bytes at a time ([`swar`]); otherwise one byte at a time.
    swar_starts: bool,
    /// Some keyword starts with a digit.
    digit_first: bool,
    /// Digits join a word as letters do (the catalogue's keywords: "NIF" must not start
    /// inside "12NIF"); otherwise only letters do (the built-in keywords: "card4556…" has
    /// its keyword).
    digits_join: bool,
    longest: usize,
}

impl std::fmt::Debug for WordMatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WordMatcher({} keywords)", self.words.len())
    }
}

impl WordMatcher {
    /// `words`: non-empty keywords, pattern ids in this order.
    pub(crate) fn new<W: AsRef<[u8]>>(words: &[W], digits_join: bool) -> WordMatcher {
        let words: Vec<Box<[u8]>> = words
            .iter()
            .map(|w| w.as_ref().iter().map(u8::to_ascii_lowercase).collect())
            .collect();
        let mut m = WordMatcher {
            index: Vec::with_capacity(words.len()),
            buckets: vec![0; (1 << BUCKET_BITS) + 1].into_boxed_slice(),
            pre1: [0; 4],
            pre2: Box::new([0; 1024]),
            pre3: Box::new([0; 1 << (PRE3_BITS - 6)]),
            has1: false,
            has2: false,
            first: [0; 4],
            swar_starts: true,
            digit_first: false,
            digits_join,
            longest: words.iter().map(|w| w.len()).max().unwrap_or(1),
            words: Vec::new(),
        };
        for (i, w) in words.iter().enumerate() {
            let n = w.len().min(3);
            if n == 0 {
                continue;
            }
            let k = key(w, n);
            m.first[usize::from(w[0] >> 6)] |= 1 << (w[0] & 63);
            m.digit_first |= w[0].is_ascii_digit();
            m.swar_starts &= w[0].is_ascii_alphanumeric() || w[0] >= 0x80;
            match n {
                1 => {
                    m.pre1[usize::from(w[0] >> 6)] |= 1 << (w[0] & 63);
                    m.has1 = true;
                }
                2 => {
                    let b = (k & 0xFFFF) as usize;
                    m.pre2[b >> 6] |= 1 << (b & 63);
                    m.has2 = true;
                }
                _ => {
                    let b = pre3_bit(k);
                    m.pre3[b >> 6] |= 1 << (b & 63);
                }
            }
            m.index.push((k, i as u32));
        }
        m.index.sort_unstable_by_key(|&(k, i)| {
            (bucket(k), k, std::cmp::Reverse(words[i as usize].len()), i)
        });
        for &(k, _) in &m.index {
            m.buckets[bucket(k) + 1] += 1;
        }
        for b in 1..m.buckets.len() {
            m.buckets[b] += m.buckets[b - 1];
        }
        m.words = words;
        m
    }

    /// Bytes of the longest keyword.
    pub(crate) fn longest(&self) -> usize {
        self.longest
    }

    #[inline(always)]
    fn joins(&self, b: u8) -> bool {
        b.is_ascii_alphabetic() || (self.digits_join && b.is_ascii_digit())
    }

    /// The longest keyword whose key is `k` that `hay[s..limit]` starts with.
    fn longest_at(&self, k: u32, hay: &[u8], s: usize, limit: usize) -> Option<(usize, usize)> {
        let b = bucket(k);
        let entries = &self.index[self.buckets[b] as usize..self.buckets[b + 1] as usize];
        for &(x, i) in entries {
            if x != k {
                continue;
            }
            let w = &self.words[i as usize];
            if s + w.len() <= limit
                && hay[s..s + w.len()]
                    .iter()
                    .zip(w.iter())
                    .all(|(&h, &c)| h.to_ascii_lowercase() == c)
            {
                return Some((s + w.len(), i as usize));
            }
        }
        None
    }

    /// The keyword starting at word start `s`, if any: (end, keyword).
    #[inline(always)]
    fn at(&self, hay: &[u8], s: usize, limit: usize) -> Option<(usize, usize)> {
        // The first four bytes in one load (zeros past the end), ASCII capitals folded
        // eight bits at a time: bit 5 set where a byte is in `A..=Z`.
        let mut q = [0u8; 4];
        let n = (limit - s).min(4);
        q[..n].copy_from_slice(&hay[s..s + n]);
        let x = u32::from_le_bytes(q);
        let upper = ((x | 0x8080_8080) - 0x4141_4141) & !((x | 0x8080_8080) - 0x5B5B_5B5B);
        let x = x | ((upper & !x & 0x8080_8080) >> 2);
        if n >= 3 {
            let k = (x & 0xFF_FFFF) | 3 << 24;
            let b = pre3_bit(k);
            if self.pre3[b >> 6] & (1 << (b & 63)) != 0 {
                if let Some(hit) = self.longest_at(k, hay, s, limit) {
                    return Some(hit);
                }
            }
        }
        if self.has2 && n >= 2 {
            let b = (x & 0xFFFF) as usize;
            if self.pre2[b >> 6] & (1 << (b & 63)) != 0 {
                if let Some(hit) = self.longest_at(b as u32 | 2 << 24, hay, s, limit) {
                    return Some(hit);
                }
            }
        }
        if self.has1 && n >= 1 {
            let c = (x & 0xFF) as u8;
            if self.pre1[usize::from(c >> 6)] & (1 << (c & 63)) != 0 {
                return self.longest_at(u32::from(c) | 1 << 24, hay, s, limit);
            }
        }
        None
    }

    /// Calls `f(start, end, keyword)` for the longest keyword at each word start in
    /// `[from, to)` (a start whose previous byte does not join words), reading up to `limit`
    /// for its tail; the search goes on after each keyword found. The caller checks the byte
    /// after the keyword.
    pub(crate) fn for_each(
        &self,
        hay: &[u8],
        from: usize,
        to: usize,
        limit: usize,
        mut f: impl FnMut(usize, usize, usize),
    ) {
        let limit = limit.min(hay.len());
        let to = to.min(limit);
        let mut s = from;
        while s < to {
            if self.swar_starts && s + 8 <= hay.len() {
                // The word starts among the next eight positions, all at once.
                let v = swar::load(hay, s);
                let prev = if s == 0 {
                    v << 8
                } else {
                    swar::load(hay, s - 1)
                };
                let mut m = self.starts(v, prev);
                if to - s < 8 {
                    m &= (1u64 << (8 * (to - s))) - 1;
                }
                let mut next = s + 8;
                while m != 0 {
                    let p = s + (m.trailing_zeros() / 8) as usize;
                    m &= m - 1;
                    if let Some((e, i)) = self.at(hay, p, limit) {
                        f(p, e, i);
                        next = e;
                        break;
                    }
                }
                s = next;
                continue;
            }
            let c = hay[s].to_ascii_lowercase();
            let starts = (s == 0 || !self.joins(hay[s - 1]))
                && self.first[usize::from(c >> 6)] & (1 << (c & 63)) != 0;
            if starts {
                if let Some((e, i)) = self.at(hay, s, limit) {
                    f(s, e, i);
                    s = e;
                    continue;
                }
            }
            s += 1;
        }
    }

    /// The high bit of each of eight bytes `v` that may start a keyword (a letter, a
    /// non-ASCII byte, a digit if a keyword starts with one) after the byte in `prev` (the
    /// eight bytes one position earlier) that does not join words.
    #[inline(always)]
    fn starts(&self, v: u64, prev: u64) -> u64 {
        let mut may = swar::letters(v) | (v & swar::HI);
        if self.digit_first {
            may |= swar::digits(v);
        }
        let mut joins = swar::letters(prev);
        if self.digits_join {
            joins |= swar::digits(prev);
        }
        may & !joins
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aho_corasick::{AhoCorasickBuilder, MatchKind};

    /// What the Aho-Corasick automaton with the callers' word checks found: leftmost-longest
    /// matches whose previous byte does not join words.
    fn automaton(words: &[&str], digits_join: bool, hay: &[u8]) -> Vec<(usize, usize, usize)> {
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .build(words)
            .unwrap();
        let joins = |b: u8| b.is_ascii_alphabetic() || (digits_join && b.is_ascii_digit());
        ac.find_iter(hay)
            .filter(|m| m.start() == 0 || !joins(hay[m.start() - 1]))
            .map(|m| (m.start(), m.end(), m.pattern().as_usize()))
            .collect()
    }

    fn matcher(words: &[&str], digits_join: bool, hay: &[u8]) -> Vec<(usize, usize, usize)> {
        let m = WordMatcher::new(words, digits_join);
        let mut v = Vec::new();
        m.for_each(hay, 0, hay.len(), hay.len(), |s, e, i| v.push((s, e, i)));
        v
    }

    #[test]
    fn finds_what_the_automaton_found_at_word_starts() {
        let words = [
            "card",
            "card number",
            "credit card",
            "ssn",
            "ssn#",
            "id",
            "id no",
            "nif",
            "ЕГН",
            "егн",
            "dl#",
            "x",
            "cf",
        ];
        // A keyword that starts with punctuation: word starts are found a byte at a time.
        let hash_words = ["#id", "id", "card"];
        let t = b"#id 5 x #ID card #id";
        for dj in [false, true] {
            assert_eq!(matcher(&hash_words, dj, t), automaton(&hash_words, dj, t));
        }
        let texts: &[&[u8]] = &[
            b"Credit Card number 4556, CARD NUMBER: 1, SSN# 1 ssn: 2",
            b"id no.12 ID: 3 NIF 12NIF card4556 cards",
            "ЕГН 7523169263 и егн".as_bytes(),
            b"dl# 5 x-ray cf. CF",
            b"discard id",
            b"",
            b"c",
        ];
        for dj in [false, true] {
            for t in texts {
                assert_eq!(matcher(&words, dj, t), automaton(&words, dj, t), "{t:?}");
            }
        }
    }

    #[test]
    fn random_texts_agree_with_the_automaton() {
        let words = [
            "card",
            "card no",
            "pan",
            "pa",
            "ssn",
            "id",
            "id number",
            "run",
            "tin",
            "a",
            "fin",
            "ñif",
            "zz",
        ];
        let alphabet: &[&[u8]] = &[
            b"card",
            b"CARD",
            b" ",
            b"no",
            b"pan",
            b"PA",
            b"ssn",
            b"id",
            b"run",
            b"tin",
            b"1",
            b"-",
            b"a",
            b"\xc3\xb1",
            b"if",
            b"zz",
            b"fin",
            b"x",
            b".",
            b"number",
        ];
        let mut r = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            r ^= r << 13;
            r ^= r >> 7;
            r ^= r << 17;
            r as usize
        };
        for _ in 0..3000 {
            let mut t = Vec::new();
            for _ in 0..next() % 30 {
                t.extend_from_slice(alphabet[next() % alphabet.len()]);
            }
            // Where a keyword that starts inside a word overlaps one at the next word start,
            // the automaton's hidden match is the difference (see the module doc): leave such
            // texts out of the comparison by requiring agreement only when the automaton
            // found no match inside a word.
            let ac = AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::LeftmostLongest)
                .build(words)
                .unwrap();
            for dj in [false, true] {
                // Stopping at `to` keeps the matches that start before it.
                let all = matcher(&words, dj, &t);
                let to = next() % (t.len() + 1);
                let m = WordMatcher::new(&words, dj);
                let mut part = Vec::new();
                m.for_each(&t, 0, to, t.len(), |s, e, i| part.push((s, e, i)));
                let want: Vec<_> = all.iter().copied().filter(|&(s, _, _)| s < to).collect();
                assert_eq!(part, want, "to {to}: {:?}", String::from_utf8_lossy(&t));
                let joins = |b: u8| b.is_ascii_alphabetic() || (dj && b.is_ascii_digit());
                let inside = ac
                    .find_iter(&t)
                    .any(|m| m.start() > 0 && joins(t[m.start() - 1]));
                if !inside {
                    assert_eq!(
                        matcher(&words, dj, &t),
                        automaton(&words, dj, &t),
                        "{:?}",
                        String::from_utf8_lossy(&t)
                    );
                }
            }
        }
    }

    #[test]
    fn a_keyword_inside_a_word_does_not_hide_the_next_word() {
        // The automaton took "id no" inside "paid no" (then thrown away: it starts inside a
        // word) and went on after it, past the "no" that starts a word.
        let words = ["id no", "no"];
        assert_eq!(automaton(&words, false, b"paid no"), vec![]);
        assert_eq!(matcher(&words, false, b"paid no"), vec![(5, 7, 1)]);
    }
}
