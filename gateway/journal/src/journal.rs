//! [`Journal`]: the writer. One per data directory (the gateway holds it behind its lock).
//!
//! Invariants, which the power-cut tests check:
//! - bytes are only ever appended at the end of the newest segment; so after a power cut the
//!   unsynced state is a suffix of that segment (or a newest segment whose first write never
//!   became durable), and everything before it was fsynced and acknowledged;
//! - `append` returns only after `fdatasync` of the segment and, when it created a segment or
//!   removed one, `fsync` of the directory: a record it reports is on disk;
//! - a new segment is created only after the previous one was fsynced, so an older segment
//!   never has an unsynced tail;
//! - open cuts the newest segment at its first record with bad framing or CRC (what a power
//!   cut leaves), keeping the cut bytes in one quarantine file rather than destroying them; a
//!   record with a good CRC that breaks the chain is never cut (no power cut makes one: it
//!   was written with another key or edited), open refuses instead.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::chain::{Chain, ChainKey, MIN_KEY_LEN};
use crate::format::{RecordHeader, SegmentHeader, RECORD_HEADER_LEN, SEGMENT_HEADER_LEN};
use crate::read::{Reader, Start};
use crate::scan::{Fault, Scanner, Step};
use crate::verify::{self, Anchor, Verified};
use crate::{JournalError, Limits};

/// Name of the file that keeps the bytes open cut off the newest segment (the last cut only):
/// they were never acknowledged, but if they are not a torn write an investigator wants them.
pub const QUARANTINE_NAME: &str = "torn-tail.bin";

/// Segment file name for a segment starting at `first_seq`: 20 digits hold any u64, and
/// zero-padding makes name order sequence order.
pub(crate) fn segment_name(first_seq: u64) -> String {
    format!("seg-{first_seq:020}.cjl")
}

fn parse_segment_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("seg-")?.strip_suffix(".cjl")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The segment files in `dir`, oldest first, as (first sequence number by name, path).
/// Files with other names are not the journal's and are left alone.
pub(crate) fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, JournalError> {
    let mut out = Vec::new();
    let entries = fs::read_dir(dir).map_err(JournalError::io("list", dir))?;
    for entry in entries {
        let entry = entry.map_err(JournalError::io("list", dir))?;
        if let Some(seq) = entry.file_name().to_str().and_then(parse_segment_name) {
            out.push((seq, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// One segment file on disk.
#[derive(Debug)]
struct Segment {
    first_seq: u64,
    path: PathBuf,
    len: u64,
}

/// The segment being appended to.
#[derive(Debug)]
struct Active {
    file: File,
    /// Bytes written but not yet fsynced.
    dirty: bool,
}

/// What open found and repaired.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Bytes cut off the newest segment (moved to [`QUARANTINE_NAME`]).
    pub cut_bytes: u64,
    /// What the cut started at (`None` when nothing was cut).
    pub cut_fault: Option<Fault>,
    /// A newest segment whose header never became durable was set aside whole.
    pub dropped_torn_segment: bool,
}

/// Counters since open, plus the state the gateway reports in `status` and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// First sequence number still held (`None` while the journal is empty).
    pub first_seq: Option<u64>,
    /// The newest record, as exported to the SIEM.
    pub last: Option<Anchor>,
    pub segments: usize,
    /// Sum of segment file sizes.
    pub bytes: u64,
    /// Segments and records dropped by retention since open.
    pub dropped_segments: u64,
    pub dropped_records: u64,
    /// Records appended and fsync calls (file and directory) since open.
    pub appended: u64,
    pub fsyncs: u64,
    /// What open repaired.
    pub recovery: Recovery,
}

/// The incident log writer.
#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    limits: Limits,
    key: ChainKey,
    /// Oldest first; the last one is the active segment. At most `limits.max_segments()`.
    segments: VecDeque<Segment>,
    active: Option<Active>,
    chain: Chain,
    /// Encoding buffer: one record header and the largest payload, allocated at open.
    buf: Vec<u8>,
    poisoned: bool,
    stats: Stats,
}

impl Journal {
    /// Opens (creating if needed) the journal in `dir`, cutting a torn tail off its newest
    /// segment. `key` is the appliance key that keys the chain.
    pub fn open(dir: impl Into<PathBuf>, limits: Limits, key: &[u8]) -> Result<Self, JournalError> {
        limits.check()?;
        let key = ChainKey::new(key).ok_or(JournalError::KeyTooShort {
            len: key.len(),
            min: MIN_KEY_LEN,
        })?;
        let dir = dir.into();
        if !dir.is_dir() {
            fs::create_dir_all(&dir).map_err(JournalError::io("create", &dir))?;
            if let Some(parent) = dir.parent() {
                sync_dir(parent)?;
            }
        }
        let mut segments = VecDeque::with_capacity(limits.max_segments() + 1);
        for (first_seq, path) in list_segments(&dir)? {
            let len = fs::metadata(&path)
                .map_err(JournalError::io("stat", &path))?
                .len();
            segments.push_back(Segment {
                first_seq,
                path,
                len,
            });
        }
        let mut journal = Self {
            dir,
            limits,
            key,
            segments,
            active: None,
            chain: Chain::default(),
            buf: Vec::with_capacity(RECORD_HEADER_LEN + limits.max_record as usize),
            poisoned: false,
            stats: Stats::default(),
        };
        journal.recover()?;
        Ok(journal)
    }

    /// Finds the chain's end in the newest segment and cuts what follows it.
    fn recover(&mut self) -> Result<(), JournalError> {
        let Some(last) = self.segments.back() else {
            return Ok(());
        };
        let path = last.path.clone();
        let len = last.len;
        let file = File::open(&path).map_err(JournalError::io("open", &path))?;
        let opened = Scanner::open(BufReader::new(file), self.limits.max_record, Vec::new())
            .map_err(JournalError::io("read", &path))?;
        let (mut scanner, header) = match opened {
            Ok(opened) => opened,
            Err((fault, _)) => {
                // A segment is created with its header and first record in one write, synced
                // before anything is acknowledged: a segment no longer than that, with a bad
                // header, holds nothing acknowledged. A longer one is damage, not a power cut.
                let first_write = (SEGMENT_HEADER_LEN + RECORD_HEADER_LEN) as u64
                    + u64::from(self.limits.max_record);
                if len > first_write {
                    return Err(JournalError::Damaged {
                        path,
                        offset: 0,
                        fault,
                    });
                }
                let quarantine = self.dir.join(QUARANTINE_NAME);
                fs::rename(&path, &quarantine).map_err(JournalError::io("set aside", &path))?;
                sync_dir(&self.dir)?;
                self.segments.pop_back();
                self.stats.recovery.dropped_torn_segment = true;
                // The previous segment was fsynced before this one was created.
                return self.recover();
            }
        };
        let mut chain = Chain {
            next_seq: header.first_seq,
            prev_tag: header.prev_tag,
        };
        let (end, reason) = loop {
            let step = scanner.step().map_err(JournalError::io("read", &path))?;
            match step {
                Step::Record {
                    offset,
                    header,
                    payload,
                } => {
                    // A power cut leaves missing or garbled bytes, which fail the CRC; a record
                    // with a good CRC that breaks the chain was written by someone (another
                    // key, an editor) and may have been acknowledged: never cut it.
                    if let Err(link) = chain.accept(&self.key, &header, payload) {
                        return Err(JournalError::ChainBroken {
                            path,
                            offset,
                            seq: chain.next_seq,
                            link,
                        });
                    }
                }
                Step::End { offset } => break (offset, None),
                Step::Bad { offset, fault } => break (offset, Some(fault)),
            }
        };
        drop(scanner);
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(&path)
            .map_err(JournalError::io("open", &path))?;
        if end < len {
            self.quarantine(&mut file, &path, end)?;
            file.set_len(end)
                .map_err(JournalError::io("truncate", &path))?;
            self.stats.recovery.cut_bytes = len - end;
            self.stats.recovery.cut_fault = reason;
            if let Some(last) = self.segments.back_mut() {
                last.len = end;
            }
        }
        // Always: records that were written but never fsynced before the last stop may be in
        // the page cache only; the next record chains on them, so they must be durable first.
        file.sync_all().map_err(JournalError::io("fsync", &path))?;
        self.stats.fsyncs += 1;
        self.chain = chain;
        self.active = Some(Active { file, dirty: false });
        Ok(())
    }

    /// Copies `file[from..]` to the quarantine file, durably, before it is cut.
    fn quarantine(&self, file: &mut File, path: &Path, from: u64) -> Result<(), JournalError> {
        let target = self.dir.join(QUARANTINE_NAME);
        file.seek(SeekFrom::Start(from))
            .map_err(JournalError::io("read", path))?;
        let mut out = File::create(&target).map_err(JournalError::io("create", &target))?;
        // The cut is at most one segment: the newest segment is at most `segment_bytes`.
        io::copy(
            &mut Read::by_ref(file).take(self.limits.segment_bytes),
            &mut out,
        )
        .map_err(JournalError::io("write", &target))?;
        out.sync_all().map_err(JournalError::io("fsync", &target))?;
        sync_dir(&self.dir)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Appends one record stamped `time_ms` (milliseconds since the Unix epoch) and returns
    /// once it is durable. The returned anchor is what the SIEM export carries.
    pub fn append(&mut self, time_ms: u64, payload: &[u8]) -> Result<Anchor, JournalError> {
        self.append_batch(&[(time_ms, payload)])?
            .ok_or(JournalError::Poisoned)
    }

    /// Group commit: appends every record in order and makes them durable with one fsync
    /// (more only when a segment fills). Returns the last record's anchor (`None` for an empty
    /// batch); every record of the batch is acknowledged when it returns, none before. Either
    /// all records are checked against the size limit before the first is written, so a
    /// refused batch writes nothing.
    pub fn append_batch(
        &mut self,
        records: &[(u64, &[u8])],
    ) -> Result<Option<Anchor>, JournalError> {
        if self.poisoned {
            return Err(JournalError::Poisoned);
        }
        if let Some((_, p)) = records
            .iter()
            .find(|(_, p)| p.len() > self.limits.max_record as usize)
        {
            return Err(JournalError::TooLarge {
                len: p.len(),
                max: self.limits.max_record,
            });
        }
        // Any failure from here leaves the segment's tail unknown.
        self.poisoned = true;
        let mut dir_changed = false;
        for &(time_ms, payload) in records {
            let need = (RECORD_HEADER_LEN + payload.len()) as u64;
            let full = self
                .segments
                .back()
                .is_none_or(|s| s.len + need > self.limits.segment_bytes);
            if self.active.is_none() || full {
                self.rotate()?;
                dir_changed = true;
            }
            self.write_record(time_ms, payload)?;
        }
        self.sync_active()?;
        if dir_changed {
            sync_dir(&self.dir)?;
            self.stats.fsyncs += 1;
        }
        self.poisoned = false;
        Ok((!records.is_empty()).then(|| self.last_anchor()).flatten())
    }

    /// Makes the active segment's written bytes durable, if there are any.
    fn sync_active(&mut self) -> Result<(), JournalError> {
        let (Some(active), Some(segment)) = (self.active.as_mut(), self.segments.back()) else {
            return Ok(());
        };
        if active.dirty {
            active
                .file
                .sync_data()
                .map_err(JournalError::io("fsync", &segment.path))?;
            active.dirty = false;
            self.stats.fsyncs += 1;
        }
        Ok(())
    }

    fn write_record(&mut self, time_ms: u64, payload: &[u8]) -> Result<(), JournalError> {
        let seq = self.chain.next_seq;
        let tag = self.key.tag(&self.chain.prev_tag, seq, time_ms, payload);
        let header = RecordHeader::new(seq, time_ms, tag, payload);
        self.buf.clear();
        self.buf.extend_from_slice(&header.encode());
        self.buf.extend_from_slice(payload);
        let (Some(active), Some(segment)) = (self.active.as_mut(), self.segments.back_mut()) else {
            return Err(JournalError::Poisoned);
        };
        active
            .file
            .write_all(&self.buf)
            .map_err(JournalError::io("append to", &segment.path))?;
        active.dirty = true;
        segment.len += self.buf.len() as u64;
        self.chain.next_seq += 1;
        self.chain.prev_tag = tag;
        self.stats.appended += 1;
        Ok(())
    }

    /// Closes the active segment (fsynced), drops the oldest segments until a full new one
    /// fits the total, and starts a new segment at the next sequence number.
    fn rotate(&mut self) -> Result<(), JournalError> {
        self.sync_active()?;
        self.active = None;
        while !self.segments.is_empty()
            && self.bytes() + self.limits.segment_bytes > self.limits.total_bytes
        {
            let Some(oldest) = self.segments.pop_front() else {
                break;
            };
            fs::remove_file(&oldest.path).map_err(JournalError::io("remove", &oldest.path))?;
            let next = self
                .segments
                .front()
                .map_or(self.chain.next_seq, |s| s.first_seq);
            self.stats.dropped_segments += 1;
            self.stats.dropped_records += next.saturating_sub(oldest.first_seq);
        }
        let header = SegmentHeader {
            first_seq: self.chain.next_seq,
            prev_tag: self.chain.prev_tag,
        };
        let path = self.dir.join(segment_name(header.first_seq));
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create_new(true)
            .open(&path)
            .map_err(JournalError::io("create", &path))?;
        file.write_all(&header.encode())
            .map_err(JournalError::io("write", &path))?;
        self.segments.push_back(Segment {
            first_seq: header.first_seq,
            path,
            len: SEGMENT_HEADER_LEN as u64,
        });
        self.active = Some(Active { file, dirty: true });
        Ok(())
    }

    fn bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.len).sum()
    }

    /// The newest record's sequence number and tag: what the SIEM export sends, and what
    /// [`verify()`](crate::verify()) later checks the journal against to find tail loss.
    pub fn last_anchor(&self) -> Option<Anchor> {
        let seq = self.chain.next_seq - 1;
        let held = self.segments.front().is_some_and(|s| s.first_seq <= seq);
        held.then_some(Anchor {
            seq,
            tag: self.chain.prev_tag,
        })
    }

    /// The sequence number the next record gets.
    pub fn next_seq(&self) -> u64 {
        self.chain.next_seq
    }

    pub fn stats(&self) -> Stats {
        let last = self.last_anchor();
        Stats {
            first_seq: last.and(self.segments.front().map(|s| s.first_seq)),
            last,
            segments: self.segments.len(),
            bytes: self.bytes(),
            ..self.stats
        }
    }

    /// Streams records from `start` (see [`Reader`]); appends may continue meanwhile.
    pub fn reader(&self, start: Start) -> Result<Reader, JournalError> {
        Reader::open(&self.dir, self.limits.max_record, start)
    }

    /// [`verify()`](crate::verify()) with this journal's key.
    pub fn verify(&self, exported: Option<Anchor>) -> Result<Verified, JournalError> {
        verify::verify_with(&self.dir, self.limits.max_record, &self.key, exported)
    }
}

fn sync_dir(dir: &Path) -> Result<(), JournalError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(JournalError::io("fsync directory", dir))
}

/// Milliseconds since the Unix epoch now (0 if the clock is before 1970).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names_sort_as_sequence_numbers_and_foreign_names_are_ignored() {
        assert_eq!(segment_name(42), "seg-00000000000000000042.cjl");
        assert_eq!(parse_segment_name(&segment_name(u64::MAX)), Some(u64::MAX));
        assert_eq!(parse_segment_name(&segment_name(7)), Some(7));
        for foreign in [
            "seg-42.cjl",
            "seg-0000000000000000004x.cjl",
            "seg-00000000000000000042.log",
            QUARANTINE_NAME,
        ] {
            assert_eq!(parse_segment_name(foreign), None, "{foreign}");
        }
        assert!(segment_name(9) < segment_name(10));
    }
}
