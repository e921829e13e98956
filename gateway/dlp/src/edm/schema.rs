//! The schema of an EDM table (`schema.toml` beside the CSV): its columns, which of them find
//! candidates in text (primary columns), and how many of a row's cells must be found how
//! close together. It travels inside the bundle, so the appliance needs nothing else.

use regex::bytes::{Regex, RegexBuilder};
use serde::Deserialize;

use crate::edm::normalise::{ColumnType, DateOrder};
use crate::limits::{CONTEXT_BYTES, MAX_MATCH_BYTES};

/// Columns of one table: Skyhigh and Purview allow a few dozen, but each column costs 4 bytes
/// per row; eight keeps a row of a six-column table with two primary columns at 48 bytes.
pub const MAX_COLUMNS: usize = 8;

/// Primary columns: each costs a 12-byte index entry per row.
pub const MAX_PRIMARY: usize = 2;

/// Default `proximity`: the detectors' own keyword distance.
pub const DEFAULT_PROXIMITY: u16 = 300;

/// Longest column name (it is printed in `edm list`, never a cell).
pub const MAX_COLUMN_NAME: usize = 32;

/// Longest `pattern` regex source of a primary column.
pub const MAX_PATTERN_LEN: usize = 512;

/// How a primary column finds its candidates in text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Finder {
    /// 12 to 19 digits (spaces or dashes between groups) with a valid Luhn digit.
    CreditCard,
    /// Nine digits, as `123-45-6789`, `123 45 6789` or `123456789`.
    UsSsn,
    /// An IBAN with its country length and mod-97 check, grouped or not.
    Iban,
    /// An e-mail address.
    Email,
    /// Any 6 to 19 digits, grouped or not (account, customer, phone numbers).
    Digits,
    /// The column's own `pattern` regex; the match is normalised by the column's type.
    Pattern,
}

impl Finder {
    pub const ALL: [Finder; 6] = [
        Finder::CreditCard,
        Finder::UsSsn,
        Finder::Iban,
        Finder::Email,
        Finder::Digits,
        Finder::Pattern,
    ];

    pub fn tag(self) -> u8 {
        self as u8 + 1
    }

    pub fn from_tag(tag: u8) -> Option<Option<Finder>> {
        match tag {
            0 => Some(None),
            t => Self::ALL.get(usize::from(t) - 1).map(|f| Some(*f)),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Finder::CreditCard => "credit_card",
            Finder::UsSsn => "us_ssn",
            Finder::Iban => "iban",
            Finder::Email => "email",
            Finder::Digits => "digits",
            Finder::Pattern => "pattern",
        }
    }

    /// The column type whose normalisation the finder's values get.
    fn column_type(self) -> Option<ColumnType> {
        match self {
            Finder::CreditCard | Finder::UsSsn | Finder::Digits => Some(ColumnType::Digits),
            Finder::Iban => Some(ColumnType::Code),
            Finder::Email => Some(ColumnType::Email),
            Finder::Pattern => None,
        }
    }
}

/// `schema.toml`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schema {
    /// Cells of a row, the primary value included, that must be found for the row to match.
    pub min_fields: u8,
    /// Bytes either side of the primary value where the other cells are looked for.
    #[serde(default = "default_proximity")]
    pub proximity: u16,
    #[serde(rename = "column")]
    pub columns: Vec<Column>,
}

fn default_proximity() -> u16 {
    DEFAULT_PROXIMITY
}

/// One `[[column]]`, in the CSV's column order.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ColumnType,
    /// Set on a primary column: how its values are found in text.
    #[serde(default)]
    pub primary: Option<Finder>,
    /// The regex of a `primary = "pattern"` column.
    #[serde(default)]
    pub pattern: Option<String>,
    /// How the table writes ambiguous numeric dates (a `date` column).
    #[serde(default)]
    pub date_order: DateOrder,
}

impl Schema {
    /// Everything wrong with the schema, as one sentence each.
    pub fn check(&self) -> Result<(), String> {
        let n = self.columns.len();
        if n == 0 || n > MAX_COLUMNS {
            return Err(format!("{n} columns: a table has 1 to {MAX_COLUMNS}"));
        }
        let primaries = self.columns.iter().filter(|c| c.primary.is_some()).count();
        if primaries == 0 || primaries > MAX_PRIMARY {
            return Err(format!(
                "{primaries} primary columns: a table has 1 to {MAX_PRIMARY}"
            ));
        }
        if self.min_fields == 0 || usize::from(self.min_fields) > n {
            return Err(format!(
                "min_fields = {}: must be 1 to the number of columns ({n})",
                self.min_fields
            ));
        }
        if usize::from(self.proximity) > CONTEXT_BYTES {
            return Err(format!(
                "proximity = {}: at most {CONTEXT_BYTES} bytes (the engine's context window)",
                self.proximity
            ));
        }
        for (i, c) in self.columns.iter().enumerate() {
            if c.name.is_empty()
                || c.name.len() > MAX_COLUMN_NAME
                || !c
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_')
            {
                return Err(format!(
                    "column {}: name {:?} must be 1 to {MAX_COLUMN_NAME} letters, digits or _",
                    i + 1,
                    c.name
                ));
            }
            if self.columns[..i].iter().any(|o| o.name == c.name) {
                return Err(format!("column {:?} is named twice", c.name));
            }
            match (c.primary, &c.pattern) {
                (Some(Finder::Pattern), None) => {
                    return Err(format!(
                        "column {:?}: primary = \"pattern\" needs pattern",
                        c.name
                    ))
                }
                (Some(Finder::Pattern), Some(p)) => {
                    compile(p).map_err(|e| format!("column {:?}: {e}", c.name))?;
                }
                (_, Some(_)) => {
                    return Err(format!(
                        "column {:?}: pattern is only for primary = \"pattern\"",
                        c.name
                    ))
                }
                (Some(f), None) if f.column_type() != Some(c.kind) => {
                    return Err(format!(
                        "column {:?}: primary = {:?} finds {} values, the column is {}",
                        c.name,
                        f.as_str(),
                        f.column_type().map_or("", ColumnType::as_str),
                        c.kind.as_str()
                    ))
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// A primary column's regex, with the bounds the detectors' patterns have.
pub(crate) fn compile(pattern: &str) -> Result<Regex, String> {
    if pattern.len() > MAX_PATTERN_LEN {
        return Err(format!("pattern longer than {MAX_PATTERN_LEN} bytes"));
    }
    RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .dfa_size_limit(1 << 20)
        .build()
        .map_err(|e| format!("invalid regex: {e}"))
}

/// Longest value a `pattern` column reports: the window's match bound.
pub(crate) const MAX_PATTERN_MATCH: usize = MAX_MATCH_BYTES;

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, kind: ColumnType, primary: Option<Finder>) -> Column {
        Column {
            name: name.into(),
            kind,
            primary,
            pattern: None,
            date_order: DateOrder::Dmy,
        }
    }

    #[test]
    fn schema_rules_name_the_problem() {
        let ok = Schema {
            min_fields: 3,
            proximity: 300,
            columns: vec![
                col("card", ColumnType::Digits, Some(Finder::CreditCard)),
                col("name", ColumnType::Name, None),
                col("dob", ColumnType::Date, None),
            ],
        };
        ok.check().unwrap();
        let mut s = ok.clone();
        s.columns[0].primary = None;
        assert!(s.check().unwrap_err().contains("0 primary columns"));
        let mut s = ok.clone();
        s.min_fields = 4;
        assert!(s.check().unwrap_err().contains("min_fields = 4"));
        let mut s = ok.clone();
        s.proximity = 301;
        assert!(s.check().unwrap_err().contains("proximity = 301"));
        let mut s = ok.clone();
        s.columns[1].name = "card".into();
        assert!(s.check().unwrap_err().contains("named twice"));
        let mut s = ok.clone();
        s.columns[0].kind = ColumnType::Name;
        assert!(s.check().unwrap_err().contains("finds digits values"));
        let mut s = ok;
        s.columns[0].primary = Some(Finder::Pattern);
        s.columns[0].pattern = Some("(".into());
        assert!(s.check().unwrap_err().contains("invalid regex"));
    }
}
