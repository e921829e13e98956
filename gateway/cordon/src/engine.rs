//! Builds the DLP engine from the config, once per configuration, and checks that every rule's
//! `match` names something the engine knows.

use std::sync::Arc;

use cordon_config::{Config, Diagnostic};
use cordon_dlp::{DictionaryConfig, Engine, EngineConfig, PatternConfig};
use cordon_policy::dlp_confidence;

use crate::Error;

/// The engine for `config`, or every problem found.
pub fn build(config: &Config) -> Result<Arc<Engine>, Error> {
    let mut problems = Vec::new();
    let mut dictionaries = Vec::new();
    for d in &config.dictionaries {
        let mut terms = d.terms.clone();
        if let Some(f) = &d.file {
            match std::fs::read_to_string(&f.path) {
                Ok(text) => terms.extend(
                    text.lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty() && !l.starts_with('#'))
                        .map(String::from),
                ),
                Err(e) => {
                    problems.push(f.at.diagnostic(format!("cannot read {}: {e}", f.path.display())))
                }
            }
        }
        dictionaries.push(DictionaryConfig {
            name: d.name.clone(),
            terms,
            case_sensitive: d.case_sensitive,
            whole_word: d.whole_word,
        });
    }
    let patterns = config
        .patterns
        .iter()
        .map(|p| PatternConfig {
            name: p.name.clone(),
            regex: p.regex.clone(),
            max_len: p.max_len,
            keywords: p.keywords.clone(),
            confidence: dlp_confidence(p.confidence),
        })
        .collect();
    if !problems.is_empty() {
        return Err(Error::Invalid(problems));
    }
    let engine = Engine::new(&EngineConfig {
        dictionaries,
        patterns,
        limits: Default::default(),
    })
    .map_err(|e| {
        Error::Invalid(vec![Diagnostic {
            file: config.source.clone(),
            line: 0,
            column: 0,
            key: "dictionary/pattern".into(),
            message: e.to_string(),
        }])
    })?;
    for rule in &config.rules {
        for (name, at) in rule.matches.iter().zip(&rule.matches_at) {
            if !engine.knows(name) && cordon_dlp::catalogue::bundle(name).is_none() {
                problems.push(at.diagnostic(format!(
                    "unknown detector, bundle, dictionary or pattern `{name}` (`cordon detectors` lists them)"
                )));
            }
        }
    }
    if problems.is_empty() {
        Ok(Arc::new(engine))
    } else {
        Err(Error::Invalid(problems))
    }
}
