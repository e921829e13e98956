//! Keyed value tracking: each distinct value a detector finds in a message is named by a
//! keyed hash (a *tag*), so that the appliance can tell that the same card numbers left in
//! twelve messages without keeping a single card number.
//!
//! The tag is SipHash-2-4, under a per-appliance secret [`ValueKey`], of the detector's own
//! hash of the normalised value (digits only for a card, the compact form of an IBAN: the
//! hash the distinct counts already use, so `4556 7375 8689 9855` and `4556-7375-8689-9855`
//! are one value). Without the key nobody can test a guess against a tag; the key never
//! leaves the appliance (the gateway derives it from the stamp key under its own label).
//! Tags are 64 bits: two different values share a tag with odds of 2^-64 per pair.
//!
//! The engine computes tags as findings are made (no I/O), at most [`MAX_VALUE_TAGS`] per
//! detector and message; the gateway keeps them in the incident journal and counts repeats
//! on read.

use std::fmt;

use siphasher::sip::SipHasher24;

/// Bytes of a [`ValueKey`] (SipHash's 128-bit key).
pub const VALUE_KEY_BYTES: usize = 16;

/// Distinct values one detector tags per message. Tracking is about values that recur
/// across messages; a message naming more than 32 distinct cards is a dump its count
/// already reports, and 32 tags (256 bytes) per listed detector keep the incident record
/// small (8 detectors: 2 KiB).
pub const MAX_VALUE_TAGS: usize = 32;

/// The per-appliance secret key of value tags.
#[derive(Clone)]
pub struct ValueKey([u8; VALUE_KEY_BYTES]);

impl ValueKey {
    /// The key `bytes`.
    pub fn new(bytes: [u8; VALUE_KEY_BYTES]) -> ValueKey {
        ValueKey(bytes)
    }

    /// The tag of a value whose detector hash is `value_hash`.
    pub(crate) fn tag(&self, value_hash: u64) -> u64 {
        use std::hash::Hasher;
        let mut h = SipHasher24::new_with_key(&self.0);
        h.write(&value_hash.to_le_bytes());
        h.finish()
    }
}

// A secret: never printed.
impl fmt::Debug for ValueKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ValueKey(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_depend_on_the_key_and_the_value() {
        let a = ValueKey::new([1; VALUE_KEY_BYTES]);
        let b = ValueKey::new([2; VALUE_KEY_BYTES]);
        assert_eq!(a.tag(42), a.tag(42));
        assert_ne!(a.tag(42), a.tag(43));
        assert_ne!(a.tag(42), b.tag(42));
        assert_eq!(format!("{a:?}"), "ValueKey(..)");
    }

    fn tags(key: Option<ValueKey>, message: &str) -> Vec<(String, Vec<u64>)> {
        let engine = std::sync::Arc::new(
            crate::Engine::new(&crate::EngineConfig {
                dictionaries: vec![crate::DictionaryConfig {
                    name: "projects".into(),
                    terms: vec!["bluebird".into()],
                    ..Default::default()
                }],
                ..Default::default()
            })
            .unwrap(),
        );
        let mut scanner = engine.scanner();
        if let Some(key) = key {
            scanner.track_values(key);
        }
        scanner.feed(message.as_bytes());
        let f = scanner.finish();
        f.detectors
            .into_iter()
            .map(|d| (d.name, d.value_tags))
            .collect()
    }

    #[test]
    fn a_reformatted_card_is_one_tag_and_keywords_are_not_tagged() {
        let key = || Some(ValueKey::new([9; VALUE_KEY_BYTES]));
        let one = "Subject: a\r\n\r\nproject bluebird, card 4556 7375 8689 9855 exp 12/27\r\n";
        let two = "Subject: b\r\n\r\nbluebird again, card 4556-7375-8689-9855 and 5425 2334 3010 9903, exp 12/27\r\n";
        let a = tags(key(), one);
        let b = tags(key(), two);
        let card = |t: &[(String, Vec<u64>)]| {
            t.iter()
                .find(|(n, _)| n == "credit_card")
                .unwrap()
                .1
                .clone()
        };
        assert_eq!(card(&a).len(), 1, "{a:?}");
        assert_eq!(card(&b).len(), 2, "{b:?}");
        assert!(
            card(&b).contains(&card(&a)[0]),
            "the same card, other spacing"
        );
        let words = a.iter().find(|(n, _)| n == "projects").unwrap();
        assert!(words.1.is_empty(), "dictionary words are not tagged");
        // Without a key nothing is tagged.
        assert!(tags(None, one).iter().all(|(_, t)| t.is_empty()));
    }
}
