//! cordonctl: the command-line client of the cordon appliance's config port. It talks the
//! `cordon-wire` protocol over the Unix socket (default), the serial console or mutual-TLS
//! TCP, prints human tables (or JSON with `--json`), and exits with a code a script can act
//! on. `exchange-setup` prints the Exchange Online PowerShell that wires the appliance into
//! the mail flow, from a config file or the running config.
//!
//! # Layout
//! - `main.rs`: the command line, the transports' selection, each command.
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

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use cordon_control::{Client, Transport};
use cordon_wire::{BlobKind, ErrorCode, Incident, Request, Response, WireError};
use cordonctl::{exchange, CtlError};

/// Where the gateway listens by default (the unit creates it, mode 0660).
const DEFAULT_SOCKET: &str = "/run/cordon/control.sock";

/// Incidents asked for per page when listing (the wire's page bound).
const PAGE: u16 = cordon_wire::limits::MAX_INCIDENTS_PER_PAGE as u16;

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
    /// CA that issued the gateway's certificate, for --tcp.
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
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
    /// List incidents (and with --follow, wait for new ones).
    Incidents {
        /// Only incidents with this sequence number or later.
        #[arg(long, default_value_t = 0)]
        since: u64,
        /// Keep printing new incidents until interrupted.
        #[arg(long)]
        follow: bool,
    },
    /// Dry-run the policy over a message: its findings and the verdict.
    Scan {
        /// An RFC 5322 message (.eml).
        file: PathBuf,
    },
    /// Install the SMTP TLS certificate.
    #[command(subcommand)]
    Tls(TlsCommand),
    /// Restart the workers.
    #[command(subcommand)]
    Workers(WorkersCommand),
    /// Reboot the appliance.
    Reboot,
    /// Print the Exchange Online PowerShell that routes mail through this gateway (or fleet).
    ExchangeSetup(ExchangeArgs),
}

#[derive(Debug, clap::Args)]
struct ExchangeArgs {
    /// The config to describe; without it, the running config is fetched.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The one mailbox that approves quarantined mail (a distribution group cannot).
    #[arg(long, value_name = "ADDRESS")]
    approver: Option<String>,
    /// A gateway's public egress IPv4 address (repeat for each gateway): the return leg is
    /// recognised by it.
    #[arg(long = "sender-ip", value_name = "IP")]
    sender_ips: Vec<String>,
    /// A gateway host Exchange delivers to (repeat for each gateway; default: the config's
    /// hostname).
    #[arg(long = "gateway", value_name = "HOST")]
    gateways: Vec<String>,
    /// The certificate domain the inbound connector expects (default: the first DNS name of
    /// the relay client certificate).
    #[arg(long, value_name = "NAME")]
    cert_domain: Option<String>,
    /// A local copy of the relay client certificate (default: the path in the config).
    #[arg(long, value_name = "FILE")]
    client_cert: Option<PathBuf>,
    /// An external address for Validate-OutboundConnector's test message.
    #[arg(long, value_name = "ADDRESS")]
    test_recipient: Option<String>,
    /// A NAT or load balancer forwards port 25 to the gateway's listener.
    #[arg(long)]
    port25_forwarder: bool,
    /// Keep the policy rule's name header on mail leaving the organization.
    #[arg(long)]
    keep_rule_header: bool,
    /// Only check that the config and inputs can work with Exchange Online (exit 1 if not).
    #[arg(long)]
    check: bool,
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print the running config (TOML).
    Get,
    /// Validate a config file on the gateway without applying it.
    Check { file: PathBuf },
    /// Validate, persist and apply a config file.
    Apply {
        file: PathBuf,
        /// Refuse if the running generation is not this one (another admin applied meanwhile).
        #[arg(long, value_name = "N")]
        expect_generation: Option<u64>,
    },
    /// Make the previous config current again.
    Rollback,
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
enum WorkersCommand {
    /// Restart every worker gracefully.
    Restart,
}

fn main() -> ExitCode {
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
        CtlError::Invalid(_) | CtlError::Incomplete => {}
        other => eprintln!("cordonctl: {other}"),
    }
}

fn transport(cli: &Cli) -> Transport {
    if let Some(device) = &cli.serial {
        return Transport::Serial(device.clone());
    }
    if let Some(addr) = &cli.tcp {
        return Transport::Tcp {
            addr: addr.clone(),
            // clap's `requires` guarantees --ca with --tcp.
            ca: cli.ca.clone().unwrap_or_default(),
            cert: cli.cert.clone(),
            key: cli.key.clone(),
        };
    }
    Transport::Unix(cli.socket.clone().unwrap_or_else(|| DEFAULT_SOCKET.into()))
}

async fn connect(cli: &Cli) -> Result<Client, CtlError> {
    let name = concat!("cordonctl ", env!("CARGO_PKG_VERSION"));
    Ok(Client::connect(&transport(cli), name).await?)
}

fn read(path: &Path) -> Result<Vec<u8>, CtlError> {
    std::fs::read(path).map_err(|source| CtlError::Read {
        path: path.into(),
        source,
    })
}

fn json(value: &impl serde::Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("cordonctl: cannot print JSON: {e}"),
    }
}

fn unexpected(r: Response) -> CtlError {
    CtlError::Client(cordon_control::Error::Unexpected(format!("{r:?}")))
}

async fn run(cli: Cli) -> Result<(), CtlError> {
    match &cli.command {
        Command::Status => {
            let mut client = connect(&cli).await?;
            let Response::Status(s) = client.call(Request::Status).await? else {
                return Err(CtlError::Client(cordon_control::Error::Unexpected(
                    "status".into(),
                )));
            };
            if cli.json {
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
        }
        Command::Counters => {
            let mut client = connect(&cli).await?;
            let Response::Counters(c) = client.call(Request::Counters).await? else {
                return Err(CtlError::Client(cordon_control::Error::Unexpected(
                    "counters".into(),
                )));
            };
            if cli.json {
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
        }
        Command::Config(cmd) => config(&cli, cmd).await?,
        Command::Incidents { since, follow } => incidents(&cli, *since, *follow).await?,
        Command::Scan { file } => {
            let message = read(file)?;
            let mut client = connect(&cli).await?;
            client.upload(BlobKind::Message, &message).await?;
            let r = match client.call(Request::Scan).await? {
                Response::ScanReport(r) => r,
                other => return Err(unexpected(other)),
            };
            if cli.json {
                json(&r);
                return Ok(());
            }
            println!("verdict  {:?}", r.verdict);
            if !r.findings.is_empty() {
                println!();
                println!("{:<20} {:<16} {:>6}  LOCATION", "RULE", "DETECTOR", "COUNT");
                for f in &r.findings {
                    println!(
                        "{:<20} {:<16} {:>6}  {}",
                        f.rule, f.detector, f.count, f.location
                    );
                }
            }
            if r.more_findings > 0 {
                println!("... and {} more findings", r.more_findings);
            }
        }
        Command::Tls(TlsCommand::Install { cert, key }) => {
            let mut bundle = read(cert)?;
            if !bundle.ends_with(b"\n") {
                bundle.push(b'\n');
            }
            bundle.extend(read(key)?);
            let mut client = connect(&cli).await?;
            client.upload(BlobKind::TlsBundle, &bundle).await?;
            let info = match client.call(Request::InstallTls).await? {
                Response::TlsInstalled(info) => info,
                other => return Err(unexpected(other)),
            };
            let sha: String = info.sha256.iter().map(|b| format!("{b:02x}")).collect();
            if cli.json {
                json(&serde_json::json!({
                    "subject": info.subject.as_str(),
                    "not_after_unix": info.not_after_unix,
                    "sha256": sha,
                }));
                return Ok(());
            }
            println!("installed  {}", info.subject);
            println!("not after  {} (unix time)", info.not_after_unix);
            println!("sha256     {sha}");
        }
        Command::Workers(WorkersCommand::Restart) => {
            let mut client = connect(&cli).await?;
            match client.call(Request::RestartWorkers).await? {
                Response::WorkersRestarting { workers } => {
                    if cli.json {
                        json(&serde_json::json!({ "workers_restarting": workers }));
                    } else {
                        println!("restarting {workers} workers (sessions in flight finish first)");
                    }
                }
                other => return Err(unexpected(other)),
            }
        }
        Command::Reboot => {
            let mut client = connect(&cli).await?;
            match client.call(Request::Reboot).await? {
                Response::Rebooting => {
                    if cli.json {
                        json(&serde_json::json!({ "rebooting": true }));
                    } else {
                        println!("rebooting");
                    }
                }
                other => return Err(unexpected(other)),
            }
        }
        Command::ExchangeSetup(args) => exchange_setup(&cli, args).await?,
    }
    Ok(())
}

async fn exchange_setup(cli: &Cli, args: &ExchangeArgs) -> Result<(), CtlError> {
    let (text, source) = match &args.config {
        Some(path) => (
            String::from_utf8(read(path)?)
                .map_err(|_| CtlError::Invalid(format!("{} is not UTF-8", path.display())))?,
            // The file name only: the script does not depend on where it was run.
            path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
        ),
        None => {
            let mut client = connect(cli).await?;
            let (generation, text) = client.get_config().await?;
            (
                text,
                format!("the running config (generation {generation})"),
            )
        }
    };
    let parsed = match cordon_config::parse(&text, Path::new(&source)) {
        Ok(c) => c,
        Err(e) => {
            eprint!("{}", e.report());
            return Err(CtlError::Invalid(e.to_string()));
        }
    };
    let cert_names = parsed.relay.client_auth.as_ref().map(|auth| {
        let path = args.client_cert.as_ref().unwrap_or(&auth.certificate.path);
        std::fs::read(path)
            .map_err(|e| format!("{}: {e}", path.display()))
            .and_then(|pem| exchange::check::cert_dns_names(&pem))
    });
    let extra = exchange::Extra {
        approver: args.approver.clone(),
        sender_ips: args.sender_ips.clone(),
        gateways: args.gateways.clone(),
        cert_domain: args.cert_domain.clone(),
        cert_names,
        test_recipient: args.test_recipient.clone(),
        port25_forwarder: args.port25_forwarder,
        keep_rule_header: args.keep_rule_header,
    };
    let script = exchange::script(&parsed, &extra, &source);
    // The script is read back and checked against the cmdlet reference before anyone sees it.
    let script_problems = exchange::validate(&script)?;
    // With every value known, the evaluator runs the generated rules over forged headers: a
    // script that would let a user's message out uninspected is never printed.
    let mut rule_problems = Vec::new();
    if exchange::check::missing(&parsed, &extra).is_empty() {
        let names = exchange::Names::new(&parsed, &extra);
        let cert = match &names.mode {
            exchange::Mode::Certificate(c) => Some(c.clone()),
            exchange::Mode::Ip => None,
        };
        let gateways: Vec<(std::net::IpAddr, Option<String>)> = args
            .sender_ips
            .iter()
            .filter_map(|ip| ip.split('/').next()?.parse().ok())
            .map(|ip| (ip, cert.clone()))
            .collect();
        let invs = exchange::ps::parse(&script)?;
        // A value the evaluator cannot read (an unparsable --sender-ip) is a finding too.
        rule_problems = exchange::eval::bypass_check(&invs, &names, &gateways)
            .unwrap_or_else(|e| vec![e.to_string()]);
    }
    if args.check {
        let mut findings = exchange::check::check(&parsed, &extra);
        findings.extend(
            script_problems
                .into_iter()
                .map(|p| exchange::check::Finding {
                    severity: exchange::check::Severity::Problem,
                    reason: format!("generated script: {p}"),
                }),
        );
        findings.extend(rule_problems.iter().map(|p| exchange::check::Finding {
            severity: exchange::check::Severity::Problem,
            reason: format!("generated rules: {p}"),
        }));
        let problems = findings
            .iter()
            .filter(|f| f.severity == exchange::check::Severity::Problem)
            .count();
        if cli.json {
            json(&serde_json::json!({ "ok": problems == 0, "findings": findings }));
        } else {
            for f in &findings {
                let tag = match f.severity {
                    exchange::check::Severity::Problem => "problem",
                    exchange::check::Severity::Warning => "warning",
                };
                println!("{tag}: {}", f.reason);
            }
            if problems == 0 {
                println!("ok: this config can work with Exchange Online");
            }
        }
        return if problems == 0 {
            Ok(())
        } else {
            Err(CtlError::Incomplete)
        };
    }
    if let Some(first) = script_problems.first() {
        return Err(CtlError::Script {
            line: 0,
            reason: first.clone(),
        });
    }
    if let Some(first) = rule_problems.first() {
        return Err(CtlError::Evaluate(first.clone()));
    }
    if cli.json {
        json(&exchange::json(&parsed, &extra, &source)?);
    } else {
        print!("{script}");
    }
    Ok(())
}

async fn config(cli: &Cli, cmd: &ConfigCommand) -> Result<(), CtlError> {
    let mut client = connect(cli).await?;
    match cmd {
        ConfigCommand::Get => {
            let (generation, text) = client.get_config().await?;
            if cli.json {
                json(&serde_json::json!({ "generation": generation, "toml": text }));
            } else {
                print!("{text}");
            }
        }
        ConfigCommand::Check { file } => {
            let text = read(file)?;
            client.upload(BlobKind::Config, &text).await?;
            let result = client.call(Request::ValidateConfig).await;
            match result {
                Ok(Response::ConfigValid { warnings }) => {
                    if cli.json {
                        json(&serde_json::json!({ "valid": true, "warnings": warnings }));
                    } else {
                        for w in &warnings {
                            println!(
                                "{}:{}:{}: {}: warning: {}",
                                file.display(),
                                w.line,
                                w.column,
                                w.key,
                                w.reason
                            );
                        }
                        println!("{}: valid", file.display());
                    }
                }
                Err(cordon_control::Error::Server(WireError::App(e)))
                    if e.code == ErrorCode::InvalidConfig =>
                {
                    if cli.json {
                        json(&serde_json::json!({ "valid": false, "error": e }));
                    } else {
                        print_issues(file, &e);
                    }
                    return Err(CtlError::Invalid(e.message.to_string()));
                }
                Ok(other) => return Err(unexpected(other)),
                Err(e) => return Err(e.into()),
            }
        }
        ConfigCommand::Apply {
            file,
            expect_generation,
        } => {
            let text = read(file)?;
            client.upload(BlobKind::Config, &text).await?;
            let request = Request::ApplyConfig {
                expected_generation: *expect_generation,
            };
            match client.call(request).await {
                Ok(Response::Applied { generation }) => {
                    if cli.json {
                        json(&serde_json::json!({ "generation": generation }));
                    } else {
                        println!("applied {} as generation {generation}", file.display());
                    }
                }
                Err(cordon_control::Error::Server(WireError::App(e)))
                    if e.code == ErrorCode::InvalidConfig =>
                {
                    print_issues(file, &e);
                    eprintln!("cordonctl: refused whole; the running config is unchanged");
                    return Err(CtlError::Invalid(e.message.to_string()));
                }
                Ok(other) => return Err(unexpected(other)),
                Err(e) => return Err(e.into()),
            }
        }
        ConfigCommand::Rollback => match client.call(Request::Rollback).await? {
            Response::RolledBack {
                generation,
                restored,
            } => {
                if cli.json {
                    json(&serde_json::json!({ "generation": generation, "restored": restored }));
                } else {
                    println!("rolled back: generation {generation} carries generation {restored}'s config");
                }
            }
            other => return Err(unexpected(other)),
        },
    }
    Ok(())
}

/// Each issue as `file:line:col: key: reason`, the local file name in place of the
/// server's, so editors and CI annotations jump to the line.
fn print_issues(file: &Path, e: &cordon_wire::AppError) {
    for issue in &e.issues {
        let key = if issue.key.is_empty() {
            String::new()
        } else {
            format!("{}: ", issue.key)
        };
        println!(
            "{}:{}:{}: {key}{}",
            file.display(),
            issue.line,
            issue.column,
            issue.reason
        );
    }
    eprintln!("cordonctl: {}", e.message);
}

async fn incidents(cli: &Cli, since: u64, follow: bool) -> Result<(), CtlError> {
    let mut client = connect(cli).await?;
    if !cli.json {
        println!(
            "{:>6}  {:<10}  {:<11} {:<32} {:<28} RULES",
            "SEQ", "TIME", "VERDICT", "MESSAGE-ID", "SENDER"
        );
    }
    let print = |i: &Incident| {
        if cli.json {
            // One object per line, so a script can stream a follow.
            if let Ok(line) = serde_json::to_string(i) {
                println!("{line}");
            }
        } else {
            let rules: Vec<&str> = i.rules.iter().map(|r| r.as_str()).collect();
            println!(
                "{:>6}  {:<10}  {:<11} {:<32} {:<28} {}",
                i.seq,
                i.time_unix,
                format!("{:?}", i.verdict),
                i.message_id,
                i.sender,
                rules.join(",")
            );
        }
        let _ = std::io::stdout().flush();
    };
    if follow {
        let id = client.send(Request::FollowIncidents { since }).await?;
        loop {
            let frame = client.recv().await?;
            match frame.response {
                Response::Incident(i) if frame.id == id => print(&i),
                Response::Error(e) => return Err(cordon_control::Error::Server(e).into()),
                _ => {}
            }
        }
    }
    let mut since = since;
    loop {
        let page = match client
            .call(Request::ListIncidents { since, max: PAGE })
            .await?
        {
            Response::Incidents(page) => page,
            other => return Err(unexpected(other)),
        };
        if page.oldest > since && since > 0 && !cli.json {
            eprintln!(
                "note: incidents before {} were overwritten in the ring",
                page.oldest
            );
        }
        for i in &page.incidents {
            print(i);
        }
        if page.incidents.is_empty() || page.next <= since {
            return Ok(());
        }
        since = page.next;
    }
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
