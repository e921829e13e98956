//! The audit trail's side of the connection handler: which requests change the appliance's
//! state, and the record of one (who asked, what, with which result). The backend makes the
//! record durable ([`crate::Backend::audit`]) before the reply goes out.

use cordon_wire::{bounded, AuditRecord, EdmTables, Request, Response, WireError};

use crate::backend::Backend;
use crate::conn::Peer;

/// The name of a request the audit trail records, or `None` for one that changes nothing
/// (reads, uploads, a dry-run scan or a validation).
pub fn audited(request: &Request) -> Option<&'static str> {
    Some(match request {
        Request::ApplyConfig { .. } => "apply",
        Request::Rollback => "rollback",
        Request::InstallTls => "install_tls",
        Request::RestartWorkers => "restart_workers",
        Request::Reboot => "reboot",
        Request::EdmInstall { .. } => "edm_install",
        Request::EdmRemove { .. } => "edm_remove",
        Request::UpdateFinish => "update_install",
        Request::FingerprintAdd { .. } => "fingerprint_add",
        Request::FingerprintRemove { .. } => "fingerprint_remove",
        _ => return None,
    })
}

/// What an audited request names beyond its kind: the EDM table (its name only; the key
/// the install carries never reaches the record).
pub fn target(request: &Request) -> Option<String> {
    match request {
        Request::EdmInstall { name, .. } | Request::EdmRemove { name } => {
            Some(name.as_str().to_owned())
        }
        // `doc:SET` (and `/DOCUMENT`): a fingerprint set, told from an EDM table by its prefix.
        Request::FingerprintAdd { set, document } => Some(format!("doc:{set}/{document}")),
        Request::FingerprintRemove { set, document } => Some(match document {
            Some(d) => format!("doc:{set}/{d}"),
            None => format!("doc:{set}"),
        }),
        _ => None,
    }
}

/// The record of `request` answered with `response`; `before` is the running config (its
/// generation and text) when the request arrived, so a config change lists the keys it
/// changed; `target` is [`target`] of the request.
pub fn record<B: Backend>(
    peer: &Peer,
    request: &str,
    target: Option<&str>,
    before: &(u64, String),
    response: &Response,
    backend: &B,
) -> AuditRecord {
    let (uid, subject) = match peer {
        Peer::Unix { uid, .. } => (Some(*uid), None),
        Peer::Tcp { subject, .. } => (None, subject.as_deref().map(bounded)),
        _ => (None, None),
    };
    let config_change = |generation: u64| {
        let after = backend.current_config().1;
        let keys = cordon_config::changed_keys(&before.1, &after);
        (Some(generation), summary(&keys))
    };
    let (generation, changes, error) = match response {
        Response::Applied { generation, .. } | Response::RolledBack { generation, .. } => {
            let (g, c) = config_change(*generation);
            (g, c, None)
        }
        Response::TlsInstalled(info) => (
            None,
            format!(
                "certificate {} sha256 {}",
                info.subject,
                info.sha256
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            ),
            None,
        ),
        Response::WorkersRestarting { workers } => (None, format!("{workers} workers"), None),
        Response::UpdateInstalled {
            slot,
            version,
            bytes,
        } => (
            None,
            format!("firmware {version} ({bytes} bytes) into slot {slot}, armed for one attempt"),
            None,
        ),
        Response::EdmTables(tables) => (None, edm_change(target, tables), None),
        Response::Fingerprints(sets) => (None, fingerprint_change(target, sets), None),
        Response::Error(WireError::App(e)) => (
            Some(before.0),
            edm_table(target),
            Some(e.message.to_string()),
        ),
        Response::Error(e) => (Some(before.0), edm_table(target), Some(e.to_string())),
        _ => (None, String::new(), None),
    };
    AuditRecord {
        worker: 0,
        seq: 0,
        time_unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        uid,
        subject,
        peer: bounded(&peer.to_string()),
        request: bounded(request),
        generation,
        changes: bounded(&changes),
        ok: error.is_none(),
        error: error.as_deref().map(bounded),
    }
}

/// `edm table NAME` or `fingerprint set SET` (`document D of` it), or nothing for a request
/// that names neither.
fn edm_table(target: Option<&str>) -> String {
    match target {
        None => String::new(),
        Some(t) => match t.strip_prefix("doc:") {
            Some(rest) => match rest.split_once('/') {
                Some((set, doc)) => format!("document {doc} of fingerprint set {set}"),
                None => format!("fingerprint set {rest}"),
            },
            None => format!("edm table {t}"),
        },
    }
}

/// A fingerprint change as the set stands after it: its documents and fingerprints, or
/// `removed`. Names and counts only, never a fingerprint.
fn fingerprint_change(target: Option<&str>, sets: &cordon_wire::FingerprintSets) -> String {
    let Some(rest) = target.and_then(|t| t.strip_prefix("doc:")) else {
        return String::new();
    };
    let (set, doc) = match rest.split_once('/') {
        Some((s, d)) => (s, Some(d)),
        None => (rest, None),
    };
    match sets.sets.iter().find(|s| s.name.as_str() == set) {
        Some(s) => format!(
            "fingerprint set {set}{}: {} documents, {} fingerprints, {} B in memory",
            doc.map(|d| format!(" ({d})")).unwrap_or_default(),
            s.documents,
            s.fingerprints,
            s.memory_bytes
        ),
        None => format!("fingerprint set {set} removed"),
    }
}

/// An EDM change as the tables stand after it: the table's shape and size if it is
/// installed, `removed` if not. Sizes and counts only, never a cell.
fn edm_change(target: Option<&str>, tables: &EdmTables) -> String {
    let Some(name) = target else {
        return String::new();
    };
    match tables.tables.iter().find(|t| t.name.as_str() == name) {
        Some(t) => format!(
            "edm table {name}: {} rows, {} columns, {} B in memory",
            t.rows, t.columns, t.memory_bytes
        ),
        None => format!("edm table {name} removed"),
    }
}

/// The changed keys, comma-separated, within the record's text bound (the count of those
/// left out at the end).
pub fn summary(keys: &[String]) -> String {
    const ROOM: usize = cordon_wire::limits::MAX_TEXT_LEN - 16;
    if keys.is_empty() {
        return "no key changed".into();
    }
    let mut out = String::new();
    for (i, k) in keys.iter().enumerate() {
        let sep = if out.is_empty() { "" } else { ", " };
        if out.len() + sep.len() + k.len() > ROOM {
            out.push_str(&format!(" (+{} more)", keys.len() - i));
            break;
        }
        out.push_str(sep);
        out.push_str(k);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_state_changing_requests_are_audited() {
        assert_eq!(
            audited(&Request::ApplyConfig {
                expected_generation: None
            }),
            Some("apply")
        );
        assert_eq!(audited(&Request::Rollback), Some("rollback"));
        assert_eq!(audited(&Request::Reboot), Some("reboot"));
        assert_eq!(audited(&Request::Status), None);
        assert_eq!(audited(&Request::ValidateConfig), None);
        assert_eq!(audited(&Request::Scan), None);
        let name = cordon_wire::bounded("customers");
        let install = Request::EdmInstall {
            name: name.clone(),
            key: [9; 32],
        };
        assert_eq!(audited(&install), Some("edm_install"));
        assert_eq!(target(&install).as_deref(), Some("customers"));
        assert_eq!(audited(&Request::EdmRemove { name }), Some("edm_remove"));
        assert_eq!(audited(&Request::EdmList), None);
    }

    #[test]
    fn edm_changes_name_the_table_and_its_size() {
        let info = cordon_wire::EdmTableInfo {
            name: bounded("customers"),
            rows: 3,
            columns: 5,
            min_fields: 3,
            proximity: 300,
            memory_bytes: 144,
            stored_bytes: 400,
        };
        let tables = EdmTables {
            tables: heapless::Vec::from_slice(&[info]).unwrap(),
            memory_budget: 1 << 20,
            storage_budget: 1 << 20,
        };
        assert_eq!(
            edm_change(Some("customers"), &tables),
            "edm table customers: 3 rows, 5 columns, 144 B in memory"
        );
        assert_eq!(
            edm_change(Some("payroll"), &tables),
            "edm table payroll removed"
        );
        assert_eq!(edm_table(Some("payroll")), "edm table payroll");
    }

    #[test]
    fn summaries_stay_within_the_bound_and_count_the_rest() {
        assert_eq!(summary(&[]), "no key changed");
        assert_eq!(summary(&["a.b".into(), "c".into()]), "a.b, c");
        let many: Vec<String> = (0..100).map(|i| format!("rule[{i}].action")).collect();
        let s = summary(&many);
        assert!(s.len() <= cordon_wire::limits::MAX_TEXT_LEN, "{s}");
        assert!(s.ends_with(" more)"), "{s}");
    }
}
