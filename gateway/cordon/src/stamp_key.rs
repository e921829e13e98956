//! The appliance's stamp key file (`stamp.key` next to the config, for `cordon run` without
//! `[control]`; with `[control]` the key lives in the config store, see
//! [`crate::config_port::open_store`]).

use std::path::Path;

use cordon_config::Config;
use cordon_policy::KEY_BYTES;

use crate::error::Error;

/// The file next to the config that holds the appliance's stamp key.
pub const STAMP_KEY_FILE: &str = "stamp.key";

/// The appliance's stamp key if it exists, for a dry run that must not create one: `None`
/// when the gateway never started with this config (no message can carry its stamp then).
pub fn existing(config: &Config) -> Option<[u8; KEY_BYTES]> {
    let dir = config.source.parent().unwrap_or(Path::new("."));
    std::fs::read(dir.join(STAMP_KEY_FILE))
        .ok()
        .and_then(|b| b.try_into().ok())
}

/// Reads the appliance's stamp key, kept next to the config, or makes one on first start
/// (32 random bytes, mode 0600, synced).
pub fn read_or_create(config: &Config) -> Result<[u8; KEY_BYTES], Error> {
    let dir = config.source.parent().unwrap_or(Path::new("."));
    let path = dir.join(STAMP_KEY_FILE);
    let io = |what: &'static str| {
        let path = path.clone();
        move |source: std::io::Error| Error::StampKeyFile { what, path, source }
    };
    let read = || -> Result<[u8; KEY_BYTES], Error> {
        let bytes = std::fs::read(&path).map_err(io("cannot read"))?;
        bytes
            .try_into()
            .map_err(|b: Vec<u8>| Error::StampKeyLength {
                path: path.clone(),
                len: b.len(),
            })
    };
    if path.exists() {
        return read();
    }
    let key = cordon_policy::generate_key().map_err(|source| Error::StampKeyRandom {
        path: path.clone(),
        source,
    })?;
    // Whole or not at all (a power cut mid-write must not leave a short key that stops every
    // later start), and when workers race on first start exactly one key wins: the others
    // read the winner's.
    let created =
        cordon_store::durable::create_file(&path, &key, 0o600).map_err(io("cannot create"))?;
    if !created {
        return read();
    }
    tracing::info!(path = %path.display(), "generated the appliance stamp key");
    Ok(key)
}
