//! Process set-up a supervisor needs: a child that inherits exactly one extra descriptor (its
//! heartbeat pipe), dies with the supervisor and starts on its own core; and the same
//! parent-death signal for a process that sets it on itself.

use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::Mutex;

use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use nix::sched::sched_setaffinity;
use nix::sys::prctl;
use nix::sys::signal::Signal;
use nix::unistd::{getpid, getppid, Pid};

use crate::affinity::cpu_set;
use crate::Error;

/// Asks the kernel to send `signal` to the calling process when its parent exits, so a worker
/// never outlives its supervisor (and keeps its listening sockets). Fails with
/// [`Error::DeathSignal`] if the parent is already gone by the time the signal is armed.
pub fn set_parent_death_signal(signal: Signal, expected_parent: u32) -> Result<(), Error> {
    prctl::set_pdeathsig(signal).map_err(Error::DeathSignal)?;
    if getppid().as_raw() as u32 != expected_parent {
        return Err(Error::DeathSignal(nix::Error::ESRCH));
    }
    Ok(())
}

/// Restores SIGPIPE's default action (end the process), which Rust's runtime sets to ignore:
/// a command-line tool whose output goes to `head` or a closed pager should stop quietly as
/// `ls` does, not panic on the failed write.
pub fn default_sigpipe() {
    // SAFETY: SIG_DFL installs no handler, so no Rust code runs in signal context; this is
    // called at the start of `main`, before any thread exists that could race on the
    // disposition.
    let _ = unsafe {
        nix::sys::signal::signal(
            nix::sys::signal::Signal::SIGPIPE,
            nix::sys::signal::SigHandler::SigDfl,
        )
    };
}

/// Descriptors already claimed by [`take_inherited_fd`]: claiming one twice would give two
/// owners that each close it.
static TAKEN: Mutex<Vec<RawFd>> = Mutex::new(Vec::new());

/// Takes ownership of a descriptor inherited across `exec` whose number came from the parent
/// (an environment variable), and marks it close-on-exec so it goes no further. Refuses stdio,
/// closed descriptors and a second claim of the same number.
pub fn take_inherited_fd(fd: RawFd) -> Result<OwnedFd, Error> {
    let bad = |reason| Error::InheritedFd { fd, reason };
    if fd <= 2 {
        return Err(bad("is a standard stream"));
    }
    let mut taken = TAKEN.lock().map_err(|_| bad("claim table poisoned"))?;
    if taken.contains(&fd) {
        return Err(bad("already taken"));
    }
    // SAFETY: borrowed only for the two fcntl calls below, which fail harmlessly (EBADF) if the
    // number is not open; nothing is closed through this borrow.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    fcntl(borrowed, FcntlArg::F_GETFD).map_err(|_| bad("is not open"))?;
    fcntl(borrowed, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).map_err(|_| bad("is not open"))?;
    taken.push(fd);
    // SAFETY: the descriptor is open (checked above), it is not stdio, and the claim table
    // guarantees this process creates at most one owner for it through this function. The parent
    // passed it for exactly this purpose, so no other code in this process owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// What a child gets between `fork` and `exec`.
#[derive(Debug, Default, Clone)]
pub struct ChildSetup {
    /// Descriptors (opened `O_CLOEXEC` in the parent) the child keeps across `exec`, at the same
    /// numbers: the heartbeat pipe. Everything else stays close-on-exec.
    pub inherit_fds: Vec<RawFd>,
    /// Sent to the child when the supervisor dies, so no worker is orphaned.
    pub parent_death_signal: Option<Signal>,
    /// Cores the child starts on; pinned before `exec`, so not one instruction runs elsewhere.
    pub cores: Option<Vec<usize>>,
}

impl ChildSetup {
    /// Installs the set-up on `cmd` (a `pre_exec` hook). Core numbers are checked here, in the
    /// parent, so the child only makes system calls.
    pub fn apply(self, cmd: &mut Command) -> Result<(), Error> {
        let set = self.cores.as_deref().map(cpu_set).transpose()?;
        let parent = getpid();
        let fds = self.inherit_fds;
        let death = self.parent_death_signal;
        let hook = move || -> std::io::Result<()> {
            for &fd in &fds {
                // SAFETY: `fd` is a descriptor the parent created and keeps open across the spawn
                // (the caller drops its copy only after `spawn` returns); the fork copied it, so
                // it is open in this child for the duration of the borrow.
                let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
                fcntl(borrowed, FcntlArg::F_SETFD(FdFlag::empty()))?;
            }
            if let Some(signal) = death {
                prctl::set_pdeathsig(signal)?;
                // The parent may have died between fork and prctl: then no signal will come.
                if getppid() != parent {
                    return Err(std::io::Error::from_raw_os_error(nix::libc::ESRCH));
                }
            }
            if let Some(set) = &set {
                sched_setaffinity(Pid::from_raw(0), set)?;
            }
            Ok(())
        };
        // SAFETY: the hook runs in the forked child before `exec`; it only makes
        // async-signal-safe system calls (fcntl, prctl, getppid, sched_setaffinity) on data
        // prepared before the fork, and allocates nothing and takes no locks.
        unsafe {
            cmd.pre_exec(hook);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::os::fd::AsRawFd;

    use nix::fcntl::OFlag;
    use nix::unistd::pipe2;

    use super::*;

    #[test]
    fn child_inherits_only_the_named_fd_and_its_core() {
        let (r, w) = pipe2(OFlag::O_CLOEXEC).unwrap();
        let fd = w.as_raw_fd();
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c").arg(format!(
            "grep Cpus_allowed_list /proc/self/status >&{fd}; echo done >&{fd}"
        ));
        ChildSetup {
            inherit_fds: vec![fd],
            parent_death_signal: Some(Signal::SIGKILL),
            cores: Some(vec![0]),
        }
        .apply(&mut cmd)
        .unwrap();
        let status = cmd.status().unwrap();
        drop(w);
        assert!(status.success());
        let mut out = String::new();
        std::fs::File::from(r).read_to_string(&mut out).unwrap();
        assert!(out.contains("Cpus_allowed_list:\t0\n"), "{out}");
        assert!(out.ends_with("done\n"), "{out}");
    }
}
