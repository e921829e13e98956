//! The client side of the config port, over any transport: what `cordonctl` and the tests
//! use. A [`Client`] does the handshake on connect, numbers its requests, skips late replies
//! to abandoned requests (a serial line can deliver them), and turns a server's
//! `Response::Error` into [`Error::Server`] so callers handle refusals in one place.

use std::path::PathBuf;
use std::time::Duration;

use cordon_wire::{
    encode_frame, BlobKind, DecodeEvent, FrameDecoder, HelloReply, Request, RequestFrame, Response,
    ResponseFrame, UploadRequests, WireError, MAX_ENCODED_FRAME_LEN, MAX_FRAME_LEN,
    PROTOCOL_VERSION, UNATTRIBUTED_ID,
};
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::limits::READ_LEN;
use crate::serial::SerialPort;
use crate::Error;

/// How long a client waits for one reply: an apply fsyncs twice and a scan of a 50 MiB
/// message takes seconds on a small board; anything beyond this is a hung server.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// How long a client whose request could not be written looks for the server's reason.
const REFUSAL_GRACE: Duration = Duration::from_secs(2);

/// Where the server is.
#[derive(Debug, Clone)]
pub enum Transport {
    Unix(PathBuf),
    Serial(PathBuf),
    /// `addr` is `HOST:PORT`; the server's certificate must name HOST and chain to `ca`.
    Tcp {
        addr: String,
        ca: PathBuf,
        cert: Option<PathBuf>,
        key: Option<PathBuf>,
    },
}

/// Any byte stream a client can run over.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A connected, handshaken config-port client.
pub struct Client {
    stream: Box<dyn Stream>,
    decoder: Box<FrameDecoder<MAX_FRAME_LEN>>,
    /// Bytes read but not yet fed to the decoder (it stops after each event).
    pending: Vec<u8>,
    next_id: u32,
    /// The server's handshake reply.
    pub hello: HelloReply,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("hello", &self.hello)
            .field("next_id", &self.next_id)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Connects over `transport` and does the handshake as `client_name`.
    pub async fn connect(transport: &Transport, client_name: &str) -> Result<Self, Error> {
        let stream: Box<dyn Stream> = match transport {
            Transport::Unix(path) => Box::new(
                tokio::net::UnixStream::connect(path)
                    .await
                    .map_err(Error::io("connect to", path))?,
            ),
            Transport::Serial(path) => Box::new(SerialPort::open(path)?),
            Transport::Tcp {
                addr,
                ca,
                cert,
                key,
            } => {
                let host = addr
                    .rsplit_once(':')
                    .map(|(h, _)| h.trim_start_matches('[').trim_end_matches(']'))
                    .unwrap_or(addr);
                let name =
                    ServerName::try_from(host.to_owned()).map_err(|source| Error::ServerName {
                        host: host.to_owned(),
                        source,
                    })?;
                let pair = match (cert, key) {
                    (Some(c), Some(k)) => Some((c.as_path(), k.as_path())),
                    _ => None,
                };
                let config = crate::tcp::client_tls_config(ca, pair)?;
                let tcp = tokio::net::TcpStream::connect(addr.as_str())
                    .await
                    .map_err(Error::io("connect to", addr.as_str()))?;
                let tls = tokio_rustls::TlsConnector::from(config)
                    .connect(name, tcp)
                    .await
                    .map_err(|source| Error::Handshake {
                        addr: addr.clone(),
                        source,
                    })?;
                Box::new(tls)
            }
        };
        Self::over(stream, client_name).await
    }

    /// Does the handshake over an already-connected stream.
    pub async fn over(stream: Box<dyn Stream>, client_name: &str) -> Result<Self, Error> {
        let mut client = Self {
            stream,
            decoder: Box::default(),
            pending: Vec::new(),
            next_id: 1,
            hello: HelloReply {
                protocol: 0,
                software: Default::default(),
                board: Default::default(),
                max_frame: 0,
            },
        };
        let hello = Request::Hello {
            protocol: PROTOCOL_VERSION,
            client: crate::bounded(client_name),
        };
        match client.call(hello).await? {
            Response::Hello(reply) => client.hello = reply,
            other => return Err(unexpected(&other)),
        }
        Ok(client)
    }

    /// Sends `request` and waits for its reply; a server error is [`Error::Server`].
    pub async fn call(&mut self, request: Request) -> Result<Response, Error> {
        let id = match self.send(request).await {
            Ok(id) => id,
            Err(send_error) => {
                // A server that refuses the connection writes its reason, then closes; our
                // write may fail first (EPIPE), but the reason is still there to read.
                return match tokio::time::timeout(REFUSAL_GRACE, self.recv()).await {
                    Ok(Ok(ResponseFrame {
                        response: Response::Error(e),
                        ..
                    })) => Err(Error::Server(e)),
                    _ => Err(send_error),
                };
            }
        };
        let wait = async {
            loop {
                let frame = self.recv().await?;
                // An error with no id is about a frame the server could not read (ours,
                // garbled on the way) or a refusal of the whole connection: either way the
                // answer to what we are waiting for.
                let unattributed_error =
                    frame.id == UNATTRIBUTED_ID && matches!(frame.response, Response::Error(_));
                if frame.id == id || unattributed_error {
                    return Ok(frame.response);
                }
            }
        };
        let response = tokio::time::timeout(REQUEST_TIMEOUT, wait)
            .await
            .map_err(|_| Error::Timeout {
                secs: REQUEST_TIMEOUT.as_secs(),
            })??;
        match response {
            Response::Error(e) => Err(Error::Server(e)),
            other => Ok(other),
        }
    }

    /// Sends one request and returns its id, without waiting (for follow).
    pub async fn send(&mut self, request: Request) -> Result<u32, Error> {
        let id = self.next_id;
        // Id 0 is the server's "unattributed" id; skip it when wrapping.
        self.next_id = self.next_id.checked_add(1).unwrap_or(1);
        let mut out = vec![0u8; 1 + MAX_ENCODED_FRAME_LEN];
        let len = encode_frame(&RequestFrame { id, request }, &mut out[1..])
            .map_err(Error::Wire)?
            .len();
        // The leading 0x00 closes any fragment a killed client left in the server's decoder.
        self.stream
            .write_all(&out[..=len])
            .await
            .map_err(Error::Transport)?;
        self.stream.flush().await.map_err(Error::Transport)?;
        Ok(id)
    }

    /// The next frame from the server, whatever its id. A framing error on the way in is
    /// [`Error::Wire`].
    pub async fn recv(&mut self) -> Result<ResponseFrame, Error> {
        loop {
            let mut input: &[u8] = &self.pending;
            let event = self.decoder.feed::<ResponseFrame>(&mut input);
            let consumed = self.pending.len() - input.len();
            self.pending.drain(..consumed);
            match event {
                Some(DecodeEvent::Frame(frame)) => return Ok(frame),
                Some(DecodeEvent::Error(e)) => return Err(Error::Wire(e)),
                None => {}
            }
            let mut buf = [0u8; READ_LEN];
            let n = self.stream.read(&mut buf).await.map_err(Error::Transport)?;
            if n == 0 {
                return Err(Error::Transport(std::io::ErrorKind::UnexpectedEof.into()));
            }
            self.pending.extend_from_slice(&buf[..n]);
        }
    }

    /// Stages `blob` as `kind` on the server.
    pub async fn upload(&mut self, kind: BlobKind, blob: &[u8]) -> Result<(), Error> {
        let requests =
            UploadRequests::new(kind, blob).map_err(|e| Error::Server(WireError::App(e)))?;
        for request in requests {
            match self.call(request).await? {
                Response::UploadReady { .. } | Response::UploadProgress { .. } => {}
                other => return Err(unexpected(&other)),
            }
        }
        Ok(())
    }

    /// The running config, read chunk by chunk; starts over if it changed meanwhile.
    /// The detector list, as `cordon detectors` on the appliance prints it (`json`: its JSON).
    pub async fn get_detectors(&mut self, json: bool) -> Result<String, Error> {
        let mut text = Vec::new();
        loop {
            let offset = u32::try_from(text.len()).unwrap_or(u32::MAX);
            match self.call(Request::Detectors { json, offset }).await? {
                Response::DetectorsChunk {
                    total_len, data, ..
                } => {
                    text.extend_from_slice(&data);
                    if text.len() >= total_len as usize || data.is_empty() {
                        return String::from_utf8(text).map_err(|_| {
                            Error::Unexpected("the detector list is not UTF-8".into())
                        });
                    }
                }
                other => return Err(unexpected(&other)),
            }
        }
    }

    /// `ScanText` for the staged message, read whole.
    pub async fn scan_text(
        &mut self,
        json: bool,
        from: Option<cordon_wire::Address>,
        to: heapless::Vec<cordon_wire::Address, { cordon_wire::limits::MAX_SCAN_RCPTS }>,
    ) -> Result<String, Error> {
        let mut text = Vec::new();
        loop {
            let offset = u32::try_from(text.len()).unwrap_or(u32::MAX);
            let request = Request::ScanText {
                json,
                from: from.clone(),
                to: to.clone(),
                offset,
            };
            match self.call(request).await? {
                Response::ScanText {
                    total_len, data, ..
                } => {
                    text.extend_from_slice(&data);
                    if text.len() >= total_len as usize || data.is_empty() {
                        return String::from_utf8(text)
                            .map_err(|_| Error::Unexpected("the scan report is not UTF-8".into()));
                    }
                }
                other => return Err(unexpected(&other)),
            }
        }
    }

    pub async fn get_config(&mut self) -> Result<(u64, String), Error> {
        'again: loop {
            let mut text = Vec::new();
            let mut first_generation = None;
            loop {
                let offset = u32::try_from(text.len()).unwrap_or(u32::MAX);
                match self.call(Request::GetConfig { offset }).await? {
                    Response::ConfigChunk {
                        generation,
                        total_len,
                        data,
                        ..
                    } => {
                        if *first_generation.get_or_insert(generation) != generation {
                            continue 'again;
                        }
                        text.extend_from_slice(&data);
                        if text.len() >= total_len as usize || data.is_empty() {
                            let text = String::from_utf8(text).map_err(|_| {
                                Error::Unexpected("the running config is not UTF-8".into())
                            })?;
                            return Ok((generation, text));
                        }
                    }
                    other => return Err(unexpected(&other)),
                }
            }
        }
    }
}

fn unexpected(response: &Response) -> Error {
    let text = format!("{response:?}");
    Error::Unexpected(text.chars().take(200).collect())
}
