//! Every bound the engine enforces, with the reason for its value.
//!
//! [`Limits`] holds the ones an administrator may tune (they come from the
//! appliance config); the `const`s below are structural and fixed at build
//! time because buffer sizes and match windows depend on them.

use serde::Serialize;

/// Bytes of decoded text the detectors see at once. 64 KiB keeps the window,
/// the dictionary filter and the keyword tables inside L2 on an A53 while the
/// re-scanned overlap ([`CARRY_BYTES`]) stays under 2% of the work.
pub const WINDOW_BYTES: usize = 64 * 1024;

/// The window of text decoded from base64 runs inside a segment's text (`blob.rs`):
/// pasted blobs are short next to parts, and this one is scanned at every flush, so 8 KiB
/// (nine times the carry) keeps the re-scanned overlap near a tenth of its work.
pub const BLOB_WINDOW_BYTES: usize = 8 * 1024;

/// Distance within which a supporting keyword raises confidence, as Purview's
/// "within 300 characters" (counted in bytes of UTF-8 text here).
pub const CONTEXT_BYTES: usize = 300;

/// Longest match any detector, dictionary term or `[[pattern]]` may report.
/// Matches must fit in the window overlap to be found across chunk boundaries.
pub const MAX_MATCH_BYTES: usize = 256;

/// Bytes kept from one window to the next: one match plus keyword context on
/// both sides, so that every candidate sees its full context exactly once.
pub const CARRY_BYTES: usize = MAX_MATCH_BYTES + 2 * CONTEXT_BYTES;

/// Shortest dictionary term: one-byte terms match everywhere and would turn
/// the prefilter into a full automaton walk.
pub const MIN_TERM_BYTES: usize = 2;

/// Longest dictionary term, leaving room in [`MAX_MATCH_BYTES`] for folded
/// whitespace between its words.
pub const MAX_TERM_BYTES: usize = 128;

/// RFC 2046 §5.1.1 caps boundaries at 70 characters; some generators exceed it
/// slightly, so we tolerate 100 before treating the part as opaque.
pub const MAX_BOUNDARY_BYTES: usize = 100;

/// Header field names we keep are short; a longer "name" means the block is
/// not a header (RFC 5322 §2.2 field names are printable ASCII without ':').
pub const MAX_FIELD_NAME_BYTES: usize = 76;

/// Location strings ("2.1/attachment q3.xlsx") are cut here to keep the
/// findings of one message bounded.
pub const MAX_LOCATION_BYTES: usize = 160;

/// HTML named entities are at most 32 characters (`&CounterClockwiseContourIntegral;`).
pub const MAX_ENTITY_BYTES: usize = 34;

/// ZIP entry names kept for type detection and locations; longer names are cut.
pub const MAX_ZIP_NAME_BYTES: usize = 256;

/// Bytes of a part or entry collected before its format is decided: a tar
/// archive is known only by its first 512-byte header's checksum (every
/// other format by its first 8 bytes).
pub const SNIFF_BYTES: usize = 512;

/// An OLE compound file (legacy Office, Outlook `.msg`) is read at random
/// (its streams are sector chains in any order), so a part is kept whole
/// in a buffer of this size, allocated with the scanner. 4 MiB holds a
/// typical .doc/.xls/.ppt and a .msg with attachments of a few MB; a larger
/// one is `document_too_large` and read as raw bytes only.
pub const OLE_BUFFER_BYTES: usize = 4 << 20;

/// Messages embedded in messages (a `.msg` forwarded inside a `.msg`), and
/// compound files carried by one: real forwards rarely go past 3; each
/// level is read in place, so the bound is on work, not memory.
pub const MAX_OLE_NESTING: usize = 5;

/// Directory entries of one compound file walked for an Outlook message:
/// a message with 50 attachments and 100 recipients has about 1,500.
pub const MAX_OLE_ENTRIES: usize = 4096;

/// Output buffer of one decoding stage (base64, QP, charset, inflate).
pub const STAGE_BUFFER_BYTES: usize = 16 * 1024;

/// Attachments listed in [`crate::Findings`]; more are counted, not listed.
pub const MAX_ATTACHMENTS_LISTED: usize = 64;

/// Unscannable findings listed in [`crate::Findings`]; more are counted.
pub const MAX_UNSCANNABLE_LISTED: usize = 16;

/// Custom patterns that may carry their own keyword lists: keyword evidence
/// is a 64-bit mask and the built-ins use the low bits.
pub const MAX_KEYWORD_PATTERNS: usize = 56;

/// Distinct values one message may record, all detectors together, as a
/// multiple of [`Limits::max_distinct`] (one detector's cap): four detectors
/// may saturate before the shared table does. At the default 512 the table
/// is 4,096 slots (32 KiB) whatever the size of the catalogue.
pub const DISTINCT_TABLE_SHARE: usize = 4;

/// Detectors per message that keep samples and locations. Each costs ~0.9
/// KiB; a message that meets more types still counts every one of them, only
/// their samples and locations are left out. 48 is far beyond real mail (a
/// test sheet of every country's identifiers meets ~40).
pub const NOTED_DETECTORS: usize = 48;

/// Limits an administrator may tune. Each default carries its reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// Nested multiparts and forwarded messages. Real mail rarely goes past
    /// 8; 32 lets long forward chains through while a crafted 10,000-deep
    /// nest stops early.
    pub max_mime_depth: usize,
    /// MIME parts per message. Each part costs a header parse; 10,000 is far
    /// beyond real mail (mailing-list digests have a few hundred).
    pub max_parts: usize,
    /// Bytes of kept header fields (Content-*, Subject, From, To, Cc) per part:
    /// large enough for long RFC 2231 file names, small enough to be a pool.
    pub max_header_bytes: usize,
    /// Longest line before `line_too_long` is reported (RFC 5322 §2.1.1 says
    /// 998; we tolerate 1000 times that). The line is still scanned.
    pub max_line_bytes: usize,
    /// Total bytes inflated from archives in one message: a 64 MiB budget is
    /// ~0.5 s of inflate on an A53, bounding the time a zip bomb can cost.
    pub max_inflated_bytes: u64,
    /// Inflated/compressed ratio of one entry; XML compresses ~10-30x, bombs
    /// 1000x and more. Checked once an entry passed [`Limits::ratio_grace_bytes`].
    pub max_inflate_ratio: u64,
    /// Inflated bytes of one entry before the ratio is enforced, so that tiny
    /// highly compressible files (empty sheets) are not flagged.
    pub ratio_grace_bytes: u64,
    /// Entries per archive: an xlsx has ~20, a source tarball zipped a few
    /// thousand; 10,000 bounds the per-entry header work.
    pub max_zip_entries: usize,
    /// Archives inside archives (zip in docx in zip). Three levels cover real
    /// use (an embedded workbook in a zipped report); each level holds a
    /// preallocated 43 KiB inflate state.
    pub max_zip_nesting: usize,
    /// Distinct values remembered per detector; counts above it are reported
    /// as a lower bound. 512 exceeds any sane policy threshold.
    pub max_distinct: usize,
    /// Redacted samples per detector in the findings.
    pub max_samples: usize,
    /// Locations (part path and file name) per detector in the findings.
    pub max_locations: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_mime_depth: 32,
            max_parts: 10_000,
            max_header_bytes: 16 * 1024,
            max_line_bytes: 1024 * 1024,
            max_inflated_bytes: 64 * 1024 * 1024,
            max_inflate_ratio: 200,
            ratio_grace_bytes: 1024 * 1024,
            max_zip_entries: 10_000,
            max_zip_nesting: 3,
            max_distinct: 512,
            max_samples: 3,
            max_locations: 4,
        }
    }
}
