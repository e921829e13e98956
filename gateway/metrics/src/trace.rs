//! The message trace: the newest messages each worker judged, clean ones included, with the
//! verdict, the deciding rule and the reason, in a fixed ring at the end of the worker's slot
//! (so under `cordon supervise` the worker serving the config port reads every worker's
//! trace, and a restarted worker continues its predecessor's ring).
//!
//! ```text
//! trace (TRACE_CELLS cells, after the detectors)
//!   HEAD       records written so far (the next record's sequence number)
//!   records    TRACE_RECORDS x RECORD_CELLS: SEQ (seq + 1 once complete, 0 while written),
//!              TIME (ms), BYTES, ACTION (index of ACTIONS), then the sender, rule,
//!              Message-ID and reason as zero-padded bytes
//! ```
//!
//! One writer per slot; a reader copies a record and keeps it only if its SEQ was the same
//! before and after the copy (a seqlock over atomics: a record being rewritten is skipped,
//! never read torn). Text is cut to its field at a character boundary.

use std::sync::atomic::{fence, AtomicU64, Ordering};

use crate::cells::{Recorder, Store};
use crate::ring::{Paged, Ring};

/// Records per worker: the last few minutes of a busy worker, the last day of a quiet one.
/// 256 x 384 bytes = 96 KiB per worker, fixed at start.
pub const TRACE_RECORDS: usize = 256;
const RECORD_CELLS: usize = 48;
/// Cells of one worker's trace.
pub(crate) const TRACE_CELLS: usize = 1 + TRACE_RECORDS * RECORD_CELLS;

const SEQ: usize = 0;
const TIME: usize = 1;
const BYTES: usize = 2;
const ACTION: usize = 3;
/// Text fields: (first cell, cells); 8 bytes a cell.
const SENDER: (usize, usize) = (4, 16);
const RULE: (usize, usize) = (20, 8);
const MESSAGE_ID: (usize, usize) = (28, 10);
const REASON: (usize, usize) = (38, 10);
const _: () = assert!(REASON.0 + REASON.1 == RECORD_CELLS);

/// The verdicts a record names: the config's action names, and `loop` for a message refused
/// as this appliance's own.
pub const ACTIONS: [&str; 6] = ["deliver", "tag", "quarantine", "redirect", "block", "loop"];

/// One message, as the data path records it.
#[derive(Debug, Clone, Copy)]
pub struct TraceInput<'a> {
    pub time_ms: u64,
    pub bytes: u64,
    /// One of [`ACTIONS`] (an unknown name is recorded as `deliver`).
    pub action: &'a str,
    pub rule: Option<&'a str>,
    pub sender: &'a str,
    pub message_id: &'a str,
    pub reason: &'a str,
}

/// One message, as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceRecord {
    pub worker: usize,
    pub seq: u64,
    pub time_ms: u64,
    pub bytes: u64,
    pub action: &'static str,
    pub rule: Option<String>,
    pub sender: String,
    pub message_id: String,
    pub reason: String,
}

fn write_text(cells: &[AtomicU64], (at, n): (usize, usize), text: &str) {
    crate::ring::write_text(&cells[at..at + n], text);
}

fn read_text(cells: &[AtomicU64], (at, n): (usize, usize)) -> String {
    crate::ring::read_text(&cells[at..at + n])
}

impl Paged for TraceRecord {
    fn source(&self) -> usize {
        self.worker
    }
    fn seq(&self) -> u64 {
        self.seq
    }
    fn time_ms(&self) -> u64 {
        self.time_ms
    }
}

impl Recorder {
    /// Appends one message to this worker's trace, overwriting the oldest record.
    pub fn trace(&self, t: &TraceInput<'_>) {
        let trace = &self.slot()[Store::TRACE_AT..Store::TRACE_AT + TRACE_CELLS];
        let seq = trace[0].load(Ordering::Relaxed);
        let at = 1 + (seq as usize % TRACE_RECORDS) * RECORD_CELLS;
        let r = &trace[at..at + RECORD_CELLS];
        r[SEQ].store(0, Ordering::Relaxed);
        fence(Ordering::Release);
        r[TIME].store(t.time_ms, Ordering::Relaxed);
        r[BYTES].store(t.bytes, Ordering::Relaxed);
        let action = ACTIONS.iter().position(|a| *a == t.action).unwrap_or(0);
        r[ACTION].store(action as u64 + 1, Ordering::Relaxed);
        write_text(r, SENDER, t.sender);
        // An empty rule is "none": a rule name is never empty.
        write_text(r, RULE, t.rule.unwrap_or(""));
        write_text(r, MESSAGE_ID, t.message_id);
        write_text(r, REASON, t.reason);
        r[SEQ].store(seq + 1, Ordering::Release);
        trace[0].store(seq + 1, Ordering::Release);
    }
}

/// Reads record `seq` of a trace, if it is still there and not being rewritten.
fn read_record(trace: &[AtomicU64], worker: usize, seq: u64) -> Option<TraceRecord> {
    let at = 1 + (seq as usize % TRACE_RECORDS) * RECORD_CELLS;
    let r = &trace[at..at + RECORD_CELLS];
    let before = r[SEQ].load(Ordering::Acquire);
    if before != seq + 1 {
        return None;
    }
    let action = r[ACTION].load(Ordering::Relaxed) as usize;
    let rule = read_text(r, RULE);
    let record = TraceRecord {
        worker,
        seq,
        time_ms: r[TIME].load(Ordering::Relaxed),
        bytes: r[BYTES].load(Ordering::Relaxed),
        action: ACTIONS[action.saturating_sub(1).min(ACTIONS.len() - 1)],
        rule: (!rule.is_empty()).then_some(rule),
        sender: read_text(r, SENDER),
        message_id: read_text(r, MESSAGE_ID),
        reason: read_text(r, REASON),
    };
    fence(Ordering::Acquire);
    (r[SEQ].load(Ordering::Relaxed) == before).then_some(record)
}

impl Store {
    /// The trace's first cell in a slot.
    pub(crate) const TRACE_AT: usize = crate::cells::TRACE_AT;

    /// Messages from every worker's trace, oldest first by time, at most `max`. `since[w]`
    /// is the first sequence number wanted from worker `w` (what a previous call returned as
    /// next); a worker `since` does not cover gives its newest. Returns the records and, per
    /// worker, the sequence number to ask from next time.
    pub fn trace(&self, since: &[u64], max: usize) -> (Vec<TraceRecord>, Vec<u64>) {
        let trace = |w: usize| &self.slot(w)[Self::TRACE_AT..Self::TRACE_AT + TRACE_CELLS];
        let rings: Vec<Ring> = (0..self.workers())
            .map(|w| Ring {
                head: trace(w)[0].load(Ordering::Acquire),
                capacity: TRACE_RECORDS as u64,
            })
            .collect();
        crate::ring::page(&rings, since, max, |w, seq| read_record(trace(w), w, seq))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(i: u64, action: &'static str) -> TraceInput<'static> {
        TraceInput {
            time_ms: 1_000 + i,
            bytes: 100 + i,
            action,
            rule: (action != "deliver").then_some("block-cards"),
            sender: "alice@contoso.com",
            message_id: "<m@contoso.com>",
            reason: "rule block-cards: credit_card 5 >= 5",
        }
    }

    #[test]
    fn records_read_back_and_the_ring_keeps_the_newest() {
        let store = Store::heap(1);
        let (r, _) = store.recorder(0, &[]);
        for i in 0..(TRACE_RECORDS as u64 + 10) {
            r.trace(&input(i, if i % 2 == 0 { "deliver" } else { "block" }));
        }
        let (all, next) = store.trace(&[0], 10_000);
        assert_eq!(all.len(), TRACE_RECORDS);
        assert_eq!(all[0].seq, 10, "the 10 oldest were overwritten");
        assert_eq!(next, [TRACE_RECORDS as u64 + 10]);
        let last = all.last().unwrap();
        assert_eq!(
            (last.action, last.rule.as_deref(), last.bytes),
            ("block", Some("block-cards"), 100 + TRACE_RECORDS as u64 + 9)
        );
        assert_eq!(all[0].rule, None);
        assert_eq!(all[0].message_id, "<m@contoso.com>");
        // Nothing new: an empty page that keeps its place.
        let (more, again) = store.trace(&next, 10);
        assert!(more.is_empty());
        assert_eq!(again, next);
        // Without `since`: the newest.
        let (newest, _) = store.trace(&[], 3);
        assert_eq!(
            newest.iter().map(|r| r.seq).collect::<Vec<_>>(),
            [263, 264, 265]
        );
    }

    #[test]
    fn workers_merge_by_time_and_pages_go_on_where_they_stopped() {
        let store = Store::heap(2);
        let (a, _) = store.recorder(0, &[]);
        let (b, _) = store.recorder(1, &[]);
        for i in 0..6 {
            let t = input(i, "deliver");
            if i % 2 == 0 {
                a.trace(&t)
            } else {
                b.trace(&t)
            }
        }
        let (page, next) = store.trace(&[0, 0], 4);
        assert_eq!(
            page.iter().map(|r| r.time_ms).collect::<Vec<_>>(),
            [1000, 1001, 1002, 1003]
        );
        assert_eq!(next, [2, 2]);
        let (rest, next) = store.trace(&next, 4);
        assert_eq!(
            rest.iter()
                .map(|r| (r.worker, r.time_ms))
                .collect::<Vec<_>>(),
            [(0, 1004), (1, 1005)]
        );
        assert_eq!(next, [3, 3]);
    }

    #[test]
    fn long_text_is_cut_at_a_character() {
        let store = Store::heap(1);
        let (r, _) = store.recorder(0, &[]);
        let sender = format!("{}é@contoso.com", "a".repeat(127));
        r.trace(&TraceInput {
            sender: &sender,
            ..input(0, "tag")
        });
        let (all, _) = store.trace(&[0], 1);
        assert_eq!(all[0].sender, "a".repeat(127), "é would straddle the end");
    }
}
