//! TLS over a connection's socket, with rustls (never hand-written): settings, loading of
//! certificates and keys, the blocking handshake, and [`TlsStream`], which lets one reader
//! thread and any writing thread share one TLS session as they share a plain socket.
//!
//! Reading: the reader thread reads raw bytes from the socket without holding the session,
//! then hands them to rustls and takes the plaintext out. Writing: plaintext is encrypted
//! under the session lock into an ordered buffer of ciphertext, which only the connection's
//! current writer (the one [`FrameWriter`](super::frame_writer) lets write) sends; so records
//! leave in the order they were made, whoever made them (the reader makes alerts and
//! key-update answers).

use std::io::{self, IoSlice, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use super::error::{RemotingError, TlsFailure};
use super::socket::{is_timeout, TLS_HANDSHAKE_BYTE};
use crate::common::sync::MutexExt;

/// Raw bytes the reader takes from the socket per read: one full TLS record and its header.
const RAW_READ_BUFFER: usize = 16 * 1024 + 256;

/// Plaintext handed to rustls per call: bounds the ciphertext waiting for the socket.
pub(crate) const PLAINTEXT_CHUNK: usize = 64 * 1024;

/// Whether a server speaks TLS; Java's `tlsMode` (`TlsMode` in `TlsSystemConfig`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsMode {
    /// Plain connections only; a TLS handshake is a bad frame and closes the connection.
    #[default]
    Disabled,
    /// Both: a connection whose first byte starts a TLS handshake (0x16) speaks TLS, any
    /// other is plain.
    Permissive,
    /// TLS only: a plain connection is closed.
    Enforcing,
}

impl FromStr for TlsMode {
    type Err = String;

    /// `disabled`, `permissive` or `enforcing`, in any case (as Java's `tls.server.mode`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "disabled" => Ok(TlsMode::Disabled),
            "permissive" => Ok(TlsMode::Permissive),
            "enforcing" => Ok(TlsMode::Enforcing),
            _ => Err(format!(
                "unknown TLS mode {text:?}; expected disabled, permissive or enforcing"
            )),
        }
    }
}

/// Which certificates a client trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Roots {
    /// Those the operating system trusts.
    Platform,
    /// Those in a PEM file (a private CA).
    CaFile(PathBuf),
}

/// How a client speaks TLS to servers: whom it trusts and, optionally, its own certificate.
///
/// The name checked in a server's certificate is the host part of the address dialled (an IP
/// address is checked against the certificate's IP addresses).
///
/// ```no_run
/// use rocketmq_blocking::remoting::TlsClientConfig;
///
/// let public = TlsClientConfig::platform_roots();
/// let private = TlsClientConfig::with_ca_file("/etc/rocketmq/ca.pem")
///     .with_client_cert("/etc/rocketmq/client.pem", "/etc/rocketmq/client.key");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsClientConfig {
    roots: Roots,
    client_cert: Option<(PathBuf, PathBuf)>,
}

impl TlsClientConfig {
    /// Trusts the certificate authorities the operating system trusts.
    pub fn platform_roots() -> Self {
        TlsClientConfig {
            roots: Roots::Platform,
            client_cert: None,
        }
    }

    /// Trusts only the certificate authorities in the PEM file at `path` (read when the
    /// client starts).
    pub fn with_ca_file(path: impl Into<PathBuf>) -> Self {
        TlsClientConfig {
            roots: Roots::CaFile(path.into()),
            client_cert: None,
        }
    }

    /// Presents the certificate chain in `cert_pem` (leaf first) with the private key in
    /// `key_pem` to servers that ask for one.
    pub fn with_client_cert(
        mut self,
        cert_pem: impl Into<PathBuf>,
        key_pem: impl Into<PathBuf>,
    ) -> Self {
        self.client_cert = Some((cert_pem.into(), key_pem.into()));
        self
    }

    /// The rustls configuration: files read and checked now, so that a mistake shows when the
    /// client starts, naming the file.
    pub(crate) fn build(&self) -> Result<Arc<rustls::ClientConfig>, RemotingError> {
        let mut roots = rustls::RootCertStore::empty();
        match &self.roots {
            Roots::Platform => {
                let found = rustls_native_certs::load_native_certs();
                let (added, _) = roots.add_parsable_certificates(found.certs);
                if added == 0 {
                    let reason = match found.errors.first() {
                        Some(e) => format!("no usable trusted certificate on this system: {e}"),
                        None => "no trusted certificate on this system".to_string(),
                    };
                    return Err(config_error(Path::new("<platform roots>"), reason));
                }
            }
            Roots::CaFile(path) => add_roots(&mut roots, path)?,
        }
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| config_error(Path::new("<protocol versions>"), e.to_string()))?
            .with_root_certificates(roots);
        let config = match &self.client_cert {
            None => builder.with_no_client_auth(),
            Some((cert, key)) => builder
                .with_client_auth_cert(load_chain(cert)?, load_key(key)?)
                .map_err(|e| config_error(key, format!("does not fit {}: {e}", cert.display())))?,
        };
        Ok(Arc::new(config))
    }
}

/// The server side's TLS: mode, rustls configuration and how long a handshake may take.
pub(crate) struct TlsAcceptor {
    pub(crate) mode: TlsMode,
    pub(crate) config: Arc<rustls::ServerConfig>,
    pub(crate) handshake_timeout: Duration,
}

impl TlsAcceptor {
    /// None for [`TlsMode::Disabled`] (the plain path, unchanged); else the certificate chain
    /// and key loaded and checked, and the client CA if client certificates are required.
    pub(crate) fn new(
        mode: TlsMode,
        cert: Option<&Path>,
        key: Option<&Path>,
        client_ca: Option<&Path>,
        handshake_timeout: Duration,
    ) -> Result<Option<Self>, RemotingError> {
        if mode == TlsMode::Disabled {
            return Ok(None);
        }
        let missing = |what: &str| {
            config_error(
                Path::new(what),
                format!("TLS mode {mode:?} needs a certificate chain and a private key"),
            )
        };
        let cert = cert.ok_or_else(|| missing("<tls_cert not set>"))?;
        let key = key.ok_or_else(|| missing("<tls_key not set>"))?;
        let provider = provider();
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| config_error(Path::new("<protocol versions>"), e.to_string()))?;
        let builder = match client_ca {
            None => builder.with_no_client_auth(),
            Some(ca) => {
                let mut roots = rustls::RootCertStore::empty();
                add_roots(&mut roots, ca)?;
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider,
                )
                .build()
                .map_err(|e| config_error(ca, e.to_string()))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let config = builder
            .with_single_cert(load_chain(cert)?, load_key(key)?)
            .map_err(|e| config_error(key, format!("does not fit {}: {e}", cert.display())))?;
        Ok(Some(TlsAcceptor {
            mode,
            config: Arc::new(config),
            handshake_timeout,
        }))
    }

    /// Decides, from the first byte the peer sends, whether the accepted connection speaks
    /// TLS, and completes the handshake if it does, all before `handshake_timeout`. `Err`
    /// says why the connection must close. Runs on the connection's reader thread, so a peer
    /// that never finishes holds only its own thread.
    pub(crate) fn accept(&self, tcp: TcpStream) -> Result<Accepted, String> {
        let deadline = Instant::now() + self.handshake_timeout;
        let first = peek_first_byte(&tcp, self.handshake_timeout)?;
        if first != TLS_HANDSHAKE_BYTE {
            if self.mode == TlsMode::Enforcing {
                return Err(
                    "the peer speaks plain RocketMQ frames and this server enforces TLS".into(),
                );
            }
            tcp.set_read_timeout(None)
                .map_err(|e| format!("socket setup failed: {e}"))?;
            return Ok(Accepted::Plain(tcp));
        }
        let session = rustls::ServerConnection::new(self.config.clone())
            .map_err(|e| format!("TLS session setup failed: {e}"))?;
        let mut session = rustls::Connection::Server(session);
        handshake(&tcp, &mut session, deadline)
            .map_err(|e| format!("TLS handshake failed: {e}"))?;
        tcp.set_read_timeout(None)
            .map_err(|e| format!("socket setup failed: {e}"))?;
        Ok(Accepted::Tls(Box::new(TlsStream::new(tcp, session))))
    }
}

/// What an accepted connection turned out to speak.
pub(crate) enum Accepted {
    /// Plain frames (a permissive server).
    Plain(TcpStream),
    /// TLS, its handshake done.
    Tls(Box<TlsStream>),
}

/// Waits up to `timeout` for the peer's first byte, without consuming it.
fn peek_first_byte(tcp: &TcpStream, timeout: Duration) -> Result<u8, String> {
    tcp.set_read_timeout(Some(timeout.max(Duration::from_millis(1))))
        .map_err(|e| format!("socket setup failed: {e}"))?;
    let mut first = [0u8; 1];
    loop {
        match tcp.peek(&mut first) {
            Ok(0) => return Err("closed by the peer before it sent anything".into()),
            Ok(_) => return Ok(first[0]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) => {
                return Err(format!(
                    "the peer sent nothing within the {} ms handshake timeout",
                    timeout.as_millis()
                ))
            }
            Err(e) => return Err(format!("read failed: {e}")),
        }
    }
}

/// The client side: the TLS handshake with `addr` over a connected socket, by `deadline`.
pub(crate) fn connect(
    tcp: TcpStream,
    addr: &str,
    config: &Arc<rustls::ClientConfig>,
    deadline: Instant,
) -> Result<TlsStream, RemotingError> {
    let name = server_name(addr)?;
    let session = rustls::ClientConnection::new(config.clone(), name)
        .map_err(|e| handshake_error(addr, io::Error::new(io::ErrorKind::InvalidInput, e)))?;
    let mut session = rustls::Connection::Client(session);
    handshake(&tcp, &mut session, deadline).map_err(|e| handshake_error(addr, e))?;
    tcp.set_read_timeout(None)
        .map_err(|e| RemotingError::connect(addr, e))?;
    Ok(TlsStream::new(tcp, session))
}

/// The name to check in the server's certificate: the host part of `host:port` (an IPv6
/// address without its brackets).
fn server_name(addr: &str) -> Result<ServerName<'static>, RemotingError> {
    let invalid = |reason: String| RemotingError::InvalidAddress {
        addr: addr.to_string(),
        reason,
    };
    let (host, _) = addr
        .rsplit_once(':')
        .ok_or_else(|| invalid("expected host:port".into()))?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    ServerName::try_from(host.to_string())
        .map_err(|e| invalid(format!("not a name a TLS certificate can carry: {e}")))
}

/// Runs the handshake over the blocking socket until it is complete and everything it
/// produced is sent (a TLS 1.3 server's session tickets included), or `deadline` passes.
fn handshake(
    tcp: &TcpStream,
    session: &mut rustls::Connection,
    deadline: Instant,
) -> io::Result<()> {
    let mut socket = tcp;
    let remaining = || {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the TLS handshake did not complete in time",
            ))
        } else {
            Ok(left)
        }
    };
    let timed_out = |e: io::Error| {
        if is_timeout(&e) {
            io::Error::new(
                io::ErrorKind::TimedOut,
                "the TLS handshake did not complete in time",
            )
        } else {
            e
        }
    };
    loop {
        while session.wants_write() {
            tcp.set_write_timeout(Some(remaining()?))?;
            match session.write_tls(&mut socket) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(timed_out(e)),
            }
        }
        if !session.is_handshaking() {
            return Ok(());
        }
        tcp.set_read_timeout(Some(remaining()?))?;
        match session.read_tls(&mut socket) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the peer closed the connection during the TLS handshake",
                ))
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(timed_out(e)),
        }
        if let Err(e) = session.process_new_packets() {
            // Tell the peer why (rustls queued an alert), as far as the socket takes it now.
            let _ = tcp.set_write_timeout(Some(Duration::from_millis(100)));
            let _ = session.write_tls(&mut socket);
            return Err(io::Error::new(io::ErrorKind::InvalidData, e));
        }
    }
}

/// A [`RemotingError::Tls`] for a handshake with `addr` that failed with `e`.
fn handshake_error(addr: &str, e: io::Error) -> RemotingError {
    let kind = match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(rustls::Error::InvalidCertificate(_)) => TlsFailure::Certificate,
        Some(rustls::Error::AlertReceived(_)) => TlsFailure::RefusedByPeer,
        Some(rustls::Error::InvalidMessage(_)) => TlsFailure::NotTls,
        Some(_) => TlsFailure::Handshake,
        None if e.kind() == io::ErrorKind::TimedOut || is_timeout(&e) => TlsFailure::TimedOut,
        None if matches!(
            e.kind(),
            io::ErrorKind::UnexpectedEof
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
        ) =>
        {
            TlsFailure::NotTls
        }
        None => TlsFailure::Handshake,
    };
    RemotingError::Tls {
        addr: addr.to_string(),
        kind,
        source: Arc::new(e),
    }
}

/// ring: the one provider this crate enables. Named explicitly, so that another crate in the
/// program enabling a second provider cannot make rustls's process default ambiguous.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn config_error(path: &Path, reason: String) -> RemotingError {
    RemotingError::TlsConfig {
        path: path.to_path_buf(),
        reason,
    }
}

fn load_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, RemotingError> {
    let chain = CertificateDer::pem_file_iter(path)
        .map_err(|e| config_error(path, e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| config_error(path, e.to_string()))?;
    if chain.is_empty() {
        return Err(config_error(path, "no PEM certificate in the file".into()));
    }
    Ok(chain)
}

fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, RemotingError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| config_error(path, e.to_string()))
}

fn add_roots(roots: &mut rustls::RootCertStore, path: &Path) -> Result<(), RemotingError> {
    for cert in load_chain(path)? {
        roots
            .add(cert)
            .map_err(|e| config_error(path, format!("not a usable CA certificate: {e}")))?;
    }
    Ok(())
}

/// One TLS session over one socket, shared by the connection's reader thread and its writers.
pub(crate) struct TlsStream {
    tcp: TcpStream,
    session: Mutex<rustls::Connection>,
    /// Ciphertext made but not yet taken by the socket, in the order it was made.
    out: Mutex<Vec<u8>>,
    /// `out` is not empty (read without its lock on every write).
    pending: AtomicBool,
}

impl TlsStream {
    fn new(tcp: TcpStream, mut session: rustls::Connection) -> Self {
        // Ciphertext is moved out of rustls at once; our own chunking bounds it instead.
        session.set_buffer_limit(None);
        TlsStream {
            tcp,
            session: Mutex::new(session),
            out: Mutex::new(Vec::new()),
            pending: AtomicBool::new(false),
        }
    }

    pub(crate) fn tcp(&self) -> &TcpStream {
        &self.tcp
    }

    /// True while ciphertext waits for the socket.
    pub(crate) fn has_pending_output(&self) -> bool {
        self.pending.load(Ordering::Acquire)
    }

    /// Moves what the session wants to send to the end of `out`. The session lock is held,
    /// so records enter `out` in the order the session made them.
    /// Returns whether there was any.
    fn queue_output(&self, session: &mut rustls::Connection) -> io::Result<bool> {
        if !session.wants_write() {
            return Ok(false);
        }
        let mut out = self.out.lock_unpoisoned();
        while session.wants_write() {
            session.write_tls(&mut *out)?;
        }
        self.pending.store(!out.is_empty(), Ordering::Release);
        Ok(true)
    }

    /// Sends pending ciphertext until the socket stops taking it within its write timeout
    /// (then `Err` with a timeout kind, the rest still pending). Only the connection's current
    /// writer calls it, so bytes reach the socket in order.
    pub(crate) fn send_pending(&self) -> io::Result<()> {
        let mut bytes = std::mem::take(&mut *self.out.lock_unpoisoned());
        if bytes.is_empty() {
            return Ok(());
        }
        let mut sent = 0;
        let result = loop {
            if sent == bytes.len() {
                break Ok(());
            }
            match (&self.tcp).write(&bytes[sent..]) {
                Ok(0) => break Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        let mut out = self.out.lock_unpoisoned();
        if sent < bytes.len() {
            // The rest goes back in front of what the reader may have queued meanwhile.
            bytes.drain(..sent);
            bytes.extend_from_slice(&out);
            *out = bytes;
        } else if out.is_empty() {
            bytes.clear();
            *out = bytes; // keeps the allocation for the next write
        }
        self.pending.store(!out.is_empty(), Ordering::Release);
        result
    }

    /// Encrypts some plaintext from `a` then `b` and sends it as far as the socket takes it
    /// within its write timeout; returns how much plaintext was taken. Ciphertext the socket
    /// did not take stays pending (see [`Self::has_pending_output`]); while any is, no new
    /// plaintext is taken (a timeout error), so pending bytes stay bounded.
    pub(crate) fn write_some(&self, a: &[u8], b: &[u8]) -> io::Result<usize> {
        self.send_pending()?;
        let a = &a[..a.len().min(PLAINTEXT_CHUNK)];
        let b = &b[..b.len().min(PLAINTEXT_CHUNK - a.len())];
        let taken = {
            let mut session = self.session.lock_unpoisoned();
            let taken = session
                .writer()
                .write_vectored(&[IoSlice::new(a), IoSlice::new(b)])?;
            self.queue_output(&mut session)?;
            taken
        };
        match self.send_pending() {
            Err(e) if is_timeout(&e) => Ok(taken), // the writer thread sends the rest
            Err(e) => Err(e),
            Ok(()) => Ok(taken),
        }
    }

    pub(crate) fn reader(&self) -> TlsReader<'_> {
        TlsReader {
            stream: self,
            raw: vec![0u8; RAW_READ_BUFFER],
            start: 0,
            end: 0,
            output_queued: false,
        }
    }
}

/// The reader thread's side of a [`TlsStream`]: raw bytes read from the socket but not yet
/// taken by rustls (which bounds its plaintext buffer, so it may take only part).
pub(crate) struct TlsReader<'a> {
    stream: &'a TlsStream,
    /// The session queued output (an alert, a key-update answer) while reading that the
    /// connection has not yet been told of.
    output_queued: bool,
    raw: Vec<u8>,
    start: usize,
    end: usize,
}

impl Read for TlsReader<'_> {
    /// Plaintext, blocking until some arrives; 0 at the end of the stream. A peer that closes
    /// without a TLS close_notify also reads as the end: frames carry their length, so a
    /// truncated frame is still told apart by the decoder.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            {
                let mut session = self.stream.session.lock_unpoisoned();
                match session.reader().read(buf) {
                    Ok(n) => return Ok(n),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                    Err(e) => return Err(e),
                }
                if self.start < self.end {
                    let mut raw = &self.raw[self.start..self.end];
                    let taken = session.read_tls(&mut raw)?;
                    if taken == 0 {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            "rustls took no bytes of a TLS record",
                        ));
                    }
                    self.start += taken;
                    let processed = session.process_new_packets();
                    // Alerts, key-update answers: queued for the connection's writer.
                    self.output_queued |= self.stream.queue_output(&mut session)?;
                    if let Err(e) = processed {
                        return Err(io::Error::new(io::ErrorKind::InvalidData, e));
                    }
                    continue;
                }
            }
            if std::mem::take(&mut self.output_queued) {
                // Before blocking: hand the caller the chance to wake the writer for that
                // output (it retries an `Interrupted` read), or it would wait for the next
                // frame written. (rustls itself holds a key-update answer for the next
                // record, as RFC 8446 allows; this is for what it does queue, e.g. alerts.)
                return Err(io::Error::new(
                    io::ErrorKind::Interrupted,
                    "TLS output queued for the writer",
                ));
            }
            // Nothing buffered: wait for the socket without holding the session, so writers
            // encrypt meanwhile.
            let n = match (&self.stream.tcp).read(&mut self.raw) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                return Ok(0);
            }
            self.start = 0;
            self.end = n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_as_java_spells_them() {
        assert_eq!("enforcing".parse(), Ok(TlsMode::Enforcing));
        assert_eq!("PERMISSIVE".parse(), Ok(TlsMode::Permissive));
        assert_eq!("disabled".parse(), Ok(TlsMode::Disabled));
        assert!("on".parse::<TlsMode>().is_err());
    }

    #[test]
    fn the_server_name_is_the_host_part() {
        assert_eq!(
            server_name("127.0.0.1:10911").unwrap(),
            ServerName::IpAddress("127.0.0.1".parse::<std::net::IpAddr>().unwrap().into())
        );
        assert_eq!(
            server_name("[::1]:9876").unwrap(),
            ServerName::IpAddress("::1".parse::<std::net::IpAddr>().unwrap().into())
        );
        assert_eq!(
            server_name("broker.example:10911").unwrap(),
            ServerName::try_from("broker.example").unwrap()
        );
        assert!(server_name("no-port").is_err());
    }
}
