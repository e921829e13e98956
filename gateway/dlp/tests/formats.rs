//! Issue 19: formats real mail carries, read from golden files made by
//! their real writers (`tests/fixtures/formats/README.md` records each
//! command and version), and the bombs of those formats, each ending in a
//! named reason inside the time budget without the scanner's state growing.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cordon_dlp::{Confidence, Engine, EngineConfig, Findings, UnscannableReason as R};

/// The six card numbers every document fixture plants (`src/letter.html`,
/// `src/cards.csv`, `src/slides.fodp`), all distinct and Luhn-valid.
const CARDS: usize = 6;
/// The three SSNs the fixtures plant next to an "SSN" label.
const SSNS: usize = 3;

/// What one scan may take in a debug build on a shared core; the gateway's
/// scan timeout is far above it.
const BUDGET: Duration = Duration::from_secs(20);

fn fixture(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/formats")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn engine() -> Arc<Engine> {
    Arc::new(Engine::new(&EngineConfig::default()).unwrap())
}

/// A message carrying `data` as an attachment named `name` of type `ctype`.
fn mail(name: &str, ctype: &str, data: &[u8]) -> Vec<u8> {
    format!(
        "From: a@contoso.example\r\nTo: b@fabrikam.example\r\nSubject: files\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--b1\r\nContent-Type: {ctype}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b1--\r\n",
        common::b64(data)
    )
    .into_bytes()
}

/// Scans in 64 KiB chunks (as the SMTP session feeds it); checks the time
/// budget and that the scanner's state did not change.
fn scan_with(engine: &Arc<Engine>, msg: &[u8], chunk: usize) -> Findings {
    let mut s = engine.scanner();
    let before = s.state_bytes();
    let t = Instant::now();
    for c in msg.chunks(chunk) {
        s.feed(c);
    }
    let f = s.finish();
    let took = t.elapsed();
    assert_eq!(s.state_bytes(), before, "state grew");
    assert!(took < BUDGET, "took {took:?}");
    f
}

fn scan(msg: &[u8]) -> Findings {
    scan_with(&engine(), msg, 64 * 1024)
}

/// The attachment `name` (a fixture) scanned: every planted card, the
/// planted SSNs when `ssns`, the detected type, and no unscannable reason
/// that means content was skipped. Also fed in 1,000-byte and 7-byte
/// chunks: the result must not change.
fn check(name: &str, ctype: &str, detected: &str, ssns: usize) -> Findings {
    let msg = mail(name, ctype, &fixture(name));
    let f = scan(&msg);
    assert_eq!(
        f.count("credit_card", Confidence::Low),
        CARDS as u32,
        "{name}: {f:?}"
    );
    assert_eq!(f.count("us_ssn", Confidence::Low), ssns as u32, "{name}");
    assert!(!f.is_unscannable(), "{name}: {:?}", f.unscannable);
    let a = f
        .attachments
        .iter()
        .find(|a| a.file_name == name)
        .expect("listed");
    assert_eq!(a.detected_type, detected, "{name}");
    for chunk in [1000, 7] {
        let g = scan_with(&engine(), &msg, chunk);
        assert_eq!(g.count("credit_card", Confidence::Low), CARDS as u32);
        assert_eq!(g.count("us_ssn", Confidence::Low), ssns as u32);
    }
    f
}

#[test]
fn gzip_from_gzip_1_12() {
    check("cards.csv.gz", "application/gzip", "gzip", SSNS);
}

#[test]
fn tar_and_tar_gz_from_gnu_tar_1_34() {
    check("exports.tar", "application/x-tar", "tar", SSNS);
    check("exports.tar.gz", "application/gzip", "gzip", SSNS);
    // The same archive named `.tgz` and declared as octet-stream: the
    // content decides.
    let msg = mail(
        "e.tgz",
        "application/octet-stream",
        &fixture("exports.tar.gz"),
    );
    assert_eq!(
        scan(&msg).count("credit_card", Confidence::Low),
        CARDS as u32
    );
}

#[test]
fn calendar_and_vcard_parts_are_text() {
    let ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:Refund call\r\nDESCRIPTION:card 4556 5260 1815 9081 for the refund\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let vcf = "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ada Lovelace\r\nNOTE:card 5425 3016 6131 8608\r\nEND:VCARD\r\n";
    for (name, ctype, body) in [
        ("invite.ics", "text/calendar; method=REQUEST", ics),
        ("ada.vcf", "text/vcard", vcf),
    ] {
        let f = scan(&mail(name, ctype, body.as_bytes()));
        assert_eq!(f.count("credit_card", Confidence::Low), 1, "{name}");
        assert!(!f.is_unscannable(), "{name}");
    }
}

#[test]
fn seven_zip_and_rar_are_named() {
    let mut sz = b"7z\xBC\xAF\x27\x1C\x00\x04".to_vec();
    sz.extend_from_slice(&[0x55; 64]);
    let f = scan(&mail("a.7z", "application/x-7z-compressed", &sz));
    assert!(f.has_reason(R::SevenZipArchive) && f.is_unscannable());
    for magic in [&b"Rar!\x1A\x07\x00"[..], b"Rar!\x1A\x07\x01\x00"] {
        let mut rar = magic.to_vec();
        rar.extend_from_slice(&[0x55; 64]);
        let f = scan(&mail("a.rar", "application/vnd.rar", &rar));
        assert!(f.has_reason(R::RarArchive) && f.is_unscannable());
    }
    // Inside a ZIP too.
    let zip = common::zip_file(b"", &[("inner.7z", &sz, false, 0)]);
    assert!(scan(&mail("a.zip", "application/zip", &zip)).has_reason(R::SevenZipArchive));
}

#[test]
fn a_gzip_of_a_gigabyte_of_zeros_stops_at_the_ratio_limit() {
    let f = scan(&mail(
        "zeros.gz",
        "application/gzip",
        &fixture("zeros-1g.gz"),
    ));
    assert!(f.has_reason(R::InflateRatioLimit), "{:?}", f.unscannable);
    assert!(f.is_unscannable());
}

#[test]
fn a_tar_of_100000_entries_stops_at_the_entries_limit() {
    let f = scan(&mail(
        "many.tar.gz",
        "application/gzip",
        &fixture("many-100000.tar.gz"),
    ));
    assert!(f.has_reason(R::ZipEntriesLimit), "{:?}", f.unscannable);
    assert!(f.is_unscannable());
}

#[test]
fn truncated_and_corrupt_gzip_and_tar_are_corrupt_archives() {
    let gz = fixture("exports.tar.gz");
    let f = scan(&mail("cut.tgz", "application/gzip", &gz[..gz.len() / 2]));
    assert!(f.has_reason(R::CorruptArchive), "{:?}", f.unscannable);
    let mut bad = gz.clone();
    bad[3] = 0xE0; // reserved flag bits
    assert!(scan(&mail("bad.gz", "application/gzip", &bad)).has_reason(R::CorruptArchive));
    let tar = fixture("exports.tar");
    // Cut inside the second file's data.
    let f = scan(&mail("cut.tar", "application/x-tar", &tar[..2048 + 100]));
    assert!(f.has_reason(R::CorruptArchive), "{:?}", f.unscannable);
}

#[test]
fn word_excel_and_powerpoint_97_from_libreoffice_7_4() {
    check("letter.doc", "application/msword", "doc", SSNS);
    check("cards.xls", "application/vnd.ms-excel", "xls", SSNS);
    check("slides.ppt", "application/vnd.ms-powerpoint", "ppt", SSNS);
}

#[test]
fn outlook_messages_from_msgforge_1_0() {
    // Subject, plain and HTML bodies, recipients.
    check("refunds.msg", "application/vnd.ms-outlook", "msg", SSNS);
    // A .docx attachment with the cards in a table, read through the
    // archive pipeline.
    let f = check("with-docx.msg", "application/vnd.ms-outlook", "msg", SSNS);
    assert!(f
        .detectors
        .iter()
        .any(|d| d.locations.iter().any(|l| l.contains("with-docx.msg"))));
}

/// A Luhn-valid Visa number (not a published test number) for `i`.
fn card(i: u32) -> String {
    let body = format!("455652601815{i:03}");
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(k, b)| {
            let d = u32::from(b - b'0');
            if k % 2 == 0 {
                let x = 2 * d;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
}

/// A compound file written by the `cfb` crate from (path, data) streams.
fn compound(streams: &[(String, Vec<u8>)]) -> Vec<u8> {
    use std::io::Write;
    let mut cf = cfb::CompoundFile::create(std::io::Cursor::new(Vec::new())).unwrap();
    for (path, data) in streams {
        let parent = std::path::Path::new(path).parent().unwrap();
        cf.create_storage_all(parent).unwrap();
        cf.create_stream(path).unwrap().write_all(data).unwrap();
    }
    cf.flush().unwrap();
    cf.into_inner().into_inner()
}

#[test]
fn a_msg_nested_10_deep_stops_at_the_nesting_limit() {
    // Each level: a message whose one attachment is the next message, as
    // Outlook stores a forwarded item ([MS-OXMSG] 2.2.2.1).
    let mut streams = Vec::new();
    let mut dir = String::new();
    for depth in 0..10 {
        streams.push((format!("{dir}/__properties_version1.0"), vec![0u8; 32]));
        streams.push((
            format!("{dir}/__substg1.0_0037001F"),
            utf16(&format!("card {} at depth {depth}", card(depth))),
        ));
        dir = format!("{dir}/__attach_version1.0_#00000000/__substg1.0_3701000D");
    }
    let msg = compound(&streams);
    let f = scan(&mail("deep.msg", "application/vnd.ms-outlook", &msg));
    assert!(f.has_reason(R::DocumentNestingLimit), "{:?}", f.unscannable);
    // Depths 0 to MAX_OLE_NESTING (5) are read.
    assert_eq!(f.count("credit_card", Confidence::Low), 6);
}

#[test]
fn a_compound_file_with_a_fat_cycle_is_corrupt() {
    let mut d = fixture("refunds.msg");
    // The directory's first sector points back to itself in the FAT.
    let u32at = |d: &[u8], i: usize| u32::from_le_bytes([d[i], d[i + 1], d[i + 2], d[i + 3]]);
    let dir = u32at(&d, 0x30) as usize;
    let fat = u32at(&d, 0x4C) as usize;
    let at = (fat + 1) * 512 + 4 * dir;
    d[at..at + 4].copy_from_slice(&(dir as u32).to_le_bytes());
    let f = scan(&mail("cycle.msg", "application/vnd.ms-outlook", &d));
    assert!(f.has_reason(R::CorruptDocument), "{:?}", f.unscannable);
    // A header cut short, and random bytes behind the magic.
    let f = scan(&mail(
        "cut.doc",
        "application/msword",
        &fixture("letter.doc")[..3000],
    ));
    assert!(f.has_reason(R::CorruptDocument), "{:?}", f.unscannable);
    let mut junk = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    junk.extend((0..20_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    assert!(
        scan(&mail("junk.xls", "application/vnd.ms-excel", &junk)).has_reason(R::CorruptDocument)
    );
}

#[test]
fn encrypted_and_oversized_compound_files_are_named() {
    // Word's fEncrypted bit in the FIB (the WordDocument stream starts at
    // a sector boundary with wIdent 0xA5EC).
    let mut doc = fixture("letter.doc");
    let fib = (512..doc.len())
        .step_by(512)
        .find(|&i| doc[i..i + 2] == [0xEC, 0xA5])
        .expect("FIB");
    doc[fib + 0x0B] |= 0x01;
    let f = scan(&mail("locked.doc", "application/msword", &doc));
    assert!(f.has_reason(R::EncryptedDocument), "{:?}", f.unscannable);
    // An EncryptedSummary stream: an encrypted PowerPoint.
    let ppt = compound(&[
        ("/PowerPoint Document".into(), vec![0u8; 600]),
        ("/EncryptedSummary".into(), vec![1u8; 600]),
    ]);
    assert!(
        scan(&mail("locked.ppt", "application/vnd.ms-powerpoint", &ppt))
            .has_reason(R::EncryptedDocument)
    );
    // Larger than the buffer: named, and still read as raw bytes.
    let mut big = vec![b' '; 5 << 20];
    big[100..116].copy_from_slice(card(1).as_bytes());
    let file = compound(&[("/Contents".into(), big)]);
    let f = scan(&mail("big.doc", "application/msword", &file));
    assert!(f.has_reason(R::DocumentTooLarge), "{:?}", f.unscannable);
    assert_eq!(f.count("credit_card", Confidence::Low), 1);
}

#[test]
fn rtf_from_libreoffice_7_4() {
    check("letter.rtf", "application/rtf", "rtf", SSNS);
}

/// A `text/rtf` body as Outlook and Word write them.
fn rtf_mail(rtf: &str) -> Vec<u8> {
    format!("From: a@contoso.example\r\nTo: b@fabrikam.example\r\nSubject: rtf\r\nMIME-Version: 1.0\r\nContent-Type: text/rtf\r\n\r\n{rtf}\r\n").into_bytes()
}

#[test]
fn rtf_escapes_are_decoded_and_non_text_destinations_skipped() {
    // Hex escapes in the code page, \uN with its fallback skipped (\uc1
    // by default, \uc2 in a group), a line break inside a control word's
    // run; the font table, \*\generator and \pict hold numbers that are
    // not text and must not be read.
    let rtf = r"{\rtf1\ansi\ansicpg1252{\fonttbl{\f0 Arial 4556 5260 1815 9081;}}
{\*\generator Writer 4929 9139 0996 0308;}{\pict\pngblip 2221824628194823}
card \'34\'35\'35\'36 7375 8689 9855\par
card \u53?\u52?\u50?\u53? 3016 6131 8608\par
{\uc2 card \u51\'3f\'3f\u55\'3f\'3f14 199351 81902}\cell
SSN 536\'2d22\'2d8190}";
    let f = scan(&rtf_mail(rtf));
    assert_eq!(f.count("credit_card", Confidence::Low), 3, "{f:?}");
    assert_eq!(f.count("us_ssn", Confidence::Low), 1);
    // Byte at a time: the same.
    let g = scan_with(&engine(), &rtf_mail(rtf), 1);
    assert_eq!(g.count("credit_card", Confidence::Low), 3);
    // A Cyrillic document: \'hh in windows-1251 ("карта" before the card).
    let ru = r"{\rtf1\ansi\ansicpg1251 \'ea\'e0\'f0\'f2\'e0 4556 5260 1815 9081}";
    assert_eq!(scan(&rtf_mail(ru)).count("credit_card", Confidence::Low), 1);
}

#[test]
fn rtf_nested_100000_deep_is_read_in_fixed_memory() {
    let deep = format!(
        r"{{\rtf1 {}card 4556 5260 1815 9081{}}}",
        "{".repeat(100_000),
        "}".repeat(100_000)
    );
    let f = scan(&rtf_mail(&deep));
    assert_eq!(f.count("credit_card", Confidence::Low), 1);
    // \bin data is skipped, not read as control words.
    let bin = r"{\rtf1 {\bin8 {{{{{{{{}card 4556 5260 1815 9081}";
    assert_eq!(
        scan(&rtf_mail(bin)).count("credit_card", Confidence::Low),
        1
    );
}

/// Distinct values per detector and confidence (at or above it) in `f`.
fn counts(f: &Findings) -> std::collections::BTreeMap<(String, Confidence), u32> {
    let mut m = std::collections::BTreeMap::new();
    for d in &f.detectors {
        for c in [Confidence::Low, Confidence::Medium, Confidence::High] {
            m.insert((d.name.clone(), c), f.count(&d.name, c));
        }
    }
    m
}

#[test]
fn a_libreoffice_pdf_table_is_read_whole() {
    // LibreOffice 7.4 draws each table cell in its own text object with
    // one-byte glyph codes, some of which are printable (`<2A>` is '7'):
    // all six cards, three SSNs and the IBAN after the table are found.
    let f = check("letter.pdf", "application/pdf", "pdf", SSNS);
    assert_eq!(f.count("iban", Confidence::High), 1);
}

#[test]
fn pdfs_give_every_value_pdftotext_gives() {
    // Each PDF's values as cordon reads the PDF, against the same
    // detectors over pdftotext's text (Debian's poppler-utils), at each
    // confidence: a label split from its value costs confidence. Without
    // pdftotext only the first half runs. Chromium wraps the third card
    // across two lines of prose; pdftotext reads it split as well.
    // ghostscript draws a table row in one `TJ` with the cells apart by
    // gaps, and splits words with `Td` moves (kerning) as Chromium does.
    for (name, cards) in [
        ("letter.pdf", 6),
        ("letter-chromium.pdf", 5),
        ("letter-gs.pdf", 6),
    ] {
        let pdf = fixture(name);
        let ours = scan(&mail(name, "application/pdf", &pdf));
        assert_eq!(ours.count("credit_card", Confidence::Low), cards, "{name}");
        assert_eq!(
            ours.count("us_ssn", Confidence::High),
            SSNS as u32,
            "{name}"
        );
        assert!(!ours.is_unscannable(), "{name}: {:?}", ours.unscannable);
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/formats")
            .join(name);
        let out = match std::process::Command::new("pdftotext")
            .arg(&path)
            .arg("-")
            .output()
        {
            Ok(o) if o.status.success() => o.stdout,
            _ => {
                eprintln!("pdftotext not installed: {name} compared with the planted values only");
                continue;
            }
        };
        let mut text =
            b"From: a@contoso.example\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n".to_vec();
        text.extend_from_slice(&out);
        let theirs = scan(&text);
        let ours = counts(&ours);
        for ((det, conf), n) in counts(&theirs) {
            let got = ours.get(&(det.clone(), conf)).copied().unwrap_or(0);
            assert!(
                got >= n,
                "{name}: {det} at {conf:?}: pdftotext {n}, cordon {got}"
            );
        }
    }
}

/// One TNEF attribute ([MS-OXTNEF] 2.1.3.3): level, ID, length, data and
/// the checksum (sum of the data bytes mod 65536).
fn tnef_attr(out: &mut Vec<u8>, level: u8, id: u32, data: &[u8]) {
    out.push(level);
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(data);
    let sum = data.iter().fold(0u16, |s, &b| s.wrapping_add(u16::from(b)));
    out.extend_from_slice(&sum.to_le_bytes());
}

#[test]
fn tnef_body_and_attachments_are_read() {
    // A winmail.dat as Outlook writes it: body, then an attachment's
    // rendering data, title and data (here the .docx of the fixtures,
    // whose cards are deflated and so only found by opening it).
    let mut t = vec![0x78, 0x9F, 0x3E, 0x22, 0x01, 0x00];
    tnef_attr(&mut t, 1, 0x0002_800C, b"SSN 536-22-8190, see the letter");
    tnef_attr(&mut t, 2, 0x0006_9002, &[0; 14]);
    tnef_attr(&mut t, 2, 0x0001_8010, b"letter.docx\0");
    tnef_attr(&mut t, 2, 0x0006_800F, &fixture("src/letter.docx"));
    let msg = mail("winmail.dat", "application/ms-tnef", &t);
    let f = scan(&msg);
    assert_eq!(
        f.count("credit_card", Confidence::Low),
        CARDS as u32,
        "{f:?}"
    );
    assert!(f.count("us_ssn", Confidence::Low) >= 1);
    assert!(!f.is_unscannable(), "{:?}", f.unscannable);
    assert_eq!(f.attachments[0].detected_type, "tnef");
    assert_eq!(
        scan_with(&engine(), &msg, 7).count("credit_card", Confidence::Low),
        CARDS as u32
    );
    // Cut inside the attachment's data: named.
    let cut = scan(&mail(
        "winmail.dat",
        "application/ms-tnef",
        &t[..t.len() - 500],
    ));
    assert!(cut.has_reason(R::CorruptArchive), "{:?}", cut.unscannable);
}

#[test]
fn tnef_from_the_tnefparse_corpus() {
    // tnefparse 1.4.0's test file (LGPL-3.0): two text attachments,
    // AUTHORS and README of the tnef program. A dictionary of words from
    // README's text proves the attachment was read.
    let engine = Arc::new(
        Engine::new(&EngineConfig {
            dictionaries: vec![cordon_dlp::DictionaryConfig {
                name: "readme".into(),
                terms: vec!["proliferation of Microsoft Outlook".into()],
                case_sensitive: false,
                whole_word: true,
            }],
            ..EngineConfig::default()
        })
        .unwrap(),
    );
    let msg = mail(
        "winmail.dat",
        "application/ms-tnef",
        &fixture("two-files.tnef"),
    );
    let f = scan_with(&engine, &msg, 64 * 1024);
    assert_eq!(f.count("readme", Confidence::Low), 1);
    assert!(!f.is_unscannable(), "{:?}", f.unscannable);
    assert_eq!(f.attachments[0].detected_type, "tnef");
}

/// CRC-32 of [MS-OXRTFCP] 2.1.3.2 (reflected 0xEDB88320, no inversion).
fn rtf_crc(data: &[u8]) -> u32 {
    data.iter().fold(0u32, |crc, &b| {
        let mut c = (crc ^ u32::from(b)) & 0xFF;
        for _ in 0..8 {
            c = if c & 1 == 1 {
                c >> 1 ^ 0xEDB8_8320
            } else {
                c >> 1
            };
        }
        c ^ crc >> 8
    })
}

/// `rtf` as compressed RTF ([MS-OXRTFCP] 2.1.3.1) made of literal runs
/// only (a valid stream a simple writer may produce; the decoder's
/// references are checked against the spec's own examples in `lzfu.rs`),
/// ended by the reference to the write position.
fn compressed_rtf(rtf: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    let mut pos = 207usize;
    for run in rtf.chunks(8) {
        let end = run.len() < 8;
        body.push(if end { 1 << run.len() } else { 0 });
        body.extend_from_slice(run);
        pos = (pos + run.len()) % 4096;
        if end {
            body.extend_from_slice(&((pos as u16) << 4).to_be_bytes());
        }
    }
    if rtf.len().is_multiple_of(8) {
        body.push(1);
        body.extend_from_slice(&((pos as u16) << 4).to_be_bytes());
    }
    let mut out = (body.len() as u32 + 12).to_le_bytes().to_vec();
    out.extend_from_slice(&(rtf.len() as u32).to_le_bytes());
    out.extend_from_slice(b"LZFu");
    out.extend_from_slice(&rtf_crc(&body).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

#[test]
fn a_msg_whose_body_is_only_compressed_rtf_is_read() {
    // Outlook keeps an RTF message's body in PR_RTF_COMPRESSED alone when
    // the store does not sync PR_BODY: the card is found only by
    // decompressing it and reading the RTF (`\'2d` is a hyphen).
    let rtf = format!(
        "{{\\rtf1\\ansi\\ansicpg1252{{\\fonttbl{{\\f0 Arial;}}}}\\f0 Card {}\\par SSN 412\\'2d67\\'2d2309\\par}}",
        card(7)
    );
    let lz = compressed_rtf(rtf.as_bytes());
    let msg = |lz: &[u8]| {
        compound(&[
            ("/__properties_version1.0".into(), vec![0u8; 32]),
            ("/__substg1.0_10090102".into(), lz.to_vec()),
        ])
    };
    let m = mail("rtf-only.msg", "application/vnd.ms-outlook", &msg(&lz));
    for chunk in [64 * 1024, 7] {
        let f = scan_with(&engine(), &m, chunk);
        assert_eq!(f.count("credit_card", Confidence::Low), 1, "{f:?}");
        assert_eq!(f.count("us_ssn", Confidence::Medium), 1, "{f:?}");
        assert!(!f.is_unscannable(), "{:?}", f.unscannable);
    }
    // A CRC that does not match: read, and named.
    let mut bad = lz.clone();
    bad[12] ^= 0x40;
    let f = scan(&mail(
        "rtf-only.msg",
        "application/vnd.ms-outlook",
        &msg(&bad),
    ));
    assert_eq!(f.count("credit_card", Confidence::Low), 1);
    assert!(f.has_reason(R::CorruptDocument), "{:?}", f.unscannable);
}

/// A TNEF MAPI property value of a variable-size type ([MS-OXTNEF]
/// 2.1.3.4): one value, its length, the data and padding to 4 bytes.
fn mapi_value(out: &mut Vec<u8>, tag: u32, data: &[u8]) {
    out.extend_from_slice(&tag.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(data);
    out.resize(out.len().next_multiple_of(4), 0);
}

#[test]
fn tnef_mapi_properties_utf16_and_compressed_rtf_are_read() {
    // attMAPIProps as Outlook writes it for an RTF message: PR_BODY_W in
    // UTF-16, a named property (GUID, numeric ID, PT_LONG), a boolean and
    // PR_RTF_COMPRESSED; each card is found only in its own property.
    let mut props = 4u32.to_le_bytes().to_vec();
    mapi_value(
        &mut props,
        0x1000_001F,
        &utf16(&format!("Card {}", card(11))),
    );
    props.extend_from_slice(&0x8005_0003u32.to_le_bytes());
    props.extend_from_slice(&[0x11; 16]);
    props.extend_from_slice(&0u32.to_le_bytes());
    props.extend_from_slice(&0x8506u32.to_le_bytes());
    props.extend_from_slice(&42u32.to_le_bytes());
    props.extend_from_slice(&0x0E1F_000Bu32.to_le_bytes());
    props.extend_from_slice(&1u32.to_le_bytes());
    let rtf = format!("{{\\rtf1\\ansi Card {}\\par}}", card(12));
    mapi_value(&mut props, 0x1009_0102, &compressed_rtf(rtf.as_bytes()));
    let mut t = vec![0x78, 0x9F, 0x3E, 0x22, 0x01, 0x00];
    tnef_attr(&mut t, 1, 0x0006_9003, &props);
    let msg = mail("winmail.dat", "application/ms-tnef", &t);
    for chunk in [64 * 1024, 7] {
        let f = scan_with(&engine(), &msg, chunk);
        assert_eq!(f.count("credit_card", Confidence::Low), 2, "{f:?}");
        assert!(!f.is_unscannable(), "{:?}", f.unscannable);
    }
    // A property of a type the reader cannot step over (PT_SVREID): the
    // rest of the list is read as raw bytes, as it was before the reader.
    let mut odd = 2u32.to_le_bytes().to_vec();
    odd.extend_from_slice(&0x0001_00FBu32.to_le_bytes());
    odd.extend_from_slice(format!("\0\0\0\x08card {}", card(13)).as_bytes());
    let mut t = vec![0x78, 0x9F, 0x3E, 0x22, 0x01, 0x00];
    tnef_attr(&mut t, 1, 0x0006_9003, &odd);
    let f = scan(&mail("winmail.dat", "application/ms-tnef", &t));
    assert_eq!(f.count("credit_card", Confidence::Low), 1, "{f:?}");
    assert!(!f.is_unscannable(), "{:?}", f.unscannable);
    // A list cut short is named.
    let mut cut = vec![0x78, 0x9F, 0x3E, 0x22, 0x01, 0x00];
    tnef_attr(&mut cut, 1, 0x0006_9003, &props[..props.len() - 9]);
    let f = scan(&mail("winmail.dat", "application/ms-tnef", &cut));
    assert!(f.has_reason(R::CorruptArchive), "{:?}", f.unscannable);
}

/// A message as a mail client saves it to an `.eml` file: a text body
/// with `text`, and `name` attached in base64 as `ctype`.
fn eml(text: &str, name: &str, ctype: &str, data: &[u8]) -> Vec<u8> {
    format!(
        "Received: from mx.contoso.example by mx.fabrikam.example; Sat, 5 Dec 2026 09:00:00 +0000\r\nFrom: c@contoso.example\r\nTo: d@fabrikam.example\r\nSubject: refunds\r\nDate: Sat, 5 Dec 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"inner\"\r\n\r\n--inner\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n--inner\r\nContent-Type: {ctype}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--inner--\r\n",
        common::b64(data)
    )
    .into_bytes()
}

#[test]
fn an_attached_eml_is_read_as_a_message() {
    // The .docx inside is deflated: its six cards are found only if the
    // attached message is walked and its base64 part opened.
    let docx = fixture("src/letter.docx");
    let inner = eml(
        "SSN 287-65-4321 for the refund",
        "letter.docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        &docx,
    );
    for (name, ctype) in [
        // Sent as a file, known by its name or only by its content.
        ("fwd.eml", "application/octet-stream"),
        ("attachment.bin", "application/octet-stream"),
        // A forwarded message base64-encoded (the outer walk cannot see in).
        ("fwd.eml", "message/rfc822"),
    ] {
        let msg = mail(name, ctype, &inner);
        for chunk in [64 * 1024, 7] {
            let f = scan_with(&engine(), &msg, chunk);
            assert_eq!(
                f.count("credit_card", Confidence::Low),
                CARDS as u32,
                "{name} {ctype}: {f:?}"
            );
            // The letter's three and the body's own.
            assert_eq!(
                f.count("us_ssn", Confidence::Low),
                SSNS as u32 + 1,
                "{name}"
            );
            assert!(!f.is_unscannable(), "{name}: {:?}", f.unscannable);
            let a = f.attachments.iter().find(|a| a.file_name == name);
            assert_eq!(a.expect("listed").detected_type, "eml", "{name}");
        }
    }
}

#[test]
fn an_eml_in_an_eml_stops_at_the_walker_with_a_named_reason() {
    // The attached message carries another, base64-encoded: the one walker
    // of attached messages is busy, so the inner message is read as raw
    // text (its plain body's card is found, its .docx is not opened) and
    // `mime_depth_limit` says so.
    let innermost = eml(
        &format!("card {}", card(21)),
        "letter.docx",
        "application/octet-stream",
        &fixture("src/letter.docx"),
    );
    let middle = eml(
        &format!("card {}", card(22)),
        "fwd.eml",
        "application/octet-stream",
        &innermost,
    );
    let f = scan(&mail("fwd.eml", "application/octet-stream", &middle));
    assert!(f.has_reason(R::MimeDepthLimit), "{:?}", f.unscannable);
    assert_eq!(f.count("credit_card", Confidence::Low), 2, "{f:?}");
}
