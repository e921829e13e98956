//! Power cuts: the journal is written under a loop, then the disk is made to look as a power cut
//! may leave it: the unsynced tail (records whose `append` had not returned) truncated at a
//! random offset, garbled, or extended with zeros, a segment created by that tail lost or torn.
//! At the next open every acknowledged record is there with its bytes and the chain verifies.
//! A second test kills a writer process with SIGKILL mid-load, then cuts its tail the same way.

mod common;

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{payload, read_all, scratch, segments, Rng, KEY, SMALL};
use cordon_journal::format::SEGMENT_HEADER_LEN;
use cordon_journal::{Journal, Limits};

/// Seeds run; each is a fresh journal through several cut-and-reopen rounds.
const SEEDS: u64 = 40;
const ROUNDS: usize = 5;
/// In-flight records per cut: their bytes stay below one segment, so they start at most one
/// new segment (the only state a cut can leave, as the previous segment is fsynced first).
const MAX_IN_FLIGHT: u64 = 4;

fn len(path: &Path) -> u64 {
    fs::metadata(path).unwrap().len()
}

fn set_len(path: &Path, n: u64) {
    OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(n)
        .unwrap();
}

/// Damages `path` after byte `durable` as a power cut may: cut it short, garble a byte, or
/// extend it with zeros (blocks allocated, data never written). Returns what was done.
fn cut_tail(rng: &mut Rng, path: &Path, durable: u64) -> String {
    let end = len(path);
    let at = rng.range(durable, end);
    set_len(path, at);
    let mut done = format!(
        "cut {} at {at} (durable {durable}, end {end})",
        path.display()
    );
    if at > durable && rng.range(0, 1) == 1 {
        let pos = rng.range(durable, at - 1);
        let mut bytes = fs::read(path).unwrap();
        bytes[pos as usize] ^= 1 << rng.range(0, 7);
        fs::write(path, bytes).unwrap();
        done += &format!(", flipped byte {pos}");
    }
    if rng.range(0, 3) == 0 {
        let zeros = rng.range(1, 300);
        let mut f = OpenOptions::new().append(true).open(path).unwrap();
        f.write_all(&vec![0; zeros as usize]).unwrap();
        done += &format!(", {zeros} zeros after");
    }
    done
}

#[test]
fn power_cuts_in_the_unsynced_tail_never_lose_an_acknowledged_record() {
    let mut cut_bytes_total = 0;
    for seed in 0..SEEDS {
        let mut rng = Rng::new(seed);
        let dir = scratch();
        // Every payload ever written per sequence number (a rewritten number gets new bytes).
        let mut written: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
        let mut acked_last = 0;
        let mut generation = 0u64;
        let mut journal = Journal::open(dir.path(), SMALL, KEY).unwrap();
        for round in 0..ROUNDS {
            let mut write = |journal: &mut Journal, written: &mut BTreeMap<u64, Vec<u8>>| {
                generation += 1;
                let seq = journal.next_seq();
                let body = payload(seq * 1000 + generation, 400);
                written.insert(seq, body.clone());
                journal.append(seq, &body).unwrap();
                seq
            };
            for _ in 0..rng.range(1, 30) {
                acked_last = write(&mut journal, &mut written);
            }
            let durable: Vec<(PathBuf, u64)> = segments(dir.path())
                .into_iter()
                .map(|p| {
                    let n = len(&p);
                    (p, n)
                })
                .collect();
            for _ in 0..rng.range(1, MAX_IN_FLIGHT) {
                write(&mut journal, &mut written);
            }
            drop(journal);

            let now = segments(dir.path());
            let (last_durable, durable_len) = durable.last().unwrap().clone();
            let what = match now.last() {
                Some(newest) if *newest != last_durable => {
                    // The in-flight records started a segment: its name and bytes may be lost.
                    if rng.range(0, 2) == 0 {
                        fs::remove_file(newest).unwrap();
                        format!("lost new segment {}", newest.display())
                    } else {
                        cut_tail(&mut rng, newest, 0)
                    }
                }
                _ => cut_tail(&mut rng, &last_durable, durable_len),
            };
            let context = format!("seed {seed} round {round}: {what}");

            journal = Journal::open(dir.path(), SMALL, KEY).expect(&context);
            cut_bytes_total += journal.stats().recovery.cut_bytes;
            let held = read_all(&journal);
            let first = journal.stats().first_seq.expect(&context);
            let last = held.last().expect(&context).0;
            assert!(
                last >= acked_last,
                "{context}: acknowledged {acked_last} lost"
            );
            let seqs: Vec<u64> = held.iter().map(|r| r.0).collect();
            assert_eq!(seqs, (first..=last).collect::<Vec<_>>(), "{context}");
            for (seq, _, body) in &held {
                assert_eq!(Some(body), written.get(seq), "{context}: record {seq}");
            }
            let report = journal.verify(None).unwrap();
            assert_eq!(report.outcome, Ok(()), "{context}");
            assert_eq!(report.range, Some((first, last)), "{context}");
            assert_eq!(report.torn_tail_bytes, 0, "{context}");
            assert_eq!(journal.next_seq(), last + 1, "{context}");
            // What survived the cut is durable now and as good as acknowledged.
            acked_last = last;
        }
    }
    assert!(
        cut_bytes_total > 0,
        "the cuts never left anything to recover"
    );
}

#[test]
fn a_torn_new_segment_header_is_set_aside_and_the_previous_segment_continues() {
    let dir = scratch();
    let mut journal = Journal::open(dir.path(), SMALL, KEY).unwrap();
    let mut seq = 0;
    while segments(dir.path()).len() < 2 {
        seq += 1;
        journal.append(seq, &payload(seq, 400)).unwrap();
    }
    drop(journal);
    let newest = segments(dir.path()).pop().unwrap();
    set_len(&newest, SEGMENT_HEADER_LEN as u64 - 1);
    let mut journal = Journal::open(dir.path(), SMALL, KEY).unwrap();
    assert!(journal.stats().recovery.dropped_torn_segment);
    assert!(dir.path().join("torn-tail.bin").exists());
    assert_eq!(journal.next_seq(), seq);
    assert_eq!(journal.append(0, b"again").unwrap().seq, seq);
    assert_eq!(journal.verify(None).unwrap().outcome, Ok(()));
}

#[test]
fn a_bad_header_on_a_full_newest_segment_is_damage_not_a_power_cut() {
    let dir = scratch();
    let mut journal = Journal::open(dir.path(), SMALL, KEY).unwrap();
    for seq in 1..=6 {
        journal.append(seq, &payload(seq, 400)).unwrap();
    }
    drop(journal);
    let newest = segments(dir.path()).pop().unwrap();
    let mut bytes = fs::read(&newest).unwrap();
    assert!(bytes.len() as u64 > (SEGMENT_HEADER_LEN + 60) as u64 + u64::from(SMALL.max_record));
    bytes[0] ^= 0xFF;
    fs::write(&newest, bytes).unwrap();
    match Journal::open(dir.path(), SMALL, KEY) {
        Err(cordon_journal::JournalError::Damaged {
            path, offset: 0, ..
        }) => {
            assert_eq!(path, newest)
        }
        other => panic!("{other:?}"),
    }
}

/// Set in the child process that `kill_9_mid_load` starts: the directory to write to.
const CHILD_DIR: &str = "CORDON_JOURNAL_CHILD_DIR";

/// Longest the child writes if nobody kills it (a parent that died must not leave it running).
const CHILD_MAX: Duration = Duration::from_secs(20);

#[test]
fn kill_9_mid_load_then_a_cut_tail_keeps_every_acknowledged_record() {
    if let Ok(dir) = std::env::var(CHILD_DIR) {
        child_writer(Path::new(&dir));
        return;
    }
    let dir = scratch();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "kill_9_mid_load_then_a_cut_tail_keeps_every_acknowledged_record",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR, dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acked = 0u64;
    // Let it rotate and drop segments a few times, then kill it mid-append.
    while acked < 300 {
        let line = lines.next().expect("child ended early").unwrap();
        if let Some(seq) = line.strip_prefix("acked ") {
            acked = seq.parse().unwrap();
        }
    }
    child.kill().unwrap();
    // Lines printed before the kill were acknowledged too.
    for line in lines {
        if let Some(seq) = line.unwrap().strip_prefix("acked ") {
            acked = seq.parse().unwrap();
        }
    }
    child.wait().unwrap();

    // The page cache survives kill -9; a power cut right after takes the unsynced tail:
    // everything after the last acknowledged record.
    let mut rng = Rng::new(acked);
    let newest = segments(dir.path()).pop().unwrap();
    let durable = common::records_in(&newest)
        .iter()
        .find(|r| r.0 == acked)
        .map_or(0, |&(_, offset, len)| (offset + len) as u64);
    let what = cut_tail(&mut rng, &newest, durable);

    let journal = Journal::open(dir.path(), SMALL, KEY).expect(&what);
    let held = read_all(&journal);
    let first = journal.stats().first_seq.unwrap();
    assert!(
        first > 1,
        "{what}: the load should have rotated past retention"
    );
    let last = held.last().unwrap().0;
    assert!(
        last >= acked,
        "{what}: acknowledged {acked}, held up to {last}"
    );
    for (seq, time, body) in &held {
        assert_eq!(*time, *seq, "{what}");
        assert_eq!(body, &payload(*seq, 400), "{what}: record {seq}");
    }
    assert_eq!(held.len() as u64, last - first + 1, "{what}");
    let report = journal.verify(None).unwrap();
    assert_eq!(report.outcome, Ok(()), "{what}");
    assert_eq!(report.range, Some((first, last)), "{what}");
}

fn child_writer(dir: &Path) {
    let limits: Limits = SMALL;
    let mut journal = Journal::open(dir, limits, KEY).unwrap();
    let started = Instant::now();
    let mut out = std::io::stdout().lock();
    while started.elapsed() < CHILD_MAX {
        let seq = journal.next_seq();
        journal.append(seq, &payload(seq, 400)).unwrap();
        writeln!(out, "acked {seq}").unwrap();
        out.flush().unwrap();
    }
}
