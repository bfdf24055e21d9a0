//! `Body`: a command's payload, shared rather than copied between clones.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// The bytes after a command's header (Java's `byte[] body`).
///
/// Cloning a `Body` shares its bytes instead of copying them: a producer that retries a send
/// on another broker, or a hook that keeps a request, costs no copy of a 4 MiB message. The
/// bytes are immutable once built; [`Body::into_vec`] gets them back without a copy when
/// nothing else shares them.
#[derive(Clone, Default)]
pub struct Body(Option<Arc<Vec<u8>>>);

impl Body {
    /// An empty body.
    pub fn new() -> Self {
        Body(None)
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        self.0.as_deref().map_or(&[], Vec::as_slice)
    }

    /// The bytes as a vector: moved out when this is the only handle, copied otherwise.
    pub fn into_vec(self) -> Vec<u8> {
        match self.0 {
            None => Vec::new(),
            Some(shared) => Arc::try_unwrap(shared).unwrap_or_else(|shared| (*shared).clone()),
        }
    }

    /// True when `self` and `other` are handles to the same bytes (not merely equal ones).
    pub fn shares_bytes_with(&self, other: &Body) -> bool {
        match (&self.0, &other.0) {
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
            Body(None)
        } else {
            Body(Some(Arc::new(bytes)))
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
