//! Single files written so that a power cut at any instant leaves the old content or the new,
//! never a torn file: the data goes to a temporary file in the same directory (created with its
//! final mode, so a key is never readable by others), is fsynced, then renamed or linked into
//! place, and the directory is fsynced so the new name itself is durable.
//!
//! Used for what lives outside the A/B config store: TLS certificates and keys installed over
//! the config port, the reboot request, the stamp key of a file-configured gateway.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The temporary name next to `path`, unique per process so that two workers writing at once
/// never share one.
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

fn write_synced(tmp: &Path, data: &[u8], mode: u32) -> io::Result<()> {
    let _ = fs::remove_file(tmp);
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(tmp)?;
    f.write_all(data)?;
    f.sync_all()
}

fn sync_parent(path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

/// Replaces (or creates) `path` with `data`, file mode `mode`.
pub fn replace_file(path: &Path, data: &[u8], mode: u32) -> io::Result<()> {
    let tmp = temp_path(path);
    let result = write_synced(&tmp, data, mode).and_then(|()| fs::rename(&tmp, path));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    sync_parent(path)
}

/// Creates `path` with `data` unless it already exists: whole or not at all, and when several
/// processes race, exactly one wins and the others see its file. Returns `false` when the file
/// was already there (its content is left alone).
pub fn create_file(path: &Path, data: &[u8], mode: u32) -> io::Result<bool> {
    let tmp = temp_path(path);
    write_synced(&tmp, data, mode)?;
    // link(2) fails if the target exists: an atomic "create with this content".
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            sync_parent(path)?;
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("cordon-durable-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect()
    }

    #[test]
    fn replace_writes_with_the_mode_and_leaves_no_temp() {
        let d = scratch("replace");
        let p = d.join("key.pem");
        replace_file(&p, b"one", 0o600).unwrap();
        replace_file(&p, b"two", 0o600).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(leftovers(&d).is_empty());
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn create_keeps_the_first_file() {
        let d = scratch("create");
        let p = d.join("stamp.key");
        assert!(create_file(&p, b"first", 0o600).unwrap());
        assert!(!create_file(&p, b"second", 0o600).unwrap());
        assert_eq!(fs::read(&p).unwrap(), b"first");
        assert!(leftovers(&d).is_empty());
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_missing_directory_is_an_error_not_a_panic() {
        let p = Path::new("/nonexistent-cordon-dir/x");
        let replaced = replace_file(p, b"x", 0o600).unwrap_err();
        assert_eq!(replaced.kind(), io::ErrorKind::NotFound, "{replaced}");
        let created = create_file(p, b"x", 0o600).unwrap_err();
        assert_eq!(created.kind(), io::ErrorKind::NotFound, "{created}");
    }
}
