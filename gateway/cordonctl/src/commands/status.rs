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
    let started = s.started_unix;
    let problems = problems(&s, now);
    let state = if problems.is_empty() {
        "running".to_owned()
    } else {
        format!("degraded: {}", problems.join("; "))
    };
    if as_json {
        let mut v = serde_json::to_value(&s).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.insert("started".into(), time::rfc3339(started).into());
            o.insert(
                "state".into(),
                if problems.is_empty() {
                    "running"
                } else {
                    "degraded"
                }
                .into(),
            );
            o.insert("problems".into(), problems.clone().into());
        }
        json(&v);
        return Ok(());
    }
    println!("state       {state}");
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
    if !s.buffers.is_empty() {
        println!("buffers     {}", buffers(&s.buffers));
    }
    let listeners: Vec<&str> = s.listeners.iter().map(|l| l.as_str()).collect();
    println!("listen      {}", listeners.join(", "));
    println!("origin      {}", s.config_origin);
    if let Some(a) = &s.last_apply {
        println!(
            "last apply  {} generation {} by {} at {}",
            a.request,
            a.generation.map_or("-".to_owned(), |g| g.to_string()),
            super::audit::who(a),
            time::with_ago(a.time_unix, now)
        );
    }
    for h in &s.smarthosts {
        println!(
            "smart host  {} {} {} ms: {}",
            h.address,
            if h.ok { "OK" } else { "FAIL" },
            h.millis,
            h.detail
        );
    }
    if let Some(c) = &s.certificate {
        println!("certificate {}", certificate_line(c, now));
    }
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
    if !s.recent.is_empty() {
        println!();
        let rows: Vec<Vec<String>> = s
            .recent
            .iter()
            .map(|i| {
                vec![
                    format!("w{}:{}", i.worker, i.seq),
                    time::with_ago(i.time_unix, now),
                    i.action.as_str().to_owned(),
                    i.rule.as_deref().unwrap_or("-").to_owned(),
                    i.sender.to_string(),
                ]
            })
            .collect();
        print!("{}", render(&RECENT, true, &rows));
    }
    Ok(())
}

/// Newest incidents under the workers.
const RECENT: [Col; 5] = [
    Col::left("INCIDENT"),
    Col::left("TIME"),
    Col::left("ACTION"),
    Col::left("RULE"),
    Col::left("SENDER").fixed(40),
];

/// A certificate this close to its end is a problem to report now: renewal takes days.
const CERTIFICATE_WARNING_SECS: u64 = 14 * 86_400;

/// `CN=..., expires 2027-01-01T00:00:00Z (in 30 days)`, or EXPIRED.
fn certificate_line(c: &cordon_wire::TlsInfo, now: u64) -> String {
    if c.not_after_unix < now {
        format!(
            "{}, EXPIRED {}",
            c.subject,
            time::with_ago(c.not_after_unix, now)
        )
    } else {
        format!(
            "{}, expires {} (in {})",
            c.subject,
            time::rfc3339(c.not_after_unix),
            time::span(c.not_after_unix - now)
        )
    }
}

/// What makes the appliance degraded, each in a few words: the state line and `--json`'s
/// `problems` (empty when running well).
fn problems(s: &cordon_wire::Status, now: u64) -> Vec<String> {
    let mut out = Vec::new();
    if !s.journal.ok {
        out.push(format!(
            "incident journal w{} not writable",
            s.journal.worker
        ));
    }
    for w in &s.workers {
        if w.health != cordon_wire::WorkerHealth::Healthy {
            out.push(format!("worker {} {}", w.index, w.health.as_str()));
        }
    }
    for h in s.smarthosts.iter().filter(|h| !h.ok) {
        out.push(format!("smart host {} failing", h.address));
    }
    if let Some(c) = &s.certificate {
        if c.not_after_unix < now {
            out.push("SMTP certificate expired".to_owned());
        } else if c.not_after_unix - now < CERTIFICATE_WARNING_SECS {
            out.push(format!(
                "SMTP certificate expires in {}",
                time::span(c.not_after_unix - now)
            ));
        }
    }
    if s.file_differs {
        out.push("config file differs from the running generation".to_owned());
    }
    if !s.restart_pending.is_empty() {
        out.push("restart pending".to_owned());
    }
    out
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

/// `120 x 256 KiB (3 in use), 16 x 4 MiB, 2 x 150 MiB (2 in use: full)`: each size class of
/// message buffers, as `slot_classes` writes them, and how many hold a transaction now.
fn buffers(classes: &[cordon_wire::BufferClass]) -> String {
    let size = |b: u64| match b {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} B"),
    };
    classes
        .iter()
        .map(|c| match c.in_use {
            0 => format!("{} x {}", c.count, size(c.size)),
            n if n >= c.count => format!("{} x {} ({n} in use: full)", c.count, size(c.size)),
            n => format!("{} x {} ({n} in use)", c.count, size(c.size)),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}
