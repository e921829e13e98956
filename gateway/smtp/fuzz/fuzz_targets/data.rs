//! The DATA receiver: never panics, never stores more than its limit, gives the same result for
//! any split of the input (the same stored bytes when the message is accepted), and what it accepts survives stuffing and receiving again unchanged.
#![no_main]
use cordon_smtp::data::{BodyReceiver, Progress};
use cordon_smtp::stuff::Stuffer;
use libfuzzer_sys::fuzz_target;

const LIMIT: usize = 4096;

fn receive(parts: &[&[u8]]) -> (Vec<u8>, Option<usize>, Option<cordon_smtp::data::BodyError>) {
    let mut rx = BodyReceiver::data(LIMIT);
    let mut out = Vec::new();
    let mut offset = 0;
    for p in parts {
        if let Progress::Done { consumed } = rx.ingest(p, &mut out) {
            return (out, Some(offset + consumed), rx.error());
        }
        offset += p.len();
    }
    (out, None, rx.error())
}

fuzz_target!(|data: &[u8]| {
    if data.is_empty() {
        return;
    }
    let split = data[0] as usize % data.len();
    let input = &data[1..];
    let split = split.min(input.len());
    let whole = receive(&[input]);
    assert!(whole.0.len() <= LIMIT);
    let parts = receive(&[&input[..split], &input[split..]]);
    // Where the end is and what went wrong never depend on the split; the stored bytes only
    // matter for a message that is accepted (a refused one is thrown away whole).
    assert_eq!((whole.1, whole.2), (parts.1, parts.2), "split at {split} changed the result");
    if whole.2.is_none() {
        assert_eq!(whole.0, parts.0, "split at {split} changed the stored message");
    }
    if let (msg, Some(_), None) = whole {
        let mut wire = Vec::new();
        let mut s = Stuffer::default();
        s.stuff(&msg, &mut wire);
        s.finish(&mut wire);
        let (back, done, err) = receive(&[&wire]);
        assert_eq!(done, Some(wire.len()));
        assert_eq!(err, None);
        assert_eq!(back, msg);
    }
});
