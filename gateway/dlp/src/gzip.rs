//! The member header of a gzip file (RFC 1952 §2.3), read byte by byte as
//! it arrives; the deflate data after it goes through the archive level's
//! inflater (`zip.rs`). Hand-written because flate2's `GzDecoder` pulls
//! from a `Read` while the engine is pushed bytes, and the header is a few
//! fixed fields and two NUL-terminated strings.

use crate::limits::MAX_ZIP_NAME_BYTES;

/// ID1 ID2: the first bytes of every member.
pub(crate) const MAGIC: [u8; 2] = [0x1F, 0x8B];
/// Bytes of the trailer after the deflate data: CRC-32 and ISIZE.
pub(crate) const TRAILER: usize = 8;

const FHCRC: u8 = 1 << 1;
const FEXTRA: u8 = 1 << 2;
const FNAME: u8 = 1 << 3;
const FCOMMENT: u8 = 1 << 4;
/// Bits RFC 1952 reserves: "must be zero".
const RESERVED: u8 = 0xE0;
/// CM 8: deflate, the only method RFC 1952 defines.
const CM_DEFLATE: u8 = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum St {
    Fixed,
    ExtraLen,
    Extra,
    Name,
    Comment,
    Crc,
    Done,
}

/// What the header turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// More bytes are needed.
    More,
    /// The header ended; the deflate data starts after the bytes used.
    Deflate,
    /// Not a gzip header (bad magic or reserved flags).
    Corrupt,
    /// A method other than deflate.
    Unsupported,
}

/// A member header being read.
pub(crate) struct Header {
    st: St,
    fixed: [u8; 10],
    have: usize,
    remaining: usize,
    /// FNAME, the original file name, cut at [`MAX_ZIP_NAME_BYTES`].
    pub(crate) name: [u8; MAX_ZIP_NAME_BYTES],
    pub(crate) name_len: usize,
}

impl Header {
    pub(crate) fn new() -> Header {
        Header {
            st: St::Fixed,
            fixed: [0; 10],
            have: 0,
            remaining: 0,
            name: [0; MAX_ZIP_NAME_BYTES],
            name_len: 0,
        }
    }

    pub(crate) fn reset(&mut self) {
        self.st = St::Fixed;
        self.have = 0;
        self.name_len = 0;
    }

    /// Reads header bytes; returns the outcome and the bytes used.
    pub(crate) fn feed(&mut self, data: &[u8]) -> (Outcome, usize) {
        let mut i = 0;
        while i < data.len() {
            let b = data[i];
            match self.st {
                St::Fixed => {
                    self.fixed[self.have] = b;
                    self.have += 1;
                    i += 1;
                    if self.have == 2 && self.fixed[..2] != MAGIC {
                        return (Outcome::Corrupt, i);
                    }
                    if self.have == 10 {
                        let flg = self.fixed[3];
                        if flg & RESERVED != 0 {
                            return (Outcome::Corrupt, i);
                        }
                        if self.fixed[2] != CM_DEFLATE {
                            return (Outcome::Unsupported, i);
                        }
                        self.have = 0;
                        self.st = St::ExtraLen;
                        self.next_field(0);
                    }
                }
                St::ExtraLen => {
                    self.remaining |= usize::from(b) << (8 * self.have);
                    self.have += 1;
                    i += 1;
                    if self.have == 2 {
                        self.st = St::Extra;
                        if self.remaining == 0 {
                            self.next_field(1);
                        }
                    }
                }
                St::Extra => {
                    let take = self.remaining.min(data.len() - i);
                    self.remaining -= take;
                    i += take;
                    if self.remaining == 0 {
                        self.next_field(1);
                    }
                }
                St::Name | St::Comment => {
                    i += 1;
                    if b == 0 {
                        let at = if self.st == St::Name { 2 } else { 3 };
                        self.next_field(at);
                    } else if self.st == St::Name && self.name_len < MAX_ZIP_NAME_BYTES {
                        self.name[self.name_len] = b;
                        self.name_len += 1;
                    }
                }
                St::Crc => {
                    self.have += 1;
                    i += 1;
                    if self.have == 2 {
                        self.st = St::Done;
                    }
                }
                St::Done => {}
            }
            if self.st == St::Done {
                return (Outcome::Deflate, i);
            }
        }
        (Outcome::More, i)
    }

    /// Moves to the first optional field at or after `from` (0 extra, 1
    /// name, 2 comment, 3 header CRC) that the flags announce.
    fn next_field(&mut self, from: u8) {
        let flg = self.fixed[3];
        self.have = 0;
        self.remaining = 0;
        self.st = match from {
            0 if flg & FEXTRA != 0 => St::ExtraLen,
            0 | 1 if flg & FNAME != 0 => St::Name,
            0..=2 if flg & FCOMMENT != 0 => St::Comment,
            0..=3 if flg & FHCRC != 0 => St::Crc,
            _ => St::Done,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_with_every_optional_field_end_where_the_data_starts() {
        // As gzip 1.12 writes `gzip -N`: FNAME set.
        let mut h = vec![
            0x1F,
            0x8B,
            8,
            FNAME | FEXTRA | FCOMMENT | FHCRC,
            0,
            0,
            0,
            0,
            0,
            3,
        ];
        h.extend_from_slice(&[3, 0, b'a', b'b', b'c']);
        h.extend_from_slice(b"report.csv\0a comment\0");
        h.extend_from_slice(&[0x12, 0x34]);
        let header_len = h.len();
        h.extend_from_slice(b"DATA");
        for chunk in [1, 3, h.len()] {
            let mut g = Header::new();
            let mut used = 0;
            let mut out = Outcome::More;
            for c in h.chunks(chunk) {
                let (o, n) = g.feed(c);
                used += n;
                out = o;
                if o != Outcome::More {
                    break;
                }
            }
            assert_eq!((out, used), (Outcome::Deflate, header_len), "chunk {chunk}");
            assert_eq!(&g.name[..g.name_len], b"report.csv");
        }
        let plain = [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3, 0xAA];
        assert_eq!(Header::new().feed(&plain), (Outcome::Deflate, 10));
        assert_eq!(Header::new().feed(&[0x1F, 0x8C]).0, Outcome::Corrupt);
        let reserved = [0x1F, 0x8B, 8, 0x20, 0, 0, 0, 0, 0, 3];
        assert_eq!(Header::new().feed(&reserved).0, Outcome::Corrupt);
        let method = [0x1F, 0x8B, 7, 0, 0, 0, 0, 0, 0, 3];
        assert_eq!(Header::new().feed(&method).0, Outcome::Unsupported);
    }
}
