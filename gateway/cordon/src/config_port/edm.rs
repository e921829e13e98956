//! The config port's EDM requests over the running gateway: a change to the stored tables
//! ([`crate::edm::Tables`]) followed by a rebuild of the live config, so new sessions (in
//! every worker, through the supervisor's reload) match against the tables as stored now.

// `AppError` is the wire's fixed-size error, as in the parent module.
#![allow(clippy::result_large_err)]

use cordon_wire::{AppError, EdmTables};

use super::GatewayBackend;
use crate::edm::{Change, Tables};

impl GatewayBackend {
    /// Runs `change` on the EDM tables, then rebuilds the running config with the tables as
    /// stored now; `None` only lists them. A refused change leaves tables and engine as
    /// they were.
    pub(super) fn edm(&self, change: Option<&Change>) -> Result<EdmTables, AppError> {
        let current = self.current().shared;
        let tables = Tables::required(&current.config)?;
        if let Some(change) = change {
            change(&tables)?;
            self.go_live((*current.config).clone(), current.generation)?;
        }
        Ok(tables.list())
    }
}
