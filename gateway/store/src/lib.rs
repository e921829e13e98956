//! cordon-store: keeps the appliance's config (the TOML text and the per-appliance stamp key)
//! on the writable data partition so that a power cut at any instant leaves either the old or
//! the new config, never a broken one. Two slot files, A and B, each hold one generation with
//! a magic, a format version, the generation number, the length and a CRC-32; a write goes to
//! the slot not holding the current config (via a temporary file, fsync, rename, directory
//! fsync), and on start the newest valid slot wins. All file I/O goes through the [`Storage`]
//! trait, so tests can cut the power after every byte and drop any fsync.
//!
//! # Layout
//! - [`slot`]: the on-disk slot format (encode, validate).
//! - [`storage`]: the [`Storage`] trait and [`FsStorage`], its `std::fs` implementation.
//! - [`store`]: [`Store`], the A/B logic: load, commit, rollback.
//! - [`durable`]: single files written power-safe (temporary file, fsync, rename or link,
//!   directory fsync), for the TLS files, the reboot request and a file config's stamp key.
//! - [`record`]: [`ConfigRecord`], the payload layout (TOML plus stamp key).
//! - [`boot`]: the boot loader's A/B state (which root slot boots, attempts left), shared
//!   with the U-Boot script of the image.
//! - [`sim`]: [`SimDisk`], a storage double that simulates power cuts (also used by the
//!   gateway's tests).
//!
//! The format and the crash-safety argument are in `docs/config-port.md`.

#![forbid(unsafe_code)]

use std::io;
use std::path::PathBuf;

pub mod boot;
pub mod durable;
pub mod record;
pub mod sim;
pub mod slot;
pub mod slot_info;
pub mod storage;
pub mod store;

pub use record::ConfigRecord;
pub use sim::{SimDisk, Survival};
pub use slot::{Slot, SlotState, MAX_PAYLOAD_LEN};
pub use storage::{FsStorage, Storage};
pub use store::{Rollback, Snapshot, Store};

/// Everything that can go wrong persisting or loading the config.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file operation failed; nothing after it was done.
    #[error("cannot {op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The payload does not fit a slot.
    #[error("config of {len} bytes exceeds the {max}-byte slot limit")]
    TooLarge { len: usize, max: usize },
    /// `rollback` found no valid generation older than the current one.
    #[error("no previous config in {} to roll back to", dir.display())]
    NoPrevious { dir: PathBuf },
    /// A slot was valid but its payload is not a [`ConfigRecord`] (written by another tool?).
    #[error("config record is malformed: {reason}")]
    Record { reason: &'static str },
}

impl StoreError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { op, path, source }
    }
}
