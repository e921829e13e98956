//! `scan`: a dry run of the running policy over a local message, on the gateway.

use std::path::Path;

use cordon_wire::{BlobKind, Request, Response};
use cordonctl::CtlError;

use crate::port::{json, read, unexpected, Port};
use crate::table::{render, Col};

/// One line per finding of the dry run.
const FINDINGS: [Col; 4] = [
    Col::left("RULE"),
    Col::left("DETECTOR"),
    Col::right("COUNT"),
    Col::left("LOCATION"),
];

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
    println!("verdict  {}", r.verdict.as_str());
    if !r.findings.is_empty() {
        println!();
        let rows: Vec<Vec<String>> = r
            .findings
            .iter()
            .map(|f| {
                vec![
                    f.rule.to_string(),
                    f.detector.to_string(),
                    f.count.to_string(),
                    f.location.to_string(),
                ]
            })
            .collect();
        print!("{}", render(&FINDINGS, true, &rows));
    }
    if r.more_findings > 0 {
        println!("... and {} more findings", r.more_findings);
    }
    Ok(())
}
