//! Exact data match (EDM): a customer's own records, found in messages by keyed hashes only.
//!
//! The administrator hashes a table offline (`cordonctl edm hash`): each cell is normalised
//! by its column's type ([`normalise`]) and hashed with SipHash-2-4 under a per-table secret
//! key; the bundle ([`Builder`]) holds the schema, sorted 64-bit hashes of the primary
//! columns, 32-bit hashes of every cell, and a MAC, never a cell's text. The appliance
//! verifies a bundle whole with the key ([`Table::decode`]) and keeps it in memory; the
//! engine then reports, per table, the distinct rows a message names (see `scan` for the
//! rule: a primary value in the table, and `min_fields` of its row's cells within
//! `proximity` bytes). Rules name a table as the detector `edm:NAME`.
//!
//! # Layout
//! - `normalise`: column types and the normalisation of cells and of text.
//! - `schema`: `schema.toml`, primary finders, its checks.
//! - `table`: the keyed hash, the bundle format, the in-memory table.
//! - `scan`: candidates in a window and row matching.

mod normalise;
mod scan;
mod schema;
mod table;

pub(crate) use scan::Numbers;

pub use normalise::{normalise, CellFault, ColumnType, DateOrder, Norm, MAX_CELL_BYTES};
pub use schema::{Column, Finder, Schema, DEFAULT_PROXIMITY, MAX_COLUMNS, MAX_PRIMARY};
pub use table::{
    Builder, BundleFault, EdmKey, RowFault, Table, KEY_BYTES, MAX_BUNDLE_BYTES, MAX_ROWS,
};

/// The detector name rules use for the table `name`.
pub fn detector_name(name: &str) -> String {
    format!("{DETECTOR_PREFIX}{name}")
}

/// What starts the detector name of an EDM table in a rule's `match`.
pub const DETECTOR_PREFIX: &str = "edm:";

/// Longest table name: it is a file name on the appliance and part of a detector name.
pub const MAX_TABLE_NAME: usize = 32;

/// Whether `name` may name a table: 1 to [`MAX_TABLE_NAME`] lower-case letters, digits, `_`
/// or `-`, starting with a letter (safe as a file name and in a rule).
pub fn valid_table_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_TABLE_NAME
        && name.as_bytes()[0].is_ascii_lowercase()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}
