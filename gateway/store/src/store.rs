//! The A/B logic.
//!
//! Invariants, which the crash tests check at every crash point:
//! - a write never touches the slot holding the newest valid generation, so that config
//!   survives any failure of the write;
//! - the new generation reaches its slot name only by an atomic rename of a file that was
//!   fsynced first, so the slot holds either its previous content or the complete new one;
//! - `commit` returns only after the directory fsync, so a generation reported as written
//!   survives a power cut.

use std::path::{Path, PathBuf};

use crate::slot::{self, Slot, SlotState, MAX_PAYLOAD_LEN, MAX_SLOT_LEN};
use crate::storage::Storage;
use crate::StoreError;

/// The config the store considers current.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub generation: u64,
    pub payload: Vec<u8>,
    pub slot: Slot,
}

/// What `rollback` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rollback {
    /// The new current generation.
    pub generation: u64,
    /// The generation whose content it carries.
    pub restored: u64,
}

/// Power-safe A/B config storage in one data directory.
#[derive(Debug)]
pub struct Store<S> {
    storage: S,
    /// The data directory holding both slot files; fsynced after each rename.
    dir: PathBuf,
}

impl<S: Storage> Store<S> {
    pub fn new(storage: S, dir: impl Into<PathBuf>) -> Self {
        Self {
            storage,
            dir: dir.into(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn storage(&self) -> &S {
        &self.storage
    }

    pub fn into_storage(self) -> S {
        self.storage
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Both slots as found on disk (for `status` and diagnostics).
    pub fn inspect(&self) -> Result<[SlotState; 2], StoreError> {
        let read = |slot: Slot| -> Result<SlotState, StoreError> {
            let path = self.path(slot.file_name());
            let bytes = self
                .storage
                .read(&path, MAX_SLOT_LEN)
                .map_err(StoreError::io("read", &path))?;
            Ok(bytes.map_or(SlotState::Missing, |b| slot::decode(&b)))
        };
        Ok([read(Slot::A)?, read(Slot::B)?])
    }

    /// The newest valid generation, or `None` on a fresh data partition (the caller then
    /// uses the factory default). An I/O error is returned rather than guessed around: a
    /// slot that cannot be read might be the newest one.
    pub fn load(&self) -> Result<Option<Snapshot>, StoreError> {
        Ok(newest(self.inspect()?))
    }

    /// Writes `payload` as the next generation and returns that generation. On error the
    /// current config is untouched (on disk and for the next `load`).
    pub fn commit(&mut self, payload: &[u8]) -> Result<u64, StoreError> {
        let slots = self.inspect()?;
        let current = newest(slots.clone());
        let generation = current.as_ref().map_or(0, |c| c.generation) + 1;
        self.write_generation(current.as_ref(), generation, payload)?;
        Ok(generation)
    }

    /// Makes the previous generation's content current again by writing it as a NEW
    /// generation, so generations only ever grow and "current = newest valid" keeps holding.
    /// The slot it is written to is the one the previous content came from, so a second
    /// rollback swaps back (undo of the rollback).
    pub fn rollback(&mut self) -> Result<Rollback, StoreError> {
        let slots = self.inspect()?;
        let current = newest(slots.clone()).ok_or_else(|| StoreError::NoPrevious {
            dir: self.dir.clone(),
        })?;
        let previous = slots
            .iter()
            .zip(Slot::BOTH)
            .filter(|(_, slot)| *slot != current.slot)
            .find_map(|(state, _)| match state {
                SlotState::Valid {
                    generation,
                    payload,
                } if *generation < current.generation => Some((*generation, payload.clone())),
                _ => None,
            })
            .ok_or_else(|| StoreError::NoPrevious {
                dir: self.dir.clone(),
            })?;
        let generation = current.generation + 1;
        self.write_generation(Some(&current), generation, &previous.1)?;
        Ok(Rollback {
            generation,
            restored: previous.0,
        })
    }

    /// Temp file, fsync, rename over the slot not holding `current`, fsync the directory.
    fn write_generation(
        &mut self,
        current: Option<&Snapshot>,
        generation: u64,
        payload: &[u8],
    ) -> Result<(), StoreError> {
        if payload.len() > MAX_PAYLOAD_LEN {
            return Err(StoreError::TooLarge {
                len: payload.len(),
                max: MAX_PAYLOAD_LEN,
            });
        }
        let target = current.map_or(Slot::A, |c| c.slot.other());
        let temp = self.path(target.temp_name());
        let dest = self.path(target.file_name());
        let bytes = slot::encode(generation, payload);
        self.storage
            .write_file(&temp, &bytes)
            .map_err(StoreError::io("write", &temp))?;
        self.storage
            .fsync(&temp)
            .map_err(StoreError::io("fsync", &temp))?;
        self.storage
            .rename(&temp, &dest)
            .map_err(StoreError::io("rename into place", &dest))?;
        let dir = self.dir.clone();
        self.storage
            .fsync_dir(&dir)
            .map_err(StoreError::io("fsync directory", &dir))
    }
}

/// The valid slot with the highest generation; on a tie (never written by us) A wins, so the
/// choice is at least deterministic.
fn newest(slots: [SlotState; 2]) -> Option<Snapshot> {
    let mut best: Option<Snapshot> = None;
    for (state, slot) in slots.into_iter().zip(Slot::BOTH) {
        if let SlotState::Valid {
            generation,
            payload,
        } = state
        {
            if best.as_ref().is_none_or(|b| generation > b.generation) {
                best = Some(Snapshot {
                    generation,
                    payload,
                    slot,
                });
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ConfigRecord, FsStorage};

    #[test]
    fn real_files_commit_load_rollback() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::new(FsStorage, dir.path());
        assert_eq!(store.load().unwrap(), None);
        assert!(matches!(
            store.rollback(),
            Err(StoreError::NoPrevious { .. })
        ));
        let v1 = ConfigRecord {
            toml: "[smtp]\nhostname = \"a\"\n".into(),
            stamp_key: vec![7; 32],
        };
        let v2 = ConfigRecord {
            toml: "[smtp]\nhostname = \"b\"\n".into(),
            ..v1.clone()
        };
        assert_eq!(store.commit(&v1.encode()).unwrap(), 1);
        assert!(matches!(
            store.rollback(),
            Err(StoreError::NoPrevious { .. })
        ));
        assert_eq!(store.commit(&v2.encode()).unwrap(), 2);
        let current = store.load().unwrap().unwrap();
        assert_eq!((current.generation, current.slot), (2, Slot::B));
        assert_eq!(ConfigRecord::decode(&current.payload).unwrap(), v2);

        // Rollback writes v1 as generation 3; rolling back again undoes it (v2 as 4).
        let r = store.rollback().unwrap();
        assert_eq!((r.generation, r.restored), (3, 1));
        let current = store.load().unwrap().unwrap();
        assert_eq!(ConfigRecord::decode(&current.payload).unwrap(), v1);
        assert_eq!(store.rollback().unwrap().restored, 2);
        let current = store.load().unwrap().unwrap();
        assert_eq!(ConfigRecord::decode(&current.payload).unwrap(), v2);
        assert_eq!(current.generation, 4);

        let too_big = vec![0; MAX_PAYLOAD_LEN + 1];
        assert!(matches!(
            store.commit(&too_big),
            Err(StoreError::TooLarge { .. })
        ));
        assert_eq!(store.load().unwrap().unwrap().generation, 4);
    }

    #[test]
    fn io_errors_name_the_path() {
        let mut store = Store::new(FsStorage, "/nonexistent/cordon-data");
        let err = store.commit(b"x").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("/nonexistent/cordon-data/config.a.tmp"),
            "{text}"
        );
    }
}
