//! Issue 19 end to end over real SMTP: the formats the engine learned to
//! read get the verdict their content calls for. A `.msg` carrying a
//! `.docx` with a table of card numbers is blocked; a `.tar.gz` of CSV
//! exports with national numbers is quarantined; a 7z archive gets its own
//! unscannable reason and the example-style rule quarantines it. The files
//! are the golden fixtures in `gateway/dlp/tests/fixtures/formats` (made by
//! msgforge 1.0.0, LibreOffice 7.4 and GNU tar 1.34; see its README).

use std::path::PathBuf;

use cordon_tests::*;

const RULES: &str = r#"
[[rule]]
name = "block-card-dumps"
direction = "outbound"
match = "credit_card"
min_count = 5
action = "block"
reply = "550 5.7.1 Message blocked: it contains payment card numbers"

[[rule]]
name = "quarantine-pii"
direction = "outbound"
match = ["us_ssn", "iban"]
action = "quarantine"

[[rule]]
name = "quarantine-unreadable"
direction = "outbound"
unscannable_reasons = ["encrypted_archive", "encrypted_document", "corrupt_archive", "corrupt_document", "sevenzip_archive", "rar_archive"]
action = "quarantine"
"#;

fn fixture(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../gateway/dlp/tests/fixtures/formats")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn send(gw: &Gateway, msg: &[u8]) -> Reply {
    let mut c = gw.client();
    c.hello();
    let r = c.send_mail("alice@contoso.com", &["bob@fabrikam.example"], msg);
    c.cmd("QUIT");
    r
}

/// The values of a (single-line) header field in a captured message.
fn header(m: &Captured, name: &str) -> Vec<String> {
    let text = m.text();
    let head = text.split("\r\n\r\n").next().unwrap_or("");
    let prefix = format!("{}:", name.to_ascii_lowercase());
    head.split("\r\n")
        .filter(|l| l.to_ascii_lowercase().starts_with(&prefix))
        .map(|l| l[prefix.len()..].trim().to_string())
        .collect()
}

#[test]
fn msg_docx_is_blocked_and_tar_gz_of_ids_and_7z_are_quarantined() {
    let cap = Capture::start(&[]);
    let mut cfg = Cfg::new(&cap.smarthost());
    cfg.extra = RULES.to_string();
    let gw = Gateway::start(&cfg);

    // An Outlook item whose .docx attachment holds a table of six cards.
    let msg = with_attachment(
        "letter",
        "with-docx.msg",
        "application/vnd.ms-outlook",
        &fixture("with-docx.msg"),
    );
    let r = send(&gw, &msg);
    assert_eq!(
        (r.code, r.text()),
        (
            550,
            "5.7.1 Message blocked: it contains payment card numbers".to_string()
        )
    );

    // CSV exports with SSNs in a .tar.gz.
    let tgz = with_attachment(
        "exports",
        "staff.tar.gz",
        "application/gzip",
        &fixture("staff.tar.gz"),
    );
    assert_eq!(send(&gw, &tgz).code, 250);

    // A 7z archive: not readable, named, quarantined.
    let mut sz = b"7z\xBC\xAF\x27\x1C\x00\x04".to_vec();
    sz.extend_from_slice(&[0x42; 200]);
    assert_eq!(
        send(
            &gw,
            &with_attachment("sevenzip", "a.7z", "application/x-7z-compressed", &sz)
        )
        .code,
        250
    );

    let got = cap.wait_messages(2);
    assert_eq!(got.len(), 2, "the blocked message was not relayed");
    let by_subject = |s: &str| {
        got.iter()
            .find(|m| m.text().contains(&format!("\r\nSubject: {s}\r\n")))
            .unwrap_or_else(|| panic!("no message {s}"))
    };
    let q = by_subject("exports");
    assert_eq!(header(q, "X-Cordon-Action"), vec!["Quarantine"]);
    assert_eq!(header(q, "X-Cordon-Rule"), vec!["quarantine-pii"]);
    let z = by_subject("sevenzip");
    assert_eq!(header(z, "X-Cordon-Action"), vec!["Quarantine"]);
    assert_eq!(header(z, "X-Cordon-Rule"), vec!["quarantine-unreadable"]);
}
