//! The stream filters that carry text (PDF 32000-1 7.4), undone as the
//! stream arrives and chained in the order `/Filter` names them.
//!
//! A [`Chain`] owns every buffer it needs from start-up: one inflate state,
//! one LZW decoder and one output buffer, cut into the final window the
//! content lexer reads and a small pipe between each pair of stages. Each
//! decoder keeps its own state across feeds (a hex digit, a part of a base-85
//! group, a run header), so where a feed ends never matters. Every byte any
//! stage writes counts against the caller's budget and ratio, so a
//! RunLength or LZW bomb is stopped as a deflate bomb is.

use std::sync::{Mutex, PoisonError};

use miniz_oxide::inflate::stream::{inflate, InflateState};
use miniz_oxide::{DataFormat, MZError, MZFlush, MZStatus};
use weezl::decode::Decoder as LzwDecoder;
use weezl::{BitOrder, LzwStatus};

/// Filters undone in one stream. Writers use one or two (Ghostscript's
/// `[/ASCII85Decode /FlateDecode]`); four covers any sensible chain, and a
/// longer one is reported unsupported rather than given more pipes.
pub const MAX_FILTERS: usize = 4;
/// The pipe between two stages, carved from the output buffer: large
/// enough that inflate is called on kilobytes, not bytes.
const PIPE_BYTES: usize = 2048;
/// What weezl 0.2's decoder allocates: 4096 table entries of an 8-byte
/// suffix, a 4-byte link and a 2-byte depth, a 4096-byte buffer, and the
/// boxed state holding them (under 256 bytes). It is opaque, so this is
/// counted from its source.
const LZW_STATE_BYTES: usize = 4096 * (8 + 4 + 2) + 4096 + 256;

/// A filter this module undoes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Filter {
    Flate,
    AsciiHex,
    Ascii85,
    RunLength,
    Lzw,
}

/// Filter names with their abbreviations (7.4, table 6; 8.9.7, table 94).
const NAMES: &[(&[u8], Filter)] = &[
    (b"/FlateDecode", Filter::Flate),
    (b"/Fl", Filter::Flate),
    (b"/ASCIIHexDecode", Filter::AsciiHex),
    (b"/AHx", Filter::AsciiHex),
    (b"/ASCII85Decode", Filter::Ascii85),
    (b"/A85", Filter::Ascii85),
    (b"/RunLengthDecode", Filter::RunLength),
    (b"/RL", Filter::RunLength),
    (b"/LZWDecode", Filter::Lzw),
    (b"/LZW", Filter::Lzw),
];

impl Filter {
    /// The filter a whole name (with its slash) stands for.
    pub(super) fn named(name: &[u8]) -> Option<Filter> {
        NAMES.iter().find(|(n, _)| *n == name).map(|&(_, f)| f)
    }
}

/// A stream's filters, first applied to the raw data first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Filters {
    list: [Filter; MAX_FILTERS],
    n: usize,
}

impl Filters {
    pub(super) const NONE: Filters = Filters {
        list: [Filter::Flate; MAX_FILTERS],
        n: 0,
    };

    /// Appends a filter; false if the chain is too long, or needs a second
    /// inflate state or LZW decoder (one of each is kept).
    pub(super) fn push(&mut self, f: Filter) -> bool {
        let shared = matches!(f, Filter::Flate | Filter::Lzw);
        if self.n == MAX_FILTERS || (shared && self.has(f)) {
            return false;
        }
        self.list[self.n] = f;
        self.n += 1;
        true
    }

    pub(super) fn has(&self, f: Filter) -> bool {
        self.list[..self.n].contains(&f)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.n == 0
    }

    #[cfg(test)]
    pub(super) fn of(fs: &[Filter]) -> Filters {
        let mut out = Filters::NONE;
        for &f in fs {
            assert!(out.push(f));
        }
        out
    }
}

/// How a decoding step or a run left a stage or the chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Status {
    /// Wants more input.
    More,
    /// The data ended (end-of-data marker, or the stream end of inflate).
    End,
    /// The encoded data is invalid.
    Corrupt,
    /// The caller's byte budget ran out.
    Budget,
    /// The output outgrew the input by more than the allowed ratio.
    Ratio,
}

/// One call of a stage's decoder.
struct Step {
    used: usize,
    wrote: usize,
    status: Status,
}

/// ASCIIHexDecode (7.4.2): a half byte may wait for its second digit.
#[derive(Clone, Copy, Debug, Default)]
struct Hex {
    half: Option<u8>,
}

impl Hex {
    fn step(&mut self, inp: &[u8], out: &mut [u8]) -> Step {
        let (mut used, mut wrote) = (0, 0);
        while used < inp.len() && wrote < out.len() {
            let b = inp[used];
            used += 1;
            let v = match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                b'A'..=b'F' => b - b'A' + 10,
                b'>' => {
                    // An odd final digit is followed by an implied 0.
                    if let Some(h) = self.half.take() {
                        out[wrote] = h << 4;
                        wrote += 1;
                    }
                    return Step {
                        used,
                        wrote,
                        status: Status::End,
                    };
                }
                b if is_white(b) => continue,
                _ => {
                    return Step {
                        used,
                        wrote,
                        status: Status::Corrupt,
                    }
                }
            };
            match self.half.take() {
                Some(h) => {
                    out[wrote] = (h << 4) | v;
                    wrote += 1;
                }
                None => self.half = Some(v),
            }
        }
        Step {
            used,
            wrote,
            status: Status::More,
        }
    }
}

/// ASCII85Decode (7.4.3): up to five digits of a group, the bytes of a
/// decoded group not yet written, and a `~` waiting for its `>`.
#[derive(Clone, Copy, Debug, Default)]
struct A85 {
    value: u64,
    digits: u8,
    pending: [u8; 4],
    pending_len: u8,
    pending_at: u8,
    tilde: bool,
    /// `~>` was read: the end is told once `pending` is out.
    ended: bool,
    /// Nothing but white space read yet: a leading `<~` (PostScript's
    /// opening bracket, which some writers keep) is skipped.
    start: bool,
    /// A `<` was read at the start: it is `<~` or a digit.
    lt: bool,
}

impl A85 {
    fn new() -> A85 {
        A85 {
            start: true,
            ..A85::default()
        }
    }

    fn step(&mut self, inp: &[u8], out: &mut [u8]) -> Step {
        let (mut used, mut wrote) = (0, 0);
        let status = loop {
            while self.pending_at < self.pending_len && wrote < out.len() {
                out[wrote] = self.pending[usize::from(self.pending_at)];
                self.pending_at += 1;
                wrote += 1;
            }
            if self.pending_at < self.pending_len {
                break Status::More;
            }
            if self.ended {
                break Status::End;
            }
            let Some(&b) = inp.get(used) else {
                break Status::More;
            };
            used += 1;
            if self.byte(b).is_err() {
                break Status::Corrupt;
            }
        };
        Step {
            used,
            wrote,
            status,
        }
    }

    fn byte(&mut self, b: u8) -> Result<(), ()> {
        if is_white(b) {
            return Ok(());
        }
        if self.tilde {
            return if b == b'>' { self.end() } else { Err(()) };
        }
        if self.lt {
            self.lt = false;
            if b == b'~' {
                return Ok(());
            }
            self.digit(b'<')?;
        }
        if self.start && b == b'<' {
            self.lt = true;
        }
        self.start = false;
        match b {
            _ if self.lt => Ok(()),
            b'~' => {
                self.tilde = true;
                Ok(())
            }
            b'z' if self.digits == 0 => {
                self.set_pending(&[0; 4]);
                Ok(())
            }
            _ => self.digit(b),
        }
    }

    /// A digit; a `z` inside a group and any other character are errors.
    fn digit(&mut self, b: u8) -> Result<(), ()> {
        if !(b'!'..=b'u').contains(&b) {
            return Err(());
        }
        self.value = self.value * 85 + u64::from(b - b'!');
        self.digits += 1;
        if self.digits == 5 {
            let v = u32::try_from(self.value).map_err(|_| ())?;
            self.set_pending(&v.to_be_bytes());
            self.value = 0;
            self.digits = 0;
        }
        Ok(())
    }

    fn set_pending(&mut self, bytes: &[u8]) {
        self.pending[..bytes.len()].copy_from_slice(bytes);
        self.pending_len = bytes.len() as u8;
        self.pending_at = 0;
    }

    /// `~>`: a final group of n digits is padded with `u` and gives n - 1
    /// bytes; a single digit is an error.
    fn end(&mut self) -> Result<(), ()> {
        let n = self.digits;
        if n == 1 {
            return Err(());
        }
        if n > 1 {
            let mut v = self.value;
            for _ in n..5 {
                v = v * 85 + 84;
            }
            let v = u32::try_from(v).map_err(|_| ())?;
            self.set_pending(&v.to_be_bytes()[..usize::from(n - 1)]);
        }
        self.ended = true;
        Ok(())
    }
}

/// RunLengthDecode (7.4.5): where in a run the data is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Rle {
    /// Next byte is a length.
    #[default]
    Header,
    /// This many bytes to copy.
    Copy(u8),
    /// The next byte is repeated this many times.
    RepeatOf(u16),
    /// This byte, this many more times.
    Repeat(u8, u16),
}

impl Rle {
    fn step(&mut self, inp: &[u8], out: &mut [u8]) -> Step {
        let (mut used, mut wrote) = (0, 0);
        loop {
            match *self {
                Rle::Header | Rle::RepeatOf(_) | Rle::Copy(_) if used == inp.len() => break,
                Rle::Header => {
                    let n = inp[used];
                    used += 1;
                    *self = match n {
                        0..=127 => Rle::Copy(n + 1),
                        128 => {
                            return Step {
                                used,
                                wrote,
                                status: Status::End,
                            }
                        }
                        _ => Rle::RepeatOf(257 - u16::from(n)),
                    };
                }
                Rle::Copy(n) => {
                    let k = usize::from(n).min(inp.len() - used).min(out.len() - wrote);
                    if k == 0 {
                        break;
                    }
                    out[wrote..wrote + k].copy_from_slice(&inp[used..used + k]);
                    used += k;
                    wrote += k;
                    let left = n - k as u8;
                    *self = if left == 0 {
                        Rle::Header
                    } else {
                        Rle::Copy(left)
                    };
                }
                Rle::RepeatOf(n) => {
                    *self = Rle::Repeat(inp[used], n);
                    used += 1;
                }
                Rle::Repeat(b, n) => {
                    let k = usize::from(n).min(out.len() - wrote);
                    if k == 0 {
                        break;
                    }
                    out[wrote..wrote + k].fill(b);
                    wrote += k;
                    let left = n - k as u16;
                    *self = if left == 0 {
                        Rle::Header
                    } else {
                        Rle::Repeat(b, left)
                    };
                }
            }
        }
        Step {
            used,
            wrote,
            status: Status::More,
        }
    }
}

/// A stage of the chain and the state of its decoder (inflate and LZW keep
/// theirs in the [`Chain`], one each).
#[derive(Clone, Copy, Debug)]
enum Stage {
    Flate,
    Lzw,
    Hex(Hex),
    A85(A85),
    Run(Rle),
}

fn flate_step(state: &mut InflateState, inp: &[u8], out: &mut [u8]) -> Step {
    let r = inflate(state, inp, out, MZFlush::None);
    let status = match r.status {
        Ok(MZStatus::StreamEnd) => Status::End,
        Ok(_) => Status::More,
        // All it had is out and it waits for input (there was none).
        Err(MZError::Buf) if inp.is_empty() => Status::More,
        Err(_) => Status::Corrupt,
    };
    Step {
        used: r.bytes_consumed,
        wrote: r.bytes_written,
        status,
    }
}

fn lzw(m: &mut Mutex<LzwDecoder>) -> &mut LzwDecoder {
    m.get_mut().unwrap_or_else(PoisonError::into_inner)
}

fn lzw_step(lzw: &mut LzwDecoder, inp: &[u8], out: &mut [u8]) -> Step {
    let r = lzw.decode_bytes(inp, out);
    let status = match r.status {
        Ok(LzwStatus::Done) => Status::End,
        Ok(LzwStatus::Ok | LzwStatus::NoProgress) => Status::More,
        Err(_) => Status::Corrupt,
    };
    Step {
        used: r.consumed_in,
        wrote: r.consumed_out,
        status,
    }
}

/// What a chain may write before it is stopped, for one [`Chain::run`].
#[derive(Clone, Copy, Debug)]
pub(super) struct Limits {
    /// Bytes all stages may still write (the message-wide inflate budget).
    pub budget: u64,
    /// Output over raw input, checked once the output passed `grace`.
    pub ratio: u64,
    pub grace: u64,
}

/// The decoders of one stream, in filter order, with their buffers.
pub(super) struct Chain {
    stages: [Stage; MAX_FILTERS],
    n: usize,
    /// The stages before this one have ended (and so has this one, if it
    /// is not 0): nothing more goes into it.
    live: usize,
    inflate: Box<InflateState>,
    /// weezl's decoder is `Send` but not `Sync`, and the scanner must be
    /// both: a mutex only ever reached through `get_mut` (never locked, so
    /// never poisoned) makes it `Sync` at no cost.
    lzw: Mutex<LzwDecoder>,
    /// The last stage's output, then one [`PIPE_BYTES`] pipe per other stage
    /// (a lone filter has the whole buffer).
    buf: Box<[u8]>,
    /// Pending bytes `[start, end)` of each pipe.
    spans: [(usize, usize); MAX_FILTERS - 1],
    /// Raw bytes read and bytes written by all stages, in this stream.
    read: u64,
    written: u64,
}

/// The outcome of [`Chain::run`].
#[derive(Debug)]
pub(super) struct Ran {
    /// Raw bytes used; the rest is after the data's end (or not read, on
    /// any status but `More`).
    pub used: usize,
    /// Bytes written by all stages in this call.
    pub wrote: u64,
    pub status: Status,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Chain({:?})", &self.stages[..self.n])
    }
}

impl Chain {
    /// A chain whose final window and pipes share `buf_bytes`.
    pub(super) fn new(buf_bytes: usize) -> Chain {
        assert!(buf_bytes > MAX_FILTERS * PIPE_BYTES);
        Chain {
            stages: [Stage::Flate; MAX_FILTERS],
            n: 0,
            live: 0,
            inflate: InflateState::new_boxed(DataFormat::Zlib),
            lzw: Mutex::new(LzwDecoder::with_tiff_size_switch(BitOrder::Msb, 8)),
            buf: vec![0u8; buf_bytes].into_boxed_slice(),
            spans: [(0, 0); MAX_FILTERS - 1],
            read: 0,
            written: 0,
        }
    }

    pub(super) fn state_bytes(&self) -> usize {
        std::mem::size_of::<InflateState>() + LZW_STATE_BYTES + self.buf.len()
    }

    /// Starts a stream under `filters`.
    pub(super) fn begin(&mut self, filters: &Filters) {
        self.n = filters.n;
        self.live = 0;
        for (s, &f) in self.stages.iter_mut().zip(&filters.list[..filters.n]) {
            *s = match f {
                Filter::Flate => {
                    self.inflate.reset(DataFormat::Zlib);
                    Stage::Flate
                }
                Filter::Lzw => {
                    lzw(&mut self.lzw).reset();
                    Stage::Lzw
                }
                Filter::AsciiHex => Stage::Hex(Hex::default()),
                Filter::Ascii85 => Stage::A85(A85::new()),
                Filter::RunLength => Stage::Run(Rle::default()),
            };
        }
        self.spans = [(0, 0); MAX_FILTERS - 1];
        self.read = 0;
        self.written = 0;
    }

    /// Decodes what it can of `data`, handing the last stage's output to
    /// `sink` window by window, until it needs more input, the data ends,
    /// is corrupt, or a limit is passed.
    pub(super) fn run(&mut self, data: &[u8], lim: &Limits, mut sink: impl FnMut(&[u8])) -> Ran {
        let n = self.n;
        let out_bytes = self.out_bytes();
        let mut used = 0;
        let mut wrote = 0u64;
        loop {
            let mut moved = false;
            for k in self.live..n {
                let (out, pipes) = self.buf.split_at_mut(out_bytes);
                let (below, above) = pipes.split_at_mut(k * PIPE_BYTES);
                let inp = if k == 0 {
                    &data[used..]
                } else {
                    let (s, e) = self.spans[k - 1];
                    &below[(k - 1) * PIPE_BYTES..][s..e]
                };
                let dst = if k + 1 == n {
                    &mut out[..]
                } else {
                    let e = self.spans[k].1;
                    &mut above[e..PIPE_BYTES]
                };
                let step = match &mut self.stages[k] {
                    Stage::Flate => flate_step(&mut self.inflate, inp, dst),
                    Stage::Lzw => lzw_step(lzw(&mut self.lzw), inp, dst),
                    Stage::Hex(h) => h.step(inp, dst),
                    Stage::A85(a) => a.step(inp, dst),
                    Stage::Run(r) => r.step(inp, dst),
                };
                moved |= step.used > 0 || step.wrote > 0;
                if k == 0 {
                    used += step.used;
                    self.read += step.used as u64;
                } else {
                    self.spans[k - 1].0 += step.used;
                }
                wrote += step.wrote as u64;
                self.written += step.wrote as u64;
                if k + 1 == n {
                    if step.wrote > 0 {
                        sink(&self.buf[..step.wrote]);
                    }
                } else {
                    self.spans[k].1 += step.wrote;
                }
                match step.status {
                    Status::More => {}
                    Status::End => self.live = k + 1,
                    s => {
                        return Ran {
                            used,
                            wrote,
                            status: s,
                        }
                    }
                }
            }
            self.compact();
            if wrote > lim.budget {
                return Ran {
                    used,
                    wrote,
                    status: Status::Budget,
                };
            }
            if self.written > lim.grace && self.written > self.read.max(1).saturating_mul(lim.ratio)
            {
                return Ran {
                    used,
                    wrote,
                    status: Status::Ratio,
                };
            }
            // Once a stage has ended, what it left is through when nothing
            // moves any more.
            if self.live == n || (self.live > 0 && !moved) {
                return Ran {
                    used,
                    wrote,
                    status: Status::End,
                };
            }
            if !moved {
                // Input waiting that no stage takes: the data is stuck.
                let waiting = used < data.len()
                    || self.spans[..n.saturating_sub(1)].iter().any(|s| s.0 < s.1);
                let status = if waiting {
                    Status::Corrupt
                } else {
                    Status::More
                };
                return Ran {
                    used,
                    wrote,
                    status,
                };
            }
        }
    }

    /// The final window: the buffer less a pipe per stage but the last.
    fn out_bytes(&self) -> usize {
        self.buf.len() - self.n.saturating_sub(1) * PIPE_BYTES
    }

    /// Empty pipes start over; a full one's pending bytes move to its start.
    fn compact(&mut self) {
        let out_bytes = self.out_bytes();
        for (k, span) in self
            .spans
            .iter_mut()
            .enumerate()
            .take(self.n.saturating_sub(1))
        {
            let (s, e) = *span;
            if s == e {
                *span = (0, 0);
            } else if e == PIPE_BYTES && s > 0 {
                let base = out_bytes + k * PIPE_BYTES;
                self.buf.copy_within(base + s..base + e, base);
                *span = (0, e - s);
            }
        }
    }
}

/// PDF white space (7.2.2); the ASCII filters ignore it.
fn is_white(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' | 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Filter::*;

    const NO_LIMITS: Limits = Limits {
        budget: u64::MAX,
        ratio: 1 << 20,
        grace: u64::MAX,
    };

    /// `parts` fed one after the other through a chain whose final window
    /// is small, so that pipes and pending bytes fill up.
    fn decode_parts(filters: &[Filter], parts: &[&[u8]]) -> (Vec<u8>, Status) {
        let mut c = Chain::new(MAX_FILTERS * PIPE_BYTES + 61);
        c.begin(&Filters::of(filters));
        let mut out = Vec::new();
        let mut status = Status::More;
        for p in parts {
            let ran = c.run(p, &NO_LIMITS, |d| out.extend_from_slice(d));
            status = ran.status;
            if status != Status::More {
                break;
            }
            assert_eq!(ran.used, p.len());
        }
        (out, status)
    }

    /// Decodes `data` whole, then split at every cut point and byte by
    /// byte: all must agree.
    fn decode(filters: &[Filter], data: &[u8]) -> (Vec<u8>, Status) {
        let whole = decode_parts(filters, &[data]);
        for i in 0..=data.len() {
            let cut = decode_parts(filters, &[&data[..i], &data[i..]]);
            assert_eq!(cut, whole, "split at {i}");
        }
        let bytes: Vec<&[u8]> = data.chunks(1).collect();
        assert_eq!(decode_parts(filters, &bytes), whole, "byte by byte");
        whole
    }

    fn ok(filters: &[Filter], data: &[u8]) -> Vec<u8> {
        let (out, status) = decode(filters, data);
        assert_eq!(status, Status::End, "{}", String::from_utf8_lossy(&out));
        out
    }

    fn status(filters: &[Filter], data: &[u8]) -> Status {
        decode(filters, data).1
    }

    const LEVIATHAN: &[u8] = b"Man is distinguished, not only by his reason, but by this singular \
passion from other animals, which is a lust of the mind, that by a perseverance of delight in the \
continued and indefatigable generation of knowledge, exceeds the short vehemence of any carnal \
pleasure.";

    /// Test encoders, written from the spec rather than from the decoders.
    fn hex(data: &[u8]) -> Vec<u8> {
        let mut s: String = data.iter().map(|b| format!("{b:02X} ")).collect();
        s.push('>');
        s.into_bytes()
    }

    /// Literal runs of up to 5 bytes, runs of 3 or more equal bytes
    /// repeated, then EOD.
    fn rle(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < data.len() {
            let same = data[i..]
                .iter()
                .take(128)
                .take_while(|&&b| b == data[i])
                .count();
            if same >= 3 {
                out.extend_from_slice(&[(257 - same) as u8, data[i]]);
                i += same;
            } else {
                let n = (data.len() - i).min(5);
                out.push(n as u8 - 1);
                out.extend_from_slice(&data[i..i + n]);
                i += n;
            }
        }
        out.push(128);
        out
    }

    /// Groups of four bytes in five digits, `z` for four zeros, a final
    /// partial group of n bytes in n + 1 digits.
    fn a85(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for g in data.chunks(4) {
            let mut v = [0u8; 4];
            v[..g.len()].copy_from_slice(g);
            let mut x = u32::from_be_bytes(v);
            if x == 0 && g.len() == 4 {
                out.push(b'z');
                continue;
            }
            let mut digits = [0u8; 5];
            for d in digits.iter_mut().rev() {
                *d = (x % 85) as u8 + b'!';
                x /= 85;
            }
            out.extend_from_slice(&digits[..=g.len()]);
        }
        out.extend_from_slice(b"~>");
        out
    }

    fn lzw(data: &[u8]) -> Vec<u8> {
        weezl::encode::Encoder::with_tiff_size_switch(BitOrder::Msb, 8)
            .encode(data)
            .unwrap()
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        miniz_oxide::deflate::compress_to_vec_zlib(data, 6)
    }

    #[test]
    fn ascii_hex_pairs_white_space_and_an_odd_last_digit() {
        assert_eq!(ok(&[AsciiHex], b"4d616E 20\n6973>"), b"Man is");
        // 7.4.2: an odd final digit is followed by 0.
        assert_eq!(ok(&[AsciiHex], b"61 62 6>"), b"ab\x60");
        assert_eq!(ok(&[AsciiHex], b">"), b"");
        assert_eq!(ok(&[AsciiHex], &hex(LEVIATHAN)), LEVIATHAN);
        // What follows `>` is not read.
        assert_eq!(ok(&[AsciiHex], b"41>zz"), b"A");
        assert_eq!(status(&[AsciiHex], b"41 4g>"), Status::Corrupt);
        // No end marker yet: more is wanted.
        assert_eq!(decode(&[AsciiHex], b"414"), (b"A".to_vec(), Status::More));
    }

    #[test]
    fn ascii85_decodes_the_leviathan_quote() {
        // The Adobe example as Wikipedia gives it, in lines of 72.
        let enc = b"9jqo^BlbD-BleB1DJ+*+F(f,q/0JhKF<GL>Cj@.4Gp$d7F!,L7@<6@)/0JDEF<G%<+EV:2F!\n\
,O<DJ+*.@<*K0@<6L(Df-\\0Ec5e;DffZ(EZee.Bl.9pF\"AGXBPCsi+DGm>@3BB/F*&OCAfu2\n\
/AKYi(DIb:@FD,*)+C]U=@3BN#EcYf8ATD3s@q?d$AftVqCh[NqF<G:8+EV:.+Cf>-FD5W8A\n\
RlolDIal(DId<j@<?3r@:F%a+D58'ATD4$Bl@l3De:,-DJs`8ARoFb/0JMK@qB4^F!,R<AKZ\n\
&-DfTqBG%G>uD.RTpAKYo'+CT/5+Cei#DII?(E,9)oF*2M7/c~>";
        assert_eq!(ok(&[Ascii85], enc), LEVIATHAN);
        // PostScript's `<~` in front is skipped.
        let mut bracketed = b"<~".to_vec();
        bracketed.extend_from_slice(enc);
        assert_eq!(ok(&[Ascii85], &bracketed), LEVIATHAN);
    }

    #[test]
    fn ascii85_groups_z_and_final_partial_groups() {
        assert_eq!(ok(&[Ascii85], b"9jqo^~>"), b"Man ");
        assert_eq!(ok(&[Ascii85], b"9jqo~>"), b"Man");
        assert_eq!(ok(&[Ascii85], b"9j n~>"), b"Ma");
        assert_eq!(ok(&[Ascii85], b"zGQ~>"), b"\0\0\0\0x");
        assert_eq!(ok(&[Ascii85], b" s8W-! z ~>"), b"\xff\xff\xff\xff\0\0\0\0");
        assert_eq!(ok(&[Ascii85], b"~>"), b"");
        // Invalid characters, `z` inside a group, a lone final digit, a
        // group over 2^32 - 1 and a `~` without its `>` are corrupt.
        for bad in [
            &b"9jqo^v~>"[..],
            b"9jzo^~>",
            b"9jqo^9~>",
            b"s8W-\"~>",
            b"uuuuu~>",
            b"9jqo^~x",
        ] {
            assert_eq!(status(&[Ascii85], bad), Status::Corrupt, "{bad:?}");
        }
    }

    #[test]
    fn run_length_copies_repeats_and_ends() {
        // 7.4.5: 0-127 copy n + 1 bytes, 129-255 repeat the next 257 - n
        // times, 128 ends.
        assert_eq!(ok(&[RunLength], b"\x02abc\xfex\x00!\x80tail"), b"abcxxx!");
        assert_eq!(ok(&[RunLength], b"\x81z\x80").len(), 128);
        let mut text = LEVIATHAN.to_vec();
        text.extend_from_slice(&[b' '; 300]);
        text.extend_from_slice(b"4556 5260 1815 9081");
        assert_eq!(ok(&[RunLength], &rle(&text)), text);
        // No end marker yet: more is wanted.
        assert_eq!(decode(&[RunLength], b"\x02ab").1, Status::More);
    }

    #[test]
    fn lzw_decodes_the_spec_example_and_round_trips() {
        // PDF 32000-1 7.4.4.2, example 2: "-----A---B" is the codes
        // 256 45 258 258 65 259 66 257 in 9 bits.
        let spec = [0x80, 0x0B, 0x60, 0x50, 0x22, 0x0C, 0x0C, 0x85, 0x01];
        assert_eq!(ok(&[Lzw], &spec), b"-----A---B");
        // Long enough to grow codes to 12 bits and clear the table.
        let text: Vec<u8> = (0..40u32)
            .flat_map(|i| format!("{i} {}", String::from_utf8_lossy(LEVIATHAN)).into_bytes())
            .collect();
        let enc = lzw(&text);
        assert_eq!(decode_parts(&[Lzw], &[&enc]), (text.clone(), Status::End));
        let bytes: Vec<&[u8]> = enc.chunks(1).collect();
        assert_eq!(decode_parts(&[Lzw], &bytes), (text.clone(), Status::End));
        let short = lzw(LEVIATHAN);
        assert_eq!(ok(&[Lzw], &short), LEVIATHAN);
        // A code past the table is corrupt.
        assert_eq!(status(&[Lzw], &[0x80, 0x3f, 0xf0, 0, 0]), Status::Corrupt);
    }

    #[test]
    fn chains_run_in_filter_order() {
        assert_eq!(ok(&[Ascii85], &a85(LEVIATHAN)), LEVIATHAN);
        assert_eq!(ok(&[Ascii85, Flate], &a85(&zlib(LEVIATHAN))), LEVIATHAN);
        assert_eq!(ok(&[AsciiHex, Flate], &hex(&zlib(LEVIATHAN))), LEVIATHAN);
        assert_eq!(ok(&[AsciiHex, Lzw], &hex(&lzw(LEVIATHAN))), LEVIATHAN);
        let four = a85(&hex(&rle(&lzw(LEVIATHAN))));
        assert_eq!(ok(&[Ascii85, AsciiHex, RunLength, Lzw], &four), LEVIATHAN);
        // Output larger than every pipe and window.
        let big: Vec<u8> = LEVIATHAN.iter().copied().cycle().take(40_000).collect();
        let enc = a85(&zlib(&big));
        let bytes: Vec<&[u8]> = enc.chunks(7).collect();
        assert_eq!(decode_parts(&[Ascii85, Flate], &bytes), (big, Status::End));
        // Corrupt anywhere in the chain is corrupt.
        assert_eq!(
            status(&[Ascii85, Flate], &a85(b"\xff\xff\xff\xff\xff")),
            Status::Corrupt
        );
    }

    #[test]
    fn every_byte_written_counts_against_the_limits() {
        // 2 raw bytes a run, 128 out: a RunLength bomb.
        let bomb: Vec<u8> = b"\x81A".repeat(50_000);
        let run = |filters: &[Filter], data: &[u8], lim: &Limits| {
            let mut c = Chain::new(16 * 1024);
            c.begin(&Filters::of(filters));
            let mut out = 0u64;
            let ran = c.run(data, lim, |d| out += d.len() as u64);
            (ran, out)
        };
        let lim = Limits {
            budget: 1 << 20,
            ratio: 200,
            grace: u64::MAX,
        };
        let (ran, out) = run(&[RunLength], &bomb, &lim);
        assert_eq!(ran.status, Status::Budget);
        assert!(
            ran.wrote > 1 << 20 && ran.wrote < (1 << 20) + 64 * 1024,
            "{ran:?}"
        );
        assert_eq!(out, ran.wrote);
        let lim = Limits {
            budget: u64::MAX,
            ratio: 20,
            grace: 64 * 1024,
        };
        let (ran, _) = run(&[RunLength], &bomb, &lim);
        assert_eq!(ran.status, Status::Ratio);
        // Bytes between stages count too: hex of a RunLength bomb.
        let (ran, out) = run(&[AsciiHex, RunLength], &hex(&bomb), &lim);
        assert_eq!(ran.status, Status::Ratio);
        assert!(ran.wrote > out, "{ran:?} {out}");
    }
}
