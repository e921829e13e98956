//! A connection that starts as plain TCP and may be upgraded to TLS (STARTTLS) or be TLS from the
//! first byte. Generic over the transport, so sessions run over an in-memory duplex in tests
//! exactly as over TCP.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsStream;

/// Any byte stream a leg can run over: TCP in production, a `tokio::io::DuplexStream` in the
/// in-memory session tests.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug> Io for T {}

#[derive(Debug, Default)]
pub enum Conn<S = TcpStream> {
    Plain(S),
    Tls(Box<TlsStream<S>>),
    /// Taken for an upgrade that failed; every operation errors.
    #[default]
    Gone,
}

/// What was negotiated, for `Received:` and logs.
#[derive(Debug, Clone)]
pub struct TlsInfo {
    pub version: String,
    pub cipher: String,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<S> {
    pub fn is_tls(&self) -> bool {
        matches!(self, Conn::Tls(_))
    }

    /// Takes the plain stream out for a TLS upgrade.
    pub fn take_plain(&mut self) -> Option<S> {
        match std::mem::take(self) {
            Conn::Plain(s) => Some(s),
            other => {
                *self = other;
                None
            }
        }
    }

    pub fn tls_info(&self) -> Option<TlsInfo> {
        let Conn::Tls(s) = self else { return None };
        let (version, suite) = match s.as_ref() {
            TlsStream::Client(c) => (
                c.get_ref().1.protocol_version(),
                c.get_ref().1.negotiated_cipher_suite(),
            ),
            TlsStream::Server(c) => (
                c.get_ref().1.protocol_version(),
                c.get_ref().1.negotiated_cipher_suite(),
            ),
        };
        let version = match version {
            Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_string(),
            Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_string(),
            Some(v) => format!("{v:?}"),
            None => "TLS".to_string(),
        };
        let cipher = suite
            .map(|s| format!("{:?}", s.suite()))
            .unwrap_or_default();
        Some(TlsInfo { version, cipher })
    }
}

fn gone() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "connection was closed")
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Conn<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Conn::Gone => Poll::Ready(Err(gone())),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Conn<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Conn::Gone => Poll::Ready(Err(gone())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Conn::Gone => Poll::Ready(Err(gone())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Conn::Gone => Poll::Ready(Ok(())),
        }
    }
}
