//! What a scan reports, and the fixed-size accumulators that build it.
//!
//! The accumulators live in the [`crate::Scanner`] and never grow: distinct
//! values are remembered as 64-bit hashes in an open-addressed table sized at
//! construction, samples are already redacted when stored, and locations are
//! fixed-capacity strings. [`Findings`] is the owned result handed out by
//! `finish()`; it is built once per message and is the only allocation on the
//! result path.

use std::fmt;

use serde::Serialize;

use crate::limits::{
    Limits, DISTINCT_TABLE_SHARE, MAX_ATTACHMENTS_LISTED, MAX_LOCATION_BYTES,
    MAX_UNSCANNABLE_LISTED, NOTED_DETECTORS,
};
use crate::tracking::{ValueKey, MAX_VALUE_TAGS};

/// How sure a detector is, as in Purview: `Low` means the pattern and
/// validator matched without supporting evidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Pattern and validator only (or a contradicting label such as "order").
    Low,
    /// The default policy threshold.
    Medium,
    /// Supported by a keyword, or a format that is unambiguous alone.
    High,
}

impl Confidence {
    fn tag(self) -> u64 {
        self as u64 + 1
    }
    fn from_tag(tag: u64) -> Confidence {
        match tag {
            3 => Confidence::High,
            2 => Confidence::Medium,
            _ => Confidence::Low,
        }
    }
    /// Lowercase name, as used in the config and the JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

impl fmt::Display for Confidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why (part of) a message could not be inspected. Policies act on these as
/// Purview does on `ProcessingLimitExceeded` / `DocumentIsUnsupported`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnscannableReason {
    /// A ZIP entry is encrypted (ZipCrypto or AES).
    EncryptedArchive,
    /// An Office document is password-protected (OLE `EncryptedPackage`) or a PDF has `/Encrypt`.
    EncryptedDocument,
    /// A ZIP entry uses a compression method other than stored or deflate.
    UnsupportedCompression,
    /// A ZIP structure or deflate stream is corrupt.
    CorruptArchive,
    /// The per-message inflate budget ([`Limits::max_inflated_bytes`]) ran out.
    InflatedBytesLimit,
    /// An entry inflated beyond [`Limits::max_inflate_ratio`].
    InflateRatioLimit,
    /// An archive has more than [`Limits::max_zip_entries`] entries.
    ZipEntriesLimit,
    /// Archives nest deeper than [`Limits::max_zip_nesting`].
    ZipNestingLimit,
    /// Multiparts/forwards nest deeper than [`Limits::max_mime_depth`].
    MimeDepthLimit,
    /// More than [`Limits::max_parts`] MIME parts.
    PartsLimit,
    /// A header block exceeds [`Limits::max_header_bytes`].
    HeaderTooLarge,
    /// A line exceeds [`Limits::max_line_bytes`] (it was still scanned).
    LineTooLong,
    /// Base64 with characters outside the alphabet, or data after padding.
    CorruptBase64,
    /// Quoted-printable with `=` not followed by two hex digits or a line break.
    CorruptQuotedPrintable,
    /// A charset label encoding_rs does not know; the text was read as UTF-8.
    UnknownCharset,
    /// A multipart boundary was longer than the tolerated maximum.
    BoundaryTooLong,
    /// The message ended inside a multipart (no closing boundary).
    Truncated,
    /// PDF text drawn with glyph codes whose font or ToUnicode map could not
    /// be resolved (a table limit, an unmapped code).
    PdfGlyphText,
    /// A file that starts with `%PDF` but holds no indirect object: only its
    /// strings were read, so bare text in it was not.
    CorruptPdf,
    /// A part or entry that starts with an image format's magic bytes but
    /// does not parse as that format. Its bytes were read as text, so this
    /// is reported for the record, not as skipped content.
    MalformedImage,
    /// A 7-Zip archive (known by its signature): no reader opens it.
    SevenZipArchive,
    /// A RAR archive (RAR 4 or 5 signature): no reader opens it.
    RarArchive,
    /// An OLE compound file (legacy Office, Outlook) whose container or
    /// streams do not parse (bad header, FAT cycle, a piece table or record
    /// pointing outside its stream).
    CorruptDocument,
    /// An OLE compound file larger than the buffer it is read in
    /// ([`crate::limits::OLE_BUFFER_BYTES`]); read as raw bytes only.
    DocumentTooLarge,
    /// Messages or documents embedded deeper than
    /// [`crate::limits::MAX_OLE_NESTING`], or a compound file inside an
    /// archive inside a compound file (one buffer per scanner).
    DocumentNestingLimit,
    /// A `message/partial` part (RFC 2046 section 5.2.2): one fragment of a
    /// message sent in pieces, which the recipient's client joins. Each
    /// fragment is read, but a value cut between two messages is in none.
    PartialMessage,
}

impl UnscannableReason {
    /// Stable snake_case name.
    pub fn as_str(self) -> &'static str {
        use UnscannableReason::*;
        match self {
            EncryptedArchive => "encrypted_archive",
            EncryptedDocument => "encrypted_document",
            UnsupportedCompression => "unsupported_compression",
            CorruptArchive => "corrupt_archive",
            InflatedBytesLimit => "inflated_bytes_limit",
            InflateRatioLimit => "inflate_ratio_limit",
            ZipEntriesLimit => "zip_entries_limit",
            ZipNestingLimit => "zip_nesting_limit",
            MimeDepthLimit => "mime_depth_limit",
            PartsLimit => "parts_limit",
            HeaderTooLarge => "header_too_large",
            LineTooLong => "line_too_long",
            CorruptBase64 => "corrupt_base64",
            CorruptQuotedPrintable => "corrupt_quoted_printable",
            UnknownCharset => "unknown_charset",
            BoundaryTooLong => "boundary_too_long",
            Truncated => "truncated",
            PdfGlyphText => "pdf_glyph_text",
            CorruptPdf => "corrupt_pdf",
            MalformedImage => "malformed_image",
            SevenZipArchive => "sevenzip_archive",
            RarArchive => "rar_archive",
            CorruptDocument => "corrupt_document",
            DocumentTooLarge => "document_too_large",
            DocumentNestingLimit => "document_nesting_limit",
            PartialMessage => "partial_message",
        }
    }

    /// Every reason, in declaration order: what a rule's
    /// `unscannable_reasons` may name.
    pub const ALL: &'static [UnscannableReason] = {
        use UnscannableReason::*;
        &[
            EncryptedArchive,
            EncryptedDocument,
            UnsupportedCompression,
            CorruptArchive,
            InflatedBytesLimit,
            InflateRatioLimit,
            ZipEntriesLimit,
            ZipNestingLimit,
            MimeDepthLimit,
            PartsLimit,
            HeaderTooLarge,
            LineTooLong,
            CorruptBase64,
            CorruptQuotedPrintable,
            UnknownCharset,
            BoundaryTooLong,
            Truncated,
            PdfGlyphText,
            CorruptPdf,
            MalformedImage,
            SevenZipArchive,
            RarArchive,
            CorruptDocument,
            DocumentTooLarge,
            DocumentNestingLimit,
            PartialMessage,
        ]
    };

    /// The reason named `name` (its [`UnscannableReason::as_str`]).
    pub fn from_name(name: &str) -> Option<UnscannableReason> {
        Self::ALL.iter().copied().find(|r| r.as_str() == name)
    }

    /// Whether this reason means content was actually skipped. `LineTooLong`,
    /// `Truncated` and `MalformedImage` are reported but everything was
    /// still inspected.
    pub fn skipped_content(self) -> bool {
        !matches!(
            self,
            UnscannableReason::LineTooLong
                | UnscannableReason::Truncated
                | UnscannableReason::MalformedImage
        )
    }
}

impl fmt::Display for UnscannableReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Distinct-value counts at each confidence floor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Distinct values at any confidence.
    pub low: u32,
    /// Distinct values whose best confidence is medium or high.
    pub medium: u32,
    /// Distinct values whose best confidence is high.
    pub high: u32,
}

impl Counts {
    /// Distinct values at `min` confidence or above.
    pub fn at(&self, min: Confidence) -> u32 {
        match min {
            Confidence::Low => self.low,
            Confidence::Medium => self.medium,
            Confidence::High => self.high,
        }
    }
}

/// What one detector, dictionary or pattern found in a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DetectorFinding {
    /// Stable name used in the config (`credit_card`, a dictionary name...).
    pub name: String,
    /// Distinct values per confidence floor.
    pub counts: Counts,
    /// Highest confidence of any value.
    pub confidence: Confidence,
    /// True when more distinct values were seen than [`Limits::max_distinct`]:
    /// the counts are then a lower bound.
    pub count_is_lower_bound: bool,
    /// Where: part path and file name, e.g. `2/attachment q3.xlsx`.
    pub locations: Vec<String>,
    /// A few redacted samples (`4111 **** **** 1111`); never a full value.
    pub samples: Vec<String>,
    /// Keyed tags of the first [`crate::MAX_VALUE_TAGS`] distinct values (see
    /// [`crate::tracking`]); empty unless the scanner was given a key
    /// ([`crate::Scanner::track_values`]). Not in the JSON: a tag is an
    /// identifier for the appliance's own counts, not evidence for a reader.
    #[serde(skip)]
    pub value_tags: Vec<u64>,
    /// For a fingerprint set (`doc:SET`): the protected document the message is closest to
    /// and how much of it the message carries; `None` for every other detector.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub similarity: Option<Similarity>,
}

/// How much of a protected document a message carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Similarity {
    /// The document's name, as it was added to the set.
    pub document: String,
    /// Its distinct fingerprints the message carries.
    pub matched: u32,
    /// Its distinct fingerprints.
    pub of: u32,
}

impl Similarity {
    /// `matched / of`, 0 to 1.
    pub fn share(&self) -> f64 {
        if self.of == 0 {
            0.0
        } else {
            f64::from(self.matched) / f64::from(self.of)
        }
    }
}

/// One piece of the message that was not (fully) inspected.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Unscannable {
    /// Why.
    pub reason: UnscannableReason,
    /// Where (part path and file name).
    pub location: String,
}

/// A MIME leaf part that is an attachment or not text, for policies on
/// attachment types and sizes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Attachment {
    /// Part path and file name.
    pub location: String,
    /// File name from Content-Disposition/Content-Type (RFC 2231/2047 decoded).
    pub file_name: String,
    /// Content-Type as declared by the sender.
    pub declared_type: String,
    /// Type found by content sniffing (`zip`, `docx`, `xlsx`, `pdf`, `text`...).
    pub detected_type: String,
    /// Bytes after transfer decoding.
    pub size: u64,
}

/// Everything one message produced. Full sensitive values are never here.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Findings {
    /// Detectors with at least one match, in engine order.
    pub detectors: Vec<DetectorFinding>,
    /// Parts that were not fully inspected, with reasons (at most 16 listed).
    pub unscannable: Vec<Unscannable>,
    /// All unscannable events, including those not listed.
    pub unscannable_total: u32,
    /// Every distinct reason reported, including those whose entries did
    /// not fit in [`Findings::unscannable`]: sixteen harmless entries in
    /// front (damaged logos, say) must not hide an encrypted archive.
    pub reasons: Vec<UnscannableReason>,
    /// Attachments seen (at most 64 listed).
    pub attachments: Vec<Attachment>,
    /// All attachments, including those not listed.
    pub attachments_total: u32,
    /// MIME parts walked.
    pub parts: u32,
    /// Bytes fed.
    pub bytes: u64,
}

impl Findings {
    /// For a fingerprint set `doc:SET`: the share of its closest document the message
    /// carries (0 when none, or for any other name).
    pub fn similarity(&self, name: &str) -> f64 {
        self.get(name)
            .and_then(|d| d.similarity.as_ref())
            .map_or(0.0, Similarity::share)
    }

    /// Distinct values found by `name` at `min_conf` or above (0 if none or unknown).
    pub fn count(&self, name: &str, min_conf: Confidence) -> u32 {
        self.get(name).map_or(0, |d| d.counts.at(min_conf))
    }

    /// The finding of one detector, if it matched.
    pub fn get(&self, name: &str) -> Option<&DetectorFinding> {
        self.detectors.iter().find(|d| d.name == name)
    }

    /// Whether any part could not be fully inspected (a limit, encryption,
    /// corruption). `line_too_long` and `truncated` do not count: the content
    /// was still scanned; they stay visible in [`Findings::unscannable`].
    pub fn is_unscannable(&self) -> bool {
        self.all_reasons().any(UnscannableReason::skipped_content)
    }

    /// Whether a given reason was reported.
    pub fn has_reason(&self, reason: UnscannableReason) -> bool {
        self.all_reasons().any(|r| r == reason)
    }

    /// Every reported reason: listed entries and [`Findings::reasons`].
    pub fn all_reasons(&self) -> impl Iterator<Item = UnscannableReason> + '_ {
        self.unscannable
            .iter()
            .map(|u| u.reason)
            .chain(self.reasons.iter().copied())
    }
}

/// A string of at most `N` bytes stored inline; pushes past `N` are cut at a
/// character boundary. Used for locations and samples so the scanner's state
/// has a fixed size.
#[derive(Clone, Copy)]
pub(crate) struct FixedStr<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> FixedStr<N> {
    pub(crate) const fn new() -> Self {
        FixedStr {
            buf: [0; N],
            len: 0,
        }
    }
    pub(crate) fn clear(&mut self) {
        self.len = 0;
    }
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
    pub(crate) fn as_str_lossy(&self) -> String {
        String::from_utf8_lossy(self.as_bytes()).into_owned()
    }
    pub(crate) fn push_bytes(&mut self, s: &[u8]) {
        let room = N - self.len;
        let mut take = s.len().min(room);
        // Never cut inside a UTF-8 sequence.
        while take < s.len() && take > 0 && (s[take] & 0xC0) == 0x80 {
            take -= 1;
        }
        self.buf[self.len..self.len + take].copy_from_slice(&s[..take]);
        self.len += take;
    }
    pub(crate) fn push_str(&mut self, s: &str) {
        self.push_bytes(s.as_bytes());
    }
    pub(crate) fn push_u32(&mut self, mut v: u32) {
        let mut tmp = [0u8; 10];
        let mut i = tmp.len();
        loop {
            i -= 1;
            tmp[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.push_bytes(&tmp[i..]);
    }
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

// Samples and locations may be sensitive-adjacent; Debug shows lengths only.
impl<const N: usize> fmt::Debug for FixedStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FixedStr({} bytes)", self.len)
    }
}

pub(crate) type Location = FixedStr<MAX_LOCATION_BYTES>;
/// Redacted samples are short by construction ("4111 **** **** 1111").
pub(crate) type Sample = FixedStr<48>;

/// Distinct values of every detector in one open-addressed table of 64-bit
/// keys: hash bits, the detector id, a marker bit and the best confidence
/// (1..=3) in the low bits; 0 marks an empty slot. One shared table, not one
/// per detector, because the catalogue has hundreds of detectors and a
/// message meets a handful: per-detector tables cost 8 KiB each and would
/// not fit the per-slot budget.
const DET_SHIFT: u32 = 3;
const DET_BITS: u32 = 16;
const HASH_KEEP: u64 = !((1u64 << (DET_SHIFT + DET_BITS)) - 1);

/// Per-detector counters; samples and locations live in a [`Notes`] taken
/// from a shared pool when the detector first reports in a message.
#[derive(Clone, Copy, Default)]
struct DetStat {
    distinct: u32,
    saturated: bool,
    /// Index into `Acc::notes`, or `NO_NOTES`.
    notes: u16,
}

const NO_NOTES: u16 = u16::MAX;

/// Redacted samples and locations of one detector.
struct Notes {
    samples: Box<[Sample]>,
    n_samples: usize,
    locations: Box<[Location]>,
    n_locations: usize,
    /// Keyed tags of the detector's first distinct values.
    tags: Box<[u64]>,
    n_tags: usize,
}

impl Notes {
    fn new(limits: &Limits) -> Notes {
        Notes {
            samples: vec![Sample::new(); limits.max_samples].into_boxed_slice(),
            n_samples: 0,
            locations: vec![Location::new(); limits.max_locations].into_boxed_slice(),
            n_locations: 0,
            tags: vec![0; MAX_VALUE_TAGS].into_boxed_slice(),
            n_tags: 0,
        }
    }

    fn bytes(&self) -> usize {
        self.samples.len() * std::mem::size_of::<Sample>()
            + self.locations.len() * std::mem::size_of::<Location>()
            + std::mem::size_of_val(&*self.tags)
    }
}

/// The distinct-value table and per-detector counters of all detectors.
pub(crate) struct DetAcc {
    slots: Box<[u64]>,
    /// Values in the table, all detectors together.
    total: usize,
    /// Values the table takes before further new values saturate their
    /// detector (half its slots, so probes stay short).
    capacity: usize,
    max_distinct: usize,
    stats: Box<[DetStat]>,
    notes: Box<[Notes]>,
    n_notes: usize,
}

impl DetAcc {
    fn new(n_detectors: usize, limits: &Limits) -> DetAcc {
        assert!(
            n_detectors < (1 << DET_BITS),
            "detector ids fit the table key"
        );
        let max_distinct = limits.max_distinct.max(1);
        let capacity = max_distinct * DISTINCT_TABLE_SHARE;
        let slots = (capacity * 2).next_power_of_two();
        DetAcc {
            slots: vec![0u64; slots].into_boxed_slice(),
            total: 0,
            capacity,
            max_distinct,
            stats: vec![DetStat::default(); n_detectors].into_boxed_slice(),
            notes: (0..NOTED_DETECTORS.min(n_detectors))
                .map(|_| Notes::new(limits))
                .collect(),
            n_notes: 0,
        }
    }

    fn reset(&mut self) {
        // Most messages find nothing: nothing to clear (the table is 32 KiB).
        if self.total > 0 {
            self.slots.fill(0);
            self.stats.fill(DetStat::default());
            for n in &mut self.notes[..self.n_notes] {
                n.n_samples = 0;
                n.n_locations = 0;
                n.n_tags = 0;
            }
        }
        self.total = 0;
        self.n_notes = 0;
    }

    fn bytes(&self) -> usize {
        self.slots.len() * 8
            + std::mem::size_of_val(&*self.stats)
            + self.notes.iter().map(Notes::bytes).sum::<usize>()
    }

    /// Records one value of detector `det`; returns whether it was new.
    fn insert(&mut self, det: usize, hash: u64, conf: Confidence) -> bool {
        // Spread every bit of the value's hash into the kept high bits.
        let hash = hash.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (hash >> 32);
        let key = (hash & HASH_KEEP) | ((det as u64) << DET_SHIFT) | 4;
        let mask = self.slots.len() - 1;
        let mut i = ((hash >> 40) ^ (det as u64).wrapping_mul(0x9E37_79B9)) as usize & mask;
        loop {
            let slot = self.slots[i];
            if slot == 0 {
                let st = &mut self.stats[det];
                if st.distinct as usize >= self.max_distinct || self.total >= self.capacity {
                    st.saturated = true;
                    return false;
                }
                if st.distinct == 0 {
                    st.notes = if self.n_notes < self.notes.len() {
                        self.n_notes += 1;
                        (self.n_notes - 1) as u16
                    } else {
                        NO_NOTES
                    };
                }
                self.slots[i] = key | conf.tag();
                st.distinct += 1;
                self.total += 1;
                return true;
            }
            if slot & !3 == key {
                if Confidence::from_tag(slot & 3) < conf {
                    self.slots[i] = key | conf.tag();
                }
                return false;
            }
            i = (i + 1) & mask;
        }
    }

    fn notes_of(&mut self, det: usize) -> Option<&mut Notes> {
        match self.stats[det].notes {
            NO_NOTES => None,
            n => self.notes.get_mut(usize::from(n)),
        }
    }

    /// Counts and best confidence per detector, in one pass over the table.
    fn counts(&self) -> Vec<(Counts, Confidence)> {
        let mut out = vec![(Counts::default(), Confidence::Low); self.stats.len()];
        if self.total == 0 {
            return out;
        }
        for &s in self.slots.iter().filter(|&&s| s != 0) {
            let det = ((s >> DET_SHIFT) & ((1 << DET_BITS) - 1)) as usize;
            let conf = Confidence::from_tag(s & 3);
            let (c, best) = &mut out[det];
            *best = (*best).max(conf);
            c.low += 1;
            if conf >= Confidence::Medium {
                c.medium += 1;
            }
            if conf == Confidence::High {
                c.high += 1;
            }
        }
        out
    }
}

/// The fingerprints a scan saw: one bit per stored fingerprint of every loaded set (sized
/// at construction, [`crate::fingerprint::Loaded::bits`]), or, while a protected document is
/// being fingerprinted, its winnowed hashes.
pub(crate) struct FpAcc {
    bits: Box<[u64]>,
    /// Per document of one set, while its best document is looked for.
    tally: Box<[u32]>,
    pub(crate) collect: Option<Collect>,
}

/// A document's winnowed hashes as its scan finds them.
#[derive(Default)]
pub(crate) struct Collect {
    pub(crate) hashes: Vec<u64>,
    pub(crate) overflow: bool,
}

impl FpAcc {
    fn new() -> FpAcc {
        FpAcc {
            bits: Box::new([]),
            tally: Box::new([]),
            collect: None,
        }
    }

    /// Room for `bits` stored fingerprints.
    pub(crate) fn size(&mut self, bits: usize) {
        self.bits = vec![0; bits.div_ceil(64)].into_boxed_slice();
        self.tally = vec![0; crate::fingerprint::MAX_DOCUMENTS].into_boxed_slice();
    }

    /// One winnowed hash of the text: marks the stored fingerprints it is, or collects it.
    pub(crate) fn hash(&mut self, h: u64, loaded: &crate::fingerprint::Loaded) {
        if let Some(c) = &mut self.collect {
            // Repeats are dropped later; four times the limit leaves room for them.
            if c.hashes.len() < 4 * crate::fingerprint::MAX_DOCUMENT_FINGERPRINTS {
                c.hashes.push(h);
            } else {
                c.overflow = true;
            }
            return;
        }
        for (set, &off) in loaded.sets.iter().zip(&loaded.offsets) {
            for i in set.lookup(h) {
                let b = off + i;
                if let Some(w) = self.bits.get_mut(b / 64) {
                    *w |= 1 << (b % 64);
                }
            }
        }
    }

    /// One finding per set with a document in common with the message.
    pub(crate) fn findings(
        &mut self,
        loaded: &crate::fingerprint::Loaded,
        names: &[String],
    ) -> Vec<DetectorFinding> {
        let mut out = Vec::new();
        for (s, (set, &off)) in loaded.sets.iter().zip(&loaded.offsets).enumerate() {
            // The set bits of this set's range, a word at a time: a message carries few of a
            // set's fingerprints, so most words are zero.
            let (bits, end) = (&self.bits, off + set.fingerprints());
            let seen = (off / 64..end.div_ceil(64))
                .flat_map(|w| {
                    let mut word = bits.get(w).copied().unwrap_or(0);
                    std::iter::from_fn(move || {
                        (word != 0).then(|| {
                            let b = word.trailing_zeros() as usize;
                            word &= word - 1;
                            w * 64 + b
                        })
                    })
                })
                .filter(|&b| (off..end).contains(&b))
                .map(|b| b - off);
            let Some((doc, matched, of)) = set.best(seen, &mut self.tally) else {
                continue;
            };
            out.push(DetectorFinding {
                name: names.get(loaded.base + s).cloned().unwrap_or_default(),
                counts: Counts {
                    low: matched,
                    medium: matched,
                    high: matched,
                },
                confidence: Confidence::High,
                count_is_lower_bound: false,
                locations: Vec::new(),
                samples: Vec::new(),
                value_tags: Vec::new(),
                similarity: Some(Similarity {
                    document: set.name(doc).to_owned(),
                    matched,
                    of,
                }),
            });
        }
        out
    }

    fn reset(&mut self) {
        self.bits.fill(0);
        self.collect = None;
    }

    fn bytes(&self) -> usize {
        std::mem::size_of_val(&*self.bits) + std::mem::size_of_val(&*self.tally)
    }
}

/// All accumulators of one scanner, plus the current location.
pub(crate) struct Acc {
    dets: DetAcc,
    pub(crate) fp: FpAcc,
    /// The key of value tags and, per detector id, whether its values are tagged
    /// (identifiers and custom patterns; not keyword dictionaries or EDM rows).
    tracking: Option<(ValueKey, Box<[bool]>)>,
    unscannable: Box<[(UnscannableReason, Location)]>,
    n_unscannable: usize,
    unscannable_total: u32,
    /// One bit per reason (its position in [`UnscannableReason::ALL`]).
    reasons_seen: u32,
    attachments: Box<[AttachmentAcc]>,
    n_attachments: usize,
    attachments_total: u32,
    /// Part path and file name of the content being scanned now.
    pub(crate) location: Location,
    pub(crate) parts: u32,
    pub(crate) bytes: u64,
}

#[derive(Clone, Copy)]
pub(crate) struct AttachmentAcc {
    pub(crate) location: Location,
    pub(crate) name: FixedStr<128>,
    pub(crate) declared: FixedStr<96>,
    pub(crate) detected: &'static str,
    pub(crate) size: u64,
}

impl AttachmentAcc {
    pub(crate) const fn new() -> Self {
        AttachmentAcc {
            location: Location::new(),
            name: FixedStr::new(),
            declared: FixedStr::new(),
            detected: "",
            size: 0,
        }
    }
}

impl Acc {
    pub(crate) fn new(n_detectors: usize, limits: &Limits) -> Acc {
        Acc {
            dets: DetAcc::new(n_detectors, limits),
            fp: FpAcc::new(),
            tracking: None,
            unscannable: vec![
                (UnscannableReason::Truncated, Location::new());
                MAX_UNSCANNABLE_LISTED
            ]
            .into_boxed_slice(),
            n_unscannable: 0,
            unscannable_total: 0,
            reasons_seen: 0,
            attachments: vec![AttachmentAcc::new(); MAX_ATTACHMENTS_LISTED].into_boxed_slice(),
            n_attachments: 0,
            attachments_total: 0,
            location: Location::new(),
            parts: 0,
            bytes: 0,
        }
    }

    pub(crate) fn reset(&mut self) {
        self.dets.reset();
        self.fp.reset();
        self.n_unscannable = 0;
        self.unscannable_total = 0;
        self.reasons_seen = 0;
        self.n_attachments = 0;
        self.attachments_total = 0;
        self.location.clear();
        self.parts = 0;
        self.bytes = 0;
    }

    /// Tags the values of the detectors `tracked` says (by id) with `key` from now on.
    pub(crate) fn track_values(&mut self, key: ValueKey, tracked: Box<[bool]>) {
        self.tracking = Some((key, tracked));
    }

    pub(crate) fn state_bytes(&self) -> usize {
        self.dets.bytes()
            + self.fp.bytes()
            + self
                .tracking
                .as_ref()
                .map_or(0, |(_, t)| std::mem::size_of_val(&**t))
            + std::mem::size_of_val(&*self.unscannable)
            + std::mem::size_of_val(&*self.attachments)
    }

    /// Records a match. `hash` identifies the value (for distinct counts),
    /// `redacted` is the only form of it that is kept.
    pub(crate) fn report(&mut self, det: usize, hash: u64, conf: Confidence, redacted: &[u8]) {
        self.report_with(det, hash, conf, |s| s.push_bytes(redacted));
    }

    /// [`Acc::report`] for detectors whose redacted form costs something to
    /// build: `sample` writes it, and runs only when a sample is kept (a new
    /// value while sample slots are free), not on every repeated match; one
    /// that writes nothing keeps no sample.
    pub(crate) fn report_with(
        &mut self,
        det: usize,
        hash: u64,
        conf: Confidence,
        sample: impl FnOnce(&mut Sample),
    ) {
        let new = self.dets.insert(det, hash, conf);
        let Some(d) = self.dets.notes_of(det) else {
            return;
        };
        if new && d.n_tags < d.tags.len() {
            if let Some((key, tracked)) = &self.tracking {
                if tracked.get(det).copied().unwrap_or(false) {
                    d.tags[d.n_tags] = key.tag(hash);
                    d.n_tags += 1;
                }
            }
        }
        if new && d.n_samples < d.samples.len() {
            let s = &mut d.samples[d.n_samples];
            s.clear();
            sample(s);
            // A detector with no redacted form (an EDM row) writes nothing: no sample.
            if !s.as_bytes().is_empty() {
                d.n_samples += 1;
            }
        }
        let loc = self.location.as_bytes();
        if !d.locations[..d.n_locations]
            .iter()
            .any(|l| l.as_bytes() == loc)
            && d.n_locations < d.locations.len()
        {
            let l = &mut d.locations[d.n_locations];
            l.clear();
            l.push_bytes(loc);
            d.n_locations += 1;
        }
    }

    /// Records an unscannable event at the current location; one entry per
    /// (reason, location).
    pub(crate) fn unscannable(&mut self, reason: UnscannableReason) {
        self.reasons_seen |= 1 << reason as u32;
        let loc = self.location.as_bytes();
        if self.unscannable[..self.n_unscannable]
            .iter()
            .any(|(r, l)| *r == reason && l.as_bytes() == loc)
        {
            return;
        }
        self.unscannable_total += 1;
        if self.n_unscannable < self.unscannable.len() {
            let e = &mut self.unscannable[self.n_unscannable];
            e.0 = reason;
            e.1.clear();
            e.1.push_bytes(loc);
            self.n_unscannable += 1;
        }
    }

    pub(crate) fn attachment(&mut self, a: &AttachmentAcc) {
        self.attachments_total += 1;
        if self.n_attachments < self.attachments.len() {
            self.attachments[self.n_attachments] = *a;
            self.n_attachments += 1;
        }
    }

    pub(crate) fn findings(&self, names: &[String]) -> Findings {
        let mut detectors = Vec::new();
        let counts = self.dets.counts();
        for (det, name) in names.iter().enumerate().take(self.dets.stats.len()) {
            let st = self.dets.stats[det];
            if st.distinct == 0 {
                continue;
            }
            let (counts, confidence) = counts[det];
            let notes = match st.notes {
                NO_NOTES => None,
                n => self.dets.notes.get(usize::from(n)),
            };
            detectors.push(DetectorFinding {
                name: name.clone(),
                counts,
                confidence,
                count_is_lower_bound: st.saturated,
                locations: notes.map_or_else(Vec::new, |n| {
                    n.locations[..n.n_locations]
                        .iter()
                        .map(FixedStr::as_str_lossy)
                        .collect()
                }),
                samples: notes.map_or_else(Vec::new, |n| {
                    n.samples[..n.n_samples]
                        .iter()
                        .map(FixedStr::as_str_lossy)
                        .collect()
                }),
                value_tags: notes.map_or_else(Vec::new, |n| n.tags[..n.n_tags].to_vec()),
                similarity: None,
            });
        }
        Findings {
            detectors,
            unscannable: self.unscannable[..self.n_unscannable]
                .iter()
                .map(|(r, l)| Unscannable {
                    reason: *r,
                    location: l.as_str_lossy(),
                })
                .collect(),
            unscannable_total: self.unscannable_total,
            reasons: UnscannableReason::ALL
                .iter()
                .copied()
                .filter(|&r| self.reasons_seen & (1 << r as u32) != 0)
                .collect(),
            attachments: self.attachments[..self.n_attachments]
                .iter()
                .map(|a| Attachment {
                    location: a.location.as_str_lossy(),
                    file_name: a.name.as_str_lossy(),
                    declared_type: a.declared.as_str_lossy(),
                    detected_type: a.detected.to_string(),
                    size: a.size,
                })
                .collect(),
            attachments_total: self.attachments_total,
            parts: self.parts,
            bytes: self.bytes,
        }
    }
}

/// A human-readable table of one message's findings, for `cordon scan`.
pub fn render_table(f: &Findings) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "parts: {}   bytes: {}", f.parts, f.bytes);
    if f.detectors.is_empty() {
        out.push_str("no detector matched\n");
    } else {
        let _ = writeln!(
            out,
            "{:<22} {:>5} {:>6} {:>5}  {:<6}  {:<40}  samples",
            "detector", "low+", "med+", "high", "best", "locations"
        );
        for d in &f.detectors {
            // A fingerprint set has no samples: its similarity stands in their column.
            let samples = match &d.similarity {
                Some(s) => format!(
                    "similarity {:.2}: {} of the {} fingerprints of {}",
                    s.share(),
                    s.matched,
                    s.of,
                    s.document
                ),
                None => d.samples.join(" | "),
            };
            let _ = writeln!(
                out,
                "{:<22} {:>4}{} {:>6} {:>5}  {:<6}  {:<40}  {}",
                d.name,
                d.counts.low,
                if d.count_is_lower_bound { "+" } else { " " },
                d.counts.medium,
                d.counts.high,
                d.confidence.as_str(),
                d.locations.join(", "),
                samples
            );
        }
    }
    if !f.unscannable.is_empty() {
        let _ = writeln!(out, "unscannable ({} total):", f.unscannable_total);
        for u in &f.unscannable {
            let _ = writeln!(out, "  {:<26} {}", u.reason.as_str(), u.location);
        }
    }
    if !f.attachments.is_empty() {
        // Images are named by format only once they parsed (`image.rs`).
        let images = f
            .attachments
            .iter()
            .filter(|a| matches!(a.detected_type.as_str(), "png" | "jpeg" | "gif"))
            .count();
        let _ = writeln!(
            out,
            "attachments ({} total, {images} well-formed images listed):",
            f.attachments_total
        );
        for a in &f.attachments {
            let _ = writeln!(
                out,
                "  {:<30} declared {:<28} detected {:<6} {} bytes",
                a.location, a.declared_type, a.detected_type, a.size
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_counts_keep_best_confidence() {
        let mut acc = Acc::new(1, &Limits::default());
        acc.report(0, 42, Confidence::Low, b"a");
        acc.report(0, 42, Confidence::High, b"a");
        acc.report(0, 43, Confidence::Medium, b"b");
        let f = acc.findings(&["x".to_string()]);
        assert_eq!(f.count("x", Confidence::Low), 2);
        assert_eq!(f.count("x", Confidence::Medium), 2);
        assert_eq!(f.count("x", Confidence::High), 1);
        assert_eq!(f.detectors[0].samples, vec!["a", "b"]);
    }

    #[test]
    fn distinct_table_saturates_instead_of_growing() {
        let limits = Limits {
            max_distinct: 4,
            ..Limits::default()
        };
        let mut acc = Acc::new(1, &limits);
        let before = acc.state_bytes();
        for v in 0..100u64 {
            acc.report(
                0,
                v.wrapping_mul(0x9E37_79B9_7F4A_7C15),
                Confidence::Medium,
                b"s",
            );
        }
        let f = acc.findings(&["x".to_string()]);
        assert_eq!(f.count("x", Confidence::Low), 4);
        assert!(f.detectors[0].count_is_lower_bound);
        assert_eq!(acc.state_bytes(), before);
    }

    #[test]
    fn every_reason_is_listed_once_and_named_back() {
        for (i, r) in UnscannableReason::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i, "ALL is in declaration order");
            assert_eq!(UnscannableReason::from_name(r.as_str()), Some(*r));
        }
        assert_eq!(
            UnscannableReason::ALL.len(),
            UnscannableReason::PartialMessage as usize + 1
        );
        assert_eq!(UnscannableReason::from_name("nope"), None);
        assert!(UnscannableReason::ALL.len() <= 32, "reasons_seen is a u32");
    }

    #[test]
    fn a_full_list_does_not_hide_a_reason() {
        let mut acc = Acc::new(1, &Limits::default());
        for i in 0..MAX_UNSCANNABLE_LISTED as u32 {
            acc.location.clear();
            acc.location.push_u32(i);
            acc.unscannable(UnscannableReason::MalformedImage);
        }
        acc.location.clear();
        acc.location.push_str("99/secret.zip");
        acc.unscannable(UnscannableReason::EncryptedArchive);
        let f = acc.findings(&["x".to_string()]);
        assert_eq!(f.unscannable.len(), MAX_UNSCANNABLE_LISTED);
        assert_eq!(f.unscannable_total, MAX_UNSCANNABLE_LISTED as u32 + 1);
        assert!(f.has_reason(UnscannableReason::EncryptedArchive));
        assert!(f.is_unscannable());
        assert_eq!(
            f.reasons,
            [
                UnscannableReason::EncryptedArchive,
                UnscannableReason::MalformedImage
            ]
        );
    }

    #[test]
    fn fixed_str_cuts_at_char_boundary() {
        let mut s = FixedStr::<4>::new();
        s.push_str("abé"); // 4 bytes exactly
        assert_eq!(s.as_bytes(), "abé".as_bytes());
        let mut t = FixedStr::<3>::new();
        t.push_str("abé");
        assert_eq!(t.as_bytes(), b"ab");
    }
}
