//! Per-session buffers, reserved once at start-up.
//!
//! The gateway holds at most `max_sessions` sessions, each with one slot: the message buffer
//! (`max_message_size`) and the fixed I/O buffers. The worst case is therefore known and printed
//! at start, and traffic never makes the process allocate more of them. Slots are reused LIFO so
//! that a quiet appliance keeps touching the same pages.

use std::sync::{Arc, Mutex};

use crate::inspect::{Inspector, InspectorFactory};

/// Read buffer per leg: 64 KiB keeps a relay near memory speed (PERF-NOTES: 8 KiB copies run at
/// a third of the rate).
pub const IO_BUFFER: usize = 64 << 10;
/// Replies cordon queues for the upstream before one write: a pipelined group of 1,000 RCPTs
/// answered at ~40 octets each fits.
pub const REPLY_BUFFER: usize = 64 << 10;
/// rustls keeps up to ~34 KiB per direction per connection; two legs with TLS, plus the task's
/// own state. Counted in the budget, not allocated by the pool.
pub const PER_SESSION_OVERHEAD: usize = 160 << 10;

/// The DLP scanner's state per slot: the OLE buffer (a compound file is read at random, so an
/// Outlook or legacy Office part is kept whole, `OLE_BUFFER_BYTES`) and the rest
/// (`Scanner::state_bytes` is 4,909,356 with the default limits, the detection catalogue, the
/// PDF reader and its font tables, the OLE buffer and its record buffers, the RTF readers
/// included; a test keeps this above it).
pub const SCANNER_STATE: usize = (768 << 10) + cordon_dlp::limits::OLE_BUFFER_BYTES;
/// The fixed buffers of a slot: the upstream read buffer, the downstream write staging (two
/// I/O buffers: dot-stuffing may double a chunk), the upstream replies, and the downstream
/// leg's reply buffer ([`crate::downstream::REPLY_BUFFER`], lent to the leg while it is open,
/// so connecting allocates nothing). A test checks a slot's buffers against it.
pub const SLOT_BUFFERS: usize =
    IO_BUFFER + IO_BUFFER * 2 + REPLY_BUFFER + crate::downstream::REPLY_BUFFER;
/// Everything a slot costs besides the message buffer: the buffers, TLS and task state, and the
/// scanner.
pub const SLOT_OVERHEAD: usize = SLOT_BUFFERS + PER_SESSION_OVERHEAD + SCANNER_STATE;
/// What the process needs besides the slots: the binary, the runtimes, the TLS roots and the
/// DLP engine's automata (18 MiB resident measured on x86-dev with the example policy).
pub const PROCESS_BASE: usize = 32 << 20;

/// The incident ring and the live incident feed at their fullest: each record is capped at
/// `INCIDENT_BYTES` (cordon-policy), whatever the messages carry.
pub const fn incident_budget(incident_ring: usize) -> usize {
    (incident_ring + crate::dlp_inspector::INCIDENT_FEED) * cordon_policy::INCIDENT_BYTES
}

/// One session's memory.
#[derive(Debug)]
pub struct Slot {
    /// The message being received; capacity is `max_message_size` and never grows.
    pub message: Vec<u8>,
    /// Upstream read buffer.
    pub up_in: Box<[u8]>,
    /// Downstream write staging (dot-stuffing output).
    pub down_out: Vec<u8>,
    /// Upstream replies waiting for one write.
    pub replies: Vec<u8>,
    /// The downstream leg's reply buffer, lent to it while it is open.
    pub down_in: Box<[u8]>,
    /// The inspection state (the DLP scanner), built with the slot and again when the config
    /// generation changes.
    pub inspector: Box<dyn Inspector>,
    /// The build of the shared state (`Shared::epoch`) `inspector` belongs to.
    pub epoch: u64,
}

impl Slot {
    fn new(max_message_size: usize, prefault: bool, inspector: Box<dyn Inspector>) -> Slot {
        let mut slot = Slot {
            inspector,
            epoch: 0,
            message: Vec::with_capacity(max_message_size),
            up_in: vec![0; IO_BUFFER].into_boxed_slice(),
            down_out: Vec::with_capacity(IO_BUFFER * 2),
            replies: Vec::with_capacity(REPLY_BUFFER),
            down_in: vec![0; crate::downstream::REPLY_BUFFER].into_boxed_slice(),
        };
        if prefault {
            // Touch every page now, so the resident size is the budget from the first minute
            // and a busy hour cannot find the memory missing.
            slot.message.resize(max_message_size, 0);
            slot.down_out.resize(IO_BUFFER * 2, 0);
            slot.replies.resize(REPLY_BUFFER, 0);
            slot.clear();
        }
        slot
    }

    fn clear(&mut self) {
        self.inspector.reset();
        self.message.clear();
        self.down_out.clear();
        self.replies.clear();
    }
}

/// The fixed set of slots.
#[derive(Debug)]
pub struct Pool {
    free: Mutex<Vec<Slot>>,
    capacity: usize,
    max_message_size: usize,
    /// `[policy] incident_ring`: the ring is not in the pool but is counted in its budget.
    incident_ring: usize,
}

/// A slot on loan to a session; returns itself to the pool when dropped.
#[derive(Debug)]
pub struct Lease {
    slot: Option<Slot>,
    pool: Arc<Pool>,
}

impl Pool {
    /// Reserves `sessions` slots, each with an inspector from `inspectors` (built for
    /// `Shared::epoch` `epoch`); with `prefault` their pages are touched at once.
    pub fn new(
        sessions: usize,
        max_message_size: usize,
        incident_ring: usize,
        prefault: bool,
        inspectors: &dyn InspectorFactory,
        epoch: u64,
    ) -> Arc<Pool> {
        let free = (0..sessions)
            .map(|_| {
                let mut slot = Slot::new(max_message_size, prefault, inspectors.inspector());
                slot.epoch = epoch;
                slot
            })
            .collect();
        Arc::new(Pool {
            free: Mutex::new(free),
            capacity: sessions,
            max_message_size,
            incident_ring,
        })
    }

    /// The worst-case memory of the process, for the start-up banner and the budget check.
    pub fn budget_bytes(&self) -> usize {
        Pool::budget_for(self.capacity, self.max_message_size, self.incident_ring)
    }

    /// The worst-case memory of one process with `sessions` slots of `max_message_size` and an
    /// incident ring of `incident_ring` records.
    pub fn budget_for(sessions: usize, max_message_size: usize, incident_ring: usize) -> usize {
        PROCESS_BASE
            + incident_budget(incident_ring)
            + sessions * (max_message_size + SLOT_OVERHEAD)
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn in_use(&self) -> usize {
        self.capacity - self.free.lock().map(|f| f.len()).unwrap_or(0)
    }

    /// Takes a slot, or `None` when every session slot is busy.
    pub fn try_lease(self: &Arc<Self>) -> Option<Lease> {
        let slot = self.free.lock().ok()?.pop()?;
        Some(Lease {
            slot: Some(slot),
            pool: Arc::clone(self),
        })
    }
}

impl std::ops::Deref for Lease {
    type Target = Slot;
    fn deref(&self) -> &Slot {
        self.slot
            .as_ref()
            .expect("lease holds its slot until dropped")
    }
}

impl std::ops::DerefMut for Lease {
    fn deref_mut(&mut self) -> &mut Slot {
        self.slot
            .as_mut()
            .expect("lease holds its slot until dropped")
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(mut slot) = self.slot.take() {
            slot.clear();
            if let Ok(mut free) = self.pool.free.lock() {
                free.push(slot);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::{Envelope, Inspector, Verdict};

    #[test]
    fn the_budget_covers_the_scanner_state() {
        // The budget counts SCANNER_STATE per slot: it must stay above what a scanner owns,
        // whatever the engine's readers grow to (the PDF reader added ~170 KiB).
        let engine = std::sync::Arc::new(
            cordon_dlp::Engine::new(&cordon_dlp::EngineConfig::default()).unwrap(),
        );
        let bytes = engine.scanner().state_bytes();
        println!("scanner state {bytes} bytes, budgeted {SCANNER_STATE}");
        assert!(bytes <= SCANNER_STATE, "{bytes} > {SCANNER_STATE}");
    }

    /// Enough of an inspector to fill slots.
    #[derive(Debug)]
    struct Nothing;

    impl Inspector for Nothing {
        fn feed(&mut self, _chunk: &[u8]) {}
        fn finish(&mut self, _envelope: &Envelope<'_>, _message: &[u8]) -> Verdict {
            Verdict::Deliver {
                headers: Vec::new(),
            }
        }
        fn reset(&mut self) {}
    }

    impl InspectorFactory for Nothing {
        fn inspector(&self) -> Box<dyn Inspector> {
            Box::new(Nothing)
        }
    }

    #[test]
    fn the_budget_counts_every_buffer_of_a_slot() {
        for prefault in [false, true] {
            let pool = Pool::new(1, 1024, 0, prefault, &Nothing, 0);
            let s = pool.try_lease().unwrap();
            let held =
                s.up_in.len() + s.down_out.capacity() + s.replies.capacity() + s.down_in.len();
            assert_eq!(held, SLOT_BUFFERS, "prefault {prefault}");
            assert_eq!(s.down_in.len(), crate::downstream::REPLY_BUFFER);
        }
    }

    #[test]
    fn leases_are_bounded_and_returned() {
        let pool = Pool::new(2, 1024, 0, true, &Nothing, 0);
        let a = pool.try_lease().unwrap();
        let b = pool.try_lease().unwrap();
        assert!(pool.try_lease().is_none());
        assert_eq!(pool.in_use(), 2);
        drop(a);
        let mut c = pool.try_lease().unwrap();
        assert_eq!(c.message.capacity(), 1024);
        c.message.extend_from_slice(b"x");
        drop(c);
        drop(b);
        assert_eq!(pool.in_use(), 0);
        assert!(pool.try_lease().unwrap().message.is_empty());
    }
}
