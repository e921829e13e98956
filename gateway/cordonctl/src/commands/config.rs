//! `config get | check | apply | rollback`: the running config, read, validated on the
//! gateway, applied whole or not at all, and rolled back.

use std::path::Path;

use cordon_wire::{BlobKind, ErrorCode, Issue, Request, Response, WireError};
use cordonctl::CtlError;

use crate::port::{json, read, unexpected, Port};

/// Prints the running config (TOML), or its generation and text as JSON.
pub(crate) async fn get(port: &Port, as_json: bool) -> Result<(), CtlError> {
    let mut client = port.connect().await?;
    let (generation, text) = client.get_config().await?;
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
fn error_json(file: &Path, e: &cordon_wire::AppError) -> serde_json::Value {
    serde_json::json!({
        "code": e.code,
        "message": e.message.as_str(),
        "issues": issues_json(file, &e.issues),
    })
}

/// Each issue as `file:line:col: key: reason`, the local file name in place of the
/// server's, so editors and CI annotations jump to the line.
fn print_issues(file: &Path, e: &cordon_wire::AppError) {
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
