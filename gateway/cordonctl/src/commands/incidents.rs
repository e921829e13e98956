//! `incidents [--since N] [--follow]`: the incident ring, page by page, or followed live.

use std::io::Write as _;

use cordon_control::Client;
use cordon_wire::{Incident, Request, Response};
use cordonctl::CtlError;

use crate::port::{unexpected, Port};
use crate::table::{render, Col};

/// Incidents asked for per page when listing (the wire's page bound).
const PAGE: u16 = cordon_wire::limits::MAX_INCIDENTS_PER_PAGE as u16;

/// A listing: every page is read first, so each column is as wide as its widest cell.
const LIST: [Col; 6] = [
    Col::right("SEQ"),
    Col::left("TIME"),
    Col::left("VERDICT"),
    Col::left("MESSAGE-ID"),
    Col::left("SENDER"),
    Col::left("RULES"),
];

/// A follow prints each incident as it happens, under a title line printed first, so the
/// widths are fixed: room for a typical message id and sender; a longer one wraps onto
/// more lines inside its column.
const FOLLOW: [Col; 6] = [
    LIST[0].fixed(6),
    LIST[1].fixed(10),
    LIST[2].fixed(10),
    LIST[3].fixed(32),
    LIST[4].fixed(28),
    LIST[5],
];

/// Lists incidents from `since` on; with `follow`, keeps printing new ones until
/// interrupted. JSON is one object per line, so a script can stream a follow.
pub(crate) async fn incidents(
    port: &Port,
    as_json: bool,
    since: u64,
    follow: bool,
) -> Result<(), CtlError> {
    let mut client = port.connect().await?;
    if follow {
        return follow_incidents(&mut client, as_json, since).await;
    }
    let mut rows = Vec::new();
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
            if as_json {
                json_line(i);
            } else {
                rows.push(row(i));
            }
        }
        if page.incidents.is_empty() || page.next <= since {
            break;
        }
        since = page.next;
    }
    if !as_json {
        print!("{}", render(&LIST, true, &rows));
    }
    Ok(())
}

async fn follow_incidents(client: &mut Client, as_json: bool, since: u64) -> Result<(), CtlError> {
    if !as_json {
        print!("{}", render(&FOLLOW, true, &[]));
    }
    let id = client.send(Request::FollowIncidents { since }).await?;
    loop {
        let frame = client.recv().await?;
        match frame.response {
            Response::Incident(i) if frame.id == id => {
                if as_json {
                    json_line(&i);
                } else {
                    print!("{}", render(&FOLLOW, false, &[row(&i)]));
                }
                let _ = std::io::stdout().flush();
            }
            Response::Error(e) => return Err(cordon_control::Error::Server(e).into()),
            _ => {}
        }
    }
}

fn json_line(i: &Incident) {
    if let Ok(line) = serde_json::to_string(i) {
        println!("{line}");
    }
}

fn row(i: &Incident) -> Vec<String> {
    let rules: Vec<&str> = i.rules.iter().map(|r| r.as_str()).collect();
    vec![
        i.seq.to_string(),
        i.time_unix.to_string(),
        format!("{:?}", i.verdict),
        i.message_id.to_string(),
        i.sender.to_string(),
        rules.join(","),
    ]
}

#[cfg(test)]
mod tests {
    use cordon_wire::Verdict;

    use super::*;

    fn incident(seq: u64, sender: &str, verdict: Verdict) -> Incident {
        let mut rules = heapless::Vec::new();
        rules.push("no-secrets".into()).unwrap();
        Incident {
            seq,
            time_unix: 1_700_000_000 + seq,
            message_id: format!("<m{seq}@contoso.com>").as_str().into(),
            sender: sender.into(),
            recipients: 1,
            verdict,
            rules,
        }
    }

    /// Where each column starts on a line: the offsets of the cells, found by their text.
    fn starts(line: &str, cells: &[String]) -> Vec<usize> {
        let mut at = 0;
        cells
            .iter()
            .map(|c| {
                let found = at + line[at..].find(c.as_str()).expect(c);
                at = found + c.len();
                found
            })
            .collect()
    }

    #[test]
    fn a_long_sender_keeps_the_listing_aligned() {
        let long = format!("{}@{}.example", "a".repeat(60), "b".repeat(40));
        let incidents = [
            incident(1, "alice@contoso.com", Verdict::Block),
            incident(2, &long, Verdict::Quarantine),
            incident(1234, "bob@contoso.com", Verdict::Tag),
        ];
        let rows: Vec<Vec<String>> = incidents.iter().map(row).collect();
        let out = render(&LIST, true, &rows);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 4, "{out}");
        // Every left-aligned column starts where its title does; SEQ ends where its title ends.
        let titles: Vec<String> = LIST.iter().map(|c| c.title.to_owned()).collect();
        let head = starts(lines[0], &titles);
        for (line, cells) in lines[1..].iter().zip(&rows) {
            let at = starts(line, cells);
            assert_eq!(at[1..], head[1..], "\n{out}");
            assert_eq!(at[0] + cells[0].len(), head[0] + "SEQ".len(), "\n{out}");
        }
        // The rules column comes after the whole sender, two spaces on.
        assert_eq!(head[5], head[4] + long.len() + 2, "\n{out}");
    }

    #[test]
    fn a_long_sender_wraps_inside_its_column_in_a_follow() {
        let long = format!("{}@contoso.com", "x".repeat(50));
        let head = render(&FOLLOW, true, &[]);
        let one = render(&FOLLOW, false, &[row(&incident(7, &long, Verdict::Block))]);
        let two = render(
            &FOLLOW,
            false,
            &[row(&incident(8, "bob@contoso.com", Verdict::Tag))],
        );
        let rules_at = head.find("RULES").unwrap();
        let first = one.lines().next().unwrap();
        assert_eq!(
            first.find("no-secrets"),
            Some(rules_at),
            "\n{head}{one}{two}"
        );
        assert_eq!(
            two.lines().next().unwrap().find("no-secrets"),
            Some(rules_at),
            "\n{head}{one}{two}"
        );
        // The sender's rest is on the next line, in the sender column.
        let sender_at = head.find("SENDER").unwrap();
        let wrapped: String = one.lines().map(|l| l.get(sender_at..).unwrap_or("")).fold(
            String::new(),
            |mut s, part| {
                s.push_str(part.split("  ").next().unwrap_or(""));
                s
            },
        );
        assert_eq!(wrapped, long, "\n{head}{one}");
    }
}
