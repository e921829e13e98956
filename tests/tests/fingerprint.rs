//! Issue 20 item 3 against the running gateway: a protected agreement (a docx written by
//! python-docx; gateway/dlp/tests/fingerprint/make.py) is added with `cordonctl fingerprint
//! add` over the config port; a message carrying a 30% excerpt of it, reflowed, re-cased and
//! re-punctuated, in a PDF attachment (fpdf2) is blocked by a `doc:contracts` rule with
//! `min_similarity = 0.25`, while an unrelated docx goes through; `cordonctl scan` shows the
//! similarity; the set survives a restart; a document without text is refused with the
//! reason and the set stays as it was. No run of four words of the protected text is found
//! anywhere the appliance writes (state directory, log, incidents, audit trail) nor in what
//! reached the smart host (the sender's notification included).

use std::path::PathBuf;

use cordon_tests::*;

const RULES: &str = r#"
[[rule]]
name = "protected-documents"
match = "doc:contracts"
min_similarity = 0.25
action = "block"
reply = "550 5.7.1 Message blocked: it carries a protected document"
notify = ["sender"]
"#;

fn fixture(name: &str) -> PathBuf {
    repo_root().join("gateway/dlp/tests/fingerprint").join(name)
}

/// `cordonctl fingerprint add contracts FILE` over `socket`: its exit code and output.
fn add_to_contracts(socket: &std::path::Path, file: &std::path::Path) -> (i32, String) {
    ctl(
        socket,
        &["fingerprint", "add", "contracts", file.to_str().unwrap()],
    )
}

/// Every run of four words of `text` of at least 20 letters, lower-cased.
fn phrases(text: &str) -> Vec<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    words
        .windows(4)
        .map(|w| w.join(" "))
        .filter(|p| p.len() >= 20)
        .collect()
}

fn assert_no_phrase(phrases: &[String], what: &str, hay: &[u8]) {
    let hay = String::from_utf8_lossy(hay).to_lowercase();
    // Any separator between the words: collapse runs of non-alphanumerics to one space.
    let mut flat = String::with_capacity(hay.len());
    let mut gap = false;
    for c in hay.chars() {
        if c.is_alphanumeric() {
            flat.push(c);
            gap = false;
        } else if !gap {
            flat.push(' ');
            gap = true;
        }
    }
    for p in phrases {
        assert!(
            !flat.contains(p.as_str()),
            "{what} holds the protected text {p:?}"
        );
    }
}

#[test]
fn a_protected_documents_excerpt_is_blocked_and_its_text_is_kept_nowhere() {
    let cap = Capture::start(&[]);
    let dir = TempDir::new("fingerprint");
    let socket = dir.path().join("control.sock");
    let state = dir.path().join("state");
    let mut cfg = Cfg::new(&cap.smarthost());
    cfg.extra = RULES.to_string();
    cfg.control = Some(format!(
        "state_dir = {:?}\nsocket = {:?}\n",
        state.display().to_string(),
        socket.display().to_string()
    ));
    let path = dir.path().join("cordon.toml");
    std::fs::write(&path, cfg.render()).unwrap();
    let gw = Gateway::start_file(&path, &cfg, &[]);
    gw.wait_log("config port listening");

    let protected = fixture("protected.docx");
    let (code, out) = add_to_contracts(&socket, &protected);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("added protected.docx to set contracts: "),
        "{out}"
    );
    let (_, json) = ctl(&socket, &["--json", "fingerprint", "list", "contracts"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["sets"][0]["name"], "contracts", "{json}");
    assert_eq!(v["documents"][0]["name"], "protected.docx", "{json}");
    let fingerprints = v["documents"][0]["fingerprints"].as_u64().unwrap();
    assert!(fingerprints > 1000, "{json}");

    // A document with no text to speak of is refused; the set stays as it was.
    let short = dir.path().join("short.txt");
    std::fs::write(&short, "too short").unwrap();
    let (code, out) = add_to_contracts(&socket, &short);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("short.txt cannot be fingerprinted"), "{out}");
    let (_, json) = ctl(&socket, &["--json", "fingerprint", "list", "contracts"]);
    assert!(json.contains("\"protected.docx\""), "{json}");
    assert!(!json.contains("short.txt"), "{json}");

    let excerpt = with_attachment(
        "excerpt",
        "notes.pdf",
        "application/pdf",
        &std::fs::read(fixture("excerpt.pdf")).unwrap(),
    );
    let unrelated = with_attachment(
        "unrelated",
        "values.docx",
        "application/octet-stream",
        &std::fs::read(repo_root().join("gateway/dlp/tests/carriers/values.docx")).unwrap(),
    );
    let send = |gw: &Gateway, m: &[u8]| {
        let mut c = gw.client();
        c.hello();
        c.send_mail("carol@contoso.com", &["bob@fabrikam.example"], m)
    };
    let r = send(&gw, &excerpt);
    assert_eq!(r.code, 550, "{r:?}");
    assert!(r.text().contains("protected document"), "{r:?}");
    let r = send(&gw, &unrelated);
    assert_eq!(r.code, 250, "{r:?}");

    // The dry run names the set, the document and the share.
    let eml = dir.path().join("excerpt.eml");
    std::fs::write(&eml, &excerpt).unwrap();
    let (code, scan) = ctl(&socket, &["scan", eml.to_str().unwrap()]);
    assert_eq!(code, 0, "{scan}");
    assert!(scan.contains("doc:contracts"), "{scan}");
    assert!(scan.contains("of protected.docx"), "{scan}");
    assert!(scan.contains("protected-documents: match"), "{scan}");

    // The set is on /data: a restart loads it.
    drop(gw);
    let gw = Gateway::start_file(&path, &cfg, &[]);
    gw.wait_log("config port listening");
    assert!(
        gw.logs().contains("fingerprint sets contracts"),
        "{}",
        gw.logs()
    );
    let r = send(&gw, &excerpt);
    assert_eq!(r.code, 550, "after a restart: {r:?}");

    // No four words of the protected text anywhere the appliance writes or sent.
    let text = std::fs::read_to_string(fixture("protected.txt")).unwrap();
    let phrases = phrases(&text);
    assert!(phrases.len() > 2000, "{}", phrases.len());
    for (p, bytes) in files_under(&state) {
        assert_no_phrase(&phrases, &p.display().to_string(), &bytes);
    }
    assert_no_phrase(&phrases, "the gateway log", gw.logs().as_bytes());
    let (_, incidents) = ctl(&socket, &["--json", "incidents"]);
    assert!(incidents.contains("protected-documents"), "{incidents}");
    assert_no_phrase(&phrases, "the incidents", incidents.as_bytes());
    let (_, audit) = ctl(&socket, &["audit"]);
    assert!(audit.contains("fingerprint_add"), "{audit}");
    assert_no_phrase(&phrases, "the audit trail", audit.as_bytes());
    for (p, bytes) in files_under(cap.dir.path()) {
        assert_no_phrase(&phrases, &p.display().to_string(), &bytes);
    }

    // Removing the set: the excerpt goes through.
    let (code, out) = ctl(&socket, &["fingerprint", "remove", "contracts"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("no fingerprint sets"), "{out}");
    let r = send(&gw, &excerpt);
    assert_eq!(r.code, 250, "{r:?}");
}

/// Sets live within the `[edm]` budgets they share with the EDM tables: a document whose
/// fingerprints would not fit is refused with the sizes, and the set stays as it was.
#[test]
fn a_document_over_the_budget_is_refused_with_the_sizes() {
    let cap = Capture::start(&[]);
    let dir = TempDir::new("fingerprint-budget");
    let mut cfg = Cfg::new(&cap.smarthost());
    let socket = cfg.control_in(dir.path());
    cfg.extra = "[edm]\nmemory_bytes = \"64KiB\"\nstorage_bytes = \"64KiB\"\n".into();
    let gw = Gateway::start(&cfg);
    gw.wait_log("config port listening");
    let protected = fixture("protected.docx");
    let (code, out) = add_to_contracts(&socket, &protected);
    assert_eq!(code, 0, "{out}");
    // About 100 KB of words: some 11,000 fingerprints, 110 KB in memory.
    let mut x: u64 = 0x2026_1207;
    let words = [
        "ledger",
        "quarterly",
        "board",
        "merger",
        "audit",
        "forecast",
        "vendor",
    ];
    let mut big = String::new();
    while big.len() < 100_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        big.push_str(words[(x % words.len() as u64) as usize]);
        big.push_str(&format!(" {} ", x % 1000));
    }
    let big_path = dir.path().join("big.txt");
    std::fs::write(&big_path, big).unwrap();
    let (code, out) = add_to_contracts(&socket, &big_path);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("B of memory"), "{out}");
    assert!(out.contains("([edm] memory_bytes)"), "{out}");
    let (_, json) = ctl(&socket, &["--json", "fingerprint", "list", "contracts"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["sets"][0]["documents"], 1, "{json}");
    assert!(!json.contains("big.txt"), "{json}");
}
