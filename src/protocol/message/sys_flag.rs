//! The message system flag bits; mirrors Java's `MessageSysFlag` and `CompressionType`.
//!
//! ```text
//! bit  0     COMPRESSED            bit 4  BORNHOST_V6   bit 6  NEED_UNWRAP (5.x)
//! bit  1     MULTI_TAGS            bit 5  STOREHOST_V6  bit 7  INNER_BATCH (5.x)
//! bits 2-3   transaction type: 0 none, 1 prepared, 2 commit, 3 rollback
//! bits 8-10  compression type (4.9.4+): 1 LZ4, 2 ZSTD, 3 ZLIB; 0 (older writers) means ZLIB
//! ```

use crate::protocol::error::BodyError;

/// The body is compressed (`COMPRESSED_FLAG`).
pub const COMPRESSED_FLAG: i32 = 0x1;
/// The message carries several tags (`MULTI_TAGS_FLAG`).
pub const MULTI_TAGS_FLAG: i32 = 0x1 << 1;
/// Not a transactional message (`TRANSACTION_NOT_TYPE`).
pub const TRANSACTION_NOT_TYPE: i32 = 0;
/// A transactional half message awaiting commit or rollback (`TRANSACTION_PREPARED_TYPE`).
pub const TRANSACTION_PREPARED_TYPE: i32 = 0x1 << 2;
/// A transaction commit (`TRANSACTION_COMMIT_TYPE`).
pub const TRANSACTION_COMMIT_TYPE: i32 = 0x2 << 2;
/// A transaction rollback; also the mask of the transaction bits (`TRANSACTION_ROLLBACK_TYPE`).
pub const TRANSACTION_ROLLBACK_TYPE: i32 = 0x3 << 2;
/// The born host is IPv6: 16 address bytes in the stored message (`BORNHOST_V6_FLAG`).
pub const BORNHOST_V6_FLAG: i32 = 0x1 << 4;
/// The store host is IPv6: 16 address bytes in the stored message (`STOREHOSTADDRESS_V6_FLAG`).
pub const STOREHOSTADDRESS_V6_FLAG: i32 = 0x1 << 5;
/// A batch that the broker must unwrap (`NEED_UNWRAP_FLAG`, 5.x).
pub const NEED_UNWRAP_FLAG: i32 = 0x1 << 6;
/// A batch stored as one inner-batch message (`INNER_BATCH_FLAG`, 5.x).
pub const INNER_BATCH_FLAG: i32 = 0x1 << 7;
/// Compression type LZ4 in bits 8-10 (`COMPRESSION_LZ4_TYPE`).
pub const COMPRESSION_LZ4_TYPE: i32 = 0x1 << 8;
/// Compression type ZSTD in bits 8-10 (`COMPRESSION_ZSTD_TYPE`).
pub const COMPRESSION_ZSTD_TYPE: i32 = 0x2 << 8;
/// Compression type ZLIB in bits 8-10 (`COMPRESSION_ZLIB_TYPE`).
pub const COMPRESSION_ZLIB_TYPE: i32 = 0x3 << 8;
/// Mask of the compression type bits (`COMPRESSION_TYPE_COMPARATOR`).
pub const COMPRESSION_TYPE_COMPARATOR: i32 = 0x7 << 8;

/// The transaction bits of `flag` (`getTransactionValue`).
pub fn transaction_value(flag: i32) -> i32 {
    flag & TRANSACTION_ROLLBACK_TYPE
}

/// `flag` with its transaction bits replaced by `transaction_type` (`resetTransactionValue`).
pub fn reset_transaction_value(flag: i32, transaction_type: i32) -> i32 {
    (flag & !TRANSACTION_ROLLBACK_TYPE) | transaction_type
}

/// `flag` without the compressed bit (`clearCompressedFlag`).
pub fn clear_compressed_flag(flag: i32) -> i32 {
    flag & !COMPRESSED_FLAG
}

/// True when any bit of `expected` is set in `flag` (`check`).
pub fn check(flag: i32, expected: i32) -> bool {
    flag & expected != 0
}

/// The compression type in bits 8-10 of `flag` (`getCompressionType`); 0 reads as ZLIB, the
/// only algorithm before 4.9.4, and 4-7 are an error as in Java.
pub fn compression_type(flag: i32) -> Result<CompressionType, BodyError> {
    CompressionType::from_value((flag & COMPRESSION_TYPE_COMPARATOR) >> 8)
}

/// A body compression algorithm; mirrors Java's `CompressionType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompressionType {
    /// LZ4 frames (value 1); read with the `lz4-zstd` feature.
    Lz4,
    /// Zstandard frames (value 2); read with the `lz4-zstd` feature.
    Zstd,
    /// zlib, RFC 1950 (value 3); the default, and what our producer writes.
    Zlib,
}

impl CompressionType {
    /// The value stored in bits 8-10 of the system flag.
    pub fn value(self) -> i32 {
        match self {
            CompressionType::Lz4 => 1,
            CompressionType::Zstd => 2,
            CompressionType::Zlib => 3,
        }
    }

    /// The type for a bits 8-10 value (`findByValue`): 0 and 3 are ZLIB.
    pub fn from_value(value: i32) -> Result<CompressionType, BodyError> {
        match value {
            1 => Ok(CompressionType::Lz4),
            2 => Ok(CompressionType::Zstd),
            0 | 3 => Ok(CompressionType::Zlib),
            other => Err(BodyError::UnsupportedCompression(other)),
        }
    }

    /// The system flag bits that mark this type (`getCompressionFlag`).
    pub fn compression_flag(self) -> i32 {
        self.value() << 8
    }

    /// The type for a name, case-insensitively (`CompressionType.of`).
    pub fn from_name(name: &str) -> Option<CompressionType> {
        match name.trim().to_ascii_uppercase().as_str() {
            "LZ4" => Some(CompressionType::Lz4),
            "ZSTD" => Some(CompressionType::Zstd),
            "ZLIB" => Some(CompressionType::Zlib),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_match_java() {
        assert_eq!(TRANSACTION_COMMIT_TYPE, 0x8);
        assert_eq!(TRANSACTION_ROLLBACK_TYPE, 0xC);
        assert_eq!(BORNHOST_V6_FLAG | STOREHOSTADDRESS_V6_FLAG, 0x30);
        assert_eq!(COMPRESSION_ZLIB_TYPE, 0x300);
        assert_eq!(CompressionType::Zlib.compression_flag(), 0x300);
    }

    #[test]
    fn transaction_bits_round_trip() {
        let flag = COMPRESSED_FLAG | TRANSACTION_PREPARED_TYPE;
        assert_eq!(transaction_value(flag), TRANSACTION_PREPARED_TYPE);
        let committed = reset_transaction_value(flag, TRANSACTION_COMMIT_TYPE);
        assert_eq!(transaction_value(committed), TRANSACTION_COMMIT_TYPE);
        assert!(check(committed, COMPRESSED_FLAG));
        assert!(!check(clear_compressed_flag(committed), COMPRESSED_FLAG));
    }

    #[test]
    fn compression_type_zero_reads_as_zlib() {
        assert_eq!(compression_type(COMPRESSED_FLAG), Ok(CompressionType::Zlib));
        assert_eq!(
            compression_type(COMPRESSED_FLAG | 0x300),
            Ok(CompressionType::Zlib)
        );
        assert_eq!(compression_type(0x100), Ok(CompressionType::Lz4));
        assert_eq!(compression_type(0x200), Ok(CompressionType::Zstd));
        assert_eq!(
            compression_type(0x400),
            Err(BodyError::UnsupportedCompression(4))
        );
        assert_eq!(
            CompressionType::from_name(" zlib "),
            Some(CompressionType::Zlib)
        );
        assert_eq!(CompressionType::from_name("snappy"), None);
    }
}
