//! EDM tables on the appliance: stored power-safe in `<state_dir>/edm/NAME.edm` (the table's
//! 32-byte key, then the bundle exactly as uploaded; file mode 0600 like the other secrets of
//! the state directory), verified whole before anything is written, checked against the
//! `[edm]` budgets, and loaded for the engine at start and at every rebuild of the live
//! config. A table that no longer verifies on disk (a bit flipped on /data) is left out with
//! an error in the log, never half-loaded.
//!
//! Loaded tables are kept in a process-wide cache keyed by file, size and modification time,
//! so a config apply or a SIGHUP does not decode an unchanged table again nor hold it twice.

// `AppError` is the wire's fixed-size error, as in config_port.
#![allow(clippy::result_large_err)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use cordon_config::Config;
use cordon_dlp::edm::{valid_table_name, EdmKey, Table, KEY_BYTES};
use cordon_wire::limits::MAX_EDM_TABLES;
use cordon_wire::{bounded, AppError, EdmTableInfo, EdmTables, ErrorCode};

use crate::keyed_files::{self, Stored, Usage};

/// An install or a removal, run by the config port's backend before it rebuilds the engine;
/// the second argument is what the fingerprint sets hold of the shared budgets.
pub type Change<'a> = dyn Fn(&Tables, Usage) -> Result<(), AppError> + 'a;

/// File name extension of a stored table.
const EXT: &str = "edm";

/// A stored table as the cache holds it.
struct Cached {
    name: String,
    /// Size, modification time and inode: a replacement (a rename) always changes the inode.
    stamp: (u64, SystemTime, u64),
    table: Arc<Table>,
}

static CACHE: Mutex<Vec<Cached>> = Mutex::new(Vec::new());

/// Where `config` keeps its tables and what they may take.
#[derive(Debug, Clone)]
pub struct Tables {
    dir: PathBuf,
    memory_budget: u64,
    storage_budget: u64,
}

impl Tables {
    /// `None` without `[control]`: tables come only through the config port.
    pub fn of(config: &Config) -> Option<Tables> {
        let control = config.control.as_ref()?;
        Some(Tables {
            dir: control.state_dir.join("edm"),
            memory_budget: config.edm.memory_bytes,
            storage_budget: config.edm.storage_bytes,
        })
    }

    /// [`Tables::of`] for a config-port request: without `[control]` there is no port either,
    /// so this only guards against a misconfigured caller.
    pub fn required(config: &Config) -> Result<Tables, AppError> {
        Tables::of(config).ok_or_else(|| {
            AppError::new(
                ErrorCode::Unsupported,
                "EDM tables need [control] state_dir",
            )
        })
    }

    fn stored(&self) -> Vec<Stored> {
        keyed_files::list(&self.dir, EXT, valid_table_name)
    }

    /// Every stored table that verifies, in name order, within the memory budget (a table
    /// past it, after `[edm] memory_bytes` was lowered, is left out with an error).
    pub fn load(&self) -> Vec<(String, Arc<Table>)> {
        let mut out = Vec::new();
        let mut used = 0u64;
        let stored = self.stored();
        // A removed table's memory goes with the last engine that uses it.
        CACHE
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|c| stored.iter().any(|s| s.name == c.name));
        for s in stored {
            match load_one(&s.name, &s.path) {
                Ok(table) => {
                    let bytes = table.memory_bytes() as u64;
                    if used + bytes > self.memory_budget {
                        tracing::error!(table = %s.name, bytes, used, budget = self.memory_budget, "EDM table left out: over [edm] memory_bytes");
                        continue;
                    }
                    used += bytes;
                    out.push((s.name, table));
                }
                Err(e) => tracing::error!(table = %s.name, error = %e, "EDM table left out"),
            }
        }
        out
    }

    /// `EdmList`.
    pub fn list(&self) -> EdmTables {
        let sizes = self.stored();
        let mut tables = heapless::Vec::new();
        for (name, t) in self.load() {
            let stored_bytes = sizes.iter().find(|s| s.name == name).map_or(0, |s| s.bytes);
            let s = t.schema();
            let _ = tables.push(EdmTableInfo {
                name: bounded(&name),
                rows: t.rows() as u32,
                columns: t.columns() as u8,
                min_fields: s.min_fields,
                proximity: s.proximity,
                memory_bytes: t.memory_bytes() as u64,
                stored_bytes,
            });
        }
        EdmTables {
            tables,
            memory_budget: self.memory_budget,
            storage_budget: self.storage_budget,
        }
    }

    /// Memory and storage the tables take now (the fingerprint sets share the budgets).
    pub fn usage(&self) -> Usage {
        Usage {
            memory: self
                .load()
                .iter()
                .map(|(_, t)| t.memory_bytes() as u64)
                .sum(),
            stored: self.stored().iter().map(|s| s.bytes).sum(),
        }
    }

    /// `EdmInstall`: everything that can refuse the table runs before the file is written;
    /// `sets` is what the fingerprint sets hold of the shared budgets.
    pub fn install(
        &self,
        name: &str,
        key: &[u8; KEY_BYTES],
        bundle: &[u8],
        sets: Usage,
    ) -> Result<(), AppError> {
        check_name(name)?;
        let key = EdmKey::from_bytes(*key);
        let table = Table::decode(bundle, &key).map_err(|fault| {
            AppError::new(
                ErrorCode::InvalidEdm,
                &format!("EDM bundle refused: {fault}; the running tables are unchanged"),
            )
        })?;
        let others: Vec<(String, Arc<Table>)> =
            self.load().into_iter().filter(|(n, _)| n != name).collect();
        if others.len() >= MAX_EDM_TABLES {
            return Err(AppError::new(
                ErrorCode::OverBudget,
                &format!(
                    "{} tables installed, at most {MAX_EDM_TABLES}: remove one first",
                    others.len()
                ),
            ));
        }
        let needed = table.memory_bytes() as u64;
        let taken: u64 = others
            .iter()
            .map(|(_, t)| t.memory_bytes() as u64)
            .sum::<u64>()
            + sets.memory;
        if taken + needed > self.memory_budget {
            return Err(AppError::new(
                ErrorCode::OverBudget,
                &format!(
                    "table {name} needs {needed} B of memory; other tables and the fingerprint sets hold {taken} B of the {} B budget ([edm] memory_bytes)",
                    self.memory_budget
                ),
            ));
        }
        let file = (KEY_BYTES + bundle.len()) as u64;
        let stored: u64 = self
            .stored()
            .iter()
            .filter(|s| s.name != name)
            .map(|s| s.bytes)
            .sum::<u64>()
            + sets.stored;
        if 2 * (stored + file) > self.storage_budget {
            return Err(AppError::new(
                ErrorCode::OverBudget,
                &format!(
                    "table {name} takes {file} B on /data; with the other tables' and the fingerprint sets' {stored} B, twice over for a power-safe replacement, that exceeds the {} B budget ([edm] storage_bytes)",
                    self.storage_budget
                ),
            ));
        }
        keyed_files::write(&self.dir, &self.path(name), key.as_bytes(), bundle).map_err(|e| {
            AppError::new(
                ErrorCode::Storage,
                &format!(
                    "cannot store EDM table {name} in {}: {e}; the running tables are unchanged",
                    self.dir.display()
                ),
            )
        })?;
        tracing::info!(
            table = name,
            rows = table.rows(),
            memory_bytes = needed,
            stored_bytes = file,
            "EDM table installed"
        );
        Ok(())
    }

    /// `EdmRemove`.
    pub fn remove(&self, name: &str) -> Result<(), AppError> {
        check_name(name)?;
        let path = self.path(name);
        match keyed_files::remove(&self.dir, &path) {
            Ok(()) => {
                tracing::info!(table = name, "EDM table removed");
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(AppError::new(
                ErrorCode::InvalidEdm,
                &format!("no EDM table named {name}"),
            )),
            Err(e) => Err(AppError::new(
                ErrorCode::Storage,
                &format!("cannot remove {}: {e}", path.display()),
            )),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.{EXT}"))
    }

    /// The start-up budget line's part: the reserve and each table's bytes.
    pub fn describe(&self, loaded: &[(String, Arc<Table>)]) -> String {
        let tables: Vec<String> = loaded
            .iter()
            .map(|(n, t)| format!("{n} {} B ({} rows)", t.memory_bytes(), t.rows()))
            .collect();
        format!(
            "edm {} MiB reserved, holding {}",
            self.memory_budget >> 20,
            if tables.is_empty() {
                "no tables".to_string()
            } else {
                tables.join(", ")
            }
        )
    }
}

fn check_name(name: &str) -> Result<(), AppError> {
    if valid_table_name(name) {
        Ok(())
    } else {
        Err(AppError::new(
            ErrorCode::InvalidEdm,
            &format!("table name {name:?}: 1 to 32 lower-case letters, digits, _ or -, starting with a letter"),
        ))
    }
}

/// The tables of `config` (none without `[control]`).
pub fn load(config: &Config) -> Vec<(String, Arc<Table>)> {
    Tables::of(config).map(|t| t.load()).unwrap_or_default()
}

/// [`load`], and the start-up budget line's part for them (`; edm ...`, empty without
/// `[control]`).
pub fn load_described(config: &Config) -> (Vec<(String, Arc<Table>)>, String) {
    let loaded = load(config);
    let line = Tables::of(config)
        .map(|t| format!("; {}", t.describe(&loaded)))
        .unwrap_or_default();
    (loaded, line)
}

/// What each worker reserves for its own copy of the EDM tables: `[edm] memory_bytes`, or
/// nothing without `[control]` (no port, so no tables).
pub fn worker_reserve(config: &Config) -> u64 {
    config
        .control
        .as_ref()
        .map_or(0, |_| config.edm.memory_bytes)
}

fn load_one(name: &str, path: &Path) -> Result<Arc<Table>, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    let stamp = (
        meta.len(),
        meta.modified().map_err(|e| e.to_string())?,
        std::os::unix::fs::MetadataExt::ino(&meta),
    );
    let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(c) = cache.iter().find(|c| c.name == name && c.stamp == stamp) {
        return Ok(Arc::clone(&c.table));
    }
    let data = std::fs::read(path).map_err(|e| e.to_string())?;
    let (key, bundle) = keyed_files::split_key::<KEY_BYTES>(path, &data)?;
    let key = EdmKey::from_bytes(key);
    let table =
        Arc::new(Table::decode(bundle, &key).map_err(|f| format!("{}: {f}", path.display()))?);
    cache.retain(|c| c.name != name);
    cache.push(Cached {
        name: name.to_owned(),
        stamp,
        table: Arc::clone(&table),
    });
    Ok(table)
}
