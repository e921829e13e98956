//! Replays every input kept in `fuzz/regressions/` (hand-made hostile streams and any crash
//! the fuzzer ever found) through the decoder: none may panic, and the decoder must end each
//! stream ready for the next good frame.

use cordon_wire::{
    encode_frame, DecodeEvent, FrameDecoder, Request, RequestFrame, ResponseFrame,
    MAX_ENCODED_FRAME_LEN,
};

#[test]
fn regression_inputs_never_panic_and_resync() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/regressions");
    let mut good = vec![0u8; MAX_ENCODED_FRAME_LEN];
    let good = encode_frame(
        &RequestFrame {
            id: 42,
            request: Request::Status,
        },
        &mut good,
    )
    .unwrap()
    .to_vec();
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let input = std::fs::read(entry.unwrap().path()).unwrap();
        let mut dec: Box<FrameDecoder> = Box::new(FrameDecoder::new());
        let mut rest = &input[..];
        while dec.feed::<ResponseFrame>(&mut rest).is_some() {}
        let mut dec: Box<FrameDecoder> = Box::new(FrameDecoder::new());
        let mut rest = &input[..];
        while dec.feed::<RequestFrame>(&mut rest).is_some() {}
        // A leading 0x00 closes whatever fragment the input left behind.
        let mut stream = vec![0];
        stream.extend_from_slice(&good);
        let mut rest = &stream[..];
        let mut last = None;
        while let Some(ev) = dec.feed::<RequestFrame>(&mut rest) {
            last = Some(ev);
        }
        assert!(matches!(
            last,
            Some(DecodeEvent::Frame(RequestFrame { id: 42, .. }))
        ));
        count += 1;
    }
    assert!(count >= 2, "regression inputs missing from {dir}");
}
