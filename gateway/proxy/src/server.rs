//! Listeners, the relay guard, the session slots and shutdown.
//!
//! `serve` takes its listeners and shutdown signal from the caller (mini-redis style), so the
//! same code runs under `cordon run`, under the supervisor's workers and in tests.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use cordon_config::Config;
use ipnet::IpNet;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

use crate::downstream::RelayPlan;
use crate::inspect::InspectorFactory;
use crate::pool::Pool;
use crate::session::{self, Shared};
use crate::shutdown::Phase;
use crate::{tls, Error};

/// Pending connections the kernel queues per listener.
pub const LISTEN_BACKLOG: i32 = 1024;

/// Bound listening sockets, plain and implicit-TLS.
#[derive(Debug)]
pub struct Listeners {
    pub plain: Vec<std::net::TcpListener>,
    pub tls: Vec<std::net::TcpListener>,
}

impl Listeners {
    /// The addresses actually bound (port 0 resolved).
    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.plain
            .iter()
            .chain(&self.tls)
            .filter_map(|l| l.local_addr().ok())
            .collect()
    }
}

fn bind_one(addr: SocketAddr, reuse_port: bool) -> Result<std::net::TcpListener, Error> {
    use socket2::{Domain, Protocol, Socket, Type};
    let err = |source| Error::Bind { addr, source };
    let socket =
        Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP)).map_err(err)?;
    socket.set_reuse_address(true).map_err(err)?;
    if reuse_port {
        // Workers each bind the same port; the kernel spreads connections among them.
        socket.set_reuse_port(true).map_err(err)?;
    }
    if addr.is_ipv6() {
        socket.set_only_v6(true).map_err(err)?;
    }
    socket.set_nonblocking(true).map_err(err)?;
    socket.bind(&addr.into()).map_err(err)?;
    socket.listen(LISTEN_BACKLOG).map_err(err)?;
    Ok(socket.into())
}

/// Binds every listener of the config.
pub fn bind(config: &Config, reuse_port: bool) -> Result<Listeners, Error> {
    let plain = config
        .gateway
        .listen
        .iter()
        .map(|a| bind_one(*a, reuse_port))
        .collect::<Result<_, _>>()?;
    let tls = config
        .gateway
        .listen_tls
        .iter()
        .map(|a| bind_one(*a, reuse_port))
        .collect::<Result<_, _>>()?;
    Ok(Listeners { plain, tls })
}

/// Builds what sessions share from a validated config: TLS material is loaded here.
pub fn shared(
    generation: u64,
    config: Arc<Config>,
    inspectors: Arc<dyn InspectorFactory>,
    counters: Arc<cordon_policy::Counters>,
) -> Result<Shared, Error> {
    let acceptor = tls::server_config(&config)?;
    let connector = tls::client_config(&config)?;
    let relay = RelayPlan::new(&config, connector);
    static EPOCH: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    Ok(Shared {
        generation,
        epoch: EPOCH.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        config,
        acceptor,
        relay,
        inspectors,
        counters,
    })
}

/// True when `ip` may use the gateway. IPv4-mapped IPv6 peers are matched as IPv4.
pub fn allowed(nets: &[IpNet], ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    nets.iter().any(|n| n.contains(&ip))
}

/// After the drain deadline, how long sessions get to write their 421 before they are cut.
pub const STOP_GRACE: Duration = Duration::from_secs(2);

/// Accepts and serves connections until `shutdown` turns true, then waits up to `drain` for the
/// sessions in flight.
/// `live` holds the configuration new sessions use; the config port replaces it on apply, and
/// sessions in flight finish on the one they started with.
pub async fn serve(
    live: watch::Receiver<Arc<Shared>>,
    pool: Arc<Pool>,
    listeners: Listeners,
    shutdown: watch::Receiver<bool>,
    drain: Duration,
) -> Result<(), Error> {
    // Each session holds a clone of `done_tx`; when all are dropped, `done_rx` yields None.
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
    let (phase_tx, phase) = watch::channel(Phase::Running);
    let mut accepters = Vec::new();
    for (std_listener, implicit_tls) in listeners
        .plain
        .into_iter()
        .map(|l| (l, false))
        .chain(listeners.tls.into_iter().map(|l| (l, true)))
    {
        let addr = std_listener.local_addr().map_err(|source| Error::Bind {
            addr: "0.0.0.0:0".parse().unwrap_or_else(|_| unreachable_addr()),
            source,
        })?;
        let listener =
            TcpListener::from_std(std_listener).map_err(|source| Error::Bind { addr, source })?;
        accepters.push(tokio::spawn(accept_loop(
            listener,
            implicit_tls,
            live.clone(),
            Arc::clone(&pool),
            phase.clone(),
            done_tx.clone(),
        )));
    }
    drop(done_tx);
    let mut sd = shutdown.clone();
    while !*sd.borrow() {
        if sd.changed().await.is_err() {
            break;
        }
    }
    for a in &accepters {
        a.abort();
    }
    let _ = phase_tx.send(Phase::Drain);
    tracing::info!(
        sessions = pool.in_use(),
        "shutting down: no new connections; draining sessions"
    );
    // The accept loops hold sender clones until aborted; their drop releases them.
    for a in accepters {
        let _ = a.await;
    }
    if tokio::time::timeout(drain, done_rx.recv()).await.is_err() {
        tracing::warn!(
            sessions = pool.in_use(),
            "drain deadline passed; telling the remaining sessions 421 4.3.2"
        );
        let _ = phase_tx.send(Phase::Stop);
        if tokio::time::timeout(STOP_GRACE, done_rx.recv())
            .await
            .is_err()
        {
            tracing::warn!(
                sessions = pool.in_use(),
                "closing the sessions that are still busy"
            );
        }
    }
    Ok(())
}

fn unreachable_addr() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 0))
}

async fn accept_loop(
    listener: TcpListener,
    implicit_tls: bool,
    live: watch::Receiver<Arc<Shared>>,
    pool: Arc<Pool>,
    shutdown: watch::Receiver<Phase>,
    done: mpsc::Sender<()>,
) {
    let mut not_allowed = RateLimitedLog::default();
    let mut slots_busy = RateLimitedLog::default();
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                // EMFILE and friends: back off briefly instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let shared = Arc::clone(&live.borrow());
        let host = &shared.config.gateway.hostname;
        if !allowed(&shared.config.gateway.allowed_clients, peer.ip()) {
            if let Some(suppressed) = not_allowed.tick() {
                tracing::warn!(client = %peer.ip(), suppressed, "refused: not in allowed_clients");
            }
            refuse(
                stream,
                format!(
                    "554 5.7.1 {host} Access denied: {} is not an allowed client\r\n",
                    peer.ip()
                ),
            );
            continue;
        }
        let Some(slot) = pool.try_lease() else {
            shared.counters.session_refused();
            if let Some(suppressed) = slots_busy.tick() {
                tracing::warn!(client = %peer.ip(), sessions = pool.capacity(), suppressed, "refused: all session slots busy");
            }
            refuse(
                stream,
                format!("421 4.3.2 {host} Too many sessions, try again later\r\n"),
            );
            continue;
        };
        let shutdown = shutdown.clone();
        let done = done.clone();
        // Replies are small writes: Nagle plus delayed ACK would stall each one.
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            session::serve(shared, stream, peer, implicit_tls, slot, shutdown).await;
            drop(done);
        });
    }
}

/// At most one log line per [`REFUSAL_LOG_INTERVAL`] for a kind of refusal: a scan or a flood
/// of refused connections must not flood the journal (nor cost a write per connection).
pub const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// A log line's rate limit; counts what it held back.
#[derive(Debug, Default)]
struct RateLimitedLog {
    last: Option<std::time::Instant>,
    suppressed: u64,
}

impl RateLimitedLog {
    /// `Some(n)` when a line is due now, `n` being the refusals not logged since the last one.
    fn tick(&mut self) -> Option<u64> {
        let now = std::time::Instant::now();
        match self.last {
            Some(t) if now.duration_since(t) < REFUSAL_LOG_INTERVAL => {
                self.suppressed += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.suppressed))
            }
        }
    }
}

/// Writes a one-line refusal and closes, without a task and without waiting: a short reply fits
/// an empty socket buffer. The write goes straight to the kernel because tokio's readiness for a
/// socket accepted a moment ago may not be known yet (its `try_write` can say WouldBlock).
fn refuse(stream: tokio::net::TcpStream, reply: String) {
    use std::io::Write;
    if let Ok(mut s) = stream.into_std() {
        let _ = s.write(reply.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_logged_once_per_interval_with_a_count() {
        let mut log = RateLimitedLog::default();
        assert_eq!(log.tick(), Some(0));
        for _ in 0..999 {
            assert_eq!(log.tick(), None);
        }
        // Pretend the interval passed: the next line counts the held-back refusals.
        log.last = log.last.map(|t| t - REFUSAL_LOG_INTERVAL);
        assert_eq!(log.tick(), Some(999));
        assert_eq!(log.tick(), None);
    }

    #[test]
    fn relay_guard() {
        let nets: Vec<IpNet> = vec![
            "127.0.0.1/32".parse().unwrap(),
            "2001:db8::/32".parse().unwrap(),
        ];
        assert!(allowed(&nets, "127.0.0.1".parse().unwrap()));
        assert!(!allowed(&nets, "127.0.0.2".parse().unwrap()));
        assert!(allowed(&nets, "::ffff:127.0.0.1".parse().unwrap()));
        assert!(allowed(&nets, "2001:db8::5".parse().unwrap()));
        assert!(!allowed(&nets, "::1".parse().unwrap()));
    }
}
