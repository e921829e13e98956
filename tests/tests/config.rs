//! Acceptance 8 of the gateway issue, and the command line: every bad key, unreadable file and
//! bad address gets an error naming it.

use std::path::Path;
use std::process::Command;

use cordon_tests::*;

fn cordon(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin("cordon"))
        .args(args)
        .output()
        .expect("run cordon");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn example_config_reports_exactly_its_missing_certificate_files() {
    let example = repo_root().join("gateway/cordon/examples/cordon.toml");
    let (code, _, err) = cordon(&["check-config", &example.display().to_string()]);
    assert_eq!(code, 1, "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    // Where the example names them (its comments move the lines).
    let text = std::fs::read_to_string(&example).unwrap();
    let line_of = |key: &str| text.lines().position(|l| l.starts_with(key)).unwrap() + 1;
    let (cert, key) = (line_of("certificate = "), line_of("private_key = "));
    assert!(
        lines[0].contains(&format!(
            ":{cert}:15: gateway.tls.certificate: cannot read /data/cordon/tls/cert.pem"
        )),
        "{err}"
    );
    assert!(
        lines[1].contains(&format!(
            ":{key}:15: gateway.tls.private_key: cannot read /data/cordon/tls/key.pem"
        )),
        "{err}"
    );
}

#[test]
fn every_bad_key_is_named_with_its_line() {
    let dir = TempDir::new("badcfg");
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[gateway]\nhostname = \"dlp1.contoso.com\"\nlisten = [\"127.0.0.1:25\", \"localhost\"]\nallowed_clients = [\"300.1.1.1/8\"]\nmax_message_size = \"lots\"\nmax_sesions = 3\n\n[relay]\nsmarthosts = [\"smtp://mx.example:99999\"]\ntls = \"required\"\n\n[timeouts]\ndata_term = \"forever\"\n\n[nonsense]\n",
    )
    .unwrap();
    let (code, _, err) = cordon(&["check-config", &path.display().to_string()]);
    assert_eq!(code, 1);
    let p = path.display().to_string();
    for expect in [
        format!("{p}:3:27: gateway.listen[1]:"),
        format!("{p}:4:20: gateway.allowed_clients[0]:"),
        format!("{p}:5:20: gateway.max_message_size:"),
        format!("{p}:6:1: gateway.max_sesions: unknown key"),
        format!("{p}:9:15: relay.smarthosts[0]:"),
        format!("{p}:13:13: timeouts.data_term:"),
        format!("{p}:15:2: nonsense: unknown key"),
    ] {
        assert!(err.contains(&expect), "missing {expect:?} in:\n{err}");
    }
    assert_eq!(err.lines().count(), 7, "{err}");
}

#[test]
fn unusable_tls_files_are_named() {
    let certs = Certs::new();
    let (cert, _) = certs.issue(&["dlp1.test.example"]);
    let (_, other_key) = certs.issue(&["other.test.example"]);
    let dir = TempDir::new("tlscfg");
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    let cfg_for = |c: &Path, k: &Path| {
        let mut cfg = Cfg::new("smtp://127.0.0.1:25");
        cfg.inbound_tls = Some((c.to_path_buf(), k.to_path_buf(), false));
        let path = dir.path().join("c.toml");
        std::fs::write(&path, cfg.render()).unwrap();
        cordon(&["check-config", &path.display().to_string()])
    };
    let (code, _, err) = cfg_for(&cert, &other_key);
    assert_eq!(code, 1);
    assert!(
        err.contains("gateway.tls.private_key: key does not fit the certificate"),
        "{err}"
    );
    let (code, _, err) = cfg_for(&garbage, &other_key);
    assert_eq!(code, 1);
    assert!(
        err.contains("gateway.tls.certificate:") && err.contains("garbage.pem"),
        "{err}"
    );
    // `run` refuses the same way, before binding anything.
    let path = dir.path().join("c.toml");
    let (code, _, err) = cordon(&["run", "--config", &path.display().to_string()]);
    assert_eq!(code, 1);
    assert!(err.contains("garbage.pem"), "{err}");
}

#[test]
fn good_config_and_version() {
    let dir = TempDir::new("goodcfg");
    let path = dir.path().join("ok.toml");
    std::fs::write(&path, Cfg::new("smtp://127.0.0.1:25").render()).unwrap();
    let (code, out, err) = cordon(&["check-config", &path.display().to_string()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(": ok"));
    let (code, out, _) = cordon(&["--version"]);
    assert_eq!(code, 0);
    assert_eq!(out.trim(), format!("cordon {}", env!("CARGO_PKG_VERSION")));
    let (code, _, err) = cordon(&["check-config", "/nonexistent/cordon.toml"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("/nonexistent/cordon.toml: cannot read"),
        "{err}"
    );
}

/// Issue 18 item 7: `check-config` builds the engine as `cordon run` does, so a bad regex
/// and an unknown detector name are found offline, each on one line at its key, with the
/// nearest name and the config's own dictionaries and patterns.
#[test]
fn bad_regexes_and_unknown_names_are_found_offline_one_line_each() {
    let dir = TempDir::new("badengine");
    let path = dir.path().join("bad.toml");
    let mut cfg = Cfg::new("smtp://127.0.0.1:25");
    cfg.extra = "[[dictionary]]\nname = \"codenames\"\nterms = [\"blue falcon\"]\n\n[[pattern]]\nname = \"ticket\"\nregex = \"TCK-(\\\\d{6}\"\n\n[[rule]]\nname = \"r\"\nmatch = [\"credit_crad\", \"ticket\"]\naction = \"block\"\n".into();
    let text = cfg.render();
    std::fs::write(&path, &text).unwrap();
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let (code, _, err) = cordon(&["check-config", &path.display().to_string()]);
    assert_eq!(code, 1, "{err}");
    let p = path.display();
    assert_eq!(
        err,
        format!(
            "{p}:{}:9: pattern[0].regex: invalid regex: unclosed group at character 5\n\
             {p}:{}:10: rule[0].match[0]: unknown detector, bundle, dictionary or pattern `credit_crad`; did you mean `credit_card`? (this config's dictionaries and patterns: codenames, ticket; `cordon detectors` lists the built-in detectors and bundles)\n",
            line_of("regex = "),
            line_of("match = ")
        )
    );
}

#[test]
fn listener_in_use_is_named() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let dir = TempDir::new("bindcfg");
    let path = dir.path().join("c.toml");
    let mut cfg = Cfg::new("smtp://127.0.0.1:25");
    cfg.listen = port;
    std::fs::write(&path, cfg.render()).unwrap();
    let (code, _, err) = cordon(&["run", "--config", &path.display().to_string()]);
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{err}"
    );
}

/// `cordon check-config FILE --board BOARD`.
fn check_on_board(file: &Path, board: &Path) -> (i32, String, String) {
    cordon(&[
        "check-config",
        file.to_str().unwrap(),
        "--board",
        board.to_str().unwrap(),
    ])
}

/// Issue 16: `check-config --board` computes the memory budget as `cordon supervise` does and
/// refuses, at the slot-class key, a config that does not fit the board; one that fits says
/// what it takes.
#[test]
fn check_config_with_a_board_refuses_slot_classes_over_its_memory() {
    let dir = TempDir::new("board-budget");
    let board = repo_root().join("board/rpi4/board.toml");
    let path = dir.path().join("big.toml");
    let mut cfg = Cfg::new("smtp://127.0.0.1:25");
    cfg.max_message_size = "150MiB".into();
    // docs/config.md's example for 150 MB messages on a 1.5 GiB board.
    cfg.max_sessions = 256;
    cfg.gateway_extra = "slot_classes = [\"120 x 256KiB\", \"16 x 4MiB\", \"2 x 150MiB\"]\n".into();
    let text = cfg.render();
    std::fs::write(&path, &text).unwrap();
    let (code, out, err) = check_on_board(&path, &board);
    assert_eq!(code, 0, "{err}");
    let fits = regex::Regex::new(&format!(
        r"^{}: ok; memory budget (\d+) MiB of board rpi4's 1536 MiB\n$",
        regex::escape(&path.display().to_string())
    ))
    .unwrap();
    let mib: u64 = fits.captures(&out).expect(&out)[1].parse().unwrap();
    assert_eq!(mib, 1318, "docs/config.md says 1,318 MiB: {out}");

    // Ten 150 MiB buffers do not fit 1.5 GiB: refused at the key, with the sum and the terms.
    let over = text.replace("\"2 x 150MiB\"", "\"10 x 150MiB\"");
    std::fs::write(&path, &over).unwrap();
    let line = over
        .lines()
        .position(|l| l.starts_with("slot_classes"))
        .unwrap()
        + 1;
    let (code, out, err) = check_on_board(&path, &board);
    assert_eq!(code, 1, "{out}");
    let p = path.display();
    assert!(
        err.starts_with(&format!(
            "{p}:{line}:1: gateway.slot_classes: on board rpi4 ({}): the memory budget (",
            board.display()
        )) && err.contains("exceeds the board's 1536 MiB: lower gateway.max_sessions"),
        "{err}"
    );
    // Without --board nothing is said about memory.
    let (code, out, _) = cordon(&["check-config", path.to_str().unwrap()]);
    assert_eq!((code, out), (0, format!("{p}: ok\n")));
}

/// Issue 17: `check-config --board` also adds up what the config puts on `/data` (every
/// worker's incident journal, the EDM tables, the config store) against the board's data
/// partition, as `cordon supervise` does; the image's default config fits its board, and one
/// whose journals do not fit is refused at `incidents.total_bytes` with the sum.
#[test]
fn check_config_with_a_board_refuses_journals_over_its_data_partition() {
    let dir = TempDir::new("data-budget");
    let board = repo_root().join("board/qemu-virt-aarch64/board.toml");
    let image_default = repo_root().join("image/rootfs/usr/share/cordon/cordon.toml");
    let (code, out, err) = check_on_board(&image_default, &board);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("; /data 452 MiB of the 560 MiB a config may use of its 640 MiB partition\n"),
        "{out}"
    );

    let path = dir.path().join("journals.toml");
    let mut cfg = Cfg::new("smtp://127.0.0.1:25");
    cfg.extra = "[incidents]\ntotal_bytes = \"128MiB\"\n".into();
    let text = cfg.render();
    std::fs::write(&path, &text).unwrap();
    let line = text
        .lines()
        .position(|l| l.starts_with("total_bytes"))
        .unwrap()
        + 1;
    let (code, out, err) = check_on_board(&path, &board);
    assert_eq!(code, 1, "{out}");
    assert_eq!(
        err.trim_end(),
        format!(
            "{}:{line}:1: incidents.total_bytes: on board qemu-virt-aarch64 ({}): the /data budget (644 MiB: 3 incident journals of 128 MiB, 256 MiB of EDM tables, 4 MiB of config store and TLS files) exceeds the 560 MiB a config may use of the board's 640 MiB data partition (ext4 keeps the rest): lower incidents.total_bytes or edm.storage_bytes",
            path.display(),
            board.display()
        )
    );
}
