//! `cordon`: the gateway binary. Runtime setup and the command line only; the work is in the
//! library.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use cordon::control::GatewayBackend;
use cordon::policy::Durable;
use cordon::pool::Pool;
use cordon::{live, logging, server, tls, Error};

/// How long SIGTERM waits for sessions in flight before the process exits.
const DRAIN_DEADLINE: Duration = Duration::from_secs(30);

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
    /// Run the gateway.
    Run {
        /// The configuration file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Validate a configuration file and print every problem with file, line and key.
    CheckConfig {
        /// The configuration file.
        file: PathBuf,
    },
    /// Inspect one message and print what the DLP engine finds in it.
    Scan {
        /// The message (RFC 5322, e.g. an .eml file).
        file: PathBuf,
        /// Use the dictionaries and patterns of this config (built-in detectors otherwise).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Cmd::CheckConfig { file } => check_config(&file),
        Cmd::Scan { file, config, json } => scan(&file, config.as_deref(), json),
        Cmd::Run { config } => match run(&config) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("cordon: {}", report(&e));
                ExitCode::FAILURE
            }
        },
    }
}

fn report(e: &Error) -> String {
    match e {
        Error::Config(c) => format!("invalid configuration:\n{}", c.report()),
        other => other.to_string(),
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

fn scan(file: &std::path::Path, config: Option<&std::path::Path>, json: bool) -> ExitCode {
    let engine = match config.map(cordon_config::load) {
        None => cordon_dlp::Engine::new(&Default::default())
            .map(Arc::new)
            .map_err(|e| e.to_string()),
        Some(Ok(c)) => cordon::engine::build(&c).map_err(|e| report(&e)),
        Some(Err(e)) => Err(report(&Error::Config(e))),
    };
    let engine = match engine {
        Ok(e) => e,
        Err(e) => {
            eprintln!("cordon: {e}");
            return ExitCode::FAILURE;
        }
    };
    let message = match std::fs::read(file) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("cordon: cannot read {}: {e}", file.display());
            return ExitCode::FAILURE;
        }
    };
    let mut scanner = engine.scanner();
    scanner.feed(&message);
    let findings = scanner.finish();
    if json {
        match serde_json::to_string_pretty(&findings) {
            Ok(j) => println!("{j}"),
            Err(e) => {
                eprintln!("cordon: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        print!("{}", cordon_dlp::render_table(&findings));
    }
    ExitCode::SUCCESS
}

fn run(path: &std::path::Path) -> Result<(), Error> {
    let boot = cordon_config::load(path)?;
    logging::init(&boot.log.level)?;
    // With a config port, the A/B store on the data partition holds the running config (the
    // file given here seeds it on first start); without one, the file is the config.
    let (config, generation, key, persisted) = match &boot.control {
        Some(control) => {
            let text =
                std::fs::read_to_string(path).map_err(|source| cordon_config::Error::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
            let (persisted, toml, generation, key) =
                cordon::control::open_store(&control.state_dir, &text)?;
            let stored_as = control.state_dir.join("cordon.toml");
            let config = cordon_config::parse(&toml, &stored_as)?;
            let files = cordon_config::check_files(&config);
            if !files.is_empty() {
                return Err(Error::Invalid(files));
            }
            tracing::info!(generation, store = %control.state_dir.display(), "running the stored configuration");
            (config, generation, key, Some(persisted))
        }
        None => {
            let key = cordon::policy::stamp_key(&boot)?;
            (boot, 0, key, None)
        }
    };
    let config = Arc::new(config);
    let engine = cordon::engine::build(&config)?;
    let durable = Durable::new(key, &engine, &config);
    let built = live::build_with(engine, Arc::clone(&config), generation, &durable)?;
    let pool = Pool::new(
        config.gateway.max_sessions,
        config.gateway.max_message_size,
        config.gateway.prefault,
        &*built.inspectors,
        generation,
    );
    let listeners = server::bind(&config, false)?;
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        listen = ?listeners.addrs(),
        smarthosts = ?config.relay.smarthosts.iter().map(|h| h.to_string()).collect::<Vec<_>>(),
        max_sessions = config.gateway.max_sessions,
        max_message_size = config.gateway.max_message_size,
        budget_mib = pool.budget_bytes() >> 20,
        "cordon started; memory budget is max_sessions x (max_message_size + buffers)"
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    let counters = Arc::clone(&durable.counters);
    runtime.block_on(async move {
        let (tx, rx) = tokio::sync::watch::channel(false);
        let (live_tx, live_rx) = tokio::sync::watch::channel(Arc::clone(&built.shared));
        if let (Some(control), Some(persisted)) = (config.control.clone(), persisted) {
            let backend = GatewayBackend::new("none", persisted, built, live_tx, Arc::clone(&pool));
            start_config_port(&control, backend, rx.clone())?;
        }
        tokio::spawn(async move {
            wait_for_signal().await;
            let _ = tx.send(true);
        });
        server::serve(live_rx, pool, listeners, rx, DRAIN_DEADLINE).await
    })?;
    let snapshot = counters.snapshot();
    tracing::info!(
        counters = %serde_json::to_string(&snapshot).unwrap_or_default(),
        "cordon stopped"
    );
    Ok(())
}

/// Serves the config port on every transport `[control]` names.
fn start_config_port(
    control: &cordon_config::Control,
    backend: Arc<GatewayBackend>,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<(), Error> {
    if let Some(socket) = &control.socket {
        if let Some(dir) = socket.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::ConfigPort(format!("cannot create {}: {e}", dir.display())))?;
        }
        let listener = cordon_control::bind_unix(socket, control.socket_mode)
            .map_err(|e| Error::ConfigPort(format!("{}: {e}", socket.display())))?;
        tokio::spawn(cordon_control::run_unix(
            listener,
            control.allowed_uids.clone(),
            Arc::clone(&backend),
            shutdown.clone(),
        ));
        tracing::info!(socket = %socket.display(), "config port listening");
    }
    if let Some(serial) = control.serial.clone() {
        let (backend, shutdown) = (Arc::clone(&backend), shutdown.clone());
        tokio::spawn(async move {
            if let Err(e) = cordon_control::serve_serial(&serial, backend, shutdown).await {
                tracing::error!(device = %serial.display(), error = %e, "config port on the serial device stopped");
            }
        });
    }
    if let Some(tcp) = control.tcp.clone() {
        let config = cordon_control::server_tls_config(
            &tcp.certificate.path,
            &tcp.private_key.path,
            &tcp.client_ca.path,
        )
        .map_err(|e| Error::ConfigPort(format!("[control.tcp]: {e}")))?;
        let listener = std::net::TcpListener::bind(tcp.listen)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .and_then(tokio::net::TcpListener::from_std)
            .map_err(|source| Error::Bind {
                addr: tcp.listen,
                source,
            })?;
        tokio::spawn(cordon_control::tcp::run_tcp_mtls(
            listener, config, backend, shutdown,
        ));
        tracing::info!(listen = %tcp.listen, "config port (mutual TLS) listening");
    }
    Ok(())
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
