//! [`Reader`]: records in sequence order from a sequence number or a time, one at a time, in
//! one payload buffer. It owns its file handles, so the writer keeps appending meanwhile (the
//! reader sees what was durable or written when it reaches it) and retention may remove a
//! segment under it (the reader moves on to the next one). Filters on the payload (rule,
//! action, sender, detector) are the caller's: the payload's encoding is not this crate's.
//!
//! Paging: read `n` entries, remember the last sequence number, start the next page at it + 1.

use std::fs::File;
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};

use crate::format::Tag;
use crate::journal::list_segments;
use crate::scan::{Fault, Scanner, Step};
use crate::JournalError;

/// Read buffer per open segment: a few records' worth of syscalls saved, fixed size.
const READ_BUFFER: usize = 16 * 1024;

/// Where reading starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// At this sequence number (or the oldest held, if it was dropped).
    Seq(u64),
    /// At the records stamped at or after this time (ms since the epoch). Clocks step, so
    /// times are not monotonic: every record from the oldest is considered and those stamped
    /// earlier are skipped.
    Time(u64),
    /// At the first record of the newest segment: the tail, for "the last few records"
    /// without reading the whole journal.
    NewestSegment,
}

/// One record as read; the payload borrows the reader's buffer until the next call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    pub seq: u64,
    pub time_ms: u64,
    pub tag: Tag,
    pub payload: &'a [u8],
}

/// Streams records from the journal's directory.
#[derive(Debug)]
pub struct Reader {
    dir: PathBuf,
    max_record: u32,
    /// Records before this are skipped.
    from_seq: u64,
    /// Records stamped before this are skipped.
    from_time: u64,
    /// First sequence number of the segment being read (or to be read next).
    segment_seq: Option<u64>,
    scanner: Option<(PathBuf, Scanner<BufReader<File>>)>,
    /// Payload buffer handed from segment to segment.
    spare: Vec<u8>,
}

impl Reader {
    /// A reader over the journal in `dir` whose records are at most `max_record` bytes.
    pub fn open(dir: &Path, max_record: u32, start: Start) -> Result<Self, JournalError> {
        let (from_seq, from_time) = match start {
            Start::Seq(seq) => (seq, 0),
            Start::Time(time) => (0, time),
            Start::NewestSegment => (0, 0),
        };
        // The segment holding `from_seq`: the newest one starting at or before it.
        let segments = list_segments(dir)?;
        let from_seq = match (start, segments.last()) {
            (Start::NewestSegment, Some((first, _))) => *first,
            _ => from_seq,
        };
        let segment_seq = segments
            .iter()
            .rev()
            .find(|(first, _)| *first <= from_seq)
            .or(segments.first())
            .map(|(first, _)| *first);
        Ok(Self {
            dir: dir.to_path_buf(),
            max_record,
            from_seq,
            from_time,
            segment_seq,
            scanner: None,
            spare: Vec::new(),
        })
    }

    /// The next record at or after the start, `None` at the end of what is written.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<Entry<'_>>, JournalError> {
        loop {
            if self.scanner.is_none() && !self.open_next()? {
                return Ok(None);
            }
            let Some((path, scanner)) = self.scanner.as_mut() else {
                return Ok(None);
            };
            let step = scanner.step().map_err(JournalError::io("read", &*path))?;
            let (offset, fault) = match step {
                Step::Record {
                    header, payload, ..
                } => {
                    if header.seq < self.from_seq || header.time_ms < self.from_time {
                        continue;
                    }
                    // Re-borrow to return the payload past the loop (see `entry`).
                    let (seq, time_ms, tag) = (header.seq, header.time_ms, header.tag);
                    let _ = payload;
                    self.from_seq = seq + 1;
                    return Ok(Some(self.entry(seq, time_ms, tag)));
                }
                Step::End { .. } => {
                    // The newest segment may still grow: stay on it, the next call reads on.
                    if self.is_newest()? {
                        return Ok(None);
                    }
                    self.close_current();
                    continue;
                }
                Step::Bad { offset, fault } => (offset, fault),
            };
            // Torn bytes at the end of the newest segment are an append in progress (or a
            // tail the next open cuts): the end for now. Anything else is damage.
            // The scanner stopped on the partial record: the next call opens the segment
            // again and skips what was already returned (one segment rescanned, rarely).
            let path = path.clone();
            if fault == Fault::Torn && self.is_newest()? {
                if let Some((_, scanner)) = self.scanner.take() {
                    self.spare = scanner.into_buffer();
                }
                return Ok(None);
            }
            return Err(JournalError::Damaged {
                path,
                offset,
                fault,
            });
        }
    }

    /// The record the scanner just returned (its payload is still in the scanner's buffer).
    fn entry(&self, seq: u64, time_ms: u64, tag: Tag) -> Entry<'_> {
        let payload = self
            .scanner
            .as_ref()
            .map_or(&[][..], |(_, s)| s.last_payload());
        Entry {
            seq,
            time_ms,
            tag,
            payload,
        }
    }

    /// Opens the segment `segment_seq` names, or the next one after it; `false` at the end.
    fn open_next(&mut self) -> Result<bool, JournalError> {
        loop {
            let Some(want) = self.segment_seq else {
                return Ok(false);
            };
            let segments = list_segments(&self.dir)?;
            let Some((first, path)) = segments.into_iter().find(|(first, _)| *first >= want) else {
                return Ok(false);
            };
            let file = match File::open(&path) {
                Ok(file) => file,
                // Dropped by retention since it was listed: try the next one.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    self.segment_seq = Some(first + 1);
                    continue;
                }
                Err(e) => return Err(JournalError::io("open", &path)(e)),
            };
            let reader = BufReader::with_capacity(READ_BUFFER, file);
            let buf = std::mem::take(&mut self.spare);
            match Scanner::open(reader, self.max_record, buf)
                .map_err(JournalError::io("read", &path))?
            {
                Ok((scanner, _)) => {
                    self.segment_seq = Some(first);
                    self.scanner = Some((path, scanner));
                    return Ok(true);
                }
                Err((fault, buf)) => {
                    self.spare = buf;
                    // A newest segment still being created: nothing to read yet.
                    if fault == Fault::Torn && self.newest_is(first)? {
                        return Ok(false);
                    }
                    return Err(JournalError::Damaged {
                        path,
                        offset: 0,
                        fault,
                    });
                }
            }
        }
    }

    fn close_current(&mut self) {
        if let Some((_, scanner)) = self.scanner.take() {
            self.spare = scanner.into_buffer();
        }
        self.segment_seq = self.segment_seq.map(|s| s + 1);
    }

    fn is_newest(&self) -> Result<bool, JournalError> {
        self.segment_seq.map_or(Ok(true), |s| self.newest_is(s))
    }

    fn newest_is(&self, first: u64) -> Result<bool, JournalError> {
        Ok(list_segments(&self.dir)?
            .last()
            .is_none_or(|(newest, _)| *newest <= first))
    }

    /// The next sequence number this reader would return: where the next page starts.
    pub fn next_seq(&self) -> u64 {
        self.from_seq
    }
}
