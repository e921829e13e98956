//! Acceptance 2: for every corpus message and random split points, the
//! findings equal those of a single feed. Acceptance 5: the scanner's state
//! is fixed at construction and does not grow over 10,000 messages.

mod common;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

fn scan_split(
    scanner: &mut cordon_dlp::Scanner,
    bytes: &[u8],
    cuts: &[usize],
) -> cordon_dlp::Findings {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    points.sort_unstable();
    let mut last = 0;
    for p in points {
        scanner.feed(&bytes[last..p]);
        last = p;
    }
    scanner.feed(&bytes[last..]);
    scanner.finish()
}

#[test]
fn findings_do_not_depend_on_chunking() {
    let corpus = common::load();
    let mut scanner = corpus.engine.scanner();
    let mut runner = TestRunner::new(Config {
        cases: 8,
        failure_persistence: None,
        ..Config::default()
    });
    for (file, bytes, _) in &corpus.messages {
        scanner.feed(bytes);
        let whole = scanner.finish();
        // Byte-at-a-time once per message: the most hostile chunking.
        let mut one = corpus.engine.scanner();
        for b in bytes.chunks(1) {
            one.feed(b);
        }
        assert_eq!(one.finish(), whole, "{file}: byte-at-a-time differs");
        let scanner_cell = std::cell::RefCell::new(&mut scanner);
        runner
            .run(&proptest::collection::vec(any::<usize>(), 1..24), |cuts| {
                let mut scanner = scanner_cell.borrow_mut();
                let split = scan_split(&mut scanner, bytes, &cuts);
                prop_assert_eq!(&split, &whole, "{}: cuts {:?}", file, cuts);
                Ok(())
            })
            .unwrap();
    }
}

#[test]
fn state_does_not_grow_over_10000_messages() {
    let corpus = common::load();
    let mut scanner = corpus.engine.scanner();
    let before = scanner.state_bytes();
    let mut total = 0u64;
    for i in 0..10_000 {
        let (_, bytes, _) = &corpus.messages[i % corpus.messages.len()];
        // Vary chunking too, so every buffering path is exercised.
        for c in bytes.chunks(1 + (i * 37) % 8192) {
            scanner.feed(c);
        }
        total += u64::from(scanner.finish().parts);
        assert_eq!(scanner.state_bytes(), before, "state grew at message {i}");
    }
    println!("state: {before} bytes for 10,000 messages ({total} parts)");
}
