//! Issue 20 item 3, document fingerprints, on the engine: a protected agreement (a docx
//! written by python-docx; `tests/fingerprint/make.py` has the command) is added to a set,
//! and a 30% excerpt of it, reflowed, re-cased and re-punctuated, scores at least 0.25 inside
//! a PDF (fpdf2) or a docx attachment, in a zip, and as the message's own text; 200 unrelated
//! documents from the Debian system the test runs on (`/usr/share/common-licenses`, the
//! packages' copyright files, then Python's standard library) each score under 0.05. The
//! figures are printed.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cordon_dlp::fingerprint::{self, as_message, Document, FpKey, Set};
use cordon_dlp::{Engine, EngineConfig};

const SET: &str = "doc:contracts";

fn fixture(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fingerprint")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn key() -> FpKey {
    FpKey::from_bytes(*b"sixteen byte key")
}

/// An engine matching against the set of `docs` (name, file).
fn engine_with(docs: &[(&str, Vec<u8>)]) -> Arc<Engine> {
    let plain = Arc::new(Engine::new(&EngineConfig::default()).unwrap());
    let documents: Vec<Document> = docs
        .iter()
        .map(|(name, data)| Document {
            name: (*name).into(),
            fingerprints: plain
                .document_fingerprints(&as_message(name, data), &key())
                .unwrap(),
        })
        .collect();
    let bundle = fingerprint::encode(&key(), &documents).unwrap();
    let set = Arc::new(Set::decode(&bundle, &key()).unwrap());
    Arc::new(
        Engine::new(&EngineConfig::default())
            .unwrap()
            .with_fingerprints(vec![("contracts".into(), set)])
            .unwrap(),
    )
}

fn score(engine: &Arc<Engine>, message: &[u8]) -> f64 {
    let mut s = engine.scanner();
    for chunk in message.chunks(7001) {
        s.feed(chunk);
    }
    s.finish().similarity(SET)
}

#[test]
fn an_excerpt_scores_in_every_carrier_and_names_the_document() {
    let engine = engine_with(&[("msa-template.docx", fixture("protected.docx"))]);
    let excerpt = String::from_utf8(fixture("excerpt.txt")).unwrap();
    let body = format!(
        "From: a@contoso.com\r\nTo: b@fabrikam.example\r\nSubject: fyi\r\n\r\n{}\r\n",
        excerpt.replace('\n', "\r\n")
    );
    let zip = common::zip_file(
        b"",
        &[("notes/excerpt.pdf", &fixture("excerpt.pdf"), true, 0)],
    );
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "pdf attachment",
            as_message("excerpt.pdf", &fixture("excerpt.pdf")),
        ),
        (
            "docx attachment",
            as_message("excerpt.docx", &fixture("excerpt.docx")),
        ),
        ("pdf in a zip", as_message("notes.zip", &zip)),
        ("message text", body.into_bytes()),
    ];
    for (what, message) in cases {
        let s = score(&engine, &message);
        println!("{what:<16} similarity {s:.3}");
        assert!(s >= 0.25, "{what}: {s}");
        assert!(s < 0.6, "{what}: {s}: more than the excerpt holds");
    }
    let whole = score(
        &engine,
        &as_message("copy.docx", &fixture("protected.docx")),
    );
    println!("{:<16} similarity {whole:.3}", "the whole docx");
    assert!(whole > 0.95, "{whole}");
    let mut s = engine.scanner();
    s.feed(&as_message("excerpt.pdf", &fixture("excerpt.pdf")));
    let f = s.finish();
    let d = f.get(SET).unwrap();
    let sim = d.similarity.as_ref().unwrap();
    assert_eq!(sim.document, "msa-template.docx");
    assert!(d.samples.is_empty(), "no text of the document in a finding");
}

/// Up to `n` unrelated documents of this Debian system, each at most 64 KiB.
fn unrelated(n: usize) -> Vec<(String, Vec<u8>)> {
    let mut paths: Vec<PathBuf> = Vec::new();
    let mut add_dir = |dir: &str, pick: &dyn Fn(&Path) -> bool| {
        if let Ok(entries) = std::fs::read_dir(dir) {
            let mut v: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| pick(p))
                .collect();
            v.sort();
            paths.extend(v);
        }
    };
    add_dir("/usr/share/common-licenses", &|p| p.is_file());
    add_dir("/usr/share/doc", &|_| true);
    let mut files: Vec<PathBuf> = Vec::new();
    for p in paths {
        if p.is_dir() {
            let c = p.join("copyright");
            if c.is_file() {
                files.push(c);
            }
        } else {
            files.push(p);
        }
    }
    for py in ["/usr/lib/python3.11", "/usr/lib/python3"] {
        if let Ok(entries) = std::fs::read_dir(py) {
            let mut v: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "py"))
                .collect();
            v.sort();
            files.extend(v);
        }
    }
    files
        .into_iter()
        .filter_map(|p| {
            let mut data = std::fs::read(&p).ok()?;
            data.truncate(64 << 10);
            (data.len() > 200).then(|| (p.display().to_string(), data))
        })
        .take(n)
        .collect()
}

#[test]
fn two_hundred_unrelated_documents_score_under_five_percent() {
    let engine = engine_with(&[
        ("msa-template.docx", fixture("protected.docx")),
        ("msa-template.txt", fixture("protected.txt")),
    ]);
    let docs = unrelated(200);
    assert_eq!(docs.len(), 200, "fewer than 200 documents on this system");
    let mut worst = (0.0, String::new());
    for (name, data) in &docs {
        let s = score(&engine, &as_message("unrelated.txt", data));
        if s > worst.0 {
            worst = (s, name.clone());
        }
        assert!(s < 0.05, "{name}: {s}");
    }
    println!(
        "200 unrelated documents: highest similarity {:.4} ({})",
        worst.0, worst.1
    );
}

#[test]
fn a_document_without_text_or_unreadable_is_refused() {
    let plain = Arc::new(Engine::new(&EngineConfig::default()).unwrap());
    let e = plain
        .document_fingerprints(
            &as_message("short.txt", b"too short to fingerprint"),
            &key(),
        )
        .unwrap_err();
    assert_eq!(e, fingerprint::DocumentFault::NoText);
    let mut damaged = fixture("protected.docx");
    damaged.truncate(damaged.len() / 2);
    assert!(plain
        .document_fingerprints(&as_message("damaged.docx", &damaged), &key())
        .is_err());
}

#[test]
fn an_unrelated_docx_from_the_same_writer_scores_nothing() {
    let engine = engine_with(&[("msa-template.docx", fixture("protected.docx"))]);
    let other =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/carriers/values.docx"))
            .unwrap();
    let s = score(&engine, &as_message("values.docx", &other));
    println!("values.docx (python-docx, unrelated) similarity {s:.3}");
    assert!(s < 0.05, "{s}");
}
