//! The on-disk format, little-endian, sans-IO: fixed-size headers in, fields or a reason out.
//!
//! A segment file is one segment header followed by records, nothing else:
//!
//! ```text
//! segment header (56 bytes)
//! offset  size  field
//!      0     8  magic "CORDJSEG"
//!      8     2  format version (1)
//!     10     2  reserved, 0
//!     12     8  first sequence number this segment holds (the next one when it was created)
//!     20    32  chain tag of record first-1 (all zero before record 1): where verify starts
//!     52     4  CRC-32/ISO-HDLC over bytes 0..52
//!
//! record (60 + n bytes)
//! offset  size  field
//!      0     4  magic "CJR1" (also the format version)
//!      4     4  payload length n
//!      8     8  sequence number
//!     16     8  time, milliseconds since the Unix epoch (as the caller stamped it)
//!     24    32  chain tag = HMAC-SHA256(key, prev_tag || seq LE || time LE || payload)
//!     56     4  CRC-32/ISO-HDLC over bytes 0..56 and the payload
//!     60     n  payload (opaque: the incident record as its owner encodes it)
//! ```
//!
//! The CRC finds torn writes and bit rot without the key; the chain tag finds edits, deletions
//! and reordering by anyone who does not hold the key.

use crc::{Crc, CRC_32_ISO_HDLC};

/// Identifies a journal segment file (and its byte order).
pub const SEGMENT_MAGIC: [u8; 8] = *b"CORDJSEG";

/// Version of the segment layout; a reader refuses other versions rather than guess.
pub const SEGMENT_VERSION: u16 = 1;

/// Bytes of a segment header.
pub const SEGMENT_HEADER_LEN: usize = 56;

/// Starts every record; a new record layout gets a new magic.
pub const RECORD_MAGIC: [u8; 4] = *b"CJR1";

/// Bytes of a record header (the payload follows).
pub const RECORD_HEADER_LEN: usize = 60;

/// Bytes of a chain tag (HMAC-SHA256 output).
pub const TAG_LEN: usize = 32;

/// A chain tag.
pub type Tag = [u8; TAG_LEN];

/// The predecessor tag of record 1.
pub const GENESIS_TAG: Tag = [0; TAG_LEN];

/// CRC-32/ISO-HDLC, the zlib CRC, so `python3 -c 'zlib.crc32(...)'` can check a record (the
/// same CRC as cordon-store's slots).
const CRC: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);

/// The fields of a segment header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    pub first_seq: u64,
    pub prev_tag: Tag,
}

impl SegmentHeader {
    pub fn encode(&self) -> [u8; SEGMENT_HEADER_LEN] {
        let mut out = [0u8; SEGMENT_HEADER_LEN];
        out[0..8].copy_from_slice(&SEGMENT_MAGIC);
        out[8..10].copy_from_slice(&SEGMENT_VERSION.to_le_bytes());
        out[12..20].copy_from_slice(&self.first_seq.to_le_bytes());
        out[20..52].copy_from_slice(&self.prev_tag);
        let crc = CRC.checksum(&out[..52]);
        out[52..56].copy_from_slice(&crc.to_le_bytes());
        out
    }

    pub fn decode(bytes: &[u8; SEGMENT_HEADER_LEN]) -> Result<Self, Malformed> {
        if bytes[0..8] != SEGMENT_MAGIC {
            return Err(Malformed::SegmentMagic);
        }
        if u16::from_le_bytes([bytes[8], bytes[9]]) != SEGMENT_VERSION || bytes[10..12] != [0, 0] {
            return Err(Malformed::SegmentVersion);
        }
        if CRC.checksum(&bytes[..52]) != le_u32(&bytes[52..56]) {
            return Err(Malformed::SegmentCrc);
        }
        let first_seq = le_u64(&bytes[12..20]);
        if first_seq == 0 {
            return Err(Malformed::SeqZero);
        }
        Ok(Self {
            first_seq,
            prev_tag: bytes[20..52].try_into().unwrap_or(GENESIS_TAG),
        })
    }
}

/// The fields of a record header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    pub len: u32,
    pub seq: u64,
    pub time_ms: u64,
    pub tag: Tag,
    pub crc: u32,
}

impl RecordHeader {
    /// The header for `payload`, its CRC computed.
    pub fn new(seq: u64, time_ms: u64, tag: Tag, payload: &[u8]) -> Self {
        let mut header = Self {
            len: payload.len() as u32,
            seq,
            time_ms,
            tag,
            crc: 0,
        };
        header.crc = header.compute_crc(payload);
        header
    }

    fn fields(&self) -> [u8; RECORD_HEADER_LEN - 4] {
        let mut out = [0u8; RECORD_HEADER_LEN - 4];
        out[0..4].copy_from_slice(&RECORD_MAGIC);
        out[4..8].copy_from_slice(&self.len.to_le_bytes());
        out[8..16].copy_from_slice(&self.seq.to_le_bytes());
        out[16..24].copy_from_slice(&self.time_ms.to_le_bytes());
        out[24..56].copy_from_slice(&self.tag);
        out
    }

    pub fn encode(&self) -> [u8; RECORD_HEADER_LEN] {
        let mut out = [0u8; RECORD_HEADER_LEN];
        out[..56].copy_from_slice(&self.fields());
        out[56..60].copy_from_slice(&self.crc.to_le_bytes());
        out
    }

    /// The CRC this header's fields and `payload` should carry.
    pub fn compute_crc(&self, payload: &[u8]) -> u32 {
        let mut digest = CRC.digest();
        digest.update(&self.fields());
        digest.update(payload);
        digest.finalize()
    }

    /// Parses the fixed part; the payload length is checked against `max_len` before anyone
    /// reads (or allocates for) the payload. The CRC is checked by [`RecordHeader::crc_ok`]
    /// once the payload is in.
    pub fn decode(bytes: &[u8; RECORD_HEADER_LEN], max_len: u32) -> Result<Self, Malformed> {
        if bytes[0..4] != RECORD_MAGIC {
            return Err(Malformed::RecordMagic);
        }
        let len = le_u32(&bytes[4..8]);
        if len > max_len {
            return Err(Malformed::TooLong { len, max: max_len });
        }
        Ok(Self {
            len,
            seq: le_u64(&bytes[8..16]),
            time_ms: le_u64(&bytes[16..24]),
            tag: bytes[24..56].try_into().unwrap_or(GENESIS_TAG),
            crc: le_u32(&bytes[56..60]),
        })
    }

    pub fn crc_ok(&self, payload: &[u8]) -> bool {
        payload.len() == self.len as usize && self.compute_crc(payload) == self.crc
    }

    /// Bytes the record takes in its segment.
    pub fn total_len(&self) -> u64 {
        RECORD_HEADER_LEN as u64 + u64::from(self.len)
    }
}

/// Why a header does not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    #[error("segment header magic is not CORDJSEG")]
    SegmentMagic,
    #[error("segment format version is not 1")]
    SegmentVersion,
    #[error("segment header CRC does not match")]
    SegmentCrc,
    #[error("sequence number 0 is never written")]
    SeqZero,
    #[error("record magic is not CJR1")]
    RecordMagic,
    #[error("record payload length {len} exceeds the {max}-byte limit")]
    TooLong { len: u32, max: u32 },
}

fn le_u32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[..4]);
    u32::from_le_bytes(a)
}

fn le_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_header_round_trips_and_every_flipped_bit_is_refused() {
        let header = SegmentHeader {
            first_seq: 0x0102_0304_0506_0708,
            prev_tag: [0xA5; TAG_LEN],
        };
        let bytes = header.encode();
        assert_eq!(&bytes[0..8], b"CORDJSEG");
        assert_eq!(&bytes[12..20], &[8, 7, 6, 5, 4, 3, 2, 1]);
        assert_eq!(SegmentHeader::decode(&bytes), Ok(header));
        for bit in 0..SEGMENT_HEADER_LEN * 8 {
            let mut bad = bytes;
            bad[bit / 8] ^= 1 << (bit % 8);
            let expected = match bit / 8 {
                0..=7 => Malformed::SegmentMagic,
                8..=11 => Malformed::SegmentVersion,
                _ => Malformed::SegmentCrc,
            };
            assert_eq!(SegmentHeader::decode(&bad), Err(expected), "bit {bit}");
        }
    }

    #[test]
    fn segment_header_refuses_sequence_zero() {
        let bytes = SegmentHeader {
            first_seq: 0,
            prev_tag: GENESIS_TAG,
        }
        .encode();
        assert_eq!(SegmentHeader::decode(&bytes), Err(Malformed::SeqZero));
    }

    #[test]
    fn record_header_layout_and_crc() {
        let payload = b"incident";
        let header = RecordHeader::new(7, 1_700_000_000_000, [3; TAG_LEN], payload);
        let bytes = header.encode();
        assert_eq!(&bytes[0..4], b"CJR1");
        assert_eq!(&bytes[4..8], &8u32.to_le_bytes());
        assert_eq!(&bytes[8..16], &7u64.to_le_bytes());
        assert_eq!(&bytes[16..24], &1_700_000_000_000u64.to_le_bytes());
        assert_eq!(&bytes[24..56], &[3; TAG_LEN]);
        // The CRC is zlib's CRC-32 over header fields and payload, as documented.
        let mut covered = bytes[..56].to_vec();
        covered.extend_from_slice(payload);
        let zlib = Crc::<u32>::new(&CRC_32_ISO_HDLC).checksum(&covered);
        assert_eq!(&bytes[56..60], &zlib.to_le_bytes());

        let decoded = RecordHeader::decode(&bytes, 8).unwrap();
        assert_eq!(decoded, header);
        assert!(decoded.crc_ok(payload));
        assert!(!decoded.crc_ok(b"incidenT"));
        assert!(!decoded.crc_ok(b"inciden"));
        assert_eq!(decoded.total_len(), 68);
    }

    #[test]
    fn record_header_refusals() {
        let bytes = RecordHeader::new(1, 0, GENESIS_TAG, &[0; 100]).encode();
        assert_eq!(
            RecordHeader::decode(&bytes, 99),
            Err(Malformed::TooLong { len: 100, max: 99 })
        );
        let mut bad = bytes;
        bad[3] = b'2';
        assert_eq!(RecordHeader::decode(&bad, 100), Err(Malformed::RecordMagic));
        // A flipped bit in any covered header byte fails the CRC, not the parse.
        for byte in 8..56 {
            let mut flipped = bytes;
            flipped[byte] ^= 0x10;
            let header = RecordHeader::decode(&flipped, 100).unwrap();
            assert!(!header.crc_ok(&[0; 100]), "byte {byte}");
        }
    }
}
