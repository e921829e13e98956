//! Counters shared between processes: a `memfd` the supervisor creates once and every worker
//! maps, seen as a slice of `AtomicU64`. The supervisor holds it for the life of the service, so
//! a worker that crashes and is restarted finds its counters where it left them, and the worker
//! serving the metrics endpoint reads every worker's cells without asking anyone.
//!
//! The descriptor is created without `MFD_CLOEXEC`: a child started with `exec` inherits it and
//! finds its number in an environment variable (the caller's choice of name).

use std::num::NonZeroUsize;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;
use std::sync::atomic::AtomicU64;

use nix::sys::memfd::{memfd_create, MFdFlags};
use nix::sys::mman::{mmap, munmap, MapFlags, ProtFlags};

use crate::Error;

const CELL: usize = std::mem::size_of::<AtomicU64>();

/// A shared, zero-initialised array of `AtomicU64`, mapped `MAP_SHARED`.
#[derive(Debug)]
pub struct SharedCells {
    ptr: NonNull<AtomicU64>,
    len: usize,
    fd: OwnedFd,
}

// SAFETY: the mapping is only ever reached as `&[AtomicU64]`, which is Sync and Send; the
// pointer is owned by this value and unmapped once, in Drop.
unsafe impl Send for SharedCells {}
// SAFETY: as above; every access goes through atomics.
unsafe impl Sync for SharedCells {}

impl SharedCells {
    /// A new region of `cells` counters, all zero, inheritable by children.
    pub fn create(name: &str, cells: usize) -> Result<SharedCells, Error> {
        let err = |reason: &'static str, source: nix::Error| Error::Shared { reason, source };
        let fd = memfd_create(name, MFdFlags::empty()).map_err(|e| err("memfd_create", e))?;
        let bytes = cells.max(1) * CELL;
        nix::unistd::ftruncate(&fd, bytes as i64).map_err(|e| err("ftruncate", e))?;
        Self::map(fd, cells)
    }

    /// The region a parent created, from the descriptor number it passed down; its size must be
    /// exactly `cells` counters, so parent and child agree on the layout.
    pub fn inherited(fd: RawFd, cells: usize) -> Result<SharedCells, Error> {
        let stat = nix::sys::stat::fstat(
            // SAFETY: only used for this one fstat call, while the caller's descriptor is open.
            unsafe { BorrowedFd::borrow_raw(fd) },
        )
        .map_err(|_| Error::InheritedFd {
            fd,
            reason: "is not open (counters region)",
        })?;
        if stat.st_size as usize != cells.max(1) * CELL {
            return Err(Error::InheritedFd {
                fd,
                reason: "has another size than this build's counter layout",
            });
        }
        // SAFETY: the descriptor was inherited for this purpose (checked open and sized above)
        // and nothing else in this process owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Self::map(fd, cells)
    }

    fn map(fd: OwnedFd, cells: usize) -> Result<SharedCells, Error> {
        let bytes = NonZeroUsize::new(cells.max(1) * CELL).unwrap_or(NonZeroUsize::MIN);
        // SAFETY: a fresh shared mapping of a memfd of exactly `bytes` bytes, at an address the
        // kernel chooses; nothing aliases it as a non-atomic type.
        let ptr = unsafe {
            mmap(
                None,
                bytes,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
                fd.as_fd(),
                0,
            )
        }
        .map_err(|source| Error::Shared {
            reason: "mmap",
            source,
        })?;
        Ok(SharedCells {
            ptr: ptr.cast(),
            len: cells,
            fd,
        })
    }

    /// The descriptor a child inherits.
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    pub fn cells(&self) -> &[AtomicU64] {
        // SAFETY: the mapping is page-aligned (so aligned for u64), `len` cells long, zero-filled
        // by the kernel (a valid AtomicU64), and lives until Drop, which needs `&mut self`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl AsRef<[AtomicU64]> for SharedCells {
    fn as_ref(&self) -> &[AtomicU64] {
        self.cells()
    }
}

impl Drop for SharedCells {
    fn drop(&mut self) {
        let bytes = self.len.max(1) * CELL;
        // SAFETY: the mapping made in `map`, of this length, unmapped once; no borrow of
        // `cells()` outlives `self`.
        let _ = unsafe { munmap(self.ptr.cast(), bytes) };
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;

    #[test]
    fn two_mappings_of_one_region_see_each_others_writes() {
        let a = SharedCells::create("cordon-test", 16).unwrap();
        assert!(a.cells().iter().all(|c| c.load(Ordering::Relaxed) == 0));
        // What a child does with the inherited number: a second mapping of the same file.
        let dup = nix::unistd::dup(a.fd.as_fd()).unwrap();
        let b = SharedCells::inherited(dup.as_raw_fd(), 16).unwrap();
        std::mem::forget(dup); // now owned by `b`
        a.cells()[3].fetch_add(5, Ordering::Relaxed);
        b.cells()[15].store(7, Ordering::Relaxed);
        assert_eq!(b.cells()[3].load(Ordering::Relaxed), 5);
        assert_eq!(a.cells()[15].load(Ordering::Relaxed), 7);
    }

    #[test]
    fn a_region_of_another_layout_is_refused() {
        let a = SharedCells::create("cordon-test", 16).unwrap();
        let dup = nix::unistd::dup(a.fd.as_fd()).unwrap();
        let e = SharedCells::inherited(dup.as_raw_fd(), 17).unwrap_err();
        assert!(
            matches!(e, Error::InheritedFd { reason, .. } if reason.contains("size")),
            "{e}"
        );
    }
}
