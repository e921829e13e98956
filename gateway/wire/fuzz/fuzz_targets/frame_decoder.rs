//! Feeds arbitrary bytes, split at fuzzer-chosen points, to the frame decoder for both
//! directions. It must never panic, never buffer more than its capacity, and every frame it
//! accepts must re-encode to a frame that decodes to the same message.

#![no_main]

use cordon_wire::{
    encode_frame, DecodeEvent, FrameDecoder, Message, RequestFrame, ResponseFrame, FRAME_CRC,
    MAX_ENCODED_FRAME_LEN, MAX_FRAME_LEN,
};
use libfuzzer_sys::fuzz_target;

fn run<T: Message + PartialEq + core::fmt::Debug>(data: &[u8], split: usize) {
    let mut decoder: Box<FrameDecoder> = Box::new(FrameDecoder::new());
    let mut out = vec![0u8; MAX_ENCODED_FRAME_LEN];
    for piece in data.chunks(split) {
        let mut input = piece;
        while let Some(event) = decoder.feed::<T>(&mut input) {
            if let DecodeEvent::Frame(msg) = event {
                let frame = encode_frame(&msg, &mut out).expect("a decoded message re-encodes");
                let mut again: Box<FrameDecoder> = Box::new(FrameDecoder::new());
                let mut frame = frame;
                match again.feed::<T>(&mut frame) {
                    Some(DecodeEvent::Frame(back)) => assert_eq!(back, msg),
                    other => panic!("re-encoded frame did not decode: {other:?}"),
                }
            }
            assert!(decoder.buffered() <= MAX_FRAME_LEN);
        }
        assert!(input.is_empty());
    }
}

/// Frames `body` with a correct CRC and COBS, so mutations reach the message decoder
/// instead of dying at the CRC check.
fn frame_raw(body: &[u8]) -> Vec<u8> {
    let mut raw = body.to_vec();
    raw.extend_from_slice(&FRAME_CRC.checksum(body).to_le_bytes());
    let mut out = vec![0];
    let mut code_at = 0;
    for &b in &raw {
        if b == 0 {
            out[code_at] = (out.len() - code_at) as u8;
            code_at = out.len();
            out.push(0);
        } else {
            out.push(b);
            if out.len() - code_at == 0xFF {
                out[code_at] = 0xFF;
                code_at = out.len();
                out.push(0);
            }
        }
    }
    out[code_at] = (out.len() - code_at) as u8;
    out.push(0);
    out
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks the split (low 7 bits) so the fuzzer explores delivery patterns,
    // and the mode (high bit): raw stream, or a message body framed with a valid CRC.
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let split = usize::from(first & 0x7F).max(1);
    let framed;
    let stream = if first & 0x80 != 0 {
        framed = frame_raw(rest);
        &framed[..]
    } else {
        rest
    };
    run::<RequestFrame>(stream, split);
    run::<ResponseFrame>(stream, split);
});
