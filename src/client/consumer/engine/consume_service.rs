//! What both consume services share: what they work with ([`ConsumeParts`]), the one call of
//! the user's listener, the answer to CONSUME_MESSAGE_DIRECTLY, and the topic a redelivered
//! message is shown with.

use std::fmt::Debug;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::consume_stats::ConsumeStats;
use super::offset_store::OffsetStore;
use super::pop_api::PopApiWrapper;
use super::send_back::SendBack;
use crate::client::consumer::listener::{ConsumeConcurrentlyStatus, ConsumeOrderlyStatus};
use crate::client::shared::namespace::Namespace;
use crate::client::shared::validators::RETRY_GROUP_TOPIC_PREFIX;
use crate::common::delay_queue::Scheduler;
use crate::common::trace::trace_step;
use crate::protocol::body::{CmResult, ConsumeMessageDirectlyResult, MessageModel};
use crate::protocol::message::message_const::PROPERTY_RETRY_TOPIC;
use crate::protocol::message::{MessageExt, MessageQueue};

/// What a consume service works with, besides its listener and its pool.
pub(crate) struct ConsumeParts {
    /// The consumer group.
    pub(crate) group: String,
    /// The listener sees topics and queues without the namespace.
    pub(crate) namespace: Namespace,
    /// Clustering (failed messages go back) or broadcasting (they are dropped).
    pub(crate) model: MessageModel,
    /// Messages per listener call (`consumeMessageBatchMaxSize`).
    pub(crate) batch_size: usize,
    /// Where consumed offsets go.
    pub(crate) offsets: Arc<dyn OffsetStore>,
    /// Rates for running info.
    pub(crate) stats: Arc<ConsumeStats>,
    /// The consumer's timer thread, for what is tried again later.
    pub(crate) scheduler: Arc<Scheduler>,
    /// Where failed messages go.
    pub(crate) send_back: SendBack,
    /// Where popped messages' outcomes go: acks, or new invisible times.
    pub(crate) pop_api: Arc<PopApiWrapper>,
}

/// What a listener answered, as the consume services and CONSUME_MESSAGE_DIRECTLY see it.
pub(crate) trait ListenerStatus: Copy + Debug {
    /// The answer to a listener that panicked.
    const ON_PANIC: Self;
    /// The messages are consumed.
    fn succeeded(self) -> bool;
    /// Java's name of the status (a CONSUME_MESSAGE_DIRECTLY remark).
    fn java_name(self) -> &'static str;
}

impl ListenerStatus for ConsumeConcurrentlyStatus {
    const ON_PANIC: Self = ConsumeConcurrentlyStatus::ReconsumeLater;

    fn succeeded(self) -> bool {
        self == ConsumeConcurrentlyStatus::ConsumeSuccess
    }

    fn java_name(self) -> &'static str {
        match self {
            ConsumeConcurrentlyStatus::ConsumeSuccess => "CONSUME_SUCCESS",
            ConsumeConcurrentlyStatus::ReconsumeLater => "RECONSUME_LATER",
        }
    }
}

impl ListenerStatus for ConsumeOrderlyStatus {
    const ON_PANIC: Self = ConsumeOrderlyStatus::SuspendCurrentQueueAMoment;

    fn succeeded(self) -> bool {
        self == ConsumeOrderlyStatus::Success
    }

    fn java_name(self) -> &'static str {
        match self {
            ConsumeOrderlyStatus::Success => "SUCCESS",
            ConsumeOrderlyStatus::SuspendCurrentQueueAMoment => "SUSPEND_CURRENT_QUEUE_A_MOMENT",
        }
    }
}

/// One call of the user's listener on `messages` of `queue`: the only place a listener runs
/// (consume hooks belong here). A panic is logged and answers `S::ON_PANIC`, so the messages
/// come again; returns the answer and how long the listener took, or the panic's message.
pub(crate) fn call_listener<S: ListenerStatus>(
    group: &str,
    queue: &MessageQueue,
    messages: &[MessageExt],
    listener: impl FnOnce() -> S,
) -> (S, Duration, Option<String>) {
    let begin = Instant::now();
    let (status, panic) = match catch_unwind(AssertUnwindSafe(listener)) {
        Ok(status) => (status, None),
        Err(panic) => {
            let panic = crate::common::panic_message(&panic);
            log::warn!(
                "the listener of group {group} panicked on {} message(s) of {queue}: {panic}; \
                 they will be consumed again",
                messages.len(),
            );
            (S::ON_PANIC, Some(panic))
        }
    };
    let elapsed = begin.elapsed();
    trace_step!(
        "client",
        "listener: {} message(s) of {queue} from offset {} → {status:?} in {} µs",
        messages.len(),
        messages.first().map_or(-1, |m| m.queue_offset),
        elapsed.as_micros()
    );
    (status, elapsed, panic)
}

/// Consumes one message now for CONSUME_MESSAGE_DIRECTLY (`consumeMessageDirectly`): the
/// listener's answer as Java reports it; nothing is committed or sent back.
pub(crate) fn consume_directly<S: ListenerStatus>(
    group: &str,
    namespace: &Namespace,
    mut message: MessageExt,
    queue: &MessageQueue,
    orderly: bool,
    listener: impl FnOnce(&[MessageExt]) -> S,
) -> ConsumeMessageDirectlyResult {
    reset_retry_topic(std::slice::from_mut(&mut message), group, namespace);
    let messages = std::slice::from_ref(&message);
    let (status, elapsed, panic) = call_listener(group, queue, messages, || listener(messages));
    let (result, remark) = match panic {
        Some(panic) => (
            CmResult::ThrowException,
            format!("the listener panicked: {panic}"),
        ),
        None if status.succeeded() => (CmResult::Success, status.java_name().to_string()),
        None => (CmResult::Later, status.java_name().to_string()),
    };
    ConsumeMessageDirectlyResult {
        order: orderly,
        auto_commit: true,
        consume_result: Some(result),
        remark: Some(remark),
        spent_time_mills: elapsed.as_millis() as i64,
    }
}

/// A message redelivered through the group's retry topic is shown with its original topic,
/// and every topic without the client's namespace (`resetRetryAndNamespace`).
pub(crate) fn reset_retry_topic(messages: &mut [MessageExt], group: &str, namespace: &Namespace) {
    let retry_topic = format!("{RETRY_GROUP_TOPIC_PREFIX}{group}");
    for message in messages.iter_mut() {
        if message.topic != retry_topic {
            continue;
        }
        if let Some(original) = message.property(PROPERTY_RETRY_TOPIC).map(str::to_string) {
            message.topic = original;
        }
    }
    namespace.unwrap_messages(messages);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retried_messages_show_their_original_topic() {
        let mut retried = MessageExt {
            topic: "%RETRY%G".into(),
            ..MessageExt::default()
        };
        retried.properties.insert(PROPERTY_RETRY_TOPIC, "Orders");
        let other_group = MessageExt {
            topic: "%RETRY%H".into(),
            ..retried.clone()
        };
        let mut messages = [retried, other_group];
        reset_retry_topic(&mut messages, "G", &Namespace::default());
        assert_eq!(messages[0].topic, "Orders");
        assert_eq!(messages[1].topic, "%RETRY%H");
    }

    #[test]
    fn a_direct_consume_reports_the_status_or_the_panic() {
        let queue = MessageQueue::new("T", "b", 0);
        let ns = Namespace::default();
        let ok = consume_directly("G", &ns, MessageExt::default(), &queue, true, |m| {
            assert_eq!(m.len(), 1);
            ConsumeOrderlyStatus::Success
        });
        assert_eq!(ok.consume_result, Some(CmResult::Success));
        assert_eq!(ok.remark.as_deref(), Some("SUCCESS"));
        assert!(ok.order);
        let later = consume_directly("G", &ns, MessageExt::default(), &queue, false, |_| {
            ConsumeConcurrentlyStatus::ReconsumeLater
        });
        assert_eq!(later.consume_result, Some(CmResult::Later));
        assert_eq!(later.remark.as_deref(), Some("RECONSUME_LATER"));
        let panicked = consume_directly("G", &ns, MessageExt::default(), &queue, false, |_| {
            if true {
                panic!("boom");
            }
            ConsumeConcurrentlyStatus::ConsumeSuccess
        });
        assert_eq!(panicked.consume_result, Some(CmResult::ThrowException));
        assert_eq!(
            panicked.remark.as_deref(),
            Some("the listener panicked: boom")
        );
    }
}
