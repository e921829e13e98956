//! `log [--lines N] [--follow] [--level L]`: the appliance's log, the newest lines of every
//! worker and of the supervisor merged by time, the way `journalctl -n N [-f] [-p L]` shows a
//! host's. It reaches the log over the config port, so it works where there is no shell (a
//! serial console, a remote port behind mutual TLS). `--follow` asks once a second for new
//! lines until interrupted or the gateway stops.

use std::time::Duration;

use cordon_wire::limits::{LOG_LEVELS as LEVELS, MAX_LOG_PER_PAGE};
use cordon_wire::{LogEntry, LogPage, Request, Response};
use cordonctl::CtlError;

use crate::port::{unexpected, Port};
use crate::time;

/// How often `--follow` asks for new lines.
const FOLLOW_EVERY: Duration = Duration::from_secs(1);

/// Parses `--level`: a name (or syslog's `err`/`warning`), or 0..4.
pub(crate) fn parse_level(s: &str) -> Result<u8, String> {
    let l = s.to_ascii_lowercase();
    let name = match l.as_str() {
        "err" => "error",
        "warning" => "warn",
        other => other,
    };
    if let Some(i) = LEVELS.iter().position(|n| *n == name) {
        return Ok(i as u8);
    }
    match l.parse::<u8>() {
        Ok(n) if usize::from(n) < LEVELS.len() => Ok(n),
        _ => Err(format!(
            "unknown level {s:?}: one of {} (or 0..4)",
            LEVELS.join(", ")
        )),
    }
}

/// `worker N` or `supervisor`, as the line's source.
fn source(e: &LogEntry, supervisor: u16) -> String {
    if e.source == supervisor {
        "supervisor".to_owned()
    } else {
        format!("worker{}", e.source)
    }
}

fn print(lines: &[LogEntry], supervisor: u16, as_json: bool) {
    for e in lines {
        if as_json {
            let v = serde_json::json!({
                "time": time::rfc3339_ms(e.time_ms),
                "time_ms": e.time_ms,
                "source": source(e, supervisor),
                "seq": e.seq,
                "level": e.level.as_str(),
                "text": e.text.as_str(),
            });
            println!("{v}");
        } else {
            println!(
                "{} {:<10} {:<5} {}",
                time::rfc3339_ms(e.time_ms),
                source(e, supervisor),
                e.level.as_str(),
                e.text
            );
        }
    }
}

async fn page(
    client: &mut cordon_control::Client,
    since: &[u64],
    max: usize,
    level: u8,
) -> Result<LogPage, CtlError> {
    let since = heapless::Vec::from_slice(since).unwrap_or_default();
    let max = max.clamp(1, MAX_LOG_PER_PAGE) as u16;
    match client.call(Request::QueryLog { since, max, level }).await? {
        Response::Log(p) => Ok(p),
        other => Err(unexpected(other)),
    }
}

/// The newest `lines` lines at `level` or more severe, then with `follow` every new one.
pub(crate) async fn log(
    port: &Port,
    as_json: bool,
    lines: usize,
    follow: bool,
    level: u8,
) -> Result<(), CtlError> {
    let mut client = port.connect().await?;
    // Where each ring ends now; then back up each source by `lines` and read forward: the
    // merge by time keeps the newest `lines` overall.
    let newest = page(&mut client, &[], MAX_LOG_PER_PAGE, level).await?;
    let ends: Vec<u64> = newest.next.iter().copied().collect();
    let mut at: Vec<u64> = ends
        .iter()
        .map(|n| n.saturating_sub(lines as u64))
        .collect();
    let mut all: Vec<LogEntry> = Vec::new();
    if lines > 0 {
        loop {
            let p = page(&mut client, &at, MAX_LOG_PER_PAGE, level).await?;
            let done = p.lines.is_empty();
            all.extend(p.lines);
            at = p.next.iter().copied().collect();
            if done {
                break;
            }
        }
        let cut = all.len().saturating_sub(lines);
        all.drain(..cut);
    } else {
        at = ends;
    }
    if all.is_empty() && !as_json && !follow {
        println!(
            "no log lines at level {} or above",
            LEVELS[usize::from(level)]
        );
    }
    print(&all, newest.supervisor, as_json);
    if !follow {
        return Ok(());
    }
    loop {
        tokio::time::sleep(FOLLOW_EVERY).await;
        let p = page(&mut client, &at, MAX_LOG_PER_PAGE, level).await?;
        at = p.next.iter().copied().collect();
        print(&p.lines, p.supervisor, as_json);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_by_name_alias_and_number() {
        assert_eq!(parse_level("warn"), Ok(1));
        assert_eq!(parse_level("WARNING"), Ok(1));
        assert_eq!(parse_level("err"), Ok(0));
        assert_eq!(parse_level("4"), Ok(4));
        let e = parse_level("loud").unwrap_err();
        assert!(e.contains("error, warn, info, debug, trace"), "{e}");
        assert!(parse_level("5").is_err());
    }
}
