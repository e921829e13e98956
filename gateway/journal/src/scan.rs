//! [`Scanner`]: walks one segment's bytes from any [`Read`] (a file, a slice), record by record,
//! in one payload buffer of the configured maximum record size, so a segment is never loaded
//! whole and a corrupt length cannot make it allocate. It checks framing and CRC only; the
//! chain is the caller's ([`crate::chain::Chain`]).

use std::io::{self, Read};

use crate::format::{
    Malformed, RecordHeader, SegmentHeader, RECORD_HEADER_LEN, SEGMENT_HEADER_LEN,
};

/// What is wrong with the bytes at some offset of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The segment ends inside a header or payload: the torn tail of an interrupted append.
    Torn,
    /// A header does not parse.
    Malformed(Malformed),
    /// The record's CRC does not match its header and payload.
    Crc,
}

/// One step through a segment.
#[derive(Debug, PartialEq, Eq)]
pub enum Step<'a> {
    /// A well-framed record with a good CRC, starting at `offset`.
    Record {
        offset: u64,
        header: RecordHeader,
        payload: &'a [u8],
    },
    /// The segment ends cleanly after the last record.
    End { offset: u64 },
    /// Bad bytes at `offset`; the scanner stops here (every later step repeats it).
    Bad { offset: u64, fault: Fault },
}

/// Streams the records of one segment.
#[derive(Debug)]
pub struct Scanner<R> {
    src: R,
    max_len: u32,
    /// Offset in the segment of the next unread byte.
    offset: u64,
    /// Set once the scanner stopped on bad bytes.
    stopped: Option<(u64, Fault)>,
    /// Payload buffer, capacity `max_len`, reused for every record.
    buf: Vec<u8>,
}

/// Reads until `buf` is full or the source ends; returns how much was read.
fn read_full(src: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match src.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

impl<R: Read> Scanner<R> {
    /// Reads the segment header. `Err(Ok(fault))` when the header is torn or malformed. `buf` is
    /// the payload buffer to reuse (cleared, grown once to `max_len` if smaller).
    #[allow(clippy::type_complexity)]
    pub fn open(
        mut src: R,
        max_len: u32,
        mut buf: Vec<u8>,
    ) -> io::Result<Result<(Self, SegmentHeader), (Fault, Vec<u8>)>> {
        let mut bytes = [0u8; SEGMENT_HEADER_LEN];
        if read_full(&mut src, &mut bytes)? < SEGMENT_HEADER_LEN {
            return Ok(Err((Fault::Torn, buf)));
        }
        let header = match SegmentHeader::decode(&bytes) {
            Ok(header) => header,
            Err(m) => return Ok(Err((Fault::Malformed(m), buf))),
        };
        buf.clear();
        buf.reserve_exact(max_len as usize);
        Ok(Ok((
            Self {
                src,
                max_len,
                offset: SEGMENT_HEADER_LEN as u64,
                stopped: None,
                buf,
            },
            header,
        )))
    }

    /// The next record, the clean end, or the first bad bytes.
    pub fn step(&mut self) -> io::Result<Step<'_>> {
        if let Some((offset, fault)) = self.stopped {
            return Ok(Step::Bad { offset, fault });
        }
        let start = self.offset;
        let mut bytes = [0u8; RECORD_HEADER_LEN];
        let got = read_full(&mut self.src, &mut bytes)?;
        if got == 0 {
            return Ok(Step::End { offset: start });
        }
        if got < RECORD_HEADER_LEN {
            return Ok(self.stop(start, Fault::Torn));
        }
        let header = match RecordHeader::decode(&bytes, self.max_len) {
            Ok(header) => header,
            Err(m) => return Ok(self.stop(start, Fault::Malformed(m))),
        };
        self.buf.resize(header.len as usize, 0);
        if read_full(&mut self.src, &mut self.buf)? < self.buf.len() {
            return Ok(self.stop(start, Fault::Torn));
        }
        if !header.crc_ok(&self.buf) {
            return Ok(self.stop(start, Fault::Crc));
        }
        self.offset = start + header.total_len();
        Ok(Step::Record {
            offset: start,
            header,
            payload: &self.buf,
        })
    }

    fn stop(&mut self, offset: u64, fault: Fault) -> Step<'static> {
        self.stopped = Some((offset, fault));
        Step::Bad { offset, fault }
    }

    /// The payload of the record the last [`Scanner::step`] returned.
    pub fn last_payload(&self) -> &[u8] {
        &self.buf
    }

    /// Gives the payload buffer back for the next segment.
    pub fn into_buffer(self) -> Vec<u8> {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{Tag, GENESIS_TAG};

    fn segment(records: &[(u64, &[u8])]) -> Vec<u8> {
        let mut out = SegmentHeader {
            first_seq: records.first().map_or(1, |r| r.0),
            prev_tag: GENESIS_TAG,
        }
        .encode()
        .to_vec();
        for (seq, payload) in records {
            let tag: Tag = [*seq as u8; 32];
            out.extend_from_slice(&RecordHeader::new(*seq, 0, tag, payload).encode());
            out.extend_from_slice(payload);
        }
        out
    }

    /// Every step until the first non-record, as (seq, payload) plus the final step.
    fn walk(bytes: &[u8], max: u32) -> (Vec<(u64, Vec<u8>)>, String) {
        let (mut scanner, _) = match Scanner::open(bytes, max, Vec::new()).unwrap() {
            Ok(opened) => opened,
            Err((fault, _)) => return (Vec::new(), format!("header {fault:?}")),
        };
        let mut out = Vec::new();
        loop {
            match scanner.step().unwrap() {
                Step::Record {
                    header, payload, ..
                } => out.push((header.seq, payload.to_vec())),
                other => return (out, format!("{other:?}")),
            }
        }
    }

    #[test]
    fn reads_records_then_a_clean_end() {
        let bytes = segment(&[(1, b"a"), (2, b""), (3, b"ccc")]);
        let (records, last) = walk(&bytes, 16);
        assert_eq!(
            records,
            vec![(1, b"a".to_vec()), (2, vec![]), (3, b"ccc".to_vec())]
        );
        assert_eq!(last, format!("End {{ offset: {} }}", bytes.len()));
    }

    #[test]
    fn every_truncation_is_torn_at_the_start_of_the_cut_record() {
        let bytes = segment(&[(1, b"first"), (2, b"second")]);
        let second = (SEGMENT_HEADER_LEN + RECORD_HEADER_LEN + 5) as u64;
        for cut in 0..bytes.len() {
            let (records, last) = walk(&bytes[..cut], 16);
            let expected = if cut < SEGMENT_HEADER_LEN {
                "header Torn".to_string()
            } else if cut == SEGMENT_HEADER_LEN || cut as u64 == second {
                format!("End {{ offset: {cut} }}")
            } else if (cut as u64) < second {
                format!("Bad {{ offset: {SEGMENT_HEADER_LEN}, fault: Torn }}")
            } else {
                format!("Bad {{ offset: {second}, fault: Torn }}")
            };
            assert_eq!(last, expected, "cut {cut}");
            assert_eq!(
                records.len(),
                usize::from(cut as u64 >= second),
                "cut {cut}"
            );
        }
    }

    #[test]
    fn a_flipped_payload_byte_is_a_crc_fault_and_the_scanner_stays_stopped() {
        let mut bytes = segment(&[(1, b"first"), (2, b"second")]);
        let at = SEGMENT_HEADER_LEN + RECORD_HEADER_LEN + 2;
        bytes[at] ^= 1;
        let (mut scanner, _) = Scanner::open(bytes.as_slice(), 16, Vec::new())
            .unwrap()
            .unwrap();
        let bad = Step::Bad {
            offset: SEGMENT_HEADER_LEN as u64,
            fault: Fault::Crc,
        };
        assert_eq!(scanner.step().unwrap(), bad);
        assert_eq!(scanner.step().unwrap(), bad);
    }

    #[test]
    fn an_oversized_length_is_refused_before_reading_the_payload() {
        let bytes = segment(&[(1, &[7; 17])]);
        let (records, last) = walk(&bytes, 16);
        assert!(records.is_empty());
        assert_eq!(
            last,
            format!(
                "Bad {{ offset: {SEGMENT_HEADER_LEN}, fault: Malformed(TooLong {{ len: 17, max: 16 }}) }}"
            )
        );
    }
}
