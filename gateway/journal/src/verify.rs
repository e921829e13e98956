//! [`verify()`]: walks every segment, oldest first, in one payload buffer, and checks framing,
//! CRCs, sequence numbers and the chain across segment boundaries. It reports the range held
//! and the first broken record; given the last anchor exported to the SIEM, it also finds tail
//! loss (records cut off the end, which a chain alone cannot show).
//!
//! What it proves: within the range it reports, no record was altered, removed, inserted or
//! moved by anyone without the key. What it cannot: the start of the range is not anchored
//! (dropping whole oldest segments is what retention does), so the range start is reported
//! and compared by the operator or the SIEM.

use std::fs::{self, File};
use std::io::BufReader;
use std::path::{Path, PathBuf};

use crate::chain::{Chain, ChainKey, Link, MIN_KEY_LEN};
use crate::format::{Malformed, Tag};
use crate::journal::list_segments;
use crate::scan::{Fault, Scanner, Step};
use crate::JournalError;

/// A record's sequence number and tag as exported (to the SIEM, or written down by an
/// operator): a later `verify` that does not reach it, or finds another tag there, shows that
/// the journal lost or rewrote its tail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Anchor {
    pub seq: u64,
    pub tag: Tag,
}

/// Why a record is the first broken one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakReason {
    /// The segment ends inside a record (and it is not the newest segment's tail).
    Torn,
    /// A segment or record header does not parse.
    Malformed(Malformed),
    /// Bytes of the record changed (CRC mismatch).
    Crc,
    /// Records are missing: the next record present carries `found`.
    Gap { found: u64 },
    /// A record carries an earlier sequence number than its place: moved or replayed.
    Reordered { found: u64 },
    /// The record's tag does not follow from its predecessor's and its content: edited
    /// (with the CRC recomputed), or written with another key.
    Chain,
    /// A segment's file name and header disagree on its first sequence number.
    SegmentName { named: u64, header: u64 },
}

/// The first broken record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    /// The sequence number the record at that place should carry.
    pub seq: u64,
    pub segment: PathBuf,
    /// Byte offset of the record (0 for a segment header) in `segment`.
    pub offset: u64,
    pub reason: BreakReason,
}

/// The exported anchor compared with the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnchorCheck {
    /// The record with the anchor's sequence number carries the anchor's tag.
    Matches,
    /// The journal ends before the anchor: records up to `anchor.seq` were lost from the tail.
    TailLost { last_held: Option<u64> },
    /// The record is there with another tag: the tail was rewritten.
    TagDiffers,
    /// The anchor is older than the oldest record held (dropped by retention): not checkable.
    BeforeRange,
    /// The chain breaks before the anchor's record.
    NotReached,
}

/// What `verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// First and last sequence numbers of the unbroken chain from the oldest record held
    /// (`None` if no record verifies).
    pub range: Option<(u64, u64)>,
    /// The tag of the last record in `range`.
    pub last_tag: Option<Tag>,
    /// `Ok` if every segment verifies to its end.
    pub outcome: Result<(), Break>,
    /// Bytes of a torn record at the end of the newest segment (an append cut by a power cut
    /// that the next open removes; never acknowledged).
    pub torn_tail_bytes: u64,
    /// Present when an anchor was given.
    pub anchor: Option<AnchorCheck>,
}

/// Verifies the journal in `dir` with the appliance key, and against `exported` if given.
pub fn verify(
    dir: &Path,
    max_record: u32,
    key: &[u8],
    exported: Option<Anchor>,
) -> Result<Verified, JournalError> {
    let key = ChainKey::new(key).ok_or(JournalError::KeyTooShort {
        len: key.len(),
        min: MIN_KEY_LEN,
    })?;
    verify_with(dir, max_record, &key, exported)
}

pub(crate) fn verify_with(
    dir: &Path,
    max_record: u32,
    key: &ChainKey,
    exported: Option<Anchor>,
) -> Result<Verified, JournalError> {
    let segments = list_segments(dir)?;
    let mut walk = Walk {
        key,
        chain: None,
        first: None,
        anchor: exported.map(|a| (a, None)),
        torn_tail_bytes: 0,
    };
    let mut buf = Vec::new();
    let mut outcome = Ok(());
    for (i, (named, path)) in segments.iter().enumerate() {
        let newest = i + 1 == segments.len();
        match walk.segment(*named, path, newest, max_record, buf)? {
            Ok(spare) => buf = spare,
            Err(broken) => {
                outcome = Err(broken);
                break;
            }
        }
    }
    let range = walk
        .chain
        .filter(|c| walk.first.is_some_and(|f| f < c.next_seq))
        .and_then(|c| Some((walk.first?, c.next_seq - 1)));
    let anchor = walk.anchor.map(|(anchor, seen)| match seen {
        Some(check) => check,
        None if range.is_some_and(|(first, _)| anchor.seq < first) => AnchorCheck::BeforeRange,
        None if outcome.is_err() => AnchorCheck::NotReached,
        None => AnchorCheck::TailLost {
            last_held: range.map(|r| r.1),
        },
    });
    Ok(Verified {
        range,
        last_tag: range.and(walk.chain.map(|c| c.prev_tag)),
        outcome,
        torn_tail_bytes: walk.torn_tail_bytes,
        anchor,
    })
}

struct Walk<'k> {
    key: &'k ChainKey,
    /// `None` until the oldest segment's header is read.
    chain: Option<Chain>,
    /// First sequence number held.
    first: Option<u64>,
    /// The exported anchor and, once its record was reached, the comparison.
    anchor: Option<(Anchor, Option<AnchorCheck>)>,
    torn_tail_bytes: u64,
}

impl Walk<'_> {
    /// Checks one segment; returns the payload buffer for the next, or the first break.
    fn segment(
        &mut self,
        named: u64,
        path: &Path,
        newest: bool,
        max_record: u32,
        buf: Vec<u8>,
    ) -> Result<Result<Vec<u8>, Break>, JournalError> {
        let expected = self.chain.map_or(named, |c| c.next_seq);
        let broken = |offset, reason| Break {
            seq: expected,
            segment: path.to_path_buf(),
            offset,
            reason,
        };
        let file = File::open(path).map_err(JournalError::io("open", path))?;
        let opened = Scanner::open(BufReader::new(file), max_record, buf)
            .map_err(JournalError::io("read", path))?;
        let (mut scanner, header) = match opened {
            Ok(opened) => opened,
            Err((Fault::Torn, buf)) if newest => {
                self.torn_tail_bytes = file_len(path)?;
                return Ok(Ok(buf));
            }
            Err((fault, _)) => return Ok(Err(broken(0, reason(fault)))),
        };
        if header.first_seq != named {
            return Ok(Err(broken(
                0,
                BreakReason::SegmentName {
                    named,
                    header: header.first_seq,
                },
            )));
        }
        let chain = match self.chain {
            None => {
                self.first = Some(header.first_seq);
                self.chain.insert(Chain {
                    next_seq: header.first_seq,
                    prev_tag: header.prev_tag,
                })
            }
            Some(ref mut chain) => {
                if header.first_seq > chain.next_seq {
                    let found = header.first_seq;
                    return Ok(Err(broken(0, BreakReason::Gap { found })));
                }
                if header.first_seq < chain.next_seq {
                    let found = header.first_seq;
                    return Ok(Err(broken(0, BreakReason::Reordered { found })));
                }
                if header.prev_tag != chain.prev_tag {
                    return Ok(Err(broken(0, BreakReason::Chain)));
                }
                chain
            }
        };
        loop {
            let step = scanner.step().map_err(JournalError::io("read", path))?;
            let (offset, reason) = match step {
                Step::Record {
                    offset,
                    header,
                    payload,
                } => match chain.accept(self.key, &header, payload) {
                    Ok(()) => {
                        if let Some((anchor, seen @ None)) = self.anchor.as_mut() {
                            if anchor.seq == header.seq {
                                *seen = Some(if anchor.tag == header.tag {
                                    AnchorCheck::Matches
                                } else {
                                    AnchorCheck::TagDiffers
                                });
                            }
                        }
                        continue;
                    }
                    Err(link) => (offset, link_reason(link)),
                },
                Step::End { .. } => return Ok(Ok(scanner.into_buffer())),
                Step::Bad {
                    offset,
                    fault: Fault::Torn,
                } if newest => {
                    self.torn_tail_bytes = file_len(path)? - offset;
                    return Ok(Ok(scanner.into_buffer()));
                }
                Step::Bad { offset, fault } => (offset, reason(fault)),
            };
            return Ok(Err(Break {
                seq: chain.next_seq,
                segment: path.to_path_buf(),
                offset,
                reason,
            }));
        }
    }
}

fn reason(fault: Fault) -> BreakReason {
    match fault {
        Fault::Torn => BreakReason::Torn,
        Fault::Malformed(m) => BreakReason::Malformed(m),
        Fault::Crc => BreakReason::Crc,
    }
}

fn link_reason(link: Link) -> BreakReason {
    match link {
        Link::Gap { found } => BreakReason::Gap { found },
        Link::Reordered { found } => BreakReason::Reordered { found },
        Link::Tag => BreakReason::Chain,
    }
}

fn file_len(path: &Path) -> Result<u64, JournalError> {
    Ok(fs::metadata(path)
        .map_err(JournalError::io("stat", path))?
        .len())
}
