//! Issue 21 items 2 and 4 against the running gateway and a real collector: Debian's rsyslog
//! (with rsyslog-gnutls), started here with a TLS listener on loopback (RFC 5425), receives
//! every incident and every config change as RFC 5424 that rsyslog's own parser splits into
//! its fields, with a CEF payload whose fields are checked; the audit trail names the Unix
//! peer's uid and the mutual-TLS client's certificate subject; the last exported tag anchors
//! `incidents verify`. Stopping rsyslog under load loses no mail and delays no reply, the
//! backlog arrives when it comes back, and events are dropped (and counted) only past the
//! backlog's bytes.

use std::collections::BTreeSet;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cordon_tests::*;

/// How long the collector may take to see an event (the exporter's reconnect backoff is at
/// most 10 s).
const ARRIVAL: Duration = Duration::from_secs(60);

/// rsyslogd in the foreground with its own config, work directory and TLS listener; each
/// event becomes one line of `out.log`: rsyslog's RFC 5424 fields, tab-separated.
struct Rsyslog {
    child: Option<Child>,
    dir: PathBuf,
    port: u16,
}

impl Rsyslog {
    /// With a TLS listener (RFC 5425) on `port`, certificate `cert` for `localhost`.
    fn start(dir: &Path, port: u16, cert: &Path, key: &Path, ca: &Path) -> Rsyslog {
        Rsyslog::with_inputs(
            dir,
            port,
            &format!(
                r#"global(workDirectory="{dir}" defaultNetstreamDriver="gtls"
       defaultNetstreamDriverCAFile="{ca}" defaultNetstreamDriverCertFile="{cert}"
       defaultNetstreamDriverKeyFile="{key}")
module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")
input(type="imtcp" port="{port}" address="127.0.0.1")
"#,
                dir = dir.display(),
                ca = ca.display(),
                cert = cert.display(),
                key = key.display(),
            ),
        )
    }

    /// With the listeners `inputs` declares; waits for TCP `port`.
    fn with_inputs(dir: &Path, port: u16, inputs: &str) -> Rsyslog {
        let conf = dir.join("rsyslog.conf");
        std::fs::write(
            &conf,
            format!(
                r#"{inputs}
template(name="fields" type="string"
         string="%protocol-version%\t%app-name%\t%procid%\t%msgid%\t%structured-data%\t%msg%\n")
action(type="omfile" file="{dir}/out.log" template="fields")
"#,
                dir = dir.display(),
            ),
        )
        .unwrap();
        let mut r = Rsyslog {
            child: None,
            dir: dir.to_path_buf(),
            port,
        };
        r.run();
        r
    }

    fn run(&mut self) {
        let child = Command::new("rsyslogd")
            .arg("-n")
            .arg("-f")
            .arg(self.dir.join("rsyslog.conf"))
            .arg("-i")
            .arg(self.dir.join("rsyslogd.pid"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run rsyslogd (scripts/preflight installs rsyslog and rsyslog-gnutls)");
        self.child = Some(child);
        let port = self.port;
        wait_until("rsyslog to listen", Duration::from_secs(20), || {
            TcpStream::connect(("127.0.0.1", port)).ok()
        });
    }

    /// SIGTERM and wait: rsyslog writes out what it received and closes its connections.
    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let _ = c.wait();
        }
    }

    /// Every event received so far: whole lines only, since rsyslog may be in the middle of
    /// writing the last one when the file is read.
    fn events(&self) -> Vec<Event> {
        let text = std::fs::read_to_string(self.dir.join("out.log")).unwrap_or_default();
        let whole = text.rfind('\n').map_or("", |end| &text[..=end]);
        whole.lines().map(Event::parse).collect()
    }

    /// Waits until `f` holds for what was received, then returns it.
    fn wait_for(&self, what: &str, f: impl Fn(&[Event]) -> bool) -> Vec<Event> {
        wait_until(what, ARRIVAL, || {
            let e = self.events();
            f(&e).then_some(e)
        })
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// One received event, as rsyslog's RFC 5424 parser split it.
#[derive(Debug, Clone)]
struct Event {
    version: String,
    app: String,
    procid: String,
    msgid: String,
    sd: String,
    msg: String,
}

impl Event {
    fn parse(line: &str) -> Event {
        let f: Vec<&str> = line.splitn(6, '\t').collect();
        assert_eq!(f.len(), 6, "not six fields: {line:?}");
        Event {
            version: f[0].into(),
            app: f[1].into(),
            procid: f[2].into(),
            msgid: f[3].into(),
            sd: f[4].into(),
            msg: f[5].into(),
        }
    }

    /// The SD-PARAM `name` of `[cordon@32473 ...]`.
    fn sd_param(&self, name: &str) -> String {
        let at = self
            .sd
            .find(&format!(" {name}=\""))
            .unwrap_or_else(|| panic!("no {name} in {}", self.sd));
        let rest = &self.sd[at + name.len() + 3..];
        rest[..rest.find('"').unwrap()].to_string()
    }

    fn seq(&self) -> String {
        self.sd_param("seq")
    }

    /// The value of CEF extension key `key` (up to the next ` key=`).
    fn cef(&self, key: &str) -> Option<String> {
        let ext = self.msg.splitn(8, '|').nth(7)?;
        let at = ext.find(&format!("{key}="))?;
        if at > 0 && !ext[..at].ends_with(' ') {
            return None;
        }
        let rest = &ext[at + key.len() + 1..];
        // The value ends where the next `word=` starts.
        let mut end = rest.len();
        for (i, _) in rest.match_indices(' ') {
            let next = &rest[i + 1..];
            if let Some(eq) = next.find('=') {
                if next[..eq]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    end = i;
                    break;
                }
            }
        }
        Some(rest[..end].to_string())
    }
}

fn message(subject: &str, body: &str) -> Vec<u8> {
    format!("From: alice@contoso.com\r\nTo: bob@fabrikam.example\r\nSubject: {subject}\r\nMessage-ID: <{subject}@contoso.com>\r\n\r\n{body}\r\n").into_bytes()
}

/// Sends one message in a session of its own; returns the reply code and how long the
/// final reply took.
fn send(gw: &Gateway, subject: &str, body: &str) -> (u16, Duration) {
    let mut c = gw.client();
    c.hello();
    let t = Instant::now();
    let r = c.send_mail(
        "alice@contoso.com",
        &["bob@fabrikam.example"],
        &message(subject, body),
    );
    let took = t.elapsed();
    c.cmd("QUIT");
    (r.code, took)
}

fn blocked(gw: &Gateway, subject: &str) {
    let (code, took) = send(gw, subject, &format!("cards {CARDS}"));
    assert_eq!(code, 550, "{subject}");
    // Mail never waits for the exporter: a collector that is down costs nothing here.
    assert!(took < Duration::from_secs(5), "{subject} took {took:?}");
}

/// The `[siem]` section for a TLS collector on `port` whose certificate is for `localhost`.
fn siem_section(port: u16, ca: &Path, extra: &str) -> String {
    format!(
        "[siem]\ntarget = \"127.0.0.1:{port}\"\nserver_name = \"localhost\"\nca_file = {:?}\nhostname = \"dlp1.contoso.com\"\n{extra}\n",
        ca.display().to_string()
    )
}

/// A metric's value from `/metrics`, 0 when absent.
fn metric(port: u16, name: &str) -> u64 {
    use std::io::{Read, Write};
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return 0;
    };
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0)
}

fn unique_incidents(events: &[Event]) -> BTreeSet<String> {
    events
        .iter()
        .filter(|e| e.msgid == "incident")
        .map(Event::seq)
        .collect()
}

#[test]
fn rsyslog_over_tls_receives_every_incident_and_config_change_as_rfc5424_with_cef() {
    let certs = Certs::new();
    let (cert, key) = certs.issue(&["localhost", "127.0.0.1"]);
    let client = certs.issue(&["siem-admin.contoso.com"]);
    let dir = TempDir::new("siem");
    let syslog_port = free_port();
    let rsyslog = Rsyslog::start(dir.path(), syslog_port, &cert, &key, &certs.ca);

    let cap = Capture::start(&[]);
    let socket = dir.path().join("control.sock");
    let tcp = free_port();
    let mut cfg = Cfg::new(&cap.smarthost());
    cfg.max_sessions = 4;
    cfg.extra = format!(
        "{BLOCK_CARDS_QUARANTINE_SSN}\n{}",
        siem_section(syslog_port, &certs.ca, "")
    );
    cfg.control = Some(format!(
        "state_dir = {:?}\nsocket = {:?}\n\n[control.tcp]\nlisten = \"127.0.0.1:{tcp}\"\ncertificate = {:?}\nprivate_key = {:?}\nclient_ca = {:?}\n",
        dir.path().join("state").display().to_string(),
        socket.display().to_string(),
        cert.display().to_string(),
        key.display().to_string(),
        certs.ca.display().to_string(),
    ));
    let gw = Gateway::start(&cfg);
    gw.wait_log("config port listening");

    for i in 0..3 {
        blocked(&gw, &format!("cards-{i}"));
    }
    for i in 0..2 {
        let (code, _) = send(&gw, &format!("ssn-{i}"), "employee SSN 536-22-8190");
        assert_eq!(code, 250);
    }

    // A config change over the Unix socket (uid 0: the test runs as root) and one over mutual
    // TLS with the admin's client certificate.
    let tighter = |min: usize| {
        let mut c = cfg.clone();
        c.extra = c
            .extra
            .replace("min_count = 5", &format!("min_count = {min}"));
        let path = dir.path().join(format!("min{min}.toml"));
        std::fs::write(&path, c.render()).unwrap();
        path
    };
    let (code, out) = ctl(&socket, &["config", "apply", tighter(4).to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    let out = Command::new(bin("cordonctl"))
        .args(["--tcp", &format!("localhost:{tcp}")])
        .arg("--ca")
        .arg(&certs.ca)
        .arg("--cert")
        .arg(&client.0)
        .arg("--key")
        .arg(&client.1)
        .args(["config", "apply", tighter(3).to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");

    let events = rsyslog.wait_for("5 incidents and 2 config changes", |e| {
        unique_incidents(e).len() == 5 && e.iter().filter(|e| e.msgid == "audit").count() == 2
    });
    for e in &events {
        // rsyslog parsed it as RFC 5424: version 1, the header fields where they belong.
        assert_eq!(e.version, "1", "{e:?}");
        assert_eq!(e.app, "cordon", "{e:?}");
        assert!(e.procid.parse::<u32>().is_ok(), "{e:?}");
        assert!(e.sd.starts_with("[cordon@32473 seq=\"w0:"), "{e:?}");
        let tag = e.sd_param("tag");
        assert!(
            tag.len() == 64 && tag.bytes().all(|b| b.is_ascii_hexdigit()),
            "{e:?}"
        );
        assert!(
            e.msg.starts_with(&format!(
                "CEF:0|Cordon|cordon|{}|",
                env!("CARGO_PKG_VERSION")
            )),
            "{e:?}"
        );
    }
    let incidents: Vec<&Event> = events.iter().filter(|e| e.msgid == "incident").collect();
    let by_action = |a: &str| {
        incidents
            .iter()
            .filter(|e| e.cef("act").as_deref() == Some(a))
            .count()
    };
    assert_eq!((by_action("block"), by_action("quarantine")), (3, 2));
    for e in &incidents {
        assert_eq!(e.cef("externalId"), Some(e.seq()), "{e:?}");
        assert_eq!(e.cef("suser").as_deref(), Some("alice@contoso.com"));
        assert_eq!(e.cef("duser").as_deref(), Some("bob@fabrikam.example"));
        let (rule, detector) = if e.cef("act").as_deref() == Some("block") {
            ("block-cards", "credit_card")
        } else {
            ("quarantine-ssn", "us_ssn")
        };
        assert_eq!(e.cef("cs1").as_deref(), Some(rule), "{e:?}");
        assert!(e.cef("cs2").is_some_and(|d| d.contains(detector)), "{e:?}");
        assert!(
            e.cef("cs3").is_some_and(|m| m.ends_with("@contoso.com>")),
            "{e:?}"
        );
        // The subject is the message's: cards-N or ssn-N.
        let subject = e.cef("msg").unwrap();
        assert!(
            subject.starts_with("cards-") || subject.starts_with("ssn-"),
            "{e:?}"
        );
    }
    // The same incidents, by number, as the appliance's own log lists them.
    let (code, out) = ctl(&socket, &["--json", "incidents"]);
    assert_eq!(code, 0, "{out}");
    let listed: BTreeSet<String> = out
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(listed, unique_incidents(&events));

    // The audit trail names who: the uid over the socket, the certificate subject over TLS.
    let audits: Vec<&Event> = events.iter().filter(|e| e.msgid == "audit").collect();
    for a in &audits {
        assert_eq!(a.cef("act").as_deref(), Some("apply"), "{a:?}");
        assert_eq!(a.cef("outcome").as_deref(), Some("success"), "{a:?}");
        assert!(
            a.cef("cs1")
                .is_some_and(|c| c.contains("rule") || c.contains("policy")),
            "{a:?}"
        );
    }
    assert!(
        audits.iter().any(|a| a.cef("suid").as_deref() == Some("0")),
        "{audits:?}"
    );
    assert!(
        audits.iter().any(|a| a
            .cef("suser")
            .is_some_and(|s| s.contains("siem-admin.contoso.com"))),
        "{audits:?}"
    );
    let (code, out) = ctl(&socket, &["audit"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("uid 0") && out.contains("siem-admin.contoso.com"),
        "{out}"
    );
    let (code, out) = ctl(&socket, &["--json", "audit"]);
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let records = v["records"].as_array().unwrap();
    assert_eq!(records.len(), 2, "{out}");
    assert_eq!(records[0]["uid"], 0);
    assert_eq!(records[0]["generation"], 2);
    assert!(records[1]["subject"]
        .as_str()
        .unwrap()
        .contains("siem-admin.contoso.com"));
    assert_eq!(records[1]["generation"], 3);

    // The newest exported event anchors the journal: no tail lost.
    let last = events
        .iter()
        .max_by_key(|e| e.seq()[3..].parse::<u64>().unwrap())
        .unwrap();
    let anchor = format!("{}:{}", last.seq(), last.sd_param("tag"));
    let (code, out) = ctl(&socket, &["incidents", "verify", "--anchor", &anchor]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("matches: no tail loss"), "{out}");
}

#[test]
fn a_stopped_collector_loses_no_mail_gets_the_backlog_back_and_drops_only_past_it() {
    let certs = Certs::new();
    let (cert, key) = certs.issue(&["localhost", "127.0.0.1"]);
    let dir = TempDir::new("siem-outage");
    let syslog_port = free_port();
    let mut rsyslog = Rsyslog::start(dir.path(), syslog_port, &cert, &key, &certs.ca);

    let cap = Capture::start(&[]);
    let metrics = free_port();
    let mut cfg = Cfg::new(&cap.smarthost());
    cfg.max_sessions = 4;
    // The smallest backlog, so the bound is reached by a bounded number of messages.
    cfg.extra = format!(
        "{BLOCK_CARDS_QUARANTINE_SSN}\n{}\n[metrics]\nlisten = \"127.0.0.1:{metrics}\"\n",
        siem_section(syslog_port, &certs.ca, "backlog = \"64KiB\"")
    );
    let gw = Gateway::start(&cfg);
    gw.wait_log("metrics endpoint listening");
    let m = |name: &str| metric(metrics, &format!("{name}{{worker=\"0\"}}"));

    for i in 0..3 {
        blocked(&gw, &format!("before-{i}"));
    }
    rsyslog.wait_for("the first 3 incidents", |e| unique_incidents(e).len() == 3);
    wait_until("the exporter to report its connection", ARRIVAL, || {
        (m("cordon_siem_connected") == 1).then_some(())
    });

    // The collector goes away: mail goes on at once, blocked and delivered alike.
    rsyslog.stop();
    let disconnected = || {
        wait_until("the exporter to see the collector gone", ARRIVAL, || {
            (m("cordon_siem_connected") == 0).then_some(())
        })
    };
    disconnected();
    for i in 0..20 {
        blocked(&gw, &format!("outage-{i}"));
    }
    let (code, took) = send(&gw, "clean", "nothing sensitive");
    assert_eq!(code, 250);
    assert!(took < Duration::from_secs(5), "{took:?}");
    cap.wait_messages(1);
    wait_until("the backlog to hold the outage", ARRIVAL, || {
        (m("cordon_siem_queued_events") == 20).then_some(())
    });
    assert_eq!(m("cordon_siem_dropped_events_total"), 0);

    // Back: the backlog arrives, nothing was dropped.
    rsyslog.run();
    rsyslog.wait_for("all 23 incidents", |e| unique_incidents(e).len() == 23);
    assert_eq!(m("cordon_siem_dropped_events_total"), 0);

    // A longer outage than the backlog holds: events past its 64 KiB are dropped and counted,
    // the rest arrive; the mail is unaffected.
    rsyslog.stop();
    disconnected();
    const LONG: usize = 150;
    for i in 0..LONG {
        blocked(&gw, &format!("long-outage-{i:03}"));
    }
    let (queued, dropped) = wait_until("the backlog to fill", ARRIVAL, || {
        let (q, d) = (
            m("cordon_siem_queued_events"),
            m("cordon_siem_dropped_events_total"),
        );
        (d > 0 && q + d == LONG as u64).then_some((q, d))
    });
    // An event is ~0.6 KiB here: 64 KiB holds about a hundred, far from all 150 or none.
    assert!((40..LONG as u64).contains(&queued), "queued {queued}");
    rsyslog.run();
    let events = rsyslog.wait_for("the backlog of the long outage", |e| {
        unique_incidents(e).len() as u64 >= 23 + LONG as u64 - dropped
    });
    let dropped = m("cordon_siem_dropped_events_total");
    eprintln!(
        "long outage: {LONG} incidents, {queued} held in 64 KiB, {dropped} dropped and counted"
    );
    assert_eq!(
        unique_incidents(&events).len() as u64,
        23 + LONG as u64 - dropped,
        "every event not counted as dropped arrives"
    );
    assert!(
        dropped > 0 && dropped <= LONG as u64 - 40,
        "dropped {dropped}"
    );
    // The journal holds every incident, exported or dropped.
    let all = (3 + 20 + LONG) as u64;
    wait_until("the journal gauge", ARRIVAL, || {
        (m("cordon_incident_log_last_sequence") == all).then_some(())
    });
}

#[test]
fn plain_tcp_with_json_and_udp_with_cef_reach_rsyslog_too() {
    let dir = TempDir::new("siem-plain");
    let (tcp, udp) = (free_port(), free_port());
    let rsyslog = Rsyslog::with_inputs(
        dir.path(),
        tcp,
        &format!(
            r#"global(workDirectory="{}")
module(load="imtcp")
input(type="imtcp" port="{tcp}" address="127.0.0.1")
module(load="imudp")
input(type="imudp" port="{udp}" address="127.0.0.1")
"#,
            dir.path().display()
        ),
    );
    let cap = Capture::start(&[]);
    let start = |transport: &str, format: &str, port: u16| {
        let mut cfg = Cfg::new(&cap.smarthost());
        cfg.max_sessions = 2;
        cfg.extra = format!(
            "{BLOCK_CARDS_QUARANTINE_SSN}\n[siem]\ntarget = \"127.0.0.1:{port}\"\ntransport = \"{transport}\"\nformat = \"{format}\"\n"
        );
        Gateway::start(&cfg)
    };
    // TCP (RFC 6587 octet counting) with the JSON payload.
    let gw = start("tcp", "json", tcp);
    blocked(&gw, "over-tcp");
    let events = rsyslog.wait_for("the TCP event", |e| !e.is_empty());
    let e = &events[0];
    assert_eq!(
        (e.version.as_str(), e.msgid.as_str()),
        ("1", "incident"),
        "{e:?}"
    );
    let v: serde_json::Value = serde_json::from_str(&e.msg).expect("a JSON payload");
    assert_eq!(v["id"].as_str(), Some(e.seq().as_str()), "{v}");
    assert_eq!(v["incident"]["sender"], "alice@contoso.com", "{v}");
    assert_eq!(v["incident"]["subject"], "over-tcp", "{v}");
    drop(gw);
    // UDP (RFC 5426, one datagram per event) with CEF.
    let gw = start("udp", "cef", udp);
    blocked(&gw, "over-udp");
    let events = rsyslog.wait_for("the UDP event", |e| e.len() >= 2);
    let e = &events[1];
    assert_eq!(
        (e.version.as_str(), e.msgid.as_str()),
        ("1", "incident"),
        "{e:?}"
    );
    assert!(e.msg.starts_with("CEF:0|Cordon|cordon|"), "{e:?}");
    assert_eq!(e.cef("msg").as_deref(), Some("over-udp"), "{e:?}");
}
