//! NOTIFICATION (200054) and POLLING_INFO (200055); mirror Java's `NotificationProcessor`
//! and `PollingInfoProcessor`.
//!
//! A NOTIFICATION asks whether a pop would find messages, and is held like a pop while none
//! would; POLLING_INFO counts the pops held on a queue.

use std::sync::Arc;
use std::time::Instant;

use super::pop_checks::{check_pop_target, fill_born_time, poll_deadline_at};
use super::BrokerContext;
use crate::broker::pop::{PollingResult, PopRequest, PopService, PopTarget};
use crate::common::clock::now_millis;
use crate::protocol::codes::request_code;
use crate::protocol::header::{
    pop_retry_topic_v1, NotificationRequestHeader, NotificationResponseHeader,
    PollingInfoRequestHeader, PollingInfoResponseHeader,
};
use crate::protocol::{CommandCustomHeader, RemotingCommand};
use crate::remoting::{ProcessorError, RequestContext, RequestProcessor};

/// Serves NOTIFICATION and POLLING_INFO.
pub(crate) struct NotificationProcessor {
    broker: Arc<BrokerContext>,
    pop: Arc<PopService>,
}

impl NotificationProcessor {
    /// A processor over the broker's shared state and its POP state.
    pub(crate) fn new(broker: Arc<BrokerContext>, pop: Arc<PopService>) -> Self {
        NotificationProcessor { broker, pop }
    }

    /// Whether a pop of `target` would find a message now: in its queue (any queue for -1)
    /// or, unless orderly, in its retry topic.
    pub(super) fn has_message(&self, target: &PopTarget) -> bool {
        let (topic, group) = (target.topic.as_str(), target.group.as_str());
        (!target.order && self.has_msg_in_topic(&pop_retry_topic_v1(topic, group), target))
            || if target.queue_id < 0 {
                self.has_msg_in_topic(topic, target)
            } else {
                self.has_msg_in_queue(topic, target, target.queue_id)
            }
    }

    /// Whether a pop of `target` would find a message in `topic`'s queue
    /// (`hasMsgFromQueue`): the queue holds messages past the group's offset (its first
    /// message when it has none), and is not blocked by an orderly pop.
    fn has_msg_in_queue(&self, topic: &str, target: &PopTarget, queue_id: i32) -> bool {
        let group = target.group.as_str();
        if target.order
            && self.pop.orders.check_block(
                target.attempt_id.as_deref(),
                topic,
                group,
                queue_id,
                0,
                now_millis(),
            )
        {
            return false;
        }
        let store = &self.broker.store;
        let offset = self
            .broker
            .offsets
            .query_offset(group, topic, queue_id)
            .unwrap_or_else(|| store.min_offset_in_queue(topic, queue_id));
        store.max_offset_in_queue(topic, queue_id) > offset
    }

    fn has_msg_in_topic(&self, topic: &str, target: &PopTarget) -> bool {
        self.broker
            .topics
            .select_topic_config(topic)
            .is_some_and(|config| {
                (0..config.read_queue_nums).any(|q| self.has_msg_in_queue(topic, target, q))
            })
    }

    /// `processRequest` for NOTIFICATION: answers now, or holds it (None); `held_until` is
    /// the deadline of a request held before and woken now.
    pub(crate) fn notification(
        &self,
        ctx: &RequestContext,
        mut request: RemotingCommand,
        held_until: Option<Instant>,
    ) -> Result<Option<RemotingCommand>, ProcessorError> {
        let now = now_millis();
        fill_born_time(&mut request, now);
        let header = NotificationRequestHeader::read_from(&request.ext_fields)?;
        let b = &self.broker;
        let topic = match check_pop_target(
            b,
            &header.topic,
            header.queue_id,
            &header.consumer_group,
            ctx.remote_addr(),
        ) {
            Ok(topic) => topic,
            Err(response) => return Ok(Some(response)),
        };
        let target = PopTarget {
            topic: topic.topic_name.clone(),
            group: header.consumer_group.clone(),
            queue_id: header.queue_id,
            order: header.order,
            attempt_id: header.attempt_id.clone(),
        };
        let has_msg = self.has_message(&target);
        let mut polling_full = false;
        if !has_msg {
            let deadline = held_until
                .unwrap_or_else(|| poll_deadline_at(header.born_time, header.poll_time, now));
            match self.pop.polling.polling(PopRequest {
                ctx: ctx.clone(),
                request,
                target,
                deadline,
                wake_at: deadline,
            }) {
                PollingResult::Suspended => return Ok(None),
                PollingResult::Full => polling_full = true,
                PollingResult::Timeout => {}
            }
        }
        let mut response = RemotingCommand::success();
        NotificationResponseHeader {
            has_msg,
            polling_full,
        }
        .write_to(&mut response.ext_fields);
        Ok(Some(response))
    }

    /// POLLING_INFO: how many pops are held on the queue.
    fn polling_info(
        &self,
        ctx: &RequestContext,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, ProcessorError> {
        let header = PollingInfoRequestHeader::read_from(&request.ext_fields)?;
        if let Err(response) = check_pop_target(
            &self.broker,
            &header.topic,
            header.queue_id,
            &header.consumer_group,
            ctx.remote_addr(),
        ) {
            return Ok(response);
        }
        let held =
            self.pop
                .polling
                .polling_num(&header.topic, &header.consumer_group, header.queue_id);
        let mut response = RemotingCommand::success();
        PollingInfoResponseHeader {
            polling_num: i32::try_from(held).unwrap_or(i32::MAX),
        }
        .write_to(&mut response.ext_fields);
        Ok(response)
    }
}

impl RequestProcessor for NotificationProcessor {
    fn process_request(
        &self,
        ctx: &RequestContext,
        request: RemotingCommand,
    ) -> Result<Option<RemotingCommand>, ProcessorError> {
        match request.code {
            request_code::POLLING_INFO => self.polling_info(ctx, &request).map(Some),
            _ => self.notification(ctx, request, None),
        }
    }
}
