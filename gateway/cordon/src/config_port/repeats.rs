//! `QueryRepeats`: values that recur across messages ("the same 40 card numbers left in 12
//! messages this week"), counted without a single value on the appliance.
//!
//! The engine names each distinct value its identifier and pattern detectors find by a keyed
//! tag (`cordon_dlp::tracking`: SipHash under a key derived from the appliance key); the
//! incident journal keeps the tags in each incident record (`cordon_wire::ValueTags`, at most
//! 32 per detector). The counts are made here, on read, from the journals: they survive
//! restarts and upgrades as the incidents do, cover exactly the retention the journals have,
//! and need no state of their own (no sketch to persist, no shared memory between workers).
//! The price is that only messages with an incident count; a value that left in messages no
//! rule flagged is not seen.
//!
//! Memory is fixed per request: a table of at most [`MAX_REPEAT_VALUES`] distinct values
//! (further new values are counted as `untracked` and the answer says it is incomplete), and
//! at most [`MAX_REPEAT_RECORDS`] records read over all journals. Two passes over the same
//! records: the first counts, per value, the messages that carried it; the second counts the
//! messages that carried a value seen twice or more, and names the incidents of the top
//! values.

use std::collections::HashMap;
use std::path::Path;

use cordon_journal::{Reader, Start};
use cordon_proxy::incident_log::journal_dirs;
use cordon_wire::limits::{
    MAX_REPEAT_DETECTORS, MAX_REPEAT_INCIDENTS, MAX_REPEAT_TOP, MAX_WORKERS,
};
use cordon_wire::{
    decode_incident_with_tags, Cursor, RepeatDetector, RepeatQuery, RepeatReport, RepeatValue,
    Sample,
};

/// Distinct values one request counts. A week of incidents on a busy site names a few
/// thousand distinct cards and IDs; 32,768 entries of [`VALUE_ENTRY_BYTES`] cost about 2 MiB
/// for the length of one request, within the config port's share of the board's memory.
pub const MAX_REPEAT_VALUES: usize = 32_768;

/// Bytes one counted value costs in the table: the key (tag, detector), the entry, and the
/// hash map's control byte and spare capacity (it is allocated for [`MAX_REPEAT_VALUES`] at
/// 7/8 load, so at most 8/7 of a slot per entry; rounded up).
pub const VALUE_ENTRY_BYTES: usize = 64;

/// The table's memory budget (the budget test checks the entry size against it).
pub const REPEAT_TABLE_BYTES: usize = MAX_REPEAT_VALUES * VALUE_ENTRY_BYTES;

// The table stays within 4 MiB, the most the config port holds for one request.
const _: () = assert!(REPEAT_TABLE_BYTES <= 4 << 20);

/// Journal records read per pass over all journals: a full 64 MiB journal per worker holds
/// some 200,000 incidents; two workers' worth is read in a few seconds on the slowest board.
pub const MAX_REPEAT_RECORDS: u64 = 400_000;

/// Detector names one request tells apart (the table keys values by an index into them).
pub const MAX_TRACKED_DETECTORS: usize = 64;

/// One counted value.
#[derive(Debug, Clone, Copy)]
struct Seen {
    messages: u32,
    first_unix: u64,
    last_unix: u64,
}

/// One incident's tagged values, as the passes read them.
struct Message {
    cursor: Cursor,
    time_unix: u64,
    /// (detector index, tags) per listed detector.
    values: Vec<(u16, Vec<u64>)>,
}

/// Reads every journal under `root` from its oldest record, calling `each` for every message
/// (consecutive incidents of one message in a journal count once) within the query's time and
/// detector filters; returns the incidents read, whether every journal was read to its end,
/// and per journal the last sequence number read (`stop` bounds a second pass to the same).
fn read(
    root: &Path,
    q: &RepeatQuery,
    names: &mut Vec<Sample>,
    stop: Option<&[(u16, u64)]>,
    mut each: impl FnMut(&Message),
) -> (u64, bool, Vec<(u16, u64)>) {
    let mut budget = MAX_REPEAT_RECORDS;
    let mut complete = true;
    let mut read_to = Vec::new();
    let mut incidents = 0;
    for (worker, dir) in journal_dirs(root).into_iter().take(MAX_WORKERS) {
        let last = stop.and_then(|s| s.iter().find(|(w, _)| *w == worker).map(|(_, l)| *l));
        if stop.is_some() && last.is_none() {
            continue;
        }
        let Ok(mut reader) = Reader::open(&dir, crate::incidents::MAX_RECORD, Start::Seq(1)) else {
            continue;
        };
        let mut last_read = 0;
        let mut previous: Option<(String, String)> = None;
        loop {
            if last.is_some_and(|l| last_read >= l) {
                break;
            }
            if budget == 0 {
                complete = false;
                break;
            }
            let entry = match reader.next() {
                Ok(Some(e)) => e,
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(worker, error = %e, "incident journal unreadable past this point; `cordonctl incidents verify` says where");
                    break;
                }
            };
            budget -= 1;
            last_read = entry.seq;
            let Some((incident, tags)) = decode_incident_with_tags(entry.payload) else {
                continue;
            };
            incidents += 1;
            if q.after_unix.is_some_and(|a| incident.time_unix < a) {
                continue;
            }
            let id = (
                incident.session.to_string(),
                incident.message_id.to_string(),
            );
            if previous.as_ref() == Some(&id) {
                continue;
            }
            previous = Some(id);
            let mut values = Vec::new();
            for (d, t) in incident.detectors.iter().zip(tags.tags.iter()) {
                if t.is_empty() || q.detector.as_ref().is_some_and(|only| *only != d.name) {
                    continue;
                }
                let index = match names.iter().position(|n| *n == d.name) {
                    Some(i) => i,
                    None if names.len() < MAX_TRACKED_DETECTORS => {
                        names.push(d.name.clone());
                        names.len() - 1
                    }
                    None => continue,
                };
                values.push((index as u16, t.to_vec()));
            }
            if !values.is_empty() {
                each(&Message {
                    cursor: Cursor {
                        worker,
                        seq: entry.seq,
                    },
                    time_unix: incident.time_unix,
                    values,
                });
            }
        }
        read_to.push((worker, last_read));
    }
    (incidents, complete, read_to)
}

/// Per detector: distinct, repeated, messages, repeat messages.
#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    distinct: u32,
    repeated: u32,
    messages: u32,
    repeat_messages: u32,
}

/// The answer to `q` over the journals under `root`.
pub fn repeats(root: &Path, q: &RepeatQuery) -> RepeatReport {
    let mut names: Vec<Sample> = Vec::new();
    let mut table: HashMap<(u64, u16), Seen> = HashMap::with_capacity(MAX_REPEAT_VALUES);
    let mut totals = [Totals::default(); MAX_TRACKED_DETECTORS];
    let mut messages = 0u32;
    let mut untracked = 0u32;
    let (incidents, mut complete, read_to) = read(root, q, &mut names, None, |m| {
        messages += 1;
        for (d, tags) in &m.values {
            totals[usize::from(*d)].messages += 1;
            for &tag in tags {
                let full = table.len() >= MAX_REPEAT_VALUES;
                match table.get_mut(&(tag, *d)) {
                    Some(s) => {
                        s.messages += 1;
                        s.first_unix = s.first_unix.min(m.time_unix);
                        s.last_unix = s.last_unix.max(m.time_unix);
                    }
                    None if full => untracked += 1,
                    None => {
                        table.insert(
                            (tag, *d),
                            Seen {
                                messages: 1,
                                first_unix: m.time_unix,
                                last_unix: m.time_unix,
                            },
                        );
                    }
                }
            }
        }
    });
    complete &= untracked == 0;
    for ((_, d), s) in &table {
        let t = &mut totals[usize::from(*d)];
        t.distinct += 1;
        if s.messages >= 2 {
            t.repeated += 1;
        }
    }
    // The most widespread values (ties: the newest, then the tag, for a stable answer).
    let mut top: Vec<((u64, u16), Seen)> = table
        .iter()
        .filter(|(_, s)| s.messages >= 2)
        .map(|(k, s)| (*k, *s))
        .collect();
    top.sort_by_key(|(k, s)| (std::cmp::Reverse((s.messages, s.last_unix)), *k));
    top.truncate(MAX_REPEAT_TOP);
    let mut top_incidents: Vec<heapless::Vec<Cursor, MAX_REPEAT_INCIDENTS>> =
        vec![heapless::Vec::new(); top.len()];
    read(root, q, &mut names, Some(&read_to), |m| {
        for (d, tags) in &m.values {
            let mut repeated = false;
            for tag in tags {
                if table.get(&(*tag, *d)).is_some_and(|s| s.messages >= 2) {
                    repeated = true;
                }
                if let Some(i) = top.iter().position(|(k, _)| *k == (*tag, *d)) {
                    let _ = top_incidents[i].push(m.cursor);
                }
            }
            if repeated {
                totals[usize::from(*d)].repeat_messages += 1;
            }
        }
    });
    let mut detectors: Vec<(Sample, Totals)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.clone(), totals[i]))
        .collect();
    detectors.sort_by(|a, b| {
        (b.1.repeated, b.1.messages, &a.0).cmp(&(a.1.repeated, a.1.messages, &b.0))
    });
    RepeatReport {
        incidents,
        messages,
        complete,
        untracked,
        detectors: detectors
            .into_iter()
            .take(MAX_REPEAT_DETECTORS)
            .map(|(detector, t)| RepeatDetector {
                detector,
                distinct: t.distinct,
                repeated: t.repeated,
                messages: t.messages,
                repeat_messages: t.repeat_messages,
            })
            .collect(),
        top: top
            .iter()
            .zip(top_incidents)
            .map(|(((tag, d), s), incidents)| RepeatValue {
                detector: names[usize::from(*d)].clone(),
                tag: (tag >> 32) as u32,
                messages: s.messages,
                first_unix: s.first_unix,
                last_unix: s.last_unix,
                incidents,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cordon_journal::Journal;
    use cordon_wire::{Confidence, IncidentDetector, IncidentKind, ValueTags, Verdict};

    /// A journal root of its own under the system's temporary directory, removed on drop.
    struct Root(std::path::PathBuf);
    impl Root {
        fn new(tag: &str) -> Root {
            let p =
                std::env::temp_dir().join(format!("cordon-repeats-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            Root(p)
        }
    }
    impl Drop for Root {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// One incident of message `msg` at `time`, with `tags` per detector name.
    fn record(msg: &str, time: u64, detectors: &[(&str, &[u64])]) -> Vec<u8> {
        let mut dets = heapless::Vec::new();
        let mut tags = ValueTags::default();
        for (name, t) in detectors {
            let _ = dets.push(IncidentDetector {
                name: cordon_wire::bounded(name),
                count: t.len() as u32,
                confidence: Confidence::High,
                samples: heapless::Vec::new(),
            });
            let _ = tags.tags.push(heapless::Vec::from_slice(t).unwrap());
        }
        let incident = cordon_wire::Incident {
            worker: 0,
            seq: 0,
            time_unix: time,
            kind: IncidentKind::Dlp,
            reason: cordon_wire::bounded(""),
            session: cordon_wire::bounded(msg),
            message_id: cordon_wire::bounded(&format!("<{msg}@contoso.com>")),
            sender: cordon_wire::bounded("carol@contoso.com"),
            subject: cordon_wire::bounded(msg),
            recipients: 1,
            rcpts: heapless::Vec::new(),
            rule: None,
            action: Verdict::Block,
            detectors: dets,
            downstream_reply: None,
        };
        let mut buf = vec![0u8; cordon_wire::INCIDENT_RECORD_MAX];
        let n = cordon_wire::encode_incident_record(&incident, &tags, &mut buf).unwrap();
        buf.truncate(n);
        buf
    }

    fn write(root: &Root, worker: u16, records: &[Vec<u8>]) {
        let dir = cordon_proxy::incident_log::journal_dir(&root.0, worker);
        let limits = cordon_proxy::incident_log::limits(64 << 20);
        let mut j = Journal::open(dir, limits, &[7u8; 32]).unwrap();
        for (i, r) in records.iter().enumerate() {
            j.append(1_000 + i as u64, r).unwrap();
        }
    }

    fn all() -> RepeatQuery {
        RepeatQuery {
            after_unix: None,
            detector: None,
        }
    }

    #[test]
    fn values_are_counted_once_per_message_across_journals() {
        let root = Root::new("count");
        let (a, b, c, x) = (0xA000_0000_0000_0001, 0xB000_0000_0000_0002, 0xC3, 0x1BA);
        // m1 raised two incidents (two rules): one message. m2 repeats a; m3 (worker 1)
        // repeats a and b; m0 is old and carries b.
        write(
            &root,
            0,
            &[
                record("m0", 100, &[("credit_card", &[b])]),
                record("m1", 200, &[("credit_card", &[a, b]), ("iban", &[x])]),
                record("m1", 200, &[("credit_card", &[a, b]), ("iban", &[x])]),
                record("m2", 300, &[("credit_card", &[a, c]), ("projects", &[])]),
            ],
        );
        write(&root, 1, &[record("m3", 400, &[("credit_card", &[a, b])])]);
        let r = repeats(&root.0, &all());
        assert_eq!((r.incidents, r.messages, r.complete), (5, 4, true), "{r:?}");
        let card = &r.detectors[0];
        assert_eq!(card.detector.as_str(), "credit_card");
        // a in m1, m2, m3; b in m0, m1, m3; c once.
        assert_eq!(
            (
                card.distinct,
                card.repeated,
                card.messages,
                card.repeat_messages
            ),
            (3, 2, 4, 4),
            "{r:?}"
        );
        let iban = &r.detectors[1];
        assert_eq!((iban.distinct, iban.repeated, iban.messages), (1, 0, 1));
        assert_eq!(
            r.detectors.len(),
            2,
            "a detector without tags is not listed"
        );
        assert_eq!(r.top.len(), 2);
        assert_eq!(
            r.top[0].tag,
            (a >> 32) as u32,
            "a tie (3 messages, last at 400): the lower tag first"
        );
        assert_eq!(
            (r.top[0].messages, r.top[0].first_unix, r.top[0].last_unix),
            (3, 200, 400)
        );
        let cursors: Vec<(u16, u64)> = r.top[0]
            .incidents
            .iter()
            .map(|c| (c.worker, c.seq))
            .collect();
        assert_eq!(cursors, [(0, 2), (0, 4), (1, 1)]);

        // From time 250: m2 and m3 share a only.
        let later = repeats(
            &root.0,
            &RepeatQuery {
                after_unix: Some(250),
                detector: None,
            },
        );
        assert_eq!(later.messages, 2);
        assert_eq!(
            (
                later.detectors[0].repeated,
                later.detectors[0].repeat_messages
            ),
            (1, 2)
        );
        let only = repeats(
            &root.0,
            &RepeatQuery {
                after_unix: None,
                detector: Some(cordon_wire::bounded("iban")),
            },
        );
        assert_eq!(
            (only.messages, only.detectors.len(), only.top.len()),
            (1, 1, 0)
        );
    }

    #[test]
    fn a_full_value_table_says_its_counts_are_lower_bounds() {
        let root = Root::new("full");
        // One distinct value more than the table holds, 32 per message, each message once.
        let per = cordon_wire::limits::MAX_VALUE_TAGS;
        let messages = MAX_REPEAT_VALUES / per + 1;
        let records: Vec<Vec<u8>> = (0..messages)
            .map(|m| {
                let tags: Vec<u64> = (0..per).map(|i| (m * per + i) as u64).collect();
                record(&format!("m{m}"), 10, &[("credit_card", &tags)])
            })
            .collect();
        write(&root, 0, &records);
        let r = repeats(&root.0, &all());
        assert!(!r.complete, "{r:?}");
        assert_eq!(r.untracked as usize, messages * per - MAX_REPEAT_VALUES);
        assert_eq!(r.detectors[0].distinct as usize, MAX_REPEAT_VALUES);
        assert_eq!(r.messages as usize, messages);
    }

    #[test]
    fn the_table_budget_covers_its_entries() {
        // Key, entry and the map's per-slot control byte, at the 7/8 load it is sized for.
        let slot = std::mem::size_of::<((u64, u16), Seen)>() + 1;
        let per_entry = slot * 8 / 7 + 1;
        println!("repeat table: {MAX_REPEAT_VALUES} values x {per_entry} bytes (budget {VALUE_ENTRY_BYTES}): {} KiB", REPEAT_TABLE_BYTES >> 10);
        assert!(
            per_entry <= VALUE_ENTRY_BYTES,
            "{per_entry} > {VALUE_ENTRY_BYTES}"
        );
        // Sized up front: the map never grows past its first allocation.
        let table: HashMap<(u64, u16), Seen> = HashMap::with_capacity(MAX_REPEAT_VALUES);
        assert!(table.capacity() >= MAX_REPEAT_VALUES);
        assert!(table.capacity() < 2 * MAX_REPEAT_VALUES);
    }
}
