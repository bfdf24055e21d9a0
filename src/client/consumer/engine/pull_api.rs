//! `PullApiWrapper`: one pull, from choosing the broker to the messages a consumer keeps;
//! mirrors Java's `PullAPIWrapper`.
//!
//! The broker says in each answer which of its brokers (master or a slave) to pull the queue
//! from next (`suggestWhichBrokerId`); the next pull goes there. An answer's messages are
//! decoded (an unreadable record is logged with its queue and offset and passed over), checked
//! against the subscription's tags (the broker compares only hash codes), and given the
//! queue's `MIN_OFFSET` and `MAX_OFFSET` properties.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::client::consumer::subscription::{tag_matches, EXPRESSION_TYPE_TAG};
use crate::client::shared::client_instance::{BrokerChoice, FindBrokerResult, MqClientInstance};
use crate::client::shared::error::ClientError;
use crate::client::shared::result::Callback;
use crate::client::shared::result::{PullResult, PullStatus};
use crate::common::sync::MutexExt;
use crate::common::trace::trace_step;
use crate::protocol::body::{SubscriptionData, MASTER_ID};
use crate::protocol::header::PullMessageRequestHeader;
use crate::protocol::message::message_const::{PROPERTY_MAX_OFFSET, PROPERTY_MIN_OFFSET};
use crate::protocol::message::MessageQueue;

/// `PullSysFlag` bits.
pub(crate) mod pull_sys_flag {
    /// The request carries an offset to commit (`FLAG_COMMIT_OFFSET`).
    pub(crate) const COMMIT_OFFSET: i32 = 0x1;
    /// The broker may hold the request until a message arrives (`FLAG_SUSPEND`).
    pub(crate) const SUSPEND: i32 = 0x1 << 1;
    /// The request carries its subscription expression (`FLAG_SUBSCRIPTION`).
    pub(crate) const SUBSCRIPTION: i32 = 0x1 << 2;
    /// Class filter mode (`FLAG_CLASS_FILTER`).
    pub(crate) const CLASS_FILTER: i32 = 0x1 << 3;

    /// `buildSysFlag`.
    pub(crate) fn build(
        commit_offset: bool,
        suspend: bool,
        subscription: bool,
        class_filter: bool,
    ) -> i32 {
        let mut flag = 0;
        if commit_offset {
            flag |= COMMIT_OFFSET;
        }
        if suspend {
            flag |= SUSPEND;
        }
        if subscription {
            flag |= SUBSCRIPTION;
        }
        if class_filter {
            flag |= CLASS_FILTER;
        }
        flag
    }
}

/// What one pull asks for.
#[derive(Debug, Clone)]
pub(crate) struct PullSpec {
    /// The queue.
    pub(crate) queue: MessageQueue,
    /// The offset to read from.
    pub(crate) offset: i64,
    /// The most messages to return.
    pub(crate) max_nums: i32,
    /// [`pull_sys_flag`] bits.
    pub(crate) sys_flag: i32,
    /// The offset to commit along the way (with `COMMIT_OFFSET`).
    pub(crate) commit_offset: i64,
    /// How long the broker may hold the pull (long polling).
    pub(crate) suspend: Duration,
    /// How long to wait for the answer.
    pub(crate) timeout: Duration,
}

/// Pulls for one consumer group.
pub(crate) struct PullApiWrapper {
    instance: Arc<MqClientInstance>,
    group: String,
    /// Queue → the broker id to pull it from next (`pullFromWhichNodeTable`).
    pull_from_which_node: Mutex<HashMap<MessageQueue, i64>>,
}

impl PullApiWrapper {
    pub(crate) fn new(instance: Arc<MqClientInstance>, group: impl Into<String>) -> Self {
        PullApiWrapper {
            instance,
            group: group.into(),
            pull_from_which_node: Mutex::new(HashMap::new()),
        }
    }

    /// The broker id to pull `queue` from (`recalculatePullFromWhichNode`).
    fn pull_from_which_node(&self, queue: &MessageQueue) -> i64 {
        self.pull_from_which_node
            .lock_unpoisoned()
            .get(queue)
            .copied()
            .unwrap_or(MASTER_ID)
    }

    /// Starts a pull (`pullKernelImpl`, async); `callback` gets the decoded answer, or the
    /// failure, exactly once, and gives it to [`PullApiWrapper::process_pull_result`] first.
    pub(crate) fn pull_async(
        &self,
        spec: PullSpec,
        subscription: &SubscriptionData,
        callback: Callback<PullResult>,
    ) {
        let FindBrokerResult { addr, slave } = match self.broker_for(&spec.queue) {
            Ok(found) => found,
            Err(e) => return callback(Err(e)),
        };
        let mut sys_flag = spec.sys_flag;
        if slave {
            // A slave cannot commit offsets.
            sys_flag &= !pull_sys_flag::COMMIT_OFFSET;
        }
        let with_expression = sys_flag & pull_sys_flag::SUBSCRIPTION != 0;
        let header = PullMessageRequestHeader {
            consumer_group: self.group.clone(),
            topic: spec.queue.topic.clone(),
            queue_id: spec.queue.queue_id,
            queue_offset: spec.offset,
            max_msg_nums: spec.max_nums,
            sys_flag,
            commit_offset: spec.commit_offset,
            suspend_timeout_millis: spec.suspend.as_millis() as i64,
            subscription: with_expression.then(|| subscription.sub_string.clone()),
            sub_version: subscription.sub_version,
            expression_type: Some(
                subscription
                    .expression_type
                    .clone()
                    .unwrap_or_else(|| EXPRESSION_TYPE_TAG.to_string()),
            ),
            bname: Some(spec.queue.broker_name.clone()),
            ..PullMessageRequestHeader::default()
        };
        trace_step!(
            "client",
            "pull {} from offset {} at {addr} (suspend {} ms)",
            spec.queue,
            spec.offset,
            header.suspend_timeout_millis
        );
        self.instance
            .api()
            .pull_message_async(&addr, &header, spec.timeout, callback);
    }

    /// The broker to pull `queue` from: the suggested one, else the master, else any; the
    /// topic's route is fetched first when the broker is unknown.
    fn broker_for(&self, queue: &MessageQueue) -> Result<FindBrokerResult, ClientError> {
        let choice = BrokerChoice::Prefer(self.pull_from_which_node(queue));
        self.instance
            .find_broker_address(queue, choice, self.instance.api_timeout_default())
    }

    /// Records where to pull next, logs and drops unreadable records, filters by tag, and
    /// sets the offset properties (`processPullResult`).
    pub(crate) fn process_pull_result(
        &self,
        queue: &MessageQueue,
        result: &mut PullResult,
        subscription: &SubscriptionData,
    ) {
        self.pull_from_which_node
            .lock_unpoisoned()
            .insert(queue.clone(), result.suggest_which_broker_id);
        if result.status != PullStatus::Found {
            return;
        }
        for skipped in &result.skipped {
            log::error!(
                "passing over a message of {queue} at offset {} that cannot be read: {}",
                skipped
                    .queue_offset
                    .map_or_else(|| "unknown".to_string(), |o| o.to_string()),
                skipped.error
            );
        }
        result.messages.retain(|m| tag_matches(subscription, m));
        let (min, max) = (result.min_offset.to_string(), result.max_offset.to_string());
        for message in &mut result.messages {
            message.properties.insert(PROPERTY_MIN_OFFSET, &min);
            message.properties.insert(PROPERTY_MAX_OFFSET, &max);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sys_flags_are_javas() {
        assert_eq!(pull_sys_flag::build(false, true, true, false), 6);
        assert_eq!(pull_sys_flag::build(true, true, true, false), 7);
        assert_eq!(pull_sys_flag::build(true, false, false, true), 9);
    }
}
