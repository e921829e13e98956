//! A segment file as a disk may hand it back after a power cut, bit rot or an editor: the
//! scanner never panics, never reads a payload longer than the limit, accepts only records
//! with a good CRC, stops for good at the first bad bytes, and its offsets tile the input.
//! Every record it accepts re-encodes to the bytes it was read from, and the chain checker
//! over them never panics either.
#![no_main]
use cordon_journal::format::{RecordHeader, SegmentHeader, GENESIS_TAG, SEGMENT_HEADER_LEN};
use cordon_journal::scan::{Scanner, Step};
use cordon_journal::{Chain, ChainKey};
use libfuzzer_sys::fuzz_target;

/// Small, so the fuzzer reaches the length check often.
const MAX_RECORD: u32 = 512;

fuzz_target!(|data: &[u8]| {
    check(data);
    // A segment header carries a CRC the fuzzer rarely guesses: also scan the input as the
    // records after a valid header, so the record parser gets most of the runs.
    let mut prefixed = SegmentHeader {
        first_seq: 1,
        prev_tag: GENESIS_TAG,
    }
    .encode()
    .to_vec();
    prefixed.extend_from_slice(data);
    check(&prefixed);
});

fn check(data: &[u8]) {
    let key = ChainKey::new(b"fuzz-appliance-key-0123").unwrap();
    let Ok(Ok((mut scanner, header))) = Scanner::open(data, MAX_RECORD, Vec::new()) else {
        return;
    };
    let mut chain = Chain {
        next_seq: header.first_seq,
        prev_tag: header.prev_tag,
    };
    let mut expected = SEGMENT_HEADER_LEN as u64;
    loop {
        match scanner.step().unwrap() {
            Step::Record {
                offset,
                header,
                payload,
            } => {
                assert_eq!(offset, expected);
                assert!(payload.len() <= MAX_RECORD as usize);
                let at = offset as usize;
                let again = RecordHeader::new(header.seq, header.time_ms, header.tag, payload);
                assert_eq!(again, header);
                assert_eq!(&data[at..at + 60], &header.encode());
                assert_eq!(&data[at + 60..at + 60 + payload.len()], payload);
                let _ = chain.accept(&key, &header, payload);
                expected += header.total_len();
            }
            Step::End { offset } => {
                assert_eq!(offset, data.len() as u64);
                assert_eq!(offset, expected);
                break;
            }
            Step::Bad { offset, fault } => {
                assert_eq!(offset, expected);
                assert!(offset < data.len() as u64);
                assert_eq!(
                    scanner.step().unwrap(),
                    Step::Bad { offset, fault },
                    "a stopped scanner stays stopped"
                );
                break;
            }
        }
    }
}
