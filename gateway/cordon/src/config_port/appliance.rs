//! The config port's requests on the appliance itself rather than its config: restarting the
//! workers (the supervisor does it on SIGUSR1) and rebooting (a root-owned path unit does it
//! on a request file, since the gateway runs without CAP_SYS_BOOT).

// `AppError` is the wire's fixed-size error, as in the parent module.
#![allow(clippy::result_large_err)]

use std::path::Path;

use cordon_wire::{AppError, ErrorCode};

use super::GatewayBackend;
use crate::worker_env;

impl GatewayBackend {
    /// `RestartWorkers`: SIGUSR1 to the supervisor, which restarts each worker in turn.
    pub(super) fn restart(&self) -> Result<u16, AppError> {
        let Some(pid) = self
            .supervisor
            .and_then(|p| i32::try_from(p).ok())
            .filter(|p| *p > 1)
        else {
            return Err(AppError::new(ErrorCode::Unsupported, "`cordon run` has no worker processes; restart the service (under `cordon supervise` this restarts the workers)"));
        };
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGUSR1,
        )
        .map_err(|e| {
            AppError::new(
                ErrorCode::Internal,
                &format!("cannot reach the supervisor: {e}"),
            )
        })?;
        let workers = std::env::var(worker_env::WORKERS)
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(1);
        tracing::info!(
            workers,
            "workers restart requested: each drains while a fresh one takes over"
        );
        Ok(workers)
    }

    /// `Reboot`: leaves the request for the root-owned path unit.
    pub(super) fn request_reboot(&self) -> Result<(), AppError> {
        let config = self.current().shared.config.clone();
        let Some(request) = config
            .control
            .as_ref()
            .and_then(|c| c.reboot_request.clone())
        else {
            return Err(AppError::new(
                ErrorCode::Unsupported,
                "this gateway does not reboot the machine: it runs unprivileged (no CAP_SYS_BOOT); set [control] reboot_request and install cordon-reboot.path, or reboot from the console",
            ));
        };
        // The root-owned path unit reboots once it sees the request; this call returns first.
        write_atomic(
            &request,
            b"reboot requested through the config port\n",
            0o600,
        )?;
        tracing::warn!(request = %request.display(), "reboot requested through the config port");
        Ok(())
    }
}

/// Writes a file so that a power cut leaves the old or the new one: temp file, fsync, rename,
/// directory fsync.
pub(super) fn write_atomic(path: &Path, data: &[u8], mode: u32) -> Result<(), AppError> {
    cordon_store::durable::replace_file(path, data, mode).map_err(|e| {
        AppError::new(
            ErrorCode::Storage,
            &format!("cannot write {}: {e}", path.display()),
        )
    })
}
