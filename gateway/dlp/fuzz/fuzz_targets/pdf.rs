//! The PDF reader (`pdf/`) fed directly: the first byte picks the split, the
//! rest is the file. Without the MIME and attachment layers in front, every
//! mutation lands on the lexer, object dictionaries, FlateDecode streams,
//! object streams and ToUnicode CMaps. Findings must not depend on the
//! split, and nothing may panic.
#![no_main]
use std::sync::OnceLock;

use cordon_dlp::{Engine, EngineConfig};

static ENGINE: OnceLock<Engine> = OnceLock::new();

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let engine = ENGINE.get_or_init(|| Engine::new(&EngineConfig::default()).expect("fuzz engine"));
    let _ = cordon_dlp::fuzzing::pdf(engine, data);
});
