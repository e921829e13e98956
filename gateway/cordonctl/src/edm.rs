//! `edm hash`'s work, without the files: a schema's text checked, a key file's text read
//! or written, and a CSV export (header row first) hashed into a bundle with the engine's
//! own normalisation and keyed hash ([`cordon_dlp::edm::Builder`]). The binary opens the
//! files and prints; everything here reads from a `Read` and returns values or errors that
//! name the CSV line and column.

use std::io::Read;

use cordon_dlp::edm::{Builder, EdmKey, RowFault, Schema, KEY_BYTES};

use crate::CtlError;

/// A hashed table: the bundle, and what the summary line reports.
#[derive(Debug)]
pub struct Hashed {
    pub bundle: Vec<u8>,
    pub rows: usize,
    /// Header names of CSV columns the schema does not name: not hashed, not in the bundle.
    pub ignored: Vec<String>,
}

/// A schema file's text, checked as the appliance will check it. `path` names it in errors.
pub fn parse_schema(text: &str, path: &str) -> Result<Schema, CtlError> {
    let schema: Schema = toml::from_str(text).map_err(|e| CtlError::Edm {
        at: path.to_string(),
        reason: e.message().to_string(),
    })?;
    schema.check().map_err(|reason| CtlError::Edm {
        at: path.to_string(),
        reason,
    })?;
    Ok(schema)
}

/// A key file's text: 64 hex digits (the [`KEY_BYTES`]-byte key), then optional whitespace.
pub fn parse_key(text: &str, path: &str) -> Result<EdmKey, CtlError> {
    let hex = text.trim();
    let bad = || CtlError::Edm {
        at: path.to_string(),
        reason: format!(
            "not a table key: a key file holds {} hex digits (written by `cordonctl edm hash`)",
            KEY_BYTES * 2
        ),
    };
    if hex.len() != KEY_BYTES * 2 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let mut key = [0u8; KEY_BYTES];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(EdmKey::from_bytes(key))
}

/// The text of a key file for `key`.
pub fn key_text(key: &EdmKey) -> String {
    let mut s: String = key.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
    s.push('\n');
    s
}

/// A new random table key.
pub fn new_key() -> Result<EdmKey, String> {
    let mut k = [0u8; KEY_BYTES];
    getrandom::getrandom(&mut k).map_err(|e| e.to_string())?;
    Ok(EdmKey::from_bytes(k))
}

/// Hashes the CSV `input` (named `path` in errors) under `schema` and `key`. The header row
/// names the columns; the schema's columns are found in it by name (case and surrounding
/// spaces ignored), so an export may have them in any order and carry others, which are
/// left out. A bad row stops the run with its line, column and reason, never its text.
pub fn hash(schema: Schema, key: EdmKey, input: impl Read, path: &str) -> Result<Hashed, CtlError> {
    let at = |line: u64, column: Option<(usize, &str)>| match column {
        Some((i, name)) => format!("{path}:{line}:{} (column {name})", i + 1),
        None => format!("{path}:{line}"),
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(input);
    let csv_error = |e: csv::Error| {
        let line = e.position().map_or(0, csv::Position::line);
        CtlError::Edm {
            at: at(line, None),
            reason: match e.kind() {
                csv::ErrorKind::Utf8 { .. } => "not UTF-8 text".to_string(),
                _ => e.to_string(),
            },
        }
    };
    let header = reader.headers().map_err(csv_error)?.clone();
    let names: Vec<String> = header.iter().map(|h| h.trim().to_lowercase()).collect();
    // For each schema column, its position in the CSV.
    let mut positions = Vec::with_capacity(schema.columns.len());
    for c in &schema.columns {
        let wanted = c.name.to_lowercase();
        let Some(i) = names.iter().position(|n| *n == wanted) else {
            return Err(CtlError::Edm {
                at: at(1, None),
                reason: format!(
                    "the header row has no column {:?} (the schema's columns: {}; the header's: {})",
                    c.name,
                    schema
                        .columns
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    header.iter().collect::<Vec<_>>().join(", ")
                ),
            });
        };
        positions.push(i);
    }
    let ignored = header
        .iter()
        .enumerate()
        .filter(|(i, _)| !positions.contains(i))
        .map(|(_, h)| h.to_string())
        .collect();
    let schema_columns: Vec<String> = schema.columns.iter().map(|c| c.name.clone()).collect();
    let mut builder = Builder::new(schema, key).map_err(|reason| CtlError::Edm {
        at: path.to_string(),
        reason,
    })?;
    let mut record = csv::StringRecord::new();
    while reader.read_record(&mut record).map_err(csv_error)? {
        let line = record.position().map_or(0, csv::Position::line);
        // A blank line between records is no row.
        if record.len() == 1 && record[0].trim().is_empty() {
            continue;
        }
        if record.len() != header.len() {
            return Err(CtlError::Edm {
                at: at(line, None),
                reason: format!(
                    "{} cells, the header row has {}",
                    record.len(),
                    header.len()
                ),
            });
        }
        let cells: Vec<&str> = positions.iter().map(|&i| &record[i]).collect();
        builder.push(&cells).map_err(|fault| {
            let column = match &fault {
                RowFault::Cell { column, .. } => schema_columns
                    .iter()
                    .position(|c| c == column)
                    .map(|s| (positions[s], column.as_str())),
                _ => None,
            };
            CtlError::Edm {
                at: at(line, column),
                reason: match fault {
                    RowFault::Cell { fault, .. } => match fault {
                        cordon_dlp::edm::CellFault::TooLong => format!(
                            "cell longer than {} bytes once normalised",
                            cordon_dlp::edm::MAX_CELL_BYTES
                        ),
                        cordon_dlp::edm::CellFault::NotADate => {
                            "not a date this reads (1980-03-12, 12/03/1980, 12 March 1980, March 12, 1980)".to_string()
                        }
                    },
                    other => other.to_string(),
                },
            }
        })?;
    }
    let rows = builder.rows();
    if rows == 0 {
        return Err(CtlError::Edm {
            at: path.to_string(),
            reason: "no rows after the header row".to_string(),
        });
    }
    Ok(Hashed {
        bundle: builder.finish(),
        rows,
        ignored,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cordon_dlp::edm::Table;

    const SCHEMA: &str = r#"
min_fields = 3
[[column]]
name = "card"
type = "digits"
primary = "credit_card"
[[column]]
name = "name"
type = "name"
[[column]]
name = "dob"
type = "date"
"#;

    fn key() -> EdmKey {
        EdmKey::from_bytes([5; KEY_BYTES])
    }

    fn err(r: Result<Hashed, CtlError>) -> String {
        match r {
            Err(e) => e.to_string(),
            Ok(h) => panic!("hashed {} rows", h.rows),
        }
    }

    #[test]
    fn a_csv_hashes_to_a_bundle_the_appliance_decodes() {
        let csv = "Name,extra,Card,DOB\n\"Lee, Ann\",x,4556 5260 1815 9081,1980-03-12\n\nBo Diaz,y,4012888888881881,02/11/1975\n";
        let schema = parse_schema(SCHEMA, "s.toml").unwrap();
        let h = hash(schema, key(), csv.as_bytes(), "t.csv").unwrap();
        assert_eq!(h.rows, 2);
        assert_eq!(h.ignored, vec!["extra".to_string()]);
        let table = Table::decode(&h.bundle, &key()).unwrap();
        assert_eq!((table.rows(), table.columns()), (2, 3));
        // No cell's text is in the bundle.
        for cell in ["Lee", "4556", "1980", "Diaz", "4012888888881881"] {
            assert!(
                !h.bundle.windows(cell.len()).any(|w| w == cell.as_bytes()),
                "{cell} in the bundle"
            );
        }
    }

    #[test]
    fn bad_rows_name_the_line_and_column() {
        let schema = || parse_schema(SCHEMA, "s.toml").unwrap();
        let date =
            "card,name,dob\n4556526018159081,Ann,1980-03-12\n4012888888881881,Bo,31st of Smarch\n";
        assert_eq!(
            err(hash(schema(), key(), date.as_bytes(), "t.csv")),
            "t.csv:3:3 (column dob): not a date this reads (1980-03-12, 12/03/1980, 12 March 1980, March 12, 1980)"
        );
        let width = "card,name,dob\n4556526018159081,Ann\n";
        assert_eq!(
            err(hash(schema(), key(), width.as_bytes(), "t.csv")),
            "t.csv:2: 2 cells, the header row has 3"
        );
        let missing = "card,surname,dob\n";
        assert!(err(hash(schema(), key(), missing.as_bytes(), "t.csv"))
            .starts_with("t.csv:1: the header row has no column \"name\""));
        let empty = "card,name,dob\n";
        assert_eq!(
            err(hash(schema(), key(), empty.as_bytes(), "t.csv")),
            "t.csv: no rows after the header row"
        );
        let binary = b"card,name,dob\n4556526018159081,\xff\xfe,1980-03-12\n";
        assert_eq!(
            err(hash(schema(), key(), &binary[..], "t.csv")),
            "t.csv:2: not UTF-8 text"
        );
    }

    #[test]
    fn schemas_and_key_files_are_checked() {
        assert!(parse_schema("min_fields = 3\n", "s.toml")
            .unwrap_err()
            .to_string()
            .starts_with("s.toml: "));
        let over = SCHEMA.replace("min_fields = 3", "min_fields = 4");
        assert_eq!(
            parse_schema(&over, "s.toml").unwrap_err().to_string(),
            "s.toml: min_fields = 4: must be 1 to the number of columns (3)"
        );
        let k = key();
        let text = key_text(&k);
        assert_eq!(text.len(), KEY_BYTES * 2 + 1);
        assert_eq!(parse_key(&text, "k").unwrap().as_bytes(), k.as_bytes());
        assert!(parse_key("abc", "k")
            .unwrap_err()
            .to_string()
            .starts_with("k: not a table key"));
        assert_ne!(new_key().unwrap().as_bytes(), new_key().unwrap().as_bytes());
    }
}
