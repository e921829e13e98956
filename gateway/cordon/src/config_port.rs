//! The gateway behind the config port: cordon-control's [`Backend`] over the running gateway.
//!
//! A config applied through the port is validated whole (syntax, keys, files, TLS material,
//! rule names against the engine), written power-safe to the A/B store, built exactly as at
//! start ([`crate::live::build`]) and only then swapped in for new sessions; sessions in flight
//! finish on the config they started with. Settings that size memory or bind sockets
//! ([`crate::restart_only`]) are persisted but take effect at the next start; the reply
//! warns about them.

// `AppError` is the wire's fixed-size error (cordon-wire has no allocator) and the Backend
// trait returns it, as cordon-control does.
#![allow(clippy::result_large_err)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use cordon_config::Config;
use cordon_control::backend::Warnings;
use cordon_control::persist::{config_error, issue};
use cordon_control::update::Updates;
use cordon_control::{bounded, validate_tls_bundle, Backend, Identity, Persisted};
use cordon_store::{ConfigRecord, FsStorage, Rollback, Store};
use cordon_wire::limits::{MAX_FINDINGS, MAX_INCIDENTS_PER_PAGE};
use cordon_wire::{
    AppError, Counter, Counters, EdmTables, ErrorCode, Finding, Incident, IncidentPage,
    IncidentQuery, IncidentResults, JournalAnchor, JournalReport, ScanComparison, ScanReport,
    TlsInfo,
};
use tokio::sync::{broadcast, watch};

use cordon_proxy::dlp_inspector::Durable;
use cordon_proxy::incident_log::{journal_key, verdict};
use cordon_proxy::pool::Pool;
use cordon_proxy::session::Shared;
use cordon_proxy::tls;

use crate::error::Error;
use crate::live::{build, Built};
use crate::restart_only::restart_warnings;

mod appliance;
mod edm;
mod health;
mod repeats;
mod status;
mod tail;

/// The running gateway, as the config port sees it.
#[derive(Debug)]
pub struct GatewayBackend {
    started: Instant,
    /// The same moment on the wall clock, for `Status.started_unix`.
    started_unix: u64,
    board: String,
    /// The config file `cordon run` was given.
    file: PathBuf,
    persisted: Persisted<FsStorage>,
    live: Arc<watch::Sender<Arc<Shared>>>,
    built: Mutex<Built>,
    /// The config this process started with: what its sockets and memory were sized from,
    /// so `Status` can say which applied settings wait for a restart.
    booted: Arc<Config>,
    /// Under `cordon supervise`: the supervisor, asked (SIGHUP) to have every worker reload
    /// after this one applied a config.
    supervisor: Option<u32>,
    pool: Arc<Pool>,
    durable: Durable,
    /// Where every worker's incident journal lives, this worker's index among them, and the
    /// key their chains are verified with.
    journals: PathBuf,
    worker: u16,
    journal_key: [u8; 32],
    /// The newest apply in the audit trail once `status` looked it up (`None`: not yet, or an
    /// audit record was written since).
    last_apply: Mutex<Option<Option<cordon_wire::AuditRecord>>>,
    /// Firmware uploads, to `[control] update_socket` as the process started with it.
    updates: Updates,
}

/// The A/B store as [`open_store`] found it.
#[derive(Debug)]
pub struct Opened {
    pub persisted: Persisted<FsStorage>,
    /// The newest stored generation's text and number.
    pub toml: String,
    pub generation: u64,
    pub key: [u8; 32],
    /// The store was empty and the boot file became generation 1 just now.
    pub seeded: bool,
}

/// Opens the A/B store in `state_dir`. On a fresh data partition the boot config (`text`, the
/// file `cordon run` was given) becomes generation 1 together with a new stamp key, so the key
/// is durable before the first message is stamped.
pub fn open_store(state_dir: &Path, text: &str) -> Result<Opened, Error> {
    let dir = || state_dir.to_path_buf();
    std::fs::create_dir_all(state_dir).map_err(|source| Error::StateDir {
        what: "cannot create the state directory",
        dir: dir(),
        source,
    })?;
    let key = cordon_policy::generate_key().map_err(|source| Error::StampKeyRandom {
        path: dir(),
        source,
    })?;
    let factory = ConfigRecord {
        toml: text.to_string(),
        stamp_key: key.to_vec(),
    };
    let persisted = Persisted::open(Store::new(FsStorage, state_dir), factory)
        .map_err(|source| Error::StoreOpen { dir: dir(), source })?;
    let seeded = persisted.current().generation == 0;
    if seeded {
        persisted
            .apply(text, Some(0))
            .map_err(|source| Error::ConfigSeed {
                dir: dir(),
                source: Box::new(source),
            })?;
    }
    let current = persisted.current();
    let key: [u8; 32] = current
        .record
        .stamp_key
        .as_slice()
        .try_into()
        .map_err(|_| Error::StampKeyLength {
            path: dir(),
            len: current.record.stamp_key.len(),
        })?;
    Ok(Opened {
        persisted,
        toml: current.record.toml,
        generation: current.generation,
        key,
        seeded,
    })
}

/// A gateway error as the config port reports it: located problems become issues.
fn app_error(e: Error) -> AppError {
    let invalid = |diags: Vec<cordon_config::Diagnostic>| {
        let mut a = AppError::new(
            ErrorCode::InvalidConfig,
            &format!("config refused: {} problem(s)", diags.len()),
        );
        for d in &diags {
            let _ = a.issues.push(issue(d));
        }
        a
    };
    match e {
        Error::Config(c) => config_error(c),
        Error::Invalid(diags) => invalid(diags),
        Error::Proxy(cordon_proxy::Error::Invalid(diags)) => invalid(diags),
        Error::Proxy(cordon_proxy::Error::Tls(d)) => {
            let mut a = AppError::new(
                ErrorCode::InvalidConfig,
                "config refused: unusable TLS material",
            );
            let _ = a.issues.push(issue(&d));
            a
        }
        other => AppError::new(ErrorCode::Internal, &other.to_string()),
    }
}

pub(crate) fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        })
        .map(|kib| kib * 1024)
        .unwrap_or(0)
}

/// Which process serves the port, and for which file.
#[derive(Debug)]
pub struct Serving {
    /// The board profile's name.
    pub board: String,
    /// The config file `cordon run` was given (the store may run another generation).
    pub file: PathBuf,
    /// Under `cordon supervise`: the supervisor's pid.
    pub supervisor: Option<u32>,
    /// This worker's index.
    pub worker: u16,
}

impl GatewayBackend {
    /// `built` is what is running; `live` is the sender the accept loops watch.
    pub fn new(
        serving: Serving,
        persisted: Persisted<FsStorage>,
        built: Built,
        live: Arc<watch::Sender<Arc<Shared>>>,
        pool: Arc<Pool>,
    ) -> Arc<GatewayBackend> {
        let durable = built.inspectors.durable.clone();
        let journals = crate::incidents::journal_root(&built.shared.config);
        let control = built.shared.config.control.as_ref();
        Arc::new(GatewayBackend {
            updates: Updates::new(control.and_then(|c| c.update_socket.clone())),
            journal_key: journal_key(&durable.key),
            journals,
            worker: serving.worker,
            started: Instant::now(),
            started_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            board: serving.board,
            file: serving.file,
            persisted,
            live,
            booted: Arc::clone(&built.shared.config),
            built: Mutex::new(built),
            supervisor: serving.supervisor,
            pool,
            durable,
            last_apply: Mutex::new(None),
        })
    }

    fn current(&self) -> Built {
        self.built.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Parses and checks a config the way `cordon check-config` does, under the name the store
    /// keeps it as (so relative paths resolve in the state directory).
    fn check(&self, text: &str) -> Result<(Config, Built), AppError> {
        let dir = self.persisted_dir();
        let config = cordon_config::parse(text, &dir.join("cordon.toml")).map_err(config_error)?;
        let files = cordon_config::check_files(&config);
        if !files.is_empty() {
            return Err(app_error(Error::Invalid(files)));
        }
        let generation = self.persisted.current().generation;
        let built =
            build(Arc::new(config.clone()), generation, &self.durable).map_err(app_error)?;
        Ok((config, built))
    }

    fn persisted_dir(&self) -> PathBuf {
        self.current()
            .shared
            .config
            .control
            .as_ref()
            .map(|c| c.state_dir.clone())
            .unwrap_or_else(|| PathBuf::from("."))
    }

    /// Makes `config` (already persisted as `generation`) live for new sessions.
    fn go_live(&self, config: Config, generation: u64) -> Result<(), AppError> {
        let built = build(Arc::new(config), generation, &self.durable).map_err(app_error)?;
        self.live.send_replace(Arc::clone(&built.shared));
        *self.built.lock().unwrap_or_else(|p| p.into_inner()) = built;
        tracing::info!(generation, "configuration applied; new sessions use it");
        if let Some(pid) = self
            .supervisor
            .and_then(|p| i32::try_from(p).ok())
            .filter(|p| *p > 1)
        {
            // The other workers read the store again on the supervisor's SIGHUP.
            let pid = nix::unistd::Pid::from_raw(pid);
            if let Err(e) = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP) {
                tracing::warn!(error = %e, "cannot ask the supervisor to reload the other workers");
            }
        }
        Ok(())
    }
}

impl Backend for GatewayBackend {
    fn audit(&self, record: cordon_wire::AuditRecord) -> Result<(), AppError> {
        let log = self.durable.log.as_ref().ok_or_else(|| {
            AppError::new(
                ErrorCode::Internal,
                "no incident journal for the audit trail",
            )
        })?;
        *self.last_apply.lock().unwrap_or_else(|p| p.into_inner()) = None;
        match log.submit_audit(record).blocking_recv() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(why)) => Err(AppError::new(ErrorCode::Internal, &why)),
            Err(_) => Err(AppError::new(
                ErrorCode::Internal,
                "the journal writer stopped",
            )),
        }
    }

    fn query_audit(&self, since: u64, max: usize) -> Result<cordon_wire::AuditPage, AppError> {
        Ok(crate::incidents::audit_page(
            &self.journals,
            self.worker,
            since,
            max,
        ))
    }

    fn edm_install(
        &self,
        name: &str,
        key: &[u8; 32],
        bundle: &[u8],
    ) -> Result<EdmTables, AppError> {
        self.edm(Some(&|t, sets| t.install(name, key, bundle, sets)))
    }

    fn edm_list(&self) -> Result<EdmTables, AppError> {
        self.edm(None)
    }

    fn edm_remove(&self, name: &str) -> Result<EdmTables, AppError> {
        self.edm(Some(&|t, _| t.remove(name)))
    }

    fn fingerprint_add(
        &self,
        set: &str,
        document: &str,
        message: &[u8],
    ) -> Result<cordon_wire::FingerprintSets, AppError> {
        let engine = Arc::clone(&self.current().inspectors.engine);
        let add = |s: &crate::fingerprints::Sets, edm| s.add(&engine, set, document, message, edm);
        self.fingerprints(Some(&add), Some(set))
    }

    fn fingerprint_list(
        &self,
        set: Option<&str>,
    ) -> Result<cordon_wire::FingerprintSets, AppError> {
        self.fingerprints(None, set)
    }

    fn fingerprint_remove(
        &self,
        set: &str,
        document: Option<&str>,
    ) -> Result<cordon_wire::FingerprintSets, AppError> {
        let remove = |s: &crate::fingerprints::Sets, _| s.remove(set, document);
        self.fingerprints(Some(&remove), Some(set))
    }

    fn identity(&self) -> Identity {
        Identity {
            software: bounded(concat!("cordon ", env!("CARGO_PKG_VERSION"))),
            board: bounded(&self.board),
        }
    }

    fn status(&self) -> cordon_wire::Status {
        self.status_now()
    }

    fn counters(&self) -> Counters {
        // The metric table's values for the whole appliance, as `/metrics` shows them.
        let mut out: heapless::Vec<Counter, { cordon_wire::limits::MAX_COUNTERS }> =
            heapless::Vec::new();
        for (name, value) in cordon_metrics::text::pairs(&self.durable.counters.snapshot()) {
            let _ = out.push(Counter {
                name: bounded(&name),
                value,
            });
        }
        Counters { counters: out }
    }

    fn current_config(&self) -> (u64, String) {
        let c = self.persisted.current();
        (c.generation, c.record.toml)
    }

    fn validate(&self, toml: &str) -> Result<cordon_control::backend::Warnings, AppError> {
        let (config, _) = self.check(toml)?;
        Ok(restart_warnings(
            &self.current().shared.config,
            &config,
            toml,
        ))
    }

    fn apply(
        &self,
        toml: &str,
        expected_generation: Option<u64>,
    ) -> Result<(u64, cordon_control::backend::Warnings), AppError> {
        // Everything that can refuse the config runs before anything is written.
        let (config, _) = self.check(toml)?;
        let warnings = restart_warnings(&self.current().shared.config, &config, toml);
        let (generation, _) = self.persisted.apply(toml, expected_generation)?;
        self.go_live(config, generation)?;
        Ok((generation, warnings))
    }

    fn rollback(&self) -> Result<Rollback, AppError> {
        let (rollback, _) = self.persisted.rollback()?;
        let text = self.persisted.current().record.toml;
        let (config, _) = self.check(&text)?;
        self.go_live(config, rollback.generation)?;
        Ok(rollback)
    }

    fn incidents(&self, since: u64, max: usize) -> IncidentPage {
        crate::incidents::page(
            &self.journals,
            self.worker,
            since,
            max.min(MAX_INCIDENTS_PER_PAGE),
        )
    }

    fn query_incidents(&self, query: &IncidentQuery) -> Result<IncidentResults, AppError> {
        Ok(crate::incidents::query(&self.journals, query))
    }

    fn query_repeats(
        &self,
        query: &cordon_wire::RepeatQuery,
    ) -> Result<cordon_wire::RepeatReport, AppError> {
        Ok(repeats::repeats(&self.journals, query))
    }

    fn verify_incidents(
        &self,
        worker: u16,
        anchor: Option<JournalAnchor>,
    ) -> Result<Option<JournalReport>, AppError> {
        Ok(crate::incidents::verify(
            &self.journals,
            &self.journal_key,
            worker,
            anchor,
        ))
    }

    fn subscribe_incidents(&self) -> broadcast::Receiver<Incident> {
        self.durable.events.subscribe()
    }

    fn trace(&self, since: &[u64], max: usize) -> cordon_wire::TracePage {
        tail::trace(self.durable.counters.store(), since, max)
    }

    fn log(&self, since: &[u64], max: usize, level: usize) -> cordon_wire::LogPage {
        tail::log(self.durable.counters.store(), since, max, level)
    }

    fn scan_text(
        &self,
        message: &[u8],
        json: bool,
        envelope: Option<(String, Vec<String>)>,
    ) -> Result<String, AppError> {
        let env = envelope.as_ref().map(|(f, t)| (f.as_str(), t.as_slice()));
        let (judgement, findings) = self.current().inspectors.dry_run(message, env);
        crate::scan::render(&findings, Some(&judgement), json)
            .map_err(|e| AppError::new(ErrorCode::Internal, &e))
    }

    fn scan(&self, message: &[u8]) -> Result<ScanReport, AppError> {
        let (judgement, findings) = self.current().inspectors.dry_run(message, None);
        let decision = judgement.decision;
        let mut out = heapless::Vec::new();
        let mut more = 0u32;
        let rule = decision.rule.clone().unwrap_or_default();
        for f in &findings.detectors {
            let finding = Finding {
                rule: bounded(&rule),
                detector: bounded(&f.name),
                count: f.counts.low,
                location: bounded(&f.locations.join(", ")),
            };
            if out.len() == MAX_FINDINGS || out.push(finding).is_err() {
                more += 1;
            }
        }
        for u in &findings.unscannable {
            let finding = Finding {
                rule: bounded(&rule),
                detector: bounded(&format!("unscannable:{}", u.reason.as_str())),
                count: 1,
                location: bounded(&u.location),
            };
            if out.push(finding).is_err() {
                more += 1;
            }
        }
        Ok(ScanReport {
            verdict: verdict(decision.action),
            findings: out,
            more_findings: more,
        })
    }

    type Candidate = crate::policy_diff::Candidate;

    fn stage_candidate(&self, toml: &str) -> Result<(Self::Candidate, u64, Warnings), AppError> {
        let (config, built) = self.check(toml)?;
        let warnings = restart_warnings(&self.current().shared.config, &config, toml);
        let candidate = crate::policy_diff::Candidate {
            inspectors: built.inspectors,
        };
        Ok((candidate, self.persisted.current().generation, warnings))
    }

    fn scan_candidate(
        &self,
        candidate: &Self::Candidate,
        message: &[u8],
    ) -> Result<ScanComparison, AppError> {
        let running = self.current();
        let generation = running.shared.generation;
        Ok(crate::policy_diff::compare(
            generation,
            &running.inspectors,
            candidate,
            message,
        ))
    }

    fn install_tls(&self, bundle: &[u8]) -> Result<TlsInfo, AppError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let valid = validate_tls_bundle(bundle, now)?;
        let config = self.current().shared.config.clone();
        let Some(t) = &config.gateway.tls else {
            return Err(AppError::new(ErrorCode::InvalidTls, "the running config has no [gateway.tls]: set its certificate and private_key paths first"));
        };
        // The bundle is the PEM chain then the PEM key (validated above): split it as written.
        let text = String::from_utf8_lossy(bundle);
        let is_key = |l: &str| l.starts_with("-----BEGIN") && l.contains("PRIVATE KEY");
        let cert_pem: String = text
            .split_inclusive('\n')
            .take_while(|l| !is_key(l))
            .collect();
        let key_pem: String = text
            .split_inclusive('\n')
            .skip_while(|l| !is_key(l))
            .collect();
        appliance::write_atomic(&t.certificate.path, cert_pem.as_bytes(), 0o644)?;
        appliance::write_atomic(&t.private_key.path, key_pem.as_bytes(), 0o600)?;
        // Check the installed files load as the gateway loads them, then use them.
        tls::server_config(&config).map_err(|e| app_error(e.into()))?;
        self.go_live((*config).clone(), self.persisted.current().generation)?;
        Ok(valid.info)
    }

    fn restart_workers(&self) -> Result<u16, AppError> {
        self.restart()
    }

    fn detectors(&self, json: bool) -> String {
        crate::scan::detectors(json)
    }

    fn updates(&self) -> &Updates {
        &self.updates
    }

    fn reboot(&self) -> Result<(), AppError> {
        self.request_reboot()
    }
}
