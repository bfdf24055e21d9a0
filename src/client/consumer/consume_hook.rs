//! `ConsumeMessageHook`: code that runs before and after each listener call (message trace,
//! metrics, audit); mirrors Java's `ConsumeMessageHook` and `ConsumeMessageContext`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

use crate::client::shared::namespace::Namespace;
use crate::common::clock::now_millis;
use crate::protocol::message::{MessageClientIdGenerator, MessageExt, MessageQueue};

/// How a listener call ended, as the hooks see it; mirrors Java's `ConsumeReturnType`,
/// whose ordinal message trace records as `contextCode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConsumeReturnType {
    /// The listener consumed the messages (`SUCCESS`, 0).
    Success,
    /// It answered, but took longer than the consumer's `consume_timeout` (`TIME_OUT`, 1).
    TimeOut,
    /// It panicked (`EXCEPTION`, 2).
    Exception,
    /// It answered nothing (`RETURNNULL`, 3): a Java listener returning null; a Rust one
    /// always answers.
    ReturnNull,
    /// It asked for the messages again (`FAILED`, 4).
    Failed,
}

impl ConsumeReturnType {
    /// Java's ordinal (`contextCode` in a `SubAfter` trace record).
    pub fn ordinal(self) -> i32 {
        match self {
            ConsumeReturnType::Success => 0,
            ConsumeReturnType::TimeOut => 1,
            ConsumeReturnType::Exception => 2,
            ConsumeReturnType::ReturnNull => 3,
            ConsumeReturnType::Failed => 4,
        }
    }

    /// Java's name (`SUCCESS`, `TIME_OUT`, …).
    pub fn name(self) -> &'static str {
        match self {
            ConsumeReturnType::Success => "SUCCESS",
            ConsumeReturnType::TimeOut => "TIME_OUT",
            ConsumeReturnType::Exception => "EXCEPTION",
            ConsumeReturnType::ReturnNull => "RETURNNULL",
            ConsumeReturnType::Failed => "FAILED",
        }
    }
}

/// What a consume hook sees of one listener call; mirrors Java's `ConsumeMessageContext`.
/// The outcome fields are filled for the "after" call.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ConsumeMessageContext<'a> {
    /// The consumer group, as the cluster knows it (with the namespace, if any).
    pub consumer_group: &'a str,
    /// The client's namespace, if any.
    pub namespace: Option<&'a str>,
    /// The queue the messages came from, as the listener sees it.
    pub message_queue: &'a MessageQueue,
    /// The messages of the call, as the listener sees them.
    pub messages: &'a [MessageExt],
    /// An id unique to this call (Java's `TraceContext.requestId`, a message-id-like
    /// string): the `SubBefore` and `SubAfter` records of one call share it.
    pub request_id: &'a str,
    /// When the call began, ms since the epoch.
    pub begin_timestamp: i64,
    /// After: the messages were consumed.
    pub success: bool,
    /// After: the listener's answer by its Java name (`CONSUME_SUCCESS`, …).
    pub status: Option<&'static str>,
    /// After: how the call ended.
    pub return_type: Option<ConsumeReturnType>,
    /// After: how long the listener took.
    pub elapsed: Duration,
}

/// Runs before and after every listener call of a push consumer, and around the messages
/// a lite pull consumer's `poll` returns; mirrors Java's `ConsumeMessageHook`.
///
/// A panicking hook is logged and changes nothing, as Java catches a hook's throwable.
///
/// ```
/// # let cluster = rocketmq_blocking::LocalCluster::start()?;
/// use std::sync::{mpsc, Arc, Mutex};
/// use rocketmq_blocking::client::{
///     ConsumeConcurrentlyStatus, ConsumeFrom, ConsumeMessageContext, ConsumeMessageHook,
///     ConsumeReturnType, Message, MessageExt, Producer, PushConsumer,
/// };
///
/// /// Reports how each listener call ended.
/// struct Outcomes(Mutex<mpsc::Sender<(usize, Option<ConsumeReturnType>)>>);
///
/// impl ConsumeMessageHook for Outcomes {
///     fn hook_name(&self) -> &str {
///         "outcomes"
///     }
///     fn consume_message_before(&self, _: &ConsumeMessageContext<'_>) {}
///     fn consume_message_after(&self, context: &ConsumeMessageContext<'_>) {
///         let outcome = (context.messages.len(), context.return_type);
///         let _ = self.0.lock().unwrap().send(outcome);
///     }
/// }
///
/// let producer = Producer::builder("doc_hook_producer")
///     .name_server(cluster.name_server_addr())
///     .start()?;
/// producer.send(&Message::new("DocHook", "hello"))?;
///
/// let (tx, rx) = mpsc::channel();
/// let consumer = PushConsumer::builder("doc_hook_group")
///     .name_server(cluster.name_server_addr())
///     .subscribe("DocHook", "*")
///     .consume_from(ConsumeFrom::FirstOffset)
///     .consume_message_hook(Arc::new(Outcomes(Mutex::new(tx))))
///     .message_listener_concurrently(|_: &[MessageExt], _: &mut _| {
///         ConsumeConcurrentlyStatus::ConsumeSuccess
///     })
///     .start()?;
/// let outcome = rx.recv_timeout(std::time::Duration::from_secs(30))?;
/// assert_eq!(outcome, (1, Some(ConsumeReturnType::Success)));
/// consumer.shutdown();
/// producer.shutdown();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait ConsumeMessageHook: Send + Sync {
    /// A name for logs.
    fn hook_name(&self) -> &str;

    /// Before the listener runs.
    fn consume_message_before(&self, context: &ConsumeMessageContext<'_>);

    /// After it answered (or panicked).
    fn consume_message_after(&self, context: &ConsumeMessageContext<'_>);
}

/// A consumer's hooks, with what their contexts need; nothing (one word) without hooks.
#[derive(Clone, Default)]
pub(crate) struct ConsumeHooks(Option<Arc<Hooks>>);

struct Hooks {
    list: Vec<Arc<dyn ConsumeMessageHook>>,
    /// The group, as the cluster knows it.
    group: String,
    namespace: Option<String>,
    /// Request ids.
    ids: MessageClientIdGenerator,
    /// A call at least this long is `TIME_OUT` (`consumeTimeout`).
    consume_timeout: Duration,
}

impl ConsumeHooks {
    pub(crate) fn new(
        list: Vec<Arc<dyn ConsumeMessageHook>>,
        group: String,
        namespace: Option<String>,
        client_ip: std::net::IpAddr,
        consume_timeout: Duration,
    ) -> Self {
        if list.is_empty() {
            return ConsumeHooks::none();
        }
        ConsumeHooks(Some(Arc::new(Hooks {
            list,
            group,
            namespace,
            ids: MessageClientIdGenerator::new(client_ip),
            consume_timeout,
        })))
    }

    /// No hooks (a consume the hooks do not see: CONSUME_MESSAGE_DIRECTLY).
    pub(crate) fn none() -> Self {
        ConsumeHooks(None)
    }

    pub(crate) fn namespace(&self) -> Option<&str> {
        self.0.as_ref().and_then(|h| h.namespace.as_deref())
    }

    /// A fresh request id for a call the hooks see; None without hooks.
    pub(crate) fn request_id(&self) -> Option<String> {
        self.0.as_ref().map(|h| h.ids.next())
    }

    /// A call's context as the "before" hooks see it.
    pub(crate) fn context<'a>(
        &'a self,
        group: &'a str,
        queue: &'a MessageQueue,
        messages: &'a [MessageExt],
        request_id: &'a str,
        begin_timestamp: i64,
    ) -> ConsumeMessageContext<'a> {
        ConsumeMessageContext {
            consumer_group: group,
            namespace: self.namespace(),
            message_queue: queue,
            messages,
            request_id,
            begin_timestamp,
            success: false,
            status: None,
            return_type: None,
            elapsed: Duration::ZERO,
        }
    }

    /// How a call that answered `succeeded` (None: panicked) after `elapsed` ended
    /// (Java's `ConsumeRequest.run`).
    pub(crate) fn return_type(
        &self,
        succeeded: Option<bool>,
        elapsed: Duration,
    ) -> ConsumeReturnType {
        let timeout = self
            .0
            .as_ref()
            .map_or(Duration::ZERO, |h| h.consume_timeout);
        match succeeded {
            None => ConsumeReturnType::Exception,
            Some(_) if elapsed >= timeout && !timeout.is_zero() => ConsumeReturnType::TimeOut,
            Some(true) => ConsumeReturnType::Success,
            Some(false) => ConsumeReturnType::Failed,
        }
    }

    /// Around a batch a lite pull consumer's `poll` returns, as Java's `poll` does: "before",
    /// then "after" with success at once (the messages are the caller's now).
    pub(crate) fn polled(&self, queue: &MessageQueue, messages: &[MessageExt]) {
        let Some(hooks) = &self.0 else {
            return;
        };
        let id = hooks.ids.next();
        let shown = Namespace::new(self.namespace()).unwrap_queue(queue);
        let mut context = self.context(&hooks.group, &shown, messages, &id, now_millis());
        self.before(&context);
        context.success = true;
        context.status = Some("CONSUME_SUCCESS");
        context.return_type = Some(ConsumeReturnType::Success);
        self.after(&context);
    }

    pub(crate) fn before(&self, context: &ConsumeMessageContext<'_>) {
        for hook in self.0.iter().flat_map(|h| &h.list) {
            if catch_unwind(AssertUnwindSafe(|| hook.consume_message_before(context))).is_err() {
                log::warn!(
                    "consume hook {} panicked before a listener call",
                    hook.hook_name()
                );
            }
        }
    }

    pub(crate) fn after(&self, context: &ConsumeMessageContext<'_>) {
        for hook in self.0.iter().flat_map(|h| &h.list) {
            if catch_unwind(AssertUnwindSafe(|| hook.consume_message_after(context))).is_err() {
                log::warn!(
                    "consume hook {} panicked after a listener call",
                    hook.hook_name()
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Quiet;

    impl ConsumeMessageHook for Quiet {
        fn hook_name(&self) -> &str {
            "quiet"
        }
        fn consume_message_before(&self, _: &ConsumeMessageContext<'_>) {}
        fn consume_message_after(&self, _: &ConsumeMessageContext<'_>) {}
    }

    #[test]
    fn return_types_follow_java_and_have_its_ordinals() {
        let hooks = ConsumeHooks::new(
            vec![Arc::new(Quiet)],
            "G".into(),
            None,
            "127.0.0.1".parse().unwrap(),
            Duration::from_secs(60),
        );
        let short = Duration::from_millis(5);
        assert_eq!(
            hooks.return_type(Some(true), short),
            ConsumeReturnType::Success
        );
        assert_eq!(
            hooks.return_type(Some(false), short),
            ConsumeReturnType::Failed
        );
        assert_eq!(hooks.return_type(None, short), ConsumeReturnType::Exception);
        assert_eq!(
            hooks.return_type(Some(true), Duration::from_secs(61)),
            ConsumeReturnType::TimeOut
        );
        let ordinals: Vec<i32> = [
            ConsumeReturnType::Success,
            ConsumeReturnType::TimeOut,
            ConsumeReturnType::Exception,
            ConsumeReturnType::ReturnNull,
            ConsumeReturnType::Failed,
        ]
        .iter()
        .map(|t| t.ordinal())
        .collect();
        assert_eq!(ordinals, [0, 1, 2, 3, 4]);
        assert!(hooks.request_id().is_some());
        // Without hooks nothing is made, and they take one word.
        let none = ConsumeHooks::new(
            Vec::new(),
            "G".into(),
            None,
            "127.0.0.1".parse().unwrap(),
            Duration::ZERO,
        );
        assert!(none.request_id().is_none());
        assert_eq!(
            std::mem::size_of::<ConsumeHooks>(),
            std::mem::size_of::<usize>()
        );
    }
}
