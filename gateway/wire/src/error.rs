//! The typed error of the config port, sent in `Response::Error` and returned by the codec.

use heapless::{String, Vec};
use postcard::experimental::max_size::MaxSize;
use serde::{Deserialize, Serialize};

use crate::limits::{MAX_ISSUES, MAX_KEY_LEN, MAX_NAME_LEN, MAX_TEXT_LEN};

/// Everything that can go wrong on the config port. The framing variants are produced by
/// [`crate::FrameDecoder`] and [`crate::encode_frame`]; `App` is produced by the server's
/// request handlers. Variant order is wire format (append only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize, thiserror::Error)]
pub enum WireError {
    /// More bytes arrived before a delimiter than the receive buffer holds; the rest of the
    /// frame is discarded up to the next 0x00.
    #[error("frame longer than the {limit}-byte receive buffer")]
    FrameTooLong { limit: u32 },
    /// The COBS encoding is broken (a code byte points past the end of the frame).
    #[error("malformed COBS framing")]
    Malformed,
    /// The frame is too short to hold a CRC trailer.
    #[error("frame of {len} bytes is shorter than its CRC")]
    Truncated { len: u32 },
    /// The CRC-32 trailer does not match the body (line noise, a torn write).
    #[error("bad CRC: frame says {expected:#010x}, body has {actual:#010x}")]
    BadCrc { expected: u32, actual: u32 },
    /// The CRC was right but the body is not a valid message.
    #[error("undecodable message: {0}")]
    Decode(#[source] DecodeKind),
    /// The body starts with a message tag this side does not know (a newer peer).
    #[error("unknown request tag {tag}")]
    UnknownRequest { tag: u32 },
    /// The peers speak different protocol versions; nothing else is exchanged.
    #[error("protocol version mismatch: we speak {ours}, peer speaks {theirs}")]
    VersionMismatch { ours: u16, theirs: u16 },
    /// The message does not fit the caller's encode buffer.
    #[error("encode buffer too small: need at least {needed} bytes")]
    BufferTooSmall { needed: u32 },
    /// The request was understood but refused or failed.
    #[error(transparent)]
    App(AppError),
}

/// Why a CRC-valid body failed to decode (postcard's error, reduced to what a peer can act on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, MaxSize, thiserror::Error)]
pub enum DecodeKind {
    #[error("message ends early")]
    UnexpectedEnd,
    #[error("over-long or invalid varint")]
    BadVarint,
    #[error("invalid enum tag")]
    BadEnum,
    #[error("invalid UTF-8")]
    BadUtf8,
    #[error("invalid bool, char or option tag")]
    BadValue,
    #[error("a string or list exceeds its bound")]
    TooLong,
    #[error("trailing bytes after the message")]
    TrailingBytes,
    #[error("other encoding error")]
    Other,
}

impl From<postcard::Error> for DecodeKind {
    fn from(e: postcard::Error) -> Self {
        use postcard::Error as E;
        match e {
            E::DeserializeUnexpectedEnd => Self::UnexpectedEnd,
            E::DeserializeBadVarint => Self::BadVarint,
            E::DeserializeBadEnum => Self::BadEnum,
            E::DeserializeBadUtf8 => Self::BadUtf8,
            E::DeserializeBadBool | E::DeserializeBadChar | E::DeserializeBadOption => {
                Self::BadValue
            }
            // serde's derived visitors report unknown variants and heapless reports
            // over-capacity strings and vecs through custom errors; postcard erases which.
            E::SerdeDeCustom => Self::TooLong,
            _ => Self::Other,
        }
    }
}

/// A request the server understood but could not carry out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String<MAX_TEXT_LEN>,
    /// For `InvalidConfig`: every problem found (up to the bound), so the admin fixes the file
    /// in one pass. Empty for other codes.
    pub issues: Vec<Issue, MAX_ISSUES>,
}

/// Stable application error codes; `cordonctl` maps them to exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Any request other than `Hello` before a successful handshake.
    HelloRequired,
    /// The config was refused whole; `issues` says where and why. Nothing changed.
    InvalidConfig,
    /// `ApplyConfig.expected_generation` is not the running generation.
    GenerationConflict,
    /// `Rollback` with no valid previous generation on disk.
    NoPreviousConfig,
    /// An upload chunk at the wrong offset, a chunk with no upload begun, or more bytes
    /// than announced.
    UploadSequence,
    /// `UploadBegin.total_len` above the kind's limit ([`crate::BlobKind::max_len`]).
    UploadTooLarge,
    /// The request needs a complete staged blob of another kind (or none is complete).
    UploadMissing,
    /// Certificate or key unreadable, mismatched, or expired.
    InvalidTls,
    /// Persisting to the data partition failed; the running config is unchanged.
    Storage,
    /// Another apply, rollback or restart is in progress.
    Busy,
    /// The peer is not allowed this request on this transport.
    NotPermitted,
    /// A bug or an unexpected failure; see the gateway log.
    Internal,
    /// This gateway cannot do that as it runs (no workers under `cordon run`, no reboot
    /// without `reboot_request`); not a matter of permissions.
    Unsupported,
    /// An EDM bundle refused whole (truncated, another key, corrupt, inconsistent), or an
    /// EDM table name that is invalid or not installed. The running tables are unchanged.
    InvalidEdm,
    /// An EDM table would not fit the memory or storage budget; the message gives the sizes.
    OverBudget,
    /// The firmware bundle was refused (signature, board, a payload that is short or changed,
    /// a read-back that differs); the message says which. The slot being written stays
    /// marked bad, nothing is armed, the running slot is untouched.
    UpdateRefused,
}

/// One problem in a config file, located precisely enough to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct Issue {
    /// File name as given by the client (configs may be split by the CLI into several).
    pub file: String<MAX_NAME_LEN>,
    /// 1-based line; 0 when the problem has no single line (a missing key).
    pub line: u32,
    /// 1-based column (bytes); 0 when unknown. Editors jump to `file:line:col`.
    pub column: u32,
    /// Dotted key path, e.g. `policy.rules[2].action`.
    pub key: String<MAX_KEY_LEN>,
    pub reason: String<MAX_TEXT_LEN>,
}
