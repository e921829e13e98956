//! The streaming ZIP/OOXML reader and the PDF reader, reached directly: the input is the file
//! itself, carried as a binary attachment (the scanner picks the reader by content), so
//! mutations hit local headers, deflate streams, PDF objects and nesting instead of dying in the
//! base64 layer. Findings must not depend on the split, and nothing may panic.
#![no_main]
use std::sync::{Arc, OnceLock};

use cordon_dlp::{Engine, EngineConfig};

static ENGINE: OnceLock<Arc<Engine>> = OnceLock::new();

const HEAD: &[u8] = b"From: a@contoso.com\r\nSubject: archive\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"=_fz\"\r\n\r\n--=_fz\r\n\
Content-Type: application/zip; name=\"a.zip\"\r\nContent-Transfer-Encoding: binary\r\n\r\n";
const TAIL: &[u8] = b"\r\n--=_fz--\r\n";

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let engine = ENGINE.get_or_init(|| {
        Arc::new(Engine::new(&EngineConfig::default()).expect("fuzz engine"))
    });
    // The first byte stays the split selector of `fuzzing::message`.
    let Some((&first, archive)) = data.split_first() else {
        return;
    };
    let mut msg = Vec::with_capacity(1 + HEAD.len() + archive.len() + TAIL.len());
    msg.push(first);
    msg.extend_from_slice(HEAD);
    msg.extend_from_slice(archive);
    msg.extend_from_slice(TAIL);
    cordon_dlp::fuzzing::message(engine, &msg);
});
