//! Errors of the wire-format layer.

use std::fmt;

/// Why bytes could not be decoded into a [`super::RemotingCommand`].
///
/// Any of these means the peer is broken or hostile: the transport logs it and closes the
/// connection without replying, as the Java `NettyDecoder` does.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The length prefix is negative or smaller than the 4-byte header-length field.
    InvalidFrameLength(i64),
    /// The length prefix exceeds the configured maximum frame length.
    FrameTooLarge {
        /// The length the peer announced.
        length: usize,
        /// The configured limit.
        max: usize,
    },
    /// The header length is zero or larger than the frame that should contain it.
    InvalidHeaderLength {
        /// The header length from the mark field.
        header_len: usize,
        /// The bytes available for header and body.
        available: usize,
    },
    /// The serialize type byte is neither JSON (0) nor ROCKETMQ (1).
    UnknownSerializeType(u8),
    /// The JSON header is not valid JSON or has a field of the wrong type.
    InvalidJson(String),
    /// The binary header is truncated or a length inside it points past its end.
    InvalidBinaryHeader(String),
    /// The header carries more ext fields than the configured limit.
    TooManyExtFields {
        /// The configured limit.
        max: usize,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::InvalidFrameLength(len) => write!(f, "invalid frame length {len}"),
            DecodeError::FrameTooLarge { length, max } => {
                write!(f, "frame length {length} exceeds the maximum {max}")
            }
            DecodeError::InvalidHeaderLength { header_len, available } => write!(
                f,
                "header length {header_len} invalid for a frame with {available} bytes after the mark"
            ),
            DecodeError::UnknownSerializeType(t) => write!(f, "unknown serialize type {t}"),
            DecodeError::InvalidJson(msg) => write!(f, "invalid JSON header: {msg}"),
            DecodeError::InvalidBinaryHeader(msg) => write!(f, "invalid ROCKETMQ header: {msg}"),
            DecodeError::TooManyExtFields { max } => {
                write!(f, "the header carries more than {max} ext fields")
            }
        }
    }
}

impl std::error::Error for DecodeError {}

/// Why a [`super::RemotingCommand`] could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// The header does not fit the 24 bits the mark field gives its length.
    HeaderTooLarge(usize),
    /// An ext field key is longer than the binary header's i16 length allows.
    KeyTooLong(usize),
    /// The whole frame would exceed the maximum frame length the peer accepts.
    FrameTooLarge {
        /// The frame length that would be written.
        length: usize,
        /// The configured limit.
        max: usize,
    },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::HeaderTooLarge(len) => write!(f, "header of {len} bytes exceeds 16 MiB"),
            EncodeError::KeyTooLong(len) => write!(f, "ext field key of {len} bytes exceeds 32767"),
            EncodeError::FrameTooLarge { length, max } => {
                write!(f, "frame of {length} bytes exceeds the maximum {max}")
            }
        }
    }
}

impl std::error::Error for EncodeError {}

/// Why ext fields could not be read into a typed custom header.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderError {
    /// A required field is absent (Java: "the custom field `<x>` is null").
    MissingField(&'static str),
    /// A field is present but its text does not parse as the field's type.
    InvalidField {
        /// The field name.
        field: &'static str,
        /// The text received.
        value: String,
    },
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderError::MissingField(name) => write!(f, "the custom field <{name}> is null"),
            HeaderError::InvalidField { field, value } => {
                write!(
                    f,
                    "the custom field <{field}> has an invalid value {value:?}"
                )
            }
        }
    }
}

impl std::error::Error for HeaderError {}

/// Why a message, message id, compressed body or JSON body could not be decoded or encoded.
///
/// The error of the format modules under [`super::message`] and [`super::body`]; each variant
/// names the field or value at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyError {
    /// Fewer bytes remain than the named field needs.
    Truncated {
        /// The field being read.
        field: &'static str,
        /// The bytes the field needs.
        needed: usize,
        /// The bytes that remain.
        available: usize,
    },
    /// A length or size field is negative or inconsistent with the bytes around it.
    InvalidLength {
        /// The field holding the length.
        field: &'static str,
        /// The value read.
        length: i64,
    },
    /// A stored message starts with a magic code that is neither V1 nor V2.
    UnknownMagicCode(i32),
    /// A value is out of range or malformed (bad hex, bad port, bad enum name, ...).
    InvalidValue {
        /// The field or value kind.
        field: &'static str,
        /// The offending value, as text.
        value: String,
    },
    /// A value is too long for the width of its length field.
    TooLong {
        /// The field being written.
        field: &'static str,
        /// Its length in bytes.
        length: usize,
        /// The largest length the format allows.
        max: usize,
    },
    /// The body uses a compression type this build cannot read (LZ4 or ZSTD without the
    /// `lz4-zstd` feature), or an unknown one.
    UnsupportedCompression(i32),
    /// The compressed bytes are corrupt or truncated.
    Corrupt(String),
    /// Decompression would produce more than the allowed number of bytes.
    DecompressedTooLarge {
        /// The limit that was reached.
        limit: usize,
    },
    /// A JSON body is malformed or lacks a field it needs; the text says which.
    Json(String),
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyError::Truncated {
                field,
                needed,
                available,
            } => {
                write!(
                    f,
                    "truncated at {field}: needs {needed} bytes, {available} left"
                )
            }
            BodyError::InvalidLength { field, length } => write!(f, "invalid {field} {length}"),
            BodyError::UnknownMagicCode(code) => {
                write!(f, "unknown message magic code {code:#010x}")
            }
            BodyError::InvalidValue { field, value } => write!(f, "invalid {field} {value:?}"),
            BodyError::TooLong { field, length, max } => {
                write!(f, "{field} of {length} bytes exceeds the maximum {max}")
            }
            BodyError::UnsupportedCompression(kind @ (1 | 2)) => write!(
                f,
                "compression type {kind} ({}) needs the crate's `lz4-zstd` feature",
                if *kind == 1 { "LZ4" } else { "ZSTD" }
            ),
            BodyError::UnsupportedCompression(kind) => {
                write!(f, "unsupported compression type {kind}")
            }
            BodyError::Corrupt(msg) => write!(f, "corrupt compressed data: {msg}"),
            BodyError::DecompressedTooLarge { limit } => {
                write!(f, "decompressed data exceeds the limit of {limit} bytes")
            }
            BodyError::Json(msg) => write!(f, "invalid JSON body: {msg}"),
        }
    }
}

impl std::error::Error for BodyError {}
