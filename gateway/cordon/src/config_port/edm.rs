//! The config port's EDM requests over the running gateway: a change to the stored tables
//! ([`crate::edm::Tables`]) followed by a rebuild of the live config, so new sessions (in
//! every worker, through the supervisor's reload) match against the tables as stored now.

// `AppError` is the wire's fixed-size error, as in the parent module.
#![allow(clippy::result_large_err)]

use cordon_wire::{AppError, EdmTables, FingerprintSets};

use super::GatewayBackend;
use crate::edm::{Change, Tables};
use crate::fingerprints::Sets;
use crate::keyed_files::Usage;

/// A change to the fingerprint sets, given what the EDM tables hold of the shared budgets.
pub(super) type SetChange<'a> = dyn Fn(&Sets, Usage) -> Result<(), AppError> + 'a;

impl GatewayBackend {
    /// Runs `change` on the EDM tables, then rebuilds the running config with the tables as
    /// stored now; `None` only lists them. A refused change leaves tables and engine as
    /// they were.
    pub(super) fn edm(&self, change: Option<&Change>) -> Result<EdmTables, AppError> {
        let current = self.current().shared;
        let tables = Tables::required(&current.config)?;
        if let Some(change) = change {
            let sets = Sets::of(&current.config)
                .map(|s| s.usage())
                .unwrap_or_default();
            change(&tables, sets)?;
            self.go_live((*current.config).clone(), current.generation)?;
        }
        Ok(tables.list())
    }

    /// Runs `change` on the fingerprint sets, then rebuilds the running config with the sets
    /// as stored now; `None` only lists them (with `set`'s documents when given).
    pub(super) fn fingerprints(
        &self,
        change: Option<&SetChange>,
        set: Option<&str>,
    ) -> Result<FingerprintSets, AppError> {
        let current = self.current().shared;
        let sets = Sets::required(&current.config)?;
        let edm = Tables::of(&current.config)
            .map(|t| t.usage())
            .unwrap_or_default();
        if let Some(change) = change {
            change(&sets, edm)?;
            self.go_live((*current.config).clone(), current.generation)?;
        }
        Ok(sets.list(set, edm))
    }
}
