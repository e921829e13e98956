//! TNEF's MAPI property lists (`mapi.rs`) reached directly: the input is
//! the data of one `attMAPIProps` attribute in a winmail.dat carried as an
//! attachment (counts, tags, named-property names, value lengths, padding,
//! UTF-16 strings and compressed RTF). Findings must not depend on the
//! split, and nothing may panic or hang.
#![no_main]
use std::sync::{Arc, OnceLock};

use cordon_dlp::{Engine, EngineConfig};

static ENGINE: OnceLock<Arc<Engine>> = OnceLock::new();

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let engine = ENGINE.get_or_init(|| {
        Arc::new(Engine::new(&EngineConfig::default()).expect("fuzz engine"))
    });
    cordon_dlp::fuzzing::tnef_props(engine, data);
});
