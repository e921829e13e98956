//! Which keys differ between two config texts, for the audit trail's "what changed".

/// The dotted keys (`policy.on_scan_error`, `rule[2].action`) whose values differ between two
/// TOML texts, in order; a table or array present on one side only is named once. A text that
/// does not parse compares as empty.
pub fn changed_keys(old: &str, new: &str) -> Vec<String> {
    let old: toml::Table = old.parse().unwrap_or_default();
    let new: toml::Table = new.parse().unwrap_or_default();
    let mut out = Vec::new();
    tables("", &old, &new, &mut out);
    out
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn tables(prefix: &str, old: &toml::Table, new: &toml::Table, out: &mut Vec<String>) {
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        let path = join(prefix, k);
        match (old.get(k), new.get(k)) {
            (Some(a), Some(b)) => values(&path, a, b, out),
            _ => out.push(path),
        }
    }
}

fn values(path: &str, old: &toml::Value, new: &toml::Value, out: &mut Vec<String>) {
    use toml::Value::{Array, Table};
    match (old, new) {
        (Table(a), Table(b)) => tables(path, a, b, out),
        (Array(a), Array(b)) if a.iter().chain(b).all(toml::Value::is_table) => {
            for i in 0..a.len().max(b.len()) {
                let item = format!("{path}[{i}]");
                match (a.get(i), b.get(i)) {
                    (Some(x), Some(y)) => values(&item, x, y, out),
                    _ => out.push(item),
                }
            }
        }
        (a, b) if a != b => out.push(path.to_string()),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_changed_added_and_removed_keys() {
        let old = "[gateway]\nhostname = \"a.example\"\nlisten = [\"127.0.0.1:25\"]\n[[rule]]\nname = \"ssn\"\naction = \"tag\"\n";
        let new = "[gateway]\nhostname = \"a.example\"\nlisten = [\"127.0.0.1:2525\"]\n[[rule]]\nname = \"ssn\"\naction = \"block\"\n[[rule]]\nname = \"iban\"\naction = \"tag\"\n[policy]\non_scan_error = \"block\"\n";
        assert_eq!(
            changed_keys(old, new),
            ["gateway.listen", "policy", "rule[0].action", "rule[1]"]
        );
        assert!(changed_keys(new, new).is_empty());
        // Comments and layout are not changes.
        assert!(changed_keys(old, &format!("# note\n{old}")).is_empty());
    }
}
