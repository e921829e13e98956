//! The signed inspected stamp and the loop guard.
//!
//! Value: `true; by=<hostname>; sig=<64 hex digits>`, so an Exchange rule
//! matching the word `true` keeps working. The signature is HMAC-SHA256 with
//! the appliance key over a domain-separation label and three
//! length-prefixed fields (u32 big-endian length, then bytes): the
//! Message-ID, the Date and the `by` hostname. Length prefixes make the
//! encoding unambiguous (no field can absorb a delimiter of the next).
//! Message-ID and Date are the raw header values the gateway finds,
//! unfolded and with whitespace runs collapsed (a hop that refolds the
//! header does not break the stamp); a missing header signs as the empty
//! string, so such a message is still recognised when it comes back.
//!
//! Verification outcomes, and what the gateway does with each:
//! - [`StampCheck::Valid`]: the signature verifies under our key: this
//!   appliance already inspected the message, so it is a loop (`on_loop`).
//! - [`StampCheck::Forged`]: it claims to be ours (`by=` our hostname) or
//!   carries a `sig=`, and does not verify: removed, the message inspected
//!   as usual, an incident raised.
//! - [`StampCheck::Foreign`]: no signature and another (or no) `by=`, e.g. a
//!   bare `true` a sender or another product wrote. Not a claim of ours, so
//!   no incident; it is removed anyway, since it uses our header name and
//!   must not make Exchange skip inspection downstream.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::Error;

/// Bytes of the per-appliance key (the HMAC-SHA256 block-size-safe length).
pub const KEY_BYTES: usize = 32;

/// Separates our MACs from any other use of the key; the version allows a
/// later change of encoding to be told apart.
const LABEL: &[u8] = b"cordon-inspected-stamp-v1";

/// Hex digits of a SHA-256 MAC.
const SIG_HEX: usize = 64;

/// Reads a new appliance key from the OS random source (first start).
pub fn generate_key() -> Result<[u8; KEY_BYTES], Error> {
    let mut k = [0u8; KEY_BYTES];
    getrandom::getrandom(&mut k).map_err(|e| Error::Random(e.to_string()))?;
    Ok(k)
}

/// What a stamp found on an arriving message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StampCheck {
    /// Ours and authentic: the message has been through this appliance (a loop).
    Valid,
    /// Claims to be ours or carries a signature, and does not verify.
    Forged,
    /// Unsigned and not claiming our hostname.
    Foreign,
}

/// The signed inspected stamp.
#[derive(Debug, Clone, Copy)]
pub struct Stamp;

fn normalise(v: &str) -> String {
    v.split_ascii_whitespace().collect::<Vec<_>>().join(" ")
}

/// Hostnames go into a `;`-separated value: keep only DNS-name characters.
fn clean_host(h: &str) -> String {
    h.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .collect::<String>()
        .to_ascii_lowercase()
}

fn mac(key: &[u8; KEY_BYTES], by: &str, message_id: &str, date: &str) -> Hmac<Sha256> {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
    m.update(LABEL);
    for field in [normalise(message_id), normalise(date), by.to_string()] {
        m.update(&(field.len() as u32).to_be_bytes());
        m.update(field.as_bytes());
    }
    m
}

fn hex_decode(s: &str) -> Option<[u8; 32]> {
    if s.len() != SIG_HEX {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in s.as_bytes().chunks(2).enumerate() {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        out[i] = (hi * 16 + lo) as u8;
    }
    Some(out)
}

impl Stamp {
    /// The header value for a message relayed by `hostname`.
    pub fn sign(key: &[u8; KEY_BYTES], hostname: &str, message_id: &str, date: &str) -> String {
        let by = clean_host(hostname);
        let tag = mac(key, &by, message_id, date).finalize().into_bytes();
        let mut sig = String::with_capacity(SIG_HEX);
        for b in tag {
            sig.push_str(&format!("{b:02x}"));
        }
        format!("true; by={by}; sig={sig}")
    }

    /// Checks a stamp value found on an arriving message (see the module doc).
    /// The signature comparison is constant-time (`Mac::verify_slice`).
    pub fn verify(
        key: &[u8; KEY_BYTES],
        hostname: &str,
        value: &str,
        message_id: &str,
        date: &str,
    ) -> StampCheck {
        let mut by = None;
        let mut sig = None;
        for part in value.split(';').skip(1) {
            let part = part.trim();
            if let Some(v) = part.strip_prefix("by=") {
                by = Some(v.trim());
            } else if let Some(v) = part.strip_prefix("sig=") {
                sig = Some(v.trim());
            }
        }
        let ours = clean_host(hostname);
        let claims_ours = by.is_some_and(|b| b.eq_ignore_ascii_case(&ours));
        let Some(sig) = sig else {
            return if claims_ours {
                StampCheck::Forged
            } else {
                StampCheck::Foreign
            };
        };
        let first_ok = value.split(';').next().is_some_and(|w| w.trim() == "true");
        let by = by.map(clean_host).unwrap_or_default();
        match hex_decode(&sig.to_ascii_lowercase()) {
            Some(tag) if first_ok && mac(key, &by, message_id, date).verify_slice(&tag).is_ok() => {
                StampCheck::Valid
            }
            _ => StampCheck::Forged,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];
    const MID: &str = "<abc123@mail.contoso.com>";
    const DATE: &str = "Tue, 1 Jul 2025 10:00:00 +0000";

    #[test]
    fn signs_and_verifies() {
        let v = Stamp::sign(&KEY, "Cordon1.Contoso.com", MID, DATE);
        assert!(v.starts_with("true; by=cordon1.contoso.com; sig="), "{v}");
        assert_eq!(v.len(), "true; by=cordon1.contoso.com; sig=".len() + 64);
        assert_eq!(
            Stamp::verify(&KEY, "cordon1.contoso.com", &v, MID, DATE),
            StampCheck::Valid
        );
        // Refolded headers still verify.
        assert_eq!(
            Stamp::verify(
                &KEY,
                "cordon1.contoso.com",
                &v,
                MID,
                "Tue, 1 Jul 2025\r\n 10:00:00  +0000"
            ),
            StampCheck::Valid
        );
    }

    #[test]
    fn missing_headers_sign_as_empty() {
        let v = Stamp::sign(&KEY, "gw", "", "");
        assert_eq!(Stamp::verify(&KEY, "gw", &v, "", ""), StampCheck::Valid);
        assert_eq!(Stamp::verify(&KEY, "gw", &v, MID, ""), StampCheck::Forged);
    }

    #[test]
    fn tampering_is_forgery() {
        let v = Stamp::sign(&KEY, "gw.contoso.com", MID, DATE);
        let h = "gw.contoso.com";
        assert_eq!(
            Stamp::verify(&KEY, h, &v, "<other@x>", DATE),
            StampCheck::Forged
        );
        assert_eq!(
            Stamp::verify(&KEY, h, &v, MID, "Wed, 2 Jul 2025 10:00:00 +0000"),
            StampCheck::Forged
        );
        assert_eq!(
            Stamp::verify(&[8; 32], h, &v, MID, DATE),
            StampCheck::Forged
        );
        let other_by = v.replace("by=gw.contoso.com", "by=gw2.contoso.com");
        assert_eq!(
            Stamp::verify(&KEY, h, &other_by, MID, DATE),
            StampCheck::Forged
        );
        let mut flipped = v.clone();
        let last = flipped.pop().unwrap();
        flipped.push(if last == '0' { '1' } else { '0' });
        assert_eq!(
            Stamp::verify(&KEY, h, &flipped, MID, DATE),
            StampCheck::Forged
        );
        for bad in [
            "true; by=gw.contoso.com",
            "true; by=GW.contoso.com; sig=",
            "true; by=gw.contoso.com; sig=zz",
            "true; sig=00",
            &v.replace("true;", "false;"),
        ] {
            assert_eq!(
                Stamp::verify(&KEY, h, bad, MID, DATE),
                StampCheck::Forged,
                "{bad}"
            );
        }
    }

    #[test]
    fn foreign_stamps() {
        for v in ["true", "True", "true; by=other.example.net", "yes", ""] {
            assert_eq!(
                Stamp::verify(&KEY, "gw.contoso.com", v, MID, DATE),
                StampCheck::Foreign,
                "{v}"
            );
        }
    }

    #[test]
    fn delimiters_are_unambiguous() {
        // Moving bytes between Message-ID and Date must change the MAC.
        let a = Stamp::sign(&KEY, "gw", "<a@b>x", "y");
        let b = Stamp::sign(&KEY, "gw", "<a@b>", "xy");
        assert_ne!(a, b);
    }

    #[test]
    fn generated_keys_differ() {
        let a = generate_key().unwrap();
        let b = generate_key().unwrap();
        assert_ne!(a, b);
        assert_ne!(a, [0; 32]);
    }
}
