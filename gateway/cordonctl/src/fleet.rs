//! `--target HOST:PORT` (repeated): one command run against several appliances over their
//! mutual-TLS config ports, one result line per appliance. Each appliance is asked by a
//! cordonctl process of its own (this binary again, with `--tcp TARGET` in place of the
//! targets), all at once: the appliances stay independent (nothing is shared between them,
//! one that is down or refuses does not stop the others), and every command behaves exactly as
//! it does against one appliance. `exchange-setup` is the exception: it asks every target for
//! its hostname and prints one script whose connectors list them all.

use std::ffi::OsString;
use std::process::{Command, Output, Stdio};

use cordon_config::Config;
use cordon_control::Transport;
use cordonctl::CtlError;

use crate::port::{json, Port};
use crate::table::{render, Col};

/// One line per appliance, no title: target, `ok` or `error`, what it said.
const RESULTS: [Col; 3] = [
    Col::left("TARGET"),
    Col::left("RESULT"),
    Col::left("DETAIL"),
];

/// The command line for one target: the same arguments with every `--target` removed and
/// `--tcp TARGET` first, so the child talks to that one appliance.
pub(crate) fn child_args(args: &[OsString], target: &str) -> Vec<OsString> {
    let mut out: Vec<OsString> = vec!["--tcp".into(), target.into()];
    let mut skip = false;
    for a in args {
        if skip {
            skip = false;
            continue;
        }
        if a == "--target" {
            skip = true;
            continue;
        }
        if a.to_str().is_some_and(|s| s.starts_with("--target=")) {
            continue;
        }
        out.push(a.clone());
    }
    out
}

/// The last non-blank line of `s`, trimmed.
fn last_line(s: &str) -> Option<&str> {
    s.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(str::trim)
}

/// The first non-blank line of `s`, trimmed.
fn first_line(s: &str) -> Option<&str> {
    s.lines().find(|l| !l.trim().is_empty()).map(str::trim)
}

/// What one appliance answered.
#[derive(Debug)]
struct Outcome {
    target: String,
    /// `None`: the child could not be started or was killed by a signal.
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Outcome {
    fn ok(&self) -> bool {
        self.code == Some(0)
    }

    /// The line that says what happened: the last line of the output on success, the first
    /// line of the error otherwise (its later lines are hints).
    fn detail(&self) -> String {
        let line = if self.ok() {
            last_line(&self.stdout).or_else(|| last_line(&self.stderr))
        } else {
            first_line(&self.stderr).or_else(|| last_line(&self.stdout))
        };
        match (line, self.code) {
            (Some(l), _) => l.strip_prefix("cordonctl: ").unwrap_or(l).to_string(),
            (None, Some(c)) => format!("exit status {c}"),
            (None, None) => "killed by a signal".into(),
        }
    }
}

/// Runs this command line (`args`, without the program name) once per target, all at once,
/// and prints one result line per appliance (`--json`: one document). Fails with the highest
/// exit code of the appliances that failed.
pub(crate) fn run(args: &[OsString], targets: &[String], as_json: bool) -> Result<(), CtlError> {
    let exe = std::env::current_exe().map_err(|source| CtlError::Read {
        path: "/proc/self/exe".into(),
        source,
    })?;
    // Every child starts before any is waited for, so the appliances are asked in parallel.
    let children: Vec<(String, std::io::Result<std::process::Child>)> = targets
        .iter()
        .map(|t| {
            let child = Command::new(&exe)
                .args(child_args(args, t))
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn();
            (t.clone(), child)
        })
        .collect();
    let outcomes: Vec<Outcome> = children
        .into_iter()
        .map(
            |(target, child)| match child.and_then(|c| c.wait_with_output()) {
                Ok(Output {
                    status,
                    stdout,
                    stderr,
                }) => Outcome {
                    target,
                    code: status.code(),
                    stdout: String::from_utf8_lossy(&stdout).into_owned(),
                    stderr: String::from_utf8_lossy(&stderr).into_owned(),
                },
                Err(e) => Outcome {
                    target,
                    code: None,
                    stdout: String::new(),
                    stderr: format!("cannot run {}: {e}", exe.display()),
                },
            },
        )
        .collect();
    let failed = outcomes.iter().filter(|o| !o.ok()).count();
    if as_json {
        let appliances: Vec<serde_json::Value> = outcomes
            .iter()
            .map(|o| {
                // Each child printed JSON of its own (--json went with its arguments).
                let output = serde_json::from_str::<serde_json::Value>(&o.stdout)
                    .unwrap_or_else(|_| o.stdout.clone().into());
                serde_json::json!({
                    "target": o.target,
                    "ok": o.ok(),
                    "exit_code": o.code,
                    "output": output,
                    "error": (!o.ok()).then(|| o.detail()),
                })
            })
            .collect();
        json(&serde_json::json!({
            "ok": outcomes.len() - failed,
            "failed": failed,
            "appliances": appliances,
        }));
    } else {
        let rows: Vec<Vec<String>> = outcomes
            .iter()
            .map(|o| {
                let result = if o.ok() { "ok" } else { "error" };
                vec![o.target.clone(), result.into(), o.detail()]
            })
            .collect();
        print!("{}", render(&RESULTS, false, &rows));
    }
    if failed == 0 {
        return Ok(());
    }
    let code = outcomes
        .iter()
        .filter_map(|o| o.code)
        .filter(|c| *c != 0)
        .max()
        .and_then(|c| u8::try_from(c).ok())
        .unwrap_or(1);
    Err(CtlError::Fleet {
        failed,
        total: outcomes.len(),
        code,
    })
}

/// `exchange-setup` for a fleet: each target's SMTP hostname (`[gateway] hostname` of its
/// running config), in target order. Every appliance must answer: a script that left one out
/// would route no mail to it and fail nothing over to it.
pub(crate) async fn hostnames(
    transport: impl Fn(&str) -> Transport,
    targets: &[String],
) -> Result<Vec<String>, CtlError> {
    let mut names = Vec::new();
    for target in targets {
        let port = Port::new(transport(target));
        let mut client = port.connect().await?;
        let (generation, text) = client.get_config().await?;
        let source = format!("{target} (generation {generation})");
        let config: Config =
            cordon_config::parse(&text, std::path::Path::new(&source)).map_err(|e| {
                eprint!("{}", e.report());
                CtlError::Config(e)
            })?;
        names.push(config.gateway.hostname);
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn each_child_talks_to_its_target_only() {
        let args = os(&[
            "--target",
            "a:1",
            "--ca",
            "ca.pem",
            "--target=b:2",
            "--json",
            "config",
            "apply",
            "new.toml",
        ]);
        assert_eq!(
            child_args(&args, "a:1"),
            os(&["--tcp", "a:1", "--ca", "ca.pem", "--json", "config", "apply", "new.toml"])
        );
    }

    #[test]
    fn the_detail_is_the_last_output_line_or_the_first_error_line() {
        let ok = Outcome {
            target: "a:1".into(),
            code: Some(0),
            stdout: "warning\napplied new.toml as generation 2\n".into(),
            stderr: String::new(),
        };
        assert_eq!(ok.detail(), "applied new.toml as generation 2");
        let down = Outcome {
            target: "c:3".into(),
            code: Some(3),
            stdout: String::new(),
            stderr: "cordonctl: cannot connect to c:3: refused\n  (hint)\n".into(),
        };
        assert_eq!(down.detail(), "cannot connect to c:3: refused");
        assert!(!down.ok());
    }
}
