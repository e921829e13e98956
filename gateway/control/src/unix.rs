//! The Unix-socket transport: the management host's `cordonctl` (and local tooling) connect
//! to a socket file whose mode limits who can open it, and every peer's uid, read from the
//! kernel (`SO_PEERCRED`), must also be in an allow list. A refused peer gets one framed
//! `NotPermitted` error, then the connection is closed.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use cordon_wire::{AppError, ErrorCode};
use tokio::net::UnixListener;

use crate::accept::accept_loop;
use crate::backend::Backend;
use crate::conn::{refuse, serve_connection, Peer, Shutdown};
use crate::Error;

/// Whether a peer with `uid` may use the port. Only the listed uids may, root included:
/// the gateway lists root explicitly if it wants the console user's root shell to manage it.
pub fn uid_allowed(uid: u32, allowed_uids: &[u32]) -> bool {
    allowed_uids.contains(&uid)
}

/// Binds the socket at `path` with permission bits `mode` (e.g. `0o660`), replacing a stale
/// socket file left by a previous run. No client can connect through a wider mode, and none
/// sees the file before its mode is set: the socket is bound at a sibling name
/// (`<path>.new`), given its mode there, and renamed into place (a rename is atomic, and a
/// socket's listener follows its inode).
pub fn bind_unix(path: &Path, mode: u32) -> Result<UnixListener, Error> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_dir() => {
            return Err(Error::Io {
                op: "bind (a directory is in the way)",
                path: path.into(),
                source: std::io::ErrorKind::AlreadyExists.into(),
            })
        }
        Ok(_) => std::fs::remove_file(path).map_err(Error::io("remove stale socket", path))?,
        Err(_) => {}
    }
    let mut staged = path.as_os_str().to_owned();
    staged.push(".new");
    let staged = std::path::PathBuf::from(staged);
    if std::fs::symlink_metadata(&staged).is_ok() {
        std::fs::remove_file(&staged).map_err(Error::io("remove stale socket", &staged))?;
    }
    let listener = UnixListener::bind(&staged).map_err(Error::io("bind", &staged))?;
    let placed = std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(mode))
        .map_err(Error::io("chmod", &staged))
        .and_then(|()| std::fs::rename(&staged, path).map_err(Error::io("rename", path)));
    if let Err(e) = placed {
        let _ = std::fs::remove_file(&staged);
        return Err(e);
    }
    Ok(listener)
}

/// Binds `path` with `mode` and serves it until `shutdown` fires. See [`run_unix`].
pub async fn serve_unix<B: Backend>(
    path: &Path,
    mode: u32,
    allowed_uids: &[u32],
    backend: Arc<B>,
    shutdown: Shutdown,
) -> Result<(), Error> {
    let listener = bind_unix(path, mode)?;
    run_unix(listener, allowed_uids.to_vec(), backend, shutdown).await;
    let _ = std::fs::remove_file(path);
    Ok(())
}

/// Accepts connections on `listener` (at most [`MAX_CONNECTIONS`] served at once), checks
/// each peer's uid, and serves the allowed ones until `shutdown` fires; then waits for the
/// connections to finish their current request.
pub async fn run_unix<B: Backend>(
    listener: UnixListener,
    allowed_uids: Vec<u32>,
    backend: Arc<B>,
    shutdown: Shutdown,
) {
    let accept = || async { listener.accept().await.map(|(stream, _)| stream) };
    accept_loop(accept, shutdown, |stream, shutdown| {
        let backend = Arc::clone(&backend);
        let cred = stream.peer_cred();
        let allowed = cred
            .as_ref()
            .is_ok_and(|c| uid_allowed(c.uid(), &allowed_uids));
        async move {
            let cred = match cred {
                Ok(cred) => cred,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read config port peer credentials");
                    return;
                }
            };
            let peer = Peer::Unix {
                uid: cred.uid(),
                pid: cred.pid(),
            };
            if !allowed {
                tracing::warn!(%peer, "config port: peer uid not allowed, refused");
                let error = AppError::new(
                    ErrorCode::NotPermitted,
                    "this user may not use the config port",
                );
                let _ = refuse(stream, error).await;
                return;
            }
            if let Err(e) = serve_connection(stream, backend, peer.clone(), shutdown).await {
                tracing::debug!(%peer, error = %e, "config port connection ended");
            }
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_socket_appears_with_its_mode_and_replaces_stale_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("control.sock");
        // A stale socket file and a stale staging file from a crashed run.
        std::fs::write(&path, b"").unwrap();
        std::fs::write(dir.path().join("control.sock.new"), b"").unwrap();
        let _listener = bind_unix(&path, 0o600).unwrap();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        use std::os::unix::fs::FileTypeExt;
        assert!(meta.file_type().is_socket());
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert!(!dir.path().join("control.sock.new").exists());
        // A client connects by the final name.
        tokio::net::UnixStream::connect(&path).await.unwrap();
        // A directory in the way is refused, not removed.
        let d = dir.path().join("d.sock");
        std::fs::create_dir(&d).unwrap();
        assert!(bind_unix(&d, 0o600).is_err());
        assert!(d.is_dir());
    }
}
