#![no_main]
use std::sync::{Arc, OnceLock};

use cordon_dlp::{DictionaryConfig, Engine, EngineConfig, PatternConfig};

static ENGINE: OnceLock<Arc<Engine>> = OnceLock::new();

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let engine = ENGINE.get_or_init(|| {
        Arc::new(
            Engine::new(&EngineConfig {
                dictionaries: vec![DictionaryConfig {
                    name: "projects".into(),
                    terms: vec!["project falcon".into(), "q3".into()],
                    case_sensitive: false,
                    whole_word: true,
                }],
                patterns: vec![PatternConfig {
                    name: "employee_id".into(),
                    regex: r"\bEMP-\d{6}\b".into(),
                    max_len: 10,
                    ..Default::default()
                }],
                ..Default::default()
            })
            .expect("fuzz engine"),
        )
    });
    cordon_dlp::fuzzing::message(engine, data);
});
