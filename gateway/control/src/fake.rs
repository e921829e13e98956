//! A complete [`Backend`] for tests: real config persistence ([`Persisted`] over files in a
//! directory the test owns), a real TLS bundle check, and an in-memory incident ring that
//! tests fill with [`FakeBackend::record_incident`]. Scans block any message containing
//! `SECRET`.

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use cordon_store::{ConfigRecord, FsStorage, Rollback, Store};
use cordon_wire::limits::MAX_INCIDENTS_PER_PAGE;
use cordon_wire::{
    AppError, Confidence, Counter, Counters, EdmTables, Finding, Incident, IncidentDetector,
    IncidentKind, IncidentPage, Judged, MemoryStatus, ScanComparison, ScanReport, Status, TlsInfo,
    Verdict, WorkerHealth, WorkerStatus,
};
use tokio::sync::broadcast;

use crate::backend::{Backend, Identity, Warnings};
use crate::persist::Persisted;
use crate::{bounded, validate_tls_bundle};

/// Broadcast buffer of the fake's incident feed; small, so lag handling gets exercised.
const FEED_LEN: usize = 16;

/// An in-memory gateway.
#[derive(Debug)]
pub struct FakeBackend {
    pub persisted: Persisted<FsStorage>,
    incidents: Mutex<Vec<Incident>>,
    feed: broadcast::Sender<Incident>,
    /// How many times `reboot` and `restart_workers` were called.
    pub reboots: AtomicU32,
    pub restarts: AtomicU32,
    /// Every audit record, in order.
    pub audits: Mutex<Vec<cordon_wire::AuditRecord>>,
    /// Firmware updates, through a helper socket a test sets with [`FakeBackend::with_updates`].
    pub updates: crate::update::Updates,
}

impl FakeBackend {
    /// A backend persisting into `dir`, starting from `factory_toml` as generation 0.
    pub fn new(dir: &Path, factory_toml: &str) -> Self {
        let factory = ConfigRecord {
            toml: factory_toml.to_owned(),
            stamp_key: vec![7; 32],
        };
        let persisted = Persisted::open(Store::new(FsStorage, dir), factory)
            .unwrap_or_else(|e| panic!("fake backend cannot open {}: {e}", dir.display()));
        Self {
            persisted,
            incidents: Mutex::new(Vec::new()),
            feed: broadcast::channel(FEED_LEN).0,
            reboots: AtomicU32::new(0),
            restarts: AtomicU32::new(0),
            audits: Mutex::new(Vec::new()),
            updates: crate::update::Updates::new(None),
        }
    }

    /// The same backend, installing firmware through the helper listening on `socket`.
    pub fn with_updates(mut self, socket: &Path) -> Self {
        self.updates = crate::update::Updates::new(Some(socket.to_path_buf()));
        self
    }

    /// Appends an incident to the ring (sequence numbers from 1) and broadcasts it.
    pub fn record_incident(&self, verdict: Verdict, rule: &str) -> Incident {
        let mut ring = self.incidents.lock().unwrap_or_else(|p| p.into_inner());
        let seq = ring.last().map_or(1, |i| i.seq + 1);
        let mut rcpts = heapless::Vec::new();
        let _ = rcpts.push(bounded("bob@fabrikam.example"));
        let mut samples = heapless::Vec::new();
        let _ = samples.push(bounded("4556 **** **** 9855"));
        let mut detectors = heapless::Vec::new();
        let _ = detectors.push(IncidentDetector {
            name: bounded("credit_card"),
            count: 2,
            confidence: Confidence::High,
            samples,
        });
        let incident = Incident {
            worker: 0,
            seq,
            time_unix: 1_700_000_000 + seq,
            kind: IncidentKind::Dlp,
            reason: bounded(""),
            session: bounded(&format!("s{seq}")),
            message_id: bounded(&format!("<m{seq}@contoso.com>")),
            sender: bounded("alice@contoso.com"),
            subject: bounded(&format!("report {seq}")),
            recipients: 1,
            rcpts,
            rule: Some(bounded(rule)),
            action: verdict,
            detectors,
            downstream_reply: Some(bounded("250 2.0.0 queued")),
        };
        ring.push(incident.clone());
        let _ = self.feed.send(incident.clone());
        incident
    }
}

/// The fake runs no engine: EDM is exercised against the real gateway (tests/tests/edm.rs).
fn no_edm() -> AppError {
    AppError::new(
        cordon_wire::ErrorCode::Unsupported,
        "the fake backend has no DLP engine and no EDM tables",
    )
}

impl Backend for FakeBackend {
    fn audit(&self, mut record: cordon_wire::AuditRecord) -> Result<(), AppError> {
        let mut audits = self.audits.lock().unwrap_or_else(|p| p.into_inner());
        record.seq = audits.len() as u64 + 1;
        audits.push(record);
        Ok(())
    }

    fn query_audit(&self, since: u64, max: usize) -> Result<cordon_wire::AuditPage, AppError> {
        let audits = self.audits.lock().unwrap_or_else(|p| p.into_inner());
        let mut records = heapless::Vec::new();
        let from = since.max(1);
        let mut next = from;
        for r in audits.iter().filter(|r| r.seq >= from) {
            if records.len() >= max.min(cordon_wire::MAX_AUDIT_PER_PAGE)
                || records.push(r.clone()).is_err()
            {
                break;
            }
            next = r.seq + 1;
        }
        Ok(cordon_wire::AuditPage {
            records,
            next,
            done: audits.last().is_none_or(|r| r.seq < next),
        })
    }

    fn identity(&self) -> Identity {
        Identity {
            software: bounded("0.1.0-test"),
            board: bounded("fake-board"),
        }
    }

    fn status(&self) -> Status {
        let mut workers = heapless::Vec::new();
        for index in 0..2u16 {
            let _ = workers.push(WorkerStatus {
                index,
                core: Some(index),
                pid: 1000 + u32::from(index),
                health: WorkerHealth::Healthy,
                sessions: 3,
            });
        }
        Status {
            software: bounded("0.1.0-test"),
            board: bounded("fake-board"),
            uptime_secs: 3725,
            started_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
                .saturating_sub(3725),
            workers,
            sessions: 6,
            memory: MemoryStatus {
                budget_bytes: 512 << 20,
                used_bytes: 100 << 20,
            },
            config_generation: self.persisted.current().generation,
            listeners: heapless::Vec::from_slice(&[bounded("127.0.0.1:2525")]).unwrap_or_default(),
            restart_pending: heapless::Vec::new(),
            journal: cordon_wire::JournalStatus {
                worker: 0,
                ok: true,
                failures: 0,
                last_error: None,
                first_seq: Some(1),
                last_seq: Some(2),
                bytes: 1200,
                total_bytes: 64 << 20,
            },
            config_origin: bounded("stored generation runs (fake backend)"),
            file_differs: false,
            last_apply: self
                .audits
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .rev()
                .find(|r| matches!(r.request.as_str(), "apply" | "rollback"))
                .cloned(),
            smarthosts: heapless::Vec::new(),
            certificate: None,
            recent: heapless::Vec::new(),
            buffers: heapless::Vec::from_slice(&[
                cordon_wire::BufferClass {
                    size: 256 << 10,
                    count: 120,
                    in_use: 3,
                },
                cordon_wire::BufferClass {
                    size: 150 << 20,
                    count: 2,
                    in_use: 2,
                },
            ])
            .unwrap_or_default(),
        }
    }

    fn counters(&self) -> Counters {
        let mut counters = heapless::Vec::new();
        for (name, value) in [("messages_in", 42), ("messages_blocked", 3)] {
            let _ = counters.push(Counter {
                name: bounded(name),
                value,
            });
        }
        Counters { counters }
    }

    fn current_config(&self) -> (u64, String) {
        let current = self.persisted.current();
        (current.generation, current.record.toml)
    }

    fn validate(&self, toml: &str) -> Result<Warnings, AppError> {
        self.persisted.validate(toml).map(|_| Warnings::new())
    }

    fn apply(
        &self,
        toml: &str,
        expected_generation: Option<u64>,
    ) -> Result<(u64, Warnings), AppError> {
        self.persisted
            .apply(toml, expected_generation)
            .map(|(generation, _)| (generation, Warnings::new()))
    }

    fn rollback(&self) -> Result<Rollback, AppError> {
        self.persisted.rollback().map(|(r, _)| r)
    }

    fn incidents(&self, since: u64, max: usize) -> IncidentPage {
        let ring = self.incidents.lock().unwrap_or_else(|p| p.into_inner());
        let mut incidents = heapless::Vec::new();
        for incident in ring.iter().filter(|i| i.seq >= since).take(max) {
            let _ = incidents.push(incident.clone());
        }
        let next = incidents.last().map_or(since, |i: &Incident| i.seq + 1);
        IncidentPage {
            incidents,
            next,
            oldest: ring.first().map_or(1, |i| i.seq),
        }
    }

    fn subscribe_incidents(&self) -> broadcast::Receiver<Incident> {
        self.feed.subscribe()
    }

    fn log(&self, since: &[u64], max: usize, level: usize) -> cordon_wire::LogPage {
        // One worker (source 0) and the supervisor (source 1): the supervisor's start line,
        // the worker's start line, then a worker warning, one second apart.
        const LINES: [(u16, u64, &str, &str); 3] = [
            (1, 0, "info", "supervisor started 1 worker"),
            (0, 0, "info", "worker 0 listening on 127.0.0.1:2525"),
            (
                0,
                1,
                "warn",
                "smart host 127.0.0.1:2526 refused the connection; retrying",
            ),
        ];
        let from = |source: u16| since.get(usize::from(source)).copied().unwrap_or(0);
        let mut lines = heapless::Vec::new();
        let mut next = [from(0), from(1)];
        for (i, &(source, seq, lvl, text)) in LINES.iter().enumerate() {
            if seq < from(source) {
                continue;
            }
            if lines.len() == max.min(cordon_wire::limits::MAX_LOG_PER_PAGE) {
                break;
            }
            next[usize::from(source)] = seq + 1;
            let rank = cordon_wire::limits::LOG_LEVELS
                .iter()
                .position(|l| *l == lvl)
                .unwrap_or(0);
            if rank > level {
                continue;
            }
            let _ = lines.push(cordon_wire::LogEntry {
                source,
                seq,
                time_ms: 1_796_397_756_000 + i as u64 * 1000,
                level: bounded(lvl),
                text: bounded(text),
            });
        }
        cordon_wire::LogPage {
            lines,
            next: heapless::Vec::from_slice(&next).unwrap_or_default(),
            supervisor: 1,
        }
    }

    fn trace(&self, since: &[u64], max: usize) -> cordon_wire::TracePage {
        // Three messages of worker 0, numbered 0..3, one a second apart.
        let from = since.first().copied().unwrap_or(0).min(3);
        let mut entries = heapless::Vec::new();
        for seq in from..3 {
            if entries.len() == max.min(cordon_wire::limits::MAX_TRACE_PER_PAGE) {
                break;
            }
            let blocked = seq == 1;
            let _ = entries.push(cordon_wire::TraceEntry {
                worker: 0,
                seq,
                time_ms: 1_796_397_756_000 + seq * 1000,
                bytes: 1024,
                action: bounded(if blocked { "block" } else { "deliver" }),
                rule: blocked.then(|| bounded("no-secrets")),
                sender: bounded("alice@contoso.com"),
                message_id: bounded(&format!("<m{seq}@contoso.com>")),
                reason: bounded(if blocked {
                    "rule no-secrets matched; keyword=1"
                } else {
                    "no rule matched; nothing found"
                }),
            });
        }
        let next = entries.last().map_or(from, |e| e.seq + 1);
        cordon_wire::TracePage {
            entries,
            next: heapless::Vec::from_slice(&[next]).unwrap_or_default(),
        }
    }

    fn scan_text(
        &self,
        message: &[u8],
        json: bool,
        envelope: Option<(String, Vec<String>)>,
    ) -> Result<String, AppError> {
        let report = self.scan(message)?;
        let (from, to) = envelope.unwrap_or_else(|| ("(From)".into(), vec!["(To)".into()]));
        Ok(if json {
            format!(
                "{{\"verdict\": \"{}\", \"from\": \"{from}\", \"to\": \"{}\"}}\n",
                report.verdict.as_str(),
                to.join(",")
            )
        } else {
            format!(
                "verdict: {} (envelope {from} -> {})\n",
                report.verdict.as_str(),
                to.join(", ")
            )
        })
    }

    fn scan(&self, message: &[u8]) -> Result<ScanReport, AppError> {
        let hit = message.windows(6).filter(|w| *w == b"SECRET").count() as u32;
        let mut findings = heapless::Vec::new();
        if hit > 0 {
            let _ = findings.push(Finding {
                rule: bounded("no-secrets"),
                detector: bounded("keyword"),
                count: hit,
                location: bounded("body"),
            });
        }
        Ok(ScanReport {
            verdict: if hit > 0 {
                Verdict::Block
            } else {
                Verdict::Deliver
            },
            findings,
            more_findings: 0,
        })
    }

    /// The candidate is its text: the fake's policy is one rule, `no-secrets`, whose action
    /// is the config's first `action = "..."` line (block when there is none).
    type Candidate = String;

    fn stage_candidate(&self, toml: &str) -> Result<(String, u64, Warnings), AppError> {
        self.persisted.validate(toml)?;
        Ok((
            toml.to_owned(),
            self.persisted.current().generation,
            Warnings::new(),
        ))
    }

    fn scan_candidate(
        &self,
        candidate: &String,
        message: &[u8],
    ) -> Result<ScanComparison, AppError> {
        let current = self.persisted.current();
        Ok(ScanComparison {
            generation: current.generation,
            running: fake_judge(&current.record.toml, message),
            candidate: fake_judge(candidate, message),
        })
    }

    fn install_tls(&self, bundle: &[u8]) -> Result<TlsInfo, AppError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        validate_tls_bundle(bundle, now).map(|b| b.info)
    }

    fn query_incidents(
        &self,
        query: &cordon_wire::IncidentQuery,
    ) -> Result<cordon_wire::IncidentResults, AppError> {
        let since = query
            .since
            .iter()
            .find(|c| c.worker == 0)
            .map_or(0, |c| c.seq);
        let max = usize::from(query.max).min(MAX_INCIDENTS_PER_PAGE);
        let ring = self.incidents.lock().unwrap_or_else(|p| p.into_inner());
        let mut incidents = heapless::Vec::new();
        let mut kept = ring
            .iter()
            .filter(|i| i.seq >= since && query.keeps(i))
            .peekable();
        while incidents.len() < max {
            match kept.next() {
                Some(i) => {
                    let _ = incidents.push(i.clone());
                }
                None => break,
            }
        }
        let done = kept.peek().is_none();
        let last = incidents.last().map_or(since, |i: &Incident| i.seq + 1);
        let mut next = heapless::Vec::new();
        let _ = next.push(cordon_wire::Cursor {
            worker: 0,
            seq: last,
        });
        Ok(cordon_wire::IncidentResults {
            incidents,
            next,
            done,
        })
    }

    /// The fake's incidents carry no value tags (the wire incident has none): every one is
    /// read, none has a value to count.
    fn query_repeats(
        &self,
        query: &cordon_wire::RepeatQuery,
    ) -> Result<cordon_wire::RepeatReport, AppError> {
        let ring = self.incidents.lock().unwrap_or_else(|p| p.into_inner());
        let read = ring
            .iter()
            .filter(|i| query.after_unix.is_none_or(|a| i.time_unix >= a))
            .count();
        Ok(cordon_wire::RepeatReport {
            incidents: read as u64,
            messages: 0,
            complete: true,
            untracked: 0,
            detectors: heapless::Vec::new(),
            top: heapless::Vec::new(),
        })
    }

    fn verify_incidents(
        &self,
        worker: u16,
        _anchor: Option<cordon_wire::JournalAnchor>,
    ) -> Result<Option<cordon_wire::JournalReport>, AppError> {
        Ok((worker == 0).then_some(cordon_wire::JournalReport {
            worker: 0,
            first_seq: Some(1),
            last_seq: Some(2),
            first_time_unix: None,
            last_time_unix: None,
            last_tag: Some([0; 32]),
            broken: None,
            torn_tail_bytes: 0,
            anchor: None,
            error: None,
            next: None,
        }))
    }

    fn restart_workers(&self) -> Result<u16, AppError> {
        self.restarts.fetch_add(1, Ordering::SeqCst);
        Ok(2)
    }

    fn detectors(&self, json: bool) -> String {
        if json {
            "{\"detectors\": [{\"name\": \"credit_card\"}]}\n".to_owned()
        } else {
            "NAME         FAMILY\ncredit_card  financial\n".to_owned()
        }
    }

    fn edm_install(
        &self,
        _name: &str,
        _key: &[u8; 32],
        _bundle: &[u8],
    ) -> Result<EdmTables, AppError> {
        Err(no_edm())
    }

    fn edm_list(&self) -> Result<EdmTables, AppError> {
        Err(no_edm())
    }

    fn edm_remove(&self, _name: &str) -> Result<EdmTables, AppError> {
        Err(no_edm())
    }

    fn fingerprint_add(
        &self,
        _set: &str,
        _document: &str,
        _message: &[u8],
    ) -> Result<cordon_wire::FingerprintSets, AppError> {
        Err(no_fingerprints())
    }

    fn fingerprint_list(
        &self,
        _set: Option<&str>,
    ) -> Result<cordon_wire::FingerprintSets, AppError> {
        Err(no_fingerprints())
    }

    fn fingerprint_remove(
        &self,
        _set: &str,
        _document: Option<&str>,
    ) -> Result<cordon_wire::FingerprintSets, AppError> {
        Err(no_fingerprints())
    }

    fn updates(&self) -> &crate::update::Updates {
        &self.updates
    }

    fn reboot(&self) -> Result<(), AppError> {
        self.reboots.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// A throw-away certificate authority for tests (mutual TLS, `InstallTls`).
#[derive(Debug)]
pub struct TestCa {
    issuer: rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
}

/// A certificate and its key, PEM.
#[derive(Debug, Clone)]
pub struct TestCert {
    pub cert_pem: String,
    pub key_pem: String,
}

impl TestCert {
    /// Certificate then key, as `InstallTls` expects.
    pub fn bundle(&self) -> String {
        format!("{}{}", self.cert_pem, self.key_pem)
    }
}

impl TestCa {
    pub fn new(name: &str) -> Self {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let key = rcgen::KeyPair::generate().expect("CA key");
        Self {
            issuer: rcgen::CertifiedIssuer::self_signed(params, key).expect("CA certificate"),
        }
    }

    pub fn cert_pem(&self) -> String {
        self.issuer.pem()
    }

    /// A leaf for `name` (DNS SAN and CN), valid from `not_before` to `not_after` years
    /// (`None`: rcgen's default, 1975 to 4096).
    pub fn leaf(&self, name: &str, years: Option<(i32, i32)>) -> TestCert {
        let mut params = rcgen::CertificateParams::new(vec![name.to_owned()]).expect("params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        if let Some((from, to)) = years {
            params.not_before = rcgen::date_time_ymd(from, 1, 1);
            params.not_after = rcgen::date_time_ymd(to, 1, 1);
        }
        let key = rcgen::KeyPair::generate().expect("leaf key");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("leaf certificate");
        TestCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

/// The fake policy's verdict: `SECRET` in the message matches `no-secrets`, whose action is
/// the first `action = "..."` of `toml` (block when there is none or it is unknown).
fn fake_judge(toml: &str, message: &[u8]) -> Judged {
    if !message.windows(6).any(|w| w == b"SECRET") {
        return Judged {
            verdict: Verdict::Deliver,
            rule: None,
            scan_error: None,
        };
    }
    let action = toml
        .lines()
        .find_map(|l| l.trim().strip_prefix("action = "))
        .map(|a| a.trim_matches('"'));
    let verdict = [
        Verdict::Deliver,
        Verdict::Tag,
        Verdict::Quarantine,
        Verdict::Redirect,
    ]
    .into_iter()
    .find(|v| Some(v.as_str()) == action)
    .unwrap_or(Verdict::Block);
    Judged {
        verdict,
        rule: Some(bounded("no-secrets")),
        scan_error: None,
    }
}

/// The fake has no engine to fingerprint with: `tests/tests/fingerprint.rs` drives the real
/// gateway.
fn no_fingerprints() -> AppError {
    AppError::new(
        cordon_wire::ErrorCode::Unsupported,
        "the fake backend keeps no fingerprint sets",
    )
}
