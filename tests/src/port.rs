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

/// Five distinct Luhn-valid card numbers: [`BLOCK_CARDS`] blocks a message with all of them.
pub const CARDS: &str = "4556 5260 1815 9081, 5425 3016 6131 8608, 4929 9139 0996 0308, 2221 8246 2819 4823, 3714 199351 81902";

/// A rule that blocks a message with five card numbers ([`CARDS`]) with its own reply.
pub const BLOCK_CARDS: &str = r#"
[[rule]]
name = "block-cards"
match = "credit_card"
min_count = 5
action = "block"
reply = "550 5.7.1 Message blocked: it contains payment card numbers"
"#;

/// [`BLOCK_CARDS`], then a rule that quarantines a message with a US SSN: two rules with
/// distinct actions and detectors.
pub const BLOCK_CARDS_QUARANTINE_SSN: &str = r#"
[[rule]]
name = "block-cards"
match = "credit_card"
min_count = 5
action = "block"
reply = "550 5.7.1 Message blocked: it contains payment card numbers"

[[rule]]
name = "quarantine-ssn"
match = "us_ssn"
action = "quarantine"
"#;
