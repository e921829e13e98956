//! `audit [--since SEQ] [--limit N]`: the audit trail, every state-changing config-port
//! request (apply, rollback, TLS install, worker restart, reboot) with who asked (the Unix
//! peer's uid or the mutual-TLS client certificate's subject), what changed and the result,
//! read from the journal of the worker that serves the port.

use cordon_wire::{AuditRecord, Request, Response};
use cordonctl::CtlError;

use crate::port::{json, unexpected, Port};
use crate::table::{render, Col};
use crate::time;

const COLS: [Col; 7] = [
    Col::left("ID"),
    Col::left("TIME"),
    Col::left("WHO"),
    Col::left("REQUEST"),
    Col::right("GEN"),
    Col::left("RESULT"),
    Col::left("CHANGES").fixed(40),
];

/// Who asked, as the listing names them.
pub(crate) fn who(r: &AuditRecord) -> String {
    match (&r.subject, r.uid) {
        (Some(s), _) => s.to_string(),
        (None, Some(uid)) => format!("uid {uid}"),
        (None, None) => r.peer.to_string(),
    }
}

fn row(r: &AuditRecord) -> Vec<String> {
    vec![
        format!("w{}:{}", r.worker, r.seq),
        time::rfc3339(r.time_unix),
        who(r),
        r.request.to_string(),
        r.generation.map_or("-".to_owned(), |g| g.to_string()),
        match (&r.error, r.ok) {
            (_, true) => "ok".to_owned(),
            (Some(e), false) => format!("refused: {e}"),
            (None, false) => "refused".to_owned(),
        },
        if r.changes.is_empty() {
            "-".to_owned()
        } else {
            r.changes.to_string()
        },
    ]
}

/// Reads the trail from `since` (a journal sequence number), keeping the records `keep`
/// accepts, at most `limit` of them; returns them and the number of the first kept record
/// past the limit.
async fn read_trail(
    port: &Port,
    since: u64,
    limit: Option<usize>,
    keep: impl Fn(&AuditRecord) -> bool,
) -> Result<(Vec<AuditRecord>, Option<u64>), CtlError> {
    let mut client = port.connect().await?;
    let mut records: Vec<AuditRecord> = Vec::new();
    let mut next = since;
    loop {
        let page = match client
            .call(Request::QueryAudit {
                since: next,
                max: cordon_wire::MAX_AUDIT_PER_PAGE as u16,
            })
            .await?
        {
            Response::Audit(p) => p,
            other => return Err(unexpected(other)),
        };
        for r in page.records.into_iter().filter(|r| keep(r)) {
            if limit.is_some_and(|l| records.len() == l) {
                return Ok((records, Some(r.seq)));
            }
            records.push(r);
        }
        if page.done || page.next <= next {
            return Ok((records, None));
        }
        next = page.next;
    }
}

/// Every config change in the trail (applies and rollbacks, refused ones too), newest first:
/// `config history`.
pub(crate) async fn history(port: &Port, as_json: bool, limit: usize) -> Result<(), CtlError> {
    let is_change = |r: &AuditRecord| matches!(r.request.as_str(), "apply" | "rollback");
    let (mut changes, _) = read_trail(port, 1, None, is_change).await?;
    changes.reverse();
    changes.truncate(limit);
    if as_json {
        json(&changes);
        return Ok(());
    }
    if changes.is_empty() {
        println!("no config changes through the config port in the audit trail");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = changes
        .iter()
        .map(|r| {
            let mut row = row(r);
            // GEN first: the history is read by generation.
            row.swap(0, 4);
            row
        })
        .collect();
    print!("{}", render(&HISTORY, true, &rows));
    Ok(())
}

const HISTORY: [Col; 7] = [
    Col::right("GEN"),
    Col::left("TIME"),
    Col::left("WHO"),
    Col::left("REQUEST"),
    Col::left("ID"),
    Col::left("RESULT"),
    Col::left("CHANGES").fixed(40),
];

/// Reads the trail from `since` (a journal sequence number), at most `limit` records.
pub(crate) async fn audit(
    port: &Port,
    as_json: bool,
    since: u64,
    limit: Option<usize>,
) -> Result<(), CtlError> {
    let (records, more) = read_trail(port, since, limit, |_| true).await?;
    if as_json {
        json(&serde_json::json!({
            "records": records,
            "more_since": more,
        }));
        return Ok(());
    }
    if records.is_empty() {
        println!("no audit records");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = records.iter().map(row).collect();
    print!("{}", render(&COLS, true, &rows));
    if let Some(seq) = more {
        println!("more: cordonctl audit --since {seq}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cordon_control::bounded;

    fn record(uid: Option<u32>, subject: Option<&str>, ok: bool) -> AuditRecord {
        AuditRecord {
            worker: 0,
            seq: 9,
            time_unix: 1_796_397_756,
            uid,
            subject: subject.map(bounded),
            peer: bounded("unix uid 0 pid 7"),
            request: bounded("apply"),
            generation: Some(3),
            changes: bounded("policy.rules[0].action"),
            ok,
            error: (!ok).then(|| bounded("generation conflict")),
        }
    }

    #[test]
    fn a_row_names_who_what_and_the_result() {
        let r = row(&record(Some(0), None, true));
        assert_eq!(
            r,
            [
                "w0:9",
                "2026-12-04T15:22:36Z",
                "uid 0",
                "apply",
                "3",
                "ok",
                "policy.rules[0].action"
            ]
        );
        let r = row(&record(None, Some("CN=admin,O=Contoso"), false));
        assert_eq!(r[2], "CN=admin,O=Contoso");
        assert_eq!(r[5], "refused: generation conflict");
    }
}
