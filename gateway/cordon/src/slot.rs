//! `cordon slot`: the firmware's two root slots as the boot loader sees them (issue 17). The
//! state (boot order, attempts left) lives on the `bootstate` partition in the format of
//! [`cordon_store::boot`], which the U-Boot script of the image (`image/boot.cmd`) reads and
//! counts down each boot. This module reads and writes it:
//!
//! - `status`: the booted slot (`cordon.slot=` on the kernel command line), the order, each
//!   slot's attempts, and whether the box fell back from a slot that used its attempts;
//! - `mark-good`: run once per boot by `cordon-mark-good.service` (root): waits until the
//!   gateway is healthy (every worker healthy, the incident journal writable, every smart host
//!   answering unless `--waive-smarthost`), then gives the booted slot its attempts back. If
//!   health does not come it fails; when the booted slot was on its last attempt, the unit's
//!   `OnFailure=cordon-last-attempt.service` reboots (a systemd unit, not this code: a slot
//!   whose cordon is broken has a broken `cordon slot` too), and the boot loader takes the
//!   other slot;
//! - `arm-once` and `mark-bad`: what an install does to the slot it writes (before writing:
//!   bad; after verifying: one attempt, first in the order).
//!
//! A write goes to the copy not in force, then `fsync`: a power cut leaves the old state.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use cordon_store::boot::{BootRecords, BootSlot, BootState, GOOD_ATTEMPTS, RECORD_LEN};
use cordon_store::slot_info::{self, Content, SlotInfo};
use cordon_wire::{bounded as text, SlotReport, SlotsReport};

/// The partition the image's GPT names `bootstate` (udev's by-partlabel link).
pub const DEFAULT_DEVICE: &str = "/dev/disk/by-partlabel/bootstate";

/// Between two health checks while `mark-good` waits.
const HEALTH_POLL: Duration = Duration::from_secs(2);

/// Reads both copies of the state.
pub(crate) fn read(device: &Path) -> Result<BootRecords, String> {
    let mut f = File::open(device).map_err(|e| format!("cannot open {}: {e}", device.display()))?;
    let mut buf = vec![0u8; 2 * RECORD_LEN];
    f.read_exact(&mut buf)
        .map_err(|e| format!("cannot read {}: {e}", device.display()))?;
    Ok(BootRecords::read(&buf))
}

/// Applies `change` and writes the result into the copy not in force, synced.
pub(crate) fn write(
    device: &Path,
    change: impl FnOnce(&mut BootState),
) -> Result<BootState, String> {
    let records = read(device)?;
    let (copy, next) = records.next_write(change);
    let what = |e: std::io::Error| format!("cannot write {}: {e}", device.display());
    let mut f = OpenOptions::new().write(true).open(device).map_err(what)?;
    f.seek(SeekFrom::Start((copy * RECORD_LEN) as u64))
        .map_err(what)?;
    f.write_all(&next.encode()).map_err(what)?;
    f.sync_all().map_err(what)?;
    Ok(next)
}

/// What `slot`'s record says it holds; `None` when it has none (never installed into, or torn).
pub(crate) fn read_info(device: &Path, slot: BootSlot) -> Option<SlotInfo> {
    let mut f = File::open(device).ok()?;
    f.seek(SeekFrom::Start(slot_info::offset(slot) as u64))
        .ok()?;
    let mut buf = vec![0u8; RECORD_LEN];
    f.read_exact(&mut buf).ok()?;
    SlotInfo::decode(&buf).ok()
}

/// Writes `slot`'s record, synced.
pub(crate) fn write_info(device: &Path, slot: BootSlot, info: &SlotInfo) -> Result<(), String> {
    let what = |e: std::io::Error| format!("cannot write {}: {e}", device.display());
    let mut f = OpenOptions::new().write(true).open(device).map_err(what)?;
    f.seek(SeekFrom::Start(slot_info::offset(slot) as u64))
        .map_err(what)?;
    f.write_all(&info.encode()).map_err(what)?;
    f.sync_all().map_err(what)
}

/// The booted slot's version and verity root hash, from the kernel command line the boot
/// script wrote (`cordon.version=`, `cordon.verity=BLOCKS:HASH:SALT`).
fn booted_info() -> Option<SlotInfo> {
    let version = booted_version()?;
    let verity = kernel_arg("cordon.verity")?;
    let hash = verity.split(':').nth(1)?;
    SlotInfo::new(&version, hash, Content::Installed)
}

/// The value of `NAME=` on the kernel command line, which the boot script writes.
fn kernel_arg(name: &str) -> Option<String> {
    let cmdline = std::fs::read_to_string("/proc/cmdline").ok()?;
    cmdline
        .split_ascii_whitespace()
        .find_map(|arg| arg.strip_prefix(name)?.strip_prefix('='))
        .map(str::to_owned)
}

/// The slot the kernel was booted from (`cordon.slot=a|b`), if the command line says.
pub fn booted() -> Option<BootSlot> {
    kernel_arg("cordon.slot")
        .as_deref()
        .and_then(BootSlot::parse)
}

/// The firmware version the boot script put on the kernel command line (`cordon.version=`).
pub fn booted_version() -> Option<String> {
    kernel_arg("cordon.version")
}

/// Both slots, the boot order and any rollback, as `cordon slot status --json` prints it and
/// the update helper answers `cordonctl update status`: the config port's own report type.
///
/// A slot is `good` (attempts full), `trying` (attempts left but not marked good: armed, or
/// booted and not yet healthy), `bad` (no attempts left: it does not boot) or `writing` (an
/// install did not finish: it does not boot).
pub fn report(
    records: &BootRecords,
    infos: &[Option<SlotInfo>; 2],
    booted: Option<BootSlot>,
) -> SlotsReport {
    let s = &records.state;
    let mut slots = heapless::Vec::new();
    for slot in [BootSlot::A, BootSlot::B] {
        let info = infos[slot as usize].as_ref();
        let left = s.left(slot);
        let state = match (left, info.map(|i| i.content)) {
            (_, Some(Content::Writing)) => "writing",
            (0, _) => "bad",
            (n, _) if n == GOOD_ATTEMPTS => "good",
            _ => "trying",
        };
        // Two slots, room for two.
        let _ = slots.push(SlotReport {
            name: text(slot.name()),
            booted: booted == Some(slot),
            state: text(state),
            attempts: left,
            version: info.map(|i| text(&i.version)),
            root_hash: info.map(|i| text(&i.root_hash)),
        });
    }
    SlotsReport {
        booted: booted.map(|b| text(b.name())),
        order: text(&s.order.to_string()),
        slots,
        rollback: fallback(s, booted).map(|r| text(&r)),
    }
}

/// The report of the partition `device`, booted from `booted`.
pub fn current_report(device: &Path, booted: Option<BootSlot>) -> Result<SlotsReport, String> {
    let records = read(device)?;
    Ok(report(&records, &infos(device, booted), booted))
}

/// Both slots' records, the booted one completed from the kernel command line when its own
/// record is missing (a factory image, never installed into).
fn infos(device: &Path, booted: Option<BootSlot>) -> [Option<SlotInfo>; 2] {
    [BootSlot::A, BootSlot::B].map(|slot| {
        read_info(device, slot).or_else(|| (booted == Some(slot)).then(booted_info).flatten())
    })
}

/// One line per fact, as `cordonctl status` prints them; `booted` when known.
pub fn describe(
    records: &BootRecords,
    infos: &[Option<SlotInfo>; 2],
    booted: Option<BootSlot>,
) -> String {
    let s = &records.state;
    let mut out = String::new();
    if let Some(b) = booted {
        out.push_str(&format!("booted      slot {}\n", b.name()));
    }
    out.push_str(&format!("boot order  {}\n", s.order));
    for slot in [BootSlot::A, BootSlot::B] {
        let left = s.left(slot);
        let what = match (left, booted == Some(slot)) {
            (0, true) => "on its last attempt, not yet marked good".to_owned(),
            (0, false) => "not bootable (no attempts left)".to_owned(),
            (n, true) if n == GOOD_ATTEMPTS => "good".to_owned(),
            (n, true) => format!("{} left (this boot not yet marked good)", attempts(n)),
            (n, false) => format!("{} left", attempts(n)),
        };
        out.push_str(&format!("slot {}      {what}\n", slot.name()));
        match &infos[slot as usize] {
            Some(i) if i.content == Content::Writing => out.push_str(&format!(
                "            {} was being written and not verified: it does not boot\n",
                i.version
            )),
            Some(i) => out.push_str(&format!(
                "            {} (verity root {})\n",
                i.version, i.root_hash
            )),
            None => out.push_str("            contents unknown (never installed into)\n"),
        }
    }
    if let Some(reason) = fallback(s, booted) {
        out.push_str(&format!("rollback    {reason}\n"));
    }
    match records.copy {
        Some(c) => out.push_str(&format!("record      copy {c}, write {}\n", s.seq)),
        None => out.push_str("record      none valid: the factory state (slot A)\n"),
    }
    out
}

fn attempts(n: u8) -> String {
    if n == 1 {
        "1 attempt".to_owned()
    } else {
        format!("{n} attempts")
    }
}

/// Why the booted slot is not the one the order puts first, if it is not.
pub fn fallback(s: &BootState, booted: Option<BootSlot>) -> Option<String> {
    let booted = booted?;
    let first = s.order.first();
    (first != booted && s.left(first) == 0).then(|| {
        format!(
            "slot {} used its attempts without being marked good; the boot loader fell back to slot {}",
            first.name(),
            booted.name()
        )
    })
}

/// `cordon slot status`.
pub fn status(device: &Path, json: bool) -> ExitCode {
    match read(device) {
        Ok(r) => {
            let booted = booted();
            let infos = infos(device, booted);
            if json {
                let report = report(&r, &infos, booted);
                match serde_json::to_string(&report) {
                    Ok(v) => println!("{v}"),
                    Err(e) => return fail(&format!("cannot print the report: {e}")),
                }
            } else {
                if let Some(v) = booted_version() {
                    println!("version     {v}");
                }
                print!("{}", describe(&r, &infos, booted));
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

/// `cordon slot arm-once SLOT` / `mark-bad SLOT`.
pub fn set(device: &Path, slot: BootSlot, arm: bool) -> ExitCode {
    let result = write(device, |s| {
        if arm {
            s.arm_once(slot)
        } else {
            s.mark_bad(slot)
        }
    });
    match result {
        Ok(s) => {
            println!(
                "slot {} {}; boot order {}",
                slot.name(),
                if arm {
                    "armed for one attempt"
                } else {
                    "marked bad"
                },
                s.order
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

/// What `mark-good` needs before it marks.
pub struct Health {
    pub socket: PathBuf,
    pub timeout: Duration,
    pub waive_smarthost: bool,
}

/// `cordon slot mark-good`.
pub fn mark_good(device: &Path, booted: Option<BootSlot>, health: &Health) -> ExitCode {
    let Some(slot) = booted else {
        return fail("the kernel command line names no cordon.slot: not booted from a slot");
    };
    let records = match read(device) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    if let Some(reason) = fallback(&records.state, Some(slot)) {
        eprintln!("cordon slot: {reason}");
    }
    match wait_healthy(health) {
        Ok(()) => match write(device, |s| s.mark_good(slot)) {
            Ok(s) => {
                // The booted slot's record names what the boot loader booted (a factory
                // image has none until here).
                if let Some(info) = booted_info() {
                    if read_info(device, slot).as_ref() != Some(&info) {
                        if let Err(e) = write_info(device, slot, &info) {
                            eprintln!("cordon slot: the slot's version record: {e}");
                        }
                    }
                }
                println!(
                    "slot {} marked good ({} attempts); boot order {}",
                    slot.name(),
                    GOOD_ATTEMPTS,
                    s.order
                );
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        },
        Err(why) => {
            let left = records.state.left(slot);
            let next = if left == 0 {
                format!(
                    "it was the slot's last attempt: cordon-last-attempt.service reboots, and the boot loader takes slot {}",
                    slot.other().name()
                )
            } else {
                format!("{} left", attempts(left))
            };
            eprintln!(
                "cordon slot: slot {} is not healthy after {} s ({why}); not marked good, {next}",
                slot.name(),
                health.timeout.as_secs()
            );
            ExitCode::FAILURE
        }
    }
}

/// Until the config port's status is healthy, or `timeout`: the last reason otherwise.
fn wait_healthy(h: &Health) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("no runtime: {e}"))?;
    rt.block_on(async {
        let deadline = Instant::now() + h.timeout;
        let mut last = "the config port did not answer".to_owned();
        while Instant::now() < deadline {
            match check(h).await {
                Ok(()) => return Ok(()),
                Err(why) => last = why,
            }
            tokio::time::sleep(HEALTH_POLL).await;
        }
        Err(last)
    })
}

/// One health check through the config port's Unix socket.
async fn check(h: &Health) -> Result<(), String> {
    use cordon_wire::{Request, Response, WorkerHealth};
    let transport = cordon_control::Transport::Unix(h.socket.clone());
    let mut client = tokio::time::timeout(
        Duration::from_secs(10),
        cordon_control::Client::connect(&transport, "cordon slot mark-good"),
    )
    .await
    .map_err(|_| "the config port did not answer in 10 s".to_owned())?
    .map_err(|e| format!("config port: {e}"))?;
    let reply = tokio::time::timeout(Duration::from_secs(20), client.call(Request::Status))
        .await
        .map_err(|_| "status did not answer in 20 s".to_owned())?
        .map_err(|e| format!("status: {e}"))?;
    let Response::Status(s) = reply else {
        return Err("status: unexpected reply".to_owned());
    };
    let mut problems = Vec::new();
    if s.workers.is_empty() {
        problems.push("no workers".to_owned());
    }
    for w in s
        .workers
        .iter()
        .filter(|w| w.health != WorkerHealth::Healthy)
    {
        problems.push(format!("worker {} {}", w.index, w.health.as_str()));
    }
    if !s.journal.ok {
        problems.push("incident journal not writable".to_owned());
    }
    if !h.waive_smarthost && !waived_in_config(&mut client).await {
        for host in s.smarthosts.iter().filter(|host| !host.ok) {
            problems.push(format!("smart host {} not answering", host.address));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// Whether the running config says `[control] update_waive_smarthost = true` (the appliance's
/// root is read-only: the waiver lives with the config, not on the unit's command line).
async fn waived_in_config(client: &mut cordon_control::Client) -> bool {
    let Ok(Ok((_, toml))) =
        tokio::time::timeout(Duration::from_secs(20), client.get_config()).await
    else {
        return false;
    };
    cordon_config::parse(&toml, Path::new("cordon.toml"))
        .ok()
        .and_then(|c| c.control)
        .is_some_and(|c| c.update_waive_smarthost)
}

pub(crate) fn fail(why: &str) -> ExitCode {
    eprintln!("cordon slot: {why}");
    ExitCode::FAILURE
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(order: BootSlot, left: [u8; 2]) -> BootRecords {
        let mut s = BootState::factory();
        s.order = cordon_store::boot::Order::starting(order);
        s.left = left;
        s.seq = 4;
        BootRecords::read(&[s.encode(), [0; RECORD_LEN]].concat())
    }

    #[test]
    fn a_fallback_is_named_with_the_slot_that_failed() {
        let r = records(BootSlot::B, [2, 0]);
        let text = describe(&r, &[None, None], Some(BootSlot::A));
        assert!(text.contains("booted      slot A\n"), "{text}");
        assert!(
            text.contains("slot B      not bootable (no attempts left)\n"),
            "{text}"
        );
        assert!(
            text.contains("rollback    slot B used its attempts without being marked good; the boot loader fell back to slot A\n"),
            "{text}"
        );
    }

    #[test]
    fn the_rollback_is_still_named_after_the_fallback_slot_is_marked_good() {
        let mut r = records(BootSlot::B, [GOOD_ATTEMPTS, 0]);
        r.state.mark_good(BootSlot::A);
        assert!(
            fallback(&r.state, Some(BootSlot::A)).is_some(),
            "{:?}",
            r.state
        );
        assert_eq!(r.state.next(), Some(BootSlot::A));
    }

    #[test]
    fn a_good_boot_names_no_rollback() {
        let r = records(BootSlot::A, [GOOD_ATTEMPTS, 0]);
        let text = describe(&r, &[None, None], Some(BootSlot::A));
        assert!(text.contains("slot A      good\n"), "{text}");
        assert!(!text.contains("rollback"), "{text}");
    }

    #[test]
    fn a_write_goes_to_the_other_copy_and_survives_a_reread() {
        let dir = tempfile::tempdir().unwrap();
        let dev = dir.path().join("bootstate");
        std::fs::write(&dev, vec![0u8; 1 << 20]).unwrap();
        let s = write(&dev, |s| s.arm_once(BootSlot::B)).unwrap();
        assert_eq!((s.seq, s.left), (1, [GOOD_ATTEMPTS, 1]));
        let r = read(&dev).unwrap();
        assert_eq!((r.copy, r.state.order.to_string()), (Some(0), "B A".into()));
        write(&dev, |s| s.mark_good(BootSlot::B)).unwrap();
        let r = read(&dev).unwrap();
        assert_eq!(
            (r.copy, r.state.left),
            (Some(1), [GOOD_ATTEMPTS, GOOD_ATTEMPTS])
        );
        assert_eq!(
            std::fs::metadata(&dev).unwrap().len(),
            1 << 20,
            "nothing appended"
        );
    }
}
