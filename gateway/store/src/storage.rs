//! The file operations the store needs, as a trait so a test double can cut the power.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;

/// File I/O used by [`crate::Store`]. Each call either completes or fails; what survives a
/// power cut is decided by which calls were made durable with `fsync` / `fsync_dir`.
pub trait Storage {
    /// The file's bytes, `None` if it does not exist. Reads at most `limit + 1` bytes, so a
    /// huge foreign file is detected (as too long) without being read whole.
    fn read(&self, path: &Path, limit: usize) -> io::Result<Option<Vec<u8>>>;
    /// Creates or truncates `path` and writes `data`. Not durable until `fsync`.
    fn write_file(&mut self, path: &Path, data: &[u8]) -> io::Result<()>;
    /// Makes the file's content durable.
    fn fsync(&mut self, path: &Path) -> io::Result<()>;
    /// Atomically replaces `to` with `from`. Not durable until `fsync_dir`.
    fn rename(&mut self, from: &Path, to: &Path) -> io::Result<()>;
    /// Makes the directory's entries (creations, renames) durable.
    fn fsync_dir(&mut self, dir: &Path) -> io::Result<()>;
}

/// [`Storage`] over `std::fs`, for the real data partition.
#[derive(Debug, Default, Clone, Copy)]
pub struct FsStorage;

impl Storage for FsStorage {
    fn read(&self, path: &Path, limit: usize) -> io::Result<Option<Vec<u8>>> {
        let file = match File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut bytes = Vec::new();
        file.take(limit as u64 + 1).read_to_end(&mut bytes)?;
        Ok(Some(bytes))
    }

    fn write_file(&mut self, path: &Path, data: &[u8]) -> io::Result<()> {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)?;
        file.write_all(data)
    }

    fn fsync(&mut self, path: &Path) -> io::Result<()> {
        // fsync flushes the inode whichever descriptor it is called on.
        OpenOptions::new().write(true).open(path)?.sync_all()
    }

    fn rename(&mut self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn fsync_dir(&mut self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }
}
