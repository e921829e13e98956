//! The incident record as the persistent journal stores it: a version octet, then the wire's
//! [`Incident`] postcard-encoded with `worker` and `seq` zero (the journal numbers records
//! itself, and a record does not know which worker's journal holds it). One encoding for the
//! disk and the port means nothing is converted, or cut, between them.
//!
//! Changing [`Incident`]'s encoding means a new [`INCIDENT_RECORD_VERSION`] and keeping a
//! decoder for the old one: records outlive the firmware that wrote them.
//!
//! Version 2 appends the incident's [`ValueTags`] (keyed tags of the values its detectors
//! found, never a value) after the incident; version 1 records read as incidents without
//! tags.

use postcard::experimental::max_size::MaxSize;

use crate::message::{AuditRecord, Incident, ValueTags};

/// The record format this firmware writes (the first octet of every record).
pub const INCIDENT_RECORD_VERSION: u8 = 2;

/// The first record format (an incident, no value tags), still read.
const INCIDENT_RECORD_V1: u8 = 1;

/// The largest encoded record: the version octet, the largest incident and its tags. The
/// journal's `max_record` is this, so every read buffer is as small as a record can be.
pub const INCIDENT_RECORD_MAX: usize =
    1 + Incident::POSTCARD_MAX_SIZE + ValueTags::POSTCARD_MAX_SIZE;

/// Encodes `incident` and its value `tags` into `buf` (at least [`INCIDENT_RECORD_MAX`]
/// bytes); returns the length used, or `None` when `buf` is too small.
pub fn encode_incident_record(
    incident: &Incident,
    tags: &ValueTags,
    buf: &mut [u8],
) -> Option<usize> {
    let (first, rest) = buf.split_first_mut()?;
    *first = INCIDENT_RECORD_VERSION;
    let mut record = incident.clone();
    record.worker = 0;
    record.seq = 0;
    let n = postcard::to_slice(&record, rest).ok()?.len();
    let m = postcard::to_slice(tags, rest.get_mut(n..)?).ok()?.len();
    Some(1 + n + m)
}

/// Decodes a record written by [`encode_incident_record`]; `None` for another version or bytes
/// that are not an incident (the chain proves who wrote them, not that this firmware reads
/// them).
pub fn decode_incident_record(bytes: &[u8]) -> Option<Incident> {
    decode_incident_with_tags(bytes).map(|(i, _)| i)
}

/// [`decode_incident_record`] with the record's value tags (none in a version 1 record).
pub fn decode_incident_with_tags(bytes: &[u8]) -> Option<(Incident, ValueTags)> {
    match bytes.split_first() {
        Some((&INCIDENT_RECORD_V1, rest)) => {
            Some((postcard::from_bytes(rest).ok()?, ValueTags::default()))
        }
        Some((&INCIDENT_RECORD_VERSION, rest)) => {
            let (incident, rest) = postcard::take_from_bytes(rest).ok()?;
            Some((incident, postcard::from_bytes(rest).ok()?))
        }
        _ => None,
    }
}

/// The first octet of an audit record (see [`AuditRecord`]): a kind of record of its own in the
/// same journal, so the chain covers the audit trail and the incidents alike, and a reader of
/// one kind skips the other.
pub const AUDIT_RECORD_VERSION: u8 = 0x41;

/// The largest encoded audit record.
pub const AUDIT_RECORD_MAX: usize = 1 + AuditRecord::POSTCARD_MAX_SIZE;

/// Encodes `record` (its `worker` and `seq` zeroed, as for incidents) into `buf`; returns the
/// length used, or `None` when `buf` is too small.
pub fn encode_audit_record(record: &AuditRecord, buf: &mut [u8]) -> Option<usize> {
    let (first, rest) = buf.split_first_mut()?;
    *first = AUDIT_RECORD_VERSION;
    let mut record = record.clone();
    record.worker = 0;
    record.seq = 0;
    postcard::to_slice(&record, rest).ok().map(|b| b.len() + 1)
}

/// Decodes a record written by [`encode_audit_record`]; `None` for anything else.
pub fn decode_audit_record(bytes: &[u8]) -> Option<AuditRecord> {
    match bytes.split_first() {
        Some((&AUDIT_RECORD_VERSION, rest)) => postcard::from_bytes(rest).ok(),
        _ => None,
    }
}
