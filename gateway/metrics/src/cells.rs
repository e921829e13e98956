//! Where the values live: a fixed array of `AtomicU64`, one slot per worker.
//!
//! ```text
//! slot (SLOT_CELLS cells)
//!   header   STARTS, PID, DETECTORS (names in use; 0 while they are rewritten)
//!   metrics  each TABLE row in order: 1 cell, 5 for a verdict label, or a histogram's
//!            buckets + the +Inf bucket + the sum in µs (buckets are not cumulative here)
//!   detectors MAX_DETECTORS x (hits, name in NAME_CELLS cells of 8 bytes)
//!   trace    the newest messages this worker judged (`trace.rs`)
//! log rings  after the last slot, one per worker and one for the supervisor (`log.rs`)
//! ```
//!
//! One worker writes its slot ([`Recorder`]); anyone reads them all ([`Store::snapshot`]).
//! Relaxed atomics: every cell is an independent tally, and a scrape that sees one message's
//! verdict before its bytes is off by one message for one scrape only.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::table::{Id, Kind, Labels, Scope, SLOT_CLASSES, TABLE, VERDICTS};

/// Detectors a slot has room for: the whole built-in catalogue (241 types today) plus the
/// dictionaries, patterns and EDM tables of a large policy. Further detectors are matched but
/// not counted (logged once at start). 512 x 72 bytes = 36 KiB per worker.
pub const MAX_DETECTORS: usize = 512;
/// A detector name's cells: 64 bytes, the config's longest name.
pub const NAME_CELLS: usize = 8;

const STARTS: usize = 0;
const PID: usize = 1;
const DETECTORS: usize = 2;
const HEADER: usize = 3;

const fn width(i: usize) -> usize {
    match TABLE[i].kind {
        Kind::Histogram(b) => b.len() + 2,
        _ => TABLE[i].labels.width(),
    }
}

const fn offset(id: usize) -> usize {
    let mut at = HEADER;
    let mut i = 0;
    while i < id {
        at += width(i);
        i += 1;
    }
    at
}

const METRIC_END: usize = offset(TABLE.len());
const DETECTOR_CELLS: usize = 1 + NAME_CELLS;
/// Where the message trace starts in a slot.
pub(crate) const TRACE_AT: usize = METRIC_END + MAX_DETECTORS * DETECTOR_CELLS;
/// Cells of one worker's slot.
pub const SLOT_CELLS: usize = TRACE_AT + crate::trace::TRACE_CELLS;

/// The cells of every worker, and how many workers there are.
#[derive(Clone)]
pub struct Store {
    cells: Arc<dyn AsRef<[AtomicU64]> + Send + Sync>,
    workers: usize,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("workers", &self.workers)
            .finish()
    }
}

/// The region handed to [`Store::over`] is not `cells_for(workers)` long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrongSize {
    pub cells: usize,
    pub expected: usize,
}

impl Store {
    /// Cells a store for `workers` workers needs (what the supervisor maps).
    pub const fn cells_for(workers: usize) -> usize {
        workers * SLOT_CELLS + Self::log_cells_for(workers)
    }

    /// A private store on this process's heap (`cordon run`, tests).
    pub fn heap(workers: usize) -> Store {
        let cells: Box<[AtomicU64]> = (0..Self::cells_for(workers))
            .map(|_| AtomicU64::new(0))
            .collect();
        Store {
            cells: Arc::new(cells),
            workers,
        }
    }

    /// A store over cells someone else allocated (the supervisor's shared region).
    pub fn over(
        cells: Arc<dyn AsRef<[AtomicU64]> + Send + Sync>,
        workers: usize,
    ) -> Result<Store, WrongSize> {
        let (n, expected) = ((*cells).as_ref().len(), Self::cells_for(workers));
        if n != expected {
            return Err(WrongSize { cells: n, expected });
        }
        Ok(Store { cells, workers })
    }

    pub fn workers(&self) -> usize {
        self.workers
    }

    pub(crate) fn all_cells(&self) -> &[AtomicU64] {
        (*self.cells).as_ref()
    }

    pub(crate) fn slot(&self, worker: usize) -> &[AtomicU64] {
        let all = self.all_cells();
        &all[worker * SLOT_CELLS..(worker + 1) * SLOT_CELLS]
    }

    /// The writer of worker `worker`'s slot (clamped to the last slot). Counts a start (a
    /// restart when the slot was used before), records the pid, and lays out `detectors`,
    /// keeping the counts of names the slot already had. Returns how many detectors did not fit.
    pub fn recorder(&self, worker: usize, detectors: &[String]) -> (Recorder, usize) {
        let worker = worker.min(self.workers.saturating_sub(1));
        let r = Recorder {
            store: self.clone(),
            worker,
            names: detectors.iter().take(MAX_DETECTORS).cloned().collect(),
        };
        let slot = self.slot(worker);
        if slot[STARTS].fetch_add(1, Ordering::Relaxed) > 0 {
            r.add(Id::WorkerRestarts, 1);
        }
        slot[PID].store(u64::from(std::process::id()), Ordering::Relaxed);
        let old = read_detectors(slot);
        if old.iter().map(|(n, _)| n).ne(r.names.iter()) {
            slot[DETECTORS].store(0, Ordering::Release);
            for (i, name) in r.names.iter().enumerate() {
                let at = METRIC_END + i * DETECTOR_CELLS;
                let kept = old.iter().find(|(n, _)| n == name).map_or(0, |(_, v)| *v);
                slot[at].store(kept, Ordering::Relaxed);
                crate::ring::write_text(&slot[at + 1..at + DETECTOR_CELLS], name);
            }
            slot[DETECTORS].store(r.names.len() as u64, Ordering::Release);
        }
        (r, detectors.len().saturating_sub(MAX_DETECTORS))
    }

    /// A copy of every slot.
    pub fn snapshot(&self) -> Snapshot {
        let workers = (0..self.workers)
            .map(|w| {
                let slot = self.slot(w);
                WorkerCells {
                    index: w,
                    starts: slot[STARTS].load(Ordering::Relaxed),
                    pid: slot[PID].load(Ordering::Relaxed) as u32,
                    values: slot[..METRIC_END]
                        .iter()
                        .map(|c| c.load(Ordering::Relaxed))
                        .collect(),
                    detectors: read_detectors(slot),
                }
            })
            .collect();
        Snapshot { workers }
    }
}

fn read_detectors(slot: &[AtomicU64]) -> Vec<(String, u64)> {
    let n = (slot[DETECTORS].load(Ordering::Acquire) as usize).min(MAX_DETECTORS);
    (0..n)
        .map(|i| {
            let at = METRIC_END + i * DETECTOR_CELLS;
            let name = crate::ring::read_text(&slot[at + 1..at + DETECTOR_CELLS]);
            (name, slot[at].load(Ordering::Relaxed))
        })
        .collect()
}

/// One worker's writer: what the data path calls. No allocation, no lock.
#[derive(Debug, Clone)]
pub struct Recorder {
    store: Store,
    worker: usize,
    /// The detector names in slot order, to find a detector's cell by name.
    names: Vec<String>,
}

impl Recorder {
    pub(crate) fn slot(&self) -> &[AtomicU64] {
        self.store.slot(self.worker)
    }

    fn cell(&self, at: usize) -> &AtomicU64 {
        &self.slot()[at]
    }

    /// Adds to a metric without labels.
    pub fn add(&self, id: Id, n: u64) {
        debug_assert_eq!(id.metric().labels, Labels::None);
        self.cell(offset(id as usize))
            .fetch_add(n, Ordering::Relaxed);
    }

    /// Sets a gauge.
    pub fn set(&self, id: Id, v: u64) {
        self.cell(offset(id as usize)).store(v, Ordering::Relaxed);
    }

    /// Sets a gauge of size class `class` (cells beyond [`SLOT_CLASSES`] are not kept).
    pub fn set_class(&self, id: Id, class: usize, v: u64) {
        debug_assert_eq!(id.metric().labels, Labels::SlotClass);
        if class < SLOT_CLASSES {
            self.cell(offset(id as usize) + class)
                .store(v, Ordering::Relaxed);
        }
    }

    /// Adds to a metric split by verdict; `verdict` indexes [`VERDICTS`] (clamped).
    pub fn add_verdict(&self, id: Id, verdict: usize, n: u64) {
        debug_assert_eq!(id.metric().labels, Labels::Verdict);
        let i = verdict.min(VERDICTS.len() - 1);
        self.cell(offset(id as usize) + i)
            .fetch_add(n, Ordering::Relaxed);
    }

    /// One hit for the detector called `name`; names beyond the slot's room are not counted.
    pub fn detector_hit(&self, name: &str) {
        if let Some(i) = self.names.iter().position(|n| n == name) {
            self.cell(METRIC_END + i * DETECTOR_CELLS)
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    /// One observation of `micros` in a histogram.
    pub fn observe(&self, id: Id, micros: u64) {
        let Kind::Histogram(bounds) = id.metric().kind else {
            debug_assert!(false, "{} is not a histogram", id.metric().name);
            return;
        };
        let at = offset(id as usize);
        let bucket = bounds
            .iter()
            .position(|b| micros <= *b)
            .unwrap_or(bounds.len());
        self.cell(at + bucket).fetch_add(1, Ordering::Relaxed);
        self.cell(at + bounds.len() + 1)
            .fetch_add(micros, Ordering::Relaxed);
    }
}

/// One worker's cells, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerCells {
    pub index: usize,
    /// Times a worker started in this slot; 0: never (the slot is not reported per worker).
    pub starts: u64,
    pub pid: u32,
    values: Vec<u64>,
    pub detectors: Vec<(String, u64)>,
}

impl WorkerCells {
    /// A metric's cells (1, 5 for verdicts, buckets + Inf + sum for a histogram).
    pub fn cells(&self, id: Id) -> &[u64] {
        let at = offset(id as usize);
        &self.values[at..at + width(id as usize)]
    }

    pub fn value(&self, id: Id) -> u64 {
        self.cells(id).first().copied().unwrap_or(0)
    }
}

/// A histogram as exposed: cumulative bucket counts (the last is `+Inf`), count, sum in µs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Histogram {
    pub bounds_us: &'static [u64],
    pub cumulative: Vec<u64>,
    pub count: u64,
    pub sum_us: u64,
}

/// Every worker's cells at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub workers: Vec<WorkerCells>,
}

impl Snapshot {
    /// Workers that have started at least once, for per-worker series.
    pub fn started(&self) -> impl Iterator<Item = &WorkerCells> {
        self.workers.iter().filter(|w| w.starts > 0)
    }

    /// The appliance's cells of a metric: each cell summed over the workers.
    pub fn summed(&self, id: Id) -> Vec<u64> {
        let mut out = vec![0u64; width(id as usize)];
        for w in &self.workers {
            for (o, v) in out.iter_mut().zip(w.cells(id)) {
                *o = o.wrapping_add(*v);
            }
        }
        out
    }

    /// A label-less metric summed over the workers.
    pub fn total(&self, id: Id) -> u64 {
        self.summed(id).first().copied().unwrap_or(0)
    }

    /// `(verdict, value)` summed over the workers.
    pub fn by_verdict(&self, id: Id) -> Vec<(&'static str, u64)> {
        VERDICTS.iter().copied().zip(self.summed(id)).collect()
    }

    /// `(detector, hits)` summed by name over the workers, in the first worker's order.
    pub fn detectors(&self) -> Vec<(String, u64)> {
        let mut out: Vec<(String, u64)> = Vec::new();
        for (name, v) in self.workers.iter().flat_map(|w| &w.detectors) {
            match out.iter_mut().find(|(n, _)| n == name) {
                Some((_, total)) => *total += v,
                None => out.push((name.clone(), *v)),
            }
        }
        out
    }

    /// A histogram summed over the workers.
    pub fn histogram(&self, id: Id) -> Histogram {
        let Kind::Histogram(bounds_us) = id.metric().kind else {
            return Histogram {
                bounds_us: &[],
                cumulative: Vec::new(),
                count: 0,
                sum_us: 0,
            };
        };
        let cells = self.summed(id);
        let mut running = 0u64;
        let cumulative: Vec<u64> = cells[..=bounds_us.len()]
            .iter()
            .map(|c| {
                running += c;
                running
            })
            .collect();
        Histogram {
            bounds_us,
            count: running,
            cumulative,
            sum_us: cells[bounds_us.len() + 1],
        }
    }

    /// A per-class gauge of each started worker: `(worker, class, value)` for the classes the
    /// worker has (a buffer size in [`Id::MessageSlotBytes`]).
    pub fn per_worker_class(&self, id: Id) -> Vec<(usize, usize, u64)> {
        debug_assert_eq!(id.metric().labels, Labels::SlotClass);
        self.started()
            .flat_map(|w| {
                let sizes = w.cells(Id::MessageSlotBytes);
                w.cells(id)
                    .iter()
                    .enumerate()
                    .filter(|(c, _)| sizes.get(*c).is_some_and(|s| *s > 0))
                    .map(move |(c, v)| (w.index, c, *v))
            })
            .collect()
    }

    /// A per-worker metric of each started worker: `(worker index, value)`.
    pub fn per_worker(&self, id: Id) -> Vec<(usize, u64)> {
        debug_assert_eq!(id.metric().scope, Scope::Worker);
        self.started().map(|w| (w.index, w.value(id))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_layout_has_a_cell_for_every_row() {
        let h = SCAN_LEN + 2;
        const SCAN_LEN: usize = crate::table::SCAN_BUCKETS_US.len();
        assert_eq!(width(Id::ScanSeconds as usize), h);
        assert_eq!(width(Id::Messages as usize), 5);
        assert_eq!(width(Id::DetectorHits as usize), 0);
        assert_eq!(offset(0), HEADER);
        println!("one worker's slot: {} bytes", SLOT_CELLS * 8);
    }

    // A slot is about 142 KiB (10 of counters, 36 of detector names, 96 of message trace), and
    // each log ring 128 KiB: the whole region is fixed at start.
    const _: () = assert!(SLOT_CELLS * 8 < 160 * 1024);
    const _: () = assert!(crate::log::LOG_CELLS * 8 <= 129 * 1024);

    #[test]
    fn the_slot_is_small() {
        assert_eq!(
            SLOT_CELLS,
            offset(TABLE.len()) + MAX_DETECTORS * DETECTOR_CELLS + crate::trace::TRACE_CELLS
        );
    }

    #[test]
    fn workers_write_their_own_slot_and_readers_sum_them() {
        let store = Store::heap(2);
        let (a, _) = store.recorder(0, &names(&["credit_card", "iban"]));
        let (b, _) = store.recorder(1, &names(&["credit_card", "iban"]));
        a.add_verdict(Id::Messages, 0, 1);
        b.add_verdict(Id::Messages, 4, 2);
        b.add_verdict(Id::MessageBytes, 4, 700);
        a.detector_hit("iban");
        b.detector_hit("iban");
        b.detector_hit("unknown");
        a.set(Id::SessionsInUse, 3);
        b.set(Id::SessionsInUse, 1);
        let s = store.snapshot();
        assert_eq!(
            s.by_verdict(Id::Messages),
            vec![
                ("deliver", 1),
                ("tag", 0),
                ("quarantine", 0),
                ("redirect", 0),
                ("block", 2)
            ]
        );
        assert_eq!(s.by_verdict(Id::MessageBytes)[4], ("block", 700));
        assert_eq!(
            s.detectors(),
            vec![("credit_card".to_string(), 0), ("iban".to_string(), 2)]
        );
        assert_eq!(s.per_worker(Id::SessionsInUse), vec![(0, 3), (1, 1)]);
        assert_eq!(s.workers[0].pid, std::process::id());
    }

    #[test]
    fn histograms_fill_the_first_bucket_that_holds_the_value() {
        let store = Store::heap(1);
        let (r, _) = store.recorder(0, &[]);
        r.observe(Id::ScanSeconds, 100); // le 0.0001, inclusive as Prometheus' le
        r.observe(Id::ScanSeconds, 101); // le 0.00025
        r.observe(Id::ScanSeconds, 99_000_000); // +Inf
        let h = store.snapshot().histogram(Id::ScanSeconds);
        assert_eq!(h.cumulative[0], 1);
        assert_eq!(h.cumulative[1], 2);
        assert_eq!(h.cumulative[h.bounds_us.len() - 1], 2);
        assert_eq!(*h.cumulative.last().unwrap(), 3);
        assert_eq!(h.count, 3);
        assert_eq!(h.sum_us, 99_000_201);
    }

    #[test]
    fn a_restarted_worker_keeps_its_counts_and_counts_the_restart() {
        let store = Store::heap(1);
        let (r, _) = store.recorder(0, &names(&["a", "b"]));
        r.add(Id::Relayed, 5);
        r.detector_hit("b");
        // The next worker in the slot runs a policy with another detector set: counts follow
        // the names, not the positions.
        let (r2, _) = store.recorder(0, &names(&["b", "c"]));
        r2.detector_hit("c");
        let s = store.snapshot();
        assert_eq!(s.total(Id::Relayed), 5);
        assert_eq!(s.per_worker(Id::WorkerRestarts), vec![(0, 1)]);
        assert_eq!(s.workers[0].starts, 2);
        assert_eq!(
            s.detectors(),
            vec![("b".to_string(), 1), ("c".to_string(), 1)]
        );
    }

    #[test]
    fn detectors_beyond_the_room_are_reported_and_not_counted() {
        let store = Store::heap(1);
        let many: Vec<String> = (0..MAX_DETECTORS + 3).map(|i| format!("d{i}")).collect();
        let (r, left_out) = store.recorder(0, &many);
        assert_eq!(left_out, 3);
        r.detector_hit(&format!("d{}", MAX_DETECTORS + 1));
        r.detector_hit("d0");
        let d = store.snapshot().detectors();
        assert_eq!(d.len(), MAX_DETECTORS);
        assert_eq!(d[0], ("d0".to_string(), 1));
    }

    #[test]
    fn a_region_of_the_wrong_size_is_refused() {
        let cells: Box<[AtomicU64]> = (0..10).map(|_| AtomicU64::new(0)).collect();
        let e = Store::over(Arc::new(cells), 1).unwrap_err();
        assert_eq!(e.expected, SLOT_CELLS + 2 * crate::log::LOG_CELLS);
    }
}
