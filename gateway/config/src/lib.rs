//! cordon's configuration file: TOML in, a validated [`Config`] out, or every problem found with
//! its file, line, column and dotted key, so an administrator can fix them all in one pass.
//!
//! # Layout
//! - [`model`]: the validated configuration types the gateway runs on.
//! - [`reader`]: the span-aware TOML walker that collects diagnostics instead of stopping at the
//!   first one.
//! - [`parse`]: builds the model section by section.
//! - [`units`]: sizes (`35MiB`) and durations (`5m`).
//! - [`metrics`]: the `[metrics]` section (its model and its parser).
//! - [`defaults`]: every optional key's default as TOML (`config get --effective/--changed`).
//! - [`diff`]: which keys two config texts differ in (the audit trail's summary).
//! - [`siem`]: the `[siem]` section (the syslog exporter's target, transport and format).
//!
//! Files named in the config (certificates, keys, CA bundles) are checked by [`check_files`];
//! [`parse`] itself does no I/O so a config can be validated before it is installed.

#![forbid(unsafe_code)]

pub mod defaults;
pub mod diff;
pub mod metrics;
pub mod model;
mod parse;
pub mod reader;
pub mod siem;
pub mod units;

use std::fmt;
use std::path::{Path, PathBuf};

pub use diff::changed_keys;
pub use model::*;
pub use parse::{parse, MAX_SLOT_CLASSES};
pub use siem::{Siem, SiemFormat, SiemTransport};

/// One problem in a config file, located by line, column and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    /// Dotted key path, e.g. `gateway.tls.certificate` or `relay.smarthosts[1]`.
    pub key: String,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file.display(), self.line, self.column)?;
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        f.write_str(&self.message)
    }
}

/// The crate's error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} error(s) in {}", diagnostics.len(), file.display())]
    Invalid {
        file: PathBuf,
        diagnostics: Vec<Diagnostic>,
    },
}

impl Error {
    /// Every diagnostic, one per line, for printing.
    pub fn report(&self) -> String {
        match self {
            Error::Read { .. } => self.to_string(),
            Error::Invalid { diagnostics, .. } => diagnostics
                .iter()
                .map(|d| format!("{d}\n"))
                .collect::<String>(),
        }
    }
}

/// Reads, parses and validates a config file, including that every file it names is readable.
pub fn load(path: &Path) -> Result<Config, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let config = parse(&text, path)?;
    let diagnostics = check_files(&config);
    if diagnostics.is_empty() {
        Ok(config)
    } else {
        Err(Error::Invalid {
            file: path.to_path_buf(),
            diagnostics,
        })
    }
}

/// Checks that every file the config names can be read; returns one diagnostic per file.
pub fn check_files(config: &Config) -> Vec<Diagnostic> {
    config
        .files()
        .into_iter()
        .filter_map(|f| match std::fs::File::open(&f.path) {
            Ok(_) => None,
            Err(e) => Some(f.at.diagnostic(match &f.relative_to {
                None => format!("cannot read {}: {e}", f.path.display()),
                // Issue 18 item 8: the same file checks differently offline and through the
                // config port, which keeps the config in its state directory: say why.
                Some(_) => format!(
                    "cannot read {}: {e}; relative paths resolve against the config's own directory (through the config port: its state directory)",
                    f.path.display()
                ),
            })),
        })
        .collect()
}
