//! Acceptance 4: every input in tests/fuzz_regressions/<target>/ (crashes
//! found by `cargo fuzz`, plus hand-made edge cases) is replayed through the
//! same entry point as its fuzz target: no panic, chunk-invariant output.

use std::path::PathBuf;
use std::sync::Arc;

use cordon_dlp::{fuzzing, Engine, EngineConfig};

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
