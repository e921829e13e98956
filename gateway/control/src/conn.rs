//! The connection handler every transport runs.
//!
//! One task per connection reads whatever the transport delivers into a small buffer, feeds
//! it to a [`FrameDecoder`] holding at most one frame, and answers each decoded request (or
//! each framing error, with a framed error) in order. State per connection: whether the
//! handshake succeeded, one staging area for uploads, and at most one incident follow.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use cordon_wire::limits::{CHUNK_LEN, MAX_INCIDENTS_PER_PAGE};
use cordon_wire::{
    config_chunk, detectors_chunk, encode_frame, scan_text_chunk, AppError, BlobKind, ChunkAction,
    DecodeEvent, ErrorCode, FrameDecoder, HelloReply, Incident, Issue, Request, RequestFrame,
    Response, ResponseFrame, UploadState, WireError, MAX_ENCODED_FRAME_LEN, MAX_FRAME_LEN,
    PROTOCOL_VERSION, UNATTRIBUTED_ID,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, WriteHalf};
use tokio::sync::{broadcast, watch};
use tokio::time::{sleep, timeout, Instant};

use crate::backend::Backend;
use crate::limits::{FOLLOW_PAGE, IDLE_TIMEOUT, READ_LEN, WRITE_TIMEOUT};

/// Stops listeners and connections: send `true` (or drop the sender) to shut down. Each
/// connection finishes the request it is handling, then closes.
pub type Shutdown = watch::Receiver<bool>;

/// Who is on the other end, for the log (and for the idle rule: a serial console is never
/// closed for being quiet, since nobody would reopen it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peer {
    Unix {
        uid: u32,
        pid: Option<i32>,
    },
    Serial {
        device: PathBuf,
    },
    Tcp {
        addr: SocketAddr,
        /// The client certificate's subject, once the mutual-TLS handshake is done.
        subject: Option<String>,
    },
    /// In-memory streams (tests).
    Other(String),
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Peer::Unix { uid, pid } => match pid {
                Some(pid) => write!(f, "unix uid {uid} pid {pid}"),
                None => write!(f, "unix uid {uid}"),
            },
            Peer::Serial { device } => write!(f, "serial {}", device.display()),
            Peer::Tcp {
                addr,
                subject: Some(s),
            } => write!(f, "tcp {addr} ({s})"),
            Peer::Tcp { addr, .. } => write!(f, "tcp {addr}"),
            Peer::Other(name) => f.write_str(name),
        }
    }
}

/// Send buffer: a leading 0x00 (which flushes any fragment a previous sender left in the
/// peer's decoder, see the protocol doc) plus the largest encoded frame.
const SEND_BUF_LEN: usize = 1 + MAX_ENCODED_FRAME_LEN;

/// Serves one connection until the peer closes it, the idle timeout passes, an I/O error
/// occurs, or `shutdown` fires. Never panics on input: every bad frame is answered with a
/// framed `Response::Error` and the stream resynchronises at the next delimiter.
pub async fn serve_connection<S, B>(
    stream: S,
    backend: Arc<B>,
    peer: Peer,
    mut shutdown: Shutdown,
) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite + Send,
    B: Backend,
{
    let idle_applies = !matches!(peer, Peer::Serial { .. });
    let (mut reader, writer) = tokio::io::split(stream);
    let mut conn = Conn {
        peer: peer.clone(),
        backend,
        writer,
        out: vec![0; SEND_BUF_LEN].into_boxed_slice(),
        hello: false,
        staged: None,
        candidate: None,
        follow: None,
    };
    let mut decoder: Box<FrameDecoder<MAX_FRAME_LEN>> = Box::default();
    let mut buf = [0u8; READ_LEN];
    let idle = sleep(IDLE_TIMEOUT);
    tokio::pin!(idle);
    tracing::debug!(%peer, "config port connection");
    loop {
        let idle_armed = idle_applies && conn.follow.is_none();
        tokio::select! {
            read = reader.read(&mut buf) => {
                let n = read?;
                if n == 0 {
                    return Ok(());
                }
                idle.as_mut().reset(Instant::now() + IDLE_TIMEOUT);
                let mut input = &buf[..n];
                while let Some(event) = decoder.feed::<RequestFrame>(&mut input) {
                    match event {
                        // Boxed: a request's future holds temporaries of the fixed-size replies
                        // (tens of KiB each in a debug build), which must not sit on the
                        // worker's stack.
                        DecodeEvent::Frame(frame) => Box::pin(conn.handle(frame)).await?,
                        DecodeEvent::Error(e) => {
                            tracing::debug!(%peer, error = %e, "bad frame");
                            conn.send(UNATTRIBUTED_ID, Response::Error(e)).await?;
                        }
                    }
                }
            }
            incident = next_incident(&mut conn.follow) => conn.push(incident).await?,
            _ = shutdown.changed() => return Ok(()),
            () = &mut idle, if idle_armed => {
                tracing::debug!(%peer, "closing idle config port connection");
                return Ok(());
            }
        }
        if *shutdown.borrow() {
            return Ok(());
        }
    }
}

/// Sends one framed error (e.g. `NotPermitted` to a refused peer) and closes the stream.
pub async fn refuse<S: AsyncWrite + Unpin>(mut stream: S, error: AppError) -> std::io::Result<()> {
    let mut out = vec![0; SEND_BUF_LEN];
    let frame = ResponseFrame {
        id: UNATTRIBUTED_ID,
        response: Response::Error(WireError::App(error)),
    };
    let len = encode_frame(&frame, &mut out[1..])
        .map_err(std::io::Error::other)?
        .len();
    timeout(WRITE_TIMEOUT, async {
        stream.write_all(&out[..=len]).await?;
        stream.shutdown().await
    })
    .await
    .map_err(|_| std::io::ErrorKind::TimedOut)?
}

/// A blob staged by `UploadBegin` + `UploadChunk`s. It stays staged after a request consumes
/// it (so `config check` then `config apply` needs one upload) until the next `UploadBegin`
/// or `Hello`.
struct Staged {
    state: UploadState,
    /// Grows chunk by chunk, never past `state.total_len` (bounded by the kind's limit).
    data: Vec<u8>,
}

/// An incident follow in progress.
struct Follow {
    /// The `FollowIncidents` request's id, echoed in every pushed incident.
    id: u32,
    rx: broadcast::Receiver<Incident>,
    /// Sequence of the next incident the client has not seen: anything below is a
    /// duplicate of the backlog and skipped.
    next: u64,
}

struct Conn<B: Backend, W> {
    /// Who is asking, for the audit trail.
    peer: Peer,
    backend: Arc<B>,
    writer: WriteHalf<W>,
    out: Box<[u8]>,
    /// `Hello` succeeded; every other request before that is `HelloRequired`.
    hello: bool,
    staged: Option<Staged>,
    /// The candidate policy of a policy diff (`StageCandidate`), until the next one or `Hello`.
    candidate: Option<Arc<B::Candidate>>,
    follow: Option<Follow>,
}

/// The next broadcast incident, or never when not following (so `select!` can poll it
/// unconditionally).
async fn next_incident(
    follow: &mut Option<Follow>,
) -> Result<Incident, broadcast::error::RecvError> {
    match follow {
        Some(f) => f.rx.recv().await,
        None => std::future::pending().await,
    }
}

impl<B: Backend, W: AsyncWrite> Conn<B, W> {
    async fn send(&mut self, id: u32, response: Response) -> std::io::Result<()> {
        let frame = ResponseFrame { id, response };
        let len = match encode_frame(&frame, &mut self.out[1..]) {
            Ok(f) => f.len(),
            Err(e) => {
                // Cannot happen: every message fits the buffer (checked at compile time in
                // cordon-wire). Still answered, so the client is not left waiting.
                let error = AppError::new(ErrorCode::Internal, &format!("encoding reply: {e}"));
                let frame = ResponseFrame {
                    id,
                    response: Response::Error(WireError::App(error)),
                };
                encode_frame(&frame, &mut self.out[1..])
                    .map_err(std::io::Error::other)?
                    .len()
            }
        };
        self.out[0] = 0;
        let bytes = &self.out[..=len];
        let writer = &mut self.writer;
        timeout(WRITE_TIMEOUT, async {
            writer.write_all(bytes).await?;
            writer.flush().await
        })
        .await
        .map_err(|_| std::io::ErrorKind::TimedOut)?
    }

    async fn handle(&mut self, frame: RequestFrame) -> std::io::Result<()> {
        let RequestFrame { id, request } = frame;
        if !self.hello && !matches!(request, Request::Hello { .. }) {
            let e = AppError::new(ErrorCode::HelloRequired, "send Hello first");
            return self.send(id, app_error(e)).await;
        }
        if let Request::FollowIncidents { since } = request {
            return self.start_follow(id, since).await;
        }
        if matches!(
            request,
            Request::QueryIncidents(_)
                | Request::VerifyIncidents { .. }
                | Request::QueryAudit { .. }
                | Request::QueryRepeats(_)
        ) {
            let response = journal_request(&self.backend, request).await;
            return self.send(id, *response).await;
        }
        if matches!(request, Request::StageCandidate | Request::ScanCandidate) {
            // Boxed: its state (a staged result, an `AppError`) stays out of the connection future.
            let response = Box::pin(self.candidate_request(request)).await;
            return self.send(id, *response).await;
        }
        let audited = crate::audit::audited(&request);
        let target = crate::audit::target(&request);
        let before = audited.map(|_| self.backend.current_config());
        let chunk = matches!(request, Request::UpdateChunk { .. });
        let response = match self.respond(request).await {
            Ok(r) => r,
            Err(e) => app_error(e),
        };
        // A firmware bundle refused mid-stream (a bad signature, another board, a short
        // payload) is a failed install: audited as one, like a refusal at `UpdateFinish`.
        let refused = chunk
            && matches!(&response, Response::Error(WireError::App(e)) if e.code == ErrorCode::UpdateRefused);
        let audited = audited.or(refused.then_some("update_install"));
        let before = before.or_else(|| audited.map(|_| self.backend.current_config()));
        if let (Some(request), Some(before)) = (audited, before) {
            let record = crate::audit::record(
                &self.peer,
                request,
                target.as_deref(),
                &before,
                &response,
                &*self.backend,
            );
            if let Err(e) = Box::pin(blocking(&self.backend, move |b| b.audit(record))).await {
                tracing::error!(peer = %self.peer, request, error = %e, "audit record not written");
            }
        }
        self.send(id, response).await
    }

    async fn respond(&mut self, request: Request) -> Result<Response, AppError> {
        let backend = &self.backend;
        Ok(match request {
            Request::Hello { protocol, client } => {
                if protocol != PROTOCOL_VERSION {
                    self.hello = false;
                    return Ok(Response::Error(WireError::VersionMismatch {
                        ours: PROTOCOL_VERSION,
                        theirs: protocol,
                    }));
                }
                tracing::debug!(client = %client, "config port hello");
                // A new Hello starts a new session (e.g. a second cordonctl on the serial
                // console): nothing staged or followed by the previous one carries over.
                self.hello = true;
                self.staged = None;
                self.candidate = None;
                self.follow = None;
                let identity = backend.identity();
                Response::Hello(HelloReply {
                    protocol: PROTOCOL_VERSION,
                    software: identity.software,
                    board: identity.board,
                    max_frame: MAX_FRAME_LEN as u32,
                })
            }
            // Off the runtime: the smart-host checks wait on the network for up to seconds.
            Request::Status => Response::Status(blocking(backend, |b| Ok(b.status())).await?),
            Request::Counters => Response::Counters(backend.counters()),
            Request::Detectors { json, offset } => {
                let text = blocking(backend, move |b| Ok(b.detectors(json))).await?;
                detectors_chunk(text.as_bytes(), offset)?
            }
            Request::GetConfig { offset } => {
                let (generation, toml) = backend.current_config();
                config_chunk(generation, toml.as_bytes(), offset)?
            }
            Request::UploadBegin { kind, total_len } => {
                self.staged = None;
                let state = UploadState::begin(kind, total_len)?;
                self.staged = Some(Staged {
                    state,
                    data: Vec::new(),
                });
                Response::UploadReady {
                    chunk_len: CHUNK_LEN as u32,
                }
            }
            Request::UploadChunk { offset, data } => {
                let Some(staged) = self.staged.as_mut() else {
                    return Err(AppError::new(
                        ErrorCode::UploadSequence,
                        "chunk without UploadBegin",
                    ));
                };
                if staged.state.chunk(offset, data.len())? == ChunkAction::Append {
                    // Bounded by the announced length, itself bounded by the kind's limit;
                    // a failed allocation is refused, not a crash.
                    staged.data.try_reserve(data.len()).map_err(|_| {
                        AppError::new(ErrorCode::Internal, "out of memory staging the upload")
                    })?;
                    staged.data.extend_from_slice(&data);
                }
                Response::UploadProgress {
                    received: staged.state.received,
                }
            }
            Request::ValidateConfig => {
                let warnings = self
                    .with_staged(BlobKind::Config, |b, blob| b.validate(config_text(blob)?))
                    .await?;
                Response::ConfigValid { warnings }
            }
            Request::ApplyConfig {
                expected_generation,
            } => {
                let (generation, warnings) = self
                    .with_staged(BlobKind::Config, move |b, blob| {
                        b.apply(config_text(blob)?, expected_generation)
                    })
                    .await?;
                Response::Applied {
                    generation,
                    warnings,
                }
            }
            Request::Rollback => {
                let r = blocking(backend, |b| b.rollback()).await?;
                Response::RolledBack {
                    generation: r.generation,
                    restored: r.restored,
                }
            }
            Request::ListIncidents { since, max } => {
                let max = usize::from(max).min(MAX_INCIDENTS_PER_PAGE);
                Response::Incidents(backend.incidents(since, max))
            }
            Request::FollowIncidents { .. } => {
                unreachable!("FollowIncidents is handled before respond")
            }
            Request::QueryIncidents(query) => Response::IncidentResults(
                blocking(backend, move |b| b.query_incidents(&query)).await?,
            ),
            Request::VerifyIncidents { worker, anchor } => Response::IncidentsVerified {
                report: blocking(backend, move |b| b.verify_incidents(worker, anchor)).await?,
            },
            Request::QueryAudit { since, max } => Response::Audit(
                blocking(backend, move |b| b.query_audit(since, usize::from(max))).await?,
            ),
            Request::StopFollow => {
                self.follow = None;
                Response::Ok
            }
            Request::QueryTrace { since, max } => {
                Response::Trace(backend.trace(&since, usize::from(max)))
            }
            Request::QueryLog { since, max, level } => {
                Response::Log(backend.log(&since, usize::from(max), usize::from(level)))
            }
            Request::QueryRepeats(_) => {
                unreachable!("QueryRepeats is a journal request, handled before respond")
            }
            Request::Scan => {
                let report = self
                    .with_staged(BlobKind::Message, |b, blob| b.scan(blob))
                    .await?;
                Response::ScanReport(report)
            }
            Request::ScanText {
                json,
                from,
                to,
                offset,
            } => {
                let envelope = from.map(|f| {
                    let to = to.iter().map(|t| t.to_string()).collect();
                    (f.to_string(), to)
                });
                // The report is a few KiB: it is made again for a later chunk (rare) rather
                // than kept per connection.
                let text = self
                    .with_staged(BlobKind::Message, move |b, blob| {
                        b.scan_text(blob, json, envelope)
                    })
                    .await?;
                scan_text_chunk(text.as_bytes(), offset)?
            }
            Request::StageCandidate | Request::ScanCandidate => {
                unreachable!("policy-diff requests are handled before respond")
            }
            Request::InstallTls => {
                let info = self
                    .with_staged(BlobKind::TlsBundle, |b, blob| b.install_tls(blob))
                    .await?;
                Response::TlsInstalled(info)
            }
            Request::RestartWorkers => Response::WorkersRestarting {
                workers: blocking(backend, |b| b.restart_workers()).await?,
            },
            Request::Reboot => {
                blocking(backend, |b| b.reboot()).await?;
                Response::Rebooting
            }
            Request::EdmInstall { name, key } => Response::EdmTables(
                self.with_staged(BlobKind::Edm, move |b, blob| {
                    b.edm_install(name.as_str(), &key, blob)
                })
                .await?,
            ),
            Request::UpdateBegin { total_len, resume } => {
                backend.updates().begin(total_len, resume).await?
            }
            Request::UpdateChunk {
                offset,
                data,
                running,
            } => backend.updates().chunk(offset, &data, running).await?,
            Request::UpdateFinish => backend.updates().finish().await?,
            Request::UpdateStatus => backend.updates().status().await?,
            Request::FingerprintAdd { set, document } => Response::Fingerprints(
                self.with_staged(BlobKind::Message, move |b, blob| {
                    b.fingerprint_add(set.as_str(), document.as_str(), blob)
                })
                .await?,
            ),
            Request::FingerprintList { set } => Response::Fingerprints(
                blocking(backend, move |b| b.fingerprint_list(set.as_deref())).await?,
            ),
            Request::FingerprintRemove { set, document } => Response::Fingerprints(
                blocking(backend, move |b| {
                    b.fingerprint_remove(set.as_str(), document.as_deref())
                })
                .await?,
            ),
            Request::EdmList => Response::EdmTables(blocking(backend, |b| b.edm_list()).await?),
            Request::EdmRemove { name } => {
                Response::EdmTables(blocking(backend, move |b| b.edm_remove(name.as_str())).await?)
            }
        })
    }

    /// `StageCandidate` and `ScanCandidate` (a policy diff), answered boxed and outside
    /// `respond` for the same reason as [`journal_request`]: its debug-build frame already
    /// holds a temporary of every fixed-size reply.
    async fn candidate_request(&mut self, request: Request) -> Box<Response> {
        let result = match request {
            Request::StageCandidate => {
                self.candidate = None;
                self.with_staged(BlobKind::Config, |b, blob| {
                    let (candidate, generation, warnings) =
                        b.stage_candidate(config_text(blob)?)?;
                    let staged = Response::CandidateStaged {
                        generation,
                        warnings,
                    };
                    Ok((Arc::new(candidate), Box::new(staged)))
                })
                .await
                .map(|(candidate, response)| {
                    self.candidate = Some(candidate);
                    response
                })
            }
            Request::ScanCandidate => match self.candidate.clone() {
                None => Err(AppError::new(
                    ErrorCode::UploadMissing,
                    "no candidate policy on this connection: send StageCandidate first",
                )),
                Some(candidate) => {
                    self.with_staged(BlobKind::Message, move |b, blob| {
                        let compared = b.scan_candidate(&candidate, blob)?;
                        Ok(Box::new(Response::ScanCompared(compared)))
                    })
                    .await
                }
            },
            _ => Err(AppError::new(
                ErrorCode::Internal,
                "not a policy-diff request",
            )),
        };
        result.unwrap_or_else(|e| Box::new(app_error(e)))
    }

    /// Runs `f` over the complete staged blob of `kind` on the blocking pool (validation,
    /// fsync and scans may take a while), then puts the blob back.
    async fn with_staged<T, F>(&mut self, kind: BlobKind, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&B, &[u8]) -> Result<T, AppError> + Send + 'static,
    {
        UploadState::require_complete(self.staged.as_ref().map(|s| &s.state), kind)?;
        let staged = self.staged.take().ok_or_else(|| {
            AppError::new(ErrorCode::UploadMissing, "nothing staged for this request")
        })?;
        let backend = Arc::clone(&self.backend);
        let joined = tokio::task::spawn_blocking(move || {
            let result = f(&backend, &staged.data);
            (result, staged)
        })
        .await;
        match joined {
            Ok((result, staged)) => {
                self.staged = Some(staged);
                result
            }
            Err(e) => Err(AppError::new(
                ErrorCode::Internal,
                &format!("request handler failed: {e}"),
            )),
        }
    }

    /// `FollowIncidents`: subscribe first, then send the backlog, so an incident recorded
    /// in between is in one or the other (duplicates are skipped by sequence).
    async fn start_follow(&mut self, id: u32, since: u64) -> std::io::Result<()> {
        let rx = self.backend.subscribe_incidents();
        self.follow = Some(Follow {
            id,
            rx,
            next: since,
        });
        self.catch_up().await
    }

    /// Sends every stored incident from the follow's `next` on.
    async fn catch_up(&mut self) -> std::io::Result<()> {
        loop {
            let Some(follow) = self.follow.as_ref() else {
                return Ok(());
            };
            let (id, next) = (follow.id, follow.next);
            let page = self.backend.incidents(next, FOLLOW_PAGE);
            if page.incidents.is_empty() {
                return Ok(());
            }
            let mut advanced = false;
            for incident in page.incidents {
                if incident.seq >= next {
                    advanced = true;
                    self.set_next(incident.seq + 1);
                    self.send(id, Response::Incident(incident)).await?;
                }
            }
            if !advanced {
                return Ok(());
            }
        }
    }

    fn set_next(&mut self, next: u64) {
        if let Some(f) = self.follow.as_mut() {
            f.next = f.next.max(next);
        }
    }

    /// One incident from the broadcast while following.
    async fn push(
        &mut self,
        incident: Result<Incident, broadcast::error::RecvError>,
    ) -> std::io::Result<()> {
        let Some(follow) = self.follow.as_ref() else {
            return Ok(());
        };
        let id = follow.id;
        match incident {
            Ok(incident) if incident.seq >= follow.next => {
                self.set_next(incident.seq + 1);
                self.send(id, Response::Incident(incident)).await
            }
            Ok(_) => Ok(()),
            // The client read too slowly for the broadcast buffer: refill from the ring.
            Err(broadcast::error::RecvError::Lagged(_)) => self.catch_up().await,
            // The gateway dropped the sender (shutting down): nothing more will come.
            Err(broadcast::error::RecvError::Closed) => {
                self.follow = None;
                Ok(())
            }
        }
    }
}

fn app_error(e: AppError) -> Response {
    Response::Error(WireError::App(e))
}

/// The journal requests, answered on the blocking pool (they read files). Kept out of
/// `respond`, whose debug-build frame already holds a temporary of every fixed-size reply:
/// this one's replies are built and boxed on the blocking thread.
async fn journal_request<B: Backend>(backend: &Arc<B>, request: Request) -> Box<Response> {
    let backend = Arc::clone(backend);
    let answer = tokio::task::spawn_blocking(move || {
        Box::new(match request {
            Request::QueryIncidents(query) => match backend.query_incidents(&query) {
                Ok(r) => Response::IncidentResults(r),
                Err(e) => app_error(e),
            },
            Request::VerifyIncidents { worker, anchor } => {
                match backend.verify_incidents(worker, anchor) {
                    Ok(report) => Response::IncidentsVerified { report },
                    Err(e) => app_error(e),
                }
            }
            Request::QueryAudit { since, max } => {
                match backend.query_audit(since, usize::from(max)) {
                    Ok(page) => Response::Audit(page),
                    Err(e) => app_error(e),
                }
            }
            Request::QueryRepeats(query) => match backend.query_repeats(&query) {
                Ok(report) => Response::Repeats(report),
                Err(e) => app_error(e),
            },
            _ => app_error(AppError::new(ErrorCode::Internal, "not a journal request")),
        })
    })
    .await;
    answer.unwrap_or_else(|e| {
        Box::new(app_error(AppError::new(
            ErrorCode::Internal,
            &format!("request handler failed: {e}"),
        )))
    })
}

/// Runs a backend call that may block on the blocking pool.
async fn blocking<B: Backend, T: Send + 'static>(
    backend: &Arc<B>,
    f: impl FnOnce(&B) -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    let backend = Arc::clone(backend);
    tokio::task::spawn_blocking(move || f(&backend))
        .await
        .unwrap_or_else(|e| {
            Err(AppError::new(
                ErrorCode::Internal,
                &format!("request handler failed: {e}"),
            ))
        })
}

/// A staged config must be UTF-8 text before it can be parsed.
fn config_text(blob: &[u8]) -> Result<&str, AppError> {
    std::str::from_utf8(blob).map_err(|e| {
        let mut error = AppError::new(ErrorCode::InvalidConfig, "config is not UTF-8 text");
        let line = blob[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        let _ = error.issues.push(Issue {
            file: crate::bounded("config"),
            line: line as u32,
            column: 0,
            key: heapless::String::new(),
            reason: crate::bounded("invalid UTF-8"),
        });
        error
    })
}
