//! A span-aware walk over a parsed TOML document that records problems instead of stopping.

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::model::Location;
use crate::Diagnostic;

/// Holds the source for line numbers and the diagnostics found so far.
#[derive(Debug)]
pub struct Reader<'s> {
    file: PathBuf,
    text: &'s str,
    pub diagnostics: Vec<Diagnostic>,
}

impl<'s> Reader<'s> {
    pub fn new(file: &Path, text: &'s str) -> Reader<'s> {
        Reader {
            file: file.to_path_buf(),
            text,
            diagnostics: Vec::new(),
        }
    }

    /// Line and column (1-based) of a byte offset.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let col = before.rfind('\n').map(|i| offset - i).unwrap_or(offset + 1);
        (line, col)
    }

    pub fn location(&self, span: &Range<usize>, key: &str) -> Location {
        let (line, column) = self.position(span.start);
        Location {
            file: self.file.clone(),
            line,
            column,
            key: key.to_string(),
        }
    }

    pub fn error(&mut self, span: &Range<usize>, key: &str, message: impl Into<String>) {
        let d = self.location(span, key).diagnostic(message);
        self.diagnostics.push(d);
    }
}

/// A table being read: which keys exist, which were used.
#[derive(Debug)]
pub struct Section<'t, 'i> {
    /// Dotted path of this table, empty for the root.
    pub path: String,
    pub span: Range<usize>,
    table: Option<&'t DeTable<'i>>,
    used: BTreeSet<String>,
}

pub type Value<'i> = Spanned<DeValue<'i>>;

impl<'t, 'i> Section<'t, 'i> {
    pub fn root(table: &'t Spanned<DeTable<'i>>) -> Self {
        Section {
            path: String::new(),
            span: table.span(),
            table: Some(table.get_ref()),
            used: BTreeSet::new(),
        }
    }

    /// A section that is absent: every getter returns `None`.
    pub fn empty(path: &str) -> Self {
        Section {
            path: path.to_string(),
            span: 0..0,
            table: None,
            used: BTreeSet::new(),
        }
    }

    pub fn key(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// The raw value of a key, marking it as known.
    pub fn raw(&mut self, key: &str) -> Option<&'t Value<'i>> {
        self.used.insert(key.to_string());
        self.table?.get(key)
    }

    /// A sub-table (`[gateway.tls]`); a present non-table is an error.
    pub fn table(&mut self, r: &mut Reader<'_>, key: &str) -> Option<Section<'t, 'i>> {
        let v = self.raw(key)?;
        match v.get_ref() {
            DeValue::Table(t) => Some(Section {
                path: self.key(key),
                span: v.span(),
                table: Some(t),
                used: BTreeSet::new(),
            }),
            other => {
                r.error(
                    &v.span(),
                    &self.key(key),
                    format!("expected a table, found {}", other.type_str()),
                );
                None
            }
        }
    }

    /// An array of tables (`[[rule]]`).
    pub fn tables(&mut self, r: &mut Reader<'_>, key: &str) -> Vec<Section<'t, 'i>> {
        let Some(v) = self.raw(key) else {
            return Vec::new();
        };
        let path = self.key(key);
        match v.get_ref() {
            DeValue::Array(items) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| match item.get_ref() {
                    DeValue::Table(t) => Some(Section {
                        path: format!("{path}[{i}]"),
                        span: item.span(),
                        table: Some(t),
                        used: BTreeSet::new(),
                    }),
                    other => {
                        r.error(
                            &item.span(),
                            &format!("{path}[{i}]"),
                            format!("expected a table, found {}", other.type_str()),
                        );
                        None
                    }
                })
                .collect(),
            other => {
                r.error(
                    &v.span(),
                    &path,
                    format!(
                        "expected an array of tables ([[{key}]]), found {}",
                        other.type_str()
                    ),
                );
                Vec::new()
            }
        }
    }

    /// A string value with its span.
    pub fn string(&mut self, r: &mut Reader<'_>, key: &str) -> Option<(String, Range<usize>)> {
        let v = self.raw(key)?;
        match v.get_ref().as_str() {
            Some(s) => Some((s.to_string(), v.span())),
            None => {
                r.error(
                    &v.span(),
                    &self.key(key),
                    format!("expected a string, found {}", v.get_ref().type_str()),
                );
                None
            }
        }
    }

    pub fn bool(&mut self, r: &mut Reader<'_>, key: &str) -> Option<bool> {
        let v = self.raw(key)?;
        match v.get_ref().as_bool() {
            Some(b) => Some(b),
            None => {
                r.error(
                    &v.span(),
                    &self.key(key),
                    format!("expected true or false, found {}", v.get_ref().type_str()),
                );
                None
            }
        }
    }

    /// An integer within `range`.
    /// A share written as a decimal in (0, 1] (`0.3`), or `1`; in thousandths.
    pub fn share(&mut self, r: &mut Reader<'_>, key: &str) -> Option<u16> {
        let v = self.raw(key)?;
        let parsed = match v.get_ref() {
            DeValue::Float(f) => f.as_str().replace('_', "").parse::<f64>().ok(),
            DeValue::Integer(i) => i.as_str().replace('_', "").parse::<f64>().ok(),
            _ => None,
        };
        match parsed {
            Some(x) if x > 0.0 && x <= 1.0 => Some((x * 1000.0).round().max(1.0) as u16),
            _ => {
                r.error(
                    &v.span(),
                    &self.key(key),
                    format!(
                        "expected a share above 0 and at most 1 (0.3 for 30%), found {}",
                        v.get_ref().type_str()
                    ),
                );
                None
            }
        }
    }

    pub fn integer(
        &mut self,
        r: &mut Reader<'_>,
        key: &str,
        range: Range<i64>,
    ) -> Option<(i64, Range<usize>)> {
        let v = self.raw(key)?;
        let parsed = v
            .get_ref()
            .as_integer()
            .and_then(|i| i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()).ok());
        match parsed {
            Some(n) if range.contains(&n) => Some((n, v.span())),
            Some(n) => {
                r.error(
                    &v.span(),
                    &self.key(key),
                    format!("{n} is out of range ({}..={})", range.start, range.end - 1),
                );
                None
            }
            None => {
                r.error(
                    &v.span(),
                    &self.key(key),
                    format!("expected an integer, found {}", v.get_ref().type_str()),
                );
                None
            }
        }
    }

    /// A string or a list of strings; each item with its span and indexed key.
    pub fn strings(
        &mut self,
        r: &mut Reader<'_>,
        key: &str,
    ) -> Option<Vec<(String, Range<usize>, String)>> {
        let v = self.raw(key)?;
        let path = self.key(key);
        match v.get_ref() {
            DeValue::String(s) => Some(vec![(s.to_string(), v.span(), path)]),
            DeValue::Array(items) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    match item.get_ref().as_str() {
                        Some(s) => out.push((s.to_string(), item.span(), format!("{path}[{i}]"))),
                        None => r.error(
                            &item.span(),
                            &format!("{path}[{i}]"),
                            format!("expected a string, found {}", item.get_ref().type_str()),
                        ),
                    }
                }
                Some(out)
            }
            other => {
                r.error(
                    &v.span(),
                    &path,
                    format!("expected a list of strings, found {}", other.type_str()),
                );
                None
            }
        }
    }

    /// Reports every key of this table that no getter asked for.
    pub fn finish(self, r: &mut Reader<'_>) {
        let Some(t) = self.table else { return };
        for (k, _) in t.iter() {
            if !self.used.contains(k.get_ref().as_ref()) {
                let known: Vec<&str> = self.used.iter().map(String::as_str).collect();
                let hint = if known.is_empty() {
                    String::new()
                } else {
                    format!(" (known keys: {})", known.join(", "))
                };
                r.error(
                    &k.span(),
                    &self.key(k.get_ref()),
                    format!("unknown key{hint}"),
                );
            }
        }
    }
}
