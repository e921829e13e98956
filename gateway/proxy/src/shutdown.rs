//! The server's shutdown as sessions see it: the server moves through the [`Phase`]s on a
//! `watch` channel and each session waits for the one that may cut what it is doing.

use tokio::sync::watch;

/// Where the server is in its life, as sessions see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Running,
    /// Shutdown began: a session waiting for a command hears `421 4.3.2` and ends; one that is
    /// receiving a message finishes it first (RFC 5321 section 3.8).
    Drain,
    /// The drain deadline passed: every session still waiting hears `421 4.3.2` now.
    Stop,
}

/// Returns once the server's phase is `at` or later.
pub async fn reached(rx: &mut watch::Receiver<Phase>, at: Phase) {
    if *rx.borrow() >= at {
        return;
    }
    loop {
        if rx.changed().await.is_err() {
            // The server is gone without saying; treat as no shutdown.
            std::future::pending::<()>().await;
        }
        if *rx.borrow() >= at {
            return;
        }
    }
}
