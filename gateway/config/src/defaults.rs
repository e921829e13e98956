//! Every optional key's default, as TOML: what `cordonctl config get --effective` fills in
//! and `--changed` leaves out (Postfix's `postconf` and `postconf -n`).
//!
//! The defaults live in the parser (each `unwrap_or`); this text states them once more for
//! people, so a test (`every_default_here_is_the_parsers`) parses a config with and without
//! these keys and requires the same model: the text cannot drift from the parser.
//!
//! Keys whose default is derived from others (`slot_classes` from `max_sessions` and
//! `max_message_size`, `tls_name` from the smart host, `hostname` of `[siem]` from the system)
//! or that name files are not filled in: they stay absent in `--effective`.

use toml::{Table, Value};

/// Sections every running config has, filled in even when the file does not name them.
pub const ALWAYS: &[&str] = &[
    "gateway",
    "relay",
    "organization",
    "headers",
    "timeouts",
    "log",
    "policy",
    "incidents",
];

/// The defaults of sections and of their sub-sections (`gateway.tls`, `control`...: filled in
/// only when the config has that section).
pub const SECTIONS: &str = r#"
[gateway]
listen = []
listen_tls = []
allowed_clients = ["127.0.0.0/8", "::1/128"]
max_message_size = "35MiB"
max_sessions = 64
prefault = true

[gateway.tls]
required = false

[relay]
tls = "required"

[organization]
domains = []

[headers]
inspected = "X-Cordon-Inspected"
action = "X-Cordon-Action"
rule = "X-Cordon-Rule"
original_recipients = "X-Cordon-Original-Recipients"

[timeouts]
connect = "30s"
greeting = "30s"
command = "5m"
mail = "5m"
rcpt = "5m"
data_init = "2m"
data_block = "3m"
data_term = "10m"
idle = "5m"
tls_handshake = "30s"
command_line = "5m"
data_phase = "5m"
min_data_rate = 500
session = "30m"

[log]
level = "info"

[policy]
on_scan_error = "block"
scan_timeout = "30s"
on_loop = "554 5.4.6 Routing loop detected"
incident_ring = 1024

[incidents]
total_bytes = "64MiB"

[control]
socket_mode = "0660"
allowed_uids = [0]
update_waive_smarthost = false

[siem]
transport = "tls"
format = "cef"
backlog = "4MiB"
app_name = "cordon"
facility = 13
"#;

/// The defaults of each element of the table arrays.
pub const ELEMENTS: &str = r#"
[dictionary]
terms = []
case_sensitive = false
whole_word = true

[pattern]
max_len = 64
keywords = []
confidence = "medium"

[rule]
direction = "any"
min_count = 1
min_similarity = 0.3
min_confidence = "medium"
unscannable = false
notify = []
stop = false
"#;

fn table(text: &str) -> Table {
    // The two texts above are constants this module's tests parse.
    text.parse().unwrap_or_default()
}

fn parse(text: &str) -> Result<Table, String> {
    text.parse::<Table>()
        .map_err(|e| format!("the running config is not TOML: {e}"))
}

/// `config` with every absent default filled in.
pub fn effective(config: &str) -> Result<String, String> {
    let mut t = parse(config)?;
    let sections = table(SECTIONS);
    for (name, defaults) in &sections {
        let Value::Table(defaults) = defaults else {
            continue;
        };
        match t.get_mut(name) {
            Some(Value::Table(section)) => fill(section, defaults),
            None if ALWAYS.contains(&name.as_str()) => {
                let mut section = Table::new();
                fill(&mut section, defaults);
                t.insert(name.clone(), Value::Table(section));
            }
            _ => {}
        }
    }
    each_element(&mut t, fill);
    toml::to_string(&t).map_err(|e| format!("cannot print the config: {e}"))
}

/// `config` without the keys that are set to their default (and without sections left
/// empty by that).
pub fn changed(config: &str) -> Result<String, String> {
    let mut t = parse(config)?;
    let sections = table(SECTIONS);
    for (name, defaults) in &sections {
        if let (Some(Value::Table(section)), Value::Table(defaults)) = (t.get_mut(name), defaults) {
            strip(section, defaults);
        }
    }
    t.retain(|_, v| !matches!(v, Value::Table(s) if s.is_empty()));
    each_element(&mut t, strip);
    toml::to_string(&t).map_err(|e| format!("cannot print the config: {e}"))
}

/// Adds each default `section` lacks; sub-sections only where `section` has them.
fn fill(section: &mut Table, defaults: &Table) {
    for (key, value) in defaults {
        match (section.get_mut(key), value) {
            (Some(Value::Table(sub)), Value::Table(d)) => fill(sub, d),
            (None, Value::Table(_)) | (Some(_), _) => {}
            (None, v) => {
                section.insert(key.clone(), v.clone());
            }
        }
    }
}

/// Removes each key of `section` equal to its default.
fn strip(section: &mut Table, defaults: &Table) {
    for (key, value) in defaults {
        match (section.get_mut(key), value) {
            (Some(Value::Table(sub)), Value::Table(d)) => {
                strip(sub, d);
                if sub.is_empty() {
                    section.remove(key);
                }
            }
            (Some(v), d) if v == d => {
                section.remove(key);
            }
            _ => {}
        }
    }
}

/// Applies `f` to every element of the table arrays with its kind's defaults.
fn each_element(t: &mut Table, f: impl Fn(&mut Table, &Table)) {
    let elements = table(ELEMENTS);
    for (name, defaults) in &elements {
        let (Some(Value::Array(items)), Value::Table(defaults)) = (t.get_mut(name), defaults)
        else {
            continue;
        };
        for item in items {
            if let Value::Table(element) = item {
                f(element, defaults);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// Every optional section present, each with only its required keys.
    const MINIMAL: &str = r#"
[gateway]
hostname = "dlp1.contoso.com"
listen = ["127.0.0.1:2525"]

[gateway.tls]
certificate = "c.pem"
private_key = "k.pem"

[relay]
smarthosts = ["mx.contoso.com"]

[control]
state_dir = "/data/cordon"
socket = "/run/cordon/control.sock"

[siem]
target = "siem.contoso.com:6514"
ca_file = "ca.pem"

[[dictionary]]
name = "codenames"
terms = ["blue falcon"]

[[pattern]]
name = "ticket"
regex = "TCK-[0-9]{6}"

[[rule]]
name = "r"
match = ["codenames", "ticket"]
action = "block"
"#;

    /// The model without where each value was written (which moves when keys are added).
    fn model(text: &str) -> String {
        let c = crate::parse(text, Path::new("/etc/cordon/cordon.toml"))
            .unwrap_or_else(|e| panic!("{}\n{text}", e.report()));
        let debug = format!("{c:?}");
        // Drop the numbers of `line: N, column: N`.
        let mut out = String::new();
        let mut rest = debug.as_str();
        let next = |r: &str| {
            [r.find("line: "), r.find("column: ")]
                .into_iter()
                .flatten()
                .min()
        };
        while let Some(i) = next(rest) {
            let at = i + rest[i..].find(' ').unwrap_or(0) + 1;
            out.push_str(&rest[..at]);
            rest = rest[at..].trim_start_matches(|c: char| c.is_ascii_digit());
        }
        out.push_str(rest);
        assert!(
            !out.contains("line: 1") && !out.contains("column: 1"),
            "{out}"
        );
        out
    }

    #[test]
    fn every_default_here_is_the_parsers() {
        let full = effective(MINIMAL).unwrap();
        // Every default was filled in (the tables and elements all gained keys).
        for key in [
            "prefault",
            "data_phase",
            "on_loop",
            "whole_word",
            "stop",
            "facility",
        ] {
            assert!(full.contains(key), "{key} missing in\n{full}");
        }
        assert_eq!(model(MINIMAL), model(&full), "{full}");
    }

    #[test]
    fn changed_is_the_config_without_its_defaults() {
        let set = MINIMAL
            .replace("[relay]\n", "[relay]\ntls = \"required\"\n")
            .replace("[gateway.tls]\n", "[gateway.tls]\nrequired = true\n");
        let c = changed(&set).unwrap();
        assert!(!c.contains("tls = \"required\""), "{c}");
        assert!(c.contains("required = true"), "{c}");
        assert!(c.contains("hostname = \"dlp1.contoso.com\""), "{c}");
        // What `changed` keeps parses to the same config.
        assert_eq!(model(&set), model(&c));
        // And the effective config of the changed keys is the effective config.
        assert_eq!(effective(&c).unwrap(), effective(&set).unwrap());
    }

    #[test]
    fn the_default_texts_are_toml() {
        assert!(SECTIONS.parse::<Table>().is_ok());
        assert!(ELEMENTS.parse::<Table>().is_ok());
    }
}
