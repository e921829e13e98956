//! Shared helpers for the integration tests: the labeled corpus and the
//! engine config it was labeled against.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use cordon_dlp::{DictionaryConfig, Engine, EngineConfig, Limits, PatternConfig};

pub fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus/dlp")
}

pub struct Corpus {
    pub engine: Arc<Engine>,
    /// (file name, bytes, expected distinct counts at medium+)
    pub messages: Vec<(String, Vec<u8>, BTreeMap<String, u32>)>,
}

pub fn load() -> Corpus {
    let dir = corpus_dir();
    let labels: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("labels.json")).expect("labels.json"))
            .expect("labels.json parses");
    let eng = &labels["engine"];
    let dictionaries = eng["dictionaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| DictionaryConfig {
            name: d["name"].as_str().unwrap().to_string(),
            terms: d["terms"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap().to_string())
                .collect(),
            case_sensitive: d["case_sensitive"].as_bool().unwrap(),
            whole_word: d["whole_word"].as_bool().unwrap(),
        })
        .collect();
    let patterns = eng["patterns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| PatternConfig {
            name: p["name"].as_str().unwrap().to_string(),
            regex: p["regex"].as_str().unwrap().to_string(),
            max_len: p["max_len"].as_u64().unwrap() as usize,
            ..Default::default()
        })
        .collect();
    let engine = Arc::new(
        Engine::new(&EngineConfig {
            dictionaries,
            patterns,
            limits: Limits::default(),
            edm: Vec::new(),
        })
        .expect("corpus engine config"),
    );
    let mut messages = Vec::new();
    for (name, lab) in labels["messages"].as_object().unwrap() {
        let bytes = std::fs::read(dir.join(name)).expect("corpus file");
        let expected = lab
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_u64().unwrap() as u32))
            .collect();
        messages.push((name.clone(), bytes, expected));
    }
    Corpus { engine, messages }
}

/// The CRC-32 of ZIP entries and PNG chunks (CRC-32/ISO-HDLC, zlib's).
pub fn crc32(data: &[u8]) -> u32 {
    crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC).checksum(data)
}

/// A ZIP of (name, data, deflate, general-purpose flags) entries, with
/// `prefix` in front and the central directory offsets counted from the start
/// of the file (as `zip -A` leaves a self-extracting archive), so `unzip` and
/// Python read it. The hostile and bypass tests share this one writer.
pub fn zip_file(prefix: &[u8], entries: &[(&str, &[u8], bool, u16)]) -> Vec<u8> {
    let mut out = prefix.to_vec();
    let mut central = Vec::new();
    for (name, data, deflate, flags) in entries {
        let comp = if *deflate {
            miniz_oxide::deflate::compress_to_vec(data, 6)
        } else {
            data.to_vec()
        };
        let off = out.len() as u32;
        let mut h = Vec::new();
        h.extend_from_slice(b"PK\x03\x04");
        h.extend_from_slice(&20u16.to_le_bytes());
        h.extend_from_slice(&flags.to_le_bytes());
        h.extend_from_slice(&(if *deflate { 8u16 } else { 0 }).to_le_bytes());
        h.extend_from_slice(&[0, 0, 0x21, 0]);
        h.extend_from_slice(&crc32(data).to_le_bytes());
        h.extend_from_slice(&(comp.len() as u32).to_le_bytes());
        h.extend_from_slice(&(data.len() as u32).to_le_bytes());
        h.extend_from_slice(&(name.len() as u16).to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes());
        h.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(&comp);
        central.extend_from_slice(b"PK\x01\x02");
        central.extend_from_slice(&[20, 0]);
        central.extend_from_slice(&h[4..30]);
        central.extend_from_slice(&[0; 12]);
        central.extend_from_slice(&off.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let cd_off = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(b"PK\x05\x06\0\0\0\0");
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_off.to_le_bytes());
    out.extend_from_slice(&[0, 0]);
    out
}

/// Base64 of `data` in MIME lines of 76 characters (CRLF between them), written out here so
/// the fixtures do not depend on the engine whose decoder they test.
pub fn b64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for (i, c) in data.chunks(3).enumerate() {
        let v = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for k in 0..4 {
            if k <= c.len() {
                s.push(A[(v >> (18 - 6 * k)) as usize & 63] as char);
            } else {
                s.push('=');
            }
        }
        if i % 19 == 18 {
            s.push_str("\r\n");
        }
    }
    s
}

/// Scans `msg` whole, then byte by byte and in `step`-byte chunks; the findings must agree
/// (no decision may depend on where a feed ends).
pub fn scan_chunked(e: &Arc<Engine>, msg: &[u8], step: usize) -> cordon_dlp::Findings {
    let mut s = e.scanner();
    s.feed(msg);
    let whole = s.finish();
    for step in [1, step] {
        for c in msg.chunks(step) {
            s.feed(c);
        }
        assert_eq!(s.finish(), whole, "findings depend on chunking ({step})");
    }
    whole
}
