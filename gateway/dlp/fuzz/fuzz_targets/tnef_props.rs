//! TNEF's MAPI property lists (`mapi.rs`) reached directly: the input is
//! the data of one `attMAPIProps` attribute in a winmail.dat carried as an
//! attachment (counts, tags, named-property names, value lengths, padding,
//! UTF-16 strings and compressed RTF). Findings must not depend on the
//! split, and nothing may panic or hang.
#![no_main]
use std::sync::{Arc, OnceLock};

use cordon_dlp::{Engine, EngineConfig};

static ENGINE: OnceLock<Arc<Engine>> = OnceLock::new();

const HEAD: &[u8] = b"From: a@contoso.com\r\nSubject: file\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"=_fz\"\r\n\r\n--=_fz\r\n\
Content-Type: application/ms-tnef; name=\"winmail.dat\"\r\nContent-Transfer-Encoding: binary\r\n\r\n";
const TAIL: &[u8] = b"\r\n--=_fz--\r\n";

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let engine = ENGINE.get_or_init(|| {
        Arc::new(Engine::new(&EngineConfig::default()).expect("fuzz engine"))
    });
    // The first byte stays the split selector of `fuzzing::message`.
    let Some((&first, props)) = data.split_first() else {
        return;
    };
    let mut msg = Vec::with_capacity(1 + HEAD.len() + 17 + props.len() + TAIL.len());
    msg.push(first);
    msg.extend_from_slice(HEAD);
    // TNEF signature and legacy key, then attMAPIProps (level 1, ID
    // 0x00069003), its length, the data and its checksum.
    msg.extend_from_slice(&[0x78, 0x9F, 0x3E, 0x22, 0x01, 0x00, 0x01]);
    msg.extend_from_slice(&0x0006_9003u32.to_le_bytes());
    msg.extend_from_slice(&(props.len() as u32).to_le_bytes());
    msg.extend_from_slice(props);
    let sum = props.iter().fold(0u16, |s, &b| s.wrapping_add(u16::from(b)));
    msg.extend_from_slice(&sum.to_le_bytes());
    msg.extend_from_slice(TAIL);
    cordon_dlp::fuzzing::message(engine, &msg);
});
