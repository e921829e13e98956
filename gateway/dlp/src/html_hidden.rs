//! What an HTML body carries that a reader does not see rendered but can read all the same:
//! comments, `<script>` and `<style>` contents, `<![CDATA[…]]>` and other `<!…>` markup,
//! and the attributes that hold words (`alt`, `title`, `value`, `content`, `placeholder`,
//! `aria-label`, `label`, `summary`, `abbr`, `data-*`).
//!
//! The stripper ([`crate::html`]) drops all of it, as a browser does; so `<!-- 4556 7375 8689
//! 9855 -->` or `<img alt="card 4556 7375 8689 9855">` passed unread although "view source",
//! a hover or a reply quoting the source shows it. This second, lighter pass over the same
//! decoded HTML hands those pieces, one line each, to a second stripper (so their character
//! references are decoded and tags inside a comment dropped) and to a window of their own
//! (`text.rs`): the hidden text is read with the same detectors without running into the
//! visible text around it. Any attribute whose value is a `data:` URI is read too: its
//! payload is the document a browser opens, and base64 in it is decoded as base64 in any
//! text is ([`crate::blob`]). Not read: other URLs (`href`, `src`: tracking parameters),
//! percent-encoding inside a `data:` URI, and attributes that hold no words (`style`,
//! `class`, `width`...).
//!
//! Hand-written because it must stream with the stripper's fixed state (no DOM, no
//! allocation): a tag and attribute tokenizer of a few states, chunk-independent like the
//! stripper (all state in [`Hidden`]).

/// Attribute and tag names are compared on this many lower-cased bytes.
const NAME_BYTES: usize = 16;

/// Attributes whose values are words a reader can see (a hover, an image that fails to
/// load, a form field) or a program can read back.
const WORD_ATTRIBUTES: &[&[u8]] = &[
    b"alt",
    b"title",
    b"value",
    b"content",
    b"placeholder",
    b"aria-label",
    b"label",
    b"summary",
    b"abbr",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum St {
    Text,
    Lt,
    TagName,
    EndTag,
    InTag,
    BeforeValue,
    Value(u8),
    Unquoted,
    Bang,
    BangDash,
    /// `<!…>` that is not a comment (DOCTYPE, CDATA): its text up to `>`.
    Bogus,
    Comment,
    CommentDash,
    CommentDash2,
    /// Inside `<script>` or `<style>`.
    Raw,
    RawLt,
    RawName,
}

/// The hidden-content tokenizer's state between feeds.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Hidden {
    st: St,
    name: [u8; NAME_BYTES],
    name_len: usize,
    /// The start tag being read is `<script>` or `<style>`: its content is raw text.
    raw_tag: Option<&'static [u8]>,
    /// Inside raw text: the end tag that closes it.
    raw: &'static [u8],
    /// The attribute value being read is one of [`WORD_ATTRIBUTES`] or `data-*`.
    keep: bool,
    /// Inside a tag: a space or `/` since the last name byte (the next one starts a name).
    gap: bool,
    /// The value being read is not kept so far: its first bytes may still say `data:`.
    probing: bool,
    scheme: [u8; DATA_SCHEME.len()],
    scheme_len: usize,
}

/// A value that starts so (after spaces, any case) is a `data:` URI, read whatever the
/// attribute.
const DATA_SCHEME: &[u8] = b"data:";

/// The value without the spaces a URL parser drops before it.
fn trim_start(v: &[u8]) -> &[u8] {
    let n = v.iter().take_while(|&&b| is_space(b)).count();
    &v[n..]
}

impl Default for Hidden {
    fn default() -> Hidden {
        Hidden {
            st: St::Text,
            name: [0; NAME_BYTES],
            name_len: 0,
            raw_tag: None,
            raw: b"",
            keep: false,
            gap: true,
            probing: false,
            scheme: [0; DATA_SCHEME.len()],
            scheme_len: 0,
        }
    }
}

/// What the caller receives: hidden bytes, and the end of one hidden piece (a line break).
struct Out<'a> {
    sink: &'a mut dyn FnMut(&[u8]),
}

impl Out<'_> {
    fn bytes(&mut self, b: &[u8]) {
        if !b.is_empty() {
            (self.sink)(b);
        }
    }

    fn end(&mut self) {
        (self.sink)(b"\n");
    }
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n' | 0x0C)
}

impl Hidden {
    pub(crate) fn reset(&mut self) {
        *self = Hidden::default();
    }

    fn name_push(&mut self, c: u8) {
        if self.name_len < NAME_BYTES {
            self.name[self.name_len] = c.to_ascii_lowercase();
            self.name_len += 1;
        }
    }

    fn names_push(&mut self, b: &[u8]) {
        let take = b.len().min(NAME_BYTES - self.name_len);
        for (d, s) in self.name[self.name_len..self.name_len + take]
            .iter_mut()
            .zip(b)
        {
            *d = s.to_ascii_lowercase();
        }
        self.name_len += take;
    }

    fn name(&self) -> &[u8] {
        &self.name[..self.name_len]
    }

    /// A value's bytes while its start is unknown: collects the first bytes past any spaces
    /// and, when they say `data:`, keeps the value from there. Returns the bytes left.
    fn probe<'s>(&mut self, mut seg: &'s [u8], out: &mut Out<'_>) -> &'s [u8] {
        if self.scheme_len == 0 {
            seg = trim_start(seg);
        }
        let take = seg.len().min(DATA_SCHEME.len() - self.scheme_len);
        self.scheme[self.scheme_len..self.scheme_len + take].copy_from_slice(&seg[..take]);
        self.scheme_len += take;
        if self.scheme_len == DATA_SCHEME.len() {
            self.probing = false;
            if self.scheme.eq_ignore_ascii_case(DATA_SCHEME) {
                self.keep = true;
                let scheme = self.scheme;
                out.bytes(&scheme);
            }
        }
        &seg[take..]
    }

    /// Reads `input` (decoded HTML, cut anywhere), handing hidden text to `sink`.
    pub(crate) fn feed(&mut self, input: &[u8], sink: &mut dyn FnMut(&[u8])) {
        let mut out = Out { sink };
        let mut i = 0;
        while i < input.len() {
            let c = input[i];
            match self.st {
                St::Text => {
                    match memchr::memchr(b'<', &input[i..]) {
                        Some(p) => {
                            i += p;
                            // A tag that ends in this input is read in one go; otherwise,
                            // and for comments, byte by byte.
                            match self.tag_at(&input[i..], &mut out) {
                                Some(n) => i += n,
                                None => {
                                    i += 1;
                                    self.st = St::Lt;
                                }
                            }
                        }
                        None => i = input.len(),
                    }
                    continue;
                }
                St::Lt => {
                    self.name_len = 0;
                    self.st = match c {
                        b'!' => St::Bang,
                        b'/' => St::EndTag,
                        c if c.is_ascii_alphabetic() => {
                            self.name_push(c);
                            St::TagName
                        }
                        // "a < b" is text.
                        _ => St::Text,
                    };
                }
                St::TagName => {
                    let rest = &input[i..];
                    let n = rest
                        .iter()
                        .position(|&b| {
                            !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b':' | b'_'))
                        })
                        .unwrap_or(rest.len());
                    self.names_push(&rest[..n]);
                    i += n;
                    if n < rest.len() {
                        self.raw_tag = match self.name() {
                            b"script" => Some(b"script"),
                            b"style" => Some(b"style"),
                            _ => None,
                        };
                        self.gap = true;
                        self.st = St::InTag;
                    }
                    continue;
                }
                St::EndTag => {
                    // An end tag's attributes are nothing: skip to its end.
                    match memchr::memchr(b'>', &input[i..]) {
                        Some(p) => {
                            i += p + 1;
                            self.st = St::Text;
                        }
                        None => i = input.len(),
                    }
                    continue;
                }
                St::InTag => {
                    // One tight loop over the tag's bytes to its `=` or `>`, the attribute
                    // name gathered on the way (the token before the `=`, spaces allowed).
                    let rest = &input[i..];
                    let mut k = 0;
                    while let Some(&b) = rest.get(k) {
                        if b == b'>' || b == b'=' {
                            break;
                        }
                        if is_space(b) || b == b'/' {
                            self.gap = true;
                        } else {
                            if self.gap {
                                self.gap = false;
                                self.name_len = 0;
                            }
                            if self.name_len < NAME_BYTES {
                                self.name[self.name_len] = b.to_ascii_lowercase();
                                self.name_len += 1;
                            }
                        }
                        k += 1;
                    }
                    i += k;
                    match rest.get(k) {
                        None => {}
                        Some(&b'>') => {
                            // `<script/>` starts raw text too, as in a browser (HTML5 has no
                            // self-closing script or style).
                            self.st = match self.raw_tag.take() {
                                Some(raw) => {
                                    self.raw = raw;
                                    St::Raw
                                }
                                None => St::Text,
                            };
                            i += 1;
                        }
                        Some(_) => {
                            self.st = St::BeforeValue;
                            i += 1;
                        }
                    }
                    continue;
                }
                St::BeforeValue => {
                    if is_space(c) {
                        // Spaces before the value.
                    } else {
                        let name = self.name();
                        self.keep = WORD_ATTRIBUTES.contains(&name) || name.starts_with(b"data-");
                        self.probing = !self.keep;
                        self.scheme_len = 0;
                        match c {
                            b'"' | b'\'' => self.st = St::Value(c),
                            b'>' => {
                                self.st = St::InTag;
                                continue;
                            }
                            _ => {
                                self.st = St::Unquoted;
                                continue;
                            }
                        }
                    }
                }
                St::Value(q) => {
                    let rest = &input[i..];
                    let (n, closed) = match memchr::memchr(q, rest) {
                        Some(p) => (p, true),
                        None => (rest.len(), false),
                    };
                    let mut seg = &rest[..n];
                    if self.probing {
                        seg = self.probe(seg, &mut out);
                    }
                    if self.keep {
                        out.bytes(seg);
                    }
                    i += n;
                    if closed {
                        if self.keep {
                            out.end();
                        }
                        self.st = St::InTag;
                        self.gap = true;
                        i += 1;
                    }
                    continue;
                }
                St::Unquoted => {
                    let rest = &input[i..];
                    let n = rest
                        .iter()
                        .position(|&b| is_space(b) || b == b'>')
                        .unwrap_or(rest.len());
                    let mut seg = &rest[..n];
                    if self.probing {
                        seg = self.probe(seg, &mut out);
                    }
                    if self.keep {
                        out.bytes(seg);
                    }
                    i += n;
                    if n < rest.len() {
                        if self.keep {
                            out.end();
                        }
                        self.st = St::InTag;
                        self.gap = true;
                    }
                    continue;
                }
                St::Bang => {
                    self.st = if c == b'-' { St::BangDash } else { St::Bogus };
                    if self.st == St::Bogus {
                        continue;
                    }
                }
                St::BangDash => {
                    if c == b'-' {
                        self.st = St::Comment;
                    } else {
                        out.bytes(b"-");
                        self.st = St::Bogus;
                        continue;
                    }
                }
                St::Bogus => {
                    let rest = &input[i..];
                    match memchr::memchr(b'>', rest) {
                        Some(p) => {
                            out.bytes(&rest[..p]);
                            out.end();
                            i += p + 1;
                            self.st = St::Text;
                        }
                        None => {
                            out.bytes(rest);
                            i = input.len();
                        }
                    }
                    continue;
                }
                St::Comment => {
                    let rest = &input[i..];
                    let n = memchr::memchr(b'-', rest).unwrap_or(rest.len());
                    out.bytes(&rest[..n]);
                    i += n;
                    if n < rest.len() {
                        self.st = St::CommentDash;
                        i += 1;
                    }
                    continue;
                }
                St::CommentDash => {
                    if c == b'-' {
                        self.st = St::CommentDash2;
                    } else {
                        out.bytes(b"-");
                        self.st = St::Comment;
                        continue;
                    }
                }
                St::CommentDash2 => match c {
                    b'>' => {
                        out.end();
                        self.st = St::Text;
                    }
                    b'-' => out.bytes(b"-"),
                    _ => {
                        out.bytes(b"--");
                        self.st = St::Comment;
                        continue;
                    }
                },
                St::Raw => {
                    let rest = &input[i..];
                    let n = memchr::memchr(b'<', rest).unwrap_or(rest.len());
                    out.bytes(&rest[..n]);
                    i += n;
                    if n < rest.len() {
                        self.st = St::RawLt;
                        i += 1;
                    }
                    continue;
                }
                St::RawLt => {
                    if c == b'/' {
                        self.name_len = 0;
                        self.st = St::RawName;
                    } else {
                        out.bytes(b"<");
                        self.st = St::Raw;
                        continue;
                    }
                }
                St::RawName => {
                    if c.is_ascii_alphabetic() && self.name_len < NAME_BYTES {
                        self.name_push(c);
                    } else if self.name() == self.raw {
                        out.end();
                        self.raw = b"";
                        self.st = St::EndTag;
                        continue;
                    } else {
                        let (n, name) = (self.name_len, self.name);
                        out.bytes(b"</");
                        out.bytes(&name[..n]);
                        self.st = St::Raw;
                        continue;
                    }
                }
            }
            i += 1;
        }
    }

    /// The tag at the start of `rest` (`rest[0]` is `<`), read whole when it ends in `rest`:
    /// the same pieces, in the same order, as the states give it byte by byte (a test feeds
    /// random markup both ways), found sixteen bytes a step. `None` (nothing written) for a
    /// comment or `<!…>`, or a tag `rest` does not hold to its `>`.
    fn tag_at(&mut self, rest: &[u8], out: &mut Out<'_>) -> Option<usize> {
        let first = *rest.get(1)?;
        if first == b'/' {
            let gt = 2 + find2(rest, 2, b'>', b'>')?;
            return Some(gt + 1);
        }
        if !first.is_ascii_alphabetic() {
            return None;
        }
        let name_end = 1 + rest[1..]
            .iter()
            .position(|&b| !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b':' | b'_')))?;
        let tag = &rest[1..name_end];
        let raw: Option<&'static [u8]> = if tag.eq_ignore_ascii_case(b"script") {
            Some(b"script")
        } else if tag.eq_ignore_ascii_case(b"style") {
            Some(b"style")
        } else {
            None
        };
        // Values to hand on, written only once the tag's end is known.
        let mut kept = [(0usize, 0usize); 8];
        let mut nk = 0;
        // The attribute name as the states keep it: the last run of name bytes before the
        // `=` (the tag's own name when there is none).
        let mut name = tag;
        let mut j = name_end;
        let gt = loop {
            let k = j + find2(rest, j, b'=', b'>')?;
            for (p, &b) in rest[j..k].iter().enumerate() {
                if b != b'/' && !is_space(b) {
                    let p = j + p;
                    if p == j || is_space(rest[p - 1]) || rest[p - 1] == b'/' {
                        let e = rest[p..k]
                            .iter()
                            .position(|&c| is_space(c) || c == b'/')
                            .map_or(k, |n| p + n);
                        name = &rest[p..e];
                    }
                }
            }
            if rest[k] == b'>' {
                break k;
            }
            let mut v = k + 1;
            while is_space(*rest.get(v)?) {
                v += 1;
            }
            let (vs, ve, next) = match rest[v] {
                q @ (b'"' | b'\'') => {
                    let close = v + 1 + memchr::memchr(q, &rest[v + 1..])?;
                    (v + 1, close, close + 1)
                }
                b'>' => (v, v, v),
                _ => {
                    let e = v + rest[v..].iter().position(|&b| is_space(b) || b == b'>')?;
                    (v, e, e)
                }
            };
            let short = &name[..name.len().min(NAME_BYTES)];
            let words = WORD_ATTRIBUTES
                .iter()
                .any(|w| short.eq_ignore_ascii_case(w))
                || (short.len() >= 5 && short[..5].eq_ignore_ascii_case(b"data-"));
            let uri = trim_start(&rest[vs..ve]);
            let data_uri = !words
                && uri.len() >= DATA_SCHEME.len()
                && uri[..DATA_SCHEME.len()].eq_ignore_ascii_case(DATA_SCHEME);
            if (words || data_uri) && rest[v] != b'>' {
                if nk == kept.len() {
                    return None;
                }
                kept[nk] = if data_uri {
                    (ve - uri.len(), ve)
                } else {
                    (vs, ve)
                };
                nk += 1;
            }
            j = next;
        };
        for &(a, b) in &kept[..nk] {
            out.bytes(&rest[a..b]);
            out.end();
        }
        self.st = match raw {
            Some(r) => {
                self.raw = r;
                St::Raw
            }
            None => St::Text,
        };
        Some(gt + 1)
    }

    /// End of the part: a piece cut off by the end is ended.
    pub(crate) fn finish(&mut self, sink: &mut dyn FnMut(&[u8])) {
        let mut out = Out { sink };
        match self.st {
            St::Comment | St::CommentDash | St::CommentDash2 | St::Bogus | St::Raw => out.end(),
            St::RawLt => {
                out.bytes(b"<");
                out.end();
            }
            St::RawName => {
                let (n, name) = (self.name_len, self.name);
                out.bytes(b"</");
                out.bytes(&name[..n]);
                out.end();
            }
            St::Value(_) | St::Unquoted if self.keep => out.end(),
            _ => {}
        }
        self.reset();
    }
}

/// The first `a` or `b` in `rest` from `j`, as an offset from `j`: sixteen bytes a step.
fn find2(rest: &[u8], j: usize, a: u8, b: u8) -> Option<usize> {
    use wide::u8x16;
    let tail = rest.get(j..)?;
    let mut k = 0;
    while let Some(chunk) = tail.get(k..k + 16) {
        let v = u8x16::from(<[u8; 16]>::try_from(chunk).expect("16 bytes"));
        let m = (v.simd_eq(u8x16::splat(a)) | v.simd_eq(u8x16::splat(b))).to_bitmask();
        if m != 0 {
            return Some(k + m.trailing_zeros() as usize);
        }
        k += 16;
    }
    tail[k..]
        .iter()
        .position(|&c| c == a || c == b)
        .map(|p| k + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hidden(html: &[u8], cuts: &[usize]) -> String {
        let mut h = Hidden::default();
        let mut v = Vec::new();
        let mut last = 0;
        for &c in cuts.iter().chain(std::iter::once(&html.len())) {
            h.feed(&html[last..c], &mut |b| v.extend_from_slice(b));
            last = c;
        }
        h.finish(&mut |b| v.extend_from_slice(b));
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn reads_comments_raw_text_and_word_attributes() {
        let html =
            br#"<!DOCTYPE html><html><head><title>T</title><style>p { color: red } /* s1 */</style>
<meta name="description" content="meta words"><script>var a = "x < y"; // s2</script></head>
<body><!-- the comment - with -- dashes --><p class="MsoNormal" style="margin:0" title='a title'>
seen text <img src="x.png" alt="alt words" width=10 data-note=unquoted><input value="v1" disabled>
<a href="https://t.example/?id=4556737586899855">link</a><![CDATA[cdata words]]></p>
<script/><p>after</p></body></html>"#;
        let want = "DOCTYPE html\np { color: red } /* s1 */\nmeta words\nvar a = \"x < y\"; // s2\n \
                    the comment - with -- dashes \na title\nalt words\nunquoted\nv1\n[CDATA[cdata words]]\n\
                    <p>after</p></body></html>\n";
        assert_eq!(hidden(html, &[]), want);
        for cut in 0..html.len() {
            assert_eq!(hidden(html, &[cut]), want, "cut at {cut}");
        }
        let all: Vec<usize> = (1..html.len()).collect();
        assert_eq!(hidden(html, &all), want, "byte by byte");
    }

    /// The whole-tag path and the byte-by-byte states give the same pieces: random markup
    /// (attributes kept and not, quoted, unquoted, empty, spaced around `=`, stray quotes and
    /// slashes, long names, comments, raw text, `<!…>`), fed whole, cut at random points and
    /// one byte at a time (which takes the states only).
    #[test]
    fn whole_tags_read_as_the_states_read_them() {
        const PIECES: &[&str] = &[
            "<p class=MsoNormal>",
            "<span style='font-family:Calibri'>",
            "</span>",
            "</p>",
            "<img alt=\"a card\" src=x.png>",
            "<IMG ALT='Upper' TITLE=t2>",
            "<a title = \"sp\" >",
            "<input value=v disabled>",
            "<b data-x=\"d1\" data-y='d2'>",
            "<i alt=>",
            "<i alt=\"\">",
            "<u x=\"1\"alt=\"2\">",
            "<q \"stray\" alt=s>",
            "<br/>",
            "<br / >",
            "<x =y>",
            "<title =z>",
            "<a/alt=w>",
            "<data-aaaaaaaaaaaaaaaaaa=long>",
            "<e data-aaaaaaaaaaaaaaaaaa=long2>",
            "<!-- c1 -->",
            "<!-- a-b--c --->",
            "<!DOCTYPE html>",
            "<![CDATA[cd]]>",
            "<script>var x = 1 < 2;</script>",
            "<style>p{}</style>",
            "<script/>s</script>",
            "<SCRIPT>up</SCRIPT>",
            "text ",
            "a < b ",
            "&amp; ",
            "\r\n",
            "<p\ttitle\n=\n'nl'>",
            "<meta content=\"m\"/>",
            "<o:p>",
            "</o:p>",
            "<a href=\"data:text/plain;base64,QUJD\">",
            "<img src=' DATA:,x' alt=a>",
            "<a href=data:x>",
            "<a href=\"dat\">",
            "<a href=\"https://x.example/?d=1\">",
            "<",
        ];
        let mut next = crate::testing::picker(0x2d35_8dcc_aa6c_78a5_u64);
        for _ in 0..3_000 {
            let mut html = String::new();
            for _ in 0..1 + next(12) {
                html.push_str(PIECES[next(PIECES.len())]);
            }
            let html = html.as_bytes();
            let whole = hidden(html, &[]);
            let bytes: Vec<usize> = (1..html.len()).collect();
            assert_eq!(
                hidden(html, &bytes),
                whole,
                "{:?}",
                String::from_utf8_lossy(html)
            );
            let mut cuts: Vec<usize> = (0..1 + next(4)).map(|_| next(html.len() + 1)).collect();
            cuts.sort_unstable();
            assert_eq!(
                hidden(html, &cuts),
                whole,
                "{:?} at {cuts:?}",
                String::from_utf8_lossy(html)
            );
        }
        // What the pieces are for.
        let got = hidden(
            b"<img alt=\"a card\" src=x.png><IMG ALT='Upper' TITLE=t2><b data-x=\"d1\">",
            &[],
        );
        assert_eq!(got, "a card\nUpper\nt2\nd1\n");
    }

    #[test]
    fn data_uris_are_read_whatever_the_attribute() {
        let html = b"<a href=\"https://t.example/?c=4556737586899855\">x</a>\
            <a href=\"data:text/plain;base64,VmlzYQ==\">y</a><img src=' DaTa:image/png;base64,iVBO'>\
            <object data=data:,plain%20text></object><a href=\"data\">z</a>";
        let want =
            "data:text/plain;base64,VmlzYQ==\nDaTa:image/png;base64,iVBO\ndata:,plain%20text\n";
        assert_eq!(hidden(html, &[]), want);
        for cut in 0..html.len() {
            assert_eq!(hidden(html, &[cut]), want, "cut at {cut}");
        }
        let all: Vec<usize> = (1..html.len()).collect();
        assert_eq!(hidden(html, &all), want, "byte by byte");
    }

    #[test]
    fn pieces_cut_off_by_the_end_are_ended() {
        assert_eq!(hidden(b"<p>x<!-- open", &[]), " open\n");
        assert_eq!(hidden(b"<img alt=\"half", &[]), "half\n");
        assert_eq!(hidden(b"<style>a{}</sty", &[]), "a{}</sty\n");
        assert_eq!(hidden(b"<p title=x>", &[]), "x\n");
        assert_eq!(hidden(b"a < b and c<d", &[]), "");
    }
}
