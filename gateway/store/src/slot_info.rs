//! What each root slot holds (issue 17): the firmware version and dm-verity root hash that an
//! install wrote there, kept on the `bootstate` partition beside the boot loader's state so
//! that `cordonctl update status` can name both slots, including the one not running.
//!
//! # Format
//! One record per slot, at [`SLOT_INFO_OFFSET`] + slot index × [`RECORD_LEN`] (64 KiB and
//! 68 KiB into the partition; the boot loader's two copies sit at 0 and 4 KiB and U-Boot never
//! reads these). A record has the boot state's layout: a little-endian zlib CRC-32 of the rest,
//! then NUL-ended `NAME=value` strings (`VERSION`, `ROOT_HASH`, `STATE`), then NULs.
//!
//! A record is advisory: the boot loader's attempts decide what boots. It is written before
//! the slot is armed, so a torn write (a power cut inside it) only leaves the slot's version
//! unknown, never a slot that boots when it should not.
//!
//! Sans-IO: bytes in, record out; `cordon slot` reads and writes the partition.

use crc::{Crc, CRC_32_ISO_HDLC};

use crate::boot::{BootSlot, RECORD_LEN};

/// Where slot A's record starts on the `bootstate` partition: past the boot loader's two
/// copies, with room for them to grow.
pub const SLOT_INFO_OFFSET: usize = 64 * 1024;

/// Longest version string kept (the bundle manifest's version, a wire `Name`).
pub const MAX_VERSION_LEN: usize = 48;

/// A dm-verity root hash: SHA-256, 64 hex digits.
pub const ROOT_HASH_LEN: usize = 64;

const CRC: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);

/// Whether the slot's content is whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// An install began writing this version and has not verified it (or failed).
    Writing,
    /// Written and read back whole.
    Installed,
}

/// One slot's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotInfo {
    pub version: String,
    /// The dm-verity root hash, 64 lowercase hex digits.
    pub root_hash: String,
    pub content: Content,
}

/// Why a record is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlotInfoError {
    #[error("the record is not {RECORD_LEN} bytes")]
    Length,
    #[error("the record's CRC does not match (never written, or torn)")]
    Crc,
    #[error("the record's {0} is missing or malformed")]
    Bad(&'static str),
}

/// Byte offset of `slot`'s record on the partition.
pub const fn offset(slot: BootSlot) -> usize {
    SLOT_INFO_OFFSET
        + match slot {
            BootSlot::A => 0,
            BootSlot::B => RECORD_LEN,
        }
}

impl SlotInfo {
    /// A record; `None` when the version or hash cannot be kept as they are.
    pub fn new(version: &str, root_hash: &str, content: Content) -> Option<Self> {
        let ok_version = !version.is_empty()
            && version.len() <= MAX_VERSION_LEN
            && version.bytes().all(|b| b.is_ascii_graphic());
        let ok_hash = root_hash.len() == ROOT_HASH_LEN
            && root_hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        (ok_version && ok_hash).then(|| Self {
            version: version.to_owned(),
            root_hash: root_hash.to_owned(),
            content,
        })
    }

    /// The record as it is stored.
    pub fn encode(&self) -> [u8; RECORD_LEN] {
        let state = match self.content {
            Content::Writing => "writing",
            Content::Installed => "installed",
        };
        let text = format!(
            "ROOT_HASH={}\0STATE={state}\0VERSION={}\0",
            self.root_hash, self.version
        );
        let mut out = [0u8; RECORD_LEN];
        out[4..4 + text.len()].copy_from_slice(text.as_bytes());
        let crc = CRC.checksum(&out[4..]);
        out[..4].copy_from_slice(&crc.to_le_bytes());
        out
    }

    /// Reads one record.
    pub fn decode(record: &[u8]) -> Result<Self, SlotInfoError> {
        if record.len() != RECORD_LEN {
            return Err(SlotInfoError::Length);
        }
        let (crc, data) = record.split_at(4);
        if CRC.checksum(data).to_le_bytes() != crc {
            return Err(SlotInfoError::Crc);
        }
        let (mut version, mut hash, mut content) = (None, None, None);
        for entry in data.split(|&c| c == 0).take_while(|e| !e.is_empty()) {
            let entry = std::str::from_utf8(entry).map_err(|_| SlotInfoError::Bad("entry"))?;
            let (name, value) = entry.split_once('=').ok_or(SlotInfoError::Bad("entry"))?;
            match name {
                "VERSION" => version = Some(value),
                "ROOT_HASH" => hash = Some(value),
                "STATE" => {
                    content = Some(match value {
                        "writing" => Content::Writing,
                        "installed" => Content::Installed,
                        _ => return Err(SlotInfoError::Bad("STATE")),
                    })
                }
                _ => {}
            }
        }
        let content = content.ok_or(SlotInfoError::Bad("STATE"))?;
        let version = version.ok_or(SlotInfoError::Bad("VERSION"))?;
        let hash = hash.ok_or(SlotInfoError::Bad("ROOT_HASH"))?;
        Self::new(version, hash, content).ok_or(SlotInfoError::Bad("VERSION or ROOT_HASH"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "65901774cc7b4b447fd32b9f9d30cd4dfae8e3306a60c3a749dcd7b41acc47c5";

    #[test]
    fn a_record_survives_its_round_trip() {
        for content in [Content::Writing, Content::Installed] {
            let info = SlotInfo::new("0.2.0+abc", HASH, content).unwrap();
            assert_eq!(SlotInfo::decode(&info.encode()), Ok(info));
        }
    }

    #[test]
    fn torn_empty_and_malformed_records_are_refused() {
        let good = SlotInfo::new("0.2.0", HASH, Content::Installed)
            .unwrap()
            .encode();
        assert_eq!(
            SlotInfo::decode(&[0u8; RECORD_LEN]),
            Err(SlotInfoError::Crc)
        );
        let mut torn = good;
        torn[RECORD_LEN / 2..].fill(0xff);
        assert_eq!(SlotInfo::decode(&torn), Err(SlotInfoError::Crc));
        assert_eq!(SlotInfo::decode(&good[..100]), Err(SlotInfoError::Length));
        let mut text = [0u8; RECORD_LEN];
        let body = b"STATE=installed\0VERSION=1\0";
        text[4..4 + body.len()].copy_from_slice(body);
        let crc = CRC.checksum(&text[4..]);
        text[..4].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(
            SlotInfo::decode(&text),
            Err(SlotInfoError::Bad("ROOT_HASH"))
        );
    }

    #[test]
    fn versions_and_hashes_that_cannot_be_shown_as_they_are_are_not_kept() {
        assert!(SlotInfo::new("", HASH, Content::Installed).is_none());
        assert!(SlotInfo::new("1 2", HASH, Content::Installed).is_none());
        assert!(SlotInfo::new(&"9".repeat(49), HASH, Content::Installed).is_none());
        assert!(SlotInfo::new("1", &HASH[1..], Content::Installed).is_none());
        assert!(SlotInfo::new("1", &HASH.to_uppercase(), Content::Installed).is_none());
    }

    #[test]
    fn the_records_sit_past_the_boot_loaders_copies_and_inside_the_partition() {
        assert!(offset(BootSlot::A) >= 2 * RECORD_LEN);
        assert_eq!(offset(BootSlot::B), offset(BootSlot::A) + RECORD_LEN);
        // The image's bootstate partition is 1 MiB (image/build).
        assert!(offset(BootSlot::B) + RECORD_LEN <= 1 << 20);
    }
}
