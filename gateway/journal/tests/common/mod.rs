//! Helpers shared by the journal's behaviour tests: a scratch directory on the build disk (not
//! tmpfs, so fsync costs what it costs), a seeded generator, payloads that differ in length and
//! content, and the byte layout of a segment as the tests need it to cut and edit.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

use cordon_journal::format::{RecordHeader, RECORD_HEADER_LEN, SEGMENT_HEADER_LEN};
use cordon_journal::{Journal, Limits, Reader, Start};

pub const KEY: &[u8] = b"appliance-key-for-journal-tests!";

/// Small sizes so rotation and retention happen within a few dozen records.
pub const SMALL: Limits = Limits {
    segment_bytes: 2048,
    total_bytes: 8192,
    max_record: 512,
};

pub fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("journal-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap()
}

/// xorshift64*: deterministic, so a failing iteration can be replayed from its seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform-enough in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// Payload of record `seq`: its length and bytes depend on the number, so a record returned
/// in the wrong place or with the wrong bytes cannot pass as right.
pub fn payload(seq: u64, max: usize) -> Vec<u8> {
    let len = (seq as usize * 37) % max.min(300);
    let mut out = format!("incident {seq};").into_bytes();
    out.extend((0..len).map(|i| (seq as usize + i) as u8));
    out.truncate(max);
    out
}

/// Every record still readable, in order, as (seq, time, payload).
pub fn read_all(journal: &Journal) -> Vec<(u64, u64, Vec<u8>)> {
    collect(journal.reader(Start::Seq(0)).unwrap(), usize::MAX)
}

pub fn collect(mut reader: Reader, limit: usize) -> Vec<(u64, u64, Vec<u8>)> {
    let mut out = Vec::new();
    while out.len() < limit {
        match reader.next().unwrap() {
            Some(e) => out.push((e.seq, e.time_ms, e.payload.to_vec())),
            None => break,
        }
    }
    out
}

/// Segment files oldest first.
pub fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cjl"))
        .collect();
    out.sort();
    out
}

/// (seq, offset, total length) of each record in a segment file, parsed from its bytes.
pub fn records_in(path: &Path) -> Vec<(u64, usize, usize)> {
    let bytes = fs::read(path).unwrap();
    let mut out = Vec::new();
    let mut at = SEGMENT_HEADER_LEN;
    while at + RECORD_HEADER_LEN <= bytes.len() {
        let head: &[u8; RECORD_HEADER_LEN] = bytes[at..at + RECORD_HEADER_LEN].try_into().unwrap();
        let header = RecordHeader::decode(head, u32::MAX).unwrap();
        let len = header.total_len() as usize;
        out.push((header.seq, at, len));
        at += len;
    }
    out
}

/// The segment and record layout entry holding `seq`.
pub fn locate(dir: &Path, seq: u64) -> (PathBuf, usize, usize) {
    for path in segments(dir) {
        if let Some(&(_, offset, len)) = records_in(&path).iter().find(|r| r.0 == seq) {
            return (path, offset, len);
        }
    }
    panic!("record {seq} not found");
}
