//! The EDM bundle decoder (`edm/table.rs`) reached directly: magic, key check and MAC on the
//! raw input, then the layout (schema, sorted indexes, cells) of the input signed with the
//! fuzzing key. A bundle either is refused whole or gives a table the engine scans without
//! a panic and alike in any chunking.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = cordon_dlp::fuzzing::edm_bundle(data);
});
