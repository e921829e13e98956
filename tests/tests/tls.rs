//! Acceptance 3 of the gateway issue: TLS on both legs.

use std::io::Write;
use std::process::{Command, Stdio};

use cordon_tests::*;

struct Setup {
    certs: Certs,
    gw_cert: (std::path::PathBuf, std::path::PathBuf),
    sh_cert: (std::path::PathBuf, std::path::PathBuf),
}

fn setup() -> Setup {
    let certs = Certs::new();
    let gw_cert = certs.issue(&["dlp1.test.example"]);
    let sh_cert = certs.issue(&["smarthost.test"]);
    Setup {
        certs,
        gw_cert,
        sh_cert,
    }
}

fn capture_tls(s: &Setup, extra: &[&str]) -> Capture {
    let c = s.sh_cert.0.display().to_string();
    let k = s.sh_cert.1.display().to_string();
    let mut args = vec!["--cert", &c, "--key", &k];
    args.extend_from_slice(extra);
    Capture::start(&args)
}

fn addr(port: u16) -> String {
    format!("127.0.0.1:{port}")
}

#[test]
fn inbound_starttls_and_implicit_tls() {
    let s = setup();
    let cap = Capture::start(&[]);
    let mut cfg = Cfg::new(&cap.smarthost());
    cfg.inbound_tls = Some((s.gw_cert.0.clone(), s.gw_cert.1.clone(), false));
    cfg.listen_tls = Some(free_port());
    let gw = Gateway::start(&cfg);
    let (ok, out) = swaks(&[
        "--server",
        &addr(gw.port),
        "--tls",
        "--from",
        "a@contoso.com",
        "--to",
        "b@fabrikam.example",
        "--header",
        "Subject: starttls",
    ]);
    assert!(ok, "{out}");
    let (ok, out) = swaks(&[
        "--server",
        &addr(cfg.listen_tls.unwrap()),
        "--tlsc",
        "--from",
        "a@contoso.com",
        "--to",
        "b@fabrikam.example",
        "--header",
        "Subject: implicit",
    ]);
    assert!(ok, "{out}");
    let got = cap.wait_messages(2);
    for m in &got {
        let t = m.text();
        assert!(t.contains("with ESMTPS id"), "{t:.500}");
        assert!(t.contains("(using TLSv1."), "{t:.500}");
    }
}

#[test]
fn openssl_verifies_the_gateway_certificate_and_tls_1_1_is_refused() {
    let s = setup();
    let cap = Capture::start(&[]);
    let mut cfg = Cfg::new(&cap.smarthost());
    cfg.inbound_tls = Some((s.gw_cert.0.clone(), s.gw_cert.1.clone(), false));
    let gw = Gateway::start(&cfg);
    let run = |extra: &[&str]| {
        let mut child = Command::new("openssl")
            .args([
                "s_client",
                "-starttls",
                "smtp",
                "-connect",
                &addr(gw.port),
                "-CAfile",
            ])
            .arg(&s.certs.ca)
            .args([
                "-verify_return_error",
                "-verify_hostname",
                "dlp1.test.example",
                "-servername",
                "dlp1.test.example",
            ])
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("openssl");
        child.stdin.take().unwrap().write_all(b"QUIT\r\n").unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (ok, out) = run(&[]);
    assert!(ok, "{out}");
    assert!(out.contains("Verify return code: 0 (ok)"), "{out}");
    let (ok, out) = run(&["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"]);
    assert!(!ok, "TLS 1.1 must be refused: {out}");
}

#[test]
fn required_inbound_tls_refuses_mail_in_plain_text() {
    let s = setup();
    let cap = Capture::start(&[]);
    let mut cfg = Cfg::new(&cap.smarthost());
    cfg.inbound_tls = Some((s.gw_cert.0.clone(), s.gw_cert.1.clone(), true));
    let gw = Gateway::start(&cfg);
    let mut c = gw.client();
    c.hello();
    let r = c.cmd("MAIL FROM:<a@contoso.com>");
    assert_eq!(r.code, 530, "{r:?}");
    assert!(r.text().starts_with("5.7.0"));
    let (ok, out) = swaks(&[
        "--server",
        &addr(gw.port),
        "--tls",
        "--from",
        "a@contoso.com",
        "--to",
        "b@fabrikam.example",
    ]);
    assert!(ok, "{out}");
    cap.wait_messages(1);
}

#[test]
fn outbound_starttls_verified_with_client_certificate() {
    let s = setup();
    let ca = s.certs.ca.display().to_string();
    let cap = capture_tls(&s, &["--client-ca", &ca]);
    let client = s.certs.issue(&["dlp1-client.test.example"]);
    let mut cfg = Cfg::new(&cap.smarthost());
    cfg.relay_tls = "required".into();
    cfg.tls_name = Some("smarthost.test".into());
    cfg.ca_file = Some(s.certs.ca.clone());
    cfg.client_auth = Some(client);
    let gw = Gateway::start(&cfg);
    let mut c = gw.client();
    c.hello();
    assert_eq!(
        c.send_mail(
            "a@contoso.com",
            &["b@fabrikam.example"],
            b"Subject: tls out\r\n\r\nx\r\n"
        )
        .code,
        250
    );
    let got = cap.wait_messages(1);
    assert_eq!(got[0].meta["tls"], true, "{:?}", got[0].meta);
    assert_eq!(
        got[0].meta["client_cert"], "dlp1-client.test.example",
        "{:?}",
        got[0].meta
    );
}

#[test]
fn outbound_implicit_tls() {
    let s = setup();
    let cap = capture_tls(&s, &["--implicit-tls"]);
    let mut cfg = Cfg::new(&format!("smtps://127.0.0.1:{}", cap.port));
    cfg.relay_tls = "required".into();
    cfg.tls_name = Some("smarthost.test".into());
    cfg.ca_file = Some(s.certs.ca.clone());
    let gw = Gateway::start(&cfg);
    let mut c = gw.client();
    c.hello();
    assert_eq!(
        c.send_mail(
            "a@contoso.com",
            &["b@fabrikam.example"],
            b"Subject: smtps\r\n\r\nx\r\n"
        )
        .code,
        250
    );
    cap.wait_messages(1);
}

fn expect_refused(cfg: &Cfg, cap: &Capture, why: &str) {
    let gw = Gateway::start(cfg);
    let mut c = gw.client();
    let r = c.reply();
    assert_eq!(r.code, 421, "{why}: {r:?}");
    assert!(r.text().starts_with("4.4.0"), "{why}: {r:?}");
    assert!(cap.messages().is_empty());
    gw.wait_log("smart host unusable");
}

#[test]
fn wrong_tls_name_untrusted_certificate_and_missing_starttls_are_refused() {
    let s = setup();
    let cap = capture_tls(&s, &[]);
    let mut cfg = Cfg::new(&cap.smarthost());
    cfg.relay_tls = "required".into();
    cfg.ca_file = Some(s.certs.ca.clone());
    cfg.tls_name = Some("other.test".into());
    expect_refused(&cfg, &cap, "wrong tls_name");

    cfg.tls_name = Some("smarthost.test".into());
    cfg.ca_file = None;
    expect_refused(&cfg, &cap, "untrusted CA");

    let plain = Capture::start(&[]);
    let mut cfg = Cfg::new(&plain.smarthost());
    cfg.relay_tls = "required".into();
    cfg.tls_name = Some("smarthost.test".into());
    expect_refused(&cfg, &plain, "no STARTTLS offered");
}

#[test]
fn opportunistic_tls_encrypts_without_verifying() {
    let s = setup();
    let cap = capture_tls(&s, &[]);
    let mut cfg = Cfg::new(&cap.smarthost());
    cfg.relay_tls = "opportunistic".into();
    let gw = Gateway::start(&cfg);
    let mut c = gw.client();
    c.hello();
    assert_eq!(
        c.send_mail(
            "a@contoso.com",
            &["b@fabrikam.example"],
            b"Subject: opp\r\n\r\nx\r\n"
        )
        .code,
        250
    );
    let got = cap.wait_messages(1);
    assert_eq!(got[0].meta["tls"], true);
}
