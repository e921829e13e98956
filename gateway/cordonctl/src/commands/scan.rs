//! `scan`: a dry run of the running policy over a local message, on the gateway.

use std::path::Path;

use cordon_wire::{BlobKind, Request, Response};
use cordonctl::CtlError;

use crate::port::{json, read, unexpected, Port};

/// Uploads the message, asks for a scan, prints the verdict and each rule's finding.
pub(crate) async fn scan(port: &Port, as_json: bool, file: &Path) -> Result<(), CtlError> {
    let message = read(file)?;
    let mut client = port.connect().await?;
    client.upload(BlobKind::Message, &message).await?;
    let r = match client.call(Request::Scan).await? {
        Response::ScanReport(r) => r,
        other => return Err(unexpected(other)),
    };
    if as_json {
        json(&r);
        return Ok(());
    }
    println!("verdict  {:?}", r.verdict);
    if !r.findings.is_empty() {
        println!();
        println!("{:<20} {:<16} {:>6}  LOCATION", "RULE", "DETECTOR", "COUNT");
        for f in &r.findings {
            println!(
                "{:<20} {:<16} {:>6}  {}",
                f.rule, f.detector, f.count, f.location
            );
        }
    }
    if r.more_findings > 0 {
        println!("... and {} more findings", r.more_findings);
    }
    Ok(())
}
