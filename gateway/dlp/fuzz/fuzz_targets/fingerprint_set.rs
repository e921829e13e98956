//! The fingerprint set decoder (`fingerprint/mod.rs`) reached directly: magic, key check and
//! check value on the raw input, then the layout of the input sealed with the fuzzing key.
//! A bundle either is refused whole or gives a set that encodes back to itself and that the
//! engine matches without a panic and alike in any chunking.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = cordon_dlp::fuzzing::fingerprint_set(data);
});
