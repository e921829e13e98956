//! `trace [--limit N] [--follow]`: the message trace, every message the workers judged (clean
//! ones too) with its verdict, the deciding rule and why, oldest first; `--follow` keeps
//! printing new ones (asking once a second) until interrupted or the gateway stops.

use std::time::Duration;

use cordon_wire::limits::MAX_TRACE_PER_PAGE;
use cordon_wire::{Request, Response, TraceEntry, TracePage};
use cordonctl::CtlError;

use crate::port::{unexpected, Port};
use crate::table::{render, Col};
use crate::time;

const COLS: [Col; 7] = [
    Col::left("ID"),
    Col::left("TIME"),
    Col::left("ACTION"),
    Col::left("RULE"),
    Col::left("SENDER").fixed(32),
    Col::right("BYTES"),
    Col::left("REASON").fixed(48),
];

/// How often `--follow` asks for new messages.
const FOLLOW_EVERY: Duration = Duration::from_secs(1);

fn row(e: &TraceEntry) -> Vec<String> {
    vec![
        format!("w{}:{}", e.worker, e.seq),
        time::rfc3339(e.time_ms / 1000),
        e.action.to_string(),
        e.rule.as_deref().unwrap_or("-").to_owned(),
        e.sender.to_string(),
        e.bytes.to_string(),
        e.reason.to_string(),
    ]
}

fn print(entries: &[TraceEntry], as_json: bool, header: bool) {
    if as_json {
        for e in entries {
            println!("{}", serde_json::to_string(e).unwrap_or_default());
        }
    } else if !entries.is_empty() {
        let rows: Vec<Vec<String>> = entries.iter().map(row).collect();
        print!("{}", render(&COLS, header, &rows));
    }
}

async fn page(
    client: &mut cordon_control::Client,
    since: &[u64],
    max: usize,
) -> Result<TracePage, CtlError> {
    let since = heapless::Vec::from_slice(since).unwrap_or_default();
    let max = max.clamp(1, MAX_TRACE_PER_PAGE) as u16;
    match client.call(Request::QueryTrace { since, max }).await? {
        Response::Trace(p) => Ok(p),
        other => Err(unexpected(other)),
    }
}

/// The newest `limit` messages, then with `follow` every new one.
pub(crate) async fn trace(
    port: &Port,
    as_json: bool,
    limit: usize,
    follow: bool,
) -> Result<(), CtlError> {
    let mut client = port.connect().await?;
    // The newest `limit`: find where they start, then read them page by page, oldest first.
    let newest = page(&mut client, &[], MAX_TRACE_PER_PAGE).await?;
    let mut since: Vec<u64> = newest.next.iter().copied().collect();
    let mut entries: Vec<TraceEntry> = Vec::new();
    if limit > 0 {
        // Back up each worker by `limit`; the merge by time keeps the newest `limit` overall.
        let start: Vec<u64> = since
            .iter()
            .map(|n| n.saturating_sub(limit as u64))
            .collect();
        let mut at = start;
        loop {
            let p = page(&mut client, &at, MAX_TRACE_PER_PAGE).await?;
            let done = p.entries.is_empty();
            entries.extend(p.entries);
            at = p.next.iter().copied().collect();
            if done {
                break;
            }
        }
        since = at;
        let cut = entries.len().saturating_sub(limit);
        entries.drain(..cut);
    }
    if entries.is_empty() && !as_json && !follow {
        println!("no messages in the trace");
    }
    print(&entries, as_json, true);
    if !follow {
        return Ok(());
    }
    loop {
        tokio::time::sleep(FOLLOW_EVERY).await;
        let p = page(&mut client, &since, MAX_TRACE_PER_PAGE).await?;
        since = p.next.iter().copied().collect();
        print(&p.entries, as_json, false);
    }
}
