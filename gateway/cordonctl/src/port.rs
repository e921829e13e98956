//! Reaching the gateway's config port, and the pieces every command shares: the transport
//! the flags chose, a connected client, a local file to upload, and JSON output.

use std::path::Path;

use cordon_control::{Client, Transport};
use cordon_wire::Response;
use cordonctl::CtlError;

/// The config port the command line points at; each command connects when it needs to, so a
/// command that fails on a local file (`scan`, `tls install`) never opens a session.
#[derive(Debug)]
pub(crate) struct Port {
    transport: Transport,
}

impl Port {
    pub(crate) fn new(transport: Transport) -> Port {
        Port { transport }
    }

    /// Opens a session, naming this client and its version to the server's log.
    pub(crate) async fn connect(&self) -> Result<Client, CtlError> {
        let name = concat!("cordonctl ", env!("CARGO_PKG_VERSION"));
        Ok(Client::connect(&self.transport, name).await?)
    }
}

/// A local file, or an error naming it.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>, CtlError> {
    std::fs::read(path).map_err(|source| CtlError::Read {
        path: path.into(),
        source,
    })
}

/// Pretty JSON on stdout (`--json`).
pub(crate) fn json(value: &impl serde::Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("cordonctl: cannot print JSON: {e}"),
    }
}

/// A response the request does not call for: the server and this client disagree.
pub(crate) fn unexpected(r: Response) -> CtlError {
    CtlError::Client(cordon_control::Error::Unexpected(format!("{r:?}")))
}
