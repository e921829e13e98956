//! Issue 21 item 6 against running gateways: three appliances on loopback, each with its
//! mutual-TLS config port; `cordonctl --target A --target B --target C` prints one result line
//! per appliance, `config apply` to all while one is down applies on the two that answer and
//! exits nonzero, and `exchange-setup` lists every target's hostname as a gateway.

use std::path::PathBuf;
use std::process::Command;

use cordon_tests::*;

/// One appliance: its config, its Unix socket (to check it on its own) and its TCP port.
struct Appliance {
    cfg: Cfg,
    socket: PathBuf,
    target: String,
}

fn appliance(smarthost: &str, certs: &Certs, dir: &TempDir, n: usize) -> Appliance {
    let (cert, key) = (
        certs.dir.path().join("localhost.pem"),
        certs.dir.path().join("localhost.key"),
    );
    let socket = dir.path().join(format!("control{n}.sock"));
    let tcp = free_port();
    let mut cfg = Cfg::new(smarthost);
    cfg.hostname = format!("dlp{n}.contoso.com");
    cfg.max_sessions = 4;
    cfg.control = Some(format!(
        "state_dir = {:?}\nsocket = {:?}\n\n[control.tcp]\nlisten = \"127.0.0.1:{tcp}\"\ncertificate = {:?}\nprivate_key = {:?}\nclient_ca = {:?}\n",
        dir.path().join(format!("state{n}")).display().to_string(),
        socket.display().to_string(),
        cert.display().to_string(),
        key.display().to_string(),
        certs.ca.display().to_string(),
    ));
    Appliance {
        cfg,
        socket,
        target: format!("localhost:{tcp}"),
    }
}

/// `cordonctl --target ... --ca --cert --key ARGS`: exit code, stdout, stderr.
fn fleet(
    certs: &Certs,
    client: &(PathBuf, PathBuf),
    all: &[Appliance],
    args: &[&str],
) -> (i32, String, String) {
    let mut cmd = Command::new(bin("cordonctl"));
    for a in all {
        cmd.arg("--target").arg(&a.target);
    }
    let out = cmd
        .arg("--ca")
        .arg(&certs.ca)
        .arg("--cert")
        .arg(&client.0)
        .arg("--key")
        .arg(&client.1)
        .args(args)
        .output()
        .expect("run cordonctl");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn three_appliances_one_down_two_ok_one_error_and_exchange_lists_all_three() {
    let smarthost = FakeSmarthost::start(FakeBehaviour::Accept);
    let certs = Certs::new();
    certs.issue(&["localhost"]);
    let client = certs.issue(&["fleet-admin"]);
    let dir = TempDir::new("fleet");
    let all: Vec<Appliance> = (1..=3)
        .map(|n| appliance(&smarthost.smarthost(), &certs, &dir, n))
        .collect();
    let mut gws: Vec<Gateway> = all
        .iter()
        .map(|a| {
            let gw = Gateway::start(&a.cfg);
            gw.wait_log("config port (mutual TLS) listening");
            gw
        })
        .collect();

    // All three up: one line each, in target order.
    let (code, out, err) = fleet(&certs, &client, &all, &["status"]);
    assert_eq!(code, 0, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    for (line, a) in lines.iter().zip(&all) {
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cells[..2], [a.target.as_str(), "ok"], "{out}");
    }

    // exchange-setup lists every appliance's hostname as a gateway.
    let (code, script, err) = fleet(
        &certs,
        &client,
        &all,
        &["exchange-setup", "--approver", "dlp-approver@contoso.com"],
    );
    assert_eq!(code, 0, "{script}{err}");
    for n in 1..=3 {
        assert!(script.contains(&format!("dlp{n}.contoso.com")), "{script}");
    }

    // The third appliance goes down; the apply reaches the other two.
    drop(gws.pop());
    let (_, running) = ctl(&all[0].socket, &["config", "get"]);
    let new = dir.path().join("new.toml");
    let changed = running.replace("max_sessions = 4", "max_sessions = 4\nprefault = false");
    assert_ne!(changed, running);
    std::fs::write(&new, &changed).unwrap();
    let (code, out, err) = fleet(
        &certs,
        &client,
        &all,
        &["config", "apply", &new.display().to_string()],
    );
    assert_ne!(code, 0, "{out}{err}");
    let lines: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!(lines.iter().filter(|l| l[1] == "ok").count(), 2, "{out}");
    assert_eq!(lines[2][..2], [all[2].target.as_str(), "error"], "{out}");
    assert!(out.contains("cannot connect"), "{out}");
    assert!(err.contains("1 of 3 appliances failed"), "{err}");
    for a in &all[..2] {
        let (code, status) = ctl(&a.socket, &["--json", "status"]);
        assert_eq!(code, 0, "{status}");
        let v: serde_json::Value = serde_json::from_str(&status).expect(&status);
        assert_eq!(v["config_generation"], 2, "{status}");
    }

    // With one appliance down, exchange-setup refuses rather than leave it out.
    let (code, script, err) = fleet(
        &certs,
        &client,
        &all,
        &["exchange-setup", "--approver", "dlp-approver@contoso.com"],
    );
    assert_eq!(code, 3, "{script}{err}");
    assert!(script.is_empty(), "{script}");
    assert!(err.contains(&all[2].target), "{err}");
}
