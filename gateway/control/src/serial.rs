//! The serial transport: the board's console UART (a virtio console or a PTY under QEMU and
//! in tests) carries the same framed protocol. The device is put in raw mode (no echo, no
//! line editing, no CR/LF translation, 8 bits clean) so every byte reaches the decoder
//! unchanged, and driven through tokio's reactor with non-blocking reads and writes.
//!
//! A serial line has no "connection": the server keeps the device open, treats each `Hello`
//! as a new session, and reopens the device if it reports EOF or an error (a PTY whose other
//! side closed, an unplugged adapter).

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::backend::Backend;
use crate::conn::{serve_connection, Peer, Shutdown};
use crate::limits::SERIAL_REOPEN_DELAY;
use crate::Error;

/// A tty device in raw, non-blocking mode, readable and writable from tokio.
#[derive(Debug)]
pub struct SerialPort {
    fd: AsyncFd<File>,
}

impl SerialPort {
    /// Opens `path` (without making it our controlling terminal, so a hang-up on the line
    /// cannot signal the gateway) and puts it in raw mode.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags((OFlag::O_NOCTTY | OFlag::O_NONBLOCK).bits())
            .open(path)
            .map_err(Error::io("open serial device", path))?;
        Self::from_file(file, path)
    }

    /// Wraps an already-open tty (e.g. one side of a PTY pair), in raw, non-blocking mode.
    pub fn from_fd(fd: OwnedFd) -> Result<Self, Error> {
        let path = Path::new("<serial fd>");
        let flags = fcntl(&fd, FcntlArg::F_GETFL).map_err(|e| Error::Termios {
            path: path.into(),
            source: e,
        })?;
        let flags = OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK;
        fcntl(&fd, FcntlArg::F_SETFL(flags)).map_err(|e| Error::Termios {
            path: path.into(),
            source: e,
        })?;
        Self::from_file(File::from(fd), path)
    }

    fn from_file(file: File, path: &Path) -> Result<Self, Error> {
        set_raw(&file).map_err(|source| Error::Termios {
            path: path.into(),
            source,
        })?;
        // `AsyncFd::new` is deprecated because a borrowed fd could be closed while registered;
        // here the `File` owns the fd and the `AsyncFd` owns the `File`, so the fd lives
        // exactly as long as the registration. Its replacement, `register`, is `unsafe`,
        // which this crate forbids.
        #[allow(deprecated, reason = "the registered File owns its fd; see above")]
        let fd = AsyncFd::new(file).map_err(Error::io("register with the reactor", path))?;
        Ok(Self { fd })
    }
}

/// Raw mode: `cfmakeraw` (no echo, no canonical mode, no signals, no CR/NL mapping, 8N1),
/// which also sets VMIN=1/VTIME=0 so a read returns as soon as one byte is there.
pub fn set_raw(fd: impl AsFd) -> nix::Result<()> {
    let mut termios = tcgetattr(fd.as_fd())?;
    cfmakeraw(&mut termios);
    tcsetattr(fd.as_fd(), SetArg::TCSANOW, &termios)
}

impl AsyncRead for SerialPort {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            let mut guard = ready!(self.fd.poll_read_ready(cx))?;
            let unfilled = buf.initialize_unfilled();
            match guard.try_io(|inner| {
                let mut file: &File = inner.get_ref();
                file.read(unfilled)
            }) {
                Ok(Ok(n)) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_would_block) => continue,
            }
        }
    }
}

impl AsyncWrite for SerialPort {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            let mut guard = ready!(self.fd.poll_write_ready(cx))?;
            match guard.try_io(|inner| {
                let mut file: &File = inner.get_ref();
                file.write(data)
            }) {
                Ok(result) => return Poll::Ready(result),
                Err(_would_block) => continue,
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Bytes written to a tty are in the kernel's queue; waiting for the UART to drain
        // (tcdrain) would block the reactor thread and is not needed for correctness.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Serves the config port on the serial `device` until `shutdown` fires, reopening the
/// device after EOF or errors. Fails only if the device cannot be opened the first time
/// (a wrong path in the board profile should be loud, not retried forever in silence).
pub async fn serve_serial<B: Backend>(
    device: &Path,
    backend: Arc<B>,
    mut shutdown: Shutdown,
) -> Result<(), Error> {
    let mut port = Some(SerialPort::open(device)?);
    loop {
        let current = match port.take() {
            Some(p) => p,
            None => match SerialPort::open(device) {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(error = %e, "config port: serial device unavailable");
                    tokio::select! {
                        _ = tokio::time::sleep(SERIAL_REOPEN_DELAY) => continue,
                        _ = shutdown.changed() => return Ok(()),
                    }
                }
            },
        };
        let peer = Peer::Serial {
            device: device.into(),
        };
        let result = serve_connection(current, Arc::clone(&backend), peer, shutdown.clone()).await;
        if *shutdown.borrow() || shutdown.has_changed().is_err() {
            return Ok(());
        }
        if let Err(e) = result {
            tracing::debug!(error = %e, device = %device.display(), "serial config port: reopening");
        }
        tokio::select! {
            _ = tokio::time::sleep(SERIAL_REOPEN_DELAY) => {}
            _ = shutdown.changed() => return Ok(()),
        }
    }
}
