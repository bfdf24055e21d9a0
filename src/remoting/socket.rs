//! Facts about sockets that the stream, TLS and writer code share.

use std::io;

/// The first byte of a TLS handshake record; a frame starting with it would announce over
/// 352 MiB.
pub(crate) const TLS_HANDSHAKE_BYTE: u8 = 0x16;

/// A socket timeout: `WouldBlock` on Unix, `TimedOut` on Windows.
pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
