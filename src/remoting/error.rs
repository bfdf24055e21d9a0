//! `RemotingError`: the error type of the transport layer.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use crate::protocol::{DecodeError, EncodeError};

/// Why a remoting call or operation failed; mirrors Java's `RemotingException` family.
///
/// Every variant names the peer address where there is one, so a log line says where it
/// failed; operating-system errors are kept as the [`source`](std::error::Error::source).
/// (They sit behind an `Arc` so that the error stays `Clone`: one failure may be reported to
/// several waiting calls.)
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum RemotingError {
    /// Could not connect (`RemotingConnectException`).
    Connect {
        /// The address dialled.
        addr: String,
        /// What the operating system said.
        source: Arc<io::Error>,
    },
    /// No name server address is configured, or none of them accepted a connection.
    NoNameServer {
        /// Each address tried with why it failed; empty when none is configured.
        tried: Vec<(String, RemotingError)>,
    },
    /// The request could not be written (`RemotingSendRequestException`).
    SendRequest {
        /// The peer address.
        addr: String,
        /// The write error.
        source: Arc<io::Error>,
    },
    /// No response within the timeout (`RemotingTimeoutException`).
    Timeout {
        /// The peer address.
        addr: String,
        /// The timeout that passed.
        timeout: Duration,
    },
    /// The connection closed while the call was pending; it fails at once, not at its timeout.
    ConnectionClosed {
        /// The peer address.
        addr: String,
        /// Why it closed.
        reason: String,
    },
    /// No async or oneway permit became free in time (`RemotingTooMuchRequestException`).
    TooManyRequests {
        /// Which permits: "async" or "oneway".
        kind: &'static str,
        /// How long we waited.
        waited: Duration,
    },
    /// The command could not be encoded.
    Encode(EncodeError),
    /// The peer sent bytes that do not decode.
    Decode(DecodeError),
    /// An address that is not `host:port`, or does not resolve.
    InvalidAddress {
        /// The address as given.
        addr: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A socket operation other than connect and write failed (bind, accept, thread start).
    Io {
        /// What we were doing.
        context: String,
        /// The error.
        source: Arc<io::Error>,
    },
    /// An [`RpcHook`](super::RpcHook) refused or panicked before the request left; it was
    /// not sent.
    Hook {
        /// The refusal or the panic.
        message: String,
    },
    /// The TLS handshake with a peer failed; [`TlsFailure`] says how, the source what rustls
    /// or the socket said.
    Tls {
        /// The peer address.
        addr: String,
        /// How it failed.
        kind: TlsFailure,
        /// The error (a `rustls::Error` inside, when rustls refused).
        source: Arc<io::Error>,
    },
    /// A TLS certificate, key or trust file could not be used.
    TlsConfig {
        /// The file (or, in angle brackets, the setting) at fault.
        path: std::path::PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The component has been shut down.
    Shutdown,
}

/// How a TLS handshake failed (see [`RemotingError::Tls`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsFailure {
    /// The peer's certificate was refused: not signed by a trusted authority, expired, or not
    /// for the name dialled.
    Certificate,
    /// The peer sent a TLS alert: it refused us (our certificate, or no common protocol).
    RefusedByPeer,
    /// The peer does not speak TLS: it answered bytes that are not TLS, or closed the
    /// connection without answering (as a plain RocketMQ server does).
    NotTls,
    /// The handshake did not complete within the connect timeout.
    TimedOut,
    /// Any other handshake failure.
    Handshake,
}

impl fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TlsFailure::Certificate => "the peer's certificate is not trusted",
            TlsFailure::RefusedByPeer => "the peer refused the handshake",
            TlsFailure::NotTls => "the peer does not speak TLS",
            TlsFailure::TimedOut => "the handshake timed out",
            TlsFailure::Handshake => "the handshake failed",
        })
    }
}

impl RemotingError {
    /// An [`RemotingError::Io`] from an `io::Error`, with what we were doing.
    pub(crate) fn io(context: impl Into<String>, err: io::Error) -> Self {
        RemotingError::Io {
            context: context.into(),
            source: Arc::new(err),
        }
    }

    /// A [`RemotingError::Connect`] to `addr`.
    pub(crate) fn connect(addr: &str, err: io::Error) -> Self {
        RemotingError::Connect {
            addr: addr.to_string(),
            source: Arc::new(err),
        }
    }

    /// True for timeouts.
    pub fn is_timeout(&self) -> bool {
        matches!(self, RemotingError::Timeout { .. })
    }

    /// The operating-system error behind this one, if any.
    pub fn io_error(&self) -> Option<&io::Error> {
        match self {
            RemotingError::Connect { source, .. }
            | RemotingError::SendRequest { source, .. }
            | RemotingError::Tls { source, .. }
            | RemotingError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl fmt::Display for RemotingError {
    /// What failed, without its cause (that is [`source`](std::error::Error::source)); `{:#}`
    /// appends the causes: `connect to 10.0.0.1:10911 failed: Connection refused`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RemotingError::Connect { addr, .. } => write!(f, "connect to {addr} failed")?,
            RemotingError::NoNameServer { tried } if tried.is_empty() => {
                f.write_str("no name server address configured")?
            }
            RemotingError::NoNameServer { tried } => write_name_servers_tried(f, tried)?,
            RemotingError::SendRequest { addr, .. } => write!(f, "send request to {addr} failed")?,
            RemotingError::Timeout { addr, timeout } => write!(
                f,
                "no response from {addr} within {} ms",
                timeout.as_millis()
            )?,
            RemotingError::ConnectionClosed { addr, reason } => {
                write!(f, "connection to {addr} closed: {reason}")?
            }
            RemotingError::TooManyRequests { kind, waited } => write!(
                f,
                "too many {kind} requests in flight: no permit came free within {} ms",
                waited.as_millis()
            )?,
            RemotingError::Encode(_) => f.write_str("the command could not be encoded")?,
            RemotingError::Decode(_) => f.write_str("the peer's bytes do not decode")?,
            RemotingError::InvalidAddress { addr, reason } => {
                write!(f, "invalid address {addr:?}: {reason}")?
            }
            RemotingError::Io { context, .. } => write!(f, "{context} failed")?,
            RemotingError::Hook { message } => write!(
                f,
                "an RPC hook stopped the request, it was not sent: {message}"
            )?,
            RemotingError::Tls { addr, kind, source } => {
                write!(f, "TLS handshake with {addr} failed: {kind}")?;
                #[cfg(feature = "tls")]
                if let Some(fix) = certificate_fix(source) {
                    write!(f, " ({fix})")?;
                }
                #[cfg(not(feature = "tls"))]
                let _ = source;
            }
            RemotingError::TlsConfig { path, reason } => {
                write!(f, "TLS configuration {}: {reason}", path.display())?
            }
            RemotingError::Shutdown => f.write_str("the remoting component has been shut down")?,
        }
        crate::common::write_sources(f, std::error::Error::source(self))
    }
}

#[cfg(feature = "tls")]
/// What to do about a certificate a handshake refused, when rustls's reason has a known fix
/// (the error's `source()` keeps rustls's error itself).
fn certificate_fix(source: &io::Error) -> Option<&'static str> {
    match source.get_ref()?.downcast_ref::<rustls::Error>()? {
        // rustls passes webpki's `CaUsedAsEndEntity` on as `Other`, known only by its text
        // (a test holds it to the real handshake's error).
        rustls::Error::InvalidCertificate(rustls::CertificateError::Other(other))
            if other.to_string() == "CaUsedAsEndEntity" =>
        {
            Some(
            "the peer presented a CA's certificate as its own, as a self-signed certificate made \
             by `openssl req -x509` is by default; give the peer a leaf certificate \
             (basicConstraints CA:FALSE) signed by that CA, and trust the CA",
            )
        }
        _ => None,
    }
}

/// "no name server reachable: tried a (reason), b (reason)": a list, not a chain, so each
/// address keeps its own reason in the message.
pub(crate) fn write_name_servers_tried(
    f: &mut fmt::Formatter<'_>,
    tried: &[(String, RemotingError)],
) -> fmt::Result {
    f.write_str("no name server reachable: tried ")?;
    for (i, (addr, error)) in tried.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        match error.io_error() {
            Some(io) => write!(f, "{addr} ({io})")?,
            None => write!(f, "{addr} ({error})")?,
        }
    }
    Ok(())
}

impl std::error::Error for RemotingError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RemotingError::Connect { source, .. }
            | RemotingError::SendRequest { source, .. }
            | RemotingError::Tls { source, .. }
            | RemotingError::Io { source, .. } => Some(source.as_ref()),
            RemotingError::Encode(e) => Some(e),
            RemotingError::Decode(e) => Some(e),
            _ => None,
        }
    }
}

impl From<EncodeError> for RemotingError {
    fn from(e: EncodeError) -> Self {
        RemotingError::Encode(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error;

    #[test]
    fn no_name_server_names_every_address_and_keeps_the_io_error() {
        let refused = || io::Error::from(io::ErrorKind::ConnectionRefused);
        let e = RemotingError::NoNameServer {
            tried: vec![
                (
                    "10.0.0.1:9876".into(),
                    RemotingError::connect("10.0.0.1:9876", refused()),
                ),
                (
                    "10.0.0.2:9876".into(),
                    RemotingError::connect("10.0.0.2:9876", refused()),
                ),
            ],
        };
        assert_eq!(
            e.to_string(),
            "no name server reachable: tried 10.0.0.1:9876 (connection refused), \
             10.0.0.2:9876 (connection refused)"
        );
        // The list names each reason; each tried error keeps its io::Error as its source.
        let (_, first) = match &e {
            RemotingError::NoNameServer { tried } => &tried[0],
            _ => unreachable!(),
        };
        let io = first.source().unwrap().downcast_ref::<io::Error>().unwrap();
        assert_eq!(io.kind(), io::ErrorKind::ConnectionRefused);
        assert_eq!(first.to_string(), "connect to 10.0.0.1:9876 failed");
        assert_eq!(
            format!("{first:#}"),
            "connect to 10.0.0.1:9876 failed: connection refused"
        );
        assert_eq!(
            RemotingError::NoNameServer { tried: vec![] }.to_string(),
            "no name server address configured"
        );
    }
}
