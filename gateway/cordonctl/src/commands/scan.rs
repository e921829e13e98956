//! `scan [--from ADDR --to ADDR...]`: a dry run of the running policy over a local message,
//! on the gateway, printed exactly as `cordon scan --config` prints it there (the appliance
//! renders the report, so the two cannot differ): each detector with its counts by
//! confidence, locations and redacted samples, the verdict, and each rule's match or the
//! reason it did not match.

use std::path::Path;

use cordon_control::bounded;
use cordon_wire::limits::MAX_SCAN_RCPTS;
use cordon_wire::BlobKind;
use cordonctl::CtlError;

use crate::port::{read, Port};

/// Uploads the message and prints the appliance's report of its dry run.
pub(crate) async fn scan(
    port: &Port,
    as_json: bool,
    file: &Path,
    from: Option<&str>,
    to: &[String],
) -> Result<(), CtlError> {
    if to.len() > MAX_SCAN_RCPTS {
        return Err(CtlError::Usage(format!(
            "at most {MAX_SCAN_RCPTS} --to recipients (the rules see the envelope; a few stand for all)"
        )));
    }
    if from.is_none() && !to.is_empty() {
        return Err(CtlError::Usage(
            "--to needs --from: the envelope is given whole or taken from the message's headers"
                .into(),
        ));
    }
    let message = read(file)?;
    let mut client = port.connect().await?;
    client.upload(BlobKind::Message, &message).await?;
    let to = to.iter().map(|t| bounded(t)).collect();
    let text = client.scan_text(as_json, from.map(bounded), to).await?;
    print!("{text}");
    Ok(())
}
