//! `Stream`: what a connection carries its bytes over, a plain socket or TLS over one; the
//! reader thread reads it, any writer writes it, as [`FrameWriter`](super::frame_writer) allows.

use std::io::{self, IoSlice, Read, Write};
use std::net::TcpStream;

#[cfg(feature = "tls")]
use super::tls::{Accepted, TlsReader, TlsStream};

/// A connection's byte stream. The plain case costs one `match` per call.
pub(crate) enum Stream {
    /// RocketMQ frames straight on the socket.
    Plain(TcpStream),
    /// Frames inside a TLS session over the socket.
    #[cfg(feature = "tls")]
    Tls(Box<TlsStream>),
}

#[cfg(feature = "tls")]
impl From<TlsStream> for Stream {
    fn from(tls: TlsStream) -> Self {
        Stream::Tls(Box::new(tls))
    }
}

#[cfg(feature = "tls")]
impl From<Accepted> for Stream {
    fn from(accepted: Accepted) -> Self {
        match accepted {
            Accepted::Plain(tcp) => Stream::Plain(tcp),
            Accepted::Tls(tls) => Stream::Tls(tls),
        }
    }
}

impl Stream {
    /// The socket underneath (timeouts, peek, shutdown).
    pub(crate) fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(tcp) => tcp,
            #[cfg(feature = "tls")]
            Stream::Tls(tls) => tls.tcp(),
        }
    }

    /// Writes some of `a` then `b` (at least one byte, or an error: a timeout when the socket
    /// takes nothing within its write timeout). With TLS, the bytes taken may still wait as
    /// ciphertext: see [`Stream::has_pending_output`].
    pub(crate) fn write_some(&self, a: &[u8], b: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(tcp) => {
                let mut tcp: &TcpStream = tcp;
                if a.is_empty() {
                    tcp.write(b)
                } else if b.is_empty() {
                    tcp.write(a)
                } else {
                    tcp.write_vectored(&[IoSlice::new(a), IoSlice::new(b)])
                }
            }
            #[cfg(feature = "tls")]
            Stream::Tls(tls) => tls.write_some(a, b),
        }
    }

    /// True while bytes already taken by [`Stream::write_some`] (or made by the session
    /// itself) wait for the socket; the connection's writer must still send them.
    #[inline]
    pub(crate) fn has_pending_output(&self) -> bool {
        match self {
            Stream::Plain(_) => false,
            #[cfg(feature = "tls")]
            Stream::Tls(tls) => tls.has_pending_output(),
        }
    }

    /// Sends pending output until the socket stops taking it within its write timeout (then
    /// a timeout error).
    pub(crate) fn send_pending(&self) -> io::Result<()> {
        match self {
            Stream::Plain(_) => Ok(()),
            #[cfg(feature = "tls")]
            Stream::Tls(tls) => tls.send_pending(),
        }
    }

    /// True for TLS.
    pub(crate) fn is_tls(&self) -> bool {
        match self {
            Stream::Plain(_) => false,
            #[cfg(feature = "tls")]
            Stream::Tls(_) => true,
        }
    }

    /// The reading side, for the connection's one reader thread.
    pub(crate) fn reader(&self) -> StreamReader<'_> {
        match self {
            Stream::Plain(tcp) => StreamReader::Plain(tcp),
            #[cfg(feature = "tls")]
            Stream::Tls(tls) => StreamReader::Tls(tls.reader()),
        }
    }
}

/// Reads a [`Stream`]'s bytes (plaintext, with TLS).
pub(crate) enum StreamReader<'a> {
    Plain(&'a TcpStream),
    #[cfg(feature = "tls")]
    Tls(TlsReader<'a>),
}

impl Read for StreamReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            StreamReader::Plain(tcp) => tcp.read(buf),
            #[cfg(feature = "tls")]
            StreamReader::Tls(tls) => tls.read(buf),
        }
    }
}
