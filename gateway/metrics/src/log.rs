//! The log tail: the newest log lines of every worker and of the supervisor, in fixed rings
//! after the workers' slots, so `cordonctl log` reads the appliance's log through the config
//! port (the only way in over a serial console or mutual TLS, where there is no shell to run
//! `journalctl`), and a restarted worker continues its predecessor's ring.
//!
//! ```text
//! log rings (after the workers' slots): one per worker, then the supervisor's
//!   HEAD      lines written so far (the next line's sequence number)
//!   lines     LOG_LINES x LINE_CELLS: SEQ (seq + 1 once complete, 0 while written),
//!             TIME (ms), LEVEL (1 error .. 5 trace), then the text as zero-padded bytes
//! ```
//!
//! The same seqlock as the message trace: a reader keeps a copy only if its SEQ was the same
//! before and after. Threads of one process share their ring, so [`LogWriter`] takes a lock
//! around each line (a few hundred bytes of stores; logging is not on the per-byte path).
//! A line longer than the record is cut at a character boundary and ends in `…`.

use std::sync::atomic::{fence, AtomicU64, Ordering};
use std::sync::Mutex;

use crate::cells::Store;
use crate::ring::{Paged, Ring};

/// Lines per ring: the start-up lines and a few minutes of a busy worker's one line per
/// message. 256 x 512 bytes = 128 KiB per worker and for the supervisor, fixed at start.
pub const LOG_LINES: usize = 256;
const LINE_CELLS: usize = 64;
/// Cells of one ring.
pub(crate) const LOG_CELLS: usize = 1 + LOG_LINES * LINE_CELLS;
/// Bytes of text a line keeps (the rest is cut).
pub const LINE_TEXT: usize = (LINE_CELLS - TEXT) * 8;

const SEQ: usize = 0;
const TIME: usize = 1;
const LEVEL: usize = 2;
const TEXT: usize = 3;

/// Level names, most severe first, as `tracing` and journald order them.
pub const LEVELS: [&str; 5] = ["error", "warn", "info", "debug", "trace"];

/// One line, as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// The worker's index, or [`Store::workers`] for the supervisor.
    pub source: usize,
    pub seq: u64,
    pub time_ms: u64,
    /// Index into [`LEVELS`].
    pub level: usize,
    pub text: String,
}

impl Paged for LogLine {
    fn source(&self) -> usize {
        self.source
    }
    fn seq(&self) -> u64 {
        self.seq
    }
    fn time_ms(&self) -> u64 {
        self.time_ms
    }
}

/// The writer of one ring; every thread of the process logs through the same one.
#[derive(Debug)]
pub struct LogWriter {
    store: Store,
    ring: usize,
    lock: Mutex<()>,
}

impl LogWriter {
    /// Appends one line (`level` an index into [`LEVELS`]), overwriting the oldest.
    pub fn write(&self, time_ms: u64, level: usize, text: &str) {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let ring = self.store.log_ring(self.ring);
        let seq = ring[0].load(Ordering::Relaxed);
        let at = 1 + (seq as usize % LOG_LINES) * LINE_CELLS;
        let r = &ring[at..at + LINE_CELLS];
        r[SEQ].store(0, Ordering::Relaxed);
        fence(Ordering::Release);
        r[TIME].store(time_ms, Ordering::Relaxed);
        r[LEVEL].store(level.min(LEVELS.len() - 1) as u64, Ordering::Relaxed);
        if text.len() > LINE_TEXT {
            let mut cut = LINE_TEXT - '…'.len_utf8();
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            let mut short = String::with_capacity(LINE_TEXT);
            short.push_str(&text[..cut]);
            short.push('…');
            crate::ring::write_text(&r[TEXT..], &short);
        } else {
            crate::ring::write_text(&r[TEXT..], text);
        }
        r[SEQ].store(seq + 1, Ordering::Release);
        ring[0].store(seq + 1, Ordering::Release);
    }
}

fn read_line(ring: &[AtomicU64], source: usize, seq: u64) -> Option<LogLine> {
    let at = 1 + (seq as usize % LOG_LINES) * LINE_CELLS;
    let r = &ring[at..at + LINE_CELLS];
    let before = r[SEQ].load(Ordering::Acquire);
    if before != seq + 1 {
        return None;
    }
    let line = LogLine {
        source,
        seq,
        time_ms: r[TIME].load(Ordering::Relaxed),
        level: (r[LEVEL].load(Ordering::Relaxed) as usize).min(LEVELS.len() - 1),
        text: crate::ring::read_text(&r[TEXT..]),
    };
    fence(Ordering::Acquire);
    (r[SEQ].load(Ordering::Relaxed) == before).then_some(line)
}

impl Store {
    /// Cells of the log rings of `workers` workers and the supervisor.
    pub(crate) const fn log_cells_for(workers: usize) -> usize {
        (workers + 1) * LOG_CELLS
    }

    fn log_ring(&self, ring: usize) -> &[AtomicU64] {
        let all = self.all_cells();
        let at = Store::cells_for(self.workers()) - Self::log_cells_for(self.workers());
        let ring = ring.min(self.workers());
        &all[at + ring * LOG_CELLS..at + (ring + 1) * LOG_CELLS]
    }

    /// The writer of worker `worker`'s ring, or of the supervisor's for `worker` =
    /// [`Store::workers`].
    pub fn log_writer(&self, worker: usize) -> LogWriter {
        LogWriter {
            store: self.clone(),
            ring: worker.min(self.workers()),
            lock: Mutex::new(()),
        }
    }

    /// Lines from every ring at `max_level` or more severe, oldest first by time, at most
    /// `max`; `since` and the returned next sequence numbers per ring (the workers', then the
    /// supervisor's) as for [`Store::trace`].
    pub fn log(&self, since: &[u64], max: usize, max_level: usize) -> (Vec<LogLine>, Vec<u64>) {
        let rings: Vec<Ring> = (0..=self.workers())
            .map(|r| Ring {
                head: self.log_ring(r)[0].load(Ordering::Acquire),
                capacity: LOG_LINES as u64,
            })
            .collect();
        crate::ring::page(&rings, since, max, |r, seq| {
            read_line(self.log_ring(r), r, seq).filter(|l| l.level <= max_level)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_of_workers_and_the_supervisor_merge_by_time() {
        let store = Store::heap(2);
        let w0 = store.log_writer(0);
        let w1 = store.log_writer(1);
        let sup = store.log_writer(2);
        w0.write(1_000, 2, "cordon started");
        sup.write(1_500, 1, "worker 1 exited; restarting");
        w1.write(2_000, 2, "cordon started");
        w0.write(3_000, 3, "a debug line");
        let (all, next) = store.log(&[], 10, 4);
        let texts: Vec<(usize, &str)> = all.iter().map(|l| (l.source, l.text.as_str())).collect();
        assert_eq!(
            texts,
            [
                (0, "cordon started"),
                (2, "worker 1 exited; restarting"),
                (1, "cordon started"),
                (0, "a debug line")
            ]
        );
        assert_eq!(next, [2, 1, 1]);
        // At warn and above only the supervisor's line; the page still moves past the rest.
        let (warn, _) = store.log(&[0, 0, 0], 10, 1);
        assert_eq!(warn.len(), 1);
        assert_eq!(LEVELS[warn[0].level], "warn");
        let (none, again) = store.log(&next, 10, 4);
        assert!(none.is_empty());
        assert_eq!(again, next);
    }

    #[test]
    fn the_ring_keeps_the_newest_lines_and_cuts_long_ones() {
        let store = Store::heap(1);
        let w = store.log_writer(0);
        for i in 0..(LOG_LINES as u64 + 5) {
            w.write(i, 2, &format!("line {i}"));
        }
        let (all, _) = store.log(&[0, 0], 10_000, 4);
        assert_eq!(all.len(), LOG_LINES);
        assert_eq!(all[0].text, "line 5");
        let long = "é".repeat(LINE_TEXT);
        w.write(9_999, 0, &long);
        let (last, _) = store.log(&[], 1, 4);
        assert!(last[0].text.ends_with('…'), "{}", last[0].text);
        assert!(last[0].text.len() <= LINE_TEXT);
        assert_eq!(LEVELS[last[0].level], "error");
    }

    #[test]
    fn writers_on_many_threads_lose_no_line() {
        let store = Store::heap(1);
        let w = std::sync::Arc::new(store.log_writer(0));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let w = w.clone();
                std::thread::spawn(move || {
                    for i in 0..50 {
                        w.write(t * 100 + i, 2, &format!("t{t} {i}"));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let (all, _) = store.log(&[0, 0], 10_000, 4);
        assert_eq!(all.len(), 200);
    }
}
