//! `tls install`: the SMTP listener's certificate chain and key, validated by the gateway.

use std::path::Path;

use cordon_wire::{BlobKind, Request, Response};
use cordonctl::CtlError;

use crate::port::{json, read, unexpected, Port};
use crate::time;

/// Uploads chain and key as one PEM bundle; prints what the gateway installed.
pub(crate) async fn install(
    port: &Port,
    as_json: bool,
    cert: &Path,
    key: &Path,
) -> Result<(), CtlError> {
    let mut bundle = read(cert)?;
    if !bundle.ends_with(b"\n") {
        bundle.push(b'\n');
    }
    bundle.extend(read(key)?);
    let mut client = port.connect().await?;
    client.upload(BlobKind::TlsBundle, &bundle).await?;
    let info = match client.call(Request::InstallTls).await? {
        Response::TlsInstalled(info) => info,
        other => return Err(unexpected(other)),
    };
    let sha: String = info.sha256.iter().map(|b| format!("{b:02x}")).collect();
    if as_json {
        json(&serde_json::json!({
            "subject": info.subject.as_str(),
            "not_after": time::rfc3339(info.not_after_unix),
            "not_after_unix": info.not_after_unix,
            "sha256": sha,
        }));
        return Ok(());
    }
    println!("installed  {}", info.subject);
    println!(
        "not after  {}",
        time::with_ago(info.not_after_unix, time::now())
    );
    println!("sha256     {sha}");
    Ok(())
}
