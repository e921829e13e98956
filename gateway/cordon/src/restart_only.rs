//! Settings that a running gateway cannot change (they bind sockets or size memory): which of
//! them a new config changes, and the warnings `config check`/`apply` give for them, located
//! in the text.

use cordon_config::Config;
use cordon_control::bounded;

/// Settings that only a restart applies, as `(section, key)`: an empty key is the whole
/// section.
pub fn restart_only(old: &Config, new: &Config) -> Vec<(&'static str, &'static str)> {
    let (o, n) = (&old.gateway, &new.gateway);
    let mut v = Vec::new();
    if o.listen != n.listen {
        v.push(("gateway", "listen"));
    }
    if o.listen_tls != n.listen_tls {
        v.push(("gateway", "listen_tls"));
    }
    if o.max_sessions != n.max_sessions {
        v.push(("gateway", "max_sessions"));
    }
    // Left out of the file, slot_classes is one class of max_sessions buffers of
    // max_message_size: a change there is the change of those keys, already warned about.
    let implied = |g: &cordon_config::Gateway| {
        g.slot_classes
            == [cordon_config::SlotClass {
                size: g.max_message_size,
                count: g.max_sessions,
            }]
    };
    if o.slot_classes != n.slot_classes && !(implied(o) && implied(n)) {
        v.push(("gateway", "slot_classes"));
    }
    if o.max_message_size != n.max_message_size {
        v.push(("gateway", "max_message_size"));
    }
    if o.prefault != n.prefault {
        v.push(("gateway", "prefault"));
    }
    if old.control != new.control {
        v.push(("control", ""));
    }
    // The endpoint is bound at start, like the config port.
    if old.metrics != new.metrics {
        v.push(("metrics", ""));
    }
    if old.policy.incident_ring != new.policy.incident_ring {
        v.push(("policy", "incident_ring"));
    }
    if old.incidents != new.incidents {
        v.push(("incidents", "total_bytes"));
    }
    // The exporter's connection and backlog are set up once, at start.
    if old.siem != new.siem {
        v.push(("siem", ""));
    }
    v
}

/// Where `key` of `[section]` is written in `text` (1-based line and column), or the
/// section's header for an empty key or a key left to its default; `(0, 0)` if neither is
/// written at all.
pub(crate) fn locate(text: &str, section: &str, key: &str) -> (u32, u32) {
    let mut current = "";
    let mut header = (0, 0);
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let col = line.len() - trimmed.len() + 1;
        let at = (
            u32::try_from(n + 1).unwrap_or(u32::MAX),
            u32::try_from(col).unwrap_or(u32::MAX),
        );
        if let Some(name) = trimmed.strip_prefix('[') {
            current = name
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .trim();
            if current == section && header == (0, 0) {
                header = at;
            }
            continue;
        }
        let is_key = trimmed
            .strip_prefix(key)
            .is_some_and(|rest| rest.trim_start().starts_with('='));
        if current == section && !key.is_empty() && is_key {
            return at;
        }
    }
    header
}

/// The restart-only settings `new` (the text `text`) changes, as warnings located in `text`.
pub fn restart_warnings(
    old: &Config,
    new: &Config,
    text: &str,
) -> cordon_control::backend::Warnings {
    let mut warnings = heapless::Vec::new();
    for (section, key) in restart_only(old, new) {
        let (line, column) = locate(text, section, key);
        let name = if key.is_empty() {
            section.to_string()
        } else {
            format!("{section}.{key}")
        };
        let _ = warnings.push(cordon_wire::Issue {
            file: bounded(cordon_control::persist::UPLOADED_CONFIG_NAME),
            line,
            column,
            key: bounded(&name),
            reason: bounded("changed: takes effect at the next start (cordonctl workers restart, or restart the service)"),
        });
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::locate;

    #[test]
    fn restart_warnings_point_at_the_key_or_its_section() {
        let text = "[gateway]\nhostname = \"x\"\n  max_sessions = 4\n\n[[rule]]\nname = \"a\"\n\n[control]\nstate_dir = \"/d\"\n";
        assert_eq!(locate(text, "gateway", "max_sessions"), (3, 3));
        assert_eq!(locate(text, "gateway", "max_message_size"), (1, 1));
        assert_eq!(locate(text, "control", ""), (8, 1));
        assert_eq!(locate(text, "policy", "incident_ring"), (0, 0));
        // `max_sessions_x` is another key.
        assert_eq!(
            locate("[gateway]\nmax_sessions_x = 1\n", "gateway", "max_sessions"),
            (1, 1)
        );
    }
}
