//! TNEF MAPI property lists ([MS-OXTNEF] 2.1.3.4, `attMAPIProps` and
//! `attAttachment`): the properties Outlook puts in a `winmail.dat` beside
//! (or instead of) the legacy attributes, streamed in a few bytes of state.
//!
//! A list is a count and then, per property, its tag (type, ID), a name if
//! the ID is a named one (GUID and a number or a UTF-16 string), and its
//! values: fixed-size types in 4 or 8 bytes (or 16 for a CLSID); string,
//! binary and object types as a count of values, each a length, the data
//! and padding to 4 bytes. Multi-valued types (0x1000) have a count too.
//!
//! What is read: PT_UNICODE values (`PR_BODY_W`, the subject, names,
//! addresses) as UTF-16LE text, PT_STRING8 values as 8-bit text,
//! `PR_RTF_COMPRESSED` through [`Lzfu`] into the RTF reader, and other
//! binary values as raw bytes (as the whole list was read before this
//! reader). A list that does not parse is `corrupt_archive`; its bytes so
//! far were read.

use encoding_rs::{Decoder, UTF_16LE, WINDOWS_1252};

use crate::ctx::Ctx;
use crate::findings::UnscannableReason as R;
use crate::lzfu::Lzfu;
use crate::rtf::Rtf;

/// Property types ([MS-OXCDATA] 2.11.1) whose values have a length.
const PT_OBJECT: u16 = 0x000D;
const PT_STRING8: u16 = 0x001E;
const PT_UNICODE: u16 = 0x001F;
const PT_BINARY: u16 = 0x0102;
/// Multi-valued flag on a type.
const MV_FLAG: u16 = 0x1000;
/// PidTagRtfCompressed's ID.
const PR_RTF_COMPRESSED: u16 = 0x1009;
/// IDs from here on are named properties, followed by their name.
const FIRST_NAMED_ID: u16 = 0x8000;
/// A named property's GUID.
const GUID_BYTES: u64 = 16;
/// Decoded text handed on at once.
const OUT_BYTES: usize = 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum St {
    /// The property count.
    Count,
    Tag,
    /// A named property's kind (after its GUID): a number or a string.
    NameKind,
    /// Its numeric ID.
    NameId,
    /// Its string name's length (the name is skipped).
    NameLen,
    /// The property's value or values start here.
    ValueStart,
    /// The number of values of a multi-valued or variable-size property.
    Values,
    /// The next of those values, or the next property.
    NextValue,
    /// One variable-size value's length.
    Len,
    /// Its data.
    Data,
    /// Bytes stepped over (fixed values, names, padding, GUIDs).
    Skip,
    /// After a property of a type this reader cannot step over: the rest
    /// of the list is read as raw bytes, as the whole list once was.
    Rest,
    /// The list ended, or could not be read on: the rest is not looked at.
    Done,
}

/// What a variable-size value is read as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Value {
    Utf16,
    Ansi,
    CompressedRtf,
    Raw,
}

/// One property list being read.
pub(crate) struct Mapi {
    st: St,
    word: [u8; 4],
    have: usize,
    props_left: u32,
    ty: u16,
    id: u16,
    values_left: u32,
    value: Value,
    data_left: u64,
    pad: u64,
    skip_left: u64,
    /// Where to go once a skip is done.
    after_skip: St,
    decoder: Option<Decoder>,
    lzfu: Lzfu,
    out: [u8; OUT_BYTES],
}

impl std::fmt::Debug for Mapi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Mapi({:?})", self.st)
    }
}

impl Mapi {
    pub(crate) fn new() -> Mapi {
        Mapi {
            st: St::Count,
            word: [0; 4],
            have: 0,
            props_left: 0,
            ty: 0,
            id: 0,
            values_left: 0,
            value: Value::Raw,
            data_left: 0,
            pad: 0,
            skip_left: 0,
            after_skip: St::Tag,
            decoder: None,
            lzfu: Lzfu::new(),
            out: [0; OUT_BYTES],
        }
    }

    /// Starts a list; the caller has begun a text segment.
    pub(crate) fn begin(&mut self) {
        self.st = St::Count;
        self.have = 0;
        self.decoder = None;
    }

    /// Reads list bytes: text into `ctx.text`, compressed RTF through `rtf`.
    pub(crate) fn feed(&mut self, ctx: &mut Ctx<'_>, rtf: &mut Rtf, mut data: &[u8]) {
        while !data.is_empty() {
            match self.st {
                St::Done => return,
                St::Rest => {
                    ctx.text.push(ctx.det, ctx.acc, data);
                    return;
                }
                St::Skip => {
                    let n = self.skip_left.min(data.len() as u64) as usize;
                    self.skip_left -= n as u64;
                    data = &data[n..];
                    if self.skip_left == 0 {
                        self.st = self.after_skip;
                        self.settle();
                    }
                }
                St::Data => {
                    let n = self.data_left.min(data.len() as u64) as usize;
                    self.value_bytes(ctx, rtf, &data[..n], false);
                    self.data_left -= n as u64;
                    data = &data[n..];
                    if self.data_left == 0 && self.st == St::Data {
                        self.value_end(ctx, rtf);
                    }
                }
                _ => {
                    let take = (4 - self.have).min(data.len());
                    self.word[self.have..self.have + take].copy_from_slice(&data[..take]);
                    self.have += take;
                    data = &data[take..];
                    if self.have == 4 {
                        self.have = 0;
                        self.word_done(ctx, rtf);
                    }
                }
            }
        }
    }

    /// The end of the list's bytes: a list cut short is corrupt.
    pub(crate) fn finish(&mut self, ctx: &mut Ctx<'_>, rtf: &mut Rtf) {
        if self.st == St::Data {
            self.value_end(ctx, rtf);
        }
        if !matches!(self.st, St::Done | St::Rest) {
            ctx.acc.unscannable(R::CorruptArchive);
        }
        self.st = St::Done;
    }

    fn skip(&mut self, n: u64, then: St) {
        self.skip_left = n;
        self.after_skip = then;
        self.st = St::Skip;
        if n == 0 {
            self.st = then;
            self.settle();
        }
    }

    /// Takes the steps that need no bytes.
    fn settle(&mut self) {
        loop {
            match self.st {
                St::Tag if self.props_left == 0 => self.st = St::Done,
                St::ValueStart => self.start_value(),
                St::NextValue => {
                    if self.values_left == 0 {
                        self.st = St::Tag;
                    } else {
                        self.values_left -= 1;
                        self.st = St::Len;
                    }
                }
                _ => return,
            }
        }
    }

    fn word_done(&mut self, ctx: &mut Ctx<'_>, rtf: &mut Rtf) {
        let w = u32::from_le_bytes(self.word);
        match self.st {
            St::Count => {
                self.props_left = w;
                self.st = St::Tag;
                self.settle();
            }
            St::Tag => {
                self.props_left -= 1;
                self.ty = w as u16;
                self.id = (w >> 16) as u16;
                if self.id >= FIRST_NAMED_ID {
                    self.skip(GUID_BYTES, St::NameKind);
                } else {
                    self.st = St::ValueStart;
                    self.settle();
                }
            }
            St::NameKind => match w {
                0 => self.st = St::NameId,
                1 => self.st = St::NameLen,
                _ => self.corrupt(ctx),
            },
            St::NameId => {
                self.st = St::ValueStart;
                self.settle();
            }
            St::NameLen => self.skip(u64::from(w).div_ceil(4) * 4, St::ValueStart),
            St::Values => {
                self.values_left = w;
                match fixed_size(self.ty & !MV_FLAG) {
                    Some(size) => self.skip(u64::from(w) * size, St::Tag),
                    None => {
                        self.st = St::NextValue;
                        self.settle();
                    }
                }
            }
            St::Len => {
                self.data_left = u64::from(w);
                self.pad = (4 - u64::from(w) % 4) % 4;
                self.st = St::Data;
                self.value_begin(rtf);
                if self.data_left == 0 {
                    self.value_end(ctx, rtf);
                }
            }
            _ => {}
        }
    }

    /// After the tag (and name): the value's layout.
    fn start_value(&mut self) {
        let base = self.ty & !MV_FLAG;
        if self.ty & MV_FLAG != 0 {
            self.st = St::Values;
            return;
        }
        match fixed_size(base) {
            Some(size) => self.skip(size, St::Tag),
            None if is_variable(base) => self.st = St::Values,
            None => self.st = St::Rest,
        }
    }

    fn corrupt(&mut self, ctx: &mut Ctx<'_>) {
        ctx.acc.unscannable(R::CorruptArchive);
        self.st = St::Done;
    }

    fn value_begin(&mut self, rtf: &mut Rtf) {
        let base = self.ty & !MV_FLAG;
        self.value = match base {
            PT_UNICODE => Value::Utf16,
            PT_STRING8 => Value::Ansi,
            PT_BINARY if self.id == PR_RTF_COMPRESSED => Value::CompressedRtf,
            _ => Value::Raw,
        };
        self.decoder = match self.value {
            Value::Utf16 => Some(UTF_16LE.new_decoder_without_bom_handling()),
            Value::Ansi => Some(WINDOWS_1252.new_decoder_without_bom_handling()),
            _ => None,
        };
        if self.value == Value::CompressedRtf {
            self.lzfu.begin();
            rtf.begin();
        }
    }

    fn value_bytes(&mut self, ctx: &mut Ctx<'_>, rtf: &mut Rtf, mut d: &[u8], last: bool) {
        match self.value {
            Value::Raw => ctx.text.push(ctx.det, ctx.acc, d),
            Value::CompressedRtf => {
                let limit = ctx.limits.max_inflated_bytes;
                let mut over = false;
                self.lzfu.feed(d, &mut |t| {
                    *ctx.inflated += t.len() as u64;
                    over |= *ctx.inflated > limit;
                    rtf.feed(ctx, t);
                });
                if over {
                    ctx.acc.unscannable(R::InflatedBytesLimit);
                    self.st = St::Done;
                }
            }
            Value::Utf16 | Value::Ansi => {
                let Some(dec) = self.decoder.as_mut() else {
                    return;
                };
                loop {
                    let (_, read, written, _) = dec.decode_to_utf8(d, &mut self.out, last);
                    ctx.text.push(ctx.det, ctx.acc, &self.out[..written]);
                    d = &d[read..];
                    if d.is_empty() && (written < self.out.len() || !last) {
                        break;
                    }
                }
            }
        }
    }

    /// A value's data is all in (or the list ended inside it).
    fn value_end(&mut self, ctx: &mut Ctx<'_>, rtf: &mut Rtf) {
        match self.value {
            Value::Utf16 | Value::Ansi => self.value_bytes(ctx, rtf, &[], true),
            Value::CompressedRtf => {
                if let Some(r) = self.lzfu.finish(&mut |t| rtf.feed(ctx, t)) {
                    ctx.acc.unscannable(r);
                }
                rtf.finish(ctx);
            }
            Value::Raw => {}
        }
        ctx.text.push(ctx.det, ctx.acc, b"\n");
        if self.st == St::Data {
            self.skip(self.pad, St::NextValue);
        }
    }
}

/// The size of a fixed-size value in a TNEF list ([MS-OXTNEF] 2.1.3.4:
/// 16-bit values padded to 4 bytes).
fn fixed_size(base: u16) -> Option<u64> {
    match base {
        // PT_NULL, PT_SHORT, PT_LONG, PT_FLOAT, PT_ERROR, PT_BOOLEAN
        0x0001 | 0x0002 | 0x0003 | 0x0004 | 0x000A | 0x000B => Some(4),
        // PT_DOUBLE, PT_CURRENCY, PT_APPTIME, PT_I8, PT_SYSTIME
        0x0005 | 0x0006 | 0x0007 | 0x0014 | 0x0040 => Some(8),
        // PT_CLSID
        0x0048 => Some(16),
        _ => None,
    }
}

fn is_variable(base: u16) -> bool {
    matches!(base, PT_STRING8 | PT_UNICODE | PT_BINARY | PT_OBJECT)
}
