//! cordonctl's library: the error every command reports (with its exit code),
//! [`exchange`], the Exchange Online setup generator with its PowerShell reader, cmdlet
//! reference table, `--check` and rule evaluator, and [`edm`], the offline hashing of EDM
//! tables. None of it opens a file or a socket; the binary (`main.rs`, `port.rs`,
//! `commands/`) holds the command line, the transports and each command.
//!
//! # Layout
//! - [`CtlError`]: why a command failed, mapped to an exit code.
//! - [`exchange`]: `exchange-setup` (see its module doc for its own layout).
//! - [`edm`]: `edm hash`: a schema, a key file and a CSV export into a bundle of keyed hashes.

#![forbid(unsafe_code)]
#![allow(
    clippy::result_large_err,
    clippy::large_enum_variant,
    reason = "the wire's AppError (inside CtlError::Client) is fixed-size (~8 KiB, no allocator in \
              cordon-wire) and is returned by value on the control path only, never per message"
)]

pub mod edm;
pub mod exchange;

use std::path::PathBuf;

/// Why cordonctl failed; each maps to an exit code.
#[derive(Debug, thiserror::Error)]
pub enum CtlError {
    #[error(transparent)]
    Client(#[from] cordon_control::Error),
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A local config file (exchange-setup) is not UTF-8 text.
    #[error("{} is not UTF-8: {source}", path.display())]
    NotUtf8 {
        path: PathBuf,
        #[source]
        source: std::string::FromUtf8Error,
    },
    /// A local config that does not parse (exchange-setup); its diagnostics are already printed.
    #[error(transparent)]
    Config(cordon_config::Error),
    /// The gateway found the config invalid (`config check`, `config apply`); each issue is
    /// already printed.
    #[error("config refused: {}", .0.message)]
    Refused(#[source] cordon_wire::AppError),
    /// A command-line value clap cannot check (a time for `--after`).
    #[error("{0}")]
    Usage(String),
    /// `incidents show ID` for an incident the journal does not hold.
    #[error("no incident {id}: not in the journal (dropped by retention, or not recorded yet); `cordonctl incidents verify` shows the range held")]
    NoIncident { id: String },
    /// `incidents verify` found a broken chain or a lost tail; the report is printed.
    #[error("incident journal check failed: {0}")]
    Unverified(String),
    /// The gateway closed the connection during `incidents --follow` (it stopped or
    /// restarted); `resume` is the `--since` that picks up where the follow ended.
    #[error("gateway stopped: the follow ended; resume with `cordonctl incidents --follow --since {resume}`")]
    GatewayStopped { resume: u64 },
    /// `config diff`: the file differs from the running config; the lines are printed.
    #[error("the file differs from the running config")]
    Differs,
    /// `config apply --max-changes`: the policy diff changes more verdicts than allowed; the
    /// changes are printed and the apply was not sent.
    #[error("refused: the new policy changes {changed} verdicts of the corpus, more than --max-changes {max}; the running config is unchanged")]
    TooManyChanges { changed: usize, max: usize },
    /// `--target`: this many appliances of the fleet failed; each one's line is printed.
    /// `code` is the highest exit code among them.
    #[error("{failed} of {total} appliances failed")]
    Fleet {
        failed: usize,
        total: usize,
        code: u8,
    },
    /// `edm hash` or `edm upload`: a schema, key file or CSV cell that cannot be used; `at`
    /// is the file, and for a CSV its line and column (`table.csv:17:3 (column dob)`).
    #[error("{at}: {reason}")]
    Edm { at: String, reason: String },
    /// A local file that cannot be written (`edm hash`'s key file).
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `--check` found something missing; already printed.
    #[error("the setup is incomplete")]
    Incomplete,
    /// The generated PowerShell, read back, is not what the reader or the reference table
    /// accepts (line 0: the script as a whole).
    #[error("generated script, line {line}: {reason}")]
    Script { line: usize, reason: String },
    /// The cmdlet reference table compiled into the binary does not parse (a build defect).
    #[error("the cmdlet reference table (cmdlets.toml) does not parse: {0}")]
    Table(#[source] toml::de::Error),
    /// The rule evaluator cannot model what the script does.
    #[error("cannot evaluate the generated rules: {0}")]
    Evaluate(String),
    /// A text pattern of a generated rule is not a regular expression the evaluator reads.
    #[error("cannot evaluate the generated rules: {pattern:?}: {source}")]
    Pattern {
        pattern: String,
        #[source]
        source: regex::Error,
    },
    /// A generated connector's SenderIPAddresses entry is not an address or range.
    #[error("cannot evaluate the generated rules: SenderIPAddresses: {0}")]
    SenderIp(#[source] std::net::AddrParseError),
}

impl CtlError {
    /// 1 refused or invalid, 2 usage or an unreadable local file, 3 transport.
    pub fn exit_code(&self) -> u8 {
        match self {
            CtlError::Client(cordon_control::Error::Server(_)) => 1,
            CtlError::NotUtf8 { .. } | CtlError::Config(_) | CtlError::Refused(_) => 1,
            CtlError::Incomplete | CtlError::NoIncident { .. } | CtlError::Differs => 1,
            CtlError::Unverified(_) | CtlError::TooManyChanges { .. } => 1,
            CtlError::Fleet { code, .. } => *code,
            CtlError::Usage(_) => 2,
            CtlError::Script { .. } | CtlError::Table(_) => 1,
            CtlError::Evaluate(_) | CtlError::Pattern { .. } | CtlError::SenderIp(_) => 1,
            CtlError::Edm { .. } => 1,
            CtlError::Read { .. } | CtlError::Write { .. } => 2,
            CtlError::GatewayStopped { .. } => 3,
            CtlError::Client(_) => 3,
        }
    }
}
