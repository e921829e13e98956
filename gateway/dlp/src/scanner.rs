//! The per-message [`Scanner`]: glues the MIME walker, the transfer
//! decoders, content sniffing, archives and the text pipeline together, all
//! in buffers allocated once at construction.

use std::sync::Arc;

use crate::ctx::Ctx;
use crate::decode::{Base64, QuotedPrintable};
use crate::eml::Eml;
use crate::findings::{Acc, AttachmentAcc, Findings, UnscannableReason as R};
use crate::html::Mode;
use crate::image;
use crate::limits::{SNIFF_BYTES, STAGE_BUFFER_BYTES};
use crate::mime::{Cte, PartInfo, Sink, Walker};
use crate::ole::{self, Ole};
use crate::pdf::Pdf;
use crate::rtf::{self, Rtf};
use crate::text::{charset_for, Charset, TextPipe};
use crate::zip::{self, Format, Level, Readers};
use crate::zipfind::ZipFinder;
use crate::Engine;

/// Scans one message at a time. Create with [`Engine::scanner`], feed the
/// message in any chunking with [`Scanner::feed`], and take the result with
/// [`Scanner::finish`], which also readies the scanner for the next message.
pub struct Scanner {
    engine: Arc<Engine>,
    walker: Walker,
    dec: Decoders,
    leaf: Leaf,
    text: TextPipe,
    zips: Box<[Level]>,
    acc: Acc,
    /// Bytes since the last line feed, for `line_too_long`.
    line_len: usize,
    line_reported: bool,
}

// The scanner holds message text in its buffers: show only its shape.
impl std::fmt::Debug for Scanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scanner")
            .field("walker", &self.walker)
            .field("state_bytes", &self.state_bytes())
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Waiting for the first bytes to decide.
    Sniff,
    Text,
    /// A ZIP, gzip or tar archive (`zip.rs`).
    Archive,
    /// A PDF: strings and inflated content streams (`pdf.rs`).
    Pdf,
    /// RTF: text out of control words (`rtf.rs`).
    Rtf,
    /// Starts like an image: its structure is checked and its bytes are
    /// read as text all the same (`image.rs` says why).
    Image,
    /// Nothing more to read: compressed formats we cannot open (reported),
    /// empty parts.
    Skip,
}

/// Needles searched in the raw bytes of some formats: an OLE compound file
/// with an `EncryptedPackage` stream is a password-protected Office
/// document; a PDF trailer with `/Encrypt` is an encrypted PDF.
const OLE_ENCRYPTED: &[u8] = b"E\0n\0c\0r\0y\0p\0t\0e\0d\0P\0a\0c\0k\0a\0g\0e\0";
const PDF_ENCRYPTED: &[u8] = b"/Encrypt";

/// Transfer decoders of the current leaf part.
struct Decoders {
    cte: Cte,
    b64: Base64,
    qp: QuotedPrintable,
    buf: Box<[u8]>,
}

impl Decoders {
    fn new() -> Decoders {
        Decoders {
            cte: Cte::Identity,
            b64: Base64::default(),
            qp: QuotedPrintable::default(),
            buf: vec![0u8; STAGE_BUFFER_BYTES].into_boxed_slice(),
        }
    }
}

/// Content state of the current leaf part (after transfer decoding).
struct Leaf {
    kind: Kind,
    sniff: Box<[u8; SNIFF_BYTES]>,
    sniff_len: usize,
    /// Declared as text: used when sniffing finds no known format.
    declared_text: bool,
    charset: Option<Charset>,
    markup: Option<Mode>,
    /// Declared `format=flowed` (RFC 3676): `Some(delsp)`.
    flowed: Option<bool>,
    size: u64,
    /// Inflated bytes in this message (budget across all archives).
    inflated: u64,
    detected: &'static str,
    /// Marker searched in the raw bytes, with the tail of the previous
    /// chunk so that a marker split across chunks is found.
    needle: &'static [u8],
    needle_tail: [u8; 40],
    needle_tail_len: usize,
    needle_found: bool,
    attachment: AttachmentAcc,
    record: bool,
    /// The structural check of a part that starts like an image.
    image: image::Check,
    /// Search text/binary parts for a ZIP local header ([`ZIP_LOCAL_SIG`]).
    find_zip: bool,
    /// The search for a ZIP behind other bytes.
    zip: ZipFinder,
    /// The PDF reader: one, used by a PDF part or lent to the archive reader for a PDF entry.
    pdf: Box<Pdf>,
    /// The OLE buffer: one, used by an OLE part or lent to the archive
    /// reader for an OLE entry.
    ole: Box<Ole>,
    /// This part is an OLE file being collected (and read as raw text).
    ole_collect: bool,
    /// The RTF reader of a part that starts with `{\rtf`.
    rtf: Box<Rtf>,
    /// The walker of an attached message (`eml.rs`), lent to the levels.
    eml: Box<Eml>,
}

impl Leaf {
    fn new() -> Leaf {
        Leaf {
            kind: Kind::Skip,
            sniff: Box::new([0; SNIFF_BYTES]),
            sniff_len: 0,
            declared_text: false,
            charset: None,
            markup: None,
            flowed: None,
            size: 0,
            inflated: 0,
            detected: "",
            needle: b"",
            needle_tail: [0; 40],
            needle_tail_len: 0,
            needle_found: false,
            attachment: AttachmentAcc::new(),
            record: false,
            image: image::Check::new(),
            find_zip: false,
            zip: ZipFinder::default(),
            pdf: Box::new(Pdf::new()),
            ole: Box::new(Ole::new()),
            ole_collect: false,
            rtf: Box::new(Rtf::new()),
            eml: Box::new(Eml::new()),
        }
    }
}

impl Scanner {
    pub(crate) fn new(engine: Arc<Engine>) -> Scanner {
        let limits = engine.limits.clone();
        let n = engine.names.len();
        let nesting = limits.max_zip_nesting.max(1);
        Scanner {
            walker: Walker::new(&limits),
            dec: Decoders::new(),
            leaf: Leaf::new(),
            text: TextPipe::new(),
            zips: (0..nesting).map(|i| Level::new(i == 0)).collect(),
            acc: {
                let mut acc = Acc::new(n, &limits);
                acc.fp.size(engine.detectors.fp.bits);
                acc
            },
            engine,
            line_len: 0,
            line_reported: false,
        }
    }

    fn down(&mut self) -> (&mut Walker, Down<'_>) {
        let Scanner {
            engine,
            walker,
            dec,
            leaf,
            text,
            zips,
            acc,
            ..
        } = self;
        (
            walker,
            Down {
                engine,
                dec,
                leaf,
                text,
                zips,
                acc,
            },
        )
    }

    /// Feeds the next bytes of the message (any chunking, including empty).
    pub fn feed(&mut self, chunk: &[u8]) {
        if chunk.is_empty() {
            return;
        }
        self.acc.bytes += chunk.len() as u64;
        self.track_lines(chunk);
        let (walker, mut down) = self.down();
        walker.feed(chunk, &mut down);
    }

    /// Ends the message and returns what was found. The scanner is reset and
    /// ready for the next message.
    pub fn finish(&mut self) -> Findings {
        let (walker, mut down) = self.down();
        walker.finish(&mut down);
        self.acc.parts = self.walker.parts() as u32;
        let mut f = self.acc.findings(&self.engine.names);
        let fp = &self.engine.detectors.fp;
        if !fp.sets.is_empty() {
            f.detectors
                .extend(self.acc.fp.findings(fp, &self.engine.names));
        }
        self.reset();
        f
    }

    /// Collects the winnowed hashes of this message's text instead of matching them (a
    /// protected document being added to a set); [`Scanner::finish_collecting`] ends it.
    pub(crate) fn collect_fingerprints(&mut self) {
        self.acc.fp.collect = Some(crate::findings::Collect::default());
    }

    /// [`Scanner::finish`] for a document being fingerprinted: also hands back its hashes.
    pub(crate) fn finish_collecting(&mut self) -> (Findings, Option<crate::findings::Collect>) {
        let (walker, mut down) = self.down();
        walker.finish(&mut down);
        self.acc.parts = self.walker.parts() as u32;
        let f = self.acc.findings(&self.engine.names);
        let collected = self.acc.fp.collect.take();
        self.reset();
        (f, collected)
    }

    /// Tags every distinct value the identifier and pattern detectors find from now on
    /// with `key` ([`crate::tracking`]): the tags come out in
    /// [`crate::DetectorFinding::value_tags`].
    pub fn track_values(&mut self, key: crate::tracking::ValueKey) {
        let n = self.engine.names.len();
        let tracked = (0..n)
            .map(|det| self.engine.detectors.tracks_values(det))
            .collect();
        self.acc.track_values(key, tracked);
    }

    /// Forgets the current message (e.g. the session aborted DATA).
    pub fn reset(&mut self) {
        self.walker.reset();
        self.text.reset();
        self.acc.reset();
        self.dec.b64.reset();
        self.dec.qp.reset();
        self.leaf.kind = Kind::Skip;
        self.leaf.record = false;
        self.leaf.inflated = 0;
        self.line_len = 0;
        self.line_reported = false;
    }

    /// Bytes of state this scanner owns. Fixed at construction: scanning
    /// never changes it (the memory test checks this over 10,000 messages).
    pub fn state_bytes(&self) -> usize {
        std::mem::size_of::<Scanner>()
            + self.walker.state_bytes()
            + self.dec.buf.len()
            + self.text.state_bytes()
            + self.zips.iter().map(Level::state_bytes).sum::<usize>()
            + self.leaf.pdf.state_bytes()
            + self.leaf.ole.state_bytes()
            + self.leaf.eml.state_bytes()
            + std::mem::size_of::<Rtf>()
            + SNIFF_BYTES
            + self.acc.state_bytes()
    }

    /// Reports `line_too_long` for any line over the limit, looking at one
    /// position per `max_line_bytes` (memrchr), so the check is nearly free.
    fn track_lines(&mut self, chunk: &[u8]) {
        let max = self.engine.limits.max_line_bytes;
        let mut rest = chunk;
        loop {
            let room = max.saturating_sub(self.line_len);
            if rest.len() <= room {
                match memchr::memrchr(b'\n', rest) {
                    Some(p) => self.line_len = rest.len() - p - 1,
                    None => self.line_len += rest.len(),
                }
                return;
            }
            match memchr::memrchr(b'\n', &rest[..room + 1]) {
                Some(p) => {
                    self.line_len = 0;
                    rest = &rest[p + 1..];
                }
                None => {
                    if !self.line_reported {
                        self.line_reported = true;
                        self.acc.unscannable(R::LineTooLong);
                    }
                    match memchr::memchr(b'\n', rest) {
                        Some(q) => {
                            self.line_len = 0;
                            rest = &rest[q + 1..];
                        }
                        None => {
                            self.line_len = max + 1;
                            return;
                        }
                    }
                }
            }
        }
    }
}

/// Everything below the walker, borrowed for one call.
struct Down<'a> {
    engine: &'a Engine,
    dec: &'a mut Decoders,
    leaf: &'a mut Leaf,
    text: &'a mut TextPipe,
    zips: &'a mut [Level],
    acc: &'a mut Acc,
}

/// Content after transfer decoding, borrowed apart from the decoders.
struct Content<'a> {
    engine: &'a Engine,
    leaf: &'a mut Leaf,
    text: &'a mut TextPipe,
    zips: &'a mut [Level],
    acc: &'a mut Acc,
}

impl Down<'_> {
    /// The transfer decoders, and the rest borrowed apart as the sink of decoded content.
    fn split(&mut self) -> (&mut Decoders, Content<'_>) {
        let Down {
            engine,
            dec,
            leaf,
            text,
            zips,
            acc,
        } = self;
        (
            dec,
            Content {
                engine,
                leaf,
                text,
                zips,
                acc,
            },
        )
    }
}

impl Sink for Down<'_> {
    fn location(&mut self, loc: &[u8]) {
        self.acc.location.clear();
        self.acc.location.push_bytes(loc);
    }

    fn header_text(&mut self, text: &[u8]) {
        let det = &self.engine.detectors;
        self.text.begin(None, None);
        self.text.push(det, self.acc, text);
        self.text.end(det, self.acc);
    }

    fn part_begin(&mut self, info: &PartInfo) {
        self.dec.cte = info.cte;
        self.dec.b64.reset();
        self.dec.qp.reset();
        let l = &mut *self.leaf;
        l.size = 0;
        l.sniff_len = 0;
        l.kind = Kind::Sniff;
        l.needle = b"";
        l.needle_tail_len = 0;
        l.needle_found = false;
        l.detected = "";
        let is_text = info.is_type("text") || info.content_type.len() == 0;
        l.declared_text = is_text;
        l.markup = if info.is("text/html") {
            Some(Mode::Html)
        } else if info.is("text/xml") || info.is("application/xml") {
            Some(Mode::Xml)
        } else {
            None
        };
        l.flowed = if info.is("text/plain") {
            info.flowed
        } else {
            None
        };
        l.charset = None;
        match charset_for(&info.charset.as_str_lossy()) {
            Ok(c) => l.charset = c,
            Err(()) => self.acc.unscannable(R::UnknownCharset),
        }
        l.record = info.attachment || info.file_name.len() > 0 || !is_text;
        l.attachment.location = self.acc.location;
        l.attachment.name = info.file_name;
        l.attachment.declared = info.content_type;
    }

    fn part_body(&mut self, bytes: &[u8]) {
        let (dec, mut c) = self.split();
        let mut f = |d: &[u8]| c.push(d);
        match dec.cte {
            Cte::Identity => f(bytes),
            Cte::Base64 => dec.b64.feed(bytes, &mut dec.buf, &mut f),
            Cte::QuotedPrintable => dec.qp.feed(bytes, &mut dec.buf, &mut f),
        }
    }

    fn part_end(&mut self) {
        let (dec, mut c) = self.split();
        let mut f = |d: &[u8]| c.push(d);
        match dec.cte {
            Cte::Identity => {}
            Cte::Base64 => dec.b64.finish(&mut dec.buf, &mut f),
            Cte::QuotedPrintable => dec.qp.finish(&mut dec.buf, &mut f),
        }
        if dec.cte == Cte::Base64 && dec.b64.corrupt() {
            c.acc.unscannable(R::CorruptBase64);
        }
        if dec.cte == Cte::QuotedPrintable && dec.qp.corrupt() {
            c.acc.unscannable(R::CorruptQuotedPrintable);
        }
        c.end();
    }

    fn unscannable(&mut self, reason: R) {
        self.acc.unscannable(reason);
    }
}

impl Content<'_> {
    fn push(&mut self, d: &[u8]) {
        if d.is_empty() {
            return;
        }
        self.leaf.size += d.len() as u64;
        let mut d = d;
        if self.leaf.kind == Kind::Sniff {
            let l = &mut *self.leaf;
            let take = (l.sniff.len() - l.sniff_len).min(d.len());
            l.sniff[l.sniff_len..l.sniff_len + take].copy_from_slice(&d[..take]);
            l.sniff_len += take;
            d = &d[take..];
            if l.sniff_len < l.sniff.len() {
                return;
            }
            self.decide();
        }
        if !self.leaf.needle.is_empty() && !self.leaf.needle_found {
            self.needle(d);
        }
        self.route(d);
    }

    /// What the archive and PDF readers work with: the ZIP levels, the PDF
    /// reader, and the rest of the scanner as their context.
    fn readers(&mut self) -> (&mut [Level], Readers<'_>, Ctx<'_>) {
        let Leaf {
            pdf,
            ole,
            eml,
            inflated,
            detected,
            ..
        } = &mut *self.leaf;
        let rd = Readers {
            pdf: Some(pdf),
            ole: Some(ole),
            eml: Some(eml),
        };
        let ctx = Ctx {
            det: &self.engine.detectors,
            limits: &self.engine.limits,
            acc: self.acc,
            text: self.text,
            inflated,
            detected,
        };
        (self.zips, rd, ctx)
    }

    /// Runs `f` on the RTF reader with the rest of the scanner as its context.
    fn with_rtf(&mut self, f: impl FnOnce(&mut Rtf, &mut Ctx<'_>)) {
        let Leaf {
            rtf,
            inflated,
            detected,
            ..
        } = &mut *self.leaf;
        let mut ctx = Ctx {
            det: &self.engine.detectors,
            limits: &self.engine.limits,
            acc: self.acc,
            text: self.text,
            inflated,
            detected,
        };
        f(rtf, &mut ctx);
    }

    fn route(&mut self, d: &[u8]) {
        if d.is_empty() {
            return;
        }
        let det = &self.engine.detectors;
        match self.leaf.kind {
            Kind::Text if self.leaf.find_zip => self.text_or_zip(d),
            Kind::Text => {
                if self.leaf.ole_collect {
                    self.leaf.ole.push(d);
                }
                self.text.push(det, self.acc, d)
            }
            Kind::Image => {
                // An image with a ZIP appended is a classic polyglot that
                // `unzip` opens: the search goes on in images too.
                self.leaf.image.feed(d);
                self.text_or_zip(d);
            }
            Kind::Archive => {
                let (zips, mut rd, mut ctx) = self.readers();
                let (top, rest) = zips.split_first_mut().expect("at least one level");
                let used = top.feed(rest, &mut ctx, &mut rd, d);
                if used < d.len() {
                    // The archive is over (central directory, or stopped) but
                    // the part goes on: `unzip` ignores what follows, a text
                    // editor shows it. Read it as text, another ZIP included.
                    self.text.begin(None, None);
                    self.leaf.kind = Kind::Text;
                    self.leaf.find_zip = true;
                    self.leaf.zip.reset();
                    self.text_or_zip(&d[used..]);
                }
            }
            Kind::Pdf => {
                let (_, rd, mut ctx) = self.readers();
                if let Some(pdf) = rd.pdf {
                    pdf.feed(&mut ctx, d);
                }
            }
            Kind::Rtf => self.with_rtf(|r, ctx| r.feed(ctx, d)),
            Kind::Skip | Kind::Sniff => {}
        }
    }

    /// Text or binary until a plausible ZIP local header shows up; from
    /// there on the part is an archive (a self-extracting ZIP, an image
    /// with a ZIP appended, any prefix). Every byte before the switch,
    /// candidate header included, goes to the text pipe, so a false
    /// candidate hides nothing. Chunk-invariant: a signature or header
    /// split across feeds is found.
    fn text_or_zip(&mut self, mut d: &[u8]) {
        let det = &self.engine.detectors;
        while !d.is_empty() {
            let (n, header) = self.leaf.zip.step(d);
            self.text.push(det, self.acc, &d[..n]);
            d = &d[n..];
            if let Some(hdr) = header {
                self.text.end(det, self.acc);
                let l = &mut *self.leaf;
                l.kind = Kind::Archive;
                l.detected = "zip";
                l.find_zip = false;
                self.zips[0].begin(Format::Zip);
                self.route(&hdr);
                self.route(d);
                return;
            }
        }
    }

    /// Decides what the part is from its first bytes (not its name or
    /// declared type), then replays those bytes.
    fn decide(&mut self) {
        let l = &mut *self.leaf;
        let s = &l.sniff[..l.sniff_len];
        let mut charset = None;
        let mut markup = None;
        let mut archive = None;
        // A declared text part behind a UTF-16 mark is also read as declared (text.rs, Shadow).
        let mut bom_shadow = false;
        // A part declared text that starts with header fields stays text.
        let sniffed = Format::sniff(s).filter(|&f| f != Format::Eml || !l.declared_text);
        let (kind, detected): (Kind, &'static str) = if let Some(f) = sniffed {
            archive = Some(f);
            (Kind::Archive, f.name())
        } else if let Some(reason) = zip::unreadable_archive(s) {
            self.acc.unscannable(reason);
            (Kind::Skip, "archive")
        } else if s.starts_with(rtf::MAGIC) {
            (Kind::Rtf, "rtf")
        } else if s.starts_with(&ole::MAGIC) {
            // Legacy Office, Outlook, or an encrypted OOXML container: read
            // as raw text while collected, then opened (`ole.rs`).
            l.needle = OLE_ENCRYPTED;
            l.ole_collect = true;
            l.ole.begin();
            (Kind::Text, "ole")
        } else if s.starts_with(b"%PDF") {
            l.needle = PDF_ENCRYPTED;
            (Kind::Pdf, "pdf")
        } else if s.starts_with(b"\xFF\xFE") {
            charset = Some(Charset::Whatwg(encoding_rs::UTF_16LE));
            bom_shadow = l.declared_text;
            (Kind::Text, "text")
        } else if s.starts_with(b"\xFE\xFF") {
            charset = Some(Charset::Whatwg(encoding_rs::UTF_16BE));
            bom_shadow = l.declared_text;
            (Kind::Text, "text")
        } else if let Some(fmt) = image::Format::sniff(s) {
            l.image.begin(fmt);
            (Kind::Image, fmt.name())
        } else if l.declared_text {
            charset = l.charset;
            markup = l.markup;
            (
                Kind::Text,
                if l.markup == Some(Mode::Html) {
                    "html"
                } else {
                    "text"
                },
            )
        } else {
            let texty = s
                .iter()
                .take(8)
                .all(|&b| b >= 0x20 || b"\r\n\t".contains(&b));
            (Kind::Text, if texty { "text" } else { "binary" })
        };
        // A recognised needle found in the sniffed bytes themselves.
        if !l.needle.is_empty() {
            let n = l.sniff_len;
            let mut sn = [0u8; SNIFF_BYTES];
            sn[..n].copy_from_slice(&l.sniff[..n]);
            self.needle(&sn[..n]);
        }
        let l = &mut *self.leaf;
        l.kind = kind;
        l.detected = detected;
        // OLE files are excluded: Office keeps embedded packages there in
        // sectors that need not be contiguous, so a ZIP found in one would
        // read as corrupt.
        l.find_zip = matches!(kind, Kind::Text | Kind::Image) && detected != "ole";
        l.zip.reset();
        let declared = self.leaf.charset;
        // Flowed text is a text part's, never an Office file's behind a text type.
        let flowed = self.leaf.flowed.filter(|_| detected == "text");
        match kind {
            Kind::Text => match charset {
                Some(Charset::Whatwg(bom)) if bom_shadow && !is_utf16(declared) => {
                    self.text.begin_bom(bom, declared)
                }
                _ => {
                    self.text.begin(charset, markup);
                    if let Some(delsp) = flowed {
                        self.text.flowed(delsp);
                    }
                }
            },
            Kind::Image => {
                self.text.begin(None, None);
                self.text.skip_fingerprints();
            }
            Kind::Archive => self.zips[0].begin(archive.unwrap_or(Format::Zip)),
            Kind::Pdf => {
                self.text.begin(None, None);
                self.leaf.pdf.begin();
            }
            Kind::Rtf => {
                self.text.begin(None, None);
                self.leaf.rtf.begin();
            }
            _ => {}
        }
        // Replayed from a copy on the stack: `route` borrows the scanner.
        let n = self.leaf.sniff_len;
        let mut sn = [0u8; SNIFF_BYTES];
        sn[..n].copy_from_slice(&self.leaf.sniff[..n]);
        self.route(&sn[..n]);
    }

    fn end(&mut self) {
        if self.leaf.kind == Kind::Sniff {
            if self.leaf.sniff_len == 0 {
                self.leaf.kind = Kind::Skip;
            } else {
                self.decide();
            }
        }
        let det = &self.engine.detectors;
        match self.leaf.kind {
            Kind::Text => self.text.end(det, self.acc),
            Kind::Image => {
                self.text.end(det, self.acc);
                if !self.leaf.image.finish() {
                    self.acc.unscannable(R::MalformedImage);
                    self.leaf.detected = "binary";
                }
            }
            Kind::Archive => {
                let (zips, mut rd, mut ctx) = self.readers();
                let (top, rest) = zips.split_first_mut().expect("at least one level");
                top.finish(rest, &mut ctx, &mut rd);
            }
            Kind::Pdf => {
                let (_, rd, mut ctx) = self.readers();
                if let Some(pdf) = rd.pdf {
                    pdf.finish(&mut ctx);
                }
                self.text.end(det, self.acc);
            }
            Kind::Rtf => {
                self.with_rtf(|r, ctx| r.finish(ctx));
                self.text.end(det, self.acc);
            }
            _ => {}
        }
        if self.leaf.ole_collect {
            self.leaf.ole_collect = false;
            let (zips, mut rd, mut ctx) = self.readers();
            zip::read_ole(zips, &mut ctx, &mut rd, true);
        }
        if self.leaf.needle_found {
            self.acc.unscannable(R::EncryptedDocument);
        }
        if self.leaf.record {
            let mut a = self.leaf.attachment;
            a.size = self.leaf.size;
            a.detected = if self.leaf.detected.is_empty() {
                "empty"
            } else {
                self.leaf.detected
            };
            self.acc.attachment(&a);
        }
        self.leaf.kind = Kind::Skip;
        self.leaf.record = false;
        self.leaf.find_zip = false;
    }

    fn needle(&mut self, d: &[u8]) {
        let l = &mut *self.leaf;
        let n = l.needle.len();
        let t = l.needle_tail_len;
        let k = d.len().min(n - 1);
        let mut tmp = [0u8; 80];
        tmp[..t].copy_from_slice(&l.needle_tail[..t]);
        tmp[t..t + k].copy_from_slice(&d[..k]);
        if memchr::memmem::find(&tmp[..t + k], l.needle).is_some()
            || memchr::memmem::find(d, l.needle).is_some()
        {
            l.needle_found = true;
            return;
        }
        if d.len() >= n - 1 {
            l.needle_tail[..n - 1].copy_from_slice(&d[d.len() - (n - 1)..]);
            l.needle_tail_len = n - 1;
        } else {
            let all = t + k;
            let keep = all.min(n - 1);
            l.needle_tail[..keep].copy_from_slice(&tmp[all - keep..all]);
            l.needle_tail_len = keep;
        }
    }
}

/// Whether a declared charset is UTF-16 (a mark then agrees with the header).
fn is_utf16(e: Option<Charset>) -> bool {
    e.is_some_and(Charset::is_utf16)
}
