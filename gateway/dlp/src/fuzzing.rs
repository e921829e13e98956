//! Entry points for the cargo-fuzz targets in `gateway/dlp/fuzz`. Each runs
//! one decoder over the input twice, whole and split at a point taken from
//! the input, and panics if the outputs differ: fuzzing then checks chunk
//! invariance as well as the absence of panics. Not part of the stable API.

use crate::decode::{Base64, QuotedPrintable};
use crate::html::{Html, Mode};

fn split(data: &[u8]) -> (u8, &[u8], usize) {
    let (&first, rest) = data.split_first().unwrap_or((&0, &[]));
    let at = if rest.is_empty() {
        0
    } else {
        usize::from(first) * 257 % (rest.len() + 1)
    };
    (first, rest, at)
}

fn run<F: FnMut(&[&[u8]]) -> Vec<u8>>(data: &[u8], mut f: F) {
    let (_, rest, at) = split(data);
    let whole = f(&[rest]);
    let parts = f(&[&rest[..at], &rest[at..]]);
    assert_eq!(whole, parts, "output depends on chunking (split at {at})");
}

/// Base64 decoder.
pub fn base64(data: &[u8]) {
    run(data, |chunks| {
        let mut d = Base64::default();
        let mut out = [0u8; 64];
        let mut v = Vec::new();
        for c in chunks {
            d.feed(c, &mut out, &mut |s| v.extend_from_slice(s));
        }
        d.finish(&mut out, &mut |s| v.extend_from_slice(s));
        v
    });
}

/// Base64 and uuencode written into text (`blob.rs`, `uu.rs`): the text they hand on must
/// not depend on the split, and nothing may panic or hang.
pub fn inline_text(data: &[u8]) {
    run(data, |chunks| {
        let mut b = crate::blob::Blobs::default();
        let mut u = crate::uu::Uu::default();
        let (mut vb, mut vu) = (Vec::new(), Vec::new());
        for c in chunks {
            b.feed(c, &mut |s| vb.extend_from_slice(s));
            u.feed(c, &mut |s| vu.extend_from_slice(s));
        }
        b.finish(&mut |s| vb.extend_from_slice(s));
        u.finish(&mut |s| vu.extend_from_slice(s));
        vb.push(0);
        vb.extend_from_slice(&vu);
        vb
    });
}

/// Quoted-printable decoder.
pub fn quoted_printable(data: &[u8]) {
    run(data, |chunks| {
        let mut d = QuotedPrintable::default();
        let mut out = [0u8; 64];
        let mut v = Vec::new();
        for c in chunks {
            d.feed(c, &mut out, &mut |s| v.extend_from_slice(s));
        }
        d.finish(&mut out, &mut |s| v.extend_from_slice(s));
        v
    });
}

/// HTML (first byte even) or XML (odd) to text.
pub fn html(data: &[u8]) {
    let mode = if data.first().is_some_and(|b| b % 2 == 1) {
        Mode::Xml
    } else {
        Mode::Html
    };
    run(data, |chunks| {
        let mut h = Html::new(mode);
        let mut out = [0u8; 128];
        let mut v = Vec::new();
        for c in chunks {
            h.feed(c, &mut out, &mut |s| v.extend_from_slice(s));
        }
        h.finish(&mut out, &mut |s| v.extend_from_slice(s));
        v
    });
    // The hidden-content reader of HTML parts (comments, raw text, word attributes): whole
    // tags read in one go must give what the states give.
    run(data, |chunks| {
        let mut h = crate::html_hidden::Hidden::default();
        let mut v = Vec::new();
        for c in chunks {
            h.feed(c, &mut |s| v.extend_from_slice(s));
        }
        h.finish(&mut |s| v.extend_from_slice(s));
        v
    });
}

/// Charset decoding through the text pipeline; the first byte picks the charset.
pub fn charset(data: &[u8]) {
    const LABELS: &[&str] = &[
        "utf-16",
        "utf-16be",
        "windows-1252",
        "iso-8859-2",
        "shift_jis",
        "gb18030",
        "koi8-r",
        "utf-8",
        "utf-7",
    ];
    let label = LABELS[usize::from(data.first().copied().unwrap_or(0)) % LABELS.len()];
    let enc = crate::text::charset_for(label).expect("known label");
    run(data, |chunks| {
        let mut dec = enc.map(crate::text::Charset::decoder);
        let mut out = [0u8; 256];
        let mut v = Vec::new();
        for (i, c) in chunks.iter().enumerate() {
            let last = i + 1 == chunks.len();
            crate::text::decode(dec.as_mut(), &mut out, c, last, &mut |s| {
                v.extend_from_slice(s)
            });
        }
        assert!(
            std::str::from_utf8(&v).is_ok() || enc.is_none(),
            "decoders write UTF-8"
        );
        v
    });
}

/// The image structure check; the first byte picks PNG, JPEG or GIF. The
/// verdict must not depend on the split.
pub fn image(data: &[u8]) {
    use crate::image::{Check, Format};
    let fmt = match data.first().copied().unwrap_or(0) % 3 {
        0 => Format::Png,
        1 => Format::Jpeg,
        _ => Format::Gif,
    };
    run(data, |chunks| {
        let mut c = Check::new();
        c.begin(fmt);
        for part in chunks {
            c.feed(part);
        }
        vec![u8::from(c.finish())]
    });
}

/// The whole scanner (MIME walker, decoders, archives, detectors): findings
/// must not depend on the split.
pub fn message(engine: &std::sync::Arc<crate::Engine>, data: &[u8]) {
    let (_, rest, at) = split(data);
    let mut s = engine.scanner();
    s.feed(rest);
    let whole = s.finish();
    s.feed(&rest[..at]);
    s.feed(&rest[at..]);
    let parts = s.finish();
    assert_eq!(whole, parts, "findings depend on chunking (split at {at})");
}

/// The PDF reader (`pdf/`) fed directly, without the MIME walk or the
/// sniffing in front of it, the way the scanner drives a PDF part: findings
/// and unscannable reasons must not depend on the split. Returns them, so
/// the regression test can compare them with a scan of the same file.
pub fn pdf(engine: &crate::Engine, data: &[u8]) -> crate::Findings {
    let (_, rest, at) = split(data);
    let whole = pdf_findings(engine, &[rest]);
    let parts = pdf_findings(engine, &[&rest[..at], &rest[at..]]);
    assert_eq!(
        whole, parts,
        "PDF findings depend on chunking (split at {at})"
    );
    whole
}

fn pdf_findings(engine: &crate::Engine, chunks: &[&[u8]]) -> crate::Findings {
    use crate::findings::Acc;
    use crate::pdf::Pdf;
    use crate::text::TextPipe;

    let mut acc = Acc::new(engine.names.len(), &engine.limits);
    let mut text = TextPipe::new();
    let mut pdf = Pdf::new();
    let mut inflated = 0u64;
    let mut detected = "pdf";
    text.begin(None, None);
    pdf.begin();
    let mut ctx = crate::ctx::Ctx {
        det: &engine.detectors,
        limits: &engine.limits,
        acc: &mut acc,
        text: &mut text,
        inflated: &mut inflated,
        detected: &mut detected,
    };
    for c in chunks {
        pdf.feed(&mut ctx, c);
    }
    pdf.finish(&mut ctx);
    text.end(&engine.detectors, &mut acc);
    acc.bytes = chunks.iter().map(|c| c.len() as u64).sum();
    acc.findings(&engine.names)
}

/// The compressed-RTF decoder ([MS-OXRTFCP]): the RTF it writes and the
/// reason it gives must not depend on the split.
pub fn lzfu(data: &[u8]) {
    run(data, |chunks| {
        let mut l = crate::lzfu::Lzfu::new();
        let mut v = Vec::new();
        for c in chunks {
            l.feed(c, &mut |s| v.extend_from_slice(s));
        }
        let r = l.finish(&mut |s| v.extend_from_slice(s));
        v.extend_from_slice(r.map_or("whole", |r| r.as_str()).as_bytes());
        v
    });
}

/// TNEF property lists (`mapi.rs`) through the whole scanner: `data` after
/// its first byte (the split selector) is the data of one `attMAPIProps`
/// attribute, wrapped in a winmail.dat attached to a message.
pub fn tnef_props(engine: &std::sync::Arc<crate::Engine>, data: &[u8]) {
    const HEAD: &[u8] = b"From: a@contoso.com\r\nSubject: file\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"=_fz\"\r\n\r\n--=_fz\r\n\
Content-Type: application/ms-tnef; name=\"winmail.dat\"\r\nContent-Transfer-Encoding: binary\r\n\r\n";
    const TAIL: &[u8] = b"\r\n--=_fz--\r\n";
    let Some((&first, props)) = data.split_first() else {
        return;
    };
    let mut msg = Vec::with_capacity(1 + HEAD.len() + 17 + props.len() + TAIL.len());
    msg.push(first);
    msg.extend_from_slice(HEAD);
    // TNEF signature and legacy key, then attMAPIProps (level 1, ID
    // 0x00069003), its length, the data and its checksum.
    msg.extend_from_slice(&[0x78, 0x9F, 0x3E, 0x22, 0x01, 0x00, 0x01]);
    msg.extend_from_slice(&0x0006_9003u32.to_le_bytes());
    msg.extend_from_slice(&(props.len() as u32).to_le_bytes());
    msg.extend_from_slice(props);
    let sum = props
        .iter()
        .fold(0u16, |s, &b| s.wrapping_add(u16::from(b)));
    msg.extend_from_slice(&sum.to_le_bytes());
    msg.extend_from_slice(TAIL);
    message(engine, &msg);
}

/// EDM bundles (`edm/table.rs`): `data` as a whole bundle under a fixed key (refused unless
/// the fuzzer forges the MAC), then as the layout of a bundle signed with that key, which
/// reaches the layout decoder. A layout that decodes must give a table whose rows the
/// engine finds alike whole and split at a point taken from the input's first byte.
/// Returns whether the signed layout decoded.
pub fn edm_bundle(data: &[u8]) -> bool {
    use crate::edm::{EdmKey, Table, KEY_BYTES};
    let key = EdmKey::from_bytes([7; KEY_BYTES]);
    let _ = Table::decode(data, &key);
    let Ok(table) = Table::decode(&key.sign(data), &key) else {
        return false;
    };
    assert!(table.memory_bytes() >= table.rows() * table.columns() * 4);
    let Ok(engine) = crate::Engine::new(&crate::EngineConfig {
        edm: vec![("t".into(), std::sync::Arc::new(table))],
        ..Default::default()
    }) else {
        return true;
    };
    let engine = std::sync::Arc::new(engine);
    const TEXT: &[u8] =
        b"From: a@example.org\r\nSubject: list\r\n\r\nANN LEE, card 4556 5260 1815 9081, \
born 12 March 1980, ann.lee@example.org, SW1A 1AA, DE89 3704 0044 0532 0130 00, 536-22-8190, \
+1 555 123 4567, 12/01/1990 Smith-Jones.\r\n";
    let at = usize::from(data.first().copied().unwrap_or(0)) * 257 % (TEXT.len() + 1);
    let rows = |parts: &[&[u8]]| {
        let mut s = engine.scanner();
        for p in parts {
            s.feed(p);
        }
        s.finish().count("edm:t", crate::Confidence::Low)
    };
    assert_eq!(
        rows(&[TEXT]),
        rows(&[&TEXT[..at], &TEXT[at..]]),
        "EDM rows depend on chunking (split at {at})"
    );
    true
}

/// The fingerprint set decoder (`fingerprint/mod.rs`) reached directly: magic, key check and
/// check value on the raw input, then the layout of the input sealed with the fuzzing key
/// (its first byte the document count). A bundle either is refused whole or gives a set that
/// encodes back to itself and that a scan matches without a panic and alike in any chunking.
pub fn fingerprint_set(data: &[u8]) -> bool {
    use crate::fingerprint::{encode, seal, FpKey, Set, KEY_BYTES};
    let key = FpKey::from_bytes([9; KEY_BYTES]);
    let _ = Set::decode(data, &key);
    let Some((&n, layout)) = data.split_first() else {
        return false;
    };
    let Ok(set) = Set::decode(&seal(&key, u16::from(n), layout), &key) else {
        return false;
    };
    let again = Set::decode(
        &encode(&key, &set.documents()).expect("a decoded set encodes"),
        &key,
    )
    .expect("an encoded set decodes");
    assert_eq!(again.documents(), set.documents());
    let Ok(engine) = crate::Engine::new(&crate::EngineConfig::default())
        .and_then(|e| e.with_fingerprints(vec![("s".into(), std::sync::Arc::new(set))]))
    else {
        return true;
    };
    let engine = std::sync::Arc::new(engine);
    const TEXT: &[u8] =
        b"From: a@example.org\r\nSubject: terms\r\n\r\nEither party may terminate this \
agreement by written notice if the other party commits a material breach and fails to remedy it \
within thirty days after receiving notice of the breach.\r\n";
    let at = usize::from(n) * 257 % (TEXT.len() + 1);
    let share = |parts: &[&[u8]]| {
        let mut s = engine.scanner();
        for p in parts {
            s.feed(p);
        }
        s.finish().similarity("doc:s")
    };
    assert_eq!(
        share(&[TEXT]),
        share(&[&TEXT[..at], &TEXT[at..]]),
        "the similarity depends on chunking (split at {at})"
    );
    true
}
