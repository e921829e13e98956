//! `[[rule]]` evaluation: conditions, strongest action, `stop`, replies.

use cordon_config::{
    Action, AddressPattern, Confidence as ConfigConfidence, Direction, NotifyTarget, OnScanError,
    Rule,
};
use cordon_dlp::{Confidence, Findings};

use crate::direction::direction;
pub use cordon_smtp::reply::parse_reply_line;

/// The match name that stands for "the engine could not inspect everything".
pub const UNSCANNABLE: &str = "unscannable";

/// What rules may look at besides the findings.
#[derive(Debug, Clone, Copy)]
pub struct EnvelopeFacts<'a> {
    /// `MAIL FROM` address, `""` for the null sender.
    pub sender: &'a str,
    /// `RCPT TO` addresses accepted in this transaction.
    pub rcpts: &'a [String],
    /// Message size in octets as received.
    pub size: u64,
}

/// The outcome of [`evaluate`]: what to do with one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The strongest action of all matching rules; `Deliver` when none matched.
    pub action: Action,
    /// The rule whose action won (the first one among equals).
    pub rule: Option<String>,
    /// Every matching rule, in config order (for incidents and notifications).
    pub matched: Vec<String>,
    /// For `Block`: the full reply line without CRLF (validated, or the default).
    pub reply: Option<String>,
    /// For `Redirect`: the mailbox that receives the message instead.
    pub redirect_to: Option<String>,
    /// Union of the matching rules' `notify`, duplicates removed.
    pub notify: Vec<NotifyTarget>,
    /// Every rule in config order: matched or not, and why not.
    pub trace: Vec<RuleTrace>,
}

/// One rule's outcome for one message, for `cordon scan` and the administrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleTrace {
    pub rule: String,
    pub matched: bool,
    /// Why it did not match (the first condition that failed), or `""` when it matched.
    pub reason: String,
}

impl Decision {
    /// Nothing matched: relay with the inspected stamp only.
    pub fn deliver() -> Decision {
        Decision {
            action: Action::Deliver,
            rule: None,
            matched: Vec::new(),
            reply: None,
            redirect_to: None,
            notify: Vec::new(),
            trace: Vec::new(),
        }
    }
}

/// Lowercase name of an action, as in the config and incidents.
pub fn action_name(action: Action) -> &'static str {
    match action {
        Action::Deliver => "deliver",
        Action::Tag => "tag",
        Action::Quarantine => "quarantine",
        Action::Redirect => "redirect",
        Action::Block => "block",
    }
}

/// The reply of a `block` rule without `reply`.
pub fn default_block_reply(rule: &str) -> String {
    format!(
        "550 5.7.1 Message rejected by data loss prevention policy {}",
        printable(rule)
    )
}

/// Keeps printable ASCII only, so config text can go on an SMTP reply or header line.
pub(crate) fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if (' '..='~').contains(&c) { c } else { '?' })
        .collect()
}

/// The engine's confidence for a configured one (the two crates do not know each other).
pub fn dlp_confidence(c: ConfigConfidence) -> Confidence {
    match c {
        ConfigConfidence::Low => Confidence::Low,
        ConfigConfidence::Medium => Confidence::Medium,
        ConfigConfidence::High => Confidence::High,
    }
}

fn any_matches(patterns: &[AddressPattern], address: &str) -> bool {
    patterns.iter().any(|p| p.matches(address))
}

fn content_matches(rule: &Rule, findings: &Findings) -> bool {
    if rule.matches.is_empty() {
        return true;
    }
    let conf = dlp_confidence(rule.min_confidence);
    let min = rule.min_count.max(1);
    rule.matches.iter().any(|name| {
        if name == UNSCANNABLE {
            findings.is_unscannable()
        } else if name.starts_with("doc:") {
            // A fingerprint set: the share of its closest protected document.
            similarity_reaches(findings.similarity(name), rule.min_similarity)
        } else if let Some(members) = cordon_dlp::catalogue::bundle(name) {
            // A bundle counts the distinct values of all its detectors.
            members.iter().map(|m| findings.count(m, conf)).sum::<u32>() >= min
        } else {
            findings.count(name, conf) >= min
        }
    })
}

/// Whether `share` (0 to 1) is at least `min` thousandths.
fn similarity_reaches(share: f64, min: u16) -> bool {
    share > 0.0 && share * 1000.0 + 1e-9 >= f64::from(min)
}

fn mime_essence(t: &str) -> &str {
    t.split(';').next().unwrap_or("").trim()
}

/// Names in `attachment_types` that stand for several detected types.
const TYPE_FAMILIES: &[(&str, &[&str])] = &[
    // The engine names an image by its format, and only once it parsed.
    ("image", &["png", "jpeg", "gif"]),
];

fn detected_is(detected: &str, want: &str) -> bool {
    detected.eq_ignore_ascii_case(want)
        || TYPE_FAMILIES.iter().any(|(family, members)| {
            family.eq_ignore_ascii_case(want)
                && members.iter().any(|m| m.eq_ignore_ascii_case(detected))
        })
}

fn attachment_matches(rule: &Rule, findings: &Findings) -> bool {
    if rule.attachment_types.is_empty() {
        return true;
    }
    rule.attachment_types.iter().any(|want| {
        let want = want.trim();
        if want.contains('/') {
            findings
                .attachments
                .iter()
                .any(|a| mime_essence(&a.declared_type).eq_ignore_ascii_case(want))
        } else {
            let ext = want.trim_start_matches('.');
            findings.attachments.iter().any(|a| {
                detected_is(&a.detected_type, ext)
                    || a.file_name
                        .rsplit_once('.')
                        .is_some_and(|(_, e)| e.eq_ignore_ascii_case(ext))
            })
        }
    })
}

/// `unscannable_reasons`: any listed reason was reported anywhere in the message.
fn reasons_match(rule: &Rule, findings: &Findings) -> bool {
    rule.unscannable_reasons.is_empty()
        || findings
            .all_reasons()
            .any(|u| rule.unscannable_reasons.iter().any(|r| r == u.as_str()))
}

/// Whether every condition of `rule` holds.
pub fn rule_matches(
    rule: &Rule,
    env: &EnvelopeFacts<'_>,
    findings: &Findings,
    dir: Direction,
) -> bool {
    rule_check(rule, env, findings, dir).is_ok()
}

fn direction_name(d: Direction) -> &'static str {
    match d {
        Direction::Any => "any",
        Direction::Outbound => "outbound",
        Direction::Inbound => "inbound",
        Direction::Internal => "internal",
    }
}

/// Every condition of `rule`, in order; the first that fails is the reason.
pub fn rule_check(
    rule: &Rule,
    env: &EnvelopeFacts<'_>,
    findings: &Findings,
    dir: Direction,
) -> Result<(), String> {
    let fail = |why: String| Err(why);
    if rule.direction != Direction::Any && rule.direction != dir {
        return fail(format!(
            "direction {} != {}",
            direction_name(dir),
            direction_name(rule.direction)
        ));
    }
    if !(rule.senders.is_empty() || any_matches(&rule.senders, env.sender)) {
        return fail("sender not in senders".into());
    }
    if !(rule.recipients.is_empty() || env.rcpts.iter().any(|r| any_matches(&rule.recipients, r))) {
        return fail("no recipient in recipients".into());
    }
    if any_matches(&rule.except_senders, env.sender) {
        return fail("sender in except_senders".into());
    }
    if env
        .rcpts
        .iter()
        .any(|r| any_matches(&rule.except_recipients, r))
    {
        return fail("a recipient in except_recipients".into());
    }
    if let Some(m) = rule.min_size.filter(|m| env.size < *m) {
        return fail(format!("size {} < min_size {m}", env.size));
    }
    if rule.unscannable && !findings.is_unscannable() {
        return fail("nothing unscannable".into());
    }
    if !reasons_match(rule, findings) {
        return fail(format!(
            "none of unscannable_reasons {}",
            rule.unscannable_reasons.join(", ")
        ));
    }
    if !content_matches(rule, findings) {
        let conf = dlp_confidence(rule.min_confidence);
        let seen: Vec<String> = rule
            .matches
            .iter()
            .map(|n| {
                if n == UNSCANNABLE {
                    format!("{n}=no")
                } else if n.starts_with("doc:") {
                    format!("{n}={:.2}", findings.similarity(n))
                } else {
                    format!("{n}={}", findings.count(n, conf))
                }
            })
            .collect();
        let mut needs = Vec::new();
        if rule.matches.iter().any(|n| !n.starts_with("doc:")) {
            needs.push(format!(
                "min_count {} at {} or above",
                rule.min_count.max(1),
                format!("{:?}", rule.min_confidence).to_lowercase()
            ));
        }
        if rule.matches.iter().any(|n| n.starts_with("doc:")) {
            needs.push(format!(
                "min_similarity {:.2}",
                f64::from(rule.min_similarity) / 1000.0
            ));
        }
        return fail(format!("{} < {}", seen.join(", "), needs.join(", ")));
    }
    if !attachment_matches(rule, findings) {
        return fail("no attachment of attachment_types".into());
    }
    Ok(())
}

/// Runs the rules in order. All matching rules are recorded; the strongest
/// action wins, the first rule among equals; a matching rule with
/// `stop = true` ends evaluation. A `block` gets the rule's reply when it
/// parses, otherwise the default reply (the config check reports the bad
/// one; the message is still refused). A `redirect` without `redirect_to`
/// (the config check refuses it) fails closed as a `block`.
pub fn evaluate(
    rules: &[Rule],
    env: &EnvelopeFacts<'_>,
    findings: &Findings,
    org: &[String],
) -> Decision {
    let dir = direction(env.sender, env.rcpts, org);
    let mut d = Decision::deliver();
    let mut winner: Option<&Rule> = None;
    let mut stopped_by: Option<&str> = None;
    for rule in rules {
        if let Some(by) = stopped_by {
            d.trace.push(RuleTrace {
                rule: rule.name.clone(),
                matched: false,
                reason: format!("not evaluated: rule {by} has stop = true"),
            });
            continue;
        }
        if let Err(reason) = rule_check(rule, env, findings, dir) {
            d.trace.push(RuleTrace {
                rule: rule.name.clone(),
                matched: false,
                reason,
            });
            continue;
        }
        d.trace.push(RuleTrace {
            rule: rule.name.clone(),
            matched: true,
            reason: String::new(),
        });
        d.matched.push(rule.name.clone());
        for t in &rule.notify {
            let dup = d.notify.iter().any(|n| match (n, t) {
                (NotifyTarget::Sender, NotifyTarget::Sender) => true,
                (NotifyTarget::Address(a), NotifyTarget::Address(b)) => a.eq_ignore_ascii_case(b),
                _ => false,
            });
            if !dup {
                d.notify.push(t.clone());
            }
        }
        if winner.is_none_or(|w| rule.action > w.action) {
            winner = Some(rule);
        }
        if rule.stop {
            stopped_by = Some(&rule.name);
        }
    }
    let Some(w) = winner else {
        return d;
    };
    d.action = w.action;
    d.rule = Some(w.name.clone());
    match w.action {
        Action::Block => {
            d.reply = Some(
                w.reply
                    .as_deref()
                    .filter(|r| parse_reply_line(r).is_ok())
                    .map(|r| r.trim().to_string())
                    .unwrap_or_else(|| default_block_reply(&w.name)),
            );
        }
        Action::Redirect => match &w.redirect_to {
            Some(to) => d.redirect_to = Some(to.clone()),
            None => {
                d.action = Action::Block;
                d.reply = Some(default_block_reply(&w.name));
            }
        },
        _ => {}
    }
    d
}

/// The decision for a message whose scan could not finish (`reason`: a
/// limit, the time budget), per `[policy] on_scan_error`. `Block` refuses
/// with a 5xx naming the reason, `Tempfail` with a 4xx (the sender's MTA
/// retries), `DeliverTagged` relays with the action header `Tag` and the
/// rule name `scan-error`.
pub fn on_scan_error(mode: OnScanError, reason: &str) -> Decision {
    let reason = printable(reason);
    let mut d = Decision::deliver();
    d.rule = Some("scan-error".to_string());
    d.matched.push("scan-error".to_string());
    match mode {
        OnScanError::Block => {
            d.action = Action::Block;
            d.reply = Some(format!(
                "550 5.7.1 Message could not be inspected ({reason}) and is rejected by policy"
            ));
        }
        OnScanError::Tempfail => {
            d.action = Action::Block;
            d.reply = Some(format!(
                "451 4.7.1 Message could not be inspected ({reason}), try again later"
            ));
        }
        OnScanError::DeliverTagged => d.action = Action::Tag,
    }
    d
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use cordon_config::{Confidence as CC, Location};
    use cordon_dlp::{Attachment, Counts, DetectorFinding, Unscannable, UnscannableReason};

    use super::*;

    pub(crate) fn rule(name: &str, action: Action) -> Rule {
        Rule {
            name: name.into(),
            direction: Direction::Any,
            senders: vec![],
            recipients: vec![],
            except_senders: vec![],
            except_recipients: vec![],
            matches: vec![],
            matches_at: vec![],
            min_count: 1,
            min_similarity: 300,
            min_confidence: CC::Medium,
            attachment_types: vec![],
            min_size: None,
            unscannable: false,
            unscannable_reasons: vec![],
            unscannable_reasons_at: vec![],
            action,
            reply: None,
            redirect_to: None,
            notify: vec![],
            stop: false,
            at: Location {
                file: PathBuf::from("cordon.toml"),
                line: 1,
                column: 1,
                key: "rule".into(),
            },
        }
    }

    fn det(name: &str, low: u32, medium: u32, high: u32) -> DetectorFinding {
        DetectorFinding {
            name: name.into(),
            counts: Counts { low, medium, high },
            confidence: CC_HIGH,
            count_is_lower_bound: false,
            locations: vec!["1".into()],
            samples: vec!["4556 **** **** 9855".into()],
            value_tags: vec![],
            similarity: None,
        }
    }
    const CC_HIGH: Confidence = Confidence::High;

    fn findings(dets: Vec<DetectorFinding>) -> Findings {
        Findings {
            detectors: dets,
            ..Findings::default()
        }
    }

    fn org() -> Vec<String> {
        vec!["contoso.com".into()]
    }

    fn out_env(rcpts: &[String]) -> EnvelopeFacts<'_> {
        EnvelopeFacts {
            sender: "alice@contoso.com",
            rcpts,
            size: 1000,
        }
    }

    fn ext() -> Vec<String> {
        vec!["bob@example.net".into()]
    }

    #[test]
    fn nothing_matches_delivers() {
        let mut r = rule("cards", Action::Block);
        r.matches = vec!["credit_card".into()];
        let rc = ext();
        let d = evaluate(&[r], &out_env(&rc), &Findings::default(), &org());
        assert_eq!(
            d,
            Decision {
                trace: vec![RuleTrace {
                    rule: "cards".into(),
                    matched: false,
                    reason: "credit_card=0 < min_count 1 at medium or above".into(),
                }],
                ..Decision::deliver()
            }
        );
    }

    #[test]
    fn the_trace_says_why_each_rule_did_not_match() {
        let rc = ext();
        let mut inbound = rule("inbound-only", Action::Tag);
        inbound.direction = Direction::Inbound;
        let mut big = rule("big-only", Action::Tag);
        big.min_size = Some(5000);
        let mut stopper = rule("stopper", Action::Tag);
        stopper.stop = true;
        let after = rule("after", Action::Block);
        let d = evaluate(
            &[inbound, big, stopper, after],
            &out_env(&rc),
            &Findings::default(),
            &org(),
        );
        let t: Vec<(&str, bool, &str)> = d
            .trace
            .iter()
            .map(|t| (t.rule.as_str(), t.matched, t.reason.as_str()))
            .collect();
        assert_eq!(
            t,
            [
                ("inbound-only", false, "direction outbound != inbound"),
                ("big-only", false, "size 1000 < min_size 5000"),
                ("stopper", true, ""),
                (
                    "after",
                    false,
                    "not evaluated: rule stopper has stop = true"
                ),
            ]
        );
        assert_eq!(d.action, Action::Tag);
    }

    #[test]
    fn strongest_wins_first_among_equals_and_all_recorded() {
        let rc = ext();
        let mut n1 = rule("tag1", Action::Tag);
        n1.notify = vec![NotifyTarget::Sender];
        let mut n2 = rule("quar1", Action::Quarantine);
        n2.notify = vec![
            NotifyTarget::Sender,
            NotifyTarget::Address("DLP@contoso.com".into()),
        ];
        let mut n3 = rule("quar2", Action::Quarantine);
        n3.notify = vec![NotifyTarget::Address("dlp@contoso.com".into())];
        let rules = [n1, n2, rule("tag2", Action::Tag), n3];
        let d = evaluate(&rules, &out_env(&rc), &Findings::default(), &org());
        assert_eq!(d.action, Action::Quarantine);
        assert_eq!(d.rule.as_deref(), Some("quar1"));
        assert_eq!(d.matched, ["tag1", "quar1", "tag2", "quar2"]);
        assert_eq!(
            d.notify,
            [
                NotifyTarget::Sender,
                NotifyTarget::Address("DLP@contoso.com".into())
            ]
        );
        assert_eq!(d.reply, None);
    }

    #[test]
    fn stop_ends_evaluation_only_when_it_matched() {
        let rc = ext();
        let mut s = rule("tag-stop", Action::Tag);
        s.stop = true;
        let d = evaluate(
            &[s.clone(), rule("block", Action::Block)],
            &out_env(&rc),
            &Findings::default(),
            &org(),
        );
        assert_eq!(d.action, Action::Tag);
        assert_eq!(d.matched, ["tag-stop"]);
        // A stop rule that does not match does not stop.
        s.direction = Direction::Inbound;
        let d = evaluate(
            &[s, rule("block", Action::Block)],
            &out_env(&rc),
            &Findings::default(),
            &org(),
        );
        assert_eq!(d.action, Action::Block);
        assert_eq!(
            d.reply.as_deref(),
            Some("550 5.7.1 Message rejected by data loss prevention policy block")
        );
    }

    #[test]
    fn block_reply_configured_default_and_invalid() {
        let rc = ext();
        let mut r = rule("cards", Action::Block);
        r.reply = Some("550 5.7.1 Message blocked: it contains payment card numbers".into());
        let d = evaluate(&[r.clone()], &out_env(&rc), &Findings::default(), &org());
        assert_eq!(
            d.reply.as_deref(),
            Some("550 5.7.1 Message blocked: it contains payment card numbers")
        );
        r.reply = Some("250 ok".into());
        let d = evaluate(&[r], &out_env(&rc), &Findings::default(), &org());
        assert_eq!(
            d.reply.as_deref(),
            Some("550 5.7.1 Message rejected by data loss prevention policy cards")
        );
    }

    #[test]
    fn redirect_carries_target_or_fails_closed() {
        let rc = ext();
        let mut r = rule("r", Action::Redirect);
        r.redirect_to = Some("compliance@contoso.com".into());
        let d = evaluate(&[r.clone()], &out_env(&rc), &Findings::default(), &org());
        assert_eq!(d.action, Action::Redirect);
        assert_eq!(d.redirect_to.as_deref(), Some("compliance@contoso.com"));
        r.redirect_to = None;
        let d = evaluate(&[r], &out_env(&rc), &Findings::default(), &org());
        assert_eq!(d.action, Action::Block);
        assert!(d.reply.is_some());
    }

    #[test]
    fn direction_condition() {
        let mut r = rule("out", Action::Tag);
        r.direction = Direction::Outbound;
        let rules = [r];
        let f = Findings::default();
        let o = org();
        let ext = ext();
        let int: Vec<String> = vec!["carol@contoso.com".into()];
        assert_eq!(evaluate(&rules, &out_env(&ext), &f, &o).action, Action::Tag);
        assert_eq!(
            evaluate(&rules, &out_env(&int), &f, &o).action,
            Action::Deliver
        );
        let inbound = EnvelopeFacts {
            sender: "x@example.net",
            rcpts: &int,
            size: 1,
        };
        assert_eq!(evaluate(&rules, &inbound, &f, &o).action, Action::Deliver);
    }

    #[test]
    fn sender_and_recipient_conditions() {
        let f = Findings::default();
        let o = org();
        let rc: Vec<String> = vec!["carol@contoso.com".into(), "Bob@Example.net".into()];
        let env = out_env(&rc);
        type Case = (Box<dyn Fn(&mut Rule)>, bool);
        let cases: Vec<Case> = vec![
            (
                Box::new(|r| r.senders = vec![AddressPattern::Domain("contoso.com".into())]),
                true,
            ),
            (
                Box::new(|r| r.senders = vec![AddressPattern::Address("x@contoso.com".into())]),
                false,
            ),
            (
                Box::new(|r| {
                    r.recipients = vec![AddressPattern::Address("bob@example.net".into())]
                }),
                true,
            ),
            (
                Box::new(|r| r.recipients = vec![AddressPattern::Domain("example.org".into())]),
                false,
            ),
            (
                Box::new(|r| {
                    r.except_senders = vec![AddressPattern::Address("alice@contoso.com".into())]
                }),
                false,
            ),
            (
                Box::new(|r| r.except_senders = vec![AddressPattern::Domain("example.net".into())]),
                true,
            ),
            (
                Box::new(|r| {
                    r.except_recipients = vec![AddressPattern::Domain("example.net".into())]
                }),
                false,
            ),
            (
                Box::new(|r| {
                    r.except_recipients = vec![AddressPattern::Domain("example.org".into())]
                }),
                true,
            ),
            (Box::new(|r| r.min_size = Some(1000)), true),
            (Box::new(|r| r.min_size = Some(1001)), false),
            (Box::new(|r| r.unscannable = true), false),
        ];
        for (i, (set, want)) in cases.into_iter().enumerate() {
            let mut r = rule("r", Action::Tag);
            set(&mut r);
            let got = evaluate(&[r], &env, &f, &o).action == Action::Tag;
            assert_eq!(got, want, "case {i}");
        }
    }

    #[test]
    fn content_conditions_count_and_confidence() {
        let rc = ext();
        let env = out_env(&rc);
        let o = org();
        // 5 distinct cards at low or above, 3 at medium, 1 at high.
        let f = findings(vec![det("credit_card", 5, 3, 1)]);
        let check = |names: &[&str], min_count: u32, conf: CC| {
            let mut r = rule("r", Action::Block);
            r.matches = names.iter().map(|s| s.to_string()).collect();
            r.min_count = min_count;
            r.min_confidence = conf;
            evaluate(&[r], &env, &f, &o).action == Action::Block
        };
        assert!(check(&["credit_card"], 1, CC::Medium));
        assert!(check(&["credit_card"], 3, CC::Medium));
        assert!(!check(&["credit_card"], 4, CC::Medium));
        assert!(check(&["credit_card"], 5, CC::Low));
        assert!(!check(&["credit_card"], 2, CC::High));
        assert!(!check(&["us_ssn"], 1, CC::Low));
        assert!(check(&["us_ssn", "credit_card"], 1, CC::High));
        assert!(!check(&["unscannable"], 1, CC::Medium));
        // min_count 0 is treated as 1: an absent detector never matches.
        assert!(!check(&["iban"], 0, CC::Low));
    }

    #[test]
    fn a_fingerprint_set_matches_on_the_share_of_its_closest_document() {
        let rc = ext();
        let env = out_env(&rc);
        let o = org();
        let mut d = det("doc:contracts", 41, 41, 41);
        d.similarity = Some(cordon_dlp::Similarity {
            document: "msa.docx".into(),
            matched: 41,
            of: 140,
        });
        let f = findings(vec![d]);
        let check = |min_similarity: u16| {
            let mut r = rule("r", Action::Block);
            r.matches = vec!["doc:contracts".into()];
            r.min_similarity = min_similarity;
            // A share, not a count: min_count plays no part.
            r.min_count = 1000;
            evaluate(&[r], &env, &f, &o).action == Action::Block
        };
        assert!(check(250), "41 of 140 is 0.29");
        assert!(check(290));
        assert!(!check(300));
        assert!(!check(1000));
        let empty = findings(vec![]);
        let mut r = rule("r", Action::Block);
        r.matches = vec!["doc:contracts".into()];
        assert_eq!(evaluate(&[r], &env, &empty, &o).action, Action::Deliver);
    }

    #[test]
    fn bundles_sum_their_members() {
        let rc = ext();
        let env = out_env(&rc);
        let o = org();
        let f = findings(vec![det("fr_nir", 2, 2, 2), det("de_tax_id", 1, 1, 0)]);
        let check = |name: &str, min_count: u32, conf: CC| {
            let mut r = rule("r", Action::Block);
            r.matches = vec![name.to_string()];
            r.min_count = min_count;
            r.min_confidence = conf;
            evaluate(&[r], &env, &f, &o).action == Action::Block
        };
        assert!(check("gdpr", 3, CC::Medium), "2 French + 1 German");
        assert!(!check("gdpr", 4, CC::Medium));
        assert!(!check("gdpr", 3, CC::High), "the German one is medium");
        assert!(check("id_fr", 2, CC::High));
        assert!(!check("id_de", 1, CC::High));
        assert!(!check("pci", 1, CC::Low));
        assert!(!check("secrets", 1, CC::Low));
    }

    #[test]
    fn unscannable_condition_and_match_name() {
        let rc = ext();
        let env = out_env(&rc);
        let mut f = Findings::default();
        f.unscannable.push(Unscannable {
            reason: UnscannableReason::EncryptedArchive,
            location: "2/a.zip".into(),
        });
        let mut r1 = rule("u1", Action::Quarantine);
        r1.unscannable = true;
        let mut r2 = rule("u2", Action::Quarantine);
        r2.matches = vec!["unscannable".into()];
        for r in [r1, r2] {
            assert_eq!(
                evaluate(std::slice::from_ref(&r), &env, &f, &org()).action,
                Action::Quarantine
            );
            // line_too_long alone is not unscannable.
            let mut g = Findings::default();
            g.unscannable.push(Unscannable {
                reason: UnscannableReason::LineTooLong,
                location: "1".into(),
            });
            assert_eq!(evaluate(&[r], &env, &g, &org()).action, Action::Deliver);
        }
    }

    #[test]
    fn attachment_type_condition() {
        let rc = ext();
        let env = out_env(&rc);
        let mut f = Findings::default();
        f.attachments.push(Attachment {
            location: "2/Q3 Report.XLSX".into(),
            file_name: "Q3 Report.XLSX".into(),
            declared_type: "Application/Octet-Stream; name=\"x\"".into(),
            detected_type: "zip".into(),
            size: 100,
        });
        let check = |types: &[&str]| {
            let mut r = rule("r", Action::Tag);
            r.attachment_types = types.iter().map(|s| s.to_string()).collect();
            evaluate(&[r], &env, &f, &org()).action == Action::Tag
        };
        assert!(check(&["xlsx"]));
        assert!(check(&[".xlsx"]));
        assert!(check(&["ZIP"]));
        assert!(check(&["application/octet-stream"]));
        assert!(check(&["pdf", "xlsx"]));
        assert!(!check(&["pdf"]));
        assert!(!check(&["application/pdf"]));
        assert!(!check(&["report.xlsx"]));
        assert!(!check(&["image"]));
        f.attachments.push(Attachment {
            location: "3/logo".into(),
            file_name: "logo".into(),
            declared_type: "application/octet-stream".into(),
            detected_type: "png".into(),
            size: 100,
        });
        let check = |types: &[&str]| {
            let mut r = rule("r", Action::Tag);
            r.attachment_types = types.iter().map(|s| s.to_string()).collect();
            evaluate(&[r], &env, &f, &org()).action == Action::Tag
        };
        assert!(check(&["image"]) && check(&["PNG"]) && !check(&["jpeg"]));
        assert!(!evaluate(
            &[{
                let mut r = rule("r", Action::Tag);
                r.attachment_types = vec!["xlsx".into()];
                r
            }],
            &env,
            &Findings::default(),
            &org()
        )
        .matched
        .contains(&"r".to_string()));
    }

    #[test]
    fn scan_error_modes() {
        let d = on_scan_error(OnScanError::Block, "scan_timeout");
        assert_eq!(d.action, Action::Block);
        let r = d.reply.unwrap();
        assert!(r.starts_with("550 5.7.1") && r.contains("scan_timeout"));
        assert!(parse_reply_line(&r).is_ok());
        let d = on_scan_error(OnScanError::Tempfail, "inflated_bytes_limit\r\n");
        let r = d.reply.unwrap();
        assert!(r.starts_with("451 4.7.1") && parse_reply_line(&r).is_ok());
        let d = on_scan_error(OnScanError::DeliverTagged, "x");
        assert_eq!(d.action, Action::Tag);
        assert_eq!(d.rule.as_deref(), Some("scan-error"));
        assert_eq!(d.reply, None);
    }
}
