//! Message formats, no I/O; mirrors Java's `common.message` and `common.sysflag` packages.
//!
//! - [`sys_flag`] — `MessageSysFlag` bits and `CompressionType`.
//! - [`properties`] — `MessageConst` keys and the `\x01`/`\x02` property string.
//! - [`message_id`] — the client's unique id (`MessageClientIDSetter`) and the offset id.
//! - [`compression`] — zlib with a hard output limit.
//! - [`message_ext`] — `MessageExt` and the broker's stored format (pull response bodies).
//! - [`batch`] — the SEND_BATCH_MESSAGE body.
//! - [`message_queue`] — `MessageQueue`.
//!
//! The user-facing `Message` belongs to the client layer, not here.

pub mod batch;
pub mod compression;
pub mod message_ext;
pub mod message_id;
pub mod message_queue;
pub mod properties;
mod reader;
pub(crate) mod recall_handle;
pub mod sys_flag;

pub use batch::{decode_batch, encode_batch, encode_batch_message, BatchMessage};
pub use compression::{compress, decompress, decompress_with};
pub use message_ext::{
    decode_message, decode_messages, decode_messages_skipping, decode_messages_with_limit,
    decode_properties, encode_stored_message, DecodedRecords, MessageExt, SkippedRecord,
};
pub use message_id::{
    create_offset_message_id, decode_offset_message_id, MessageClientIdGenerator,
};
pub use message_queue::MessageQueue;
pub use properties::{
    message_const, properties_to_string, string_to_properties, MessageProperties,
};
pub use sys_flag::CompressionType;

/// The topic replies of cluster `cluster_name` go through (`MixAll.getReplyTopic`):
/// `<cluster>_REPLY_TOPIC`.
pub fn reply_topic(cluster_name: &str) -> String {
    format!("{cluster_name}_REPLY_TOPIC")
}
