//! The one table of cordon's metrics. A row's position is its [`Id`]; the cell layout, the
//! exposition, `cordonctl counters` and the documentation follow the table, so adding a metric
//! is adding a row (and recording it where it happens).

/// Prometheus metric types cordon uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only grows; reset as [`Metric::reset`] says.
    Counter,
    /// A current value.
    Gauge,
    /// Observations in fixed buckets of microseconds, exposed in seconds.
    Histogram(&'static [u64]),
}

/// How a metric is exposed across the workers of one appliance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Summed over the workers: one series per label set for the whole appliance. Mail is an
    /// appliance event; which worker the kernel gave a connection to is not the operator's
    /// concern.
    Appliance,
    /// One series per worker (label `worker="N"`): the state of one process (its sessions,
    /// memory, journal, restarts).
    Worker,
}

/// Label values a metric is split by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Labels {
    None,
    /// `verdict`: one of [`VERDICTS`].
    Verdict,
    /// `detector`: the engine's detector names (built-ins, dictionaries, patterns).
    Detector,
    /// `class`: a message-buffer size class, 0 the smallest (`[gateway] slot_classes`), of a
    /// worker; only the classes the worker has are exposed.
    SlotClass,
}

/// Size classes of message buffers a worker slot has cells for: the config's bound
/// (`cordon_config::MAX_SLOT_CLASSES`, a test in cordon ties the two).
pub const SLOT_CLASSES: usize = 8;

impl Labels {
    /// Cells a metric of this label set takes in a worker's slot (detectors live apart).
    pub const fn width(self) -> usize {
        match self {
            Labels::None => 1,
            Labels::Verdict => VERDICTS.len(),
            Labels::Detector => 0,
            Labels::SlotClass => SLOT_CLASSES,
        }
    }
}

/// One row.
#[derive(Debug, Clone, Copy)]
pub struct Metric {
    /// The Prometheus name (`_total` on counters, base unit in the name).
    pub name: &'static str,
    pub kind: Kind,
    pub labels: Labels,
    pub scope: Scope,
    /// Unit of the value as exposed.
    pub unit: &'static str,
    /// The HELP line: what the value means.
    pub help: &'static str,
    /// When it goes back to zero.
    pub reset: &'static str,
}

/// The verdict label values, in the order of their cells (the config's action names).
pub const VERDICTS: [&str; 5] = ["deliver", "tag", "quarantine", "redirect", "block"];

/// Scan time buckets, µs: a plain message scans in well under a millisecond, the scan budget
/// stops a hostile one in seconds.
pub const SCAN_BUCKETS_US: &[u64] = &[
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000, 5_000_000, 10_000_000,
];

/// Downstream latency buckets, µs: a smart host on the LAN answers in milliseconds, one
/// across the internet or under load in seconds; the data timeout is minutes.
pub const DOWNSTREAM_BUCKETS_US: &[u64] = &[
    1_000,
    2_500,
    5_000,
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    30_000_000,
    60_000_000,
    300_000_000,
];

const SINCE_START: &str = "service start (a worker restart keeps them)";
const PER_WORKER: &str = "worker start (the worker's journal is reopened)";
const CURRENT: &str = "never: a current value";
const EXPORTER: &str = "worker start (the worker's exporter starts again)";

macro_rules! table {
    ($($id:ident: $name:literal, $kind:expr, $labels:expr, $scope:expr, $unit:literal, $reset:expr, $help:literal;)*) => {
        /// Row names, usable as indices into [`TABLE`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(usize)]
        pub enum Id { $($id),* }

        /// Every [`Id`], in table order.
        pub const IDS: &[Id] = &[$(Id::$id),*];

        /// Every metric cordon exposes, in exposition order.
        pub const TABLE: &[Metric] = &[$(Metric {
            name: $name,
            kind: $kind,
            labels: $labels,
            scope: $scope,
            unit: $unit,
            help: $help,
            reset: $reset,
        }),*];
    };
}

use Kind::{Counter, Gauge, Histogram};
use Labels::{Detector, SlotClass, Verdict};
use Scope::{Appliance, Worker};

table! {
    Messages: "cordon_messages_total", Counter, Verdict, Appliance, "messages", SINCE_START,
        "Messages the policy judged, by verdict (a loop is counted in cordon_loops_total instead).";
    MessageBytes: "cordon_message_bytes_total", Counter, Verdict, Appliance, "bytes", SINCE_START,
        "Bytes of the messages the policy judged, by verdict.";
    Relayed: "cordon_relayed_messages_total", Counter, Labels::None, Appliance, "messages", SINCE_START,
        "Messages the smart host accepted.";
    RelayedBytes: "cordon_relayed_bytes_total", Counter, Labels::None, Appliance, "bytes", SINCE_START,
        "Bytes of the messages the smart host accepted.";
    DetectorHits: "cordon_detector_hits_total", Counter, Detector, Appliance, "messages", SINCE_START,
        "Messages in which a detector matched, by detector.";
    DownstreamErrors: "cordon_downstream_errors_total", Counter, Labels::None, Appliance, "events", SINCE_START,
        "Messages or sessions the smart host refused or failed.";
    ScanErrors: "cordon_scan_errors_total", Counter, Labels::None, Appliance, "messages", SINCE_START,
        "Messages the scanner could not read whole (judged as unscannable).";
    ForgedStamps: "cordon_forged_stamps_total", Counter, Labels::None, Appliance, "messages", SINCE_START,
        "Messages carrying a verdict stamp that did not verify.";
    Loops: "cordon_loops_total", Counter, Labels::None, Appliance, "messages", SINCE_START,
        "Messages refused because they had passed this gateway before.";
    SessionsRefused: "cordon_sessions_refused_total", Counter, Labels::None, Appliance, "connections", SINCE_START,
        "Connections refused with 421 because every session slot was in use.";
    MessageSlotsRefused: "cordon_message_slots_refused_total", Counter, Labels::None, Appliance, "transactions", SINCE_START,
        "MAIL commands refused with 452 because no message buffer of the size was free.";
    ScanSeconds: "cordon_scan_seconds", Histogram(SCAN_BUCKETS_US), Labels::None, Appliance, "seconds", SINCE_START,
        "Time the DLP engine spent on one message.";
    DownstreamSeconds: "cordon_downstream_seconds", Histogram(DOWNSTREAM_BUCKETS_US), Labels::None, Appliance, "seconds", SINCE_START,
        "Time from handing a message to the smart host to its final reply.";
    SessionsInUse: "cordon_sessions_in_use", Gauge, Labels::None, Worker, "sessions", CURRENT,
        "Session slots in use.";
    SessionSlots: "cordon_session_slots", Gauge, Labels::None, Worker, "sessions", CURRENT,
        "Session slots this worker has (its share of max_sessions).";
    MessageSlotBytes: "cordon_message_slot_bytes", Gauge, SlotClass, Worker, "bytes", CURRENT,
        "Size of one message buffer of each size class the worker has (slot_classes, smallest first).";
    MessageSlots: "cordon_message_slots", Gauge, SlotClass, Worker, "buffers", CURRENT,
        "Message buffers the worker has, by size class (its share of slot_classes).";
    MessageSlotsInUse: "cordon_message_slots_in_use", Gauge, SlotClass, Worker, "buffers", CURRENT,
        "Message buffers holding a transaction now, by size class.";
    MemoryBudget: "cordon_memory_budget_bytes", Gauge, Labels::None, Worker, "bytes", CURRENT,
        "Memory the worker allocated at start for its sessions and message buffers.";
    Resident: "cordon_resident_bytes", Gauge, Labels::None, Worker, "bytes", CURRENT,
        "Resident set size of the worker process.";
    JournalOk: "cordon_incident_log_ok", Gauge, Labels::None, Worker, "boolean", CURRENT,
        "1 while the worker's incident log accepts records, 0 when it failed or is absent.";
    JournalFailures: "cordon_incident_log_failures_total", Counter, Labels::None, Worker, "events", PER_WORKER,
        "Incident log writes that failed.";
    JournalLastSeq: "cordon_incident_log_last_sequence", Gauge, Labels::None, Worker, "sequence", CURRENT,
        "Sequence number of the newest record in the worker's incident log.";
    JournalBytes: "cordon_incident_log_bytes", Gauge, Labels::None, Worker, "bytes", CURRENT,
        "Bytes the worker's incident log holds on disk.";
    SiemConnected: "cordon_siem_connected", Gauge, Labels::None, Worker, "boolean", CURRENT,
        "1 while the worker's SIEM exporter holds a connection to the collector, 0 otherwise or without [siem].";
    SiemQueued: "cordon_siem_queued_events", Gauge, Labels::None, Worker, "events", CURRENT,
        "Events waiting in the worker's SIEM backlog.";
    SiemSent: "cordon_siem_sent_events_total", Counter, Labels::None, Worker, "events", EXPORTER,
        "Events written to the SIEM collector, replays after a lost connection included.";
    SiemResent: "cordon_siem_resent_events_total", Counter, Labels::None, Worker, "events", EXPORTER,
        "Events written again after a lost connection (delivery is at least once).";
    SiemDropped: "cordon_siem_dropped_events_total", Counter, Labels::None, Worker, "events", EXPORTER,
        "Events not exported because the SIEM backlog was full (the incident log still holds them).";
    SiemErrors: "cordon_siem_errors_total", Counter, Labels::None, Worker, "events", EXPORTER,
        "Failures to connect to the SIEM collector or to write to it.";
    WorkerRestarts: "cordon_worker_restarts_total", Counter, Labels::None, Worker, "restarts", SINCE_START,
        "Times this worker was started again after its first start.";
}

impl Id {
    pub fn metric(self) -> &'static Metric {
        &TABLE[self as usize]
    }
}

impl Kind {
    /// The `# TYPE` word.
    pub fn type_name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram(_) => "histogram",
        }
    }
}

/// `µs` as decimal seconds, exactly (no float rounding in `le`): `2500000` -> `2.5`.
pub fn micros_as_seconds(us: u64) -> String {
    let (s, frac) = (us / 1_000_000, us % 1_000_000);
    if frac == 0 {
        return s.to_string();
    }
    let f = format!("{frac:06}");
    format!("{s}.{}", f.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_index_their_rows() {
        assert_eq!(Id::Messages.metric().name, "cordon_messages_total");
        assert_eq!(
            Id::WorkerRestarts.metric().name,
            "cordon_worker_restarts_total"
        );
        assert_eq!(TABLE.len(), Id::WorkerRestarts as usize + 1);
    }

    #[test]
    fn names_follow_the_prometheus_conventions() {
        let mut seen = std::collections::HashSet::new();
        for m in TABLE {
            assert!(seen.insert(m.name), "{} twice", m.name);
            assert!(m.name.starts_with("cordon_"), "{}", m.name);
            assert!(
                m.name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{}",
                m.name
            );
            assert_eq!(
                m.kind == Kind::Counter,
                m.name.ends_with("_total"),
                "{}",
                m.name
            );
            if m.unit == "bytes" || m.unit == "seconds" {
                assert!(m.name.contains(m.unit), "{} lacks its unit", m.name);
            }
            assert!(
                !m.help.contains('\n') && !m.help.contains('\\'),
                "{}",
                m.name
            );
        }
    }

    #[test]
    fn buckets_grow_strictly() {
        for b in [SCAN_BUCKETS_US, DOWNSTREAM_BUCKETS_US] {
            assert!(b.windows(2).all(|w| w[0] < w[1]));
        }
    }

    #[test]
    fn bounds_print_as_exact_seconds() {
        assert_eq!(micros_as_seconds(100), "0.0001");
        assert_eq!(micros_as_seconds(2_500_000), "2.5");
        assert_eq!(micros_as_seconds(10_000_000), "10");
        assert_eq!(micros_as_seconds(1_250), "0.00125");
    }
}
