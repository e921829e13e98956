//! The config port's views of the rings at the end of the metric region: the message trace
//! (`QueryTrace`) and the log tail (`QueryLog`), read from every worker's slot (and the
//! supervisor's log ring) without asking the workers.

use cordon_control::bounded;
use cordon_metrics::log::LEVELS;
use cordon_metrics::Store;
use cordon_wire::limits::{MAX_LOG_PER_PAGE, MAX_TRACE_PER_PAGE};
use cordon_wire::{LogEntry, LogPage, TraceEntry, TracePage};

/// `QueryTrace`: at most `max` (1..=a page) messages from `since`.
pub(super) fn trace(store: &Store, since: &[u64], max: usize) -> TracePage {
    let (records, next) = store.trace(since, max.clamp(1, MAX_TRACE_PER_PAGE));
    TracePage {
        entries: records
            .iter()
            .map(|r| TraceEntry {
                worker: u16::try_from(r.worker).unwrap_or(u16::MAX),
                seq: r.seq,
                time_ms: r.time_ms,
                bytes: r.bytes,
                action: bounded(r.action),
                rule: r.rule.as_deref().map(bounded),
                sender: bounded(&r.sender),
                message_id: bounded(&r.message_id),
                reason: bounded(&r.reason),
            })
            .collect(),
        next: next.into_iter().collect(),
    }
}

/// `QueryLog`: at most `max` (1..=a page) lines from `since`, at `level` or more severe.
pub(super) fn log(store: &Store, since: &[u64], max: usize, level: usize) -> LogPage {
    let level = level.min(LEVELS.len() - 1);
    let (lines, next) = store.log(since, max.clamp(1, MAX_LOG_PER_PAGE), level);
    LogPage {
        lines: lines
            .iter()
            .map(|l| LogEntry {
                source: u16::try_from(l.source).unwrap_or(u16::MAX),
                seq: l.seq,
                time_ms: l.time_ms,
                level: bounded(LEVELS.get(l.level).copied().unwrap_or("info")),
                text: bounded(&l.text),
            })
            .collect(),
        next: next.into_iter().collect(),
        supervisor: u16::try_from(store.workers()).unwrap_or(u16::MAX),
    }
}

#[cfg(test)]
mod tests {
    use cordon_metrics::log::LINE_TEXT;
    use cordon_wire::limits::{MAX_LOG_LINE_LEN, MAX_LOG_SOURCES, MAX_WORKERS};

    #[test]
    fn a_log_line_fits_the_wire_whole() {
        assert_eq!(LINE_TEXT, MAX_LOG_LINE_LEN);
        assert_eq!(cordon_metrics::log::LEVELS, cordon_wire::limits::LOG_LEVELS);
        assert_eq!(MAX_LOG_SOURCES, MAX_WORKERS + 1);
    }
}
