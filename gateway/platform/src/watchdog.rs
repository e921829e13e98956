//! The Linux hardware watchdog (`/dev/watchdog`, the watchdog API in
//! `Documentation/watchdog/watchdog-api.rst`). Once opened, the board reboots unless it is
//! petted within its timeout; writing `V` just before close ("magic close") disarms it, which is
//! what a clean shutdown does and a crash does not.
//!
//! A FIFO or regular file can stand in for the device in tests: pets and the magic close are
//! then plain writes, and ioctls are not attempted.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::Error;

// The ioctls from <linux/watchdog.h>: `WATCHDOG_IOCTL_BASE` is 'W'.
nix::ioctl_read!(wdioc_keepalive, b'W', 5, std::ffi::c_int);
nix::ioctl_readwrite!(wdioc_settimeout, b'W', 6, std::ffi::c_int);

/// The byte a pet writes when the ioctl is not available: anything but `V`, which would arm the
/// magic close.
const PET_BYTE: &[u8] = b"1";
/// The magic-close character.
const MAGIC_CLOSE: &[u8] = b"V";

/// An open watchdog: the board reboots unless [`Watchdog::keepalive`] is called in time.
#[derive(Debug)]
pub struct Watchdog {
    file: File,
    path: PathBuf,
    /// A character device takes ioctls; a FIFO or file test double takes only writes.
    is_device: bool,
}

impl Watchdog {
    /// Opens the device and arms it. A FIFO is opened non-blocking, so a missing reader is an
    /// error (`ENXIO`) instead of a hang.
    pub fn open(path: &Path) -> Result<Watchdog, Error> {
        let err = |op, source| Error::Watchdog {
            path: path.to_owned(),
            op,
            source,
        };
        let meta = std::fs::metadata(path).map_err(|e| err("stat", e))?;
        let kind = meta.file_type();
        let mut opts = OpenOptions::new();
        opts.write(true);
        if kind.is_fifo() {
            opts.custom_flags(nix::libc::O_NONBLOCK);
        } else if kind.is_file() {
            opts.append(true);
        }
        let file = opts.open(path).map_err(|e| err("open", e))?;
        Ok(Watchdog {
            file,
            path: path.to_owned(),
            is_device: kind.is_char_device(),
        })
    }

    /// The path it was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sets the timeout in seconds; returns what the driver chose (drivers round to what the
    /// hardware can do). A test double keeps whatever it is given.
    pub fn set_timeout(&mut self, seconds: u32) -> Result<u32, Error> {
        if !self.is_device {
            return Ok(seconds);
        }
        let mut value = std::ffi::c_int::try_from(seconds).unwrap_or(std::ffi::c_int::MAX);
        // SAFETY: the descriptor is open for the lifetime of `self.file`, and `value` is a live,
        // writable `c_int` as WDIOC_SETTIMEOUT expects (it reads and writes one int).
        unsafe { wdioc_settimeout(self.file.as_raw_fd(), &mut value) }.map_err(|e| {
            Error::Watchdog {
                path: self.path.clone(),
                op: "WDIOC_SETTIMEOUT",
                source: e.into(),
            }
        })?;
        Ok(u32::try_from(value).unwrap_or(seconds))
    }

    /// One pet: `WDIOC_KEEPALIVE`, or a write when the ioctl is not available.
    pub fn keepalive(&mut self) -> Result<(), Error> {
        if self.is_device {
            let mut unused: std::ffi::c_int = 0;
            // SAFETY: the descriptor is open for the lifetime of `self.file`; WDIOC_KEEPALIVE
            // ignores its argument, which is nevertheless a valid `c_int` to write to.
            if unsafe { wdioc_keepalive(self.file.as_raw_fd(), &mut unused) }.is_ok() {
                return Ok(());
            }
        }
        self.write(PET_BYTE, "pet")
    }

    /// Disarms and closes: writes `V` so the driver stops the timer on close (unless the kernel
    /// was built with `nowayout`, in which case the board reboots regardless: a deliberate
    /// choice of that kernel).
    pub fn magic_close(mut self) -> Result<(), Error> {
        self.write(MAGIC_CLOSE, "magic close")
    }

    fn write(&mut self, bytes: &[u8], op: &'static str) -> Result<(), Error> {
        self.file
            .write_all(bytes)
            .and_then(|()| self.file.flush())
            .map_err(|source| Error::Watchdog {
                path: self.path.clone(),
                op,
                source,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_regular_file_records_pets_and_the_magic_close() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("watchdog");
        std::fs::write(&path, b"").unwrap();
        let mut wd = Watchdog::open(&path).unwrap();
        assert_eq!(wd.set_timeout(15).unwrap(), 15);
        wd.keepalive().unwrap();
        wd.keepalive().unwrap();
        wd.magic_close().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"11V");
    }

    #[test]
    fn a_fifo_without_reader_is_an_error_not_a_hang() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("watchdog");
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let e = Watchdog::open(&path).unwrap_err();
        assert!(e.to_string().contains("open"), "{e}");
    }

    #[test]
    fn a_missing_device_names_the_path() {
        let e = Watchdog::open(Path::new("/nonexistent/watchdog")).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/watchdog"), "{e}");
    }
}
