//! Text that reaches its reader in one step but reached the detectors in pieces or encoded:
//! base64 pasted into a body or carried by an HTML `data:` URI, uuencode, a `format=flowed`
//! line wrapped inside a number, and an attachment's file name. Each case fails without the
//! reader it tests (`blob.rs`, `uu.rs`, `html_hidden.rs`, `text.rs`'s `Flowed`, `mime.rs`); the clean cases
//! keep the readers from turning prose, hashes, signatures and images into findings.

mod common;

use std::sync::Arc;

use cordon_dlp::{Confidence, Engine, EngineConfig, Findings};

const CARD: &str = "Visa card 4556 7375 8689 9855";

fn engine() -> Arc<Engine> {
    Arc::new(Engine::new(&EngineConfig::default()).unwrap())
}

fn scan(msg: &str) -> Findings {
    common::scan_chunked(&engine(), msg.as_bytes(), 7)
}

fn cards(f: &Findings) -> u32 {
    f.count("credit_card", Confidence::Low)
}

/// A single-part message.
fn mail(content_type: &str, body: &str) -> String {
    format!(
        "From: a@contoso.com\r\nTo: b@example.net\r\nSubject: notes\r\nMIME-Version: 1.0\r\n\
         Content-Type: {content_type}\r\n\r\n{body}\r\n"
    )
}

/// Base64 in one line, as an online encoder or `base64 -w0` writes it.
fn b64_line(data: &[u8]) -> String {
    common::b64(data).replace("\r\n", "")
}

#[test]
fn base64_pasted_into_a_body_is_read() {
    // One line, in a sentence.
    let f = scan(&mail(
        "text/plain; charset=utf-8",
        &format!("Here it is: {} - thanks", b64_line(CARD.as_bytes())),
    ));
    assert_eq!(cards(&f), 1, "{f:?}");
    // The bare digits: 22 characters and padding.
    let f = scan(&mail(
        "text/plain",
        &format!("n={}", b64_line(b"4556737586899855")),
    ));
    assert_eq!(cards(&f), 1, "{f:?}");
    // Wrapped at 76 columns as `base64` writes it, a spreadsheet's worth.
    let rows: String = (0..40)
        .map(|i| format!("row {i}, Jane Roe, {CARD}, 2029-09\n"))
        .collect();
    let f = scan(&mail(
        "text/plain",
        &format!(
            "Export below.\r\n\r\n{}\r\n\r\nRegards",
            common::b64(rows.as_bytes())
        ),
    ));
    assert!(cards(&f) >= 1, "{f:?}");
    // In HTML visible text.
    let f = scan(&mail(
        "text/html",
        &format!("<p>Code: <b>{}</b></p>", b64_line(CARD.as_bytes())),
    ));
    assert_eq!(cards(&f), 1, "{f:?}");
}

#[test]
fn a_data_uri_in_html_is_read() {
    let f = scan(&mail(
        "text/html",
        &format!(
            "<a href=\"data:text/plain;base64,{}\">open</a>",
            b64_line(CARD.as_bytes())
        ),
    ));
    assert_eq!(cards(&f), 1, "{f:?}");
    // Any attribute, any case, spaces before the scheme.
    let f = scan(&mail(
        "text/html",
        &format!(
            "<object data=' DATA:text/plain;base64,{}'></object>",
            b64_line(CARD.as_bytes())
        ),
    ));
    assert_eq!(cards(&f), 1, "{f:?}");
    // A link's query string stays unread (tracking ids), as before.
    let f = scan(&mail(
        "text/html",
        "<a href=\"https://t.example/?id=4556737586899855\">x</a>",
    ));
    assert_eq!(cards(&f), 0, "{f:?}");
}

/// `python3 -c 'import binascii; print(binascii.b2a_uu(b"card 4556 7375 8689 9855"))'`
/// inside the `begin`/`end` lines `uuencode(1)` writes.
const UU_BLOCK: &str = "begin 644 a.txt\r\n88V%R9\" T-34V(#<S-S4@.#8X.2 Y.#4U\r\n`\r\nend\r\n";

#[test]
fn uuencode_is_read_in_a_body_and_as_a_transfer_encoding() {
    let f = scan(&mail(
        "text/plain",
        &format!("Hi,\r\n\r\n{UU_BLOCK}\r\nThanks"),
    ));
    assert_eq!(cards(&f), 1, "{f:?}");
    let msg = format!(
        "From: a@contoso.com\r\nTo: b@example.net\r\nSubject: t\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\n{UU_BLOCK}"
    );
    assert_eq!(cards(&scan(&msg)), 1);
    // `begin` in prose is prose.
    let f = scan(&mail(
        "text/plain",
        "begin 2027 with the plan\r\nbegin with the end in mind\r\n",
    ));
    assert_eq!(cards(&f), 0, "{f:?}");
}

#[test]
fn flowed_lines_are_joined() {
    let body = "Visa card 4556 7375 \r\n8689 9855\r\n";
    let f = scan(&mail("text/plain; charset=utf-8; format=flowed", body));
    assert_eq!(cards(&f), 1, "{f:?}");
    // DelSp=yes: the space before the break was added by the writer and goes.
    let f = scan(&mail(
        "text/plain; format=flowed; delsp=yes",
        "Visa card 4556 73 \r\n75 8689 9855\r\n",
    ));
    assert_eq!(cards(&f), 1, "{f:?}");
    // Without format=flowed a line break ends a value, as it does for its reader.
    let f = scan(&mail("text/plain; charset=utf-8", body));
    assert_eq!(cards(&f), 0, "{f:?}");
}

#[test]
fn an_attachment_name_is_read() {
    let msg = "From: a@contoso.com\r\nTo: b@example.net\r\nSubject: t\r\nMIME-Version: 1.0\r\n\
               Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\n\
               hi\r\n--B\r\nContent-Type: application/octet-stream\r\n\
               Content-Disposition: attachment; filename*=utf-8''card%204556737586899855.txt\r\n\r\n\
               x\r\n--B--\r\n";
    let f = scan(msg);
    assert_eq!(cards(&f), 1, "{f:?}");
}

#[test]
fn prose_hashes_signatures_and_images_stay_clean() {
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89 4556 7375 8689 9855";
    let body = format!(
        "Donaudampfschifffahrtsgesellschaftskapitaen internationalisation \
         e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\r\n\
         DKIM: v=1; a=rsa-sha256; b=dzdVyOfAKCdLXdJOc9G2q8LoXSlEniSbav+yuU4zGeeruD00lszZVoG4ZHRNiYzR\r\n\
         <img src=\"data:image/png;base64,{}\">\r\n\
         -----BEGIN CERTIFICATE-----\r\nMIIBszCCAVmgAwIBAgIUQ3Z0b2JlcjIwMjZleGFtcGxlY2VydDAKBggqhkjOPQQDAjAU\r\n\
         -----END CERTIFICATE-----\r\n",
        b64_line(png)
    );
    let f = scan(&mail("text/plain", &body));
    assert_eq!(cards(&f), 0, "{f:?}");
    let f = scan(&mail("text/html", &body));
    assert_eq!(cards(&f), 0, "{f:?}");
}

#[test]
fn mail_source_in_a_text_part_has_its_base64_parts_read() {
    // An exported message pasted or attached as text: its base64 part is now read.
    let inner = format!(
        "From: x@contoso.com\r\nSubject: fwd\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
        common::b64(format!("Please charge {CARD} for the renewal.\n").as_bytes())
    );
    let msg = format!(
        "From: a@contoso.com\r\nTo: b@example.net\r\nSubject: export\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\n\
         see below\r\n--B\r\nContent-Type: text/plain; name=\"export.txt\"\r\n\
         Content-Disposition: attachment; filename=\"export.txt\"\r\n\r\n{inner}\r\n--B--\r\n"
    );
    let f = scan(&msg);
    assert_eq!(cards(&f), 1, "{f:?}");
}
