//! A bounds-checked big-endian reader over peer-controlled bytes.

use crate::protocol::error::BodyError;

/// Reads big-endian fields from a slice; every read checks the bytes left first.
pub(crate) struct ByteReader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> ByteReader<'a> {
    /// A reader at the start of `buf`.
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        ByteReader { buf, pos: 0 }
    }

    /// Bytes not yet read.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Bytes read so far.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// The next `len` bytes, naming `field` if fewer remain.
    pub(crate) fn bytes(&mut self, len: usize, field: &'static str) -> Result<&'a [u8], BodyError> {
        let available = self.remaining();
        let truncated = BodyError::Truncated {
            field,
            needed: len,
            available,
        };
        if len > available {
            return Err(truncated);
        }
        // pos + len <= buf.len() here, so the addition cannot overflow.
        let slice = self.buf.get(self.pos..self.pos + len).ok_or(truncated)?;
        self.pos += len;
        Ok(slice)
    }

    /// The next `N` bytes as an array.
    pub(crate) fn array<const N: usize>(
        &mut self,
        field: &'static str,
    ) -> Result<[u8; N], BodyError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.bytes(N, field)?);
        Ok(out)
    }

    /// A signed byte.
    pub(crate) fn i8(&mut self, field: &'static str) -> Result<i8, BodyError> {
        Ok(i8::from_be_bytes(self.array(field)?))
    }

    /// A big-endian i16.
    pub(crate) fn i16(&mut self, field: &'static str) -> Result<i16, BodyError> {
        Ok(i16::from_be_bytes(self.array(field)?))
    }

    /// A big-endian i32.
    pub(crate) fn i32(&mut self, field: &'static str) -> Result<i32, BodyError> {
        Ok(i32::from_be_bytes(self.array(field)?))
    }

    /// A big-endian i64.
    pub(crate) fn i64(&mut self, field: &'static str) -> Result<i64, BodyError> {
        Ok(i64::from_be_bytes(self.array(field)?))
    }

    /// A length field's value as a byte count: negative values are an error naming `field`.
    pub(crate) fn length(value: i64, field: &'static str) -> Result<usize, BodyError> {
        usize::try_from(value).map_err(|_| BodyError::InvalidLength {
            field,
            length: value,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_in_order_and_refuses_to_overrun() {
        let data = [0u8, 1, 0, 0, 0, 2, 0xFF];
        let mut r = ByteReader::new(&data);
        assert_eq!(r.i16("a"), Ok(1));
        assert_eq!(r.i32("b"), Ok(2));
        assert_eq!(r.remaining(), 1);
        assert_eq!(
            r.i32("c"),
            Err(BodyError::Truncated {
                field: "c",
                needed: 4,
                available: 1
            })
        );
        assert_eq!(r.i8("d"), Ok(-1));
        assert_eq!(r.position(), 7);
        assert!(r.bytes(usize::MAX, "e").is_err());
        assert_eq!(
            ByteReader::length(-1, "len"),
            Err(BodyError::InvalidLength {
                field: "len",
                length: -1
            })
        );
    }
}
