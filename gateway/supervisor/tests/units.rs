//! The systemd units pass `systemd/check.sh`: `systemd-analyze verify` clean, sysusers and
//! tmpfiles apply to a scratch root, and `systemd-analyze security` scores 2.0 or lower.

use std::path::Path;
use std::process::Command;

use cordon_supervisor::Board;

#[test]
fn systemd_units_verify_and_score_ok() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../systemd/check.sh");
    // Every bundled board's generated drop-in is verified with the unit.
    let boards = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../board");
    let dropins = std::env::temp_dir().join(format!("cordon-dropins-{}", std::process::id()));
    std::fs::create_dir_all(&dropins).unwrap();
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&boards).unwrap() {
        let profile = entry.unwrap().path().join("board.toml");
        if !profile.exists() {
            continue;
        }
        let board = Board::load(&profile).unwrap();
        let text = board.service_dropin(&profile.display().to_string());
        std::fs::write(dropins.join(format!("{}.conf", board.name)), text).unwrap();
        names.push(board.name);
    }
    assert!(names.len() >= 3, "{names:?}");
    let out = Command::new("/bin/sh")
        .arg(&script)
        .env("CORDON_DROPINS", &dropins)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dropins);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(out.status.success(), "check.sh failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("cordon.service exposure:"), "{stdout}");
    for name in &names {
        assert!(
            stdout.contains(&format!("{name}: CPUAffinity=")),
            "{stdout}"
        );
    }
}
