//! The metric table (`cordon-metrics`) wired into the process: where the cells live, which slot
//! this worker writes, and the gauges it refreshes.
//!
//! Under `cordon supervise` the supervisor creates one shared region for every worker
//! ([`region`]) and passes its descriptor down ([`worker_env::METRICS_FD`]); each worker writes
//! its own slot and the worker that serves the config port and the metrics endpoint reads them
//! all, so `status`, `counters` and `/metrics` describe the whole appliance. The supervisor
//! holds the region, so a restarted worker continues its predecessor's counts. `cordon run`
//! keeps one slot on its own heap.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use cordon_metrics::{Id, Store};
use cordon_platform::shared::SharedCells;
use cordon_proxy::dlp_inspector::Durable;
use cordon_proxy::incident_log::IncidentLog;
use cordon_proxy::pool::Pool;

use crate::error::Error;
use crate::worker_env;

/// How often a worker copies its gauges (sessions, memory, incident log) into its slot: well
/// below any scrape interval, and a few syscalls a second.
pub const REFRESH: Duration = Duration::from_secs(1);

/// The supervisor's region for `workers` workers, inherited by each of them.
pub fn region(workers: usize) -> Result<SharedCells, Error> {
    SharedCells::create("cordon-metrics", Store::cells_for(workers)).map_err(Error::Platform)
}

/// Sends the supervisor's own log lines to the last log ring of its region, after the
/// workers' (a region that cannot be read as a store leaves them on stderr only).
pub fn supervisor_log(region: &Arc<SharedCells>, workers: usize) {
    match Store::over(region.clone(), workers) {
        Ok(store) => crate::logging::to_ring(store.log_writer(workers)),
        Err(e) => tracing::warn!(?e, "the supervisor's log ring is unusable"),
    }
}

/// The store this process writes into: for a worker (`share` = its index and the number of
/// workers) the supervisor's region (or, should it be unusable, a private one with a warning:
/// the worker still serves mail), the heap otherwise.
pub fn store(share: Option<(usize, usize)>) -> Store {
    let Some((_, workers)) = share else {
        return Store::heap(1);
    };
    let workers = workers.max(1);
    let inherited = std::env::var(worker_env::METRICS_FD)
        .ok()
        .and_then(|v| v.parse::<i32>().ok());
    let Some(fd) = inherited else {
        tracing::warn!("no shared counters region: this worker's counters are its own");
        return Store::heap(workers);
    };
    match SharedCells::inherited(fd, Store::cells_for(workers)) {
        Ok(cells) => match Store::over(Arc::new(cells), workers) {
            Ok(store) => store,
            Err(e) => {
                tracing::warn!(?e, "shared counters region of the wrong size");
                Store::heap(workers)
            }
        },
        Err(e) => {
            tracing::warn!(error = %e, "shared counters region unusable; this worker's counters are its own");
            Store::heap(workers)
        }
    }
}

/// Makes `durable`'s counters write slot `index` of `store`, for the engine's detectors.
pub fn attach(durable: &mut Durable, store: &Store, index: usize, detectors: &[String]) {
    let (counters, left_out) = cordon_policy::Counters::over(store, index, detectors);
    if left_out > 0 {
        tracing::warn!(
            left_out,
            max = cordon_metrics::cells::MAX_DETECTORS,
            "more detectors than counter cells: the last ones are matched but not counted"
        );
    }
    durable.counters = Arc::new(counters);
}

/// Copies this worker's gauges into its slot every [`REFRESH`], for as long as the runtime runs.
pub async fn refresh(durable: Durable, pool: Arc<Pool>) {
    let r = durable.counters.recorder().clone();
    r.set(Id::SessionSlots, pool.capacity() as u64);
    r.set(Id::MemoryBudget, pool.budget_bytes() as u64);
    for (c, class) in pool.classes().iter().enumerate() {
        r.set_class(Id::MessageSlotBytes, c, class.size as u64);
        r.set_class(Id::MessageSlots, c, class.count as u64);
    }
    let log: Option<IncidentLog> = durable.log.clone();
    let mut tick = tokio::time::interval(REFRESH);
    loop {
        tick.tick().await;
        r.set(Id::SessionsInUse, pool.in_use() as u64);
        for (c, class) in pool.classes().iter().enumerate() {
            r.set_class(Id::MessageSlotsInUse, c, class.in_use as u64);
        }
        r.set(Id::Resident, crate::config_port::resident_bytes());
        match &log {
            Some(l) => {
                let s = l.status();
                r.set(Id::JournalOk, u64::from(s.ok));
                r.set(Id::JournalFailures, s.failures);
                r.set(Id::JournalLastSeq, s.last_seq.unwrap_or(0));
                r.set(Id::JournalBytes, s.bytes);
            }
            None => r.set(Id::JournalOk, 0),
        }
        if let Some(siem) = &durable.siem {
            let s = siem.stats();
            r.set(Id::SiemConnected, u64::from(s.connected.load(Relaxed)));
            r.set(Id::SiemQueued, siem.queued());
            r.set(Id::SiemSent, s.sent.load(Relaxed));
            r.set(Id::SiemResent, s.resent.load(Relaxed));
            r.set(Id::SiemDropped, s.dropped.load(Relaxed));
            r.set(Id::SiemErrors, s.errors.load(Relaxed));
        }
    }
}

/// The stop line: every counter of the table by its `cordonctl counters` name, as one JSON
/// object (bench/report.py reads it).
pub fn log_stop(counters: &cordon_policy::Counters) {
    let totals: serde_json::Map<String, serde_json::Value> =
        cordon_metrics::text::pairs(&counters.snapshot())
            .into_iter()
            .map(|(k, v)| (k, v.into()))
            .collect();
    tracing::info!(counters = %serde_json::Value::Object(totals), "cordon stopped");
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_slot_class_the_config_allows_has_its_cells() {
        assert_eq!(
            cordon_metrics::table::SLOT_CLASSES,
            cordon_config::MAX_SLOT_CLASSES
        );
    }
}
