//! The verdict headers a relayed message carries for Exchange's transport rules.

use cordon_config::{Action, Headers};

use crate::rules::{printable, Decision};

/// Longest header value written, so `Name: value` stays within the 998-octet
/// line limit of RFC 5322 2.1.1 even with a long configured header name
/// (names are checked to be short by the config). Values are never folded:
/// the gateway inserts them as one line each.
pub const MAX_HEADER_VALUE_BYTES: usize = 900;

/// Fields to add to a relayed message for `decision`, in order. Tag and
/// quarantine carry the action and the rule; redirect adds the original
/// recipients (comma-separated, cut at [`MAX_HEADER_VALUE_BYTES`] with a
/// `... (N more)` tail); deliver and block add nothing (a blocked message is
/// not relayed). The inspected stamp is separate ([`crate::stamp::Stamp`]).
/// Values are single-line printable ASCII.
pub fn verdict_headers(
    decision: &Decision,
    headers: &Headers,
    original_rcpts: &[String],
) -> Vec<(String, String)> {
    let label = match decision.action {
        Action::Deliver | Action::Block => return Vec::new(),
        Action::Tag => "Tag",
        Action::Quarantine => "Quarantine",
        Action::Redirect => "Redirect",
    };
    let mut out = vec![(headers.action.clone(), label.to_string())];
    if let Some(rule) = &decision.rule {
        out.push((headers.rule.clone(), bounded(&printable(rule))));
    }
    if decision.action == Action::Redirect {
        out.push((
            headers.original_recipients.clone(),
            recipient_list(original_rcpts, MAX_HEADER_VALUE_BYTES),
        ));
    }
    out
}

fn bounded(s: &str) -> String {
    // printable() output is ASCII, so any byte index is a char boundary.
    s[..s.len().min(MAX_HEADER_VALUE_BYTES)].to_string()
}

/// `a, b, c` within `max` bytes; addresses that do not fit are counted in a
/// `... (N more)` tail instead of being cut in half.
pub(crate) fn recipient_list(rcpts: &[String], max: usize) -> String {
    // Room kept for the tail: ", ... (" + up to 20 digits + " more)".
    const TAIL: usize = 32;
    let mut out = String::new();
    for (i, r) in rcpts.iter().enumerate() {
        let r = printable(r);
        let sep = if out.is_empty() { "" } else { ", " };
        let last = i + 1 == rcpts.len();
        let budget = if last { max } else { max.saturating_sub(TAIL) };
        if out.len() + sep.len() + r.len() > budget {
            let rest = rcpts.len() - i;
            let sep = if out.is_empty() { "" } else { ", " };
            out.push_str(&format!("{sep}... ({rest} more)"));
            return out;
        }
        out.push_str(sep);
        out.push_str(&r);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdrs() -> Headers {
        Headers {
            inspected: "X-Cordon-Inspected".into(),
            action: "X-Cordon-Action".into(),
            rule: "X-Cordon-Rule".into(),
            original_recipients: "X-Cordon-Original-Recipients".into(),
        }
    }

    fn decision(action: Action) -> Decision {
        Decision {
            action,
            rule: Some("quarantine-pii".into()),
            matched: vec!["quarantine-pii".into()],
            reply: None,
            redirect_to: Some("compliance@contoso.com".into()),
            notify: vec![],
            trace: vec![],
        }
    }

    fn pairs(v: &[(String, String)]) -> Vec<(&str, &str)> {
        v.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
    }

    #[test]
    fn per_action() {
        let r = vec!["a@example.net".to_string(), "b@example.org".to_string()];
        assert!(verdict_headers(&decision(Action::Deliver), &hdrs(), &r).is_empty());
        assert!(verdict_headers(&decision(Action::Block), &hdrs(), &r).is_empty());
        assert_eq!(
            pairs(&verdict_headers(&decision(Action::Tag), &hdrs(), &r)),
            [
                ("X-Cordon-Action", "Tag"),
                ("X-Cordon-Rule", "quarantine-pii")
            ]
        );
        assert_eq!(
            pairs(&verdict_headers(&decision(Action::Quarantine), &hdrs(), &r)),
            [
                ("X-Cordon-Action", "Quarantine"),
                ("X-Cordon-Rule", "quarantine-pii")
            ]
        );
        assert_eq!(
            pairs(&verdict_headers(&decision(Action::Redirect), &hdrs(), &r)),
            [
                ("X-Cordon-Action", "Redirect"),
                ("X-Cordon-Rule", "quarantine-pii"),
                (
                    "X-Cordon-Original-Recipients",
                    "a@example.net, b@example.org"
                )
            ]
        );
    }

    #[test]
    fn long_recipient_lists_are_cut_with_a_count() {
        let r: Vec<String> = (0..200)
            .map(|i| format!("user{i:03}@example.net"))
            .collect();
        let h = verdict_headers(&decision(Action::Redirect), &hdrs(), &r);
        let v = &h[2].1;
        assert!(v.len() <= MAX_HEADER_VALUE_BYTES, "{}", v.len());
        assert!(h[2].0.len() + 2 + v.len() <= 998);
        let shown = v.split(", ").filter(|s| s.contains('@')).count();
        assert!(v.ends_with(&format!("... ({} more)", 200 - shown)), "{v}");
        assert!(shown > 30);
        // Exactly fitting lists are not cut.
        let r = vec!["x".repeat(MAX_HEADER_VALUE_BYTES)];
        assert_eq!(recipient_list(&r, MAX_HEADER_VALUE_BYTES), r[0]);
        // A single address that cannot fit.
        let r = vec!["x".repeat(MAX_HEADER_VALUE_BYTES + 1)];
        assert_eq!(recipient_list(&r, MAX_HEADER_VALUE_BYTES), "... (1 more)");
    }

    #[test]
    fn values_are_single_line() {
        let mut d = decision(Action::Redirect);
        d.rule = Some("evil\r\nBcc: x@example.net".into());
        let r = vec!["a@b\r\nX-Injected: 1".to_string()];
        for (_, v) in verdict_headers(&d, &hdrs(), &r) {
            assert!(!v.contains('\r') && !v.contains('\n'), "{v:?}");
        }
    }
}
