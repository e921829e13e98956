//! Document fingerprints (issue 20, item 3): protected documents (a contract template, a board
//! deck) are reduced to keyed winnowing fingerprints ([`winnow`]); a message whose text
//! carries a share of one document's fingerprints scores that share as its similarity to the
//! document, and a rule's `match = "doc:SET"` with `min_similarity` acts on it.
//!
//! - **Keyed.** A stored fingerprint is SipHash-1-3, under the set's secret 128-bit key, of a
//!   winnowed k-gram hash. Without the key the stored values say nothing about the text (a
//!   guessed phrase cannot be checked against them); the key stays on the appliance.
//! - **A set** ([`Set`]) is up to [`MAX_DOCUMENTS`] documents, each with its distinct
//!   fingerprints. Matching keeps one bit per stored fingerprint for the message being
//!   scanned, so a phrase repeated a hundred times counts once, and the similarity to a
//!   document is the share of its fingerprints the message carries. The finding names the
//!   best document and its share (`doc:contracts: 34% of msa-template.docx`).
//! - **Stored** as a bundle ([`encode`], [`Set::decode`]): magic, version, the key-check
//!   value, the documents' names and counts, their sorted fingerprints, and a SipHash-2-4 MAC
//!   under the key over all of it. A bundle with another key, cut short, or with one bit
//!   flipped is refused whole.
//!
//! The text fingerprinted is the text the detectors see (charsets decoded, HTML stripped,
//! Office, PDF, archives and attachments read by the engine's own readers), so a protected
//! document is recognised inside a PDF, a docx or a zip as in a text body. Building a set's
//! document (on the appliance, from an upload through the config port) runs the same readers:
//! [`crate::Engine::document_fingerprints`].

pub mod winnow;

use std::hash::Hasher;

use siphasher::sip::{SipHasher13, SipHasher24};

pub use winnow::{GUARANTEE, K, W};

/// Bytes of a set's key.
pub const KEY_BYTES: usize = 16;

/// Documents one set may hold: a folder of templates, not a document library (each one is a
/// share computed per message, and a set's list fits one config-port reply).
pub const MAX_DOCUMENTS: usize = 64;

/// Distinct fingerprints one document may have: about 1.2 MB of normalised text (a long
/// contract is 100 KB). A larger document is refused rather than cut, so its similarity stays
/// meaningful.
pub const MAX_DOCUMENT_FINGERPRINTS: usize = 140_000;

/// Fingerprints all loaded sets may hold together: a scan keeps one bit per stored
/// fingerprint (32 KiB at most, inside the scanner's budgeted state, which a test in
/// cordon-proxy checks), and 262,144 fingerprints are about 2.2 MB of protected text: a
/// hundred long contracts.
pub const MAX_TOTAL_FINGERPRINTS: usize = 1 << 18;

/// Longest document name kept (a file name, shown in findings and listed over the config
/// port).
pub const MAX_DOCUMENT_NAME: usize = 64;

/// Bytes of memory one stored fingerprint takes when loaded: its keyed value and its
/// document's number.
pub const BYTES_PER_FINGERPRINT: usize = 8 + 2;

const MAGIC: &[u8; 8] = b"CORDONFP";
const VERSION: u16 = 1;
const MAC_BYTES: usize = 8;

/// A set's secret key.
#[derive(Clone, PartialEq, Eq)]
pub struct FpKey([u8; KEY_BYTES]);

impl std::fmt::Debug for FpKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FpKey(..)")
    }
}

impl FpKey {
    pub fn from_bytes(bytes: [u8; KEY_BYTES]) -> FpKey {
        FpKey(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; KEY_BYTES] {
        &self.0
    }

    /// The stored form of a winnowed hash.
    pub(crate) fn keyed(&self, hash: u64) -> u64 {
        let mut h = SipHasher13::new_with_key(&self.0);
        h.write_u64(hash);
        h.finish()
    }

    /// Identifies the key without revealing it: a bundle made under another key is refused
    /// by this before anything else.
    fn check_value(&self) -> u64 {
        let mut h = SipHasher24::new_with_key(&self.0);
        h.write(b"cordon fingerprint key check");
        h.finish()
    }

    fn mac(&self, bytes: &[u8]) -> u64 {
        let mut h = SipHasher24::new_with_key(&self.0);
        h.write(b"cordon fingerprint bundle");
        h.write(bytes);
        h.finish()
    }
}

/// The detector name of set `name`: `doc:NAME`.
pub fn detector_name(name: &str) -> String {
    format!("doc:{name}")
}

/// A set name: 1 to 32 lower-case letters, digits, `_` or `-`, starting with a letter (as
/// EDM tables; it is a file name on the appliance and part of a detector name).
pub fn valid_set_name(name: &str) -> bool {
    crate::edm::valid_table_name(name)
}

/// Why a bundle was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetFault {
    #[error("not a fingerprint bundle (bad magic or version)")]
    Format,
    #[error("made with another key")]
    WrongKey,
    #[error("cut short or damaged at byte {0}")]
    Truncated(usize),
    #[error("its check value does not match (corrupt or altered)")]
    Mac,
    #[error("inconsistent: {0}")]
    Inconsistent(&'static str),
}

/// One protected document of a set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub name: String,
    /// Its distinct keyed fingerprints, sorted.
    pub fingerprints: Vec<u64>,
}

/// A loaded set: every document's fingerprints in one sorted index.
pub struct Set {
    key: FpKey,
    names: Vec<String>,
    counts: Vec<u32>,
    /// Keyed fingerprints, sorted; `doc[i]` is the document `values[i]` belongs to.
    values: Vec<u64>,
    doc: Vec<u16>,
}

impl std::fmt::Debug for Set {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Set")
            .field("documents", &self.names.len())
            .field("fingerprints", &self.values.len())
            .finish()
    }
}

/// The bundle of `documents` under `key` (each document's fingerprints sorted and distinct,
/// as [`Set::documents`] and [`crate::Engine::document_fingerprints`] give them).
pub fn encode(key: &FpKey, documents: &[Document]) -> Result<Vec<u8>, SetFault> {
    if documents.len() > MAX_DOCUMENTS {
        return Err(SetFault::Inconsistent("more documents than a set holds"));
    }
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(documents.len() as u16).to_le_bytes());
    out.extend_from_slice(&key.check_value().to_le_bytes());
    for d in documents {
        let name = d.name.as_bytes();
        if name.is_empty() || name.len() > MAX_DOCUMENT_NAME {
            return Err(SetFault::Inconsistent(
                "a document name is empty or too long",
            ));
        }
        if d.fingerprints.len() > MAX_DOCUMENT_FINGERPRINTS
            || !d.fingerprints.windows(2).all(|w| w[0] < w[1])
        {
            return Err(SetFault::Inconsistent(
                "a document's fingerprints are too many or not sorted",
            ));
        }
        out.push(name.len() as u8);
        out.extend_from_slice(name);
        out.extend_from_slice(&(d.fingerprints.len() as u32).to_le_bytes());
    }
    for d in documents {
        for v in &d.fingerprints {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    let mac = key.mac(&out);
    out.extend_from_slice(&mac.to_le_bytes());
    Ok(out)
}

/// A bundle of `layout` (what follows the key check value: names, counts, fingerprints)
/// for `documents` under `key`, with a valid header and check value: what the fuzz target
/// feeds [`Set::decode`] so that the layout parser is reached past the check value.
#[doc(hidden)]
pub fn seal(key: &FpKey, documents: u16, layout: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&documents.to_le_bytes());
    out.extend_from_slice(&key.check_value().to_le_bytes());
    out.extend_from_slice(layout);
    let mac = key.mac(&out);
    out.extend_from_slice(&mac.to_le_bytes());
    out
}

/// Reads `N` bytes at `*at`.
fn take<const N: usize>(bytes: &[u8], at: &mut usize) -> Result<[u8; N], SetFault> {
    let end = at.checked_add(N).ok_or(SetFault::Truncated(*at))?;
    let v = bytes
        .get(*at..end)
        .ok_or(SetFault::Truncated(*at))?
        .try_into()
        .map_err(|_| SetFault::Truncated(*at))?;
    *at = end;
    Ok(v)
}

impl Set {
    /// Decodes and checks a bundle whole.
    pub fn decode(bytes: &[u8], key: &FpKey) -> Result<Set, SetFault> {
        let mut at = 0;
        if take::<8>(bytes, &mut at)? != *MAGIC
            || u16::from_le_bytes(take(bytes, &mut at)?) != VERSION
        {
            return Err(SetFault::Format);
        }
        let n = usize::from(u16::from_le_bytes(take(bytes, &mut at)?));
        if u64::from_le_bytes(take(bytes, &mut at)?) != key.check_value() {
            return Err(SetFault::WrongKey);
        }
        let body = bytes
            .len()
            .checked_sub(MAC_BYTES)
            .ok_or(SetFault::Truncated(at))?;
        if u64::from_le_bytes(take(&bytes[body..], &mut 0)?) != key.mac(&bytes[..body]) {
            return Err(SetFault::Mac);
        }
        if n > MAX_DOCUMENTS {
            return Err(SetFault::Inconsistent("more documents than a set holds"));
        }
        let mut names = Vec::with_capacity(n);
        let mut counts = Vec::with_capacity(n);
        for _ in 0..n {
            let len = usize::from(take::<1>(bytes, &mut at)?[0]);
            let name = bytes.get(at..at + len).ok_or(SetFault::Truncated(at))?;
            at += len;
            let name = std::str::from_utf8(name)
                .map_err(|_| SetFault::Inconsistent("a document name is not UTF-8"))?;
            let count = u32::from_le_bytes(take(bytes, &mut at)?) as usize;
            // The writer's limits (`encode`): a bundle it could not have written is refused,
            // so every set that loads can be written back (the fuzz target's round trip found
            // a 116-byte name read back that `encode` then refused).
            if name.is_empty()
                || name.len() > MAX_DOCUMENT_NAME
                || count > MAX_DOCUMENT_FINGERPRINTS
            {
                return Err(SetFault::Inconsistent("a document's name or count"));
            }
            names.push(name.to_owned());
            counts.push(count as u32);
        }
        let total: usize = counts.iter().map(|&c| c as usize).sum();
        if body.checked_sub(at) != Some(total * 8) {
            return Err(SetFault::Inconsistent(
                "the fingerprints do not fill the bundle",
            ));
        }
        let mut pairs = Vec::with_capacity(total);
        for (d, &count) in counts.iter().enumerate() {
            let mut last = None;
            for _ in 0..count {
                let v = u64::from_le_bytes(take(bytes, &mut at)?);
                if last.is_some_and(|l| l >= v) {
                    return Err(SetFault::Inconsistent(
                        "a document's fingerprints are not sorted",
                    ));
                }
                last = Some(v);
                pairs.push((v, d as u16));
            }
        }
        pairs.sort_unstable();
        Ok(Set {
            key: key.clone(),
            names,
            counts,
            values: pairs.iter().map(|p| p.0).collect(),
            doc: pairs.iter().map(|p| p.1).collect(),
        })
    }

    /// Documents in the set.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Stored fingerprints (over every document).
    pub fn fingerprints(&self) -> usize {
        self.values.len()
    }

    /// Bytes the loaded set holds.
    pub fn memory_bytes(&self) -> usize {
        self.values.len() * BYTES_PER_FINGERPRINT
            + self.names.iter().map(|n| n.len() + 24 + 4).sum::<usize>()
    }

    /// Each document's name and fingerprint count.
    pub fn document_counts(&self) -> impl Iterator<Item = (&str, u32)> {
        self.names
            .iter()
            .map(String::as_str)
            .zip(self.counts.iter().copied())
    }

    /// The documents back, each with its sorted fingerprints (to add or replace one and
    /// encode the set again).
    pub fn documents(&self) -> Vec<Document> {
        let mut docs: Vec<Document> = self
            .names
            .iter()
            .map(|n| Document {
                name: n.clone(),
                fingerprints: Vec::new(),
            })
            .collect();
        for (v, d) in self.values.iter().zip(&self.doc) {
            docs[usize::from(*d)].fingerprints.push(*v);
        }
        docs
    }

    /// The set's key.
    pub fn key(&self) -> &FpKey {
        &self.key
    }

    /// The stored entries (indexes into this set) equal to the keyed form of `hash`.
    pub(crate) fn lookup(&self, hash: u64) -> std::ops::Range<usize> {
        let v = self.key.keyed(hash);
        let lo = self.values.partition_point(|&x| x < v);
        let hi = lo + self.values[lo..].partition_point(|&x| x == v);
        lo..hi
    }

    /// The best document for the entries `seen` (one bit per stored entry, from bit 0 of
    /// this set): its number, matched count and total.
    pub(crate) fn best(
        &self,
        seen: impl Iterator<Item = usize>,
        tally: &mut [u32],
    ) -> Option<(usize, u32, u32)> {
        let tally = &mut tally[..self.names.len()];
        tally.fill(0);
        for i in seen {
            if let Some(&d) = self.doc.get(i) {
                tally[usize::from(d)] += 1;
            }
        }
        // The highest share; among equal shares the document with more matched.
        (0..self.names.len())
            .filter(|&d| tally[d] > 0 && self.counts[d] > 0)
            .max_by(|&a, &b| {
                let (ma, ta) = (u64::from(tally[a]), u64::from(self.counts[a]));
                let (mb, tb) = (u64::from(tally[b]), u64::from(self.counts[b]));
                (ma * tb).cmp(&(mb * ta)).then(ma.cmp(&mb))
            })
            .map(|d| (d, tally[d], self.counts[d]))
    }

    /// Document `d`'s name.
    pub(crate) fn name(&self, d: usize) -> &str {
        &self.names[d]
    }
}

/// The sets an engine matches against: detector ids from `base`, and each set's first bit
/// in a scan's bitset (one bit per stored fingerprint over all sets).
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    pub(crate) sets: Vec<std::sync::Arc<Set>>,
    pub(crate) base: usize,
    pub(crate) offsets: Vec<usize>,
    pub(crate) bits: usize,
}

impl Loaded {
    pub(crate) fn new(sets: Vec<std::sync::Arc<Set>>, base: usize) -> Loaded {
        let mut offsets = Vec::with_capacity(sets.len());
        let mut bits = 0;
        for s in &sets {
            offsets.push(bits);
            bits += s.fingerprints();
        }
        Loaded {
            sets,
            base,
            offsets,
            bits,
        }
    }
}

/// Why a document cannot be fingerprinted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentFault {
    #[error("no text of at least {GUARANTEE} letters and digits was found in it")]
    NoText,
    #[error("it has more than {MAX_DOCUMENT_FINGERPRINTS} fingerprints (about 1.2 MB of text): split it")]
    TooLarge,
    #[error("part of it could not be read ({0}), so its fingerprints would be incomplete")]
    Unreadable(String),
}

/// Whether a ZIP entry named `name` is an Office (OOXML) or OpenDocument part that holds the
/// writer's boilerplate (styles, theme, settings, fonts, properties, relationships, slide
/// masters and layouts, custom XML) rather than the document's text. Two unrelated documents
/// saved from the same template share these parts, so a protected document's fingerprints
/// leave them out (as they leave out images: a shared logo or thumbnail). A message is still
/// matched whole, and the detectors read everything.
pub fn boilerplate_part(name: &[u8]) -> bool {
    let lower: Vec<u8> = name.iter().map(u8::to_ascii_lowercase).collect();
    let base = lower.rsplit(|&b| b == b'/').next().unwrap_or(&lower);
    const BASES: &[&[u8]] = &[
        b"styles.xml",
        b"styleswitheffects.xml",
        b"settings.xml",
        b"websettings.xml",
        b"fonttable.xml",
        b"numbering.xml",
        b"[content_types].xml",
        b"meta.xml",
        b"manifest.xml",
        b"presprops.xml",
        b"viewprops.xml",
        b"tablestyles.xml",
    ];
    const DIRS: &[&[u8]] = &[
        b"docprops/",
        b"theme/",
        b"slidemasters/",
        b"slidelayouts/",
        b"notesmasters/",
        b"handoutmasters/",
        b"customxml/",
    ];
    BASES.contains(&base)
        || base.ends_with(b".rels")
        || DIRS.iter().any(|d| lower.windows(d.len()).any(|w| w == *d))
}

/// A protected document as the message [`crate::Engine::document_fingerprints`] reads: an
/// `.eml` as it is, any other file as the one attachment of a message, so that the engine's
/// sniffing picks its reader (docx, xlsx, PDF, zip...) as it does for mail. A `.txt` is
/// declared UTF-8 text.
pub fn as_message(name: &str, data: &[u8]) -> Vec<u8> {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".eml") {
        return data.to_vec();
    }
    let ctype = if lower.ends_with(".txt") {
        "text/plain; charset=utf-8"
    } else {
        "application/octet-stream"
    };
    // The name only labels the part; quotes and line breaks in it would end the header.
    let label: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut out = format!(
        "MIME-Version: 1.0\r\nSubject: protected document\r\nContent-Type: multipart/mixed; boundary=\"cordon-fp\"\r\n\r\n--cordon-fp\r\nContent-Type: {ctype}; name=\"{label}\"\r\nContent-Disposition: attachment; filename=\"{label}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    )
    .into_bytes();
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for line in data.chunks(57) {
        for c in line.chunks(3) {
            let v = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            for k in 0..4 {
                out.push(if k <= c.len() {
                    ALPHABET[(v >> (18 - 6 * k)) as usize & 63]
                } else {
                    b'='
                });
            }
        }
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"--cordon-fp--\r\n");
    out
}

/// A document's distinct keyed fingerprints from its winnowed hashes.
pub(crate) fn keyed_distinct(key: &FpKey, hashes: impl Iterator<Item = u64>) -> Vec<u64> {
    let mut v: Vec<u64> = hashes.map(|h| key.keyed(h)).collect();
    v.sort_unstable();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> FpKey {
        FpKey::from_bytes([b; KEY_BYTES])
    }

    fn doc(name: &str, text: &str, k: &FpKey) -> Document {
        Document {
            name: name.into(),
            fingerprints: keyed_distinct(k, winnow::fingerprints_of(text.as_bytes()).into_iter()),
        }
    }

    const A: &str = "Either party may terminate this agreement by written notice if the other party commits a \
        material breach and fails to remedy it within thirty days after receiving notice of the breach.";
    const B: &str = "The licensee shall keep the source code confidential and shall not disclose it to any \
        third party without the prior written consent of the licensor, except to its own employees.";

    #[test]
    fn a_bundle_round_trips_and_looks_up() {
        let k = key(7);
        let docs = vec![doc("a.txt", A, &k), doc("b.txt", B, &k)];
        let bytes = encode(&k, &docs).unwrap();
        let set = Set::decode(&bytes, &k).unwrap();
        assert_eq!(set.documents(), docs);
        assert_eq!(set.len(), 2);
        let hashes = winnow::fingerprints_of(A.as_bytes());
        let hits: usize = hashes.iter().map(|&h| set.lookup(h).len()).sum();
        assert!(hits >= docs[0].fingerprints.len(), "{hits}");
        assert!(set.memory_bytes() >= set.fingerprints() * BYTES_PER_FINGERPRINT);
    }

    #[test]
    fn another_key_truncation_and_bit_flips_are_refused_whole() {
        let k = key(7);
        let bytes = encode(&k, &[doc("a.txt", A, &k)]).unwrap();
        assert_eq!(
            Set::decode(&bytes, &key(8)).unwrap_err(),
            SetFault::WrongKey
        );
        for cut in [0, 5, 20, bytes.len() / 2, bytes.len() - 1] {
            assert!(Set::decode(&bytes[..cut], &k).is_err(), "cut at {cut}");
        }
        for bit in (0..bytes.len() * 8).step_by(37) {
            let mut b = bytes.clone();
            b[bit / 8] ^= 1 << (bit % 8);
            assert!(Set::decode(&b, &k).is_err(), "bit {bit}");
        }
    }

    #[test]
    fn stored_values_are_keyed() {
        let (k1, k2) = (key(1), key(2));
        let d1 = doc("a", A, &k1);
        let d2 = doc("a", A, &k2);
        assert_eq!(d1.fingerprints.len(), d2.fingerprints.len());
        assert!(d1.fingerprints.iter().all(|v| !d2.fingerprints.contains(v)));
        let raw = winnow::fingerprints_of(A.as_bytes());
        assert!(d1.fingerprints.iter().all(|v| !raw.contains(v)));
    }
}
