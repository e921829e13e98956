//! Exact data match through the whole engine: a table hashed as `cordonctl edm hash` does,
//! loaded as the appliance does, and messages scanned in any chunking.

use std::sync::Arc;

use cordon_dlp::edm::{
    Builder, BundleFault, ColumnType, DateOrder, EdmKey, Finder, Schema, Table, MAX_BUNDLE_BYTES,
};
use cordon_dlp::{Confidence, Engine, EngineConfig};

fn column(name: &str, kind: ColumnType, primary: Option<Finder>) -> cordon_dlp::edm::Column {
    cordon_dlp::edm::Column {
        name: name.into(),
        kind,
        primary,
        pattern: None,
        date_order: DateOrder::Dmy,
    }
}

/// Six columns, two of them primary: the shape the acceptance figure is about.
fn schema() -> Schema {
    Schema {
        min_fields: 3,
        proximity: 300,
        columns: vec![
            column("card", ColumnType::Digits, Some(Finder::CreditCard)),
            column("email", ColumnType::Email, Some(Finder::Email)),
            column("first", ColumnType::Name, None),
            column("last", ColumnType::Name, None),
            column("dob", ColumnType::Date, None),
            column("postcode", ColumnType::Code, None),
        ],
    }
}

const ROWS: &[[&str; 6]] = &[
    [
        "4556526018159081",
        "ann.lee@example.org",
        "Ann",
        "Lee",
        "1980-03-12",
        "SW1A 1AA",
    ],
    [
        "4012 8888 8888 1881",
        "bo.diaz@example.net",
        "Bo",
        "Díaz",
        "1975-11-02",
        "EC1A 1BB",
    ],
    [
        "5425233430109903",
        "cy.okafor@example.com",
        "Cyrus",
        "Okafor",
        "2001-07-30",
        "M1 1AE",
    ],
    [
        "4111111111111111",
        "",
        "Dana",
        "Smith-Jones",
        "12/01/1990",
        "B33 8TH",
    ],
];

fn key(byte: u8) -> EdmKey {
    EdmKey::from_bytes([byte; 32])
}

fn bundle(key: &EdmKey) -> Vec<u8> {
    let mut b = Builder::new(schema(), key.clone()).unwrap();
    for row in ROWS {
        b.push(row).unwrap();
    }
    b.finish()
}

fn engine() -> Arc<Engine> {
    let table = Table::decode(&bundle(&key(7)), &key(7)).unwrap();
    Arc::new(
        Engine::new(&EngineConfig {
            edm: vec![("customers".into(), Arc::new(table))],
            ..Default::default()
        })
        .unwrap(),
    )
}

fn message(body: &str) -> Vec<u8> {
    format!(
        "From: a@example.org\r\nTo: b@example.com\r\nSubject: list\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

fn rows_found(engine: &Arc<Engine>, msg: &[u8], chunk: usize) -> u32 {
    let mut s = engine.scanner();
    for c in msg.chunks(chunk) {
        s.feed(c);
    }
    s.finish().count("edm:customers", Confidence::Low)
}

/// Three rows, each its card plus two other cells, written differently from the table.
const THREE_ROWS: &str = "Hi,\r\n\
    ANN LEE, card 4556 5260 1815 9081, born 12 March 1980.\r\n\
    Then: 4012-8888-8888-1881 for bo   DÍAZ (dob 02/11/1975).\r\n\
    cyrus okafor 5425 2334 3010 9903 lives at m1 1ae.\r\n";

#[test]
fn reformatted_rows_are_counted_once_each_in_any_chunking() {
    let e = engine();
    assert!(e.knows("edm:customers"));
    let msg = message(THREE_ROWS);
    for chunk in [1, 7, 64, 4096, msg.len()] {
        assert_eq!(rows_found(&e, &msg, chunk), 3, "chunk {chunk}");
    }
    // A row has no redacted form: the finding keeps no sample at all.
    let mut s = e.scanner();
    s.feed(&msg);
    let findings = s.finish();
    let edm = findings
        .detectors
        .iter()
        .find(|d| d.name == "edm:customers")
        .unwrap();
    assert!(edm.samples.is_empty(), "{:?}", edm.samples);
    // The same rows twice are still three rows.
    let twice = message(&format!("{THREE_ROWS}\r\n{THREE_ROWS}"));
    assert_eq!(rows_found(&e, &twice, 4096), 3);
}

#[test]
fn the_same_numbers_with_other_names_or_alone_are_not_rows() {
    let e = engine();
    let other_names = message(
        "Ravi Patel 4556 5260 1815 9081 born 1 May 1960.\r\n\
         Zoe King 4012-8888-8888-1881 (dob 03/04/1999).\r\n\
         Li Wei 5425 2334 3010 9903 at ZZ9 9ZZ.\r\n",
    );
    assert_eq!(rows_found(&e, &other_names, 4096), 0);
    let single_fields = message("card 4556526018159081 and, far from it, nothing else.");
    assert_eq!(rows_found(&e, &single_fields, 4096), 0);
    // Two cells of a row are fewer than min_fields = 3.
    assert_eq!(rows_found(&e, &message("Ann, 4556526018159081"), 4096), 0);
    // Cells of a row more than `proximity` bytes from its card do not count.
    let far = format!("Ann Lee {} 4556526018159081", "filler ".repeat(60));
    assert_eq!(rows_found(&e, &message(&far), 4096), 0);
}

#[test]
fn the_second_primary_column_finds_rows_too() {
    let e = engine();
    let msg = message("Write to Ann.Lee@Example.org (Ann, postcode sw1a1aa).");
    assert_eq!(rows_found(&e, &msg, 5), 1);
}

#[test]
fn memory_per_row_of_six_columns_is_at_most_48_bytes() {
    let table = Table::decode(&bundle(&key(7)), &key(7)).unwrap();
    let per_row = Table::bytes_per_row(&schema());
    println!(
        "edm: 6 columns, 2 primary: {per_row} B per row; table of {} rows holds {} B",
        table.rows(),
        table.memory_bytes()
    );
    assert!(per_row <= 48);
    assert!(table.memory_bytes() <= table.rows() * per_row);
}

/// 100,000 rows of six columns, two primary (the acceptance shape), from a deterministic
/// generator: hashed as `cordonctl edm hash` hashes and loaded as the appliance loads, with
/// both rates printed (`cargo test --release -p cordon-dlp --test edm -- --nocapture` for
/// the figures; a debug build is some ten times slower) and 48 bytes per row asserted.
#[test]
fn a_100k_row_table_hashes_and_loads_at_48_bytes_per_row() {
    const N: usize = 100_000;
    let mut x: u64 = 0x2026_1206;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let rows: Vec<[String; 6]> = (0..N)
        .map(|i| {
            let r = next();
            [
                format!("4{:015}", r % 1_000_000_000_000_000),
                format!("user{i}@example.org"),
                format!("First{}", r % 977),
                format!("Last{}", (r >> 20) % 1_999),
                format!(
                    "{}-{:02}-{:02}",
                    1940 + (r >> 8) % 60,
                    1 + (r >> 16) % 12,
                    1 + (r >> 24) % 28
                ),
                format!("AB{} {}CD", (r >> 32) % 99, (r >> 40) % 9),
            ]
        })
        .collect();
    let k = key(9);
    let started = std::time::Instant::now();
    let mut b = Builder::new(schema(), k.clone()).unwrap();
    for row in &rows {
        b.push(row).unwrap();
    }
    let bytes = b.finish();
    let hashed = started.elapsed().as_secs_f64();
    let started = std::time::Instant::now();
    let table = Table::decode(&bytes, &k).unwrap();
    let loaded = started.elapsed().as_secs_f64();
    println!(
        "edm: {N} rows x 6 columns: hash {:.0} rows/s ({hashed:.2} s), load {:.0} rows/s ({loaded:.3} s); bundle {} B; {} B in memory ({} B/row)",
        N as f64 / hashed,
        N as f64 / loaded,
        bytes.len(),
        table.memory_bytes(),
        table.memory_bytes() / N
    );
    assert_eq!(table.rows(), N);
    assert!(table.memory_bytes() <= 48 * N);
}

#[test]
fn a_bundle_holds_no_cell_text() {
    let b = bundle(&key(7));
    for row in ROWS {
        for cell in row.iter().filter(|c| c.len() >= 3) {
            for needle in [cell.to_string(), cell.to_lowercase(), cell.replace(' ', "")] {
                assert!(
                    !b.windows(needle.len()).any(|w| w == needle.as_bytes()),
                    "cell text in the bundle"
                );
            }
        }
    }
}

#[test]
fn hostile_bundles_are_refused_whole_with_the_reason() {
    let k = key(7);
    let good = bundle(&k);
    assert_eq!(
        Table::decode(&good, &key(8)).unwrap_err(),
        BundleFault::WrongKey
    );
    for len in [0, 10, 31, good.len() / 2, good.len() - 1] {
        let err = Table::decode(&good[..len], &k).unwrap_err();
        assert!(
            matches!(err, BundleFault::Truncated { .. } | BundleFault::Corrupt),
            "{len}: {err}"
        );
    }
    // Every bit of the bundle, flipped alone, is caught (the magic and key check by their own
    // names, the rest by the MAC).
    for i in 0..good.len() {
        for bit in [0x01u8, 0x80] {
            let mut bad = good.clone();
            bad[i] ^= bit;
            let err = Table::decode(&bad, &k).unwrap_err();
            let expected = match i {
                0..=7 => BundleFault::Magic,
                8..=15 => BundleFault::WrongKey,
                _ => BundleFault::Corrupt,
            };
            assert_eq!(err, expected, "byte {i}");
        }
    }
    let huge = vec![0u8; MAX_BUNDLE_BYTES + 1];
    assert_eq!(
        Table::decode(&huge, &k).unwrap_err(),
        BundleFault::Oversized {
            len: MAX_BUNDLE_BYTES + 1,
            max: MAX_BUNDLE_BYTES
        }
    );
    let mut other = good.clone();
    other[..8].copy_from_slice(b"CDNEDM99");
    assert_eq!(Table::decode(&other, &k).unwrap_err(), BundleFault::Magic);
}

#[test]
fn rows_that_cannot_be_hashed_name_their_column() {
    let mut b = Builder::new(schema(), key(1)).unwrap();
    let err = b
        .push(&["4556526018159081", "x@y.z", "A", "B", "31/02/1980", "X"])
        .unwrap_err();
    assert_eq!(err.to_string(), "column dob: not a date this reads");
    assert_eq!(
        b.push(&["1", "2"]).unwrap_err().to_string(),
        "2 cells, the schema has 6 columns"
    );
    assert_eq!(b.rows(), 0);
}

/// The fuzz target's entry over a real bundle's layout (signed with the fuzzing key, so past
/// the MAC), every truncation of it and every bit flipped in its header and schema: each is
/// refused or scanned alike in two chunkings (the target asserts that), never a panic.
#[test]
fn signed_layouts_cut_or_flipped_are_refused_or_scan_consistently() {
    let b = bundle(&key(7));
    // Magic and key check (16 bytes) in front, the MAC (16 bytes) behind.
    let layout = &b[16..b.len() - 16];
    assert!(
        cordon_dlp::fuzzing::edm_bundle(layout),
        "the real layout decodes"
    );
    let mut decoded = 0;
    for len in 0..layout.len() {
        decoded += usize::from(cordon_dlp::fuzzing::edm_bundle(&layout[..len]));
    }
    assert_eq!(decoded, 0, "a cut layout never decodes");
    for i in 0..64.min(layout.len()) {
        for bit in 0..8 {
            let mut m = layout.to_vec();
            m[i] ^= 1 << bit;
            cordon_dlp::fuzzing::edm_bundle(&m);
        }
    }
}
