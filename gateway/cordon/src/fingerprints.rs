//! Document fingerprint sets on the appliance (issue 20, item 3): stored power-safe in
//! `<state_dir>/fingerprints/SET.fp` (the set's 16-byte secret key, made here from the
//! system's random source when the set is made, then the bundle of [`cordon_dlp::fingerprint`];
//! file mode 0600 like the other secrets of the state directory). Only keyed fingerprints are
//! kept: the document an administrator adds is read through the engine's own readers in
//! memory and dropped. A set shares the `[edm]` budgets with the EDM tables (memory in each
//! worker, and two copies on `/data`), and is loaded for the engine at start and at every
//! rebuild of the live config; a set that no longer verifies on disk is left out with an error
//! in the log, never half-loaded.

// `AppError` is the wire's fixed-size error, as in config_port.
#![allow(clippy::result_large_err)]

use std::path::PathBuf;
use std::sync::Arc;

use cordon_config::Config;
use cordon_dlp::fingerprint::{
    self, as_message, valid_set_name, Document, FpKey, Set, KEY_BYTES, MAX_DOCUMENTS,
    MAX_DOCUMENT_NAME, MAX_TOTAL_FINGERPRINTS,
};
use cordon_wire::limits::MAX_FINGERPRINT_SETS;
use cordon_wire::{
    bounded, AppError, ErrorCode, FingerprintDocument, FingerprintSetInfo, FingerprintSets,
};

use crate::keyed_files::{self, Stored, Usage};

/// File name extension of a stored set.
const EXT: &str = "fp";

/// Where `config` keeps its sets and what they may take (with the EDM tables).
#[derive(Debug, Clone)]
pub struct Sets {
    dir: PathBuf,
    memory_budget: u64,
    storage_budget: u64,
}

impl Sets {
    /// `None` without `[control]`: sets come only through the config port.
    pub fn of(config: &Config) -> Option<Sets> {
        let control = config.control.as_ref()?;
        Some(Sets {
            dir: control.state_dir.join("fingerprints"),
            memory_budget: config.edm.memory_bytes,
            storage_budget: config.edm.storage_bytes,
        })
    }

    /// [`Sets::of`] for a config-port request.
    pub fn required(config: &Config) -> Result<Sets, AppError> {
        Sets::of(config).ok_or_else(|| {
            AppError::new(
                ErrorCode::Unsupported,
                "fingerprint sets need [control] state_dir",
            )
        })
    }

    fn stored(&self) -> Vec<Stored> {
        keyed_files::list(&self.dir, EXT, valid_set_name)
    }

    /// Every stored set that verifies, in name order, within what the budget leaves after
    /// `others` and within [`MAX_TOTAL_FINGERPRINTS`] (a set past either is left out with an
    /// error).
    pub fn load(&self, others: Usage) -> Vec<(String, Arc<Set>)> {
        let mut out = Vec::new();
        let mut used = others.memory;
        let mut fingerprints = 0;
        for s in self.stored() {
            match read(&s.path) {
                Ok(set) => {
                    let bytes = set.memory_bytes() as u64;
                    if used + bytes > self.memory_budget
                        || fingerprints + set.fingerprints() > MAX_TOTAL_FINGERPRINTS
                    {
                        tracing::error!(set = %s.name, bytes, used, budget = self.memory_budget, "fingerprint set left out: over [edm] memory_bytes or the fingerprint limit");
                        continue;
                    }
                    used += bytes;
                    fingerprints += set.fingerprints();
                    out.push((s.name, Arc::new(set)));
                }
                Err(e) => tracing::error!(set = %s.name, error = %e, "fingerprint set left out"),
            }
        }
        out
    }

    /// Memory and storage the sets take now.
    pub fn usage(&self) -> Usage {
        Usage {
            memory: self
                .load(Usage::default())
                .iter()
                .map(|(_, s)| s.memory_bytes() as u64)
                .sum(),
            stored: self.stored().iter().map(|s| s.bytes).sum(),
        }
    }

    /// `FingerprintList` (and the answer of the other requests): the sets, and the documents
    /// of `set` when given.
    pub fn list(&self, set: Option<&str>, others: Usage) -> FingerprintSets {
        let sizes = self.stored();
        let mut sets = heapless::Vec::new();
        let mut documents = heapless::Vec::new();
        for (name, s) in self.load(others) {
            let _ = sets.push(FingerprintSetInfo {
                name: bounded(&name),
                documents: s.len() as u16,
                fingerprints: s.fingerprints() as u32,
                memory_bytes: s.memory_bytes() as u64,
                stored_bytes: sizes.iter().find(|x| x.name == name).map_or(0, |x| x.bytes),
            });
            if set == Some(name.as_str()) {
                for (doc, count) in s.document_counts() {
                    let _ = documents.push(FingerprintDocument {
                        name: bounded(doc),
                        fingerprints: count,
                    });
                }
            }
        }
        FingerprintSets {
            sets,
            documents,
            memory_budget: self.memory_budget,
            storage_budget: self.storage_budget,
        }
    }

    /// `FingerprintAdd`: everything that can refuse the document runs before the file is
    /// written. `engine` is the running one: it reads the document with the same readers as
    /// mail (collecting its fingerprints bypasses every set it matches against).
    pub fn add(
        &self,
        engine: &Arc<cordon_dlp::Engine>,
        set: &str,
        document: &str,
        message: &[u8],
        others: Usage,
    ) -> Result<(), AppError> {
        check_name(set)?;
        if document.is_empty()
            || document.len() > MAX_DOCUMENT_NAME
            || document.chars().any(char::is_control)
        {
            return Err(refused(&format!(
                "document name {document:?}: 1 to {MAX_DOCUMENT_NAME} bytes, no control characters"
            )));
        }
        let stored = self.stored();
        let existing = stored.iter().find(|s| s.name == set);
        let (key, mut docs) = match existing {
            Some(s) => {
                let current = read(&s.path).map_err(|e| {
                    refused(&format!(
                        "the stored set {set} does not verify ({e}): remove it first"
                    ))
                })?;
                (current.key().clone(), current.documents())
            }
            None => {
                if stored.len() >= MAX_FINGERPRINT_SETS {
                    return Err(AppError::new(
                        ErrorCode::OverBudget,
                        &format!(
                            "{} fingerprint sets installed, at most {MAX_FINGERPRINT_SETS}: remove one first",
                            stored.len()
                        ),
                    ));
                }
                (new_key()?, Vec::new())
            }
        };
        let fingerprints = engine
            .document_fingerprints(&as_message(document, message), &key)
            .map_err(|e| refused(&format!("{document} cannot be fingerprinted: {e}")))?;
        docs.retain(|d| d.name != document);
        if docs.len() >= MAX_DOCUMENTS {
            return Err(AppError::new(
                ErrorCode::OverBudget,
                &format!("set {set} holds {MAX_DOCUMENTS} documents already: remove one first"),
            ));
        }
        docs.push(Document {
            name: document.to_owned(),
            fingerprints,
        });
        let bundle = fingerprint::encode(&key, &docs).map_err(|e| refused(&e.to_string()))?;
        let new = Set::decode(&bundle, &key).map_err(|e| refused(&e.to_string()))?;
        let loaded: Vec<(String, Arc<Set>)> = self
            .load(Usage::default())
            .into_iter()
            .filter(|(n, _)| n != set)
            .collect();
        let total: usize =
            loaded.iter().map(|(_, s)| s.fingerprints()).sum::<usize>() + new.fingerprints();
        if total > MAX_TOTAL_FINGERPRINTS {
            return Err(AppError::new(
                ErrorCode::OverBudget,
                &format!("the sets would hold {total} fingerprints, at most {MAX_TOTAL_FINGERPRINTS} (each scan keeps one bit per fingerprint)"),
            ));
        }
        let needed = new.memory_bytes() as u64;
        let taken = others.memory
            + loaded
                .iter()
                .map(|(_, s)| s.memory_bytes() as u64)
                .sum::<u64>();
        if taken + needed > self.memory_budget {
            return Err(AppError::new(
                ErrorCode::OverBudget,
                &format!(
                    "set {set} needs {needed} B of memory; EDM tables and other sets hold {taken} B of the {} B budget ([edm] memory_bytes)",
                    self.memory_budget
                ),
            ));
        }
        let file = (KEY_BYTES + bundle.len()) as u64;
        let other_files = others.stored
            + stored
                .iter()
                .filter(|s| s.name != set)
                .map(|s| s.bytes)
                .sum::<u64>();
        if 2 * (other_files + file) > self.storage_budget {
            return Err(AppError::new(
                ErrorCode::OverBudget,
                &format!(
                    "set {set} takes {file} B on /data; with the EDM tables and other sets' {other_files} B, twice over for a power-safe replacement, that exceeds the {} B budget ([edm] storage_bytes)",
                    self.storage_budget
                ),
            ));
        }
        self.write(set, &key, &bundle)?;
        tracing::info!(
            set,
            document,
            documents = new.len(),
            fingerprints = new.fingerprints(),
            memory_bytes = needed,
            "document added to fingerprint set"
        );
        Ok(())
    }

    /// `FingerprintRemove`: one document, or the whole set.
    pub fn remove(&self, set: &str, document: Option<&str>) -> Result<(), AppError> {
        check_name(set)?;
        let path = self.path(set);
        let Some(document) = document else {
            return match keyed_files::remove(&self.dir, &path) {
                Ok(()) => {
                    tracing::info!(set, "fingerprint set removed");
                    Ok(())
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    Err(refused(&format!("no fingerprint set named {set}")))
                }
                Err(e) => Err(AppError::new(
                    ErrorCode::Storage,
                    &format!("cannot remove {}: {e}", path.display()),
                )),
            };
        };
        let current = read(&path).map_err(|e| refused(&format!("set {set}: {e}")))?;
        let mut docs = current.documents();
        let before = docs.len();
        docs.retain(|d| d.name != document);
        if docs.len() == before {
            return Err(refused(&format!("set {set} has no document {document:?}")));
        }
        let bundle =
            fingerprint::encode(current.key(), &docs).map_err(|e| refused(&e.to_string()))?;
        self.write(set, current.key(), &bundle)?;
        tracing::info!(set, document, "document removed from fingerprint set");
        Ok(())
    }

    fn write(&self, set: &str, key: &FpKey, bundle: &[u8]) -> Result<(), AppError> {
        keyed_files::write(&self.dir, &self.path(set), key.as_bytes(), bundle).map_err(|e| {
            AppError::new(
                ErrorCode::Storage,
                &format!(
                    "cannot store fingerprint set {set} in {}: {e}; the running sets are unchanged",
                    self.dir.display()
                ),
            )
        })
    }

    fn path(&self, set: &str) -> PathBuf {
        self.dir.join(format!("{set}.{EXT}"))
    }

    /// The start-up budget line's part: each set's bytes.
    pub fn describe(loaded: &[(String, Arc<Set>)]) -> String {
        if loaded.is_empty() {
            return String::new();
        }
        let sets: Vec<String> = loaded
            .iter()
            .map(|(n, s)| {
                format!(
                    "{n} {} B ({} documents, {} fingerprints)",
                    s.memory_bytes(),
                    s.len(),
                    s.fingerprints()
                )
            })
            .collect();
        format!(", fingerprint sets {}", sets.join(", "))
    }
}

fn refused(why: &str) -> AppError {
    AppError::new(ErrorCode::InvalidEdm, why)
}

fn check_name(name: &str) -> Result<(), AppError> {
    if valid_set_name(name) {
        Ok(())
    } else {
        Err(refused(&format!(
            "set name {name:?}: 1 to 32 lower-case letters, digits, _ or -, starting with a letter"
        )))
    }
}

fn new_key() -> Result<FpKey, AppError> {
    let mut k = [0u8; KEY_BYTES];
    getrandom::getrandom(&mut k).map_err(|e| {
        AppError::new(
            ErrorCode::Internal,
            &format!("no random source for the set's key: {e}"),
        )
    })?;
    Ok(FpKey::from_bytes(k))
}

fn read(path: &std::path::Path) -> Result<Set, String> {
    let data = std::fs::read(path).map_err(|e| e.to_string())?;
    let (key, bundle) = keyed_files::split_key::<KEY_BYTES>(path, &data)?;
    let key = FpKey::from_bytes(key);
    Set::decode(bundle, &key).map_err(|f| format!("{}: {f}", path.display()))
}

/// The sets of `config` (none without `[control]`), within what `edm` leaves of the budget.
pub fn load(
    config: &Config,
    edm: &[(String, Arc<cordon_dlp::edm::Table>)],
) -> Vec<(String, Arc<Set>)> {
    let others = Usage {
        memory: edm.iter().map(|(_, t)| t.memory_bytes() as u64).sum(),
        stored: 0,
    };
    Sets::of(config).map(|s| s.load(others)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_wire_bounds_are_the_engines() {
        assert_eq!(
            cordon_dlp::fingerprint::MAX_DOCUMENTS,
            cordon_wire::limits::MAX_SET_DOCUMENTS
        );
        assert_eq!(
            cordon_dlp::fingerprint::MAX_DOCUMENT_NAME,
            cordon_wire::limits::MAX_DOC_NAME_LEN
        );
    }
}
