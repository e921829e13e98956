//! Keyword evidence: the words within [`CONTEXT_BYTES`] of a candidate that
//! raise (or, for "order", "tracking"..., lower) its confidence.
//!
//! All keyword lists go into one whole-word matcher ([`super::words`], ASCII
//! case folded). Looking for keywords costs more per byte than the
//! detectors' prefilters, so it never runs over a whole window: [`KwCache`]
//! scans only the stretches around candidates, incrementally, so that dense
//! candidates (a CSV of card numbers) do not rescan the same context.

use super::words::WordMatcher;

use crate::limits::CONTEXT_BYTES;

/// Keyword group bits. Custom patterns with keywords get bits from
/// [`FIRST_CUSTOM_GROUP`] up.
pub(crate) const KW_CARD: u64 = 1 << 0;
pub(crate) const KW_SSN: u64 = 1 << 1;
pub(crate) const KW_ABA: u64 = 1 << 2;
pub(crate) const KW_NINO: u64 = 1 << 3;
pub(crate) const KW_SECRET: u64 = 1 << 4;
/// Labels that say a number is something else (an order, a phone...).
pub(crate) const KW_ANTI: u64 = 1 << 5;
pub(crate) const FIRST_CUSTOM_GROUP: u32 = 8;

/// A contradicting label counts only when it is the nearest label and this
/// close before the number ("Order #", "Tracking number: ").
pub(crate) const ANTI_REACH_BYTES: usize = 40;

const CARD_WORDS: &[&str] = &[
    "credit card",
    "card number",
    "card no",
    "card",
    "cards",
    "visa",
    "mastercard",
    "master card",
    "amex",
    "american express",
    "discover",
    "diners",
    "jcb",
    "unionpay",
    "maestro",
    "cvv",
    "cvv2",
    "cvc",
    "cvc2",
    "expiry",
    "expiration",
    "exp date",
    "valid thru",
    "cardholder",
    "ccn",
    "cc#",
    "pan",
    "kreditkarte",
    "carte bancaire",
    "tarjeta",
    "carta di credito",
];
const SSN_WORDS: &[&str] = &[
    "ssn",
    "ssn#",
    "ssns",
    "social security",
    "social security number",
    "soc sec",
    "ss#",
    "ssa number",
    "social sec",
    "taxpayer id",
    "itin",
];
const ABA_WORDS: &[&str] = &[
    "routing",
    "routing number",
    "routing no",
    "aba",
    "aba number",
    "aba#",
    "rtn",
    "transit number",
    "routing transit",
    "bank routing",
];
const NINO_WORDS: &[&str] = &[
    "national insurance",
    "national insurance number",
    "ni number",
    "nino",
    "ni no",
    "nics",
    "insurance no",
];
const SECRET_WORDS: &[&str] = &[
    "aws",
    "secret",
    "token",
    "access key",
    "credential",
    "password",
    "apikey",
    "api key",
];
const ANTI_WORDS: &[&str] = &[
    "order",
    "order number",
    "order no",
    "order id",
    "tracking",
    "tracking number",
    "invoice",
    "ref",
    "reference",
    "ticket",
    "case",
    "phone",
    "tel",
    "telephone",
    "fax",
    "mobile",
    "isbn",
    "sku",
    "serial",
    "serial number",
    "po number",
    "shipment",
    "parcel",
    "confirmation",
    "booking",
    "transaction id",
    "imei",
];

/// The supporting keywords of a hand-written detector, for `cordon detectors`.
pub(crate) fn builtin_keywords(name: &str) -> &'static [&'static str] {
    match name {
        "credit_card" => CARD_WORDS,
        "us_ssn" => SSN_WORDS,
        "aba_routing" => ABA_WORDS,
        "uk_nino" => NINO_WORDS,
        // Labels the value must follow (`detect::Detectors::bic`).
        "swift_bic" => &["bic", "swift", "bic code", "swift code"],
        _ => &[],
    }
}

/// The compiled keyword automaton and each keyword's group mask.
#[derive(Debug)]
pub(crate) struct Keywords {
    words: WordMatcher,
    masks: Vec<u64>,
}

impl Keywords {
    /// `custom` lists keyword sets of custom patterns, in group order.
    pub(crate) fn new(custom: &[&[String]]) -> Keywords {
        let mut words: Vec<String> = Vec::new();
        let mut masks: Vec<u64> = Vec::new();
        let mut add = |w: &str, m: u64| {
            let w = w.trim().to_ascii_lowercase();
            if w.is_empty() {
                return;
            }
            if let Some(i) = words.iter().position(|x| *x == w) {
                masks[i] |= m;
            } else {
                words.push(w);
                masks.push(m);
            }
        };
        for (list, m) in [
            (CARD_WORDS, KW_CARD),
            (SSN_WORDS, KW_SSN),
            (ABA_WORDS, KW_ABA),
            (NINO_WORDS, KW_NINO),
            (SECRET_WORDS, KW_SECRET),
            (ANTI_WORDS, KW_ANTI),
        ] {
            for w in list {
                add(w, m);
            }
        }
        for (i, list) in custom.iter().enumerate() {
            for w in list.iter() {
                add(w, 1u64 << (FIRST_CUSTOM_GROUP as usize + i));
            }
        }
        Keywords {
            words: WordMatcher::new(&words, false),
            masks,
        }
    }
}

#[derive(Clone, Copy, Default)]
struct Hit {
    start: usize,
    end: usize,
    mask: u64,
}

/// Ring size for keyword hits: 600 bytes of context hold at most ~200 words.
const RING: usize = 512;

/// Keyword hits found so far in the current window, scanned lazily.
pub(crate) struct KwCache {
    hits: Box<[Hit; RING]>,
    n: usize,
    /// Positions before this have been scanned.
    upto: usize,
}

impl std::fmt::Debug for KwCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KwCache({} hits)", self.n.min(RING))
    }
}

impl KwCache {
    pub(crate) fn new() -> KwCache {
        KwCache {
            hits: Box::new([Hit::default(); RING]),
            n: 0,
            upto: 0,
        }
    }

    /// Forgets everything; called before each pass over a window, because
    /// passes visit candidates in increasing order only within themselves.
    pub(crate) fn reset(&mut self) {
        self.n = 0;
        self.upto = 0;
    }

    pub(crate) fn state_bytes(&self) -> usize {
        std::mem::size_of::<[Hit; RING]>()
    }

    fn scan_to(&mut self, kw: &Keywords, hay: &[u8], from: usize, to: usize) {
        let from = from.max(self.upto);
        if from >= to {
            return;
        }
        let end = (to + kw.words.longest()).min(hay.len());
        // Whole words only: "card" must not fire inside "discard" (the matcher looks at
        // word starts only) nor at the start of "cardigan".
        kw.words.for_each(hay, from, to, end, |s, e, i| {
            if e >= hay.len() || !hay[e].is_ascii_alphabetic() {
                self.hits[self.n % RING] = Hit {
                    start: s,
                    end: e,
                    mask: kw.masks[i],
                };
                self.n += 1;
            }
        });
        self.upto = to;
    }

    /// Evidence around the candidate `[start, end)`: the groups of keywords
    /// within [`CONTEXT_BYTES`] on either side, and whether the nearest label
    /// just before it contradicts it.
    pub(crate) fn evidence(
        &mut self,
        kw: &Keywords,
        hay: &[u8],
        start: usize,
        end: usize,
    ) -> Evidence {
        let lo = start.saturating_sub(CONTEXT_BYTES);
        let hi = (end + CONTEXT_BYTES).min(hay.len());
        self.scan_to(kw, hay, lo, hi);
        let mut ev = Evidence {
            groups: 0,
            anti: false,
            dist: [usize::MAX; 6],
        };
        let mut nearest_before: Option<Hit> = None;
        let first = self.n.saturating_sub(RING);
        for i in (first..self.n).rev() {
            let h = self.hits[i % RING];
            if h.end <= lo {
                break;
            }
            if h.start >= hi {
                continue;
            }
            // The candidate itself may contain a keyword-like token ("AKIA"
            // does not, but "PAN" in a custom pattern might): ignore overlaps.
            if h.start < end && h.end > start {
                continue;
            }
            ev.groups |= h.mask & !KW_ANTI;
            let dist = if h.end <= start {
                start - h.end
            } else {
                h.start.saturating_sub(end)
            };
            for (g, d) in ev.dist.iter_mut().enumerate() {
                if h.mask & (1 << g) != 0 {
                    *d = (*d).min(dist);
                }
            }
            if h.end <= start && nearest_before.is_none_or(|n| h.end > n.end) {
                nearest_before = Some(h);
            }
        }
        if let Some(h) = nearest_before {
            ev.anti = h.mask & KW_ANTI != 0
                && h.mask & (KW_CARD | KW_SSN | KW_ABA | KW_NINO) == 0
                && start - h.end <= ANTI_REACH_BYTES;
        }
        ev
    }
}

/// Keyword evidence for one candidate.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Evidence {
    pub(crate) groups: u64,
    pub(crate) anti: bool,
    /// Distance to the nearest keyword of each built-in group (bit index).
    pub(crate) dist: [usize; 6],
}

impl Evidence {
    pub(crate) fn has(&self, group: u64) -> bool {
        self.groups & group != 0
    }

    /// Distance to the nearest keyword of a built-in group.
    pub(crate) fn distance(&self, group: u64) -> usize {
        self.dist[group.trailing_zeros() as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_finds_whole_words_on_both_sides() {
        let kw = Keywords::new(&[]);
        let mut c = KwCache::new();
        let hay = b"Please discard 4556737586899855 thanks";
        let s = 15;
        let ev = c.evidence(&kw, hay, s, s + 16);
        assert!(!ev.has(KW_CARD), "discard is not card");
        c.reset();
        let hay = b"4556737586899855 is my Visa";
        let ev = c.evidence(&kw, hay, 0, 16);
        assert!(ev.has(KW_CARD));
    }

    #[test]
    fn anti_label_just_before() {
        let kw = Keywords::new(&[]);
        let mut c = KwCache::new();
        let hay = b"card on file. Order #: 4556737586899855";
        let s = 23;
        let ev = c.evidence(&kw, hay, s, s + 16);
        assert!(ev.anti);
        assert!(ev.has(KW_CARD));
    }
}
