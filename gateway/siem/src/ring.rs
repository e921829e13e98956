//! The backlog: one ring of `[siem] backlog` bytes, allocated when the exporter starts, that
//! holds formatted events between the journal writer (which offers them and never waits) and
//! the exporter task (which sends them).
//!
//! Hand-written rather than a channel of `Vec<u8>`: a channel bounded in events grows with the
//! events' sizes (10,000 events are 5 MiB or 80 MiB), where the appliance sizes its memory at
//! start. Here the bytes are fixed and the count follows from the events' sizes: each event is
//! stored as a 4-byte length and its bytes, wrapping at the end of the ring.

use std::sync::Mutex;

use tokio::sync::Notify;

/// Bytes of the length stored before each event.
const LEN_BYTES: usize = 4;

/// The ring, shared by the offering side and the exporter.
#[derive(Debug)]
pub struct Backlog {
    ring: Mutex<Ring>,
    /// Wakes the exporter when an event arrives (a permit is kept if it is not waiting).
    ready: Notify,
}

#[derive(Debug)]
struct Ring {
    buf: Box<[u8]>,
    /// Where the oldest event starts.
    head: usize,
    /// Bytes in use (lengths included).
    used: usize,
    events: usize,
}

impl Ring {
    fn copy_in(&mut self, at: usize, bytes: &[u8]) {
        let cap = self.buf.len();
        let first = bytes.len().min(cap - at);
        self.buf[at..at + first].copy_from_slice(&bytes[..first]);
        self.buf[..bytes.len() - first].copy_from_slice(&bytes[first..]);
    }

    fn copy_out(&self, at: usize, out: &mut [u8]) {
        let cap = self.buf.len();
        let first = out.len().min(cap - at);
        out[..first].copy_from_slice(&self.buf[at..at + first]);
        let rest = out.len() - first;
        out[first..].copy_from_slice(&self.buf[..rest]);
    }
}

impl Backlog {
    /// A ring of `bytes` (allocated and touched now, so its pages are resident from the start).
    pub fn new(bytes: usize) -> Backlog {
        Backlog {
            ring: Mutex::new(Ring {
                buf: vec![0u8; bytes.max(LEN_BYTES + 1)].into_boxed_slice(),
                head: 0,
                used: 0,
                events: 0,
            }),
            ready: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ring> {
        // A panic while holding the lock leaves the ring consistent (every write completes
        // before `used` moves), so a poisoned lock is still usable.
        self.ring.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends `event` unless it does not fit in what is free; `false` means it was dropped.
    pub fn push(&self, event: &[u8]) -> bool {
        let mut r = self.lock();
        let need = LEN_BYTES + event.len();
        let cap = r.buf.len();
        if need > cap - r.used {
            return false;
        }
        let tail = (r.head + r.used) % cap;
        let len = (event.len() as u32).to_le_bytes();
        r.copy_in(tail, &len);
        r.copy_in((tail + LEN_BYTES) % cap, event);
        r.used += need;
        r.events += 1;
        drop(r);
        self.ready.notify_one();
        true
    }

    /// Takes the oldest event into `out` (replacing its contents); `false` when empty.
    pub fn pop_into(&self, out: &mut Vec<u8>) -> bool {
        let mut r = self.lock();
        if r.events == 0 {
            return false;
        }
        let cap = r.buf.len();
        let mut len = [0u8; LEN_BYTES];
        r.copy_out(r.head, &mut len);
        let len = u32::from_le_bytes(len) as usize;
        out.clear();
        out.resize(len, 0);
        r.copy_out((r.head + LEN_BYTES) % cap, out);
        r.head = (r.head + LEN_BYTES + len) % cap;
        r.used -= LEN_BYTES + len;
        r.events -= 1;
        if r.events == 0 {
            r.head = 0;
        }
        true
    }

    /// Waits for the oldest event and takes it into `out`.
    pub async fn pop(&self, out: &mut Vec<u8>) {
        loop {
            if self.pop_into(out) {
                return;
            }
            self.ready.notified().await;
        }
    }

    /// Events waiting.
    pub fn len(&self) -> usize {
        self.lock().events
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The ring's size in bytes.
    pub fn capacity(&self) -> usize {
        self.lock().buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_come_out_in_order_across_the_wrap() {
        let b = Backlog::new(64);
        let mut out = Vec::new();
        let mut next_in = 0u32;
        let mut next_out = 0u32;
        // Events of varying length (4..=20 bytes) pushed and popped so the ring wraps many
        // times at every offset.
        for round in 0..500 {
            while b.push(&event(next_in)) {
                next_in += 1;
            }
            for _ in 0..(round % 3 + 1) {
                if b.pop_into(&mut out) {
                    assert_eq!(out, event(next_out));
                    next_out += 1;
                }
            }
        }
        while b.pop_into(&mut out) {
            assert_eq!(out, event(next_out));
            next_out += 1;
        }
        assert_eq!(next_in, next_out);
        assert!(next_in > 500);
        assert!(b.is_empty());
    }

    fn event(n: u32) -> Vec<u8> {
        let len = 4 + (n as usize * 7) % 17;
        (0..len).map(|i| (n as usize + i) as u8).collect()
    }

    #[test]
    fn a_full_ring_refuses_and_keeps_what_it_holds() {
        let b = Backlog::new(32);
        assert!(b.push(&[1; 12])); // 16 bytes
        assert!(b.push(&[2; 12])); // 32 bytes: full
        assert!(!b.push(&[3; 1]));
        assert_eq!(b.len(), 2);
        let mut out = Vec::new();
        assert!(b.pop_into(&mut out));
        assert_eq!(out, [1; 12]);
        // An event larger than the whole ring never fits.
        assert!(!b.push(&[4; 40]));
        assert!(b.push(&[5; 12]));
        assert!(b.pop_into(&mut out) && out == [2; 12]);
        assert!(b.pop_into(&mut out) && out == [5; 12]);
        assert!(!b.pop_into(&mut out));
        assert_eq!(b.capacity(), 32);
    }

    #[tokio::test]
    async fn pop_waits_for_a_push() {
        let b = std::sync::Arc::new(Backlog::new(1024));
        let waiter = {
            let b = b.clone();
            tokio::spawn(async move {
                let mut out = Vec::new();
                b.pop(&mut out).await;
                out
            })
        };
        tokio::task::yield_now().await;
        assert!(b.push(b"late"));
        let got = tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("pop woke up")
            .unwrap();
        assert_eq!(got, b"late");
    }
}
