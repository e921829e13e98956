//! The preflight (`scripts/preflight`, issue 11): a tool the tests need that is missing stops
//! the run before any build, with the tool and the package that brings it. Hiding one program
//! from `PATH` stands in for the fresh machine that lacks it.

use std::collections::BTreeSet;
use std::os::unix::fs::symlink;
use std::process::Command;

use cordon_tests::{repo_root, TempDir};

/// A `PATH` of one folder holding links to every program on the current `PATH` but `hidden`.
fn path_without(hidden: &str, dir: &TempDir) -> String {
    let mut seen = BTreeSet::new();
    let path = std::env::var("PATH").expect("PATH is set");
    for entry in path.split(':').filter_map(|d| std::fs::read_dir(d).ok()) {
        for file in entry.flatten() {
            let name = file.file_name();
            if name == hidden || !seen.insert(name.clone()) {
                continue;
            }
            symlink(file.path(), dir.path().join(&name)).expect("link a program");
        }
    }
    dir.path().display().to_string()
}

fn preflight(args: &[&str], path: &str) -> (Option<i32>, String, String) {
    let out = Command::new("/bin/bash")
        .arg(repo_root().join("scripts/preflight"))
        .args(args)
        .env("PATH", path)
        .output()
        .expect("run scripts/preflight");
    let text = |b: Vec<u8>| String::from_utf8(b).expect("utf-8 output");
    (out.status.code(), text(out.stdout), text(out.stderr))
}

#[test]
fn check_only_names_a_hidden_tool_and_its_package() {
    let dir = TempDir::new("preflight-path");
    let (code, out, err) = preflight(&["--check-only", "peers"], &path_without("swaks", &dir));
    assert_eq!(code, Some(1), "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        out.contains("MISSING  peers: swaks (SMTP client) -> apt-get install swaks\n"),
        "{out}"
    );
    assert!(
        out.contains(
            "MISSING  peers: swaks with STARTTLS (Net::SSLeay) -> apt-get install libnet-ssleay-perl\n"
        ),
        "{out}"
    );
    // Only what was hidden is missing: the other peers still pass, so the failure is the
    // swaks one and not a broken PATH.
    for ok in [
        "openssl",
        "Postfix (postfix, postconf)",
        "aiosmtpd in Debian's python3",
    ] {
        assert!(
            out.contains(&format!("ok       peers: {ok}\n")),
            "{ok}: {out}"
        );
    }
    assert!(
        err.starts_with("preflight: the tools marked MISSING are needed"),
        "{err}"
    );
}

#[test]
fn check_only_passes_where_the_test_command_installed_the_peers() {
    let path = std::env::var("PATH").expect("PATH is set");
    let (code, out, err) = preflight(&["--check-only", "peers"], &path);
    assert_eq!(code, Some(0), "stdout:\n{out}\nstderr:\n{err}");
    assert!(!out.contains("MISSING"), "{out}");
    assert!(
        out.ends_with("preflight: every tool for peers is present\n"),
        "{out}"
    );
}

#[test]
fn an_unknown_group_is_a_usage_error() {
    let path = std::env::var("PATH").expect("PATH is set");
    let (code, _, err) = preflight(&["--check-only", "everything"], &path);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("Usage: scripts/preflight [--check-only] [GROUP...]"),
        "{err}"
    );
}
