//! `incidents [--since N] [--follow]`: the incident ring, page by page, or followed live.

use std::io::Write as _;

use cordon_wire::{Incident, Request, Response};
use cordonctl::CtlError;

use crate::port::{unexpected, Port};

/// Incidents asked for per page when listing (the wire's page bound).
const PAGE: u16 = cordon_wire::limits::MAX_INCIDENTS_PER_PAGE as u16;

/// Lists incidents from `since` on; with `follow`, keeps printing new ones until
/// interrupted. JSON is one object per line, so a script can stream a follow.
pub(crate) async fn incidents(
    port: &Port,
    as_json: bool,
    since: u64,
    follow: bool,
) -> Result<(), CtlError> {
    let mut client = port.connect().await?;
    if !as_json {
        println!(
            "{:>6}  {:<10}  {:<11} {:<32} {:<28} RULES",
            "SEQ", "TIME", "VERDICT", "MESSAGE-ID", "SENDER"
        );
    }
    let print = |i: &Incident| {
        if as_json {
            if let Ok(line) = serde_json::to_string(i) {
                println!("{line}");
            }
        } else {
            let rules: Vec<&str> = i.rules.iter().map(|r| r.as_str()).collect();
            println!(
                "{:>6}  {:<10}  {:<11} {:<32} {:<28} {}",
                i.seq,
                i.time_unix,
                format!("{:?}", i.verdict),
                i.message_id,
                i.sender,
                rules.join(",")
            );
        }
        let _ = std::io::stdout().flush();
    };
    if follow {
        let id = client.send(Request::FollowIncidents { since }).await?;
        loop {
            let frame = client.recv().await?;
            match frame.response {
                Response::Incident(i) if frame.id == id => print(&i),
                Response::Error(e) => return Err(cordon_control::Error::Server(e).into()),
                _ => {}
            }
        }
    }
    let mut since = since;
    loop {
        let page = match client
            .call(Request::ListIncidents { since, max: PAGE })
            .await?
        {
            Response::Incidents(page) => page,
            other => return Err(unexpected(other)),
        };
        if page.oldest > since && since > 0 && !as_json {
            eprintln!(
                "note: incidents before {} were overwritten in the ring",
                page.oldest
            );
        }
        for i in &page.incidents {
            print(i);
        }
        if page.incidents.is_empty() || page.next <= since {
            return Ok(());
        }
        since = page.next;
    }
}
