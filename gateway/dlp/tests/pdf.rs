//! PDF attachments: text in compressed content streams is found, split the
//! way PDF writers split it (TJ arrays, several Tj, hex strings), and what
//! cannot be read is reported as unscannable rather than passed silently.

use std::sync::Arc;

use cordon_dlp::{Confidence, Engine, EngineConfig, Findings, Limits, UnscannableReason as R};

/// Distinct, Luhn-valid, not a well-known test number.
const CARD: &str = "4556 5260 1815 9081";

fn engine() -> Arc<Engine> {
    Arc::new(Engine::new(&EngineConfig::default()).unwrap())
}

/// A minimal PDF: each object is (dictionary, optional stream data).
fn pdf(objects: &[(&str, Option<Vec<u8>>)]) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, (dict, stream)) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{dict}", i + 1).as_bytes());
        if let Some(data) = stream {
            out.extend_from_slice(b"\nstream\r\n");
            out.extend_from_slice(data);
            out.extend_from_slice(b"\r\nendstream");
        }
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n", objects.len() + 1).as_bytes());
    out.extend_from_slice(b"0000000000 65535 f \n");
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

fn zlib(data: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(data, 6)
}

/// A one-page PDF whose page content is `content`, deflated.
fn page(content: &str) -> Vec<u8> {
    page_under("/FlateDecode", zlib(content.as_bytes()))
}

/// A one-page PDF whose content stream is `c`, under the filter (or array)
/// `filter`.
fn page_under(filter: &str, c: Vec<u8>) -> Vec<u8> {
    pdf(&[
        ("<< /Type /Catalog /Pages 2 0 R >>", None),
        ("<< /Type /Pages /Kids [3 0 R] /Count 1 >>", None),
        (
            "<< /Type /Page /Parent 2 0 R /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
            None,
        ),
        (
            &format!("<< /Length {} /Filter {filter} >>", c.len()),
            Some(c),
        ),
        (
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
            None,
        ),
    ])
}

fn b64(data: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for (i, c) in data.chunks(3).enumerate() {
        if i > 0 && i % 19 == 0 {
            s.push_str("\r\n");
        }
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for k in 0..4 {
            if k <= c.len() {
                s.push(A[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// A ZIP archive with one deflated entry.
fn zip_of(name: &str, data: &[u8]) -> Vec<u8> {
    let comp = miniz_oxide::deflate::compress_to_vec(data, 6);
    let mut out = Vec::new();
    out.extend_from_slice(b"PK\x03\x04");
    out.extend_from_slice(&20u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&8u16.to_le_bytes());
    out.extend_from_slice(&[0; 4]); // time, date
    out.extend_from_slice(&0u32.to_le_bytes()); // CRC (not checked)
    out.extend_from_slice(&(comp.len() as u32).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(&(name.len() as u16).to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(&comp);
    out.extend_from_slice(b"PK\x05\x06");
    out.extend_from_slice(&[0; 18]);
    out
}

/// The PDF as a base64 attachment of a mail.
fn mail(pdf: &[u8]) -> Vec<u8> {
    format!(
        "From: a@contoso.com\r\nTo: b@fabrikam.example\r\nSubject: statement\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\n\
see attached\r\n--b1\r\nContent-Type: application/pdf; name=\"statement.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"statement.pdf\"\r\n\r\n\
{}\r\n--b1--\r\n",
        b64(pdf)
    )
    .into_bytes()
}

fn scan(msg: &[u8]) -> Findings {
    scan_with(&engine(), msg)
}

fn scan_with(e: &Arc<Engine>, msg: &[u8]) -> Findings {
    let mut s = e.scanner();
    let before = s.state_bytes();
    s.feed(msg);
    let whole = s.finish();
    // Chunk invariance: byte at a time gives the same findings.
    for b in msg {
        s.feed(std::slice::from_ref(b));
    }
    assert_eq!(s.finish(), whole, "findings depend on chunking");
    assert_eq!(s.state_bytes(), before);
    whole
}

fn reasons(f: &Findings) -> Vec<R> {
    f.unscannable.iter().map(|u| u.reason).collect()
}

#[test]
fn text_in_a_compressed_content_stream_is_found() {
    let content = format!("BT /F1 12 Tf 72 720 Td (Visa card {CARD} exp 09/28) Tj ET");
    let raw = page(&content);
    // The number is not in the file's bytes: only inflating finds it.
    assert!(!raw.windows(4).any(|w| w == b"4556"));
    let f = scan(&mail(&raw));
    assert_eq!(f.count("credit_card", Confidence::High), 1, "{f:?}");
    assert!(reasons(&f).is_empty(), "{f:?}");
    assert_eq!(f.attachments[0].detected_type, "pdf");
}

#[test]
fn text_split_by_tj_arrays_and_positioning_is_joined() {
    // Writers kern inside numbers and move between runs.
    let content = "BT /F1 12 Tf 72 720 Td [(Card: 4556 52)-12(60 18)3(15 9081)] TJ \
        0 -14 Td (SSN) Tj 30 0 Td (536-22-8190) Tj ET";
    let f = scan(&mail(&page(content)));
    assert_eq!(f.count("credit_card", Confidence::Medium), 1, "{f:?}");
    assert_eq!(f.count("us_ssn", Confidence::Medium), 1, "{f:?}");
}

#[test]
fn escapes_octal_and_printable_hex_strings_are_text() {
    // \064 is '4'; the hex string is "5260 1815" in a simple font.
    let content =
        "BT (card \\0645\\0656 ) Tj <35323630203138313520> Tj (9081 \\(visa\\)) Tj ET".to_string();
    let f = scan(&mail(&page(&content)));
    assert_eq!(f.count("credit_card", Confidence::High), 1, "{f:?}");
}

/// A ToUnicode CMap for a subset font: glyphs 0x13..0x1C are '0'..'9',
/// 0x03 is a space, 0x24.. spell "Visa" (array form), 0x30 is '-'.
const TO_UNICODE: &str = "/CIDInit /ProcSet findresource begin 12 dict begin begincmap
/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def
/CMapName /Adobe-Identity-UCS def /CMapType 2 def
1 begincodespacerange <0000> <FFFF> endcodespacerange
2 beginbfchar <0003> <0020> <0030> <002D> endbfchar
2 beginbfrange <0013> <001C> <0030> <0024> <0027> [<0056> <0069> <0073> <0061>] endbfrange
endcmap CMapName currentdict /CMap defineresource pop end end";

/// Glyph ids for `text` under [`TO_UNICODE`], as a hex string.
fn glyph_hex(text: &str) -> String {
    let mut h = String::from("<");
    for c in text.chars() {
        let g = match c {
            '0'..='9' => 0x13 + (c as u16 - '0' as u16),
            ' ' => 0x03,
            '-' => 0x30,
            'V' => 0x24,
            'i' => 0x25,
            's' => 0x26,
            'a' => 0x27,
            _ => panic!("no glyph for {c}"),
        };
        h.push_str(&format!("{g:04X}"));
    }
    h.push('>');
    h
}

/// A Chrome-style page: a Type0 font with Identity-H and a ToUnicode map,
/// the CMap after the page content or before it.
fn type0_page(content: &str, cmap_first: bool) -> Vec<u8> {
    let c = zlib(content.as_bytes());
    let cmap = zlib(TO_UNICODE.as_bytes());
    let content_obj = (
        format!("<< /Length {} /Filter /FlateDecode >>", c.len()),
        Some(c),
    );
    let cmap_obj = (
        format!("<< /Length {} /Filter /FlateDecode >>", cmap.len()),
        Some(cmap),
    );
    let (a, b) = if cmap_first {
        (cmap_obj.clone(), content_obj.clone())
    } else {
        (content_obj.clone(), cmap_obj.clone())
    };
    // Objects: 1 catalog, 2 pages, 3 page, 4 and 5 content/CMap (order
    // varies), 6 the Type0 font.
    let (content_num, cmap_num) = if cmap_first { (5, 4) } else { (4, 5) };
    let page = format!(
        "<< /Type /Page /Parent 2 0 R /Contents {content_num} 0 R /Resources << /Font << /C2_0 6 0 R >> >> >>"
    );
    let font = format!(
        "<< /Type /Font /Subtype /Type0 /BaseFont /AAAAAA+Arial /Encoding /Identity-H /DescendantFonts [7 0 R] /ToUnicode {cmap_num} 0 R >>"
    );
    pdf(&[
        ("<< /Type /Catalog /Pages 2 0 R >>", None),
        ("<< /Type /Pages /Kids [3 0 R] /Count 1 >>", None),
        (&page, None),
        (&a.0, a.1),
        (&b.0, b.1),
        (&font, None),
    ])
}

#[test]
fn glyph_text_is_read_through_the_fonts_tounicode_map() {
    let content = format!(
        "BT /C2_0 12 Tf 72 720 Td {} Tj 0 -14 Td [{}-30{}] TJ ET",
        glyph_hex("Visa"),
        glyph_hex("4556 5260"),
        glyph_hex(" 1815 9081")
    );
    for cmap_first in [false, true] {
        let f = scan(&mail(&type0_page(&content, cmap_first)));
        assert_eq!(f.count("credit_card", Confidence::High), 1, "{f:?}");
        assert!(reasons(&f).is_empty(), "cmap first: {cmap_first}: {f:?}");
    }
    // An SSN drawn the same way.
    let content = format!("BT /C2_0 12 Tf {} Tj ET", glyph_hex("536-22-8190"));
    let f = scan(&mail(&type0_page(&content, false)));
    assert_eq!(f.count("us_ssn", Confidence::Low), 1, "{f:?}");
}

#[test]
fn fonts_inside_an_object_stream_are_resolved() {
    // Word-style: the font dictionaries live in a compressed object stream;
    // obj 6 (the page's /TT0) maps through CMap 5, obj 7 through CMap 99.
    let content =
        zlib(format!("BT /TT0 11 Tf {} Tj ET", glyph_hex("4556 5260 1815 9081")).as_bytes());
    let cmap = zlib(TO_UNICODE.as_bytes());
    let o6 = "<< /Type /Font /Subtype /Type0 /Encoding /Identity-H /ToUnicode 5 0 R >>";
    let o7 = "<< /Type /Font /Subtype /Type0 /ToUnicode 99 0 R >>";
    let header = format!("6 0 7 {} ", o6.len() + 1);
    let objstm = zlib(format!("{header}{o6} {o7}").as_bytes());
    let raw = pdf(&[
        ("<< /Type /Catalog /Pages 2 0 R >>", None),
        ("<< /Type /Pages /Kids [3 0 R] /Count 1 >>", None),
        (
            "<< /Type /Page /Parent 2 0 R /Contents 4 0 R /Resources << /Font << /TT0 6 0 R /TT1 7 0 R >> >> >>",
            None,
        ),
        (
            &format!("<< /Length {} /Filter /FlateDecode >>", content.len()),
            Some(content),
        ),
        (
            &format!("<< /Length {} /Filter /FlateDecode >>", cmap.len()),
            Some(cmap),
        ),
        // Placeholders, so that the object stream itself is object 8.
        ("<< >>", None),
        ("<< >>", None),
        (
            &format!(
                "<< /Type /ObjStm /N 2 /First {} /Length {} /Filter /FlateDecode >>",
                header.len(),
                objstm.len()
            ),
            Some(objstm),
        ),
    ]);
    let f = scan(&mail(&raw));
    assert_eq!(f.count("credit_card", Confidence::Medium), 1, "{f:?}");
    assert!(reasons(&f).is_empty(), "{f:?}");
}

#[test]
fn glyph_coded_text_is_unscannable_not_silent() {
    // Identity-H: two-byte glyph ids, meaningless without the ToUnicode map.
    let f = scan(&mail(&page("BT /F2 12 Tf <00170018001900180003> Tj ET")));
    assert_eq!(reasons(&f), [R::PdfGlyphText], "{f:?}");
    assert_eq!(f.unscannable[0].location, "2/statement.pdf");
}

#[test]
fn other_filters_are_reported_and_images_and_fonts_skipped() {
    let img = zlib(&[0x34; 4096]);
    let font = zlib(b"(4556 5260 1815 9081) not text but a font program");
    let raw = pdf(&[
        ("<< /Type /Catalog >>", None),
        (
            "<< /Length 20 /Filter [/ASCII85Decode /JBIG2Decode] >>",
            Some(b"<~9jqo^BlbD-BleB1DJ~>".to_vec()),
        ),
        (
            &format!(
                "<< /Type /XObject /Subtype /Image /Width 64 /Height 64 /Filter /FlateDecode /Length {} >>",
                img.len()
            ),
            Some(img.clone()),
        ),
        (
            &format!(
                "<< /Length1 52 /Filter /FlateDecode /Length {} >>",
                font.len()
            ),
            Some(font),
        ),
    ]);
    let f = scan(&mail(&raw));
    assert_eq!(reasons(&f), [R::UnsupportedCompression], "{f:?}");
    assert_eq!(f.count("credit_card", Confidence::Low), 0, "{f:?}");
}

#[test]
fn metadata_strings_and_plain_streams_are_read() {
    let raw = pdf(&[
        ("<< /Type /Catalog >>", None),
        (
            "<< /Title (Payroll: SSN 536-22-8190) /Producer (test) >>",
            None,
        ),
        (
            "<< /Length 44 >>",
            Some(format!("BT (mastercard {CARD}) Tj ET").into_bytes()),
        ),
    ]);
    let f = scan(&mail(&raw));
    assert_eq!(f.count("us_ssn", Confidence::Medium), 1, "{f:?}");
    assert_eq!(f.count("credit_card", Confidence::High), 1, "{f:?}");
}

#[test]
fn a_corrupt_or_truncated_stream_is_reported() {
    let mut c = zlib(format!("BT ({CARD}) Tj ET").as_bytes());
    c.truncate(c.len() / 2);
    let raw = pdf(&[(
        &format!("<< /Length {} /Filter /FlateDecode >>", c.len()),
        Some(c),
    )]);
    let f = scan(&mail(&raw));
    assert_eq!(reasons(&f), [R::CorruptArchive], "{f:?}");
    let garbage = pdf(&[(
        "<< /Length 8 /Filter /FlateDecode >>",
        Some(b"\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF".to_vec()),
    )]);
    let f = scan(&mail(&garbage));
    assert_eq!(reasons(&f), [R::CorruptArchive], "{f:?}");
}

#[test]
fn a_deflate_bomb_in_a_pdf_hits_the_ratio_limit() {
    let bomb = zlib(&vec![b'A'; 64 << 20]);
    let raw = pdf(&[(
        &format!("<< /Length {} /Filter /FlateDecode >>", bomb.len()),
        Some(bomb),
    )]);
    let f = scan(&mail(&raw));
    assert_eq!(reasons(&f), [R::InflateRatioLimit], "{f:?}");
}

#[test]
fn a_pdf_written_by_ghostscript_is_read() {
    // Golden fixture: `gs -sDEVICE=pdfwrite` of tests/fixtures/ghostscript-payroll.ps (Debian's
    // ghostscript 10.0): a deflated content stream, `'` and `Tj` operators, XMP metadata.
    let raw = include_bytes!("fixtures/ghostscript-payroll.pdf");
    assert!(
        !raw.windows(4).any(|w| w == b"4556"),
        "text must be compressed"
    );
    let f = scan(&mail(raw));
    assert_eq!(f.count("credit_card", Confidence::High), 1, "{f:?}");
    assert_eq!(f.count("us_ssn", Confidence::High), 1, "{f:?}");
    assert!(reasons(&f).is_empty(), "{f:?}");
}

#[test]
fn a_pdf_inside_a_zip_is_read_too() {
    let content = format!("BT /F1 12 Tf 72 720 Td (Visa card {CARD} exp 09/28) Tj ET");
    let f = scan(&mail(&zip_of("statements/march.pdf", &page(&content))));
    assert_eq!(f.count("credit_card", Confidence::High), 1, "{f:?}");
    assert!(reasons(&f).is_empty(), "{f:?}");
    // Glyph text that cannot be resolved is reported from inside the archive as well.
    let f = scan(&mail(&zip_of("x.pdf", &page("BT <00170018> Tj ET"))));
    assert_eq!(reasons(&f), [R::PdfGlyphText], "{f:?}");
}

/// The stream filters that carry text (PDF 32000-1 7.4), written here from
/// the spec so the fixtures do not depend on the decoders they test.
fn hex(data: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = data
        .chunks(32)
        .flat_map(|l| {
            let mut line: Vec<u8> = l
                .iter()
                .flat_map(|b| format!("{b:02x}").into_bytes())
                .collect();
            line.push(b'\n');
            line
        })
        .collect();
    out.push(b'>');
    out
}

/// Five digits per four bytes, `z` for four zeros, n + 1 digits for a final
/// n bytes, in lines of 75.
fn a85(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, g) in data.chunks(4).enumerate() {
        if i % 15 == 14 {
            out.push(b'\n');
        }
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

/// Runs of three or more equal bytes repeated, literal runs of up to 100
/// bytes otherwise, then the end marker.
fn run_length(data: &[u8]) -> Vec<u8> {
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
            let mut n = 1;
            while i + n < data.len()
                && n < 100
                && data[i + n..]
                    .iter()
                    .take(3)
                    .filter(|&&b| b == data[i + n])
                    .count()
                    < 3
            {
                n += 1;
            }
            out.push(n as u8 - 1);
            out.extend_from_slice(&data[i..i + n]);
            i += n;
        }
    }
    out.push(128);
    out
}

/// LZW with PDF's defaults (8-bit, MSB first, `/EarlyChange 1`).
fn lzw(data: &[u8]) -> Vec<u8> {
    weezl::encode::Encoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8)
        .encode(data)
        .unwrap()
}

/// Scans `msg` in pseudo-random chunks of 1 to 97 bytes: the findings must
/// be those of one feed.
fn scan_in_random_chunks(msg: &[u8], whole: &Findings) {
    let e = engine();
    let mut s = e.scanner();
    let mut seed = 0x9e37_79b9_u32;
    let mut rest = msg;
    while !rest.is_empty() {
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let n = ((seed >> 16) as usize % 97 + 1).min(rest.len());
        s.feed(&rest[..n]);
        rest = &rest[n..];
    }
    assert_eq!(&s.finish(), whole, "findings depend on chunking");
}

/// The PDF fed straight to the reader, split at 256 places: the fuzz
/// target's own check that no finding depends on the split.
fn split_everywhere(raw: &[u8]) -> Findings {
    let e = engine();
    let mut first = None;
    for at in 0..=255u8 {
        let mut data = vec![at];
        data.extend_from_slice(raw);
        let f = cordon_dlp::fuzzing::pdf(&e, &data);
        assert_eq!(first.get_or_insert_with(|| f.clone()), &f, "split by {at}");
    }
    first.unwrap()
}

#[test]
fn text_under_every_text_filter_and_chain_is_found() {
    let content = format!(
        "BT /F1 12 Tf 72 720 Td (Visa card {CARD} exp 09/28) Tj 0 -14 Td ({}) Tj ET",
        "padding ".repeat(40)
    );
    let c = content.as_bytes();
    let cases: [(&str, Vec<u8>); 15] = [
        ("/ASCIIHexDecode", hex(c)),
        ("/AHx", hex(c)),
        ("/ASCII85Decode", a85(c)),
        ("/A85", a85(c)),
        ("/RunLengthDecode", run_length(c)),
        ("[/RunLengthDecode]", run_length(c)),
        ("/RL", run_length(c)),
        ("/LZWDecode", lzw(c)),
        ("[/LZWDecode]", lzw(c)),
        ("[/LZW]", lzw(c)),
        ("[/ASCII85Decode /FlateDecode]", a85(&zlib(c))),
        ("[/ASCIIHexDecode /FlateDecode]", hex(&zlib(c))),
        ("[/A85 /LZW]", a85(&lzw(c))),
        ("[/AHx /RL]", hex(&run_length(c))),
        ("[/A85 /AHx /RL /Fl]", a85(&hex(&run_length(&zlib(c))))),
    ];
    for (filter, data) in cases {
        let raw = page_under(filter, data);
        let msg = mail(&raw);
        let f = scan(&msg);
        assert_eq!(
            f.count("credit_card", Confidence::High),
            1,
            "{filter}: {f:?}"
        );
        assert!(reasons(&f).is_empty(), "{filter}: {f:?}");
        scan_in_random_chunks(&msg, &f);
        let direct = split_everywhere(&raw);
        assert_eq!(
            direct.count("credit_card", Confidence::High),
            1,
            "{filter}: {direct:?}"
        );
    }
}

#[test]
fn a_corrupt_encoded_stream_is_corrupt_archive() {
    let c = format!("BT ({CARD}) Tj ET");
    let mut bad_a85 = a85(c.as_bytes());
    bad_a85.insert(7, b'z'); // `z` inside a group
    let mut bad_hex = hex(c.as_bytes());
    bad_hex.insert(4, b'G');
    let mut cut_lzw = lzw(&zlib(c.as_bytes()));
    cut_lzw.truncate(4);
    for (filter, data) in [
        ("/ASCII85Decode", bad_a85),
        ("/ASCII85Decode", b"9jqo^v~>".to_vec()),
        (
            "[/ASCII85Decode /FlateDecode]",
            a85(b"\x78\x9c\xff\xff\xff\xff"),
        ),
        ("/ASCIIHexDecode", bad_hex),
        ("[/LZWDecode]", vec![0x80, 0x3f, 0xf0, 0, 0]),
    ] {
        let f = scan(&mail(&page_under(filter, data)));
        assert_eq!(reasons(&f), [R::CorruptArchive], "{filter}: {f:?}");
    }
    // A file that ends inside an encoded stream (no end marker) too.
    let mut raw = page_under("/A85", a85(c.as_bytes()));
    let at = raw.windows(2).position(|w| w == b"~>").unwrap();
    raw.truncate(at);
    let f = scan(&mail(&raw));
    assert!(reasons(&f).contains(&R::CorruptArchive), "{f:?}");
}

#[test]
fn an_lzw_or_run_length_bomb_hits_the_limits_a_deflate_bomb_does() {
    // LZW of 16 MiB of one byte is ~13 KB: past the ratio, as the deflate
    // bomb above is.
    let bomb = lzw(&vec![b'A'; 16 << 20]);
    let f = scan(&mail(&page_under("/LZWDecode", bomb.clone())));
    assert_eq!(reasons(&f), [R::InflateRatioLimit], "{f:?}");
    let f = scan(&mail(&page_under(
        "[/ASCII85Decode /LZWDecode]",
        a85(&bomb),
    )));
    assert_eq!(reasons(&f), [R::InflateRatioLimit], "{f:?}");
    // RunLength expands 64 times at most, under the ratio: the
    // message-wide budget stops it, the one deflate output counts against.
    // (A budget under the ratio's grace, so only the budget can stop these.)
    let e = Arc::new(
        Engine::new(&EngineConfig {
            limits: Limits {
                max_inflated_bytes: 512 << 10,
                ..Limits::default()
            },
            ..EngineConfig::default()
        })
        .unwrap(),
    );
    let rl = |kib: usize| [b"\x81A".repeat(kib * 8), vec![128]].concat(); // 128 bytes a run
    let f = scan_with(&e, &mail(&page_under("/RunLengthDecode", rl(640))));
    assert_eq!(reasons(&f), [R::InflatedBytesLimit], "{f:?}");
    let f = scan_with(&e, &mail(&page(&"A".repeat(640 << 10))));
    assert_eq!(reasons(&f), [R::InflatedBytesLimit], "{f:?}");
    // 384 KiB of RunLength passes; then 384 KiB of deflate: one budget.
    let f = scan_with(&e, &mail(&page_under("/RL", rl(384))));
    assert!(reasons(&f).is_empty(), "{f:?}");
    let z = zlib(&vec![b'A'; 384 << 10]);
    let raw = pdf(&[
        (
            &format!("<< /Length {} /Filter /RL >>", 384 * 16 + 1),
            Some(rl(384)),
        ),
        (
            &format!("<< /Length {} /Filter /FlateDecode >>", z.len()),
            Some(z),
        ),
    ]);
    let f = scan_with(&e, &mail(&raw));
    assert_eq!(reasons(&f), [R::InflatedBytesLimit], "{f:?}");
}

#[test]
fn a_pdf_written_by_ghostscript_with_ascii85_pages_is_read() {
    // Golden fixture (see fixtures/ghostscript-payroll-a85.README), made on Debian 12 with GPL
    // Ghostscript 10.00.0 (2022-09-21) in tests/fixtures:
    //   gs -q -dNOPAUSE -dBATCH -sDEVICE=pdfwrite -dASCII85EncodePages=true \
    //      -sOutputFile=ghostscript-payroll-a85.pdf ghostscript-payroll.ps
    // The page's content stream is `[/ASCII85Decode /FlateDecode]`. (Adding
    // -dCompressPages=false, for ASCII85 alone, makes this Ghostscript write a
    // truncated 351-byte file.)
    let raw = include_bytes!("fixtures/ghostscript-payroll-a85.pdf");
    assert!(raw
        .windows(30)
        .any(|w| w == b"/Filter [/ASCII85Decode /Flate"));
    assert!(
        !raw.windows(4).any(|w| w == b"4556"),
        "text must be encoded"
    );
    let f = scan(&mail(raw));
    assert_eq!(f.count("credit_card", Confidence::High), 1, "{f:?}");
    assert_eq!(f.count("us_ssn", Confidence::High), 1, "{f:?}");
    assert!(reasons(&f).is_empty(), "{f:?}");
    scan_in_random_chunks(&mail(raw), &f);
    let direct = split_everywhere(raw);
    assert_eq!(
        direct.count("credit_card", Confidence::High),
        1,
        "{direct:?}"
    );
}
