//! Base64 and uuencode written into text (`blob.rs`, `uu.rs`) reached directly: runs, wrapped
//! lines, padding, the text judgement, `begin` lines and length characters. Output must not
//! depend on the split, and nothing may panic or hang.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    cordon_dlp::fuzzing::inline_text(data);
});
