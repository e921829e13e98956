//! The connection to the collector: TLS (RFC 5425) or plain TCP (RFC 6587) carrying
//! octet-counted frames, or UDP (RFC 5426) carrying one message per datagram.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use cordon_config::{Siem, SiemTransport};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::timeout;
use tokio_rustls::TlsConnector;

use crate::Error;

/// How long a connection (TCP and TLS handshake) may take before it counts as failed.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long one event's write may take: a collector that stops reading is treated as gone
/// (the event stays queued) rather than holding the exporter forever.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Where and how to connect, prepared once from `[siem]` (files read at start).
#[derive(Clone)]
pub struct Target {
    host: String,
    port: u16,
    transport: SiemTransport,
    tls: Option<(TlsConnector, ServerName<'static>)>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} {}:{}", self.transport, self.host, self.port)
    }
}

fn pem<T>(what: &'static str, path: &std::path::Path) -> impl FnOnce(T) -> Error
where
    T: std::fmt::Display,
{
    let path = path.to_path_buf();
    move |e| Error::Tls {
        what,
        path,
        reason: e.to_string(),
    }
}

impl Target {
    /// Reads the CA and client certificate now, so a bad file is an error at start.
    pub fn new(config: &Siem) -> Result<Target, Error> {
        let (host, port) =
            cordon_config::siem::split_target(&config.target).ok_or_else(|| Error::Target {
                target: config.target.clone(),
            })?;
        let tls = match (config.transport, &config.ca_file) {
            (SiemTransport::Tls, Some(ca)) => {
                let mut roots = RootCertStore::empty();
                for cert in CertificateDer::pem_file_iter(&ca.path)
                    .map_err(pem("cannot read the CA file", &ca.path))?
                {
                    let cert = cert.map_err(pem("bad certificate in the CA file", &ca.path))?;
                    roots
                        .add(cert)
                        .map_err(pem("unusable CA certificate in", &ca.path))?;
                }
                let builder = ClientConfig::builder_with_provider(Arc::new(
                    rustls::crypto::ring::default_provider(),
                ))
                .with_safe_default_protocol_versions()
                .map_err(pem("no TLS version available for", &ca.path))?
                .with_root_certificates(roots);
                let client = match (&config.client_certificate, &config.client_key) {
                    (Some(cert), Some(key)) => {
                        let chain = CertificateDer::pem_file_iter(&cert.path)
                            .map_err(pem("cannot read the client certificate", &cert.path))?
                            .collect::<Result<Vec<_>, _>>()
                            .map_err(pem("bad client certificate", &cert.path))?;
                        let key = PrivateKeyDer::from_pem_file(&key.path)
                            .map_err(pem("cannot read the client key", &key.path))?;
                        builder
                            .with_client_auth_cert(chain, key)
                            .map_err(pem("client certificate and key refused", &cert.path))?
                    }
                    _ => builder.with_no_client_auth(),
                };
                let name = config.server_name.as_deref().unwrap_or(host).to_string();
                let name =
                    ServerName::try_from(name.clone()).map_err(|_| Error::ServerName { name })?;
                Some((TlsConnector::from(Arc::new(client)), name))
            }
            _ => None,
        };
        Ok(Target {
            host: host.to_string(),
            port,
            transport: config.transport,
            tls,
        })
    }

    /// Datagrams carry one message each; streams carry octet-counted frames.
    pub fn octet_counting(&self) -> bool {
        self.transport != SiemTransport::Udp
    }

    /// Opens a connection, within [`CONNECT_TIMEOUT`].
    pub async fn connect(&self) -> io::Result<Connection> {
        timeout(CONNECT_TIMEOUT, self.connect_inner())
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))?
    }

    async fn connect_inner(&self) -> io::Result<Connection> {
        let addr = (self.host.as_str(), self.port);
        if self.transport == SiemTransport::Udp {
            let to: SocketAddr = tokio::net::lookup_host(addr)
                .await?
                .next()
                .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address"))?;
            let local: SocketAddr = if to.is_ipv4() {
                ([0, 0, 0, 0], 0).into()
            } else {
                ([0u16; 8], 0).into()
            };
            let socket = UdpSocket::bind(local).await?;
            socket.connect(to).await?;
            return Ok(Connection::Udp(socket));
        }
        let tcp = TcpStream::connect(addr).await?;
        let _ = tcp.set_nodelay(true);
        let stream: Box<dyn Stream> = match &self.tls {
            Some((connector, name)) => Box::new(connector.connect(name.clone(), tcp).await?),
            None => Box::new(tcp),
        };
        let (reader, writer) = tokio::io::split(stream);
        Ok(Connection::Stream { reader, writer })
    }
}

/// A byte stream to the collector: TCP or TLS over TCP.
pub trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}

/// An open connection.
pub enum Connection {
    Stream {
        reader: ReadHalf<Box<dyn Stream>>,
        writer: WriteHalf<Box<dyn Stream>>,
    },
    Udp(UdpSocket),
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Connection::Stream { .. } => f.write_str("Connection::Stream"),
            Connection::Udp(s) => write!(f, "Connection::Udp({:?})", s.peer_addr()),
        }
    }
}

impl Connection {
    /// Writes one frame whole, within [`WRITE_TIMEOUT`].
    pub async fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        let write = async {
            match self {
                Connection::Stream { writer, .. } => {
                    writer.write_all(frame).await?;
                    writer.flush().await
                }
                Connection::Udp(socket) => socket.send(frame).await.map(|_| ()),
            }
        };
        timeout(WRITE_TIMEOUT, write)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "write timed out"))?
    }

    /// Resolves when the collector closes the stream (or it breaks); a syslog collector sends
    /// nothing, so whatever it does send is read and dropped. Never resolves for UDP.
    pub async fn closed(&mut self) -> io::Error {
        match self {
            Connection::Stream { reader, .. } => {
                let mut buf = [0u8; 512];
                loop {
                    match reader.read(&mut buf).await {
                        Ok(0) => {
                            return io::Error::new(
                                io::ErrorKind::UnexpectedEof,
                                "the collector closed the connection",
                            )
                        }
                        Ok(_) => continue,
                        Err(e) => return e,
                    }
                }
            }
            Connection::Udp(_) => std::future::pending().await,
        }
    }
}
