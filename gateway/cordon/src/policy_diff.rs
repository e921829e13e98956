//! The appliance's half of a policy diff (`cordonctl policy diff`): a candidate config is
//! validated and built exactly as an apply would build it, but kept aside; each message of
//! the corpus is then judged by the running policy and by the candidate, each through its own
//! engine and the same [`DlpInspectors::dry_run`] (the verdict function live mail uses), so
//! the diff cannot disagree with what the apply would do.
//!
//! Memory: the two dry runs of one message run one after the other, so a comparison holds
//! one scanner at a time, as a `Scan` does; the candidate's engine lives as long as the
//! connection that staged it (one per connection, at most `MAX_CONNECTIONS` per listener).

use std::sync::Arc;

use cordon_control::bounded;
use cordon_proxy::dlp_inspector::DlpInspectors;
use cordon_proxy::incident_log::verdict;
use cordon_wire::{Judged, ScanComparison};

/// A candidate policy: the built inspectors of a validated config that is not applied.
#[derive(Debug)]
pub struct Candidate {
    pub inspectors: Arc<DlpInspectors>,
}

/// The dry run of `message` under `running` and then under `candidate`.
pub fn compare(
    generation: u64,
    running: &DlpInspectors,
    candidate: &Candidate,
    message: &[u8],
) -> ScanComparison {
    ScanComparison {
        generation,
        running: judged(running, message),
        candidate: judged(&candidate.inspectors, message),
    }
}

/// What `inspectors` decide for `message`: the action, the deciding rule, a scan error.
fn judged(inspectors: &DlpInspectors, message: &[u8]) -> Judged {
    let (judgement, _findings) = inspectors.dry_run(message, None);
    Judged {
        verdict: verdict(judgement.decision.action),
        rule: judgement.decision.rule.as_deref().map(bounded),
        scan_error: judgement.scan_error.as_deref().map(bounded),
    }
}
