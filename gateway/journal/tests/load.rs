//! Append rate under load, bounded in time: prints records/s and fsyncs/s for single appends
//! (one fsync each) and for group commits of 32 records. A figure for the operations doc and
//! for sizing, not an assertion: it depends on the disk.

mod common;

use std::time::{Duration, Instant};

use common::{payload, scratch, KEY};
use cordon_journal::{Journal, Limits};

/// How long each mode runs: enough for a stable figure, short enough for CI.
const RUN: Duration = Duration::from_millis(1500);
/// Records per group commit: about what a busy gateway collects during one fsync.
const BATCH: usize = 32;

#[test]
fn append_rate_with_fsync() {
    // An incident record is a few hundred bytes.
    let body = payload(7, 600);
    for batch in [1, BATCH] {
        let dir = scratch();
        let mut journal = Journal::open(dir.path(), Limits::default(), KEY).unwrap();
        let records: Vec<(u64, &[u8])> = (0..batch).map(|_| (0, body.as_slice())).collect();
        let started = Instant::now();
        while started.elapsed() < RUN {
            journal.append_batch(&records).unwrap();
        }
        let secs = started.elapsed().as_secs_f64();
        let stats = journal.stats();
        println!(
            "journal load, batch {batch:>2}: {:>8.0} records/s, {:>6.0} fsyncs/s ({} records, {} segments dropped)",
            stats.appended as f64 / secs,
            stats.fsyncs as f64 / secs,
            stats.appended,
            stats.dropped_segments,
        );
        assert_eq!(journal.verify(None).unwrap().outcome, Ok(()));
    }
}
