//! The detectors: built-in validated identifiers and secrets, dictionaries
//! and custom patterns, run over one window of decoded text.
//!
//! Each pass takes the window and the range `[from, to)` in which a match
//! must *start* to be reported here (the rest of the window is context that
//! the previous or next window reports), so a value is reported exactly once
//! whatever the chunking.
//!
//! - `validate`: checksums and format rules.
//! - `keywords`: Purview-style supporting (and contradicting) keywords.
//! - `dict`: the `[[dictionary]]` prefilter and verifier.
//!
//! Digit-shaped identifiers (cards, SSNs, ABA, IBAN, NINO) are all found from
//! one SWAR scan for digits; secrets from one small case-sensitive automaton
//! over their fixed prefixes (Teddy, several GB/s); keywords are looked up
//! only around candidates.

pub(crate) mod dict;
pub(crate) mod keywords;
pub(crate) mod validate;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, Input, MatchKind};
use regex::bytes::{Regex, RegexBuilder};

use crate::findings::{Acc, Confidence};
use crate::limits::{MAX_KEYWORD_PATTERNS, MAX_MATCH_BYTES};
use crate::{DictionaryConfig, Error, PatternConfig};
use dict::Dictionaries;
use keywords::{Evidence, Keywords, KwCache, FIRST_CUSTOM_GROUP, KW_ABA, KW_CARD, KW_NINO, KW_SSN};

/// Names of the built-in detectors, in id order.
pub(crate) const BUILTINS: &[&str] = &[
    "credit_card",
    "us_ssn",
    "iban",
    "aba_routing",
    "uk_nino",
    "private_key",
    "aws_access_key",
    "github_token",
    "azure_storage_key",
];

const D_CARD: usize = 0;
const D_SSN: usize = 1;
const D_IBAN: usize = 2;
const D_ABA: usize = 3;
const D_NINO: usize = 4;
const D_PEM: usize = 5;
const D_AWS: usize = 6;
const D_GITHUB: usize = 7;
const D_AZURE: usize = 8;

/// Literal prefixes of the secrets, in trigger order.
const TRIGGERS: &[&str] = &[
    "AKIA",
    "ASIA",
    "ghp_",
    "gho_",
    "ghs_",
    "ghu_",
    "ghr_",
    "github_pat_",
    "AccountKey=",
    "-----BEGIN ",
];

/// AWS documents this key in every example; the Azurite emulator key is public.
const DOC_SECRETS: &[&[u8]] = &[
    b"AKIAIOSFODNN7EXAMPLE",
    b"Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
];

/// 64-bit FNV-1a: the identity of a value for distinct counts. Hashes stay
/// inside the scanner.
pub(crate) fn fnv(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for &b in *p {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

struct Pattern {
    re: Regex,
    max_len: usize,
    base: Confidence,
    group: Option<u64>,
}

/// Everything the window passes need, compiled once per engine.
pub(crate) struct Detectors {
    keywords: Keywords,
    triggers: AhoCorasick,
    pub(crate) dicts: Dictionaries,
    patterns: Vec<Pattern>,
    dict_base: usize,
    pattern_base: usize,
}

impl std::fmt::Debug for Detectors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detectors")
            .field("dicts", &self.dicts)
            .field("patterns", &self.patterns.len())
            .finish()
    }
}

impl Detectors {
    pub(crate) fn new(
        dicts: &[DictionaryConfig],
        patterns: &[PatternConfig],
    ) -> Result<Detectors, Error> {
        let with_kw: Vec<&[String]> = patterns
            .iter()
            .filter(|p| !p.keywords.is_empty())
            .map(|p| p.keywords.as_slice())
            .collect();
        if with_kw.len() > MAX_KEYWORD_PATTERNS {
            return Err(Error::TooManyKeywordPatterns {
                count: with_kw.len(),
                max: MAX_KEYWORD_PATTERNS,
            });
        }
        let keywords = Keywords::new(&with_kw);
        let triggers = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostFirst)
            .build(TRIGGERS)
            .expect("fixed trigger set");
        let dict_specs: Vec<(&str, &[String], bool, bool)> = dicts
            .iter()
            .map(|d| {
                (
                    d.name.as_str(),
                    d.terms.as_slice(),
                    d.case_sensitive,
                    d.whole_word,
                )
            })
            .collect();
        let dicts_c = Dictionaries::new(&dict_specs)?;
        let mut compiled = Vec::new();
        let mut group = FIRST_CUSTOM_GROUP;
        for p in patterns {
            if p.max_len == 0 || p.max_len > MAX_MATCH_BYTES {
                return Err(Error::PatternMaxLen {
                    name: p.name.clone(),
                    max_len: p.max_len,
                    limit: MAX_MATCH_BYTES,
                });
            }
            let re = RegexBuilder::new(&p.regex)
                .size_limit(8 << 20)
                .dfa_size_limit(8 << 20)
                .build()
                .map_err(|e| Error::InvalidRegex {
                    name: p.name.clone(),
                    reason: e.to_string(),
                })?;
            let g = if p.keywords.is_empty() {
                None
            } else {
                let g = 1u64 << group;
                group += 1;
                Some(g)
            };
            compiled.push(Pattern {
                re,
                max_len: p.max_len,
                base: p.confidence,
                group: g,
            });
        }
        Ok(Detectors {
            keywords,
            triggers,
            dicts: dicts_c,
            patterns: compiled,
            dict_base: BUILTINS.len(),
            pattern_base: BUILTINS.len() + dicts.len(),
        })
    }

    /// Runs every pass over `hay`, reporting matches that start in `[from, to)`.
    pub(crate) fn scan(&self, hay: &[u8], from: usize, to: usize, kw: &mut KwCache, acc: &mut Acc) {
        if from >= to {
            return;
        }
        kw.reset();
        self.scan_digits(hay, from, to, kw, acc);
        kw.reset();
        self.scan_secrets(hay, from, to, kw, acc);
        if !self.dicts.is_empty() {
            let base = self.dict_base;
            let dicts = &self.dicts;
            dicts.scan(hay, from, to, &mut |m| {
                // The redacted term is built only when it becomes a sample: a
                // dictionary term usually repeats, and this runs per match.
                acc.report_with(
                    base + m.dict as usize,
                    u64::from(m.term).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5555,
                    Confidence::High,
                    |s| {
                        let mut red = [0u8; 48];
                        let n = dicts.redacted(m.term, &mut red);
                        s.push_bytes(&red[..n]);
                    },
                );
            });
        }
        if !self.patterns.is_empty() {
            kw.reset();
            self.scan_patterns(hay, from, to, kw, acc);
        }
    }

    fn scan_patterns(&self, hay: &[u8], from: usize, to: usize, kw: &mut KwCache, acc: &mut Acc) {
        for (i, p) in self.patterns.iter().enumerate() {
            let mut pos = from;
            while pos < to {
                let Some(m) = p.re.find_at(hay, pos) else {
                    break;
                };
                if m.start() >= to {
                    break;
                }
                pos = if m.end() > m.start() {
                    m.end()
                } else {
                    m.start() + 1
                };
                if m.is_empty() || m.len() > p.max_len {
                    continue;
                }
                let conf = match p.group {
                    Some(g) if kw.evidence(&self.keywords, hay, m.start(), m.end()).has(g) => {
                        Confidence::High
                    }
                    _ => p.base,
                };
                let v = m.as_bytes();
                let mut red = [0u8; 48];
                let n = if v.len() >= 8 {
                    red[..2].copy_from_slice(&v[..2]);
                    red[2..6].fill(b'*');
                    red[6..8].copy_from_slice(&v[v.len() - 2..]);
                    8
                } else {
                    red[..4].fill(b'*');
                    4
                };
                acc.report(self.pattern_base + i, fnv(&[v]), conf, &red[..n]);
            }
            kw.reset();
        }
    }

    // ---- digit-shaped identifiers -------------------------------------

    fn scan_digits(&self, hay: &[u8], from: usize, to: usize, kw: &mut KwCache, acc: &mut Acc) {
        let mut i = from;
        // Digits inside an IBAN already reported are not cards or SSNs.
        let mut skip_until = 0;
        // A token that started before `from` belongs to the previous window.
        if i > 0 && in_token(hay, i) {
            i = token_end(hay, i);
        }
        while i < to {
            // SWAR: skip 8 bytes at a time while they hold no ASCII digit.
            while i + 8 <= hay.len() && i < to {
                // One load: indexing byte by byte compiled to eight loads
                // and shifts (perf).
                let w = u64::from_le_bytes(hay[i..i + 8].try_into().expect("8 bytes"));
                let m = digit_mask(w);
                if m == 0 {
                    i += 8;
                } else {
                    i += (m.trailing_zeros() / 8) as usize;
                    break;
                }
            }
            while i < to && !hay[i].is_ascii_digit() {
                i += 1;
            }
            if i >= to {
                break;
            }
            // Most numbers in mail (years, amounts, times) are short runs,
            // which no detector takes unless two capitals precede them
            // (IBAN, NINO): pass them without building a token (perf:
            // `Token::parse` was a third of the digit scan on prose).
            if let Some(end) = short_run(hay, i) {
                i = end;
                continue;
            }
            let t = Token::parse(hay, i);
            if t.start >= skip_until {
                skip_until = self.token(hay, &t, kw, acc);
            }
            i = t.end;
        }
    }

    /// Classifies one token; returns the end of an IBAN it started, if any.
    fn token(&self, hay: &[u8], t: &Token, kw: &mut KwCache, acc: &mut Acc) -> usize {
        let start = t.start;
        let lb = if start > 0 { hay[start - 1] } else { b' ' };
        if lb.is_ascii_uppercase() {
            return self.letter_prefixed(hay, t, kw, acc);
        }
        if lb == b' ' && start >= 3 && hay[start - 2].is_ascii_uppercase() {
            self.spaced_nino(hay, t, kw, acc);
        }
        if t.too_long || t.mixed || !left_ok(hay, start) || !right_ok(hay, t.end) {
            return 0;
        }
        let d = &t.digits[..t.nd];
        let g = &t.groups[..t.ng];
        if (13..=19).contains(&t.nd) && card_grouping(g) && validate::credit_card(d) {
            let ev = kw.evidence(&self.keywords, hay, start, t.end);
            let conf = if ev.anti {
                Confidence::Low
            } else if ev.has(KW_CARD) {
                Confidence::High
            } else {
                Confidence::Medium
            };
            let mut red = [0u8; 48];
            red[..4].copy_from_slice(&d[..4]);
            red[4..15].copy_from_slice(b" **** **** ");
            red[15..19].copy_from_slice(&d[t.nd - 4..]);
            acc.report(D_CARD, fnv(&[d]), conf, &red[..19]);
        }
        if t.nd == 9 {
            let formatted = t.ng == 3 && g == [3, 2, 4];
            if (formatted || t.ng == 1) && validate::us_ssn(d) {
                let ev = kw.evidence(&self.keywords, hay, start, t.end);
                // Nine bare digits labelled "routing" are a routing number,
                // whatever "SSN" says further away.
                let aba_closer = !formatted && ev.distance(KW_ABA) < ev.distance(KW_SSN);
                let conf = match (formatted, ev.has(KW_SSN) && !ev.anti && !aba_closer) {
                    (true, true) => Some(Confidence::High),
                    (false, true) => Some(Confidence::Medium),
                    (true, false) => Some(Confidence::Low),
                    (false, false) => None,
                };
                if let Some(conf) = conf {
                    let mut red = *b"***-**-0000";
                    red[7..].copy_from_slice(&d[5..]);
                    acc.report(D_SSN, fnv(&[d]), conf, &red);
                }
            }
            if t.ng == 1 && validate::aba_routing(d) {
                let ev = kw.evidence(&self.keywords, hay, start, t.end);
                let conf =
                    if ev.has(KW_ABA) && !ev.anti && ev.distance(KW_ABA) <= ev.distance(KW_SSN) {
                        Confidence::Medium
                    } else {
                        Confidence::Low
                    };
                let mut red = *b"*****0000";
                red[5..].copy_from_slice(&d[5..]);
                acc.report(D_ABA, fnv(&[d]), conf, &red);
            }
        }
        0
    }

    /// `GB82 WEST ...` (IBAN) and `AB123456C` (NINO): digits right after two
    /// capitals that start a word.
    fn letter_prefixed(&self, hay: &[u8], t: &Token, kw: &mut KwCache, acc: &mut Acc) -> usize {
        let start = t.start;
        if start < 2 || !hay[start - 2].is_ascii_uppercase() {
            return 0;
        }
        let s = start - 2;
        if s > 0 && (hay[s - 1].is_ascii_alphanumeric() || hay[s - 1] == b'_') {
            return 0;
        }
        // IBAN.
        if let Some(need) = validate::iban_length(&hay[s..s + 2]) {
            let mut buf = [0u8; 34];
            let mut n = 0;
            let mut j = s;
            while n < need && j < hay.len() {
                let c = hay[j];
                if c.is_ascii_uppercase() || c.is_ascii_digit() {
                    buf[n] = c;
                    n += 1;
                    j += 1;
                } else if c == b' '
                    && n.is_multiple_of(4)
                    && j + 1 < hay.len()
                    && (hay[j + 1].is_ascii_uppercase() || hay[j + 1].is_ascii_digit())
                {
                    j += 1;
                } else {
                    break;
                }
            }
            let boundary = j >= hay.len() || !hay[j].is_ascii_alphanumeric();
            if n == need && boundary && validate::iban_mod97(&buf[..n]) {
                let mut red = [0u8; 48];
                red[..4].copy_from_slice(&buf[..4]);
                red[4..10].copy_from_slice(b" **** ");
                red[10..14].copy_from_slice(&buf[n - 4..n]);
                acc.report(D_IBAN, fnv(&[&buf[..n]]), Confidence::High, &red[..14]);
                return j;
            }
        }
        // Compact NINO: two letters, six digits, suffix letter.
        if t.nd == 6 && t.ng == 1 && t.end < hay.len() {
            let suffix_end = t.end + 1;
            let boundary = suffix_end >= hay.len() || !hay[suffix_end].is_ascii_alphanumeric();
            let mut v = [0u8; 9];
            v[..2].copy_from_slice(&hay[s..s + 2]);
            v[2..8].copy_from_slice(&t.digits[..6]);
            v[8] = hay[t.end];
            if boundary && validate::uk_nino(&v) {
                self.report_nino(hay, &v, s, suffix_end, kw, acc);
            }
        }
        0
    }

    /// `AB 12 34 56 C`.
    fn spaced_nino(&self, hay: &[u8], t: &Token, kw: &mut KwCache, acc: &mut Acc) {
        let s = t.start - 3;
        if !hay[s].is_ascii_uppercase()
            || (s > 0 && hay[s - 1].is_ascii_alphanumeric())
            || t.groups[..t.ng] != [2, 2, 2]
            || t.sep != b' '
        {
            return;
        }
        let e = t.end;
        if e + 2 > hay.len() || hay[e] != b' ' {
            return;
        }
        let suffix_end = e + 2;
        if suffix_end < hay.len() && hay[suffix_end].is_ascii_alphanumeric() {
            return;
        }
        let mut v = [0u8; 9];
        v[..2].copy_from_slice(&hay[s..s + 2]);
        v[2..8].copy_from_slice(&t.digits[..6]);
        v[8] = hay[e + 1];
        if validate::uk_nino(&v) {
            self.report_nino(hay, &v, s, suffix_end, kw, acc);
        }
    }

    fn report_nino(
        &self,
        hay: &[u8],
        v: &[u8; 9],
        start: usize,
        end: usize,
        kw: &mut KwCache,
        acc: &mut Acc,
    ) {
        let ev: Evidence = kw.evidence(&self.keywords, hay, start, end);
        let conf = if ev.has(KW_NINO) {
            Confidence::High
        } else if ev.anti {
            Confidence::Low
        } else {
            Confidence::Medium
        };
        let mut red = *b"** ** ** 00 *";
        red[9..11].copy_from_slice(&v[6..8]);
        acc.report(D_NINO, fnv(&[v]), conf, &red);
    }

    // ---- secrets -------------------------------------------------------

    fn scan_secrets(&self, hay: &[u8], from: usize, to: usize, _kw: &mut KwCache, acc: &mut Acc) {
        let input = Input::new(hay).range(from..hay.len());
        for m in self.triggers.find_iter(input) {
            let s = m.start();
            if s >= to {
                break;
            }
            match m.pattern().as_usize() {
                0 | 1 => self.aws(hay, s, acc),
                2..=6 => self.github_classic(hay, s, acc),
                7 => self.github_pat(hay, s, acc),
                8 => self.azure(hay, s, acc),
                _ => self.pem(hay, s, acc),
            }
        }
    }

    fn aws(&self, hay: &[u8], s: usize, acc: &mut Acc) {
        let e = s + 20;
        if e > hay.len() || (s > 0 && hay[s - 1].is_ascii_alphanumeric()) {
            return;
        }
        let key = &hay[s..e];
        let body_ok = key[4..]
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        let end_ok = e == hay.len() || !hay[e].is_ascii_alphanumeric();
        if !body_ok || !end_ok || DOC_SECRETS.contains(&key) || key.ends_with(b"EXAMPLE") {
            return;
        }
        if repeated_run(&key[4..], 6) {
            return;
        }
        let mut red = [0u8; 48];
        red[..4].copy_from_slice(&key[..4]);
        red[4..16].fill(b'*');
        red[16..20].copy_from_slice(&key[16..]);
        acc.report(D_AWS, fnv(&[key]), Confidence::High, &red[..20]);
    }

    fn github_classic(&self, hay: &[u8], s: usize, acc: &mut Acc) {
        let e = s + 40;
        if e > hay.len() || (s > 0 && is_token_char(hay[s - 1])) {
            return;
        }
        let body = &hay[s + 4..e];
        if !body.iter().all(u8::is_ascii_alphanumeric)
            || (e < hay.len() && is_token_char(hay[e]))
            || !validate::github_classic_checksum(body)
        {
            return;
        }
        let mut red = [0u8; 48];
        red[..4].copy_from_slice(&hay[s..s + 4]);
        red[4..8].fill(b'*');
        red[8..12].copy_from_slice(&body[32..]);
        acc.report(D_GITHUB, fnv(&[&hay[s..e]]), Confidence::High, &red[..12]);
    }

    fn github_pat(&self, hay: &[u8], s: usize, acc: &mut Acc) {
        let e = s + 11 + 82;
        if e > hay.len() || (s > 0 && is_token_char(hay[s - 1])) {
            return;
        }
        let body = &hay[s + 11..e];
        if !body.iter().all(|&c| is_token_char(c))
            || (e < hay.len() && is_token_char(hay[e]))
            || repeated_run(body, 8)
            || contains(body, b"EXAMPLE")
        {
            return;
        }
        let mut red = [0u8; 48];
        red[..11].copy_from_slice(b"github_pat_");
        red[11..15].fill(b'*');
        red[15..19].copy_from_slice(&body[78..]);
        acc.report(D_GITHUB, fnv(&[&hay[s..e]]), Confidence::High, &red[..19]);
    }

    fn azure(&self, hay: &[u8], s: usize, acc: &mut Acc) {
        let b = s + 11;
        let e = b + 88;
        if e > hay.len() {
            return;
        }
        let key = &hay[b..e];
        let ok = key[..86]
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/')
            && &key[86..] == b"=="
            && (e == hay.len() || !(hay[e].is_ascii_alphanumeric() || hay[e] == b'+'));
        if !ok || DOC_SECRETS.contains(&key) || repeated_run(key, 8) {
            return;
        }
        acc.report(D_AZURE, fnv(&[key]), Confidence::High, b"AccountKey=****");
    }

    fn pem(&self, hay: &[u8], s: usize, acc: &mut Acc) {
        // "-----BEGIN <label>PRIVATE KEY-----" on one line.
        let line_end = (s + 11..hay.len().min(s + 64))
            .find(|&j| hay[j] == b'\n' || hay[j] == b'\r')
            .unwrap_or(hay.len().min(s + 64));
        let line = &hay[s..line_end];
        let Some(kpos) = find(line, b"PRIVATE KEY") else {
            return;
        };
        let tail = &line[kpos + 11..];
        if !(tail.starts_with(b"-----") || tail.starts_with(b" BLOCK-----")) {
            return;
        }
        let label = &line[11..kpos + 11];
        // Body: skip RFC 1421 headers (Proc-Type, DEK-Info), then collect base64.
        let mut j = line_end;
        let limit = (s + MAX_MATCH_BYTES).min(hay.len());
        let mut body = [0u8; 64];
        let mut n = 0;
        let mut line_start = true;
        while j < limit && n < 64 {
            let c = hay[j];
            if line_start && c != b'\r' && c != b'\n' {
                let rest = &hay[j..limit];
                let eol = rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len());
                if rest[..eol].contains(&b':') {
                    j += eol;
                    continue;
                }
            }
            line_start = c == b'\n';
            if c.is_ascii_alphanumeric() || c == b'+' || c == b'/' {
                body[n] = c;
                n += 1;
            } else if !(c == b'\r' || c == b'\n' || c == b' ' || c == b'\t' || c == b'=') {
                // "..." or prose: a documentation stub, not a key.
                return;
            }
            j += 1;
        }
        if n < 64 || contains(&body, b"EXAMPLE") || repeated_run(&body, 8) {
            return;
        }
        let mut red = [0u8; 48];
        let mut k = 0;
        for part in [&b"BEGIN "[..], label, &b" ****"[..]] {
            let take = part.len().min(48 - k);
            red[k..k + take].copy_from_slice(&part[..take]);
            k += take;
        }
        acc.report(D_PEM, fnv(&[&body]), Confidence::High, &red[..k]);
    }
}

fn is_token_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    memchr::memmem::find(h, n)
}

fn contains(h: &[u8], n: &[u8]) -> bool {
    find(h, n).is_some()
}

/// Placeholders ("XXXXXXXX", "00000000") rather than random secrets.
fn repeated_run(s: &[u8], n: usize) -> bool {
    let mut run = 1;
    for w in s.windows(2) {
        if w[0] == w[1] {
            run += 1;
            if run >= n {
                return true;
            }
        } else {
            run = 1;
        }
    }
    false
}

/// Bytes of `w` that are ASCII digits get their high bit set. Exact per byte
/// (no carries cross bytes): the "hasbetween" trick from Bit Twiddling Hacks.
#[inline(always)]
pub(crate) fn digit_mask(w: u64) -> u64 {
    const K: u64 = 0x0101_0101_0101_0101;
    let x = w & (K * 127);
    (((K * (127 + 0x3A)) - x) & !w & (x + K * (127 - 0x2F))) & (K * 128)
}

/// A run of digit groups joined by single spaces or dashes.
struct Token {
    start: usize,
    end: usize,
    digits: [u8; 40],
    nd: usize,
    groups: [u8; 8],
    ng: usize,
    sep: u8,
    mixed: bool,
    too_long: bool,
}

impl Token {
    fn parse(hay: &[u8], start: usize) -> Token {
        let mut t = Token {
            start,
            end: start,
            digits: [0; 40],
            nd: 0,
            groups: [0; 8],
            ng: 0,
            sep: 0,
            mixed: false,
            too_long: false,
        };
        let mut j = start;
        let mut cur = 0usize;
        loop {
            if j < hay.len() && hay[j].is_ascii_digit() {
                if t.nd < t.digits.len() {
                    t.digits[t.nd] = hay[j];
                    t.nd += 1;
                } else {
                    t.too_long = true;
                }
                cur += 1;
                j += 1;
                continue;
            }
            if t.ng < t.groups.len() {
                t.groups[t.ng] = cur.min(255) as u8;
                t.ng += 1;
            } else {
                t.too_long = true;
            }
            cur = 0;
            if j + 1 < hay.len()
                && (hay[j] == b' ' || hay[j] == b'-')
                && hay[j + 1].is_ascii_digit()
            {
                if t.sep == 0 {
                    t.sep = hay[j];
                } else if t.sep != hay[j] {
                    t.mixed = true;
                }
                j += 1;
                continue;
            }
            break;
        }
        t.end = j;
        t
    }
}

/// Digits fewer than any unprefixed detector needs: SSN and ABA take 9,
/// cards 13.
const MIN_BARE_DIGITS: usize = 9;

/// The end of the digit run at `start` when [`Detectors::token`] would do
/// nothing with it: fewer than [`MIN_BARE_DIGITS`] digits, not joined to
/// another group by a space or dash, and not after a capital (the IBAN and
/// NINO paths) or a capital and a space (a spaced NINO).
/// Also a token of any length after a character that makes it part of
/// something else (`+44 20 7946 0000`, `v1.2.3`; see [`left_ok`]): only
/// its end is needed, not its groups.
#[inline]
fn short_run(hay: &[u8], start: usize) -> Option<usize> {
    let lb = if start > 0 { hay[start - 1] } else { b' ' };
    if lb.is_ascii_uppercase() || (lb == b' ' && start >= 3 && hay[start - 2].is_ascii_uppercase())
    {
        return None;
    }
    if !left_ok(hay, start) {
        return Some(token_end(hay, start));
    }
    let mut j = start;
    while j < hay.len() && hay[j].is_ascii_digit() {
        j += 1;
        if j - start >= MIN_BARE_DIGITS {
            return None;
        }
    }
    let joint =
        j + 1 < hay.len() && (hay[j] == b' ' || hay[j] == b'-') && hay[j + 1].is_ascii_digit();
    (!joint).then_some(j)
}

/// Whether position `i` continues a token that started earlier.
fn in_token(hay: &[u8], i: usize) -> bool {
    let p = hay[i - 1];
    if p.is_ascii_digit() {
        return true;
    }
    (p == b' ' || p == b'-') && i >= 2 && hay[i - 2].is_ascii_digit() && hay[i].is_ascii_digit()
}

fn token_end(hay: &[u8], mut i: usize) -> usize {
    loop {
        let digit = i < hay.len() && hay[i].is_ascii_digit();
        let joint =
            i + 1 < hay.len() && (hay[i] == b' ' || hay[i] == b'-') && hay[i + 1].is_ascii_digit();
        if !(digit || joint) {
            return i;
        }
        i += 1;
    }
}

/// Characters that, right before a number, make it part of something else
/// (an identifier, a path, a decimal, a phone number with country code).
fn left_ok(hay: &[u8], start: usize) -> bool {
    if start == 0 {
        return true;
    }
    let c = hay[start - 1];
    !(c.is_ascii_alphanumeric() || matches!(c, b'.' | b'/' | b'_' | b'-' | b'+' | b'\\' | b'@'))
}

fn right_ok(hay: &[u8], end: usize) -> bool {
    if end >= hay.len() {
        return true;
    }
    let c = hay[end];
    if c.is_ascii_alphanumeric() || matches!(c, b'_' | b'/' | b'@' | b'\\') {
        return false;
    }
    // "4556737586899855.25": a decimal, not an identifier. (A comma is a
    // CSV separator as often as a decimal mark, so it does not count.)
    if matches!(c, b'.' | b'-') && end + 1 < hay.len() && hay[end + 1].is_ascii_digit() {
        return false;
    }
    true
}

/// Card numbers are written unbroken or in the issuers' groupings.
fn card_grouping(g: &[u8]) -> bool {
    match g {
        [_] => true,
        [4, 6, 5] | [4, 6, 4] => true,
        // 16 as 4x4, 19 as 4-4-4-4-3, 15 as 4-4-4-3.
        [4, 4, 4, 4] | [4, 4, 4, 4, 3] | [4, 4, 4, 3] => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::Limits;

    fn run(text: &str) -> crate::Findings {
        let d = Detectors::new(&[], &[]).unwrap();
        let mut acc = Acc::new(BUILTINS.len(), &Limits::default());
        let mut kw = KwCache::new();
        d.scan(text.as_bytes(), 0, text.len(), &mut kw, &mut acc);
        let names: Vec<String> = BUILTINS.iter().map(|s| s.to_string()).collect();
        acc.findings(&names)
    }

    #[test]
    fn digit_mask_is_exact() {
        for b in 0u8..=255 {
            let w = u64::from(b) << 24;
            assert_eq!(digit_mask(w) != 0, b.is_ascii_digit(), "byte {b}");
        }
    }

    #[test]
    fn short_runs_are_only_numbers_no_detector_takes() {
        let at = |s: &str, p: &str| short_run(s.as_bytes(), s.find(p).unwrap());
        assert_eq!(at("in 2015 we", "2015"), Some(7));
        assert_eq!(at("$12345.67", "12345"), Some(6));
        assert_eq!(at("x 12345678 y", "1"), Some(10));
        assert_eq!(at("x 123456789 y", "1"), None, "SSN and ABA length");
        assert_eq!(at("x 4556 7375", "4556"), None, "grouped");
        assert_eq!(at("x 536-22-1234", "536"), None, "grouped");
        assert_eq!(at("GB82 WEST", "82"), None, "IBAN check digits");
        assert_eq!(at("QQ123456C", "1"), None, "compact NINO");
        assert_eq!(at("AB 12 34 56 C", "12"), None, "spaced NINO");
        assert_eq!(at("tel +1 415 555 0100.", "1"), Some(19), "after a plus");
    }

    #[test]
    fn cards_with_and_without_keywords() {
        let f = run("Visa 4556 7375 8689 9855 exp 12/27");
        assert_eq!(f.count("credit_card", Confidence::High), 1);
        let f = run("number 4556-7375-8689-9855 here");
        assert_eq!(f.count("credit_card", Confidence::Medium), 1);
        assert_eq!(f.count("credit_card", Confidence::High), 0);
        let f = run("Order #: 4556737586899855");
        assert_eq!(f.count("credit_card", Confidence::Medium), 0);
        assert_eq!(
            f.get("credit_card").unwrap().samples,
            vec!["4556 **** **** 9855"]
        );
        let f = run("4556 7375 8689 9856 bad luhn, 45567375 86899855 bad grouping");
        assert_eq!(f.count("credit_card", Confidence::Low), 0);
    }

    #[test]
    fn ssn_needs_keyword() {
        let f = run("SSN: 536-22-1234");
        assert_eq!(f.count("us_ssn", Confidence::High), 1);
        assert_eq!(f.get("us_ssn").unwrap().samples, vec!["***-**-1234"]);
        let f = run("call 536-22-1234");
        assert_eq!(f.count("us_ssn", Confidence::Medium), 0);
        assert_eq!(f.count("us_ssn", Confidence::Low), 1);
        let f = run("ssn 536221234 and 536-22-1234 same person");
        assert_eq!(f.count("us_ssn", Confidence::Low), 1, "distinct values");
    }

    #[test]
    fn iban_nino_aba() {
        let f = run("Pay to GB82 WEST 1234 5698 7654 32 today, or DE89370400440532013000.");
        assert_eq!(f.count("iban", Confidence::High), 2);
        let f = run("NI number AB 12 34 56 C and QQ123456C");
        assert_eq!(f.count("uk_nino", Confidence::High), 1);
        let f = run("routing number 021000021");
        assert_eq!(f.count("aba_routing", Confidence::Medium), 1);
    }

    #[test]
    fn secrets() {
        let f = run("aws_access_key_id = AKIAZ7Q3W4ERT5YU6IOP\nAKIAIOSFODNN7EXAMPLE");
        assert_eq!(f.count("aws_access_key", Confidence::High), 1);
        let key = "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=";
        let body = "q".repeat(3) + &"Ab3+/Zx9".repeat(10) + "Qw7Pz1";
        assert_eq!(body.len(), 89);
        let text = format!("{key}{}==;", &body[..86]);
        let f = run(&text);
        assert_eq!(f.count("azure_storage_key", Confidence::High), 1);
    }
}
