//! `edm hash|upload|list|remove`: exact-data-match tables. `hash` runs offline on the
//! administrator's workstation (no config port): it reads the schema and the CSV export,
//! creates the table's key file (mode 0600) unless it exists, and writes the bundle of keyed
//! hashes to stdout. `upload` stages the bundle and sends `EdmInstall` with the key (the
//! only time the key leaves the workstation, over the port's authenticated transport); the
//! appliance keeps it beside the table with its other secrets.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::Instant;

use cordon_dlp::edm::{valid_table_name, EdmKey, Table};
use cordon_wire::{bounded, BlobKind, EdmTables, Request, Response};
use cordonctl::edm::{hash as hash_csv, key_text, new_key, parse_key, parse_schema};
use cordonctl::CtlError;

use crate::port::{json, read, unexpected, Port};
use crate::table::{render, Col};

const COLS: [Col; 7] = [
    Col::left("TABLE"),
    Col::right("ROWS"),
    Col::right("COLUMNS"),
    Col::right("MIN_FIELDS"),
    Col::right("PROXIMITY"),
    Col::right("MEMORY"),
    Col::right("STORED"),
];

fn text(path: &Path) -> Result<String, CtlError> {
    String::from_utf8(read(path)?).map_err(|source| CtlError::NotUtf8 {
        path: path.into(),
        source,
    })
}

/// The key in `path`, or a new one written there (mode 0600, never over an existing file);
/// the flag says it is new.
fn key_file(path: &Path) -> Result<(EdmKey, bool), CtlError> {
    if path.exists() {
        return Ok((parse_key(&text(path)?, &path.display().to_string())?, false));
    }
    let key = new_key().map_err(|reason| CtlError::Edm {
        at: path.display().to_string(),
        reason: format!("no random key: {reason}"),
    })?;
    let write = |source| CtlError::Write {
        path: path.into(),
        source,
    };
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(write)?;
    f.write_all(key_text(&key).as_bytes()).map_err(write)?;
    f.sync_all().map_err(write)?;
    Ok((key, true))
}

/// `edm hash --schema SCHEMA CSV [--key-file KEY]`: the bundle on stdout, the figures on
/// stderr. Without `--key-file` the key sits beside the CSV as `<CSV stem>.key`.
pub(crate) fn hash(schema: &Path, csv: &Path, key: Option<&Path>) -> Result<(), CtlError> {
    let schema = parse_schema(&text(schema)?, &schema.display().to_string())?;
    let per_row = Table::bytes_per_row(&schema);
    let key_path = key.map_or_else(|| csv.with_extension("key"), Path::to_path_buf);
    let (key, created) = key_file(&key_path)?;
    let input = std::fs::File::open(csv).map_err(|source| CtlError::Read {
        path: csv.into(),
        source,
    })?;
    let started = Instant::now();
    let hashed = hash_csv(
        schema,
        key,
        std::io::BufReader::new(input),
        &csv.display().to_string(),
    )?;
    let secs = started.elapsed().as_secs_f64();
    let mut out = std::io::stdout().lock();
    out.write_all(&hashed.bundle)
        .and_then(|()| out.flush())
        .map_err(|source| CtlError::Write {
            path: "standard output".into(),
            source,
        })?;
    if created {
        eprintln!(
            "key: {} (new, mode 0600: keep it with the table; `cordonctl edm upload` sends it to the appliance once)",
            key_path.display()
        );
    } else {
        eprintln!("key: {}", key_path.display());
    }
    if !hashed.ignored.is_empty() {
        eprintln!(
            "not hashed (not in the schema): {}",
            hashed.ignored.join(", ")
        );
    }
    eprintln!(
        "hashed {} rows in {secs:.2} s ({:.0} rows/s); bundle {} B; {per_row} B/row in memory ({} B)",
        hashed.rows,
        hashed.rows as f64 / secs.max(1e-9),
        hashed.bundle.len(),
        per_row * hashed.rows
    );
    Ok(())
}

fn table_name(name: &str) -> Result<(), CtlError> {
    if valid_table_name(name) {
        Ok(())
    } else {
        Err(CtlError::Usage(format!(
            "table name {name:?}: 1 to 32 lower-case letters, digits, _ or -, starting with a letter"
        )))
    }
}

fn tables(r: Response) -> Result<EdmTables, CtlError> {
    match r {
        Response::EdmTables(t) => Ok(t),
        other => Err(unexpected(other)),
    }
}

fn print(t: &EdmTables, as_json: bool) {
    if as_json {
        let tables: Vec<_> = t
            .tables
            .iter()
            .map(|t| {
                serde_json::json!({
                    "name": t.name.as_str(),
                    "rows": t.rows,
                    "columns": t.columns,
                    "min_fields": t.min_fields,
                    "proximity": t.proximity,
                    "memory_bytes": t.memory_bytes,
                    "stored_bytes": t.stored_bytes,
                })
            })
            .collect();
        json(&serde_json::json!({
            "tables": tables,
            "memory_budget": t.memory_budget,
            "storage_budget": t.storage_budget,
        }));
        return;
    }
    let rows: Vec<Vec<String>> = t
        .tables
        .iter()
        .map(|t| {
            vec![
                t.name.to_string(),
                t.rows.to_string(),
                t.columns.to_string(),
                t.min_fields.to_string(),
                t.proximity.to_string(),
                t.memory_bytes.to_string(),
                t.stored_bytes.to_string(),
            ]
        })
        .collect();
    if rows.is_empty() {
        println!("no EDM tables");
    } else {
        print!("{}", render(&COLS, true, &rows));
    }
    let memory: u64 = t.tables.iter().map(|t| t.memory_bytes).sum();
    let stored: u64 = t.tables.iter().map(|t| t.stored_bytes).sum();
    println!(
        "memory {memory} of {} B per worker; stored {stored} of {} B (a replacement needs room for two copies)",
        t.memory_budget, t.storage_budget
    );
}

/// `edm upload NAME BUNDLE --key-file KEY`: installs (or replaces) table NAME.
pub(crate) async fn upload(
    port: &Port,
    as_json: bool,
    name: &str,
    bundle: &Path,
    key: &Path,
) -> Result<(), CtlError> {
    table_name(name)?;
    let key = parse_key(&text(key)?, &key.display().to_string())?;
    let bundle = read(bundle)?;
    let mut client = port.connect().await?;
    client.upload(BlobKind::Edm, &bundle).await?;
    let t = tables(
        client
            .call(Request::EdmInstall {
                name: bounded(name),
                key: *key.as_bytes(),
            })
            .await?,
    )?;
    print(&t, as_json);
    Ok(())
}

/// `edm list`.
pub(crate) async fn list(port: &Port, as_json: bool) -> Result<(), CtlError> {
    let mut client = port.connect().await?;
    print(&tables(client.call(Request::EdmList).await?)?, as_json);
    Ok(())
}

/// `edm remove NAME`.
pub(crate) async fn remove(port: &Port, as_json: bool, name: &str) -> Result<(), CtlError> {
    table_name(name)?;
    let mut client = port.connect().await?;
    let t = tables(
        client
            .call(Request::EdmRemove {
                name: bounded(name),
            })
            .await?,
    )?;
    print(&t, as_json);
    Ok(())
}
