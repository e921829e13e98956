//! Firmware bundles through the config port (issue 17): `UpdateBegin`, `UpdateChunk`,
//! `UpdateFinish` and `UpdateStatus`.
//!
//! The gateway never opens a slot: it runs unprivileged and without devices. It hands the
//! bundle's bytes, as they arrive, to the root helper (`cordon slot serve`, which systemd's
//! `cordon-update.socket` starts once per connection) over a Unix socket, and relays the
//! helper's answer. Nothing is staged: the gateway holds one chunk whatever the bundle's size.
//!
//! The helper's protocol is one request per connection: `status\n`, answered by one JSON line
//! (a [`SlotsReport`]); or `install\n` followed by the bundle and the end of the stream,
//! answered by `ok SLOT VERSION BYTES\n` or `error TEXT\n`. The helper answers an install as
//! soon as it knows (a bad signature after the first 16 KiB) and then reads and drops the
//! rest, so the gateway sees the reason before the client has sent the whole file.
//!
//! One upload per appliance, shared by the port's connections so that a client whose
//! connection broke resumes from another: the session keeps the helper's connection, the byte
//! count and a running SHA-256. The client sends its own running hash with every chunk; the
//! two must agree, so a file that changed between attempts, or a resume against another
//! file, ends the upload rather than splicing two bundles. A session left alone for
//! [`RESUME_WINDOW`] is dropped at the next `UpdateBegin` (the helper, which has its own
//! longer read timeout, then sees its stream end and leaves the slot marked bad).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use cordon_wire::limits::CHUNK_LEN;
use cordon_wire::{bounded, AppError, Chunk, ErrorCode, Name, Response, SlotsReport};
use ring::digest::{Context, SHA256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::sync::Mutex;
use tokio::time::timeout;

/// How long an upload whose client went away can be resumed. A client retries within
/// seconds; ten minutes covers a laptop that slept or a VPN that reconnected.
pub const RESUME_WINDOW: Duration = Duration::from_secs(600);

/// An upload that took a chunk this recently belongs to a client that is still sending:
/// another connection's `UpdateBegin` without `resume` is refused (`Busy`) rather than
/// cutting it off.
pub const MOVING: Duration = Duration::from_secs(30);

/// How long `UpdateFinish` waits for the helper: the read-back of a slot (about 100 MB) on
/// the slowest board's storage (an SD card at 20 MB/s) takes seconds, 300 s is a hang.
pub const FINISH_TIMEOUT: Duration = Duration::from_secs(300);

/// One write of a chunk to the helper, and the status exchange: the helper writes to a
/// block device, which may stall for seconds, never for a minute.
pub const HELPER_IO_TIMEOUT: Duration = Duration::from_secs(60);

/// Longest answer line read from the helper (a status report is about 500 bytes; an error
/// names a path or two).
pub const MAX_HELPER_REPLY: usize = 8 * 1024;

/// The appliance's one firmware upload, and where its helper listens.
pub struct Updates {
    helper: Option<PathBuf>,
    session: Mutex<Option<Session>>,
}

struct Session {
    total_len: u64,
    received: u64,
    /// The last chunk accepted, to recognise a resend after a lost ack.
    last: Option<(u64, usize)>,
    /// SHA-256 of the bytes received so far, and its value before the last chunk.
    hash: Context,
    running: [u8; 32],
    stream: UnixStream,
    touched: Instant,
}

impl std::fmt::Debug for Updates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Updates")
            .field("helper", &self.helper)
            .finish_non_exhaustive()
    }
}

impl Updates {
    /// Updates through the helper listening on `helper` (`[control] update_socket`); `None`:
    /// this gateway installs no updates (`Unsupported`).
    pub fn new(helper: Option<PathBuf>) -> Self {
        Self {
            helper,
            session: Mutex::new(None),
        }
    }

    fn helper(&self) -> Result<&PathBuf, AppError> {
        self.helper.as_ref().ok_or_else(|| {
            AppError::new(
                ErrorCode::Unsupported,
                "this gateway installs no firmware updates: set [control] update_socket to the socket of cordon-update.socket (the image does)",
            )
        })
    }

    async fn connect(&self, request: &[u8]) -> Result<UnixStream, AppError> {
        let path = self.helper()?;
        let mut stream = timeout(HELPER_IO_TIMEOUT, UnixStream::connect(path))
            .await
            .map_err(|_| helper_error("did not accept a connection in 60 s"))?
            .map_err(|e| helper_error(&format!("{}: {e}", path.display())))?;
        stream
            .write_all(request)
            .await
            .map_err(|e| helper_error(&e.to_string()))?;
        Ok(stream)
    }

    /// `UpdateBegin`.
    pub async fn begin(&self, total_len: u64, resume: bool) -> Result<Response, AppError> {
        self.helper()?;
        let mut session = self.session.lock().await;
        if let Some(s) = session.as_ref() {
            let idle = s.touched.elapsed();
            if resume && s.total_len == total_len && idle < RESUME_WINDOW {
                return Ok(Response::UpdateReady {
                    chunk_len: CHUNK_LEN as u32,
                    received: s.received,
                    running: s.running,
                });
            }
            if !resume && idle < MOVING {
                return Err(AppError::new(
                    ErrorCode::Busy,
                    "another connection is uploading a firmware bundle; wait for it, or resume it with the same file",
                ));
            }
        }
        // Whatever was pending is given up: the helper sees its stream end.
        *session = None;
        if total_len == 0 {
            return Err(AppError::new(
                ErrorCode::UpdateRefused,
                "the bundle is empty",
            ));
        }
        let stream = self.connect(b"install\n").await?;
        *session = Some(Session {
            total_len,
            received: 0,
            last: None,
            hash: Context::new(&SHA256),
            running: [0; 32],
            stream,
            touched: Instant::now(),
        });
        Ok(Response::UpdateReady {
            chunk_len: CHUNK_LEN as u32,
            received: 0,
            running: [0; 32],
        })
    }

    /// `UpdateChunk`.
    pub async fn chunk(
        &self,
        offset: u64,
        data: &Chunk,
        running: [u8; 32],
    ) -> Result<Response, AppError> {
        let mut guard = self.session.lock().await;
        let Some(s) = guard.as_mut() else {
            return Err(AppError::new(
                ErrorCode::UploadSequence,
                "no firmware upload is in progress (UpdateBegin first; an upload left alone for 10 minutes is dropped)",
            ));
        };
        s.touched = Instant::now();
        if s.last == Some((offset, data.len()))
            && offset + data.len() as u64 == s.received
            && running == s.running
        {
            // The ack of the last chunk was lost and the client sent it again.
            return Ok(Response::UpdateReceived {
                received: s.received,
            });
        }
        if offset != s.received {
            return Err(AppError::new(
                ErrorCode::UploadSequence,
                &format!(
                    "chunk at offset {offset}, but {} bytes are received: resume from there",
                    s.received
                ),
            ));
        }
        let end = s.received + data.len() as u64;
        if data.is_empty() || end > s.total_len {
            return Err(AppError::new(
                ErrorCode::UploadSequence,
                "chunk is empty or runs past the announced length",
            ));
        }
        let mut next = s.hash.clone();
        next.update(data);
        let digest = next.clone().finish();
        if digest.as_ref() != running {
            *guard = None;
            return Err(AppError::new(
                ErrorCode::UploadSequence,
                &format!(
                    "the running SHA-256 after byte {end} differs from the gateway's: the file changed or a chunk was damaged; the upload is given up, start it again"
                ),
            ));
        }
        if let Some(reason) = early_answer(&mut s.stream).await {
            *guard = None;
            return Err(reason);
        }
        let written = timeout(HELPER_IO_TIMEOUT, s.stream.write_all(data)).await;
        if !matches!(written, Ok(Ok(()))) {
            // The helper stopped reading: it ended, and its answer says why.
            let mut stream = guard.take().map(|s| s.stream);
            let reason = match stream.as_mut() {
                Some(stream) => read_answer(stream, HELPER_IO_TIMEOUT).await,
                None => None,
            };
            return Err(reason
                .unwrap_or_else(|| helper_error("stopped reading the bundle without saying why")));
        }
        s.hash = next;
        s.running.copy_from_slice(digest.as_ref());
        s.received = end;
        s.last = Some((offset, data.len()));
        Ok(Response::UpdateReceived { received: end })
    }

    /// `UpdateFinish`: ends the stream and waits for the helper's verdict.
    pub async fn finish(&self) -> Result<Response, AppError> {
        let mut guard = self.session.lock().await;
        let Some(s) = guard.as_mut() else {
            return Err(AppError::new(
                ErrorCode::UploadMissing,
                "no firmware upload is in progress",
            ));
        };
        if s.received != s.total_len {
            return Err(AppError::new(
                ErrorCode::UploadMissing,
                &format!(
                    "{} of {} bytes received: send the rest first",
                    s.received, s.total_len
                ),
            ));
        }
        let Some(mut s) = guard.take() else {
            return Err(helper_error("the upload vanished"));
        };
        drop(guard);
        // Shut the write side only: the answer comes back on the read side.
        let _ = s.stream.shutdown().await;
        let answer = read_line(&mut s.stream, FINISH_TIMEOUT).await;
        match answer.as_deref().and_then(|l| l.strip_prefix("ok ")) {
            Some(rest) => parse_installed(rest)
                .ok_or_else(|| helper_error(&format!("answered `{}`", rest.trim()))),
            None => Err(to_error(answer)),
        }
    }

    /// `UpdateStatus`.
    pub async fn status(&self) -> Result<Response, AppError> {
        let mut stream = self.connect(b"status\n").await?;
        let _ = stream.shutdown().await;
        let line = read_line(&mut stream, HELPER_IO_TIMEOUT).await;
        let Some(line) = line else {
            return Err(helper_error("gave no status"));
        };
        if let Some(e) = line.strip_prefix("error ") {
            return Err(helper_error(e));
        }
        serde_json::from_str::<SlotsReport>(&line)
            .map(Response::Slots)
            .map_err(|e| helper_error(&format!("status is not a slot report ({e})")))
    }
}

/// The helper's answer if it has already sent one (it does only to refuse).
async fn early_answer(stream: &mut UnixStream) -> Option<AppError> {
    let mut probe = [0u8; 1];
    match stream.try_read(&mut probe) {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => None,
        Ok(0) => Some(helper_error("closed the connection without an answer")),
        Ok(_) => {
            let rest = read_line(stream, HELPER_IO_TIMEOUT)
                .await
                .unwrap_or_default();
            let line = format!("{}{rest}", char::from(probe[0]));
            Some(to_error(Some(line)))
        }
        Err(e) => Some(helper_error(&e.to_string())),
    }
}

async fn read_answer(stream: &mut UnixStream, wait: Duration) -> Option<AppError> {
    read_line(stream, wait).await.map(|l| to_error(Some(l)))
}

/// One answer line (without its newline), read until a newline, the end or `wait`.
async fn read_line(stream: &mut UnixStream, wait: Duration) -> Option<String> {
    let mut out = Vec::new();
    let _ = timeout(wait, async {
        let mut buf = [0u8; 512];
        while out.len() < MAX_HELPER_REPLY && !out.contains(&b'\n') {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    let end = out.iter().position(|&b| b == b'\n').unwrap_or(out.len());
    out.truncate(end);
    (!out.is_empty()).then(|| String::from_utf8_lossy(&out).into_owned())
}

/// The error an answer (other than `ok`) stands for.
fn to_error(answer: Option<String>) -> AppError {
    match answer {
        Some(line) => match line.strip_prefix("error ") {
            Some(why) => AppError::new(ErrorCode::UpdateRefused, why),
            None => helper_error(&format!("answered `{line}`")),
        },
        None => helper_error("ended without an answer (see its journal: cordon-update@*)"),
    }
}

fn parse_installed(rest: &str) -> Option<Response> {
    let mut words = rest.split_ascii_whitespace();
    let slot: Name = bounded(words.next()?);
    let version: Name = bounded(words.next()?);
    let bytes = words.next()?.parse().ok()?;
    Some(Response::UpdateInstalled {
        slot,
        version,
        bytes,
    })
}

fn helper_error(what: &str) -> AppError {
    AppError::new(
        ErrorCode::Internal,
        &format!("the update helper (cordon slot serve) {what}"),
    )
}
