//! Rendering a [`Snapshot`]: the Prometheus text exposition format, version 0.0.4
//! (`# HELP`, `# TYPE`, one sample per line, histograms as cumulative `_bucket{le=..}` with
//! `+Inf`, `_sum` and `_count`), and the name/value pairs of the config port's `counters`.

use std::fmt::Write;

use crate::cells::Snapshot;
use crate::table::{micros_as_seconds, Id, Kind, Labels, Metric, Scope, TABLE};

/// The `Content-Type` of [`exposition`].
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A label value as the format requires: `\`, `"` and newline escaped.
pub fn escape_label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// HELP text as the format requires: `\` and newline escaped.
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

fn id_of(i: usize, _m: &Metric) -> Id {
    crate::table::IDS[i]
}

/// Every metric of the table, from one snapshot.
pub fn exposition(s: &Snapshot) -> String {
    let mut out = String::with_capacity(8 * 1024);
    for (i, m) in TABLE.iter().enumerate() {
        let id = id_of(i, m);
        let _ = writeln!(out, "# HELP {} {}", m.name, escape_help(m.help));
        let _ = writeln!(out, "# TYPE {} {}", m.name, m.kind.type_name());
        match (m.scope, m.kind, m.labels) {
            (Scope::Appliance, Kind::Histogram(_), _) => {
                let h = s.histogram(id);
                let les = h
                    .bounds_us
                    .iter()
                    .map(|b| micros_as_seconds(*b))
                    .chain(["+Inf".to_string()]);
                for (le, n) in les.zip(&h.cumulative) {
                    let _ = writeln!(out, "{}_bucket{{le=\"{le}\"}} {n}", m.name);
                }
                let _ = writeln!(out, "{}_sum {}", m.name, micros_as_seconds(h.sum_us));
                let _ = writeln!(out, "{}_count {}", m.name, h.count);
            }
            (Scope::Appliance, _, Labels::None) => {
                let _ = writeln!(out, "{} {}", m.name, s.total(id));
            }
            (Scope::Appliance, _, Labels::Verdict) => {
                for (v, n) in s.by_verdict(id) {
                    let _ = writeln!(out, "{}{{verdict=\"{v}\"}} {n}", m.name);
                }
            }
            (Scope::Appliance, _, Labels::Detector) => {
                for (d, n) in s.detectors() {
                    let _ = writeln!(out, "{}{{detector=\"{}\"}} {n}", m.name, escape_label(&d));
                }
            }
            (_, _, Labels::SlotClass) => {
                for (w, c, n) in s.per_worker_class(id) {
                    let _ = writeln!(out, "{}{{worker=\"{w}\",class=\"{c}\"}} {n}", m.name);
                }
            }
            (Scope::Worker, _, _) => {
                for (w, n) in s.per_worker(id) {
                    let _ = writeln!(out, "{}{{worker=\"{w}\"}} {n}", m.name);
                }
            }
        }
    }
    out
}

/// The same values as name/value pairs for `cordonctl counters`: the metric name without
/// `cordon_`, a label value after a dot (`messages_total.block`, `sessions_in_use.w0`),
/// histograms as `_count`, `_sum_us` and their non-empty buckets (`_bucket.le_0.001`), and last
/// the detectors that matched (`detector_hits_total.credit_card`).
pub fn pairs(s: &Snapshot) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut detectors = Vec::new();
    for (i, m) in TABLE.iter().enumerate() {
        let id = id_of(i, m);
        let name = m.name.strip_prefix("cordon_").unwrap_or(m.name);
        match (m.scope, m.kind, m.labels) {
            (Scope::Appliance, Kind::Histogram(_), _) => {
                let h = s.histogram(id);
                out.push((format!("{name}_count"), h.count));
                out.push((format!("{name}_sum_us"), h.sum_us));
                let mut below = 0;
                for (b, n) in h.bounds_us.iter().zip(&h.cumulative) {
                    if *n > below {
                        out.push((format!("{name}_bucket.le_{}", micros_as_seconds(*b)), *n));
                    }
                    below = *n;
                }
            }
            (Scope::Appliance, _, Labels::None) => out.push((name.to_string(), s.total(id))),
            (Scope::Appliance, _, Labels::Verdict) => {
                for (v, n) in s.by_verdict(id) {
                    out.push((format!("{name}.{v}"), n));
                }
            }
            (Scope::Appliance, _, Labels::Detector) => {
                // Last, and only the detectors that matched: a catalogue of 150+ names would
                // otherwise fill a `counters` reply (at most 128 names) before the rows that
                // follow them.
                detectors.extend(
                    s.detectors()
                        .into_iter()
                        .filter(|(_, n)| *n > 0)
                        .map(|(d, n)| (format!("{name}.{d}"), n)),
                );
            }
            (_, _, Labels::SlotClass) => {
                for (w, c, n) in s.per_worker_class(id) {
                    out.push((format!("{name}.w{w}.c{c}"), n));
                }
            }
            (Scope::Worker, _, _) => {
                for (w, n) in s.per_worker(id) {
                    out.push((format!("{name}.w{w}"), n));
                }
            }
        }
    }
    out.extend(detectors);
    out
}

/// The table as the Markdown of docs/operations.md (a test there keeps the page equal to it).
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| metric | type | labels | unit | resets at | meaning |\n|---|---|---|---|---|---|\n",
    );
    for m in TABLE {
        let labels = match (m.labels, m.scope) {
            (Labels::Verdict, _) => "verdict",
            (Labels::Detector, _) => "detector",
            (Labels::SlotClass, _) => "worker, class",
            (Labels::None, Scope::Worker) => "worker",
            (Labels::None, Scope::Appliance) => "",
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} |",
            m.name,
            m.kind.type_name(),
            labels,
            m.unit,
            m.reset,
            m.help
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cells::Store;

    fn sample() -> Snapshot {
        let store = Store::heap(2);
        let names = vec!["credit_card".to_string(), "we\"ird\\name".to_string()];
        let (a, _) = store.recorder(0, &names);
        let (b, _) = store.recorder(1, &names);
        a.add_verdict(Id::Messages, 0, 3);
        b.add_verdict(Id::Messages, 4, 2);
        a.detector_hit("we\"ird\\name");
        a.observe(Id::ScanSeconds, 300);
        b.observe(Id::ScanSeconds, 20_000_000);
        b.set(Id::SessionsInUse, 4);
        // Worker 1 has two buffer classes, one of them in use.
        b.set_class(Id::MessageSlotBytes, 0, 262_144);
        b.set_class(Id::MessageSlotBytes, 1, 157_286_400);
        b.set_class(Id::MessageSlots, 0, 60);
        b.set_class(Id::MessageSlots, 1, 1);
        b.set_class(Id::MessageSlotsInUse, 1, 1);
        store.snapshot()
    }

    #[test]
    fn label_values_escape_backslash_quote_and_newline() {
        assert_eq!(escape_label("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
        assert_eq!(escape_help("x\\y\nz"), "x\\\\y\\nz");
    }

    #[test]
    fn every_metric_has_help_and_type_before_its_samples() {
        let text = exposition(&sample());
        for m in TABLE {
            let help = text
                .find(&format!("# HELP {} ", m.name))
                .unwrap_or_else(|| panic!("no HELP for {}", m.name));
            let ty = text
                .find(&format!("# TYPE {} {}\n", m.name, m.kind.type_name()))
                .unwrap_or_else(|| panic!("no TYPE for {}", m.name));
            assert!(help < ty);
            if let Some(first) = text.lines().position(|l| {
                !l.starts_with('#')
                    && l.strip_prefix(m.name).is_some_and(|r| {
                        let r = ["_bucket", "_sum", "_count"]
                            .iter()
                            .find_map(|x| r.strip_prefix(x))
                            .unwrap_or(r);
                        r.starts_with(['{', ' '])
                    })
            }) {
                let ty_line = text[..ty].lines().count();
                assert!(first > ty_line, "{} sample before its TYPE", m.name);
            }
        }
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn samples_carry_the_summed_values_and_escaped_labels() {
        let text = exposition(&sample());
        assert!(
            text.contains("cordon_messages_total{verdict=\"deliver\"} 3\n"),
            "{text}"
        );
        assert!(text.contains("cordon_messages_total{verdict=\"block\"} 2\n"));
        assert!(text.contains("cordon_detector_hits_total{detector=\"we\\\"ird\\\\name\"} 1\n"));
        assert!(text.contains("cordon_sessions_in_use{worker=\"0\"} 0\n"));
        assert!(text.contains("cordon_sessions_in_use{worker=\"1\"} 4\n"));
        assert!(text.contains("cordon_worker_restarts_total{worker=\"1\"} 0\n"));
        // Per class, only the classes a worker has.
        assert!(text.contains("cordon_message_slots{worker=\"1\",class=\"0\"} 60\n"));
        assert!(text.contains("cordon_message_slots_in_use{worker=\"1\",class=\"1\"} 1\n"));
        assert!(text.contains("cordon_message_slot_bytes{worker=\"1\",class=\"1\"} 157286400\n"));
        assert!(!text.contains("class=\"2\""), "{text}");
        assert!(
            !text.contains("cordon_message_slots{worker=\"0\""),
            "{text}"
        );
    }

    #[test]
    fn histograms_are_cumulative_with_inf_sum_and_count() {
        let text = exposition(&sample());
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("cordon_scan_seconds"))
            .collect();
        assert_eq!(lines[0], "cordon_scan_seconds_bucket{le=\"0.0001\"} 0");
        assert_eq!(lines[2], "cordon_scan_seconds_bucket{le=\"0.0005\"} 1");
        assert!(lines.contains(&"cordon_scan_seconds_bucket{le=\"10\"} 1"));
        let n = lines.len();
        assert_eq!(lines[n - 3], "cordon_scan_seconds_bucket{le=\"+Inf\"} 2");
        assert_eq!(lines[n - 2], "cordon_scan_seconds_sum 20.0003");
        assert_eq!(lines[n - 1], "cordon_scan_seconds_count 2");
    }

    #[test]
    fn pairs_name_the_same_values() {
        let p = pairs(&sample());
        let get = |n: &str| p.iter().find(|(k, _)| k == n).map(|(_, v)| *v);
        assert_eq!(get("messages_total.deliver"), Some(3));
        assert_eq!(get("messages_total.block"), Some(2));
        assert_eq!(get("scan_seconds_count"), Some(2));
        assert_eq!(get("scan_seconds_bucket.le_0.0005"), Some(1));
        assert_eq!(get("scan_seconds_bucket.le_0.0001"), None);
        assert_eq!(get("sessions_in_use.w1"), Some(4));
        // The config port's names are bounded (cordon-wire's MAX_NAME_LEN, 48).
        assert!(
            TABLE.iter().all(|m| m.name.len() + 12 <= 48),
            "a name is too long"
        );
    }
}
