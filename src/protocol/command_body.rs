//! `Body`: a command's payload, shared rather than copied between clones.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// The bytes after a command's header (Java's `byte[] body`), or a part of them.
///
/// Cloning a `Body` shares its bytes instead of copying them: a producer that retries a send
/// on another broker, or a hook that keeps a request, costs no copy of a 4 MiB message; a
/// message decoded from a pull response is a [`slice`](Body::slice) of the response's body,
/// so a consumer's listener reads the bytes the connection read. The bytes are immutable
/// once built; [`Body::into_vec`] gets them back without a copy when nothing else shares them.
#[derive(Clone, Default)]
pub struct Body {
    /// The shared bytes; None when empty.
    bytes: Option<Arc<Vec<u8>>>,
    /// The part of `bytes` this body is.
    start: usize,
    end: usize,
}

impl Body {
    /// An empty body.
    pub fn new() -> Self {
        Body::default()
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        self.bytes
            .as_deref()
            .and_then(|bytes| bytes.get(self.start..self.end))
            .unwrap_or(&[])
    }

    /// The bytes as a vector: moved out when this is the only handle to all of them, copied
    /// otherwise.
    pub fn into_vec(self) -> Vec<u8> {
        match self.bytes {
            None => Vec::new(),
            Some(shared) if self.start == 0 && self.end == shared.len() => {
                Arc::try_unwrap(shared).unwrap_or_else(|shared| (*shared).clone())
            }
            Some(shared) => shared
                .get(self.start..self.end)
                .map(<[u8]>::to_vec)
                .unwrap_or_default(),
        }
    }

    /// `range` of these bytes as a body of its own, sharing them; None when `range` is not
    /// within them (lengths read from a peer are checked here, never trusted).
    pub fn slice(&self, range: std::ops::Range<usize>) -> Option<Body> {
        if range.start > range.end || range.end > self.len() {
            return None;
        }
        if range.is_empty() {
            return Some(Body::new());
        }
        Some(Body {
            bytes: self.bytes.clone(),
            start: self.start + range.start,
            end: self.start + range.end,
        })
    }

    /// True when `self` and `other` are handles to the same bytes (not merely equal ones).
    pub fn shares_bytes_with(&self, other: &Body) -> bool {
        match (&self.bytes, &other.bytes) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Deref for Body {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for Body {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl From<Vec<u8>> for Body {
    /// Takes the vector without copying it.
    fn from(bytes: Vec<u8>) -> Self {
        if bytes.is_empty() {
            Body::new()
        } else {
            Body {
                end: bytes.len(),
                bytes: Some(Arc::new(bytes)),
                start: 0,
            }
        }
    }
}

impl From<&[u8]> for Body {
    fn from(bytes: &[u8]) -> Self {
        Body::from(bytes.to_vec())
    }
}

impl<const N: usize> From<&[u8; N]> for Body {
    fn from(bytes: &[u8; N]) -> Self {
        Body::from(bytes.to_vec())
    }
}

impl From<String> for Body {
    fn from(text: String) -> Self {
        Body::from(text.into_bytes())
    }
}

impl From<&str> for Body {
    fn from(text: &str) -> Self {
        Body::from(text.as_bytes())
    }
}

impl PartialEq for Body {
    fn eq(&self, other: &Body) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Body {}

impl PartialOrd for Body {
    fn partial_cmp(&self, other: &Body) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Body {
    /// By the bytes, as `[u8]` orders.
    fn cmp(&self, other: &Body) -> std::cmp::Ordering {
        self.as_slice().cmp(other.as_slice())
    }
}

impl std::hash::Hash for Body {
    /// As the bytes hash, so that equal bodies hash alike.
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}

impl PartialEq<[u8]> for Body {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_slice() == other
    }
}

impl PartialEq<Vec<u8>> for Body {
    fn eq(&self, other: &Vec<u8>) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl PartialEq<&[u8]> for Body {
    fn eq(&self, other: &&[u8]) -> bool {
        self.as_slice() == *other
    }
}

impl<const N: usize> PartialEq<&[u8; N]> for Body {
    fn eq(&self, other: &&[u8; N]) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<const N: usize> PartialEq<[u8; N]> for Body {
    fn eq(&self, other: &[u8; N]) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl PartialEq<Body> for Vec<u8> {
    fn eq(&self, other: &Body) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl PartialEq<Body> for [u8] {
    fn eq(&self, other: &Body) -> bool {
        self == other.as_slice()
    }
}

impl PartialEq<Body> for &[u8] {
    fn eq(&self, other: &Body) -> bool {
        *self == other.as_slice()
    }
}

impl fmt::Debug for Body {
    /// The length and up to 64 bytes, escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 64;
        let bytes = self.as_slice();
        let shown = &bytes[..bytes.len().min(SHOWN)];
        write!(
            f,
            "Body({} bytes: b\"{}\"",
            bytes.len(),
            shown.escape_ascii()
        )?;
        if bytes.len() > SHOWN {
            f.write_str("...")?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slice_shares_its_bytes_and_refuses_to_overrun() {
        let body = Body::from(b"header|message|tail".to_vec());
        let message = body.slice(7..14).unwrap();
        assert_eq!(message, b"message");
        assert!(message.shares_bytes_with(&body), "not copied");
        assert_eq!(message.slice(1..3).unwrap(), b"es");
        assert!(message.slice(3..8).is_none(), "past the slice's end");
        assert!(body.slice(20..21).is_none());
        #[allow(clippy::reversed_empty_ranges)]
        let backwards = body.slice(5..2);
        assert!(backwards.is_none());
        assert!(body.slice(3..3).unwrap().is_empty());
        // A part is copied out; the whole, alone, is moved out.
        assert_eq!(message.into_vec(), b"message".to_vec());
        drop(body.slice(0..1));
        assert_eq!(body.into_vec(), b"header|message|tail".to_vec());
    }

    #[test]
    fn clones_share_and_into_vec_moves_when_alone() {
        let body = Body::from(vec![1u8, 2, 3]);
        let clone = body.clone();
        assert!(clone.shares_bytes_with(&body));
        assert_eq!(clone, vec![1u8, 2, 3]);
        let address = clone.as_ptr();
        drop(body);
        let moved = clone.into_vec();
        assert_eq!(moved.as_ptr(), address, "moved, not copied");
        assert!(Body::new().is_empty());
        assert_eq!(Body::from("ab").len(), 2);
        assert_eq!(
            format!("{:?}", Body::from("a\"b")),
            "Body(3 bytes: b\"a\\\"b\")"
        );
    }
}
