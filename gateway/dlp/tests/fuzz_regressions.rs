//! Acceptance 4: every input in tests/fuzz_regressions/<target>/ (crashes
//! found by `cargo fuzz`, plus hand-made edge cases) is replayed through the
//! same entry point as its fuzz target: no panic, chunk-invariant output.

use std::path::PathBuf;
use std::sync::Arc;

use cordon_dlp::{fuzzing, Counts, Engine, EngineConfig, Findings, UnscannableReason};

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_regressions")
        .join(target);
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .map(|p| {
                    let b = std::fs::read(&p).unwrap();
                    (p, b)
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn replay_fuzz_regressions() {
    let engine = Arc::new(Engine::new(&EngineConfig::default()).unwrap());
    let mut n = 0;
    for (target, f) in [
        ("base64", fuzzing::base64 as fn(&[u8])),
        ("qp", fuzzing::quoted_printable),
        ("html", fuzzing::html),
        ("charset", fuzzing::charset),
        ("image", fuzzing::image),
        ("lzfu", fuzzing::lzfu),
        ("inline_text", fuzzing::inline_text),
    ] {
        for (path, data) in inputs(target) {
            println!("{}", path.display());
            f(&data);
            n += 1;
        }
    }
    for (path, data) in inputs("mime") {
        println!("{}", path.display());
        fuzzing::message(&engine, &data);
        n += 1;
    }
    for (path, data) in inputs("tnef_props") {
        println!("{}", path.display());
        fuzzing::tnef_props(&engine, &data);
        n += 1;
    }
    for (path, data) in inputs("fingerprint_set") {
        println!("{}", path.display());
        fuzzing::fingerprint_set(&data);
        n += 1;
    }
    for (path, data) in inputs("pdf") {
        println!("{}", path.display());
        fuzzing::pdf(&engine, &data);
        n += 1;
    }
    // Corpus messages double as MIME regression inputs.
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus/dlp");
    for e in std::fs::read_dir(corpus)
        .unwrap()
        .filter_map(Result::ok)
        .take(40)
    {
        if e.path().extension().is_some_and(|x| x == "eml") {
            fuzzing::message(&engine, &std::fs::read(e.path()).unwrap());
            n += 1;
        }
    }
    assert!(n > 40);
}

/// What a PDF's findings say, without where (the direct reader has no part path).
fn gist(f: &Findings) -> (Vec<(String, Counts)>, Vec<UnscannableReason>) {
    let dets = f
        .detectors
        .iter()
        .map(|d| (d.name.clone(), d.counts))
        .collect();
    let mut reasons: Vec<_> = f.all_reasons().collect();
    reasons.sort_by_key(|r| r.as_str());
    reasons.dedup();
    (dets, reasons)
}

/// The PDF fuzz target feeds the reader directly; that only tests the
/// reader the scanner uses if both read a file alike. Each PDF regression
/// input, attached to a mail, gives the same findings through the scanner,
/// and the hand-made seeds give the findings they were made for.
#[test]
fn pdf_target_reads_as_the_scanner_does() {
    let engine = Arc::new(Engine::new(&EngineConfig::default()).unwrap());
    let mut scanner = engine.scanner();
    let mut seen = Vec::new();
    for (path, data) in inputs("pdf") {
        let direct = fuzzing::pdf(&engine, &data);
        let mut mail = b"From: a@contoso.com\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n\
Content-Type: application/pdf; name=\"f.pdf\"\r\nContent-Transfer-Encoding: binary\r\n\r\n"
            .to_vec();
        mail.extend_from_slice(&data[1..]);
        mail.extend_from_slice(b"\r\n--b1--\r\n");
        scanner.feed(&mail);
        let scanned = scanner.finish();
        assert_eq!(
            scanned.attachments[0].detected_type,
            "pdf",
            "{}",
            path.display()
        );
        assert_eq!(gist(&direct), gist(&scanned), "{}", path.display());
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        seen.push((name, gist(&direct)));
    }
    let get = |n: &str| &seen.iter().find(|(s, _)| s == n).expect(n).1;
    let found = |n: &str, det: &str| get(n).0.iter().any(|(d, c)| d == det && c.medium > 0);
    assert!(
        found("page-tj-kerning", "credit_card"),
        "{:?}",
        get("page-tj-kerning")
    );
    assert!(
        found("page-tj-kerning", "us_ssn"),
        "{:?}",
        get("page-tj-kerning")
    );
    assert!(found("object-stream", "iban"), "{:?}", get("object-stream"));
    let reasons = &get("other-filters").1;
    assert!(
        reasons.contains(&UnscannableReason::UnsupportedCompression),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&UnscannableReason::CorruptArchive),
        "{reasons:?}"
    );
}
