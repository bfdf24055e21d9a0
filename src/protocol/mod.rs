//! The message-handling layer: RocketMQ's wire format, with no sockets and no threads.
//!
//! Every RocketMQ peer (name server, broker, producer, consumer) exchanges one message type,
//! the [`RemotingCommand`]: a `code` (what a request asks, or how a response went), an
//! `opaque` that pairs a response with its request, a `flag` (bit 0: response, bit 1:
//! oneway), a `remark`, `ext_fields` carrying the command's custom header, and a [`Body`].
//!
//! On the wire a command is a frame: `i32 total | i32 mark | header | body`, big-endian,
//! where `mark` is the header type in its top byte and the header length below it. The header
//! is JSON ([`SerializeType::Json`], Java's default) or the compact ROCKETMQ binary form; a
//! response is written in its request's header type.
//!
//! - [`RemotingCommand::encode`] writes a frame; [`FrameDecoder`] reads frames from bytes as
//!   they arrive, in pieces of any size (the connection's reader thread feeds it from the
//!   socket; the fuzzer feeds it random pieces of random bytes), checking every length
//!   against the maximum frame before anything is reserved.
//! - [`header`]: typed custom headers ([`CommandCustomHeader`]), declared once each with
//!   Java's field names.
//! - [`body`]: the JSON bodies (routes, heartbeats, topic configs); [`message`]: the stored
//!   message format, batches, properties, message ids, compression.
//! - [`codes`]: request and response codes, with their Java names.
//!
//! `&[u8] → frame → RemotingCommand` and back, so that everything here can be unit-tested and
//! fuzzed without a network. The transport in [`crate::remoting`] drives these functions.
//!
//! Mirrors `org.apache.rocketmq.remoting.protocol` (`RemotingCommand`, `RemotingSerializable`,
//! `RocketMQSerializable`, `RequestCode`, `ResponseCode`, `CommandCustomHeader`).

mod binary_header;
pub mod body;
pub mod codes;
mod command;
mod command_body;
mod error;
mod ext_fields;
mod frame;
pub mod header;
mod json_header;
mod language;
pub mod message;
pub mod mix_all;
mod string_map;
#[cfg(test)]
mod test_fixtures;
pub mod util_all;

pub use command::{
    next_opaque, RemotingCommand, SerializeType, DEFAULT_VERSION, RPC_ONEWAY, RPC_RESPONSE,
};
pub use command_body::Body;
pub use error::{BodyError, DecodeError, EncodeError, HeaderError};
pub use ext_fields::ExtFields;
pub use frame::{
    decode_first_frame, decode_frame, decode_header, frame_length, parse_mark, FrameDecoder,
    DEFAULT_MAX_EXT_FIELDS, DEFAULT_MAX_FRAME_LENGTH, FRAME_LENGTH_FIELD_SIZE,
};
pub use header::CommandCustomHeader;
pub use language::LanguageCode;
pub use string_map::StringMap;
