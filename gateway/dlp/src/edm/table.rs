//! The keyed hash, the bundle `cordonctl edm hash` writes, and the table the appliance keeps
//! in memory.
//!
//! # The hash
//! SipHash-2-4 under a 128-bit per-table key, over the column type's tag and the normalised
//! cell. SipHash is a pseudo-random function made for short inputs: without the key nobody can
//! test guesses against the bundle (a card number has some 40 bits of freedom, a plain hash of
//! it is brute-forced in minutes; a keyed one is not without the key). It costs ~20 ns a cell,
//! which lets the appliance hash every candidate in a message (HMAC-SHA256 would cost 20 times
//! that). Primary values keep 64 bits (a false hit among a million rows ~2^-44 per candidate),
//! the other cells 32 bits: a cell is only compared with the cells of the one row a primary
//! value named, so 2^-32 per comparison suffices.
//!
//! # The key
//! 32 bytes from the administrator's key file: the first 16 key the cell hashes, the last 16
//! the bundle's MAC (SipHash-2-4-128 over every byte before it). A key-check value (the cell
//! key's hash of a fixed string) sits in the header, so a bundle read with another key is
//! refused as such rather than as corrupt.
//!
//! # Bundle layout (little endian)
//! `CDNEDM01`, key check u64, rows u32, min_fields u8, proximity u16, columns u8; per column:
//! type u8, finder u8 (0 = not primary), date order u8, name (u8 length + bytes), pattern
//! (u16 length + bytes); per primary column in column order: entries u32, that many u64 hashes
//! in ascending order, then as many u32 row numbers; rows × columns u32 cell hashes (0 = empty
//! cell); the 16-byte MAC.
//!
//! # Memory
//! Per row: 4 bytes per column plus 12 per primary column (a 64-bit hash and a row number in
//! two sorted arrays, searched by bisection); six columns with two primary ones are 48 bytes.

use std::hash::Hasher;

use siphasher::sip::SipHasher24;
use siphasher::sip128::{Hasher128, SipHasher24 as SipHasher24x128};

use crate::edm::normalise::{normalise, CellFault, ColumnType, DateOrder, Norm};
use crate::edm::schema::{compile, Column, Finder, Schema, MAX_COLUMN_NAME, MAX_PATTERN_LEN};
use regex::bytes::Regex;

/// Bytes of a table key.
pub const KEY_BYTES: usize = 32;

/// Largest bundle read: a million rows of eight columns, two of them primary (56 bytes a
/// row), with room to spare; also the config port's upload limit for the kind.
pub const MAX_BUNDLE_BYTES: usize = 64 << 20;

/// Rows of one table: 2^24 (16.7 million) keeps row numbers well inside u32 and a table
/// under a gigabyte whatever its schema.
pub const MAX_ROWS: usize = 1 << 24;

const MAGIC: &[u8; 8] = b"CDNEDM01";
const KEY_CHECK_TEXT: &[u8] = b"cordon edm key check v1";
const MAC_BYTES: usize = 16;

/// A table's secret key: never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct EdmKey([u8; KEY_BYTES]);

impl std::fmt::Debug for EdmKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EdmKey(..)")
    }
}

impl EdmKey {
    pub fn from_bytes(bytes: [u8; KEY_BYTES]) -> EdmKey {
        EdmKey(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; KEY_BYTES] {
        &self.0
    }

    fn cell_key(&self) -> [u8; 16] {
        self.0[..16].try_into().unwrap_or([0; 16])
    }

    fn mac_key(&self) -> [u8; 16] {
        self.0[16..].try_into().unwrap_or([0; 16])
    }

    /// The value the bundle carries to recognise its key.
    pub fn check_value(&self) -> u64 {
        let mut h = SipHasher24::new_with_key(&self.cell_key());
        h.write(KEY_CHECK_TEXT);
        h.finish()
    }

    fn mac(&self, bytes: &[u8]) -> [u8; MAC_BYTES] {
        let mut h = SipHasher24x128::new_with_key(&self.mac_key());
        h.write(bytes);
        h.finish128().as_bytes()
    }

    /// A bundle around `layout` (everything after the key-check value, before the MAC) that
    /// passes this key's checks, so the fuzz target reaches the layout decoder: the part a
    /// buggy `cordonctl` (rather than an attacker without the key) could get wrong.
    pub(crate) fn sign(&self, layout: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(MAGIC.len() + 8 + layout.len() + MAC_BYTES);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.check_value().to_le_bytes());
        out.extend_from_slice(layout);
        let mac = self.mac(&out);
        out.extend_from_slice(&mac);
        out
    }
}

/// The keyed hash of one normalised cell of type `kind`.
#[derive(Clone, Debug)]
pub(crate) struct CellHasher {
    key: [u8; 16],
}

impl CellHasher {
    pub(crate) fn new(key: &EdmKey) -> CellHasher {
        CellHasher {
            key: key.cell_key(),
        }
    }

    pub(crate) fn hash64(&self, kind: ColumnType, norm: &[u8]) -> u64 {
        let mut h = self.begin(kind);
        h.write(norm);
        h.finish()
    }

    /// The 32 bits a row keeps of a cell; never 0 (that marks an empty cell).
    pub(crate) fn hash32(&self, kind: ColumnType, norm: &[u8]) -> u32 {
        let mut h = self.begin(kind);
        h.write(norm);
        CellHasher::end32(&h)
    }

    /// The hash of a cell of type `kind` before its bytes: SipHash reads a cell written in
    /// pieces as it reads it whole, so a run of words can be hashed word by word.
    pub(crate) fn begin(&self, kind: ColumnType) -> SipHasher24 {
        let mut h = SipHasher24::new_with_key(&self.key);
        h.write_u8(kind.tag());
        h
    }

    /// [`CellHasher::hash32`] of the cell fed to `h` since [`CellHasher::begin`].
    pub(crate) fn end32(h: &SipHasher24) -> u32 {
        ((h.finish() >> 32) as u32).max(1)
    }
}

/// Why a bundle was refused; nothing of it was loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BundleFault {
    /// Shorter than its header, or than its header says.
    Truncated { len: usize },
    /// Larger than [`MAX_BUNDLE_BYTES`].
    Oversized { len: usize, max: usize },
    /// Not an EDM bundle (or another format version).
    Magic,
    /// Hashed with another key than the one given.
    WrongKey,
    /// The MAC does not match: bytes changed after hashing.
    Corrupt,
    /// The MAC matches but the content is inconsistent (a writer bug): what is wrong.
    Layout(String),
}

impl std::fmt::Display for BundleFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BundleFault::Truncated { len } => write!(f, "truncated ({len} bytes)"),
            BundleFault::Oversized { len, max } => {
                write!(f, "{len} bytes, larger than the {max}-byte limit")
            }
            BundleFault::Magic => f.write_str("not an EDM bundle of format CDNEDM01"),
            BundleFault::WrongKey => f.write_str("hashed with another key than this key file"),
            BundleFault::Corrupt => f.write_str("corrupt: its MAC does not match its content"),
            BundleFault::Layout(what) => write!(f, "inconsistent: {what}"),
        }
    }
}

/// Why a row of the CSV cannot be hashed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowFault {
    /// The row has another number of cells than the schema has columns.
    Width { found: usize, columns: usize },
    /// A cell of the named column cannot be normalised.
    Cell { column: String, fault: CellFault },
    /// More than [`MAX_ROWS`] rows.
    TooManyRows,
}

impl std::fmt::Display for RowFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RowFault::Width { found, columns } => {
                write!(f, "{found} cells, the schema has {columns} columns")
            }
            RowFault::Cell { column, fault } => match fault {
                CellFault::TooLong => write!(f, "column {column}: cell too long"),
                CellFault::NotADate => write!(f, "column {column}: not a date this reads"),
            },
            RowFault::TooManyRows => write!(f, "more than {MAX_ROWS} rows"),
        }
    }
}

/// One primary column's index: hashes ascending, each with its row.
#[derive(Clone)]
pub(crate) struct PrimaryIndex {
    pub column: usize,
    pub finder: Finder,
    /// The column's type and date order: how a `pattern` match is normalised.
    pub kind: ColumnType,
    pub date_order: DateOrder,
    pub keys: Box<[u64]>,
    pub rows: Box<[u32]>,
    pub regex: Option<Regex>,
}

impl PrimaryIndex {
    /// Rows whose cell of this column hashes to `h`.
    pub(crate) fn rows_of(&self, h: u64) -> &[u32] {
        let lo = self.keys.partition_point(|&k| k < h);
        let hi = lo + self.keys[lo..].partition_point(|&k| k == h);
        &self.rows[lo..hi]
    }
}

/// Builds a bundle row by row (`cordonctl edm hash`).
#[derive(Debug)]
pub struct Builder {
    schema: Schema,
    key: EdmKey,
    hasher: CellHasher,
    primary: Vec<Vec<(u64, u32)>>,
    cells: Vec<u32>,
    rows: usize,
}

impl Builder {
    /// `schema` must pass [`Schema::check`].
    pub fn new(schema: Schema, key: EdmKey) -> Result<Builder, String> {
        schema.check()?;
        let primaries = schema
            .columns
            .iter()
            .filter(|c| c.primary.is_some())
            .count();
        Ok(Builder {
            hasher: CellHasher::new(&key),
            schema,
            key,
            primary: vec![Vec::new(); primaries],
            cells: Vec::new(),
            rows: 0,
        })
    }

    /// Adds one row; nothing is added when it is refused.
    pub fn push<S: AsRef<str>>(&mut self, cells: &[S]) -> Result<(), RowFault> {
        let columns = self.schema.columns.len();
        if cells.len() != columns {
            return Err(RowFault::Width {
                found: cells.len(),
                columns,
            });
        }
        if self.rows >= MAX_ROWS {
            return Err(RowFault::TooManyRows);
        }
        let mut norms = [Norm::new(); crate::edm::schema::MAX_COLUMNS];
        for (i, (c, cell)) in self.schema.columns.iter().zip(cells).enumerate() {
            norms[i] =
                normalise(c.kind, c.date_order, cell.as_ref()).map_err(|fault| RowFault::Cell {
                    column: c.name.clone(),
                    fault,
                })?;
        }
        let row = self.rows as u32;
        let mut p = 0;
        for (c, n) in self.schema.columns.iter().zip(&norms) {
            let empty = n.as_bytes().is_empty();
            self.cells.push(if empty {
                0
            } else {
                self.hasher.hash32(c.kind, n.as_bytes())
            });
            if c.primary.is_some() {
                if !empty {
                    self.primary[p].push((self.hasher.hash64(c.kind, n.as_bytes()), row));
                }
                p += 1;
            }
        }
        self.rows += 1;
        Ok(())
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The bundle: header, sorted indexes, cells, MAC.
    pub fn finish(mut self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.cells.len() * 4 + self.rows * 12);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.key.check_value().to_le_bytes());
        out.extend_from_slice(&(self.rows as u32).to_le_bytes());
        out.push(self.schema.min_fields);
        out.extend_from_slice(&self.schema.proximity.to_le_bytes());
        out.push(self.schema.columns.len() as u8);
        for c in &self.schema.columns {
            out.push(c.kind.tag());
            out.push(c.primary.map_or(0, Finder::tag));
            out.push(c.date_order as u8);
            out.push(c.name.len() as u8);
            out.extend_from_slice(c.name.as_bytes());
            let p = c.pattern.as_deref().unwrap_or("");
            out.extend_from_slice(&(p.len() as u16).to_le_bytes());
            out.extend_from_slice(p.as_bytes());
        }
        for index in &mut self.primary {
            index.sort_unstable();
            out.extend_from_slice(&(index.len() as u32).to_le_bytes());
            for (h, _) in index.iter() {
                out.extend_from_slice(&h.to_le_bytes());
            }
            for (_, r) in index.iter() {
                out.extend_from_slice(&r.to_le_bytes());
            }
        }
        for c in &self.cells {
            out.extend_from_slice(&c.to_le_bytes());
        }
        let mac = self.key.mac(&out);
        out.extend_from_slice(&mac);
        out
    }
}

/// A loaded table: the schema (no cells), the primary indexes and every row's cell hashes.
pub struct Table {
    pub(crate) schema: Schema,
    pub(crate) hasher: CellHasher,
    pub(crate) primary: Vec<PrimaryIndex>,
    /// `rows × columns` 32-bit cell hashes, row after row.
    pub(crate) cells: Box<[u32]>,
    pub(crate) rows: usize,
}

// Holds keyed hashes and the key: show only the shape.
impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("rows", &self.rows)
            .field("columns", &self.schema.columns.len())
            .field("memory_bytes", &self.memory_bytes())
            .finish_non_exhaustive()
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], BundleFault> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or(BundleFault::Truncated {
            len: self.bytes.len(),
        })?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, BundleFault> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, BundleFault> {
        Ok(u16::from_le_bytes(
            self.take(2)?.try_into().unwrap_or_default(),
        ))
    }

    fn u32(&mut self) -> Result<u32, BundleFault> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().unwrap_or_default(),
        ))
    }
}

fn layout(what: impl Into<String>) -> BundleFault {
    BundleFault::Layout(what.into())
}

impl Table {
    /// Verifies `bytes` whole under `key` and builds the table; any fault refuses it all.
    pub fn decode(bytes: &[u8], key: &EdmKey) -> Result<Table, BundleFault> {
        if bytes.len() > MAX_BUNDLE_BYTES {
            return Err(BundleFault::Oversized {
                len: bytes.len(),
                max: MAX_BUNDLE_BYTES,
            });
        }
        if bytes.len() < MAGIC.len() + 8 + MAC_BYTES {
            return Err(BundleFault::Truncated { len: bytes.len() });
        }
        if &bytes[..8] != MAGIC {
            return Err(BundleFault::Magic);
        }
        if bytes[8..16] != key.check_value().to_le_bytes() {
            return Err(BundleFault::WrongKey);
        }
        let (body, mac) = bytes.split_at(bytes.len() - MAC_BYTES);
        if key.mac(body) != mac {
            return Err(BundleFault::Corrupt);
        }
        let mut c = Cursor {
            bytes: body,
            at: 16,
        };
        let rows = c.u32()? as usize;
        if rows > MAX_ROWS {
            return Err(layout(format!("{rows} rows, more than {MAX_ROWS}")));
        }
        let min_fields = c.u8()?;
        let proximity = c.u16()?;
        let ncols = usize::from(c.u8()?);
        let mut columns = Vec::with_capacity(ncols.min(crate::edm::schema::MAX_COLUMNS));
        for _ in 0..ncols.min(crate::edm::schema::MAX_COLUMNS + 1) {
            let kind = ColumnType::from_tag(c.u8()?).ok_or_else(|| layout("column type"))?;
            let primary = Finder::from_tag(c.u8()?).ok_or_else(|| layout("finder"))?;
            let date_order = match c.u8()? {
                0 => DateOrder::Dmy,
                1 => DateOrder::Mdy,
                _ => return Err(layout("date order")),
            };
            let n = usize::from(c.u8()?);
            if n > MAX_COLUMN_NAME {
                return Err(layout("column name length"));
            }
            let name = std::str::from_utf8(c.take(n)?).map_err(|_| layout("column name"))?;
            let n = usize::from(c.u16()?);
            if n > MAX_PATTERN_LEN {
                return Err(layout("pattern length"));
            }
            let pattern = std::str::from_utf8(c.take(n)?).map_err(|_| layout("pattern"))?;
            columns.push(Column {
                name: name.to_owned(),
                kind,
                primary,
                pattern: (!pattern.is_empty()).then(|| pattern.to_owned()),
                date_order,
            });
        }
        let schema = Schema {
            min_fields,
            proximity,
            columns,
        };
        schema.check().map_err(layout)?;
        let mut primary = Vec::new();
        for (i, col) in schema.columns.iter().enumerate() {
            let Some(finder) = col.primary else { continue };
            let n = c.u32()? as usize;
            if n > rows {
                return Err(layout(format!(
                    "column {}: {n} entries for {rows} rows",
                    col.name
                )));
            }
            let raw = c.take(n * 8)?;
            let keys: Box<[u64]> = raw
                .chunks_exact(8)
                .map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()))
                .collect();
            if keys.windows(2).any(|w| w[0] > w[1]) {
                return Err(layout(format!("column {}: hashes out of order", col.name)));
            }
            let raw = c.take(n * 4)?;
            let row_ids: Box<[u32]> = raw
                .chunks_exact(4)
                .map(|b| u32::from_le_bytes(b.try_into().unwrap_or_default()))
                .collect();
            if row_ids.iter().any(|&r| r as usize >= rows) {
                return Err(layout(format!(
                    "column {}: row number out of range",
                    col.name
                )));
            }
            let regex = match (&col.pattern, finder) {
                (Some(p), Finder::Pattern) => Some(compile(p).map_err(layout)?),
                _ => None,
            };
            primary.push(PrimaryIndex {
                column: i,
                finder,
                kind: col.kind,
                date_order: col.date_order,
                keys,
                rows: row_ids,
                regex,
            });
        }
        let raw = c.take(rows * ncols * 4)?;
        let cells: Box<[u32]> = raw
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes(b.try_into().unwrap_or_default()))
            .collect();
        if c.at != body.len() {
            return Err(layout(format!(
                "{} bytes after the cells",
                body.len() - c.at
            )));
        }
        Ok(Table {
            schema,
            hasher: CellHasher::new(key),
            primary,
            cells,
            rows,
        })
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn columns(&self) -> usize {
        self.schema.columns.len()
    }

    /// The schema the table was hashed with (column names and types, no cells).
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Bytes the table holds in memory: the indexes and the cell hashes.
    pub fn memory_bytes(&self) -> usize {
        self.primary
            .iter()
            .map(|p| p.keys.len() * 12)
            .sum::<usize>()
            + self.cells.len() * 4
    }

    /// Memory per row the schema costs when every primary cell is filled: 4 bytes per column,
    /// 12 more per primary column.
    pub fn bytes_per_row(schema: &Schema) -> usize {
        schema.columns.len() * 4
            + schema
                .columns
                .iter()
                .filter(|c| c.primary.is_some())
                .count()
                * 12
    }

    pub(crate) fn row(&self, r: u32) -> &[u32] {
        let n = self.schema.columns.len();
        let s = r as usize * n;
        &self.cells[s..s + n]
    }
}
