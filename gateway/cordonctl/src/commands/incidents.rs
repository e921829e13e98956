//! `incidents [--since SEQ] [--after TIME] [--follow]` and `incidents show SEQ`: the incident
//! ring, page by page, followed live, or one incident with everything it records.

use std::io::Write as _;

use cordon_control::Client;
use cordon_wire::{Incident, IncidentPage, Request, Response};
use cordonctl::CtlError;

use crate::port::{json, unexpected, Port};
use crate::table::{render, Col};
use crate::time;

/// Incidents asked for per page when listing (the wire's page bound).
const PAGE: u16 = cordon_wire::limits::MAX_INCIDENTS_PER_PAGE as u16;

/// A listing: every page is read first, so each column is as wide as its widest cell.
const LIST: [Col; 8] = [
    Col::right("SEQ"),
    Col::left("TIME"),
    Col::left("KIND"),
    Col::left("ACTION"),
    Col::left("SENDER"),
    Col::left("RULE"),
    Col::left("DETECTORS"),
    Col::left("SUBJECT"),
];

/// A follow prints each incident as it happens, under a title line printed first, so the
/// widths are fixed: room for a typical sender, rule and detector list; a longer one wraps
/// onto more lines inside its column.
const FOLLOW: [Col; 8] = [
    LIST[0].fixed(6),
    LIST[1].fixed(20),
    LIST[2].fixed(12),
    LIST[3].fixed(10),
    LIST[4].fixed(28),
    LIST[5].fixed(20),
    LIST[6].fixed(24),
    LIST[7],
];

/// The detectors of `incidents show`.
const DETECTORS: [Col; 4] = [
    Col::left("DETECTOR"),
    Col::right("COUNT"),
    Col::left("CONFIDENCE"),
    Col::left("SAMPLES"),
];

/// Which incidents a listing or follow prints.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Filter {
    /// Sequence numbers from this one on.
    pub(crate) since: u64,
    /// Unix seconds: incidents at or after this time only.
    pub(crate) after: Option<u64>,
}

impl Filter {
    fn keeps(&self, i: &Incident) -> bool {
        self.after.is_none_or(|t| i.time_unix >= t)
    }
}

/// Lists incidents the filter keeps; with `follow`, keeps printing new ones until
/// interrupted or the gateway stops. JSON is one object per line, so a script can stream a
/// follow.
pub(crate) async fn incidents(
    port: &Port,
    as_json: bool,
    filter: Filter,
    follow: bool,
) -> Result<(), CtlError> {
    let mut client = port.connect().await?;
    if follow {
        return follow_incidents(&mut client, as_json, filter).await;
    }
    let mut rows = Vec::new();
    let mut since = filter.since;
    loop {
        let page = list(&mut client, since, PAGE).await?;
        if page.oldest > since && since > 0 && !as_json {
            eprintln!(
                "note: incidents before {} were overwritten in the ring",
                page.oldest
            );
        }
        for i in page.incidents.iter().filter(|i| filter.keeps(i)) {
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

async fn list(client: &mut Client, since: u64, max: u16) -> Result<IncidentPage, CtlError> {
    match client.call(Request::ListIncidents { since, max }).await? {
        Response::Incidents(page) => Ok(page),
        other => Err(unexpected(other)),
    }
}

/// `incidents show SEQ`: every field of one incident, and its detectors as a table.
pub(crate) async fn show(port: &Port, as_json: bool, seq: u64) -> Result<(), CtlError> {
    let mut client = port.connect().await?;
    let page = list(&mut client, seq, 1).await?;
    let Some(i) = page.incidents.first().filter(|i| i.seq == seq) else {
        return Err(CtlError::NoIncident {
            seq,
            oldest: page.oldest,
        });
    };
    if as_json {
        json(&to_json(i));
    } else {
        print!("{}", details(i, time::now()));
    }
    Ok(())
}

async fn follow_incidents(
    client: &mut Client,
    as_json: bool,
    filter: Filter,
) -> Result<(), CtlError> {
    if !as_json {
        print!("{}", render(&FOLLOW, true, &[]));
    }
    let id = client
        .send(Request::FollowIncidents {
            since: filter.since,
        })
        .await?;
    let mut resume = filter.since;
    loop {
        let frame = match client.recv().await {
            Ok(frame) => frame,
            // The gateway closed the connection: it stopped or restarted.
            Err(cordon_control::Error::Transport(_)) => {
                return Err(CtlError::GatewayStopped { resume })
            }
            Err(e) => return Err(e.into()),
        };
        match frame.response {
            Response::Incident(i) if frame.id == id => {
                resume = resume.max(i.seq + 1);
                if !filter.keeps(&i) {
                    continue;
                }
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

/// An incident as JSON: the wire record's fields, and `time` in RFC 3339 beside `time_unix`.
pub(crate) fn to_json(i: &Incident) -> serde_json::Value {
    let mut v = serde_json::to_value(i).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.insert("time".into(), time::rfc3339(i.time_unix).into());
    }
    v
}

fn json_line(i: &Incident) {
    println!("{}", to_json(i));
}

/// `credit_card 2 high, iban 1 medium`.
fn detectors(i: &Incident) -> String {
    let parts: Vec<String> = i
        .detectors
        .iter()
        .map(|d| format!("{} {} {}", d.name, d.count, d.confidence.as_str()))
        .collect();
    if parts.is_empty() {
        "-".to_owned()
    } else {
        parts.join(", ")
    }
}

pub(crate) fn row(i: &Incident) -> Vec<String> {
    vec![
        i.seq.to_string(),
        time::rfc3339(i.time_unix),
        i.kind.as_str().to_owned(),
        i.action.as_str().to_owned(),
        i.sender.to_string(),
        i.rule.as_ref().map_or("-", |r| r.as_str()).to_owned(),
        detectors(i),
        i.subject.to_string(),
    ]
}

/// The `incidents show` text, relative times counted from `now`.
pub(crate) fn details(i: &Incident, now: u64) -> String {
    let mut out = format!(
        "incident {}
",
        i.seq
    );
    let mut line = |k: &str, v: &str| {
        out.push_str(&format!(
            "  {k:<11} {v}
"
        ))
    };
    line("kind", i.kind.as_str());
    if !i.reason.is_empty() {
        line("reason", &i.reason);
    }
    line("time", &time::with_ago(i.time_unix, now));
    line("action", i.action.as_str());
    line("rule", i.rule.as_ref().map_or("-", |r| r.as_str()));
    line("sender", &i.sender);
    let shown = i.rcpts.len() as u32;
    let mut rcpts: Vec<&str> = i.rcpts.iter().map(|r| r.as_str()).collect();
    let more = format!("and {} more", i.recipients.saturating_sub(shown));
    if i.recipients > shown {
        rcpts.push(&more);
    }
    line(
        "recipients",
        &format!("{}: {}", i.recipients, rcpts.join(", ")),
    );
    line("subject", &i.subject);
    line("message-id", &i.message_id);
    line("session", &i.session);
    line(
        "downstream",
        i.downstream_reply.as_ref().map_or("-", |r| r.as_str()),
    );
    if !i.detectors.is_empty() {
        out.push('\n');
        let rows: Vec<Vec<String>> = i
            .detectors
            .iter()
            .map(|d| {
                let samples: Vec<&str> = d.samples.iter().map(|s| s.as_str()).collect();
                vec![
                    d.name.to_string(),
                    d.count.to_string(),
                    d.confidence.as_str().to_owned(),
                    samples.join(" | "),
                ]
            })
            .collect();
        out.push_str(&render(&DETECTORS, true, &rows));
    }
    out
}

#[cfg(test)]
mod tests {
    use cordon_wire::{Confidence, IncidentDetector, IncidentKind, Verdict};

    use super::*;

    fn incident(seq: u64, sender: &str, verdict: Verdict) -> Incident {
        let mut samples = heapless::Vec::new();
        samples.push("4556 **** **** 9855".into()).unwrap();
        samples.push("5105 **** **** 5100".into()).unwrap();
        let mut detectors = heapless::Vec::new();
        detectors
            .push(IncidentDetector {
                name: "credit_card".into(),
                count: 2,
                confidence: Confidence::High,
                samples,
            })
            .unwrap();
        let mut rcpts = heapless::Vec::new();
        rcpts.push("bob@fabrikam.example".into()).unwrap();
        Incident {
            seq,
            time_unix: 1_700_000_000 + seq,
            kind: IncidentKind::Dlp,
            reason: "".into(),
            session: "s1".into(),
            message_id: format!("<m{seq}@contoso.com>").as_str().into(),
            sender: sender.into(),
            subject: "Q3 cards".into(),
            recipients: 3,
            rcpts,
            rule: Some("no-secrets".into()),
            action: verdict,
            detectors,
            downstream_reply: None,
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
        let rules_at = head.find("RULE").unwrap();
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

    #[test]
    fn show_prints_every_field_and_a_forged_stamp_is_not_a_verdict() {
        let mut i = incident(7, "alice@contoso.com", Verdict::Block);
        i.time_unix = 1_796_397_576;
        i.session = "s7".into();
        i.rule = Some("block-card-dumps".into());
        i.detectors[0].samples.pop();
        assert_eq!(
            details(&i, 1_796_397_756),
            "incident 7
  kind        dlp
  time        2026-12-04T15:19:36Z (3 min ago)
  action      block
  rule        block-card-dumps
  sender      alice@contoso.com
  recipients  3: bob@fabrikam.example, and 2 more
  subject     Q3 cards
  message-id  <m7@contoso.com>
  session     s7
  downstream  -

DETECTOR     COUNT  CONFIDENCE  SAMPLES
credit_card      2  high        4556 **** **** 9855
"
        );
        i.kind = IncidentKind::ForgedStamp;
        i.rule = None;
        i.action = Verdict::Deliver;
        i.detectors.clear();
        let r = row(&i);
        assert_eq!(
            r[2..6],
            ["forged_stamp", "deliver", "alice@contoso.com", "-"]
        );
        let v = to_json(&i);
        assert_eq!(v["kind"], "forged_stamp");
        assert_eq!(v["action"], "deliver");
        assert_eq!(v["rule"], serde_json::Value::Null);
        assert_eq!(v["time"], "2026-12-04T15:19:36Z");
    }
}
