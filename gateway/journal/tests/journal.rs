//! The journal on a real directory: reopen, rotation and retention, reading by sequence number
//! and by time, paging, limits, keys and tail loss against an exported anchor.

mod common;

use std::fs::{self, OpenOptions};

use common::{collect, locate, payload, read_all, scratch, segments, KEY, SMALL};
use cordon_journal::{
    verify, Anchor, AnchorCheck, Journal, JournalError, Limits, Link, Start, GENESIS_TAG,
};

#[test]
fn sequence_numbers_continue_across_reopen_and_records_read_back() {
    let dir = scratch();
    let mut journal = Journal::open(dir.path(), SMALL, KEY).unwrap();
    assert_eq!(journal.last_anchor(), None);
    assert_eq!(journal.stats().first_seq, None);
    for seq in 1..=5 {
        let anchor = journal.append(1000 + seq, &payload(seq, 512)).unwrap();
        assert_eq!(anchor.seq, seq);
    }
    let before = journal.last_anchor().unwrap();
    drop(journal);

    let mut journal = Journal::open(dir.path(), SMALL, KEY).unwrap();
    assert_eq!(journal.last_anchor(), Some(before));
    assert_eq!(journal.next_seq(), 6);
    assert_eq!(journal.append(2000, b"sixth").unwrap().seq, 6);
    let all = read_all(&journal);
    let seqs: Vec<u64> = all.iter().map(|r| r.0).collect();
    assert_eq!(seqs, (1..=6).collect::<Vec<_>>());
    for (seq, time, bytes) in &all[..5] {
        assert_eq!(*time, 1000 + seq);
        assert_eq!(bytes, &payload(*seq, 512));
    }
    assert_eq!(all[5], (6, 2000, b"sixth".to_vec()));

    let report = journal.verify(None).unwrap();
    assert_eq!(report.range, Some((1, 6)));
    assert_eq!(report.outcome, Ok(()));
    assert_eq!(report.last_tag, Some(journal.last_anchor().unwrap().tag));
    assert_eq!(report.torn_tail_bytes, 0);
    assert_eq!(journal.stats().recovery, Default::default());
}

#[test]
fn rotation_keeps_sequence_numbers_and_retention_drops_the_oldest_segment_first() {
    let dir = scratch();
    let mut journal = Journal::open(dir.path(), SMALL, KEY).unwrap();
    let mut seq = 0;
    let mut max_segments = 0;
    for round in 0..3 {
        for _ in 0..40 {
            seq += 1;
            assert_eq!(journal.append(seq, &payload(seq, 512)).unwrap().seq, seq);
            let stats = journal.stats();
            assert!(stats.bytes <= SMALL.total_bytes, "{stats:?}");
            max_segments = max_segments.max(stats.segments);
        }
        let stats = journal.stats();
        let first = stats.first_seq.unwrap();
        // Every record is held or was counted as dropped (counters restart at open).
        if round == 0 {
            assert_eq!(stats.dropped_records, first - 1, "{stats:?}");
        }
        assert!(stats.dropped_segments > 0, "{stats:?}");
        for path in segments(dir.path()) {
            assert!(fs::metadata(&path).unwrap().len() <= SMALL.segment_bytes);
        }
        // The oldest segments went: what remains is one contiguous run ending at `seq`.
        let held: Vec<u64> = read_all(&journal).iter().map(|r| r.0).collect();
        assert_eq!(held, (first..=seq).collect::<Vec<_>>());
        let report = journal.verify(None).unwrap();
        assert_eq!(report.outcome, Ok(()));
        assert_eq!(report.range, Some((first, seq)));

        drop(journal);
        journal = Journal::open(dir.path(), SMALL, KEY).unwrap();
        assert_eq!(journal.next_seq(), seq + 1, "round {round}");
        assert_eq!(journal.stats().first_seq, Some(first));
    }
    assert!(max_segments <= SMALL.max_segments(), "{max_segments}");
}

#[test]
fn reading_from_a_sequence_number_pages_and_from_a_time() {
    let dir = scratch();
    let mut journal = Journal::open(dir.path(), SMALL, KEY).unwrap();
    // Times step back once (a clock correction) to show time reads do not assume order.
    let times = |seq: u64| if seq == 30 { 5 } else { seq * 10 };
    for seq in 1..=60 {
        journal.append(times(seq), &payload(seq, 512)).unwrap();
    }
    let first = journal.stats().first_seq.unwrap();
    assert!(first > 1, "the test wants retention to have dropped some");

    // Paging: 7 at a time from the oldest, each page starting after the last one read.
    let mut pages = Vec::new();
    let mut next = 0;
    loop {
        let mut reader = journal.reader(Start::Seq(next)).unwrap();
        let page = collect_page(&mut reader, 7);
        if page.is_empty() {
            break;
        }
        next = reader.next_seq();
        assert_eq!(next, page.last().unwrap() + 1);
        pages.push(page);
    }
    assert!(pages.iter().all(|p| p.len() <= 7));
    let flat: Vec<u64> = pages.concat();
    assert_eq!(flat, (first..=60).collect::<Vec<_>>());

    // From a sequence number in the middle of a segment, and past the end.
    let from_40: Vec<u64> = collect(journal.reader(Start::Seq(40)).unwrap(), usize::MAX)
        .iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(from_40, (40..=60).collect::<Vec<_>>());
    assert!(collect(journal.reader(Start::Seq(61)).unwrap(), 10).is_empty());

    // From a time: every record stamped at or after it, in sequence order.
    let since: Vec<u64> = collect(journal.reader(Start::Time(455)).unwrap(), usize::MAX)
        .iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(since, (46..=60).collect::<Vec<_>>());
    let early: Vec<u64> = collect(journal.reader(Start::Time(0)).unwrap(), usize::MAX)
        .iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(early, (first..=60).collect::<Vec<_>>());

    // The newest segment: a tail that ends at the newest record and starts at its segment's
    // first, not at the oldest record held.
    let tail: Vec<u64> = collect(journal.reader(Start::NewestSegment).unwrap(), usize::MAX)
        .iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(tail.last(), Some(&60));
    assert!(
        tail[0] > first && tail.len() < 60 - first as usize,
        "{tail:?}"
    );
    assert_eq!(tail, (tail[0]..=60).collect::<Vec<_>>());
}

fn collect_page(reader: &mut cordon_journal::Reader, n: usize) -> Vec<u64> {
    let mut out = Vec::new();
    while out.len() < n {
        match reader.next().unwrap() {
            Some(entry) => out.push(entry.seq),
            None => break,
        }
    }
    out
}

#[test]
fn a_reader_sees_appends_made_after_it_was_opened_and_survives_retention() {
    let dir = scratch();
    let mut journal = Journal::open(dir.path(), SMALL, KEY).unwrap();
    journal.append(1, b"one").unwrap();
    let mut reader = journal.reader(Start::Seq(1)).unwrap();
    assert_eq!(reader.next().unwrap().unwrap().seq, 1);
    assert_eq!(reader.next().unwrap(), None);
    // Enough records to rotate several times and drop the segment the reader is in.
    for seq in 2..=80 {
        journal.append(seq, &payload(seq, 512)).unwrap();
    }
    let first = journal.stats().first_seq.unwrap();
    assert!(first > 2);
    let rest: Vec<u64> = collect(reader, usize::MAX).iter().map(|r| r.0).collect();
    // The open segment's file stays readable after removal; then it continues at the oldest
    // segment still present.
    assert_eq!(rest[0], 2, "{rest:?}");
    let resumed = rest.iter().position(|&s| s >= first).unwrap();
    assert_eq!(rest[resumed..], (first..=80).collect::<Vec<_>>()[..]);
    assert!(rest[..resumed].windows(2).all(|w| w[1] == w[0] + 1));
}

#[test]
fn a_batch_is_one_fsync_and_an_oversized_record_writes_nothing() {
    let dir = scratch();
    let mut journal = Journal::open(dir.path(), Limits::default(), KEY).unwrap();
    journal.append(1, b"first").unwrap();
    let fsyncs = journal.stats().fsyncs;
    let bodies: Vec<Vec<u8>> = (0..10).map(|i| vec![i; 100]).collect();
    let batch: Vec<(u64, &[u8])> = bodies.iter().map(|b| (2, b.as_slice())).collect();
    let last = journal.append_batch(&batch).unwrap().unwrap();
    assert_eq!(last.seq, 11);
    assert_eq!(journal.stats().fsyncs, fsyncs + 1);
    assert_eq!(journal.append_batch(&[]).unwrap(), None);

    let big = vec![0; Limits::default().max_record as usize + 1];
    let before = fs::metadata(&segments(dir.path())[0]).unwrap().len();
    match journal.append_batch(&[(3, b"fits"), (3, &big)]) {
        Err(JournalError::TooLarge { len, max }) => {
            assert_eq!((len, max), (big.len(), Limits::default().max_record));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        fs::metadata(&segments(dir.path())[0]).unwrap().len(),
        before
    );
    // Refusal is not a failed write: the journal goes on.
    assert_eq!(journal.append(4, b"after").unwrap().seq, 12);
}

#[test]
fn keys_limits_and_a_foreign_key() {
    let dir = scratch();
    match Journal::open(dir.path(), SMALL, b"short") {
        Err(JournalError::KeyTooShort { len: 5, min: 16 }) => {}
        other => panic!("{other:?}"),
    }
    let tiny = Limits {
        total_bytes: SMALL.segment_bytes,
        ..SMALL
    };
    assert!(matches!(
        Journal::open(dir.path(), tiny, KEY),
        Err(JournalError::Limits { .. })
    ));
    let mut journal = Journal::open(dir.path(), SMALL, KEY).unwrap();
    journal.append(1, b"one").unwrap();
    journal.append(2, b"two").unwrap();
    drop(journal);
    // Records written with another key break the chain at the first one: open refuses to
    // cut them (they may have been acknowledged) and verify names record 1.
    match Journal::open(dir.path(), SMALL, b"some other appliance key") {
        Err(JournalError::ChainBroken { seq, link, .. }) => {
            assert_eq!((seq, link), (1, Link::Tag));
        }
        other => panic!("{other:?}"),
    }
    let report = verify(
        dir.path(),
        SMALL.max_record,
        b"some other appliance key",
        None,
    )
    .unwrap();
    let broken = report.outcome.unwrap_err();
    assert_eq!(
        (broken.seq, broken.reason),
        (1, cordon_journal::BreakReason::Chain)
    );
    assert_eq!(report.range, None);
    // The right key still opens it, with nothing lost.
    let journal = Journal::open(dir.path(), SMALL, KEY).unwrap();
    assert_eq!(journal.next_seq(), 3);
}

#[test]
fn tail_loss_and_a_rewritten_tail_are_found_against_the_exported_anchor() {
    let dir = scratch();
    let mut journal = Journal::open(dir.path(), SMALL, KEY).unwrap();
    for seq in 1..=10 {
        journal.append(seq, &payload(seq, 512)).unwrap();
    }
    let exported = journal.last_anchor().unwrap();
    assert_eq!(exported.seq, 10);
    let early = read_tag(&journal, 4);
    assert_eq!(
        journal.verify(Some(exported)).unwrap().anchor,
        Some(AnchorCheck::Matches)
    );
    assert_eq!(
        journal.verify(Some(early)).unwrap().anchor,
        Some(AnchorCheck::Matches)
    );
    let forged = Anchor {
        tag: GENESIS_TAG,
        ..early
    };
    assert_eq!(
        journal.verify(Some(forged)).unwrap().anchor,
        Some(AnchorCheck::TagDiffers)
    );
    drop(journal);

    // Cut records 9 and 10 cleanly at a record boundary: the chain alone still verifies...
    let (path, offset, _) = locate(dir.path(), 9);
    OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(offset as u64)
        .unwrap();
    let report = verify(dir.path(), SMALL.max_record, KEY, Some(exported)).unwrap();
    assert_eq!(report.outcome, Ok(()));
    assert_eq!(report.range.unwrap().1, 8);
    // ...but not against the anchor the SIEM holds.
    assert_eq!(
        report.anchor,
        Some(AnchorCheck::TailLost { last_held: Some(8) })
    );

    // Someone with the key's help writes other records 9 and 10: the tag differs.
    let mut journal = Journal::open(dir.path(), SMALL, KEY).unwrap();
    journal.append(99, b"other nine").unwrap();
    journal.append(99, b"other ten").unwrap();
    assert_eq!(
        journal.verify(Some(exported)).unwrap().anchor,
        Some(AnchorCheck::TagDiffers)
    );
}

fn read_tag(journal: &Journal, seq: u64) -> Anchor {
    let mut reader = journal.reader(Start::Seq(seq)).unwrap();
    let entry = reader.next().unwrap().unwrap();
    assert_eq!(entry.seq, seq);
    Anchor {
        seq,
        tag: entry.tag,
    }
}

#[test]
fn an_anchor_older_than_retention_is_reported_as_such() {
    let dir = scratch();
    let mut journal = Journal::open(dir.path(), SMALL, KEY).unwrap();
    journal.append(1, b"one").unwrap();
    let old = journal.last_anchor().unwrap();
    for seq in 2..=80 {
        journal.append(seq, &payload(seq, 512)).unwrap();
    }
    assert!(journal.stats().first_seq.unwrap() > 1);
    assert_eq!(
        journal.verify(Some(old)).unwrap().anchor,
        Some(AnchorCheck::BeforeRange)
    );
}

#[test]
fn a_failed_write_stops_the_writer_until_reopen() {
    let dir = scratch();
    let path = dir.path().join("incidents");
    let mut journal = Journal::open(&path, SMALL, KEY).unwrap();
    journal.append(1, b"one").unwrap();
    // The directory vanishes (a failing /data): appends go on into the open segment until it
    // is full, then creating the next one fails.
    fs::remove_dir_all(&path).unwrap();
    let failed = loop {
        match journal.append(2, &payload(2, 512)) {
            Ok(_) => continue,
            Err(e) => break e,
        }
    };
    match failed {
        JournalError::Io { op: "create", .. } => {}
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        journal.append(3, b"x"),
        Err(JournalError::Poisoned)
    ));
    // Reopening starts a fresh journal in a fresh directory (the operator's call to make).
    let journal = Journal::open(&path, SMALL, KEY).unwrap();
    assert_eq!(journal.next_seq(), 1);
}
