//! Acceptance 3: hostile inputs finish in bounded time and memory, never
//! panic, and say why they were not (fully) inspected.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use cordon_dlp::{Confidence, Engine, EngineConfig, Findings, Limits, UnscannableReason as R};

fn engine(limits: Limits) -> Arc<Engine> {
    Arc::new(
        Engine::new(&EngineConfig {
            limits,
            ..EngineConfig::default()
        })
        .unwrap(),
    )
}

/// Scans in 64 KiB chunks (as the SMTP session does) and checks that the
/// state did not grow and the time stayed bounded.
fn scan(engine: &Arc<Engine>, msg: &[u8], budget: Duration) -> Findings {
    let mut s = engine.scanner();
    let before = s.state_bytes();
    let t = Instant::now();
    for c in msg.chunks(64 * 1024) {
        s.feed(c);
    }
    let f = s.finish();
    let took = t.elapsed();
    assert_eq!(s.state_bytes(), before);
    assert!(took < budget, "took {took:?} for {} bytes", msg.len());
    println!("{} bytes in {took:?}: {:?}", msg.len(), f.unscannable);
    f
}

/// A ZIP of (name, data, deflate, flags) entries (see [`common::zip_file`]).
fn zip(entries: &[(&str, Vec<u8>, bool, u16)]) -> Vec<u8> {
    let entries: Vec<(&str, &[u8], bool, u16)> = entries
        .iter()
        .map(|(n, d, z, f)| (*n, d.as_slice(), *z, *f))
        .collect();
    common::zip_file(b"", &entries)
}

fn with_attachment(name: &str, data: &[u8]) -> Vec<u8> {
    format!(
        "From: a@b.example\r\nSubject: files\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--b1\r\nContent-Type: application/octet-stream; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b1--\r\n",
        common::b64(data)
    )
    .into_bytes()
}

#[test]
fn zip_bomb_hits_the_ratio_limit() {
    let zeros = vec![0u8; 64 * 1024 * 1024];
    let bomb = zip(&[("bomb.txt", zeros, true, 0)]);
    assert!(bomb.len() < 200_000);
    let f = scan(
        &engine(Limits::default()),
        &with_attachment("q3.zip", &bomb),
        Duration::from_secs(20),
    );
    assert!(f.has_reason(R::InflateRatioLimit), "{:?}", f.unscannable);
    assert!(f.is_unscannable());
    assert_eq!(f.unscannable[0].location, "2/q3.zip");
}

#[test]
fn inflate_budget_and_nesting_limits() {
    // Many moderately compressible entries: the per-message budget stops them.
    let text: Vec<u8> = (0..2_000_000u32)
        .map(|i| b"abcdefghij"[(i * 7 % 10) as usize])
        .collect();
    let entries: Vec<(String, Vec<u8>)> = (0..6)
        .map(|i| (format!("f{i}.txt"), text.clone()))
        .collect();
    let refs: Vec<(&str, Vec<u8>, bool, u16)> = entries
        .iter()
        .map(|(n, d)| (n.as_str(), d.clone(), true, 0))
        .collect();
    let z = zip(&refs);
    let limits = Limits {
        max_inflated_bytes: 4 * 1024 * 1024,
        max_inflate_ratio: 100_000,
        ..Limits::default()
    };
    let f = scan(
        &engine(limits),
        &with_attachment("many.zip", &z),
        Duration::from_secs(20),
    );
    assert!(f.has_reason(R::InflatedBytesLimit), "{:?}", f.unscannable);

    // zip in zip in zip in zip: deeper than max_zip_nesting (3).
    let mut z = zip(&[("card.txt", b"visa 4556 7375 8689 9855".to_vec(), true, 0)]);
    for i in 0..4 {
        z = zip(&[(&format!("level{i}.zip"), z, true, 0)]);
    }
    let f = scan(
        &engine(Limits::default()),
        &with_attachment("nest.zip", &z),
        Duration::from_secs(5),
    );
    assert!(f.has_reason(R::ZipNestingLimit), "{:?}", f.unscannable);

    // Two levels are fine and the card inside is found.
    let inner = zip(&[("card.txt", b"visa 4556 7375 8689 9855".to_vec(), true, 0)]);
    let outer = zip(&[("inner.zip", inner, true, 0)]);
    let f = scan(
        &engine(Limits::default()),
        &with_attachment("ok.zip", &outer),
        Duration::from_secs(5),
    );
    assert_eq!(f.count("credit_card", Confidence::High), 1);
    assert!(!f.is_unscannable());
}

#[test]
fn encrypted_and_corrupt_archives() {
    let z = zip(&[("secret.xlsx", b"whatever".to_vec(), false, 1)]);
    let f = scan(
        &engine(Limits::default()),
        &with_attachment("enc.zip", &z),
        Duration::from_secs(5),
    );
    assert!(f.has_reason(R::EncryptedArchive));
    let mut z = zip(&[("a.txt", vec![b'x'; 5000], true, 0)]);
    for b in z.iter_mut().skip(40).take(30) {
        *b ^= 0x5A;
    }
    let f = scan(
        &engine(Limits::default()),
        &with_attachment("bad.zip", &z),
        Duration::from_secs(5),
    );
    assert!(f.has_reason(R::CorruptArchive), "{:?}", f.unscannable);
    // Password-protected Office file: an OLE container with EncryptedPackage.
    let mut ole = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1".to_vec();
    ole.extend(vec![0u8; 3000]);
    ole.extend_from_slice(b"E\0n\0c\0r\0y\0p\0t\0e\0d\0P\0a\0c\0k\0a\0g\0e\0");
    ole.extend(vec![0u8; 3000]);
    let f = scan(
        &engine(Limits::default()),
        &with_attachment("budget.xlsx", &ole),
        Duration::from_secs(5),
    );
    assert!(f.has_reason(R::EncryptedDocument), "{:?}", f.unscannable);
}

#[test]
fn deeply_nested_multipart() {
    let depth = 5_000;
    let mut msg = String::from("From: a@b.example\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"d0\"\r\n\r\n");
    for i in 1..depth {
        msg.push_str(&format!(
            "--d{}\r\nContent-Type: multipart/mixed; boundary=\"d{i}\"\r\n\r\n",
            i - 1
        ));
    }
    msg.push_str(&format!(
        "--d{}\r\nContent-Type: text/plain\r\n\r\nSSN: 536-22-1234\r\n",
        depth - 1
    ));
    for i in (0..depth).rev() {
        msg.push_str(&format!("--d{i}--\r\n"));
    }
    let f = scan(
        &engine(Limits::default()),
        msg.as_bytes(),
        Duration::from_secs(20),
    );
    assert!(f.has_reason(R::MimeDepthLimit));
    // Past the limit the rest is scanned as raw text: the SSN is still found.
    assert_eq!(f.count("us_ssn", Confidence::High), 1);
}

#[test]
fn a_million_tiny_parts() {
    let mut msg = b"From: a@b.example\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"p\"\r\n\r\n".to_vec();
    for _ in 0..1_000_000 {
        msg.extend_from_slice(b"--p\r\n\r\nx\r\n");
    }
    msg.extend_from_slice(b"--p\r\n\r\nvisa 4556 7375 8689 9855\r\n--p--\r\n");
    let f = scan(&engine(Limits::default()), &msg, Duration::from_secs(30));
    assert!(f.has_reason(R::PartsLimit));
    assert_eq!(f.count("credit_card", Confidence::High), 1);
}

#[test]
fn a_30_mb_single_line() {
    let mut msg = b"From: a@b.example\r\nSubject: long\r\n\r\n".to_vec();
    let filler = b"lorem ipsum dolor sit amet ";
    while msg.len() < 30 * 1024 * 1024 {
        msg.extend_from_slice(filler);
    }
    msg.extend_from_slice(b" visa 4556 7375 8689 9855");
    let f = scan(&engine(Limits::default()), &msg, Duration::from_secs(60));
    assert!(f.has_reason(R::LineTooLong));
    assert_eq!(
        f.count("credit_card", Confidence::High),
        1,
        "the line is still scanned"
    );
    // And with no header at all, the same line is body text.
    let bare = &msg[36..];
    let f = scan(&engine(Limits::default()), bare, Duration::from_secs(60));
    assert!(f.has_reason(R::LineTooLong));
    assert_eq!(f.count("credit_card", Confidence::High), 1);
}

#[test]
fn malformed_base64_and_qp() {
    let msg = b"From: a@b.example\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\ndmlzYSA0NTU2IDczNzUgODY4OSA5ODU1!!!@@@###\r\nA\r\n";
    let f = scan(&engine(Limits::default()), msg, Duration::from_secs(5));
    assert!(f.has_reason(R::CorruptBase64));
    assert_eq!(
        f.count("credit_card", Confidence::High),
        1,
        "what decodes is scanned"
    );
    let msg = b"From: a@b.example\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nbad =ZZ escape =4\r\n";
    let f = scan(&engine(Limits::default()), msg, Duration::from_secs(5));
    assert!(f.has_reason(R::CorruptQuotedPrintable));
    let msg = b"From: a@b.example\r\nContent-Type: text/plain; charset=x-klingon\r\n\r\nqapla\r\n";
    let f = scan(&engine(Limits::default()), msg, Duration::from_secs(5));
    assert!(f.has_reason(R::UnknownCharset));
}

#[test]
fn garbage_never_panics() {
    let e = engine(Limits::default());
    let mut s = e.scanner();
    let mut x: u64 = 0x1234_5678;
    for round in 0..200 {
        let mut msg = Vec::new();
        for _ in 0..(round * 97 % 5000) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let pick = b"--b\r\n:Content-Type: multipart/mixed; boundary=b\r\nPK\x03\x04=\r\n&#52;<p>4556 ";
            msg.push(pick[(x % pick.len() as u64) as usize]);
        }
        for c in msg.chunks(1 + round % 13) {
            s.feed(c);
        }
        let _ = s.finish();
    }
}
