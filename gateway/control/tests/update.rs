//! Firmware uploads through the config port (`UpdateBegin`, `UpdateChunk`, `UpdateFinish`,
//! `UpdateStatus`): a real client and the real connection handler, with a helper on a real
//! Unix socket that speaks `cordon slot serve`'s protocol (the real helper is tested in
//! cordon's `update_helper` and, on the appliance, by image/test).

mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cordon_control::fake::FakeBackend;
use cordon_control::{serve_connection, Client, Error, Peer};
use cordon_wire::limits::CHUNK_LEN;
use cordon_wire::{ErrorCode, Request, Response, WireError};
use ring::digest::{digest, SHA256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixListener;
use tokio::sync::watch;

const EXAMPLE: &str = include_str!("../../cordon/examples/cordon.toml");

/// Bounds every wait, so a bug shows as a failure, not a hung CI run.
const TEST_DEADLINE: Duration = Duration::from_secs(20);

/// What the fake helper does with an install.
#[derive(Clone, Copy)]
enum Helper {
    /// Takes the whole stream, answers `ok B 0.2.0 LEN`.
    Accept,
    /// Refuses after the first 100 bytes (as a bad signature is refused), then drains.
    Refuse,
}

/// The bytes each install connection delivered, in order.
type Received = Arc<Mutex<Vec<Vec<u8>>>>;

/// A helper on `socket` speaking `cordon slot serve`'s protocol.
fn helper(socket: &Path, mode: Helper) -> Received {
    let listener = UnixListener::bind(socket).unwrap();
    let received: Received = Arc::default();
    let log = Arc::clone(&received);
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let mut all = Vec::new();
                let mut buf = [0u8; 4096];
                let mut answered = false;
                loop {
                    let n = conn.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    all.extend_from_slice(&buf[..n]);
                    if all.starts_with(b"status\n") {
                        break;
                    }
                    if matches!(mode, Helper::Refuse) && !answered && all.len() > 108 {
                        answered = true;
                        let _ = conn
                            .write_all(b"error bundle signature does not verify with any trusted key; nothing was written\n")
                            .await;
                    }
                }
                if all.starts_with(b"status\n") {
                    let report = r#"{"booted":"A","order":"A B","slots":[{"name":"A","booted":true,"state":"good","attempts":3,"version":"0.1.0","root_hash":null},{"name":"B","booted":false,"state":"bad","attempts":0,"version":null,"root_hash":null}],"rollback":null}"#;
                    let _ = conn.write_all(format!("{report}\n").as_bytes()).await;
                    return;
                }
                let bundle = all.strip_prefix(b"install\n").unwrap_or(&[]).to_vec();
                if matches!(mode, Helper::Accept) {
                    let line = format!("ok B 0.2.0 {}\n", bundle.len());
                    let _ = conn.write_all(line.as_bytes()).await;
                }
                log.lock().unwrap().push(bundle);
            });
        }
    });
    received
}

/// [`common::run`] within [`TEST_DEADLINE`].
fn run(test: impl std::future::Future<Output = ()> + Send + 'static) {
    common::run(async { tokio::time::timeout(TEST_DEADLINE, test).await.unwrap() })
}

struct Rig {
    backend: Arc<FakeBackend>,
    received: Received,
    _dir: tempfile::TempDir,
    _stop: watch::Sender<bool>,
}

fn rig(mode: Option<Helper>) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("update.sock");
    let mut backend = FakeBackend::new(dir.path(), EXAMPLE);
    let mut received = Received::default();
    if let Some(mode) = mode {
        received = helper(&socket, mode);
        backend = backend.with_updates(&socket);
    }
    Rig {
        backend: Arc::new(backend),
        received,
        _dir: dir,
        _stop: watch::channel(false).0,
    }
}

impl Rig {
    async fn client(&self) -> Client {
        let (ours, theirs) = tokio::io::duplex(64 * 1024);
        tokio::spawn(serve_connection(
            theirs,
            Arc::clone(&self.backend),
            Peer::Other("duplex".into()),
            self._stop.subscribe(),
        ));
        Client::over(Box::new(ours), "test").await.unwrap()
    }
}

fn bundle(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

fn running(bytes: &[u8]) -> [u8; 32] {
    digest(&SHA256, bytes).as_ref().try_into().unwrap()
}

fn chunk(file: &[u8], offset: usize) -> Request {
    let end = (offset + CHUNK_LEN).min(file.len());
    Request::UpdateChunk {
        offset: offset as u64,
        data: heapless::Vec::from_slice(&file[offset..end]).unwrap(),
        running: running(&file[..end]),
    }
}

/// Sends the chunks of `file` from `from` up to (not including) `to`.
async fn send(client: &mut Client, file: &[u8], from: usize, to: usize) {
    let mut at = from;
    while at < to {
        let end = (at + CHUNK_LEN).min(file.len());
        match client.call(chunk(file, at)).await.unwrap() {
            Response::UpdateReceived { received } => assert_eq!(received, end as u64),
            other => panic!("{other:?}"),
        }
        at = end;
    }
}

fn refused(result: Result<Response, Error>) -> (ErrorCode, String) {
    match result {
        Err(Error::Server(WireError::App(e))) => (e.code, e.message.to_string()),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn begin(total: usize, resume: bool) -> Request {
    Request::UpdateBegin {
        total_len: total as u64,
        resume,
    }
}

#[test]
fn a_bundle_streams_to_the_helper_and_the_install_is_audited() {
    run(async {
        let rig = rig(Some(Helper::Accept));
        let file = bundle(5 * CHUNK_LEN + 123);
        let mut c = rig.client().await;
        let ready = c.call(begin(file.len(), false)).await.unwrap();
        assert!(matches!(ready, Response::UpdateReady { received: 0, .. }));
        send(&mut c, &file, 0, file.len()).await;
        let done = c.call(Request::UpdateFinish).await.unwrap();
        assert_eq!(
            done,
            Response::UpdateInstalled {
                slot: cordon_wire::bounded("B"),
                version: cordon_wire::bounded("0.2.0"),
                bytes: file.len() as u64,
            }
        );
        assert_eq!(*rig.received.lock().unwrap(), vec![file.clone()]);
        let audits = rig.backend.audits.lock().unwrap().clone();
        let last = audits.last().expect("an audit record");
        assert_eq!(last.request.as_str(), "update_install");
        assert!(last.changes.contains("0.2.0"), "{last:?}");
    });
}

#[test]
fn a_broken_connection_resumes_where_the_appliance_stands() {
    run(async {
        let rig = rig(Some(Helper::Accept));
        let file = bundle(6 * CHUNK_LEN + 5);
        let mut first = rig.client().await;
        first.call(begin(file.len(), true)).await.unwrap();
        send(&mut first, &file, 0, 3 * CHUNK_LEN).await;
        drop(first);
        let mut second = rig.client().await;
        let Response::UpdateReady {
            received,
            running: r,
            ..
        } = second.call(begin(file.len(), true)).await.unwrap()
        else {
            panic!("not ready")
        };
        assert_eq!(received, 3 * CHUNK_LEN as u64);
        assert_eq!(
            r,
            running(&file[..3 * CHUNK_LEN]),
            "the running hash of what it has"
        );
        // The last chunk again (its ack was lost): accepted, nothing appended.
        match second.call(chunk(&file, 2 * CHUNK_LEN)).await.unwrap() {
            Response::UpdateReceived { received } => assert_eq!(received, 3 * CHUNK_LEN as u64),
            other => panic!("{other:?}"),
        }
        send(&mut second, &file, 3 * CHUNK_LEN, file.len()).await;
        second.call(Request::UpdateFinish).await.unwrap();
        assert_eq!(
            *rig.received.lock().unwrap(),
            vec![file.clone()],
            "one whole bundle, no splice"
        );
    });
}

#[test]
fn a_chunk_out_of_order_or_with_another_running_hash_is_refused() {
    run(async {
        let rig = rig(Some(Helper::Accept));
        let file = bundle(4 * CHUNK_LEN);
        let mut c = rig.client().await;
        c.call(begin(file.len(), false)).await.unwrap();
        send(&mut c, &file, 0, CHUNK_LEN).await;
        let (code, text) = refused(c.call(chunk(&file, 2 * CHUNK_LEN)).await);
        assert_eq!(code, ErrorCode::UploadSequence);
        assert!(text.contains("resume from there"), "{text}");
        // A chunk whose running hash is another file's ends the upload.
        let mut other = file.clone();
        other[10] ^= 1;
        let (code, text) = refused(c.call(chunk(&other, CHUNK_LEN)).await);
        assert_eq!(code, ErrorCode::UploadSequence);
        assert!(text.contains("running SHA-256"), "{text}");
        let (code, _) = refused(c.call(chunk(&file, CHUNK_LEN)).await);
        assert_eq!(code, ErrorCode::UploadSequence, "the upload is gone");
        let (code, _) = refused(c.call(Request::UpdateFinish).await);
        assert_eq!(code, ErrorCode::UploadMissing);
    });
}

#[test]
fn the_helpers_refusal_reaches_the_client_before_the_whole_file_is_sent() {
    run(async {
        let rig = rig(Some(Helper::Refuse));
        let file = bundle(40 * CHUNK_LEN);
        let mut c = rig.client().await;
        c.call(begin(file.len(), false)).await.unwrap();
        let mut at = 0;
        let (code, text) = loop {
            assert!(at < file.len(), "the refusal never came");
            match c.call(chunk(&file, at)).await {
                Ok(_) => at += CHUNK_LEN,
                Err(e) => break refused(Err(e)),
            }
        };
        assert_eq!(code, ErrorCode::UpdateRefused);
        assert!(text.contains("signature does not verify"), "{text}");
        assert!(at < 8 * CHUNK_LEN, "refused only after {at} bytes");
        // The refused install is in the audit trail with its reason.
        let audits = rig.backend.audits.lock().unwrap().clone();
        let last = audits.last().expect("an audit record");
        assert_eq!(last.request.as_str(), "update_install");
        assert!(!last.ok);
        assert!(
            last.error
                .as_deref()
                .is_some_and(|e| e.contains("signature")),
            "{last:?}"
        );
    });
}

#[test]
fn a_second_upload_waits_for_a_moving_one_and_finish_needs_every_byte() {
    run(async {
        let rig = rig(Some(Helper::Accept));
        let file = bundle(3 * CHUNK_LEN);
        let mut a = rig.client().await;
        a.call(begin(file.len(), false)).await.unwrap();
        send(&mut a, &file, 0, CHUNK_LEN).await;
        let mut b = rig.client().await;
        let (code, _) = refused(b.call(begin(file.len() + 1, false)).await);
        assert_eq!(code, ErrorCode::Busy);
        let (code, text) = refused(a.call(Request::UpdateFinish).await);
        assert_eq!(code, ErrorCode::UploadMissing);
        assert!(text.contains("of 24576 bytes"), "{text}");
    });
}

#[test]
fn without_a_helper_updates_are_unsupported_and_status_is_the_helpers_report() {
    run(async {
        let none = rig(None);
        let mut c = none.client().await;
        let (code, text) = refused(c.call(begin(100, false)).await);
        assert_eq!(code, ErrorCode::Unsupported);
        assert!(text.contains("update_socket"), "{text}");
        let (code, _) = refused(c.call(Request::UpdateStatus).await);
        assert_eq!(code, ErrorCode::Unsupported);

        let with = rig(Some(Helper::Accept));
        let mut c = with.client().await;
        let Response::Slots(report) = c.call(Request::UpdateStatus).await.unwrap() else {
            panic!("no slot report")
        };
        assert_eq!(report.booted.as_deref(), Some("A"));
        assert_eq!(report.slots[0].version.as_deref(), Some("0.1.0"));
        assert_eq!(report.slots[1].state.as_str(), "bad");
    });
}
