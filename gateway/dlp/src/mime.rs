//! Streaming MIME walker (RFC 2045/2046, RFC 5322 headers).
//!
//! Bytes go in as they arrive; the walker keeps only what it must: the
//! header fields it needs (Content-*, Subject, From/To/Cc) in a fixed buffer,
//! a stack of active multipart boundaries, and one partial line at a line
//! start that might be a boundary. Header blocks are decoded with
//! mail-parser (RFC 2047 words, RFC 2231 parameters). Body bytes are handed
//! to a [`Sink`] part by part; a `message/rfc822` part simply continues the
//! walk with a new header block, so forwarded chains nest naturally and end
//! at the enclosing boundary.
//!
//! Part paths follow IMAP numbering of multipart children (`2.1`); a limit
//! on depth or part count turns the rest into raw text, reported
//! `unscannable`, so crafted nesting costs linear time.

use mail_parser::{MessageParser, MimeHeaders};

use crate::findings::{FixedStr, UnscannableReason as R};
use crate::limits::{Limits, MAX_BOUNDARY_BYTES, MAX_FIELD_NAME_BYTES};

/// Transfer encoding of a part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cte {
    Identity,
    Base64,
    QuotedPrintable,
}

/// What the walker learnt about a leaf part from its headers.
#[derive(Debug)]
pub(crate) struct PartInfo {
    /// `type/subtype`, lowercase.
    pub(crate) content_type: FixedStr<96>,
    pub(crate) charset: FixedStr<40>,
    pub(crate) cte: Cte,
    pub(crate) file_name: FixedStr<128>,
    pub(crate) attachment: bool,
    /// `format=flowed` (RFC 3676): `Some(delsp)`.
    pub(crate) flowed: Option<bool>,
}

impl PartInfo {
    fn new() -> PartInfo {
        PartInfo {
            content_type: FixedStr::new(),
            charset: FixedStr::new(),
            cte: Cte::Identity,
            file_name: FixedStr::new(),
            attachment: false,
            flowed: None,
        }
    }
    fn clear(&mut self) {
        self.content_type.clear();
        self.charset.clear();
        self.cte = Cte::Identity;
        self.file_name.clear();
        self.attachment = false;
        self.flowed = None;
    }
    pub(crate) fn is(&self, t: &str) -> bool {
        self.content_type.as_bytes() == t.as_bytes()
    }
    pub(crate) fn is_type(&self, t: &str) -> bool {
        let ct = self.content_type.as_bytes();
        ct.len() > t.len() && ct.starts_with(t.as_bytes()) && ct[t.len()] == b'/'
    }
}

/// Receiver of the walk.
pub(crate) trait Sink {
    /// The location (part path, file name) of what follows.
    fn location(&mut self, loc: &[u8]);
    /// Decoded header text of a message (Subject, display names).
    fn header_text(&mut self, text: &[u8]);
    fn part_begin(&mut self, info: &PartInfo);
    fn part_body(&mut self, bytes: &[u8]);
    fn part_end(&mut self);
    fn unscannable(&mut self, reason: R);
}

#[derive(Clone, Copy)]
struct Frame {
    boundary: [u8; MAX_BOUNDARY_BYTES],
    len: usize,
    /// A second boundary when the header named two (see [`Raw`]): lines of either end a
    /// part, since mail clients differ in which one they take.
    alt: [u8; MAX_BOUNDARY_BYTES],
    alt_len: usize,
    child: u32,
    /// Message nesting when this multipart began, restored when its
    /// boundary ends deeper forwarded messages.
    msg_depth: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum St {
    /// At the start of a header line.
    HLineStart,
    /// Saw CR at a header line start.
    HBlankCr,
    /// Reading a field name.
    HName,
    /// Reading a field value (kept or skipped).
    HValue,
    /// Body of a leaf part.
    Body,
    /// Between boundaries of a multipart (preamble, or after a nested close).
    Preamble,
    /// After the outermost close delimiter.
    Epilogue,
    /// Limits hit: everything left is one raw text part.
    Raw,
}

/// The walker's fixed state.
pub(crate) struct Walker {
    st: St,
    frames: Box<[Frame]>,
    depth: usize,
    msg_depth: usize,
    hdr: Box<[u8]>,
    hdr_len: usize,
    hdr_overflow: bool,
    keep: bool,
    name: [u8; MAX_FIELD_NAME_BYTES],
    name_len: usize,
    /// Whether the header block being read belongs to a message (root or
    /// `message/rfc822`) rather than a body part.
    is_message: bool,
    fields_seen: usize,
    line: [u8; MAX_BOUNDARY_BYTES + 8],
    line_len: usize,
    collecting: bool,
    at_line_start: bool,
    skip_to_eol: bool,
    in_leaf: bool,
    parts: usize,
    info: PartInfo,
    hdr_text: Box<[u8]>,
    max_depth: usize,
    max_parts: usize,
}

impl std::fmt::Debug for Walker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Walker({:?}, depth {})", self.st, self.depth)
    }
}

/// Header fields the walker keeps; the rest (Received, DKIM, ARC...) is
/// skipped without buffering.
const KEPT: &[&[u8]] = &[
    b"content-type",
    b"content-transfer-encoding",
    b"content-disposition",
    b"subject",
    b"from",
    b"to",
    b"cc",
    b"reply-to",
];

impl Walker {
    pub(crate) fn new(limits: &Limits) -> Walker {
        Walker {
            st: St::HLineStart,
            frames: vec![
                Frame {
                    boundary: [0; MAX_BOUNDARY_BYTES],
                    alt: [0; MAX_BOUNDARY_BYTES],
                    alt_len: 0,
                    len: 0,
                    child: 0,
                    msg_depth: 0,
                };
                limits.max_mime_depth
            ]
            .into_boxed_slice(),
            depth: 0,
            msg_depth: 0,
            hdr: vec![0u8; limits.max_header_bytes + 4].into_boxed_slice(),
            hdr_len: 0,
            hdr_overflow: false,
            keep: false,
            name: [0; MAX_FIELD_NAME_BYTES],
            name_len: 0,
            is_message: true,
            fields_seen: 0,
            line: [0; MAX_BOUNDARY_BYTES + 8],
            line_len: 0,
            collecting: false,
            at_line_start: true,
            skip_to_eol: false,
            in_leaf: false,
            parts: 0,
            info: PartInfo::new(),
            hdr_text: vec![0u8; limits.max_header_bytes].into_boxed_slice(),
            max_depth: limits.max_mime_depth,
            max_parts: limits.max_parts,
        }
    }

    pub(crate) fn state_bytes(&self) -> usize {
        std::mem::size_of_val(&*self.frames) + self.hdr.len() + self.hdr_text.len()
    }

    pub(crate) fn reset(&mut self) {
        self.st = St::HLineStart;
        self.depth = 0;
        self.msg_depth = 0;
        self.hdr_len = 0;
        self.hdr_overflow = false;
        self.keep = false;
        self.name_len = 0;
        self.is_message = true;
        self.fields_seen = 0;
        self.line_len = 0;
        self.collecting = false;
        self.at_line_start = true;
        self.skip_to_eol = false;
        self.in_leaf = false;
        self.parts = 0;
        self.info.clear();
    }

    pub(crate) fn parts(&self) -> usize {
        self.parts
    }

    pub(crate) fn feed(&mut self, mut data: &[u8], sink: &mut impl Sink) {
        if self.parts == 0 && self.st == St::HLineStart && self.hdr_len == 0 && !data.is_empty() {
            self.parts = 1;
            self.set_location(sink, b"header");
        }
        while !data.is_empty() {
            let used = match self.st {
                St::HLineStart | St::HBlankCr | St::HName | St::HValue => self.header(data, sink),
                St::Raw => {
                    sink.part_body(data);
                    data.len()
                }
                St::Body | St::Preamble | St::Epilogue => self.body(data, sink),
            };
            data = &data[used..];
        }
    }

    /// End of message.
    pub(crate) fn finish(&mut self, sink: &mut impl Sink) {
        let in_headers = matches!(
            self.st,
            St::HLineStart | St::HBlankCr | St::HName | St::HValue
        );
        if in_headers && (self.hdr_len > 0 || self.fields_seen > 0) {
            self.headers_done(sink);
        }
        if self.collecting {
            self.collecting = false;
            let n = self.line_len;
            let line = self.line;
            self.content(&line[..n], sink);
        }
        if self.in_leaf {
            sink.part_end();
            self.in_leaf = false;
        }
        // In raw mode the closing boundaries were not looked for.
        if self.depth > 0 && self.st != St::Raw {
            sink.unscannable(R::Truncated);
        }
    }

    // ---- headers -------------------------------------------------------

    fn header(&mut self, data: &[u8], sink: &mut impl Sink) -> usize {
        let c = data[0];
        match self.st {
            St::HLineStart => match c {
                b'\n' => {
                    self.headers_done(sink);
                    return 1;
                }
                b'\r' => self.st = St::HBlankCr,
                b' ' | b'\t' => {
                    // Folded continuation of the previous field.
                    self.st = St::HValue;
                    return 0;
                }
                _ => {
                    self.name_len = 0;
                    self.st = St::HName;
                    return 0;
                }
            },
            St::HBlankCr => {
                if c == b'\n' {
                    self.headers_done(sink);
                    return 1;
                }
                // A lone CR: treat as part of a field name.
                self.name_len = 0;
                self.st = St::HName;
                return 0;
            }
            St::HName => {
                let mut i = 0;
                while i < data.len() {
                    let b = data[i];
                    if b == b':' {
                        let name = &self.name[..self.name_len];
                        let trimmed = name.trim_ascii_end();
                        self.keep = KEPT.iter().any(|k| k.eq_ignore_ascii_case(trimmed));
                        self.fields_seen += 1;
                        if self.keep {
                            let n = self.name_len;
                            let nm = self.name;
                            self.hdr_push(&nm[..n]);
                            self.hdr_push(b":");
                        }
                        self.st = St::HValue;
                        return i + 1;
                    }
                    let printable = (33..=126).contains(&b) || b == b' ' || b == b'\t';
                    if !printable || self.name_len >= MAX_FIELD_NAME_BYTES {
                        // Not a header field: the header block ended without a
                        // blank line and this line is body text.
                        let n = self.name_len;
                        let nm = self.name;
                        self.headers_done(sink);
                        self.at_line_start = n == 0;
                        self.content(&nm[..n], sink);
                        return i;
                    }
                    self.name[self.name_len] = b;
                    self.name_len += 1;
                    i += 1;
                }
                return data.len();
            }
            St::HValue => {
                let end = memchr::memchr(b'\n', data);
                let take = end.map_or(data.len(), |p| p + 1);
                if self.keep {
                    self.hdr_push(&data[..take]);
                }
                if end.is_some() {
                    self.st = St::HLineStart;
                }
                return take;
            }
            _ => unreachable!("header states only"),
        }
        1
    }

    fn hdr_push(&mut self, b: &[u8]) {
        let room = self.hdr.len() - 4 - self.hdr_len;
        if b.len() > room {
            self.hdr_overflow = true;
        }
        let take = b.len().min(room);
        self.hdr[self.hdr_len..self.hdr_len + take].copy_from_slice(&b[..take]);
        self.hdr_len += take;
    }

    fn set_location(&self, sink: &mut impl Sink, suffix: &[u8]) {
        let mut loc = FixedStr::<{ crate::limits::MAX_LOCATION_BYTES }>::new();
        for (i, f) in self.frames[..self.depth].iter().enumerate() {
            if i > 0 {
                loc.push_bytes(b".");
            }
            loc.push_u32(f.child);
        }
        if self.depth == 0 && suffix != b"header" {
            loc.push_bytes(b"1");
        }
        if !suffix.is_empty() {
            if loc.len() > 0 {
                loc.push_bytes(b"/");
            }
            loc.push_bytes(suffix);
        }
        sink.location(loc.as_bytes());
    }

    /// A header block is complete: decode it and decide what its body is.
    fn headers_done(&mut self, sink: &mut impl Sink) {
        if self.hdr_overflow {
            sink.unscannable(R::HeaderTooLarge);
        }
        let n = self.hdr_len;
        self.hdr[n..n + 2].copy_from_slice(b"\n\n");
        self.info.clear();
        let mut ctype_main = FixedStr::<96>::new();
        let mut boundary = FixedStr::<{ MAX_BOUNDARY_BYTES + 1 }>::new();
        let mut text_len = 0;
        let mut hdr_text = std::mem::take(&mut self.hdr_text);
        if let Some(msg) = MessageParser::new().parse_headers(&self.hdr[..n + 2]) {
            if let Some(ct) = msg.content_type() {
                ctype_main.push_str(&ct.ctype().to_ascii_lowercase());
                self.info
                    .content_type
                    .push_str(&ct.ctype().to_ascii_lowercase());
                self.info.content_type.push_str("/");
                self.info
                    .content_type
                    .push_str(&ct.subtype().unwrap_or("").to_ascii_lowercase());
                if let Some(b) = ct.attribute("boundary") {
                    boundary.push_str(b);
                }
                if let Some(cs) = ct.attribute("charset") {
                    self.info.charset.push_str(cs);
                }
                if ct
                    .attribute("format")
                    .is_some_and(|f| f.eq_ignore_ascii_case("flowed"))
                {
                    let delsp = ct
                        .attribute("delsp")
                        .is_some_and(|d| d.eq_ignore_ascii_case("yes"));
                    self.info.flowed = Some(delsp);
                }
            }
            if let Some(d) = msg.content_disposition() {
                self.info.attachment = d.ctype().eq_ignore_ascii_case("attachment");
            }
            let mut w = |s: &str| {
                let b = s.as_bytes();
                let take = b.len().min(hdr_text.len().saturating_sub(text_len + 1));
                hdr_text[text_len..text_len + take].copy_from_slice(&b[..take]);
                text_len += take;
                if text_len < hdr_text.len() {
                    hdr_text[text_len] = b'\n';
                    text_len += 1;
                }
            };
            if let Some(name) = msg.attachment_name() {
                self.info.file_name.push_str(name);
                // A file's name is words its recipient reads first (`card 4556….txt`).
                w(name);
            }
            if self.is_message {
                if let Some(s) = msg.subject() {
                    w(s);
                }
                for list in [msg.from(), msg.to(), msg.cc()].into_iter().flatten() {
                    for mb in list.iter() {
                        if let Some(name) = mb.name() {
                            w(name);
                        }
                    }
                }
            }
        }
        // What mail-parser takes one way, clients take several: read the raw fields too
        // (`Raw`), and decode and split as any client might.
        let raw = Raw::read(&self.hdr[..n]);
        self.info.cte = raw.cte;
        let mut alt = FixedStr::<{ MAX_BOUNDARY_BYTES + 1 }>::new();
        if raw.multipart && raw.boundaries[0].len() > 0 {
            if ctype_main.as_bytes() != b"multipart" || boundary.len() == 0 {
                ctype_main = FixedStr::new();
                ctype_main.push_str("multipart");
                boundary = raw.boundaries[0];
            }
            for b in &raw.boundaries {
                if b.len() > 0 && b.as_bytes() != boundary.as_bytes() && alt.len() == 0 {
                    alt = *b;
                }
            }
        }
        if text_len > 0 {
            sink.header_text(&hdr_text[..text_len]);
        }
        self.hdr_text = hdr_text;
        self.hdr_len = 0;
        self.hdr_overflow = false;
        self.fields_seen = 0;
        self.at_line_start = true;
        self.collecting = false;

        let total_depth = self.depth + self.msg_depth;
        let main = ctype_main.as_bytes();
        if main == b"multipart" && boundary.len() > 0 {
            if boundary.len() > MAX_BOUNDARY_BYTES {
                sink.unscannable(R::BoundaryTooLong);
                return self.begin_leaf_raw(sink);
            }
            if total_depth + 1 > self.max_depth || self.depth >= self.frames.len() {
                sink.unscannable(R::MimeDepthLimit);
                return self.begin_leaf_raw(sink);
            }
            let f = &mut self.frames[self.depth];
            f.len = boundary.len();
            f.boundary[..f.len].copy_from_slice(boundary.as_bytes());
            f.alt_len = if alt.len() <= MAX_BOUNDARY_BYTES {
                alt.len()
            } else {
                0
            };
            f.alt[..f.alt_len].copy_from_slice(&alt.as_bytes()[..f.alt_len]);
            f.child = 0;
            f.msg_depth = self.msg_depth;
            self.depth += 1;
            self.st = St::Preamble;
            return;
        }
        if (self.info.is("message/rfc822") || self.info.is("message/global"))
            && self.info.cte == Cte::Identity
        {
            if total_depth + 1 > self.max_depth {
                sink.unscannable(R::MimeDepthLimit);
                return self.begin_leaf_raw(sink);
            }
            // The body is a message: read its header block next.
            self.msg_depth += 1;
            self.is_message = true;
            self.set_location(sink, b"header");
            self.st = St::HLineStart;
            return;
        }
        let suffix = self.info.file_name;
        self.set_location(sink, suffix.as_bytes());
        if self.info.is("message/partial") {
            // A fragment: read as text below, and named, since what was cut between
            // fragments is in no message cordon sees.
            sink.unscannable(R::PartialMessage);
        }
        sink.part_begin(&self.info);
        self.in_leaf = true;
        self.st = St::Body;
    }

    /// Gives up on structure: the rest of this part (and everything nested
    /// in it) is scanned as raw text.
    fn begin_leaf_raw(&mut self, sink: &mut impl Sink) {
        self.info.clear();
        self.info.content_type.push_str("text/plain");
        sink.part_begin(&self.info);
        self.in_leaf = true;
        self.st = St::Body;
    }

    // ---- bodies and boundaries ----------------------------------------

    fn content(&mut self, bytes: &[u8], sink: &mut impl Sink) {
        if bytes.is_empty() {
            return;
        }
        match self.st {
            St::Body | St::Raw => sink.part_body(bytes),
            _ => {}
        }
    }

    fn body(&mut self, data: &[u8], sink: &mut impl Sink) -> usize {
        if self.skip_to_eol {
            return match memchr::memchr(b'\n', data) {
                Some(p) => {
                    self.skip_to_eol = false;
                    self.at_line_start = true;
                    p + 1
                }
                None => data.len(),
            };
        }
        if self.depth == 0 {
            // No boundary can end this part: everything is content.
            self.content(data, sink);
            return data.len();
        }
        if self.collecting {
            return self.collect(data, sink);
        }
        if self.at_line_start {
            if data[0] == b'-' {
                self.collecting = true;
                self.line_len = 0;
                return self.collect(data, sink);
            }
            self.at_line_start = false;
        }
        match memchr::memmem::find(data, b"\n-") {
            Some(p) => {
                self.content(&data[..p + 1], sink);
                self.at_line_start = true;
                p + 1
            }
            None => {
                self.content(data, sink);
                self.at_line_start = data[data.len() - 1] == b'\n';
                data.len()
            }
        }
    }

    /// Accumulates a line that starts with '-' until we know whether it is a
    /// boundary.
    fn collect(&mut self, data: &[u8], sink: &mut impl Sink) -> usize {
        let room = self.line.len() - self.line_len;
        let nl = memchr::memchr(b'\n', &data[..data.len().min(room)]);
        let take = nl.map_or(data.len().min(room), |p| p + 1);
        self.line[self.line_len..self.line_len + take].copy_from_slice(&data[..take]);
        self.line_len += take;
        let complete = nl.is_some() || self.line_len == self.line.len();
        if !complete {
            return take;
        }
        self.collecting = false;
        let n = self.line_len;
        let line = self.line;
        let line = &line[..n];
        if let Some((k, close)) = self.match_boundary(line) {
            self.skip_to_eol = nl.is_none();
            self.at_line_start = nl.is_some();
            self.boundary(k, close, sink);
        } else {
            self.content(line, sink);
            self.at_line_start = nl.is_some();
        }
        take
    }

    fn match_boundary(&self, line: &[u8]) -> Option<(usize, bool)> {
        let rest = line.strip_prefix(b"--")?;
        for k in (0..self.depth).rev() {
            let f = &self.frames[k];
            for b in [&f.boundary[..f.len], &f.alt[..f.alt_len]] {
                if b.is_empty() {
                    continue;
                }
                if let Some(after) = rest.strip_prefix(b) {
                    let close = after.starts_with(b"--");
                    let tail = if close { &after[2..] } else { after };
                    if tail
                        .iter()
                        .all(|&c| matches!(c, b' ' | b'\t' | b'\r' | b'\n'))
                    {
                        return Some((k, close));
                    }
                }
            }
        }
        None
    }

    fn boundary(&mut self, k: usize, close: bool, sink: &mut impl Sink) {
        if self.in_leaf {
            sink.part_end();
            self.in_leaf = false;
        }
        self.depth = k + 1;
        self.msg_depth = self.frames[k].msg_depth;
        if close {
            self.depth = k;
            self.st = if self.depth > 0 {
                St::Preamble
            } else {
                St::Epilogue
            };
            return;
        }
        self.frames[k].child += 1;
        self.parts += 1;
        if self.parts > self.max_parts {
            sink.unscannable(R::PartsLimit);
            self.set_location(sink, b"");
            self.info.clear();
            self.info.content_type.push_str("text/plain");
            sink.part_begin(&self.info);
            self.in_leaf = true;
            self.st = St::Raw;
            return;
        }
        self.is_message = false;
        self.st = St::HLineStart;
        self.set_location(sink, b"");
    }
}

/// The raw `Content-Type` and `Content-Transfer-Encoding` fields of a header block, read
/// leniently and all of them: mail-parser takes the last `Content-Type` field, the first
/// `boundary` and an exact encoding name, and clients differ. A header with
/// `Content-Type: multipart/mixed; boundary="B"` then `Content-Type: text/plain`, two
/// `boundary` parameters, `boundary= "B"` folded after the `=`, or `Content-Transfer-Encoding:
/// "base64"` made cordon read an attachment as undecoded text that some client decodes.
/// So: a part is multipart if any field says so with a boundary; up to two boundaries are
/// kept and either ends a part; the encoding is the strongest any field names (base64, then
/// quoted-printable), its name read up to a quote, `;` or space.
#[derive(Clone, Copy)]
struct Raw {
    multipart: bool,
    boundaries: [FixedStr<{ MAX_BOUNDARY_BYTES + 1 }>; 2],
    cte: Cte,
}

impl Raw {
    fn read(hdr: &[u8]) -> Raw {
        let mut raw = Raw {
            multipart: false,
            boundaries: [FixedStr::new(), FixedStr::new()],
            cte: Cte::Identity,
        };
        for_each_field(hdr, b"content-transfer-encoding", |v| {
            let v = v.trim_ascii_start();
            let v = v.strip_prefix(b"\"").unwrap_or(v);
            let end = v
                .iter()
                .position(|&c| matches!(c, b'"' | b'\'' | b';' | b'(') || c.is_ascii_whitespace())
                .unwrap_or(v.len());
            let name = &v[..end];
            if name.eq_ignore_ascii_case(b"base64") {
                raw.cte = Cte::Base64;
            } else if name.eq_ignore_ascii_case(b"quoted-printable") && raw.cte == Cte::Identity {
                raw.cte = Cte::QuotedPrintable;
            }
        });
        for_each_field(hdr, b"content-type", |v| {
            let v = v.trim_ascii_start();
            let multipart = v.len() >= 10 && v[..10].eq_ignore_ascii_case(b"multipart/");
            let mut found = false;
            for_each_param(v, b"boundary", |b| {
                if !multipart || b.is_empty() {
                    return;
                }
                found = true;
                for slot in raw.boundaries.iter_mut() {
                    if slot.as_bytes() == b {
                        break;
                    }
                    if slot.len() == 0 {
                        slot.push_bytes(b);
                        break;
                    }
                }
            });
            raw.multipart |= found;
        });
        raw
    }
}

/// Each field named `name` (any case) in a block of kept header fields, its value with the
/// folding line breaks in it (callers treat CR and LF as spaces).
fn for_each_field(hdr: &[u8], name: &[u8], mut f: impl FnMut(&[u8])) {
    let mut i = 0;
    while i < hdr.len() {
        // One field: this line and the lines after it that start with a space or tab.
        let mut end = i;
        loop {
            end += memchr::memchr(b'\n', &hdr[end..]).map_or(hdr.len() - end, |p| p + 1);
            if end >= hdr.len() || !matches!(hdr[end], b' ' | b'\t') {
                break;
            }
        }
        let field = &hdr[i..end];
        if let Some(colon) = field.iter().position(|&c| c == b':') {
            if field[..colon].trim_ascii().eq_ignore_ascii_case(name) {
                f(&field[colon + 1..]);
            }
        }
        i = end;
    }
}

/// Each value of the parameter `name` in a `Content-Type` value: `name=value`,
/// `name = "quoted"` with spaces or folding around the `=`, and RFC 2231's `name*=''value`
/// (its charset and language dropped).
fn for_each_param(v: &[u8], name: &[u8], mut f: impl FnMut(&[u8])) {
    let ws = |c: u8| c.is_ascii_whitespace();
    let skip_ws = |r: &[u8]| r.iter().position(|&c| !ws(c)).unwrap_or(r.len());
    let mut i = 0;
    while let Some(p) = v[i..].iter().position(|&c| c == b';') {
        i += p + 1;
        let rest = &v[i..];
        let rest = &rest[skip_ws(rest)..];
        let e = rest
            .iter()
            .position(|&c| c == b'=' || c == b';' || ws(c))
            .unwrap_or(rest.len());
        let pname = &rest[..e];
        let ext = pname.last() == Some(&b'*');
        let pname = if ext {
            &pname[..pname.len() - 1]
        } else {
            pname
        };
        if !pname.eq_ignore_ascii_case(name) {
            continue;
        }
        let rest = &rest[e..];
        let rest = &rest[skip_ws(rest)..];
        let Some(rest) = rest.strip_prefix(b"=") else {
            continue;
        };
        let rest = &rest[skip_ws(rest)..];
        let value = if let Some(q) = rest.strip_prefix(b"\"") {
            &q[..q.iter().position(|&c| c == b'"').unwrap_or(q.len())]
        } else {
            let end = rest
                .iter()
                .position(|&c| c == b';' || ws(c))
                .unwrap_or(rest.len());
            &rest[..end]
        };
        // RFC 2231: charset'language'value.
        let value = match (ext, value.iter().filter(|&&c| c == b'\'').count()) {
            (true, 2) => &value[value.iter().rposition(|&c| c == b'\'').map_or(0, |p| p + 1)..],
            _ => value,
        };
        f(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(hdr: &str) -> (bool, Vec<String>, Cte) {
        let r = Raw::read(hdr.as_bytes());
        let b = r
            .boundaries
            .iter()
            .filter(|b| b.len() > 0)
            .map(|b| String::from_utf8_lossy(b.as_bytes()).into_owned())
            .collect();
        (r.multipart, b, r.cte)
    }

    #[test]
    fn raw_fields_read_as_leniently_as_clients_do() {
        let m = |b: &[&str]| b.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            raw("Content-Type: multipart/mixed; boundary=\"A\"; boundary=\"B\"\r\n"),
            (true, m(&["A", "B"]), Cte::Identity)
        );
        assert_eq!(
            raw("Content-Type: multipart/mixed; boundary=\"B\"\r\nContent-Type: text/plain\r\n"),
            (true, m(&["B"]), Cte::Identity)
        );
        assert_eq!(
            raw("content-type: Multipart/Mixed;\r\n BOUNDARY=\r\n \"B\"\r\n"),
            (true, m(&["B"]), Cte::Identity)
        );
        assert_eq!(
            raw("Content-Type: multipart/mixed; boundary*=us-ascii'en'B2; x=1\r\n"),
            (true, m(&["B2"]), Cte::Identity)
        );
        assert!(!raw("Content-Type: text/plain; boundary=B\r\n").0);
        for cte in [
            "base64",
            "BASE64 ",
            "\"base64\"",
            "base64; x=1",
            "base64 (comment)",
        ] {
            let h = format!("Content-Transfer-Encoding: {cte}\r\n");
            assert_eq!(raw(&h).2, Cte::Base64, "{cte}");
        }
        assert_eq!(
            raw("Content-Transfer-Encoding: 7bit\r\nContent-Transfer-Encoding: quoted-printable\r\n").2,
            Cte::QuotedPrintable
        );
        assert_eq!(
            raw("Content-Transfer-Encoding: base64x\r\n").2,
            Cte::Identity
        );
    }
}
