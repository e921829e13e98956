//! `cordon`: the gateway binary. The command line, start-up and runtime setup, the live
//! configuration and the config port's backend; the SMTP proxy itself is `cordon-proxy`.
//!
//! # Layout
//! - this file: the command line (`run`, `supervise`, `worker`, `board-units`,
//!   `check-config`, `scan`, `detectors`).
//! - [`boot`]: `cordon run`, `cordon supervise` and `cordon worker`: loading, signals, reload.
//! - [`live`]: builds what sessions share from a config, at start and on every apply.
//! - [`config_port`]: the gateway behind the config port (status, apply, rollback, incidents,
//!   scan) and the A/B config store it opens.
//! - [`scan`]: `cordon scan`: one message's findings and, with a config, its verdict.
//! - [`stamp_key`]: the appliance's stamp key file when there is no config store.
//! - [`worker_env`]: what the supervisor tells its workers through the environment.
//! - [`logging`]: journald under systemd, stderr otherwise.
//! - [`error`]: the one error type, with each wrapped error as its source.

#![forbid(unsafe_code)]

mod boot;
mod config_port;
mod error;
mod live;
mod logging;
mod scan;
mod stamp_key;
mod worker_env;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use cordon_proxy::tls;

use crate::boot::{Options, Worker};
use crate::error::Error;

#[derive(Parser, Debug)]
#[command(
    name = "cordon",
    version,
    about = "cordon: a non-queuing DLP SMTP gateway for Exchange Online"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Run the gateway in one process.
    Run {
        /// The configuration file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Run the appliance: one pinned worker per data core of the board, under a watchdog.
    Supervise {
        /// The board profile (board/<name>/board.toml).
        #[arg(long)]
        board: PathBuf,
        /// The configuration file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// One worker of `cordon supervise` (started by it, not by hand).
    Worker {
        /// The core this worker is pinned to.
        #[arg(long)]
        core: usize,
        /// This worker's share of `max_sessions`.
        #[arg(long)]
        sessions: usize,
        /// This worker's place among the supervisor's workers, as `INDEX/WORKERS`: its share
        /// of each `slot_classes` class.
        #[arg(long, value_parser = parse_share, default_value = "0/1")]
        share: (usize, usize),
        /// Serve the config port from this worker.
        #[arg(long)]
        control: bool,
        /// The configuration file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Print the systemd drop-in (`cordon.service.d/board.conf`) for a board profile: its
    /// cores as CPUAffinity=, its memory as MemoryMax= and LimitMEMLOCK=.
    BoardUnits {
        /// The board profile (board/<name>/board.toml).
        #[arg(long)]
        board: PathBuf,
    },
    /// Validate a configuration file and print every problem with file, line and key.
    CheckConfig {
        /// The configuration file.
        file: PathBuf,
    },
    /// Inspect one message and print what the DLP engine finds in it; with --config, also the
    /// verdict live mail would get and why each rule did or did not match.
    Scan {
        /// The message (RFC 5322, e.g. an .eml file).
        file: PathBuf,
        /// Use this config's dictionaries, patterns and rules (built-in detectors otherwise).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// The envelope sender (default: the message's From).
        #[arg(long)]
        from: Option<String>,
        /// An envelope recipient, repeatable (default: the message's To, Cc and Bcc).
        #[arg(long)]
        to: Vec<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// List every built-in detector (country, validator, keywords, confidence rules, source)
    /// and the bundles a rule's `match` may name.
    Detectors {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Cmd::CheckConfig { file } => check_config(&file),
        Cmd::BoardUnits { board } => match cordon_supervisor::Board::load(&board) {
            Ok(b) => {
                print!("{}", b.service_dropin(&board.display().to_string()));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("cordon: {e}");
                ExitCode::FAILURE
            }
        },
        Cmd::Scan {
            file,
            config,
            from,
            to,
            json,
        } => scan::scan(&file, config.as_deref(), from.as_deref(), &to, json),
        Cmd::Detectors { json } => {
            use cordon_dlp::catalogue;
            if json {
                let bundles: std::collections::BTreeMap<_, _> = catalogue::bundles().collect();
                let doc = serde_json::json!({
                    "detectors": catalogue::detectors(),
                    "bundles": bundles,
                });
                println!("{doc:#}");
            } else {
                print!("{}", catalogue::render_table());
            }
            ExitCode::SUCCESS
        }
        Cmd::Run { config } => exit(boot::serve(&config, Options::default())),
        Cmd::Supervise { board, config } => exit(boot::supervise(&board, &config)),
        Cmd::Worker {
            core,
            sessions,
            share,
            control,
            config,
        } => exit(boot::serve(
            &config,
            Options {
                worker: Some(Worker {
                    core,
                    sessions,
                    share,
                    control,
                }),
            },
        )),
    }
}

/// `INDEX/WORKERS`, with INDEX below WORKERS.
fn parse_share(s: &str) -> Result<(usize, usize), String> {
    let bad = || format!("`{s}` is not INDEX/WORKERS (for example 0/4)");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (i, n) = (i.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
    if i < n {
        Ok((i, n))
    } else {
        Err(bad())
    }
}

fn exit(result: Result<(), Error>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cordon: {}", e.report());
            ExitCode::FAILURE
        }
    }
}

fn check_config(file: &std::path::Path) -> ExitCode {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{}: cannot read: {e}", file.display());
            return ExitCode::FAILURE;
        }
    };
    let config = match cordon_config::parse(&text, file) {
        Ok(c) => c,
        Err(e) => {
            eprint!("{}", e.report());
            return ExitCode::FAILURE;
        }
    };
    let mut problems: Vec<String> = cordon_config::check_files(&config)
        .iter()
        .map(|d| d.to_string())
        .collect();
    if problems.is_empty() {
        // The files are there: make sure they are usable as well.
        for r in [
            tls::server_config(&config).map(|_| ()),
            tls::client_config(&config).map(|_| ()),
        ] {
            if let Err(e) = r {
                problems.push(e.to_string());
            }
        }
    }
    if problems.is_empty() {
        println!("{}: ok", file.display());
        ExitCode::SUCCESS
    } else {
        for p in problems {
            eprintln!("{p}");
        }
        ExitCode::FAILURE
    }
}
