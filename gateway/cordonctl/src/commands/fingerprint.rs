//! `fingerprint add|list|remove`: protected documents whose text a message may not carry a
//! share of. `add` uploads each file (as a dry-run scan's message is uploaded) and asks the
//! appliance to fingerprint it with the set's secret key there: the appliance reads it with
//! the engine's own readers (docx, xlsx, PDF, zip, eml...), keeps only keyed fingerprints, and
//! drops the document.

use std::path::Path;

use cordon_dlp::fingerprint::{valid_set_name, MAX_DOCUMENT_NAME};
use cordon_wire::{bounded, BlobKind, FingerprintSets, Request, Response};
use cordonctl::CtlError;

use crate::port::{json, read, unexpected, Port};
use crate::table::{render, Col};

const SET_COLS: [Col; 5] = [
    Col::left("SET"),
    Col::right("DOCUMENTS"),
    Col::right("FINGERPRINTS"),
    Col::right("MEMORY"),
    Col::right("STORED"),
];

const DOC_COLS: [Col; 2] = [Col::left("DOCUMENT"), Col::right("FINGERPRINTS")];

fn set_name(name: &str) -> Result<(), CtlError> {
    if valid_set_name(name) {
        Ok(())
    } else {
        Err(CtlError::Usage(format!(
            "set name {name:?}: 1 to 32 lower-case letters, digits, _ or -, starting with a letter"
        )))
    }
}

fn sets(r: Response) -> Result<FingerprintSets, CtlError> {
    match r {
        Response::Fingerprints(s) => Ok(s),
        other => Err(unexpected(other)),
    }
}

/// The document name a file is added under: its file name.
fn document_name(path: &Path) -> Result<String, CtlError> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_owned();
    if name.is_empty() || name.len() > MAX_DOCUMENT_NAME {
        return Err(CtlError::Usage(format!(
            "{}: a document is named by its file name, 1 to {MAX_DOCUMENT_NAME} bytes",
            path.display()
        )));
    }
    Ok(name)
}

fn print(s: &FingerprintSets, set: Option<&str>, as_json: bool) {
    if as_json {
        json(&serde_json::json!({
            "sets": s.sets.iter().map(|x| serde_json::json!({
                "name": x.name.as_str(),
                "documents": x.documents,
                "fingerprints": x.fingerprints,
                "memory_bytes": x.memory_bytes,
                "stored_bytes": x.stored_bytes,
            })).collect::<Vec<_>>(),
            "documents": s.documents.iter().map(|d| serde_json::json!({
                "name": d.name.as_str(),
                "fingerprints": d.fingerprints,
            })).collect::<Vec<_>>(),
            "memory_budget": s.memory_budget,
            "storage_budget": s.storage_budget,
        }));
        return;
    }
    if let Some(set) = set {
        if s.sets.iter().any(|x| x.name.as_str() == set) {
            let rows: Vec<Vec<String>> = s
                .documents
                .iter()
                .map(|d| vec![d.name.to_string(), d.fingerprints.to_string()])
                .collect();
            println!("set {set}:");
            print!("{}", render(&DOC_COLS, true, &rows));
            println!();
        }
    }
    let rows: Vec<Vec<String>> = s
        .sets
        .iter()
        .map(|x| {
            vec![
                x.name.to_string(),
                x.documents.to_string(),
                x.fingerprints.to_string(),
                x.memory_bytes.to_string(),
                x.stored_bytes.to_string(),
            ]
        })
        .collect();
    if rows.is_empty() {
        println!("no fingerprint sets");
    } else {
        print!("{}", render(&SET_COLS, true, &rows));
    }
    println!(
        "shared with the EDM tables: {} B of memory per worker, {} B on /data (a replacement needs room for two copies)",
        s.memory_budget, s.storage_budget
    );
}

/// `fingerprint add SET FILE...`: each file in turn; the first refusal stops (the files
/// before it are in the set).
pub(crate) async fn add(
    port: &Port,
    as_json: bool,
    set: &str,
    files: &[std::path::PathBuf],
) -> Result<(), CtlError> {
    set_name(set)?;
    let mut named = Vec::new();
    for f in files {
        named.push((document_name(f)?, f));
    }
    let mut client = port.connect().await?;
    let mut last = None;
    for (name, path) in named {
        let data = read(path)?;
        client.upload(BlobKind::Message, &data).await?;
        let s = sets(
            client
                .call(Request::FingerprintAdd {
                    set: bounded(set),
                    document: bounded(&name),
                })
                .await?,
        )?;
        if !as_json {
            let count = s
                .documents
                .iter()
                .find(|d| d.name.as_str() == name)
                .map_or(0, |d| d.fingerprints);
            println!("added {name} to set {set}: {count} fingerprints");
        }
        last = Some(s);
    }
    if let Some(s) = last {
        print(&s, Some(set), as_json);
    }
    Ok(())
}

/// `fingerprint list [SET]`.
pub(crate) async fn list(port: &Port, as_json: bool, set: Option<&str>) -> Result<(), CtlError> {
    if let Some(s) = set {
        set_name(s)?;
    }
    let mut client = port.connect().await?;
    let s = sets(
        client
            .call(Request::FingerprintList {
                set: set.map(bounded),
            })
            .await?,
    )?;
    print(&s, set, as_json);
    Ok(())
}

/// `fingerprint remove SET [DOCUMENT]`.
pub(crate) async fn remove(
    port: &Port,
    as_json: bool,
    set: &str,
    document: Option<&str>,
) -> Result<(), CtlError> {
    set_name(set)?;
    let mut client = port.connect().await?;
    let s = sets(
        client
            .call(Request::FingerprintRemove {
                set: bounded(set),
                document: document.map(bounded),
            })
            .await?,
    )?;
    print(&s, document.map(|_| set), as_json);
    Ok(())
}
