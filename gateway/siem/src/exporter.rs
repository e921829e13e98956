//! The exporter task: drains the backlog ring into the connection, reconnecting with
//! backoff, and after a lost connection sends again the last events it wrote on it.
//!
//! A stream socket accepts writes the collector never reads (the kernel's buffers, or a peer
//! that closed a moment ago), so a write that succeeded proves nothing. The exporter keeps the
//! last [`REPLAY_EVENTS`] frames it wrote and, when the connection ends other than by its own
//! choice, writes them again first on the next one: delivery is at least once, and the
//! journal number in every event (`seq="w0:12"`) lets the SIEM drop the duplicates.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::{sleep, timeout, Instant};

use crate::transport::{Connection, Target};
use crate::{Backlog, Stats};

/// Frames written last and sent again after a lost connection: more than a collector can
/// have in its socket buffers unread when it stops at a steady few hundred events a second,
/// and a bounded cost (at most 64 x 8 KiB).
pub const REPLAY_EVENTS: usize = 64;

/// First and longest wait between connection attempts (doubling): a restarted collector is
/// found within a second, and a long-dead one costs a handful of attempts a minute.
pub const BACKOFF_MIN: Duration = Duration::from_millis(200);
pub const BACKOFF_MAX: Duration = Duration::from_secs(10);

/// How long a stopping gateway keeps sending what is queued.
pub const DRAIN_DEADLINE: Duration = Duration::from_secs(2);

/// The task's state between connections.
struct Exporter {
    target: Target,
    backlog: Arc<Backlog>,
    stats: Arc<Stats>,
    /// Frames to write before anything new: the replay of a lost connection, then the frame
    /// whose write failed.
    resend: VecDeque<Vec<u8>>,
    /// The last frames written on the current connection.
    written: VecDeque<Vec<u8>>,
}

/// Runs until `shutdown` turns true (then it drains for at most [`DRAIN_DEADLINE`]).
pub async fn run(
    target: Target,
    backlog: Arc<Backlog>,
    stats: Arc<Stats>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut e = Exporter {
        target,
        backlog,
        stats,
        resend: VecDeque::new(),
        written: VecDeque::with_capacity(REPLAY_EVENTS),
    };
    let mut backoff = BACKOFF_MIN;
    loop {
        if *shutdown.borrow() {
            e.drain().await;
            return;
        }
        let conn = tokio::select! {
            c = e.target.connect() => c,
            _ = shutdown.changed() => continue,
        };
        let mut conn = match conn {
            Ok(c) => c,
            Err(err) => {
                e.failed(&format!("cannot connect: {err}"));
                tokio::select! {
                    () = sleep(backoff) => {}
                    _ = shutdown.changed() => {}
                }
                backoff = (backoff * 2).min(BACKOFF_MAX);
                continue;
            }
        };
        backoff = BACKOFF_MIN;
        e.stats.connects.fetch_add(1, Ordering::Relaxed);
        e.stats.connected.store(true, Ordering::Relaxed);
        tracing::info!(target = ?e.target, resend = e.resend.len(), "SIEM collector connected");
        let lost = e.serve(&mut conn, &mut shutdown).await;
        e.stats.connected.store(false, Ordering::Relaxed);
        match lost {
            Some(why) => {
                e.failed(&why);
                // What this connection carried last may never have been read.
                let mut replay: VecDeque<Vec<u8>> = e.written.drain(..).collect();
                e.stats
                    .resent
                    .fetch_add(replay.len() as u64, Ordering::Relaxed);
                replay.append(&mut e.resend);
                e.resend = replay;
            }
            None => {
                e.drain_on(&mut conn).await;
                return;
            }
        }
    }
}

impl Exporter {
    fn failed(&self, why: &str) {
        self.stats.errors.fetch_add(1, Ordering::Relaxed);
        let mut last = self
            .stats
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if last.as_deref() != Some(why) {
            tracing::warn!(target = ?self.target, error = %why, "SIEM export interrupted; events wait in the backlog");
        }
        *last = Some(why.to_string());
    }

    async fn write(&mut self, conn: &mut Connection, frame: Vec<u8>) -> Result<(), String> {
        match conn.send(&frame).await {
            Ok(()) => {
                self.stats.sent.fetch_add(1, Ordering::Relaxed);
                if self.written.len() == REPLAY_EVENTS {
                    self.written.pop_front();
                }
                self.written.push_back(frame);
                Ok(())
            }
            Err(err) => {
                self.resend.push_front(frame);
                Err(format!("write failed: {err}"))
            }
        }
    }

    /// Sends until the connection is lost (`Some(why)`) or the exporter should stop (`None`).
    async fn serve(
        &mut self,
        conn: &mut Connection,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Option<String> {
        while let Some(frame) = self.resend.pop_front() {
            if let Err(why) = self.write(conn, frame).await {
                return Some(why);
            }
        }
        loop {
            let mut frame = Vec::new();
            tokio::select! {
                biased;
                err = conn.closed() => return Some(err.to_string()),
                _ = shutdown.changed() => return None,
                () = self.backlog.pop(&mut frame) => {}
            };
            if let Err(why) = self.write(conn, frame).await {
                return Some(why);
            }
        }
    }

    /// Stopping: what is queued goes out on `conn` within the deadline.
    async fn drain_on(&mut self, conn: &mut Connection) {
        let deadline = Instant::now() + DRAIN_DEADLINE;
        let _ = timeout(DRAIN_DEADLINE, async {
            let mut frame = Vec::new();
            while self.backlog.pop_into(&mut frame) {
                let frame = std::mem::take(&mut frame);
                if self.write(conn, frame).await.is_err() || Instant::now() > deadline {
                    return;
                }
            }
        })
        .await;
    }

    /// Stopping while disconnected: one attempt to connect and send what is queued.
    async fn drain(&mut self) {
        if self.backlog.is_empty() && self.resend.is_empty() {
            return;
        }
        if let Ok(Ok(mut conn)) = timeout(DRAIN_DEADLINE, self.target.connect()).await {
            while let Some(frame) = self.resend.pop_front() {
                if self.write(&mut conn, frame).await.is_err() {
                    return;
                }
            }
            self.drain_on(&mut conn).await;
        }
    }
}
