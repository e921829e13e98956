//! `update install FILE` and `update status`: firmware bundles through the config port.
//!
//! The bundle is streamed, never held whole on the appliance: `UpdateBegin`, then chunks
//! that each carry the SHA-256 of everything sent so far, then `UpdateFinish`, which waits
//! until the appliance has written, read back and armed the slot. Up to [`WINDOW`] chunks are
//! in flight, so a high-latency link (a serial console, a VPN) is not one round trip per
//! 8 KiB. A connection that breaks mid-way is opened again and the upload resumes where the
//! appliance stands, after checking that its running hash is this file's; running the
//! command again after an interruption resumes the same way.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::{Duration, Instant};

use cordon_control::Client;
use cordon_wire::{Request, Response, ResponseFrame, SlotsReport};
use cordonctl::CtlError;
use ring::digest::{Context, SHA256};

use crate::port::{json, unexpected, Port};

/// Chunks sent before the first answer is read: enough to keep a link busy over its round
/// trip, few enough that a refusal stops the stream within a few hundred KiB.
pub(crate) const WINDOW: usize = 16;

/// Connections opened again after one broke, before giving up (each resumes).
pub(crate) const RECONNECTS: u32 = 5;

/// How long `UpdateFinish` may take: the appliance allows its helper 300 s to read the slot
/// back and arm it.
const FINISH_WAIT: Duration = Duration::from_secs(330);

/// How long to wait for the answer to one window of chunks.
const CHUNK_WAIT: Duration = Duration::from_secs(120);

/// `update install FILE`.
pub(crate) async fn install(port: &Port, as_json: bool, path: &Path) -> Result<(), CtlError> {
    let read_err = |source| CtlError::Read {
        path: path.into(),
        source,
    };
    let mut file = File::open(path).map_err(read_err)?;
    let total = file.metadata().map_err(read_err)?.len();
    let started = Instant::now();
    let mut attempt = 0;
    let mut client = loop {
        match upload(port, &mut file, total, as_json).await {
            Ok(client) => break client,
            Err(Broken::Refused(e)) => return Err(e),
            Err(Broken::Connection(e)) if attempt < RECONNECTS => {
                attempt += 1;
                eprintln!(
                    "cordonctl: the connection broke ({e}); resuming ({attempt} of {RECONNECTS})"
                );
                tokio::time::sleep(Duration::from_secs(u64::from(attempt))).await;
            }
            Err(Broken::Connection(e)) => return Err(e),
        }
    };
    if !as_json {
        eprintln!("cordonctl: sent; the appliance verifies what it wrote, then arms the slot");
    }
    let id = client.send(Request::UpdateFinish).await?;
    let reply = tokio::time::timeout(FINISH_WAIT, answer(&mut client, id))
        .await
        .map_err(|_| {
            CtlError::Client(cordon_control::Error::Timeout {
                secs: FINISH_WAIT.as_secs(),
            })
        })??;
    let Response::UpdateInstalled {
        slot,
        version,
        bytes,
    } = reply
    else {
        return Err(unexpected(reply));
    };
    let secs = started.elapsed().as_secs_f64();
    if as_json {
        json(&serde_json::json!({
            "slot": slot.as_str(),
            "version": version.as_str(),
            "bytes": bytes,
            "seconds": (secs * 10.0).round() / 10.0,
        }));
    } else {
        println!(
            "installed {version} into slot {slot} ({bytes} bytes in {secs:.1} s), armed for one attempt"
        );
        println!(
            "it runs after the next reboot (cordonctl reboot) and is kept only once it is healthy; otherwise the box returns to the slot running now"
        );
    }
    Ok(())
}

/// Why an upload stopped: the appliance said no (final), or the connection broke (resume).
enum Broken {
    Refused(CtlError),
    Connection(CtlError),
}

impl From<cordon_control::Error> for Broken {
    fn from(e: cordon_control::Error) -> Self {
        match e {
            cordon_control::Error::Server(_) => Broken::Refused(e.into()),
            other => Broken::Connection(other.into()),
        }
    }
}

/// Sends what the appliance does not have yet; returns the connection, ready for finish.
async fn upload(port: &Port, file: &mut File, total: u64, quiet: bool) -> Result<Client, Broken> {
    let mut client = port.connect().await.map_err(Broken::Connection)?;
    let begin = |resume| Request::UpdateBegin {
        total_len: total,
        resume,
    };
    let (chunk_len, mut sent, theirs) = match client.call(begin(true)).await? {
        Response::UpdateReady {
            chunk_len,
            received,
            running,
        } => (chunk_len, received, running),
        other => return Err(Broken::Refused(unexpected(other))),
    };
    let mut hash = Context::new(&SHA256);
    if sent > 0 {
        // Resume only onto this very file: the appliance's running hash of what it has.
        hash_prefix(file, sent, &mut hash).map_err(|e| Broken::Refused(read_error(e)))?;
        if hash.clone().finish().as_ref() != theirs {
            eprintln!(
                "cordonctl: the interrupted upload on the appliance is another file; starting over"
            );
            hash = Context::new(&SHA256);
            sent = match client.call(begin(false)).await? {
                Response::UpdateReady { received, .. } => received,
                other => return Err(Broken::Refused(unexpected(other))),
            };
        } else if !quiet {
            eprintln!("cordonctl: resuming at byte {sent} of {total}");
        }
    }
    file.seek(SeekFrom::Start(sent))
        .map_err(|e| Broken::Refused(read_error(e)))?;
    let chunk_len = (chunk_len as usize).min(cordon_wire::limits::CHUNK_LEN);
    let mut buf = vec![0u8; chunk_len];
    let mut in_flight = std::collections::VecDeque::new();
    let mut next_report = progress_step(total, sent);
    while sent < total || !in_flight.is_empty() {
        while sent < total && in_flight.len() < WINDOW {
            let n = (total - sent).min(chunk_len as u64) as usize;
            file.read_exact(&mut buf[..n])
                .map_err(|e| Broken::Refused(read_error(e)))?;
            hash.update(&buf[..n]);
            let mut running = [0u8; 32];
            running.copy_from_slice(hash.clone().finish().as_ref());
            let request = Request::UpdateChunk {
                offset: sent,
                data: heapless::Vec::from_slice(&buf[..n]).unwrap_or_default(),
                running,
            };
            in_flight.push_back(client.send(request).await?);
            sent += n as u64;
        }
        if let Some(id) = in_flight.pop_front() {
            let reply = tokio::time::timeout(CHUNK_WAIT, answer(&mut client, id))
                .await
                .map_err(|_| {
                    Broken::Connection(CtlError::Client(cordon_control::Error::Timeout {
                        secs: CHUNK_WAIT.as_secs(),
                    }))
                })??;
            let Response::UpdateReceived { received } = reply else {
                return Err(Broken::Refused(unexpected(reply)));
            };
            if !quiet && received >= next_report {
                eprintln!(
                    "cordonctl: {:>3}% ({received} of {total} bytes)",
                    received * 100 / total.max(1)
                );
                next_report = progress_step(total, received);
            }
        }
    }
    Ok(client)
}

/// The next byte count worth a progress line: every tenth of the file.
fn progress_step(total: u64, at: u64) -> u64 {
    let step = (total / 10).max(1);
    (at / step + 1) * step
}

/// The answer to request `id` (answers to earlier requests in the window come first).
async fn answer(client: &mut Client, id: u32) -> Result<Response, cordon_control::Error> {
    loop {
        let ResponseFrame { id: got, response } = client.recv().await?;
        if let Response::Error(e) = response {
            // The first refusal is the reason; the chunks behind it are refused for it.
            return Err(cordon_control::Error::Server(e));
        }
        if got == id {
            return Ok(response);
        }
    }
}

fn hash_prefix(file: &mut File, len: u64, hash: &mut Context) -> std::io::Result<()> {
    file.seek(SeekFrom::Start(0))?;
    let mut left = len;
    let mut buf = vec![0u8; 1 << 20];
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        file.read_exact(&mut buf[..n])?;
        hash.update(&buf[..n]);
        left -= n as u64;
    }
    Ok(())
}

fn read_error(e: std::io::Error) -> CtlError {
    CtlError::Client(cordon_control::Error::Transport(e))
}

/// `update status`.
pub(crate) async fn status(port: &Port, as_json: bool) -> Result<(), CtlError> {
    let mut client = port.connect().await?;
    let report = match client.call(Request::UpdateStatus).await? {
        Response::Slots(r) => r,
        other => return Err(unexpected(other)),
    };
    if as_json {
        json(&report);
    } else {
        print!("{}", describe(&report));
    }
    Ok(())
}

/// The report as `update status` prints it.
pub(crate) fn describe(r: &SlotsReport) -> String {
    let mut out = String::new();
    let booted = r
        .booted
        .as_ref()
        .map_or("none (not booted from a slot)", |b| b.as_str());
    out.push_str(&format!("booted      slot {booted}\n"));
    out.push_str(&format!("boot order  {}\n", r.order));
    for s in &r.slots {
        let state = match (s.state.as_str(), s.attempts) {
            ("good", _) => "good".to_owned(),
            ("trying", 1) => "trying (1 attempt left)".to_owned(),
            ("trying", n) => format!("trying ({n} attempts left)"),
            ("bad", _) => "bad (no attempts left: does not boot)".to_owned(),
            ("writing", _) => "bad (an install did not finish: does not boot)".to_owned(),
            (other, _) => other.to_owned(),
        };
        out.push_str(&format!("slot {}      {state}\n", s.name));
        let version = s.version.as_ref().map_or("unknown", |v| v.as_str());
        out.push_str(&format!("  version   {version}\n"));
        if let Some(h) = &s.root_hash {
            out.push_str(&format!("  verity    {h}\n"));
        }
    }
    if let Some(why) = &r.rollback {
        out.push_str(&format!("rollback    {why}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_lines_come_every_tenth() {
        assert_eq!(progress_step(1000, 0), 100);
        assert_eq!(progress_step(1000, 150), 200);
        assert_eq!(progress_step(5, 0), 1);
    }

    #[test]
    fn the_status_names_both_slots_their_versions_and_the_rollback() {
        let text = cordon_wire::bounded::<48>;
        let slot = |name, booted, state, attempts| cordon_wire::SlotReport {
            name: text(name),
            booted,
            state: text(state),
            attempts,
            version: Some(text("0.2.0")),
            root_hash: Some(cordon_wire::bounded(&"a".repeat(64))),
        };
        let r = SlotsReport {
            booted: Some(text("B")),
            order: text("A B"),
            slots: heapless::Vec::from_slice(&[
                slot("A", false, "bad", 0),
                slot("B", true, "good", 3),
            ])
            .unwrap(),
            rollback: Some(cordon_wire::bounded("slot A used its attempts")),
        };
        let out = describe(&r);
        assert!(out.contains("booted      slot B\n"), "{out}");
        assert!(
            out.contains("slot A      bad (no attempts left: does not boot)\n"),
            "{out}"
        );
        assert!(
            out.contains("slot B      good\n  version   0.2.0\n"),
            "{out}"
        );
        assert!(
            out.contains("rollback    slot A used its attempts\n"),
            "{out}"
        );
    }
}
