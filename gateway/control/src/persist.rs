//! The config-apply helper: what the gateway's [`crate::Backend`] uses for `ValidateConfig`,
//! `ApplyConfig`, `Rollback` and `GetConfig`. A config is parsed and checked whole with
//! `cordon_config::parse` (every diagnostic becomes a wire [`Issue`]), committed to the A/B
//! store (which returns only once it is durable), and only then reported as the new
//! generation, so the gateway switches its live config only to something a power cut cannot
//! take back. One apply or rollback at a time: a second one meanwhile is `Busy`.

use std::path::Path;
use std::sync::{Mutex, TryLockError};

use cordon_config::{Config, Diagnostic};
use cordon_store::{ConfigRecord, Rollback, SlotState, Storage, Store, StoreError};
use cordon_wire::limits::MAX_ISSUES;
use cordon_wire::{AppError, ErrorCode, Issue};

use crate::bounded;

/// The name issues carry for a config that came over the config port: the client knows
/// which local file it uploaded, the gateway does not.
pub const UPLOADED_CONFIG_NAME: &str = "config";

/// The running config as persisted: its generation (0 = the factory default, never
/// written) and record.
#[derive(Debug, Clone)]
pub struct Current {
    pub generation: u64,
    pub record: ConfigRecord,
}

/// Power-safe config persistence with whole-config validation.
#[derive(Debug)]
pub struct Persisted<S> {
    inner: Mutex<Inner<S>>,
}

#[derive(Debug)]
struct Inner<S> {
    store: Store<S>,
    current: Current,
}

impl<S: Storage> Persisted<S> {
    /// Loads the newest valid generation from `store`, or starts from `factory` (generation
    /// 0) on a fresh data partition. A stored config that no longer parses (written by an
    /// older release with a key since removed) is still returned: the gateway decides
    /// whether to run it or fall back, with [`Persisted::parse`]'s issues in its log.
    pub fn open(store: Store<S>, factory: ConfigRecord) -> Result<Self, StoreError> {
        let current = match store.load()? {
            Some(snapshot) => Current {
                generation: snapshot.generation,
                record: ConfigRecord::decode(&snapshot.payload)?,
            },
            None => Current {
                generation: 0,
                record: factory,
            },
        };
        Ok(Self {
            inner: Mutex::new(Inner { store, current }),
        })
    }

    /// The running config's generation and record.
    pub fn current(&self) -> Current {
        self.lock_blocking().current.clone()
    }

    /// Parses and checks `toml` as the file `file` (for issue locations), changing nothing.
    pub fn parse(toml: &str, file: &str) -> Result<Config, AppError> {
        cordon_config::parse(toml, Path::new(file)).map_err(config_error)
    }

    /// `ValidateConfig`: [`Persisted::parse`] under the uploaded-config name.
    pub fn validate(&self, toml: &str) -> Result<Config, AppError> {
        Self::parse(toml, UPLOADED_CONFIG_NAME)
    }

    /// `ApplyConfig`: validates `toml` whole, then commits it (with the current stamp key)
    /// as the next generation. Returns the generation and the parsed config for the gateway
    /// to make live. On any error nothing changed, on disk or in memory.
    pub fn apply(
        &self,
        toml: &str,
        expected_generation: Option<u64>,
    ) -> Result<(u64, Config), AppError> {
        let mut inner = self.try_lock()?;
        if let Some(expected) = expected_generation {
            if expected != inner.current.generation {
                return Err(AppError::new(
                    ErrorCode::GenerationConflict,
                    &format!(
                        "running generation is {}, not {expected}: fetch it again and retry",
                        inner.current.generation
                    ),
                ));
            }
        }
        let config = Self::parse(toml, UPLOADED_CONFIG_NAME)?;
        let record = ConfigRecord {
            toml: toml.to_owned(),
            stamp_key: inner.current.record.stamp_key.clone(),
        };
        let generation = inner
            .store
            .commit(&record.encode())
            .map_err(storage_error)?;
        inner.current = Current { generation, record };
        Ok((generation, config))
    }

    /// `Rollback`: the previous generation's content, checked to still parse, committed as
    /// a new generation. Returns what the store did and the config to make live.
    pub fn rollback(&self) -> Result<(Rollback, Config), AppError> {
        let mut inner = self.try_lock()?;
        let no_previous = || {
            AppError::new(
                ErrorCode::NoPreviousConfig,
                "no valid previous config on the data partition",
            )
        };
        // Check the previous config before writing anything: a rollback must not commit a
        // config the gateway would then refuse to run.
        let slots = inner.store.inspect().map_err(storage_error)?;
        let previous = slots
            .iter()
            .filter_map(|s| match s {
                SlotState::Valid {
                    generation,
                    payload,
                } if *generation < inner.current.generation => Some(payload),
                _ => None,
            })
            .next()
            .ok_or_else(no_previous)?;
        let record = ConfigRecord::decode(previous).map_err(storage_error)?;
        let config = Self::parse(&record.toml, UPLOADED_CONFIG_NAME)?;
        let rollback = inner.store.rollback().map_err(|e| match e {
            StoreError::NoPrevious { .. } => no_previous(),
            other => storage_error(other),
        })?;
        inner.current = Current {
            generation: rollback.generation,
            record,
        };
        Ok((rollback, config))
    }

    fn try_lock(&self) -> Result<std::sync::MutexGuard<'_, Inner<S>>, AppError> {
        match self.inner.try_lock() {
            Ok(guard) => Ok(guard),
            Err(TryLockError::Poisoned(p)) => Ok(p.into_inner()),
            Err(TryLockError::WouldBlock) => Err(AppError::new(
                ErrorCode::Busy,
                "another apply or rollback is in progress",
            )),
        }
    }

    fn lock_blocking(&self) -> std::sync::MutexGuard<'_, Inner<S>> {
        // A panic while holding the lock left `current` consistent (it is replaced only after
        // a successful commit), so a poisoned lock is still safe to use.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// `InvalidConfig` with one issue per diagnostic (the first [`MAX_ISSUES`]; the message
/// says how many there were in all).
pub fn config_error(error: cordon_config::Error) -> AppError {
    match error {
        cordon_config::Error::Invalid { diagnostics, .. } => {
            let total = diagnostics.len();
            let message = if total > MAX_ISSUES {
                format!("config refused: {total} problems, the first {MAX_ISSUES} listed")
            } else {
                format!("config refused: {total} problem(s)")
            };
            let mut e = AppError::new(ErrorCode::InvalidConfig, &message);
            for d in diagnostics.iter().take(MAX_ISSUES) {
                let _ = e.issues.push(issue(d));
            }
            e
        }
        other => AppError::new(ErrorCode::InvalidConfig, &other.to_string()),
    }
}

/// One diagnostic as a wire issue; over-long parts are shortened, never dropped.
pub fn issue(d: &Diagnostic) -> Issue {
    let file = d
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| d.file.display().to_string());
    Issue {
        file: bounded(&file),
        line: u32::try_from(d.line).unwrap_or(u32::MAX),
        column: u32::try_from(d.column).unwrap_or(u32::MAX),
        key: bounded(&d.key),
        reason: bounded(&d.message),
    }
}

fn storage_error(e: StoreError) -> AppError {
    AppError::new(
        ErrorCode::Storage,
        &format!("{e}; the running config is unchanged"),
    )
}
