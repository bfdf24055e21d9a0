//! `SendMessageHook`: code that runs before and after each send (tracing, metrics, audit).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use crate::client::shared::error::ClientError;
use crate::client::shared::result::{CommunicationMode, SendResult};
use crate::protocol::message::message_const::{
    PROPERTY_DELAY_TIME_LEVEL, PROPERTY_KEYS, PROPERTY_TAGS, PROPERTY_TRANSACTION_PREPARED,
};
use crate::protocol::message::{MessageProperties, MessageQueue};

/// The kind of message sent; mirrors Java's `MessageType` as the send hooks see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MessageType {
    /// An ordinary message.
    Normal,
    /// A transactional half message (`TRAN_MSG=true`).
    TransHalf,
    /// A delayed message (`DELAY` set).
    Delay,
    /// A committed transaction, as `EndTransaction` trace records name it
    /// (`Trans_msg_Commit`).
    TransCommit,
    /// An ordered message, as a 5.x broker classifies it (`Order_Msg`).
    Order,
}

impl MessageType {
    /// Java's ordinal, what trace records carry: `Normal_Msg` 0, `Trans_Msg_Half` 1,
    /// `Trans_msg_Commit` 2, `Delay_Msg` 3, `Order_Msg` 4.
    pub fn ordinal(self) -> i32 {
        match self {
            MessageType::Normal => 0,
            MessageType::TransHalf => 1,
            MessageType::TransCommit => 2,
            MessageType::Delay => 3,
            MessageType::Order => 4,
        }
    }

    /// The type of Java ordinal `ordinal`.
    pub(crate) fn from_ordinal(ordinal: i32) -> Option<MessageType> {
        Some(match ordinal {
            0 => MessageType::Normal,
            1 => MessageType::TransHalf,
            2 => MessageType::TransCommit,
            3 => MessageType::Delay,
            4 => MessageType::Order,
            _ => return None,
        })
    }
}

/// What a send hook sees of one send attempt; mirrors Java's `SendMessageContext`.
///
/// It carries the message's topic, properties (with its `UNIQ_KEY`) and body length, not the
/// body itself. `send_result` and `error` are filled in for the "after" call.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SendMessageContext {
    /// The producer group.
    pub producer_group: String,
    /// The message's topic.
    pub topic: String,
    /// The message's properties as sent.
    pub properties: MessageProperties,
    /// The client message id (`UNIQ_KEY`; a batch's ids joined by commas).
    pub msg_id: String,
    /// The body length as sent (after compression).
    pub body_len: usize,
    /// The queue chosen.
    pub message_queue: MessageQueue,
    /// The broker address the request went to.
    pub broker_addr: String,
    /// This client's IP.
    pub born_host: String,
    /// Sync, async or oneway.
    pub communication_mode: CommunicationMode,
    /// The kind of message.
    pub msg_type: MessageType,
    /// The outcome, for the "after" call of a successful sync or async send.
    pub send_result: Option<SendResult>,
    /// The failure, for the "after" call of a failed send.
    pub error: Option<ClientError>,
    /// When the attempt began (the "before" call), ms since the epoch.
    pub begin_timestamp: i64,
}

impl SendMessageContext {
    /// The message's tag.
    pub fn tags(&self) -> Option<&str> {
        self.properties.get(PROPERTY_TAGS)
    }

    /// The message's keys, space-separated.
    pub fn keys(&self) -> Option<&str> {
        self.properties.get(PROPERTY_KEYS)
    }

    /// The kind of a message with `properties`, as Java's `sendKernelImpl` decides it.
    pub(crate) fn message_type_of(properties: &MessageProperties) -> MessageType {
        if properties.get(PROPERTY_DELAY_TIME_LEVEL).is_some() {
            MessageType::Delay
        } else if properties.get(PROPERTY_TRANSACTION_PREPARED) == Some("true") {
            MessageType::TransHalf
        } else {
            MessageType::Normal
        }
    }
}

/// Runs before and after every send attempt; mirrors Java's `SendMessageHook`.
///
/// A panicking hook is logged and does not fail the send, as Java catches a hook's throwable.
pub trait SendMessageHook: Send + Sync {
    /// A name for logs.
    fn hook_name(&self) -> &str;

    /// Before the request is written.
    fn send_message_before(&self, context: &SendMessageContext);

    /// After the answer (or failure, or, for oneway, the write).
    fn send_message_after(&self, context: &SendMessageContext);
}

/// Runs `hooks`' "before" calls, catching panics.
pub(crate) fn run_before(hooks: &[Arc<dyn SendMessageHook>], context: &SendMessageContext) {
    for hook in hooks {
        if catch_unwind(AssertUnwindSafe(|| hook.send_message_before(context))).is_err() {
            log::warn!("send hook {} panicked before a send", hook.hook_name());
        }
    }
}

/// Runs `hooks`' "after" calls, catching panics.
pub(crate) fn run_after(hooks: &[Arc<dyn SendMessageHook>], context: &SendMessageContext) {
    for hook in hooks {
        if catch_unwind(AssertUnwindSafe(|| hook.send_message_after(context))).is_err() {
            log::warn!("send hook {} panicked after a send", hook.hook_name());
        }
    }
}
