//! Receiving message content: the DATA stream (dot-unstuffing up to `CRLF.CRLF`) and BDAT chunks.
//!
//! Only `CRLF . CRLF` ends DATA. Any bare LF or bare CR makes the message invalid; the receiver
//! keeps scanning for the real end so the session can answer in sync and so that no byte of an
//! invalid message is ever taken for a command (the SMTP smuggling defence). Lines longer than
//! RFC 5321 allows and messages over the size limit are likewise consumed and refused whole.

use crate::MAX_TEXT_LINE;

/// Longest line content (without CRLF) RFC 5321 section 4.5.3.1.6 allows.
pub const MAX_BODY_LINE: usize = MAX_TEXT_LINE - 2;

/// Why a received message is refused. The first problem seen is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    BareLf,
    BareCr,
    LineTooLong,
    TooBig,
    /// The caller had no room for more of the message (its buffer class was full and no
    /// larger one was free): a temporary condition, unlike [`BodyError::TooBig`].
    NoRoom,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the first octet of a line.
    LineStart,
    /// After a leading dot (DATA mode only).
    Dot,
    /// After `.` `CR` at the start of a line (DATA mode only).
    DotCr,
    /// Inside a line.
    InLine,
    /// After a CR inside a line; the CR is not stored until its LF arrives.
    Cr,
}

/// Progress of [`BodyReceiver::ingest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// All input was consumed; the message continues.
    More,
    /// The end of DATA was found after `consumed` octets of this input.
    Done { consumed: usize },
}

/// A streaming receiver that stores message content into a caller-owned buffer that never grows
/// past `limit` octets.
#[derive(Debug, Clone)]
pub struct BodyReceiver {
    state: State,
    dot_mode: bool,
    line_len: usize,
    limit: usize,
    error: Option<BodyError>,
}

impl BodyReceiver {
    /// For DATA: dot-unstuffing, ends at `CRLF.CRLF`.
    pub fn data(limit: usize) -> BodyReceiver {
        BodyReceiver {
            state: State::LineStart,
            dot_mode: true,
            line_len: 0,
            limit,
            error: None,
        }
    }

    /// For BDAT chunks: content is taken verbatim (no end marker) but still checked for bare CR,
    /// bare LF and long lines, because it may be relayed downstream with DATA.
    pub fn chunks(limit: usize) -> BodyReceiver {
        BodyReceiver {
            dot_mode: false,
            ..BodyReceiver::data(limit)
        }
    }

    /// The first problem found so far.
    pub fn error(&self) -> Option<BodyError> {
        self.error
    }

    fn fail(&mut self, e: BodyError) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }

    fn store(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        if self.error.is_some() {
            return;
        }
        if out.len() + bytes.len() > self.limit {
            self.fail(BodyError::TooBig);
            return;
        }
        out.extend_from_slice(bytes);
    }

    fn add_line_len(&mut self, n: usize) {
        self.line_len += n;
        if self.line_len > MAX_BODY_LINE {
            self.fail(BodyError::LineTooLong);
        }
    }

    /// Stops storing: the rest of the message is read to its end and discarded, and the
    /// message ends with [`BodyError::NoRoom`] (unless an earlier problem came first).
    pub fn out_of_room(&mut self) {
        self.fail(BodyError::NoRoom);
    }

    /// Consumes `input`, storing content into `out`.
    pub fn ingest(&mut self, input: &[u8], out: &mut Vec<u8>) -> Progress {
        let mut i = 0;
        while i < input.len() {
            let b = input[i];
            match self.state {
                State::LineStart => {
                    self.line_len = 0;
                    if self.dot_mode && b == b'.' {
                        self.state = State::Dot;
                        self.add_line_len(1);
                        i += 1;
                    } else {
                        self.state = State::InLine;
                    }
                }
                State::Dot => {
                    if b == b'\r' {
                        self.state = State::DotCr;
                        i += 1;
                    } else {
                        // The leading dot was stuffing: drop it and read on.
                        self.state = State::InLine;
                    }
                }
                State::DotCr => {
                    if b == b'\n' {
                        self.state = State::LineStart;
                        return Progress::Done { consumed: i + 1 };
                    }
                    self.fail(BodyError::BareCr);
                    self.state = State::InLine;
                }
                State::Cr => {
                    if b == b'\n' {
                        self.store(b"\r\n", out);
                        self.state = State::LineStart;
                        i += 1;
                    } else {
                        self.fail(BodyError::BareCr);
                        self.state = State::InLine;
                    }
                }
                State::InLine => {
                    let rest = &input[i..];
                    match memchr::memchr2(b'\r', b'\n', rest) {
                        None => {
                            self.add_line_len(rest.len());
                            self.store(rest, out);
                            i = input.len();
                        }
                        Some(j) => {
                            self.add_line_len(j);
                            self.store(&rest[..j], out);
                            i += j + 1;
                            if rest[j] == b'\r' {
                                self.state = State::Cr;
                            } else {
                                // Not a line end: `\n.\n` must never look like one.
                                self.fail(BodyError::BareLf);
                                self.line_len = 0;
                            }
                        }
                    }
                }
            }
        }
        Progress::More
    }

    /// For BDAT: called after the LAST chunk. A trailing lone CR is a bare CR.
    pub fn finish_chunks(&mut self) -> Option<BodyError> {
        if self.state == State::Cr {
            self.fail(BodyError::BareCr);
        }
        self.error
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &[u8], limit: usize) -> (Vec<u8>, Option<usize>, Option<BodyError>) {
        let mut r = BodyReceiver::data(limit);
        let mut out = Vec::new();
        let done = match r.ingest(input, &mut out) {
            Progress::Done { consumed } => Some(consumed),
            Progress::More => None,
        };
        (out, done, r.error())
    }

    #[test]
    fn plain_message_and_unstuffing() {
        let (out, done, err) = run(b"Subject: x\r\n\r\n..dot\r\nline\r\n.\r\nQUIT\r\n", 1000);
        assert_eq!(out, b"Subject: x\r\n\r\n.dot\r\nline\r\n");
        assert_eq!(done, Some(30));
        assert_eq!(err, None);
    }

    #[test]
    fn empty_message() {
        let (out, done, err) = run(b".\r\n", 10);
        assert!(out.is_empty());
        assert_eq!(done, Some(3));
        assert_eq!(err, None);
    }

    #[test]
    fn smuggling_vectors_do_not_end_data() {
        for v in [&b"a\r\n\n.\n"[..], b"a\n.\r\n", b"a\r.\r\n", b"a\r\n.\rX"] {
            let (_, done, err) = run(v, 1000);
            assert_eq!(done, None, "{v:?} ended data");
            assert!(
                matches!(err, Some(BodyError::BareLf | BodyError::BareCr)),
                "{v:?}: {err:?}"
            );
        }
        // The real end after a smuggling attempt still ends it, with the error kept.
        let (_, done, err) = run(b"a\n.\r\nMAIL FROM:<x@y>\r\n\r\n.\r\n", 1000);
        assert_eq!(done, Some(27));
        assert_eq!(err, Some(BodyError::BareLf));
    }

    #[test]
    fn chunk_split_anywhere_gives_same_result() {
        let msg = b"A: b\r\n\r\n..x\r\n.y\r\nz\r\n.\r\n";
        let (whole, ..) = run(msg, 1000);
        for split in 0..msg.len() {
            let mut r = BodyReceiver::data(1000);
            let mut out = Vec::new();
            assert_eq!(r.ingest(&msg[..split], &mut out), Progress::More);
            assert_eq!(
                r.ingest(&msg[split..], &mut out),
                Progress::Done {
                    consumed: msg.len() - split
                }
            );
            assert_eq!(out, whole, "split at {split}");
        }
    }

    #[test]
    fn out_of_room_discards_the_rest_and_still_finds_the_end() {
        let mut r = BodyReceiver::data(1000);
        let mut out = Vec::new();
        assert_eq!(
            r.ingest(b"Subject: a\r\n\r\nfirst\r\n", &mut out),
            Progress::More
        );
        r.out_of_room();
        assert_eq!(
            r.ingest(b"second\r\n.\r\nQUIT\r\n", &mut out),
            Progress::Done { consumed: 11 }
        );
        assert_eq!(out, b"Subject: a\r\n\r\nfirst\r\n");
        assert_eq!(r.error(), Some(BodyError::NoRoom));
    }

    #[test]
    fn limits() {
        let (_, done, err) = run(b"0123456789\r\n.\r\n", 5);
        assert_eq!((done, err), (Some(15), Some(BodyError::TooBig)));
        let mut long = vec![b'x'; MAX_BODY_LINE];
        long.extend_from_slice(b"\r\n.\r\n");
        assert_eq!(run(&long, 10_000).2, None);
        let mut long = vec![b'x'; MAX_BODY_LINE + 1];
        long.extend_from_slice(b"\r\n.\r\n");
        assert_eq!(run(&long, 10_000).2, Some(BodyError::LineTooLong));
    }

    #[test]
    fn chunks_mode() {
        let mut r = BodyReceiver::chunks(100);
        let mut out = Vec::new();
        assert_eq!(r.ingest(b"a\r\n.\r\n", &mut out), Progress::More);
        assert_eq!(r.ingest(b"b\r", &mut out), Progress::More);
        assert_eq!(r.finish_chunks(), Some(BodyError::BareCr));
        let mut r = BodyReceiver::chunks(100);
        let mut out = Vec::new();
        r.ingest(b"x\n", &mut out);
        assert_eq!(r.error(), Some(BodyError::BareLf));
    }
}
