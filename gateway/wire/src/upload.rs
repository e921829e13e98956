//! Chunked transfer of blobs bigger than a frame, as sans-IO helpers for both sides: the
//! client turns a blob into requests, the server tracks where an upload stands (and keeps the
//! bytes itself, in a buffer bounded by the announced length).

use heapless::{String, Vec};

use crate::error::{AppError, ErrorCode};
use crate::limits::CHUNK_LEN;
use crate::message::{BlobKind, Request, Response};

impl AppError {
    /// An error with `message` cut to the wire bound at a character boundary, no issues.
    pub fn new(code: ErrorCode, message: &str) -> Self {
        let mut text = String::new();
        for c in message.chars() {
            if text.push(c).is_err() {
                break;
            }
        }
        Self {
            code,
            message: text,
            issues: Vec::new(),
        }
    }
}

/// Client side: the `UploadBegin` then `UploadChunk` requests that stage `blob`.
#[derive(Debug, Clone)]
pub struct UploadRequests<'a> {
    kind: BlobKind,
    blob: &'a [u8],
    /// `None` until `UploadBegin` has been yielded.
    offset: Option<usize>,
}

impl<'a> UploadRequests<'a> {
    /// Refuses blobs over the kind's limit before a byte is sent.
    pub fn new(kind: BlobKind, blob: &'a [u8]) -> Result<Self, AppError> {
        if blob.len() > kind.max_len() as usize {
            return Err(AppError::new(
                ErrorCode::UploadTooLarge,
                "blob exceeds the size limit of its kind",
            ));
        }
        Ok(Self {
            kind,
            blob,
            offset: None,
        })
    }
}

impl Iterator for UploadRequests<'_> {
    type Item = Request;

    fn next(&mut self) -> Option<Request> {
        let Some(offset) = self.offset else {
            self.offset = Some(0);
            return Some(Request::UploadBegin {
                kind: self.kind,
                // Fits: `new` bounded the length by a u32 limit.
                total_len: self.blob.len() as u32,
            });
        };
        if offset >= self.blob.len() {
            return None;
        }
        let end = (offset + CHUNK_LEN).min(self.blob.len());
        self.offset = Some(end);
        Some(Request::UploadChunk {
            offset: offset as u32,
            data: Vec::from_slice(&self.blob[offset..end]).ok()?,
        })
    }
}

/// Server side: where the connection's staged upload stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadState {
    pub kind: BlobKind,
    pub total_len: u32,
    pub received: u32,
    /// Offset of the last accepted chunk, to recognise a resend after a lost ack.
    last_offset: u32,
}

/// What the server does with a chunk that [`UploadState::chunk`] accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkAction {
    /// Append the chunk's bytes to the staged blob.
    Append,
    /// A resend of the last chunk: already staged, just ack again.
    Duplicate,
}

impl UploadState {
    /// Handles `UploadBegin`; on success the server reserves `total_len` bytes and answers
    /// `UploadReady { chunk_len: CHUNK_LEN }`.
    pub fn begin(kind: BlobKind, total_len: u32) -> Result<Self, AppError> {
        if total_len > kind.max_len() {
            return Err(AppError::new(
                ErrorCode::UploadTooLarge,
                "announced length exceeds the limit for this kind",
            ));
        }
        Ok(Self {
            kind,
            total_len,
            received: 0,
            last_offset: 0,
        })
    }

    /// Handles `UploadChunk`; the answer is `UploadProgress { received }`.
    pub fn chunk(&mut self, offset: u32, len: usize) -> Result<ChunkAction, AppError> {
        let len = u32::try_from(len).unwrap_or(u32::MAX);
        if offset == self.last_offset && offset.checked_add(len) == Some(self.received) && len > 0 {
            return Ok(ChunkAction::Duplicate);
        }
        if offset != self.received {
            return Err(AppError::new(
                ErrorCode::UploadSequence,
                "chunk offset is not the number of bytes received",
            ));
        }
        match self.received.checked_add(len) {
            Some(end) if end <= self.total_len => {
                self.last_offset = offset;
                self.received = end;
                Ok(ChunkAction::Append)
            }
            _ => Err(AppError::new(
                ErrorCode::UploadSequence,
                "chunk runs past the announced length",
            )),
        }
    }

    /// Checks that a complete blob of `kind` is staged, before a request consumes it.
    pub fn require_complete(this: Option<&Self>, kind: BlobKind) -> Result<(), AppError> {
        match this {
            Some(state) if state.kind == kind && state.received == state.total_len => Ok(()),
            _ => Err(AppError::new(
                ErrorCode::UploadMissing,
                "no complete upload of the kind this request needs",
            )),
        }
    }
}

/// Server side: the `DetectorsChunk` answering `Detectors { offset, .. }`, cut as configs are.
pub fn detectors_chunk(text: &[u8], offset: u32) -> Result<Response, AppError> {
    match config_chunk(0, text, offset)? {
        Response::ConfigChunk {
            total_len,
            offset,
            data,
            ..
        } => Ok(Response::DetectorsChunk {
            total_len,
            offset,
            data,
        }),
        other => Ok(other),
    }
}

/// Server side: the `ScanText` chunk at `offset` of a dry run's printed report.
pub fn scan_text_chunk(text: &[u8], offset: u32) -> Result<Response, AppError> {
    match config_chunk(0, text, offset)? {
        Response::ConfigChunk {
            total_len,
            offset,
            data,
            ..
        } => Ok(Response::ScanText {
            total_len,
            offset,
            data,
        }),
        other => Ok(other),
    }
}

/// Server side: the `ConfigChunk` answering `GetConfig { offset }` for the running config.
pub fn config_chunk(generation: u64, toml: &[u8], offset: u32) -> Result<Response, AppError> {
    let start = offset as usize;
    if start > toml.len() {
        return Err(AppError::new(
            ErrorCode::UploadSequence,
            "offset is past the end of the config",
        ));
    }
    let end = (start + CHUNK_LEN).min(toml.len());
    Ok(Response::ConfigChunk {
        generation,
        total_len: u32::try_from(toml.len()).unwrap_or(u32::MAX),
        offset,
        data: Vec::from_slice(&toml[start..end]).unwrap_or_default(),
    })
}
