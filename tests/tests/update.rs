//! Issue 17, firmware through the config port, against the real binaries: `cordonctl update
//! install` talks to the running gateway, which streams the bundle to the real root helper
//! (`cordon slot serve`, started here once per connection with the connection as its stdin
//! and stdout, as systemd's `cordon-update.socket` does on the appliance), which writes the
//! slot partitions (files here) and the boot state. A forged bundle is refused before
//! anything is written; an upload whose client is killed half-way is resumed by running the
//! command again, and what lands in the slot is the bundle byte for byte; `update status`
//! shows both slots. Under QEMU, image/test does the same on the appliance's own disk.

use std::os::fd::OwnedFd;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cordon_tests::*;

/// The root payload: large enough that the upload is still running when the test stops its
/// client at the first progress line (a tenth of the file).
const ROOT_LEN: usize = 48 << 20;
const BOOT_LEN: usize = 1 << 20;
const VERSION: &str = "0.2.0-port-test";
const BOARD: &str = "qemu-virt-aarch64";

/// The appliance's disk as files, and the helper socket that serves it.
struct Slots {
    partitions: PathBuf,
    socket: PathBuf,
}

fn slots(dir: &Path) -> Slots {
    let partitions = dir.join("by-partlabel");
    std::fs::create_dir_all(&partitions).unwrap();
    for (name, len) in [
        ("boot-a", BOOT_LEN),
        ("root-a", ROOT_LEN + (1 << 20)),
        ("boot-b", BOOT_LEN),
        ("root-b", ROOT_LEN + (1 << 20)),
        ("bootstate", 1 << 20),
    ] {
        let f = std::fs::File::create(partitions.join(name)).unwrap();
        f.set_len(len as u64).unwrap();
    }
    let keys = dir.join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    std::fs::copy(
        repo_root().join("image/keys/test-signing.pub.pem"),
        keys.join("test.pem"),
    )
    .unwrap();
    let board = repo_root().join(format!("board/{BOARD}/board.toml"));
    let socket = dir.join("update.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    let args: Vec<String> = vec![
        "slot".into(),
        "serve".into(),
        "--partitions".into(),
        partitions.display().to_string(),
        "--keys".into(),
        keys.display().to_string(),
        "--board".into(),
        board.display().to_string(),
        "--booted".into(),
        "a".into(),
    ];
    // systemd's Accept=yes: one helper per connection, the connection on stdin and stdout.
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            let input = OwnedFd::from(conn.try_clone().unwrap());
            let mut child = Command::new(bin("cordon"))
                .args(&args)
                .stdin(Stdio::from(input))
                .stdout(Stdio::from(OwnedFd::from(conn)))
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            std::thread::spawn(move || child.wait());
        }
    });
    Slots { partitions, socket }
}

/// A signed bundle of `boot` and `root` made by `cordon bundle`.
fn bundle(dir: &Path, name: &str, boot: &[u8], root: &[u8]) -> PathBuf {
    let (b, r, env) = (
        dir.join("boot.img"),
        dir.join("root.img"),
        dir.join("slot.env"),
    );
    std::fs::write(&b, boot).unwrap();
    std::fs::write(&r, root).unwrap();
    std::fs::write(
        &env,
        format!(
            "cordon_version={VERSION}\ncordon_data_blocks={}\ncordon_root_hash={}\ncordon_salt={}\n",
            root.len() / 4096,
            "e8f4999f2aaad78ea2d37607e9af1bb6f14909d51e28a60c9fe146cff961ac5e",
            "c0".repeat(32)
        ),
    )
    .unwrap();
    let out = dir.join(name);
    let status = Command::new(bin("cordon"))
        .args(["bundle", "--key"])
        .arg(repo_root().join("image/keys/test-signing.pem"))
        .args(["--board", BOARD, "--version", VERSION, "--boot"])
        .arg(&b)
        .arg("--root")
        .arg(&r)
        .arg("--slot-env")
        .arg(&env)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");
    out
}

fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[test]
fn a_bundle_installs_through_the_config_port_resumes_and_both_slots_show() {
    let dir = TempDir::new("update");
    let slots = slots(dir.path());
    let cap = Capture::start(&[]);
    let mut cfg = Cfg::new(&cap.smarthost());
    let socket = cfg.control_in(dir.path());
    cfg.control = Some(format!(
        "{}update_socket = {:?}\n",
        cfg.control.take().unwrap(),
        slots.socket.display().to_string()
    ));
    let gw = Gateway::start(&cfg);
    gw.wait_log("cordon started");

    let boot = pseudo_random(BOOT_LEN / 2, 1);
    let root = pseudo_random(ROOT_LEN, 2);
    let good = bundle(dir.path(), "good.bundle", &boot, &root);
    let good = good.to_str().unwrap();

    // A forged bundle: one byte of the signed manifest changed. Refused with the helper's
    // reason; slot B not written, nothing armed.
    let mut forged = std::fs::read(good).unwrap();
    forged[40] ^= 1;
    let forged_path = dir.path().join("forged.bundle");
    std::fs::write(&forged_path, &forged).unwrap();
    let (code, out) = ctl(
        &socket,
        &["update", "install", forged_path.to_str().unwrap()],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("signature"), "{out}");
    let root_b = std::fs::read(slots.partitions.join("root-b")).unwrap();
    assert!(
        root_b.iter().all(|&b| b == 0),
        "a refused bundle wrote root-b"
    );

    // The first attempt is stopped at its first progress line (a tenth sent); the second
    // resumes there.
    let mut first = Command::new(bin("cordonctl"))
        .arg("--socket")
        .arg(&socket)
        .args(["update", "install", good])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(first.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        let n = std::io::BufRead::read_line(&mut err, &mut line).unwrap();
        assert!(n > 0, "cordonctl ended before its first progress line");
        if line.contains('%') {
            break;
        }
    }
    first.kill().unwrap();
    first.wait().unwrap();
    let (code, out) = ctl(&socket, &["update", "install", good]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("resuming at byte"), "{out}");
    assert!(
        out.contains(&format!("installed {VERSION} into slot B")),
        "{out}"
    );
    let root_b = std::fs::read(slots.partitions.join("root-b")).unwrap();
    assert_eq!(
        &root_b[..root.len()],
        &root[..],
        "root-b is the bundle's root"
    );
    let boot_b = std::fs::read(slots.partitions.join("boot-b")).unwrap();
    assert_eq!(&boot_b[..boot.len()], &boot[..]);

    // Both slots: A running and good, B armed for one attempt with the bundle's version.
    let (code, status) = ctl(&socket, &["update", "status"]);
    assert_eq!(code, 0, "{status}");
    assert!(status.contains("booted      slot A\n"), "{status}");
    assert!(status.contains("boot order  B A\n"), "{status}");
    assert!(status.contains("slot A      good\n"), "{status}");
    assert!(
        status.contains(&format!(
            "slot B      trying (1 attempt left)\n  version   {VERSION}\n  verity    e8f4999f"
        )),
        "{status}"
    );
    // The JSON is the documented schema (docs/config-port.md, "JSON schemas").
    let (_, json) = ctl(&socket, &["--json", "update", "status"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(keys(&v), ["booted", "order", "rollback", "slots"], "{json}");
    assert_eq!(
        keys(&v["slots"][1]),
        [
            "attempts",
            "booted",
            "name",
            "root_hash",
            "state",
            "version"
        ],
        "{json}"
    );
    assert_eq!(v["slots"][1]["state"], "trying");
    assert_eq!(v["slots"][1]["version"], VERSION);
    assert_eq!(v["slots"][1]["attempts"], 1);

    // Installing again (into B: A still runs) with --json.
    let out = Command::new(bin("cordonctl"))
        .arg("--socket")
        .arg(&socket)
        .args(["--json", "update", "install", good])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(keys(&v), ["bytes", "seconds", "slot", "version"], "{v}");
    assert_eq!(v["slot"], "B");
    assert_eq!(v["bytes"], (BOOT_LEN / 2 + ROOT_LEN) as u64);

    // The install is in the audit trail.
    let (_, audit) = ctl(&socket, &["audit"]);
    assert!(audit.contains("update_install"), "{audit}");
}

/// The field names of a JSON object, sorted.
fn keys(v: &serde_json::Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("an object").keys().cloned().collect();
    k.sort();
    k
}

/// `cordon slot STATE_ARGS --device FILE` and its output.
fn slot_cmd(bootstate: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(bin("cordon"))
        .arg("slot")
        .args(args)
        .arg("--device")
        .arg(bootstate)
        .output()
        .unwrap();
    code_and_output(&out)
}

#[test]
fn mark_good_waits_for_the_smart_host_unless_the_config_waives_it() {
    let dir = TempDir::new("markgood");
    // The smart host is a port nobody listens on.
    let mut cfg = Cfg::new(&format!("smtp://127.0.0.1:{}", free_port()));
    let socket = cfg.control_in(dir.path());
    let gw = Gateway::start(&cfg);
    gw.wait_log("cordon started");
    let bootstate = dir.path().join("bootstate");
    std::fs::File::create(&bootstate)
        .unwrap()
        .set_len(1 << 20)
        .unwrap();
    // Slot A booted on its one attempt, as after an install.
    assert_eq!(slot_cmd(&bootstate, &["arm-once", "a"]).0, 0);
    let sock = socket.to_str().unwrap();
    let mark = || {
        slot_cmd(
            &bootstate,
            &[
                "mark-good",
                "--socket",
                sock,
                "--timeout",
                "3",
                "--booted",
                "a",
            ],
        )
    };
    let (code, out) = mark();
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("not answering"), "{out}");
    assert!(out.contains("not marked good"), "{out}");
    let (_, status) = slot_cmd(&bootstate, &["status"]);
    assert!(status.contains("slot A      1 attempt left\n"), "{status}");

    // The waiver, applied through the config port like any setting.
    let waived = dir.path().join("waived.toml");
    let (_, running) = ctl(&socket, &["config", "get"]);
    let text = running.replacen(
        "[control]\n",
        "[control]\nupdate_waive_smarthost = true\n",
        1,
    );
    assert_ne!(text, running, "{running}");
    std::fs::write(&waived, text).unwrap();
    let (code, out) = ctl(&socket, &["config", "apply", waived.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = mark();
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("slot A marked good"), "{out}");
    let (_, json) = slot_cmd(&bootstate, &["status", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["slots"][0]["state"], "good", "{json}");
}
