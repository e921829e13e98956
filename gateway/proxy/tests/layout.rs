//! The shape issue 14 asks of the proxy and the binary, checked on their sources: no file over
//! 600 lines (400 in `session/`) not counting its `#[cfg(test)]` module, and no import circle
//! between files. Both crates are read from here (the binary crate has no library to test
//! against).
//!
//! The import graph is built from the paths the code names: `use crate::a::{b, c::d}` and
//! inline `crate::a::b`, and `super::` (to the parent file). A path resolves to the deepest file
//! it names (`session/relay.rs`, else `session/mod.rs`, else the crate root for re-exported
//! items). Method calls between the files of one module (`impl Session` spread over
//! `session/*.rs`) are not imports and are not counted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The longest a file of the proxy or the binary may be.
const MAX_LINES: usize = 600;
/// The longest a file of `session/` may be: one verb, or the state and its loop.
const MAX_SESSION_LINES: usize = 400;

fn crates() -> [PathBuf; 2] {
    let proxy = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let cordon = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cordon/src");
    [proxy, cordon]
}

/// Every `.rs` file under `dir`, relative to it.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).expect("read the source directory") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path.strip_prefix(dir).expect("under dir").to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// The file's code before its `#[cfg(test)]` module, without comments.
fn code(text: &str) -> Vec<&str> {
    text.lines()
        .take_while(|l| l.trim() != "#[cfg(test)]")
        .map(|l| {
            let t = l.trim_start();
            if t.starts_with("//") {
                ""
            } else {
                l
            }
        })
        .collect()
}

/// The module path of a file: `session/mod.rs` -> `session`, `session/data.rs` -> `session::data`.
fn module_of(file: &Path) -> Vec<String> {
    let mut parts: Vec<String> = file
        .with_extension("")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// Expands `a::{b, c::{d, e}}` into `a::b`, `a::c::d`, `a::c::e`.
fn expand(path: &str) -> Vec<String> {
    let path = path.trim();
    let Some(open) = path.find('{') else {
        return vec![path.to_string()];
    };
    let prefix = &path[..open];
    let close = path.rfind('}').unwrap_or(path.len());
    let inner = &path[open + 1..close];
    let mut items = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&inner[start..]);
    items
        .into_iter()
        .filter(|i| !i.trim().is_empty())
        .flat_map(expand)
        .map(|i| format!("{prefix}{i}"))
        .collect()
}

/// The paths after `crate::` in `code`, each cut at its end (a `use` group is expanded).
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let boundary = at == 0 || {
            let before = rest.as_bytes()[at - 1];
            !(before.is_ascii_alphanumeric() || before == b'_' || before == b'$')
        };
        let tail = &rest[at + "crate::".len()..];
        rest = tail;
        if !boundary {
            continue;
        }
        // A plain path ends at the first character that cannot be in one; a `use` group runs
        // on to its closing brace.
        let mut end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(tail.len());
        if tail[end..].starts_with('{') {
            let mut depth = 0;
            for (i, c) in tail[end..].char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            end += i + 1;
                            break;
                        }
                    }
                    _ => {}
                }
            }
        }
        for p in expand(&tail[..end]) {
            let segs: Vec<String> = p
                .split("::")
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty() && s != "self")
                .collect();
            if !segs.is_empty() {
                out.push(segs);
            }
        }
    }
    out
}

/// The deepest file of `files` that the module path `segs` names.
fn resolve(files: &BTreeMap<Vec<String>, PathBuf>, segs: &[String]) -> Option<PathBuf> {
    (0..=segs.len())
        .rev()
        .find_map(|n| files.get(&segs[..n].to_vec()).cloned())
}

/// The import edges between the files of one crate.
fn graph(dir: &Path) -> BTreeMap<PathBuf, BTreeSet<PathBuf>> {
    let files: BTreeMap<Vec<String>, PathBuf> = sources(dir)
        .into_iter()
        .map(|f| (module_of(&f), f))
        .collect();
    let mut edges: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    for (module, file) in &files {
        let text = std::fs::read_to_string(dir.join(file)).expect("read a source file");
        let code = code(&text).join("\n");
        let mut targets = BTreeSet::new();
        for segs in crate_paths(&code) {
            if let Some(t) = resolve(&files, &segs) {
                targets.insert(t);
            }
        }
        if code.contains("super::") && !module.is_empty() {
            let parent = module[..module.len() - 1].to_vec();
            if let Some(t) = files.get(&parent) {
                targets.insert(t.clone());
            }
        }
        targets.remove(file);
        edges.insert(file.clone(), targets);
    }
    edges
}

/// A circle in `edges`, as the files along it, if there is one.
fn circle(edges: &BTreeMap<PathBuf, BTreeSet<PathBuf>>) -> Option<Vec<PathBuf>> {
    fn visit(
        at: &PathBuf,
        edges: &BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        done: &mut BTreeSet<PathBuf>,
        stack: &mut Vec<PathBuf>,
    ) -> Option<Vec<PathBuf>> {
        if let Some(i) = stack.iter().position(|f| f == at) {
            let mut c = stack[i..].to_vec();
            c.push(at.clone());
            return Some(c);
        }
        if !done.insert(at.clone()) {
            return None;
        }
        stack.push(at.clone());
        for next in edges.get(at).into_iter().flatten() {
            if let Some(c) = visit(next, edges, done, stack) {
                return Some(c);
            }
        }
        stack.pop();
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|f| visit(f, edges, &mut done, &mut Vec::new()))
}

#[test]
fn no_file_is_over_its_line_limit() {
    let mut over = Vec::new();
    for dir in crates() {
        for file in sources(&dir) {
            let text = std::fs::read_to_string(dir.join(&file)).expect("read a source file");
            let lines = text
                .lines()
                .take_while(|l| l.trim() != "#[cfg(test)]")
                .count();
            let limit = if file.starts_with("session") {
                MAX_SESSION_LINES
            } else {
                MAX_LINES
            };
            println!("{:5} {}", lines, dir.join(&file).display());
            if lines > limit {
                over.push(format!("{}: {lines} > {limit}", dir.join(&file).display()));
            }
        }
    }
    assert!(over.is_empty(), "files over their limit: {over:#?}");
}

#[test]
fn no_import_circle_between_files() {
    for dir in crates() {
        let edges = graph(&dir);
        assert!(
            edges.values().map(BTreeSet::len).sum::<usize>() > 5,
            "the import graph of {} has almost no edges: the parser is broken",
            dir.display()
        );
        if let Some(c) = circle(&edges) {
            panic!("import circle in {}: {c:?}", dir.display());
        }
    }
}

/// The check itself finds what it should: groups, nested groups, inline paths, `super::`, and a
/// circle made of them.
#[test]
fn the_check_sees_use_groups_inline_paths_and_circles() {
    let paths = crate_paths(
        "use crate::{engine, server::{self, Phase}, Error};\nlet x = crate::pool::SLOT + 1;",
    );
    let flat: Vec<String> = paths.iter().map(|p| p.join("::")).collect();
    assert_eq!(
        flat,
        ["engine", "server", "server::Phase", "Error", "pool::SLOT"]
    );
    let mut edges = BTreeMap::new();
    let f = |s: &str| PathBuf::from(s);
    edges.insert(f("boot.rs"), BTreeSet::from([f("control.rs")]));
    edges.insert(f("control.rs"), BTreeSet::from([f("live.rs")]));
    edges.insert(f("live.rs"), BTreeSet::from([f("boot.rs")]));
    assert_eq!(
        circle(&edges),
        Some(vec![
            f("boot.rs"),
            f("control.rs"),
            f("live.rs"),
            f("boot.rs")
        ])
    );
    edges.insert(f("live.rs"), BTreeSet::new());
    assert_eq!(circle(&edges), None);
}
