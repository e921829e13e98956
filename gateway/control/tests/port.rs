//! Behaviour tests of the config-port server: a real client against `serve_connection`
//! over an in-memory duplex, a real Unix socket, a real PTY and a real mutual-TLS TCP
//! listener, with `FakeBackend` (real persistence in a temp dir) behind it.

mod common;

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use common::run;
use cordon_control::fake::{FakeBackend, TestCa};
use cordon_control::{serve_connection, Client, Error, Peer, SerialPort};
use cordon_wire::{
    encode_frame, BlobKind, DecodeEvent, DecodeKind, ErrorCode, FrameDecoder, Request,
    RequestFrame, Response, ResponseFrame, Verdict, WireError, MAX_ENCODED_FRAME_LEN,
    PROTOCOL_VERSION, UNATTRIBUTED_ID,
};
use serde::ser::SerializeTuple;
use tempfile::TempDir;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;

const EXAMPLE: &str = include_str!("../../cordon/examples/cordon.toml");

/// Bounds every wait in these tests, so a bug shows as a failure, not a hung CI run.
const TEST_DEADLINE: Duration = Duration::from_secs(20);

fn fake() -> (Arc<FakeBackend>, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (Arc::new(FakeBackend::new(dir.path(), EXAMPLE)), dir)
}

/// A server task on one end of a duplex, a handshaken client on the other.
async fn duplex_client(backend: &Arc<FakeBackend>) -> (Client, watch::Sender<bool>) {
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    let (stop, shutdown) = watch::channel(false);
    tokio::spawn(serve_connection(
        theirs,
        Arc::clone(backend),
        Peer::Other("duplex".into()),
        shutdown,
    ));
    let client = Client::over(Box::new(ours), "test").await.unwrap();
    (client, stop)
}

fn app_code(result: Result<Response, Error>) -> ErrorCode {
    match result {
        Err(Error::Server(WireError::App(e))) => e.code,
        other => panic!("expected an application error, got {other:?}"),
    }
}

fn with_hostname(host: &str) -> String {
    EXAMPLE.replace("dlp1.contoso.com", host)
}

/// Every request type, in the order an admin would use them.
async fn exercise_every_request(client: &mut Client, backend: &FakeBackend) {
    assert_eq!(client.hello.protocol, PROTOCOL_VERSION);
    assert_eq!(client.hello.board.as_str(), "fake-board");

    let Response::Status(status) = client.call(Request::Status).await.unwrap() else {
        panic!("status")
    };
    assert_eq!((status.workers.len(), status.config_generation), (2, 0));
    let Response::Counters(counters) = client.call(Request::Counters).await.unwrap() else {
        panic!("counters")
    };
    assert_eq!(counters.counters[0].name.as_str(), "messages_in");

    assert_eq!(client.get_config().await.unwrap(), (0, EXAMPLE.to_owned()));
    Box::pin(config_requests(client)).await;
    Box::pin(incident_requests(client, backend)).await;
    Box::pin(blob_and_operation_requests(client, backend)).await;
}

/// Validate, apply and roll back, with the refusals on the way.
async fn config_requests(client: &mut Client) {
    // Validate: a good config, then a broken one with the key and position of the problem.
    let v1 = with_hostname("dlp2.contoso.com");
    client
        .upload(BlobKind::Config, v1.as_bytes())
        .await
        .unwrap();
    assert!(matches!(
        client.call(Request::ValidateConfig).await.unwrap(),
        Response::ConfigValid { .. }
    ));
    let broken = EXAMPLE.replace("max_sessions = 64", "max_sessions = \"many\"");
    client
        .upload(BlobKind::Config, broken.as_bytes())
        .await
        .unwrap();
    match client.call(Request::ValidateConfig).await {
        Err(Error::Server(WireError::App(e))) => {
            assert_eq!(e.code, ErrorCode::InvalidConfig);
            let issue = &e.issues[0];
            assert_eq!(issue.key.as_str(), "gateway.max_sessions");
            let line = EXAMPLE
                .lines()
                .position(|l| l.starts_with("max_sessions"))
                .unwrap()
                + 1;
            assert_eq!(issue.line as usize, line);
            assert!(issue.column > 0);
        }
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
    // Refused whole: applying it changes nothing.
    assert_eq!(
        app_code(
            client
                .call(Request::ApplyConfig {
                    expected_generation: None
                })
                .await
        ),
        ErrorCode::InvalidConfig
    );
    assert_eq!(client.get_config().await.unwrap().0, 0);

    // Apply, with and without the generation guard.
    client
        .upload(BlobKind::Config, v1.as_bytes())
        .await
        .unwrap();
    assert_eq!(
        app_code(
            client
                .call(Request::ApplyConfig {
                    expected_generation: Some(5)
                })
                .await
        ),
        ErrorCode::GenerationConflict
    );
    assert_eq!(
        client
            .call(Request::ApplyConfig {
                expected_generation: Some(0)
            })
            .await
            .unwrap(),
        Response::Applied {
            generation: 1,
            warnings: heapless::Vec::new()
        }
    );
    assert_eq!(client.get_config().await.unwrap(), (1, v1.clone()));
    assert_eq!(
        app_code(client.call(Request::Rollback).await),
        ErrorCode::NoPreviousConfig
    );
    let v2 = with_hostname("dlp3.contoso.com");
    client
        .upload(BlobKind::Config, v2.as_bytes())
        .await
        .unwrap();
    assert_eq!(
        client
            .call(Request::ApplyConfig {
                expected_generation: None
            })
            .await
            .unwrap(),
        Response::Applied {
            generation: 2,
            warnings: heapless::Vec::new()
        }
    );
    assert_eq!(
        client.call(Request::Rollback).await.unwrap(),
        Response::RolledBack {
            generation: 3,
            restored: 1
        }
    );
    assert_eq!(client.get_config().await.unwrap(), (3, v1));
}

async fn incident_requests(client: &mut Client, backend: &FakeBackend) {
    // Incidents: a page, then a follow that gets the backlog and a live one, then stops.
    for _ in 0..3 {
        backend.record_incident(Verdict::Block, "no-secrets");
    }
    let Response::Incidents(page) = client
        .call(Request::ListIncidents { since: 2, max: 100 })
        .await
        .unwrap()
    else {
        panic!("incidents")
    };
    assert_eq!(
        page.incidents.iter().map(|i| i.seq).collect::<Vec<_>>(),
        [2, 3]
    );
    assert_eq!((page.next, page.oldest), (4, 1));
    let follow = client
        .send(Request::FollowIncidents { since: 2 })
        .await
        .unwrap();
    for seq in [2, 3] {
        let frame = client.recv().await.unwrap();
        assert_eq!(frame.id, follow);
        assert!(matches!(frame.response, Response::Incident(i) if i.seq == seq));
    }
    backend.record_incident(Verdict::Quarantine, "pii");
    let frame = client.recv().await.unwrap();
    assert!(
        matches!(frame.response, Response::Incident(i) if i.seq == 4 && i.action == Verdict::Quarantine)
    );
    assert_eq!(
        client.call(Request::StopFollow).await.unwrap(),
        Response::Ok
    );
    backend.record_incident(Verdict::Block, "after-stop");
    // Nothing more is pushed: the next reply is the Status we ask for.
    assert!(matches!(
        client.call(Request::Status).await.unwrap(),
        Response::Status(_)
    ));
}

async fn blob_and_operation_requests(client: &mut Client, backend: &FakeBackend) {
    // Scan: needs a staged message; a multi-chunk message is reassembled in order.
    assert_eq!(
        app_code(client.call(Request::Scan).await),
        ErrorCode::UploadMissing
    );
    let mut message = b"Subject: hi\r\n\r\n".to_vec();
    message.extend(std::iter::repeat_n(b'a', 20_000));
    message.extend_from_slice(b"SECRET\r\n");
    client.upload(BlobKind::Message, &message).await.unwrap();
    let Response::ScanReport(report) = client.call(Request::Scan).await.unwrap() else {
        panic!("scan")
    };
    assert_eq!(
        (report.verdict, report.findings[0].count),
        (Verdict::Block, 1)
    );

    // TLS: a good bundle, then a key that belongs to another certificate.
    let ca = TestCa::new("install CA");
    let good = ca.leaf("dlp1.contoso.com", None);
    client
        .upload(BlobKind::TlsBundle, good.bundle().as_bytes())
        .await
        .unwrap();
    let Response::TlsInstalled(info) = client.call(Request::InstallTls).await.unwrap() else {
        panic!("tls")
    };
    assert!(
        info.subject.contains("dlp1.contoso.com"),
        "{}",
        info.subject
    );
    let other = ca.leaf("other", None);
    let mismatched = format!("{}{}", good.cert_pem, other.key_pem);
    client
        .upload(BlobKind::TlsBundle, mismatched.as_bytes())
        .await
        .unwrap();
    assert_eq!(
        app_code(client.call(Request::InstallTls).await),
        ErrorCode::InvalidTls
    );

    assert_eq!(
        client.call(Request::RestartWorkers).await.unwrap(),
        Response::WorkersRestarting { workers: 2 }
    );
    assert_eq!(
        client.call(Request::Reboot).await.unwrap(),
        Response::Rebooting
    );
    assert_eq!(backend.reboots.load(Ordering::SeqCst), 1);
}

#[test]
fn every_request_over_a_duplex() {
    run(async {
        let (backend, _dir) = fake();
        let (mut client, _stop) = duplex_client(&backend).await;
        tokio::time::timeout(
            TEST_DEADLINE,
            Box::pin(exercise_every_request(&mut client, &backend)),
        )
        .await
        .unwrap();
    })
}

#[test]
fn upload_rules_are_enforced() {
    run(async {
        let (backend, _dir) = fake();
        let (mut client, _stop) = duplex_client(&backend).await;
        let too_big = Request::UploadBegin {
            kind: BlobKind::Config,
            total_len: BlobKind::Config.max_len() + 1,
        };
        assert_eq!(
            app_code(client.call(too_big).await),
            ErrorCode::UploadTooLarge
        );
        let chunk = |offset, data: &[u8]| Request::UploadChunk {
            offset,
            data: heapless::Vec::from_slice(data).unwrap(),
        };
        assert_eq!(
            app_code(client.call(chunk(0, b"x")).await),
            ErrorCode::UploadSequence
        );
        client
            .call(Request::UploadBegin {
                kind: BlobKind::Config,
                total_len: 4,
            })
            .await
            .unwrap();
        assert_eq!(
            app_code(client.call(chunk(1, b"ab")).await),
            ErrorCode::UploadSequence
        );
        client.call(chunk(0, b"ab")).await.unwrap();
        // A resend of the last chunk (its ack was lost) is acknowledged, not appended.
        assert_eq!(
            client.call(chunk(0, b"ab")).await.unwrap(),
            Response::UploadProgress { received: 2 }
        );
        assert_eq!(
            app_code(client.call(chunk(2, b"cde")).await),
            ErrorCode::UploadSequence
        );
        // Incomplete: nothing can consume it; the wrong kind cannot either.
        assert_eq!(
            app_code(client.call(Request::ValidateConfig).await),
            ErrorCode::UploadMissing
        );
        client.call(chunk(2, b"cd")).await.unwrap();
        assert_eq!(
            app_code(client.call(Request::Scan).await),
            ErrorCode::UploadMissing
        );
    })
}

/// Raw client: writes bytes, reads response frames, with no handshake of its own.
struct Raw<S> {
    stream: S,
    decoder: Box<FrameDecoder>,
    pending: Vec<u8>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Raw<S> {
    fn new(stream: S) -> Self {
        Self {
            stream,
            decoder: Box::default(),
            pending: Vec::new(),
        }
    }

    async fn write(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
        self.stream.flush().await.unwrap();
    }

    async fn request(&mut self, id: u32, request: Request) {
        self.write(&frame(&RequestFrame { id, request })).await;
    }

    async fn read(&mut self) -> ResponseFrame {
        tokio::time::timeout(TEST_DEADLINE, async {
            loop {
                let mut input: &[u8] = &self.pending;
                let event = self.decoder.feed::<ResponseFrame>(&mut input);
                let used = self.pending.len() - input.len();
                self.pending.drain(..used);
                match event {
                    Some(DecodeEvent::Frame(f)) => return f,
                    Some(DecodeEvent::Error(e)) => panic!("server sent a bad frame: {e}"),
                    None => {}
                }
                let mut buf = [0; 4096];
                let n = self.stream.read(&mut buf).await.unwrap();
                assert!(n > 0, "server closed the connection");
                self.pending.extend_from_slice(&buf[..n]);
            }
        })
        .await
        .expect("no reply from the server")
    }
}

/// A complete frame, leading delimiter included, as a well-behaved sender writes it.
fn frame<T: serde::Serialize>(msg: &T) -> Vec<u8> {
    let mut out = vec![0; 1 + MAX_ENCODED_FRAME_LEN];
    let len = encode_frame(msg, &mut out[1..]).unwrap().len();
    out.truncate(1 + len);
    out
}

/// Bytes serialised verbatim (postcard writes a `u8` as one byte and a tuple without a
/// length), so a test can put any body, with a correct CRC, in a frame.
struct Verbatim<'a>(&'a [u8]);

impl serde::Serialize for Verbatim<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(self.0.len())?;
        for b in self.0 {
            t.serialize_element(b)?;
        }
        t.end()
    }
}

/// A hostile input: its name, its bytes, and the error it must get.
type Case = (&'static str, Vec<u8>, fn(&WireError) -> bool);

/// Each hostile input, then a good request: the hostile one gets a framed error (id 0),
/// and the good one is served.
async fn hostile_frames_then_good_ones<S: AsyncRead + AsyncWrite + Unpin>(stream: S) {
    let mut raw = Raw::new(stream);
    raw.request(
        1,
        Request::Hello {
            protocol: PROTOCOL_VERSION,
            client: cordon_control::bounded("raw"),
        },
    )
    .await;
    assert!(matches!(raw.read().await.response, Response::Hello(_)));

    let mut bad_crc = frame(&RequestFrame {
        id: 7,
        request: Request::Status,
    });
    let last = bad_crc.len() - 2;
    bad_crc[last] ^= 0x01;
    let cases: Vec<Case> = vec![
        (
            // Garbage with no delimiter: the next frame's leading 0x00 ends it.
            "no delimiter",
            vec![0x41; 40],
            |e| {
                matches!(
                    e,
                    WireError::Malformed | WireError::BadCrc { .. } | WireError::Truncated { .. }
                )
            },
        ),
        ("over-long", vec![0x55; 20_000], |e| {
            matches!(e, WireError::FrameTooLong { .. })
        }),
        ("bad CRC", bad_crc, |e| {
            matches!(e, WireError::BadCrc { .. })
        }),
        (
            // id 9, then request tag 200 (two varint bytes): a newer client's request.
            "unknown tag",
            frame(&Verbatim(&[9, 0xC8, 0x01])),
            |e| matches!(e, WireError::UnknownRequest { tag: 200 }),
        ),
        (
            // An id varint of 11 continuation bytes: longer than any u32.
            "over-long varint",
            frame(&Verbatim(&[0xFF; 11])),
            |e| matches!(e, WireError::Decode(DecodeKind::BadVarint)),
        ),
        (
            "valid frame, truncated body",
            frame(&Verbatim(&[3, 4])),
            |e| matches!(e, WireError::Decode(_)),
        ),
    ];
    for (id, (name, bytes, expected)) in (100u32..).zip(cases) {
        raw.write(&bytes).await;
        raw.request(id, Request::Status).await;
        let error = raw.read().await;
        match &error.response {
            Response::Error(e) if expected(e) => assert_eq!(error.id, UNATTRIBUTED_ID, "{name}"),
            other => panic!("{name}: expected a framed error, got {other:?}"),
        }
        let good = raw.read().await;
        assert_eq!(good.id, id, "{name}");
        assert!(
            matches!(good.response, Response::Status(_)),
            "{name}: {:?}",
            good.response
        );
    }
}

#[test]
fn hostile_frames_over_a_duplex() {
    run(async {
        let (backend, _dir) = fake();
        let (ours, theirs) = tokio::io::duplex(64 * 1024);
        let (_stop, shutdown) = watch::channel(false);
        tokio::spawn(serve_connection(
            theirs,
            backend,
            Peer::Other("raw".into()),
            shutdown,
        ));
        hostile_frames_then_good_ones(ours).await;
    })
}

#[test]
fn handshake_comes_first_and_versions_must_match() {
    run(async {
        let (backend, _dir) = fake();
        let (ours, theirs) = tokio::io::duplex(64 * 1024);
        let (_stop, shutdown) = watch::channel(false);
        tokio::spawn(serve_connection(
            theirs,
            backend,
            Peer::Other("raw".into()),
            shutdown,
        ));
        let mut raw = Raw::new(ours);
        raw.request(1, Request::Status).await;
        match raw.read().await.response {
            Response::Error(WireError::App(e)) => assert_eq!(e.code, ErrorCode::HelloRequired),
            other => panic!("{other:?}"),
        }
        raw.request(
            2,
            Request::Hello {
                protocol: 99,
                client: cordon_control::bounded("old"),
            },
        )
        .await;
        let reply = raw.read().await;
        assert_eq!(reply.id, 2);
        assert_eq!(
            reply.response,
            Response::Error(WireError::VersionMismatch {
                ours: PROTOCOL_VERSION,
                theirs: 99
            })
        );
        raw.request(3, Request::Counters).await;
        assert!(matches!(
            raw.read().await.response,
            Response::Error(WireError::App(_))
        ));
    })
}

#[test]
fn unix_socket_serves_allowed_uid_and_refuses_others() {
    run(async {
        use std::os::unix::fs::PermissionsExt;
        let (backend, dir) = fake();
        let me = nix::unistd::getuid().as_raw();

        let allowed = dir.path().join("allowed.sock");
        let (stop, shutdown) = watch::channel(false);
        let server = tokio::spawn({
            let (backend, path, shutdown) =
                (Arc::clone(&backend), allowed.clone(), shutdown.clone());
            async move { cordon_control::serve_unix(&path, 0o600, &[me], backend, shutdown).await }
        });
        while !allowed.exists() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mode = std::fs::metadata(&allowed).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let transport = cordon_control::Transport::Unix(allowed.clone());
        let mut client = Client::connect(&transport, "test").await.unwrap();
        tokio::time::timeout(
            TEST_DEADLINE,
            Box::pin(exercise_every_request(&mut client, &backend)),
        )
        .await
        .unwrap();
        // Every state-changing request over the socket is audited with the peer's uid.
        {
            let audits = backend.audits.lock().unwrap();
            let apply = audits
                .iter()
                .find(|r| r.request.as_str() == "apply" && r.ok)
                .expect("an audited apply");
            assert_eq!((apply.uid, apply.subject.as_ref()), (Some(me), None));
            assert!(apply.generation.is_some());
        }
        // Hostile frames over the real socket too.
        hostile_frames_then_good_ones(tokio::net::UnixStream::connect(&allowed).await.unwrap())
            .await;

        // A socket whose allow list does not hold our uid: one framed NotPermitted, then EOF.
        let refused = dir.path().join("refused.sock");
        let other = tokio::spawn({
            let (backend, path) = (Arc::clone(&backend), refused.clone());
            async move { cordon_control::serve_unix(&path, 0o600, &[me + 1], backend, shutdown).await }
        });
        while !refused.exists() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut raw = Raw::new(tokio::net::UnixStream::connect(&refused).await.unwrap());
        let reply = raw.read().await;
        match reply.response {
            Response::Error(WireError::App(e)) => assert_eq!(e.code, ErrorCode::NotPermitted),
            other => panic!("{other:?}"),
        }
        let mut rest = Vec::new();
        raw.stream.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty(), "the refused connection must be closed");
        assert!(matches!(
            Client::connect(&cordon_control::Transport::Unix(refused), "test").await,
            Err(Error::Server(WireError::App(_)))
        ));

        stop.send(true).unwrap();
        server.await.unwrap().unwrap();
        other.await.unwrap().unwrap();
        assert!(!allowed.exists(), "the socket file is removed on shutdown");
    })
}

#[test]
fn uid_allow_list() {
    assert!(cordon_control::uid_allowed(0, &[0, 998]));
    assert!(cordon_control::uid_allowed(998, &[0, 998]));
    assert!(!cordon_control::uid_allowed(65534, &[0, 998]));
    assert!(!cordon_control::uid_allowed(0, &[]));
}

#[test]
fn pty_stands_in_for_the_serial_console() {
    run(async {
        let (backend, _dir) = fake();
        let pty = nix::pty::openpty(None, None).unwrap();
        let device = nix::unistd::ttyname(&pty.slave).unwrap();
        // Raw mode before the server opens it, so nothing the test writes is line-edited.
        cordon_control::serial::set_raw(&pty.slave).unwrap();
        let (stop, shutdown) = watch::channel(false);
        let server = tokio::spawn({
            let (backend, device) = (Arc::clone(&backend), device.clone());
            async move { cordon_control::serve_serial(&device, backend, shutdown).await }
        });
        let master = SerialPort::from_fd(pty.master).unwrap();
        let mut client = Client::over(Box::new(master), "console").await.unwrap();
        tokio::time::timeout(
            TEST_DEADLINE,
            Box::pin(exercise_every_request(&mut client, &backend)),
        )
        .await
        .unwrap();
        drop(client);
        stop.send(true).unwrap();
        tokio::time::timeout(TEST_DEADLINE, server)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        drop(pty.slave);
    })
}

#[test]
fn pty_resynchronises_after_hostile_frames() {
    run(async {
        let (backend, _dir) = fake();
        let pty = nix::pty::openpty(None, None).unwrap();
        let device = nix::unistd::ttyname(&pty.slave).unwrap();
        cordon_control::serial::set_raw(&pty.slave).unwrap();
        let (_stop, shutdown) = watch::channel(false);
        tokio::spawn(async move { cordon_control::serve_serial(&device, backend, shutdown).await });
        hostile_frames_then_good_ones(SerialPort::from_fd(pty.master).unwrap()).await;
    })
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn tcp_mtls_accepts_only_certificates_from_the_pinned_ca() {
    run(async {
        let (backend, dir) = fake();
        let d = dir.path();
        let pinned = TestCa::new("pinned CA");
        let stranger = TestCa::new("another CA");
        let server = pinned.leaf("localhost", None);
        let good = pinned.leaf("admin", None);
        let foreign = stranger.leaf("admin", None);
        let ca = write(d, "ca.pem", &pinned.cert_pem());
        let config = cordon_control::server_tls_config(
            &write(d, "server.pem", &server.cert_pem),
            &write(d, "server.key", &server.key_pem),
            &ca,
        )
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (_stop, shutdown) = watch::channel(false);
        tokio::spawn(cordon_control::tcp::run_tcp_mtls(
            listener,
            config,
            Arc::clone(&backend),
            shutdown,
        ));
        let transport = |cert: Option<(&str, &str)>| cordon_control::Transport::Tcp {
            addr: format!("localhost:{port}"),
            ca: ca.clone(),
            cert: cert.map(|(c, _)| write(d, "client.pem", c)),
            key: cert.map(|(_, k)| write(d, "client.key", k)),
        };

        let mut client = Client::connect(&transport(Some((&good.cert_pem, &good.key_pem))), "tls")
            .await
            .unwrap();
        assert!(matches!(
            client.call(Request::Status).await.unwrap(),
            Response::Status(_)
        ));
        // A state-changing request over mutual TLS is audited with the certificate's subject
        // (refused here: there is no previous config, and the refusal is recorded too).
        let _ = client.call(Request::Rollback).await;
        {
            let audits = backend.audits.lock().unwrap();
            let r = audits.last().expect("an audited rollback");
            assert_eq!(r.request.as_str(), "rollback");
            assert_eq!(r.uid, None);
            assert!(
                r.subject.as_deref().is_some_and(|s| s.contains("CN=admin")),
                "{r:?}"
            );
            assert!(!r.ok && r.error.is_some(), "{r:?}");
        }

        for (name, cert) in [
            ("no certificate", None),
            (
                "certificate from another CA",
                Some((foreign.cert_pem.as_str(), foreign.key_pem.as_str())),
            ),
        ] {
            let result =
                tokio::time::timeout(TEST_DEADLINE, Client::connect(&transport(cert), "tls"))
                    .await
                    .unwrap();
            assert!(
                matches!(result, Err(Error::Handshake { .. } | Error::Transport(_))),
                "{name}: {result:?}"
            );
        }
    })
}

#[test]
fn unusable_tls_files_name_the_file_and_keep_the_cause() {
    use std::error::Error as _;

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ca = TestCa::new("pinned CA");
    let leaf = ca.leaf("localhost", None);
    let other = ca.leaf("other", None);
    let ca_pem = write(d, "ca.pem", &ca.cert_pem());
    let cert = write(d, "cert.pem", &leaf.cert_pem);
    let key = write(d, "key.pem", &leaf.key_pem);

    let empty = write(d, "empty.pem", "");
    let e = cordon_control::server_tls_config(&cert, &key, &empty).unwrap_err();
    assert!(
        matches!(&e, Error::TlsNoCertificate { path } if *path == empty),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        format!(
            "TLS setup: no certificate in {}: empty PEM",
            empty.display()
        )
    );

    let broken = write(
        d,
        "broken.pem",
        "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
    );
    let e = cordon_control::server_tls_config(&broken, &key, &ca_pem).unwrap_err();
    assert!(
        matches!(&e, Error::TlsPem { what: "bad certificate in", path, .. } if *path == broken),
        "{e:?}"
    );
    assert!(e.source().is_some(), "{e:?}");

    let missing = d.join("missing.pem");
    let e = cordon_control::server_tls_config(&cert, &missing, &ca_pem).unwrap_err();
    assert!(
        matches!(&e, Error::TlsPem { what: "cannot read private key from", path, .. } if *path == missing),
        "{e:?}"
    );

    // A key that is not the certificate's: rustls refuses the pair, and says why.
    let wrong_key = write(d, "other.key", &other.key_pem);
    let e = cordon_control::server_tls_config(&cert, &wrong_key, &ca_pem).unwrap_err();
    match &e {
        Error::TlsRefused {
            what: "certificate and key",
            path,
            source,
        } => {
            assert_eq!(*path, cert);
            assert_eq!(e.source().unwrap().to_string(), source.to_string());
        }
        other => panic!("{other:?}"),
    }
}
