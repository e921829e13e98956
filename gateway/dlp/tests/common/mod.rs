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
