//! `status` for the config port: the workers (from the supervisor's children and the metric
//! slots), memory, listeners, settings waiting for a restart and the journal; the health
//! questions are answered in `health.rs`.

use cordon_control::bounded;
use cordon_metrics::Id;
use cordon_wire::limits::MAX_BUFFER_CLASSES;
use cordon_wire::{BufferClass, JournalStatus, MemoryStatus, Status, WorkerHealth, WorkerStatus};

use super::{resident_bytes, GatewayBackend};
use crate::restart_only::restart_only;

impl GatewayBackend {
    /// The appliance's status: this worker's own state, the other workers' from their metric
    /// slots, the journal and what waits for a restart.
    pub(super) fn status_now(&self) -> Status {
        let own = u32::try_from(self.pool.in_use()).unwrap_or(u32::MAX);
        let running = std::sync::Arc::clone(&self.current().shared.config);
        let (config_origin, file_differs) = self.origin();
        // Other workers' sessions and memory from their metric slots (refreshed each second).
        let metrics = self.durable.counters.snapshot();
        let others: Vec<&cordon_metrics::cells::WorkerCells> = metrics
            .started()
            .filter(|w| w.pid != std::process::id())
            .collect();
        let of = |pid: u32, id: cordon_metrics::Id| {
            others
                .iter()
                .find(|w| w.pid == pid)
                .map_or(0, |w| w.value(id))
        };
        let me = std::process::id();
        // Under the supervisor its children are the workers; this process knows only its own
        // sessions. Otherwise this process is the one worker.
        let pids = match self.supervisor {
            Some(sup) => std::fs::read_to_string(format!("/proc/{sup}/task/{sup}/children"))
                .map(|c| {
                    c.split_whitespace()
                        .filter_map(|p| p.parse().ok())
                        .collect()
                })
                .unwrap_or_else(|_| vec![me]),
            None => vec![me],
        };
        let mut workers = heapless::Vec::new();
        for (index, pid) in pids.into_iter().enumerate() {
            let core = cordon_platform::affinity::allowed_cpus(Some(pid))
                .ok()
                .filter(|c| c.len() == 1)
                .and_then(|c| u16::try_from(c[0]).ok());
            // State `T` in /proc/<pid>/stat: stopped, so not serving.
            let stopped = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| rest.starts_with('T')))
                .unwrap_or(false);
            let health = if stopped {
                WorkerHealth::Degraded
            } else {
                WorkerHealth::Healthy
            };
            let sessions = if pid == me {
                own
            } else {
                u32::try_from(of(pid, cordon_metrics::Id::SessionsInUse)).unwrap_or(u32::MAX)
            };
            let _ = workers.push(WorkerStatus {
                index: index as u16,
                core,
                pid,
                health,
                sessions,
            });
        }
        let buffers = self.buffers(&others);
        Status {
            buffers,
            software: bounded(concat!("cordon ", env!("CARGO_PKG_VERSION"))),
            board: bounded(&self.board),
            uptime_secs: self.started.elapsed().as_secs(),
            started_unix: self.started_unix,
            sessions: workers.iter().map(|w| w.sessions).sum(),
            workers,
            memory: MemoryStatus {
                budget_bytes: self.pool.budget_bytes() as u64
                    + others
                        .iter()
                        .map(|w| w.value(cordon_metrics::Id::MemoryBudget))
                        .sum::<u64>(),
                used_bytes: resident_bytes()
                    + others
                        .iter()
                        .map(|w| w.value(cordon_metrics::Id::Resident))
                        .sum::<u64>(),
            },
            config_generation: self.persisted.current().generation,
            listeners: {
                let g = &self.booted.gateway;
                let mut v = heapless::Vec::new();
                let plain = g.listen.iter().map(|a| a.to_string());
                let tls = g.listen_tls.iter().map(|a| format!("tls {a}"));
                for name in plain.chain(tls) {
                    let _ = v.push(bounded(&name));
                }
                v
            },
            restart_pending: {
                let mut v = heapless::Vec::new();
                for (section, key) in restart_only(&self.booted, &self.current().shared.config) {
                    let name = if key.is_empty() {
                        section.to_string()
                    } else {
                        format!("{section}.{key}")
                    };
                    let _ = v.push(bounded(&name));
                }
                v
            },
            journal: self
                .durable
                .log
                .as_ref()
                .map(|l| l.status())
                .unwrap_or(JournalStatus {
                    worker: self.worker,
                    ok: false,
                    failures: 0,
                    last_error: Some(bounded("no incident journal")),
                    first_seq: None,
                    last_seq: None,
                    bytes: 0,
                    total_bytes: 0,
                }),
            config_origin,
            file_differs,
            last_apply: self.last_apply(),
            smarthosts: super::health::check_smarthosts(&running),
            certificate: super::health::certificate(&running),
            recent: self.recent(),
        }
    }
}

impl GatewayBackend {
    /// The message buffers by size class over every worker: this worker's live, the others'
    /// from their metric slots (refreshed each second), summed by buffer size.
    fn buffers(
        &self,
        others: &[&cordon_metrics::cells::WorkerCells],
    ) -> heapless::Vec<BufferClass, MAX_BUFFER_CLASSES> {
        let mut by_size: Vec<(u64, u64, u64)> = self
            .pool
            .classes()
            .iter()
            .map(|c| (c.size as u64, c.count as u64, c.in_use as u64))
            .collect();
        for w in others {
            let sizes = w.cells(Id::MessageSlotBytes);
            let counts = w.cells(Id::MessageSlots);
            let used = w.cells(Id::MessageSlotsInUse);
            for (c, &size) in sizes.iter().enumerate().filter(|(_, s)| **s > 0) {
                let (n, u) = (counts[c], used[c]);
                match by_size.iter_mut().find(|e| e.0 == size) {
                    Some(e) => {
                        e.1 += n;
                        e.2 += u;
                    }
                    None => by_size.push((size, n, u)),
                }
            }
        }
        by_size.sort_by_key(|e| e.0);
        by_size
            .into_iter()
            .take(MAX_BUFFER_CLASSES)
            .map(|(size, count, in_use)| BufferClass {
                size,
                count: u32::try_from(count).unwrap_or(u32::MAX),
                in_use: u32::try_from(in_use).unwrap_or(u32::MAX),
            })
            .collect()
    }
}
