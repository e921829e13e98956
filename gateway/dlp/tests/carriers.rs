//! Issue 15 acceptance: the same values are found inside every carrier the
//! engine reads. `tests/carriers/values.txt` holds one value of several
//! catalogue families, each beside its keyword; every carrier below wraps
//! those lines and the test asserts each type at medium or above in each,
//! printing the carrier x type table.
//!
//! The docx, xlsx and PDF carriers are committed fixtures written from
//! `values.txt` by python-docx, openpyxl and fpdf2 (pinned; the command is
//! in `tests/carriers/make.py`), not by this crate's own writers.

mod common;

use std::sync::Arc;

use cordon_dlp::{Confidence, Engine, EngineConfig};

/// The types `values.txt` holds, one value each.
const TYPES: &[&str] = &[
    "credit_card",
    "iban",
    "de_tax_id",
    "es_vat",
    "aws_access_key",
    "stripe_secret_key",
];

const HDR: &str =
    "From: a@example.com\r\nTo: b@example.com\r\nSubject: carriers\r\nMIME-Version: 1.0\r\n";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/carriers/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn values() -> String {
    String::from_utf8(fixture("values.txt"))
        .unwrap()
        .replace('\n', "\r\n")
}

fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
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

/// RFC 2045 §6.7: every byte of the text as `=XX` where a writer may, soft
/// breaks every 60 characters (inside values too).
fn quoted_printable(text: &str) -> String {
    let mut out = String::new();
    let mut col = 0;
    for line in text.split("\r\n") {
        for b in line.bytes() {
            let enc = if b.is_ascii_alphabetic() {
                (b as char).to_string()
            } else {
                format!("={b:02X}")
            };
            if col + enc.len() > 60 {
                out.push_str("=\r\n");
                col = 0;
            }
            col += enc.len();
            out.push_str(&enc);
        }
        out.push_str("\r\n");
        col = 0;
    }
    out
}

/// HTML as a mail writer might hide it: digits as numeric references,
/// spaces as `&nbsp;`, punctuation as HTML5 named references.
fn html(text: &str) -> String {
    let mut out = String::from("<html><body><p>");
    for c in text.chars() {
        match c {
            '0'..='9' => out.push_str(&format!("&#{};", u32::from(c))),
            ' ' => out.push_str("&nbsp;"),
            ':' => out.push_str("&colon;"),
            '-' => out.push_str("&hyphen;"),
            '_' => out.push_str("&lowbar;"),
            '\r' => {}
            '\n' => out.push_str("</p>\r\n<p>"),
            c => out.push(c),
        }
    }
    out.push_str("</p></body></html>");
    out
}

fn attachment(ctype: &str, name: &str, data: &[u8]) -> Vec<u8> {
    format!(
        "{HDR}Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--b1\r\nContent-Type: {ctype}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b1--\r\n",
        base64(data)
    )
    .into_bytes()
}

fn carriers() -> Vec<(&'static str, Vec<u8>)> {
    let text = values();
    let plain = format!("{HDR}Content-Type: text/plain; charset=utf-8\r\n\r\n{text}").into_bytes();
    let qp = format!(
        "{HDR}Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{}",
        quoted_printable(&text)
    )
    .into_bytes();
    let html = format!(
        "{HDR}Content-Type: text/html; charset=utf-8\r\n\r\n{}",
        html(&text)
    )
    .into_bytes();
    // windows-1252, 8bit: NO-BREAK SPACE (0xA0) between the card's groups
    // and an accented keyword line.
    let mut cp1252 = format!(
        "{HDR}Content-Type: text/plain; charset=windows-1252\r\nContent-Transfer-Encoding: 8bit\r\n\r\nR\u{e9}sum\u{e9}\r\n"
    )
    .into_bytes();
    cp1252.extend(
        text.replace("4556 7375 8689 9855", "4556\u{a0}7375\u{a0}8689\u{a0}9855")
            .chars()
            .map(|c| u8::try_from(u32::from(c)).expect("Latin-1")),
    );
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let utf16 = attachment("text/plain; charset=utf-16", "values.txt", &utf16);
    let zip = common::zip_file(b"", &[("values.txt", text.as_bytes(), true, 0)]);
    let forwarded = format!(
        "{HDR}Content-Type: multipart/mixed; boundary=\"f1\"\r\n\r\n--f1\r\nContent-Type: text/plain\r\n\r\nFYI, see below.\r\n--f1\r\nContent-Type: message/rfc822\r\n\r\n{}\r\n--f1--\r\n",
        String::from_utf8(plain.clone()).unwrap()
    )
    .into_bytes();
    vec![
        ("plain", plain),
        ("quoted-printable", qp),
        (
            "base64 attachment",
            attachment("text/plain", "values.txt", text.as_bytes()),
        ),
        ("html with entities", html),
        ("windows-1252", cp1252),
        ("utf-16", utf16),
        (
            "docx",
            attachment(
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "values.docx",
                &fixture("values.docx"),
            ),
        ),
        (
            "xlsx",
            attachment(
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "values.xlsx",
                &fixture("values.xlsx"),
            ),
        ),
        (
            "pdf",
            attachment("application/pdf", "values.pdf", &fixture("values.pdf")),
        ),
        ("zip", attachment("application/zip", "values.zip", &zip)),
        ("forwarded message", forwarded),
    ]
}

#[test]
fn every_value_in_every_carrier() {
    let engine = Arc::new(Engine::new(&EngineConfig::default()).unwrap());
    let mut scanner = engine.scanner();
    print!("{:<20}", "carrier");
    for t in TYPES {
        print!(" {:>17}", t);
    }
    println!();
    let mut missed = Vec::new();
    for (name, msg) in carriers() {
        scanner.feed(&msg);
        let f = scanner.finish();
        print!("{name:<20}");
        for t in TYPES {
            let conf = f.get(t).map(|d| d.confidence);
            print!(" {:>17}", format!("{conf:?}"));
            if f.count(t, Confidence::Medium) == 0 {
                missed.push(format!("{name}: {t} ({conf:?})"));
            }
        }
        println!();
        assert!(
            !f.is_unscannable(),
            "{name}: unscannable {:?}",
            f.unscannable
        );
    }
    assert!(missed.is_empty(), "not found at medium+: {missed:?}");
}
