//! cordonctl's library: the error every command reports (with its exit code) and
//! [`exchange`], the Exchange Online setup generator with its PowerShell reader, cmdlet
//! reference table, `--check` and rule evaluator. None of it does I/O; the binary (`main.rs`,
//! `port.rs`, `commands/`) holds the command line, the transports and each command.
//!
//! # Layout
//! - [`CtlError`]: why a command failed, mapped to an exit code.
//! - [`exchange`]: `exchange-setup` (see its module doc for its own layout).

#![forbid(unsafe_code)]
#![allow(
    clippy::result_large_err,
    clippy::large_enum_variant,
    reason = "the wire's AppError (inside CtlError::Client) is fixed-size (~8 KiB, no allocator in \
              cordon-wire) and is returned by value on the control path only, never per message"
)]

pub mod exchange;

use std::path::PathBuf;

/// Why cordonctl failed; each maps to an exit code.
#[derive(Debug, thiserror::Error)]
pub enum CtlError {
    #[error("{0}")]
    Client(#[from] cordon_control::Error),
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A local config that does not parse (exchange-setup); already printed.
    #[error("{0}")]
    Invalid(String),
    /// `--check` found something missing; already printed.
    #[error("the setup is incomplete")]
    Incomplete,
    /// The generated PowerShell, read back, is not what the reader or the reference table
    /// accepts (line 0: the table itself).
    #[error("generated script, line {line}: {reason}")]
    Script { line: usize, reason: String },
    /// The rule evaluator cannot model what the script does.
    #[error("cannot evaluate the generated rules: {0}")]
    Evaluate(String),
}

impl CtlError {
    /// 1 refused or invalid, 2 usage or an unreadable local file, 3 transport.
    pub fn exit_code(&self) -> u8 {
        match self {
            CtlError::Client(cordon_control::Error::Server(_)) => 1,
            CtlError::Invalid(_) | CtlError::Incomplete => 1,
            CtlError::Script { .. } | CtlError::Evaluate(_) => 1,
            CtlError::Read { .. } => 2,
            CtlError::Client(_) => 3,
        }
    }
}
