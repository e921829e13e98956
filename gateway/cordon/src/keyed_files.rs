//! The keyed stores of the state directory, as files: EDM tables (`edm/NAME.edm`) and
//! fingerprint sets (`fingerprints/NAME.fp`). Each file is the store's secret key, then its
//! bundle exactly as it is checked on load; mode 0600 like the other secrets there, replaced
//! power-safe (temporary file, fsync, rename, directory fsync). Both kinds share the `[edm]`
//! budgets, so what one holds is a [`Usage`] the other's install counts.

use std::path::{Path, PathBuf};

/// What one kind of store holds of the shared `[edm]` budgets.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    /// Bytes its loaded stores take in memory (per worker).
    pub memory: u64,
    /// Bytes its files take on `/data`.
    pub stored: u64,
}

/// One store file found in its directory.
pub struct Stored {
    pub name: String,
    pub path: PathBuf,
    pub bytes: u64,
}

/// The files `NAME.ext` in `dir` whose NAME is `valid`, in name order (none when `dir` does
/// not exist yet).
pub fn list(dir: &Path, ext: &str, valid: fn(&str) -> bool) -> Vec<Stored> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<Stored> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let path = e.path();
            let name = path.file_stem()?.to_str()?.to_owned();
            (path.extension()? == ext && valid(&name)).then(|| Stored {
                bytes: e.metadata().map_or(0, |m| m.len()),
                name,
                path,
            })
        })
        .collect();
    v.sort_by(|a, b| a.name.cmp(&b.name));
    v
}

/// Writes `key` then `bundle` as `path` in `dir`, power-safe, mode 0600.
pub fn write(dir: &Path, path: &Path, key: &[u8], bundle: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut data = Vec::with_capacity(key.len() + bundle.len());
    data.extend_from_slice(key);
    data.extend_from_slice(bundle);
    cordon_store::durable::replace_file(path, &data, 0o600)
}

/// Removes `path` and syncs `dir`, so the removal survives a power cut.
pub fn remove(dir: &Path, path: &Path) -> std::io::Result<()> {
    std::fs::remove_file(path)?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// A file's key (its first `N` bytes) and its bundle (the rest).
pub fn split_key<'a, const N: usize>(
    path: &Path,
    data: &'a [u8],
) -> Result<([u8; N], &'a [u8]), String> {
    if data.len() < N {
        return Err(format!(
            "{}: {} bytes, shorter than its key",
            path.display(),
            data.len()
        ));
    }
    let (key, bundle) = data.split_at(N);
    Ok((key.try_into().unwrap_or([0; N]), bundle))
}
