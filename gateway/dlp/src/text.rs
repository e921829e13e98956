//! The text pipeline of one segment (a MIME part, a header block, an archive
//! entry): charset decoding, markup stripping, the fold of invisible and
//! full-width characters ([`crate::fold`]), and the sliding window the
//! detectors run over.
//!
//! The window is flushed when it is full, a decision that depends only on the
//! decoded content, so findings never depend on how the caller chunked the
//! message. Each flush reports matches starting in the fresh part of the
//! window and keeps [`CARRY_BYTES`] so that a match (and the keyword context
//! around it) that straddles two flushes is seen whole, exactly once.

use encoding_rs::{CoderResult, Decoder, Encoding};

use crate::blob::Blobs;
use crate::detect::keywords::KwCache;
use crate::detect::Detectors;
use crate::findings::Acc;
use crate::fingerprint::winnow::Winnower;
use crate::fold::Fold;
use crate::html::{Html, Mode};
use crate::html_hidden::Hidden;
use crate::limits::{
    BLOB_WINDOW_BYTES, CARRY_BYTES, CONTEXT_BYTES, MAX_MATCH_BYTES, STAGE_BUFFER_BYTES,
    WINDOW_BYTES,
};
use crate::utf7::Utf7;
use crate::uu::Uu;

/// The detectors' view of the decoded text.
pub(crate) struct Window {
    buf: Box<[u8]>,
    len: usize,
    /// Matches starting before this were reported by the previous flush.
    accept_from: usize,
    kw: KwCache,
    /// The fingerprints' rolling state over this segment's text (fed each byte once: the
    /// fresh part of each flush).
    winnow: Winnower,
    /// This segment is a document's boilerplate ([`crate::fingerprint::boilerplate_part`]) or
    /// an image: left out of a protected document's fingerprints.
    no_fingerprints: bool,
    /// Invisible characters and full-width forms, folded on the way in.
    fold: Fold,
    /// Base64 and uuencode written into the text, decoded into a window of their own
    /// ([`crate::blob`], [`crate::uu`]); none in that window itself (one level).
    blobs: Option<Box<(Blobs, Uu, Window)>>,
}

impl Window {
    fn new() -> Window {
        let mut blob = Window::sized(BLOB_WINDOW_BYTES);
        // Decoded text is matched against the fingerprint sets but never added to one: a
        // document's own text is what it shows.
        blob.no_fingerprints = true;
        Window {
            blobs: Some(Box::new((Blobs::default(), Uu::default(), blob))),
            ..Window::sized(WINDOW_BYTES)
        }
    }

    fn sized(bytes: usize) -> Window {
        Window {
            buf: vec![0u8; bytes].into_boxed_slice(),
            len: 0,
            accept_from: 0,
            kw: KwCache::new(),
            winnow: Winnower::new(),
            no_fingerprints: false,
            fold: Fold::default(),
            blobs: None,
        }
    }

    fn reset(&mut self) {
        self.len = 0;
        self.accept_from = 0;
        self.winnow.reset();
        self.no_fingerprints = false;
        self.fold.reset();
        if let Some(b) = self.blobs.as_mut() {
            b.0.reset();
            b.1.reset();
            b.2.reset();
            b.2.no_fingerprints = true;
        }
    }

    /// The fresh text `[from, to)` to the fingerprint sets (or the document being collected).
    fn fingerprint(&mut self, det: &Detectors, from: usize, to: usize, acc: &mut Acc) {
        // Boilerplate and images are left out of a document's fingerprints when it is added
        // to a set, and only then: a message's text is matched whole, so nothing becomes
        // invisible by dressing up as a style sheet or an image.
        let collecting = acc.fp.collect.is_some();
        if from >= to
            || (self.no_fingerprints && collecting)
            || (det.fp.sets.is_empty() && !collecting)
        {
            return;
        }
        let fp = &mut acc.fp;
        self.winnow
            .feed(&self.buf[from..to], &mut |h| fp.hash(h, &det.fp));
    }

    /// Text into the window through the fold ([`crate::fold`]).
    fn push(&mut self, det: &Detectors, acc: &mut Acc, data: &[u8]) {
        let mut fold = self.fold;
        fold.feed(data, &mut |run| self.take(det, acc, run));
        self.fold = fold;
    }

    /// Folded text into the window, and through the readers of base64 and uuencode in it.
    fn take(&mut self, det: &Detectors, acc: &mut Acc, run: &[u8]) {
        self.put(det, acc, run);
        if let Some(b) = self.blobs.as_mut() {
            let (blobs, uu, win) = &mut **b;
            blobs.feed(run, &mut |t| win.push(det, acc, t));
            uu.feed(run, &mut |t| win.push(det, acc, t));
        }
    }

    fn put(&mut self, det: &Detectors, acc: &mut Acc, mut data: &[u8]) {
        while !data.is_empty() {
            let take = data.len().min(self.buf.len() - self.len);
            self.buf[self.len..self.len + take].copy_from_slice(&data[..take]);
            self.len += take;
            data = &data[take..];
            if self.len == self.buf.len() {
                self.flush(det, acc);
            }
        }
    }

    /// Scans a full window and slides it, keeping the carry.
    fn flush(&mut self, det: &Detectors, acc: &mut Acc) {
        let to = self.len - (MAX_MATCH_BYTES + CONTEXT_BYTES);
        det.scan(
            &self.buf[..self.len],
            self.accept_from,
            to,
            &mut self.kw,
            acc,
        );
        self.fingerprint(det, self.accept_from, to, acc);
        let keep_from = self.len - CARRY_BYTES;
        self.buf.copy_within(keep_from..self.len, 0);
        self.len = CARRY_BYTES;
        self.accept_from = to - keep_from;
    }

    /// End of segment: everything left is reported.
    fn finish(&mut self, det: &Detectors, acc: &mut Acc) {
        let mut fold = self.fold;
        fold.finish(&mut |run| self.take(det, acc, run));
        self.fold = fold;
        if let Some(b) = self.blobs.as_mut() {
            let (blobs, uu, win) = &mut **b;
            blobs.finish(&mut |t| win.push(det, acc, t));
            uu.finish(&mut |t| win.push(det, acc, t));
            win.finish(det, acc);
        }
        det.scan(
            &self.buf[..self.len],
            self.accept_from,
            self.len,
            &mut self.kw,
            acc,
        );
        self.fingerprint(det, self.accept_from, self.len, acc);
        self.reset();
    }

    fn state_bytes(&self) -> usize {
        self.buf.len()
            + self.kw.state_bytes()
            + self.blobs.as_ref().map_or(0, |b| {
                std::mem::size_of::<Blobs>() + std::mem::size_of::<Uu>() + b.2.state_bytes()
            })
    }
}

/// Charset → markup → window for one segment at a time.
pub(crate) struct TextPipe {
    decoder: Option<Dec>,
    cs_buf: Box<[u8]>,
    markup: Option<Mode>,
    html: Html,
    html_buf: Box<[u8]>,
    window: Window,
    shadow: Shadow,
    /// An HTML part's comments, script and style text and word attributes
    /// ([`crate::html_hidden`]), read through a stripper of their own into the shadow's
    /// window and buffer, which an HTML part does not otherwise use.
    hidden: Option<(Hidden, Html)>,
    /// A `format=flowed` part's soft line breaks, joined ([`Flowed`]).
    flowed: Flowed,
}

/// RFC 3676's soft line breaks undone: in a `format=flowed` part a line that ends in a space
/// goes on in the next line, so `card 4556 7375 ⏎8689 9855` is one line to its reader (and
/// Thunderbird and Apple Mail wrap long lines so). With `DelSp=yes` the space goes too.
/// Streaming: at most a space and a carriage return wait for the next feed.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Flowed {
    on: bool,
    delsp: bool,
    /// The tail of the last feed that may begin a soft break: ` ` or ` \r`.
    held: [u8; 2],
    held_len: usize,
}

impl Flowed {
    fn feed(&mut self, mut data: &[u8], out: &mut dyn FnMut(&[u8])) {
        if !self.on {
            out(data);
            return;
        }
        // Held bytes meet the next ones in a scratch copy, a byte at a time, until
        // nothing is held (each round takes at least one byte of `data`).
        while self.held_len > 0 && !data.is_empty() {
            let mut tmp = [0u8; 4];
            let n = self.held_len;
            tmp[..n].copy_from_slice(&self.held[..n]);
            let take = data.len().min(2);
            tmp[n..n + take].copy_from_slice(&data[..take]);
            data = &data[take..];
            self.held_len = 0;
            self.run(&tmp[..n + take], out);
        }
        if !data.is_empty() {
            self.run(data, out);
        }
    }

    fn run(&mut self, d: &[u8], out: &mut dyn FnMut(&[u8])) {
        let mut from = 0;
        for p in memchr::memchr_iter(b'\n', d) {
            let cr = p >= 1 && d[p - 1] == b'\r';
            let sp = if cr {
                p.checked_sub(2)
            } else {
                p.checked_sub(1)
            };
            if let Some(s) = sp.filter(|&s| s >= from && d[s] == b' ') {
                out(&d[from..if self.delsp { s } else { s + 1 }]);
                from = p + 1;
            }
        }
        let rest = &d[from..];
        let hold = if rest.ends_with(b" \r") {
            2
        } else if rest.ends_with(b" ") {
            1
        } else {
            0
        };
        out(&rest[..rest.len() - hold]);
        self.held[..hold].copy_from_slice(&rest[rest.len() - hold..]);
        self.held_len = hold;
    }

    fn finish(&mut self, out: &mut dyn FnMut(&[u8])) {
        let (held, n) = (self.held, self.held_len);
        out(&held[..n]);
        *self = Flowed::default();
    }
}

/// A second reading of a segment whose bytes two readers may take differently: a text part
/// declared in one charset (or none) that starts with a UTF-16 byte-order mark. A mail client
/// that follows the mark shows UTF-16; one that follows the header shows the bytes in the
/// declared charset, so an attacker's ASCII behind a mark would pass unread if only the mark
/// were followed. The shadow reads the same bytes as declared, into a window of its own (its
/// memory is part of every scanner, sized at start like the rest).
struct Shadow {
    active: bool,
    decoder: Option<Dec>,
    cs_buf: Box<[u8]>,
    window: Window,
}

impl std::fmt::Debug for TextPipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TextPipe({} bytes buffered)", self.window.len)
    }
}

impl TextPipe {
    pub(crate) fn new() -> TextPipe {
        TextPipe {
            decoder: None,
            cs_buf: vec![0u8; STAGE_BUFFER_BYTES].into_boxed_slice(),
            markup: None,
            html: Html::new(Mode::Html),
            html_buf: vec![0u8; STAGE_BUFFER_BYTES].into_boxed_slice(),
            window: Window::new(),
            shadow: Shadow {
                active: false,
                decoder: None,
                cs_buf: vec![0u8; STAGE_BUFFER_BYTES].into_boxed_slice(),
                window: Window::new(),
            },
            hidden: None,
            flowed: Flowed::default(),
        }
    }

    pub(crate) fn state_bytes(&self) -> usize {
        self.cs_buf.len()
            + self.html_buf.len()
            + self.window.state_bytes()
            + self.shadow.cs_buf.len()
            + self.shadow.window.state_bytes()
    }

    pub(crate) fn reset(&mut self) {
        self.decoder = None;
        self.markup = None;
        self.window.reset();
        self.shadow.active = false;
        self.shadow.decoder = None;
        self.shadow.window.reset();
        self.hidden = None;
        self.flowed = Flowed::default();
    }

    /// The segment just begun is `format=flowed` plain text (RFC 3676); `delsp` as its
    /// `DelSp` parameter says.
    pub(crate) fn flowed(&mut self, delsp: bool) {
        self.flowed = Flowed {
            on: true,
            delsp,
            ..Flowed::default()
        };
    }

    /// Starts a segment. `charset` None means the bytes are UTF-8 or ASCII
    /// (or binary) and go to the detectors as they are.
    pub(crate) fn begin(&mut self, charset: Option<Charset>, markup: Option<Mode>) {
        self.decoder = charset.map(Charset::decoder);
        self.markup = markup;
        if let Some(m) = markup {
            self.html.reset(m);
        }
        self.window.reset();
        self.shadow.active = false;
        self.shadow.decoder = None;
        self.hidden = None;
        self.flowed = Flowed::default();
        if markup == Some(Mode::Html) {
            self.hidden = Some((Hidden::default(), Html::new(Mode::Html)));
            self.shadow.window.reset();
            // Hidden text is read, but is no part of a protected document's fingerprints.
            self.shadow.window.no_fingerprints = true;
        }
    }

    /// The segment just begun is a document's boilerplate or an image: when a protected
    /// document is being fingerprinted, its text is left out.
    pub(crate) fn skip_fingerprints(&mut self) {
        self.window.no_fingerprints = true;
        self.shadow.window.no_fingerprints = true;
    }

    /// Starts a segment read as `bom` (the UTF-16 its byte-order mark names) and, in the
    /// shadow, as `declared` says (`None`: UTF-8 or ASCII, the bytes as they are).
    pub(crate) fn begin_bom(&mut self, bom: &'static Encoding, declared: Option<Charset>) {
        self.begin(Some(Charset::Whatwg(bom)), None);
        self.shadow.active = true;
        self.shadow.decoder = declared.map(Charset::decoder_without_bom);
        self.shadow.window.reset();
    }

    pub(crate) fn push(&mut self, det: &Detectors, acc: &mut Acc, data: &[u8]) {
        self.run(det, acc, data, false);
    }

    /// Ends the segment: flushes the decoder, the markup stripper and the
    /// window, reporting everything left.
    pub(crate) fn end(&mut self, det: &Detectors, acc: &mut Acc) {
        self.run(det, acc, &[], true);
        let TextPipe {
            markup,
            html,
            html_buf,
            window,
            flowed,
            ..
        } = self;
        if markup.is_some() {
            html.finish(html_buf, &mut |t| window.push(det, acc, t));
        }
        flowed.finish(&mut |t| window.push(det, acc, t));
        window.finish(det, acc);
        self.decoder = None;
        if self.shadow.active {
            self.shadow.window.finish(det, acc);
            self.shadow.active = false;
            self.shadow.decoder = None;
        }
        if let Some((mut hidden, mut html)) = self.hidden.take() {
            let Shadow { cs_buf, window, .. } = &mut self.shadow;
            hidden.finish(&mut |b| html.feed(b, cs_buf, &mut |t| window.push(det, acc, t)));
            html.finish(cs_buf, &mut |t| window.push(det, acc, t));
            window.finish(det, acc);
        }
    }

    fn run(&mut self, det: &Detectors, acc: &mut Acc, data: &[u8], last: bool) {
        if self.shadow.active {
            let Shadow {
                decoder,
                cs_buf,
                window,
                ..
            } = &mut self.shadow;
            decode(decoder.as_mut(), cs_buf, data, last, &mut |b| {
                window.push(det, acc, b)
            });
        }
        let TextPipe {
            decoder,
            cs_buf,
            markup,
            html,
            html_buf,
            window,
            shadow,
            hidden,
            flowed,
        } = self;
        let mut stage2 = |bytes: &[u8]| {
            if bytes.is_empty() {
                return;
            }
            match markup {
                None => flowed.feed(bytes, &mut |t| window.push(det, acc, t)),
                Some(_) => html.feed(bytes, html_buf, &mut |t| window.push(det, acc, t)),
            }
            if let Some((h, hhtml)) = hidden.as_mut() {
                let Shadow {
                    cs_buf: hbuf,
                    window: hwin,
                    ..
                } = &mut *shadow;
                h.feed(bytes, &mut |b| {
                    hhtml.feed(b, hbuf, &mut |t| hwin.push(det, acc, t))
                });
            }
        };
        decode(decoder.as_mut(), cs_buf, data, last, &mut stage2);
    }
}

/// A charset the text pipe decodes: one of encoding_rs's, or UTF-7 (RFC 2152), which the
/// WHATWG Encoding Standard (and so encoding_rs) leaves out and mail may declare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Charset {
    Whatwg(&'static Encoding),
    Utf7,
}

impl Charset {
    pub(crate) fn decoder(self) -> Dec {
        match self {
            Charset::Whatwg(e) => Dec::Whatwg(e.new_decoder()),
            Charset::Utf7 => Dec::Utf7(Utf7::default()),
        }
    }

    fn decoder_without_bom(self) -> Dec {
        match self {
            Charset::Whatwg(e) => Dec::Whatwg(e.new_decoder_without_bom_handling()),
            Charset::Utf7 => Dec::Utf7(Utf7::default()),
        }
    }

    /// UTF-16 (either order): a byte-order mark then agrees with the declaration.
    pub(crate) fn is_utf16(self) -> bool {
        matches!(self, Charset::Whatwg(e) if e == encoding_rs::UTF_16LE || e == encoding_rs::UTF_16BE)
    }
}

/// A decoder of a [`Charset`].
pub(crate) enum Dec {
    Whatwg(Decoder),
    Utf7(Utf7),
}

/// `data` through `decoder` (as it is without one), in `buf`-sized pieces, to `out`.
pub(crate) fn decode(
    decoder: Option<&mut Dec>,
    buf: &mut [u8],
    data: &[u8],
    last: bool,
    out: &mut dyn FnMut(&[u8]),
) {
    match decoder {
        None => {
            if !data.is_empty() {
                out(data)
            }
        }
        Some(Dec::Utf7(u)) => u.feed(data, last, out),
        Some(Dec::Whatwg(dec)) => {
            let mut src = data;
            loop {
                let (res, read, written, _) = dec.decode_to_utf8(src, buf, last);
                if written > 0 {
                    out(&buf[..written]);
                }
                src = &src[read..];
                if res == CoderResult::InputEmpty {
                    break;
                }
            }
        }
    }
}

/// The charset for a label, None for UTF-8/ASCII (no decoding
/// needed: detectors work on UTF-8 bytes), Err for unknown labels.
pub(crate) fn charset_for(label: &str) -> Result<Option<Charset>, ()> {
    let l = label.trim().trim_matches('"');
    if l.is_empty() {
        return Ok(None);
    }
    match Encoding::for_label(l.as_bytes()) {
        // encoding_rs maps us-ascii to windows-1252, a superset; ASCII needs no work.
        Some(e) if e == encoding_rs::UTF_8 || l.eq_ignore_ascii_case("us-ascii") => Ok(None),
        Some(e) => Ok(Some(Charset::Whatwg(e))),
        None => {
            // "utf-16" without BOM is little-endian on Windows; for_label knows
            // it, but also accept common misspellings.
            if l.eq_ignore_ascii_case("unicode") || l.eq_ignore_ascii_case("ucs-2") {
                Ok(Some(Charset::Whatwg(encoding_rs::UTF_16LE)))
            } else if UTF7_LABELS.iter().any(|u| l.eq_ignore_ascii_case(u)) {
                Ok(Some(Charset::Utf7))
            } else {
                Err(())
            }
        }
    }
}

/// UTF-7's names: RFC 2152's, its IANA alias, and how mailers misspell it.
const UTF7_LABELS: &[&str] = &["utf-7", "utf7", "unicode-1-1-utf-7", "csunicode11utf7"];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::Confidence;
    use crate::limits::Limits;

    fn scan_segment(text: &[u8], chunk: usize, cs: Option<Charset>) -> crate::Findings {
        let det = Detectors::new(&[], &[]).unwrap();
        let mut acc = Acc::new(crate::detect::BUILTINS.len(), &Limits::default());
        let mut p = TextPipe::new();
        p.begin(cs, None);
        for c in text.chunks(chunk.max(1)) {
            p.push(&det, &mut acc, c);
        }
        p.end(&det, &mut acc);
        let names: Vec<String> = crate::detect::BUILTINS
            .iter()
            .map(|s| s.to_string())
            .collect();
        acc.findings(&names)
    }

    #[test]
    fn matches_across_window_flushes_are_found_once() {
        // Place card numbers at every offset around the first window edge.
        let mut text = Vec::new();
        let mut n = 0;
        while text.len() < 3 * WINDOW_BYTES {
            text.extend_from_slice(b"lorem ipsum dolor sit amet ");
            if text.len() > WINDOW_BYTES - 2000 && text.len() < WINDOW_BYTES + 2000 && n < 40 {
                text.extend_from_slice(b"visa 4556 7375 8689 9855 ");
                n += 1;
            }
        }
        for chunk in [1, 7, 4096, text.len()] {
            let f = scan_segment(&text, chunk, None);
            assert_eq!(f.count("credit_card", Confidence::High), 1, "chunk {chunk}");
        }
    }

    #[test]
    fn utf16_and_cp1252_are_decoded() {
        let s = "Kreditkarte: 4556 7375 8689 9855 – Grüße";
        let mut utf16 = vec![0xFF, 0xFE];
        for u in s.encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        let f = scan_segment(&utf16, 3, charset_for("utf-16").unwrap());
        assert_eq!(f.count("credit_card", Confidence::High), 1);
        let (cp, _, _) = encoding_rs::WINDOWS_1252.encode(s);
        let f = scan_segment(&cp, 5, charset_for("windows-1252").unwrap());
        assert_eq!(f.count("credit_card", Confidence::High), 1);
        // UTF-7 as Python writes it ("...".encode("utf-7")), cut every three bytes.
        let utf7 = b"Kreditkarte: +ADQ-556 7375 8689 9855 +ICA- Gr+APwA3w-e";
        let f = scan_segment(utf7, 3, charset_for("UTF-7").unwrap());
        assert_eq!(f.count("credit_card", Confidence::High), 1);
        // Unknown labels are the only error (the caller reports `unknown_charset`).
        assert_eq!(charset_for("x-no-such"), Err(()));
        assert_eq!(
            charset_for("\"ucs-2\""),
            Ok(Some(Charset::Whatwg(encoding_rs::UTF_16LE)))
        );
        assert_eq!(charset_for("unicode-1-1-utf-7"), Ok(Some(Charset::Utf7)));
        assert!(charset_for("UTF-8").unwrap().is_none());
    }
}
