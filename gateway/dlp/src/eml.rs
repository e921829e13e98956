//! Attached messages read as messages: an `.eml` file sent as
//! `application/octet-stream`, or a `message/rfc822` part in base64, is a
//! whole MIME message whose bytes the outer walk cannot see into (the
//! outer walker continues into a `message/rfc822` part only when it is not
//! transfer-encoded). Once decoded, such a part is known by its first bytes
//! ([`sniff`]: RFC 5322 header fields) and walked here by a second MIME
//! walker of its own: its header text and text parts go to the detectors,
//! every other part (a `.docx` in base64) is one stored file for the next
//! archive level, sniffed and read as an archive entry.
//!
//! There is one such walker per scanner, lent to the archive levels like
//! the PDF reader; a message attached (encoded) inside the message it is
//! walking is read as raw text and named `mime_depth_limit`. Messages
//! forwarded inside it as plain `message/rfc822` nest within the one walk,
//! to [`EML_MIME_DEPTH`].

use crate::ctx::Ctx;
use crate::decode::{Base64, QuotedPrintable};
use crate::findings::UnscannableReason as R;
use crate::html::Mode;
use crate::limits::Limits;
use crate::mime::{Cte, PartInfo, Sink, Walker};
use crate::text::charset_for;
use crate::zip::{Level, Readers};

/// Header bytes the attached message's walker keeps per part: the fields
/// it reads (Content-*, Subject, From, To, Cc) fit in a few hundred bytes;
/// a quarter of the outer walker's, as this walker's buffers are owned by
/// every scanner.
pub const EML_HEADER_BYTES: usize = 4 * 1024;
/// Multiparts and forwards nested inside an attached message: real mail
/// stays under 8; deeper is `mime_depth_limit`, and the rest is raw text.
pub const EML_MIME_DEPTH: usize = 16;
/// Transfer-decoded bytes handed on at once.
const OUT_BYTES: usize = 4096;
/// Header fields that open nearly every message: one of them among the
/// first lines tells a message from a text that merely has a colon.
const MESSAGE_FIELDS: &[&[u8]] = &[
    b"received",
    b"return-path",
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"mime-version",
    b"delivered-to",
    b"x-mailer",
    b"reply-to",
    b"sender",
];

/// Whether `s` (a part's first bytes, transfer-decoded) starts like a
/// message: two or more header fields (a name of printable characters, a
/// colon; folded lines allowed) before anything else, one of them a field
/// every message carries ([`MESSAGE_FIELDS`]).
pub(crate) fn sniff(s: &[u8]) -> bool {
    let mut fields = 0;
    let mut known = false;
    for line in s.split(|&b| b == b'\n').take(16) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.first().is_some_and(|&b| b == b' ' || b == b'\t') && fields > 0 {
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            break;
        };
        let name = &line[..colon];
        if name.is_empty() || !name.iter().all(|&b| (b'!'..=b'~').contains(&b)) {
            break;
        }
        fields += 1;
        known |= MESSAGE_FIELDS.iter().any(|f| name.eq_ignore_ascii_case(f));
    }
    fields >= 2 && known
}

/// Where the current part's decoded bytes go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    None,
    /// The text pipe (a text part).
    Text,
    /// The next archive level, as one stored file.
    File,
}

/// The walker of attached messages and its part decoders.
pub(crate) struct Eml {
    walker: Walker,
    b64: Base64,
    qp: QuotedPrintable,
    cte: Cte,
    target: Target,
    out: Box<[u8]>,
}

impl std::fmt::Debug for Eml {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Eml({:?}, {:?})", self.walker, self.target)
    }
}

impl Eml {
    pub(crate) fn new() -> Eml {
        let limits = Limits {
            max_header_bytes: EML_HEADER_BYTES,
            max_mime_depth: EML_MIME_DEPTH,
            ..Limits::default()
        };
        Eml {
            walker: Walker::new(&limits),
            b64: Base64::default(),
            qp: QuotedPrintable::default(),
            cte: Cte::Identity,
            target: Target::None,
            out: vec![0u8; OUT_BYTES].into_boxed_slice(),
        }
    }

    pub(crate) fn state_bytes(&self) -> usize {
        std::mem::size_of::<Eml>() + self.walker.state_bytes() + self.out.len()
    }

    /// Starts an attached message.
    pub(crate) fn begin(&mut self) {
        self.walker.reset();
        self.target = Target::None;
    }

    /// Walks message bytes; parts that are files go to `rest[0]`.
    pub(crate) fn feed(
        &mut self,
        rest: &mut [Level],
        ctx: &mut Ctx<'_>,
        rd: &mut Readers<'_>,
        data: &[u8],
    ) {
        self.walk(rest, ctx, rd, |w, sink| w.feed(data, sink));
    }

    /// The end of the attached message.
    pub(crate) fn finish(&mut self, rest: &mut [Level], ctx: &mut Ctx<'_>, rd: &mut Readers<'_>) {
        self.walk(rest, ctx, rd, |w, sink| w.finish(sink));
    }

    /// Runs `f` on the walker with the parts' sink.
    fn walk(
        &mut self,
        rest: &mut [Level],
        ctx: &mut Ctx<'_>,
        rd: &mut Readers<'_>,
        f: impl FnOnce(&mut Walker, &mut Parts<'_, '_, '_>),
    ) {
        let Eml {
            walker,
            b64,
            qp,
            cte,
            target,
            out,
        } = self;
        let mut sink = Parts {
            rest,
            ctx,
            rd,
            b64,
            qp,
            cte,
            target,
            out,
        };
        f(walker, &mut sink);
    }
}

/// The attached message's parts, as its walker hands them on.
struct Parts<'x, 'c, 'r> {
    rest: &'x mut [Level],
    ctx: &'x mut Ctx<'c>,
    rd: &'x mut Readers<'r>,
    b64: &'x mut Base64,
    qp: &'x mut QuotedPrintable,
    cte: &'x mut Cte,
    target: &'x mut Target,
    out: &'x mut [u8],
}

impl Parts<'_, '_, '_> {
    /// Decoded bytes of the current part to where they go.
    fn route(
        target: Target,
        rest: &mut [Level],
        ctx: &mut Ctx<'_>,
        rd: &mut Readers<'_>,
        d: &[u8],
    ) {
        match target {
            Target::Text => ctx.text.push(ctx.det, ctx.acc, d),
            Target::File => {
                if let Some((next, deeper)) = rest.split_first_mut() {
                    next.feed(deeper, ctx, rd, d);
                }
            }
            Target::None => {}
        }
    }
}

impl Sink for Parts<'_, '_, '_> {
    // Findings keep the location of the attachment that holds the message.
    fn location(&mut self, _loc: &[u8]) {}

    fn header_text(&mut self, text: &[u8]) {
        self.ctx.text.begin(None, None);
        self.ctx.text.push(self.ctx.det, self.ctx.acc, text);
        self.ctx.text.end(self.ctx.det, self.ctx.acc);
    }

    fn part_begin(&mut self, info: &PartInfo) {
        *self.cte = info.cte;
        self.b64.reset();
        self.qp.reset();
        let text = (info.is_type("text") || info.content_type.len() == 0) && !info.attachment;
        if text {
            let markup = if info.is("text/html") {
                Some(Mode::Html)
            } else {
                None
            };
            let charset = match charset_for(&info.charset.as_str_lossy()) {
                Ok(c) => c,
                Err(()) => {
                    self.ctx.acc.unscannable(R::UnknownCharset);
                    None
                }
            };
            self.ctx.text.begin(charset, markup);
            *self.target = Target::Text;
            return;
        }
        match self.rest.split_first_mut() {
            Some((next, deeper)) => {
                next.begin_file(deeper, self.ctx, self.rd, info.file_name.as_bytes());
                *self.target = Target::File;
            }
            None => {
                // No level left for the file: its bytes are read as text.
                self.ctx.acc.unscannable(R::ZipNestingLimit);
                self.ctx.text.begin(None, None);
                *self.target = Target::Text;
            }
        }
    }

    fn part_body(&mut self, bytes: &[u8]) {
        let (target, rest, ctx, rd) =
            (*self.target, &mut *self.rest, &mut *self.ctx, &mut *self.rd);
        let mut f = |d: &[u8]| Parts::route(target, rest, ctx, rd, d);
        match *self.cte {
            Cte::Identity => f(bytes),
            Cte::Base64 => self.b64.feed(bytes, self.out, &mut f),
            Cte::QuotedPrintable => self.qp.feed(bytes, self.out, &mut f),
        }
    }

    fn part_end(&mut self) {
        let (target, rest, ctx, rd) =
            (*self.target, &mut *self.rest, &mut *self.ctx, &mut *self.rd);
        let mut f = |d: &[u8]| Parts::route(target, rest, ctx, rd, d);
        match *self.cte {
            Cte::Identity => {}
            Cte::Base64 => self.b64.finish(self.out, &mut f),
            Cte::QuotedPrintable => self.qp.finish(self.out, &mut f),
        }
        if *self.cte == Cte::Base64 && self.b64.corrupt() {
            self.ctx.acc.unscannable(R::CorruptBase64);
        }
        if *self.cte == Cte::QuotedPrintable && self.qp.corrupt() {
            self.ctx.acc.unscannable(R::CorruptQuotedPrintable);
        }
        match *self.target {
            Target::Text => self.ctx.text.end(self.ctx.det, self.ctx.acc),
            Target::File => {
                if let Some((next, deeper)) = self.rest.split_first_mut() {
                    next.finish(deeper, self.ctx, self.rd);
                }
            }
            Target::None => {}
        }
        *self.target = Target::None;
    }

    fn unscannable(&mut self, reason: R) {
        self.ctx.acc.unscannable(reason);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_told_from_text_by_their_header_fields() {
        assert!(sniff(
            b"From: a@contoso.example\r\nTo: b@fabrikam.example\r\nSubject: x\r\n\r\nbody"
        ));
        assert!(sniff(
            b"Received: from x\r\n\tby y; Sat, 5 Dec 2026\r\nMessage-ID: <1@x>\r\n"
        ));
        // One field, or fields no message needs, or prose with a colon.
        assert!(!sniff(b"Subject: x\r\n\r\nbody"));
        assert!(!sniff(b"Name: Ada\r\nCard: 4556\r\n"));
        assert!(!sniff(b"Dear team: please refund\r\nFrom: me\r\n"));
        assert!(!sniff(b"\r\nFrom: a\r\nTo: b\r\n"));
    }
}
