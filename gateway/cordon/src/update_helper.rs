//! `cordon slot serve`: the root half of a firmware install through the config port
//! (issue 17). The gateway runs unprivileged with no devices and never opens a slot; systemd's
//! `cordon-update.socket` (owned by root, group `cordon`, mode 0660) starts one
//! `cordon slot serve` per connection (`Accept=yes`) with the connection as its stdin and
//! stdout, and the gateway relays what the config port's client sends
//! ([`cordon_control::update`]).
//!
//! One request per connection, a line then data:
//! - `status\n`: answered by one JSON line, the [`cordon_wire::SlotsReport`] that
//!   `cordon slot status --json` prints;
//! - `install\n`, then the bundle, then the end of the stream: the bundle goes through
//!   [`crate::install::install_from`] exactly as a file would (signature and board before
//!   anything is written, hashed while written, read back, then armed), answered by
//!   `ok SLOT VERSION BYTES\n` or `error TEXT\n`. A refusal is answered as soon as it is
//!   known; the rest of the stream is then read and dropped, so the gateway reads the answer
//!   rather than a reset connection.
//!
//! A stream that stalls for [`STREAM_IDLE`] ends the install (the slot stays marked bad),
//! so a gateway that died mid-upload does not leave a helper waiting forever.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::process::ExitCode;
use std::time::Duration;

use cordon_store::boot::BootSlot;

use crate::install::Paths;

/// The longest a stream may stall: longer than the gateway keeps an interrupted upload for
/// resuming ([`cordon_control::update::RESUME_WINDOW`], 10 minutes).
pub const STREAM_IDLE: Duration = Duration::from_secs(900);

/// The longest request line (`install` or `status`).
const MAX_REQUEST_LINE: u64 = 64;

/// `cordon slot serve` on its stdin and stdout (the connection systemd accepted).
pub fn run(paths: &Paths, booted: Option<BootSlot>) -> ExitCode {
    let stdin = std::io::stdin();
    // A socket gets the stall timeout; anything else (a pipe, by hand) is read as it is.
    let input: Box<dyn Read> = match stdin.as_fd().try_clone_to_owned().map(UnixStream::from) {
        Ok(sock) if sock.set_read_timeout(Some(STREAM_IDLE)).is_ok() => Box::new(sock),
        _ => Box::new(stdin),
    };
    let mut out = std::io::stdout().lock();
    if serve(&mut BufReader::new(input), &mut out, booted, paths) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Serves one request from `input`, answering on `out`; whether it succeeded.
pub fn serve(
    input: &mut impl BufRead,
    out: &mut impl Write,
    booted: Option<BootSlot>,
    paths: &Paths,
) -> bool {
    let mut line = Vec::new();
    if let Err(e) = input.take(MAX_REQUEST_LINE).read_until(b'\n', &mut line) {
        return answer(out, Err(format!("cannot read the request: {e}")));
    }
    let state = paths.partitions.join("bootstate");
    match line.trim_ascii() {
        b"status" => match crate::slot::current_report(&state, booted)
            .and_then(|r| serde_json::to_string(&r).map_err(|e| e.to_string()))
        {
            Ok(json) => writeln!(out, "{json}").and_then(|()| out.flush()).is_ok(),
            Err(e) => answer(out, Err(e)),
        },
        b"install" => {
            let result = match booted {
                Some(booted) => crate::install::install_from(
                    input,
                    "the bundle uploaded through the config port",
                    booted,
                    paths,
                )
                .map(|done| {
                    format!(
                        "{} {} {}",
                        done.slot.name(),
                        done.manifest.version,
                        done.bytes
                    )
                }),
                None => Err(
                    "the kernel command line names no cordon.slot: not booted from a slot"
                        .to_owned(),
                ),
            };
            match &result {
                Ok(what) => eprintln!("cordon slot serve: installed {what}"),
                Err(e) => eprintln!("cordon slot serve: install refused: {e}"),
            }
            let ok = answer(out, result);
            // The gateway may still be sending (a refusal comes early): take the rest, so it
            // reads this answer and not a reset.
            let _ = std::io::copy(input, &mut std::io::sink());
            ok
        }
        other => answer(
            out,
            Err(format!(
                "unknown request `{}` (install or status)",
                String::from_utf8_lossy(other)
            )),
        ),
    }
}

/// Writes `ok WHAT` or `error WHY` (on one line); whether it was `ok` and got out.
fn answer(out: &mut impl Write, result: Result<String, String>) -> bool {
    let (ok, line) = match result {
        Ok(what) => (true, format!("ok {what}")),
        Err(why) => (false, format!("error {}", why.replace('\n', " "))),
    };
    writeln!(out, "{line}").and_then(|()| out.flush()).is_ok() && ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::install::fixtures::{appliance, bundle};

    fn request(b: &crate::install::fixtures::Box_, bytes: &[u8]) -> (bool, String) {
        let mut out = Vec::new();
        let ok = serve(&mut &bytes[..], &mut out, Some(BootSlot::A), &b.paths);
        (ok, String::from_utf8(out).unwrap())
    }

    #[test]
    fn an_install_streams_into_the_other_slot_and_answers_ok() {
        let b = appliance();
        let mut input = b"install\n".to_vec();
        input.extend(bundle("qemu-virt-aarch64", &[1; 5000], &[2; 70_000]));
        input.extend([0; 300]); // padding after the bundle is read and dropped
        let (ok, out) = request(&b, &input);
        assert!(ok, "{out}");
        assert_eq!(out, "ok B 0.2.0 75000\n");
        let (ok, status) = request(&b, b"status\n");
        assert!(ok);
        let report: cordon_wire::SlotsReport = serde_json::from_str(&status).unwrap();
        assert_eq!(report.order.as_str(), "B A");
        assert_eq!(report.slots[1].state.as_str(), "trying");
        assert_eq!(report.slots[1].attempts, 1);
    }

    #[test]
    fn a_refusal_is_one_line_and_the_rest_of_the_stream_is_taken() {
        let b = appliance();
        let mut input = b"install\n".to_vec();
        let mut forged = bundle("qemu-virt-aarch64", &[1; 5000], &[2; 70_000]);
        forged[cordon_bundle::HEADER_LEN + 3] ^= 1;
        input.extend(forged);
        let mut reader = &input[..];
        let mut out = Vec::new();
        assert!(!serve(&mut reader, &mut out, Some(BootSlot::A), &b.paths));
        let out = String::from_utf8(out).unwrap();
        assert!(out.starts_with("error ") && out.ends_with('\n'), "{out}");
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(out.contains("signature"), "{out}");
        assert!(reader.is_empty(), "the rest was read and dropped");
    }

    #[test]
    fn an_unknown_request_or_no_slot_is_refused_with_the_reason() {
        let b = appliance();
        let (ok, out) = request(&b, b"format\n");
        assert!(!ok);
        assert!(out.starts_with("error unknown request `format`"), "{out}");
        let mut out = Vec::new();
        assert!(!serve(&mut &b"install\n"[..], &mut out, None, &b.paths));
        assert!(String::from_utf8(out).unwrap().contains("cordon.slot"));
    }
}
