//! Replays the inputs kept in `tests/fuzz_regressions/` (crashes and hard cases found by the
//! fuzz targets in `fuzz/`) through every parser, so they stay fixed without a nightly toolchain.

use cordon_smtp::command::parse;
use cordon_smtp::data::{BodyReceiver, Progress};
use cordon_smtp::header::for_each_field;
use cordon_smtp::line::{next_line, LineEvent};
use cordon_smtp::reply::parse_reply;

#[test]
fn regressions_replay_through_every_parser() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).expect("regression dir") {
        let data = std::fs::read(entry.expect("entry").path()).expect("read");
        let mut rest = &data[..];
        while let LineEvent::Line { len } = next_line(rest, cordon_smtp::MAX_COMMAND_LINE) {
            let _ = parse(&rest[..len - 2]);
            rest = &rest[len..];
        }
        if let Ok(Some((reply, _))) = parse_reply(&data) {
            let mut out = Vec::new();
            reply.write_enhanced(&mut out);
            assert!(
                matches!(parse_reply(&out), Ok(Some(_))),
                "our own reply must parse again"
            );
        }
        let _ = for_each_field(&data, |_| {});
        let mut whole = Vec::new();
        let a = BodyReceiver::data(4096).ingest(&data, &mut whole);
        for split in 0..data.len() {
            let mut rx = BodyReceiver::data(4096);
            let mut out = Vec::new();
            let first = rx.ingest(&data[..split], &mut out);
            let b = match first {
                Progress::Done { consumed } => Progress::Done { consumed },
                Progress::More => match rx.ingest(&data[split..], &mut out) {
                    Progress::Done { consumed } => Progress::Done {
                        consumed: consumed + split,
                    },
                    p => p,
                },
            };
            assert_eq!(a, b, "split {split}");
            if rx.error().is_none() {
                assert_eq!(whole, out, "split {split}");
            }
        }
        n += 1;
    }
    assert!(n >= 3, "regression inputs missing");
}
