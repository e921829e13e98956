//! Starting the gateway: `cordon run` (one process), `cordon supervise` (the service's main
//! process: pinned workers under a watchdog) and `cordon worker` (one of those workers).
//!
//! The running configuration comes from the file given on the command line, or, with
//! `[control]`, from the A/B store in its state directory (the file seeds it on first start;
//! `--config-source=file` stores the file as a new generation when it differs). The start log
//! says which generation runs and whether the file differs from it.
//! SIGHUP reloads it from the same place: a valid config replaces the live one for new sessions,
//! an invalid one is logged and the old one kept. SIGTERM drains.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use cordon_config::{Config, SlotClass};
use cordon_control::Persisted;
use cordon_store::{ConfigRecord, FsStorage, Store};
use tokio::sync::watch;

use cordon_proxy::dlp_inspector::{Durable, INCIDENT_FEED};
use cordon_proxy::incident_log::{self, IncidentLog};
use cordon_proxy::pool::Pool;
use cordon_proxy::session::Shared;
use cordon_proxy::{engine, server};

use crate::config_port::{open_store, GatewayBackend};
use crate::error::Error;
use crate::live::{self, Built};
use crate::{logging, stamp_key, worker_env};

/// How long the config port's connections get to answer their request in hand at shutdown.
pub const PORT_DRAIN: Duration = Duration::from_secs(5);

/// How long the SIEM exporter gets at shutdown: its own drain deadline and a second to spare.
pub const SIEM_DRAIN: Duration = Duration::from_secs(3);
/// How long SIGTERM waits for sessions in flight before the process exits.
pub const DRAIN_DEADLINE: Duration = Duration::from_secs(30);
/// Stack of `cordon run`'s runtime threads: the main thread's 8 MiB, as a worker's
/// single-threaded runtime has. tokio's 2 MiB default is too little for the config port's
/// handler in a debug build, whose frame keeps a temporary of every fixed-size wire reply
/// (~13 KiB each).
pub const RUNTIME_STACK: usize = 8 << 20;
/// The name the stored config is parsed under (error locations, relative paths).
pub const STORED_NAME: &str = "cordon.toml";

/// Which config `cordon run` starts with when `[control]` keeps a config store: the store's
/// newest generation (the default: what the config port applied survives a restart), or the
/// file on the command line, which then becomes the newest stored generation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ConfigSource {
    /// The file given with `--config`; if it differs from the stored generation it is stored
    /// as a new generation, so the config port, SIGHUP and the next start see it too.
    File,
    /// The newest stored generation; the file only seeds an empty store.
    #[default]
    Stored,
}

/// The configuration to run, where it came from, and the appliance key.
#[derive(Debug)]
pub struct Running {
    pub config: Config,
    pub generation: u64,
    pub key: [u8; 32],
    pub persisted: Option<Persisted<FsStorage>>,
    /// Which generation runs and how it compares with the file, for the start log (logging
    /// is set up from the config, so after this is decided).
    pub origin: Origin,
}

/// Where the running config came from, said once in the start log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The whole sentence, naming the file, the stored generation and the one that runs.
    pub message: String,
    /// The file differs from the generation that runs: logged as a warning.
    pub file_ignored: bool,
}

/// The running config: the file (no `[control]`), or, with `[control]`, the generation
/// `source` selects (seeding the store from the file on first start).
pub fn load_running(path: &Path, source: ConfigSource) -> Result<Running, Error> {
    let boot = cordon_config::load(path)?;
    let file = path.display();
    let Some(control) = boot.control.clone() else {
        let key = stamp_key::read_or_create(&boot)?;
        return Ok(Running {
            config: boot,
            generation: 0,
            key,
            persisted: None,
            origin: Origin {
                message: format!("config: running the file {file} (no [control], no config store)"),
                file_ignored: false,
            },
        });
    };
    let text = std::fs::read_to_string(path).map_err(|source| cordon_config::Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let opened = open_store(&control.state_dir, &text)?;
    let store = control.state_dir.display();
    let stored = opened.generation;
    let (toml, generation, origin) = if opened.seeded {
        let message = format!(
            "config: running generation {stored}, seeded from the file {file} (the config store in {store} was empty)"
        );
        (
            opened.toml,
            stored,
            Origin {
                message,
                file_ignored: false,
            },
        )
    } else if opened.toml == text {
        let message = format!(
            "config: running stored generation {stored} from {store}; the file {file} is the same"
        );
        (
            opened.toml,
            stored,
            Origin {
                message,
                file_ignored: false,
            },
        )
    } else if source == ConfigSource::File {
        let (generation, _) = opened
            .persisted
            .apply(&text, Some(stored))
            .map_err(|source| Error::ConfigSeed {
                dir: control.state_dir.clone(),
                source: Box::new(source),
            })?;
        let message = format!(
            "config: running the file {file} as stored generation {generation} (--config-source=file); it differed from stored generation {stored}, which `cordonctl config rollback` restores"
        );
        (
            text,
            generation,
            Origin {
                message,
                file_ignored: false,
            },
        )
    } else {
        let message = format!(
            "config: running stored generation {stored} from {store}; the file {file} differs from it and is not used (to run the file: `cordon run --config-source=file`, or `cordonctl config apply {file}`)"
        );
        (
            opened.toml,
            stored,
            Origin {
                message,
                file_ignored: true,
            },
        )
    };
    let config = parse_stored(&control.state_dir, &toml)?;
    Ok(Running {
        config,
        generation,
        key: opened.key,
        persisted: Some(opened.persisted),
        origin,
    })
}

/// The newest generation in the config store of `state_dir` and its text, or `None` when the
/// store is empty. For `check-config`, which compares it with the file.
pub fn stored_config(state_dir: &Path) -> Result<Option<(u64, String)>, Error> {
    let store = Store::new(FsStorage, state_dir);
    let Some(snapshot) = store.load().map_err(|source| Error::ConfigStore {
        what: "cannot read the config store",
        source,
    })?
    else {
        return Ok(None);
    };
    let record = ConfigRecord::decode(&snapshot.payload).map_err(|source| Error::ConfigStore {
        what: "bad record in the config store",
        source,
    })?;
    Ok(Some((snapshot.generation, record.toml)))
}

fn parse_stored(state_dir: &Path, toml: &str) -> Result<Config, Error> {
    let config = cordon_config::parse(toml, &state_dir.join(STORED_NAME))?;
    let files = cordon_config::check_files(&config);
    if files.is_empty() {
        Ok(config)
    } else {
        Err(Error::Invalid(files))
    }
}

/// The config SIGHUP should switch to: the file again, or the store's newest generation.
pub fn reload_source(path: &Path, running: &Config) -> Result<(Config, u64), Error> {
    match &running.control {
        None => Ok((cordon_config::load(path)?, 0)),
        Some(control) => {
            let (generation, toml) =
                stored_config(&control.state_dir)?.ok_or(Error::ConfigStoreEmpty)?;
            Ok((parse_stored(&control.state_dir, &toml)?, generation))
        }
    }
}

/// How this process serves.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// A worker under `cordon supervise`: pinned, single-threaded, sharing the port.
    pub worker: Option<Worker>,
    /// Which config runs when the file and the config store differ.
    pub source: ConfigSource,
}

#[derive(Debug, Clone)]
pub struct Worker {
    pub core: usize,
    /// This worker's share of `max_sessions`.
    pub sessions: usize,
    /// `(index, workers)`: which share of each message-slot class is this worker's.
    pub share: (usize, usize),
    /// This worker also serves the config port (one worker does).
    pub control: bool,
}

/// Runs the gateway until SIGTERM, then drains.
pub fn serve(path: &Path, opts: Options) -> Result<(), Error> {
    let running = load_running(path, opts.source)?;
    logging::init(&running.config.log.level)?;
    // The counters' region first, so every line from here on is in this worker's log ring.
    let store = crate::metrics::store(opts.worker.as_ref().map(|w| w.share));
    logging::to_ring(store.log_writer(opts.worker.as_ref().map_or(0, |w| w.share.0)));
    log_origin(&running.origin);
    if let Some(w) = &opts.worker {
        cordon_platform::affinity::pin_current(&[w.core]).map_err(Error::Platform)?;
    }
    let config = Arc::new(running.config);
    let generation = running.generation;
    let (edm_tables, mut edm_line) = crate::edm::load_described(&config);
    let fingerprints = crate::fingerprints::load(&config, &edm_tables);
    edm_line += &crate::fingerprints::Sets::describe(&fingerprints);
    let engine = engine::build_with_stores(&config, edm_tables, fingerprints)?;
    let sessions = opts
        .worker
        .as_ref()
        .map(|w| w.sessions)
        .unwrap_or(config.gateway.max_sessions);
    // One journal per worker index: a worker is the only writer of its own journal.
    let index = opts
        .worker
        .as_ref()
        .map_or(0, |w| u16::try_from(w.share.0).unwrap_or(u16::MAX));
    let journal = incident_log::journal_dir(&crate::incidents::journal_root(&config), index);
    let mut durable = Durable::new(running.key, &engine, &config);
    crate::metrics::attach(
        &mut durable,
        &store,
        usize::from(index),
        engine.detector_names(),
    );
    let (siem, siem_task) = match &config.siem {
        Some(s) => {
            let (siem, task) =
                cordon_siem::Siem::new(s, env!("CARGO_PKG_VERSION")).map_err(Error::Siem)?;
            (Some(siem), Some(task))
        }
        None => (None, None),
    };
    durable.siem = siem.clone();
    // A session waits for its own incidents' fsync before it sends more, so the queue never
    // holds more than one submission per session.
    durable.log = Some(IncidentLog::start(
        journal.clone(),
        index,
        config.incidents.total_bytes,
        &running.key,
        sessions + 1,
        durable.events.clone(),
        siem,
    ));
    let built = live::build_with(engine, Arc::clone(&config), generation, &durable)?;
    let classes = match &opts.worker {
        Some(w) => SlotClass::share(&config.gateway.slot_classes, w.share.0, w.share.1),
        None => config.gateway.slot_classes.clone(),
    };
    let pool = Pool::new(
        sessions,
        &classes,
        config.policy.incident_ring,
        config.gateway.prefault,
        &*built.inspectors,
        built.shared.epoch,
    );
    if opts.worker.is_some() {
        // Everything is allocated: keep it in RAM, never on flash swap.
        if let Err(e) = cordon_platform::memory::lock_all() {
            tracing::warn!(error = %e, "memory not locked");
        }
    }
    let listeners = server::bind(&config, opts.worker.is_some())?;
    let records = config.policy.incident_ring + INCIDENT_FEED;
    let journal_bytes = config.incidents.total_bytes;
    let budget = format!(
        "memory budget {} MiB = {} ({records} incidents of {} B){edm_line}; incident journal {} of {journal_bytes} B on disk",
        pool.budget_bytes() >> 20,
        pool.describe(),
        cordon_policy::INCIDENT_BYTES,
        journal.display(),
    );
    let listen = format!("{:?}", listeners.addrs());
    let smarthosts = config
        .relay
        .smarthosts
        .iter()
        .map(|h| h.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let version = env!("CARGO_PKG_VERSION");
    // A field as well as in the text: tests and scripts read `budget_mib=`.
    let budget_mib = pool.budget_bytes() >> 20;
    // A worker names its core; `cordon run` is not pinned and says nothing of cores.
    match &opts.worker {
        Some(w) => tracing::info!(
            version,
            listen,
            smarthosts,
            generation,
            budget_mib,
            journal_bytes,
            core = w.core,
            "cordon started; {budget}"
        ),
        None => tracing::info!(
            version,
            listen,
            smarthosts,
            generation,
            budget_mib,
            journal_bytes,
            "cordon started; {budget}"
        ),
    }
    let runtime = match &opts.worker {
        Some(_) => cordon_supervisor::worker::runtime().map_err(Error::Supervisor)?,
        None => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_stack_size(RUNTIME_STACK)
            .build()
            .map_err(Error::Runtime)?,
    };
    let counters = Arc::clone(&durable.counters);
    let serve_port = opts.worker.as_ref().map(|w| w.control).unwrap_or(true);
    let path = path.to_path_buf();
    runtime.block_on(async move {
        if opts.worker.is_some() {
            match cordon_supervisor::worker::Heartbeat::from_env() {
                Ok(Some(hb)) => {
                    // Beats come from this event loop: a stuck loop stops them.
                    tokio::spawn(async move {
                        let e = cordon_supervisor::worker::heartbeat_task(hb).await;
                        tracing::error!(error = %e, "heartbeat pipe closed; the supervisor is gone");
                    });
                }
                Ok(None) => tracing::warn!("no heartbeat pipe: not started by cordon supervise"),
                Err(e) => tracing::warn!(error = %e, "heartbeat unavailable"),
            }
        }
        let (tx, rx) = watch::channel(false);
        // The exporter outlives the SMTP drain (incidents recorded during it are exported),
        // then gets its own stop and a moment to send what is queued.
        let (siem_stop, siem_stopped) = watch::channel(false);
        let siem_task = siem_task.map(|t| tokio::spawn(t.run(siem_stopped)));
        let mut port_tasks = Vec::new();
        let (live_tx, live_rx) = watch::channel(Arc::clone(&built.shared));
        let live_tx = Arc::new(live_tx);
        if let (true, Some(control), Some(persisted)) = (serve_port, config.control.clone(), running.persisted) {
            let supervisor = std::env::var(worker_env::SUPERVISOR_PID).ok().and_then(|p| p.parse().ok());
            let board = std::env::var(worker_env::BOARD).unwrap_or_else(|_| "none".into());
            let serving = crate::config_port::Serving { board, file: path.clone(), supervisor, worker: index };
            let backend = GatewayBackend::new(serving, persisted, built.clone(), Arc::clone(&live_tx), Arc::clone(&pool));
            port_tasks = start_config_port(&control, backend, rx.clone())?;
        }
        tokio::spawn(crate::metrics::refresh(durable.clone(), Arc::clone(&pool)));
        if let (true, Some(m)) = (serve_port, config.metrics.as_ref()) {
            port_tasks.push(crate::metrics_http::start(m, store, rx.clone())?);
        }
        tokio::spawn(signals(tx, live_tx, path, durable, Arc::clone(&config)));
        let served = server::serve(live_rx, pool, listeners, rx, DRAIN_DEADLINE)
            .await
            .map_err(Error::from);
        // The config port's connections finish the request in hand (a `workers restart` reply
        // is written before this worker, told to drain by that very request, exits).
        for task in port_tasks {
            let _ = tokio::time::timeout(PORT_DRAIN, task).await;
        }
        let _ = siem_stop.send(true);
        if let Some(task) = siem_task {
            let _ = tokio::time::timeout(SIEM_DRAIN, task).await;
        }
        served
    })?;
    crate::metrics::log_stop(&counters);
    Ok(())
}

fn log_origin(origin: &Origin) {
    if origin.file_ignored {
        tracing::warn!("{}", origin.message);
    } else {
        tracing::info!("{}", origin.message);
    }
}

/// SIGTERM and SIGINT drain; SIGHUP reloads (its default action would kill the process).
async fn signals(
    shutdown: watch::Sender<bool>,
    live: Arc<watch::Sender<Arc<Shared>>>,
    path: PathBuf,
    durable: Durable,
    first: Arc<Config>,
) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        tracing::error!("cannot install signal handlers");
        return;
    };
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hup.recv() => reload(&path, &first, &live, &durable),
        }
    }
    let _ = shutdown.send(true);
}

fn reload(path: &Path, first: &Config, live: &watch::Sender<Arc<Shared>>, durable: &Durable) {
    let built = reload_source(path, first)
        .and_then(|(config, generation)| live::build(Arc::new(config), generation, durable));
    match built {
        Ok(Built { shared, .. }) => {
            let generation = shared.generation;
            live.send_replace(shared);
            tracing::info!(
                generation,
                "SIGHUP: configuration reloaded; new sessions use it"
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "SIGHUP: configuration refused, the running one stays")
        }
    }
}

/// Serves the config port on every transport `[control]` names; returns the tasks, which end
/// once `shutdown` fires and their connections have answered the request in hand.
fn start_config_port(
    control: &cordon_config::Control,
    backend: Arc<GatewayBackend>,
    shutdown: watch::Receiver<bool>,
) -> Result<Vec<tokio::task::JoinHandle<()>>, Error> {
    let mut tasks = Vec::new();
    if let Some(socket) = &control.socket {
        if let Some(dir) = socket.parent() {
            std::fs::create_dir_all(dir).map_err(|source| Error::ConfigPortDir {
                dir: dir.to_path_buf(),
                source,
            })?;
        }
        let listener =
            cordon_control::bind_unix(socket, control.socket_mode).map_err(|source| {
                Error::ConfigPortSocket {
                    path: socket.clone(),
                    source: Box::new(source),
                }
            })?;
        tasks.push(tokio::spawn(cordon_control::run_unix(
            listener,
            control.allowed_uids.clone(),
            Arc::clone(&backend),
            shutdown.clone(),
        )));
        tracing::info!(socket = %socket.display(), "config port listening");
    }
    if let Some(serial) = control.serial.clone() {
        let (backend, shutdown) = (Arc::clone(&backend), shutdown.clone());
        tracing::info!(device = %serial.display(), "config port on the serial device");
        tasks.push(tokio::spawn(async move {
            if let Err(e) = cordon_control::serve_serial(&serial, backend, shutdown).await {
                tracing::error!(device = %serial.display(), error = %e, "config port on the serial device stopped");
            }
        }));
    }
    if let Some(tcp) = control.tcp.clone() {
        let config = cordon_control::server_tls_config(
            &tcp.certificate.path,
            &tcp.private_key.path,
            &tcp.client_ca.path,
        )
        .map_err(|e| Error::ConfigPortTls(Box::new(e)))?;
        let listener = std::net::TcpListener::bind(tcp.listen)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .and_then(tokio::net::TcpListener::from_std)
            .map_err(|source| Error::Bind {
                addr: tcp.listen,
                source,
            })?;
        tasks.push(tokio::spawn(cordon_control::tcp::run_tcp_mtls(
            listener, config, backend, shutdown,
        )));
        tracing::info!(listen = %tcp.listen, "config port (mutual TLS) listening");
    }
    Ok(tasks)
}

/// `cordon supervise`: checks the budget against the board, seeds the config store once, then
/// runs one pinned worker per data core under the watchdog supervisor.
pub fn supervise(board_path: &Path, path: &Path, source: ConfigSource) -> Result<(), Error> {
    let board = cordon_supervisor::Board::load(board_path).map_err(Error::Supervisor)?;
    // Seeding the store here, once, keeps the workers from racing to write generation 1; with
    // `--config-source=file` the file is stored here too, so the workers all read the store.
    let running = load_running(path, source)?;
    logging::init(&running.config.log.level)?;
    log_origin(&running.origin);
    let config = running.config;
    let workers = board.data_cores.len().max(1);
    let per_worker = config.gateway.max_sessions.div_ceil(workers);
    let budget = crate::budget::board_budget(&config, &board)?;
    crate::budget::data_budget(&config, &board)?;
    tracing::info!(board = %board.name, workers, sessions_per_worker = per_worker, budget_mib = budget >> 20, board_mib = board.memory_mib, "memory budget");
    let exe = std::env::current_exe().map_err(Error::CurrentExe)?;
    let config_path = path.to_path_buf();
    let control_core = board.data_cores.first().copied().unwrap_or(0);
    let board_name = board.name.clone();
    let data_cores = board.data_cores.clone();
    // Held until the supervisor returns: restarted workers map the same counters.
    let region = Arc::new(crate::metrics::region(workers)?);
    let metrics_fd = region.fd();
    crate::metrics::supervisor_log(&region, workers);
    let make = move |core: usize| {
        let index = data_cores.iter().position(|&c| c == core).unwrap_or(0);
        let mut cmd = std::process::Command::new(&exe);
        cmd.args([
            "worker",
            "--core",
            &core.to_string(),
            "--sessions",
            &per_worker.to_string(),
            "--share",
            &format!("{index}/{workers}"),
            "--config",
        ])
        .arg(&config_path)
        .env(worker_env::SUPERVISOR_PID, std::process::id().to_string())
        .env(worker_env::BOARD, &board_name)
        .env(worker_env::WORKERS, workers.to_string())
        .env(worker_env::METRICS_FD, metrics_fd.to_string());
        if core == control_core {
            cmd.arg("--control");
        }
        cmd
    };
    let reload_path = path.to_path_buf();
    let validate = move || {
        reload_source(&reload_path, &config)
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    let result = cordon_supervisor::Supervisor::new(board, make, validate)
        .run_blocking()
        .map_err(Error::Supervisor);
    drop(region);
    result
}
