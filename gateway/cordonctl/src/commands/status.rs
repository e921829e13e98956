//! `status` and `counters`: what the gateway is running and what it has counted.

use cordon_wire::{Request, Response};
use cordonctl::CtlError;

use crate::port::{json, Port};

/// Version, board, uptime, sessions, memory, config generation, then one row per worker.
pub(crate) async fn status(port: &Port, as_json: bool) -> Result<(), CtlError> {
    let mut client = port.connect().await?;
    let Response::Status(s) = client.call(Request::Status).await? else {
        return Err(CtlError::Client(cordon_control::Error::Unexpected(
            "status".into(),
        )));
    };
    if as_json {
        json(&s);
        return Ok(());
    }
    println!("software    {}", s.software);
    println!("board       {}", s.board);
    println!("uptime      {}", duration(s.uptime_secs));
    println!("sessions    {}", s.sessions);
    println!(
        "memory      {} used of {}",
        mib(s.memory.used_bytes),
        mib(s.memory.budget_bytes)
    );
    println!("config      generation {}", s.config_generation);
    println!();
    println!(
        "{:<7} {:<5} {:<8} {:<9} {:>8}",
        "WORKER", "CORE", "PID", "HEALTH", "SESSIONS"
    );
    for w in &s.workers {
        let core = w.core.map_or("-".to_owned(), |c| c.to_string());
        println!(
            "{:<7} {:<5} {:<8} {:<9} {:>8}",
            w.index,
            core,
            w.pid,
            format!("{:?}", w.health),
            w.sessions
        );
    }
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
    let width = c.counters.iter().map(|c| c.name.len()).max().unwrap_or(0);
    for counter in &c.counters {
        println!("{:<width$}  {:>12}", counter.name, counter.value);
    }
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
