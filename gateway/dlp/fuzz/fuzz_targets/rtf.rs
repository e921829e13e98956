//! The RTF reader reached directly: control words, hex and Unicode escapes,
//! skipped destinations, `\bin` data and group nesting. The input is the
//! file itself, carried as a binary attachment (the scanner picks the reader
//! by content). Findings must not depend on the split, and nothing may panic
//! or hang.
#![no_main]
use std::sync::{Arc, OnceLock};

use cordon_dlp::{Engine, EngineConfig};

static ENGINE: OnceLock<Arc<Engine>> = OnceLock::new();

const HEAD: &[u8] = b"From: a@contoso.com\r\nSubject: file\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"=_fz\"\r\n\r\n--=_fz\r\n\
Content-Type: application/rtf; name=\"a.rtf\"\r\nContent-Transfer-Encoding: binary\r\n\r\n";
const TAIL: &[u8] = b"\r\n--=_fz--\r\n";

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let engine = ENGINE.get_or_init(|| {
        Arc::new(Engine::new(&EngineConfig::default()).expect("fuzz engine"))
    });
    // The first byte stays the split selector of `fuzzing::message`.
    let Some((&first, file)) = data.split_first() else {
        return;
    };
    let mut msg = Vec::with_capacity(1 + HEAD.len() + file.len() + TAIL.len());
    msg.push(first);
    msg.extend_from_slice(HEAD);
    msg.extend_from_slice(file);
    msg.extend_from_slice(TAIL);
    cordon_dlp::fuzzing::message(engine, &msg);
});
