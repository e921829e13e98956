//! cordon-journal: the appliance's persistent, tamper-evident incident log on the writable data
//! partition (issue 21, item 1). Records are opaque bytes (the incident record's encoding is its
//! owner's); each carries a sequence number that only grows, across restarts and segment
//! rotation, a time, a CRC-32 that finds torn writes and bit rot, and a chain tag,
//! HMAC-SHA256(appliance key, previous tag || seq || time || payload), that proves nothing inside
//! the range held was altered, removed, inserted or moved. Records go to append-only segment
//! files of bounded size; the journal is bounded in total bytes and drops its oldest segment
//! first, counting what it drops. [`Journal::append`] returns only once the record is durable
//! (fsync), so the gateway acknowledges SMTP after it; [`Journal::open`] cuts a torn tail left
//! by a power cut, never an acknowledged record. [`verify`] reports the range held and the first
//! broken record, and finds tail loss against the last tag exported to the SIEM.
//!
//! # Layout
//! - [`format`]: the on-disk segment and record headers (encode, decode; sans-IO).
//! - [`chain`]: [`ChainKey`] and [`Chain`], the HMAC chain and its checker (sans-IO).
//! - [`scan`]: [`Scanner`], streams one segment's records from any `Read` in a fixed buffer.
//! - [`journal`]: [`Journal`]: open with torn-tail recovery, append (with group commit),
//!   rotation and retention.
//! - [`read`]: [`Reader`]: records from a sequence number or a time, streamed.
//! - [`verify`](mod@verify): [`verify()`], the whole-log check, and [`Anchor`], the exported
//!   last tag it can check against.
//!
//! The format, the guarantees and the limits are in `docs/operations.md`.

#![forbid(unsafe_code)]

use std::io;
use std::path::PathBuf;

pub mod chain;
pub mod format;
pub mod journal;
pub mod read;
pub mod scan;
pub mod verify;

pub use chain::{derive_key, Chain, ChainKey, Link, JOURNAL_KEY_LABEL, MIN_KEY_LEN};
pub use format::{Malformed, Tag, GENESIS_TAG};
pub use journal::{Journal, Recovery, Stats};
pub use read::{Entry, Reader, Start};
pub use scan::{Fault, Scanner};
pub use verify::{verify, Anchor, AnchorCheck, Break, BreakReason, Verified};

use format::{RECORD_HEADER_LEN, SEGMENT_HEADER_LEN};

/// Hard ceiling of [`Limits::max_record`]: readers hold one record in memory, and an incident
/// record is a few hundred bytes; 1 MiB leaves room for any future field without letting a
/// configuration make each reader allocate much.
pub const MAX_RECORD_CEILING: u32 = 1024 * 1024;

/// Sizes fixed when the journal is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest segment file: the unit of retention (the oldest segment is dropped whole), and
    /// the most a torn-tail scan at start-up reads.
    pub segment_bytes: u64,
    /// Largest sum of all segment files: the journal's share of /data.
    pub total_bytes: u64,
    /// Largest record payload: the size of every read and write buffer.
    pub max_record: u32,
}

impl Default for Limits {
    /// 16 segments of 4 MiB: 64 MiB of /data holds some 100 000 incidents of ~600 bytes, and
    /// dropping one segment loses 1/16 of the history, not half of it; 64 KiB per record is
    /// a hundred times an incident record.
    fn default() -> Self {
        Self {
            segment_bytes: 4 * 1024 * 1024,
            total_bytes: 64 * 1024 * 1024,
            max_record: 64 * 1024,
        }
    }
}

impl Limits {
    /// Refuses sizes that could not hold the largest record or keep the previous segment.
    pub fn check(&self) -> Result<(), JournalError> {
        let bad = |reason| Err(JournalError::Limits { reason });
        if self.max_record == 0 || self.max_record > MAX_RECORD_CEILING {
            return bad("max_record must be between 1 byte and 1 MiB");
        }
        let one_record = (SEGMENT_HEADER_LEN + RECORD_HEADER_LEN) as u64 + self.max_record as u64;
        if self.segment_bytes < one_record {
            return bad("segment_bytes must hold a segment header and the largest record");
        }
        if self.total_bytes < self.segment_bytes.saturating_mul(2) {
            return bad("total_bytes must be at least two segments (the active one and one more)");
        }
        Ok(())
    }

    /// Most segment files the journal holds at once (a closed one may be one record short
    /// of full, so one more than the quotient).
    pub fn max_segments(&self) -> usize {
        (self.total_bytes / self.segment_bytes) as usize + 1
    }
}

/// Everything that can go wrong opening, appending to, reading or verifying the journal.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// A file operation failed.
    #[error("cannot {op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The configured sizes do not fit together.
    #[error("journal limits refused: {reason}")]
    Limits { reason: &'static str },
    /// The appliance key is too short to key the chain.
    #[error("journal key of {len} bytes is shorter than the {min}-byte minimum")]
    KeyTooShort { len: usize, min: usize },
    /// The record does not fit the configured maximum; nothing was written.
    #[error("record of {len} bytes exceeds the {max}-byte journal limit")]
    TooLarge { len: usize, max: u32 },
    /// An earlier append failed part-way, so the file's tail is unknown; nothing more is
    /// appended until the journal is opened again (which cuts that tail).
    #[error("journal stopped after a failed write; reopen it to recover")]
    Poisoned,
    /// A record in the newest segment has a good CRC but does not continue the chain: it was
    /// written with another appliance key or edited. No power cut does that, so start-up does
    /// not cut it (it may have been acknowledged); the operator decides.
    #[error("journal segment {} breaks the chain at byte {offset} (record {seq}): {link:?}; wrong appliance key or an edited log", path.display())]
    ChainBroken {
        path: PathBuf,
        offset: u64,
        seq: u64,
        link: Link,
    },
    /// A segment is damaged where no power cut can have left it (not the unsynced tail);
    /// start-up refuses to guess. `cordonctl incidents verify` names the record.
    #[error("journal segment {} is damaged at byte {offset}: {fault:?}", path.display())]
    Damaged {
        path: PathBuf,
        offset: u64,
        fault: Fault,
    },
}

impl JournalError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { op, path, source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_limits_pass_and_each_rule_refuses() {
        Limits::default().check().unwrap();
        let reason = |limits: Limits| match limits.check() {
            Err(JournalError::Limits { reason }) => reason,
            other => panic!("{other:?}"),
        };
        let base = Limits {
            segment_bytes: 1000,
            total_bytes: 2000,
            max_record: 1000 - 116,
        };
        base.check().unwrap();
        assert!(reason(Limits {
            max_record: 0,
            ..base
        })
        .starts_with("max_record"));
        assert!(reason(Limits {
            max_record: MAX_RECORD_CEILING + 1,
            ..base
        })
        .starts_with("max_record"));
        assert!(reason(Limits {
            max_record: 1000 - 115,
            ..base
        })
        .starts_with("segment_bytes"));
        assert!(reason(Limits {
            total_bytes: 1999,
            ..base
        })
        .starts_with("total_bytes"));
        assert_eq!(base.max_segments(), 3);
    }
}
