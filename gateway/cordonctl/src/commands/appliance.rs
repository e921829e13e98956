//! `workers restart` and `reboot`: the appliance's processes and the machine itself.

use cordon_wire::{Request, Response};
use cordonctl::CtlError;

use crate::port::{json, unexpected, Port};

/// Restarts every worker gracefully (sessions in flight finish first).
pub(crate) async fn restart_workers(port: &Port, as_json: bool) -> Result<(), CtlError> {
    let mut client = port.connect().await?;
    match client.call(Request::RestartWorkers).await? {
        Response::WorkersRestarting { workers } => {
            if as_json {
                json(&serde_json::json!({ "workers_restarting": workers }));
            } else {
                println!("restarting {workers} workers (sessions in flight finish first)");
            }
            Ok(())
        }
        other => Err(unexpected(other)),
    }
}

/// Asks the gateway to reboot the appliance.
pub(crate) async fn reboot(port: &Port, as_json: bool) -> Result<(), CtlError> {
    let mut client = port.connect().await?;
    match client.call(Request::Reboot).await? {
        Response::Rebooting => {
            if as_json {
                json(&serde_json::json!({ "rebooting": true }));
            } else {
                println!("rebooting");
            }
            Ok(())
        }
        other => Err(unexpected(other)),
    }
}
