//! The boot loader's A/B state (issue 17): which root slot U-Boot tries first and how many
//! attempts each slot has left, on the `bootstate` partition, shared by the boot script
//! (`image/boot.cmd`) and the running system.
//!
//! The model is RAUC's for U-Boot: `BOOT_ORDER` lists the slots to try, `BOOT_A_LEFT` and
//! `BOOT_B_LEFT` count the attempts each has left. Every boot, the script takes the first slot
//! in the order with attempts left, counts one attempt off and boots it; the running system
//! marks its slot good once cordon is healthy ([`BootState::mark_good`]: the attempts are
//! full again). A slot that never gets there runs out of attempts and the next one in the
//! order boots: the rollback. A freshly installed slot is armed with one attempt
//! ([`BootState::arm_once`]).
//!
//! # Format
//! The partition holds two copies of one record, at 0 and at [`RECORD_LEN`]. A record is
//! U-Boot's own binary environment, what `env export -c -s 0x1000` writes and
//! `env import -c` checks: a little-endian CRC-32 (the zlib CRC) of the rest, then
//! `NAME=value` strings each ended by a NUL, then NULs to the end. Numbers are hexadecimal
//! without a prefix, as U-Boot's `setexpr` writes them and `itest` reads them. `BOOT_SEQ`
//! counts writes: the valid copy with the higher sequence is the state, and a writer always
//! overwrites the *other* copy, so a power cut in the middle of a write leaves the previous
//! state readable (a torn copy fails its CRC). With no valid copy, both sides use
//! [`BootState::factory`], the state the image ships with.
//!
//! Sans-IO: bytes in, state out; `cordon slot` reads and writes the partition.

use crc::{Crc, CRC_32_ISO_HDLC};

/// Bytes per copy: U-Boot's `env export -s 0x1000`; eight 512-byte sectors, one 4 KiB page.
pub const RECORD_LEN: usize = 4096;

/// Attempts a slot gets when it is marked good: enough to ride out a power cut or two during
/// boot, few enough that a broken slot is given up within minutes (RAUC's default is 3).
pub const GOOD_ATTEMPTS: u8 = 3;

/// The zlib CRC, which U-Boot's `env import -c` computes.
const CRC: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);

/// One of the two root slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootSlot {
    A,
    B,
}

impl BootSlot {
    /// The other slot: where an update goes.
    pub fn other(self) -> Self {
        match self {
            Self::A => Self::B,
            Self::B => Self::A,
        }
    }

    /// `A` or `B`, as in `BOOT_ORDER`.
    pub fn name(self) -> &'static str {
        match self {
            Self::A => "A",
            Self::B => "B",
        }
    }

    /// `a` or `b`, as in the partition names and the kernel's `cordon.slot=`.
    pub fn lower(self) -> &'static str {
        match self {
            Self::A => "a",
            Self::B => "b",
        }
    }

    /// Reads `a`, `b`, `A` or `B`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "a" | "A" => Some(Self::A),
            "b" | "B" => Some(Self::B),
            _ => None,
        }
    }
}

/// Why a copy of the record is not a state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BootStateError {
    #[error("boot state copy is {0} bytes, not {RECORD_LEN}")]
    Length(usize),
    #[error("boot state copy fails its CRC (never written, or torn by a power cut)")]
    Crc,
    #[error("boot state copy has no {0}")]
    Missing(&'static str),
    #[error("boot state copy has a bad {0}")]
    Bad(&'static str),
}

/// The state the boot script and the running system share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootState {
    /// Writes so far; the higher of two valid copies wins.
    pub seq: u32,
    /// Slots in the order the boot loader tries them (one or both, no repeats).
    pub order: Order,
    /// Attempts left for slot A and slot B.
    pub left: [u8; 2],
}

/// One or two distinct slots, in the order the boot loader tries them; fixed size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Order {
    slots: [BootSlot; 2],
    len: u8,
}

impl Order {
    /// `first`, then the other slot.
    pub fn starting(first: BootSlot) -> Self {
        Self {
            slots: [first, first.other()],
            len: 2,
        }
    }

    /// Parses `A B`, `B A`, `A` or `B`.
    pub fn parse(text: &str) -> Option<Self> {
        let mut slots = [BootSlot::A; 2];
        let mut len = 0usize;
        for word in text.split_ascii_whitespace() {
            let slot = BootSlot::parse(word)?;
            if len == 2 || slots[..len].contains(&slot) {
                return None;
            }
            slots[len] = slot;
            len += 1;
        }
        (len > 0).then_some(Self {
            slots,
            len: len as u8,
        })
    }

    pub fn slots(&self) -> &[BootSlot] {
        &self.slots[..usize::from(self.len)]
    }

    pub fn first(&self) -> BootSlot {
        self.slots[0]
    }
}

impl std::fmt::Display for Order {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.slots().iter().map(|s| s.name()).collect();
        f.write_str(&names.join(" "))
    }
}

impl BootState {
    /// What the image ships with, and what both sides assume with no valid copy: A first with
    /// [`GOOD_ATTEMPTS`], B with none (it is empty until the first install arms it).
    pub fn factory() -> Self {
        Self {
            seq: 0,
            order: Order::starting(BootSlot::A),
            left: [GOOD_ATTEMPTS, 0],
        }
    }

    /// Attempts left for `slot`.
    pub fn left(&self, slot: BootSlot) -> u8 {
        self.left[slot as usize]
    }

    /// The slot the boot loader boots next: the first in the order with attempts left.
    pub fn next(&self) -> Option<BootSlot> {
        self.order
            .slots()
            .iter()
            .copied()
            .find(|s| self.left(*s) > 0)
    }

    /// `booted` is healthy: its attempts are full again. The order stays: after a rollback
    /// the slot that failed stays first with no attempts, which is how `cordon slot status`
    /// can still say why the box runs the other one (RAUC's mark-good does the same).
    pub fn mark_good(&mut self, booted: BootSlot) {
        self.left[booted as usize] = GOOD_ATTEMPTS;
    }

    /// A freshly written `slot` gets one attempt, ahead of the running one; if it does not
    /// mark itself good, the next boot takes the other slot.
    pub fn arm_once(&mut self, slot: BootSlot) {
        self.left[slot as usize] = 1;
        self.order = Order::starting(slot);
    }

    /// `slot` must not boot (an install into it started or failed): no attempts left.
    pub fn mark_bad(&mut self, slot: BootSlot) {
        self.left[slot as usize] = 0;
        self.order = Order::starting(slot.other());
    }

    /// Reads one copy; `Err` when it is not a valid record.
    pub fn decode(copy: &[u8]) -> Result<Self, BootStateError> {
        if copy.len() != RECORD_LEN {
            return Err(BootStateError::Length(copy.len()));
        }
        let (crc, data) = copy.split_at(4);
        if CRC.checksum(data).to_le_bytes() != crc {
            return Err(BootStateError::Crc);
        }
        let (mut seq, mut order, mut a, mut b) = (None, None, None, None);
        for entry in data.split(|&c| c == 0).take_while(|e| !e.is_empty()) {
            let entry = std::str::from_utf8(entry).map_err(|_| BootStateError::Bad("entry"))?;
            let Some((name, value)) = entry.split_once('=') else {
                return Err(BootStateError::Bad("entry"));
            };
            match name {
                "BOOT_SEQ" => seq = Some(hex(value).ok_or(BootStateError::Bad("BOOT_SEQ"))?),
                "BOOT_ORDER" => {
                    order = Some(Order::parse(value).ok_or(BootStateError::Bad("BOOT_ORDER"))?)
                }
                "BOOT_A_LEFT" => {
                    a = Some(attempts(value).ok_or(BootStateError::Bad("BOOT_A_LEFT"))?)
                }
                "BOOT_B_LEFT" => {
                    b = Some(attempts(value).ok_or(BootStateError::Bad("BOOT_B_LEFT"))?)
                }
                // Other variables (a later format's) are kept out of the state, not refused.
                _ => {}
            }
        }
        Ok(Self {
            seq: seq.ok_or(BootStateError::Missing("BOOT_SEQ"))?,
            order: order.ok_or(BootStateError::Missing("BOOT_ORDER"))?,
            left: [
                a.ok_or(BootStateError::Missing("BOOT_A_LEFT"))?,
                b.ok_or(BootStateError::Missing("BOOT_B_LEFT"))?,
            ],
        })
    }

    /// One copy, as U-Boot's `env export -c -s 0x1000` lays it out (variables sorted by name,
    /// as U-Boot exports them).
    pub fn encode(&self) -> [u8; RECORD_LEN] {
        let text = format!(
            "BOOT_A_LEFT={:x}\0BOOT_B_LEFT={:x}\0BOOT_ORDER={}\0BOOT_SEQ={:x}\0",
            self.left[0], self.left[1], self.order, self.seq
        );
        let mut out = [0u8; RECORD_LEN];
        out[4..4 + text.len()].copy_from_slice(text.as_bytes());
        let crc = CRC.checksum(&out[4..]);
        out[..4].copy_from_slice(&crc.to_le_bytes());
        out
    }
}

/// What the two copies on the partition say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootRecords {
    /// The state in force: the newer valid copy, or [`BootState::factory`] when neither is.
    pub state: BootState,
    /// Which copy (0 or 1) holds it; `None`: neither copy is valid.
    pub copy: Option<usize>,
    /// Why each copy is not valid, when it is not.
    pub problems: [Option<BootStateError>; 2],
}

impl BootRecords {
    /// Reads both copies (`partition` holds at least `2 * RECORD_LEN` bytes).
    pub fn read(partition: &[u8]) -> Self {
        let copy = |i: usize| {
            partition
                .get(i * RECORD_LEN..(i + 1) * RECORD_LEN)
                .ok_or(BootStateError::Length(
                    partition.len().saturating_sub(i * RECORD_LEN),
                ))
                .and_then(BootState::decode)
        };
        let (c0, c1) = (copy(0), copy(1));
        let (state, which) = match (&c0, &c1) {
            (Ok(s0), Ok(s1)) if s1.seq > s0.seq => (s1.clone(), Some(1)),
            (Ok(s0), _) => (s0.clone(), Some(0)),
            (Err(_), Ok(s1)) => (s1.clone(), Some(1)),
            (Err(_), Err(_)) => (BootState::factory(), None),
        };
        Self {
            state,
            copy: which,
            problems: [c0.err(), c1.err()],
        }
    }

    /// Where the next write goes, and the state it holds: `change` applied to the state in
    /// force, with the next sequence number, for the copy that does not hold it.
    pub fn next_write(&self, change: impl FnOnce(&mut BootState)) -> (usize, BootState) {
        let mut next = self.state.clone();
        change(&mut next);
        next.seq = self.state.seq.wrapping_add(1);
        let copy = match self.copy {
            Some(0) => 1,
            _ => 0,
        };
        (copy, next)
    }
}

fn hex(value: &str) -> Option<u32> {
    (!value.is_empty() && value.len() <= 8)
        .then(|| u32::from_str_radix(value, 16).ok())
        .flatten()
}

fn attempts(value: &str) -> Option<u8> {
    hex(value).and_then(|n| u8::try_from(n).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A copy laid out as U-Boot's `env export -c -s 0x1000` lays it out: the zlib CRC of the
    /// 4092 bytes after it, then the NUL-ended variables. (`image/test` checks both directions
    /// against the real U-Boot: the boot script reads what `cordon slot` wrote and back.)
    fn uboot_export(vars: &str) -> Vec<u8> {
        let mut out = vec![0u8; RECORD_LEN];
        out[4..4 + vars.len()].copy_from_slice(vars.as_bytes());
        let crc = crc32_zlib(&out[4..]);
        out[..4].copy_from_slice(&crc.to_le_bytes());
        out
    }

    /// The zlib CRC, computed bit by bit, independent of the `crc` crate the code uses.
    fn crc32_zlib(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn reads_what_uboot_exports() {
        let copy = uboot_export("BOOT_A_LEFT=3\0BOOT_B_LEFT=0\0BOOT_ORDER=B A\0BOOT_SEQ=1a\0");
        let s = BootState::decode(&copy).unwrap();
        assert_eq!(s.seq, 0x1a);
        assert_eq!(s.order.to_string(), "B A");
        assert_eq!(s.left, [3, 0]);
        assert_eq!(s.next(), Some(BootSlot::A), "B has no attempts: A boots");
    }

    #[test]
    fn writes_what_uboot_imports() {
        let mut s = BootState::factory();
        s.seq = 0x2b;
        s.arm_once(BootSlot::B);
        let copy = s.encode();
        assert_eq!(
            copy.to_vec(),
            uboot_export("BOOT_A_LEFT=3\0BOOT_B_LEFT=1\0BOOT_ORDER=B A\0BOOT_SEQ=2b\0")
        );
        assert_eq!(BootState::decode(&copy).unwrap(), s);
    }

    #[test]
    fn the_newer_valid_copy_wins_and_the_next_write_goes_to_the_other() {
        let mut old = BootState::factory();
        old.seq = 7;
        let mut new = old.clone();
        new.seq = 8;
        new.arm_once(BootSlot::B);
        let mut part = [old.encode(), new.encode()].concat();
        let r = BootRecords::read(&part);
        assert_eq!((r.copy, r.state.clone()), (Some(1), new.clone()));
        let (copy, next) = r.next_write(|s| s.mark_good(BootSlot::B));
        assert_eq!(copy, 0, "the copy not in force is overwritten");
        let bytes = next.encode();
        let written = BootState::decode(&bytes).unwrap();
        assert_eq!((written.seq, written.left), (9, [3, 3]));
        assert_eq!(written.order.to_string(), "B A");

        // A power cut tears the write into copy 0 (its CRC and the start of its variables
        // written, the rest still the old copy's): copy 1 still holds the state.
        part[..20].copy_from_slice(&bytes[..20]);
        let r = BootRecords::read(&part);
        assert_eq!(r.state, new);
        assert_eq!(r.problems[0], Some(BootStateError::Crc));
    }

    #[test]
    fn an_erased_partition_is_the_factory_state() {
        for fill in [0u8, 0xff] {
            let r = BootRecords::read(&[fill; 2 * RECORD_LEN]);
            assert_eq!((r.copy, r.state.clone()), (None, BootState::factory()));
            assert_eq!(r.next_write(|_| {}).0, 0);
        }
    }

    #[test]
    fn an_armed_slot_that_never_reports_falls_back() {
        let mut s = BootState::factory();
        s.mark_good(BootSlot::A);
        s.arm_once(BootSlot::B);
        assert_eq!(s.next(), Some(BootSlot::B));
        // The boot script counts the one attempt off; the new slot never marks itself good.
        s.left[BootSlot::B as usize] -= 1;
        assert_eq!(s.next(), Some(BootSlot::A), "rolled back to the good slot");
        s.mark_bad(BootSlot::B);
        assert_eq!(
            (s.next(), s.order.to_string()),
            (Some(BootSlot::A), "A B".into())
        );
    }

    #[test]
    fn malformed_copies_are_refused_with_the_reason() {
        let cases: [(&str, BootStateError); 5] = [
            (
                "BOOT_B_LEFT=3\0BOOT_ORDER=A B\0BOOT_SEQ=1\0",
                BootStateError::Missing("BOOT_A_LEFT"),
            ),
            (
                "BOOT_A_LEFT=3\0BOOT_B_LEFT=3\0BOOT_ORDER=A A\0BOOT_SEQ=1\0",
                BootStateError::Bad("BOOT_ORDER"),
            ),
            (
                "BOOT_A_LEFT=3\0BOOT_B_LEFT=3\0BOOT_ORDER=A C\0BOOT_SEQ=1\0",
                BootStateError::Bad("BOOT_ORDER"),
            ),
            (
                "BOOT_A_LEFT=100\0BOOT_B_LEFT=3\0BOOT_ORDER=A\0BOOT_SEQ=1\0",
                BootStateError::Bad("BOOT_A_LEFT"),
            ),
            ("BOOT_A_LEFT=3\0junk\0", BootStateError::Bad("entry")),
        ];
        for (vars, why) in cases {
            assert_eq!(BootState::decode(&uboot_export(vars)), Err(why), "{vars:?}");
        }
        assert_eq!(BootState::decode(&[0; 10]), Err(BootStateError::Length(10)));
    }
}
