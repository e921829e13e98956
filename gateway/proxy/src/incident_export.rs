//! What the journal writer adds for the SIEM exporter and the audit trail: each record's chain
//! tag (recomputed from the batch, so the journal's API stays one anchor per batch), and the
//! audit record's log line.

use cordon_journal::{ChainKey, Tag};
use cordon_wire::AuditRecord;

/// The tags of a durable batch's records, in order: `tag(n) = HMAC(key, tag(n-1) || seq ||
/// time || payload)`, exactly as the journal chained them.
#[derive(Debug)]
pub struct Tags<'a> {
    key: ChainKey,
    prev: Tag,
    seq: u64,
    records: std::slice::Iter<'a, (u64, Vec<u8>)>,
}

impl<'a> Tags<'a> {
    /// `prev` is the tag before the batch, `first` the batch's first sequence number.
    pub fn new(key: ChainKey, prev: Tag, first: u64, records: &'a [(u64, Vec<u8>)]) -> Self {
        Tags {
            key,
            prev,
            seq: first,
            records: records.iter(),
        }
    }

    /// The next record's number and tag.
    pub fn advance(&mut self) -> (u64, Tag) {
        let seq = self.seq;
        if let Some((time, payload)) = self.records.next() {
            self.prev = self.key.tag(&self.prev, seq, *time, payload);
        }
        self.seq += 1;
        (seq, self.prev)
    }
}

/// The audit record's log line, with its number: who did what, and how it ended.
pub fn log_audit(a: &AuditRecord, worker: u16, seq: u64) {
    let who = match (&a.subject, a.uid) {
        (Some(s), _) => format!("certificate {s}"),
        (None, Some(uid)) => format!("uid {uid}"),
        (None, None) => a.peer.to_string(),
    };
    let generation = a.generation.map(|g| g.to_string()).unwrap_or_default();
    let changes = a.changes.escape_debug().to_string();
    match &a.error {
        None => tracing::info!(
            audit = %format_args!("w{worker}:{seq}"),
            who = %who,
            peer = %a.peer,
            request = %a.request,
            generation = %generation,
            changes = %changes,
            "config port: {} by {who}",
            a.request
        ),
        Some(e) => tracing::warn!(
            audit = %format_args!("w{worker}:{seq}"),
            who = %who,
            peer = %a.peer,
            request = %a.request,
            error = %e.escape_debug(),
            "config port: {} by {who} refused",
            a.request
        ),
    }
}

#[cfg(test)]
mod tests {
    use cordon_journal::{Journal, Limits, GENESIS_TAG};

    use super::*;

    #[test]
    fn recomputed_tags_match_the_journal_chain() {
        let dir = tempfile::tempdir().unwrap();
        let key = [9u8; 32];
        let mut j = Journal::open(dir.path(), Limits::default(), &key).unwrap();
        let first: Vec<(u64, Vec<u8>)> = vec![(1_000, b"one".to_vec())];
        let a = j.append(first[0].0, &first[0].1).unwrap();
        let batch: Vec<(u64, Vec<u8>)> = vec![(2_000, b"two".to_vec()), (2_000, b"three".to_vec())];
        let refs: Vec<(u64, &[u8])> = batch.iter().map(|(t, p)| (*t, p.as_slice())).collect();
        let last = j.append_batch(&refs).unwrap().unwrap();
        let mut tags = Tags::new(ChainKey::new(&key).unwrap(), GENESIS_TAG, 1, &first);
        assert_eq!(tags.advance(), (1, a.tag));
        let mut tags = Tags::new(ChainKey::new(&key).unwrap(), a.tag, 2, &batch);
        tags.advance();
        assert_eq!(tags.advance(), (last.seq, last.tag));
    }
}
