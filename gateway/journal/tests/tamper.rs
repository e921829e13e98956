//! Tampering with records in the middle of the log: `verify` names the first broken record and
//! why, and reports the unbroken range before it.

mod common;

use std::fs;
use std::path::Path;

use common::{locate, payload, scratch, segments, KEY, SMALL};
use cordon_journal::format::{RecordHeader, RECORD_HEADER_LEN};
use cordon_journal::{verify, Break, BreakReason, Journal, Verified};

/// A journal of `n` records over several segments; returns its directory.
fn written(n: u64) -> tempfile::TempDir {
    let dir = scratch();
    let mut journal = Journal::open(dir.path(), SMALL, KEY).unwrap();
    for seq in 1..=n {
        journal.append(seq * 1000, &payload(seq, 512)).unwrap();
    }
    assert_eq!(journal.stats().first_seq, Some(1), "keep every record");
    assert!(segments(dir.path()).len() >= 3);
    dir
}

fn check(dir: &Path) -> Verified {
    verify(dir, SMALL.max_record, KEY, None).unwrap()
}

fn first_break(dir: &Path) -> (u64, BreakReason, Option<(u64, u64)>) {
    let report = check(dir);
    let Break { seq, reason, .. } = report.outcome.clone().unwrap_err();
    (seq, reason, report.range)
}

fn edit(path: &Path, f: impl FnOnce(&mut Vec<u8>)) {
    let mut bytes = fs::read(path).unwrap();
    f(&mut bytes);
    fs::write(path, bytes).unwrap();
}

/// Decodes the record at the start of `record`, lets `change` alter its header fields, and
/// writes the header back with a CRC that matches: an editor who knows the format.
fn rewrite_header(record: &mut [u8], change: impl FnOnce(&mut RecordHeader)) {
    let head: &[u8; RECORD_HEADER_LEN] = record[..RECORD_HEADER_LEN].try_into().unwrap();
    let mut header = RecordHeader::decode(head, u32::MAX).unwrap();
    change(&mut header);
    let body = &record[RECORD_HEADER_LEN..RECORD_HEADER_LEN + header.len as usize];
    let fixed = RecordHeader::new(header.seq, header.time_ms, header.tag, body);
    record[..RECORD_HEADER_LEN].copy_from_slice(&fixed.encode());
}

const N: u64 = 25;
const MIDDLE: u64 = 13;

#[test]
fn the_untouched_log_verifies() {
    let dir = written(N);
    let report = check(dir.path());
    assert_eq!(report.outcome, Ok(()));
    assert_eq!(report.range, Some((1, N)));
}

#[test]
fn one_edited_payload_byte_is_named_as_a_crc_break() {
    let dir = written(N);
    let (path, offset, _) = locate(dir.path(), MIDDLE);
    edit(&path, |b| b[offset + RECORD_HEADER_LEN + 3] ^= 0x01);
    let report = check(dir.path());
    let broken = report.outcome.unwrap_err();
    assert_eq!(broken.seq, MIDDLE);
    assert_eq!(broken.reason, BreakReason::Crc);
    assert_eq!(broken.segment, path);
    assert_eq!(broken.offset, offset as u64);
    assert_eq!(report.range, Some((1, MIDDLE - 1)));
}

#[test]
fn an_edit_with_a_recomputed_crc_is_named_as_a_chain_break() {
    let dir = written(N);
    let (path, offset, len) = locate(dir.path(), MIDDLE);
    edit(&path, |b| {
        b[offset + RECORD_HEADER_LEN] ^= 0x20;
        rewrite_header(&mut b[offset..offset + len], |_| {});
    });
    assert_eq!(
        first_break(dir.path()),
        (MIDDLE, BreakReason::Chain, Some((1, MIDDLE - 1)))
    );
}

#[test]
fn an_edited_time_is_named_as_a_chain_break() {
    let dir = written(N);
    let (path, offset, len) = locate(dir.path(), MIDDLE);
    edit(&path, |b| {
        rewrite_header(&mut b[offset..offset + len], |h| h.time_ms += 1);
    });
    assert_eq!(first_break(dir.path()).0, MIDDLE);
    assert_eq!(first_break(dir.path()).1, BreakReason::Chain);
}

#[test]
fn a_deleted_record_is_named_as_a_gap() {
    let dir = written(N);
    let (path, offset, len) = locate(dir.path(), MIDDLE);
    edit(&path, |b| {
        b.drain(offset..offset + len);
    });
    assert_eq!(
        first_break(dir.path()),
        (
            MIDDLE,
            BreakReason::Gap { found: MIDDLE + 1 },
            Some((1, MIDDLE - 1))
        )
    );
}

#[test]
fn a_deleted_record_renumbered_to_hide_the_gap_is_a_chain_break() {
    let dir = written(N);
    let (path, offset, len) = locate(dir.path(), MIDDLE);
    edit(&path, |b| {
        b.drain(offset..offset + len);
        // Renumber the next record to the deleted one's number, CRC fixed: the tag gives it
        // away.
        rewrite_header(&mut b[offset..], |h| h.seq = MIDDLE);
    });
    assert_eq!(first_break(dir.path()).0, MIDDLE);
    assert_eq!(first_break(dir.path()).1, BreakReason::Chain);
}

#[test]
fn a_replayed_record_is_named_as_reordered() {
    let dir = written(N);
    let (path, offset, _) = locate(dir.path(), MIDDLE);
    // The same segment must hold the record before it, to copy it after.
    let (prev_path, prev_offset, prev_len) = locate(dir.path(), MIDDLE - 1);
    assert_eq!(prev_path, path, "test layout changed");
    edit(&path, |b| {
        let copy = b[prev_offset..prev_offset + prev_len].to_vec();
        b.splice(offset..offset, copy);
    });
    assert_eq!(
        first_break(dir.path()).1,
        BreakReason::Reordered { found: MIDDLE - 1 }
    );
    assert_eq!(first_break(dir.path()).0, MIDDLE);
}

#[test]
fn a_deleted_middle_segment_is_a_gap_at_the_next_segment() {
    let dir = written(N);
    let files = segments(dir.path());
    let next = files[2].clone();
    fs::remove_file(&files[1]).unwrap();
    let report = check(dir.path());
    let broken = report.outcome.unwrap_err();
    assert_eq!(broken.segment, next);
    assert_eq!(broken.offset, 0);
    assert!(
        matches!(broken.reason, BreakReason::Gap { .. }),
        "{broken:?}"
    );
    let (first, last) = report.range.unwrap();
    assert_eq!(first, 1);
    assert_eq!(broken.seq, last + 1);
}

#[test]
fn a_cut_middle_segment_is_a_gap_and_a_forged_segment_header_a_chain_break() {
    let dir = written(N);
    let files = segments(dir.path());
    // Drop the last record of segment 2: the segment still parses to its end.
    let records = common::records_in(&files[1]);
    let &(last_seq, last_offset, _) = records.last().unwrap();
    let cut = dir.path().join("cut");
    fs::copy(&files[1], &cut).unwrap();
    edit(&files[1], |b| b.truncate(last_offset));
    let broken = check(dir.path()).outcome.unwrap_err();
    assert_eq!(broken.seq, last_seq);
    assert_eq!(
        broken.reason,
        BreakReason::Gap {
            found: last_seq + 1
        }
    );
    assert_eq!(broken.segment, files[2]);

    // Restore it, then give segment 3 a header claiming another predecessor tag.
    fs::rename(&cut, &files[1]).unwrap();
    assert_eq!(check(dir.path()).outcome, Ok(()));
    edit(&files[2], |b| {
        let mut header = [0u8; 56];
        header.copy_from_slice(&b[..56]);
        let parsed = cordon_journal::format::SegmentHeader::decode(&header).unwrap();
        let forged = cordon_journal::format::SegmentHeader {
            prev_tag: [0x55; 32],
            ..parsed
        };
        b[..56].copy_from_slice(&forged.encode());
    });
    let broken = check(dir.path()).outcome.unwrap_err();
    assert_eq!(
        (broken.seq, broken.reason),
        (last_seq + 1, BreakReason::Chain)
    );
}

#[test]
fn dropping_the_oldest_segment_is_retention_not_a_break() {
    let dir = written(N);
    let files = segments(dir.path());
    fs::remove_file(&files[0]).unwrap();
    let report = check(dir.path());
    assert_eq!(report.outcome, Ok(()));
    let second_first = common::records_in(&files[1])[0].0;
    assert_eq!(report.range, Some((second_first, N)));
}
