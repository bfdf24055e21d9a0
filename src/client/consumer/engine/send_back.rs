//! `SendBack`: returns a message the listener failed to the broker for redelivery; mirrors
//! Java's `DefaultMQPushConsumerImpl.sendMessageBack`.
//!
//! First CONSUMER_SEND_MSG_BACK to the broker that stored it: the broker redelivers it
//! through the group's retry topic after a delay, or moves it to the dead-letter topic. When
//! that fails, the message goes to the retry topic as a plain send, by a send engine on the
//! consumer's own client instance (Java's instance-wide `CLIENT_INNER_PRODUCER`): no second
//! instance, no thread of its own.

use std::sync::Arc;
use std::time::Duration;

use crate::client::producer::send_engine::{SendAttempts, SendEngine, Target};
use crate::client::producer::ProducerConfig;
use crate::client::shared::client_instance::{
    BrokerChoice, MqClientInstance, CLIENT_INNER_PRODUCER_GROUP,
};
use crate::client::shared::error::ClientError;
use crate::client::shared::message::Message;
use crate::client::shared::result::CommunicationMode;
use crate::client::shared::validators::RETRY_GROUP_TOPIC_PREFIX;
use crate::protocol::message::message_const::{
    PROPERTY_DELAY_TIME_LEVEL, PROPERTY_MAX_RECONSUME_TIMES, PROPERTY_ORIGIN_MESSAGE_ID,
    PROPERTY_RECONSUME_TIME, PROPERTY_RETRY_TOPIC, PROPERTY_TRANSACTION_PREPARED,
};
use crate::protocol::message::{MessageExt, MessageQueue};

/// Timeout of CONSUMER_SEND_MSG_BACK.
const SEND_BACK_TIMEOUT: Duration = Duration::from_secs(5);

/// Sends failed messages back for one consumer group.
pub(crate) struct SendBack {
    group: String,
    max_reconsume_times: i32,
    /// The retry-topic fallback (`CLIENT_INNER_PRODUCER`).
    retry_sender: SendEngine,
}

impl SendBack {
    /// Sends back for `group` through `instance`; messages redelivered more than
    /// `max_reconsume_times` go to the dead-letter topic.
    pub(crate) fn new(
        group: &str,
        max_reconsume_times: i32,
        instance: Arc<MqClientInstance>,
    ) -> SendBack {
        let mut config =
            ProducerConfig::new(instance.namespace().wrap(CLIENT_INNER_PRODUCER_GROUP));
        config.client = instance.settings().clone();
        SendBack {
            group: group.to_string(),
            max_reconsume_times,
            retry_sender: SendEngine::new(config, instance, Vec::new()),
        }
    }

    /// Redeliveries before the dead-letter topic.
    pub(crate) fn max_reconsume_times(&self) -> i32 {
        self.max_reconsume_times
    }

    /// Returns `message` of `queue` for redelivery after `delay_level` (0: the broker
    /// chooses; -1: the dead-letter topic at once); without a queue, to the broker that
    /// stored it.
    pub(crate) fn send(
        &self,
        message: &MessageExt,
        delay_level: i32,
        queue: Option<&MessageQueue>,
    ) -> Result<(), ClientError> {
        let instance = &self.retry_sender.instance;
        // The listener saw the topic without the namespace; the broker needs it back
        // (Java's `sendMessageBack`: `withNamespace(msg.getTopic())`).
        let wrapped;
        let message = match instance.namespace().wrap(&message.topic) {
            topic if topic != message.topic => {
                wrapped = MessageExt {
                    topic,
                    ..message.clone()
                };
                &wrapped
            }
            _ => message,
        };
        let addr = match queue {
            Some(queue) => instance
                .find_broker_address(queue, BrokerChoice::Master, instance.api_timeout_default())
                .map(|found| found.addr),
            None => Ok(message.store_host.to_string()),
        };
        let sent = addr.and_then(|addr| {
            instance.api().consumer_send_message_back(
                &addr,
                message,
                &self.group,
                delay_level,
                self.max_reconsume_times,
                SEND_BACK_TIMEOUT,
            )
        });
        sent.or_else(|e| {
            log::warn!(
                "CONSUMER_SEND_MSG_BACK of {} failed ({e}); sending it to the retry topic",
                message.client_msg_id()
            );
            self.send_to_retry_topic(message)
        })
    }

    /// The retry-topic fallback (`sendMessageBack`'s catch block).
    fn send_to_retry_topic(&self, message: &MessageExt) -> Result<(), ClientError> {
        let retry_topic = format!("{RETRY_GROUP_TOPIC_PREFIX}{}", self.group);
        let mut retry = Message::new(retry_topic, message.body.clone()).with_flag(message.flag);
        for (name, value) in message.properties.iter() {
            if name != PROPERTY_TRANSACTION_PREPARED {
                retry.put_system_property(name, value);
            }
        }
        let origin = message
            .property(PROPERTY_ORIGIN_MESSAGE_ID)
            .filter(|id| !id.is_empty())
            .unwrap_or(&message.msg_id)
            .to_string();
        retry.put_system_property(PROPERTY_ORIGIN_MESSAGE_ID, origin);
        if message.property(PROPERTY_RETRY_TOPIC).is_none() {
            retry.put_system_property(PROPERTY_RETRY_TOPIC, message.topic.clone());
        }
        retry.put_system_property(
            PROPERTY_RECONSUME_TIME,
            (message.reconsume_times + 1).to_string(),
        );
        retry.put_system_property(
            PROPERTY_MAX_RECONSUME_TIMES,
            self.max_reconsume_times.to_string(),
        );
        retry.put_system_property(
            PROPERTY_DELAY_TIME_LEVEL,
            (3 + message.reconsume_times).to_string(),
        );
        let sender = &self.retry_sender;
        let prepared = sender.prepare(&retry)?;
        let attempts = sender.config.retry_times_when_send_failed.saturating_add(1);
        sender
            .send_sync(SendAttempts::new(
                prepared,
                Target::AnyQueue,
                CommunicationMode::Sync,
                sender.config.send_timeout,
                attempts,
            ))
            .map(drop)
    }
}
