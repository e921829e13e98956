//! Framing: `COBS(postcard(message) ‖ CRC-32 little-endian) ‖ 0x00`.
//!
//! COBS removes every 0x00 from the frame, so 0x00 is an unambiguous delimiter: after any
//! garbage a receiver is back in step at the next 0x00. The CRC catches what COBS cannot
//! (flipped bits on a serial line). The decoder works in a fixed buffer: it never allocates,
//! never grows and never panics, whatever it is fed.

use core::fmt;

use crc::{Crc, CRC_32_ISO_HDLC};
use postcard::experimental::max_size::MaxSize;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{DecodeKind, WireError};
use crate::limits::{cobs_max_len, CRC_LEN, MAX_BODY_LEN, MAX_ENCODED_FRAME_LEN, MAX_FRAME_LEN};
use crate::message::{Request, RequestFrame, Response, ResponseFrame};

/// CRC-32/ISO-HDLC (the zlib / Ethernet CRC): any host tool (`zlib.crc32`) can check a frame.
pub const FRAME_CRC: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);

/// The frame delimiter.
pub const DELIMITER: u8 = 0x00;

/// A top-level frame type the decoder can produce.
pub trait Message: Serialize + DeserializeOwned + MaxSize {
    /// Number of variants of the inner enum, to tell an unknown tag from a corrupt body.
    const VARIANTS: u32;
}

impl Message for RequestFrame {
    const VARIANTS: u32 = Request::VARIANTS;
}

impl Message for ResponseFrame {
    const VARIANTS: u32 = Response::VARIANTS;
}

// Every message fits the body bound, so a frame buffer of MAX_FRAME_LEN can never be too
// small for a well-formed message: checked by the compiler, not at run time.
const _: () = assert!(RequestFrame::POSTCARD_MAX_SIZE <= MAX_BODY_LEN);
const _: () = assert!(ResponseFrame::POSTCARD_MAX_SIZE <= MAX_BODY_LEN);
const _: () = assert!(MAX_ENCODED_FRAME_LEN == cobs_max_len(MAX_BODY_LEN + CRC_LEN) + 1);

/// Encodes `msg` as one complete frame (delimiter included) into `out` and returns the frame.
/// A buffer of [`MAX_ENCODED_FRAME_LEN`] always suffices for [`RequestFrame`] and
/// [`ResponseFrame`].
pub fn encode_frame<'b, T: Serialize>(msg: &T, out: &'b mut [u8]) -> Result<&'b [u8], WireError> {
    let too_small = |needed: usize| WireError::BufferTooSmall {
        needed: u32::try_from(needed).unwrap_or(u32::MAX),
    };
    // Serialize at the start, then slide the body right by the COBS overhead and encode it
    // leftwards in place: the encoder's write position never passes its read position, so
    // one buffer is enough (see `cobs_encode_in_place`).
    let capacity = out.len();
    let body_len = postcard::to_slice(msg, out)
        .map_err(|_| too_small(capacity + 1))?
        .len();
    let raw_len = body_len + CRC_LEN;
    let encoded_len = cobs_max_len(raw_len);
    let needed = encoded_len + 1;
    if out.len() < needed {
        return Err(too_small(needed));
    }
    let crc = FRAME_CRC.checksum(&out[..body_len]);
    out[body_len..raw_len].copy_from_slice(&crc.to_le_bytes());
    let shift = encoded_len - raw_len;
    out.copy_within(0..raw_len, shift);
    let n = cobs_encode_in_place(out, shift, raw_len);
    out[n] = DELIMITER;
    Ok(&out[..=n])
}

/// COBS-encodes `buf[start..start + len]` into `buf[0..]` and returns the encoded length.
/// Requires `start >= 1 + len / 254` (true for `cobs_max_len(len) - len`): the write index
/// then stays at or below the read index, so no unread byte is overwritten.
fn cobs_encode_in_place(buf: &mut [u8], start: usize, len: usize) -> usize {
    let mut code_at = 0;
    let mut write = 1;
    let mut code: u8 = 1;
    for read in start..start + len {
        let byte = buf[read];
        if byte == 0 {
            buf[code_at] = code;
            code_at = write;
            write += 1;
            code = 1;
        } else {
            buf[write] = byte;
            write += 1;
            code += 1;
            if code == 0xFF {
                buf[code_at] = code;
                code_at = write;
                write += 1;
                code = 1;
            }
        }
    }
    buf[code_at] = code;
    write
}

/// COBS-decodes `buf` in place and returns the decoded length, or `None` if a code byte
/// is zero or points past the end.
fn cobs_decode_in_place(buf: &mut [u8]) -> Option<usize> {
    let mut read = 0;
    let mut write = 0;
    while read < buf.len() {
        let code = buf[read] as usize;
        if code == 0 {
            return None;
        }
        read += 1;
        let run = code - 1;
        if read + run > buf.len() {
            return None;
        }
        buf.copy_within(read..read + run, write);
        write += run;
        read += run;
        if code != 0xFF && read < buf.len() {
            buf[write] = 0;
            write += 1;
        }
    }
    Some(write)
}

/// What one call to [`FrameDecoder::feed`] produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeEvent<T> {
    /// A complete, CRC-checked, decoded message.
    Frame(T),
    /// A frame was bad; the decoder has already skipped to (or will skip to) the next 0x00.
    /// A server answers with `Response::Error` and carries on.
    Error(WireError),
}

/// Reassembles frames from a byte stream in a fixed `N`-byte buffer.
///
/// Feed it whatever the transport delivered, in any split; loop until it returns `None`:
///
/// ```
/// # use cordon_wire::{FrameDecoder, DecodeEvent, RequestFrame};
/// let mut decoder: FrameDecoder = FrameDecoder::new();
/// let mut input: &[u8] = &[0x00];
/// while let Some(event) = decoder.feed::<RequestFrame>(&mut input) {
///     match event {
///         DecodeEvent::Frame(_request) => { /* handle */ }
///         DecodeEvent::Error(_e) => { /* answer with Response::Error */ }
///     }
/// }
/// ```
pub struct FrameDecoder<const N: usize = MAX_FRAME_LEN> {
    /// Encoded bytes of the frame being received (delimiter excluded).
    buf: [u8; N],
    len: usize,
    /// The current frame overflowed and was reported: drop bytes until the next delimiter.
    discarding: bool,
}

impl<const N: usize> fmt::Debug for FrameDecoder<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrameDecoder")
            .field("capacity", &N)
            .field("buffered", &self.len)
            .field("discarding", &self.discarding)
            .finish()
    }
}

impl<const N: usize> Default for FrameDecoder<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> FrameDecoder<N> {
    pub const fn new() -> Self {
        Self {
            buf: [0; N],
            len: 0,
            discarding: false,
        }
    }

    /// Bytes of an incomplete frame currently held.
    pub fn buffered(&self) -> usize {
        self.len
    }

    /// Consumes bytes from the front of `input` until one event is ready or `input` is empty.
    /// Call it again (with what is left) until it returns `None`.
    ///
    /// An over-long frame is reported once, as soon as it overflows, and its remaining bytes
    /// are dropped up to the next 0x00. Empty frames (0x00 0x00) are ignored, so a sender may
    /// send a 0x00 first to flush line noise out of the receiver.
    pub fn feed<T: Message>(&mut self, input: &mut &[u8]) -> Option<DecodeEvent<T>> {
        while !input.is_empty() {
            let (chunk, delimited) = match input.iter().position(|&b| b == DELIMITER) {
                Some(at) => (&input[..at], true),
                None => (&input[..], false),
            };
            *input = &input[chunk.len() + usize::from(delimited)..];

            let mut overflowed = false;
            if !self.discarding {
                let room = N - self.len;
                if chunk.len() <= room {
                    self.buf[self.len..self.len + chunk.len()].copy_from_slice(chunk);
                    self.len += chunk.len();
                } else {
                    self.len = 0;
                    self.discarding = true;
                    overflowed = true;
                }
            }
            if delimited {
                let frame_len = self.len;
                let was_discarding = self.discarding;
                self.len = 0;
                self.discarding = false;
                if !was_discarding && frame_len > 0 {
                    return Some(self.decode(frame_len));
                }
            }
            if overflowed {
                return Some(DecodeEvent::Error(WireError::FrameTooLong {
                    limit: u32::try_from(N).unwrap_or(u32::MAX),
                }));
            }
        }
        None
    }

    fn decode<T: Message>(&mut self, frame_len: usize) -> DecodeEvent<T> {
        match decode_body(&mut self.buf[..frame_len]) {
            Ok(msg) => DecodeEvent::Frame(msg),
            Err(e) => DecodeEvent::Error(e),
        }
    }
}

/// Decodes one frame's bytes (COBS-encoded, delimiter stripped) in place.
pub fn decode_body<T: Message>(encoded: &mut [u8]) -> Result<T, WireError> {
    let raw_len = cobs_decode_in_place(encoded).ok_or(WireError::Malformed)?;
    if raw_len < CRC_LEN {
        return Err(WireError::Truncated {
            len: raw_len as u32,
        });
    }
    let (body, trailer) = encoded[..raw_len].split_at(raw_len - CRC_LEN);
    let mut crc = [0; CRC_LEN];
    crc.copy_from_slice(trailer);
    let expected = u32::from_le_bytes(crc);
    let actual = FRAME_CRC.checksum(body);
    if expected != actual {
        return Err(WireError::BadCrc { expected, actual });
    }
    match postcard::take_from_bytes::<T>(body) {
        Ok((msg, [])) => Ok(msg),
        Ok((_, _trailing)) => Err(WireError::Decode(DecodeKind::TrailingBytes)),
        Err(e) => Err(classify(body, T::VARIANTS, e)),
    }
}

/// Tells an unknown top-level tag (a newer peer: `UnknownRequest`) from a corrupt body.
/// Both frame types start with `id: u32` then the enum tag, each a varint.
fn classify(body: &[u8], variants: u32, e: postcard::Error) -> WireError {
    if let Ok((_id, rest)) = postcard::take_from_bytes::<u32>(body) {
        if let Ok((tag, _)) = postcard::take_from_bytes::<u32>(rest) {
            if tag >= variants {
                return WireError::UnknownRequest { tag };
            }
        }
    }
    WireError::Decode(e.into())
}
