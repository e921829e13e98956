//! A slot file as flash may hand it back after a power cut or bit rot: the decoder never
//! panics, accepts only what has a good CRC and length, and a payload it accepts decodes as a
//! config record or is refused with a reason. Any payload round-trips through encode/decode.
#![no_main]
use cordon_store::slot::{self, SlotState};
use cordon_store::{ConfigRecord, MAX_PAYLOAD_LEN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let SlotState::Valid { payload, .. } = slot::decode(data) {
        if let Ok(record) = ConfigRecord::decode(&payload) {
            assert_eq!(record.encode(), payload);
        }
    }
    if data.len() <= MAX_PAYLOAD_LEN {
        // Generation 0 is never written (the decoder refuses it), so start at 1.
        let generation = data.len() as u64 * 7919 + 1;
        match slot::decode(&slot::encode(generation, data)) {
            SlotState::Valid {
                generation: g,
                payload,
            } => {
                assert_eq!(g, generation);
                assert_eq!(payload, data);
            }
            other => panic!("a fresh slot did not decode: {other:?}"),
        }
    }
});
