//! cordonctl: the command-line client of the cordon appliance's config port. It talks the
//! `cordon-wire` protocol over the Unix socket (default), the serial console or mutual-TLS
//! TCP, prints human tables (or JSON with `--json`), and exits with a code a script can act
//! on. `exchange-setup` prints the Exchange Online PowerShell that wires the appliance into
//! the mail flow, from a config file or the running config.
//!
//! # Layout
//! - `main.rs`: the command line, the transport it selects, dispatch, and error reports.
//! - `port`: connecting to the config port; reading local files; JSON output.
//! - `commands/`: one module per command group: `status` (status, counters), `config`,
//!   `incidents`, `scan`, `tls`, `edm` (hash offline, upload, list, remove), `appliance`
//!   (workers restart, reboot), `exchange_setup`.
//! - the library (`lib.rs`): the error type with its exit codes, and `exchange`, the Exchange
//!   Online script generator, its PowerShell reader, reference table and rule evaluator (no
//!   I/O), kept out of the binary so tests and the fuzz target reach them.
//!
//! Exit codes: 0 done; 1 refused or invalid (the server's reason, or each config issue as
//! `file:line:col: key: reason`); 2 usage error (bad arguments, unreadable local file);
//! 3 cannot connect or the transport failed.

#![forbid(unsafe_code)]
#![allow(
    clippy::result_large_err,
    clippy::large_enum_variant,
    reason = "the wire's AppError and Response are fixed-size (~8 KiB, no allocator in cordon-wire); \
              they are returned by value on the control path only, never per message"
)]

mod commands;
mod fleet;
mod port;
mod table;
mod time;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use cordon_control::Transport;
use cordon_wire::{ErrorCode, WireError};
use cordonctl::CtlError;

use commands::exchange_setup::ExchangeArgs;
use commands::{
    appliance, audit, config, edm, exchange_setup, fingerprint, incidents, journal, log, policy,
    repeats, scan, status, tls, trace, update,
};
use port::Port;

/// Where the gateway listens by default (the unit creates it, mode 0660).
const DEFAULT_SOCKET: &str = "/run/cordon/control.sock";

#[derive(Debug, Parser)]
#[command(
    name = "cordonctl",
    version,
    about = "Manage a cordon DLP gateway over its config port"
)]
struct Cli {
    /// The gateway's Unix socket.
    #[arg(long, global = true, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// A serial device (the appliance's console) instead of the socket.
    #[arg(long, value_name = "DEVICE", conflicts_with_all = ["socket", "tcp"])]
    serial: Option<PathBuf>,
    /// The mutual-TLS management port instead of the socket (needs --ca, --cert and --key).
    /// These four go before the command (`tls install` has its own --cert and --key).
    #[arg(
        long,
        value_name = "HOST:PORT",
        conflicts_with = "socket",
        requires = "ca"
    )]
    tcp: Option<String>,
    /// Client certificate (PEM) for --tcp.
    #[arg(long, value_name = "FILE", requires = "key")]
    cert: Option<PathBuf>,
    /// Client private key (PEM) for --tcp.
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    /// CA that issued the gateway's certificate, for --tcp and --target.
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// A fleet: run the command against each of these mutual-TLS management ports (repeat
    /// for each appliance; needs --ca, --cert and --key), one result line per appliance.
    /// `exchange-setup` lists every target's hostname as a gateway.
    #[arg(
        long = "target",
        value_name = "HOST:PORT",
        conflicts_with_all = ["socket", "serial", "tcp"],
        requires = "ca"
    )]
    targets: Vec<String>,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Version, board, uptime, workers, sessions, memory, config generation.
    Status,
    /// The gateway's counters.
    Counters,
    /// Read, check, apply or roll back the config.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// List incidents from the persistent log (and with --follow, wait for new ones), `show
    /// ID` for one, or `verify` the journals' chains.
    Incidents {
        #[command(subcommand)]
        show: Option<IncidentsCommand>,
        /// Only incidents from these numbers on, per worker journal: `w0:41,w1:7` (a bare
        /// number is worker 0's). A listing cut by --limit prints the one that goes on.
        #[arg(long, value_name = "SEQ")]
        since: Option<String>,
        /// Only incidents at or after this time: RFC 3339 (2026-12-05T13:00:00Z) or a
        /// duration back from now (10m, 2h, 3days).
        #[arg(long, value_name = "TIME")]
        after: Option<String>,
        /// Only incidents before this time (same forms as --after).
        #[arg(long, value_name = "TIME")]
        before: Option<String>,
        /// Only incidents decided by this rule.
        #[arg(long, value_name = "NAME")]
        rule: Option<String>,
        /// Only incidents with this action: deliver, tag, quarantine, block, redirect.
        #[arg(long, value_name = "ACTION")]
        action: Option<String>,
        /// Only incidents whose sender contains this (case-insensitive).
        #[arg(long, value_name = "TEXT")]
        sender: Option<String>,
        /// Only incidents naming this detector.
        #[arg(long, value_name = "NAME")]
        detector: Option<String>,
        /// Print at most N incidents, then the --since that goes on (paging).
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
        /// Keep printing new incidents until interrupted or the gateway stops.
        #[arg(long)]
        follow: bool,
    },
    /// The audit trail: who applied, rolled back, installed TLS, restarted or rebooted, when,
    /// what changed and the result.
    Audit {
        /// Only records from this journal sequence number on.
        #[arg(long, value_name = "SEQ", default_value_t = 1)]
        since: u64,
        /// Print at most N records, then the --since that goes on.
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
    },
    /// The message trace: every message the workers judged (clean ones too) with its
    /// verdict, the deciding rule and why, oldest first.
    Trace {
        /// Print the newest N (then, with --follow, every new one).
        #[arg(long, value_name = "N", default_value_t = 20)]
        limit: usize,
        /// Keep printing new messages until interrupted.
        #[arg(long)]
        follow: bool,
    },
    /// The appliance's log: the newest lines of every worker and of the supervisor, merged
    /// by time (what `journalctl` shows on a host with a shell).
    Log {
        /// Print the newest N lines (then, with --follow, every new one).
        #[arg(short = 'n', long, value_name = "N", default_value_t = 50)]
        lines: usize,
        /// Keep printing new lines until interrupted.
        #[arg(short, long)]
        follow: bool,
        /// Only lines at this level or more severe: error, warn, info, debug or trace.
        #[arg(short = 'p', long, value_name = "LEVEL", default_value = "info",
              value_parser = log::parse_level)]
        level: u8,
    },
    /// Compare a new policy with the running one over a corpus of messages.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Dry-run the policy over a message on the appliance: each detector's findings with
    /// confidence and redacted samples, the verdict, and why each rule did or did not match
    /// (exactly what `cordon scan --config` prints there).
    Scan {
        /// An RFC 5322 message (.eml).
        file: PathBuf,
        /// The envelope sender (default: the message's From).
        #[arg(long, value_name = "ADDRESS")]
        from: Option<String>,
        /// An envelope recipient, repeatable (default: the message's To, Cc and Bcc).
        #[arg(long, value_name = "ADDRESS")]
        to: Vec<String>,
    },
    /// The detectors and bundles the appliance knows (as `cordon detectors` prints them).
    Detectors,
    /// Install the SMTP TLS certificate.
    #[command(subcommand)]
    Tls(TlsCommand),
    /// Exact data match tables: hash a CSV export offline, upload, list, remove.
    #[command(subcommand)]
    Edm(EdmCommand),
    /// Document fingerprints: protected documents (contracts, decks) a message may not carry a
    /// share of (`match = "doc:SET"` with `min_similarity`).
    #[command(subcommand)]
    Fingerprint(FingerprintCommand),
    /// Firmware: install a signed update bundle into the slot not running, or show both slots.
    #[command(subcommand)]
    Update(UpdateCommand),
    /// Restart the workers.
    #[command(subcommand)]
    Workers(WorkersCommand),
    /// Reboot the appliance.
    Reboot,
    /// Print the Exchange Online PowerShell that routes mail through this gateway (or fleet).
    ExchangeSetup(ExchangeArgs),
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print the running config (TOML).
    Get {
        /// With every default filled in (like `postconf`).
        #[arg(long)]
        effective: bool,
        /// Only the keys set to something other than their default (like `postconf -n`).
        #[arg(long, conflicts_with = "effective")]
        changed: bool,
    },
    /// Validate a config file on the gateway without applying it.
    Check { file: PathBuf },
    /// Validate, persist and apply a config file.
    Apply {
        file: PathBuf,
        /// Refuse if the running generation is not this one (another admin applied meanwhile).
        #[arg(long, value_name = "N")]
        expect_generation: Option<u64>,
        /// Replay --corpus under the running config and FILE first, and refuse (without
        /// sending the apply) if more than N messages change verdict.
        #[arg(long, value_name = "N", requires = "corpus")]
        max_changes: Option<usize>,
        /// The folder of .eml messages --max-changes replays.
        #[arg(long, value_name = "DIR", requires = "max_changes")]
        corpus: Option<PathBuf>,
    },
    /// Make the previous config current again.
    Rollback,
    /// Every apply and rollback from the audit trail, newest first: generation, when, who,
    /// result and the changed keys.
    History {
        /// Print at most N changes.
        #[arg(long, value_name = "N", default_value_t = 20)]
        limit: usize,
    },
    /// The lines where FILE differs from the running config (exit 0 same, 1 different).
    Diff { file: PathBuf },
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// Replay every .eml of DIR on the appliance under the running config and under FILE
    /// (validated, not applied), and print each message whose verdict changes.
    Diff {
        file: PathBuf,
        /// A folder of RFC 5322 messages named *.eml.
        #[arg(long, value_name = "DIR")]
        corpus: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum IncidentsCommand {
    /// Everything one incident records: kind, time, action, rule, sender, recipients,
    /// subject, detectors with count, confidence and redacted samples.
    Show { id: String },
    /// Verify each worker's journal: the range held, the chain, the anchor to export; with
    /// --anchor, whether the journal still reaches a previously exported anchor.
    Verify {
        /// `w0:SEQ:TAG` as a previous `verify` printed it.
        #[arg(long, value_name = "SEQ:TAG")]
        anchor: Option<String>,
    },
    /// Values seen in more than one message (the same card numbers, IBANs, national IDs),
    /// counted on the appliance from keyed tags: no value is stored or shown.
    Repeats {
        /// Only incidents at or after this time: RFC 3339 or a duration back from now (7days).
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// Only this detector's values.
        #[arg(long, value_name = "NAME")]
        detector: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum TlsCommand {
    /// Install a certificate chain and its key (validated first).
    Install {
        #[arg(long, value_name = "FILE")]
        cert: PathBuf,
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum EdmCommand {
    /// Offline, on the workstation: hash CSV (header row first) under SCHEMA into a bundle
    /// of keyed hashes on stdout; creates the table's key file (mode 0600) if absent.
    Hash {
        /// The table's schema (columns, types, primary finders, min_fields, proximity).
        #[arg(long, value_name = "FILE")]
        schema: PathBuf,
        /// The CSV export.
        csv: PathBuf,
        /// The table's key file [default: CSV with the extension .key].
        #[arg(long, value_name = "FILE")]
        key_file: Option<PathBuf>,
    },
    /// Install (or replace) table NAME on the appliance with the bundle and its key file.
    Upload {
        name: String,
        bundle: PathBuf,
        #[arg(long, value_name = "FILE")]
        key_file: PathBuf,
    },
    /// The installed tables, their sizes and the budgets.
    List,
    /// Remove table NAME (rules naming edm:NAME then match nothing).
    Remove { name: String },
}

#[derive(Debug, Subcommand)]
enum FingerprintCommand {
    /// Add each FILE (txt, docx, xlsx, pdf, eml, zip...) to set SET under its file name
    /// (replacing a document of that name); the appliance reads it with its own readers and
    /// keeps only keyed fingerprints.
    Add {
        set: String,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// The sets; with SET, its documents too.
    List { set: Option<String> },
    /// Remove DOCUMENT from SET, or the whole set.
    Remove {
        set: String,
        document: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum UpdateCommand {
    /// Stream BUNDLE (cordon-VERSION.bundle) to the appliance, which checks its signature and
    /// board before writing, writes the slot not running, reads it back and arms it for one
    /// attempt. Mail keeps flowing; an interrupted upload resumes.
    Install { bundle: PathBuf },
    /// Both root slots: version, verity root hash, good, trying or bad, which one is booted,
    /// and any rollback.
    Status,
}

#[derive(Debug, Subcommand)]
enum WorkersCommand {
    /// Restart every worker gracefully.
    Restart,
}

fn main() -> ExitCode {
    cordon_platform::process::default_sigpipe();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cordonctl: cannot start: {e}");
            return ExitCode::from(3);
        }
    };
    match runtime.block_on(Box::pin(run(cli))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            report(&e);
            ExitCode::from(e.exit_code())
        }
    }
}

/// Prints an error a person can act on.
fn report(e: &CtlError) {
    match e {
        CtlError::Client(cordon_control::Error::Server(WireError::App(app))) => {
            eprintln!("cordonctl: refused: {} ({:?})", app.message, app.code);
            for issue in &app.issues {
                eprintln!("  {}: {}: {}", issue.file, issue.key, issue.reason);
            }
            if app.code == ErrorCode::NotPermitted {
                eprintln!(
                    "  (ask an administrator to add your user to the config port's allowed users)"
                );
            }
        }
        // Each diagnostic or issue was printed where it was found.
        CtlError::Config(_) | CtlError::Refused(_) | CtlError::Incomplete | CtlError::Differs => {}
        // The changes were printed, then why the apply was not sent.
        CtlError::TooManyChanges { .. } => eprintln!("cordonctl: {e}"),
        CtlError::Client(cordon_control::Error::Io { op, path, source }) if *op == "connect to" => {
            eprintln!("cordonctl: {e}");
            let at = path.display();
            match source.kind() {
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => eprintln!(
                    "  (no gateway listens on {at}: is cordon running, with [control] socket = \"{at}\"? Another socket: --socket PATH)"
                ),
                std::io::ErrorKind::PermissionDenied => eprintln!(
                    "  (your user may not open {at}: run as root or as a member of the socket's group (its mode is [control] socket_mode), and ask an administrator to add your uid to [control] allowed_uids)"
                ),
                _ => {}
            }
        }
        other => eprintln!("cordonctl: {other}"),
    }
}

fn transport(cli: &Cli) -> Transport {
    if let Some(device) = &cli.serial {
        return Transport::Serial(device.clone());
    }
    if let Some(addr) = &cli.tcp {
        return tcp(cli, addr);
    }
    Transport::Unix(cli.socket.clone().unwrap_or_else(|| DEFAULT_SOCKET.into()))
}

/// The mutual-TLS port at `addr` with the command line's --ca, --cert and --key.
fn tcp(cli: &Cli, addr: &str) -> Transport {
    Transport::Tcp {
        addr: addr.to_string(),
        // clap's `requires` guarantees --ca with --tcp and --target.
        ca: cli.ca.clone().unwrap_or_default(),
        cert: cli.cert.clone(),
        key: cli.key.clone(),
    }
}

/// `--target`: the command once per appliance (see [`fleet`]).
async fn run_fleet(cli: &Cli) -> Result<(), CtlError> {
    match &cli.command {
        Command::ExchangeSetup(args) => {
            if !args.gateways.is_empty() {
                return Err(CtlError::Usage(
                    "give the gateways either as --target (their names are read from each appliance) or as --gateway, not both".into(),
                ));
            }
            let gateways = fleet::hostnames(|t| tcp(cli, t), &cli.targets).await?;
            let mut args = args.clone();
            args.gateways = gateways;
            // The first appliance's running config (or --config) describes the policy.
            let port = Port::new(tcp(cli, &cli.targets[0]));
            exchange_setup::exchange_setup(&port, cli.json, &args).await
        }
        Command::Incidents { follow: true, .. } => Err(CtlError::Usage(
            "--follow never ends, so it cannot report per appliance: follow each appliance with --tcp".into(),
        )),
        _ => {
            let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
            fleet::run(&args, &cli.targets, cli.json)
        }
    }
}

async fn run(cli: Cli) -> Result<(), CtlError> {
    if !cli.targets.is_empty() {
        if let Command::Edm(EdmCommand::Hash { .. }) = &cli.command {
            return Err(CtlError::Usage(
                "edm hash runs offline on this computer: it takes no --target".into(),
            ));
        }
        return run_fleet(&cli).await;
    }
    let port = Port::new(transport(&cli));
    let as_json = cli.json;
    match &cli.command {
        Command::Status => status::status(&port, as_json).await,
        Command::Counters => status::counters(&port, as_json).await,
        Command::Config(ConfigCommand::Get { effective, changed }) => {
            let view = match (effective, changed) {
                (true, _) => config::View::Effective,
                (_, true) => config::View::Changed,
                _ => config::View::AsStored,
            };
            config::get(&port, as_json, view).await
        }
        Command::Config(ConfigCommand::Check { file }) => config::check(&port, as_json, file).await,
        Command::Config(ConfigCommand::Apply {
            file,
            expect_generation,
            max_changes: Some(max),
            corpus: Some(dir),
        }) => policy::guarded_apply(&port, as_json, file, *expect_generation, *max, dir).await,
        Command::Config(ConfigCommand::Apply {
            file,
            expect_generation,
            ..
        }) => config::apply(&port, as_json, file, *expect_generation).await,
        Command::Policy(PolicyCommand::Diff { file, corpus }) => {
            policy::diff(&port, as_json, file, corpus).await
        }
        Command::Config(ConfigCommand::Rollback) => config::rollback(&port, as_json).await,
        Command::Config(ConfigCommand::History { limit }) => {
            audit::history(&port, as_json, *limit).await
        }
        Command::Config(ConfigCommand::Diff { file }) => config::diff(&port, as_json, file).await,
        Command::Incidents {
            show: Some(IncidentsCommand::Show { id }),
            ..
        } => {
            let at = incidents::parse_id(id).map_err(CtlError::Usage)?;
            incidents::show(&port, as_json, at).await
        }
        Command::Incidents {
            show: Some(IncidentsCommand::Verify { anchor }),
            ..
        } => {
            let anchor = match anchor {
                Some(a) => Some(journal::parse_anchor(a).map_err(CtlError::Usage)?),
                None => None,
            };
            journal::verify(&port, as_json, anchor).await
        }
        Command::Incidents {
            show: Some(IncidentsCommand::Repeats { since, detector }),
            ..
        } => {
            let since = match since {
                Some(t) => Some(time::parse_after(t, time::now()).map_err(CtlError::Usage)?),
                None => None,
            };
            repeats::repeats(&port, as_json, since, detector.clone()).await
        }
        Command::Incidents {
            show: None,
            since,
            after,
            before,
            rule,
            action,
            sender,
            detector,
            limit,
            follow,
        } => {
            let when = |t: &Option<String>| -> Result<Option<u64>, CtlError> {
                match t {
                    Some(a) => Ok(Some(
                        time::parse_after(a, time::now()).map_err(CtlError::Usage)?,
                    )),
                    None => Ok(None),
                }
            };
            let action = match action.as_deref() {
                None => None,
                Some(a) => Some(parse_action(a).map_err(CtlError::Usage)?),
            };
            let filter = incidents::Filter {
                since: match since {
                    Some(s) => incidents::parse_cursors(s).map_err(CtlError::Usage)?,
                    None => Vec::new(),
                },
                after: when(after)?,
                before: when(before)?,
                rule: rule.clone(),
                action,
                sender: sender.clone(),
                detector: detector.clone(),
                limit: *limit,
            };
            incidents::incidents(&port, as_json, filter, *follow).await
        }
        Command::Trace { limit, follow } => trace::trace(&port, as_json, *limit, *follow).await,
        Command::Log {
            lines,
            follow,
            level,
        } => log::log(&port, as_json, *lines, *follow, *level).await,
        Command::Audit { since, limit } => audit::audit(&port, as_json, *since, *limit).await,
        Command::Scan { file, from, to } => {
            scan::scan(&port, as_json, file, from.as_deref(), to).await
        }
        Command::Tls(TlsCommand::Install { cert, key }) => {
            tls::install(&port, as_json, cert, key).await
        }
        // Offline: the port is never connected.
        Command::Edm(EdmCommand::Hash {
            schema,
            csv,
            key_file,
        }) => edm::hash(schema, csv, key_file.as_deref()),
        Command::Edm(EdmCommand::Upload {
            name,
            bundle,
            key_file,
        }) => edm::upload(&port, as_json, name, bundle, key_file).await,
        Command::Edm(EdmCommand::List) => edm::list(&port, as_json).await,
        Command::Edm(EdmCommand::Remove { name }) => edm::remove(&port, as_json, name).await,
        Command::Fingerprint(FingerprintCommand::Add { set, files }) => {
            fingerprint::add(&port, as_json, set, files).await
        }
        Command::Fingerprint(FingerprintCommand::List { set }) => {
            fingerprint::list(&port, as_json, set.as_deref()).await
        }
        Command::Fingerprint(FingerprintCommand::Remove { set, document }) => {
            fingerprint::remove(&port, as_json, set, document.as_deref()).await
        }
        Command::Update(UpdateCommand::Install { bundle }) => {
            update::install(&port, as_json, bundle).await
        }
        Command::Update(UpdateCommand::Status) => update::status(&port, as_json).await,
        Command::Workers(WorkersCommand::Restart) => {
            appliance::restart_workers(&port, as_json).await
        }
        Command::Reboot => appliance::reboot(&port, as_json).await,
        Command::Detectors => {
            let mut client = port.connect().await?;
            print!("{}", client.get_detectors(as_json).await?);
            Ok(())
        }
        Command::ExchangeSetup(args) => exchange_setup::exchange_setup(&port, as_json, args).await,
    }
}

/// An action as the config spells it.
fn parse_action(a: &str) -> Result<cordon_wire::Verdict, String> {
    use cordon_wire::Verdict as V;
    [V::Deliver, V::Tag, V::Quarantine, V::Block, V::Redirect]
        .into_iter()
        .find(|v| v.as_str() == a)
        .ok_or_else(|| {
            format!("unknown action {a:?} (deliver, tag, quarantine, block or redirect)")
        })
}
