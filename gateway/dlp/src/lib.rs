//! cordon-dlp: the DLP inspection engine of the cordon gateway.
//!
//! Sans-IO: bytes of one message go in through [`Scanner::feed`] as they
//! arrive from the SMTP session, and [`Scanner::finish`] returns the
//! [`Findings`] the moment the last byte is in. An [`Engine`] is compiled once
//! from the config (detectors, dictionaries, patterns, limits), shared
//! read-only by all workers in an `Arc`; each worker keeps one [`Scanner`]
//! whose memory is allocated at construction and reused across messages with
//! [`Scanner::reset`]. Results do not depend on how the message is split
//! into chunks: every buffering decision depends on content, never on feed
//! boundaries.
//!
//! Full sensitive values never leave the engine: findings carry distinct
//! counts, confidence, locations and redacted samples only, and no `Debug`
//! impl prints matched text.
//!
//! # Layout
//! - [`limits`]: every bound, named, with its reason.
//! - `mime`: the streaming MIME walker (headers, multipart boundaries,
//!   `message/rfc822`), part paths, the per-part pipeline; `eml`: attached
//!   messages (an `.eml` file, a base64 `message/rfc822`) walked again.
//! - `decode`: streaming base64 and quoted-printable decoders.
//! - `text`: charset decoding (encoding_rs) and the sliding window the
//!   detectors run on.
//! - `ctx`: the context every embedded-file reader works in.
//! - `zip`: the archive levels (ZIP/OOXML/ODF, gzip, tar, TNEF) with a fixed
//!   inflate window each, and the dispatch of embedded files to readers;
//!   `gzip` and `tar` read their formats' headers.
//! - `ole`: OLE compound files (Word, Excel, PowerPoint 97-2003, Outlook
//!   `.msg`) read from one buffer with the `cfb` crate.
//! - `rtf`: RTF to text (control words, `\uN`, `\'hh` in the code page);
//!   `lzfu`: compressed RTF (Outlook's `PR_RTF_COMPRESSED`) into it;
//!   `mapi`: TNEF's MAPI property lists (UTF-16 strings, compressed RTF).
//! - `pdf`: PDF text (strings, inflated content streams, ToUnicode maps).
//! - `detect`: built-in detectors and validators, keyword evidence,
//!   dictionaries, custom patterns.
//! - `html`: streaming HTML/XML-to-text.
//! - `image`: structural checks of PNG, JPEG and GIF (what may be listed
//!   as an image).
//! - [`edm`]: exact data match: keyed-hash tables of the customer's records, their
//!   bundle format, and row matching in the window (detectors named `edm:TABLE`).
//! - [`fingerprint`]: document fingerprints: keyed winnowing of protected documents and the
//!   share of each one a message carries (detectors named `doc:SET`).
//! - `findings`: [`Findings`], fixed-size accumulators, [`render_table`].
//! - [`tracking`]: keyed tags of detected values, for counting repeats across
//!   messages without keeping a value.
//! - `fuzzing`: entry points for the cargo-fuzz targets (hidden).
//!
//! Data flows MIME → transfer decoder → content sniffing → (zip → inflate →)
//! charset → HTML/XML → window → detectors → accumulators.

#![forbid(unsafe_code)]

mod blob;
mod ctx;
mod decode;
mod detect;
pub mod edm;
mod eml;
mod findings;
pub mod fingerprint;
mod fold;
#[doc(hidden)]
pub mod fuzzing;
mod gzip;
mod html;
mod html_hidden;
mod image;
pub mod limits;
mod lzfu;
mod mapi;
mod mime;
mod ole;
mod pdf;
mod rtf;
mod scanner;
mod tar;
#[cfg(test)]
mod testing;
mod text;
pub mod tracking;
mod utf7;
mod uu;
mod zip;
mod zipfind;

use std::sync::Arc;

/// The built-in detectors described, and the bundles rules may name.
pub use detect::catalogue;

/// Whether a `[[pattern]]` regex compiles as the engine would compile it (a config check
/// locates each bad pattern before the engine is built).
pub fn check_pattern(name: &str, regex: &str) -> Result<(), Error> {
    detect::compile_pattern(name, regex).map(|_| ())
}
pub use findings::{
    render_table, Attachment, Confidence, Counts, DetectorFinding, Findings, Similarity,
    Unscannable, UnscannableReason,
};
pub use limits::Limits;
pub use scanner::Scanner;

/// The one error type of this crate: everything that can be wrong with a config.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// The fingerprint sets hold more fingerprints than a scan keeps bits for.
    #[error("the fingerprint sets hold {fingerprints} fingerprints, at most {max}")]
    TooManyFingerprints {
        /// Over every set.
        fingerprints: usize,
        /// [`fingerprint::MAX_TOTAL_FINGERPRINTS`].
        max: usize,
    },
    /// A `[[pattern]]` regex does not compile (or exceeds the size limit).
    #[error("pattern {name:?}: invalid regex: {reason}")]
    InvalidRegex {
        /// Pattern name.
        name: String,
        /// What the regex crate said.
        reason: String,
    },
    /// `max_len` of a pattern is 0 or above what the window overlap can carry.
    #[error("pattern {name:?}: max_len {max_len} must be between 1 and {limit}")]
    PatternMaxLen {
        /// Pattern name.
        name: String,
        /// Configured value.
        max_len: usize,
        /// [`limits::MAX_MATCH_BYTES`].
        limit: usize,
    },
    /// A dictionary without terms.
    #[error("dictionary {name:?} has no terms")]
    EmptyDictionary {
        /// Dictionary name.
        name: String,
    },
    /// A dictionary term shorter or longer than the engine supports.
    #[error("dictionary {dictionary:?}: a term of {len} bytes is outside {min}..={max}")]
    TermLength {
        /// Dictionary name.
        dictionary: String,
        /// Term length after whitespace normalisation.
        len: usize,
        /// [`limits::MIN_TERM_BYTES`].
        min: usize,
        /// [`limits::MAX_TERM_BYTES`].
        max: usize,
    },
    /// Two detectors, dictionaries or patterns share a name.
    #[error("name {name:?} is used twice (built-in detectors, dictionaries and patterns share one namespace)")]
    DuplicateName {
        /// The name.
        name: String,
    },
    /// More custom patterns carry keywords than the evidence mask holds.
    #[error("{count} patterns have keywords; at most {max} may")]
    TooManyKeywordPatterns {
        /// Patterns with keywords.
        count: usize,
        /// [`limits::MAX_KEYWORD_PATTERNS`].
        max: usize,
    },
    /// A limit set to zero where the engine needs at least one.
    #[error("limit {name} must be at least 1")]
    ZeroLimit {
        /// Field of [`Limits`].
        name: &'static str,
    },
}

/// Engine configuration: the `[[dictionary]]` and `[[pattern]]` tables of the
/// appliance config, plus limits. Built-in detectors are always on; policies
/// decide which ones matter.
#[derive(Clone, Debug, Default)]
pub struct EngineConfig {
    /// Keyword dictionaries, each a detector named after it.
    pub dictionaries: Vec<DictionaryConfig>,
    /// Custom regex patterns, each a detector named after it.
    pub patterns: Vec<PatternConfig>,
    /// Limits.
    pub limits: Limits,
    /// Loaded EDM tables by name, each a detector `edm:NAME` counting distinct rows.
    pub edm: Vec<(String, Arc<edm::Table>)>,
}

/// A `[[dictionary]]`: terms matched as literals (many at once).
#[derive(Clone, Default)]
pub struct DictionaryConfig {
    /// Detector name.
    pub name: String,
    /// Terms (the config layer reads `file =` into this list).
    pub terms: Vec<String>,
    /// Match case exactly; otherwise ASCII and Latin-1 letters fold.
    pub case_sensitive: bool,
    /// Require a non-word character (or text edge) on both sides.
    pub whole_word: bool,
}

// Terms can be customer names or code names: never print them.
impl std::fmt::Debug for DictionaryConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DictionaryConfig")
            .field("name", &self.name)
            .field("terms", &self.terms.len())
            .field("case_sensitive", &self.case_sensitive)
            .field("whole_word", &self.whole_word)
            .finish()
    }
}

/// A `[[pattern]]`: a regex (the `regex` crate: linear time) with the longest
/// match it may report.
#[derive(Clone, Debug)]
pub struct PatternConfig {
    /// Detector name.
    pub name: String,
    /// Regex over bytes of UTF-8 text.
    pub regex: String,
    /// Longest match reported (at most [`limits::MAX_MATCH_BYTES`]); longer
    /// matches are ignored so that results do not depend on chunking.
    pub max_len: usize,
    /// Supporting keywords; one within 300 bytes raises the match to `High`.
    pub keywords: Vec<String>,
    /// Confidence of a match without keyword.
    pub confidence: Confidence,
}

impl Default for PatternConfig {
    fn default() -> Self {
        PatternConfig {
            name: String::new(),
            regex: String::new(),
            max_len: 64,
            keywords: Vec::new(),
            confidence: Confidence::Medium,
        }
    }
}

/// The compiled detectors and limits, shared read-only by all scanners.
#[derive(Debug)]
pub struct Engine {
    detectors: detect::Detectors,
    /// Detector names in id order: built-ins, dictionaries, patterns.
    names: Vec<String>,
    limits: Limits,
}

impl Engine {
    /// Compiles a config. Fails on bad regexes, bad terms, duplicate names.
    pub fn new(cfg: &EngineConfig) -> Result<Engine, Error> {
        let l = &cfg.limits;
        for (name, v) in [
            ("max_mime_depth", l.max_mime_depth),
            ("max_parts", l.max_parts),
            ("max_header_bytes", l.max_header_bytes),
            ("max_line_bytes", l.max_line_bytes),
            ("max_zip_entries", l.max_zip_entries),
            ("max_distinct", l.max_distinct),
        ] {
            if v == 0 {
                return Err(Error::ZeroLimit { name });
            }
        }
        let mut names: Vec<String> = detect::BUILTINS.iter().map(|s| s.to_string()).collect();
        names.push("unscannable".to_string());
        for n in cfg
            .dictionaries
            .iter()
            .map(|d| &d.name)
            .chain(cfg.patterns.iter().map(|p| &p.name))
        {
            if names.contains(n) {
                return Err(Error::DuplicateName { name: n.clone() });
            }
            names.push(n.clone());
        }
        names.remove(detect::BUILTINS.len()); // "unscannable" is not a detector slot
        let edm_base = names.len();
        for (n, _) in &cfg.edm {
            let n = edm::detector_name(n);
            if names.contains(&n) {
                return Err(Error::DuplicateName { name: n });
            }
            names.push(n);
        }
        let mut detectors = detect::Detectors::new(&cfg.dictionaries, &cfg.patterns)?;
        detectors.edm = cfg.edm.iter().map(|(_, t)| Arc::clone(t)).collect();
        detectors.edm_base = edm_base;
        Ok(Engine {
            detectors,
            names,
            limits: cfg.limits.clone(),
        })
    }

    /// The same engine matching against fingerprint sets too, each a detector `doc:NAME`
    /// (after the EDM tables) whose finding carries a [`Similarity`].
    pub fn with_fingerprints(
        mut self,
        sets: Vec<(String, Arc<fingerprint::Set>)>,
    ) -> Result<Engine, Error> {
        let total: usize = sets.iter().map(|(_, s)| s.fingerprints()).sum();
        if total > fingerprint::MAX_TOTAL_FINGERPRINTS {
            return Err(Error::TooManyFingerprints {
                fingerprints: total,
                max: fingerprint::MAX_TOTAL_FINGERPRINTS,
            });
        }
        let base = self.names.len();
        for (n, _) in &sets {
            let n = fingerprint::detector_name(n);
            if self.names.contains(&n) {
                return Err(Error::DuplicateName { name: n });
            }
            self.names.push(n);
        }
        self.detectors.fp =
            fingerprint::Loaded::new(sets.into_iter().map(|(_, s)| s).collect(), base);
        Ok(self)
    }

    /// The distinct keyed fingerprints of a protected document, read as a message is (an
    /// `.eml`, or a file wrapped as the attachment of one, so that Office, PDF, archives and
    /// charsets go through the engine's own readers). Refused when a part could not be read,
    /// when it has no text to speak of, or when it is too large to be one document.
    pub fn document_fingerprints(
        self: &Arc<Self>,
        message: &[u8],
        key: &fingerprint::FpKey,
    ) -> Result<Vec<u64>, fingerprint::DocumentFault> {
        let mut scanner = self.scanner();
        scanner.collect_fingerprints();
        scanner.feed(message);
        let (found, collected) = scanner.finish_collecting();
        if let Some(r) = found.reasons.iter().find(|r| r.skipped_content()) {
            return Err(fingerprint::DocumentFault::Unreadable(
                r.as_str().to_owned(),
            ));
        }
        let collected = collected.unwrap_or_default();
        if collected.overflow {
            return Err(fingerprint::DocumentFault::TooLarge);
        }
        let v = fingerprint::keyed_distinct(key, collected.hashes.into_iter());
        if v.is_empty() {
            return Err(fingerprint::DocumentFault::NoText);
        }
        if v.len() > fingerprint::MAX_DOCUMENT_FINGERPRINTS {
            return Err(fingerprint::DocumentFault::TooLarge);
        }
        Ok(v)
    }

    /// Whether `name` is a built-in detector, a dictionary, a pattern, a
    /// loaded EDM table (`edm:NAME`), a fingerprint set (`doc:NAME`), or
    /// `unscannable`: what policies may refer to.
    pub fn knows(&self, name: &str) -> bool {
        name == "unscannable" || self.names.iter().any(|n| n == name)
    }

    /// Names of the built-in detectors.
    pub fn builtin_detectors() -> &'static [&'static str] {
        &detect::BUILTINS
    }

    /// All detector names of this engine, in report order.
    pub fn detector_names(&self) -> &[String] {
        &self.names
    }

    /// The limits this engine enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// A scanner for one worker; reuse it across messages with [`Scanner::reset`].
    pub fn scanner(self: &Arc<Self>) -> Scanner {
        Scanner::new(Arc::clone(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_is_shareable() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Engine>();
        assert_send_sync::<Scanner>();
    }

    #[test]
    fn names_and_errors() {
        let cfg = EngineConfig {
            dictionaries: vec![DictionaryConfig {
                name: "projects".into(),
                terms: vec!["falcon".into()],
                ..Default::default()
            }],
            patterns: vec![PatternConfig {
                name: "employee_id".into(),
                regex: r"\bEMP-\d{6}\b".into(),
                max_len: 10,
                ..Default::default()
            }],
            limits: Limits::default(),
            edm: Vec::new(),
        };
        let e = Engine::new(&cfg).unwrap();
        assert!(e.knows("credit_card") && e.knows("projects") && e.knows("employee_id"));
        assert!(e.knows("unscannable") && !e.knows("nope"));
        let mut bad = cfg.clone();
        bad.patterns[0].name = "credit_card".into();
        assert!(matches!(
            Engine::new(&bad),
            Err(Error::DuplicateName { .. })
        ));
        let mut bad = cfg.clone();
        bad.patterns[0].regex = "(".into();
        assert!(matches!(Engine::new(&bad), Err(Error::InvalidRegex { .. })));
        let mut bad = cfg;
        bad.patterns[0].max_len = 10_000;
        assert!(matches!(
            Engine::new(&bad),
            Err(Error::PatternMaxLen { .. })
        ));
    }
}
