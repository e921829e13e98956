//! [`SimDisk`]: an in-memory [`Storage`] that models what a power cut keeps.
//!
//! Files are inodes with a *current* and a *durable* content; the directory has current and
//! durable entries. `fsync` makes an inode's content durable, `fsync_dir` the entries. A
//! power cut can be armed after N written bytes or before the K-th operation (every later call
//! fails), and any one fsync can be dropped (it returns Ok but persists nothing, like a disk
//! that lies). [`SimDisk::reboot`] then yields the disk as found at the next start: each
//! inode's and the directory's un-synced state is either kept or lost, as the caller picks.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use crate::storage::Storage;

#[derive(Debug, Clone, Default)]
struct Inode {
    current: Vec<u8>,
    durable: Vec<u8>,
}

/// What the next boot finds of un-synced state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Survival {
    /// Un-synced file contents reached the disk (all of them) or none did.
    pub unsynced_data: bool,
    /// Un-synced directory changes (creations, renames) reached the disk or none did.
    pub unsynced_entries: bool,
}

impl Survival {
    /// All four combinations: the extremes bound whatever a real disk keeps per object.
    pub const ALL: [Survival; 4] = [
        Survival {
            unsynced_data: false,
            unsynced_entries: false,
        },
        Survival {
            unsynced_data: false,
            unsynced_entries: true,
        },
        Survival {
            unsynced_data: true,
            unsynced_entries: false,
        },
        Survival {
            unsynced_data: true,
            unsynced_entries: true,
        },
    ];
}

/// In-memory disk with power-cut injection, for tests.
#[derive(Debug, Clone, Default)]
pub struct SimDisk {
    inodes: Vec<Inode>,
    entries: BTreeMap<PathBuf, usize>,
    durable_entries: BTreeMap<PathBuf, usize>,
    /// Bytes that may still be written before the power goes.
    byte_budget: Option<usize>,
    /// Operations that may still start before the power goes.
    op_budget: Option<usize>,
    /// Index (0-based, over fsync and fsync_dir calls) of the fsync to drop.
    drop_fsync: Option<usize>,
    powered_off: bool,
    /// Counters, to enumerate crash points from a clean run.
    pub bytes_written: usize,
    pub ops: usize,
    pub fsyncs: usize,
}

fn power_cut() -> io::Error {
    io::Error::other("simulated power cut")
}

impl SimDisk {
    pub fn new() -> Self {
        Self::default()
    }

    /// The power goes after `n` more bytes have been written (mid-write if it falls there).
    pub fn cut_after_bytes(mut self, n: usize) -> Self {
        self.byte_budget = Some(n);
        self
    }

    /// The power goes before the `k`-th further operation starts.
    pub fn cut_before_op(mut self, k: usize) -> Self {
        self.op_budget = Some(k);
        self
    }

    /// The `i`-th further fsync (counting file and directory fsyncs) silently persists nothing.
    pub fn drop_fsync(mut self, i: usize) -> Self {
        self.drop_fsync = Some(i + self.fsyncs);
        self
    }

    pub fn powered_off(&self) -> bool {
        self.powered_off
    }

    /// The disk as the next boot finds it; counters and injected faults are reset.
    pub fn reboot(&self, survival: Survival) -> SimDisk {
        let entries = if survival.unsynced_entries {
            self.entries.clone()
        } else {
            self.durable_entries.clone()
        };
        let inodes = self
            .inodes
            .iter()
            .map(|inode| {
                let kept = if survival.unsynced_data {
                    inode.current.clone()
                } else {
                    inode.durable.clone()
                };
                Inode {
                    current: kept.clone(),
                    durable: kept,
                }
            })
            .collect();
        SimDisk {
            inodes,
            durable_entries: entries.clone(),
            entries,
            ..SimDisk::default()
        }
    }

    /// Content of a file as currently visible (for tests).
    pub fn file(&self, path: &Path) -> Option<&[u8]> {
        self.entries
            .get(path)
            .map(|&ino| self.inodes[ino].current.as_slice())
    }

    fn start_op(&mut self) -> io::Result<()> {
        if self.powered_off {
            return Err(power_cut());
        }
        if let Some(budget) = self.op_budget.as_mut() {
            if *budget == 0 {
                self.powered_off = true;
                return Err(power_cut());
            }
            *budget -= 1;
        }
        self.ops += 1;
        Ok(())
    }

    fn fsync_dropped(&mut self) -> bool {
        let index = self.fsyncs;
        self.fsyncs += 1;
        self.drop_fsync == Some(index)
    }
}

impl Storage for SimDisk {
    fn read(&self, path: &Path, limit: usize) -> io::Result<Option<Vec<u8>>> {
        if self.powered_off {
            return Err(power_cut());
        }
        Ok(self
            .file(path)
            .map(|b| b[..b.len().min(limit + 1)].to_vec()))
    }

    fn write_file(&mut self, path: &Path, data: &[u8]) -> io::Result<()> {
        self.start_op()?;
        let ino = match self.entries.get(path) {
            Some(&ino) => ino,
            None => {
                self.inodes.push(Inode::default());
                let ino = self.inodes.len() - 1;
                self.entries.insert(path.to_path_buf(), ino);
                ino
            }
        };
        self.inodes[ino].current.clear();
        let allowed = self.byte_budget.map_or(data.len(), |b| b.min(data.len()));
        self.inodes[ino].current.extend_from_slice(&data[..allowed]);
        self.bytes_written += allowed;
        if let Some(budget) = self.byte_budget.as_mut() {
            *budget -= allowed;
            if allowed < data.len() {
                self.powered_off = true;
                return Err(power_cut());
            }
        }
        Ok(())
    }

    fn fsync(&mut self, path: &Path) -> io::Result<()> {
        self.start_op()?;
        let ino = *self
            .entries
            .get(path)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        if !self.fsync_dropped() {
            self.inodes[ino].durable = self.inodes[ino].current.clone();
        }
        Ok(())
    }

    fn rename(&mut self, from: &Path, to: &Path) -> io::Result<()> {
        self.start_op()?;
        let ino = self
            .entries
            .remove(from)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        self.entries.insert(to.to_path_buf(), ino);
        Ok(())
    }

    fn fsync_dir(&mut self, _dir: &Path) -> io::Result<()> {
        self.start_op()?;
        if !self.fsync_dropped() {
            self.durable_entries = self.entries.clone();
        }
        Ok(())
    }
}
