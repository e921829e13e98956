//! The boot loader's state partition as flash may hand it back (torn writes, bit rot, another
//! tool's variables): reading never panics, and a copy that decodes re-encodes to a copy that
//! decodes to the same state. The input is also wrapped with a correct CRC, so the variable
//! parser behind the CRC check is reached too. Each slot's record (`slot_info`, the version and
//! verity root hash an install wrote) is read from the same bytes under the same rules.
#![no_main]
use cordon_store::boot::{BootRecords, BootState, RECORD_LEN};
use cordon_store::slot_info::SlotInfo;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let records = BootRecords::read(data);
    let (_, next) = records.next_write(|s| s.mark_good(cordon_store::boot::BootSlot::A));
    assert_eq!(BootState::decode(&next.encode()), Ok(next));
    if data.len() <= RECORD_LEN - 4 {
        let mut copy = vec![0u8; RECORD_LEN];
        copy[4..4 + data.len()].copy_from_slice(data);
        let crc = crc32(&copy[4..]);
        copy[..4].copy_from_slice(&crc.to_le_bytes());
        if let Ok(state) = BootState::decode(&copy) {
            assert_eq!(BootState::decode(&state.encode()), Ok(state));
        }
        if let Ok(info) = SlotInfo::decode(&copy) {
            assert_eq!(SlotInfo::decode(&info.encode()), Ok(info));
        }
    }
    if let Some(record) = data.get(..RECORD_LEN) {
        if let Ok(info) = SlotInfo::decode(record) {
            assert_eq!(SlotInfo::decode(&info.encode()), Ok(info));
        }
    }
});

/// The zlib CRC, bit by bit (the fuzz crate keeps to cordon-store's own dependencies).
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}
