//! The payload stored in a slot: the config TOML and the per-appliance stamp key, kept
//! together so a rollback can never pair a config with a key it was not written with.
//!
//! Layout: `u32 LE toml length, toml (UTF-8), u32 LE key length, key`, nothing after.

use crate::StoreError;

#[derive(Clone, PartialEq, Eq)]
pub struct ConfigRecord {
    pub toml: String,
    /// Secret: not shown by `Debug`.
    pub stamp_key: Vec<u8>,
}

impl std::fmt::Debug for ConfigRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigRecord")
            .field("toml_len", &self.toml.len())
            .field("stamp_key", &"<redacted>")
            .finish()
    }
}

impl ConfigRecord {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + self.toml.len() + self.stamp_key.len());
        for part in [self.toml.as_bytes(), &self.stamp_key] {
            out.extend_from_slice(&(part.len() as u32).to_le_bytes());
            out.extend_from_slice(part);
        }
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        fn take<'a>(rest: &mut &'a [u8]) -> Result<&'a [u8], StoreError> {
            let bad = StoreError::Record {
                reason: "a length runs past the end",
            };
            let (len, tail) = rest.split_first_chunk::<4>().ok_or(bad)?;
            let len = u32::from_le_bytes(*len) as usize;
            if len > tail.len() {
                return Err(StoreError::Record {
                    reason: "a length runs past the end",
                });
            }
            let (part, tail) = tail.split_at(len);
            *rest = tail;
            Ok(part)
        }
        let mut rest = bytes;
        let toml = take(&mut rest)?;
        let stamp_key = take(&mut rest)?.to_vec();
        if !rest.is_empty() {
            return Err(StoreError::Record {
                reason: "trailing bytes",
            });
        }
        let toml = String::from_utf8(toml.to_vec()).map_err(|_| StoreError::Record {
            reason: "config is not UTF-8",
        })?;
        Ok(Self { toml, stamp_key })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let rec = ConfigRecord {
            toml: "[smtp]\n".into(),
            stamp_key: vec![1, 2, 3],
        };
        let bytes = rec.encode();
        assert_eq!(ConfigRecord::decode(&bytes).unwrap(), rec);
        let reason = |b: &[u8]| match ConfigRecord::decode(b) {
            Err(StoreError::Record { reason }) => reason,
            other => panic!("{other:?}"),
        };
        for cut in 0..bytes.len() {
            assert_eq!(
                reason(&bytes[..cut]),
                "a length runs past the end",
                "cut {cut}"
            );
        }
        let mut extra = bytes.clone();
        extra.push(0);
        assert_eq!(reason(&extra), "trailing bytes");
        let mut latin1 = bytes.clone();
        latin1[4] = 0xE9;
        assert_eq!(reason(&latin1), "config is not UTF-8");
        assert!(!format!("{rec:?}").contains("1, 2, 3"));
    }
}
