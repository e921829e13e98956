//! Builds the DLP engine from the config, once per configuration, and checks that every rule's
//! `match` names something the engine knows.

use std::sync::Arc;

use cordon_config::{Config, Diagnostic};
use cordon_dlp::{DictionaryConfig, Engine, EngineConfig, PatternConfig, UnscannableReason};
use cordon_policy::dlp_confidence;

use crate::Error;

/// The engine for `config`, or every problem found.
pub fn build(config: &Config) -> Result<Arc<Engine>, Error> {
    build_with_edm(config, Vec::new())
}

/// [`build`] with the EDM tables loaded from the appliance's state directory; a rule may name
/// `edm:NAME` whether or not the table is installed (until it is, it matches nothing).
pub fn build_with_edm(
    config: &Config,
    edm: Vec<(String, Arc<cordon_dlp::edm::Table>)>,
) -> Result<Arc<Engine>, Error> {
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
        edm,
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
            let edm_name = name
                .strip_prefix(cordon_dlp::edm::DETECTOR_PREFIX)
                .is_some_and(cordon_dlp::edm::valid_table_name);
            if !engine.knows(name) && !edm_name && cordon_dlp::catalogue::bundle(name).is_none() {
                problems.push(at.diagnostic(format!(
                    "unknown detector, bundle, dictionary or pattern `{name}` (`cordon detectors` lists them)"
                )));
            }
        }
        for (name, at) in rule
            .unscannable_reasons
            .iter()
            .zip(&rule.unscannable_reasons_at)
        {
            if UnscannableReason::from_name(name).is_none() {
                let known: Vec<&str> = UnscannableReason::ALL.iter().map(|r| r.as_str()).collect();
                problems.push(at.diagnostic(format!(
                    "unknown unscannable reason `{name}` (one of: {})",
                    known.join(", ")
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn unknown_unscannable_reasons_are_located_config_errors() {
        let text = "[gateway]\nhostname = \"a.example\"\nlisten = [\"127.0.0.1:2525\"]\n[relay]\nsmarthosts = [\"mx.example\"]\n[[rule]]\nname = \"r\"\nunscannable_reasons = [\"encrypted_archive\", \"encrypted_zip\"]\naction = \"quarantine\"\n";
        let cfg = cordon_config::parse(text, Path::new("t.toml")).unwrap();
        let Err(Error::Invalid(problems)) = build(&cfg) else {
            panic!("an unknown reason must be refused");
        };
        assert_eq!(problems.len(), 1, "{problems:?}");
        let p = problems[0].to_string();
        assert!(
            p.starts_with("t.toml:8:45: rule[0].unscannable_reasons[1]: unknown unscannable reason `encrypted_zip`"),
            "{p}"
        );
        assert!(
            p.contains("corrupt_archive"),
            "the known reasons are listed: {p}"
        );
        let ok = text.replace("encrypted_zip", "unsupported_compression");
        assert!(build(&cordon_config::parse(&ok, Path::new("t.toml")).unwrap()).is_ok());
    }
}
