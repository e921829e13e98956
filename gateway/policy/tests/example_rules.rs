//! Issue 12 item 5: the rules the example configs ship quarantine outbound
//! mail whose archives or documents cordon cannot open (encrypted, corrupt,
//! compressed with a method it does not read) and tag anything else it
//! could not fully read, while a logo or a clean message goes through
//! untouched. Pure: the engine scans each message, the example's rules
//! decide, no sockets.

use std::path::Path;
use std::sync::Arc;

use cordon_config::{parse, Action, Config};
use cordon_dlp::{Engine, EngineConfig, Findings};
use cordon_policy::{evaluate, EnvelopeFacts};

fn examples() -> Vec<(&'static str, Config)> {
    [
        (
            "cordon.toml",
            include_str!("../../cordon/examples/cordon.toml"),
        ),
        ("demo.toml", include_str!("../../cordon/examples/demo.toml")),
    ]
    .into_iter()
    .map(|(name, text)| (name, parse(text, Path::new(name)).expect(name)))
    .collect()
}

fn scan(msg: &[u8]) -> Findings {
    let engine = Arc::new(Engine::new(&EngineConfig::default()).unwrap());
    let mut s = engine.scanner();
    s.feed(msg);
    s.finish()
}

/// The CRC-32 of ZIP entries and PNG chunks (CRC-32/ISO-HDLC, zlib's).
fn crc32(data: &[u8]) -> u32 {
    crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC).checksum(data)
}

/// One stored entry with the given general-purpose flags and method.
fn zip(name: &str, data: &[u8], flags: u16, method: u16) -> Vec<u8> {
    let mut z = b"PK\x03\x04\x14\x00".to_vec();
    z.extend_from_slice(&flags.to_le_bytes());
    z.extend_from_slice(&method.to_le_bytes());
    z.extend_from_slice(&[0, 0, 0x21, 0]);
    z.extend_from_slice(&crc32(data).to_le_bytes());
    z.extend_from_slice(&(data.len() as u32).to_le_bytes());
    z.extend_from_slice(&(data.len() as u32).to_le_bytes());
    z.extend_from_slice(&(name.len() as u16).to_le_bytes());
    z.extend_from_slice(&[0, 0]);
    z.extend_from_slice(name.as_bytes());
    z.extend_from_slice(data);
    z.extend_from_slice(b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
    z
}

fn png() -> Vec<u8> {
    let mut p = b"\x89PNG\r\n\x1a\n".to_vec();
    for (ty, data) in [
        (&b"IHDR"[..], &[0u8, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0][..]),
        (
            b"IDAT",
            &[0x78, 0x9C, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01],
        ),
        (b"IEND", &[]),
    ] {
        p.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut c = ty.to_vec();
        c.extend_from_slice(data);
        p.extend_from_slice(&c);
        p.extend_from_slice(&crc32(&c).to_be_bytes());
    }
    p
}

fn b64(data: &[u8]) -> String {
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

/// A message with the given attachments (name, content type, bytes).
fn mail(parts: &[(&str, &str, Vec<u8>)]) -> Vec<u8> {
    let mut m = String::from("From: alice@contoso.com\r\nSubject: files\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nPlease find the files attached.\r\n");
    for (name, ty, data) in parts {
        m.push_str(&format!("--b\r\nContent-Type: {ty}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n", b64(data)));
    }
    m.push_str("--b--\r\n");
    m.into_bytes()
}

/// What, the message, the recipient, the expected action and rule.
type Case = (
    &'static str,
    Vec<u8>,
    &'static str,
    (Action, Option<String>),
);

fn verdict(cfg: &Config, msg: &[u8], rcpt: &str) -> (Action, Option<String>) {
    let rcpts = vec![rcpt.to_string()];
    let env = EnvelopeFacts {
        sender: "alice@contoso.com",
        rcpts: &rcpts,
        size: msg.len() as u64,
    };
    let f = scan(msg);
    let d = evaluate(&cfg.rules, &env, &f, &cfg.organization.domains);
    (d.action, d.rule)
}

#[test]
fn unreadable_archives_are_quarantined_the_rest_tagged_logos_delivered() {
    let mut gz = b"\x1F\x8B\x08\x00\x00\x00\x00\x00".to_vec();
    gz.extend_from_slice(&[0x55; 64]);
    let mut corrupt = zip("a.txt", b"payroll", 0, 0);
    corrupt.truncate(40);
    let mut ole = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1".to_vec();
    ole.extend_from_slice(&[0; 512]);
    ole.extend_from_slice(b"E\0n\0c\0r\0y\0p\0t\0e\0d\0P\0a\0c\0k\0a\0g\0e\0");
    let mut damaged = png();
    damaged[20] ^= 1;
    let broken_b64 = b"From: alice@contoso.com\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8gd29ybGQ=!!!\r\n".to_vec();
    let quarantine = Some("quarantine-unreadable".to_string());
    let tag = Some("tag-unscannable".to_string());
    let out = "bob@fabrikam.example";
    let cases: Vec<Case> = vec![
        (
            "encrypted zip",
            mail(&[("q3.zip", "application/zip", zip("q3.xlsx", b"secret", 1, 0))]),
            out,
            (Action::Quarantine, quarantine.clone()),
        ),
        (
            "unsupported method (LZMA)",
            mail(&[("q3.zip", "application/zip", zip("q3.xlsx", b"xx", 0, 14))]),
            out,
            (Action::Quarantine, quarantine.clone()),
        ),
        (
            "gzip",
            mail(&[("q3.csv.gz", "application/gzip", gz)]),
            out,
            (Action::Quarantine, quarantine.clone()),
        ),
        (
            "corrupt zip",
            mail(&[("q3.zip", "application/zip", corrupt)]),
            out,
            (Action::Quarantine, quarantine.clone()),
        ),
        (
            "password-protected Office file",
            mail(&[("budget.xlsx", "application/vnd.ms-excel", ole)]),
            out,
            (Action::Quarantine, quarantine.clone()),
        ),
        (
            "an encrypted zip behind sixteen damaged images",
            mail(
                &(0..16)
                    .map(|i| {
                        (
                            if i < 10 { "logo.png" } else { "x.png" },
                            "image/png",
                            damaged.clone(),
                        )
                    })
                    .chain([("q3.zip", "application/zip", zip("q.xlsx", b"s", 1, 0))])
                    .collect::<Vec<_>>(),
            ),
            out,
            (Action::Quarantine, quarantine.clone()),
        ),
        (
            "encrypted zip between colleagues: tagged only",
            mail(&[("q3.zip", "application/zip", zip("q3.xlsx", b"s", 1, 0))]),
            "carol@contoso.com",
            (Action::Tag, tag.clone()),
        ),
        (
            "corrupt base64: read leniently, tagged",
            broken_b64,
            out,
            (Action::Tag, tag.clone()),
        ),
        (
            "a logo",
            mail(&[("logo.png", "image/png", png())]),
            out,
            (Action::Deliver, None),
        ),
        (
            "a damaged logo: read as text, reported, not unscannable",
            mail(&[("logo.png", "image/png", damaged.clone())]),
            out,
            (Action::Deliver, None),
        ),
    ];
    for (file, cfg) in examples() {
        for (what, msg, rcpt, want) in &cases {
            assert_eq!(&verdict(&cfg, msg, rcpt), want, "{file}: {what}");
        }
    }
}
