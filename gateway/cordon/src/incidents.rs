//! The config port's view of the persistent incident log: every worker's journal under
//! `<state_dir>/incidents` read back (read-only, while the workers keep appending), filtered
//! on the appliance and merged by time, page by page under fixed memory: one reader and one
//! decoded incident per journal, and at most [`MAX_SCAN_RECORDS`] records read per request.

use std::path::{Path, PathBuf};

use cordon_journal::{Anchor, AnchorCheck, BreakReason, Reader, Start};
use cordon_proxy::incident_log::{bounded, journal_dirs};
use cordon_wire::limits::{MAX_INCIDENTS_PER_PAGE, MAX_WORKERS};
use cordon_wire::{
    decode_audit_record, decode_incident_record, AnchorOutcome, AuditPage, BreakKind, Cursor,
    Incident, IncidentPage, IncidentQuery, IncidentResults, JournalAnchor, JournalBreak,
    JournalReport, MAX_AUDIT_PER_PAGE,
};

/// The journals' record bound (every read buffer's size): the largest incident record.
pub(crate) const MAX_RECORD: u32 = cordon_wire::INCIDENT_RECORD_MAX as u32;

/// Records one query request reads at most over all journals before it answers with what it
/// has (and cursors to go on from): a filter that matches nothing in a full 64 MiB journal
/// costs several requests of bounded time, not one that holds the port for seconds.
pub const MAX_SCAN_RECORDS: u64 = 20_000;

/// Where the incident journals live: `<state_dir>/incidents` with `[control]`, else
/// `incidents/` beside the config file.
pub fn journal_root(config: &cordon_config::Config) -> PathBuf {
    match &config.control {
        Some(c) => c.state_dir.join("incidents"),
        None => config
            .source
            .parent()
            .unwrap_or(Path::new("."))
            .join("incidents"),
    }
}

/// One journal being read: its reader and the next incident the query keeps.
struct Head {
    worker: u16,
    reader: Reader,
    /// The next kept incident, not yet returned, with its journal time (ms).
    current: Option<(u64, Incident)>,
    /// The next sequence number to read.
    next: u64,
    /// Read to its end (for now).
    ended: bool,
}

impl Head {
    /// Reads on to the next incident the query keeps, within the request's budget.
    fn advance(&mut self, q: &IncidentQuery, budget: &mut u64) {
        self.current = None;
        while *budget > 0 {
            let entry = match self.reader.next() {
                Ok(Some(e)) => e,
                Ok(None) => {
                    self.ended = true;
                    return;
                }
                Err(e) => {
                    tracing::warn!(worker = self.worker, error = %e, "incident journal unreadable past this point; `cordonctl incidents verify` says where");
                    self.ended = true;
                    return;
                }
            };
            *budget -= 1;
            self.next = entry.seq + 1;
            let Some(mut i) = decode_incident_record(entry.payload) else {
                continue;
            };
            i.worker = self.worker;
            i.seq = entry.seq;
            if q.keeps(&i) {
                self.current = Some((entry.time_ms, i));
                return;
            }
        }
    }
}

/// One page of `q` over the journals under `root`.
pub fn query(root: &Path, q: &IncidentQuery) -> IncidentResults {
    let max = usize::from(q.max).clamp(1, MAX_INCIDENTS_PER_PAGE);
    let mut budget = MAX_SCAN_RECORDS;
    let mut heads: Vec<Head> = Vec::new();
    let wanted = journal_dirs(root)
        .into_iter()
        .filter(|(w, _)| q.worker.is_none_or(|only| only == *w));
    for (worker, dir) in wanted.take(MAX_WORKERS) {
        let since = q
            .since
            .iter()
            .find(|c| c.worker == worker)
            .map_or(1, |c| c.seq.max(1));
        match Reader::open(&dir, MAX_RECORD, Start::Seq(since)) {
            Ok(reader) => heads.push(Head {
                worker,
                reader,
                current: None,
                next: since,
                ended: false,
            }),
            Err(e) => {
                tracing::warn!(journal = %dir.display(), error = %e, "incident journal not readable")
            }
        }
    }
    for h in &mut heads {
        h.advance(q, &mut budget);
    }
    let mut incidents = heapless::Vec::new();
    while incidents.len() < max {
        // The oldest waiting incident over all journals (ties: the lower worker).
        let Some(h) = heads
            .iter_mut()
            .filter(|h| h.current.is_some())
            .min_by_key(|h| (h.current.as_ref().map_or(0, |c| c.0), h.worker))
        else {
            break;
        };
        let Some((_, i)) = h.current.take() else {
            break;
        };
        let _ = incidents.push(i);
        h.advance(q, &mut budget);
    }
    let mut next = heapless::Vec::new();
    let mut done = true;
    for h in &heads {
        let seq = match &h.current {
            Some((_, i)) => i.seq,
            None => h.next,
        };
        done &= h.current.is_none() && h.ended;
        let _ = next.push(Cursor {
            worker: h.worker,
            seq,
        });
    }
    IncidentResults {
        incidents,
        next,
        done,
    }
}

/// `ListIncidents` (the follow's catch-up): worker `worker`'s own journal from `since`.
pub fn page(root: &Path, worker: u16, since: u64, max: usize) -> IncidentPage {
    let q = IncidentQuery {
        since: heapless::Vec::from_slice(&[Cursor { worker, seq: since }]).unwrap_or_default(),
        worker: Some(worker),
        after_unix: None,
        before_unix: None,
        rule: None,
        action: None,
        sender: None,
        detector: None,
        max: u16::try_from(max).unwrap_or(u16::MAX),
    };
    let dir = cordon_proxy::incident_log::journal_dir(root, worker);
    let mut out = heapless::Vec::new();
    let mut next = since;
    let mut budget = MAX_SCAN_RECORDS;
    if let Ok(reader) = Reader::open(&dir, MAX_RECORD, Start::Seq(since.max(1))) {
        let mut h = Head {
            worker,
            reader,
            current: None,
            next: since,
            ended: false,
        };
        while out.len() < max.min(MAX_INCIDENTS_PER_PAGE) {
            h.advance(&q, &mut budget);
            match h.current.take() {
                Some((_, i)) => {
                    next = i.seq + 1;
                    let _ = out.push(i);
                }
                None => break,
            }
        }
    }
    let oldest = Reader::open(&dir, MAX_RECORD, Start::Seq(0))
        .ok()
        .and_then(|mut r| r.next().ok().flatten().map(|e| e.seq))
        .unwrap_or(next);
    IncidentPage {
        incidents: out,
        next,
        oldest,
    }
}

/// `VerifyIncidents`: the first journal with an index at or above `worker`.
pub fn verify(
    root: &Path,
    key: &[u8],
    worker: u16,
    anchor: Option<JournalAnchor>,
) -> Option<JournalReport> {
    let dirs = journal_dirs(root);
    let mut it = dirs.iter().filter(|(w, _)| *w >= worker);
    let (index, dir) = it.next()?;
    let next = it.next().map(|(w, _)| *w);
    let exported = anchor.filter(|a| a.worker == *index).map(|a| Anchor {
        seq: a.seq,
        tag: a.tag,
    });
    let mut report = JournalReport {
        worker: *index,
        first_seq: None,
        last_seq: None,
        first_time_unix: None,
        last_time_unix: None,
        last_tag: None,
        broken: None,
        torn_tail_bytes: 0,
        anchor: None,
        error: None,
        next,
    };
    let v = match cordon_journal::verify(dir, MAX_RECORD, key, exported) {
        Ok(v) => v,
        Err(e) => {
            report.error = Some(bounded(&e.to_string()));
            return Some(report);
        }
    };
    if let Some((first, last)) = v.range {
        report.first_seq = Some(first);
        report.last_seq = Some(last);
        report.first_time_unix = time_of(dir, first);
        report.last_time_unix = time_of(dir, last);
    }
    report.last_tag = v.last_tag;
    report.torn_tail_bytes = v.torn_tail_bytes;
    if let Err(b) = v.outcome {
        let (kind, found) = match b.reason {
            BreakReason::Torn => (BreakKind::Torn, None),
            BreakReason::Malformed(_) => (BreakKind::Malformed, None),
            BreakReason::Crc => (BreakKind::Crc, None),
            BreakReason::Gap { found } => (BreakKind::Gap, Some(found)),
            BreakReason::Reordered { found } => (BreakKind::Reordered, Some(found)),
            BreakReason::Chain => (BreakKind::Chain, None),
            BreakReason::SegmentName { header, .. } => (BreakKind::SegmentName, Some(header)),
        };
        let file = b
            .segment
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        report.broken = Some(JournalBreak {
            seq: b.seq,
            kind,
            found,
            file: bounded(&file),
            offset: b.offset,
        });
    }
    report.anchor = v.anchor.map(|a| match a {
        AnchorCheck::Matches => AnchorOutcome::Matches,
        AnchorCheck::TailLost { last_held } => AnchorOutcome::TailLost { last_held },
        AnchorCheck::TagDiffers => AnchorOutcome::TagDiffers,
        AnchorCheck::BeforeRange => AnchorOutcome::BeforeRange,
        AnchorCheck::NotReached => AnchorOutcome::NotReached,
    });
    Some(report)
}

/// The journal time (Unix seconds) of record `seq`.
fn time_of(dir: &Path, seq: u64) -> Option<u64> {
    let mut r = Reader::open(dir, MAX_RECORD, Start::Seq(seq)).ok()?;
    let e = r.next().ok()??;
    (e.seq == seq).then_some(e.time_ms / 1000)
}

/// `QueryAudit`: the audit records in worker `worker`'s journal (the config port's) from
/// `since`, at most `max`, reading at most [`MAX_SCAN_RECORDS`] records.
pub fn audit_page(root: &Path, worker: u16, since: u64, max: usize) -> AuditPage {
    let dir = cordon_proxy::incident_log::journal_dir(root, worker);
    let mut records = heapless::Vec::new();
    let mut next = since.max(1);
    let mut done = true;
    if let Ok(mut reader) = Reader::open(&dir, MAX_RECORD, Start::Seq(next)) {
        let mut budget = MAX_SCAN_RECORDS;
        done = false;
        while records.len() < max.clamp(1, MAX_AUDIT_PER_PAGE) && budget > 0 {
            let entry = match reader.next() {
                Ok(Some(e)) => e,
                _ => {
                    done = true;
                    break;
                }
            };
            budget -= 1;
            next = entry.seq + 1;
            if let Some(mut a) = decode_audit_record(entry.payload) {
                a.worker = worker;
                a.seq = entry.seq;
                let _ = records.push(a);
            }
        }
    }
    AuditPage {
        records,
        next,
        done,
    }
}

/// The `n` newest incidents over every worker's journal, newest first: each journal's newest
/// segment is read (at most [`MAX_SCAN_RECORDS`] records), keeping its last `n`.
pub fn recent(root: &Path, n: usize) -> Vec<Incident> {
    let mut all: Vec<(u64, Incident)> = Vec::new();
    for (worker, dir) in journal_dirs(root).into_iter().take(MAX_WORKERS) {
        let Ok(mut reader) = Reader::open(&dir, MAX_RECORD, Start::NewestSegment) else {
            continue;
        };
        let mut last: std::collections::VecDeque<(u64, Incident)> =
            std::collections::VecDeque::with_capacity(n + 1);
        let mut budget = MAX_SCAN_RECORDS;
        while budget > 0 {
            let Ok(Some(entry)) = reader.next() else {
                break;
            };
            budget -= 1;
            if let Some(mut i) = decode_incident_record(entry.payload) {
                i.worker = worker;
                i.seq = entry.seq;
                last.push_back((entry.time_ms, i));
                if last.len() > n {
                    last.pop_front();
                }
            }
        }
        all.extend(last);
    }
    all.sort_by_key(|(t, i)| std::cmp::Reverse((*t, i.worker, i.seq)));
    all.into_iter().take(n).map(|(_, i)| i).collect()
}

/// The newest `apply` or `rollback` in worker `worker`'s journal (the config port's audit
/// trail), read page by page from the oldest record.
pub fn last_apply(root: &Path, worker: u16) -> Option<cordon_wire::AuditRecord> {
    let mut since = 1;
    let mut found = None;
    loop {
        let page = audit_page(root, worker, since, MAX_AUDIT_PER_PAGE);
        for r in &page.records {
            if matches!(r.request.as_str(), "apply" | "rollback") && r.ok {
                found = Some(r.clone());
            }
        }
        if page.done || page.next <= since {
            return found;
        }
        since = page.next;
    }
}
