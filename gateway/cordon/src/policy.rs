//! The inspector the gateway runs in production: every message is fed to the DLP engine as it
//! arrives, and its findings go through the configured `[[rule]]`s (cordon-policy) to a verdict.
//!
//! A scan that hit one of the engine's limits, or ran past `[policy] scan_timeout`, cannot vouch
//! for the message: unless a rule already decided something stronger, `[policy] on_scan_error`
//! decides (block by default: fail closed).

use std::sync::Arc;
use std::time::{Duration, Instant};

use cordon_config::{Action, Config};
use cordon_dlp::{Engine, Findings, Scanner, UnscannableReason};
use cordon_policy::{
    evaluate, on_scan_error, parse_reply_line, verdict_headers, Decision, EnvelopeFacts,
};
use cordon_smtp::reply::{Enhanced, Reply};

use crate::inspect::{Envelope, Inspector, InspectorFactory, Verdict};

/// The reasons that mean the engine stopped reading part of the message.
const LIMIT_REASONS: [UnscannableReason; 7] = [
    UnscannableReason::InflatedBytesLimit,
    UnscannableReason::InflateRatioLimit,
    UnscannableReason::ZipEntriesLimit,
    UnscannableReason::ZipNestingLimit,
    UnscannableReason::MimeDepthLimit,
    UnscannableReason::PartsLimit,
    UnscannableReason::HeaderTooLarge,
];

/// Makes one [`DlpInspector`] per session from the shared engine and config.
#[derive(Debug)]
pub struct DlpInspectors {
    pub engine: Arc<Engine>,
    pub config: Arc<Config>,
}

impl InspectorFactory for DlpInspectors {
    fn inspector(&self) -> Box<dyn Inspector> {
        Box::new(DlpInspector {
            scanner: self.engine.scanner(),
            config: Arc::clone(&self.config),
            scan_time: Duration::ZERO,
        })
    }
}

/// Per-session inspection state: the engine's fixed-size scanner.
#[derive(Debug)]
pub struct DlpInspector {
    scanner: Scanner,
    config: Arc<Config>,
    /// Time spent scanning this message so far, against the budget.
    scan_time: Duration,
}

/// The scan-error reason, if the findings or the time spent say the scan did not finish.
fn scan_error(findings: &Findings, spent: Duration, budget: Duration) -> Option<String> {
    if spent > budget {
        return Some(format!("scan_timeout {}ms", budget.as_millis()));
    }
    LIMIT_REASONS
        .iter()
        .find(|r| findings.has_reason(**r))
        .map(|r| r.as_str().to_string())
}

/// The SMTP reply a block decision carries.
fn block_reply(d: &Decision) -> Reply {
    let line = d.reply.clone().unwrap_or_else(|| {
        cordon_policy::default_block_reply(d.rule.as_deref().unwrap_or("policy"))
    });
    parse_reply_line(&line).unwrap_or_else(|_| {
        Reply::new(
            550,
            Enhanced(5, 7, 1),
            "Message rejected by data loss prevention policy",
        )
    })
}

impl DlpInspector {
    /// The decision for a finished scan.
    pub fn decide(&self, env: &Envelope<'_>, findings: &Findings, size: u64) -> Decision {
        let rcpts: Vec<String> = env.rcpts.iter().map(|p| p.address()).collect();
        let sender = env.mail_from.address();
        let facts = EnvelopeFacts {
            sender: &sender,
            rcpts: &rcpts,
            size,
        };
        let cfg = &self.config;
        let decision = evaluate(&cfg.rules, &facts, findings, &cfg.organization.domains);
        match scan_error(findings, self.scan_time, cfg.policy.scan_timeout) {
            Some(reason) if decision.action < Action::Block => {
                on_scan_error(cfg.policy.on_scan_error, &reason)
            }
            _ => decision,
        }
    }
}

impl Inspector for DlpInspector {
    fn feed(&mut self, chunk: &[u8]) {
        let t = Instant::now();
        self.scanner.feed(chunk);
        self.scan_time += t.elapsed();
    }

    fn finish(&mut self, env: &Envelope<'_>, message: &[u8]) -> Verdict {
        let t = Instant::now();
        let findings = self.scanner.finish();
        self.scan_time += t.elapsed();
        let d = self.decide(env, &findings, message.len() as u64);
        let rcpts: Vec<String> = env.rcpts.iter().map(|p| p.address()).collect();
        let headers = verdict_headers(&d, &self.config.headers, &rcpts);
        if d.action != Action::Deliver {
            let detectors: Vec<String> = findings
                .detectors
                .iter()
                .map(|f| format!("{}={}", f.name, f.counts.medium.max(f.counts.low)))
                .collect();
            tracing::info!(session = %env.session, rule = d.rule.as_deref().unwrap_or(""), action = cordon_policy::action_name(d.action), detectors = %detectors.join(","), "policy verdict");
        }
        self.scan_time = Duration::ZERO;
        match d.action {
            Action::Block => Verdict::Reject(block_reply(&d)),
            Action::Redirect => match d.redirect_to {
                Some(to) => Verdict::Redirect { to, headers },
                None => Verdict::Reject(block_reply(&d)),
            },
            Action::Deliver | Action::Tag | Action::Quarantine => Verdict::Deliver { headers },
        }
    }

    fn reset(&mut self) {
        self.scanner.reset();
        self.scan_time = Duration::ZERO;
    }
}
