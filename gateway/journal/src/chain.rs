//! The hash chain: each record's tag is an HMAC over the previous tag and the record, so a
//! record cannot be altered, removed, inserted or moved without the appliance key.
//! [`Chain`] is the sans-IO checker that recovery, `verify` and the fuzz target share.

use ring::hmac;

use crate::format::{RecordHeader, Tag, GENESIS_TAG, TAG_LEN};

/// Shortest appliance key accepted: HMAC-SHA256's strength is bounded by the key, and 16 bytes
/// (128 bits) is the least any key the appliance generates carries.
pub const MIN_KEY_LEN: usize = 16;

/// A key for one purpose derived from the appliance key: HMAC-SHA256(appliance key, label).
/// The gateway keys the journal with `derive_key(stamp key, JOURNAL_KEY_LABEL)`, never with the
/// stamp key itself, so a tag and a stamp signature can never be swapped for one another.
pub fn derive_key(appliance_key: &[u8], label: &[u8]) -> [u8; TAG_LEN] {
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, appliance_key), label);
    let mut out = [0u8; TAG_LEN];
    out.copy_from_slice(tag.as_ref());
    out
}

/// The label of the incident journal's key (see [`derive_key`]); a new label is a new chain.
pub const JOURNAL_KEY_LABEL: &[u8] = b"cordon incident journal chain v1";

/// The HMAC key, prepared once. Holds secret material: `Debug` does not show it.
#[derive(Clone)]
pub struct ChainKey(hmac::Key);

impl std::fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChainKey(<redacted>)")
    }
}

impl ChainKey {
    /// `None` if the key is shorter than [`MIN_KEY_LEN`].
    pub fn new(key: &[u8]) -> Option<Self> {
        (key.len() >= MIN_KEY_LEN).then(|| Self(hmac::Key::new(hmac::HMAC_SHA256, key)))
    }

    /// HMAC-SHA256(key, prev_tag || seq LE || time LE || payload).
    pub fn tag(&self, prev: &Tag, seq: u64, time_ms: u64, payload: &[u8]) -> Tag {
        let mut ctx = hmac::Context::with_key(&self.0);
        ctx.update(prev);
        ctx.update(&seq.to_le_bytes());
        ctx.update(&time_ms.to_le_bytes());
        ctx.update(payload);
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(ctx.sign().as_ref());
        tag
    }

    /// Constant-time comparison of a stored tag with the one the record should carry.
    fn tag_ok(&self, prev: &Tag, header: &RecordHeader, payload: &[u8]) -> bool {
        let expected = self.tag(prev, header.seq, header.time_ms, payload);
        // Every byte compared whatever the first difference, so timing shows nothing.
        expected
            .iter()
            .zip(&header.tag)
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
    }
}

/// Why a record does not continue the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// The record carries a later sequence number than the next one: records are missing.
    Gap { found: u64 },
    /// The record carries an earlier sequence number: records were moved or replayed.
    Reordered { found: u64 },
    /// Sequence number right, tag wrong: the record (or its predecessor) was altered, or it
    /// was written with another key.
    Tag,
}

/// Where the chain stands: the next sequence number and the tag it must build on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chain {
    pub next_seq: u64,
    pub prev_tag: Tag,
}

impl Default for Chain {
    /// An empty journal: record 1 builds on the genesis tag.
    fn default() -> Self {
        Self {
            next_seq: 1,
            prev_tag: GENESIS_TAG,
        }
    }
}

impl Chain {
    /// Checks that `header` + `payload` (CRC already checked) is the next link; if so, advances.
    pub fn accept(
        &mut self,
        key: &ChainKey,
        header: &RecordHeader,
        payload: &[u8],
    ) -> Result<(), Link> {
        if header.seq > self.next_seq {
            return Err(Link::Gap { found: header.seq });
        }
        if header.seq < self.next_seq {
            return Err(Link::Reordered { found: header.seq });
        }
        if !key.tag_ok(&self.prev_tag, header, payload) {
            return Err(Link::Tag);
        }
        self.next_seq += 1;
        self.prev_tag = header.tag;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_keys_differ_by_label_and_from_the_appliance_key() {
        let k = [7u8; 32];
        let a = derive_key(&k, JOURNAL_KEY_LABEL);
        assert_eq!(a, derive_key(&k, JOURNAL_KEY_LABEL));
        assert_ne!(a, derive_key(&k, b"another label"));
        assert_ne!(a, k);
    }

    const KEY: &[u8] = b"0123456789abcdef-appliance";

    fn record(key: &ChainKey, prev: &Tag, seq: u64, payload: &[u8]) -> RecordHeader {
        RecordHeader::new(
            seq,
            seq * 10,
            key.tag(prev, seq, seq * 10, payload),
            payload,
        )
    }

    #[test]
    fn tag_is_hmac_sha256_over_the_documented_fields() {
        let key = ChainKey::new(KEY).unwrap();
        let prev = [9u8; TAG_LEN];
        let mut message = prev.to_vec();
        message.extend_from_slice(&5u64.to_le_bytes());
        message.extend_from_slice(&77u64.to_le_bytes());
        message.extend_from_slice(b"payload");
        let expected = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, KEY), &message);
        assert_eq!(key.tag(&prev, 5, 77, b"payload"), expected.as_ref());
    }

    #[test]
    fn short_keys_are_refused_and_debug_hides_the_key() {
        assert!(ChainKey::new(&KEY[..MIN_KEY_LEN - 1]).is_none());
        let key = ChainKey::new(&KEY[..MIN_KEY_LEN]).unwrap();
        assert_eq!(format!("{key:?}"), "ChainKey(<redacted>)");
    }

    #[test]
    fn chain_accepts_links_and_names_gaps_reorders_and_forgeries() {
        let key = ChainKey::new(KEY).unwrap();
        let mut chain = Chain::default();
        let r1 = record(&key, &GENESIS_TAG, 1, b"one");
        let r2 = record(&key, &r1.tag, 2, b"two");
        let r3 = record(&key, &r2.tag, 3, b"three");
        chain.accept(&key, &r1, b"one").unwrap();

        let mut skip = chain;
        assert_eq!(
            skip.accept(&key, &r3, b"three"),
            Err(Link::Gap { found: 3 })
        );
        let mut replay = chain;
        assert_eq!(
            replay.accept(&key, &r1, b"one"),
            Err(Link::Reordered { found: 1 })
        );
        let mut altered = chain;
        assert_eq!(altered.accept(&key, &r2, b"twO"), Err(Link::Tag));
        let other = ChainKey::new(b"another appliance key").unwrap();
        let mut foreign = chain;
        assert_eq!(foreign.accept(&other, &r2, b"two"), Err(Link::Tag));
        // A refused record leaves the chain where it was.
        assert_eq!(skip, chain);

        chain.accept(&key, &r2, b"two").unwrap();
        chain.accept(&key, &r3, b"three").unwrap();
        assert_eq!(
            chain,
            Chain {
                next_seq: 4,
                prev_tag: r3.tag
            }
        );
    }
}
