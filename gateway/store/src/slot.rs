//! The slot file format, little-endian:
//!
//! ```text
//! offset  size  field
//!      0     8  magic "CORDONAB"
//!      8     2  format version (1)
//!     10     2  reserved, 0
//!     12     8  generation (1 = first write; 0 is never written)
//!     20     4  payload length
//!     24     n  payload
//!   24+n     4  CRC-32/ISO-HDLC over bytes 0..24+n
//! ```
//!
//! A slot is valid only if the file is exactly `28 + n` bytes, magic, version and CRC match.
//! A torn write (a prefix of the new bytes, or new bytes over old) fails the length or the CRC.

use crc::{Crc, CRC_32_ISO_HDLC};

/// Identifies a cordon slot file (and its byte order).
pub const MAGIC: [u8; 8] = *b"CORDONAB";

/// Version of the slot layout; a reader refuses other versions rather than guess.
pub const FORMAT_VERSION: u16 = 1;

/// Bytes before the payload.
pub const HEADER_LEN: usize = 24;

/// Bytes of the CRC trailer.
pub const TRAILER_LEN: usize = 4;

/// Largest payload: a slot is read whole at start-up, so a corrupt length field must not make
/// us allocate much; 1 MiB is 16 times the 64 KiB config limit of the config port.
pub const MAX_PAYLOAD_LEN: usize = 1024 * 1024;

/// Largest slot file, header and trailer included.
pub const MAX_SLOT_LEN: usize = HEADER_LEN + MAX_PAYLOAD_LEN + TRAILER_LEN;

/// CRC-32/ISO-HDLC, the zlib CRC, so `python3 -c 'zlib.crc32(...)'` can check a slot.
const SLOT_CRC: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);

/// One of the two slot files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    A,
    B,
}

impl Slot {
    pub const BOTH: [Slot; 2] = [Slot::A, Slot::B];

    pub fn other(self) -> Self {
        match self {
            Self::A => Self::B,
            Self::B => Self::A,
        }
    }

    /// File name in the data directory.
    pub fn file_name(self) -> &'static str {
        match self {
            Self::A => "config.a",
            Self::B => "config.b",
        }
    }

    /// Temporary file a new generation is written to before it is renamed over the slot.
    pub fn temp_name(self) -> &'static str {
        match self {
            Self::A => "config.a.tmp",
            Self::B => "config.b.tmp",
        }
    }
}

/// What a slot file holds, for loading and for `status` diagnostics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotState {
    Missing,
    /// Present but unusable (torn write, bit rot, foreign file); the reason says which check.
    Invalid(&'static str),
    Valid {
        generation: u64,
        payload: Vec<u8>,
    },
}

impl SlotState {
    pub fn generation(&self) -> Option<u64> {
        match self {
            Self::Valid { generation, .. } => Some(*generation),
            _ => None,
        }
    }
}

/// Builds the slot file bytes. The caller has checked `payload.len() <= MAX_PAYLOAD_LEN`.
pub fn encode(generation: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len() + TRAILER_LEN);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&generation.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(payload);
    let crc = SLOT_CRC.checksum(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Checks a slot file's bytes.
pub fn decode(bytes: &[u8]) -> SlotState {
    if bytes.len() < HEADER_LEN + TRAILER_LEN {
        return SlotState::Invalid("shorter than a header");
    }
    if bytes[0..8] != MAGIC {
        return SlotState::Invalid("bad magic");
    }
    if u16::from_le_bytes([bytes[8], bytes[9]]) != FORMAT_VERSION {
        return SlotState::Invalid("unknown format version");
    }
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[12..20]);
    let generation = u64::from_le_bytes(word);
    let len = u32::from_le_bytes([bytes[20], bytes[21], bytes[22], bytes[23]]) as usize;
    if len > MAX_PAYLOAD_LEN || bytes.len() != HEADER_LEN + len + TRAILER_LEN {
        return SlotState::Invalid("length does not match the file size");
    }
    let (body, trailer) = bytes.split_at(HEADER_LEN + len);
    let stored = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
    if SLOT_CRC.checksum(body) != stored {
        return SlotState::Invalid("CRC mismatch");
    }
    if generation == 0 {
        return SlotState::Invalid("generation 0 is never written");
    }
    SlotState::Valid {
        generation,
        payload: body[HEADER_LEN..].to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_every_corruption_is_caught() {
        let bytes = encode(7, b"[smtp]\n");
        assert_eq!(
            decode(&bytes),
            SlotState::Valid {
                generation: 7,
                payload: b"[smtp]\n".to_vec()
            }
        );
        for cut in 0..bytes.len() {
            assert!(
                matches!(decode(&bytes[..cut]), SlotState::Invalid(_)),
                "cut {cut}"
            );
        }
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut flipped = bytes.clone();
                flipped[i] ^= 1 << bit;
                assert!(
                    matches!(decode(&flipped), SlotState::Invalid(_)),
                    "byte {i} bit {bit}"
                );
            }
        }
    }
}
