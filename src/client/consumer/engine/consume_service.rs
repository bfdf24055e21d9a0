//! What both consume services share: what they work with ([`ConsumeParts`]), the one call of
//! the user's listener with the consume hooks around it, the answer to
//! CONSUME_MESSAGE_DIRECTLY, and the topic a redelivered message is shown with.

use std::fmt::Debug;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::consume_stats::ConsumeStats;
use super::offset_store::OffsetStore;
use super::pop_api::PopApiWrapper;
use super::send_back::SendBack;
use crate::client::consumer::consume_hook::ConsumeHooks;
use crate::client::consumer::listener::{ConsumeConcurrentlyStatus, ConsumeOrderlyStatus};
use crate::client::shared::namespace::Namespace;
use crate::client::shared::validators::RETRY_GROUP_TOPIC_PREFIX;
use crate::common::clock::now_millis;
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
    /// What runs around each listener call.
    pub(crate) hooks: ConsumeHooks,
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

/// One call of the user's listener on `messages` of `queue` (as the engine names it), with
/// `hooks` before and after: the only place a listener runs. A panic is logged and answers
/// `S::ON_PANIC`, so the messages come again; returns the answer and how long the listener
/// took, or the panic's message.
/// How many of a concurrent listener's `len` messages count as consumed
/// (`processConsumeResult`): on success those up to `ack_index` (clamped into the batch; -1 or
/// less: none), on `ReconsumeLater` none.
pub(crate) fn consumed_count(
    status: ConsumeConcurrentlyStatus,
    ack_index: i32,
    len: usize,
) -> usize {
    match status {
        ConsumeConcurrentlyStatus::ConsumeSuccess => {
            usize::try_from(i64::from(ack_index) + 1).map_or(0, |ok| ok.min(len))
        }
        ConsumeConcurrentlyStatus::ReconsumeLater => 0,
    }
}

pub(crate) fn call_listener<S: ListenerStatus>(
    hooks: &ConsumeHooks,
    group: &str,
    queue: &MessageQueue,
    messages: &[MessageExt],
    listener: impl FnOnce() -> S,
) -> (S, Duration, Option<String>) {
    // Hooks see the queue as the listener does.
    let hooked = hooks.request_id().map(|id| {
        let shown = Namespace::new(hooks.namespace()).unwrap_queue(queue);
        (id, shown, now_millis())
    });
    if let Some((id, shown, begin_ms)) = &hooked {
        hooks.before(&hooks.context(group, shown, messages, id, *begin_ms));
    }
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
    if let Some((id, shown, begin_ms)) = &hooked {
        let answered = panic.is_none().then(|| status.succeeded());
        let mut context = hooks.context(group, shown, messages, id, *begin_ms);
        context.success = answered == Some(true);
        context.status = Some(status.java_name());
        context.return_type = Some(hooks.return_type(answered, elapsed));
        context.elapsed = elapsed;
        hooks.after(&context);
    }
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
    // Java runs no consume hooks for a direct consume.
    let (status, elapsed, panic) =
        call_listener(&ConsumeHooks::none(), group, queue, messages, || {
            listener(messages)
        });
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
    use crate::client::consumer::{ConsumeMessageContext, ConsumeMessageHook, ConsumeReturnType};

    #[test]
    fn the_ack_index_is_clamped_into_the_batch() {
        use ConsumeConcurrentlyStatus::{ConsumeSuccess, ReconsumeLater};
        // A listener may set any i32: no value may index outside the batch.
        for (status, ack_index, len, ok) in [
            (ConsumeSuccess, i32::MAX, 3, 3),
            (ConsumeSuccess, 2, 3, 3),
            (ConsumeSuccess, 0, 3, 1),
            (ConsumeSuccess, -1, 3, 0),
            (ConsumeSuccess, -5, 3, 0),
            (ConsumeSuccess, i32::MIN, 3, 0),
            (ReconsumeLater, 2, 3, 0),
        ] {
            assert_eq!(consumed_count(status, ack_index, len), ok, "{ack_index}");
        }
    }

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

    /// What a hook saw of a call: request id, success, status, return type.
    type Saw = (
        String,
        bool,
        Option<&'static str>,
        Option<ConsumeReturnType>,
    );

    /// Keeps what the hooks saw.
    #[derive(Default)]
    struct Seen(std::sync::Mutex<Vec<Saw>>);

    impl ConsumeMessageHook for Seen {
        fn hook_name(&self) -> &str {
            "seen"
        }
        fn consume_message_before(&self, c: &ConsumeMessageContext<'_>) {
            assert_eq!(
                c.message_queue.topic, "T",
                "hooks see the queue as the listener does"
            );
            self.0
                .lock()
                .unwrap()
                .push((c.request_id.into(), c.success, c.status, c.return_type));
        }
        fn consume_message_after(&self, c: &ConsumeMessageContext<'_>) {
            self.0
                .lock()
                .unwrap()
                .push((c.request_id.into(), c.success, c.status, c.return_type));
        }
    }

    #[test]
    fn hooks_wrap_the_listener_call_and_see_how_it_ended() {
        let seen = Arc::new(Seen::default());
        let hooks = ConsumeHooks::new(
            vec![seen.clone(), Arc::new(Panicky)],
            "ns%G".into(),
            Some("ns".into()),
            "127.0.0.1".parse().unwrap(),
            Duration::from_secs(900),
        );
        let queue = MessageQueue::new("ns%T", "b", 0);
        let messages = [MessageExt::default()];
        call_listener(&hooks, "ns%G", &queue, &messages, || {
            ConsumeConcurrentlyStatus::ConsumeSuccess
        });
        call_listener(&hooks, "ns%G", &queue, &messages, || {
            if true {
                panic!("boom");
            }
            ConsumeConcurrentlyStatus::ConsumeSuccess
        });
        let seen = seen.0.lock().unwrap();
        assert_eq!(seen.len(), 4);
        assert_eq!(
            seen[0].0, seen[1].0,
            "before and after share the request id"
        );
        assert_ne!(seen[0].0, seen[2].0, "each call has its own");
        assert_eq!((seen[0].1, seen[0].3), (false, None));
        assert_eq!(
            (seen[1].1, seen[1].2, seen[1].3),
            (
                true,
                Some("CONSUME_SUCCESS"),
                Some(ConsumeReturnType::Success)
            )
        );
        assert_eq!(
            (seen[3].1, seen[3].2, seen[3].3),
            (
                false,
                Some("RECONSUME_LATER"),
                Some(ConsumeReturnType::Exception)
            )
        );
    }

    /// A hook that panics: the listener still runs, the other hooks still see the call.
    struct Panicky;

    impl ConsumeMessageHook for Panicky {
        fn hook_name(&self) -> &str {
            "panicky"
        }
        fn consume_message_before(&self, _: &ConsumeMessageContext<'_>) {
            panic!("hook before");
        }
        fn consume_message_after(&self, _: &ConsumeMessageContext<'_>) {
            panic!("hook after");
        }
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
