//! The audit trail's side of the connection handler: which requests change the appliance's
//! state, and the record of one (who asked, what, with which result). The backend makes the
//! record durable ([`crate::Backend::audit`]) before the reply goes out.

use cordon_wire::{bounded, AuditRecord, Request, Response, WireError};

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
        _ => return None,
    })
}

/// The record of `request` answered with `response`; `before` is the running config (its
/// generation and text) when the request arrived, so a config change lists the keys it
/// changed.
pub fn record<B: Backend>(
    peer: &Peer,
    request: &str,
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
        Response::Error(WireError::App(e)) => {
            (Some(before.0), String::new(), Some(e.message.to_string()))
        }
        Response::Error(e) => (Some(before.0), String::new(), Some(e.to_string())),
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
