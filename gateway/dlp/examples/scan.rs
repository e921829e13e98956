//! Scans .eml files with the built-in detectors and prints the findings
//! table (or JSON with `--json`): `cargo run -p cordon-dlp --example scan -- FILE...`.
//! The gateway's `cordon scan` does the same with the appliance config.

use std::sync::Arc;

use cordon_dlp::{render_table, Engine, EngineConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|a| a == "--json");
    let engine = Arc::new(Engine::new(&EngineConfig::default())?);
    let mut scanner = engine.scanner();
    for path in args.iter().filter(|a| !a.starts_with("--")) {
        let bytes = std::fs::read(path)?;
        scanner.feed(&bytes);
        let f = scanner.finish();
        println!("== {path}");
        if json {
            println!("{}", serde_json::to_string_pretty(&f)?);
        } else {
            print!("{}", render_table(&f));
        }
    }
    Ok(())
}
