//! The PNG/JPEG/GIF structure check (`image.rs`), fed directly: the first
//! byte picks the format and the split; the verdict must not depend on the
//! split, and nothing may panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    cordon_dlp::fuzzing::image(data);
});
