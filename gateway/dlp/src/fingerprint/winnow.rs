//! The fingerprints of a text: MOSS's winnowing (Schleimer, Wilkerson, Aiken, "Winnowing:
//! local algorithms for document fingerprinting", SIGMOD 2003) over the text normalised to
//! its letters and digits.
//!
//! - **Normalisation.** ASCII letters are lower-cased, ASCII digits kept, every other ASCII
//!   byte (spaces, line breaks, punctuation) dropped; bytes of non-ASCII characters are kept
//!   as they are. Reflowing, re-casing and re-punctuating a text therefore leave it the same.
//!   Working on bytes needs no decoder state across the window's pieces.
//! - **k-grams.** A Buzhash (cyclic polynomial) of every [`K`] consecutive normalised bytes,
//!   rolled one byte at a time.
//! - **Winnowing.** Of every [`W`] consecutive k-gram hashes the smallest (the rightmost on a
//!   tie) is a fingerprint, recorded when the choice moves. Two texts that share
//!   [`GUARANTEE`] normalised bytes share a fingerprint; about `2 / (W + 1)` of the positions
//!   are chosen.
//!
//! The winnower is fed one piece of text at a time (the window's fresh bytes) and keeps its
//! state between pieces, so the fingerprints do not depend on how the text was cut. It is
//! sans-IO and fixed-size: two rings, [`K`] bytes and [`W`] hashes.

/// Normalised bytes per k-gram: about six words of prose, long enough that a shared k-gram
/// is rarely a common phrase, short enough that an excerpt of a paragraph carries several.
pub const K: usize = 32;

/// k-grams per winnowing window: one fingerprint per ~8.5 normalised bytes.
pub const W: usize = 16;

/// Shared normalised bytes that always share a fingerprint (`W + K - 1`).
pub const GUARANTEE: usize = W + K - 1;

/// Buzhash's table: one random 64-bit word per byte value (splitmix64 from a fixed seed, so
/// the appliance and any later build agree).
const TABLE: [u64; 256] = {
    let mut t = [0u64; 256];
    let mut s: u64 = 0x636f_7264_6f6e_6670; // "cordonfp"
    let mut i = 0;
    while i < 256 {
        s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        t[i] = z ^ (z >> 31);
        i += 1;
    }
    t
};

/// The normalised form of `b`, or `None` for a byte the fingerprints ignore.
#[inline(always)]
fn normal(b: u8) -> Option<u8> {
    match b {
        b'A'..=b'Z' => Some(b | 0x20),
        b'a'..=b'z' | b'0'..=b'9' | 0x80..=0xFF => Some(b),
        _ => None,
    }
}

/// Rolling k-gram hashes and their winnowing, across the pieces of one segment.
#[derive(Clone)]
pub(crate) struct Winnower {
    ring: [u8; K],
    /// Normalised bytes seen in this segment.
    bytes: u64,
    hash: u64,
    window: [u64; W],
    /// k-grams seen in this segment.
    kgrams: u64,
    /// The k-gram number of the current choice; `u64::MAX` before the first full window.
    chosen: u64,
}

impl Winnower {
    pub(crate) const fn new() -> Winnower {
        Winnower {
            ring: [0; K],
            bytes: 0,
            hash: 0,
            window: [0; W],
            kgrams: 0,
            chosen: u64::MAX,
        }
    }

    /// Starts a new segment: nothing carries over from the last.
    pub(crate) fn reset(&mut self) {
        self.bytes = 0;
        self.hash = 0;
        self.kgrams = 0;
        self.chosen = u64::MAX;
    }

    /// Feeds the next piece of text; `emit` gets each fingerprint (an unkeyed k-gram hash).
    pub(crate) fn feed(&mut self, text: &[u8], emit: &mut impl FnMut(u64)) {
        for &b in text {
            if let Some(c) = normal(b) {
                self.push(c, emit);
            }
        }
    }

    #[inline(always)]
    fn push(&mut self, c: u8, emit: &mut impl FnMut(u64)) {
        let slot = (self.bytes % K as u64) as usize;
        let out = self.ring[slot];
        self.ring[slot] = c;
        self.bytes += 1;
        self.hash = self.hash.rotate_left(1) ^ TABLE[usize::from(c)];
        if self.bytes > K as u64 {
            // The byte that left was rotated K times since it came in.
            self.hash ^= TABLE[usize::from(out)].rotate_left(K as u32);
        }
        if self.bytes >= K as u64 {
            self.kgram(self.hash, emit);
        }
    }

    fn kgram(&mut self, h: u64, emit: &mut impl FnMut(u64)) {
        let i = self.kgrams;
        self.window[(i % W as u64) as usize] = h;
        self.kgrams += 1;
        if self.kgrams < W as u64 {
            return;
        }
        let first = i + 1 - W as u64;
        let expired = self.chosen == u64::MAX || self.chosen < first;
        if !expired && h <= self.window[(self.chosen % W as u64) as usize] {
            self.chosen = i;
            emit(h);
        } else if expired {
            // The rightmost minimum of the window.
            let mut best = first;
            for j in first..=i {
                if self.window[(j % W as u64) as usize] <= self.window[(best % W as u64) as usize] {
                    best = j;
                }
            }
            self.chosen = best;
            emit(self.window[(best % W as u64) as usize]);
        }
    }
}

/// Every fingerprint of `text` as one segment, in order (with repeats).
pub fn fingerprints_of(text: &[u8]) -> Vec<u64> {
    let mut w = Winnower::new();
    let mut out = Vec::new();
    w.feed(text, &mut |h| out.push(h));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &[u8]) -> std::collections::BTreeSet<u64> {
        fingerprints_of(text).into_iter().collect()
    }

    const PROSE: &str = "The Supplier shall deliver the Goods to the Purchaser at the address stated in the Order, \
        within thirty days of the Order date, and shall bear all costs of carriage and insurance until the \
        Goods are accepted. Acceptance takes place when the Purchaser has inspected the Goods and signed the \
        delivery note; any defect found later is remedied at the Supplier's cost within ten working days.";

    #[test]
    fn reflow_recasing_and_repunctuation_change_nothing() {
        let other: String = PROSE
            .to_uppercase()
            .replace(", ", "\r\n")
            .replace(". ", " -- ")
            .replace(' ', "  ");
        assert_eq!(set(PROSE.as_bytes()), set(other.as_bytes()));
        assert!(!set(PROSE.as_bytes()).is_empty());
    }

    #[test]
    fn the_pieces_do_not_matter() {
        let whole = fingerprints_of(PROSE.as_bytes());
        for cut in [1, 7, 31, 32, 33, 100] {
            let mut w = Winnower::new();
            let mut got = Vec::new();
            for piece in PROSE.as_bytes().chunks(cut) {
                w.feed(piece, &mut |h| got.push(h));
            }
            assert_eq!(got, whole, "pieces of {cut}");
        }
    }

    #[test]
    fn a_shared_run_of_the_guaranteed_length_shares_a_fingerprint() {
        let norm: Vec<u8> = PROSE.bytes().filter_map(normal).collect();
        let all = set(PROSE.as_bytes());
        for start in (0..norm.len() - GUARANTEE).step_by(13) {
            let piece = set(&norm[start..start + GUARANTEE]);
            assert!(!piece.is_empty(), "at {start}");
            assert!(piece.is_subset(&all), "at {start}");
        }
        // One fingerprint per ~8.5 bytes: 2 / (W + 1) of the k-grams.
        let density = fingerprints_of(PROSE.as_bytes()).len() as f64 / norm.len() as f64;
        assert!((0.07..0.2).contains(&density), "{density}");
    }

    #[test]
    fn short_text_has_no_fingerprint() {
        assert!(fingerprints_of(&[b'a'; GUARANTEE - 1]).is_empty());
        assert!(!fingerprints_of(&[b'a'; GUARANTEE]).is_empty());
    }
}
