//! The systemd units pass `systemd/check.sh`: `systemd-analyze verify` clean, sysusers and
//! tmpfiles apply to a scratch root, and `systemd-analyze security` scores 2.0 or lower.

use std::path::Path;
use std::process::Command;

#[test]
fn systemd_units_verify_and_score_ok() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../systemd/check.sh");
    let out = Command::new("/bin/sh").arg(&script).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(out.status.success(), "check.sh failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("cordon.service exposure:"), "{stdout}");
}
