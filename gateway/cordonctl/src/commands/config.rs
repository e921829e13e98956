//! `config get | check | apply | rollback`: the running config, read, validated on the
//! gateway, applied whole or not at all, and rolled back.

use std::path::Path;

use cordon_wire::{BlobKind, ErrorCode, Issue, Request, Response, WireError};
use cordonctl::CtlError;

use crate::port::{json, read, unexpected, Port};

/// Prints the running config (TOML), or its generation and text as JSON.
/// Which form of the running config `config get` prints.
#[derive(Debug, Clone, Copy)]
pub(crate) enum View {
    /// The text as applied.
    AsStored,
    /// With every default filled in.
    Effective,
    /// Only what differs from the defaults.
    Changed,
}

pub(crate) async fn get(port: &Port, as_json: bool, view: View) -> Result<(), CtlError> {
    let mut client = port.connect().await?;
    let (generation, stored) = client.get_config().await?;
    let text = match view {
        View::AsStored => Ok(stored),
        View::Effective => cordon_config::defaults::effective(&stored),
        View::Changed => cordon_config::defaults::changed(&stored),
    }
    .map_err(CtlError::Usage)?;
    if as_json {
        json(&serde_json::json!({ "generation": generation, "toml": text }));
    } else {
        print!("{text}");
    }
    Ok(())
}

/// Validates `file` on the gateway without applying it: warnings and `valid`, or each issue.
pub(crate) async fn check(port: &Port, as_json: bool, file: &Path) -> Result<(), CtlError> {
    let mut client = port.connect().await?;
    let text = read(file)?;
    client.upload(BlobKind::Config, &text).await?;
    match client.call(Request::ValidateConfig).await {
        Ok(Response::ConfigValid { warnings }) => {
            if as_json {
                json(&serde_json::json!({
                    "valid": true,
                    "warnings": issues_json(file, &warnings),
                }));
            } else {
                print_warnings(file, &warnings);
                println!("{}: valid", file.display());
            }
            Ok(())
        }
        Err(cordon_control::Error::Server(WireError::App(e)))
            if e.code == ErrorCode::InvalidConfig =>
        {
            if as_json {
                json(&serde_json::json!({ "valid": false, "error": error_json(file, &e) }));
            } else {
                print_issues(file, &e);
            }
            Err(CtlError::Refused(e))
        }
        Ok(other) => Err(unexpected(other)),
        Err(e) => Err(e.into()),
    }
}

/// Validates, persists and applies `file`; refused whole if invalid, or if the running
/// generation is not `expect_generation` (another administrator applied meanwhile).
pub(crate) async fn apply(
    port: &Port,
    as_json: bool,
    file: &Path,
    expect_generation: Option<u64>,
) -> Result<(), CtlError> {
    let mut client = port.connect().await?;
    let text = read(file)?;
    // The same text again would be a new generation that changes nothing, and would push the
    // previous config out of the rollback slot.
    let (running, current) = client.get_config().await?;
    if current.as_bytes() == text.as_slice() && expect_generation.is_none_or(|g| g == running) {
        if as_json {
            json(&serde_json::json!({
                "applied": false,
                "unchanged": true,
                "generation": running,
                "warnings": [],
            }));
        } else {
            println!(
                "unchanged: {} is the running generation {running} already",
                file.display()
            );
        }
        return Ok(());
    }
    client.upload(BlobKind::Config, &text).await?;
    let request = Request::ApplyConfig {
        expected_generation: expect_generation,
    };
    match client.call(request).await {
        Ok(Response::Applied {
            generation,
            warnings,
        }) => {
            if as_json {
                json(&serde_json::json!({
                    "applied": true,
                    "generation": generation,
                    "warnings": issues_json(file, &warnings),
                }));
            } else {
                print_warnings(file, &warnings);
                println!("applied {} as generation {generation}", file.display());
            }
            Ok(())
        }
        Err(cordon_control::Error::Server(WireError::App(e)))
            if e.code == ErrorCode::InvalidConfig =>
        {
            if as_json {
                json(&serde_json::json!({ "applied": false, "error": error_json(file, &e) }));
            } else {
                print_issues(file, &e);
                eprintln!("cordonctl: refused whole; the running config is unchanged");
            }
            Err(CtlError::Refused(e))
        }
        Ok(other) => Err(unexpected(other)),
        Err(e) => Err(e.into()),
    }
}

/// `config diff FILE`: the lines where `file` differs from the running config, each with its
/// line number in the running config (`-`) or in the file (`+`). Like diff(1): exit 0 when
/// they are the same, 1 when they differ.
pub(crate) async fn diff(port: &Port, as_json: bool, file: &Path) -> Result<(), CtlError> {
    let mut client = port.connect().await?;
    let text = read(file)?;
    let text = String::from_utf8(text).map_err(|source| CtlError::NotUtf8 {
        path: file.into(),
        source,
    })?;
    let (generation, running) = client.get_config().await?;
    let changes = line_diff(&running, &text);
    if as_json {
        let lines: Vec<serde_json::Value> = changes
            .iter()
            .map(|c| serde_json::json!({ "op": c.op.to_string(), "line": c.line, "text": c.text }))
            .collect();
        json(&serde_json::json!({
            "generation": generation,
            "file": file.display().to_string(),
            "same": changes.is_empty(),
            "changes": lines,
        }));
    } else if changes.is_empty() {
        println!(
            "{} is the same as the running generation {generation}",
            file.display()
        );
    } else {
        println!("--- running generation {generation}");
        println!("+++ {}", file.display());
        for c in &changes {
            println!("{}{}: {}", c.op, c.line, c.text);
        }
    }
    if changes.is_empty() {
        Ok(())
    } else {
        Err(CtlError::Differs)
    }
}

/// One line only in the running config (`-`) or only in the file (`+`).
#[derive(Debug, PartialEq, Eq)]
struct Change<'a> {
    op: char,
    /// 1-based, in the running config for `-`, in the file for `+`.
    line: usize,
    text: &'a str,
}

/// The changed lines between `old` and `new` (longest common subsequence: configs are at
/// most `MAX_CONFIG_LEN`, a few thousand lines, so the table stays small).
fn line_diff<'a>(old: &'a str, new: &'a str) -> Vec<Change<'a>> {
    let (a, b): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
    let (n, m) = (a.len(), b.len());
    // lcs[i][j]: common lines of a[i..] and b[j..].
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            // A removed line before the line that replaces it, as diff(1) prints them.
            out.push(Change {
                op: '-',
                line: i + 1,
                text: a[i],
            });
            i += 1;
        } else {
            out.push(Change {
                op: '+',
                line: j + 1,
                text: b[j],
            });
            j += 1;
        }
    }
    out
}

/// Makes the previous config current again, as a new generation.
pub(crate) async fn rollback(port: &Port, as_json: bool) -> Result<(), CtlError> {
    let mut client = port.connect().await?;
    match client.call(Request::Rollback).await? {
        Response::RolledBack {
            generation,
            restored,
        } => {
            if as_json {
                json(&serde_json::json!({ "generation": generation, "restored": restored }));
            } else {
                println!(
                    "rolled back: generation {generation} carries generation {restored}'s config"
                );
            }
            Ok(())
        }
        other => Err(unexpected(other)),
    }
}

/// Each warning as `file:line:col: key: warning: reason`, under the local file's name.
fn print_warnings(file: &Path, warnings: &[Issue]) {
    for w in warnings {
        println!(
            "{}:{}:{}: {}: warning: {}",
            file.display(),
            w.line,
            w.column,
            w.key,
            w.reason
        );
    }
}

/// Issues (or warnings) as JSON, `file` being the local file's name, as in the text output.
fn issues_json(file: &Path, issues: &[Issue]) -> serde_json::Value {
    issues
        .iter()
        .map(|i| {
            serde_json::json!({
                "file": file.display().to_string(),
                "line": i.line,
                "column": i.column,
                "key": i.key.as_str(),
                "reason": i.reason.as_str(),
            })
        })
        .collect()
}

/// A refusal as JSON: its code, message and issues.
pub(crate) fn error_json(file: &Path, e: &cordon_wire::AppError) -> serde_json::Value {
    serde_json::json!({
        "code": e.code,
        "message": e.message.as_str(),
        "issues": issues_json(file, &e.issues),
    })
}

/// Each issue as `file:line:col: key: reason`, the local file name in place of the
/// server's, so editors and CI annotations jump to the line.
pub(crate) fn print_issues(file: &Path, e: &cordon_wire::AppError) {
    for issue in &e.issues {
        let key = if issue.key.is_empty() {
            String::new()
        } else {
            format!("{}: ", issue.key)
        };
        println!(
            "{}:{}:{}: {key}{}",
            file.display(),
            issue.line,
            issue.column,
            issue.reason
        );
    }
    eprintln!("cordonctl: {}", e.message);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changed_lines_with_their_numbers() {
        let old = "[gateway]\nmax_sessions = 8\n\n[[rule]]\naction = \"tag\"\n";
        let new = "[gateway]\nmax_sessions = 8\nprefault = true\n\n[[rule]]\naction = \"block\"\n";
        let d = line_diff(old, new);
        let text: Vec<String> = d
            .iter()
            .map(|c| format!("{}{}: {}", c.op, c.line, c.text))
            .collect();
        assert_eq!(
            text,
            [
                "+3: prefault = true",
                "-5: action = \"tag\"",
                "+6: action = \"block\""
            ]
        );
        assert!(line_diff(old, old).is_empty());
    }
}
