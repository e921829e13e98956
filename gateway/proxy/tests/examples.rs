//! The shipped example rules over SMTP (issue 12, item 5): mail whose archive cordon cannot
//! open is relayed with `250` and held for approval (`X-Cordon-Action: Quarantine`), not passed
//! untagged; between colleagues it is only tagged. Runs the real session on
//! `gateway/cordon/examples/demo.toml` in memory.

mod harness;

use harness::{Harness, Peer};

const DEMO: &str = include_str!("../../cordon/examples/demo.toml");

/// A ZIP with one entry whose general-purpose flag 0 says "encrypted".
fn encrypted_zip() -> Vec<u8> {
    let data = b"the payroll, encrypted";
    let mut z = b"PK\x03\x04\x14\x00\x01\x00\x00\x00\x00\x00\x21\x00".to_vec();
    z.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
    z.extend_from_slice(&(data.len() as u32).to_le_bytes());
    z.extend_from_slice(&(data.len() as u32).to_le_bytes());
    z.extend_from_slice(&11u16.to_le_bytes());
    z.extend_from_slice(&[0, 0]);
    z.extend_from_slice(b"payroll.csv");
    z.extend_from_slice(data);
    z.extend_from_slice(b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
    z
}

fn with_attachment(to: &str, name: &str, data: &[u8]) -> Vec<u8> {
    let b64 = base64(data);
    format!(
        "From: alice@contoso.com\r\nTo: {to}\r\nSubject: files\r\nMessage-ID: <files-{to}@contoso.com>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nAttached.\r\n--b\r\nContent-Type: application/zip; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--b--\r\n"
    )
    .into_bytes()
}

fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in data.chunks(3) {
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
    }
    s
}

/// The value of a header field in what reached the smart host.
fn field(body: &[u8], name: &str) -> Vec<String> {
    String::from_utf8_lossy(body)
        .split("\r\n\r\n")
        .next()
        .unwrap_or("")
        .lines()
        .filter_map(|l| l.strip_prefix(&format!("{name}: ")).map(str::to_string))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn an_encrypted_archive_is_held_for_approval_outbound_and_tagged_inside() {
    let mut h = Harness::start(DEMO, Peer::default());
    h.client.ehlo().await;
    let zip = encrypted_zip();
    for (to, action, rule) in [
        (
            "bob@fabrikam.example",
            "Quarantine",
            "quarantine-unreadable",
        ),
        ("carol@contoso.com", "Tag", "tag-unscannable"),
    ] {
        assert_eq!(h.client.mail_from("alice@contoso.com").await.code, 250);
        assert_eq!(h.client.rcpt_to(to).await.code, 250);
        let r = h
            .client
            .data(&with_attachment(to, "payroll.zip", &zip), 250)
            .await;
        assert_eq!(r.enhanced(), "2.0.0", "{r:?}");
        let got = h.peer.accepted();
        let body = &got.last().expect("relayed").body;
        assert_eq!(field(body, "X-Cordon-Action"), [action], "to {to}");
        assert_eq!(field(body, "X-Cordon-Rule"), [rule], "to {to}");
    }
}
