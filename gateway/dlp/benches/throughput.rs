//! Throughput figures (not a timed test): MB/s per core for plain text,
//! HTML, base64 attachments, an xlsx, a docx, a gzip, a Word 97 .doc, an
//! Outlook .msg attachment and a mailbox export (the labelled corpus's mail
//! source as a base64 text attachment, the content of `bench/run`'s large
//! messages), with the built-in detectors alone, with
//! dictionaries of 1,000 and 10,000 terms, and with an EDM table of 100,000
//! six-column rows loaded, once holding none of the message's cards and once
//! holding the card the message carries (the last two columns: their speed as
//! a share of the built-ins alone; issue 20 aims at 80% or more). The .doc
//! and .msg are written
//! with the `cfb` crate and hold at most 4 MiB (the OLE buffer), so their
//! messages are smaller than the others.
//!
//! Run: `cargo bench -p cordon-dlp --bench throughput` (release profile).
//! Messages are fed in 64 KiB chunks, as the SMTP session delivers them.
//! Time is the thread's CPU time where Linux reports it, so other work on
//! the machine does not lower the figures (it still shares the caches).

use std::sync::Arc;
use std::time::{Duration, Instant};

use cordon_dlp::edm::{Builder, Column, ColumnType, DateOrder, EdmKey, Finder, Schema, Table};
use cordon_dlp::{DictionaryConfig, Engine, EngineConfig};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[(self.next() % v.len() as u64) as usize]
    }
}

const WORDS: &[&str] = &[
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "for",
    "that",
    "with",
    "on",
    "as",
    "are",
    "this",
    "be",
    "we",
    "by",
    "from",
    "our",
    "will",
    "have",
    "please",
    "review",
    "contract",
    "meeting",
    "team",
    "customer",
    "account",
    "invoice",
    "quarter",
    "report",
    "project",
    "schedule",
    "budget",
    "delivery",
    "approval",
    "thanks",
    "regards",
    "attached",
    "update",
    "details",
    "question",
    "information",
    "process",
    "payment",
    "request",
    "internal",
    "confidential",
    "draft",
    "final",
    "Monday",
    "Thursday",
    "London",
    "Seattle",
    "revenue",
    "forecast",
    "migration",
    "platform",
];

/// Business prose with the numbers real mail has (dates, amounts, phones)
/// and one card number per ~18 KB (59 in 1 MiB).
fn prose(rng: &mut Rng, bytes: usize) -> String {
    let mut s = String::with_capacity(bytes + 200);
    let mut line = 0u32;
    while s.len() < bytes {
        match rng.next() % 40 {
            0 => s.push_str(&format!("{}", 2000 + rng.next() % 30)),
            1 => s.push_str(&format!(
                "${}.{:02}",
                rng.next() % 100_000,
                rng.next() % 100
            )),
            2 => s.push_str(&format!("+1 415 555 {:04}", rng.next() % 10_000)),
            _ => s.push_str(rng.pick(WORDS)),
        }
        if rng.next().is_multiple_of(2500) {
            s.push_str(" card 4556 7375 8689 9855");
        }
        s.push(' ');
        line += 1;
        if line.is_multiple_of(12) {
            s.push_str("\r\n");
        }
    }
    s
}

fn b64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(data.len() * 4 / 3 + data.len() / 38);
    for (i, c) in data.chunks(3).enumerate() {
        let v = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for k in 0..4 {
            s.push(if k <= c.len() {
                A[(v >> (18 - 6 * k)) as usize & 63] as char
            } else {
                '='
            });
        }
        if i % 19 == 18 {
            s.push_str("\r\n");
        }
    }
    s
}

fn zip(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, data) in entries {
        let comp = miniz_oxide::deflate::compress_to_vec(data, 6);
        out.extend_from_slice(b"PK\x03\x04\x14\0\0\0\x08\0\0\0\0\0\0\0\0\0");
        out.extend_from_slice(&(comp.len() as u32).to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&comp);
    }
    out.extend_from_slice(b"PK\x05\x06");
    out.extend_from_slice(&[0; 18]);
    out
}

/// A gzip member of `data` (RFC 1952); the CRC is left zero, which the
/// engine does not check.
fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3];
    out.extend_from_slice(&miniz_oxide::deflate::compress_to_vec(data, 6));
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
}

/// A compound file of (path, data) streams.
fn compound(streams: &[(&str, Vec<u8>)]) -> Vec<u8> {
    use std::io::Write;
    let mut cf = cfb::CompoundFile::create(std::io::Cursor::new(Vec::new())).unwrap();
    for (path, data) in streams {
        let parent = std::path::Path::new(path).parent().unwrap();
        cf.create_storage_all(parent).unwrap();
        cf.create_stream(path).unwrap().write_all(data).unwrap();
    }
    cf.flush().unwrap();
    cf.into_inner().into_inner()
}

/// A Word 97 file ([MS-DOC]): a FIB whose FibRgFcLcb97 points at a Clx in
/// `0Table` with one UTF-16 piece holding `text`.
fn word(text: &str) -> Vec<u8> {
    const TEXT_AT: usize = 1024;
    let body = utf16(text);
    let chars = (body.len() / 2) as u32;
    let mut wd = vec![0u8; TEXT_AT];
    wd[0..2].copy_from_slice(&0xA5ECu16.to_le_bytes());
    wd[32..34].copy_from_slice(&14u16.to_le_bytes()); // csw
    wd[62..64].copy_from_slice(&22u16.to_le_bytes()); // cslw
    wd[152..154].copy_from_slice(&93u16.to_le_bytes()); // cbRgFcLcb
    let clx_at = 154 + 33 * 8;
    let mut clx = vec![2u8];
    clx.extend_from_slice(&16u32.to_le_bytes());
    clx.extend_from_slice(&0u32.to_le_bytes());
    clx.extend_from_slice(&chars.to_le_bytes());
    clx.extend_from_slice(&[0, 0]);
    clx.extend_from_slice(&(TEXT_AT as u32).to_le_bytes());
    clx.extend_from_slice(&[0, 0]);
    wd[clx_at..clx_at + 4].copy_from_slice(&0u32.to_le_bytes());
    wd[clx_at + 4..clx_at + 8].copy_from_slice(&(clx.len() as u32).to_le_bytes());
    wd.extend_from_slice(&body);
    compound(&[("/WordDocument", wd), ("/0Table", clx)])
}

/// An Outlook message ([MS-OXMSG]): subject, a UTF-16 body and one CSV
/// attachment.
fn outlook(text: &str) -> Vec<u8> {
    let half = text.len() / 2;
    let cut = (half..text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(half);
    compound(&[
        ("/__properties_version1.0", vec![0u8; 32]),
        ("/__substg1.0_0037001F", utf16("bench")),
        ("/__substg1.0_1000001F", utf16(&text[..cut])),
        (
            "/__attach_version1.0_#00000000/__substg1.0_3707001F",
            utf16("export.csv"),
        ),
        (
            "/__attach_version1.0_#00000000/__substg1.0_37010102",
            text.as_bytes()[cut..].to_vec(),
        ),
    ])
}

const HDR: &str = "From: Dana <dana@contoso.example>\r\nTo: ap@fabrikam.example\r\nSubject: bench\r\nMIME-Version: 1.0\r\n";

fn messages(size: usize) -> Vec<(&'static str, Vec<u8>)> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let text = prose(&mut rng, size);
    let plain = format!("{HDR}Content-Type: text/plain; charset=utf-8\r\n\r\n{text}").into_bytes();
    let mut html_body =
        String::from("<html><head><style>p.MsoNormal{margin:0}</style></head><body>");
    for para in text.split("\r\n") {
        html_body.push_str("<p class=MsoNormal><span style='font-family:Calibri'>");
        html_body.push_str(&para.replace(' ', "&nbsp;").replacen("&nbsp;", " ", 8));
        html_body.push_str("<o:p></o:p></span></p>\r\n");
    }
    html_body.push_str("</body></html>");
    let html =
        format!("{HDR}Content-Type: text/html; charset=utf-8\r\n\r\n{html_body}").into_bytes();
    let att = |name: &str, ctype: &str, data: &[u8]| {
        format!("{HDR}Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--b1\r\nContent-Type: {ctype}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b1--\r\n", b64(data)).into_bytes()
    };
    let csv = att("export.csv", "text/csv", text.as_bytes());
    let mut sst = String::from("<?xml version=\"1.0\"?><sst>");
    for (i, w) in text.split(' ').enumerate() {
        if i.is_multiple_of(6) {
            sst.push_str("</t></si><si><t>");
        }
        sst.push_str(w);
        sst.push(' ');
    }
    sst.push_str("</t></si></sst>");
    let xlsx = zip(&[
        ("[Content_Types].xml", b"<Types/>".to_vec()),
        ("xl/sharedStrings.xml", sst.into_bytes()),
    ]);
    let xlsx = att(
        "q3.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        &xlsx,
    );
    // A Word document as Word writes one: a paragraph per line, each line's words in runs.
    let mut body = String::from(
        "<?xml version=\"1.0\"?><w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body>",
    );
    for line in text.split("\r\n") {
        body.push_str("<w:p><w:pPr><w:pStyle w:val=\"Normal\"/></w:pPr>");
        for run in line.split_inclusive(". ") {
            body.push_str(
                "<w:r><w:rPr><w:lang w:val=\"en-GB\"/></w:rPr><w:t xml:space=\"preserve\">",
            );
            body.push_str(run);
            body.push_str("</w:t></w:r>");
        }
        body.push_str("</w:p>");
    }
    body.push_str("</w:body></w:document>");
    let docx = zip(&[
        ("[Content_Types].xml", b"<Types/>".to_vec()),
        ("word/document.xml", body.into_bytes()),
    ]);
    let docx = att(
        "letter.docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        &docx,
    );
    let gz = att("export.csv.gz", "application/gzip", &gzip(text.as_bytes()));
    // Compound files live in the 4 MiB OLE buffer: 1.5 MB of text, which
    // is 3 MB of UTF-16.
    let small = &text[..(0..=text.len().min(1_500_000))
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0)];
    let doc = att("letter.doc", "application/msword", &word(small));
    let msg = att("fwd.msg", "application/vnd.ms-outlook", &outlook(small));
    let export = att(
        "thread-export.txt",
        "text/plain; charset=utf-8",
        &mail_export(size),
    );
    vec![
        ("plain text", plain),
        ("html", html),
        ("base64 csv", csv),
        ("xlsx", xlsx),
        ("docx", docx),
        ("gzip csv", gz),
        ("doc", doc),
        ("msg", msg),
        ("mail export", export),
    ]
}

/// About `size` bytes of mail source: the clean messages of the labelled corpus
/// (`tests/corpus/dlp`, real Outlook/Gmail/Thunderbird shapes: headers full of ids and dates,
/// quoted-printable HTML, base64 parts) one after another, as `bench/gen.py` attaches them to the
/// 1 MB and 10 MB messages of `bench/run`, and one card number for the bench's check.
fn mail_export(size: usize) -> Vec<u8> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/corpus/dlp");
    let labels: serde_json::Value = serde_json::from_slice(
        &std::fs::read(format!("{dir}/labels.json")).expect("tests/corpus/dlp/labels.json"),
    )
    .expect("labels.json is JSON");
    let clean: Vec<Vec<u8>> = labels["messages"]
        .as_object()
        .expect("labels.json: messages")
        .iter()
        .filter(|(_, l)| l.as_object().is_some_and(|l| l.is_empty()))
        .map(|(name, _)| std::fs::read(format!("{dir}/{name}")).expect("corpus message"))
        .collect();
    assert!(!clean.is_empty(), "the corpus has clean messages");
    let mut out = b"card 4556 7375 8689 9855\r\n".to_vec();
    for m in clean.iter().cycle() {
        if out.len() >= size {
            break;
        }
        out.extend_from_slice(m);
    }
    out.truncate(size);
    out
}

fn dictionary(n: usize) -> DictionaryConfig {
    let mut rng = Rng(42);
    let syl = [
        "ka", "zor", "vel", "min", "tra", "qui", "lon", "dex", "sar", "nu", "bri", "gol", "fen",
        "ox", "ter", "ul",
    ];
    let mut terms = Vec::with_capacity(n);
    while terms.len() < n {
        let w1: String = (0..3).map(|_| syl[(rng.next() % 16) as usize]).collect();
        let w2 =
            ["Holdings", "Project", "Initiative", "Account", "Merger"][(rng.next() % 5) as usize];
        terms.push(format!("{w1} {w2}"));
    }
    DictionaryConfig {
        name: "customers".into(),
        terms,
        case_sensitive: false,
        whole_word: true,
    }
}

/// Rows of the bench's EDM table: the CI figure (`DLP_BENCH_EDM_ROWS`
/// sets another count, to tell the table's size from the scan's own cost).
const EDM_ROWS: usize = 100_000;

/// An EDM table of [`EDM_ROWS`] rows in the six-column shape of the
/// acceptance figure (two primary columns). With `hit`, its first row holds
/// the card the prose carries (one per ~18 KB), with cells that are not in
/// the prose: every card in a message is a hit in the index and its row's
/// cells are looked for around it, the costly path, without the row
/// matching. Without, no candidate is in the table (the usual message).
fn edm_table(hit: bool) -> Arc<Table> {
    let column = |name: &str, kind, primary| Column {
        name: name.into(),
        kind,
        primary,
        pattern: None,
        date_order: DateOrder::Dmy,
    };
    let schema = Schema {
        min_fields: 3,
        proximity: 300,
        columns: vec![
            column("card", ColumnType::Digits, Some(Finder::CreditCard)),
            column("email", ColumnType::Email, Some(Finder::Email)),
            column("first", ColumnType::Name, None),
            column("last", ColumnType::Name, None),
            column("dob", ColumnType::Date, None),
            column("postcode", ColumnType::Code, None),
        ],
    };
    let key = EdmKey::from_bytes([7; 32]);
    let mut b = Builder::new(schema, key.clone()).unwrap();
    let first_card = if hit {
        "4556737586899855"
    } else {
        "4000000000000002"
    };
    b.push(&[
        first_card,
        "dana@contoso.example",
        "Dana",
        "Quillfeather",
        "1971-04-09",
        "ZZ9 9ZZ",
    ])
    .unwrap();
    let mut rng = Rng(0x2026_1206);
    let rows = std::env::var("DLP_BENCH_EDM_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(EDM_ROWS);
    for i in 1..rows {
        let r = rng.next();
        b.push(&[
            format!("4{:015}", r % 1_000_000_000_000_000),
            format!("user{i}@example.org"),
            format!("First{}", r % 977),
            format!("Last{}", (r >> 20) % 1_999),
            format!(
                "{}-{:02}-{:02}",
                1940 + (r >> 8) % 60,
                1 + (r >> 16) % 12,
                1 + (r >> 24) % 28
            ),
            format!("AB{} {}CD", (r >> 32) % 99, (r >> 40) % 9),
        ])
        .unwrap();
    }
    Arc::new(Table::decode(&b.finish(), &key).unwrap())
}

/// CPU time this thread has run, in seconds (Linux schedstat), so that
/// figures are per core even when other work shares the cores; wall time
/// where it cannot be read.
fn cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns as f64 / 1e9)
}

fn measure(engine: &Arc<Engine>, msg: &[u8], has_card: bool) -> f64 {
    let mut s = engine.scanner();
    let mut bytes = 0usize;
    let start = Instant::now();
    let cpu_start = cpu_seconds();
    // DLP_BENCH_ITERS: a fixed number of messages instead of 1.5 s, so that
    // instruction counts (callgrind) compare across builds.
    let iters: Option<usize> = std::env::var("DLP_BENCH_ITERS")
        .ok()
        .and_then(|v| v.parse().ok());
    // DLP_BENCH_FEED: bytes per feed (64 KiB, the relay's read buffer, unless
    // set), to see what the small reads of a busy loopback cost.
    let feed: usize = std::env::var("DLP_BENCH_FEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64 * 1024)
        .max(1);
    let mut done = 0;
    while iters.map_or(start.elapsed() < Duration::from_millis(1500), |n| done < n) {
        done += 1;
        for c in msg.chunks(feed) {
            s.feed(c);
        }
        let f = s.finish();
        assert!(!has_card || f.count("credit_card", cordon_dlp::Confidence::Low) >= 1);
        bytes += msg.len();
    }
    let secs = match (cpu_start, cpu_seconds()) {
        (Some(a), Some(b)) if b > a => b - a,
        _ => start.elapsed().as_secs_f64(),
    };
    bytes as f64 / secs / 1e6
}

fn main() {
    let size: usize = std::env::var("DLP_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16)
        << 20;
    // DLP_BENCH_FILE=PATH: that one message instead of the generated rows (a bench/run
    // message file, say, to profile the engine on exactly what the relay bench sends).
    let file = std::env::var("DLP_BENCH_FILE").ok();
    let msgs = match &file {
        Some(path) => {
            let data = std::fs::read(path).unwrap_or_else(|e| panic!("DLP_BENCH_FILE {path}: {e}"));
            vec![("file", data)]
        }
        None => messages(size),
    };
    let configs: Vec<(&str, EngineConfig)> = vec![
        ("built-ins", EngineConfig::default()),
        (
            "+1,000 terms",
            EngineConfig {
                dictionaries: vec![dictionary(1_000)],
                ..Default::default()
            },
        ),
        (
            "+10,000 terms",
            EngineConfig {
                dictionaries: vec![dictionary(10_000)],
                ..Default::default()
            },
        ),
        (
            "+EDM 100k",
            EngineConfig {
                edm: vec![("customers".into(), edm_table(false))],
                ..Default::default()
            },
        ),
        (
            "+EDM 100k, hits",
            EngineConfig {
                edm: vec![("customers".into(), edm_table(true))],
                ..Default::default()
            },
        ),
    ];
    // The EDM columns are compared with the built-ins alone (column 0).
    let edm_cols = [configs.len() - 2, configs.len() - 1];
    println!(
        "cordon-dlp throughput, one core, MB/s of message bytes (64 KiB feeds, {} MB messages)",
        size >> 20
    );
    print!("{:<16}", "");
    for (name, _) in &configs {
        print!("{name:>16}");
    }
    println!("{:>10}{:>10}", "EDM/base", "hits/base");
    let engines: Vec<Arc<Engine>> = configs
        .iter()
        .map(|(_, c)| Arc::new(Engine::new(c).unwrap()))
        .collect();
    // Profiling one cell: DLP_BENCH_ROW=plain DLP_BENCH_COL=1 runs only the
    // rows whose name contains the text and the column of that index.
    let row = std::env::var("DLP_BENCH_ROW").unwrap_or_default();
    let col: Option<usize> = std::env::var("DLP_BENCH_COL")
        .ok()
        .and_then(|v| v.parse().ok());
    for (name, msg) in msgs.iter().filter(|(n, _)| n.contains(row.as_str())) {
        print!("{name:<16}");
        let mut rates = vec![None; engines.len()];
        for (i, e) in engines.iter().enumerate() {
            if col.is_none_or(|c| c == i) {
                let r = measure(e, msg, file.is_none());
                rates[i] = Some(r);
                print!("{r:>16.0}");
            } else {
                print!("{:>16}", "-");
            }
        }
        for c in edm_cols {
            match (rates[0], rates[c]) {
                (Some(base), Some(edm)) => print!("{:>9.0}%", 100.0 * edm / base),
                _ => print!("{:>10}", "-"),
            }
        }
        println!();
    }
}
