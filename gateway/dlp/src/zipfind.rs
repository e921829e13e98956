//! Finding a ZIP behind other bytes (a self-extractor's stub, an image with a ZIP appended,
//! any prefix), sans-IO: a part or an archive entry read as text or binary is searched for a
//! local header, and read as an archive from there. Chunk-invariant: a signature or header
//! split across feeds is found.

/// A ZIP local file header. Self-extracting archives (and anything else
/// that puts bytes in front of a ZIP) start with a program stub; `unzip`
/// and Python's zipfile find the entries through the central directory, so
/// a part read as text or binary is searched for this signature and read as
/// an archive from there.
pub(crate) const ZIP_LOCAL_SIG: &[u8; 4] = b"PK\x03\x04";

/// A local header's fixed part (APPNOTE 4.3.7), read before a ZIP found by
/// search is believed.
pub(crate) const ZIP_LOCAL_HEADER_BYTES: usize = 30;

/// Whether a candidate local header found inside other bytes looks like
/// one a ZIP writer made: the version needed is one APPNOTE defines (at most
/// 6.3), the method is a documented one, the name is 1 to 1,024 bytes. The
/// signature alone turns up by chance about once in 4 GB of compressed
/// data (2^-32 per position); with these checks, practically never, so a
/// photo does not become a `corrupt_archive`.
pub(crate) fn plausible_local_header(h: &[u8; ZIP_LOCAL_HEADER_BYTES]) -> bool {
    /// Stored, deflate, deflate64, bzip2, LZMA, zstd, MP3, xz, JPEG, WavPack, PPMd, AES (APPNOTE 4.4.5).
    const METHODS: &[u16] = &[0, 8, 9, 12, 14, 93, 94, 95, 96, 97, 98, 99];
    let u16at = |i: usize| u16::from_le_bytes([h[i], h[i + 1]]);
    u16at(4) <= 63 && METHODS.contains(&u16at(8)) && (1..=1024).contains(&u16at(26))
}

/// The search's state between feeds.
#[derive(Debug, Clone, Default)]
pub(crate) struct ZipFinder {
    /// Bytes of [`ZIP_LOCAL_SIG`] matched at the end of the previous feed.
    sig: usize,
    /// A candidate local header being collected (`hdr_len` > 0).
    hdr: [u8; ZIP_LOCAL_HEADER_BYTES],
    hdr_len: usize,
}

impl ZipFinder {
    pub(crate) fn reset(&mut self) {
        self.sig = 0;
        self.hdr_len = 0;
    }

    /// Looks at the start of `d` (not empty): returns how many of its bytes were looked at
    /// (they go on to the text pipe, the candidate header's own bytes included, so a false
    /// candidate hides nothing) and, when a plausible local header ends there, the header:
    /// the archive starts with it, and the bytes after the returned count are its rest.
    pub(crate) fn step(&mut self, d: &[u8]) -> (usize, Option<[u8; ZIP_LOCAL_HEADER_BYTES]>) {
        let sig = ZIP_LOCAL_SIG;
        if self.hdr_len > 0 {
            // Collecting the candidate's fixed header.
            let take = (ZIP_LOCAL_HEADER_BYTES - self.hdr_len).min(d.len());
            self.hdr[self.hdr_len..self.hdr_len + take].copy_from_slice(&d[..take]);
            self.hdr_len += take;
            if self.hdr_len < ZIP_LOCAL_HEADER_BYTES {
                return (take, None);
            }
            self.hdr_len = 0;
            return (take, plausible_local_header(&self.hdr).then_some(self.hdr));
        }
        // Searching; a partial signature at the end of the last feed either continues here
        // or is dropped (no byte repeats in it).
        let k = std::mem::take(&mut self.sig);
        let mut end = None;
        if k > 0 {
            let want = &sig[k..];
            let n = want.len().min(d.len());
            if d[..n] == want[..n] {
                if n < want.len() {
                    self.sig = k + n;
                    return (d.len(), None);
                }
                end = Some(n);
            }
        }
        if end.is_none() {
            end = memchr::memmem::find(d, sig).map(|i| i + sig.len());
        }
        match end {
            None => {
                self.sig = (1..sig.len())
                    .rev()
                    .find(|&m| d.ends_with(&sig[..m]))
                    .unwrap_or(0);
                (d.len(), None)
            }
            Some(end) => {
                self.hdr[..sig.len()].copy_from_slice(sig);
                self.hdr_len = sig.len();
                (end, None)
            }
        }
    }
}
