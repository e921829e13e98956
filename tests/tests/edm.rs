//! Issue 20 items 1 and 2 against the running gateway: a customer table hashed offline by
//! `cordonctl edm hash`, installed with `cordonctl edm upload` over the config port, and an
//! `edm:customers` rule with `min_count = 3` deciding real SMTP transactions: three rows
//! written differently from the table (other case, grouped digits, other date forms) are
//! blocked; the same numbers with unrelated names, a single field per row, or two rows are
//! not. No cell of the table is found anywhere the appliance writes (state directory, log,
//! incidents, audit trail). Hostile bundles are refused whole with the wire's error and the
//! running table stays, also across a restart.

use std::path::{Path, PathBuf};
use std::process::Command;

use cordon_tests::*;

const RULES: &str = r#"
[[rule]]
name = "customer-records"
match = "edm:customers"
min_count = 3
action = "block"
reply = "550 5.7.1 Message blocked: it contains customer records"

[edm]
memory_bytes = "1MiB"
storage_bytes = "4MiB"
"#;

/// Six columns, two of them primary: the 48-byte row of the acceptance figure.
const SCHEMA: &str = EDM_SCHEMA;

/// Rows in the table: small enough for CI, large enough that rows share names.
const ROWS: usize = 2_000;

const FIRST: [&str; 12] = [
    "Annabel",
    "Bartholomew",
    "Cordelia",
    "Desmond",
    "Evangeline",
    "Fitzgerald",
    "Gwendolyn",
    "Horatio",
    "Imogen",
    "Jasper",
    "Katarina",
    "Leopold",
];
const LAST: [&str; 12] = [
    "Ashcombe",
    "Blackwood",
    "Carmichael",
    "Drummond",
    "Ellsworth",
    "Fairweather",
    "Greenhalgh",
    "Hollingsworth",
    "Ingleby",
    "Jarrowfield",
    "Kittredge",
    "Lockhart",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// A deterministic generator (xorshift64*), so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Clone, Debug)]
struct Row {
    card: String,
    email: String,
    first: String,
    last: String,
    /// (year, month, day)
    dob: (u32, u32, u32),
    postcode: String,
}

impl Row {
    fn iso_dob(&self) -> String {
        let (y, m, d) = self.dob;
        format!("{y:04}-{m:02}-{d:02}")
    }

    fn cells(&self) -> [String; 6] {
        [
            self.card.clone(),
            self.email.clone(),
            self.first.clone(),
            self.last.clone(),
            self.iso_dob(),
            self.postcode.clone(),
        ]
    }

    /// The card as people write it: four groups of four.
    fn grouped_card(&self) -> String {
        self.card
            .as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A 16-digit number starting with 4 whose last digit makes the Luhn sum a multiple of 10.
fn luhn_card(rng: &mut Rng) -> String {
    let mut digits: Vec<u32> = vec![4];
    digits.extend((0..14).map(|_| rng.below(10) as u32));
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    digits.push((10 - sum % 10) % 10);
    digits
        .iter()
        .map(|d| char::from_digit(*d, 10).unwrap())
        .collect()
}

fn table() -> Vec<Row> {
    let mut rng = Rng(0x5eed_2026_1206_0001);
    let letter = |rng: &mut Rng| (b'A' + rng.below(26) as u8) as char;
    (0..ROWS)
        .map(|i| {
            let first = FIRST[rng.below(12) as usize].to_string();
            let last = LAST[rng.below(12) as usize].to_string();
            Row {
                card: luhn_card(&mut rng),
                email: format!(
                    "{}.{}{i}@example.org",
                    first.to_lowercase(),
                    last.to_lowercase()
                ),
                dob: (
                    1940 + rng.below(60) as u32,
                    1 + rng.below(12) as u32,
                    // Day 13 or later: the date reads one way only.
                    13 + rng.below(16) as u32,
                ),
                postcode: format!(
                    "{}{}{} {}{}{}",
                    letter(&mut rng),
                    letter(&mut rng),
                    1 + rng.below(9),
                    rng.below(10),
                    letter(&mut rng),
                    letter(&mut rng)
                ),
                first,
                last,
            }
        })
        .collect()
}

fn csv(rows: &[Row]) -> String {
    let mut out = String::from("customer_id,card,email,first_name,last_name,dob,postcode\n");
    for (i, r) in rows.iter().enumerate() {
        let c = r.cells();
        out += &format!(
            "C{i:06},{},{},{},{},{},{}\n",
            c[0], c[1], c[2], c[3], c[4], c[5]
        );
    }
    out
}

/// `cordonctl edm hash`: writes the bundle to `out`; returns the summary on stderr.
fn hash(schema: &Path, csv: &Path, key: &Path, out: &Path) -> String {
    let run = Command::new(bin("cordonctl"))
        .args(["edm", "hash", "--schema"])
        .arg(schema)
        .arg(csv)
        .arg("--key-file")
        .arg(key)
        .output()
        .expect("run cordonctl edm hash");
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    assert!(run.status.success(), "edm hash: {stderr}");
    std::fs::write(out, &run.stdout).unwrap();
    stderr
}

struct Appliance {
    cfg: Cfg,
    path: PathBuf,
    socket: PathBuf,
    state: PathBuf,
}

impl Appliance {
    fn new(cap: &Capture, dir: &Path) -> Appliance {
        let socket = dir.join("control.sock");
        let state = dir.join("state");
        let mut cfg = Cfg::new(&cap.smarthost());
        cfg.max_sessions = 8;
        cfg.extra = RULES.to_string();
        cfg.control = Some(format!(
            "state_dir = {:?}\nsocket = {:?}\n",
            state.display().to_string(),
            socket.display().to_string()
        ));
        let path = dir.join("cordon.toml");
        std::fs::write(&path, cfg.render()).unwrap();
        Appliance {
            cfg,
            path,
            socket,
            state,
        }
    }

    fn start(&self) -> Gateway {
        let gw = Gateway::start_file(&self.path, &self.cfg, &[]);
        gw.wait_log("config port listening");
        gw
    }

    fn ctl(&self, args: &[&str]) -> (i32, String) {
        ctl(&self.socket, args)
    }

    fn json(&self, args: &[&str]) -> String {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let (code, out) = self.ctl(&all);
        assert_eq!(code, 0, "{args:?}: {out}");
        out
    }

    fn list(&self) -> serde_json::Value {
        serde_json::from_str(&self.json(&["edm", "list"])).expect("edm list JSON")
    }
}

fn send(gw: &Gateway, subject: &str, body: &str) -> Reply {
    gw.send_text("carol@contoso.com", subject, body)
}

/// Row `r`'s card, its last name in another case and its birth date in one of three other
/// forms: the primary value and two secondary cells, none as the table writes it.
fn line(r: &Row, form: usize) -> String {
    let (y, m, d) = r.dob;
    let date = match form % 3 {
        0 => format!("{d:02}/{m:02}/{y}"),
        1 => format!("{} {d}, {y}", MONTHS[m as usize - 1]),
        _ => format!("{d}.{m}.{y}"),
    };
    format!(
        "- {}, card {}, born {date}\r\n",
        r.last.to_uppercase(),
        r.grouped_card()
    )
}

fn body(lines: &[String]) -> String {
    format!(
        "Hello Bob,\r\n\r\nhere are the accounts we discussed:\r\n\r\n{}\r\nRegards,\r\nCarol\r\n",
        lines.concat()
    )
}

/// Each cell of `rows` as the CSV writes it and as the engine normalises it (digits only,
/// lower case): none may appear in `hay` (`what` names it in the failure).
fn assert_no_cell(rows: &[Row], what: &str, hay: &[u8]) {
    // Names repeat across rows and are words of 6 letters or more; searched
    // case-insensitively, like every other cell. One pass over `hay` per needle length
    // (a handful), not per needle (18,000): the state directory holds megabytes.
    let mut needles: std::collections::BTreeMap<usize, std::collections::HashSet<Vec<u8>>> =
        Default::default();
    for r in rows {
        let mut cells: Vec<String> = r.cells().to_vec();
        cells.push(r.grouped_card());
        cells.push(r.postcode.replace(' ', ""));
        cells.push(r.iso_dob().replace('-', ""));
        for n in cells {
            let n = n.to_ascii_lowercase().into_bytes();
            needles.entry(n.len()).or_default().insert(n);
        }
    }
    let lower = hay.to_ascii_lowercase();
    for (len, set) in &needles {
        if let Some(w) = lower.windows(*len).find(|w| set.contains(*w)) {
            panic!(
                "{what} holds the table cell {:?}",
                String::from_utf8_lossy(w)
            );
        }
    }
}

#[test]
fn customer_records_are_blocked_by_keyed_hashes_and_never_stored_in_clear() {
    let dir = TempDir::new("edm");
    let rows = table();
    let schema = dir.path().join("schema.toml");
    let table_csv = dir.path().join("customers.csv");
    let key = dir.path().join("customers.key");
    let bundle = dir.path().join("customers.edm");
    std::fs::write(&schema, SCHEMA).unwrap();
    std::fs::write(&table_csv, csv(&rows)).unwrap();

    // Offline: the key file is created (mode 0600), the bundle holds no cell.
    let summary = hash(&schema, &table_csv, &key, &bundle);
    assert!(
        summary.contains(&format!("hashed {ROWS} rows in ")),
        "{summary}"
    );
    assert!(summary.contains("rows/s"), "{summary}");
    assert!(summary.contains("48 B/row in memory"), "{summary}");
    assert!(
        summary.contains("not hashed (not in the schema): customer_id"),
        "{summary}"
    );
    eprintln!("edm hash (debug build): {summary}");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&key).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "key file mode {mode:o}");
    let bundle_bytes = std::fs::read(&bundle).unwrap();
    // The grep finds cells where they are (the CSV itself), so its silence below means
    // something.
    let text = std::fs::read(&table_csv).unwrap();
    assert!(std::panic::catch_unwind(|| assert_no_cell(&rows, "the CSV", &text)).is_err());
    assert_no_cell(&rows, "the bundle", &bundle_bytes);
    // Hashing again with the same key gives the same bundle: the key file was reused.
    let again = dir.path().join("again.edm");
    let second = hash(&schema, &table_csv, &key, &again);
    assert!(!second.contains("(new"), "{second}");
    assert_eq!(std::fs::read(&again).unwrap(), bundle_bytes);

    let cap = Capture::start(&[]);
    let app = Appliance::new(&cap, dir.path());
    let gw = app.start();
    let (code, out) = app.ctl(&[
        "edm",
        "upload",
        "customers",
        bundle.to_str().unwrap(),
        "--key-file",
        key.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("customers"), "{out}");
    let listed = app.list();
    let t = &listed["tables"][0];
    assert_eq!(t["name"], "customers", "{listed}");
    assert_eq!(t["rows"], ROWS as u64);
    assert_eq!(t["columns"], 6);
    assert_eq!(t["min_fields"], 3);
    assert_eq!(t["proximity"], 300);
    assert_eq!(
        t["memory_bytes"],
        (48 * ROWS) as u64,
        "48 bytes per row: {listed}"
    );
    assert_eq!(listed["memory_budget"], 1 << 20);
    assert_eq!(listed["storage_budget"], 4 << 20);

    // Three rows, each as card + last name + birth date, reformatted: blocked.
    let three: Vec<String> = [17, 600, 1999]
        .iter()
        .enumerate()
        .map(|(i, &r)| line(&rows[r], i))
        .collect();
    let r = send(&gw, "accounts", &body(&three));
    assert_eq!(r.code, 550, "{r:?}");
    assert!(r.text().contains("customer records"), "{r:?}");

    // The same numbers and dates with unrelated names: two cells of each row, not three.
    let strangers: Vec<String> = three
        .iter()
        .zip([17, 600, 1999])
        .map(|(l, r)| l.replace(&rows[r].last.to_uppercase(), "QUENTIN ZABROWSKI"))
        .collect();
    assert_eq!(send(&gw, "strangers", &body(&strangers)).code, 250);
    // One field of each row: the cards alone, then the names alone.
    let cards: Vec<String> = [17, 600, 1999]
        .iter()
        .map(|&r| format!("- card {}\r\n", rows[r].grouped_card()))
        .collect();
    assert_eq!(send(&gw, "cards-only", &body(&cards)).code, 250);
    let names: Vec<String> = [17, 600, 1999]
        .iter()
        .map(|&r| format!("- {} {}\r\n", rows[r].first, rows[r].last))
        .collect();
    assert_eq!(send(&gw, "names-only", &body(&names)).code, 250);
    // Two whole rows: below min_count = 3.
    assert_eq!(send(&gw, "two-rows", &body(&three[..2])).code, 250);
    assert_eq!(cap.wait_messages(4).len(), 4);

    // The incident names the table and the number of rows, never a value.
    let incidents = app.json(&["incidents"]);
    let blocked: Vec<serde_json::Value> = incidents
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|i: &serde_json::Value| i["action"] == "block")
        .collect();
    assert_eq!(blocked.len(), 1, "{incidents}");
    assert_eq!(blocked[0]["rule"], "customer-records");
    let edm = blocked[0]["detectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "edm:customers")
        .unwrap_or_else(|| panic!("{}", blocked[0]));
    assert_eq!(edm["count"], 3, "{edm}");
    assert_eq!(edm["samples"].as_array().map(Vec::len), Some(0), "{edm}");

    // Hostile bundles: each refused whole with the wire's error; the table stays.
    let upload = |file: &Path, key: &Path| {
        app.ctl(&[
            "edm",
            "upload",
            "customers",
            file.to_str().unwrap(),
            "--key-file",
            key.to_str().unwrap(),
        ])
    };
    let hostile = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let truncated = hostile("truncated.edm", &bundle_bytes[..bundle_bytes.len() / 2]);
    let mut flipped = bundle_bytes.clone();
    flipped[bundle_bytes.len() / 3] ^= 0x10;
    let flipped = hostile("flipped.edm", &flipped);
    let other_key = dir.path().join("other.key");
    let other = dir.path().join("other.edm");
    hash(&schema, &table_csv, &other_key, &other);
    // A table of 25,000 rows needs 1.2 MB, over the 1 MiB budget.
    let big_rows: Vec<Row> = (0..25_000 / ROWS).flat_map(|_| rows.clone()).collect();
    let big_csv = dir.path().join("big.csv");
    std::fs::write(&big_csv, csv(&big_rows)).unwrap();
    let big = dir.path().join("big.edm");
    hash(&schema, &big_csv, &key, &big);
    // Larger than any bundle the port stages (64 MiB).
    let huge = hostile("huge.edm", &vec![0u8; (64 << 20) + 1]);
    let cases: [(&str, &Path, &Path, &str); 5] = [
        // The bundle states no length of its own: a cut one fails its MAC like any change.
        ("truncated", &truncated, &key, "EDM bundle refused: corrupt"),
        ("bit flip", &flipped, &key, "EDM bundle refused: corrupt"),
        ("wrong key", &bundle, &other_key, "hashed with another key"),
        (
            "another key's bundle",
            &other,
            &key,
            "hashed with another key",
        ),
        ("over budget", &big, &key, "([edm] memory_bytes)"),
    ];
    for (what, file, key, reason) in cases {
        let (code, out) = upload(file, key);
        assert_eq!(code, 1, "{what}: {out}");
        assert!(out.contains("cordonctl: refused: "), "{what}: {out}");
        assert!(out.contains(reason), "{what}: {out}");
        assert_eq!(app.list(), listed, "{what}: the running tables changed");
    }
    let (code, out) = upload(&huge, &key);
    assert_eq!(code, 1, "oversized: {out}");
    assert!(out.contains("UploadTooLarge"), "oversized: {out}");
    assert_eq!(app.list(), listed);
    // Still blocking with the table as installed.
    assert_eq!(send(&gw, "accounts-again", &body(&three)).code, 550);

    // Installs and refusals are in the audit trail by table name, without a cell: the one
    // install, then the five refusals the appliance saw (the oversized file never left
    // cordonctl: the client checks the size limit before UploadBegin).
    let audit: serde_json::Value = serde_json::from_str(&app.json(&["audit"])).unwrap();
    let edm: Vec<&serde_json::Value> = audit["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["request"] == "edm_install")
        .collect();
    assert_eq!(edm.len(), 6, "{audit}");
    assert_eq!(edm[0]["ok"], true);
    assert_eq!(
        edm[0]["changes"],
        format!(
            "edm table customers: {ROWS} rows, 6 columns, {} B in memory",
            48 * ROWS
        )
    );
    for r in &edm[1..] {
        assert_eq!(r["ok"], false, "{r}");
        assert_eq!(r["changes"], "edm table customers", "{r}");
    }

    // A restart loads the stored table (the start-up line names its bytes) and blocks again.
    let first_logs = gw.terminate_logs();
    let gw = app.start();
    gw.wait_log(&format!("holding customers {} B ({ROWS} rows)", 48 * ROWS));
    assert_eq!(send(&gw, "after-restart", &body(&three)).code, 550);
    assert_eq!(app.list(), listed);
    let incidents = app.json(&["incidents"]);
    let audit = app.json(&["audit"]);
    let logs = format!("{first_logs}{}", gw.terminate_logs());

    // The cleartext grep: no cell in the state directory, the logs, the incidents or the
    // audit trail (the SIEM stream carries exactly these records).
    for (path, bytes) in files_under(&app.state) {
        assert_no_cell(&rows, &path.display().to_string(), &bytes);
    }
    assert!(files_under(&app.state)
        .iter()
        .any(|(p, _)| p.ends_with("edm/customers.edm")));
    assert_no_cell(&rows, "the gateway's log", logs.as_bytes());
    assert_no_cell(&rows, "cordonctl --json incidents", incidents.as_bytes());
    assert_no_cell(&rows, "cordonctl --json audit", audit.as_bytes());

    // Removal is audited too, and the rule then matches nothing.
    let gw = app.start();
    let (code, out) = app.ctl(&["edm", "remove", "customers"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(app.list()["tables"], serde_json::json!([]));
    assert_eq!(send(&gw, "after-remove", &body(&three)).code, 250);
    assert!(app.json(&["audit"]).contains("edm table customers removed"));
}

/// A CSV cell the schema cannot read stops `edm hash` with the file, line and column, and
/// never prints the cell.
#[test]
fn a_bad_cell_is_reported_by_line_and_column_without_its_text() {
    let dir = TempDir::new("edm-bad-cell");
    let schema = dir.path().join("schema.toml");
    std::fs::write(&schema, SCHEMA).unwrap();
    let mut rows = table()[..3].to_vec();
    rows[1].postcode = "SW1A 1AA".into();
    let mut text = csv(&rows);
    text = text.replace(&rows[2].iso_dob(), "Tuesday next");
    let table_csv = dir.path().join("bad.csv");
    std::fs::write(&table_csv, &text).unwrap();
    let run = Command::new(bin("cordonctl"))
        .args(["edm", "hash", "--schema"])
        .arg(&schema)
        .arg(&table_csv)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(run.stdout.is_empty(), "no bundle on a refusal");
    assert!(
        stderr.contains(&format!(
            "{}:4:6 (column dob): not a date",
            table_csv.display()
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("Tuesday"), "{stderr}");
    // Without --key-file the key sits beside the CSV.
    assert!(dir.path().join("bad.key").exists());
}
