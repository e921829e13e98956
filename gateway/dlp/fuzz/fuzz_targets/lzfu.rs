//! The compressed-RTF decoder ([MS-OXRTFCP] LZFu, `lzfu.rs`) reached
//! directly: header, control bytes, dictionary references, the end
//! reference, RAWSIZE and the CRC. Output must not depend on the split,
//! stay within its limit, and nothing may panic or hang.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    cordon_dlp::fuzzing::lzfu(data);
});
