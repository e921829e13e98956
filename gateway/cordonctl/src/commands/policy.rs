//! `policy diff NEW.toml --corpus DIR` and the guard of `config apply --max-changes N
//! --corpus DIR`: every `.eml` of a folder replayed on the appliance under the running policy
//! and under NEW.toml (staged as a candidate, validated and built there but not applied), and
//! the messages whose verdict (action or deciding rule) changes.
//!
//! The appliance judges both sides with its own engine and verdict function; this client only
//! walks the folder, uploads one message at a time and prints the changes.

use std::path::{Path, PathBuf};

use cordon_control::Client;
use cordon_wire::{BlobKind, ErrorCode, Judged, Request, Response, WireError};
use cordonctl::CtlError;

use crate::commands::config;
use crate::port::{json, read, unexpected, Port};
use crate::table::{render, Col};

/// One line per message whose verdict changes.
const CHANGES: [Col; 3] = [
    Col::left("MESSAGE"),
    Col::left("RUNNING"),
    Col::left("CANDIDATE"),
];

/// A corpus replayed under both policies.
#[derive(Debug)]
pub(crate) struct Diff {
    /// The running generation every message was compared with.
    pub(crate) generation: u64,
    /// How many messages were replayed.
    pub(crate) messages: usize,
    /// The messages whose verdict changes, in corpus order (file name, running, candidate).
    pub(crate) changes: Vec<(String, Judged, Judged)>,
}

/// The `.eml` files directly in `dir`, by name, so every run replays them in the same order.
fn corpus(dir: &Path) -> Result<Vec<PathBuf>, CtlError> {
    let entries = std::fs::read_dir(dir).map_err(|source| CtlError::Read {
        path: dir.into(),
        source,
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|source| CtlError::Read {
                path: dir.into(),
                source,
            })?
            .path();
        if path.is_file()
            && path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("eml"))
        {
            files.push(path);
        }
    }
    if files.is_empty() {
        return Err(CtlError::Usage(format!(
            "no .eml file in {}: the corpus is a folder of RFC 5322 messages named *.eml",
            dir.display()
        )));
    }
    files.sort();
    Ok(files)
}

/// Stages `file` as the candidate, then compares every message of `dir` under both policies.
/// A config the appliance refuses prints its issues as `config check` does.
pub(crate) async fn replay(
    client: &mut Client,
    as_json: bool,
    file: &Path,
    dir: &Path,
) -> Result<Diff, CtlError> {
    let messages = corpus(dir)?;
    let text = read(file)?;
    client.upload(BlobKind::Config, &text).await?;
    let generation = match client.call(Request::StageCandidate).await {
        Ok(Response::CandidateStaged { generation, .. }) => generation,
        Err(cordon_control::Error::Server(WireError::App(e)))
            if e.code == ErrorCode::InvalidConfig =>
        {
            if as_json {
                json(&serde_json::json!({ "valid": false, "error": config::error_json(file, &e) }));
            } else {
                config::print_issues(file, &e);
            }
            return Err(CtlError::Refused(e));
        }
        Ok(other) => return Err(unexpected(other)),
        Err(e) => return Err(e.into()),
    };
    let mut changes = Vec::new();
    for path in &messages {
        let message = read(path)?;
        client.upload(BlobKind::Message, &message).await?;
        let compared = match client.call(Request::ScanCandidate).await? {
            Response::ScanCompared(c) => c,
            other => return Err(unexpected(other)),
        };
        // Every verdict must come from the same running config, or the diff compares nothing.
        if compared.generation != generation {
            return Err(CtlError::Usage(format!(
                "the running config changed during the diff (generation {generation}, now {}): run it again",
                compared.generation
            )));
        }
        if compared.running.verdict != compared.candidate.verdict
            || compared.running.rule != compared.candidate.rule
        {
            let name = path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            changes.push((name, compared.running, compared.candidate));
        }
    }
    Ok(Diff {
        generation,
        messages: messages.len(),
        changes,
    })
}

/// `action (rule)`, or the action alone when no rule decided.
fn cell(j: &Judged) -> String {
    let mut s = j.verdict.as_str().to_string();
    if let Some(rule) = &j.rule {
        s += &format!(" ({rule})");
    }
    if let Some(e) = &j.scan_error {
        s += &format!(" [scan error: {e}]");
    }
    s
}

fn judged_json(j: &Judged) -> serde_json::Value {
    serde_json::json!({
        "action": j.verdict.as_str(),
        "rule": j.rule.as_deref(),
        "scan_error": j.scan_error.as_deref(),
    })
}

/// The diff as JSON: `generation`, `file`, `messages`, `changed`, and each change.
pub(crate) fn diff_json(file: &Path, d: &Diff) -> serde_json::Value {
    let changes: Vec<serde_json::Value> = d
        .changes
        .iter()
        .map(|(m, r, c)| {
            serde_json::json!({ "message": m, "running": judged_json(r), "candidate": judged_json(c) })
        })
        .collect();
    serde_json::json!({
        "generation": d.generation,
        "file": file.display().to_string(),
        "messages": d.messages,
        "changed": d.changes.len(),
        "changes": changes,
    })
}

/// The summary line, then one row per changed message.
fn print_diff(file: &Path, d: &Diff) {
    println!(
        "{} of {} messages change verdict under {} (running generation {})",
        d.changes.len(),
        d.messages,
        file.display(),
        d.generation
    );
    if !d.changes.is_empty() {
        let rows: Vec<Vec<String>> = d
            .changes
            .iter()
            .map(|(m, r, c)| vec![m.clone(), cell(r), cell(c)])
            .collect();
        print!("{}", render(&CHANGES, true, &rows));
    }
}

/// `policy diff FILE --corpus DIR`: prints every message whose verdict changes. Exit 0 whether
/// or not verdicts change (the guard is `config apply --max-changes`).
pub(crate) async fn diff(
    port: &Port,
    as_json: bool,
    file: &Path,
    dir: &Path,
) -> Result<(), CtlError> {
    let mut client = port.connect().await?;
    let d = replay(&mut client, as_json, file, dir).await?;
    if as_json {
        json(&diff_json(file, &d));
    } else {
        print_diff(file, &d);
    }
    Ok(())
}

/// `config apply FILE --max-changes N --corpus DIR`: the diff first; over `max` changes the
/// apply is never sent. Otherwise it is sent with the diff's generation as the expected one
/// (unless `expect_generation` names another), so a config applied by someone else between
/// the diff and the apply makes the appliance refuse it rather than apply an unchecked change.
pub(crate) async fn guarded_apply(
    port: &Port,
    as_json: bool,
    file: &Path,
    expect_generation: Option<u64>,
    max: usize,
    dir: &Path,
) -> Result<(), CtlError> {
    let d = {
        let mut client = port.connect().await?;
        replay(&mut client, as_json, file, dir).await?
    };
    if d.changes.len() > max {
        if as_json {
            let mut v = diff_json(file, &d);
            v["applied"] = false.into();
            v["max_changes"] = max.into();
            json(&v);
        } else {
            print_diff(file, &d);
        }
        return Err(CtlError::TooManyChanges {
            changed: d.changes.len(),
            max,
        });
    }
    if !as_json {
        println!(
            "{} of {} messages change verdict (at most {max} allowed)",
            d.changes.len(),
            d.messages
        );
    }
    config::apply(
        port,
        as_json,
        file,
        Some(expect_generation.unwrap_or(d.generation)),
    )
    .await
}
