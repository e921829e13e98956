//! Incidents (the fixed-size ring the config port serves).

use std::collections::VecDeque;

use cordon_config::Action;
use cordon_dlp::tracking::MAX_VALUE_TAGS;
use cordon_dlp::Findings;
use serde::Serialize;

use crate::rules::action_name;

/// Recipients named per incident; `rcpt_count` keeps the total (a message may
/// have 1,000). Eight name the usual case in full and keep the record small.
pub const MAX_INCIDENT_RCPTS: usize = 8;

/// Octets kept of each free-text field (subject, message-id, sender, each
/// recipient, replies, reasons), cut at a character boundary.
pub const MAX_INCIDENT_TEXT: usize = 256;

/// Detectors listed per incident (the strongest evidence comes first in the
/// engine's findings); more are counted in the log line only.
pub const MAX_INCIDENT_DETECTORS: usize = 8;

/// Redacted samples kept per detector in an incident.
pub const MAX_INCIDENT_SAMPLES: usize = 3;

/// Octets kept of a detector name or one redacted sample.
pub const MAX_INCIDENT_NAME: usize = 64;

/// The most memory one bounded incident holds, inline and on the heap: every
/// text field at its cap. The ring costs `incident_ring` times this, the live
/// feed its queue length times this; a test builds the largest incident and
/// checks that it fits.
pub const INCIDENT_BYTES: usize = std::mem::size_of::<Incident>()
    + 7 * MAX_INCIDENT_TEXT
    + MAX_INCIDENT_RCPTS * (std::mem::size_of::<String>() + MAX_INCIDENT_TEXT)
    + MAX_INCIDENT_DETECTORS
        * (std::mem::size_of::<DetectorSummary>()
            + MAX_INCIDENT_NAME
            + MAX_INCIDENT_SAMPLES * (std::mem::size_of::<String>() + MAX_INCIDENT_NAME)
            + MAX_VALUE_TAGS * std::mem::size_of::<u64>());

/// Incidents returned by one [`IncidentRing::since`] call at most, so one
/// config-port answer stays within its frame size.
pub const MAX_PAGE: usize = 64;

/// Why an incident was raised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "reason")]
pub enum IncidentKind {
    /// A rule's verdict other than deliver (`"dlp"` in JSON, as on the config port).
    #[serde(rename = "dlp")]
    Verdict,
    /// A stamp claiming to be ours did not verify.
    ForgedStamp,
    /// A message carried our own valid stamp.
    Loop,
    /// Inspection could not finish (limit or time budget), with the reason.
    ScanError(String),
}

/// One detector in an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DetectorSummary {
    pub name: String,
    /// Distinct values at any confidence.
    pub count: u32,
    /// The detector's confidence in this message.
    pub confidence: cordon_dlp::Confidence,
    /// Redacted samples from the engine.
    pub samples: Vec<String>,
    /// Keyed tags of the detector's first distinct values (at most
    /// [`cordon_dlp::tracking::MAX_VALUE_TAGS`]): the journal keeps them so repeats can
    /// be counted; never printed or logged.
    #[serde(skip)]
    pub value_tags: Vec<u64>,
}

/// Something the DLP team should see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Incident {
    /// Assigned by [`IncidentRing::push`]: 1, 2, 3... for this process.
    pub id: u64,
    /// Unix seconds.
    pub time: i64,
    /// The SMTP session id, to find the journal lines of the same session.
    pub session: String,
    pub message_id: String,
    pub sender: String,
    /// The first [`MAX_INCIDENT_RCPTS`] recipients.
    pub rcpts: Vec<String>,
    /// How many recipients the message had.
    pub rcpt_count: u32,
    pub subject: String,
    pub rule: Option<String>,
    #[serde(serialize_with = "ser_action")]
    pub action: Action,
    pub detectors: Vec<DetectorSummary>,
    #[serde(flatten)]
    pub kind: IncidentKind,
    /// The smart host's final reply, once known.
    pub downstream_reply: Option<String>,
}

fn ser_action<S: serde::Serializer>(a: &Action, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(action_name(*a))
}

/// Cuts `s` to at most `max` octets at a character boundary, into a fresh
/// allocation: `String::truncate` would keep the whole buffer of a 30 MB
/// subject alive in the ring.
fn cut(s: &mut String, max: usize) {
    if s.len() > max {
        let mut i = max;
        while !s.is_char_boundary(i) {
            i -= 1;
        }
        *s = s[..i].to_string();
    } else if s.capacity() > s.len() {
        s.shrink_to_fit();
    }
}

impl Incident {
    /// Detector summaries of a scan's findings.
    pub fn detectors_of(findings: &Findings) -> Vec<DetectorSummary> {
        findings
            .detectors
            .iter()
            .map(|d| DetectorSummary {
                name: d.name.clone(),
                count: d.counts.low,
                confidence: d.confidence,
                samples: d.samples.clone(),
                value_tags: d.value_tags.clone(),
            })
            .collect()
    }

    /// Cuts free text and lists to the named bounds, so the incident holds at
    /// most [`INCIDENT_BYTES`]. Callers build incidents from values that were
    /// already read capped; this is the last guarantee before the ring, the
    /// live feed and the log take it.
    pub fn bound(&mut self) {
        for s in [
            &mut self.session,
            &mut self.message_id,
            &mut self.sender,
            &mut self.subject,
        ] {
            cut(s, MAX_INCIDENT_TEXT);
        }
        if let Some(r) = &mut self.rule {
            cut(r, MAX_INCIDENT_TEXT);
        }
        if let Some(r) = &mut self.downstream_reply {
            cut(r, MAX_INCIDENT_TEXT);
        }
        if let IncidentKind::ScanError(r) = &mut self.kind {
            cut(r, MAX_INCIDENT_TEXT);
        }
        self.rcpt_count = self
            .rcpt_count
            .max(u32::try_from(self.rcpts.len()).unwrap_or(u32::MAX));
        self.rcpts.truncate(MAX_INCIDENT_RCPTS);
        self.rcpts.shrink_to_fit();
        for r in &mut self.rcpts {
            cut(r, MAX_INCIDENT_TEXT);
        }
        self.detectors.truncate(MAX_INCIDENT_DETECTORS);
        self.detectors.shrink_to_fit();
        for d in &mut self.detectors {
            cut(&mut d.name, MAX_INCIDENT_NAME);
            d.samples.truncate(MAX_INCIDENT_SAMPLES);
            d.samples.shrink_to_fit();
            d.value_tags.truncate(MAX_VALUE_TAGS);
            d.value_tags.shrink_to_fit();
            for x in &mut d.samples {
                cut(x, MAX_INCIDENT_NAME);
            }
        }
    }

    /// Heap and inline bytes this incident holds now.
    pub fn memory_bytes(&self) -> usize {
        let text = |s: &String| s.capacity();
        std::mem::size_of::<Incident>()
            + [&self.session, &self.message_id, &self.sender, &self.subject]
                .into_iter()
                .map(text)
                .sum::<usize>()
            + self.rule.as_ref().map_or(0, text)
            + self.downstream_reply.as_ref().map_or(0, text)
            + match &self.kind {
                IncidentKind::ScanError(r) => r.capacity(),
                _ => 0,
            }
            + self.rcpts.capacity() * std::mem::size_of::<String>()
            + self.rcpts.iter().map(text).sum::<usize>()
            + self.detectors.capacity() * std::mem::size_of::<DetectorSummary>()
            + self
                .detectors
                .iter()
                .map(|d| {
                    d.name.capacity()
                        + d.samples.capacity() * std::mem::size_of::<String>()
                        + d.samples.iter().map(text).sum::<usize>()
                        + d.value_tags.capacity() * std::mem::size_of::<u64>()
                })
                .sum::<usize>()
    }
}

/// The newest incidents, at most `capacity` (from `[policy] incident_ring`),
/// oldest overwritten first. Memory is reserved at construction and never
/// grows.
#[derive(Debug)]
pub struct IncidentRing {
    items: VecDeque<Incident>,
    capacity: usize,
    next_id: u64,
}

impl IncidentRing {
    /// A ring of `capacity` incidents (0 keeps none but still numbers them).
    pub fn new(capacity: usize) -> IncidentRing {
        IncidentRing {
            items: VecDeque::with_capacity(capacity),
            capacity,
            next_id: 1,
        }
    }

    /// Numbers, bounds and stores an incident; returns its id.
    pub fn push(&mut self, mut incident: Incident) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        incident.id = id;
        incident.bound();
        if self.capacity == 0 {
            return id;
        }
        if self.items.len() == self.capacity {
            self.items.pop_front();
        }
        self.items.push_back(incident);
        id
    }

    /// Sets the downstream's final reply of an incident still in the ring.
    pub fn set_downstream_reply(&mut self, id: u64, reply: &str) -> bool {
        match self.items.iter_mut().find(|i| i.id == id) {
            Some(i) => {
                let mut end = reply.len().min(MAX_INCIDENT_TEXT);
                while !reply.is_char_boundary(end) {
                    end -= 1;
                }
                i.downstream_reply = Some(reply[..end].to_string());
                true
            }
            None => false,
        }
    }

    /// Incidents with an id above `id`, oldest first, at most `max` (capped
    /// at [`MAX_PAGE`]). Page with the last id returned; `since(0, n)` starts
    /// at the oldest kept.
    pub fn since(&self, id: u64, max: usize) -> Vec<Incident> {
        // Ids are consecutive in the ring, so the start is computed, not searched.
        let first = self.items.front().map_or(0, |i| i.id);
        let skip = id.saturating_sub(first.saturating_sub(1)) as usize;
        self.items
            .iter()
            .skip(skip)
            .take(max.min(MAX_PAGE))
            .cloned()
            .collect()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The id the last push returned (0 before any).
    pub fn last_id(&self) -> u64 {
        self.next_id - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incident(subject: &str) -> Incident {
        Incident {
            id: 0,
            time: 1_751_364_000,
            session: "s1".into(),
            message_id: "<m@x>".into(),
            sender: "a@contoso.com".into(),
            rcpts: vec!["b@example.net".into()],
            rcpt_count: 1,
            subject: subject.into(),
            rule: Some("block-card-dumps".into()),
            action: Action::Block,
            detectors: vec![DetectorSummary {
                name: "credit_card".into(),
                count: 5,
                confidence: cordon_dlp::Confidence::High,
                samples: vec!["4556 **** **** 9855".into()],
                value_tags: vec![0x5eed],
            }],
            kind: IncidentKind::Verdict,
            downstream_reply: None,
        }
    }

    #[test]
    fn ring_overwrites_oldest_and_never_grows() {
        let mut r = IncidentRing::new(3);
        let cap = r.items.capacity();
        for i in 0..10 {
            assert_eq!(r.push(incident(&format!("s{i}"))), i + 1);
            assert!(r.len() <= 3);
        }
        assert_eq!(r.items.capacity(), cap);
        assert_eq!(r.len(), 3);
        assert_eq!(r.last_id(), 10);
        let all = r.since(0, 100);
        assert_eq!(all.iter().map(|i| i.id).collect::<Vec<_>>(), [8, 9, 10]);
        assert_eq!(all[0].subject, "s7");
    }

    #[test]
    fn since_pages() {
        let mut r = IncidentRing::new(100);
        for i in 0..10 {
            r.push(incident(&format!("s{i}")));
        }
        let ids = |v: Vec<Incident>| v.iter().map(|i| i.id).collect::<Vec<_>>();
        assert_eq!(ids(r.since(0, 4)), [1, 2, 3, 4]);
        assert_eq!(ids(r.since(4, 4)), [5, 6, 7, 8]);
        assert_eq!(ids(r.since(8, 4)), [9, 10]);
        assert!(r.since(10, 4).is_empty());
        assert!(r.since(99, 4).is_empty());
        assert_eq!(r.since(0, 1000).len(), 10);
        let mut big = IncidentRing::new(200);
        for _ in 0..150 {
            big.push(incident("x"));
        }
        assert_eq!(big.since(0, usize::MAX).len(), MAX_PAGE);
        // After overwrites, an old cursor resumes at the oldest kept.
        let mut small = IncidentRing::new(2);
        for _ in 0..5 {
            small.push(incident("x"));
        }
        assert_eq!(ids(small.since(1, 10)), [4, 5]);
        assert_eq!(ids(small.since(4, 10)), [5]);
    }

    #[test]
    fn zero_capacity_and_downstream_reply() {
        let mut r = IncidentRing::new(0);
        assert_eq!(r.push(incident("x")), 1);
        assert!(r.is_empty());
        assert!(r.since(0, 10).is_empty());
        let mut r = IncidentRing::new(2);
        let id = r.push(incident("x"));
        assert!(r.set_downstream_reply(id, "250 2.0.0 queued"));
        assert!(!r.set_downstream_reply(99, "x"));
        assert_eq!(
            r.since(0, 1)[0].downstream_reply.as_deref(),
            Some("250 2.0.0 queued")
        );
    }

    #[test]
    fn incidents_are_bounded_and_serialise() {
        let mut r = IncidentRing::new(1);
        let mut i = incident(&"é".repeat(5000));
        i.rcpts = (0..1000).map(|n| format!("u{n}@x")).collect();
        i.kind = IncidentKind::ScanError("scan_timeout".into());
        r.push(i);
        let got = &r.since(0, 1)[0];
        // 5,000 two-octet characters cut at 256 octets: 128 characters.
        assert_eq!(got.subject.len(), MAX_INCIDENT_TEXT);
        assert_eq!(got.subject.chars().count(), MAX_INCIDENT_TEXT / 2);
        assert_eq!(got.rcpts.len(), MAX_INCIDENT_RCPTS);
        assert_eq!(got.rcpt_count, 1000);
        let json = serde_json::to_value(got).unwrap();
        assert_eq!(json["action"], "block");
        assert_eq!(json["kind"], "scan_error");
        assert_eq!(json["reason"], "scan_timeout");
        assert_eq!(json["detectors"][0]["count"], 5);
        let v = serde_json::to_value(incident("x")).unwrap();
        assert_eq!(v["kind"], "dlp");
        assert_eq!(v["detectors"][0]["confidence"], "high");
    }

    #[test]
    fn the_largest_incident_fits_its_fixed_size() {
        // Every field far over its cap, built the way a hostile message would.
        let huge = "\u{10348}".repeat(1 << 16);
        let mut i = incident(&huge);
        i.session = huge.clone();
        i.message_id = huge.clone();
        i.sender = huge.clone();
        i.rule = Some(huge.clone());
        i.downstream_reply = Some(huge.clone());
        i.kind = IncidentKind::ScanError(huge.clone());
        i.rcpts = vec![huge.clone(); 1000];
        i.detectors = (0..50)
            .map(|_| DetectorSummary {
                name: huge.clone(),
                count: 9,
                confidence: cordon_dlp::Confidence::Low,
                samples: vec![huge.clone(); 20],
                value_tags: vec![7; 100],
            })
            .collect();
        i.bound();
        let used = i.memory_bytes();
        println!("largest incident: {used} bytes, budgeted INCIDENT_BYTES = {INCIDENT_BYTES}");
        assert!(used <= INCIDENT_BYTES, "{used} > {INCIDENT_BYTES}");
        // And the budget is not a wild overestimate of what the caps allow.
        assert!(used * 10 > INCIDENT_BYTES * 9, "{used} vs {INCIDENT_BYTES}");
        assert_eq!(i.detectors.len(), MAX_INCIDENT_DETECTORS);
        assert_eq!(i.detectors[0].samples.len(), MAX_INCIDENT_SAMPLES);
    }
}
