//! The persistent incident log as the gateway writes it: one writer thread per worker process
//! owns that worker's journal (`cordon-journal`, single writer), fed by a bounded channel.
//! A session hands over the incidents of its message and waits, without blocking its tokio
//! worker thread, for the writer's answer on a oneshot; the writer collects what every session
//! sent during one fsync and makes it durable with one group commit
//! ([`cordon_journal::Journal::append_batch`]), then answers each. Only then does the session
//! relay the message or refuse it, so every SMTP reply that concerns an incident follows that
//! incident's fsync. A journal that cannot be written answers with the reason, and the session
//! replies `451 4.3.0` instead: never a 250 for a message whose incident was not recorded.
//!
//! Layout on /data: `<root>/w<index>/` per worker, each its own chain, numbered `w<index>:<seq>`
//! to the admin (see `docs/operations.md`). A `writer.lock` (flock) in each directory keeps
//! a fresh worker from writing while the one it replaces still drains.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cordon_config::Action;
use cordon_journal::journal::now_ms;
use cordon_journal::{derive_key, ChainKey, Journal, Limits, Stats, JOURNAL_KEY_LABEL};
use cordon_policy::{action_name, Incident, IncidentKind, LogSafe};
use cordon_siem::Siem;
use cordon_wire::{
    encode_audit_record, encode_incident_record, AuditRecord, Confidence, IncidentDetector,
    JournalStatus, ValueTags, Verdict, INCIDENT_RECORD_MAX,
};
use tokio::sync::{broadcast, oneshot};

/// Submissions (one message's incidents each) the writer takes into one group commit: 64
/// sessions' incidents cost one fsync, and the batch's buffers stay a few hundred KiB.
pub const JOURNAL_BATCH: usize = 64;

/// How often a journal that could not be opened or written is tried again; meanwhile every
/// incident is answered with the last error at once (451), not after a wait.
pub const REOPEN_BACKOFF: Duration = Duration::from_secs(1);

/// How long a session waits for its incident's fsync before it answers 451: longer than the
/// supervisor's drain deadline (30 s), during which a worker being replaced may still hold the
/// journal's lock, and far below Exchange's 10-minute wait for the reply to the message.
pub const ACK_TIMEOUT: Duration = Duration::from_secs(60);

/// The smallest and largest segment file: a segment holds at least a header and the largest
/// record; 4 MiB bounds the start-up tail scan. Between the two a journal has 16 segments, so
/// retention drops 1/16 of the history at a time.
pub const MIN_SEGMENT_BYTES: u64 = 32 << 10;
pub const MAX_SEGMENT_BYTES: u64 = 4 << 20;
const SEGMENTS: u64 = 16;

/// The name of the lock file in each journal directory (not a segment: the journal ignores it).
pub const LOCK_NAME: &str = "writer.lock";

/// What a session hears back: `Ok` once its incidents are durable, else why not.
pub type Ack = Result<(), String>;

/// The journal limits for `[incidents] total_bytes`.
pub fn limits(total_bytes: u64) -> Limits {
    let segment = (total_bytes / SEGMENTS).clamp(MIN_SEGMENT_BYTES, MAX_SEGMENT_BYTES);
    Limits {
        segment_bytes: segment,
        total_bytes: total_bytes.max(2 * segment),
        max_record: INCIDENT_RECORD_MAX as u32,
    }
}

// The smallest segment holds a segment header, a record header and the largest record.
const _: () = assert!(MIN_SEGMENT_BYTES as usize >= 56 + 60 + INCIDENT_RECORD_MAX);

/// The journal key: derived from the appliance key under its own label, so the stamp key
/// itself never keys the chain.
pub fn journal_key(appliance_key: &[u8]) -> [u8; 32] {
    derive_key(appliance_key, JOURNAL_KEY_LABEL)
}

/// The label the value-tag key is derived under ([`value_key`]).
pub const VALUE_KEY_LABEL: &[u8] = b"cordon value tags v1";

/// The key of the engine's value tags (`cordon_dlp::tracking`): derived from the appliance
/// key under its own label, so it is as secret as the stamp key, lives where it lives, and a
/// tag says nothing to anyone without it.
pub fn value_key(appliance_key: &[u8]) -> cordon_dlp::tracking::ValueKey {
    let derived = derive_key(appliance_key, VALUE_KEY_LABEL);
    let mut key = [0u8; cordon_dlp::tracking::VALUE_KEY_BYTES];
    key.copy_from_slice(&derived[..cordon_dlp::tracking::VALUE_KEY_BYTES]);
    cordon_dlp::tracking::ValueKey::new(key)
}

/// The value tags of `incident`'s detectors, in the record's form.
pub fn value_tags(incident: &Incident) -> ValueTags {
    let mut out = ValueTags::default();
    for d in incident
        .detectors
        .iter()
        .take(cordon_wire::limits::MAX_INCIDENT_DETECTORS)
    {
        let tags = &d.value_tags[..d.value_tags.len().min(cordon_wire::limits::MAX_VALUE_TAGS)];
        let _ = out
            .tags
            .push(heapless::Vec::from_slice(tags).unwrap_or_default());
    }
    out
}

/// Worker `index`'s journal under `root`.
pub fn journal_dir(root: &Path, index: u16) -> PathBuf {
    root.join(format!("w{index}"))
}

/// The worker journals under `root`, by index (directories named `w<index>`).
pub fn journal_dirs(root: &Path) -> Vec<(u16, PathBuf)> {
    let mut out: Vec<(u16, PathBuf)> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name();
            let index = name.to_str()?.strip_prefix('w')?.parse().ok()?;
            e.path().is_dir().then(|| (index, e.path()))
        })
        .collect();
    out.sort();
    out
}

/// One message's incidents (or one audited config-port request), on their way to the writer.
struct Submission {
    incidents: Vec<Incident>,
    audit: Option<AuditRecord>,
    reply: oneshot::Sender<Ack>,
}

/// What the writer last saw, for `status`.
#[derive(Debug, Default)]
struct State {
    ok: bool,
    failures: u64,
    last_error: Option<String>,
    stats: Stats,
}

/// The handle sessions submit through; cheap to clone.
#[derive(Debug, Clone)]
pub struct IncidentLog {
    tx: SyncSender<Submission>,
    state: Arc<Mutex<State>>,
    worker: u16,
    total_bytes: u64,
}

impl std::fmt::Debug for Submission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Submission({} incidents)", self.incidents.len())
    }
}

impl IncidentLog {
    /// Starts the writer of worker `worker`'s journal in `dir`. `queue` bounds the channel:
    /// the worker's session count, since a session waits for its answer before it sends more.
    /// `events` gets every incident once durable, with its number (the config port's follow);
    /// `siem`, if any, every incident and audit record once durable, with its chain tag.
    pub fn start(
        dir: PathBuf,
        worker: u16,
        total_bytes: u64,
        appliance_key: &[u8],
        queue: usize,
        events: broadcast::Sender<cordon_wire::Incident>,
        siem: Option<Siem>,
    ) -> IncidentLog {
        let (tx, rx) = mpsc::sync_channel(queue.max(1));
        let state = Arc::new(Mutex::new(State::default()));
        let writer = Writer {
            dir,
            limits: limits(total_bytes),
            key: journal_key(appliance_key),
            siem,
            worker,
            state: Arc::clone(&state),
            events,
            journal: None,
            lock: None,
            retry_at: Instant::now(),
        };
        let spawned = std::thread::Builder::new()
            .name(format!("journal-w{worker}"))
            .spawn(move || writer.run(rx));
        if let Err(e) = spawned {
            let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
            s.last_error = Some(format!("cannot start the journal writer: {e}"));
        }
        IncidentLog {
            tx,
            state,
            worker,
            total_bytes,
        }
    }

    /// Hands a message's incidents to the writer; the receiver answers once they are durable
    /// (or why they are not). A full queue or a stopped writer answers at once.
    pub fn submit(&self, incidents: Vec<Incident>) -> oneshot::Receiver<Ack> {
        self.send(incidents, None)
    }

    /// Hands an audit record to the writer (see [`IncidentLog::submit`]).
    pub fn submit_audit(&self, record: AuditRecord) -> oneshot::Receiver<Ack> {
        self.send(Vec::new(), Some(record))
    }

    fn send(&self, incidents: Vec<Incident>, audit: Option<AuditRecord>) -> oneshot::Receiver<Ack> {
        let (reply, rx) = oneshot::channel();
        let submission = Submission {
            incidents,
            audit,
            reply,
        };
        match self.tx.try_send(submission) {
            Ok(()) => {}
            Err(TrySendError::Full(s)) => {
                self.failed(1, "the journal writer's queue is full");
                let _ = s
                    .reply
                    .send(Err("the journal writer's queue is full".into()));
            }
            Err(TrySendError::Disconnected(s)) => {
                self.failed(1, "the journal writer stopped");
                let _ = s.reply.send(Err("the journal writer stopped".into()));
            }
        }
        rx
    }

    fn failed(&self, n: u64, why: &str) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.failures += n;
        s.ok = false;
        s.last_error = Some(why.to_string());
    }

    /// The journal's state for `status`.
    pub fn status(&self) -> JournalStatus {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        JournalStatus {
            worker: self.worker,
            ok: s.ok,
            failures: s.failures,
            last_error: s.last_error.as_deref().map(bounded),
            first_seq: s.stats.first_seq,
            last_seq: s.stats.last.map(|a| a.seq),
            bytes: s.stats.bytes,
            total_bytes: self.total_bytes,
        }
    }
}

/// The writer thread's state.
struct Writer {
    dir: PathBuf,
    limits: Limits,
    key: [u8; 32],
    /// The exporter every durable record is offered to, with its chain tag.
    siem: Option<Siem>,
    worker: u16,
    state: Arc<Mutex<State>>,
    events: broadcast::Sender<cordon_wire::Incident>,
    journal: Option<Journal>,
    /// Held for the life of the writer: one writer per journal directory.
    lock: Option<File>,
    /// No open attempt before this (after a failure).
    retry_at: Instant,
}

impl Writer {
    fn run(mut self, rx: Receiver<Submission>) {
        self.open();
        let mut batch: Vec<Submission> = Vec::with_capacity(JOURNAL_BATCH);
        let mut buf = vec![0u8; INCIDENT_RECORD_MAX];
        let mut records: Vec<(u64, Vec<u8>)> = Vec::with_capacity(JOURNAL_BATCH);
        while let Ok(first) = rx.recv() {
            batch.push(first);
            while batch.len() < JOURNAL_BATCH {
                match rx.try_recv() {
                    Ok(s) => batch.push(s),
                    Err(_) => break,
                }
            }
            if self.journal.is_none() && Instant::now() >= self.retry_at {
                self.open();
            }
            records.clear();
            let time = now_ms();
            for s in &batch {
                for i in &s.incidents {
                    let wire = wire_incident(i, 0, 0);
                    // `buf` is the encoding's compile-time bound, so this cannot fail; if it
                    // ever did, the record would be empty (skipped by readers), never cut.
                    let n = encode_incident_record(&wire, &value_tags(i), &mut buf).unwrap_or(0);
                    records.push((time, buf[..n].to_vec()));
                }
                if let Some(a) = &s.audit {
                    // An audit record is smaller than the largest incident record.
                    let n = encode_audit_record(a, &mut buf).unwrap_or(0);
                    records.push((time, buf[..n].to_vec()));
                }
            }
            // The tag the batch's first record chains from, for the exporter's tags.
            let prev = self
                .journal
                .as_ref()
                .and_then(|j| j.stats().last)
                .map_or(cordon_journal::GENESIS_TAG, |a| a.tag);
            let result = match self.journal.as_mut() {
                Some(j) => {
                    let refs: Vec<(u64, &[u8])> =
                        records.iter().map(|(t, p)| (*t, p.as_slice())).collect();
                    j.append_batch(&refs).map_err(|e| e.to_string())
                }
                None => Err(self.last_error()),
            };
            match result {
                Ok(last) => {
                    let seq = last.map_or(0, |a| a.seq);
                    self.export(&batch, &records, seq, prev);
                    self.acknowledged(&mut batch, seq)
                }
                Err(why) => self.refuse(&mut batch, why),
            }
        }
    }

    fn last_error(&self) -> String {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.last_error
            .clone()
            .unwrap_or_else(|| "the journal is not open".into())
    }

    /// Every incident of the batch is durable; `last` is the last one's number.
    fn acknowledged(&mut self, batch: &mut Vec<Submission>, last: u64) {
        // The state first, so whoever hears its answer sees the journal's new state.
        {
            let stats = self
                .journal
                .as_ref()
                .map(Journal::stats)
                .unwrap_or_default();
            let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
            st.ok = true;
            st.stats = stats;
        }
        let total: u64 = batch.iter().map(records_of).sum();
        // Sequence numbers are consecutive within a batch: the first is `last - total + 1`.
        let mut seq = (last + 1).saturating_sub(total);
        for s in batch.drain(..) {
            for i in &s.incidents {
                log_incident(i, self.worker, seq);
                // Nobody following is fine.
                let _ = self.events.send(wire_incident(i, self.worker, seq));
                seq += 1;
            }
            if let Some(a) = &s.audit {
                crate::incident_export::log_audit(a, self.worker, seq);
                seq += 1;
            }
            let _ = s.reply.send(Ok(()));
        }
    }

    /// Offers every record of a durable batch to the SIEM exporter (never waiting), each with
    /// its number and chain tag.
    fn export(&self, batch: &[Submission], records: &[(u64, Vec<u8>)], last: u64, prev: [u8; 32]) {
        let Some(siem) = &self.siem else { return };
        let Some(key) = ChainKey::new(&self.key) else {
            return;
        };
        let first = (last + 1).saturating_sub(records.len() as u64);
        let mut tags = crate::incident_export::Tags::new(key, prev, first, records);
        for s in batch {
            for i in &s.incidents {
                let (seq, tag) = tags.advance();
                let wire = wire_incident(i, self.worker, seq);
                siem.offer(cordon_siem::Event::Incident {
                    incident: &wire,
                    tag: &tag,
                });
            }
            if let Some(a) = &s.audit {
                let (seq, tag) = tags.advance();
                let mut record = a.clone();
                record.worker = self.worker;
                record.seq = seq;
                siem.offer(cordon_siem::Event::Audit {
                    record: &record,
                    tag: &tag,
                });
            }
        }
    }

    /// Nothing of the batch is acknowledged: each session answers 451.
    fn refuse(&mut self, batch: &mut Vec<Submission>, why: String) {
        let n = batch.len() as u64;
        tracing::error!(journal = %self.dir.display(), messages = n, error = %why, "incident journal not written: the messages get 451 4.3.0");
        // After a failed write the tail is unknown: reopen (which recovers it) before the
        // next append, no sooner than the backoff.
        self.journal = None;
        self.retry_at = Instant::now() + REOPEN_BACKOFF;
        {
            let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
            st.ok = false;
            st.failures += n;
            st.last_error = Some(why.clone());
        }
        for s in batch.drain(..) {
            let _ = s.reply.send(Err(why.clone()));
        }
    }

    /// Takes the directory's lock (waiting while a replaced worker drains) and opens the
    /// journal; a failure is kept as the state's error and tried again after the backoff.
    fn open(&mut self) {
        let result = self.try_open();
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match result {
            Ok(journal) => {
                st.ok = true;
                st.stats = journal.stats();
                let r = st.stats.recovery;
                if r.cut_bytes > 0 || r.dropped_torn_segment {
                    tracing::warn!(journal = %self.dir.display(), cut_bytes = r.cut_bytes, "incident journal: an unacknowledged torn tail was cut (kept in torn-tail.bin)");
                }
                tracing::info!(journal = %self.dir.display(), next = journal.next_seq(), total_bytes = self.limits.total_bytes, "incident journal open");
                self.journal = Some(journal);
            }
            Err(why) => {
                tracing::error!(journal = %self.dir.display(), error = %why, "incident journal cannot be opened: messages with an incident get 451 4.3.0");
                st.ok = false;
                st.last_error = Some(why);
                self.retry_at = Instant::now() + REOPEN_BACKOFF;
            }
        }
    }

    fn try_open(&mut self) -> Result<Journal, String> {
        let dir = self.dir.display();
        std::fs::create_dir_all(&self.dir).map_err(|e| format!("cannot create {dir}: {e}"))?;
        if self.lock.is_none() {
            let path = self.dir.join(LOCK_NAME);
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
            if file.try_lock().is_err() {
                tracing::warn!(journal = %dir, "incident journal locked by another process (a replaced worker draining?); waiting");
                file.lock()
                    .map_err(|e| format!("cannot lock {}: {e}", path.display()))?;
            }
            self.lock = Some(file);
        }
        Journal::open(&self.dir, self.limits, &self.key).map_err(|e| e.to_string())
    }
}

/// Journal records a submission makes: one per incident, one for an audit record.
fn records_of(s: &Submission) -> u64 {
    s.incidents.len() as u64 + u64::from(s.audit.is_some())
}

/// The incident's log line, with its number: message-derived fields escaped (no forged lines)
/// and capped (no giant lines).
pub fn log_incident(incident: &Incident, worker: u16, seq: u64) {
    let detectors: Vec<String> = incident
        .detectors
        .iter()
        .map(|d| format!("{}={} [{}]", d.name, d.count, d.samples.join(" | ")))
        .collect();
    let kind = match &incident.kind {
        IncidentKind::Verdict => "verdict".to_string(),
        IncidentKind::ForgedStamp => "forged_stamp".to_string(),
        IncidentKind::Loop => "loop".to_string(),
        IncidentKind::ScanError(r) => format!("scan_error: {r}"),
    };
    tracing::warn!(
        incident = %format!("w{worker}:{seq}"),
        kind = %LogSafe(&kind),
        session = %incident.session,
        message_id = %LogSafe(&incident.message_id),
        sender = %LogSafe(&incident.sender),
        rcpts = %LogSafe(&incident.rcpts.join(",")),
        rcpt_count = incident.rcpt_count,
        subject = %LogSafe(&incident.subject),
        rule = %LogSafe(incident.rule.as_deref().unwrap_or("")),
        action = action_name(incident.action),
        detectors = %LogSafe(&detectors.join("; ")),
        "incident"
    );
}

pub use cordon_wire::bounded;

pub fn verdict(action: Action) -> Verdict {
    match action {
        Action::Deliver => Verdict::Deliver,
        Action::Tag => Verdict::Tag,
        Action::Quarantine => Verdict::Quarantine,
        Action::Redirect => Verdict::Redirect,
        Action::Block => Verdict::Block,
    }
}

// The wire and the journal carry the incident record whole: its bounds are the record's.
const _: () = {
    use cordon_wire::limits as wire;
    assert!(cordon_policy::incident::MAX_INCIDENT_RCPTS == wire::MAX_INCIDENT_RCPTS);
    assert!(cordon_policy::incident::MAX_INCIDENT_DETECTORS == wire::MAX_INCIDENT_DETECTORS);
    assert!(cordon_policy::incident::MAX_INCIDENT_SAMPLES == wire::MAX_INCIDENT_SAMPLES);
    assert!(cordon_policy::incident::MAX_INCIDENT_NAME == wire::MAX_SAMPLE_LEN);
    assert!(cordon_dlp::tracking::MAX_VALUE_TAGS == wire::MAX_VALUE_TAGS);
    assert!(cordon_policy::incident::MAX_INCIDENT_TEXT <= wire::MAX_ADDRESS_LEN);
    assert!(cordon_policy::incident::MAX_INCIDENT_TEXT <= wire::MAX_TEXT_LEN);
};

fn confidence(c: cordon_dlp::Confidence) -> Confidence {
    match c {
        cordon_dlp::Confidence::Low => Confidence::Low,
        cordon_dlp::Confidence::Medium => Confidence::Medium,
        cordon_dlp::Confidence::High => Confidence::High,
    }
}

/// A policy incident in its wire (and journal) form, numbered `w<worker>:<seq>`.
pub fn wire_incident(i: &Incident, worker: u16, seq: u64) -> cordon_wire::Incident {
    use cordon_wire::IncidentKind as W;
    let (kind, reason) = match &i.kind {
        IncidentKind::Verdict => (W::Dlp, ""),
        IncidentKind::ForgedStamp => (W::ForgedStamp, ""),
        IncidentKind::Loop => (W::Loop, ""),
        IncidentKind::ScanError(r) => (W::ScanError, r.as_str()),
    };
    let mut rcpts = heapless::Vec::new();
    for r in &i.rcpts {
        let _ = rcpts.push(bounded(r));
    }
    let mut detectors = heapless::Vec::new();
    for d in &i.detectors {
        let mut samples = heapless::Vec::new();
        for x in &d.samples {
            let _ = samples.push(bounded(x));
        }
        let _ = detectors.push(IncidentDetector {
            name: bounded(&d.name),
            count: d.count,
            confidence: confidence(d.confidence),
            samples,
        });
    }
    cordon_wire::Incident {
        worker,
        seq,
        time_unix: u64::try_from(i.time).unwrap_or(0),
        kind,
        reason: bounded(reason),
        session: bounded(&i.session),
        message_id: bounded(&i.message_id),
        sender: bounded(&i.sender),
        subject: bounded(&i.subject),
        recipients: i.rcpt_count,
        rcpts,
        rule: i.rule.as_deref().map(bounded),
        action: verdict(i.action),
        detectors,
        downstream_reply: i.downstream_reply.as_deref().map(bounded),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incident(subject: &str) -> Incident {
        Incident {
            id: 0,
            time: 1_796_397_756,
            session: "s1".into(),
            message_id: format!("<{subject}@contoso.com>"),
            sender: "alice@contoso.com".into(),
            rcpts: vec!["bob@fabrikam.example".into()],
            rcpt_count: 1,
            subject: subject.into(),
            rule: Some("ssn".into()),
            action: Action::Quarantine,
            detectors: Vec::new(),
            kind: IncidentKind::Verdict,
            downstream_reply: None,
        }
    }

    #[test]
    fn segments_are_a_sixteenth_of_the_journal_within_their_bounds() {
        assert_eq!(limits(64 << 20).segment_bytes, 4 << 20);
        assert_eq!(limits(64 << 10).segment_bytes, MIN_SEGMENT_BYTES);
        assert_eq!(limits(4 << 30).segment_bytes, MAX_SEGMENT_BYTES);
        for total in [64 << 10, 1 << 20, 64 << 20, 4 << 30] {
            limits(total).check().unwrap();
        }
    }

    #[test]
    fn incidents_are_acknowledged_once_durable_and_numbered_on() {
        let dir = tempfile::tempdir().unwrap();
        let (events, mut feed) = broadcast::channel(8);
        let log = IncidentLog::start(dir.path().join("w3"), 3, 1 << 20, &[7; 32], 4, events, None);
        let a = log.submit(vec![incident("one")]);
        let b = log.submit(vec![incident("two"), incident("three")]);
        assert_eq!(a.blocking_recv().unwrap(), Ok(()));
        assert_eq!(b.blocking_recv().unwrap(), Ok(()));
        let numbers: Vec<(u16, u64, String)> = (0..3)
            .map(|_| {
                let i = feed.try_recv().unwrap();
                (i.worker, i.seq, i.subject.to_string())
            })
            .collect();
        assert_eq!(
            numbers,
            [
                (3, 1, "one".into()),
                (3, 2, "two".into()),
                (3, 3, "three".into())
            ]
        );
        let s = log.status();
        assert_eq!(
            (s.ok, s.first_seq, s.last_seq, s.failures),
            (true, Some(1), Some(3), 0)
        );
    }

    #[test]
    fn an_unwritable_journal_answers_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w0");
        std::fs::write(&path, b"a file where the journal belongs").unwrap();
        let (events, _) = broadcast::channel(8);
        let log = IncidentLog::start(path, 0, 1 << 20, &[7; 32], 4, events, None);
        let answer = log.submit(vec![incident("one")]).blocking_recv().unwrap();
        assert!(
            answer.as_ref().is_err_and(|e| e.contains("cannot create")),
            "{answer:?}"
        );
        let s = log.status();
        assert_eq!((s.ok, s.failures), (false, 1));
        assert!(s.last_error.is_some_and(|e| e.contains("cannot create")));
    }
}
