//! `cordon scan`: the findings of one message and, with `--config`, the verdict live mail would
//! get and each rule's trace, from the same `cordon_policy::judge` as live mail
//! ([`DlpInspectors::dry_run`]).

use std::process::ExitCode;
use std::sync::Arc;

use cordon_proxy::dlp_inspector::{DlpInspectors, Durable};

use crate::error::Error;
use crate::stamp_key;

/// Scans `file`; prints a table, or JSON with `json`.
pub fn scan(
    file: &std::path::Path,
    config: Option<&std::path::Path>,
    from: Option<&str>,
    to: &[String],
    json: bool,
) -> ExitCode {
    let message = match std::fs::read(file) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("cordon: cannot read {}: {e}", file.display());
            return ExitCode::FAILURE;
        }
    };
    let Some(config) = config else {
        // Findings only: the built-in detectors, no rules to judge by.
        let engine = match cordon_dlp::Engine::new(&Default::default()) {
            Ok(e) => Arc::new(e),
            Err(e) => {
                eprintln!("cordon: {e}");
                return ExitCode::FAILURE;
            }
        };
        let mut scanner = engine.scanner();
        scanner.feed(&message);
        let findings = scanner.finish();
        return print_scan(&findings, None, json);
    };
    let built = cordon_config::load(config)
        .map_err(Error::Config)
        .and_then(|c| Ok((cordon_proxy::engine::build(&c)?, Arc::new(c))));
    let (engine, config) = match built {
        Ok(x) => x,
        Err(e) => {
            eprintln!("cordon: {}", e.report());
            return ExitCode::FAILURE;
        }
    };
    let key = stamp_key::existing(&config).unwrap_or([0; cordon_policy::KEY_BYTES]);
    let inspectors = DlpInspectors {
        durable: Durable::new(key, &engine, &config),
        engine,
        config,
    };
    let env = from.map(|f| (f, to));
    let (judgement, findings) = inspectors.dry_run(&message, env);
    print_scan(&findings, Some(&judgement), json)
}

/// Prints [`render`]'s report.
fn print_scan(
    findings: &cordon_dlp::Findings,
    judgement: Option<&cordon_policy::Judgement>,
    json: bool,
) -> ExitCode {
    match render(findings, judgement, json) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cordon: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The findings table (or JSON) and, when judged, the verdict and each rule's trace: what
/// `cordon scan` prints and what the config port's `ScanText` answers, so both print the same.
pub fn render(
    findings: &cordon_dlp::Findings,
    judgement: Option<&cordon_policy::Judgement>,
    json: bool,
) -> Result<String, String> {
    use std::fmt::Write;
    if json {
        let mut v = serde_json::to_value(findings).map_err(|e| e.to_string())?;
        if let Some(j) = judgement {
            v["verdict"] = serde_json::json!({
                "action": cordon_policy::action_name(j.decision.action),
                "rule": j.decision.rule,
                "reply": j.decision.reply,
                "loop": j.loop_detected,
                "forged_stamp": j.forged_stamp,
                "scan_error": j.scan_error,
                "rules": j.decision.trace.iter().map(|t| serde_json::json!({
                    "rule": t.rule, "matched": t.matched, "reason": t.reason,
                })).collect::<Vec<_>>(),
            });
        }
        return Ok(format!("{v:#}\n"));
    }
    let mut out = cordon_dlp::render_table(findings);
    if let Some(j) = judgement {
        let d = &j.decision;
        let _ = writeln!(
            out,
            "\nverdict: {}{}{}",
            cordon_policy::action_name(d.action),
            d.rule
                .as_deref()
                .map(|r| format!(" (rule {r})"))
                .unwrap_or_default(),
            d.reply
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        );
        if j.loop_detected {
            out.push_str("  the message carries this appliance's own stamp: a mail loop\n");
        }
        if j.forged_stamp {
            out.push_str("  a stamp claiming to be this appliance's did not verify: forged\n");
        }
        if let Some(e) = &j.scan_error {
            let _ = writeln!(out, "  the scan did not finish: {e}");
        }
        for t in &d.trace {
            if t.matched {
                let _ = writeln!(out, "  {}: match", t.rule);
            } else {
                let _ = writeln!(out, "  {}: no ({})", t.rule, t.reason);
            }
        }
    }
    Ok(out)
}

/// What `cordon detectors` prints, and what the config port's `Detectors` request answers, so
/// both print the same: every built-in detector and the bundles, as a table or as JSON.
pub fn detectors(json: bool) -> String {
    use cordon_dlp::catalogue;
    if json {
        let bundles: std::collections::BTreeMap<_, _> = catalogue::bundles().collect();
        let doc = serde_json::json!({
            "detectors": catalogue::detectors(),
            "bundles": bundles,
        });
        format!("{doc:#}\n")
    } else {
        catalogue::render_table()
    }
}
