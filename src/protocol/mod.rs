//! Pure wire format of the RocketMQ remoting protocol: no sockets, no threads.
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
    DEFAULT_MAX_FRAME_LENGTH, FRAME_LENGTH_FIELD_SIZE,
};
pub use header::CommandCustomHeader;
pub use language::LanguageCode;
pub use string_map::StringMap;
