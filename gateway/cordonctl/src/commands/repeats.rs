//! `incidents repeats [--since TIME] [--detector NAME]`: values that recur across messages
//! ("credit_card: the same 40 values in 12 messages"), counted on the appliance from the keyed
//! value tags of the incident journals. No value is stored or sent: a value is named by the
//! first 32 bits of its keyed tag, which tells values apart and says nothing else.

use cordon_wire::{RepeatQuery, RepeatReport, Request, Response};
use cordonctl::CtlError;

use crate::port::{json, unexpected, Port};
use crate::table::{render, Col};
use crate::time;

const DETECTORS: [Col; 5] = [
    Col::left("DETECTOR"),
    Col::right("REPEATED"),
    Col::right("IN MESSAGES"),
    Col::right("DISTINCT"),
    Col::right("MESSAGES"),
];

const TOP: [Col; 6] = [
    Col::left("DETECTOR"),
    Col::left("VALUE TAG"),
    Col::right("MESSAGES"),
    Col::left("FIRST"),
    Col::left("LAST"),
    Col::left("INCIDENTS"),
];

/// One sentence per detector that has repeats: what `incidents repeats` says first.
pub(crate) fn sentences(r: &RepeatReport, since: Option<u64>) -> Vec<String> {
    let when = since.map_or_else(
        || "in the incident journals".to_string(),
        |s| format!("since {}", time::rfc3339(s)),
    );
    r.detectors
        .iter()
        .filter(|d| d.repeated > 0)
        .map(|d| {
            let values = if d.repeated == 1 { "value" } else { "values" };
            format!(
                "{}: the same {} {values} left in {} messages {when}",
                d.detector, d.repeated, d.repeat_messages
            )
        })
        .collect()
}

pub(crate) async fn repeats(
    port: &Port,
    as_json: bool,
    since: Option<u64>,
    detector: Option<String>,
) -> Result<(), CtlError> {
    let detector = match detector {
        Some(d) if d.len() > cordon_wire::limits::MAX_SAMPLE_LEN => {
            return Err(CtlError::Usage(format!("detector name too long: {d}")));
        }
        Some(d) => Some(cordon_wire::bounded(&d)),
        None => None,
    };
    let query = RepeatQuery {
        after_unix: since,
        detector,
    };
    let mut client = port.connect().await?;
    let report = match client.call(Request::QueryRepeats(query)).await? {
        Response::Repeats(r) => r,
        other => return Err(unexpected(other)),
    };
    if as_json {
        json(&report);
        return Ok(());
    }
    let said = sentences(&report, since);
    if said.is_empty() {
        println!(
            "no value seen in more than one message ({} incidents read, {} with tagged values)",
            report.incidents, report.messages
        );
    }
    for s in &said {
        println!("{s}");
    }
    if !report.complete {
        println!(
            "(counts are lower bounds: the read budget or the value table ran out; {} values uncounted)",
            report.untracked
        );
    }
    if !report.detectors.is_empty() {
        println!();
        let rows: Vec<Vec<String>> = report
            .detectors
            .iter()
            .map(|d| {
                vec![
                    d.detector.to_string(),
                    d.repeated.to_string(),
                    d.repeat_messages.to_string(),
                    d.distinct.to_string(),
                    d.messages.to_string(),
                ]
            })
            .collect();
        print!("{}", render(&DETECTORS, true, &rows));
    }
    if !report.top.is_empty() {
        println!();
        let rows: Vec<Vec<String>> = report
            .top
            .iter()
            .map(|v| {
                vec![
                    v.detector.to_string(),
                    format!("{:08x}", v.tag),
                    v.messages.to_string(),
                    time::rfc3339(v.first_unix),
                    time::rfc3339(v.last_unix),
                    v.incidents
                        .iter()
                        .map(|c| format!("w{}:{}", c.worker, c.seq))
                        .collect::<Vec<_>>()
                        .join(","),
                ]
            })
            .collect();
        print!("{}", render(&TOP, true, &rows));
    }
    Ok(())
}
