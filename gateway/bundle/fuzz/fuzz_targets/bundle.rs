//! A bundle's head as a hostile USB stick or upload may carry it: the header reader never
//! panics and never lets a length past its limit, the signature check refuses what the test
//! key did not sign, and the manifest reader (reached directly, since no fuzzer forges
//! ed25519) never panics and only accepts what re-serialises to a manifest it accepts again.
#![no_main]
use cordon_bundle::{manifest_len, read_manifest, verify, PublicKey, HEADER_LEN, MAX_MANIFEST_LEN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(header) = data.get(..HEADER_LEN).and_then(|h| <&[u8; HEADER_LEN]>::try_from(h).ok()) {
        if let Ok(len) = manifest_len(header) {
            assert!(len <= MAX_MANIFEST_LEN);
        }
    }
    if data.len() > 64 {
        let (signed, sig) = data.split_at(data.len() - 64);
        assert!(verify(signed, sig, &[PublicKey([9u8; 32])]).is_err());
    }
    if let Ok(m) = read_manifest(data) {
        let again = serde_json::to_vec(&m).expect("a manifest serialises");
        assert_eq!(read_manifest(&again).ok(), Some(m));
    }
});
