//! The config port from a test: `cordonctl` against a gateway's Unix socket, and the messages
//! that make an incident.

use std::path::Path;
use std::process::Command;

use crate::gateway::Gateway;
use crate::support::bin;

/// Runs `cordonctl --socket SOCKET ARGS`; returns its exit code and stdout then stderr.
pub fn ctl(socket: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(bin("cordonctl"))
        .arg("--socket")
        .arg(socket)
        .args(args)
        .output()
        .expect("run cordonctl");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// A message with a US SSN (an `us_ssn` finding), its Message-ID made from `subject`.
pub fn ssn_message(subject: &str) -> Vec<u8> {
    format!("From: alice@contoso.com\r\nTo: bob@fabrikam.example\r\nSubject: {subject}\r\nMessage-ID: <{subject}@contoso.com>\r\n\r\nemployee SSN 536-22-8190\r\n").into_bytes()
}

/// Sends one message with an SSN in a session of its own; returns the final reply code.
pub fn send_ssn(gw: &Gateway, subject: &str) -> u16 {
    let mut c = gw.client();
    c.hello();
    c.send_mail(
        "alice@contoso.com",
        &["bob@fabrikam.example"],
        &ssn_message(subject),
    )
    .code
}
