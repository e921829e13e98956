//! Codec tests: every message round-trips within its bound, and every kind of hostile frame
//! yields one typed error after which the next good frame still decodes.

use std::string::String as StdString;
use std::vec;
use std::vec::Vec as StdVec;

use heapless::{String, Vec};

use crate::frame::FRAME_CRC;
use crate::limits::*;
use crate::*;

fn s<const N: usize>(text: &str) -> String<N> {
    String::from(text)
}

/// A string filled to capacity, with no zero bytes (COBS's worst case).
fn full<const N: usize>() -> String<N> {
    let mut out = String::new();
    while out.push('x').is_ok() {}
    out
}

fn issue_full() -> Issue {
    Issue {
        file: full(),
        line: u32::MAX,
        column: u32::MAX,
        key: full(),
        reason: full(),
    }
}

fn incident(seq: u64) -> Incident {
    Incident {
        worker: 1,
        seq,
        time_unix: 1_700_000_000,
        message_id: s("<a@b>"),
        sender: s("alice@example.com"),
        kind: IncidentKind::Dlp,
        reason: s(""),
        session: s("s1"),
        subject: s("Q3 payroll"),
        recipients: 2,
        rcpts: Vec::from_slice(&[s("bob@fabrikam.example"), s("carol@fabrikam.example")]).unwrap(),
        rule: Some(s("quarantine-pii")),
        action: Verdict::Quarantine,
        detectors: Vec::from_slice(&[IncidentDetector {
            name: s("iban"),
            count: 2,
            confidence: Confidence::High,
            samples: Vec::from_slice(&[s("DE89 **** **** 3000")]).unwrap(),
        }])
        .unwrap(),
        downstream_reply: None,
    }
}

/// One instance of every request, in tag order.
fn every_request() -> StdVec<Request> {
    vec![
        Request::Hello {
            protocol: PROTOCOL_VERSION,
            client: s("cordonctl 0.1.0"),
        },
        Request::Status,
        Request::Counters,
        Request::GetConfig { offset: 8192 },
        Request::UploadBegin {
            kind: BlobKind::Message,
            total_len: 40_000,
        },
        Request::UploadChunk {
            offset: 16384,
            data: Vec::from_slice(b"Subject: hi\r\n\r\n\0body").unwrap(),
        },
        Request::ValidateConfig,
        Request::ApplyConfig {
            expected_generation: Some(7),
        },
        Request::Rollback,
        Request::ListIncidents { since: 3, max: 10 },
        Request::FollowIncidents { since: 0 },
        Request::StopFollow,
        Request::Scan,
        Request::InstallTls,
        Request::RestartWorkers,
        Request::Reboot,
        Request::Detectors {
            json: true,
            offset: 8192,
        },
        Request::QueryIncidents(IncidentQuery {
            since: Vec::from_slice(&[Cursor { worker: 1, seq: 40 }]).unwrap(),
            worker: None,
            after_unix: Some(1_700_000_000),
            before_unix: None,
            rule: Some(s("quarantine-pii")),
            action: Some(Verdict::Quarantine),
            sender: Some(s("alice")),
            detector: Some(s("iban")),
            max: 2,
        }),
        Request::VerifyIncidents {
            worker: 0,
            anchor: Some(JournalAnchor {
                worker: 0,
                seq: 40,
                tag: [7; 32],
            }),
        },
        Request::StageCandidate,
        Request::ScanCandidate,
        Request::QueryAudit { since: 1, max: 4 },
        Request::ScanText {
            json: false,
            from: Some(s("alice@contoso.com")),
            to: Vec::from_slice(&[s("bob@fabrikam.example")]).unwrap(),
            offset: 0,
        },
        Request::EdmInstall {
            name: s("customers"),
            key: [3; 32],
        },
        Request::EdmList,
        Request::EdmRemove {
            name: s("customers"),
        },
        Request::QueryTrace {
            since: Vec::from_slice(&[4, 0]).unwrap(),
            max: 8,
        },
        Request::QueryLog {
            since: Vec::from_slice(&[12, 0, 7]).unwrap(),
            max: 16,
            level: 2,
        },
        Request::QueryRepeats(RepeatQuery {
            after_unix: Some(1_796_000_000),
            detector: Some(s("credit_card")),
        }),
        Request::UpdateBegin {
            total_len: 99_566_120,
            resume: true,
        },
        Request::UpdateChunk {
            offset: 8192,
            data: Vec::from_slice(b"CORDONFW").unwrap(),
            running: [7; 32],
        },
        Request::UpdateFinish,
        Request::UpdateStatus,
        Request::FingerprintAdd {
            set: s("contracts"),
            document: crate::bounded("msa-template.docx"),
        },
        Request::FingerprintList {
            set: Some(s("contracts")),
        },
        Request::FingerprintRemove {
            set: s("contracts"),
            document: None,
        },
    ]
}

/// One instance of every response, in tag order.
fn every_response() -> StdVec<Response> {
    vec![
        Response::Hello(HelloReply {
            protocol: PROTOCOL_VERSION,
            software: s("0.1.0"),
            board: s("apu2"),
            max_frame: MAX_FRAME_LEN as u32,
        }),
        Response::Error(WireError::App(AppError {
            code: ErrorCode::InvalidConfig,
            message: s("config refused"),
            issues: Vec::from_slice(&[Issue {
                file: s("cordon.toml"),
                line: 12,
                column: 10,
                key: s("policy.rules[2].action"),
                reason: s("unknown action \"drop\""),
            }])
            .unwrap(),
        })),
        Response::Ok,
        Response::Status(Status {
            software: s("0.1.0"),
            board: s("qemu-x86_64"),
            uptime_secs: 3600,
            started_unix: 1_780_000_000,
            workers: Vec::from_slice(&[WorkerStatus {
                index: 0,
                core: Some(1),
                pid: 4242,
                health: WorkerHealth::Healthy,
                sessions: 3,
            }])
            .unwrap(),
            sessions: 3,
            memory: MemoryStatus {
                budget_bytes: 512 << 20,
                used_bytes: 100 << 20,
            },
            config_generation: 4,
            listeners: Vec::from_slice(&[s("127.0.0.1:25"), s("tls 127.0.0.1:465")]).unwrap(),
            restart_pending: Vec::from_slice(&[s("gateway.max_sessions")]).unwrap(),
            journal: JournalStatus {
                worker: 0,
                ok: false,
                failures: 2,
                last_error: Some(s("No space left on device")),
                first_seq: Some(1),
                last_seq: Some(40),
                bytes: 24_000,
                total_bytes: 64 << 20,
            },
            config_origin: s("stored generation 4 runs; /etc/cordon/cordon.toml differs"),
            file_differs: true,
            last_apply: Some(audit_record()),
            smarthosts: Vec::from_slice(&[SmartHostCheck {
                address: s("smtp://contoso-com.mail.protection.outlook.com:25"),
                ok: true,
                millis: 38,
                detail: s("220 BN8NAM12FT054.mail.protection.outlook.com Microsoft ESMTP"),
            }])
            .unwrap(),
            certificate: Some(TlsInfo {
                subject: s("CN=dlp1.contoso.com"),
                not_after_unix: 1_830_000_000,
                sha256: [3; 32],
            }),
            recent: Vec::from_slice(&[IncidentBrief {
                worker: 1,
                seq: 40,
                time_unix: 1_796_397_756,
                action: Verdict::Block,
                rule: Some(s("block-cards")),
                sender: s("alice@contoso.com"),
            }])
            .unwrap(),
            buffers: Vec::from_slice(&[BufferClass {
                size: 256 << 10,
                count: 120,
                in_use: 3,
            }])
            .unwrap(),
        }),
        Response::Counters(Counters {
            counters: Vec::from_slice(&[Counter {
                name: s("smtp.messages"),
                value: 10,
            }])
            .unwrap(),
        }),
        Response::ConfigChunk {
            generation: 4,
            total_len: 7,
            offset: 0,
            data: Vec::from_slice(b"[smtp]\n").unwrap(),
        },
        Response::UploadReady {
            chunk_len: CHUNK_LEN as u32,
        },
        Response::UploadProgress { received: 8192 },
        Response::ConfigValid {
            warnings: Vec::new(),
        },
        Response::Applied {
            generation: 5,
            warnings: Vec::new(),
        },
        Response::RolledBack {
            generation: 6,
            restored: 4,
        },
        Response::Incidents(IncidentPage {
            incidents: Vec::from_slice(&[incident(1), incident(2)]).unwrap(),
            next: 3,
            oldest: 1,
        }),
        Response::Incident(incident(3)),
        Response::ScanReport(ScanReport {
            verdict: Verdict::Block,
            findings: Vec::from_slice(&[Finding {
                rule: s("iban"),
                detector: s("iban"),
                count: 2,
                location: s("body/1"),
            }])
            .unwrap(),
            more_findings: 0,
        }),
        Response::TlsInstalled(TlsInfo {
            subject: s("CN=mx.example.com"),
            not_after_unix: 1_800_000_000,
            sha256: [0xAB; 32],
        }),
        Response::WorkersRestarting { workers: 2 },
        Response::Rebooting,
        Response::DetectorsChunk {
            total_len: 20_000,
            offset: 8192,
            data: Vec::from_slice(b"credit_card").unwrap(),
        },
        Response::IncidentResults(IncidentResults {
            incidents: Vec::from_slice(&[incident(4)]).unwrap(),
            next: Vec::from_slice(&[Cursor { worker: 1, seq: 5 }]).unwrap(),
            done: true,
        }),
        Response::IncidentsVerified {
            report: Some(JournalReport {
                worker: 0,
                first_seq: Some(1),
                last_seq: Some(40),
                first_time_unix: Some(1_700_000_000),
                last_time_unix: Some(1_700_000_100),
                last_tag: Some([9; 32]),
                broken: Some(JournalBreak {
                    seq: 41,
                    kind: BreakKind::Gap,
                    found: Some(43),
                    file: s("seg-00000000000000000001.cjl"),
                    offset: 4096,
                }),
                torn_tail_bytes: 0,
                anchor: Some(AnchorOutcome::TailLost {
                    last_held: Some(40),
                }),
                error: None,
                next: Some(1),
            }),
        },
        Response::CandidateStaged {
            generation: 4,
            warnings: Vec::new(),
        },
        Response::ScanCompared(ScanComparison {
            generation: 4,
            running: Judged {
                verdict: Verdict::Tag,
                rule: Some(s("tag-ssn")),
                scan_error: None,
            },
            candidate: Judged {
                verdict: Verdict::Block,
                rule: Some(s("block-ssn")),
                scan_error: Some(s("time budget")),
            },
        }),
        Response::Audit(AuditPage {
            records: Vec::from_slice(&[audit_record()]).unwrap(),
            next: 8,
            done: true,
        }),
        Response::ScanText {
            total_len: 5,
            offset: 0,
            data: Vec::from_slice(b"hello").unwrap(),
        },
        Response::EdmTables(EdmTables {
            tables: Vec::from_slice(&[EdmTableInfo {
                name: s("customers"),
                rows: 100_000,
                columns: 6,
                min_fields: 3,
                proximity: 300,
                memory_bytes: 3_600_000,
                stored_bytes: 3_600_120,
            }])
            .unwrap(),
            memory_budget: 64 << 20,
            storage_budget: 256 << 20,
        }),
        Response::Trace(TracePage {
            entries: Vec::from_slice(&[TraceEntry {
                worker: 1,
                seq: 41,
                time_ms: 1_796_397_756_123,
                bytes: 2048,
                action: s("block"),
                rule: Some(s("block-cards")),
                sender: s("alice@contoso.com"),
                message_id: s("<m1@contoso.com>"),
                reason: s("rule block-cards matched; credit_card=5"),
            }])
            .unwrap(),
            next: Vec::from_slice(&[3, 42]).unwrap(),
        }),
        Response::Log(LogPage {
            lines: Vec::from_slice(&[LogEntry {
                source: 2,
                seq: 7,
                time_ms: 1_796_397_756_456,
                level: s("warn"),
                text: s("smart host 10.0.0.5:25 answered 421; retrying"),
            }])
            .unwrap(),
            next: Vec::from_slice(&[12, 0, 8]).unwrap(),
            supervisor: 2,
        }),
        Response::Repeats(repeat_report(1)),
        Response::UpdateReady {
            chunk_len: CHUNK_LEN as u32,
            received: 81920,
            running: [9; 32],
        },
        Response::UpdateReceived { received: 90112 },
        Response::UpdateInstalled {
            slot: s("B"),
            version: s("0.2.0"),
            bytes: 99_566_120,
        },
        Response::Slots(slots_report(s("0.2.0"))),
        Response::Fingerprints(fingerprint_sets(1)),
    ]
}

/// `n` fingerprint sets and as many documents (at most the lists' bounds), names full.
fn fingerprint_sets(n: usize) -> FingerprintSets {
    let set = FingerprintSetInfo {
        name: full(),
        documents: u16::MAX,
        fingerprints: u32::MAX,
        memory_bytes: u64::MAX,
        stored_bytes: u64::MAX,
    };
    let doc = FingerprintDocument {
        name: full(),
        fingerprints: u32::MAX,
    };
    let mut sets = Vec::new();
    let mut documents = Vec::new();
    for _ in 0..n {
        let _ = sets.push(set.clone());
        let _ = documents.push(doc.clone());
    }
    FingerprintSets {
        sets,
        documents,
        memory_budget: u64::MAX,
        storage_budget: u64::MAX,
    }
}

/// Both slots, slot B trying `version` after a rollback.
fn slots_report(version: Name) -> SlotsReport {
    let slot = |name: &str, booted, state: &str| SlotReport {
        name: s(name),
        booted,
        state: s(state),
        attempts: 3,
        version: Some(version.clone()),
        root_hash: Some(crate::bounded(&"f".repeat(64))),
    };
    SlotsReport {
        booted: Some(s("A")),
        order: s("B A"),
        slots: Vec::from_slice(&[slot("A", true, "good"), slot("B", false, "trying")]).unwrap(),
        rollback: Some(full()),
    }
}

/// A `Repeats` answer with `n` detectors and values (at most the lists' bounds).
fn repeat_report(n: usize) -> RepeatReport {
    let name: StdString = "d".repeat(MAX_NAME_LEN);
    let mut detectors = Vec::new();
    let mut top = Vec::new();
    for i in 0..n {
        let _ = detectors.push(RepeatDetector {
            detector: s(&name),
            distinct: u32::MAX,
            repeated: u32::MAX - i as u32,
            messages: u32::MAX,
            repeat_messages: u32::MAX,
        });
        let mut incidents = Vec::new();
        while incidents
            .push(Cursor {
                worker: u16::MAX,
                seq: u64::MAX,
            })
            .is_ok()
        {}
        let _ = top.push(RepeatValue {
            detector: s(&name),
            tag: u32::MAX,
            messages: u32::MAX,
            first_unix: u64::MAX,
            last_unix: u64::MAX,
            incidents,
        });
    }
    RepeatReport {
        incidents: u64::MAX,
        messages: u32::MAX,
        complete: false,
        untracked: u32::MAX,
        detectors,
        top,
    }
}

fn audit_record() -> AuditRecord {
    AuditRecord {
        worker: 0,
        seq: 7,
        time_unix: 1_700_000_000,
        uid: None,
        subject: Some(s("CN=admin,O=Contoso")),
        peer: s("tcp 10.0.0.5:5123"),
        request: s("apply"),
        generation: Some(4),
        changes: s("policy.rules[0].action"),
        ok: true,
        error: None,
    }
}

#[test]
fn audit_records_round_trip_and_are_not_incidents() {
    let record = audit_record();
    let mut buf = [0u8; crate::AUDIT_RECORD_MAX];
    let n = crate::encode_audit_record(&record, &mut buf).unwrap();
    assert_eq!(buf[0], crate::AUDIT_RECORD_VERSION);
    let back = crate::decode_audit_record(&buf[..n]).unwrap();
    assert_eq!((back.worker, back.seq), (0, 0));
    assert_eq!(back.subject, record.subject);
    assert_eq!(crate::decode_incident_record(&buf[..n]), None);
    let mut inc = [0u8; crate::INCIDENT_RECORD_MAX];
    let n = crate::encode_incident_record(&incident(3), &ValueTags::default(), &mut inc).unwrap();
    assert_eq!(crate::decode_audit_record(&inc[..n]), None);
    const { assert!(crate::AUDIT_RECORD_MAX <= crate::INCIDENT_RECORD_MAX) };
}

/// Requests and responses at their largest, to prove the bound holds in practice.
fn biggest_requests() -> StdVec<Request> {
    vec![
        Request::UpdateChunk {
            offset: u64::MAX,
            data: Vec::from_slice(&[0xFF; CHUNK_LEN]).unwrap(),
            running: [0xFF; 32],
        },
        Request::UploadChunk {
            offset: u32::MAX,
            data: Vec::from_slice(&[0xFF; CHUNK_LEN]).unwrap(),
        },
        Request::Hello {
            protocol: u16::MAX,
            client: full(),
        },
    ]
}

fn biggest_responses() -> StdVec<Response> {
    let mut issues = Vec::new();
    while issues.push(issue_full()).is_ok() {}
    let mut incidents = Vec::new();
    let mut big = incident(u64::MAX);
    big.message_id = full();
    big.sender = full();
    big.subject = full();
    big.reason = full();
    big.session = full();
    big.rule = Some(full());
    big.downstream_reply = Some(full());
    big.rcpts.clear();
    while big.rcpts.push(full()).is_ok() {}
    let detector = IncidentDetector {
        name: full(),
        count: u32::MAX,
        confidence: Confidence::High,
        samples: Vec::new(),
    };
    big.detectors.clear();
    while big.detectors.push(detector.clone()).is_ok() {}
    for d in &mut big.detectors {
        while d.samples.push(full()).is_ok() {}
    }
    while incidents.push(big.clone()).is_ok() {}
    vec![
        Response::ConfigChunk {
            generation: u64::MAX,
            total_len: u32::MAX,
            offset: u32::MAX,
            data: Vec::from_slice(&[0xFF; CHUNK_LEN]).unwrap(),
        },
        Response::Error(WireError::App(AppError {
            code: ErrorCode::Internal,
            message: full(),
            issues,
        })),
        Response::Incidents(IncidentPage {
            incidents,
            next: u64::MAX,
            oldest: u64::MAX,
        }),
        Response::Repeats(repeat_report(MAX_REPEAT_DETECTORS.max(MAX_REPEAT_TOP))),
        Response::Slots(slots_report(full())),
        Response::Fingerprints(fingerprint_sets(
            MAX_SET_DOCUMENTS.max(MAX_FINGERPRINT_SETS),
        )),
    ]
}

fn encode<T: serde::Serialize>(msg: &T) -> StdVec<u8> {
    let mut buf = vec![0u8; MAX_ENCODED_FRAME_LEN];
    encode_frame(msg, &mut buf).expect("fits").to_vec()
}

fn req(id: u32, request: Request) -> RequestFrame {
    RequestFrame { id, request }
}

/// Feeds `bytes` in pieces of `step` and collects every event.
fn events<T: Message, const N: usize>(
    dec: &mut FrameDecoder<N>,
    bytes: &[u8],
    step: usize,
) -> StdVec<DecodeEvent<T>> {
    let mut out = StdVec::new();
    for piece in bytes.chunks(step.max(1)) {
        let mut input = piece;
        while let Some(ev) = dec.feed::<T>(&mut input) {
            out.push(ev);
        }
        assert!(input.is_empty());
    }
    out
}

/// Reference COBS encoder, written the obvious way, to cross-check the in-place one.
fn cobs_reference(data: &[u8]) -> StdVec<u8> {
    let mut out = vec![0];
    let mut code_at = 0;
    for &b in data {
        if b == 0 {
            out[code_at] = (out.len() - code_at) as u8;
            code_at = out.len();
            out.push(0);
        } else {
            out.push(b);
            if out.len() - code_at == 0xFF {
                out[code_at] = 0xFF;
                code_at = out.len();
                out.push(0);
            }
        }
    }
    out[code_at] = (out.len() - code_at) as u8;
    out
}

/// Frames an arbitrary body the way a (possibly hostile) peer would.
fn raw_frame(body: &[u8]) -> StdVec<u8> {
    let mut raw = body.to_vec();
    raw.extend_from_slice(&FRAME_CRC.checksum(body).to_le_bytes());
    let mut out = cobs_reference(&raw);
    out.push(0);
    out
}

fn body_of(msg: &RequestFrame) -> StdVec<u8> {
    postcard::to_stdvec(msg).unwrap()
}

#[test]
fn every_message_fits_the_frame_buffer() {
    std::println!(
        "RequestFrame max {} B, ResponseFrame max {} B, body bound {} B, frame buffer {} B",
        RequestFrame::POSTCARD_MAX_SIZE,
        ResponseFrame::POSTCARD_MAX_SIZE,
        MAX_BODY_LEN,
        MAX_FRAME_LEN
    );
    // Also checked at compile time in frame.rs; repeated here so the test names the claim.
    const { assert!(RequestFrame::POSTCARD_MAX_SIZE <= MAX_BODY_LEN) };
    const { assert!(ResponseFrame::POSTCARD_MAX_SIZE <= MAX_BODY_LEN) };
    let mut dec: FrameDecoder = FrameDecoder::new();
    for request in biggest_requests() {
        let msg = req(u32::MAX, request);
        assert!(body_of(&msg).len() <= RequestFrame::POSTCARD_MAX_SIZE);
        let frame = encode(&msg);
        assert!(frame.len() <= MAX_ENCODED_FRAME_LEN);
        assert_eq!(
            events(&mut dec, &frame, frame.len()),
            [DecodeEvent::Frame(msg)]
        );
    }
    for response in biggest_responses() {
        let msg = ResponseFrame {
            id: u32::MAX,
            response,
        };
        assert!(postcard::to_stdvec(&msg).unwrap().len() <= ResponseFrame::POSTCARD_MAX_SIZE);
        let frame = encode(&msg);
        assert_eq!(events(&mut dec, &frame, 4096), [DecodeEvent::Frame(msg)]);
    }
}

#[test]
fn every_request_and_response_round_trips() {
    let mut dec: FrameDecoder = FrameDecoder::new();
    for (i, request) in every_request().into_iter().enumerate() {
        let msg = req(i as u32 + 1, request);
        let frame = encode(&msg);
        assert_eq!(
            frame.iter().filter(|&&b| b == 0).count(),
            1,
            "only the delimiter"
        );
        assert_eq!(frame.last(), Some(&0));
        for step in [1, 3, frame.len()] {
            assert_eq!(
                events(&mut dec, &frame, step),
                [DecodeEvent::Frame(msg.clone())]
            );
        }
    }
    let mut dec: FrameDecoder = FrameDecoder::new();
    for (i, response) in every_response().into_iter().enumerate() {
        let msg = ResponseFrame {
            id: i as u32,
            response,
        };
        let frame = encode(&msg);
        assert_eq!(events(&mut dec, &frame, 2), [DecodeEvent::Frame(msg)]);
    }
}

#[test]
fn variant_counts_match_the_enums() {
    // The tag is the byte after the one-byte id; the lists above are in tag order.
    let requests = every_request();
    assert_eq!(requests.len() as u32, Request::VARIANTS);
    for (tag, request) in requests.into_iter().enumerate() {
        assert_eq!(body_of(&req(1, request))[1] as usize, tag);
    }
    let responses = every_response();
    assert_eq!(responses.len() as u32, Response::VARIANTS);
    for (tag, response) in responses.into_iter().enumerate() {
        let body = postcard::to_stdvec(&ResponseFrame { id: 1, response }).unwrap();
        assert_eq!(body[1] as usize, tag);
    }
}

#[test]
fn hello_layout_is_frozen() {
    // Hello must decode identically in every protocol version: id, tag 0, version, name.
    let body = body_of(&req(
        5,
        Request::Hello {
            protocol: 1,
            client: s("c"),
        },
    ));
    assert_eq!(body, [5, 0, 1, 1, b'c']);
}

#[test]
fn in_place_cobs_matches_the_reference() {
    let mut seed = 0x2545_f491_u32;
    for len in (0..600).chain([5000, CHUNK_LEN]) {
        for zero_every in [0usize, 1, 7, 300] {
            let data: StdVec<u8> = (0..len)
                .map(|i| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    if zero_every != 0 && i % zero_every == 0 {
                        0
                    } else {
                        (seed >> 16) as u8 | 1
                    }
                })
                .collect();
            // Postcard-encode a byte string so encode_frame carries exactly this data.
            let frame = encode(&serde_bytes_like(&data));
            let expected = raw_frame(&postcard::to_stdvec(&serde_bytes_like(&data)).unwrap());
            assert_eq!(frame, expected, "len {len} zero_every {zero_every}");
        }
    }
}

/// A bounded byte vector large enough for the COBS test data.
fn serde_bytes_like(data: &[u8]) -> Vec<u8, { CHUNK_LEN }> {
    Vec::from_slice(data).unwrap()
}

#[test]
fn encode_reports_a_small_buffer() {
    let msg = req(1, Request::Status);
    let mut tiny = [0u8; 4];
    assert!(matches!(
        encode_frame(&msg, &mut tiny),
        Err(WireError::BufferTooSmall { .. })
    ));
    let mut buf = [0u8; 64];
    let n = encode_frame(&msg, &mut buf).unwrap().len();
    let mut exact = vec![0u8; n];
    assert!(encode_frame(&msg, &mut exact).is_ok());
}

/// Each hostile input must produce exactly `expected`, and the good frame after it must
/// still be decoded, whatever the split of the stream.
fn assert_resyncs(hostile: &[u8], expected: WireError) {
    let good = req(99, Request::Status);
    let mut stream = hostile.to_vec();
    stream.extend_from_slice(&encode(&good));
    for step in [1, 2, 7, stream.len()] {
        let mut dec: FrameDecoder<256> = FrameDecoder::new();
        let got = events::<RequestFrame, 256>(&mut dec, &stream, step);
        assert_eq!(
            got,
            [
                DecodeEvent::Error(expected.clone()),
                DecodeEvent::Frame(good.clone())
            ],
            "step {step}, hostile {hostile:02x?}"
        );
        assert_eq!(dec.buffered(), 0);
    }
}

#[test]
fn over_long_frame_is_reported_and_skipped() {
    let mut hostile = vec![0x55; 10_000];
    hostile.push(0);
    assert_resyncs(&hostile, WireError::FrameTooLong { limit: 256 });
}

#[test]
fn frame_without_delimiter_is_cut_by_the_next_leading_zero() {
    // A sender that died mid-frame never sends its delimiter. Senders prefix each frame with
    // 0x00, so the fragment is closed by the next sender's first byte and costs one error.
    let good = encode(&req(
        1,
        Request::Hello {
            protocol: 1,
            client: s("a client name long enough to cut"),
        },
    ));
    let mut hostile = good[..good.len() / 2].to_vec();
    let expected = decode_body::<RequestFrame>(&mut hostile.clone()).unwrap_err();
    assert!(
        matches!(expected, WireError::BadCrc { .. } | WireError::Malformed),
        "{expected:?}"
    );
    hostile.push(0);
    assert_resyncs(&hostile, expected);
}

#[test]
fn bad_crc_is_reported() {
    let body = body_of(&req(7, Request::GetConfig { offset: 5 }));
    let mut raw = body.clone();
    let crc = FRAME_CRC.checksum(&body) ^ 0x0000_0100;
    raw.extend_from_slice(&crc.to_le_bytes());
    let mut hostile = cobs_reference(&raw);
    hostile.push(0);
    assert_resyncs(
        &hostile,
        WireError::BadCrc {
            expected: crc,
            actual: FRAME_CRC.checksum(&body),
        },
    );
}

#[test]
fn unknown_request_tag_is_reported() {
    // id 1, tag 200 (a varint of two bytes), as a newer cordonctl would send.
    assert_resyncs(
        &raw_frame(&[1, 0xC8, 0x01]),
        WireError::UnknownRequest { tag: 200 },
    );
}

#[test]
fn over_long_varint_is_reported() {
    // A u32 id whose varint runs to six bytes.
    assert_resyncs(
        &raw_frame(&[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 1]),
        WireError::Decode(DecodeKind::BadVarint),
    );
    // A u64 field whose varint never ends.
    assert_resyncs(
        &raw_frame(&[
            1, 9, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        ]),
        WireError::Decode(DecodeKind::BadVarint),
    );
}

#[test]
fn truncated_body_is_reported() {
    let body = body_of(&req(
        1,
        Request::ListIncidents {
            since: 1 << 40,
            max: 5,
        },
    ));
    assert_resyncs(
        &raw_frame(&body[..body.len() - 3]),
        WireError::Decode(DecodeKind::UnexpectedEnd),
    );
    // Shorter than the CRC itself.
    assert_resyncs(&[0x03, 0x01, 0x02, 0x00], WireError::Truncated { len: 2 });
}

#[test]
fn malformed_cobs_is_reported() {
    // Code byte 0x09 promises eight data bytes; only two follow.
    assert_resyncs(&[0x09, 0x01, 0x02, 0x00], WireError::Malformed);
}

#[test]
fn bad_field_values_are_reported() {
    // Option tag 2 in ApplyConfig.expected_generation.
    assert_resyncs(
        &raw_frame(&[1, 7, 2]),
        WireError::Decode(DecodeKind::BadValue),
    );
    // Invalid UTF-8 in Hello.client.
    assert_resyncs(
        &raw_frame(&[1, 0, 1, 1, 0xC3]),
        WireError::Decode(DecodeKind::BadUtf8),
    );
    // Hello.client carries 49 bytes: one above its bound.
    let mut body = vec![1, 0, 1, MAX_NAME_LEN as u8 + 1];
    body.extend_from_slice(&[b'a'; MAX_NAME_LEN + 1]);
    assert_resyncs(&raw_frame(&body), WireError::Decode(DecodeKind::TooLong));
    // A good message followed by junk.
    let mut body = body_of(&req(1, Request::Status));
    body.push(0x42);
    assert_resyncs(
        &raw_frame(&body),
        WireError::Decode(DecodeKind::TrailingBytes),
    );
}

#[test]
fn empty_frames_are_ignored() {
    let good = req(3, Request::Reboot);
    let mut stream = vec![0, 0, 0];
    stream.extend_from_slice(&encode(&good));
    let mut dec: FrameDecoder<64> = FrameDecoder::new();
    assert_eq!(events(&mut dec, &stream, 1), [DecodeEvent::Frame(good)]);
}

#[test]
fn mixed_stream_in_random_splits() {
    let mut stream = StdVec::new();
    let mut expected = StdVec::new();
    for (i, request) in every_request().into_iter().enumerate() {
        let msg = req(i as u32, request);
        stream.push(0);
        stream.extend_from_slice(&encode(&msg));
        expected.push(DecodeEvent::Frame(msg));
        stream.extend_from_slice(&raw_frame(&[1, 0x7F]));
        expected.push(DecodeEvent::Error(WireError::UnknownRequest { tag: 0x7F }));
    }
    let mut seed = 7u32;
    for _ in 0..50 {
        let mut dec: FrameDecoder = FrameDecoder::new();
        let mut got = StdVec::new();
        let mut rest = &stream[..];
        while !rest.is_empty() {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let n = ((seed >> 20) as usize % 97 + 1).min(rest.len());
            let (piece, tail) = rest.split_at(n);
            let mut input = piece;
            while let Some(ev) = dec.feed::<RequestFrame>(&mut input) {
                got.push(ev);
            }
            rest = tail;
        }
        assert_eq!(got, expected);
    }
}

#[test]
fn errors_display_actionably() {
    let e = WireError::VersionMismatch { ours: 1, theirs: 2 };
    assert_eq!(
        std::format!("{e}"),
        "protocol version mismatch: we speak 1, peer speaks 2"
    );
    let _: StdString = std::format!("{}", WireError::FrameTooLong { limit: 10 });
}

#[test]
fn upload_round_trip_through_the_state_machine() {
    let blob: StdVec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
    let mut staged = StdVec::new();
    let mut state = None;
    for request in UploadRequests::new(BlobKind::Config, &blob).unwrap() {
        // Through the codec, as the server would see it.
        let frame = encode(&req(1, request));
        let mut dec: FrameDecoder = FrameDecoder::new();
        let [DecodeEvent::Frame(RequestFrame { request, .. })] = &events(&mut dec, &frame, 999)[..]
        else {
            panic!("one frame expected");
        };
        match request {
            Request::UploadBegin { kind, total_len } => {
                state = Some(UploadState::begin(*kind, *total_len).unwrap());
            }
            Request::UploadChunk { offset, data } => {
                let st = state.as_mut().unwrap();
                assert_eq!(st.chunk(*offset, data.len()), Ok(ChunkAction::Append));
                staged.extend_from_slice(data);
                // The ack was lost and the client resends: accepted, not appended.
                assert_eq!(st.chunk(*offset, data.len()), Ok(ChunkAction::Duplicate));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(staged, blob);
    assert!(UploadState::require_complete(state.as_ref(), BlobKind::Config).is_ok());
    let wrong = UploadState::require_complete(state.as_ref(), BlobKind::Message);
    assert_eq!(wrong.unwrap_err().code, ErrorCode::UploadMissing);
}

#[test]
fn upload_refuses_bad_sequences() {
    let too_big = UploadState::begin(BlobKind::Config, MAX_CONFIG_LEN + 1);
    assert_eq!(too_big.unwrap_err().code, ErrorCode::UploadTooLarge);
    let mut st = UploadState::begin(BlobKind::TlsBundle, 100).unwrap();
    assert_eq!(st.chunk(10, 5).unwrap_err().code, ErrorCode::UploadSequence);
    assert_eq!(st.chunk(0, 60), Ok(ChunkAction::Append));
    assert_eq!(
        st.chunk(60, 41).unwrap_err().code,
        ErrorCode::UploadSequence
    );
    assert_eq!(
        st.chunk(u32::MAX, usize::MAX).unwrap_err().code,
        ErrorCode::UploadSequence
    );
    assert_eq!(
        UploadState::require_complete(Some(&st), BlobKind::TlsBundle)
            .unwrap_err()
            .code,
        ErrorCode::UploadMissing
    );
    assert_eq!(st.chunk(60, 40), Ok(ChunkAction::Append));
    assert!(UploadState::require_complete(Some(&st), BlobKind::TlsBundle).is_ok());
    assert_eq!(
        UploadRequests::new(BlobKind::Config, &vec![0; MAX_CONFIG_LEN as usize + 1])
            .unwrap_err()
            .code,
        ErrorCode::UploadTooLarge
    );
}

#[test]
fn config_download_in_chunks() {
    let toml: StdVec<u8> = (0..(CHUNK_LEN * 2 + 10))
        .map(|i| b'a' + (i % 26) as u8)
        .collect();
    let mut got = StdVec::new();
    let mut offset = 0;
    loop {
        let Response::ConfigChunk {
            total_len, data, ..
        } = config_chunk(3, &toml, offset).unwrap()
        else {
            panic!("chunk expected");
        };
        got.extend_from_slice(&data);
        offset += data.len() as u32;
        if offset == total_len {
            break;
        }
    }
    assert_eq!(got, toml);
    assert_eq!(
        config_chunk(3, &toml, toml.len() as u32 + 1)
            .unwrap_err()
            .code,
        ErrorCode::UploadSequence
    );
}

#[test]
fn app_error_text_is_cut_at_a_char_boundary() {
    let long: StdString = "é".repeat(MAX_TEXT_LEN);
    let e = AppError::new(ErrorCode::Internal, &long);
    assert!(e.message.len() <= MAX_TEXT_LEN && e.message.chars().all(|c| c == 'é'));
}

#[test]
fn an_incident_record_round_trips_without_its_number_and_refuses_other_versions() {
    let mut buf = [0u8; INCIDENT_RECORD_MAX];
    let i = incident(42);
    let mut tags = ValueTags::default();
    while tags
        .tags
        .push(Vec::from_slice(&[u64::MAX; MAX_VALUE_TAGS]).unwrap())
        .is_ok()
    {}
    let n = encode_incident_record(&i, &tags, &mut buf).unwrap();
    assert_eq!(buf[0], INCIDENT_RECORD_VERSION);
    assert_eq!(decode_incident_with_tags(&buf[..n]).unwrap().1, tags);
    let back = decode_incident_record(&buf[..n]).unwrap();
    assert_eq!((back.worker, back.seq), (0, 0));
    assert_eq!(
        back,
        Incident {
            worker: 0,
            seq: 0,
            ..i
        }
    );
    buf[0] = INCIDENT_RECORD_VERSION + 1;
    assert_eq!(decode_incident_record(&buf[..n]), None);
    assert_eq!(decode_incident_record(&[]), None);
    assert_eq!(
        encode_incident_record(&incident(1), &ValueTags::default(), &mut [0u8; 8]),
        None
    );
}

#[test]
fn a_version_1_record_reads_as_an_incident_without_tags() {
    // Version 1: the version octet and the incident, nothing after (journals written by the
    // firmware before value tags).
    let i = Incident {
        worker: 0,
        seq: 0,
        ..incident(7)
    };
    let mut buf = [0u8; INCIDENT_RECORD_MAX];
    buf[0] = 1;
    let n = postcard::to_slice(&i, &mut buf[1..]).unwrap().len() + 1;
    let (back, tags) = decode_incident_with_tags(&buf[..n]).unwrap();
    assert_eq!((back, tags), (i, ValueTags::default()));
}
