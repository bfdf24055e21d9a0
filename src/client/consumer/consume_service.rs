//! What the consume services need from their consumer (`ConsumeHost`), and what both do to
//! a message before a listener sees it.

use super::consume_stats::ConsumeStats;
use super::offset_store::OffsetStore;
use super::rebalance::RebalanceImpl;
use crate::client::shared::error::ClientError;
use crate::client::shared::namespace::Namespace;
use crate::client::shared::validators::RETRY_GROUP_TOPIC_PREFIX;
use crate::common::delay_queue::Scheduler;
use crate::protocol::body::MessageModel;
use crate::protocol::message::message_const::PROPERTY_RETRY_TOPIC;
use crate::protocol::message::MessageExt;

/// The consumer a consume service works for (Java's services hold their
/// `DefaultMQPushConsumerImpl`).
pub(crate) trait ConsumeHost: Send + Sync {
    /// The consumer group.
    fn group(&self) -> &str;
    /// Clustering or broadcasting.
    fn model(&self) -> MessageModel;
    /// Redeliveries before a message goes to the dead-letter topic.
    fn max_reconsume_times(&self) -> i32;
    /// Rates for running info.
    fn stats(&self) -> &ConsumeStats;
    /// Where consumed offsets go.
    fn offset_store(&self) -> &dyn OffsetStore;
    /// The rebalance (orderly: queue locks).
    fn rebalance(&self) -> &RebalanceImpl;
    /// The consumer's timer thread.
    fn scheduler(&self) -> &Scheduler;
    /// The namespace its topics are wrapped in.
    fn namespace(&self) -> &Namespace;
    /// Returns `message` to the broker for redelivery after `delay_level` (0: the broker
    /// chooses; -1: the dead-letter topic at once), through CONSUMER_SEND_MSG_BACK, else
    /// through the producer path to the retry topic (`sendMessageBack`).
    fn send_message_back(
        &self,
        message: &MessageExt,
        delay_level: i32,
        broker_name: &str,
    ) -> Result<(), ClientError>;
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
}
