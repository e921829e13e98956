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
//! one SIMD scan for digits; secrets from one small case-sensitive automaton
//! over their fixed prefixes (Teddy, several GB/s); keywords are looked up
//! only around candidates.

pub mod catalogue;
pub(crate) mod dict;
pub(crate) mod ids;
pub(crate) mod keywords;
pub(crate) mod secrets;
pub(crate) mod swar;
pub(crate) mod validate;
pub(crate) mod words;

use aho_corasick::{packed, Span};
use regex::bytes::{Regex, RegexBuilder};
use wide::u8x16;

use crate::findings::{Acc, Confidence};
use crate::limits::{MAX_KEYWORD_PATTERNS, MAX_MATCH_BYTES};
use crate::{DictionaryConfig, Error, PatternConfig};
use dict::Dictionaries;
use keywords::{Evidence, Keywords, KwCache, FIRST_CUSTOM_GROUP, KW_ABA, KW_CARD, KW_NINO, KW_SSN};

/// Names of the built-in detectors, in id order: the hand-written ones
/// ([`CORE`]), then the identifier catalogue ([`ids::IDS`]), then the secret
/// catalogue ([`secrets::SECRETS`]).
pub(crate) static BUILTINS: std::sync::LazyLock<Vec<&'static str>> =
    std::sync::LazyLock::new(|| {
        CORE.iter()
            .copied()
            .chain(ids::IDS.iter().map(|t| t.name))
            .chain(secrets::SECRETS.iter().map(|t| t.name))
            .collect()
    });

/// Id of the first identifier-catalogue row.
const D_IDS: usize = CORE.len();
/// Id of the first secret-catalogue row.
fn d_secrets() -> usize {
    CORE.len() + ids::IDS.len()
}

/// The hand-written detectors, in id order.
pub(crate) const CORE: &[&str] = &[
    "credit_card",
    "us_ssn",
    "iban",
    "aba_routing",
    "uk_nino",
    "private_key",
    "aws_access_key",
    "github_token",
    "azure_storage_key",
    "jwt",
    "database_url",
    "azure_ad_client_secret",
    "generic_secret",
    "swift_bic",
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
const D_JWT: usize = 9;
const D_DB_URL: usize = 10;
const D_AZURE_AD: usize = 11;
const D_GENERIC: usize = 12;
const D_BIC: usize = 13;

/// What a literal found by the secret pass starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Trig {
    Aws,
    GithubClassic,
    GithubPat,
    Azure,
    Pem,
    Putty,
    Jwt,
    DbUrl,
    Assign,
    /// A `BIC:` / `SWIFT:` / `SWIFT code:` label: a BIC has no digit the
    /// identifier pass could start from, and alone it is a word
    /// (`DEUTDEFF`), so only the value a label names is read.
    Bic,
    /// A row of [`secrets::SECRETS`].
    Table(u16),
}

/// Literals of the hand-written secret detectors and special rows.
const SPECIAL_TRIGGERS: &[(&str, Trig)] = &[
    ("AKIA", Trig::Aws),
    ("ASIA", Trig::Aws),
    ("ABIA", Trig::Aws),
    ("ACCA", Trig::Aws),
    ("ghp_", Trig::GithubClassic),
    ("gho_", Trig::GithubClassic),
    ("ghs_", Trig::GithubClassic),
    ("ghu_", Trig::GithubClassic),
    ("ghr_", Trig::GithubClassic),
    ("github_pat_", Trig::GithubPat),
    ("AccountKey=", Trig::Azure),
    ("-----BEGIN ", Trig::Pem),
    ("PuTTY-User-Key-File-", Trig::Putty),
    // A JWT header is a JSON object: `{"a` (alg), `{"t` (typ), `{"k` (kid).
    ("eyJh", Trig::Jwt),
    ("eyJ0", Trig::Jwt),
    ("eyJr", Trig::Jwt),
    ("postgres://", Trig::DbUrl),
    ("postgresql://", Trig::DbUrl),
    ("mysql://", Trig::DbUrl),
    ("mariadb://", Trig::DbUrl),
    ("mongodb://", Trig::DbUrl),
    ("mongodb+srv://", Trig::DbUrl),
    ("redis://", Trig::DbUrl),
    ("rediss://", Trig::DbUrl),
    ("amqp://", Trig::DbUrl),
    ("amqps://", Trig::DbUrl),
    ("mssql://", Trig::DbUrl),
    // `key = value`: found from the `=` or `:` after the key (spaces and
    // quotes before the anchor are skipped); `DB_PASSWORD=` finds
    // `PASSWORD` as the word before the anchor.
    ("password=", Trig::Assign),
    ("password:", Trig::Assign),
    ("Password=", Trig::Assign),
    ("Password:", Trig::Assign),
    ("PASSWORD=", Trig::Assign),
    ("PASSWORD:", Trig::Assign),
    ("passwd=", Trig::Assign),
    ("passwd:", Trig::Assign),
    ("PASSWD=", Trig::Assign),
    ("PASSWD:", Trig::Assign),
    ("pwd=", Trig::Assign),
    ("pwd:", Trig::Assign),
    ("PWD=", Trig::Assign),
    ("PWD:", Trig::Assign),
    ("secret=", Trig::Assign),
    ("secret:", Trig::Assign),
    ("Secret=", Trig::Assign),
    ("Secret:", Trig::Assign),
    ("SECRET=", Trig::Assign),
    ("SECRET:", Trig::Assign),
    ("token=", Trig::Assign),
    ("token:", Trig::Assign),
    ("Token=", Trig::Assign),
    ("Token:", Trig::Assign),
    ("TOKEN=", Trig::Assign),
    ("TOKEN:", Trig::Assign),
    ("apikey=", Trig::Assign),
    ("apikey:", Trig::Assign),
    ("apiKey=", Trig::Assign),
    ("apiKey:", Trig::Assign),
    ("ApiKey=", Trig::Assign),
    ("ApiKey:", Trig::Assign),
    ("APIKEY=", Trig::Assign),
    ("APIKEY:", Trig::Assign),
    ("key=", Trig::Assign),
    ("key:", Trig::Assign),
    ("KEY=", Trig::Assign),
    ("KEY:", Trig::Assign),
    ("secretkey=", Trig::Assign),
    ("secretkey:", Trig::Assign),
    ("secretKey=", Trig::Assign),
    ("secretKey:", Trig::Assign),
    ("SECRETKEY=", Trig::Assign),
    ("SECRETKEY:", Trig::Assign),
    ("accesskey=", Trig::Assign),
    ("accesskey:", Trig::Assign),
    ("accessKey=", Trig::Assign),
    ("accessKey:", Trig::Assign),
    ("ACCESSKEY=", Trig::Assign),
    ("ACCESSKEY:", Trig::Assign),
    ("credential=", Trig::Assign),
    ("credential:", Trig::Assign),
    ("CREDENTIAL=", Trig::Assign),
    ("CREDENTIAL:", Trig::Assign),
    ("BIC:", Trig::Bic),
    ("Bic:", Trig::Bic),
    ("bic:", Trig::Bic),
    ("SWIFT:", Trig::Bic),
    ("Swift:", Trig::Bic),
    ("swift:", Trig::Bic),
    // `SWIFT code:`, `BIC-Code:`: the word before `code` is checked.
    ("code:", Trig::Bic),
    ("Code:", Trig::Bic),
    ("CODE:", Trig::Bic),
];

/// The secret pass has two prefilters over the same window, chosen per
/// literal when the engine is built:
/// - literals whose first [`STEM_BYTES`] bytes are letters and digits
///   (`AKIA`, `AIza`, `password`...) are found by their stem with Teddy
///   (aho-corasick's packed SIMD searcher), at most [`MAX_STEMS`] stems;
/// - literals with a punctuation byte (`sk_live_`, `xoxb-`, `ya29.`,
///   `https://`, `-----BEGIN `, `password=`...) are found from that byte:
///   `- . : = _ ~` by the digit pass itself (they share one 16-byte test
///   with the digits, see [`skip_to_class`]); once
///   a letter or digit must follow them they are rare in prose, and the
///   word before the byte names the literals to compare. Teddy's cost
///   grows with its stems (120 stems ran at a tenth of the old throughput,
///   55 at half), so it keeps only the literals without punctuation, 4
///   bytes each.
const STEM_BYTES: usize = 4;

/// Stems Teddy keeps fast on prose (measured: `benches/throughput.rs`).
const MAX_STEMS: usize = 24;

/// Longest word before a literal's punctuation byte (`cmVmdGtuOjAxOj`).
const MAX_HEAD: usize = 16;

/// The bytes that anchor punctuated literals.
const ANCHORS: [u8; 6] = [b'_', b'-', b':', b'=', b'.', b'~'];

/// The whole literals that share one stem or one (anchor, head), with what
/// each starts.
type StemLiterals = Vec<(&'static [u8], Trig)>;

/// The anchored literals' map is looked up at every anchor byte whose word
/// passes the first-byte filter; SipHash cost ~300 instructions a lookup
/// (callgrind), a multiply-rotate over the few head bytes a tenth of that.
/// Keys are the engine's own fixed literals, so flooding is not a concern.
#[derive(Default)]
struct HeadHasher(u64);

impl std::hash::Hasher for HeadHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x517C_C1B7_2722_0A95);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

type AnchoredMap = std::collections::HashMap<
    (u8, &'static [u8]),
    StemLiterals,
    std::hash::BuildHasherDefault<HeadHasher>,
>;

/// Both prefilters of the secret pass.
struct SecretPrefilter {
    stems: packed::Searcher,
    stem_lits: Vec<StemLiterals>,
    /// (anchor byte, word before it) -> literals.
    anchored: AnchoredMap,
    /// First bytes of the words before anchors, as a 256-bit set: most
    /// anchors in text ("12.50", "e-mail") end here without a lookup.
    head_first: [u64; 4],
    /// Last bytes of the words before each anchor (index in [`ANCHORS`]),
    /// tested before the word is walked: "$12345.67" ends at `5.`.
    head_last: [[u64; 4]; ANCHORS.len()],
    /// Every (anchor, word) key of `anchored` as one bit of [`head_bit`]: a
    /// word that passed the first- and last-byte sets is looked up only if its
    /// bit is set. Mail source is full of anchors after words that pass those
    /// sets (`X-MS-Exchange-`, `=3D`, host names), and each lookup hashed and
    /// compared the word (perf, 2026-12-07: 8% of the `mail export` bench row).
    head_bits: Box<[u64; HEAD_BIT_WORDS]>,
}

/// Bits of [`SecretPrefilter::head_bits`]: 64 Kibit (8 KiB) for a few hundred keys.
const HEAD_BIT_WORDS: usize = 1024;

/// The bit of an (anchor, word) key in [`SecretPrefilter::head_bits`]: its anchor, length and
/// first, second and last bytes, mixed.
#[inline(always)]
fn head_bit(anchor: u8, head: &[u8]) -> usize {
    let n = head.len();
    let first = head.first().copied().unwrap_or(0);
    let second = head.get(1).copied().unwrap_or(0);
    let last = head.last().copied().unwrap_or(0);
    let key = u64::from(anchor)
        | (n as u64) << 8
        | u64::from(first) << 16
        | u64::from(second) << 24
        | u64::from(last) << 32;
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 48) as usize
}

impl SecretPrefilter {
    /// Whether `anchored` may hold (anchor, head): false only when it does not.
    #[inline(always)]
    fn may_hold(&self, anchor: u8, head: &[u8]) -> bool {
        let b = head_bit(anchor, head);
        self.head_bits[b >> 6] & (1 << (b & 63)) != 0
    }
}

fn secret_prefilter() -> SecretPrefilter {
    let table = secrets::SECRETS.iter().enumerate().flat_map(|(i, t)| {
        t.prefixes
            .iter()
            .map(move |p| (*p, Trig::Table(u16::try_from(i).expect("rows fit u16"))))
    });
    let mut stems: Vec<&[u8]> = Vec::new();
    let mut stem_lits: Vec<StemLiterals> = Vec::new();
    let mut anchored = AnchoredMap::default();
    let anchors = ANCHORS;
    for (lit, trig) in SPECIAL_TRIGGERS.iter().copied().chain(table) {
        let lit = lit.as_bytes();
        let first_punct = lit.iter().position(|c| !c.is_ascii_alphanumeric());
        match first_punct {
            Some(p) if p <= MAX_HEAD && anchors.contains(&lit[p]) => {
                anchored
                    .entry((lit[p], &lit[..p]))
                    .or_default()
                    .push((lit, trig));
            }
            _ => {
                let stem = &lit[..STEM_BYTES];
                match stems.iter().position(|s| *s == stem) {
                    Some(i) => stem_lits[i].push((lit, trig)),
                    None => {
                        stems.push(stem);
                        stem_lits.push(vec![(lit, trig)]);
                    }
                }
            }
        }
    }
    assert!(stems.len() <= MAX_STEMS, "{} secret stems", stems.len());
    let searcher = packed::Config::new()
        .match_kind(packed::MatchKind::LeftmostFirst)
        .builder()
        .extend(&stems)
        .build()
        .expect("fixed stem set within the packed limit");
    let mut head_first = [0u64; 4];
    for (_, head) in anchored.keys() {
        if let Some(&c) = head.first() {
            head_first[usize::from(c >> 6)] |= 1 << (c & 63);
        }
    }
    let mut head_last = [[0u64; 4]; ANCHORS.len()];
    for (a, head) in anchored.keys() {
        if let (Some(&c), Some(k)) = (head.last(), ANCHORS.iter().position(|x| x == a)) {
            head_last[k][usize::from(c >> 6)] |= 1 << (c & 63);
        }
    }
    let mut head_bits = Box::new([0u64; HEAD_BIT_WORDS]);
    for (a, head) in anchored.keys() {
        let b = head_bit(*a, head);
        head_bits[b >> 6] |= 1 << (b & 63);
    }
    SecretPrefilter {
        stems: searcher,
        stem_lits,
        anchored,
        head_first,
        head_last,
        head_bits,
    }
}

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
    /// The secret pass's prefilters.
    secrets: SecretPrefilter,
    catalogue: ids::Catalogue,
    pub(crate) dicts: Dictionaries,
    patterns: Vec<Pattern>,
    dict_base: usize,
    pattern_base: usize,
    /// Loaded EDM tables; detector ids from `edm_base` on, in this order. Empty (and never
    /// looked at past one branch) without tables.
    pub(crate) edm: Vec<std::sync::Arc<crate::edm::Table>>,
    pub(crate) edm_base: usize,
    /// Loaded fingerprint sets (detectors `doc:SET` from `fp_base` on) and where each set's
    /// bits start in a scan's [`crate::findings::FpAcc`].
    pub(crate) fp: crate::fingerprint::Loaded,
}

impl Detectors {
    /// Whether detector `det` finds values worth tagging ([`crate::tracking`]): the built-in
    /// identifiers and secrets and the custom patterns; not keyword dictionaries (their
    /// "values" are the dictionary's own words) nor EDM tables (a row, not a value).
    pub(crate) fn tracks_values(&self, det: usize) -> bool {
        det < self.dict_base
            || (self.pattern_base..self.pattern_base + self.patterns.len()).contains(&det)
    }
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
            let re = compile_pattern(&p.name, &p.regex)?;
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
            secrets: secret_prefilter(),
            catalogue: ids::Catalogue::new(),
            dicts: dicts_c,
            patterns: compiled,
            dict_base: BUILTINS.len(),
            pattern_base: BUILTINS.len() + dicts.len(),
            edm: Vec::new(),
            edm_base: 0,
            fp: crate::fingerprint::Loaded::default(),
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
        // The tables' number finders ran in `scan_digits`; here the others.
        for (i, table) in self.edm.iter().enumerate() {
            // The row number is the distinct value; no sample: a row has no redacted form
            // that would not name part of it.
            let det = self.edm_base + i;
            table.scan(hay, from, to, &mut |row| {
                acc.report_with(det, u64::from(row), Confidence::High, |_| {})
            });
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

    /// The one pass over the text that serves the digit-shaped detectors,
    /// the identifier catalogue, the punctuated secret literals and the EDM
    /// tables' number finders: a 16-byte step skips blocks without a byte
    /// of [`in_class`], digits go to the identifiers and the EDM tables,
    /// and `- . : = _ ~` to [`Detectors::anchor`].
    fn scan_digits(&self, hay: &[u8], from: usize, to: usize, kw: &mut KwCache, acc: &mut Acc) {
        let mut i = from;
        // A literal's anchor may sit up to MAX_HEAD bytes after its start.
        let end = (to + MAX_HEAD + 1).min(hay.len());
        // Digits inside an IBAN already reported are not cards or SSNs.
        let mut skip_until = 0;
        // The EDM tables' number finders read the digit runs this pass
        // stops at, rather than walk the text a second time.
        let mut edm = crate::edm::Numbers::new(&self.edm);
        if let Some(s) = edm.first(hay, from, to) {
            self.edm_numbers(&mut edm, hay, s, from, to, acc);
        }
        // A token that started before `from` belongs to the previous window.
        if i > 0 && in_token(hay, i) {
            i = token_end(hay, i);
        }
        while i < end {
            i = skip_to_class(hay, i, end);
            while i < end && !in_class(hay[i]) {
                i += 1;
            }
            if i >= end {
                break;
            }
            let c = hay[i];
            if !c.is_ascii_digit() {
                if matches!(c, b'-' | b'.' | b':' | b'=' | b'_' | b'~') && self.may_anchor(hay, i) {
                    self.anchor(hay, i, from, to, kw, acc);
                }
                i += 1;
                continue;
            }
            if i >= to {
                i += 1;
                continue;
            }
            if i >= edm.until && !edm.passes(hay, i) {
                self.edm_numbers(&mut edm, hay, i, from, to, acc);
            }
            // Years, amounts, times and phone numbers after `+` end here;
            // the rest of the digit path is out of line, so that the loop
            // the clock spends its time in stays small.
            if let Some(e) = lone_number(hay, i) {
                // "$12345.67": the cents after `.` are a lone number too
                // (see `left_ok`), so the pass tests the `.` anchor and
                // steps over them here rather than stopping at each: a
                // stop costs about a mispredicted branch on the clock.
                if e + 1 < to && hay[e] == b'.' && hay[e + 1].is_ascii_digit() {
                    // The word before this `.` is digits (a lone number
                    // has no letter before it, and its groups are joined
                    // by spaces and dashes), so the anchor can only match
                    // if some literal's head starts with a digit.
                    const DIGITS: u64 = 0x3FF << b'0';
                    if self.may_anchor(hay, e) && self.secrets.head_first[0] & DIGITS != 0 {
                        self.anchor_in_token(hay, e, from, to, kw, acc);
                    }
                    i = token_end(hay, e + 1);
                } else {
                    i = e;
                }
                continue;
            }
            i = self.digit_run(hay, i, from, to, &mut skip_until, kw, acc);
        }
    }

    /// The EDM tables' number finders at the digit `i` the pass stops at
    /// (see `edm::Numbers`), for a run `Numbers::passes` could not settle
    /// (a card, a long run, one a NO-BREAK SPACE joins). Out of line, as
    /// [`Self::digit_run`] is.
    #[inline(never)]
    fn edm_numbers(
        &self,
        edm: &mut crate::edm::Numbers,
        hay: &[u8],
        i: usize,
        from: usize,
        to: usize,
        acc: &mut Acc,
    ) {
        let base = self.edm_base;
        edm.at(&self.edm, hay, i, from, to, &mut |t, row| {
            // As in `scan`: the row is the distinct value, with no sample.
            acc.report_with(base + t, u64::from(row), Confidence::High, |_| {})
        });
    }

    /// The digit run at `i` that [`lone_number`] could not settle: the
    /// identifier catalogue, then the digit-shaped detectors. Returns where
    /// the digit pass goes on.
    ///
    /// Out of line (perf, 2026-12-06): inlined into [`Self::scan_digits`],
    /// these checks made the scan loop's body large enough that the
    /// pre-catalogue engine's loop ran at 1.2x its speed on prose with the
    /// same instruction count (callgrind); see docs/dlp.md.
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    fn digit_run(
        &self,
        hay: &[u8],
        i: usize,
        from: usize,
        to: usize,
        skip_until: &mut usize,
        kw: &mut KwCache,
        acc: &mut Acc,
    ) -> usize {
        let end = (to + MAX_HEAD + 1).min(hay.len());
        if !id_too_short(hay, i) {
            self.identifiers(hay, i, kw, acc);
        }
        // Most numbers in mail (years, amounts, times) are short runs,
        // which no detector takes unless two capitals precede them
        // (IBAN, NINO): pass them without building a token (perf:
        // `Token::parse` was a third of the digit scan on prose).
        if let Some(e) = short_run(hay, i) {
            return e;
        }
        let t = Token::parse(hay, i);
        // A literal whose head ends in this digit run (`A3-8ASV…`, a
        // 1Password Secret Key) has its anchor inside the token, which
        // `i` is about to jump over: look at it here.
        let de = digits_end(hay, i);
        if de < t.end && de < end && self.may_anchor(hay, de) {
            self.anchor_in_token(hay, de, from, to, kw, acc);
        }
        if t.start >= *skip_until {
            *skip_until = self.token(hay, &t, kw, acc);
        }
        t.end
    }

    /// The identifier catalogue at the digit run starting at `i`: the
    /// alphanumeric token around it, normalised once, against the rows of
    /// its length.
    fn identifiers(&self, hay: &[u8], i: usize, kw: &mut KwCache, acc: &mut Acc) {
        // Up to six letters may lead (codice fiscale); more is a word.
        let mut ws = i;
        while ws > 0 && i - ws < 6 && hay[ws - 1].is_ascii_alphabetic() {
            ws -= 1;
        }
        // One letter and a separator may lead too ("X-2482300-W").
        if ws == i
            && ws >= 2
            && id_sep_len(hay, ws - 1) == 1
            && hay[ws - 2].is_ascii_alphabetic()
            && (ws == 2 || !hay[ws - 3].is_ascii_alphanumeric())
        {
            ws -= 2;
        }
        if ws > 0 && (hay[ws - 1].is_ascii_alphanumeric() || !left_ok(hay, ws)) {
            return;
        }
        let mut v = [0u8; ids::MAX_ID_CHARS];
        let mut n = 0;
        let mut groups = [0u8; 8];
        let mut starts = [0usize; 8];
        let mut ng = 1;
        let mut j = ws;
        loop {
            if j < hay.len() && hay[j].is_ascii_alphanumeric() {
                if n == v.len() {
                    return;
                }
                v[n] = hay[j].to_ascii_uppercase();
                n += 1;
                groups[ng - 1] += 1;
                j += 1;
                continue;
            }
            let sl = id_sep_len(hay, j);
            let next = j + sl;
            // A separator joins a group that starts with a digit, or a
            // single check letter ("12345678-Z", "12.345.678-K").
            let joins = sl > 0
                && next < hay.len()
                && (hay[next].is_ascii_digit()
                    || (hay[next].is_ascii_alphabetic()
                        && (next + 1 >= hay.len() || !hay[next + 1].is_ascii_alphanumeric())));
            if !joins || ng == groups.len() {
                break;
            }
            starts[ng] = n;
            ng += 1;
            j = next;
        }
        if n < ids::MIN_ID_CHARS || !right_ok(hay, j) {
            return;
        }
        if self.id_rows(hay, &v[..n], &groups[..ng], ws, j, kw, acc) || ng == 1 {
            return;
        }
        // "born 1985 36574261809": a longer group may stand alone.
        for g in 0..ng {
            let len = usize::from(groups[g]);
            if len >= 8 {
                let s = starts[g];
                self.id_rows(hay, &v[s..s + len], &[groups[g]], ws, j, kw, acc);
            }
        }
    }

    /// Tries every row of `v`'s length; returns whether one matched.
    #[allow(clippy::too_many_arguments)]
    fn id_rows(
        &self,
        hay: &[u8],
        v: &[u8],
        groups: &[u8],
        start: usize,
        end: usize,
        kw: &mut KwCache,
        acc: &mut Acc,
    ) -> bool {
        let mut rows = self.catalogue.rows_fitting(v);
        let mut kw_rows: Option<ids::RowSet> = None;
        let mut anti: Option<bool> = None;
        let mut any = false;
        while rows != 0 {
            let r = rows.trailing_zeros() as usize;
            rows &= rows - 1;
            let t = &ids::IDS[r];
            if !(groups.len() == 1 || t.groups.contains(&groups))
                || !t.shapes.iter().any(|sh| ids::fits(sh, v))
                || !(t.check)(v)
            {
                continue;
            }
            any = true;
            let k = *kw_rows.get_or_insert_with(|| self.catalogue.keyword_rows(hay, start, end));
            let conf = if k & (1 << r) != 0 {
                Some(t.with_keyword)
            } else if *anti.get_or_insert_with(|| kw.evidence(&self.keywords, hay, start, end).anti)
            {
                t.alone.map(|_| Confidence::Low)
            } else {
                t.alone
            };
            let Some(conf) = conf else {
                continue;
            };
            let mut red = [0u8; 48];
            let n = v.len();
            red[..n - 3].fill(b'*');
            red[n - 3..n].copy_from_slice(&v[n - 3..]);
            acc.report(D_IDS + r, fnv(&[t.name.as_bytes(), v]), conf, &red[..n]);
        }
        any
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
        let is_card = |d: &[u8], g: &[u8]| {
            (12..=19).contains(&d.len()) && card_grouping(g) && validate::credit_card(d)
        };
        let card = if is_card(d, g) {
            Some(d)
        } else {
            without_cvv(t)
                .filter(|(d, g)| is_card(d, g))
                .map(|(d, _)| d)
        };
        if let Some(d) = card {
            let ev = kw.evidence(&self.keywords, hay, start, t.end);
            let conf = if ev.anti {
                Confidence::Low
            } else if ev.has(KW_CARD) {
                Confidence::High
            } else if d.len() <= 13 {
                // Twelve or thirteen digits are a Maestro or old Visa number
                // as rarely as they are an EAN-13 (which passes Luhn one time
                // in ten): a keyword decides.
                Confidence::Low
            } else {
                Confidence::Medium
            };
            let mut red = [0u8; 48];
            red[..4].copy_from_slice(&d[..4]);
            red[4..15].copy_from_slice(b" **** **** ");
            red[15..19].copy_from_slice(&d[d.len() - 4..]);
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

    fn scan_secrets(&self, hay: &[u8], from: usize, to: usize, kw: &mut KwCache, acc: &mut Acc) {
        let pf = &self.secrets;
        let mut pos = from;
        while pos < to {
            let Some(m) = pf.stems.find_in(hay, Span::from(pos..hay.len())) else {
                break;
            };
            let s = m.start();
            if s >= to {
                break;
            }
            pos = s + 1;
            for &(lit, trig) in &pf.stem_lits[m.pattern().as_usize()] {
                if hay[s..].starts_with(lit) {
                    self.secret_at(hay, s, lit.len(), trig, kw, acc);
                }
            }
        }
        // `_` and `~` anchors are found by the digit pass (see
        // `skip_to_class`).
    }

    /// Whether the anchor byte at `p` may end a literal's head: a filter on
    /// the byte before it, inlined into both passes, so that "$12345.67"
    /// and "e-mail" cost a table load and not a call (callgrind: ~100
    /// instructions a call).
    #[inline(always)]
    fn may_anchor(&self, hay: &[u8], p: usize) -> bool {
        let c = hay[p];
        let Some(k) = ANCHORS.iter().position(|&x| x == c) else {
            return false;
        };
        if c == b'-' && hay.get(p + 1) == Some(&b'-') {
            return true;
        }
        // `password = "…"` puts spaces or quotes before `=` or `:`.
        let last = if p > 0 { hay[p - 1] } else { b' ' };
        // Azure AD secrets: `<digit>Q~` (see `Detectors::azure_ad`).
        if c == b'~' && last == b'Q' {
            return true;
        }
        if matches!(last, b' ' | b'"' | b'\'') {
            return c == b'=' || c == b':';
        }
        self.secrets.head_last[k][usize::from(last >> 6)] & (1 << (last & 63)) != 0
    }

    /// [`Self::anchor`] for the digit pass's rarer call sites (an anchor
    /// inside a token, the `.` of an amount whose word may end a literal's
    /// head), out of line: with two inlined call sites the compiler kept
    /// `anchor` out of the scan loop, and the anchors of prose paid a call
    /// each (callgrind: +3% instructions on plain text).
    #[cold]
    #[inline(never)]
    fn anchor_in_token(
        &self,
        hay: &[u8],
        p: usize,
        from: usize,
        to: usize,
        kw: &mut KwCache,
        acc: &mut Acc,
    ) {
        self.anchor(hay, p, from, to, kw, acc);
    }

    /// A punctuated literal's anchor byte at `p` (`_ - : = . ~`): the word
    /// before it names the literals to compare.
    #[inline(always)]
    fn anchor(
        &self,
        hay: &[u8],
        p: usize,
        from: usize,
        to: usize,
        kw: &mut KwCache,
        acc: &mut Acc,
    ) {
        let pf = &self.secrets;
        let c = hay[p];
        if c == b'~' && p >= 2 && hay[p - 1] == b'Q' && hay[p - 2].is_ascii_digit() {
            if p - 2 >= from && p - 2 < to {
                self.azure_ad(hay, p - 2, acc);
            }
            return;
        }
        // `password = "…"`: the key ends before spaces and quotes.
        let mut ke = p;
        if c == b'=' || c == b':' {
            while ke > 0 && p - ke < 3 && matches!(hay[ke - 1], b' ' | b'"' | b'\'') {
                ke -= 1;
            }
            if ke < p && ke > 0 && hay[ke - 1].is_ascii_alphanumeric() {
                let mut h = ke;
                while h > 0 && ke - h < MAX_HEAD && hay[h - 1].is_ascii_alphanumeric() {
                    h -= 1;
                }
                if h >= from && h < to && pf.may_hold(c, &hay[h..ke]) {
                    if let Some(lits) = pf.anchored.get(&(c, &hay[h..ke])) {
                        for &(lit, trig) in lits {
                            if matches!(trig, Trig::Assign | Trig::Bic) {
                                self.secret_at(hay, h, lit.len() - 1, trig, kw, acc);
                            }
                        }
                    }
                }
                return;
            }
        }
        // What follows an anchor in every literal: a letter, a digit,
        // or more of the same punctuation ("-----", "://").
        match hay.get(p + 1) {
            // `_`: base64url bodies (Harness `pat._…`).
            Some(n) if n.is_ascii_alphanumeric() || matches!(*n, b'-' | b'/' | b'+' | b'_') => {}
            // `password="…"`, `token: …`.
            Some(b'"' | b'\'' | b' ') if c == b'=' || c == b':' => {}
            _ => return,
        }
        // Only "-----BEGIN " starts at its anchor.
        let bare = c == b'-' && hay.get(p + 1) == Some(&b'-');
        let mut h = p;
        while h > 0 && p - h < MAX_HEAD && hay[h - 1].is_ascii_alphanumeric() {
            h -= 1;
        }
        for head_start in [h, p] {
            if head_start < from || head_start >= to || (head_start == p && !bare) {
                continue;
            }
            if head_start < p {
                let f = hay[head_start];
                if pf.head_first[usize::from(f >> 6)] & (1 << (f & 63)) == 0 {
                    continue;
                }
            }
            if !pf.may_hold(c, &hay[head_start..p]) {
                continue;
            }
            let Some(lits) = pf.anchored.get(&(c, &hay[head_start..p])) else {
                continue;
            };
            for &(lit, trig) in lits {
                if hay[head_start..].starts_with(lit) {
                    self.secret_at(hay, head_start, lit.len(), trig, kw, acc);
                }
            }
            if head_start == p {
                break;
            }
        }
    }

    fn secret_at(
        &self,
        hay: &[u8],
        s: usize,
        len: usize,
        trig: Trig,
        kw: &mut KwCache,
        acc: &mut Acc,
    ) {
        match trig {
            Trig::Aws => self.aws(hay, s, acc),
            Trig::GithubClassic => self.github_classic(hay, s, acc),
            Trig::GithubPat => self.github_pat(hay, s, acc),
            Trig::Azure => self.azure(hay, s, acc),
            Trig::Pem => self.pem(hay, s, acc),
            Trig::Putty => self.putty(hay, s, acc),
            Trig::Jwt => self.jwt(hay, s, acc),
            Trig::DbUrl => self.db_url(hay, s, len, acc),
            Trig::Assign => self.assignment(hay, s, len.min(key_len(hay, s)), kw, acc),
            Trig::Bic => self.bic(hay, s, acc),
            Trig::Table(row) => self.table_secret(hay, s, len, usize::from(row), acc),
        }
    }

    /// A row of the secret catalogue: prefix, body alphabet and length, check.
    fn table_secret(&self, hay: &[u8], s: usize, plen: usize, row: usize, acc: &mut Acc) {
        let t = &secrets::SECRETS[row];
        if s > 0 && is_token_char(hay[s - 1]) && !t.prefixes[0].starts_with("https://") {
            return;
        }
        // Inside a dashed or dotted word: `rh-api-…` is Robinhood's key,
        // not LaunchDarkly's `api-…`.
        if s > 1 && matches!(hay[s - 1], b'-' | b'.') && hay[s - 2].is_ascii_alphanumeric() {
            return;
        }
        let b = s + plen;
        let mut e = b;
        while e < hay.len() && e - b <= t.max && t.body.allows(hay[e]) {
            e += 1;
        }
        // A body may end in a character that also ends sentences.
        while e > b && e - b > t.min && matches!(hay[e - 1], b'.' | b'-' | b'=' | b'/') {
            e -= 1;
        }
        let body = &hay[b..e];
        let n = body.len();
        if n < t.min || n > t.max || (e < hay.len() && is_token_char(hay[e]) && n >= t.max) {
            return;
        }
        let ok = match t.check {
            secrets::Check::None => true,
            secrets::Check::Slack => slack_ok(body),
            secrets::Check::SlackWebhook => slack_webhook_ok(body),
            secrets::Check::Crc32 => validate::github_classic_checksum(body),
            secrets::Check::Anthropic => body.ends_with(b"AA"),
            secrets::Check::SendGrid => n == 66 && body[22] == b'.',
            secrets::Check::Dynatrace => n == 89 && body[24] == b'.',
            secrets::Check::Discord => discord_ok(body),
            secrets::Check::Uuid => secrets::Check::uuid_ok(body),
            secrets::Check::Parts(sep, lens) => secrets::Check::parts_ok(sep, lens, body),
        };
        if !ok || placeholder(body) {
            return;
        }
        let mut red = [0u8; 48];
        let k = redact_tail(&hay[s..b], body, &mut red);
        acc.report(
            d_secrets() + row,
            fnv(&[&hay[s..e]]),
            t.confidence,
            &red[..k],
        );
    }

    /// `eyJ…` header `.` payload `.` signature, the header decoding to a JSON
    /// object with an `alg`.
    fn jwt(&self, hay: &[u8], s: usize, acc: &mut Acc) {
        if s > 0 && is_token_char(hay[s - 1]) {
            return;
        }
        let seg = |from: usize| {
            let mut e = from;
            while e < hay.len()
                && e - from < MAX_MATCH_BYTES * 4
                && (hay[e].is_ascii_alphanumeric() || hay[e] == b'-' || hay[e] == b'_')
            {
                e += 1;
            }
            e
        };
        let h_end = seg(s);
        if h_end >= hay.len() || hay[h_end] != b'.' || h_end - s < 10 {
            return;
        }
        let p_end = seg(h_end + 1);
        if p_end >= hay.len() || hay[p_end] != b'.' || !hay[h_end + 1..].starts_with(b"eyJ") {
            return;
        }
        let sig_end = seg(p_end + 1);
        let mut head = [0u8; 96];
        let Some(n) = b64url_decode(&hay[s..h_end], &mut head) else {
            return;
        };
        let head = &head[..n];
        if !head.starts_with(b"{") || !contains(head, b"\"alg\"") {
            return;
        }
        // "alg":"none" tokens carry no signature; others need one.
        if sig_end - p_end - 1 < 16 && !contains(head, b"none") {
            return;
        }
        let mut red = [0u8; 48];
        let k = redact_tail(b"eyJ", &hay[p_end + 1..sig_end.max(p_end + 1)], &mut red);
        acc.report(
            D_JWT,
            fnv(&[&hay[s..sig_end]]),
            Confidence::Medium,
            &red[..k],
        );
    }

    /// `scheme://user:password@host` with a password that is not a placeholder.
    fn db_url(&self, hay: &[u8], s: usize, plen: usize, acc: &mut Acc) {
        if s > 0 && hay[s - 1].is_ascii_alphanumeric() {
            return;
        }
        let b = s + plen;
        let limit = (b + MAX_MATCH_BYTES).min(hay.len());
        let stop = |c: u8| c <= b' ' || matches!(c, b'"' | b'\'' | b'<' | b'>' | b'`');
        let Some(colon) = (b..limit)
            .take_while(|&j| !stop(hay[j]) && hay[j] != b'/' && hay[j] != b'@')
            .find(|&j| hay[j] == b':')
        else {
            return;
        };
        let Some(at) = (colon + 1..limit)
            .take_while(|&j| !stop(hay[j]) && hay[j] != b'/')
            .find(|&j| hay[j] == b'@')
        else {
            return;
        };
        let user = &hay[b..colon];
        let pw = &hay[colon + 1..at];
        const WEAK: &[&[u8]] = &[
            b"password",
            b"pass",
            b"passwd",
            b"secret",
            b"pwd",
            b"user",
            b"root",
            b"admin",
            b"postgres",
            b"mysql",
            b"guest",
            b"changeme",
            b"mypassword",
            b"yourpassword",
            b"PASSWORD",
            b"pw",
        ];
        if user.is_empty()
            || pw.len() < 4
            || WEAK.contains(&pw)
            || placeholder(pw)
            || pw.starts_with(b"$")
            || pw.starts_with(b"%")
            || at + 1 >= hay.len()
            || !hay[at + 1].is_ascii_alphanumeric()
        {
            return;
        }
        let mut red = [0u8; 48];
        let k = redact_tail(&hay[s..colon + 1], b"", &mut red);
        acc.report(D_DB_URL, fnv(&[&hay[s..at]]), Confidence::High, &red[..k]);
    }

    /// Azure AD (Entra ID) client secret: 3 characters, a digit, `Q~`, 31-34
    /// characters.
    fn azure_ad(&self, hay: &[u8], digit: usize, acc: &mut Acc) {
        let q = digit + 1;
        let allowed = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'~' | b'.' | b'-');
        if q < 4 || !hay[q - 1].is_ascii_digit() {
            return;
        }
        let s = q - 4;
        if !hay[s..q].iter().all(|&c| allowed(c)) || (s > 0 && allowed(hay[s - 1])) {
            return;
        }
        let b = q + 2;
        let mut e = b;
        while e < hay.len() && e - b < 35 && allowed(hay[e]) {
            e += 1;
        }
        let n = e - b;
        if !(31..=34).contains(&n) || (e < hay.len() && allowed(hay[e])) || placeholder(&hay[b..e])
        {
            return;
        }
        let mut red = [0u8; 48];
        let k = redact_tail(&hay[s..b], &hay[b..e], &mut red);
        acc.report(D_AZURE_AD, fnv(&[&hay[s..e]]), Confidence::High, &red[..k]);
    }

    /// The BIC after a `BIC:`/`SWIFT:` label at `s` (ISO 9362: institution,
    /// ISO 3166 country, location, optional branch), upper-case as SWIFT
    /// writes it; a location whose second character is `0` is a test BIC.
    fn bic(&self, hay: &[u8], s: usize, acc: &mut Acc) {
        if s > 0 && hay[s - 1].is_ascii_alphanumeric() {
            return;
        }
        let k = key_len(hay, s);
        if hay[s..s + k].eq_ignore_ascii_case(b"code") {
            // `SWIFT code`, `BIC-Code`, `SWIFT/BIC code`.
            let mut w = s;
            while w > 0 && s - w < 2 && matches!(hay[w - 1], b' ' | b'-') {
                w -= 1;
            }
            let mut h = w;
            while h > 0 && w - h < 5 && hay[h - 1].is_ascii_alphabetic() {
                h -= 1;
            }
            let word = &hay[h..w];
            if w == s || !(word.eq_ignore_ascii_case(b"bic") || word.eq_ignore_ascii_case(b"swift"))
            {
                return;
            }
        }
        let mut j = s + k;
        while j < hay.len() && j - (s + k) < 4 && matches!(hay[j], b' ' | b':' | b'"' | b'\'') {
            j += 1;
        }
        let v0 = j;
        while j < hay.len()
            && j - v0 <= 11
            && (hay[j].is_ascii_uppercase() || hay[j].is_ascii_digit())
        {
            j += 1;
        }
        let v = &hay[v0..j];
        let ends = j == hay.len() || !(hay[j].is_ascii_alphanumeric() || hay[j] == b'_');
        if !ends || !validate::bic(v) || placeholder(v) {
            return;
        }
        let mut red = *b"******** ***";
        red[..6].copy_from_slice(&v[..6]);
        acc.report(D_BIC, fnv(&[v]), Confidence::Medium, &red[..v.len().min(8)]);
    }

    /// `password = value`, `api_key: "value"`...: a value of at least
    /// [`GENERIC_MIN_LEN`] characters above the [`GENERIC_MIN_ENTROPY`] floor.
    fn assignment(&self, hay: &[u8], s: usize, klen: usize, _kw: &mut KwCache, acc: &mut Acc) {
        let mut j = s + klen;
        // The rest of the key name: `password_hash` is not, `db_password` is.
        let mut extra = 0;
        while j < hay.len() && (hay[j].is_ascii_alphanumeric() || hay[j] == b'_' || hay[j] == b'-')
        {
            j += 1;
            extra += 1;
            if extra > 16 {
                return;
            }
        }
        let key_tail = &hay[s + klen..j];
        if contains(key_tail, b"hash")
            || contains(key_tail, b"_url")
            || contains(key_tail, b"file")
            || contains(key_tail, b"name")
        {
            return;
        }
        let skip = |j: &mut usize, set: &[u8]| {
            while *j < hay.len() && set.contains(&hay[*j]) {
                *j += 1;
            }
        };
        skip(&mut j, b"\"' \t");
        if j >= hay.len() || !(hay[j] == b'=' || hay[j] == b':') {
            return;
        }
        j += 1;
        if j < hay.len() && hay[j] == b'=' {
            j += 1;
        }
        skip(&mut j, b" \t");
        let quote = if j < hay.len() && matches!(hay[j], b'"' | b'\'' | b'`') {
            j += 1;
            Some(hay[j - 1])
        } else {
            None
        };
        let b = j;
        let value_char = |c: u8| c.is_ascii_alphanumeric() || b"_-+/=.!@#$%^&*~?".contains(&c);
        while j < hay.len() && j - b <= GENERIC_MAX_LEN && value_char(hay[j]) {
            j += 1;
        }
        let mut e = j;
        if quote.is_none() {
            while e > b && matches!(hay[e - 1], b'.' | b',' | b'!' | b'?') {
                e -= 1;
            }
        }
        let v = &hay[b..e];
        if v.len() < GENERIC_MIN_LEN
            || v.len() > GENERIC_MAX_LEN
            || quote.is_some_and(|q| j >= hay.len() || hay[j] != q)
            || !v.iter().any(u8::is_ascii_digit)
            || !v.iter().any(u8::is_ascii_alphabetic)
            || entropy(v) < GENERIC_MIN_ENTROPY
            || placeholder(v)
        {
            return;
        }
        let mut red = [0u8; 48];
        let k = redact_tail(&hay[s..s + klen], v, &mut red);
        // Low until tuned: on the labelled corpus it fires on prose labels.
        acc.report(D_GENERIC, fnv(&[v]), Confidence::Low, &red[..k]);
    }

    /// PuTTY private key files (`PuTTY-User-Key-File-2/3:`), encrypted or not.
    fn putty(&self, hay: &[u8], s: usize, acc: &mut Acc) {
        let limit = (s + MAX_MATCH_BYTES * 2).min(hay.len());
        let Some(p) = find(&hay[s..limit], b"Private-Lines:") else {
            return;
        };
        let key = &hay[s..s + p];
        acc.report(
            D_PEM,
            fnv(&[key]),
            Confidence::High,
            b"PuTTY-User-Key-File ****",
        );
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
        if hay[s + 2] == b's' && self.github_long_ghs(hay, s, acc) {
            return;
        }
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

    /// GitHub App installation tokens longer than the classic 36-character
    /// body, which may hold `_`.
    fn github_long_ghs(&self, hay: &[u8], s: usize, acc: &mut Acc) -> bool {
        if s > 0 && is_token_char(hay[s - 1]) {
            return false;
        }
        let b = s + 4;
        let mut e = b;
        while e < hay.len() && e - b <= GHS_MAX_BODY && is_token_char(hay[e]) {
            e += 1;
        }
        let body = &hay[b..e];
        if body.len() <= 36 || body.len() > GHS_MAX_BODY || placeholder(body) {
            return false;
        }
        let mut red = [0u8; 48];
        let k = redact_tail(b"ghs_", body, &mut red);
        acc.report(D_GITHUB, fnv(&[&hay[s..e]]), Confidence::High, &red[..k]);
        true
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
        // An unencrypted OpenSSH key starts with runs of zero bytes ("none"
        // cipher, empty KDF): "AAAAAA" is structure there, not a placeholder.
        let openssh = body.starts_with(b"b3BlbnNzaC1rZXktdjE");
        if n < 64 || contains(&body, b"EXAMPLE") || (!openssh && repeated_run(&body, 8)) {
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

/// Values documentation uses in place of a secret.
fn placeholder(v: &[u8]) -> bool {
    const WORDS: &[&[u8]] = &[
        b"example",
        b"EXAMPLE",
        b"Example",
        b"xxxx",
        b"XXXX",
        b"your",
        b"YOUR",
        b"Your",
        b"dummy",
        b"DUMMY",
        b"sample",
        b"SAMPLE",
        b"placeholder",
        b"PLACEHOLDER",
        b"changeme",
        b"redacted",
        b"REDACTED",
        b"fake",
        b"FAKE",
        b"test",
        b"TEST",
        b"1234567",
        b"abcdef",
        b"<",
        b"${",
        b"{{",
        b"%(",
        b"***",
        b"...",
    ];
    repeated_run(v, 6) || WORDS.iter().any(|w| contains(v, w))
}

/// Shannon entropy of `v` in bits per byte.
fn entropy(v: &[u8]) -> f64 {
    let mut counts = [0u32; 256];
    for &c in v {
        counts[c as usize] += 1;
    }
    let n = v.len() as f64;
    counts
        .iter()
        .filter(|&&k| k > 0)
        .map(|&k| {
            let p = f64::from(k) / n;
            -p * p.log2()
        })
        .sum()
}

/// `prefix` + `****` + the last 4 bytes of `v`, at most 48 bytes.
fn redact_tail(prefix: &[u8], v: &[u8], out: &mut [u8; 48]) -> usize {
    let p = prefix.len().min(36);
    out[..p].copy_from_slice(&prefix[..p]);
    out[p..p + 4].fill(b'*');
    let tail = &v[v.len().saturating_sub(4)..];
    out[p + 4..p + 4 + tail.len()].copy_from_slice(tail);
    p + 4 + tail.len()
}

/// Minimal base64url decoding of `s` into `out` (no padding); `None` when
/// `s` holds a byte outside the alphabet.
fn b64url_decode(s: &[u8], out: &mut [u8]) -> Option<usize> {
    let mut acc = 0u32;
    let mut bits = 0;
    let mut n = 0;
    for &c in s {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            if n == out.len() {
                return Some(n);
            }
            out[n] = (acc >> bits) as u8;
            n += 1;
        }
    }
    Some(n)
}

/// Longest installation-token body taken (GitHub documents up to 255).
const GHS_MAX_BODY: usize = 255;

/// Shortest value the `key = value` detector takes: shorter values are
/// words and PINs as often as secrets.
const GENERIC_MIN_LEN: usize = 12;
/// Longest value it takes (keys and tokens; longer is a blob).
const GENERIC_MAX_LEN: usize = 128;
/// Bits per character below which a value is a word or a pattern
/// ("Password123" is 3.3; random base64 of 16+ characters is above 3.6).
const GENERIC_MIN_ENTROPY: f64 = 3.4;

/// Slack token body: dash-separated numeric segments and a final
/// alphanumeric segment of at least 20 characters.
fn slack_ok(body: &[u8]) -> bool {
    let mut parts = body.split(|&c| c == b'-');
    let mut nums = 0;
    let mut last: &[u8] = b"";
    for p in &mut parts {
        if p.iter().all(u8::is_ascii_digit) && !p.is_empty() {
            nums += 1;
        }
        last = p;
    }
    nums >= 1 && last.len() >= 20 && last.iter().all(u8::is_ascii_alphanumeric)
}

fn slack_webhook_ok(body: &[u8]) -> bool {
    let parts: Vec<&[u8]> = body.split(|&c| c == b'/').collect();
    parts.len() == 3
        && parts[0].len() >= 8
        && parts[0].starts_with(b"T")
        && parts[1].len() >= 8
        && (parts[1].starts_with(b"B") || parts[1].starts_with(b"A"))
        && parts[2].len() == 24
}

fn discord_ok(body: &[u8]) -> bool {
    match body.iter().position(|&c| c == b'/') {
        Some(i) => {
            (17..=20).contains(&i)
                && body[..i].iter().all(u8::is_ascii_digit)
                && body.len() - i - 1 == 68
        }
        None => false,
    }
}

/// Length of the group separator at `j` in an identifier: space, `-`, `.`,
/// `/`, or NO-BREAK SPACE (UTF-8 C2 A0, or a bare A0 from an undeclared
/// 8-bit part); 0 if none.
fn id_sep_len(hay: &[u8], j: usize) -> usize {
    match hay.get(j) {
        Some(b' ' | b'-' | b'.' | b'/') => 1,
        _ => nbsp_len(hay, j),
    }
}

/// NO-BREAK SPACE at `j`: 2 for C2 A0, 1 for a bare A0, else 0.
fn nbsp_len(hay: &[u8], j: usize) -> usize {
    match (hay.get(j), hay.get(j + 1)) {
        (Some(0xC2), Some(0xA0)) => 2,
        (Some(0xA0), _) => 1,
        _ => 0,
    }
}

/// Length of a digit-group separator of card-like numbers at `j`: space,
/// `-` or NO-BREAK SPACE (a windows-1252 part's A0 decodes to C2 A0).
fn card_sep_len(hay: &[u8], j: usize) -> usize {
    match hay.get(j) {
        Some(b' ' | b'-') => 1,
        _ => nbsp_len(hay, j),
    }
}

/// Length of the alphanumeric key word starting at `s`.
fn key_len(hay: &[u8], s: usize) -> usize {
    hay[s..]
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric())
        .count()
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

/// The end of the run of ASCII digits from `i`, 16 bytes at a time: the run
/// length comes from the block's digit mask, so the walk has no exit
/// branch that depends on how many digits a number has (callgrind's branch
/// simulation: the byte-by-byte walks of `short_run`, `id_too_short` and
/// `token_end` mispredicted about 30,000 times per MiB of prose, which the
/// clock showed and the instruction count did not).
#[inline(always)]
fn digits_end(hay: &[u8], mut i: usize) -> usize {
    let zero = u8x16::splat(b'0');
    let nine = u8x16::splat(9);
    while let Some(block) = hay.get(i..i + 16) {
        let d = u8x16::from(<[u8; 16]>::try_from(block).expect("16 bytes")) - zero;
        let m = d.min(nine).simd_eq(d).to_bitmask();
        let n = (!m).trailing_zeros().min(16) as usize;
        i += n;
        if n < 16 {
            return i;
        }
    }
    while i < hay.len() && hay[i].is_ascii_digit() {
        i += 1;
    }
    i
}

/// Whether `c` stops the digit pass: `-./0-9:;<=` (0x2D..=0x3D, the digits
/// and four anchors of punctuated secret literals in one range test), and
/// the anchors `_` and `~`.
#[inline(always)]
fn in_class(c: u8) -> bool {
    (0x2D..=0x3D).contains(&c) || c == b'_' || c == b'~'
}

/// First byte of the digit pass's class ([`in_class`]) at or after `i`, looking at whole 16-byte blocks while `i < end`;
/// the caller finishes byte by byte. Most of prose holds none, so this
/// loop is the pass's floor: with `wide`'s 16-byte vectors (SSE2 on
/// x86-64, NEON on aarch64) a block costs about eight instructions, where
/// the 8-byte SWAR word it replaces cost fifteen (callgrind, plain text:
/// 2.4 instructions per byte before, see the commit for after).
#[inline(always)]
fn skip_to_class(hay: &[u8], mut i: usize, end: usize) -> usize {
    const LO: u8 = 0x2D;
    const SPAN: u8 = 0x3D - LO;
    let lo = u8x16::splat(LO);
    let span = u8x16::splat(SPAN);
    let under = u8x16::splat(b'_');
    let tilde = u8x16::splat(b'~');
    // The blocks that start before `end` and fit in `hay`, as one slice:
    // its chunks cost one bound test a block, where `i < end` and
    // `hay.get(i..i + 16)` cost two.
    let lim = end.saturating_add(15).min(hay.len());
    let Some(window) = hay.get(i..lim) else {
        return i;
    };
    for block in window.chunks_exact(16) {
        let v = u8x16::from(<[u8; 16]>::try_from(block).expect("16 bytes"));
        // Bytes below LO wrap round to above SPAN.
        let d = v - lo;
        // `_` and `~` here rather than in a memchr2 pass of their own: a
        // second pass over a 64 KiB window missed L1 once per line
        // (callgrind's cache simulation: 18k more D1 misses per MiB).
        let m = (d.min(span).simd_eq(d) | v.simd_eq(under) | v.simd_eq(tilde)).to_bitmask();
        if m != 0 {
            return i + m.trailing_zeros() as usize;
        }
        i += 16;
    }
    i
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
            let sl = card_sep_len(hay, j);
            if sl > 0 && j + sl < hay.len() && hay[j + sl].is_ascii_digit() {
                // NO-BREAK SPACE counts as a space.
                let sep = if hay[j] == b'-' { b'-' } else { b' ' };
                if t.sep == 0 {
                    t.sep = sep;
                } else if t.sep != sep {
                    t.mixed = true;
                }
                j += sl;
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
    let j = digits_end(hay, start);
    if j - start >= MIN_BARE_DIGITS {
        return None;
    }
    let sl = card_sep_len(hay, j);
    let joint = sl > 0 && j + sl < hay.len() && hay[j + sl].is_ascii_digit();
    (!joint).then_some(j)
}

/// Whether the digit run at `start` cannot be part of an identifier of the
/// catalogue: fewer than [`ids::MIN_ID_CHARS`] digits with nothing that
/// [`Detectors::identifiers`] would join on either side (a letter, or a
/// separator before a digit or a single check letter). Years, amounts and
/// times end here in a few byte tests instead of a token walk (callgrind:
/// the walk was 2 of 13 instructions per byte of prose).
fn id_too_short(hay: &[u8], start: usize) -> bool {
    if start > 0 {
        let p = hay[start - 1];
        // A letter, or a single letter and a separator ("X-2482300-W").
        if p.is_ascii_alphanumeric()
            || (id_sep_len(hay, start - 1) == 1
                && start >= 2
                && hay[start - 2].is_ascii_alphabetic()
                && (start == 2 || !hay[start - 3].is_ascii_alphanumeric()))
        {
            return false;
        }
        // `+49…`, `$12.50`, `a/1234`: the identifier pass refuses these.
        if !left_ok(hay, start) {
            return true;
        }
    }
    let e = digits_end(hay, start);
    id_rest_too_short(hay, e - start, e)
}

/// [`id_too_short`] after its first digit run: `n` digits so far, the run
/// ending at `j`.
#[inline(always)]
fn id_rest_too_short(hay: &[u8], mut n: usize, mut j: usize) -> bool {
    loop {
        if n >= ids::MIN_ID_CHARS {
            return false;
        }
        let Some(&c) = hay.get(j) else {
            return true;
        };
        if c.is_ascii_alphabetic() {
            return false;
        }
        let sl = id_sep_len(hay, j);
        if sl == 0 {
            return true;
        }
        match hay.get(j + sl) {
            Some(d) if d.is_ascii_digit() => {
                let e = digits_end(hay, j + sl);
                n += e - (j + sl);
                j = e;
            }
            // A single check letter ends the value.
            Some(l) if l.is_ascii_alphabetic() => {
                let single = !hay.get(j + sl + 1).is_some_and(u8::is_ascii_alphanumeric);
                return !single || n + 1 < ids::MIN_ID_CHARS;
            }
            _ => return true,
        }
    }
}

/// The end of the digit run at `start` when neither the identifier
/// catalogue nor the digit-shaped detectors take it: `Some(e)` only when
/// [`id_too_short`] holds and [`short_run`] is `Some(e)` (the test
/// `lone_number_agrees` checks this), `None` when the full checks must run
/// (letters around the run, NO-BREAK SPACE, a long or grouped run). One
/// digit walk serves both checks. Years, amounts and times after a space
/// or `$`, and numbers after `+ . / _ - \\ @` (phones, decimals,
/// versions) end here.
#[inline(always)]
fn lone_number(hay: &[u8], start: usize) -> Option<usize> {
    let p = if start > 0 { hay[start - 1] } else { b' ' };
    if p.is_ascii_alphanumeric() || p >= 0x80 {
        return None;
    }
    if start >= 2 {
        let q = hay[start - 2];
        // A capital and a space: a spaced NINO ("AB 12 34 56 C").
        if q.is_ascii_uppercase() && p == b' ' {
            return None;
        }
        // A single letter and a separator may start an identifier
        // ("X-2482300-W").
        if q.is_ascii_alphabetic()
            && matches!(p, b' ' | b'-' | b'.' | b'/')
            && (start == 2 || !hay[start - 3].is_ascii_alphanumeric())
        {
            return None;
        }
    }
    if !left_ok(hay, start) {
        return Some(token_end(hay, start));
    }
    let e = digits_end(hay, start);
    let sl = card_sep_len(hay, e);
    let joint = sl > 0 && e + sl < hay.len() && hay[e + sl].is_ascii_digit();
    if e - start >= MIN_BARE_DIGITS || joint || !id_rest_too_short(hay, e - start, e) {
        return None;
    }
    Some(e)
}

/// Whether position `i` continues a token that started earlier.
fn in_token(hay: &[u8], i: usize) -> bool {
    let p = hay[i - 1];
    if p.is_ascii_digit() {
        return true;
    }
    if !hay[i].is_ascii_digit() {
        return false;
    }
    if (p == b' ' || p == b'-') && i >= 2 && hay[i - 2].is_ascii_digit() {
        return true;
    }
    // NO-BREAK SPACE: C2 A0 or a bare A0 after a digit.
    p == 0xA0
        && ((i >= 2 && hay[i - 2].is_ascii_digit())
            || (i >= 3 && hay[i - 2] == 0xC2 && hay[i - 3].is_ascii_digit()))
}

/// The end of the digit groups joined by card separators from `i`. The
/// separator test runs once per group, not per digit: phone numbers after
/// `+` end here, and testing every digit for a separator was 1.2
/// instructions per byte of prose (callgrind).
///
/// A token that ends inside the 16 bytes from `i` (a phone number, the
/// cents of an amount) is read from one block's digit and separator masks
/// without a loop: the group-by-group walk below took a mispredicted
/// branch per number on the clock (perf, 2026-12-06).
fn token_end(hay: &[u8], i: usize) -> usize {
    if let Some(block) = hay.get(i..i + 16) {
        let v = u8x16::from(<[u8; 16]>::try_from(block).expect("16 bytes"));
        let d = v - u8x16::splat(b'0');
        let digits = d.min(u8x16::splat(9)).simd_eq(d).to_bitmask();
        let seps = (v.simd_eq(u8x16::splat(b' ')) | v.simd_eq(u8x16::splat(b'-'))).to_bitmask();
        // A digit, or a one-byte separator with a digit after it.
        let joined = digits | (seps & (digits >> 1));
        let stop = (!joined).trailing_zeros() as usize;
        // Byte 15's successor is outside the block, and NO-BREAK SPACE
        // (C2 A0, A0) is a separator the masks do not see.
        if stop < 15 && !matches!(hay[i + stop], 0xC2 | 0xA0) {
            return i + stop;
        }
    }
    token_end_walk(hay, i)
}

/// [`token_end`] group by group.
fn token_end_walk(hay: &[u8], mut i: usize) -> usize {
    loop {
        i = digits_end(hay, i);
        let sl = card_sep_len(hay, i);
        if sl == 0 || i + sl >= hay.len() || !hay[i + sl].is_ascii_digit() {
            return i;
        }
        i += sl;
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
    // `\,` `\;` and LaTeX's `\\` end a field in CSV and LaTeX exports; any
    // other backslash continues a path or an escape.
    if c == b'\\' && matches!(hay.get(end + 1), Some(b',' | b';' | b'\\')) {
        return true;
    }
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

/// A token's digits and groups without a CVV written after the card with
/// a space ("4556737586899855 123"; four digits only after a 15-digit
/// number, American Express's CID), which would otherwise make the token
/// one long number that is no card.
fn without_cvv(t: &Token) -> Option<(&[u8], &[u8])> {
    let g = &t.groups[..t.ng];
    let (&last, card_groups) = g.split_last()?;
    let n = usize::from(last);
    let card = t.nd.checked_sub(n)?;
    let cvv = n == 3 || (n == 4 && card == 15);
    (cvv && t.ng >= 2 && t.sep == b' ').then(|| (&t.digits[..card], card_groups))
}

/// Card numbers are written unbroken or in the issuers' groupings.
fn card_grouping(g: &[u8]) -> bool {
    match g {
        [_] => true,
        [4, 6, 5] | [4, 6, 4] => true,
        // 16 as 4x4, 19 as 4-4-4-4-3, 15 as 4-4-4-3.
        [4, 4, 4, 4] | [4, 4, 4, 4, 3] | [4, 4, 4, 3] => true,
        // 12-digit Maestro as 4x3.
        [4, 4, 4] => true,
        _ => false,
    }
}

/// Largest compiled program and lazy DFA of one custom pattern: a hostile or careless regex
/// (`(a{1,100}){1,100}`) cannot take a worker's memory.
const PATTERN_SIZE_LIMIT: usize = 8 << 20;

/// Compiles one `[[pattern]]` regex as the engine runs it.
pub(crate) fn compile_pattern(name: &str, regex: &str) -> Result<regex::bytes::Regex, Error> {
    RegexBuilder::new(regex)
        .size_limit(PATTERN_SIZE_LIMIT)
        .dfa_size_limit(PATTERN_SIZE_LIMIT)
        .build()
        .map_err(|e| Error::InvalidRegex {
            name: name.to_string(),
            reason: regex_reason(regex, &e),
        })
}

/// Why `regex` does not compile, in one line: the syntax error and the character it is at
/// (regex's own message draws the regex with a caret over several lines, which a config
/// error of the form `file:line:col: key: reason` cannot carry).
fn regex_reason(regex: &str, e: &regex::Error) -> String {
    match regex_syntax::Parser::new().parse(regex) {
        Err(regex_syntax::Error::Parse(p)) => format!(
            "{} at character {}",
            p.kind(),
            regex[..p.span().start.offset].chars().count() + 1
        ),
        Err(regex_syntax::Error::Translate(t)) => format!(
            "{} at character {}",
            t.kind(),
            regex[..t.span().start.offset].chars().count() + 1
        ),
        _ => {
            match e {
                regex::Error::CompiledTooBig(limit) => {
                    format!("compiles to more than {limit} bytes (simplify it or bound its repetitions)")
                }
                other => other.to_string().replace('\n', " "),
            }
        }
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
    fn digit_run_ends() {
        for len in 0..40 {
            for tail in [b' ', b'a', b'/', 0xC2] {
                let mut hay = vec![b'7'; len];
                hay.push(tail);
                hay.extend_from_slice(b"123");
                assert_eq!(digits_end(&hay, 0), len, "{len} digits then {tail}");
                assert_eq!(digits_end(&hay[..len], 0), len);
            }
        }
    }

    #[test]
    fn class_skip_is_exact() {
        // Every byte value at every offset of a block, and in the tail that
        // the caller finishes byte by byte.
        for b in 0u8..=255 {
            for at in [0, 7, 15, 16, 31, 33] {
                let mut hay = [b' '; 40];
                hay[at] = b;
                // Two whole blocks fit in 40 bytes; the rest is the caller's.
                let want = if in_class(b) && at < 32 { at } else { 32 };
                assert_eq!(skip_to_class(&hay, 0, hay.len()), want, "byte {b} at {at}");
            }
        }
    }

    #[test]
    fn digit_runs_too_short_for_any_identifier() {
        let at = |s: &str, p: &str| id_too_short(s.as_bytes(), s.find(p).unwrap());
        assert!(at("in 2015 we", "2015"));
        assert!(at("at 10:30 the", "10"));
        assert!(!at("x 12345678 y", "1"), "NZ IRD length");
        assert!(!at("x 1234567-K y", "1"), "RUT with its check letter");
        assert!(!at("x 12 345 678 y", "12"), "grouped");
        assert!(!at("AB123456C", "1"), "letters lead");
        assert!(!at("X-2482300-W", "2"), "NIE letter and separator lead");
        assert!(!at("x 1234567A", "1"), "a letter follows");
        assert!(at("$12345.67 in", "1"), "an amount");
        assert!(at("+1 415 555 0123", "1"), "after a plus");
        assert!(!at("x 12.345.678-K", "1"), "RUT with dots");
    }

    #[test]
    fn lone_number_settles_prose_numbers() {
        let at = |s: &str, p: &str| lone_number(s.as_bytes(), s.find(p).unwrap());
        assert_eq!(at("in 2015 we", "2015"), Some(7), "a year");
        assert_eq!(at("$12345.67 in", "1"), Some(6), "an amount");
        assert_eq!(at("$12345.67 in", "67"), Some(9), "its cents");
        assert_eq!(at("tel +1 415 555 0100.", "1"), Some(19), "after a plus");
        assert_eq!(at("at 10:30 the", "10"), Some(5), "a time");
        assert_eq!(at("x 12345678 y", "1"), None, "identifier length");
        assert_eq!(at("x 1234567-K y", "1"), None, "a check letter");
        assert_eq!(at("X-2482300-W", "2"), None, "letter and separator lead");
        assert_eq!(at("AB 12 34 56 C", "12"), None, "spaced NINO");
        assert_eq!(at("x 4556 7375", "4556"), None, "grouped");
    }

    /// `lone_number` is a shortcut for `id_too_short` and `short_run`
    /// together: wherever it settles a run, both must agree with it.
    #[test]
    fn lone_number_agrees() {
        use proptest::prelude::*;
        // Letters of both cases, digits, every separator the checks treat
        // apart, and both bytes of NO-BREAK SPACE.
        const ALPHABET: &[u8] = b"aZQ0159 -./+$_\\@:\xC2\xA0";
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
            cases: 4096,
            ..ProptestConfig::default()
        });
        runner
            .run(
                &proptest::collection::vec(proptest::sample::select(ALPHABET), 1..24),
                |hay| {
                    for start in 0..hay.len() {
                        if !hay[start].is_ascii_digit() {
                            continue;
                        }
                        if let Some(e) = lone_number(&hay, start) {
                            prop_assert!(id_too_short(&hay, start), "{hay:?} at {start}");
                            prop_assert_eq!(
                                short_run(&hay, start),
                                Some(e),
                                "{:?} at {}",
                                hay,
                                start
                            );
                        }
                    }
                    Ok(())
                },
            )
            .unwrap();
    }

    /// `token_end`'s one-block reading against the group-by-group walk.
    #[test]
    fn token_end_block_agrees_with_walk() {
        use proptest::prelude::*;
        const ALPHABET: &[u8] = b"0123456789 - -a.\xC2\xA0";
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
            cases: 4096,
            ..ProptestConfig::default()
        });
        runner
            .run(
                &proptest::collection::vec(proptest::sample::select(ALPHABET), 1..40),
                |hay| {
                    for i in 0..hay.len() {
                        prop_assert_eq!(
                            token_end(&hay, i),
                            token_end_walk(&hay, i),
                            "{:?} at {}",
                            hay,
                            i
                        );
                    }
                    Ok(())
                },
            )
            .unwrap();
        let phone = b"tel +1 415 555 0100 or";
        assert_eq!(token_end(phone, 5), 19);
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

    #[test]
    fn issue_15_misses_are_found() {
        // Mir, UnionPay 81, 12-digit Maestro (keyword), 15-digit JCB 2131.
        for card in [
            "2200 0000 0000 0004",
            "8171 9999 2766 0000",
            "2131 0000 0000 008",
        ] {
            let d: Vec<u8> = card.bytes().filter(u8::is_ascii_digit).collect();
            if !validate::luhn(&d) {
                continue;
            }
            let f = run(&format!("card {card}"));
            assert_eq!(f.count("credit_card", Confidence::High), 1, "{card}");
        }
        let f = run("Maestro card 5018 0000 0009");
        assert_eq!(f.count("credit_card", Confidence::High), 1);
        // NO-BREAK SPACE (UTF-8) between groups.
        let f = run("Visa 4556\u{a0}7375\u{a0}8689\u{a0}9855");
        assert_eq!(f.count("credit_card", Confidence::High), 1);
        // IR and RU IBANs (mod 97 valid).
        let f = run("IR062960000000100324200001 RU0204452560040702810412345678901");
        assert_eq!(f.count("iban", Confidence::High), 2);
        // AWS ABIA/ACCA key ids.
        let f = run("ABIAZ7Q3W4ERT5YU6IOP ACCAZ7Q3W4ERT5YU6IOQ");
        assert_eq!(f.count("aws_access_key", Confidence::High), 2);
        // Long ghs_ with underscores.
        let f = run("token ghs_AbCdEfGh1234_IjKlMnOp5678_QrStUvWx9012_YzAbCdEf3456");
        assert_eq!(f.count("github_token", Confidence::High), 1);
    }

    #[test]
    fn unencrypted_openssh_key_is_found() {
        let key = "-----BEGIN OPENSSH PRIVATE KEY-----\n\
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n\
QyNTUxOQAAACB7l1xqk2G1cQZ3tN0vK8m3u9YhJ5pQwErTyUiOpAsDfAAAAJgq8Vx7KvFc\n\
-----END OPENSSH PRIVATE KEY-----\n";
        let f = run(key);
        assert_eq!(f.count("private_key", Confidence::High), 1);
    }

    #[test]
    fn catalogue_rows_report_with_keyword_confidence() {
        let f = run("Steuer-ID: 36574261809");
        assert_eq!(f.count("de_tax_id", Confidence::High), 1);
        let f = run("ref 36574261809 ok");
        assert_eq!(f.count("de_tax_id", Confidence::Low), 1);
        assert_eq!(f.count("de_tax_id", Confidence::Medium), 0);
        let f = run("CPF: 390.533.447-05, DNI 54362315-K, NIE X-2482300-W");
        assert_eq!(f.count("br_cpf", Confidence::High), 1);
        assert_eq!(f.count("es_dni", Confidence::High), 1);
        assert_eq!(f.count("es_nie", Confidence::High), 1);
        let f = run("codice fiscale RCCMNL83S18D969H");
        assert_eq!(f.count("it_fiscal_code", Confidence::High), 1);
        let f = run("CPR-nr 211062-5629 and 211062-5629 without");
        assert_eq!(f.count("dk_cpr", Confidence::High), 1);
        let f = run("on 211062-5629 nothing");
        assert_eq!(f.count("dk_cpr", Confidence::Low), 0, "keyword-gated");
    }

    #[test]
    fn catalogue_secrets() {
        let f = run("SLACK=xoxb-730191371696-7301913716963-AbCdEfGhIjKlMnOpQrStUvWx");
        assert_eq!(f.count("slack_bot_token", Confidence::High), 1);
        let f = run("url: https://hooks.slack.com/services/T01ABCDEFGH/B01ABCDEFGH/AbCdEfGhIjKlMnOpQrStUvWx");
        assert_eq!(f.count("slack_webhook", Confidence::High), 1);
        let f = run("AGE-SECRET-KEY-1QQPZRY9X8GF2TVDW0S3JN54KHCE6MUA7LQPZRY9X8GF2TVDW0S3JN54KHC");
        assert_eq!(f.count("age_secret_key", Confidence::High), 1);
        let f = run("DATABASE_URL=postgres://app:Zr8q2VtLx9@db.internal:5432/prod");
        assert_eq!(f.count("database_url", Confidence::High), 1);
        let f = run("postgres://user:password@localhost/db");
        assert_eq!(f.count("database_url", Confidence::Low), 0, "placeholder");
        let f = run("client secret: Abc8Q~kT3vXy9LmN2pQrS5tUvW7xYz1AbCdEfGhI");
        assert_eq!(f.count("azure_ad_client_secret", Confidence::High), 1);
        let f = run("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U");
        assert_eq!(f.count("jwt", Confidence::Medium), 1);
        let f = run("sk_live_EXAMPLEEXAMPLEEXAMPLE1234");
        assert_eq!(
            f.count("stripe_secret_key", Confidence::Low),
            0,
            "documentation value"
        );
    }

    /// Every row with a vector is found at its documented confidence, in
    /// prose, after `key=` and in quotes, and only as that row.
    #[test]
    fn secret_rows_find_their_vectors() {
        for &(name, v) in secrets::VECTORS {
            let row = secrets::SECRETS
                .iter()
                .find(|t| t.name == name)
                .unwrap_or_else(|| panic!("{name}: no such row"));
            for text in [
                format!("here it is {v} thanks"),
                format!("KEY={v}\n"),
                format!("\"token\": \"{v}\","),
            ] {
                let f = run(&text);
                assert_eq!(f.count(name, row.confidence), 1, "{name}: {text}");
                let others: Vec<&str> = f
                    .detectors
                    .iter()
                    .map(|d| d.name.as_str())
                    .filter(|n| *n != name && *n != "generic_secret")
                    .collect();
                assert!(others.is_empty(), "{name}: also {others:?}");
            }
        }
    }

    /// The same rows stay clean with documentation placeholders, one
    /// character short, glued into a longer word, and with the prefix alone.
    #[test]
    fn secret_rows_skip_placeholders_and_near_misses() {
        for &(name, v) in secrets::VECTORS {
            let row = secrets::SECRETS.iter().find(|t| t.name == name).unwrap();
            let p = row
                .prefixes
                .iter()
                .find(|p| v.starts_with(**p))
                .expect("vector starts with a prefix");
            let n = v.len() - p.len();
            let mut cases = vec![
                format!("{p}{}", "EXAMPLE0".repeat(n / 8 + 1)[..n].to_string()),
                format!("{p}{}", "x".repeat(n)),
                format!("{p}{}", "0".repeat(n)),
                format!("{p}your_api_key_here"),
                format!("{p}{}", "your-api-key".repeat(n / 12 + 1)[..n].to_string()),
                format!("{p} is the prefix"),
                format!("abc{v}"),
            ];
            if row.min == row.max {
                cases.push(v[..v.len() - 1].to_string());
                cases.push(format!("{v}Z9"));
            }
            for text in cases {
                let f = run(&format!("see {text} here"));
                assert_eq!(f.count(name, Confidence::Low), 0, "{name}: {text}");
            }
        }
    }

    /// Issue 15 follow-up (a): a CVV after the card on the same line, and
    /// the `\,` that CSV and LaTeX exports put after a field.
    #[test]
    fn card_then_cvv_or_escaped_comma() {
        for text in [
            "Visa 4556 7375 8689 9855 CVV 123",
            "card 4556737586899855 123",
            "card: 4556737586899855 cvv: 123 exp 12/27",
            "card 4556-7375-8689-9855 / 123",
            "Visa,4556737586899855\\,123\\,12/27",
            "card 4556 7375 8689 9855\\, exp 12/27",
            "Mastercard & 5425 2334 3010 9903\\\\",
        ] {
            let f = run(text);
            assert_eq!(f.count("credit_card", Confidence::Medium), 1, "{text}");
        }
        // A CVV with the card's own grouping, and an Amex with its CID.
        let f = run("4556 7375 8689 9855 123 and 3739 825979 19073 4821");
        assert_eq!(f.count("credit_card", Confidence::Medium), 2);
        assert_eq!(
            f.get("credit_card").unwrap().samples,
            vec!["4556 **** **** 9855", "3739 **** **** 9073"]
        );
        // Four digits after sixteen are a longer number, not a CID; other
        // backslashes still join (a path, an escape).
        for text in [
            "ref 4556 7375 8689 9855 1234 end",
            "C:\\4556737586899855\\x",
            "4556737586899855\\n",
        ] {
            let f = run(text);
            assert_eq!(f.count("credit_card", Confidence::Low), 0, "{text}");
        }
    }

    /// Issue 15 follow-up (b, d): a US driver's license number is reported
    /// only with a keyword nearby; its layouts alone are everyday numbers.
    #[test]
    fn us_drivers_license_is_keyword_gated() {
        for v in [
            "D1234568",
            "W426-545-30-761-0",
            "S530-4128-3367",
            "12345678",
        ] {
            let f = run(&format!("Driver's License: {v}"));
            assert_eq!(f.count("us_drivers_license", Confidence::Medium), 1, "{v}");
            let f = run(&format!("see {v} attached"));
            assert_eq!(f.count("us_drivers_license", Confidence::Low), 0, "{v}");
        }
        let f = run("driver license 11111111");
        assert_eq!(
            f.count("us_drivers_license", Confidence::Low),
            0,
            "all same"
        );
    }

    /// Issue 15 follow-up (b): a BIC is read only after its label; the
    /// same word in prose is not a finding.
    #[test]
    fn swift_bic_only_after_its_label() {
        for text in [
            "BIC: DEUTDEFF",
            "SWIFT code: DEUTDEFF500",
            "IBAN DE89 3704 0044 0532 0130 00, BIC/SWIFT : COBADEFFXXX",
            "Swift-Code: BNPAFRPP",
            "bic:AGRIFRPP882",
        ] {
            let f = run(text);
            assert_eq!(f.count("swift_bic", Confidence::Medium), 1, "{text}");
            assert_eq!(f.count("swift_bic", Confidence::High), 0, "{text}");
        }
        for text in [
            "transfer via DEUTDEFF today",
            "Deutsche Bank DEUTDEFF500 branch",
            "BIC: DEUTDE00",
            "BIC: ABCDZZ12",
            "BIC: deutdeff",
            "Bank code: DEUTDEFF",
            "BIC: DEUTDEFF5",
            "SWIFT: XXXXDEXXXXX",
        ] {
            let f = run(text);
            assert_eq!(f.count("swift_bic", Confidence::Low), 0, "{text}");
        }
    }
}
