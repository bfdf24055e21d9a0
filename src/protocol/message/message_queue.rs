//! `MessageQueue`: one queue of a topic on one broker.

use std::fmt;

use serde::Deserialize;

/// A topic's queue on a broker; mirrors Java's `common.message.MessageQueue`.
///
/// Ordered by topic, then broker name, then queue id, as Java's `compareTo`. Deserializes from
/// Java's JSON (`topic`, `brokerName`, `queueId`), as lock bodies carry it; the body writers
/// write it with sorted keys.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageQueue {
    /// The topic.
    #[serde(default)]
    pub topic: String,
    /// The broker holding the queue.
    #[serde(default)]
    pub broker_name: String,
    /// The queue's index within the topic on that broker.
    #[serde(default)]
    pub queue_id: i32,
}

impl MessageQueue {
    /// A queue from its three parts.
    pub fn new(topic: impl Into<String>, broker_name: impl Into<String>, queue_id: i32) -> Self {
        MessageQueue {
            topic: topic.into(),
            broker_name: broker_name.into(),
            queue_id,
        }
    }
}

impl fmt::Display for MessageQueue {
    /// Java's `toString`: `MessageQueue [topic=T, brokerName=B, queueId=0]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "MessageQueue [topic={}, brokerName={}, queueId={}]",
            self.topic, self.broker_name, self.queue_id
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_and_prints_like_java() {
        let mut queues = [
            MessageQueue::new("T", "b", 0),
            MessageQueue::new("T", "a", 2),
            MessageQueue::new("S", "z", 9),
            MessageQueue::new("T", "a", 1),
        ];
        queues.sort();
        let ids: Vec<_> = queues
            .iter()
            .map(|q| (q.topic.as_str(), q.broker_name.as_str(), q.queue_id))
            .collect();
        assert_eq!(
            ids,
            [("S", "z", 9), ("T", "a", 1), ("T", "a", 2), ("T", "b", 0)]
        );
        assert_eq!(
            MessageQueue::new("TopicTest", "broker-a", 3).to_string(),
            "MessageQueue [topic=TopicTest, brokerName=broker-a, queueId=3]"
        );
    }
}
