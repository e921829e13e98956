//! Issue 21 item 1 against the running gateway: incidents go to the persistent journal before
//! the SMTP reply, survive a restart (and a kill -9 under load) with their numbers, a journal
//! that cannot be written defers mail with 451 4.3.0, `cordonctl incidents verify` names an
//! edited record, and every filter of `cordonctl incidents` selects on the appliance.

// Plain threads, not tokio: waiting out the writer's reopen backoff and a clock second is a
// blocking sleep on purpose.
#![allow(clippy::disallowed_methods)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use cordon_tests::*;

/// A gateway on `dir/cordon.toml` with its config port and state in `dir`, so a restart on
/// the same file finds the same journal.
struct Appliance {
    cfg: Cfg,
    path: PathBuf,
    socket: PathBuf,
    state: PathBuf,
}

impl Appliance {
    fn new(cap: &Capture, dir: &Path, extra: &str) -> Appliance {
        let socket = dir.join("control.sock");
        let state = dir.join("state");
        let mut cfg = Cfg::new(&cap.smarthost());
        cfg.max_sessions = 8;
        cfg.extra = format!("{BLOCK_CARDS_QUARANTINE_SSN}{extra}");
        cfg.control = Some(format!(
            "state_dir = {:?}\nsocket = {:?}\n",
            state.display().to_string(),
            socket.display().to_string()
        ));
        let path = dir.join("cordon.toml");
        std::fs::write(&path, cfg.render()).unwrap();
        Appliance {
            cfg,
            path,
            socket,
            state,
        }
    }

    fn start(&self) -> Gateway {
        let gw = Gateway::start_file(&self.path, &self.cfg, &[]);
        gw.wait_log("config port listening");
        gw
    }

    fn ctl(&self, args: &[&str]) -> (i32, String) {
        ctl(&self.socket, args)
    }

    /// `incidents --json ARGS`, one object per incident.
    fn incidents(&self, args: &[&str]) -> Vec<serde_json::Value> {
        let mut all = vec!["--json", "incidents"];
        all.extend_from_slice(args);
        let (code, out) = self.ctl(&all);
        assert_eq!(code, 0, "{out}");
        out.lines()
            .filter(|l| l.starts_with('{'))
            .map(|l| serde_json::from_str(l).expect("JSON line"))
            .collect()
    }

    fn journal(&self) -> PathBuf {
        self.state.join("incidents").join("w0")
    }
}

fn ids(v: &[serde_json::Value]) -> Vec<String> {
    v.iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

fn message(from: &str, subject: &str, body: &str) -> Vec<u8> {
    format!("From: {from}\r\nTo: bob@fabrikam.example\r\nSubject: {subject}\r\nMessage-ID: <{subject}@contoso.com>\r\n\r\n{body}\r\n").into_bytes()
}

fn send(gw: &Gateway, from: &str, msg: &[u8]) -> Reply {
    let mut c = gw.client();
    c.hello();
    let r = c.send_mail(from, &["bob@fabrikam.example"], msg);
    c.cmd("QUIT");
    r
}

#[test]
fn incidents_survive_a_restart_with_their_numbers() {
    let dir = TempDir::new("journal-restart");
    let cap = Capture::start(&[]);
    let app = Appliance::new(&cap, dir.path(), "");
    let gw = app.start();
    // The start line names the journal and its size.
    assert!(
        gw.logs().contains("journal_bytes=67108864"),
        "{}",
        gw.logs()
    );
    assert_eq!(send_ssn(&gw, "first"), 250);
    assert_eq!(
        send(
            &gw,
            "carol@contoso.com",
            &message("carol@contoso.com", "clean", "hello")
        )
        .code,
        250
    );
    assert_eq!(send_ssn(&gw, "second"), 250);
    let before = app.incidents(&[]);
    assert_eq!(ids(&before), ["w0:1", "w0:2"], "{before:?}");
    drop(gw.terminate_logs());

    let gw = app.start();
    let after = app.incidents(&[]);
    assert_eq!(after, before, "the same incidents, the same numbers");
    assert_eq!(after[1]["subject"], "second");
    // Numbering goes on where it stopped.
    assert_eq!(send_ssn(&gw, "third"), 250);
    assert_eq!(ids(&app.incidents(&[])), ["w0:1", "w0:2", "w0:3"]);
    let (code, out) = app.ctl(&["status"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("journal w0 ok; w0:1..w0:3"), "{out}");
}

#[test]
fn kill_9_under_load_loses_no_acknowledged_incident() {
    let dir = TempDir::new("journal-kill");
    let cap = Capture::start(&[]);
    let app = Appliance::new(&cap, dir.path(), "");
    let gw = app.start();
    let port = gw.port;
    // Four clients, ten messages each; every other one has an SSN (quarantine: 250 and an
    // incident), every fifth is a card dump (block: 550 and an incident).
    let clients: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                let mut replies = Vec::new();
                for n in 0..10 {
                    let subject = format!("load-{t}-{n}");
                    let body = match n % 5 {
                        0 => format!("cards {CARDS}"),
                        1 | 3 => "employee SSN 536-22-8190".to_owned(),
                        _ => "nothing to see".to_owned(),
                    };
                    let msg = message("alice@contoso.com", &subject, &body);
                    let r = Client::try_transaction(
                        port,
                        "alice@contoso.com",
                        &["bob@fabrikam.example"],
                        &msg,
                    );
                    replies.push((subject, n % 5 != 2 && n % 5 != 4, r.map(|r| r.code)));
                }
                replies
            })
        })
        .collect();
    // Mid-load: once some incidents are durable, power is "cut".
    wait_until("incidents under load", STEP, || {
        (gw.logs().matches("incident=w0:").count() >= 8).then_some(())
    });
    drop(gw); // SIGKILL
    let replies: Vec<(String, bool, Option<u16>)> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    let acknowledged: Vec<&String> = replies
        .iter()
        .filter(|(_, incident, code)| *incident && matches!(code, Some(250 | 550)))
        .map(|(s, _, _)| s)
        .collect();
    assert!(!acknowledged.is_empty(), "{replies:?}");

    let _gw = app.start();
    let held: Vec<String> = app
        .incidents(&[])
        .iter()
        .map(|i| i["subject"].as_str().unwrap().to_owned())
        .collect();
    for s in &acknowledged {
        assert!(held.contains(s), "acknowledged {s} missing from {held:?}");
    }
    let (code, out) = app.ctl(&["incidents", "verify"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("w0: chain verifies"), "{out}");
}

#[test]
fn an_unwritable_journal_defers_incident_mail_with_451() {
    let dir = TempDir::new("journal-451");
    let cap = Capture::start(&[]);
    let app = Appliance::new(&cap, dir.path(), "");
    // The journal's directory is a file: nothing can be written there, not even by root.
    std::fs::create_dir_all(app.journal().parent().unwrap()).unwrap();
    std::fs::write(app.journal(), b"not a directory").unwrap();
    let gw = app.start();
    let r = send(&gw, "alice@contoso.com", &ssn_message("deferred"));
    assert_eq!((r.code, r.text().contains("4.3.0")), (451, true), "{r:?}");
    // Mail without an incident still flows; the deferred message never left.
    assert_eq!(
        send(
            &gw,
            "alice@contoso.com",
            &message("alice@contoso.com", "clean", "hi")
        )
        .code,
        250
    );
    assert_eq!(cap.wait_messages(1).len(), 1);
    gw.wait_log("incident not journaled; message deferred");
    let (code, out) = app.ctl(&["status"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("NOT WRITABLE") && out.contains("1 failed appends"),
        "{out}"
    );

    // Repaired: the writer opens the journal again and the retry is accepted.
    std::fs::remove_file(app.journal()).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(send_ssn(&gw, "retried"), 250);
    assert_eq!(ids(&app.incidents(&[])), ["w0:1"]);
    let (_, out) = app.ctl(&["status"]);
    assert!(out.contains("journal w0 ok"), "{out}");
}

/// CRC-32/ISO-HDLC, as the journal's records carry it.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// The byte offsets of the records in a segment file (56-byte header, then 60 + n each).
fn records(seg: &[u8]) -> Vec<usize> {
    let mut at = 56;
    let mut out = Vec::new();
    while at + 60 <= seg.len() {
        out.push(at);
        let n = u32::from_le_bytes(seg[at + 4..at + 8].try_into().unwrap()) as usize;
        at += 60 + n;
    }
    out
}

#[test]
fn an_edited_record_is_named_by_verify() {
    let dir = TempDir::new("journal-edit");
    let cap = Capture::start(&[]);
    let app = Appliance::new(&cap, dir.path(), "");
    let gw = app.start();
    for s in ["one", "two", "three"] {
        assert_eq!(send_ssn(&gw, s), 250);
    }
    let (code, out) = app.ctl(&["incidents", "verify"]);
    assert_eq!(code, 0, "{out}");
    let anchor = out
        .lines()
        .find_map(|l| l.strip_prefix("w0: anchor "))
        .expect("an anchor line")
        .to_owned();
    assert!(anchor.starts_with("w0:3:"), "{out}");
    drop(gw.terminate_logs());

    // An edit of record 2 with its CRC recomputed, as someone covering tracks would do: only
    // the HMAC chain can tell.
    let seg = std::fs::read_dir(app.journal())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "cjl"))
        .unwrap();
    let mut bytes = std::fs::read(&seg).unwrap();
    let at = records(&bytes)[1];
    let n = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
    let payload = &mut bytes[at + 60..at + 60 + n];
    let i = payload
        .windows(3)
        .position(|w| w == b"two")
        .expect("the subject");
    payload[i..i + 3].copy_from_slice(b"TWO");
    let mut covered = bytes[at..at + 56].to_vec();
    covered.extend_from_slice(&bytes[at + 60..at + 60 + n]);
    let crc = crc32(&covered);
    bytes[at + 56..at + 60].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(&seg, &bytes).unwrap();

    // The gateway starts (clean mail flows) but will not append to a broken chain.
    let gw = app.start();
    gw.wait_log("incident journal cannot be opened");
    let (code, out) = app.ctl(&["incidents", "verify", "--anchor", &anchor]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("w0: chain BROKEN at record w0:2: Chain") && out.contains("NOT REACHED"),
        "{out}"
    );
    assert_eq!(send_ssn(&gw, "four"), 451);
}

#[test]
fn every_filter_selects_on_the_appliance() {
    let dir = TempDir::new("journal-filters");
    let cap = Capture::start(&[]);
    let app = Appliance::new(&cap, dir.path(), "");
    let gw = app.start();
    assert_eq!(
        send(
            &gw,
            "alice@contoso.com",
            &message("Alice@Contoso.com", "ssn", "employee SSN 536-22-8190")
        )
        .code,
        250
    );
    assert_eq!(
        send(
            &gw,
            "bob@contoso.com",
            &message("bob@contoso.com", "cards", &format!("cards {CARDS}"))
        )
        .code,
        550
    );
    // A second boundary, so --after and --before split the incidents.
    std::thread::sleep(Duration::from_millis(1100));
    let split = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(
        send(
            &gw,
            "carol@contoso.com",
            &message("carol@contoso.com", "ssn2", "SSN 536-22-8190")
        )
        .code,
        250
    );

    let subjects = |args: &[&str]| -> Vec<String> {
        app.incidents(args)
            .iter()
            .map(|i| i["subject"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(subjects(&[]), ["ssn", "cards", "ssn2"]);
    assert_eq!(subjects(&["--rule", "block-cards"]), ["cards"]);
    assert_eq!(subjects(&["--action", "quarantine"]), ["ssn", "ssn2"]);
    assert_eq!(subjects(&["--sender", "CAROL"]), ["ssn2"]);
    assert_eq!(subjects(&["--detector", "credit_card"]), ["cards"]);
    assert_eq!(
        subjects(&["--detector", "us_ssn", "--sender", "alice"]),
        ["ssn"]
    );
    let t = time_arg(split);
    assert_eq!(subjects(&["--after", &t]), ["ssn2"], "{t}");
    assert_eq!(subjects(&["--before", &t]), ["ssn", "cards"]);
    assert_eq!(subjects(&["--since", "w0:2"]), ["cards", "ssn2"]);
    assert_eq!(
        subjects(&["--since", "2", "--action", "quarantine"]),
        ["ssn2"]
    );
    // Paging: a limit prints where the next page starts.
    let (code, out) = app.ctl(&["incidents", "--limit", "1"]);
    assert_eq!(code, 0, "{out}");
    let rows: Vec<&str> = out.lines().filter(|l| l.starts_with("w0:")).collect();
    assert_eq!(rows.len(), 1, "{out}");
    assert!(rows[0].contains("quarantine-ssn"), "{out}");
    assert!(out.contains("--since w0:2"), "{out}");
    let (code, out) = app.ctl(&["incidents", "--action", "drop"]);
    assert_eq!(code, 2, "{out}");
    // One incident by number.
    let (code, out) = app.ctl(&["--json", "incidents", "show", "w0:2"]);
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (v["id"].as_str(), v["action"].as_str()),
        (Some("w0:2"), Some("block"))
    );
}

/// A Unix time as `--after`/`--before` take it (RFC 3339, UTC).
fn time_arg(unix: u64) -> String {
    let days = unix / 86_400;
    let secs = unix % 86_400;
    // Civil from days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}
