//! cordon-wire: the protocol of the appliance's local config port, shared by the gateway's
//! server and `cordonctl`. It is sans-IO and `no_std`: messages are postcard-encoded types
//! with a compile-time size bound (`MaxSize`), framed as COBS with a CRC-32 and a 0x00
//! delimiter, and reassembled in a fixed buffer that reports bad frames as typed errors and
//! resynchronises at the next delimiter. Sockets, serial ports and TLS live in the gateway.
//!
//! # Layout
//! - [`limits`]: every bound of the protocol (config size, chunk size, list lengths) and
//!   [`PROTOCOL_VERSION`].
//! - [`message`]: [`RequestFrame`] / [`ResponseFrame`] (an id plus a [`Request`] or
//!   [`Response`]) and their payload types.
//! - [`error`]: [`WireError`], the typed error sent in `Response::Error`, with [`AppError`]
//!   and config [`Issue`]s.
//! - [`frame`]: [`encode_frame`] and the [`FrameDecoder`] accumulator.
//! - [`record`]: the incident and audit records as the persistent journal stores them (the
//!   wire's [`Incident`] or [`AuditRecord`] behind a version octet that tells them apart).
//! - [`upload`]: chunked transfer of blobs bigger than a frame ([`UploadRequests`] for the
//!   client, [`UploadState`] and [`config_chunk`] for the server).
//!
//! The byte-level format is specified in `docs/config-port.md`.

#![no_std]
#![forbid(unsafe_code)]
#![allow(
    clippy::large_enum_variant,
    clippy::result_large_err,
    reason = "wire types are fixed-size by design (no_std, no allocator): a Box would need one, \
              and the size is bounded and checked against MAX_BODY_LEN"
)]

#[cfg(test)]
extern crate std;

pub mod error;
pub mod frame;
pub mod limits;
pub mod message;
pub mod record;
pub mod upload;

pub use error::{AppError, DecodeKind, ErrorCode, Issue, WireError};
pub use frame::{decode_body, encode_frame, DecodeEvent, FrameDecoder, Message, FRAME_CRC};
pub use limits::{MAX_ENCODED_FRAME_LEN, MAX_FRAME_LEN, PROTOCOL_VERSION};
pub use message::*;
pub use postcard::experimental::max_size::MaxSize;
pub use record::{
    decode_audit_record, decode_incident_record, decode_incident_with_tags, encode_audit_record,
    encode_incident_record, AUDIT_RECORD_MAX, AUDIT_RECORD_VERSION, INCIDENT_RECORD_MAX,
    INCIDENT_RECORD_VERSION,
};
pub use upload::{
    config_chunk, detectors_chunk, scan_text_chunk, ChunkAction, UploadRequests, UploadState,
};

#[cfg(test)]
mod tests;

/// `s` cut to at most `N` bytes at a character boundary: wire strings are bounded, and a
/// long path or message must shorten, not fail, on its way into an error or a name.
pub fn bounded<const N: usize>(s: &str) -> heapless::String<N> {
    let mut out = heapless::String::new();
    for c in s.chars() {
        if out.push(c).is_err() {
            break;
        }
    }
    out
}
