//! OLE compound files (legacy Office and Outlook): the text each format
//! keeps in its streams, and the files an Outlook message carries.
//!
//! A compound file is a FAT file system inside a file ([MS-CFB]): streams
//! are sector chains in any order, so it cannot be read as it streams in.
//! The part is collected into one buffer of [`OLE_BUFFER_BYTES`], allocated
//! when the scanner is built, and opened with the `cfb` crate over a
//! `Cursor` on it once the part has ended. `cfb` checks the header, the
//! DIFAT and FAT (no sector pointed to twice, so a chain cannot loop back
//! into itself) and the directory tree (loops are errors); its tables are
//! allocated per file and freed after it, bounded by the buffer's size. A
//! larger file is `document_too_large` (its bytes were still read as raw
//! text, as before this reader existed).
//!
//! What is read:
//! - Word 97-2003 (`WordDocument`): the piece table ([MS-DOC] 2.8.35 Clx,
//!   PlcPcd) in the `0Table`/`1Table` stream, each piece as cp1252
//!   ("compressed") or UTF-16LE; cell and paragraph marks become line
//!   breaks. `fEncrypted` in the FIB is `encrypted_document`.
//! - Excel 97-2003 (`Workbook`, BIFF8 [MS-XLS]): the shared strings (SST,
//!   continued over CONTINUE records, where each continued character run
//!   restarts with its own high-byte flag), LABEL, STRING, NUMBER, RK and
//!   MULRK cells. FILEPASS is `encrypted_document`.
//! - PowerPoint 97-2003 (`PowerPoint Document`, [MS-PPT]): every
//!   TextCharsAtom, TextBytesAtom and CString in a walk of the record tree.
//! - Outlook `.msg` ([MS-OXMSG]): every string property (`__substg1.0_*001F`
//!   UTF-16, `*001E` 8-bit: subject, bodies, names, recipients' addresses),
//!   the HTML body (`10130102`) through the HTML stripper, the compressed
//!   RTF body (`10090102`, [MS-OXRTFCP], see `lzfu`) through the RTF
//!   reader, and each
//!   attachment's data (`37010102`) handed to the caller as an embedded
//!   file, which goes through the same pipeline as a ZIP entry. Embedded
//!   messages (`3701000D` storages) are read in place up to
//!   [`MAX_OLE_NESTING`] deep; an attachment that is itself a compound file
//!   (a .doc in a .msg) is opened in place, as a stream of this one.
//! - Any compound file with an `EncryptionInfo`, `EncryptedPackage` or
//!   `EncryptedSummary` stream (password-protected OOXML, encrypted
//!   PowerPoint) is `encrypted_document`.
//!
//! Every byte read from a stream counts against the message's inflate
//! budget ([`crate::Limits::max_inflated_bytes`]), so a piece table whose
//! pieces all point at the same megabytes cannot make the scan unbounded.

use std::io::{Cursor, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use encoding_rs::{Encoding, UTF_16LE, WINDOWS_1252};

use crate::ctx::Ctx;
use crate::findings::UnscannableReason as R;
use crate::html::Mode;
use crate::limits::{MAX_OLE_ENTRIES, MAX_OLE_NESTING, OLE_BUFFER_BYTES, STAGE_BUFFER_BYTES};
use crate::lzfu::Lzfu;
use crate::rtf::Rtf;

/// The signature of a compound file ([MS-CFB] 2.2).
pub(crate) const MAGIC: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// Where the files an Outlook message carries go: the caller reads each
/// through the pipeline an archive entry takes.
pub(crate) trait Files {
    fn begin(&mut self, ctx: &mut Ctx<'_>, name: &[u8]);
    fn data(&mut self, ctx: &mut Ctx<'_>, bytes: &[u8]);
    fn end(&mut self, ctx: &mut Ctx<'_>);
}

/// A seekable reader behind one type, so that a compound file carried
/// inside another (a stream of it) is the same type and the readers are
/// not instantiated once per nesting level.
trait ReadSeek: Read + Seek {}
impl<T: Read + Seek> ReadSeek for T {}

/// A compound file over some seekable reader.
type Cf<'x> = cfb::CompoundFile<&'x mut dyn ReadSeek>;

/// Why reading stopped.
#[derive(Debug)]
enum Stop {
    /// Reported already (a limit), or the format said so.
    Reason(R),
    /// The container or a stream's structure is not what the format says.
    Corrupt,
}

impl From<std::io::Error> for Stop {
    fn from(_: std::io::Error) -> Stop {
        Stop::Corrupt
    }
}

/// One compound file being collected, and the buffers its readers use.
pub(crate) struct Ole {
    buf: Vec<u8>,
    over: bool,
    chunk: Box<[u8]>,
    utf8: Box<[u8]>,
    name: Box<[u8]>,
    name_len: usize,
    nesting_reported: bool,
    /// A message's compressed RTF body is decompressed and read as RTF.
    lzfu: Box<Lzfu>,
    rtf: Box<Rtf>,
}

impl std::fmt::Debug for Ole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ole({} bytes buffered)", self.buf.len())
    }
}

/// A BIFF8 record's data is at most 8,224 bytes ([MS-XLS] 2.1.4).
const MAX_BIFF_RECORD: usize = 8224;
/// Attachment names kept for locations.
const MAX_NAME_BYTES: usize = 256;

impl Ole {
    pub(crate) fn new() -> Ole {
        Ole {
            buf: Vec::with_capacity(OLE_BUFFER_BYTES),
            over: false,
            chunk: vec![0u8; MAX_BIFF_RECORD.max(STAGE_BUFFER_BYTES)].into_boxed_slice(),
            utf8: vec![0u8; 3 * STAGE_BUFFER_BYTES].into_boxed_slice(),
            name: vec![0u8; MAX_NAME_BYTES].into_boxed_slice(),
            name_len: 0,
            nesting_reported: false,
            lzfu: Box::new(Lzfu::new()),
            rtf: Box::new(Rtf::new()),
        }
    }

    pub(crate) fn state_bytes(&self) -> usize {
        std::mem::size_of::<Ole>()
            + self.buf.capacity()
            + self.chunk.len()
            + self.utf8.len()
            + self.name.len()
            + std::mem::size_of::<Lzfu>()
            + std::mem::size_of::<Rtf>()
    }

    /// Starts collecting a compound file.
    pub(crate) fn begin(&mut self) {
        self.buf.clear();
        self.over = false;
        self.nesting_reported = false;
    }

    /// Collects bytes; past the buffer they are dropped and the file is
    /// reported too large at [`Ole::finish`].
    pub(crate) fn push(&mut self, d: &[u8]) {
        let room = OLE_BUFFER_BYTES - self.buf.len();
        if d.len() > room {
            self.over = true;
        }
        self.buf.extend_from_slice(&d[..d.len().min(room)]);
    }

    /// Reads the collected file: text to `ctx.text`, carried files to
    /// `files`. `top` refines the part's detected type.
    pub(crate) fn finish(&mut self, ctx: &mut Ctx<'_>, files: &mut dyn Files, top: bool) {
        if self.over {
            ctx.acc.unscannable(R::DocumentTooLarge);
            return;
        }
        let buf = std::mem::take(&mut self.buf);
        let mut cursor = Cursor::new(&buf[..]);
        let r = match cfb::CompoundFile::open(&mut cursor as &mut dyn ReadSeek) {
            Ok(mut cf) => self.compound(&mut cf, ctx, files, 0, top),
            Err(_) => Err(Stop::Corrupt),
        };
        self.buf = buf;
        self.buf.clear();
        match r {
            Ok(()) => {}
            Err(Stop::Reason(r)) => ctx.acc.unscannable(r),
            Err(Stop::Corrupt) => ctx.acc.unscannable(R::CorruptDocument),
        }
    }

    /// One compound file (the outer one, or one carried by a message).
    fn compound(
        &mut self,
        cf: &mut Cf<'_>,
        ctx: &mut Ctx<'_>,
        files: &mut dyn Files,
        depth: usize,
        top: bool,
    ) -> Result<(), Stop> {
        for s in ["/EncryptionInfo", "/EncryptedPackage", "/EncryptedSummary"] {
            if cf.is_stream(s) {
                return Err(Stop::Reason(R::EncryptedDocument));
            }
        }
        let kind = if cf.is_stream("/WordDocument") {
            "doc"
        } else if cf.is_stream("/Workbook") {
            "xls"
        } else if cf.is_stream("/PowerPoint Document") {
            "ppt"
        } else if cf.is_stream("/__properties_version1.0") {
            "msg"
        } else {
            "ole"
        };
        if top {
            *ctx.detected = kind;
        }
        ctx.text.begin(None, None);
        let r = match kind {
            "doc" => self.word(cf, ctx),
            "xls" => self.excel(cf, ctx),
            "ppt" => self.powerpoint(cf, ctx),
            _ => Ok(()),
        };
        ctx.text.end(ctx.det, ctx.acc);
        r?;
        if kind == "msg" {
            self.message(cf, ctx, files, depth)?;
        }
        Ok(())
    }

    /// Reads `len` bytes of `stream` from `at`, decoded from `enc`, into
    /// the text pipe. Counts against the inflate budget.
    fn text_from(
        &mut self,
        stream: &mut cfb::Stream<&mut dyn ReadSeek>,
        ctx: &mut Ctx<'_>,
        enc: &'static Encoding,
        at: u64,
        mut len: u64,
    ) -> Result<(), Stop> {
        stream.seek(SeekFrom::Start(at))?;
        let mut dec = enc.new_decoder_without_bom_handling();
        while len > 0 {
            let want = len.min(STAGE_BUFFER_BYTES as u64) as usize;
            let n = stream.read(&mut self.chunk[..want])?;
            if n == 0 {
                return Err(Stop::Corrupt);
            }
            len -= n as u64;
            budget(ctx, n)?;
            let (_, _, written, _) = dec.decode_to_utf8(&self.chunk[..n], &mut self.utf8, len == 0);
            push_text(ctx, &mut self.utf8[..written]);
        }
        Ok(())
    }

    /// Word 97-2003: the piece table.
    fn word(&mut self, cf: &mut Cf<'_>, ctx: &mut Ctx<'_>) -> Result<(), Stop> {
        /// FibBase.flags bits ([MS-DOC] 2.5.2).
        const F_ENCRYPTED: u16 = 0x0100;
        const F_WHICH_TBL_STM: u16 = 0x0200;
        /// fcClx is the 34th pair of FibRgFcLcb97.
        const CLX_PAIR: usize = 33;
        let mut wd = cf.open_stream("/WordDocument")?;
        let fib_len = (wd.len() as usize).min(self.chunk.len());
        wd.read_exact(&mut self.chunk[..fib_len])?;
        let fib = &self.chunk[..fib_len];
        if u16_at(fib, 0) != Some(0xA5EC) {
            return Err(Stop::Corrupt);
        }
        let flags = u16_at(fib, 0x0A).ok_or(Stop::Corrupt)?;
        if flags & F_ENCRYPTED != 0 {
            return Err(Stop::Reason(R::EncryptedDocument));
        }
        let csw = usize::from(u16_at(fib, 32).ok_or(Stop::Corrupt)?);
        let p = 34 + 2 * csw;
        let cslw = usize::from(u16_at(fib, p).ok_or(Stop::Corrupt)?);
        let p = p + 2 + 4 * cslw;
        let pairs = usize::from(u16_at(fib, p).ok_or(Stop::Corrupt)?);
        if pairs <= CLX_PAIR {
            return Err(Stop::Corrupt);
        }
        let at = p + 2 + 8 * CLX_PAIR;
        let fc_clx = u64::from(u32_at(fib, at).ok_or(Stop::Corrupt)?);
        let lcb_clx = u64::from(u32_at(fib, at + 4).ok_or(Stop::Corrupt)?);
        let table = if flags & F_WHICH_TBL_STM != 0 {
            "/1Table"
        } else {
            "/0Table"
        };
        let mut tbl = cf.open_stream(table)?;
        if fc_clx + lcb_clx > tbl.len() {
            return Err(Stop::Corrupt);
        }
        // Clx: Prc* (0x01, cbGrpprl, grpprl) then one Pcdt (0x02, lcb, PlcPcd).
        let mut pos = fc_clx;
        let end = fc_clx + lcb_clx;
        let (plc, lcb) = loop {
            if pos + 5 > end {
                return Err(Stop::Corrupt);
            }
            tbl.seek(SeekFrom::Start(pos))?;
            let mut h = [0u8; 5];
            tbl.read_exact(&mut h)?;
            match h[0] {
                1 => pos += 3 + u64::from(u16::from_le_bytes([h[1], h[2]])),
                2 => {
                    break (
                        pos + 5,
                        u64::from(u32::from_le_bytes([h[1], h[2], h[3], h[4]])),
                    )
                }
                _ => return Err(Stop::Corrupt),
            }
        };
        if lcb < 4 || (lcb - 4) % 12 != 0 || plc + lcb > end {
            return Err(Stop::Corrupt);
        }
        let pieces = (lcb - 4) / 12;
        for i in 0..pieces {
            let mut cp = [0u8; 8];
            tbl.seek(SeekFrom::Start(plc + 4 * i))?;
            tbl.read_exact(&mut cp)?;
            let (from, to) = (
                u32::from_le_bytes([cp[0], cp[1], cp[2], cp[3]]),
                u32::from_le_bytes([cp[4], cp[5], cp[6], cp[7]]),
            );
            let mut pcd = [0u8; 8];
            tbl.seek(SeekFrom::Start(plc + 4 * (pieces + 1) + 8 * i))?;
            tbl.read_exact(&mut pcd)?;
            let fc = u32::from_le_bytes([pcd[2], pcd[3], pcd[4], pcd[5]]);
            let chars = u64::from(to.checked_sub(from).ok_or(Stop::Corrupt)?);
            // FcCompressed: bit 30 set means one cp1252 byte per character at fc/2.
            let (enc, at, len) = if fc & 0x4000_0000 != 0 {
                (WINDOWS_1252, u64::from(fc & 0x3FFF_FFFF) / 2, chars)
            } else {
                (UTF_16LE, u64::from(fc), 2 * chars)
            };
            if at + len > wd.len() {
                return Err(Stop::Corrupt);
            }
            self.text_from(&mut wd, ctx, enc, at, len)?;
        }
        Ok(())
    }

    /// Excel 97-2003: shared strings and cells of a BIFF8 workbook.
    fn excel(&mut self, cf: &mut Cf<'_>, ctx: &mut Ctx<'_>) -> Result<(), Stop> {
        const FILEPASS: u16 = 0x002F;
        const SST: u16 = 0x00FC;
        const CONTINUE: u16 = 0x003C;
        const LABEL: u16 = 0x0204;
        const STRING: u16 = 0x0207;
        const NUMBER: u16 = 0x0203;
        const RK: u16 = 0x027E;
        const MULRK: u16 = 0x00BD;
        let mut wb = cf.open_stream("/Workbook")?;
        let mut sst = Sst::default();
        let mut in_sst = false;
        loop {
            let mut h = [0u8; 4];
            match wb.read_exact(&mut h) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
                Err(e) => return Err(e.into()),
            }
            let kind = u16::from_le_bytes([h[0], h[1]]);
            let len = usize::from(u16::from_le_bytes([h[2], h[3]]));
            if len > MAX_BIFF_RECORD {
                return Err(Stop::Corrupt);
            }
            let mut rec = std::mem::take(&mut self.chunk);
            let r = wb.read_exact(&mut rec[..len]);
            let out = match r {
                Err(e) => Err(e.into()),
                Ok(()) => budget(ctx, len).map(|()| {
                    let d = &rec[..len];
                    match kind {
                        FILEPASS => Some(R::EncryptedDocument),
                        SST => {
                            in_sst = true;
                            sst = Sst::default();
                            if d.len() >= 8 {
                                sst.left = u32::from_le_bytes([d[4], d[5], d[6], d[7]]);
                                sst.feed(&d[8..], false, ctx, &mut self.utf8);
                            }
                            None
                        }
                        CONTINUE if in_sst => {
                            sst.feed(d, true, ctx, &mut self.utf8);
                            None
                        }
                        LABEL if d.len() >= 9 => {
                            xl_string(&d[6..], ctx, &mut self.utf8);
                            None
                        }
                        STRING if d.len() >= 3 => {
                            xl_string(d, ctx, &mut self.utf8);
                            None
                        }
                        NUMBER if d.len() >= 14 => {
                            let mut b = [0u8; 8];
                            b.copy_from_slice(&d[6..14]);
                            number(ctx, f64::from_le_bytes(b));
                            None
                        }
                        RK if d.len() >= 10 => {
                            number(ctx, rk(u32::from_le_bytes([d[6], d[7], d[8], d[9]])));
                            None
                        }
                        MULRK if d.len() >= 6 => {
                            for c in d[4..d.len() - 2].chunks_exact(6) {
                                number(ctx, rk(u32::from_le_bytes([c[2], c[3], c[4], c[5]])));
                            }
                            None
                        }
                        _ => None,
                    }
                }),
            };
            self.chunk = rec;
            if kind != CONTINUE && kind != SST {
                in_sst = false;
            }
            match out {
                Ok(None) => {}
                Ok(Some(reason)) => return Err(Stop::Reason(reason)),
                Err(e) => return Err(e),
            }
        }
    }

    /// PowerPoint 97-2003: text atoms anywhere in the record tree.
    fn powerpoint(&mut self, cf: &mut Cf<'_>, ctx: &mut Ctx<'_>) -> Result<(), Stop> {
        const TEXT_CHARS_ATOM: u16 = 0x0FA0;
        const TEXT_BYTES_ATOM: u16 = 0x0FA8;
        const CSTRING: u16 = 0x0FBA;
        let mut s = cf.open_stream("/PowerPoint Document")?;
        let total = s.len();
        let mut pos = 0u64;
        while pos + 8 <= total {
            let mut h = [0u8; 8];
            s.seek(SeekFrom::Start(pos))?;
            s.read_exact(&mut h)?;
            pos += 8;
            let container = h[0] & 0x0F == 0x0F;
            let kind = u16::from_le_bytes([h[2], h[3]]);
            let len = u64::from(u32::from_le_bytes([h[4], h[5], h[6], h[7]]));
            if container {
                // Its children follow: walk into it.
                continue;
            }
            if pos + len > total {
                return Err(Stop::Corrupt);
            }
            match kind {
                TEXT_CHARS_ATOM | CSTRING => self.text_from(&mut s, ctx, UTF_16LE, pos, len)?,
                TEXT_BYTES_ATOM => self.text_from(&mut s, ctx, WINDOWS_1252, pos, len)?,
                _ => {}
            }
            if matches!(kind, TEXT_CHARS_ATOM | CSTRING | TEXT_BYTES_ATOM) {
                ctx.text.push(ctx.det, ctx.acc, b"\n");
            }
            pos += len;
        }
        Ok(())
    }

    /// Outlook message: string properties, the HTML body, attachments.
    fn message(
        &mut self,
        cf: &mut Cf<'_>,
        ctx: &mut Ctx<'_>,
        files: &mut dyn Files,
        depth: usize,
    ) -> Result<(), Stop> {
        let mut streams: Vec<PathBuf> = Vec::new();
        for e in cf.walk() {
            if streams.len() == MAX_OLE_ENTRIES {
                ctx.acc.unscannable(R::ZipEntriesLimit);
                break;
            }
            if e.is_stream() {
                streams.push(e.path().to_path_buf());
            }
        }
        // Embedded messages nest as storages; each level is one
        // `__substg1.0_3701000D` component of the path.
        let nesting = |p: &Path| {
            p.components()
                .filter(|c| c.as_os_str() == "__substg1.0_3701000D")
                .count()
        };
        ctx.text.begin(None, None);
        let mut r = Ok(());
        for p in &streams {
            if depth + nesting(p) > MAX_OLE_NESTING {
                self.nesting_limit(ctx);
                continue;
            }
            let Some(tag) = tag_of(p) else { continue };
            let enc = match tag & 0xFFFF {
                0x001F => UTF_16LE,
                0x001E => WINDOWS_1252,
                _ => continue,
            };
            r = cf.open_stream(p).map_err(Stop::from).and_then(|mut s| {
                let len = s.len();
                self.text_from(&mut s, ctx, enc, 0, len)
            });
            if r.is_err() {
                break;
            }
            ctx.text.push(ctx.det, ctx.acc, b"\n");
        }
        ctx.text.end(ctx.det, ctx.acc);
        r?;
        for p in &streams {
            if depth + nesting(p) > MAX_OLE_NESTING {
                continue;
            }
            match tag_of(p) {
                // PidTagBodyHtml as bytes.
                Some(0x1013_0102) => {
                    let mut s = cf.open_stream(p)?;
                    let len = s.len();
                    ctx.text.begin(None, Some(Mode::Html));
                    let r = self.text_from(&mut s, ctx, encoding_rs::UTF_8, 0, len);
                    ctx.text.end(ctx.det, ctx.acc);
                    r?;
                }
                // PidTagRtfCompressed: the RTF body, which Outlook may keep
                // in no other property.
                Some(0x1009_0102) => {
                    let mut s = cf.open_stream(p)?;
                    self.compressed_rtf(&mut s, ctx)?;
                }
                // PidTagAttachDataBinary: the attached file.
                Some(0x3701_0102) => self.attachment(cf, p, ctx, files, depth + nesting(p))?,
                _ => {}
            }
        }
        Ok(())
    }

    /// A compressed RTF body ([MS-OXRTFCP]) through the RTF reader. Read
    /// and decompressed bytes both count against the inflate budget.
    fn compressed_rtf(&mut self, s: &mut dyn Read, ctx: &mut Ctx<'_>) -> Result<(), Stop> {
        let Ole {
            chunk, lzfu, rtf, ..
        } = self;
        lzfu.begin();
        rtf.begin();
        ctx.text.begin(None, None);
        let mut to_rtf = |ctx: &mut Ctx<'_>, t: &[u8]| {
            *ctx.inflated += t.len() as u64;
            rtf.feed(ctx, t);
        };
        let r = read_all(s, chunk, ctx, &mut |ctx, d| {
            lzfu.feed(d, &mut |t| to_rtf(ctx, t));
        });
        if let Some(reason) = lzfu.finish(&mut |t| to_rtf(ctx, t)) {
            ctx.acc.unscannable(reason);
        }
        rtf.finish(ctx);
        ctx.text.end(ctx.det, ctx.acc);
        r
    }

    fn nesting_limit(&mut self, ctx: &mut Ctx<'_>) {
        if !self.nesting_reported {
            self.nesting_reported = true;
            ctx.acc.unscannable(R::DocumentNestingLimit);
        }
    }

    /// One attachment's data: a compound file is opened in place, anything
    /// else goes to `files` under the attachment's long file name.
    fn attachment(
        &mut self,
        cf: &mut Cf<'_>,
        data: &Path,
        ctx: &mut Ctx<'_>,
        files: &mut dyn Files,
        depth: usize,
    ) -> Result<(), Stop> {
        self.name_len = 0;
        if let Some(dir) = data.parent() {
            for tag in ["__substg1.0_3707001F", "__substg1.0_3704001F"] {
                let np = dir.join(tag);
                if self.name_len == 0 && cf.is_stream(&np) {
                    let mut s = cf.open_stream(&np)?;
                    let mut raw = [0u8; 2 * MAX_NAME_BYTES];
                    let n = s.read(&mut raw)?;
                    let mut dec = UTF_16LE.new_decoder_without_bom_handling();
                    let (_, _, w, _) = dec.decode_to_utf8(&raw[..n & !1], &mut self.name, true);
                    self.name_len = w;
                }
            }
        }
        let mut s = cf.open_stream(data)?;
        let mut head = [0u8; 8];
        let n = s.read(&mut head)?;
        s.seek(SeekFrom::Start(0))?;
        if n == 8 && head == MAGIC {
            if depth + 1 > MAX_OLE_NESTING {
                self.nesting_limit(ctx);
                return Ok(());
            }
            return match cfb::CompoundFile::open(&mut s as &mut dyn ReadSeek) {
                Ok(mut inner) => self.compound(&mut inner, ctx, files, depth + 1, false),
                Err(_) => Err(Stop::Corrupt),
            };
        }
        files.begin(ctx, &self.name[..self.name_len]);
        let r = read_all(&mut s, &mut self.chunk, ctx, &mut |ctx, d| {
            files.data(ctx, d)
        });
        files.end(ctx);
        r
    }
}

/// Reads `s` to its end through `chunk` into `f`, counting every byte
/// against the inflate budget.
fn read_all(
    s: &mut dyn Read,
    chunk: &mut [u8],
    ctx: &mut Ctx<'_>,
    f: &mut dyn FnMut(&mut Ctx<'_>, &[u8]),
) -> Result<(), Stop> {
    loop {
        let n = match s.read(chunk)? {
            0 => return Ok(()),
            n => n,
        };
        budget(ctx, n)?;
        f(ctx, &chunk[..n]);
    }
}

/// Counts `n` bytes read from streams against the message's inflate budget.
fn budget(ctx: &mut Ctx<'_>, n: usize) -> Result<(), Stop> {
    *ctx.inflated += n as u64;
    if *ctx.inflated > ctx.limits.max_inflated_bytes {
        return Err(Stop::Reason(R::InflatedBytesLimit));
    }
    Ok(())
}

/// Pushes decoded text, with Word's cell, row and paragraph marks (and
/// other control characters) turned into line breaks so cells do not merge.
fn push_text(ctx: &mut Ctx<'_>, t: &mut [u8]) {
    for b in t.iter_mut() {
        if *b < 0x20 && *b != b'\t' && *b != b'\n' {
            *b = b'\n';
        }
    }
    ctx.text.push(ctx.det, ctx.acc, t);
}

/// The property tag of a `__substg1.0_PPPPTTTT` stream name.
fn tag_of(p: &Path) -> Option<u32> {
    let name = p.file_name()?.to_str()?;
    let hex = name.strip_prefix("__substg1.0_")?;
    if hex.len() != 8 {
        return None;
    }
    u32::from_str_radix(hex, 16).ok()
}

fn u16_at(d: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_le_bytes([*d.get(i)?, *d.get(i + 1)?]))
}

fn u32_at(d: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes([
        *d.get(i)?,
        *d.get(i + 1)?,
        *d.get(i + 2)?,
        *d.get(i + 3)?,
    ]))
}

/// Decodes characters of an XLUnicodeString body (compressed: one byte
/// each; else UTF-16LE) into the text pipe, followed by a line break.
fn xl_chars(d: &[u8], high: bool, ctx: &mut Ctx<'_>, out: &mut [u8]) {
    let enc = if high { UTF_16LE } else { WINDOWS_1252 };
    let mut dec = enc.new_decoder_without_bom_handling();
    let (_, _, w, _) = dec.decode_to_utf8(d, out, true);
    push_text(ctx, &mut out[..w]);
}

/// An XLUnicodeString: cch, flags, characters.
fn xl_string(d: &[u8], ctx: &mut Ctx<'_>, out: &mut [u8]) {
    let cch = usize::from(u16::from_le_bytes([d[0], d[1]]));
    let high = d[2] & 1 != 0;
    let len = (cch * if high { 2 } else { 1 }).min(d.len() - 3);
    xl_chars(&d[3..3 + len], high, ctx, out);
    ctx.text.push(ctx.det, ctx.acc, b"\n");
}

/// A cell's number as a person would type it: integers without a
/// fraction (card numbers and IDs are stored as numbers), others as Rust
/// prints them.
fn number(ctx: &mut Ctx<'_>, v: f64) {
    use std::io::Write;
    let mut b = [0u8; 40];
    let mut w = Cursor::new(&mut b[..]);
    let ok = if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e20 {
        writeln!(w, "{v:.0}")
    } else {
        writeln!(w, "{v}")
    };
    if ok.is_ok() {
        let n = w.position() as usize;
        ctx.text.push(ctx.det, ctx.acc, &b[..n]);
    }
}

/// An RK number ([MS-XLS] 2.5.217): a 30-bit integer or the top of a
/// double, optionally divided by 100.
fn rk(v: u32) -> f64 {
    let x = if v & 2 != 0 {
        f64::from((v as i32) >> 2)
    } else {
        f64::from_bits(u64::from(v & 0xFFFF_FFFC) << 32)
    };
    if v & 1 != 0 {
        x / 100.0
    } else {
        x
    }
}

/// The shared string table, continued over CONTINUE records.
#[derive(Default)]
struct Sst {
    /// Strings not yet started.
    left: u32,
    /// Characters of the current string not yet read.
    chars: u32,
    high: bool,
    /// Rich-text runs and extended data after the characters.
    skip: u32,
}

impl Sst {
    fn feed(&mut self, d: &[u8], continued: bool, ctx: &mut Ctx<'_>, out: &mut [u8]) {
        let mut i = 0;
        if continued && self.chars > 0 && !d.is_empty() {
            // A continued character run starts with its own high-byte flag.
            self.high = d[0] & 1 != 0;
            i = 1;
        }
        loop {
            if self.chars > 0 {
                let per = if self.high { 2 } else { 1 };
                let take = (self.chars as usize).min((d.len() - i) / per);
                // Decoded in slices the output buffer holds.
                for part in d[i..i + take * per].chunks(out.len() / 3 / per * per) {
                    let enc = if self.high { UTF_16LE } else { WINDOWS_1252 };
                    let mut dec = enc.new_decoder_without_bom_handling();
                    let (_, _, w, _) = dec.decode_to_utf8(part, out, true);
                    push_text(ctx, &mut out[..w]);
                }
                self.chars -= take as u32;
                i += take * per;
                if self.chars > 0 {
                    return;
                }
                ctx.text.push(ctx.det, ctx.acc, b"\n");
            }
            if self.skip > 0 {
                let take = (self.skip as usize).min(d.len() - i);
                self.skip -= take as u32;
                i += take;
                if self.skip > 0 {
                    return;
                }
            }
            if self.left == 0 || d.len() - i < 3 {
                return;
            }
            // XLUnicodeRichExtendedString header: cch, flags, [cRun], [cbExtRst].
            let cch = u32::from(u16::from_le_bytes([d[i], d[i + 1]]));
            let flags = d[i + 2];
            i += 3;
            let mut skip = 0u32;
            if flags & 0x08 != 0 {
                if d.len() - i < 2 {
                    return;
                }
                skip += 4 * u32::from(u16::from_le_bytes([d[i], d[i + 1]]));
                i += 2;
            }
            if flags & 0x04 != 0 {
                if d.len() - i < 4 {
                    return;
                }
                skip += u32::from_le_bytes([d[i], d[i + 1], d[i + 2], d[i + 3]]);
                i += 4;
            }
            self.left -= 1;
            self.chars = cch;
            self.high = flags & 1 != 0;
            self.skip = skip;
            if cch == 0 {
                ctx.text.push(ctx.det, ctx.acc, b"\n");
            }
        }
    }
}
