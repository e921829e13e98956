//! What the data path counts, in the words of the policy (an [`Action`], [`Findings`]),
//! recorded into the one metric table of `cordon-metrics`. Shared by all sessions of a worker
//! (`&self` methods over relaxed atomics); no allocation per message.

use cordon_config::Action;
use cordon_dlp::Findings;
use cordon_metrics::trace::TraceInput;
use cordon_metrics::{Id, Recorder, Snapshot, Store};

use crate::judge::Judgement;

/// The verdict cells in `cordon_metrics::table::VERDICTS` order.
const ACTIONS: [Action; 5] = [
    Action::Deliver,
    Action::Tag,
    Action::Quarantine,
    Action::Redirect,
    Action::Block,
];

/// A worker's counters: its recorder, and the store to read the whole appliance from.
#[derive(Debug, Clone)]
pub struct Counters {
    recorder: Recorder,
    store: Store,
}

impl Counters {
    /// Counters on this process's heap, for one worker with the engine's detector names
    /// (`Engine::detector_names`).
    pub fn new(detector_names: &[String]) -> Counters {
        Counters::over(&Store::heap(1), 0, detector_names).0
    }

    /// Counters in slot `worker` of `store` (the supervisor's shared region); also returns how
    /// many detectors found no cell.
    pub fn over(store: &Store, worker: usize, detector_names: &[String]) -> (Counters, usize) {
        let (recorder, left_out) = store.recorder(worker, detector_names);
        (
            Counters {
                recorder,
                store: store.clone(),
            },
            left_out,
        )
    }

    /// For gauges the worker refreshes (sessions, memory, incident log).
    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    /// A message the smart host accepted.
    pub fn message(&self, bytes: u64) {
        self.recorder.add(Id::Relayed, 1);
        self.recorder.add(Id::RelayedBytes, bytes);
    }

    /// The policy's verdict on a message of `bytes` bytes.
    pub fn verdict(&self, action: Action, bytes: u64) {
        let i = ACTIONS.iter().position(|a| *a == action).unwrap_or(0);
        self.recorder.add_verdict(Id::Messages, i, 1);
        self.recorder.add_verdict(Id::MessageBytes, i, bytes);
    }

    /// One hit per detector that matched; names the engine does not know are ignored.
    pub fn findings(&self, findings: &Findings) {
        for d in &findings.detectors {
            self.recorder.detector_hit(&d.name);
        }
    }

    pub fn downstream_error(&self) {
        self.recorder.add(Id::DownstreamErrors, 1);
    }

    pub fn scan_error(&self) {
        self.recorder.add(Id::ScanErrors, 1);
    }

    pub fn forged_stamp(&self) {
        self.recorder.add(Id::ForgedStamps, 1);
    }

    pub fn loop_detected(&self) {
        self.recorder.add(Id::Loops, 1);
    }

    /// A connection refused because every session slot was in use.
    pub fn session_refused(&self) {
        self.recorder.add(Id::SessionsRefused, 1);
    }

    /// A MAIL refused because no message buffer of its size was free.
    pub fn message_slot_refused(&self) {
        self.recorder.add(Id::MessageSlotsRefused, 1);
    }

    /// Records one scan's duration in microseconds.
    pub fn scan_time(&self, micros: u64) {
        self.recorder.observe(Id::ScanSeconds, micros);
    }

    /// Records the smart host's time for one message, in microseconds.
    pub fn downstream_time(&self, micros: u64) {
        self.recorder.observe(Id::DownstreamSeconds, micros);
    }

    /// Every worker's values (this process's alone under `cordon run`).
    pub fn snapshot(&self) -> Snapshot {
        self.store.snapshot()
    }

    /// The store every worker's cells and message trace are read from.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// One judged message into this worker's message trace (clean ones too): its verdict, the
    /// deciding rule and why, in a few words.
    pub fn trace(&self, m: &TracedMessage<'_>) {
        let j = m.judgement;
        let action = if j.loop_detected {
            "loop"
        } else {
            crate::rules::action_name(j.decision.action)
        };
        let reason = trace_reason(j, m.findings);
        self.recorder.trace(&TraceInput {
            time_ms: m.time_ms,
            bytes: m.bytes,
            action,
            rule: j.decision.rule.as_deref(),
            sender: m.sender,
            message_id: m.message_id,
            reason: &reason,
        });
    }
}

/// What [`Counters::trace`] records of a message.
#[derive(Debug, Clone, Copy)]
pub struct TracedMessage<'a> {
    pub judgement: &'a Judgement,
    pub findings: &'a Findings,
    pub time_ms: u64,
    pub bytes: u64,
    pub sender: &'a str,
    pub message_id: &'a str,
}

/// Why a message got its verdict, short enough for a trace line: the loop, the scan error,
/// the deciding rule, or no rule; then what the engine found (`credit_card=5`).
pub fn trace_reason(j: &Judgement, findings: &Findings) -> String {
    let found: Vec<String> = findings
        .detectors
        .iter()
        .map(|d| format!("{}={}", d.name, d.counts.low))
        .collect();
    let found = if found.is_empty() {
        "nothing found".to_owned()
    } else {
        found.join(" ")
    };
    if j.loop_detected {
        return "this appliance's own stamp: a mail loop".to_owned();
    }
    let head = match (&j.scan_error, &j.decision.rule) {
        (Some(e), _) => format!("scan error {e}"),
        (None, Some(r)) => format!("rule {r} matched"),
        (None, None) => "no rule matched".to_owned(),
    };
    let forged = if j.forged_stamp { "; forged stamp" } else { "" };
    format!("{head}{forged}; {found}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_events_land_in_their_table_rows() {
        let names: Vec<String> = vec!["credit_card".into(), "us_ssn".into()];
        let c = Counters::new(&names);
        c.message(100);
        c.message(50);
        c.verdict(Action::Block, 10);
        c.verdict(Action::Tag, 20);
        c.verdict(Action::Block, 30);
        let f = Findings {
            detectors: vec![cordon_dlp::DetectorFinding {
                name: "credit_card".into(),
                counts: Default::default(),
                confidence: cordon_dlp::Confidence::High,
                count_is_lower_bound: false,
                locations: vec![],
                samples: vec![],
                value_tags: vec![],
                similarity: None,
            }],
            ..Findings::default()
        };
        c.findings(&f);
        c.downstream_error();
        c.forged_stamp();
        c.loop_detected();
        c.scan_error();
        c.session_refused();
        c.message_slot_refused();
        c.scan_time(1000);
        c.downstream_time(2000);
        let s = c.snapshot();
        assert_eq!((s.total(Id::Relayed), s.total(Id::RelayedBytes)), (2, 150));
        assert_eq!(s.by_verdict(Id::Messages)[4], ("block", 2));
        assert_eq!(s.by_verdict(Id::Messages)[1], ("tag", 1));
        assert_eq!(s.by_verdict(Id::MessageBytes)[4], ("block", 40));
        assert_eq!(
            s.detectors(),
            [("credit_card".into(), 1), ("us_ssn".into(), 0)]
        );
        for id in [
            Id::DownstreamErrors,
            Id::ScanErrors,
            Id::ForgedStamps,
            Id::Loops,
            Id::SessionsRefused,
            Id::MessageSlotsRefused,
        ] {
            assert_eq!(s.total(id), 1, "{}", id.metric().name);
        }
        assert_eq!(s.histogram(Id::ScanSeconds).sum_us, 1000);
        assert_eq!(s.histogram(Id::DownstreamSeconds).count, 1);
    }
}
