//! Session and message buffers, reserved once at start-up.
//!
//! Two fixed sets, both sized from the config and the board profile:
//! - **session slots** (`max_sessions`): the I/O buffers a connection needs from its greeting to
//!   its QUIT. A connection with no free slot gets `421 4.3.2` before anything else.
//! - **message slots** in size classes (`[gateway] slot_classes`, ascending; the largest is
//!   `max_message_size`): the message buffer and the DLP scanner of one transaction. MAIL takes
//!   the smallest free class that holds the `SIZE=` it declares (Exchange Online declares it);
//!   a message that outgrows its class moves to a larger free slot (the bytes are copied once,
//!   the scanner moves with them, so nothing is scanned twice); when no class can take it the
//!   sender gets `452 4.3.1` (MAIL, or the end of its data), never a 250 and never an
//!   allocation. The transaction gives its slot back when it ends.
//!
//! So the worst case is known and printed at start, and traffic never makes the process
//! allocate more of either. Slots are reused LIFO so that a quiet appliance keeps touching the
//! same pages.

use std::sync::{Arc, Mutex};

use cordon_config::SlotClass;

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

/// The DLP scanner's state per message slot: the OLE buffer (a compound file is read at
/// random, so an Outlook or legacy Office part is kept whole, `OLE_BUFFER_BYTES`) and the rest
/// (`Scanner::state_bytes` is 5,170,992 with the default limits, the detection catalogue, the
/// PDF reader with its font tables and LZW tables (61 KiB), the OLE buffer and its record
/// buffers, the RTF readers, the second reading of a text part behind a UTF-16 mark and the
/// windows of base64 decoded out of text included; a test keeps this above it; with
/// fingerprint sets loaded it grows by one bit per fingerprint they may hold,
/// `MAX_TOTAL_FINGERPRINTS`, 32 KiB, which the same test checks).
pub const SCANNER_STATE: usize = (1024 << 10) + cordon_dlp::limits::OLE_BUFFER_BYTES;
/// The fixed buffers of a session slot: the upstream read buffer, the downstream write staging
/// (two I/O buffers: dot-stuffing may double a chunk), the upstream replies, and the downstream
/// leg's reply buffer ([`crate::downstream::REPLY_BUFFER`], lent to the leg while it is open,
/// so connecting allocates nothing). A test checks a slot's buffers against it.
pub const SLOT_BUFFERS: usize =
    IO_BUFFER + IO_BUFFER * 2 + REPLY_BUFFER + crate::downstream::REPLY_BUFFER;
/// What a session slot costs: its buffers, TLS and task state.
pub const SESSION_OVERHEAD: usize = SLOT_BUFFERS + PER_SESSION_OVERHEAD;
/// What a message slot costs besides its message buffer: the scanner.
pub const MESSAGE_OVERHEAD: usize = SCANNER_STATE;
/// What the process needs besides the slots: the binary, the runtimes, the TLS roots and the
/// DLP engine's automata (18 MiB resident measured on x86-dev with the example policy).
pub const PROCESS_BASE: usize = 32 << 20;

/// The incident ring and the live incident feed at their fullest: each record is capped at
/// `INCIDENT_BYTES` (cordon-policy), whatever the messages carry.
pub const fn incident_budget(incident_ring: usize) -> usize {
    (incident_ring + crate::dlp_inspector::INCIDENT_FEED) * cordon_policy::INCIDENT_BYTES
}

/// One connection's memory.
#[derive(Debug)]
pub struct Slot {
    /// Upstream read buffer.
    pub up_in: Box<[u8]>,
    /// Downstream write staging (dot-stuffing output).
    pub down_out: Vec<u8>,
    /// Upstream replies waiting for one write.
    pub replies: Vec<u8>,
    /// The downstream leg's reply buffer, lent to it while it is open.
    pub down_in: Box<[u8]>,
    /// The transaction's message slot, from its MAIL to its end.
    pub msg: Option<MessageLease>,
}

impl Slot {
    fn new(prefault: bool) -> Slot {
        let mut slot = Slot {
            up_in: vec![0; IO_BUFFER].into_boxed_slice(),
            down_out: Vec::with_capacity(IO_BUFFER * 2),
            replies: Vec::with_capacity(REPLY_BUFFER),
            down_in: vec![0; crate::downstream::REPLY_BUFFER].into_boxed_slice(),
            msg: None,
        };
        if prefault {
            // Touch every page now, so the resident size is the budget from the first minute
            // and a busy hour cannot find the memory missing.
            slot.down_out.resize(IO_BUFFER * 2, 0);
            slot.replies.resize(REPLY_BUFFER, 0);
            slot.clear();
        }
        slot
    }

    fn clear(&mut self) {
        self.msg = None;
        self.down_out.clear();
        self.replies.clear();
    }
}

/// One transaction's memory: the message and the scanner reading it.
#[derive(Debug)]
pub struct MessageSlot {
    /// The message being received; its capacity is the class size and never grows.
    pub message: Vec<u8>,
    /// The inspection state (the DLP scanner), built with the slot and again when the config
    /// generation changes.
    pub inspector: Box<dyn Inspector>,
    /// The build of the shared state (`Shared::epoch`) `inspector` belongs to.
    pub epoch: u64,
}

impl MessageSlot {
    fn clear(&mut self) {
        self.inspector.reset();
        self.message.clear();
    }
}

/// One size class: its buffers' size, how many, and the free ones.
#[derive(Debug)]
struct Class {
    size: usize,
    count: usize,
    free: Mutex<Vec<MessageSlot>>,
}

/// The fixed sets of slots.
#[derive(Debug)]
pub struct Pool {
    free: Mutex<Vec<Slot>>,
    capacity: usize,
    classes: Vec<Class>,
    /// `[policy] incident_ring`: the ring is not in the pool but is counted in its budget.
    incident_ring: usize,
}

/// A session slot on loan; returns itself (and any message slot it holds) when dropped.
#[derive(Debug)]
pub struct Lease {
    slot: Option<Slot>,
    pool: Arc<Pool>,
}

/// A message slot on loan to a transaction; returns itself to its class when dropped.
#[derive(Debug)]
pub struct MessageLease {
    slot: Option<MessageSlot>,
    class: usize,
    pool: Arc<Pool>,
}

/// One class's size, count and buffers in use, for the start line and `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassUse {
    pub size: usize,
    pub count: usize,
    pub in_use: usize,
}

impl Pool {
    /// Reserves `sessions` session slots and the message slots of `classes`, each with an
    /// inspector from `inspectors` (built for `Shared::epoch` `epoch`); with `prefault` their
    /// pages are touched at once.
    pub fn new(
        sessions: usize,
        classes: &[SlotClass],
        incident_ring: usize,
        prefault: bool,
        inspectors: &dyn InspectorFactory,
        epoch: u64,
    ) -> Arc<Pool> {
        let free = (0..sessions).map(|_| Slot::new(prefault)).collect();
        let classes = classes
            .iter()
            .map(|c| Class {
                size: c.size,
                count: c.count,
                free: Mutex::new(
                    (0..c.count)
                        .map(|_| {
                            let mut message = Vec::with_capacity(c.size);
                            if prefault {
                                message.resize(c.size, 0);
                                message.clear();
                            }
                            MessageSlot {
                                message,
                                inspector: inspectors.inspector(),
                                epoch,
                            }
                        })
                        .collect(),
                ),
            })
            .collect();
        Arc::new(Pool {
            free: Mutex::new(free),
            capacity: sessions,
            classes,
            incident_ring,
        })
    }

    /// The worst-case memory of the process, for the start-up banner and the budget check.
    pub fn budget_bytes(&self) -> usize {
        let classes: Vec<SlotClass> = self
            .classes
            .iter()
            .map(|c| SlotClass {
                size: c.size,
                count: c.count,
            })
            .collect();
        Pool::budget_for(self.capacity, &classes, self.incident_ring)
    }

    /// The worst-case memory of one process with `sessions` session slots, the message slots
    /// of `classes` and an incident ring of `incident_ring` records.
    pub fn budget_for(sessions: usize, classes: &[SlotClass], incident_ring: usize) -> usize {
        PROCESS_BASE
            + incident_budget(incident_ring)
            + sessions * SESSION_OVERHEAD
            + classes
                .iter()
                .map(|c| c.count * (c.size + MESSAGE_OVERHEAD))
                .sum::<usize>()
    }

    /// The budget's terms as values, for the start line and the over-budget error:
    /// `32 MiB base + 7803 KiB incidents + 64 sessions x 432 KiB + 40 x (256 KiB + 5120 KiB
    /// scanner) + ...`.
    pub fn describe_budget(sessions: usize, classes: &[SlotClass], incident_ring: usize) -> String {
        let mut s = format!(
            "{} MiB base + {} KiB incidents + {sessions} sessions x {} KiB",
            PROCESS_BASE >> 20,
            incident_budget(incident_ring) >> 10,
            SESSION_OVERHEAD >> 10
        );
        for c in classes {
            s.push_str(&format!(
                " + {} x ({} KiB message + {} KiB scanner)",
                c.count,
                c.size >> 10,
                MESSAGE_OVERHEAD >> 10
            ));
        }
        s
    }

    /// [`Pool::describe_budget`] of this pool.
    pub fn describe(&self) -> String {
        let classes: Vec<SlotClass> = self
            .classes
            .iter()
            .map(|c| SlotClass {
                size: c.size,
                count: c.count,
            })
            .collect();
        Pool::describe_budget(self.capacity, &classes, self.incident_ring)
    }

    /// Session slots.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Session slots in use.
    pub fn in_use(&self) -> usize {
        self.capacity - self.free.lock().map(|f| f.len()).unwrap_or(0)
    }

    /// Each class's size, count and use, smallest first.
    pub fn classes(&self) -> Vec<ClassUse> {
        self.classes
            .iter()
            .map(|c| ClassUse {
                size: c.size,
                count: c.count,
                in_use: c.count - c.free.lock().map(|f| f.len()).unwrap_or(0),
            })
            .collect()
    }

    /// The largest message any class holds.
    pub fn largest_class(&self) -> usize {
        self.classes.last().map_or(0, |c| c.size)
    }

    /// Takes a session slot, or `None` when every one is busy.
    pub fn try_lease(self: &Arc<Self>) -> Option<Lease> {
        let slot = self.free.lock().ok()?.pop()?;
        Some(Lease {
            slot: Some(slot),
            pool: Arc::clone(self),
        })
    }

    /// Takes a message slot of the smallest class of at least `at_least` octets that has one
    /// free, with an inspector for `epoch`; `None` when no such class has a free slot.
    pub fn lease_message(
        self: &Arc<Self>,
        at_least: usize,
        inspectors: &dyn InspectorFactory,
        epoch: u64,
    ) -> Option<MessageLease> {
        let (class, mut slot) = self.take_from(at_least, 0)?;
        if slot.epoch != epoch {
            // The config changed since this slot last served: its inspector follows the new
            // engine and rules.
            slot.inspector = inspectors.inspector();
            slot.epoch = epoch;
        }
        Some(MessageLease {
            slot: Some(slot),
            class,
            pool: Arc::clone(self),
        })
    }

    /// A free slot of the smallest class from `first` on whose size is at least `at_least`.
    fn take_from(&self, at_least: usize, first: usize) -> Option<(usize, MessageSlot)> {
        self.classes
            .iter()
            .enumerate()
            .skip(first)
            .filter(|(_, c)| c.size >= at_least)
            .find_map(|(i, c)| c.free.lock().ok()?.pop().map(|s| (i, s)))
    }
}

impl MessageLease {
    /// This slot's size: the most the message may hold without moving.
    pub fn room(&self) -> usize {
        self.pool.classes[self.class].size
    }

    /// Moves the message to a free slot of a larger class that holds at least `needed`
    /// octets: the bytes are copied once and the inspector (with what it has read) moves with
    /// them. `false`, and nothing changes, when no larger class has a free slot.
    pub fn grow(&mut self, needed: usize) -> bool {
        let Some((class, mut bigger)) = self.pool.take_from(needed, self.class + 1) else {
            return false;
        };
        let ours = self
            .slot
            .as_mut()
            .expect("lease holds its slot until dropped");
        bigger.message.clear();
        bigger.message.extend_from_slice(&ours.message);
        std::mem::swap(&mut bigger.inspector, &mut ours.inspector);
        std::mem::swap(&mut bigger.epoch, &mut ours.epoch);
        let old = std::mem::replace(ours, bigger);
        let old_class = std::mem::replace(&mut self.class, class);
        self.pool.give_back(old_class, old);
        true
    }
}

impl Pool {
    fn give_back(&self, class: usize, mut slot: MessageSlot) {
        slot.clear();
        if let Ok(mut free) = self.classes[class].free.lock() {
            free.push(slot);
        }
    }
}

impl Lease {
    /// The pool this slot came from, where its transactions take their message slots.
    pub fn pool(&self) -> Arc<Pool> {
        Arc::clone(&self.pool)
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

impl std::ops::Deref for MessageLease {
    type Target = MessageSlot;
    fn deref(&self) -> &MessageSlot {
        self.slot
            .as_ref()
            .expect("lease holds its slot until dropped")
    }
}

impl std::ops::DerefMut for MessageLease {
    fn deref_mut(&mut self) -> &mut MessageSlot {
        self.slot
            .as_mut()
            .expect("lease holds its slot until dropped")
    }
}

impl Drop for MessageLease {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            self.pool.give_back(self.class, slot);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::{Envelope, Inspector, Verdict};

    #[test]
    fn the_budget_covers_the_scanner_state() {
        // The budget counts SCANNER_STATE per message slot: it must stay above what a scanner
        // owns, whatever the engine's readers grow to (the PDF reader added ~170 KiB).
        let engine = std::sync::Arc::new(
            cordon_dlp::Engine::new(&cordon_dlp::EngineConfig::default()).unwrap(),
        );
        let bytes = engine.scanner().state_bytes();
        println!("scanner state {bytes} bytes, budgeted {SCANNER_STATE}");
        assert!(bytes <= SCANNER_STATE, "{bytes} > {SCANNER_STATE}");
        // With fingerprint sets holding all the fingerprints they may: one bit each.
        use cordon_dlp::fingerprint::{encode, Document, FpKey, Set, MAX_TOTAL_FINGERPRINTS};
        let key = FpKey::from_bytes([3; 16]);
        let per = MAX_TOTAL_FINGERPRINTS / 16;
        let docs: Vec<Document> = (0..16u64)
            .map(|d| Document {
                name: format!("d{d}"),
                fingerprints: (0..per as u64).map(|i| (i << 4) | d).collect(),
            })
            .collect();
        let set = Set::decode(&encode(&key, &docs).unwrap(), &key).unwrap();
        let full = std::sync::Arc::new(
            cordon_dlp::Engine::new(&cordon_dlp::EngineConfig::default())
                .unwrap()
                .with_fingerprints(vec![("all".into(), std::sync::Arc::new(set))])
                .unwrap(),
        );
        let bytes = full.scanner().state_bytes();
        println!("scanner state with {MAX_TOTAL_FINGERPRINTS} fingerprints {bytes} bytes");
        assert!(bytes <= SCANNER_STATE, "{bytes} > {SCANNER_STATE}");
    }

    /// Enough of an inspector to fill slots; counts what it was fed.
    #[derive(Debug, Default)]
    struct Counting(usize);

    impl Inspector for Counting {
        fn feed(&mut self, chunk: &[u8]) {
            self.0 += chunk.len();
        }
        fn finish(&mut self, _envelope: &Envelope<'_>, _message: &[u8]) -> Verdict {
            Verdict::Deliver {
                headers: vec![("X-Fed".to_string(), format!("fed {}", self.0))],
            }
        }
        fn reset(&mut self) {
            self.0 = 0;
        }
    }

    #[derive(Debug)]
    struct Factory;

    impl InspectorFactory for Factory {
        fn inspector(&self) -> Box<dyn Inspector> {
            Box::<Counting>::default()
        }
    }

    fn classes(list: &[(usize, usize)]) -> Vec<SlotClass> {
        list.iter()
            .map(|&(count, size)| SlotClass { size, count })
            .collect()
    }

    #[test]
    fn the_budget_counts_every_buffer_of_a_slot() {
        for prefault in [false, true] {
            let pool = Pool::new(1, &classes(&[(1, 1024)]), 0, prefault, &Factory, 0);
            let s = pool.try_lease().unwrap();
            let held =
                s.up_in.len() + s.down_out.capacity() + s.replies.capacity() + s.down_in.len();
            assert_eq!(held, SLOT_BUFFERS, "prefault {prefault}");
            assert_eq!(s.down_in.len(), crate::downstream::REPLY_BUFFER);
            let m = pool.lease_message(0, &Factory, 0).unwrap();
            assert_eq!(m.message.capacity(), 1024, "prefault {prefault}");
        }
    }

    #[test]
    fn the_budget_is_the_sum_of_sessions_and_classes() {
        let c = classes(&[(200, 256 << 10), (40, 4 << 20), (2, 150 << 20)]);
        let budget = Pool::budget_for(256, &c, 0);
        let by_hand = PROCESS_BASE
            + incident_budget(0)
            + 256 * SESSION_OVERHEAD
            + 200 * ((256 << 10) + MESSAGE_OVERHEAD)
            + 40 * ((4 << 20) + MESSAGE_OVERHEAD)
            + 2 * ((150 << 20) + MESSAGE_OVERHEAD);
        assert_eq!(budget, by_hand);
        // docs/config.md's example for 150 MB messages on a 1.5 GiB board (default ring).
        let doc = classes(&[(120, 256 << 10), (16, 4 << 20), (2, 150 << 20)]);
        assert_eq!(Pool::budget_for(256, &doc, 1024) >> 20, 1233);
        // One class of max_message_size per session: the budget before classes existed.
        let one = classes(&[(64, 35 << 20)]);
        assert_eq!(
            Pool::budget_for(64, &one, 0),
            PROCESS_BASE
                + 64 * ((35 << 20) + SLOT_BUFFERS + PER_SESSION_OVERHEAD + SCANNER_STATE)
                + incident_budget(0)
        );
    }

    #[test]
    fn leases_are_bounded_and_returned() {
        let pool = Pool::new(2, &classes(&[(2, 1024)]), 0, true, &Factory, 0);
        let a = pool.try_lease().unwrap();
        let b = pool.try_lease().unwrap();
        assert!(pool.try_lease().is_none());
        assert_eq!(pool.in_use(), 2);
        drop(a);
        let mut c = pool.try_lease().unwrap();
        c.msg = pool.lease_message(10, &Factory, 0);
        c.msg.as_mut().unwrap().message.extend_from_slice(b"x");
        assert_eq!(pool.classes()[0].in_use, 1);
        drop(c);
        drop(b);
        assert_eq!(pool.in_use(), 0);
        assert_eq!(
            pool.classes()[0].in_use,
            0,
            "a session's message slot returns with it"
        );
        assert!(pool
            .lease_message(0, &Factory, 0)
            .unwrap()
            .message
            .is_empty());
    }

    #[test]
    fn a_transaction_takes_the_smallest_free_class_that_fits() {
        let pool = Pool::new(
            8,
            &classes(&[(2, 100), (1, 1000), (1, 10_000)]),
            0,
            false,
            &Factory,
            0,
        );
        let a = pool.lease_message(50, &Factory, 0).unwrap();
        assert_eq!(a.room(), 100);
        let b = pool.lease_message(0, &Factory, 0).unwrap();
        assert_eq!(b.room(), 100);
        // The small class is full: the next one up serves.
        let c = pool.lease_message(50, &Factory, 0).unwrap();
        assert_eq!(c.room(), 1000);
        let d = pool.lease_message(5000, &Factory, 0).unwrap();
        assert_eq!(d.room(), 10_000);
        // Nothing left that holds 500 octets, nor anything larger than the largest class.
        assert!(pool.lease_message(500, &Factory, 0).is_none());
        assert!(pool.lease_message(20_000, &Factory, 0).is_none());
        drop(c);
        assert!(pool.lease_message(500, &Factory, 0).is_some());
        let used: Vec<_> = pool.classes().iter().map(|c| c.in_use).collect();
        assert_eq!(used, vec![2, 0, 1]);
    }

    #[test]
    fn a_message_that_outgrows_its_class_moves_with_its_scan() {
        let pool = Pool::new(
            4,
            &classes(&[(1, 100), (1, 1000), (1, 10_000)]),
            0,
            false,
            &Factory,
            0,
        );
        let mut m = pool.lease_message(0, &Factory, 0).unwrap();
        m.message.extend_from_slice(&[b'a'; 90]);
        m.inspector.feed(&[b'a'; 90]);
        assert!(m.grow(2000), "the 10,000 class holds 2,000");
        assert_eq!(m.room(), 10_000);
        assert_eq!(m.message, vec![b'a'; 90]);
        let env_from = cordon_smtp::address::Path::null();
        let env = Envelope {
            session: "t",
            client: std::net::Ipv4Addr::LOCALHOST.into(),
            helo: "h",
            mail_from: &env_from,
            rcpts: &[],
            tls: false,
        };
        let slot = &mut *m;
        let Verdict::Deliver { headers } = slot.inspector.finish(&env, &slot.message) else {
            panic!("deliver");
        };
        assert_eq!(headers[0].1, "fed 90", "the scan moved with the bytes");
        // The small slot went back clean; the middle one was skipped.
        let used: Vec<_> = pool.classes().iter().map(|c| c.in_use).collect();
        assert_eq!(used, vec![0, 0, 1]);
        let small = pool.lease_message(0, &Factory, 0).unwrap();
        assert!(small.message.is_empty());
        // No larger class free: nothing changes.
        let _middle = pool.lease_message(500, &Factory, 0).unwrap();
        let mut s = small;
        s.message.extend_from_slice(b"keep");
        assert!(!s.grow(200));
        assert_eq!((s.room(), &s.message[..]), (100, &b"keep"[..]));
    }

    #[test]
    fn a_stale_inspector_is_rebuilt_at_lease() {
        let pool = Pool::new(1, &classes(&[(1, 100)]), 0, false, &Factory, 1);
        let m = pool.lease_message(0, &Factory, 2).unwrap();
        assert_eq!(m.epoch, 2);
    }
}
