//! `GET /metrics`: the Prometheus text exposition of the metric table, read-only, on the
//! management address of `[metrics]`, optionally over TLS with a required client certificate.
//!
//! A hand-written HTTP/1.1 responder rather than hyper: the workspace has no HTTP stack, the
//! endpoint answers one request per connection with one fixed body, and a scraper is the only
//! client. What it accepts is bounded in every dimension: a request head of at most
//! [`MAX_REQUEST`] bytes (no body is read), [`REQUEST_DEADLINE`] for the whole exchange (TLS
//! handshake included), [`MAX_CONNECTIONS`] at once (further ones are closed at accept), and
//! `Connection: close` after each answer. Anything but `GET` or `HEAD` gets 405, any path but
//! `/metrics` 404, a malformed or oversized head 400 or 431.

use std::sync::Arc;
use std::time::Duration;

use cordon_config::metrics::Metrics;
use cordon_metrics::Store;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio_rustls::TlsAcceptor;

use crate::error::Error;

/// A request head: a scraper sends a request line and a handful of headers (well under 1 KiB).
pub const MAX_REQUEST: usize = 8 * 1024;
/// The whole exchange of one connection; a scrape times out after 10 s by default.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(5);
/// Connections served at once: one or two scrapers, plus room for a person with curl.
pub const MAX_CONNECTIONS: usize = 8;

/// What a request head asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `GET /metrics` (`head_only` for `HEAD`); a query string is ignored.
    Metrics {
        head_only: bool,
    },
    NotFound,
    MethodNotAllowed,
    BadRequest,
}

/// Reads the request line of a complete head (sans-IO).
pub fn route(head: &[u8]) -> Route {
    let line = head.split(|b| *b == b'\n').next().unwrap_or(&[]);
    let Ok(line) = std::str::from_utf8(line) else {
        return Route::BadRequest;
    };
    let mut parts = line.trim_end_matches('\r').split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Route::BadRequest;
    };
    if !version.starts_with("HTTP/1.") || method.is_empty() || !target.starts_with('/') {
        return Route::BadRequest;
    }
    let head_only = match method {
        "GET" => false,
        "HEAD" => true,
        _ => return Route::MethodNotAllowed,
    };
    match target.split('?').next() {
        Some("/metrics") => Route::Metrics { head_only },
        _ => Route::NotFound,
    }
}

/// The response for a route: status line, headers and body.
fn response(route: Route, store: &Store) -> Vec<u8> {
    let (status, content_type, body, extra) = match route {
        Route::Metrics { .. } => (
            "200 OK",
            cordon_metrics::text::CONTENT_TYPE,
            cordon_metrics::text::exposition(&store.snapshot()),
            "",
        ),
        Route::NotFound => (
            "404 Not Found",
            "text/plain",
            "only /metrics is served\n".into(),
            "",
        ),
        Route::MethodNotAllowed => (
            "405 Method Not Allowed",
            "text/plain",
            "read-only: GET or HEAD\n".into(),
            "Allow: GET, HEAD\r\n",
        ),
        Route::BadRequest => ("400 Bad Request", "text/plain", "bad request\n".into(), ""),
    };
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if !matches!(route, Route::Metrics { head_only: true }) {
        out.extend_from_slice(body.as_bytes());
    }
    out
}

/// Reads one request head and answers it.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    store: &Store,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; MAX_REQUEST];
    let mut len = 0;
    let answer = loop {
        if let Some(end) = buf[..len].windows(4).position(|w| w == b"\r\n\r\n") {
            break response(route(&buf[..end + 2]), store);
        }
        if len == buf.len() {
            break b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec();
        }
        let n = s.read(&mut buf[len..]).await?;
        if n == 0 {
            return Ok(());
        }
        len += n;
    };
    s.write_all(&answer).await?;
    s.shutdown().await
}

/// Binds `[metrics] listen` and serves until `shutdown`; the task ends then.
pub fn start(
    m: &Metrics,
    store: Store,
    shutdown: watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, Error> {
    let tls = match &m.tls {
        Some(t) => Some(TlsAcceptor::from(
            cordon_control::server_tls_config(
                &t.certificate.path,
                &t.private_key.path,
                &t.client_ca.path,
            )
            .map_err(|e| Error::ConfigPortTls(Box::new(e)))?,
        )),
        None => None,
    };
    let listener = std::net::TcpListener::bind(m.listen)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .and_then(TcpListener::from_std)
        .map_err(|source| Error::Bind {
            addr: m.listen,
            source,
        })?;
    tracing::info!(listen = %m.listen, tls = tls.is_some(), "metrics endpoint listening");
    Ok(tokio::spawn(run(listener, tls, store, shutdown)))
}

async fn run(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    store: Store,
    mut shutdown: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "metrics endpoint: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
            tracing::debug!(client = %peer, "metrics endpoint: connection limit reached");
            continue;
        };
        let (tls, store) = (tls.clone(), store.clone());
        tokio::spawn(async move {
            let served = tokio::time::timeout(REQUEST_DEADLINE, async {
                match tls {
                    Some(acceptor) => match acceptor.accept(stream).await {
                        Ok(s) => exchange(s, &store).await,
                        Err(e) => {
                            tracing::info!(client = %peer, error = %e, "metrics endpoint: TLS refused");
                            Ok(())
                        }
                    },
                    None => exchange(stream, &store).await,
                }
            })
            .await;
            if let Ok(Err(e)) = served {
                tracing::debug!(client = %peer, error = %e, "metrics endpoint: connection failed");
            }
            drop(permit);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let r = |s: &str| route(s.as_bytes());
        assert_eq!(
            r("GET /metrics HTTP/1.1\r\nHost: x\r\n"),
            Route::Metrics { head_only: false }
        );
        assert_eq!(
            r("GET /metrics?x=1 HTTP/1.0\r\n"),
            Route::Metrics { head_only: false }
        );
        assert_eq!(
            r("HEAD /metrics HTTP/1.1\r\n"),
            Route::Metrics { head_only: true }
        );
        assert_eq!(r("GET / HTTP/1.1\r\n"), Route::NotFound);
        assert_eq!(r("GET /metrics/x HTTP/1.1\r\n"), Route::NotFound);
        assert_eq!(r("POST /metrics HTTP/1.1\r\n"), Route::MethodNotAllowed);
        assert_eq!(r("DELETE /x HTTP/1.1\r\n"), Route::MethodNotAllowed);
        assert_eq!(r("GET /metrics\r\n"), Route::BadRequest);
        assert_eq!(r("GET metrics HTTP/1.1\r\n"), Route::BadRequest);
        assert_eq!(r("GET /metrics SMTP/1.1\r\n"), Route::BadRequest);
        assert_eq!(route(b"GET /\xff HTTP/1.1\r\n"), Route::BadRequest);
    }

    #[test]
    fn responses_carry_length_and_close() {
        let store = Store::heap(1);
        let ok = String::from_utf8(response(Route::Metrics { head_only: false }, &store)).unwrap();
        let (head, body) = ok.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(head.contains(&format!("Content-Length: {}\r\n", body.len())));
        assert!(head.contains("Content-Type: text/plain; version=0.0.4"));
        assert!(head.ends_with("Connection: close"));
        assert!(body.contains("# TYPE cordon_messages_total counter"));
        let head_only = response(Route::Metrics { head_only: true }, &store);
        assert!(head_only.ends_with(b"\r\n\r\n"));
        let refused = String::from_utf8(response(Route::MethodNotAllowed, &store)).unwrap();
        assert!(refused.starts_with("HTTP/1.1 405") && refused.contains("Allow: GET, HEAD\r\n"));
    }
}
