//! Namespaces: topic and group names as a namespaced cluster sees them, `ns%name`; mirrors
//! Java's `NamespaceUtil` and `ClientConfig.withNamespace`/`withoutNamespace`.
//!
//! A client with a namespace wraps every topic and group it is given before it uses them
//! (retry and DLQ topics inside their prefix: `%RETRY%ns%group`), works with the wrapped
//! names throughout (routes, rebalance, offsets), and unwraps them in what it hands back:
//! send results, received messages, queues. System topics and groups are never wrapped.

use crate::protocol::message::MessageExt;
use crate::protocol::message::MessageQueue;

const NAMESPACE_SEPARATOR: char = '%';
use crate::protocol::mix_all::{
    DLQ_GROUP_TOPIC_PREFIX as DLQ_PREFIX, RETRY_GROUP_TOPIC_PREFIX as RETRY_PREFIX,
};
const SYSTEM_TOPIC_PREFIX: &str = "rmq_sys_";
const SYSTEM_GROUP_PREFIX: &str = "CID_RMQ_SYS_";
/// `TopicValidator.SYSTEM_TOPIC_SET` (4.9.8).
const SYSTEM_TOPICS: [&str; 9] = [
    "TBW102",
    "SCHEDULE_TOPIC_XXXX",
    "BenchmarkTest",
    "RMQ_SYS_TRANS_HALF_TOPIC",
    "RMQ_SYS_TRACE_TOPIC",
    "RMQ_SYS_TRANS_OP_HALF_TOPIC",
    "TRANS_CHECK_MAX_TIME_TOPIC",
    "SELF_TEST_TOPIC",
    "OFFSET_MOVED_EVENT",
];

/// A client's namespace, possibly none (then every call is the identity).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Namespace(Option<String>);

impl Namespace {
    /// `namespace`, where a blank one means none.
    pub(crate) fn new(namespace: Option<&str>) -> Self {
        Namespace(namespace.filter(|ns| !ns.is_empty()).map(String::from))
    }

    /// `withNamespace`: `resource` as the cluster names it.
    pub(crate) fn wrap(&self, resource: &str) -> String {
        match &self.0 {
            Some(ns) => wrap_namespace(ns, resource),
            None => resource.to_string(),
        }
    }

    /// `withoutNamespace`: `resource` as the user names it (other namespaces are kept).
    pub(crate) fn unwrap(&self, resource: &str) -> String {
        match &self.0 {
            Some(ns) => without_namespace(resource, ns),
            None => resource.to_string(),
        }
    }

    /// [`Namespace::wrap`] in place: nothing to do, and nothing allocated, without a
    /// namespace (every send passes here).
    pub(crate) fn wrap_in_place(&self, resource: &mut String) {
        if let Some(ns) = &self.0 {
            *resource = wrap_namespace(ns, resource);
        }
    }

    /// [`Namespace::unwrap_queue`] in place, as cheap as [`Namespace::wrap_in_place`].
    pub(crate) fn unwrap_queue_in_place(&self, queue: &mut MessageQueue) {
        if let Some(ns) = &self.0 {
            queue.topic = without_namespace(&queue.topic, ns);
        }
    }

    /// `queueWithNamespace`.
    pub(crate) fn wrap_queue(&self, queue: &MessageQueue) -> MessageQueue {
        MessageQueue {
            topic: self.wrap(&queue.topic),
            ..queue.clone()
        }
    }

    /// A queue as the user names it.
    pub(crate) fn unwrap_queue(&self, queue: &MessageQueue) -> MessageQueue {
        MessageQueue {
            topic: self.unwrap(&queue.topic),
            ..queue.clone()
        }
    }

    /// Queues as the user names them; borrowed as they are when there is no namespace.
    pub(crate) fn unwrap_queues<'q>(
        &self,
        queues: &'q [MessageQueue],
    ) -> std::borrow::Cow<'q, [MessageQueue]> {
        match self.0 {
            Some(_) => queues.iter().map(|q| self.unwrap_queue(q)).collect(),
            None => std::borrow::Cow::Borrowed(queues),
        }
    }

    /// Unwraps the topic of each message (after the retry topic was put back).
    pub(crate) fn unwrap_messages(&self, messages: &mut [MessageExt]) {
        if self.0.is_some() {
            for message in messages {
                message.topic = self.unwrap(&message.topic);
            }
        }
    }
}

/// `NamespaceUtil.wrapNamespace`.
pub(crate) fn wrap_namespace(namespace: &str, resource: &str) -> String {
    if namespace.is_empty() || resource.is_empty() {
        return resource.to_string();
    }
    if is_system_resource(resource) || is_already_with_namespace(resource, namespace) {
        return resource.to_string();
    }
    let (prefix, bare) = split_retry_or_dlq(resource);
    format!("{prefix}{namespace}{NAMESPACE_SEPARATOR}{bare}")
}

/// `NamespaceUtil.withoutNamespace(resource, namespace)`: strips `namespace` only.
pub(crate) fn without_namespace(resource: &str, namespace: &str) -> String {
    if resource.is_empty() || namespace.is_empty() {
        return resource.to_string();
    }
    let (prefix, bare) = split_retry_or_dlq(resource);
    match bare
        .strip_prefix(namespace)
        .and_then(|rest| rest.strip_prefix(NAMESPACE_SEPARATOR))
    {
        Some(name) if !is_system_resource(resource) => format!("{prefix}{name}"),
        _ => resource.to_string(),
    }
}

fn is_already_with_namespace(resource: &str, namespace: &str) -> bool {
    let (_, bare) = split_retry_or_dlq(resource);
    bare.strip_prefix(namespace)
        .is_some_and(|rest| rest.starts_with(NAMESPACE_SEPARATOR))
}

/// `%RETRY%` or `%DLQ%` (or nothing), and the rest.
fn split_retry_or_dlq(resource: &str) -> (&str, &str) {
    for prefix in [RETRY_PREFIX, DLQ_PREFIX] {
        if let Some(rest) = resource.strip_prefix(prefix) {
            return (prefix, rest);
        }
    }
    ("", resource)
}

fn is_system_resource(resource: &str) -> bool {
    SYSTEM_TOPICS.contains(&resource)
        || resource.starts_with(SYSTEM_TOPIC_PREFIX)
        || resource.starts_with(SYSTEM_GROUP_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_as_java_namespace_util() {
        assert_eq!(wrap_namespace("ns", "Topic"), "ns%Topic");
        assert_eq!(wrap_namespace("ns", "%RETRY%group"), "%RETRY%ns%group");
        assert_eq!(wrap_namespace("ns", "%DLQ%group"), "%DLQ%ns%group");
        assert_eq!(wrap_namespace("ns", "ns%Topic"), "ns%Topic");
        assert_eq!(wrap_namespace("ns", "TBW102"), "TBW102");
        assert_eq!(wrap_namespace("ns", "rmq_sys_x"), "rmq_sys_x");
        assert_eq!(wrap_namespace("ns", "CID_RMQ_SYS_x"), "CID_RMQ_SYS_x");
        assert_eq!(wrap_namespace("", "Topic"), "Topic");
    }

    #[test]
    fn unwraps_only_its_own_namespace() {
        assert_eq!(without_namespace("ns%Topic", "ns"), "Topic");
        assert_eq!(without_namespace("%RETRY%ns%group", "ns"), "%RETRY%group");
        assert_eq!(without_namespace("other%Topic", "ns"), "other%Topic");
        assert_eq!(without_namespace("nsx%Topic", "ns"), "nsx%Topic");
        assert_eq!(without_namespace("Topic", "ns"), "Topic");
        let ns = Namespace::new(Some("ns"));
        for name in ["Topic", "%RETRY%g", "%DLQ%g", "TBW102"] {
            assert_eq!(ns.unwrap(&ns.wrap(name)), name);
        }
        assert_eq!(Namespace::new(Some("")).wrap("T"), "T");
    }
}
