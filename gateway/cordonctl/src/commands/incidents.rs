//! `incidents [--since CURSOR] [--after/--before TIME] [--rule/--action/--sender/--detector]
//! [--limit N] [--follow]` and `incidents show ID`: the persistent incident log, filtered on the
//! appliance and read page by page (merged by time over the workers' journals), followed live,
//! or one incident with everything it records. An incident is `w<worker>:<seq>`: the worker
//! whose journal holds it and its sequence number there, which never restarts.

use std::io::Write as _;

use cordon_control::Client;
use cordon_wire::{Cursor, Incident, IncidentQuery, IncidentResults, Request, Response, Verdict};
use cordonctl::CtlError;

use crate::port::{json, unexpected, Port};
use crate::table::{render, Col};
use crate::time;

/// Incidents asked for per page when listing (the wire's page bound).
const PAGE: u16 = cordon_wire::limits::MAX_INCIDENTS_PER_PAGE as u16;

/// A listing: every page is read first, so each column is as wide as its widest cell.
const LIST: [Col; 8] = [
    Col::right("ID"),
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
    LIST[0].fixed(10),
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

/// An incident's number as the admin sees it.
pub(crate) fn id(i: &Incident) -> String {
    format!("w{}:{}", i.worker, i.seq)
}

/// `w1:123` (or `123`, worker 0's journal).
pub(crate) fn parse_id(s: &str) -> Result<Cursor, String> {
    let bad = || format!("{s:?} is not an incident number (w1:123, or 123 for worker 0)");
    let (worker, seq) = match s.split_once(':') {
        Some((w, n)) => (
            w.strip_prefix('w')
                .and_then(|w| w.parse().ok())
                .ok_or_else(bad)?,
            n,
        ),
        None => (0, s),
    };
    Ok(Cursor {
        worker,
        seq: seq.parse().map_err(|_| bad())?,
    })
}

/// `w0:41,w1:7`: where a listing goes on, per journal.
pub(crate) fn parse_cursors(s: &str) -> Result<Vec<Cursor>, String> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .map(parse_id)
        .collect()
}

fn cursors(c: &[Cursor]) -> String {
    let parts: Vec<String> = c
        .iter()
        .map(|c| format!("w{}:{}", c.worker, c.seq))
        .collect();
    parts.join(",")
}

/// Which incidents a listing or follow prints (the appliance applies them; a follow checks
/// them again on each pushed incident).
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    /// Per journal, sequence numbers from this one on.
    pub(crate) since: Vec<Cursor>,
    /// Unix seconds: at or after this time.
    pub(crate) after: Option<u64>,
    /// Unix seconds: before this time.
    pub(crate) before: Option<u64>,
    pub(crate) rule: Option<String>,
    pub(crate) action: Option<Verdict>,
    /// Part of the sender, case-insensitive.
    pub(crate) sender: Option<String>,
    pub(crate) detector: Option<String>,
    /// Print at most this many, then the `--since` that goes on.
    pub(crate) limit: Option<usize>,
}

impl Filter {
    fn query(&self, since: &[Cursor], max: u16) -> IncidentQuery {
        let mut q = IncidentQuery {
            since: heapless::Vec::new(),
            worker: None,
            after_unix: self.after,
            before_unix: self.before,
            rule: self.rule.as_deref().map(cordon_control::bounded),
            action: self.action,
            sender: self.sender.as_deref().map(cordon_control::bounded),
            detector: self.detector.as_deref().map(cordon_control::bounded),
            max,
        };
        for c in since {
            let _ = q.since.push(*c);
        }
        q
    }

    fn keeps(&self, i: &Incident) -> bool {
        let since = self
            .since
            .iter()
            .find(|c| c.worker == i.worker)
            .is_none_or(|c| i.seq >= c.seq);
        since
            && self.after.is_none_or(|t| i.time_unix >= t)
            && self.before.is_none_or(|t| i.time_unix < t)
            && self
                .rule
                .as_ref()
                .is_none_or(|r| i.rule.as_ref().is_some_and(|x| x.as_str() == r))
            && self.action.is_none_or(|a| i.action == a)
            && self.sender.as_ref().is_none_or(|s| {
                i.sender
                    .to_ascii_lowercase()
                    .contains(&s.to_ascii_lowercase())
            })
            && self
                .detector
                .as_ref()
                .is_none_or(|d| i.detectors.iter().any(|x| x.name.as_str() == d))
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
    let mut since = filter.since.clone();
    let mut printed = 0usize;
    loop {
        let page = query(&mut client, filter.query(&since, PAGE)).await?;
        let mut taken = 0usize;
        for i in &page.incidents {
            if filter.limit.is_some_and(|l| printed == l) {
                break;
            }
            printed += 1;
            taken += 1;
            // Where the next listing goes on: past this incident in its journal.
            if let Some(c) = since.iter_mut().find(|c| c.worker == i.worker) {
                c.seq = i.seq + 1;
            } else {
                since.push(Cursor {
                    worker: i.worker,
                    seq: i.seq + 1,
                });
            }
            if as_json {
                json_line(i);
            } else {
                rows.push(row(i));
            }
        }
        if filter.limit.is_some_and(|l| printed == l) {
            if !page.done || taken < page.incidents.len() {
                eprintln!(
                    "more: cordonctl incidents --since {} (with the same filters)",
                    cursors(&since)
                );
            }
            break;
        }
        since = page.next.to_vec();
        if page.done {
            break;
        }
    }
    if !as_json {
        print!("{}", render(&LIST, true, &rows));
    }
    Ok(())
}

async fn query(client: &mut Client, q: IncidentQuery) -> Result<IncidentResults, CtlError> {
    match client.call(Request::QueryIncidents(q)).await? {
        Response::IncidentResults(page) => Ok(page),
        other => Err(unexpected(other)),
    }
}

/// `incidents show ID`: every field of one incident, and its detectors as a table.
pub(crate) async fn show(port: &Port, as_json: bool, at: Cursor) -> Result<(), CtlError> {
    let mut client = port.connect().await?;
    let mut q = Filter::default().query(&[at], 1);
    q.worker = Some(at.worker);
    let page = query(&mut client, q).await?;
    let Some(i) = page.incidents.first().filter(|i| i.seq == at.seq) else {
        return Err(CtlError::NoIncident {
            id: format!("w{}:{}", at.worker, at.seq),
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
    // The follow streams the config port worker's own journal.
    let start = filter.since.first().map_or(0, |c| c.seq);
    let id = client
        .send(Request::FollowIncidents { since: start })
        .await?;
    let mut resume = start;
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

/// An incident as JSON: the wire record's fields, `id` (`w0:12`), and `time` in RFC 3339
/// beside `time_unix`.
pub(crate) fn to_json(i: &Incident) -> serde_json::Value {
    let mut v = serde_json::to_value(i).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.insert("id".into(), id(i).into());
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
        id(i),
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
        id(i)
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
            worker: 0,
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
        // Every left-aligned column starts where its title does; ID ends where its title ends.
        let titles: Vec<String> = LIST.iter().map(|c| c.title.to_owned()).collect();
        let head = starts(lines[0], &titles);
        for (line, cells) in lines[1..].iter().zip(&rows) {
            let at = starts(line, cells);
            assert_eq!(at[1..], head[1..], "\n{out}");
            assert_eq!(at[0] + cells[0].len(), head[0] + "ID".len(), "\n{out}");
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
            "incident w0:7
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
