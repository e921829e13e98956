//! Locking memory. The appliance runs from flash with no swap worth the name; `mlockall` keeps
//! every page cordon has (and every page it maps later) resident, so a burst never pages the data
//! path out. The kernel refuses when `RLIMIT_MEMLOCK` is below the process size (unless the
//! process holds `CAP_IPC_LOCK`), so the error says which limit to raise.

use nix::sys::mman::{mlockall, MlockAllFlags};
use nix::sys::resource::{getrlimit, Resource};

use crate::Error;

/// The soft and hard `RLIMIT_MEMLOCK`, in bytes (`u64::MAX`: unlimited).
pub fn memlock_limit() -> Result<(u64, u64), Error> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_MEMLOCK).map_err(Error::Rlimit)?;
    Ok((soft, hard))
}

/// Checks before start-up that a budget of `needed` bytes fits in `RLIMIT_MEMLOCK`, so the
/// refusal names the budget rather than surfacing later as an `mlockall` failure.
/// A process with `CAP_IPC_LOCK` (root) is not bound by the limit; call this only when that does
/// not apply or treat the answer as advice.
pub fn check_memlock(needed: u64) -> Result<(), Error> {
    let (soft, _) = memlock_limit()?;
    if needed > soft {
        return Err(Error::MemlockTooLow { needed, soft });
    }
    Ok(())
}

/// Locks all current and future pages (`MCL_CURRENT | MCL_FUTURE`).
pub fn lock_all() -> Result<(), Error> {
    mlockall(MlockAllFlags::MCL_CURRENT | MlockAllFlags::MCL_FUTURE).map_err(|source| {
        let (soft, hard) = memlock_limit().unwrap_or((0, 0));
        Error::MemoryLock { soft, hard, source }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_check_names_the_limit() {
        let (soft, _) = memlock_limit().unwrap();
        if soft == u64::MAX {
            return; // unlimited: nothing can exceed it
        }
        let e = check_memlock(soft + 1).unwrap_err();
        assert!(e.to_string().contains("LimitMEMLOCK"), "{e}");
        check_memlock(soft).unwrap();
    }

    #[test]
    fn lock_error_mentions_rlimit() {
        let e = Error::MemoryLock {
            soft: 65536,
            hard: 65536,
            source: nix::Error::ENOMEM,
        };
        let text = e.to_string();
        assert!(text.contains("RLIMIT_MEMLOCK is 65536"), "{text}");
    }
}
