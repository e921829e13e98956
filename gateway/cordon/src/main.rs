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
//! - [`policy_diff`]: a candidate config built aside and the running one judging the same
//!   message, for `cordonctl policy diff`.
//! - [`edm`]: EDM tables on the data partition: install, budgets, loading for the engine.
//! - [`restart_only`]: which settings of a new config wait for a restart, and their warnings.
//! - [`incidents`]: the persistent incident journals read back for the config port: filtered
//!   queries merged by time, and per-journal verification.
//! - [`scan`]: `cordon scan`: one message's findings and, with a config, its verdict.
//! - [`stamp_key`]: the appliance's stamp key file when there is no config store.
//! - [`worker_env`]: what the supervisor tells its workers through the environment.
//! - [`logging`]: journald under systemd, stderr otherwise.
//! - [`metrics`]: the metric table's cells (shared between workers) and the gauges a worker
//!   refreshes; [`metrics_http`]: the read-only Prometheus endpoint of `[metrics]`.
//! - [`error`]: the one error type, with each wrapped error as its source.

#![forbid(unsafe_code)]

mod boot;
mod budget;
mod config_port;
mod edm;
mod error;
mod fingerprints;
mod incidents;
mod install;
mod keyed_files;
mod live;
mod logging;
mod metrics;
mod metrics_http;
mod policy_diff;
mod restart_only;
mod scan;
mod slot;
mod stamp_key;
mod update_helper;
mod worker_env;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use cordon_proxy::tls;

use crate::boot::{ConfigSource, Options, Worker};
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
        /// With [control]: run the newest stored generation (what the config port applied),
        /// or the file, stored as a new generation when it differs.
        #[arg(long, value_enum, default_value_t = ConfigSource::Stored)]
        config_source: ConfigSource,
    },
    /// Run the appliance: one pinned worker per data core of the board, under a watchdog.
    Supervise {
        /// The board profile (board/<name>/board.toml).
        #[arg(long)]
        board: PathBuf,
        /// The configuration file.
        #[arg(long, short)]
        config: PathBuf,
        /// As for `run`: the stored generation, or the file.
        #[arg(long, value_enum, default_value_t = ConfigSource::Stored)]
        config_source: ConfigSource,
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
        /// Also check that its sessions, slot classes, incident ring and EDM reserve fit this
        /// board profile's memory (board/<name>/board.toml), as `cordon supervise` will.
        #[arg(long)]
        board: Option<PathBuf>,
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
    /// The firmware's root slots as the boot loader sees them: which one booted, the boot
    /// order, attempts left (image/README.md, "Boot" and "Updates").
    Slot {
        #[command(subcommand)]
        action: SlotCmd,
        /// The boot state partition.
        #[arg(long, global = true, default_value = slot::DEFAULT_DEVICE)]
        device: PathBuf,
    },
    /// Make a signed firmware update bundle from one slot's images (on the build host, or on
    /// the offline signing machine: image/keys/README.md).
    Bundle(install::Create),
    /// List every built-in detector (country, validator, keywords, confidence rules, source)
    /// and the bundles a rule's `match` may name.
    Detectors {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
enum SlotCmd {
    /// The booted slot, the boot order, each slot's attempts, and any rollback.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Once the gateway is healthy, give the booted slot its attempts back (run each boot by
    /// cordon-mark-good.service); reboots when health does not come and no attempt is left.
    MarkGood {
        /// The config port's Unix socket, asked for the gateway's health.
        #[arg(long, default_value = "/run/cordon/control.sock")]
        socket: PathBuf,
        /// How long to wait for health, in seconds.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
        /// Healthy even if a smart host does not answer (a box whose smart host is
        /// unreachable by design during commissioning; `[control] update_waive_smarthost` in
        /// the running config does the same).
        #[arg(long)]
        waive_smarthost: bool,
        /// The booted slot (default: `cordon.slot=` on the kernel command line).
        #[arg(long, value_parser = parse_slot)]
        booted: Option<cordon_store::boot::BootSlot>,
    },
    /// Install a signed bundle (a file, or a block device such as a USB stick) into the slot
    /// that is not running, and arm it for one attempt: checked before anything is written,
    /// hashed while written, read back before it is armed.
    Install {
        /// The bundle.
        bundle: PathBuf,
    },
    /// Serve one request of the config port's update helper on stdin and stdout (run by
    /// cordon-update.socket per connection, as root): `status`, or `install` and a bundle.
    Serve {
        /// Where the slot partitions and `bootstate` are (default: `--device`'s folder,
        /// udev's by-partlabel links), for a board or test rig laid out otherwise.
        #[arg(long, value_name = "DIR")]
        partitions: Option<PathBuf>,
        /// The trusted update keys (`*.pem`).
        #[arg(
            long,
            value_name = "DIR",
            default_value = "/usr/share/cordon/update-keys"
        )]
        keys: PathBuf,
        /// The board profile, whose name a bundle must carry.
        #[arg(long, value_name = "FILE", default_value = "/etc/cordon/board.toml")]
        board: PathBuf,
        /// The running slot (default: `cordon.slot=` on the kernel command line).
        #[arg(long, value_parser = parse_slot)]
        booted: Option<cordon_store::boot::BootSlot>,
    },
    /// One attempt for SLOT, first in the boot order (what an install does after verifying).
    ArmOnce {
        #[arg(value_parser = parse_slot)]
        slot: cordon_store::boot::BootSlot,
    },
    /// No attempts for SLOT (what an install does before writing it).
    MarkBad {
        #[arg(value_parser = parse_slot)]
        slot: cordon_store::boot::BootSlot,
    },
}

fn parse_slot(s: &str) -> Result<cordon_store::boot::BootSlot, String> {
    cordon_store::boot::BootSlot::parse(s).ok_or_else(|| format!("`{s}` is not a slot (a or b)"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Cmd::CheckConfig { file, board } => check_config(&file, board.as_deref()),
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
        Cmd::Slot { action, device } => match action {
            SlotCmd::Status { json } => slot::status(&device, json),
            SlotCmd::MarkGood {
                socket,
                timeout,
                waive_smarthost,
                booted,
            } => slot::mark_good(
                &device,
                booted.or_else(slot::booted),
                &slot::Health {
                    socket,
                    timeout: std::time::Duration::from_secs(timeout),
                    waive_smarthost,
                },
            ),
            SlotCmd::Install { bundle } => install::run(&bundle),
            SlotCmd::Serve {
                partitions,
                keys,
                board,
                booted,
            } => {
                let partitions = partitions.unwrap_or_else(|| {
                    device
                        .parent()
                        .map_or_else(|| PathBuf::from("/dev/disk/by-partlabel"), PathBuf::from)
                });
                let paths = install::Paths {
                    partitions,
                    keys,
                    board,
                };
                update_helper::run(&paths, booted.or_else(slot::booted))
            }
            SlotCmd::ArmOnce { slot } => slot::set(&device, slot, true),
            SlotCmd::MarkBad { slot } => slot::set(&device, slot, false),
        },
        Cmd::Bundle(create) => match install::create(&create) {
            Ok(bytes) => {
                println!("{}: {bytes} bytes, signed", create.out.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("cordon bundle: {e}");
                ExitCode::FAILURE
            }
        },
        Cmd::Detectors { json } => {
            print!("{}", scan::detectors(json));
            ExitCode::SUCCESS
        }
        Cmd::Run {
            config,
            config_source,
        } => exit(boot::serve(
            &config,
            Options {
                worker: None,
                source: config_source,
            },
        )),
        Cmd::Supervise {
            board,
            config,
            config_source,
        } => exit(boot::supervise(&board, &config, config_source)),
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
                // The supervisor has already stored the file if it was to win.
                source: ConfigSource::Stored,
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

fn check_config(file: &std::path::Path, board: Option<&std::path::Path>) -> ExitCode {
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
    // The engine as `cordon run` builds it: patterns compile, every rule's `match` names
    // something known (what `run` would refuse, `check-config` says first).
    match cordon_proxy::engine::build(&config) {
        Ok(_) => {}
        Err(cordon_proxy::Error::Invalid(ds)) => problems.extend(ds.iter().map(|d| d.to_string())),
        Err(e) => problems.push(e.to_string()),
    }
    let fits = board.and_then(|b| match board_fit(file, &text, &config, b) {
        Ok(fits) => Some(fits),
        Err(problem) => {
            problems.push(problem);
            None
        }
    });
    let note = stored_note(file, &text, &config);
    if problems.is_empty() {
        match fits {
            Some(fits) => println!("{}: ok; {fits}", file.display()),
            None => println!("{}: ok", file.display()),
        }
        if let Some(note) = note {
            println!("{note}");
        }
        ExitCode::SUCCESS
    } else {
        for p in problems {
            eprintln!("{p}");
        }
        if let Some(note) = note {
            eprintln!("{note}");
        }
        ExitCode::FAILURE
    }
}

/// Whether the config's memory fits board profile `board`: what it takes, or the problem
/// located at the key to change (`slot_classes` if written, else `max_sessions`).
fn board_fit(
    file: &std::path::Path,
    text: &str,
    config: &cordon_config::Config,
    board: &std::path::Path,
) -> Result<String, String> {
    let b = cordon_supervisor::Board::load(board)
        .map_err(|e| format!("{}: cannot use this board profile: {e}", board.display()))?;
    let data = match budget::data_budget(config, &b) {
        Ok(d) => d.usable.map_or(String::new(), |(room, mib)| {
            format!(
                "; /data {} MiB of the {} MiB a config may use of its {mib} MiB partition",
                d.need >> 20,
                room >> 20
            )
        }),
        Err(e) => {
            let written =
                |section: &str, key: &str| restart_only::locate(text, section, key) != (0, 0);
            let (section, key) =
                if written("edm", "storage_bytes") && !written("incidents", "total_bytes") {
                    ("edm", "storage_bytes")
                } else {
                    ("incidents", "total_bytes")
                };
            let (line, column) = restart_only::locate(text, section, key);
            return Err(format!(
                "{}:{line}:{column}: {section}.{key}: on board {} ({}): {e}",
                file.display(),
                b.name,
                board.display()
            ));
        }
    };
    match budget::board_budget(config, &b) {
        Ok(budget) => Ok(format!(
            "memory budget {} MiB of board {}'s {} MiB{data}",
            budget >> 20,
            b.name,
            b.memory_mib
        )),
        Err(e) => {
            let written = |k: &str| {
                text.lines().any(|l| {
                    l.trim_start()
                        .strip_prefix(k)
                        .is_some_and(|r| r.trim_start().starts_with('='))
                })
            };
            let key = if written("slot_classes") {
                "slot_classes"
            } else {
                "max_sessions"
            };
            let (line, column) = restart_only::locate(text, "gateway", key);
            Err(format!(
                "{}:{line}:{column}: gateway.{key}: on board {} ({}): {e}",
                file.display(),
                b.name,
                board.display()
            ))
        }
    }
}

/// With `[control]`, whether `cordon run` would run this file: a stored generation that
/// differs from it runs instead (`--config-source=stored`, the default).
fn stored_note(
    file: &std::path::Path,
    text: &str,
    config: &cordon_config::Config,
) -> Option<String> {
    let state_dir = &config.control.as_ref()?.state_dir;
    let (f, store) = (file.display(), state_dir.display());
    match boot::stored_config(state_dir) {
        Ok(None) => None,
        Ok(Some((_, stored))) if stored == text => None,
        Ok(Some((generation, _))) => Some(format!(
            "{f}: note: the config store in {store} holds generation {generation}, which differs from this file; `cordon run` runs generation {generation}, not this file (to run this file: `cordon run --config-source=file`, or `cordonctl config apply {f}`)"
        )),
        Err(e) => Some(format!(
            "{f}: note: cannot compare with the config store in {store} ({e}); `cordon run` runs its newest generation if it has one"
        )),
    }
}
