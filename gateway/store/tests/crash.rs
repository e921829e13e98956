//! Power-safety: a commit or rollback is driven through every crash point (every byte
//! count, every operation boundary, every dropped fsync) under every model of what un-synced
//! state survives, and the next start must load the old config or the new one, never a
//! broken one and never one older than the old.

use std::path::Path;

use cordon_store::{SimDisk, Snapshot, Store, StoreError, Survival};

const DIR: &str = "/data/cordon";

fn payload(n: u8) -> Vec<u8> {
    // Distinct lengths and contents, so a slot holding the wrong bytes cannot pass as right.
    format!(
        "[policy]\n# config number {n}\n{}",
        "x".repeat(n as usize * 7)
    )
    .into_bytes()
}

/// A disk on which `history` was committed, one generation each, all durable.
fn disk_with(history: &[Vec<u8>]) -> SimDisk {
    let mut store = Store::new(SimDisk::new(), DIR);
    for p in history {
        store.commit(p).unwrap();
    }
    store.into_storage().reboot(Survival::ALL[0])
}

fn load(disk: SimDisk) -> Option<Snapshot> {
    Store::new(disk, DIR).load().unwrap()
}

/// What an operation is expected to produce.
struct Case {
    name: &'static str,
    before: SimDisk,
    /// (generation, payload) after success.
    new: (u64, Vec<u8>),
    op: fn(&mut Store<SimDisk>) -> Result<(), StoreError>,
}

/// How the power cut is injected.
#[derive(Debug, Clone, Copy)]
enum Fault {
    Bytes(usize),
    Op(usize),
    DropFsync(usize),
}

fn run_case(case: &Case) -> usize {
    let old = load(case.before.clone()).map(|s| (s.generation, s.payload));

    // A clean run tells how many bytes, operations and fsyncs there are to cut at.
    let mut clean = Store::new(case.before.clone(), DIR);
    (case.op)(&mut clean).unwrap();
    let clean = clean.into_storage();
    let (bytes, ops, fsyncs) = (clean.bytes_written, clean.ops, clean.fsyncs);
    assert!(
        bytes > 0 && ops >= 4 && fsyncs == 2,
        "{bytes} {ops} {fsyncs}"
    );

    let faults = (0..=bytes)
        .map(Fault::Bytes)
        .chain((0..=ops).map(Fault::Op))
        .chain((0..fsyncs).map(Fault::DropFsync));
    let mut checked = 0;
    for fault in faults {
        let disk = match fault {
            Fault::Bytes(n) => case.before.clone().cut_after_bytes(n),
            Fault::Op(k) => case.before.clone().cut_before_op(k),
            Fault::DropFsync(i) => case.before.clone().drop_fsync(i),
        };
        let mut store = Store::new(disk, DIR);
        let result = (case.op)(&mut store);
        let crashed = store.into_storage();
        for survival in Survival::ALL {
            let after = load(crashed.reboot(survival)).map(|s| (s.generation, s.payload));
            let ctx = format!(
                "{}: {fault:?} {survival:?} ok={}",
                case.name,
                result.is_ok()
            );
            let is_new = after.as_ref() == Some(&case.new);
            assert!(
                after == old || is_new,
                "{ctx}: loaded generation {:?}, expected old {:?} or new {}",
                after.as_ref().map(|a| a.0),
                old.as_ref().map(|o| o.0),
                case.new.0
            );
            // An honest disk keeps what `commit` reported written.
            if result.is_ok() && !matches!(fault, Fault::DropFsync(_)) {
                assert!(is_new, "{ctx}: reported written but lost");
            }
            checked += 1;
        }
    }
    checked
}

#[test]
fn commit_survives_every_crash_point() {
    let p = [payload(1), payload(2), payload(3)];
    let cases = [
        Case {
            name: "first commit on an empty disk",
            before: disk_with(&[]),
            new: (1, payload(1)),
            op: |s| s.commit(&payload(1)).map(drop),
        },
        Case {
            name: "second commit (slot B empty)",
            before: disk_with(&p[..1]),
            new: (2, payload(2)),
            op: |s| s.commit(&payload(2)).map(drop),
        },
        Case {
            name: "third commit overwrites the older slot A",
            before: disk_with(&p[..2]),
            new: (3, payload(3)),
            op: |s| s.commit(&payload(3)).map(drop),
        },
        Case {
            name: "fourth commit overwrites slot B",
            before: disk_with(&p),
            new: (4, payload(4)),
            op: |s| s.commit(&payload(4)).map(drop),
        },
        Case {
            name: "rollback",
            before: disk_with(&p[..2]),
            new: (3, payload(1)),
            op: |s| s.rollback().map(drop),
        },
    ];
    let mut total = 0;
    for case in &cases {
        total += run_case(case);
    }
    println!("checked {total} crash outcomes");
}

#[test]
fn rollback_target_survives_a_crash_during_rollback() {
    // Because the new generation is renamed over the slot only when complete, the content
    // being restored is still on disk if the power goes mid-rollback on an honest disk.
    let before = disk_with(&[payload(1), payload(2)]);
    let mut clean = Store::new(before.clone(), DIR);
    clean.rollback().unwrap();
    let ops = clean.into_storage().ops;
    for k in 0..ops {
        let mut store = Store::new(before.clone().cut_before_op(k), DIR);
        // The power cut surfaces as the failed file operation, not as "nothing to roll back".
        match store.rollback() {
            Err(StoreError::Io { source, .. }) => {
                assert_eq!(source.to_string(), "simulated power cut")
            }
            other => panic!("op {k}: {other:?}"),
        }
        for survival in Survival::ALL {
            let mut again = Store::new(store.storage().reboot(survival), DIR);
            let loaded = again.load().unwrap().unwrap();
            if loaded.generation == 2 {
                // The rollback did not land: it can be retried, its target is intact.
                let rolled = again.rollback().unwrap();
                assert_eq!((rolled.generation, rolled.restored), (3, 1));
            }
            let loaded = again.load().unwrap().unwrap();
            assert_eq!((loaded.generation, loaded.payload), (3, payload(1)));
        }
    }
}

#[test]
fn torn_slot_is_ignored_and_overwritten_next() {
    let mut disk = disk_with(&[payload(1), payload(2)]);
    // Bit rot in the newest slot: the older one is loaded, and the next write goes over the
    // rotten slot, keeping the good one.
    let b = Path::new(DIR).join("config.b");
    let mut bytes = disk.file(&b).unwrap().to_vec();
    bytes[30] ^= 0x40;
    use cordon_store::Storage;
    disk.write_file(&b, &bytes).unwrap();
    let mut store = Store::new(disk, DIR);
    let loaded = store.load().unwrap().unwrap();
    assert_eq!((loaded.generation, loaded.payload), (1, payload(1)));
    assert_eq!(store.commit(&payload(5)).unwrap(), 2);
    let [a, b] = store.inspect().unwrap();
    assert_eq!((a.generation(), b.generation()), (Some(1), Some(2)));
}
