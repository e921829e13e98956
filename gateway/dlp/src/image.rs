//! Structural checks of the image formats the engine recognises by their
//! magic bytes (PNG, JPEG, GIF), streamed in a few dozen bytes of state.
//!
//! Magic bytes prove nothing: anyone can put `\x89PNG` in front of a text
//! file. So an image is only *called* an image when its whole structure
//! parses: PNG chunks with their CRCs from the signature through `IEND`,
//! JPEG marker segments from SOI through at least one scan to EOI, GIF
//! blocks and sub-blocks through the trailer. No pixel is decoded.
//!
//! A structure that parses still proves nothing about the bytes inside it:
//! JPEG entropy-coded data, PNG chunks and GIF sub-blocks accept any bytes,
//! so text can sit in a perfectly valid image. The scanner therefore reads
//! an image's bytes as text as well (compressed pixel data never forms a
//! validated card number or key); this check only decides whether the part
//! is listed as an image or reported `malformed_image`.

use crc::{Crc, Digest, CRC_32_ISO_HDLC};

/// The PNG signature (PNG spec, section 5.2).
const PNG_SIG: [u8; 8] = *b"\x89PNG\r\n\x1a\n";
/// Chunk lengths are at most 2^31 - 1 (PNG spec, section 5.3).
const PNG_MAX_CHUNK: u32 = 0x7FFF_FFFF;
/// IHDR is always 13 bytes (PNG spec, section 11.2.2).
const PNG_IHDR_BYTES: u32 = 13;
/// The CRC over each PNG chunk's type and data (PNG spec, section 5.5):
/// CRC-32/ISO-HDLC, the CRC of zlib, ZIP and gzip. A static, so its 1 KiB
/// table is built at compile time and shared by every check.
static PNG_CRC: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);

/// The image formats recognised by magic bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    Png,
    Jpeg,
    Gif,
}

impl Format {
    /// The format whose magic bytes start `s` (at least 4 bytes sniffed).
    pub(crate) fn sniff(s: &[u8]) -> Option<Format> {
        if s.starts_with(b"\x89PNG") {
            Some(Format::Png)
        } else if s.starts_with(b"\xFF\xD8\xFF") {
            Some(Format::Jpeg)
        } else if s.starts_with(b"GIF8") {
            Some(Format::Gif)
        } else {
            None
        }
    }

    /// The detected type shown for a well-formed image.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Format::Png => "png",
            Format::Jpeg => "jpeg",
            Format::Gif => "gif",
        }
    }
}

/// Where the walk is. `Field` states collect a fixed number of bytes into
/// `buf`; `Payload` passes over `left` bytes and then goes to `after`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum St {
    PngSig,
    PngHead,
    PngCrc,
    /// Expecting `0xFF` before a marker code.
    JpegFf,
    /// After `0xFF`: fill bytes or the marker code.
    JpegCode,
    JpegLen,
    /// Entropy-coded data after SOS, up to the next marker.
    JpegScan,
    /// In entropy-coded data, after `0xFF`.
    JpegScanFf,
    GifSig,
    GifScreen,
    GifBlock,
    GifImage,
    GifLzw,
    GifSubLen,
    GifExtLabel,
    Payload,
    /// The end marker was read.
    End,
    Broken,
}

/// The CRC of the PNG chunk being read, carried across `feed` calls.
#[derive(Clone)]
struct ChunkCrc(Digest<'static, u32>);

impl std::fmt::Debug for ChunkCrc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChunkCrc({:#010x})", self.0.clone().finalize())
    }
}

/// One image's structural walk.
#[derive(Clone, Debug)]
pub(crate) struct Check {
    fmt: Format,
    st: St,
    /// Where a payload leads.
    after: St,
    buf: [u8; 13],
    have: usize,
    left: u64,
    /// PNG: the running CRC of the chunk type and data.
    crc: ChunkCrc,
    /// PNG: the chunk being read is IEND; JPEG: the segment is SOS.
    last: bool,
    /// PNG: chunks read (the first must be IHDR); JPEG: a scan was seen.
    seen: u32,
}

impl Check {
    pub(crate) const fn new() -> Check {
        Check {
            fmt: Format::Png,
            st: St::Broken,
            after: St::Broken,
            buf: [0; 13],
            have: 0,
            left: 0,
            crc: ChunkCrc(PNG_CRC.digest()),
            last: false,
            seen: 0,
        }
    }

    /// Starts checking a new image of `fmt`, from its first byte.
    pub(crate) fn begin(&mut self, fmt: Format) {
        *self = Check::new();
        self.fmt = fmt;
        self.st = match fmt {
            Format::Png => St::PngSig,
            Format::Jpeg => St::JpegFf,
            Format::Gif => St::GifSig,
        };
    }

    /// Whether everything fed so far is a complete, well-formed image. JPEG
    /// tolerates bytes after EOI (phones append a video to "motion photos";
    /// those bytes are read as text like the rest).
    pub(crate) fn finish(&self) -> bool {
        self.st == St::End
    }

    /// Bytes of the field collected in the current state.
    fn need(&self) -> usize {
        match self.st {
            St::PngSig => 8,
            St::PngHead => 8,
            St::PngCrc => 4,
            St::JpegLen => 2,
            St::GifSig => 6,
            St::GifScreen => 7,
            St::GifImage => 9,
            _ => 1,
        }
        .min(self.buf.len())
    }

    pub(crate) fn feed(&mut self, mut d: &[u8]) {
        while !d.is_empty() {
            match self.st {
                St::Broken => return,
                St::End => {
                    if self.fmt != Format::Jpeg {
                        self.st = St::Broken; // data after IEND / the GIF trailer
                    }
                    return;
                }
                St::Payload => {
                    let take = self.left.min(d.len() as u64) as usize;
                    if self.fmt == Format::Png {
                        self.crc.0.update(&d[..take]);
                    }
                    self.left -= take as u64;
                    d = &d[take..];
                    if self.left == 0 {
                        self.st = self.after;
                    }
                }
                St::JpegScan => match memchr::memchr(0xFF, d) {
                    Some(i) => {
                        self.st = St::JpegScanFf;
                        d = &d[i + 1..];
                    }
                    None => return,
                },
                St::JpegScanFf => {
                    let b = d[0];
                    d = &d[1..];
                    match b {
                        // Stuffed 0xFF, restart markers, fill bytes.
                        0x00 | 0xD0..=0xD7 => self.st = St::JpegScan,
                        0xFF => {}
                        code => self.jpeg_marker(code),
                    }
                }
                St::JpegCode => {
                    let b = d[0];
                    d = &d[1..];
                    if b != 0xFF {
                        self.jpeg_marker(b);
                    }
                }
                St::JpegFf => {
                    let b = d[0];
                    d = &d[1..];
                    self.st = if b == 0xFF { St::JpegCode } else { St::Broken };
                }
                _ => {
                    let need = self.need();
                    let take = (need - self.have).min(d.len());
                    self.buf[self.have..self.have + take].copy_from_slice(&d[..take]);
                    self.have += take;
                    d = &d[take..];
                    if self.have == need {
                        self.have = 0;
                        self.field();
                    }
                }
            }
        }
    }

    fn payload(&mut self, len: u64, after: St) {
        if len == 0 {
            self.st = after;
        } else {
            self.left = len;
            self.after = after;
            self.st = St::Payload;
        }
    }

    /// A fixed-size field is complete in `buf`.
    fn field(&mut self) {
        let b = self.buf;
        match self.st {
            St::PngSig => {
                self.st = if b[..8] == PNG_SIG {
                    St::PngHead
                } else {
                    St::Broken
                }
            }
            St::PngHead => {
                let len = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
                let ty = [b[4], b[5], b[6], b[7]];
                let first_ok = self.seen > 0 || (ty == *b"IHDR" && len == PNG_IHDR_BYTES);
                if len > PNG_MAX_CHUNK || !ty.iter().all(u8::is_ascii_alphabetic) || !first_ok {
                    self.st = St::Broken;
                    return;
                }
                self.seen += 1;
                self.last = ty == *b"IEND";
                if self.last && len != 0 {
                    self.st = St::Broken;
                    return;
                }
                self.crc = ChunkCrc(PNG_CRC.digest());
                self.crc.0.update(&ty);
                self.payload(u64::from(len), St::PngCrc);
            }
            St::PngCrc => {
                let want = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
                let got = std::mem::replace(&mut self.crc, ChunkCrc(PNG_CRC.digest()))
                    .0
                    .finalize();
                self.st = if want != got {
                    St::Broken
                } else if self.last {
                    St::End
                } else {
                    St::PngHead
                };
            }
            St::JpegLen => {
                let len = u16::from_be_bytes([b[0], b[1]]);
                if len < 2 {
                    self.st = St::Broken;
                    return;
                }
                let after = if self.last { St::JpegScan } else { St::JpegFf };
                self.payload(u64::from(len - 2), after);
            }
            St::GifSig => {
                self.st = if &b[..6] == b"GIF87a" || &b[..6] == b"GIF89a" {
                    St::GifScreen
                } else {
                    St::Broken
                }
            }
            St::GifScreen => {
                let table = gif_color_table(b[4]);
                self.payload(table, St::GifBlock);
            }
            St::GifBlock => match b[0] {
                0x2C => self.st = St::GifImage,
                0x21 => self.st = St::GifExtLabel,
                0x3B => self.st = St::End,
                _ => self.st = St::Broken,
            },
            St::GifImage => {
                let table = gif_color_table(b[8]);
                self.payload(table, St::GifLzw);
            }
            St::GifLzw => {
                // LZW minimum code size: 2..=8 in the spec, 1..=11 seen in the wild.
                self.st = if (1..=11).contains(&b[0]) {
                    St::GifSubLen
                } else {
                    St::Broken
                };
            }
            // Any label: its sub-blocks are walked the same way.
            St::GifExtLabel => self.st = St::GifSubLen,
            St::GifSubLen => {
                if b[0] == 0 {
                    self.st = St::GifBlock;
                } else {
                    self.payload(u64::from(b[0]), St::GifSubLen);
                }
            }
            _ => self.st = St::Broken,
        }
    }

    /// A JPEG marker code after its `0xFF` (ITU T.81, table B.1).
    fn jpeg_marker(&mut self, code: u8) {
        let first = self.seen == 0;
        self.seen |= 1;
        self.st = match code {
            0xD8 if first => St::JpegFf,
            // EOI: a complete image only after at least one scan.
            0xD9 if self.seen & 2 != 0 => St::End,
            0xD8 | 0xD9 | 0x00 => St::Broken,
            // TEM and restart markers stand alone.
            0x01 | 0xD0..=0xD7 => St::JpegFf,
            _ if first => St::Broken,
            _ => {
                self.last = code == 0xDA;
                if self.last {
                    self.seen |= 2;
                }
                St::JpegLen
            }
        };
    }
}

/// Bytes of a GIF global or local color table from its packed flags.
fn gif_color_table(flags: u8) -> u64 {
    if flags & 0x80 == 0 {
        0
    } else {
        3 << ((flags & 7) + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_chunk(out: &mut Vec<u8>, ty: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(ty);
        out.extend_from_slice(data);
        let mut crc = PNG_CRC.digest();
        crc.update(ty);
        crc.update(data);
        let crc = crc.finalize();
        out.extend_from_slice(&crc.to_be_bytes());
    }

    pub(crate) fn png() -> Vec<u8> {
        let mut p = PNG_SIG.to_vec();
        png_chunk(&mut p, b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]);
        png_chunk(&mut p, b"IDAT", &[0x78, 0x9C, 0x63, 0, 0, 0, 1, 0, 1]);
        png_chunk(&mut p, b"IEND", &[]);
        p
    }

    fn jpeg() -> Vec<u8> {
        let mut j =
            b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00".to_vec();
        j.extend_from_slice(b"\xFF\xDB\x00\x04\x00\x01"); // DQT (truncated table, structure only)
        j.extend_from_slice(b"\xFF\xC0\x00\x0B\x08\x00\x01\x00\x01\x01\x01\x11\x00");
        j.extend_from_slice(b"\xFF\xDA\x00\x08\x01\x01\x00\x00\x3F\x00");
        j.extend_from_slice(b"\x12\x34\xFF\x00\x56\xFF\xD0\x78");
        j.extend_from_slice(b"\xFF\xD9");
        j
    }

    fn gif() -> Vec<u8> {
        let mut g = b"GIF89a\x01\x00\x01\x00\x80\x00\x00".to_vec();
        g.extend_from_slice(&[0, 0, 0, 255, 255, 255]); // 2-colour global table
        g.extend_from_slice(b"\x21\xF9\x04\x01\x00\x00\x00\x00"); // graphic control
        g.extend_from_slice(b"\x2C\x00\x00\x00\x00\x01\x00\x01\x00\x00");
        g.extend_from_slice(b"\x02\x02\x44\x01\x00\x3B");
        g
    }

    fn check(fmt: Format, data: &[u8], step: usize) -> bool {
        let mut c = Check::new();
        c.begin(fmt);
        for part in data.chunks(step) {
            c.feed(part);
        }
        c.finish()
    }

    #[test]
    fn well_formed_images_pass_in_any_chunking() {
        for (fmt, img) in [
            (Format::Png, png()),
            (Format::Jpeg, jpeg()),
            (Format::Gif, gif()),
        ] {
            assert_eq!(Format::sniff(&img), Some(fmt));
            for step in [1, 2, 3, 7, 64] {
                assert!(check(fmt, &img, step), "{fmt:?} step {step}");
            }
        }
    }

    #[test]
    fn magic_then_text_fails() {
        let text = b" visa 4556 7375 8689 9855 and more text after it";
        for (fmt, magic) in [
            (Format::Png, &PNG_SIG[..]),
            (Format::Jpeg, &b"\xFF\xD8\xFF\xE0"[..]),
            (Format::Gif, &b"GIF89a"[..]),
        ] {
            let mut d = magic.to_vec();
            d.extend_from_slice(text);
            assert!(!check(fmt, &d, 5), "{fmt:?}");
        }
    }

    #[test]
    fn each_broken_structure_fails() {
        // A flipped bit in each PNG chunk breaks its CRC.
        let good = png();
        for at in [12, 20, 40, good.len() - 5] {
            let mut p = good.clone();
            p[at] ^= 1;
            assert!(!check(Format::Png, &p, 4), "png byte {at}");
        }
        // Truncated, or data after the end marker.
        assert!(!check(Format::Png, &good[..good.len() - 1], 4));
        let mut p = good.clone();
        p.extend_from_slice(b"4556737586899855");
        assert!(!check(Format::Png, &p, 4));
        let mut g = gif();
        g.push(b'x');
        assert!(!check(Format::Gif, &g, 3));
        let g = gif();
        assert!(!check(Format::Gif, &g[..g.len() - 2], 3));
        // JPEG without a scan, or cut inside one.
        let j = jpeg();
        let mut no_scan = j[..j.len() - 20].to_vec();
        no_scan.extend_from_slice(b"\xFF\xD9");
        assert!(!check(Format::Jpeg, &no_scan, 3));
        assert!(!check(Format::Jpeg, &j[..j.len() - 2], 3));
        // Bytes after EOI are tolerated (motion photos); the scanner reads them as text.
        let mut j2 = j.clone();
        j2.extend_from_slice(b"ftypmp42");
        assert!(check(Format::Jpeg, &j2, 3));
    }

    #[test]
    fn crc_matches_the_reference_value() {
        // The standard check value of CRC-32/ISO-HDLC.
        assert_eq!(PNG_CRC.checksum(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn iend_chunk_carries_its_well_known_crc() {
        // Every PNG ends in the same 12 bytes: IEND's CRC is AE 42 60 82.
        let mut c = Vec::new();
        png_chunk(&mut c, b"IEND", &[]);
        assert_eq!(c, b"\0\0\0\0IEND\xAE\x42\x60\x82");
        // The CRC carried across feeds of one byte gives the same answer.
        let mut p = png();
        assert!(check(Format::Png, &p, 1));
        let n = p.len();
        p[n - 1] ^= 1;
        assert!(!check(Format::Png, &p, 1));
    }
}
