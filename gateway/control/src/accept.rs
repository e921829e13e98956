//! The accept loop the socket transports share: at most [`MAX_CONNECTIONS`] connections
//! served at once (a slot is taken before accepting, so a flood waits in the kernel's backlog
//! instead of costing tasks), accept errors such as EMFILE retried after a pause, finished
//! tasks reaped as it goes, and at shutdown every connection allowed to finish its current
//! request before the loop returns.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use crate::conn::Shutdown;
use crate::limits::MAX_CONNECTIONS;

/// Pause after a failed accept (EMFILE and the like) before trying again.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// Accepts with `accept` until `shutdown` fires and hands each connection to `serve`, whose
/// future runs as its own task holding the connection's slot.
pub(crate) async fn accept_loop<C, A, AF, S, SF>(
    mut accept: A,
    mut shutdown: Shutdown,
    mut serve: S,
) where
    A: FnMut() -> AF,
    AF: Future<Output = std::io::Result<C>>,
    S: FnMut(C, Shutdown) -> SF,
    SF: Future<Output = ()> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut tasks = JoinSet::new();
    loop {
        let permit: OwnedSemaphorePermit = tokio::select! {
            permit = Arc::clone(&slots).acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = shutdown.changed() => break,
        };
        let conn = tokio::select! {
            accepted = accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "config port accept failed");
                    tokio::time::sleep(ACCEPT_RETRY).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        while tasks.try_join_next().is_some() {}
        let task = serve(conn, shutdown.clone());
        tasks.spawn(async move {
            task.await;
            drop(permit);
        });
    }
    while tasks.join_next().await.is_some() {}
}
