//! `cordon slot install BUNDLE` (issue 17): writes a signed firmware bundle
//! ([`cordon_bundle`]) into the slot that is not running, then arms it for one attempt.
//!
//! The order is what makes a failure harmless:
//! 1. the bundle's header, manifest and signature are read (at most 16 KiB and 80 bytes) and
//!    checked against the keys the image trusts and the board it is: a bad signature or
//!    another board's bundle is refused **before anything is written**, and so is any install
//!    while the running slot has not been marked good this boot (the other slot is then the
//!    only good one);
//! 2. the target slot is marked bad (no attempts), so that a half-written slot can never boot;
//! 3. each payload streams into its partition of the target slot, hashed as it goes; a payload
//!    that is short, long or changed stops the install at its end, the slot stays bad;
//! 4. what was written is read back and hashed again (the device kept what it was given);
//! 5. only then is the slot armed: one attempt, first in the boot order.
//!
//! The running slot, its partitions and `/data` are never opened for writing. The source is a
//! file or a block device (a USB stick: `cordon slot install /dev/sda`); reads are in 1 MiB
//! pieces, so memory does not grow with the bundle.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cordon_bundle::{Manifest, PayloadCheck, PublicKey, HEADER_LEN, SIGNATURE_LEN};
use cordon_store::boot::BootSlot;
use cordon_store::slot_info::{Content, SlotInfo};

/// Piece size for reading the bundle and reading back: large enough for the block layer to
/// stream, small next to the board's memory.
const PIECE: usize = 1 << 20;

/// Where the installer looks (the image's paths by default; temporary files in tests).
#[derive(Debug, Clone)]
pub struct Paths {
    /// Holds `boot-a`, `root-a`, `boot-b`, `root-b` and `bootstate` (udev's by-partlabel).
    pub partitions: PathBuf,
    /// Every `*.pem` here is a trusted update key.
    pub keys: PathBuf,
    /// The board profile: its `name` must be the bundle's board.
    pub board: PathBuf,
}

impl Default for Paths {
    fn default() -> Self {
        Self {
            partitions: PathBuf::from("/dev/disk/by-partlabel"),
            keys: PathBuf::from("/usr/share/cordon/update-keys"),
            board: PathBuf::from("/etc/cordon/board.toml"),
        }
    }
}

/// What an install did.
#[derive(Debug)]
pub struct Installed {
    pub slot: BootSlot,
    pub manifest: Manifest,
    pub bytes: u64,
}

/// `cordon slot install BUNDLE`: into the slot that is not running.
pub fn run(bundle: &Path) -> ExitCode {
    let Some(booted) = crate::slot::booted() else {
        return crate::slot::fail(
            "the kernel command line names no cordon.slot: not booted from a slot",
        );
    };
    match install(bundle, booted, &Paths::default()) {
        Ok(done) => {
            println!(
                "installed {} ({} bytes) into slot {}, armed for one attempt: it boots at the next reboot, and the box returns to slot {} unless it is marked good",
                done.manifest.version,
                done.bytes,
                done.slot.name(),
                booted.name()
            );
            ExitCode::SUCCESS
        }
        Err(e) => crate::slot::fail(&e),
    }
}

/// Installs `source` into the slot other than `booted`.
pub fn install(source: &Path, booted: BootSlot, paths: &Paths) -> Result<Installed, String> {
    let mut src =
        File::open(source).map_err(|e| format!("cannot open {}: {e}", source.display()))?;
    install_from(&mut src, &source.display().to_string(), booted, paths)
}

/// Installs the bundle read from `src` (a file, a device, or the config port's stream through
/// `cordon slot serve`; `source` names it in errors) into the slot other than `booted`.
pub fn install_from(
    src: &mut impl Read,
    source: &str,
    booted: BootSlot,
    paths: &Paths,
) -> Result<Installed, String> {
    let target = booted.other();
    let keys = trusted_keys(&paths.keys)?;
    let board = cordon_supervisor::Board::load(&paths.board)
        .map_err(|e| format!("cannot read the board profile: {e}"))?
        .name;

    // 1. Header, manifest, signature; nothing is written before these hold.
    let mut header = [0u8; HEADER_LEN];
    read_full(src, &mut header, "the bundle header")?;
    let len = cordon_bundle::manifest_len(&header).map_err(|e| e.to_string())?;
    let mut signed = header.to_vec();
    signed.resize(HEADER_LEN + len, 0);
    read_full(src, &mut signed[HEADER_LEN..], "the bundle manifest")?;
    let mut signature = [0u8; SIGNATURE_LEN];
    read_full(src, &mut signature, "the bundle signature")?;
    let manifest = cordon_bundle::verify(&signed, &signature, &keys).map_err(|e| e.to_string())?;
    cordon_bundle::check_board(&manifest, &board).map_err(|e| e.to_string())?;
    let part = |name: &str| paths.partitions.join(format!("{name}-{}", target.lower()));
    for p in &manifest.payloads {
        let room = device_len(&part(p.name.as_str()))?;
        if p.size > room {
            return Err(cordon_bundle::Error::TooLarge {
                name: p.name.as_str().into(),
                size: p.size,
                room,
            }
            .to_string());
        }
    }

    // The running slot must be the good one: while it has not been marked good this boot, the
    // other slot is what the box falls back to, and writing it would leave nothing to fall
    // back on.
    let state = paths.partitions.join("bootstate");
    let now = crate::slot::read(&state)?.state;
    if now.left(booted) != cordon_store::boot::GOOD_ATTEMPTS {
        return Err(format!(
            "slot {} is not marked good this boot (cordon-mark-good has not passed yet): installing now would overwrite slot {}, the one the box falls back to; wait until `cordon slot status` says slot {} good",
            booted.name(),
            target.name(),
            booted.name()
        ));
    }

    // 2. The target can no longer boot while it is being written, and its record says what
    // is being written (a half-written slot reads as such in `status`).
    crate::slot::write(&state, |s| s.mark_bad(target))?;
    let info = |content| {
        let root = manifest.payloads.iter().find_map(|p| p.verity.as_ref())?;
        SlotInfo::new(&manifest.version, &root.root_hash, content)
    };
    if let Some(writing) = info(Content::Writing) {
        crate::slot::write_info(&state, target, &writing)?;
    }
    let bad = |why: String| {
        format!(
            "{why}; slot {} stays marked bad, nothing armed, the running slot untouched",
            target.name()
        )
    };

    // 3. Stream each payload into its partition, hashing as it goes.
    let mut buf = vec![0u8; PIECE];
    let mut total = 0u64;
    for p in &manifest.payloads {
        let path = part(p.name.as_str());
        let mut dev = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| bad(format!("cannot open {}: {e}", path.display())))?;
        pump(src, p, &mut buf, source, |piece| {
            dev.write_all(piece)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))
        })
        .map_err(bad)?;
        dev.sync_all()
            .map_err(|e| bad(format!("cannot sync {}: {e}", path.display())))?;
        total += p.size;
    }

    // 4. Read back what the device kept.
    for p in &manifest.payloads {
        let path = part(p.name.as_str());
        let mut dev =
            File::open(&path).map_err(|e| bad(format!("cannot reopen {}: {e}", path.display())))?;
        pump(&mut dev, p, &mut buf, &path.display().to_string(), |_| {
            Ok(())
        })
        .map_err(|e| {
            bad(format!(
                "{} read back differs from what was written ({e})",
                path.display()
            ))
        })?;
    }

    // 5. Armed: one attempt, first in the order (the record first: it names what is armed).
    if let Some(installed) = info(Content::Installed) {
        crate::slot::write_info(&state, target, &installed).map_err(bad)?;
    }
    crate::slot::write(&state, |s| s.arm_once(target)).map_err(bad)?;
    Ok(Installed {
        slot: target,
        manifest,
        bytes: total,
    })
}

/// What `cordon bundle` is given: the images of one slot, their `slot.env`, the key.
#[derive(Debug, clap::Args)]
pub struct Create {
    /// The ed25519 private key (PKCS#8 PEM, `openssl genpkey -algorithm ed25519`).
    #[arg(long)]
    pub key: PathBuf,
    /// The board profile's name the bundle is for.
    #[arg(long)]
    pub board: String,
    /// The firmware version.
    #[arg(long)]
    pub version: String,
    /// The boot partition's image (image/build's boot.img).
    #[arg(long)]
    pub boot: PathBuf,
    /// The root partition's image (image/build's root.img).
    #[arg(long)]
    pub root: PathBuf,
    /// The boot partition's slot.env: the root's verity parameters come from it, so the
    /// manifest and the boot entry cannot disagree.
    #[arg(long)]
    pub slot_env: PathBuf,
    /// Where the bundle goes.
    #[arg(long, short)]
    pub out: PathBuf,
}

/// Writes a signed bundle: head, then the boot and root images streamed after it.
pub fn create(c: &Create) -> Result<u64, String> {
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()));
    let key = cordon_bundle::SigningKey::from_pem(&String::from_utf8_lossy(&read(&c.key)?))
        .map_err(|e| format!("{}: {e}", c.key.display()))?;
    let env = String::from_utf8_lossy(&read(&c.slot_env)?).into_owned();
    let field = |name: &str| {
        env.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
            .map(str::to_owned)
            .ok_or_else(|| format!("{} has no {name}", c.slot_env.display()))
    };
    let verity = cordon_bundle::Verity {
        data_blocks: field("cordon_data_blocks")?.parse().map_err(|_| {
            format!(
                "{}: cordon_data_blocks is not a number",
                c.slot_env.display()
            )
        })?,
        root_hash: field("cordon_root_hash")?,
        salt: field("cordon_salt")?,
    };
    let mut payloads = Vec::new();
    for (name, path) in [
        (cordon_bundle::PartName::Boot, &c.boot),
        (cordon_bundle::PartName::Root, &c.root),
    ] {
        let bytes = read(path)?;
        payloads.push(cordon_bundle::Payload {
            name,
            size: bytes.len() as u64,
            sha256: cordon_bundle::sha256_hex(&bytes),
            verity: (name == cordon_bundle::PartName::Root).then(|| verity.clone()),
        });
    }
    let manifest = Manifest {
        board: c.board.clone(),
        version: c.version.clone(),
        payloads,
    };
    let head = cordon_bundle::sign(&manifest, &key).map_err(|e| e.to_string())?;
    let what = |e: std::io::Error| format!("cannot write {}: {e}", c.out.display());
    let mut out = File::create(&c.out).map_err(what)?;
    out.write_all(&head).map_err(what)?;
    let mut total = head.len() as u64;
    for path in [&c.boot, &c.root] {
        let mut f = File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        total += std::io::copy(&mut f, &mut out).map_err(what)?;
    }
    out.sync_all().map_err(what)?;
    Ok(total)
}

/// Streams payload `p` out of `src` in [`PIECE`]-sized reads through its [`PayloadCheck`],
/// handing each piece to `sink`; ends with the check's verdict (short, long or changed). The
/// install's write and its read-back are both this loop.
fn pump(
    src: &mut impl Read,
    p: &cordon_bundle::Payload,
    buf: &mut [u8],
    from: &str,
    mut sink: impl FnMut(&[u8]) -> Result<(), String>,
) -> Result<(), String> {
    let mut check = PayloadCheck::new(p);
    while check.left() > 0 {
        let want = (check.left() as usize).min(buf.len());
        let n = src
            .read(&mut buf[..want])
            .map_err(|e| format!("cannot read {from}: {e}"))?;
        if n == 0 {
            break;
        }
        check.update(&buf[..n]).map_err(|e| e.to_string())?;
        sink(&buf[..n])?;
    }
    check.finish().map_err(|e| e.to_string())
}

/// Every `*.pem` public key in `dir`.
fn trusted_keys(dir: &Path) -> Result<Vec<PublicKey>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    let mut keys = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("pem") {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        keys.push(PublicKey::from_pem(&text).map_err(|e| format!("{}: {e}", path.display()))?);
    }
    if keys.is_empty() {
        return Err(format!(
            "no trusted update key (*.pem) in {}",
            dir.display()
        ));
    }
    Ok(keys)
}

/// A partition's (or a file's) length.
fn device_len(path: &Path) -> Result<u64, String> {
    let mut f = File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    f.seek(SeekFrom::End(0))
        .map_err(|e| format!("cannot size {}: {e}", path.display()))
}

fn read_full(src: &mut impl Read, buf: &mut [u8], what: &str) -> Result<(), String> {
    src.read_exact(buf).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => format!("the bundle ends inside {what}"),
        _ => format!("cannot read {what}: {e}"),
    })
}

/// A slot-sized appliance in a temporary directory and bundles for it, for this module's tests
/// and the update helper's.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;
    use cordon_bundle::{PartName, Payload, SigningKey};

    const TEST_KEY: &str = include_str!("../../../image/keys/test-signing.pem");
    const TEST_PUB: &str = include_str!("../../../image/keys/test-signing.pub.pem");

    pub(crate) struct Box_ {
        _dir: tempfile::TempDir,
        pub(crate) paths: Paths,
    }

    /// Partitions as files (1 MiB boot, 2 MiB root per slot), the test key, a board profile.
    pub(crate) fn appliance() -> Box_ {
        let dir = tempfile::tempdir().unwrap();
        let parts = dir.path().join("by-partlabel");
        std::fs::create_dir_all(&parts).unwrap();
        for (name, len, fill) in [
            ("boot-a", 1 << 20, 0xaa),
            ("root-a", 2 << 20, 0xaa),
            ("boot-b", 1 << 20, 0xbb),
            ("root-b", 2 << 20, 0xbb),
            ("bootstate", 1 << 20, 0),
        ] {
            std::fs::write(parts.join(name), vec![fill; len]).unwrap();
        }
        let keys = dir.path().join("keys");
        std::fs::create_dir_all(&keys).unwrap();
        std::fs::write(keys.join("test.pem"), TEST_PUB).unwrap();
        let board = dir.path().join("board.toml");
        std::fs::write(
            &board,
            std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../board/qemu-virt-aarch64/board.toml"
            ))
            .unwrap(),
        )
        .unwrap();
        Box_ {
            paths: Paths {
                partitions: parts,
                keys,
                board,
            },
            _dir: dir,
        }
    }

    pub(crate) fn bundle(board: &str, boot: &[u8], root: &[u8]) -> Vec<u8> {
        let payload = |name, bytes: &[u8]| Payload {
            name,
            size: bytes.len() as u64,
            sha256: cordon_bundle::sha256_hex(bytes),
            verity: None,
        };
        let m = Manifest {
            board: board.into(),
            version: "0.2.0".into(),
            payloads: vec![payload(PartName::Boot, boot), payload(PartName::Root, root)],
        };
        let mut out = cordon_bundle::sign(&m, &SigningKey::from_pem(TEST_KEY).unwrap()).unwrap();
        out.extend_from_slice(boot);
        out.extend_from_slice(root);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{appliance, bundle, Box_};
    use super::*;

    fn state(b: &Box_) -> cordon_store::boot::BootState {
        let bytes = std::fs::read(b.paths.partitions.join("bootstate")).unwrap();
        cordon_store::boot::BootRecords::read(&bytes[..2 * cordon_store::boot::RECORD_LEN]).state
    }

    fn run(b: &Box_, bytes: &[u8]) -> Result<Installed, String> {
        let file = b.paths.partitions.parent().unwrap().join("bundle");
        std::fs::write(&file, bytes).unwrap();
        install(&file, BootSlot::A, &b.paths)
    }

    fn part(b: &Box_, name: &str) -> Vec<u8> {
        std::fs::read(b.paths.partitions.join(name)).unwrap()
    }

    #[test]
    fn a_good_bundle_lands_in_the_other_slot_and_arms_it() {
        let b = appliance();
        let (boot, root) = (vec![1u8; 300_000], vec![2u8; 1_500_000]);
        let done = run(&b, &bundle("qemu-virt-aarch64", &boot, &root)).unwrap();
        assert_eq!((done.slot, done.bytes), (BootSlot::B, 1_800_000));
        assert_eq!(&part(&b, "boot-b")[..boot.len()], &boot[..]);
        assert_eq!(&part(&b, "root-b")[..root.len()], &root[..]);
        assert!(
            part(&b, "root-a").iter().all(|&x| x == 0xaa),
            "running slot untouched"
        );
        let s = state(&b);
        assert_eq!((s.order.to_string(), s.left), ("B A".into(), [3, 1]));
    }

    #[test]
    fn a_bad_signature_or_another_board_writes_nothing() {
        let b = appliance();
        let mut forged = bundle("qemu-virt-aarch64", b"boot", b"root");
        forged[HEADER_LEN + 5] ^= 1;
        let e = run(&b, &forged).unwrap_err();
        assert!(e.contains("signature does not verify"), "{e}");
        let e = run(&b, &bundle("rpi4", b"boot", b"root")).unwrap_err();
        assert_eq!(
            e,
            "bundle is for board rpi4, this appliance is qemu-virt-aarch64"
        );
        assert!(
            part(&b, "root-b").iter().all(|&x| x == 0xbb),
            "nothing written"
        );
        assert!(
            part(&b, "bootstate").iter().all(|&x| x == 0),
            "state untouched"
        );
    }

    #[test]
    fn a_truncated_or_changed_payload_leaves_the_slot_bad_and_nothing_armed() {
        let b = appliance();
        let good = bundle("qemu-virt-aarch64", &[1u8; 5000], &[2u8; 70_000]);
        let e = run(&b, &good[..good.len() - 10]).unwrap_err();
        assert!(
            e.starts_with(
                "bundle ends inside payload root: 69990 of 70000 bytes; slot B stays marked bad"
            ),
            "{e}"
        );
        assert_eq!(
            (state(&b).left, state(&b).order.first()),
            ([3, 0], BootSlot::A)
        );
        let mut changed = good.clone();
        let at = changed.len() - 100;
        changed[at] ^= 1;
        let e = run(&b, &changed).unwrap_err();
        assert!(
            e.starts_with("bundle payload root does not match its signed SHA-256"),
            "{e}"
        );
        assert_eq!(state(&b).left[1], 0);
    }

    #[test]
    fn no_install_before_the_running_slot_is_marked_good() {
        let b = appliance();
        // The boot loader counted this boot's attempt; mark-good has not run yet.
        crate::slot::write(&b.paths.partitions.join("bootstate"), |s| s.left = [2, 3]).unwrap();
        let e = run(&b, &bundle("qemu-virt-aarch64", b"boot", b"root")).unwrap_err();
        assert!(e.starts_with("slot A is not marked good this boot"), "{e}");
        assert!(
            part(&b, "root-b").iter().all(|&x| x == 0xbb),
            "nothing written"
        );
    }

    #[test]
    fn a_payload_larger_than_its_partition_is_refused_with_the_sizes() {
        let b = appliance();
        let e = run(
            &b,
            &bundle("qemu-virt-aarch64", b"boot", &vec![0u8; 3 << 20]),
        )
        .unwrap_err();
        assert_eq!(
            e,
            "bundle payload root is 3145728 bytes; the root partition holds 2097152"
        );
    }
}
