//! The error type of the transport layer.

use std::fmt;
use std::io;
use std::time::Duration;

use crate::protocol::{DecodeError, EncodeError};

/// Why a remoting call or operation failed; mirrors Java's `RemotingException` family.
///
/// Every variant names the peer address where there is one, so a log line says where it failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemotingError {
    /// Could not connect (`RemotingConnectException`).
    Connect {
        /// The address dialled.
        addr: String,
        /// What the OS said.
        reason: String,
    },
    /// No name server address is configured, or none of them accepted a connection.
    NoNameServer {
        /// Each address tried with the reason it failed; empty when none is configured.
        tried: Vec<(String, String)>,
    },
    /// The request could not be written (`RemotingSendRequestException`).
    SendRequest {
        /// The peer address.
        addr: String,
        /// What went wrong.
        reason: String,
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
    /// An address that does not parse or resolve.
    InvalidAddress(String),
    /// A socket operation other than connect failed (bind, accept).
    Io {
        /// What we were doing.
        context: String,
        /// The kind of I/O error.
        kind: io::ErrorKind,
        /// Its message.
        message: String,
    },
    /// The component has been shut down.
    Shutdown,
}

impl RemotingError {
    /// An [`RemotingError::Io`] from an `io::Error`, with what we were doing.
    pub fn io(context: impl Into<String>, err: &io::Error) -> Self {
        RemotingError::Io {
            context: context.into(),
            kind: err.kind(),
            message: err.to_string(),
        }
    }

    /// True for timeouts.
    pub fn is_timeout(&self) -> bool {
        matches!(self, RemotingError::Timeout { .. })
    }
}

impl fmt::Display for RemotingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RemotingError::Connect { addr, reason } => {
                write!(f, "connect to {addr} failed: {reason}")
            }
            RemotingError::NoNameServer { tried } if tried.is_empty() => {
                f.write_str("no name server address configured")
            }
            RemotingError::NoNameServer { tried } => {
                f.write_str("no name server reachable: tried ")?;
                for (i, (addr, reason)) in tried.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{addr} ({reason})")?;
                }
                Ok(())
            }
            RemotingError::SendRequest { addr, reason } => {
                write!(f, "send request to {addr} failed: {reason}")
            }
            RemotingError::Timeout { addr, timeout } => {
                write!(
                    f,
                    "wait response from {addr} timed out after {} ms",
                    timeout.as_millis()
                )
            }
            RemotingError::ConnectionClosed { addr, reason } => {
                write!(f, "connection to {addr} closed: {reason}")
            }
            RemotingError::TooManyRequests { kind, waited } => write!(
                f,
                "invoke too fast: no {kind} permit free within {} ms",
                waited.as_millis()
            ),
            RemotingError::Encode(e) => write!(f, "encode failed: {e}"),
            RemotingError::Decode(e) => write!(f, "decode failed: {e}"),
            RemotingError::InvalidAddress(a) => write!(f, "invalid address {a:?}"),
            RemotingError::Io {
                context, message, ..
            } => write!(f, "{context}: {message}"),
            RemotingError::Shutdown => f.write_str("the remoting component has been shut down"),
        }
    }
}

impl std::error::Error for RemotingError {}

impl From<EncodeError> for RemotingError {
    fn from(e: EncodeError) -> Self {
        RemotingError::Encode(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_name_server_names_every_address() {
        let e = RemotingError::NoNameServer {
            tried: vec![
                ("10.0.0.1:9876".into(), "connection refused".into()),
                ("10.0.0.2:9876".into(), "timed out".into()),
            ],
        };
        assert_eq!(
            e.to_string(),
            "no name server reachable: tried 10.0.0.1:9876 (connection refused), 10.0.0.2:9876 (timed out)"
        );
        assert_eq!(
            RemotingError::NoNameServer { tried: vec![] }.to_string(),
            "no name server address configured"
        );
    }
}
