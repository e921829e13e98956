//! `status` and `counters`: what the gateway is running and what it has counted.

use cordon_wire::{Request, Response};
use cordonctl::CtlError;

use crate::port::{json, Port};
use crate::table::{render, Col};
use crate::time;

/// The worker table under the status lines.
const WORKERS: [Col; 5] = [
    Col::left("WORKER"),
    Col::left("CORE"),
    Col::left("PID"),
    Col::left("HEALTH"),
    Col::right("SESSIONS"),
];

/// Counter names and values.
const COUNTERS: [Col; 2] = [Col::left("COUNTER"), Col::right("VALUE")];

/// Version, board, uptime, sessions, memory, config generation, then one row per worker.
pub(crate) async fn status(port: &Port, as_json: bool) -> Result<(), CtlError> {
    let mut client = port.connect().await?;
    let Response::Status(s) = client.call(Request::Status).await? else {
        return Err(CtlError::Client(cordon_control::Error::Unexpected(
            "status".into(),
        )));
    };
    let now = time::now();
    let started = now.saturating_sub(s.uptime_secs);
    if as_json {
        let mut v = serde_json::to_value(&s).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.insert("started".into(), time::rfc3339(started).into());
        }
        json(&v);
        return Ok(());
    }
    println!("software    {}", s.software);
    println!("board       {}", s.board);
    println!(
        "uptime      {} (since {})",
        duration(s.uptime_secs),
        time::rfc3339(started)
    );
    println!("sessions    {}", s.sessions);
    println!(
        "memory      {} used of {}",
        mib(s.memory.used_bytes),
        mib(s.memory.budget_bytes)
    );
    let listeners: Vec<&str> = s.listeners.iter().map(|l| l.as_str()).collect();
    println!("listen      {}", listeners.join(", "));
    if s.restart_pending.is_empty() {
        println!("config      generation {}", s.config_generation);
    } else {
        let pending: Vec<&str> = s.restart_pending.iter().map(|k| k.as_str()).collect();
        println!(
            "config      generation {}; restart pending for {}",
            s.config_generation,
            pending.join(", ")
        );
    }
    let j = &s.journal;
    let range = match (j.first_seq, j.last_seq) {
        (Some(a), Some(b)) => format!("w{w}:{a}..w{w}:{b}", w = j.worker),
        _ => "empty".to_owned(),
    };
    let state = if j.ok {
        "ok".to_owned()
    } else {
        format!(
            "NOT WRITABLE: messages with an incident get 451 4.3.0 ({})",
            j.last_error.as_deref().unwrap_or("unknown")
        )
    };
    println!(
        "incidents   journal w{} {state}; {range}; {} of {}; {} failed appends",
        j.worker,
        mib(j.bytes),
        mib(j.total_bytes),
        j.failures
    );
    println!();
    let rows: Vec<Vec<String>> = s
        .workers
        .iter()
        .map(|w| {
            vec![
                w.index.to_string(),
                w.core.map_or("-".to_owned(), |c| c.to_string()),
                w.pid.to_string(),
                w.health.as_str().to_owned(),
                w.sessions.to_string(),
            ]
        })
        .collect();
    print!("{}", render(&WORKERS, true, &rows));
    Ok(())
}

/// Every counter, name and value (with `--json`, one object of name to value).
pub(crate) async fn counters(port: &Port, as_json: bool) -> Result<(), CtlError> {
    let mut client = port.connect().await?;
    let Response::Counters(c) = client.call(Request::Counters).await? else {
        return Err(CtlError::Client(cordon_control::Error::Unexpected(
            "counters".into(),
        )));
    };
    if as_json {
        let map: serde_json::Map<String, serde_json::Value> = c
            .counters
            .iter()
            .map(|c| (c.name.to_string(), c.value.into()))
            .collect();
        json(&map);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = c
        .counters
        .iter()
        .map(|c| vec![c.name.to_string(), c.value.to_string()])
        .collect();
    // No title line: each line is a name and its value, for `grep` and `awk`.
    print!("{}", render(&COUNTERS, false, &rows));
    Ok(())
}

fn duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d {h}h {m}m")
    } else {
        format!("{h}h {m}m {s}s")
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}
