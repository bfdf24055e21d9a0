//! POP_MESSAGE (200050); mirrors Java's `PopMessageProcessor`.
//!
//! A pop reads up to `maxMsgNums` messages from the topic's queues (one queue, or all of them
//! starting at a random one) and from the group's retry topic (first with
//! `popFromRetryProbability` percent, otherwise after the topic if the batch is not full).
//! Each queue read writes one checkpoint (durable before the queue's consumer offset moves
//! past its messages) and its messages stay invisible to other pops until acked or revived.
//! Nothing to pop: the request is held until a message arrives or `bornTime + pollTime`.
//!
//! An orderly pop (`order=true`, handles with revive queue 999) writes no checkpoint and
//! leaves the queue's offset alone: the queue is blocked for the group until the batch is
//! acked or visible again, then read again from the offset the acks moved.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::pop_checks::{check_pop_target, fill_born_time, poll_deadline_at};
use super::pull::request_filter;
use super::BrokerContext;
use crate::broker::filter::SubscriptionFilter;
use crate::broker::pop::{
    PollingResult, PopCheckpoint, PopRequest, PopRequestAnswerer, PopService, PopTarget,
};
use crate::broker::store::{GetMessageResult, GetMessageStatus};
use crate::common::clock::now_millis;
use crate::protocol::body::TopicConfig;
use crate::protocol::codes::{request_code, response_code};
use crate::protocol::header::{
    append_msg_offset_info, append_start_offset_info, pop_retry_topic_v1, ExtraInfo,
    PopMessageRequestHeader, PopMessageResponseHeader, PopRetryFlag, CONSUME_INIT_MODE_MIN,
};
use crate::protocol::message::properties::message_const;
use crate::protocol::message::{decode_message, encode_stored_message};
use crate::protocol::{CommandCustomHeader, RemotingCommand};
use crate::remoting::{ProcessorError, RequestContext, RequestProcessor};

/// The most messages one pop may ask for.
const MAX_POP_MSG_NUMS: i32 = 32;

/// A request later than this past `bornTime + pollTime` is answered POLLING_TIMEOUT at once
/// (`isTimeoutTooMuch`).
const TIMEOUT_TOO_MUCH_MS: i64 = 500;

/// The host part of the broker's address, for remarks naming the broker (`brokerIP1`).
pub(super) fn broker_ip(broker: &BrokerContext) -> &str {
    broker
        .broker_addr
        .rsplit_once(':')
        .map_or(broker.broker_addr.as_str(), |(host, _)| host)
}

fn response(code: i32, remark: String) -> RemotingCommand {
    RemotingCommand::new_response(code, remark)
}

fn poll_deadline(header: &PopMessageRequestHeader, now: i64) -> Instant {
    poll_deadline_at(header.born_time, header.poll_time, now)
}

/// The queue offset a stored record carries (bytes 20..28 of the stored format: size, magic,
/// body CRC, queue id and flag come first).
fn stored_queue_offset(record: &[u8]) -> Option<i64> {
    let bytes: [u8; 8] = record.get(20..28)?.try_into().ok()?;
    Some(i64::from_be_bytes(bytes))
}

/// Where a group's pops of a queue start when it has no offset (`getInitOffset`): the
/// queue's first message for `initMode` MIN and for retry topics; else the last message,
/// or the first while the queue still starts at 0 (Java's `initPopOffsetByCheckMsgInMem`).
fn init_offset(
    broker: &BrokerContext,
    topic: &str,
    queue_id: i32,
    init_mode: i32,
    retry: bool,
) -> i64 {
    let min = broker.store.min_offset_in_queue(topic, queue_id);
    if init_mode == CONSUME_INIT_MODE_MIN || retry || min <= 0 {
        return min.max(0);
    }
    (broker.store.max_offset_in_queue(topic, queue_id) - 1).max(0)
}

/// What one pop has gathered so far over the queues it read.
struct PopBatch<'a> {
    header: &'a PopMessageRequestHeader,
    filter: &'a SubscriptionFilter,
    pop_time: i64,
    revive_qid: i32,
    messages: Vec<Vec<u8>>,
    start_offset_info: String,
    msg_offset_info: String,
    /// Delivery counts of an orderly pop's messages.
    order_count_info: String,
    rest_num: i64,
    /// A checkpoint that could not be written: its messages were not handed out.
    checkpoint_error: Option<std::io::Error>,
}

/// Serves pops; also runs held pops and NOTIFICATIONs again when woken.
pub(crate) struct PopMessageProcessor {
    broker: Arc<BrokerContext>,
    pop: Arc<PopService>,
}

impl PopMessageProcessor {
    /// A processor over the broker's shared state and its POP state.
    pub(crate) fn new(broker: Arc<BrokerContext>, pop: Arc<PopService>) -> Self {
        PopMessageProcessor { broker, pop }
    }

    /// The pop's filter from its `expType` / `exp`: tags, or SQL92 compiled (through the
    /// broker's cache) when `enablePropertyFilter` is on, with Java's refusals otherwise.
    fn filter_for(
        &self,
        header: &PopMessageRequestHeader,
    ) -> Result<SubscriptionFilter, RemotingCommand> {
        request_filter(
            &self.broker,
            header.exp_type.as_deref(),
            header.exp.as_deref().unwrap_or("*"),
        )
    }

    /// The offset the next pop of a queue reads from (`getPopOffset`); a group's first pop
    /// of a queue commits its start.
    fn pop_offset(
        &self,
        topic: &str,
        queue_id: i32,
        header: &PopMessageRequestHeader,
        retry: bool,
    ) -> i64 {
        let b = &self.broker;
        if let Some(offset) = b
            .offsets
            .query_offset(&header.consumer_group, topic, queue_id)
        {
            return offset;
        }
        let offset = init_offset(b, topic, queue_id, header.init_mode, retry);
        b.offsets
            .commit_offset(&header.consumer_group, topic, queue_id, offset);
        offset
    }

    /// Pops from every read queue of `topic`, starting at `start` (`popMsgFromTopic`).
    fn pop_from_topic(&self, batch: &mut PopBatch<'_>, topic: &str, retry: bool, start: u32) {
        let Some(config) = self.broker.topics.select_topic_config(topic) else {
            return;
        };
        let queues = config.read_queue_nums.max(0) as u32;
        for i in 0..queues {
            self.pop_from_queue(batch, topic, retry, ((start + i) % queues) as i32);
        }
    }

    /// Pops what it can from one queue into `batch` (`popMsgFromQueue`).
    fn pop_from_queue(&self, batch: &mut PopBatch<'_>, topic: &str, retry: bool, queue_id: i32) {
        let b = &self.broker;
        let header = batch.header;
        let group = header.consumer_group.as_str();
        let Some(_lock) = self.pop.locks.try_lock(topic, group, queue_id) else {
            // Another pop reads this queue now: count what it leaves, move on.
            let offset = b.offsets.query_offset(group, topic, queue_id).unwrap_or(0);
            batch.rest_num += (b.store.max_offset_in_queue(topic, queue_id) - offset).max(0);
            return;
        };
        let mut offset = self.pop_offset(topic, queue_id, header, retry);
        if header.order
            && self.pop.orders.check_block(
                header.attempt_id.as_deref(),
                topic,
                group,
                queue_id,
                header.invisible_time,
                batch.pop_time,
            )
        {
            // A batch of this queue is out: nothing more until it is acked or visible again.
            return;
        }
        let wanted = header.max_msg_nums.clamp(1, MAX_POP_MSG_NUMS) - batch.messages.len() as i32;
        if wanted <= 0 {
            batch.rest_num += (b.store.max_offset_in_queue(topic, queue_id) - offset).max(0);
            return;
        }
        let mut result = b
            .store
            .get_message(topic, queue_id, offset, wanted, Some(batch.filter));
        if matches!(
            result.status,
            GetMessageStatus::OffsetTooSmall
                | GetMessageStatus::OffsetOverflowBadly
                | GetMessageStatus::OffsetFoundNull
        ) {
            // The offset is outside the queue (cleaned, or reset): start again where it is.
            log::warn!(
                "pop of {topic}@{group} queue {queue_id}: offset {offset} is {:?}; moved to {}",
                result.status,
                result.next_begin_offset
            );
            offset = result.next_begin_offset;
            b.offsets.commit_offset(group, topic, queue_id, offset);
            result = b
                .store
                .get_message(topic, queue_id, offset, wanted, Some(batch.filter));
        }
        if !result.messages.is_empty() {
            let queue_offsets: Vec<i64> = result
                .messages
                .iter()
                .map(|m| stored_queue_offset(m).unwrap_or(offset))
                .collect();
            if header.order {
                // No checkpoint: the offset stays until the batch is acked; the queue is
                // blocked meanwhile and read again from here once visible.
                self.pop.orders.update(
                    header.attempt_id.as_deref(),
                    topic,
                    group,
                    queue_id,
                    batch.pop_time,
                    header.invisible_time,
                    &queue_offsets,
                    now_millis(),
                    &mut batch.order_count_info,
                );
                b.offsets.commit_offset(group, topic, queue_id, offset);
            } else if !self.add_checkpoint(batch, topic, queue_id, offset, &queue_offsets, &result)
            {
                return;
            }
            append_start_offset_info(&mut batch.start_offset_info, topic, queue_id, offset);
            append_msg_offset_info(&mut batch.msg_offset_info, topic, queue_id, &queue_offsets);
            b.stats
                .inc_group_get_nums(group, topic, result.messages.len() as u64);
            for record in result.messages {
                let record = if retry && !self.pop.config.pop_response_return_actual_retry_topic {
                    self.as_original_topic(record, batch, offset)
                } else {
                    record
                };
                batch.messages.push(record);
            }
        } else if matches!(
            result.status,
            GetMessageStatus::NoMatchedMessage | GetMessageStatus::MessageWasRemoving
        ) {
            // Nothing here for this group's filter: the offset moves past what was read.
            b.offsets
                .commit_offset(group, topic, queue_id, result.next_begin_offset);
        }
        batch.rest_num += (result.max_offset - result.next_begin_offset).max(0);
    }

    /// Writes the checkpoint of a pop's messages of one queue, then moves the queue's offset
    /// past them; false (nothing handed out) when the checkpoint could not be written.
    fn add_checkpoint(
        &self,
        batch: &mut PopBatch<'_>,
        topic: &str,
        queue_id: i32,
        offset: i64,
        queue_offsets: &[i64],
        result: &GetMessageResult,
    ) -> bool {
        let b = &self.broker;
        let group = batch.header.consumer_group.as_str();
        let checkpoint = PopCheckpoint {
            id: 0,
            start_offset: offset,
            pop_time: batch.pop_time,
            invisible_time: batch.header.invisible_time.max(0),
            bit_map: 0,
            queue_id,
            topic: topic.to_string(),
            group: group.to_string(),
            queue_offset_diff: queue_offsets
                .iter()
                .map(|o| i32::try_from(o - offset).unwrap_or(i32::MAX))
                .collect(),
            broker_name: b.config.broker_name.clone(),
            revive_qid: batch.revive_qid,
        };
        // Durable first: only then may the queue's offset move past these messages.
        if let Err(e) = self
            .pop
            .checkpoints
            .add(checkpoint, Some(result.next_begin_offset))
        {
            log::error!(
                "pop of {topic}@{group} queue {queue_id}: writing its checkpoint failed: {e}"
            );
            batch.checkpoint_error = Some(e);
            batch.rest_num += (result.max_offset - offset).max(0);
            return false;
        }
        b.offsets
            .commit_offset(group, topic, queue_id, result.next_begin_offset);
        true
    }

    /// A message popped from the retry topic goes out under the topic the client popped,
    /// with its handle set (Java re-encodes it so; the client cannot build the handle of a
    /// message whose topic it did not ask for).
    fn as_original_topic(&self, record: Vec<u8>, batch: &PopBatch<'_>, ck_offset: i64) -> Vec<u8> {
        let Ok((mut message, _)) = decode_message(&record, false) else {
            return record;
        };
        if message
            .properties
            .get(message_const::PROPERTY_POP_CK)
            .is_none()
        {
            let handle = ExtraInfo {
                ck_queue_offset: ck_offset,
                pop_time: batch.pop_time,
                invisible_time: batch.header.invisible_time.max(0),
                revive_qid: batch.revive_qid,
                retry: PopRetryFlag::of_topic(&message.topic),
                broker_name: self.broker.config.broker_name.clone(),
                queue_id: Some(message.queue_id),
                queue_offset: Some(message.queue_offset),
            };
            message
                .properties
                .insert(message_const::PROPERTY_POP_CK, handle.to_string());
        }
        message.topic = batch.header.topic.clone();
        encode_stored_message(&message).unwrap_or(record)
    }

    /// When the first of the queues an orderly pop waits on unblocks, if one is blocked.
    fn unblocked_at(
        &self,
        header: &PopMessageRequestHeader,
        topic: &TopicConfig,
        now: i64,
    ) -> Option<Instant> {
        let queues: Vec<i32> = if header.queue_id < 0 {
            (0..topic.read_queue_nums).collect()
        } else {
            vec![header.queue_id]
        };
        queues
            .into_iter()
            .filter_map(|q| {
                self.pop.orders.lock_free_time(
                    &header.topic,
                    &header.consumer_group,
                    q,
                    header.invisible_time,
                )
            })
            .filter(|at| *at > now)
            .min()
            .map(|at| Instant::now() + Duration::from_millis((at - now) as u64))
    }

    /// `processRequest`: answers now, or holds the request (None). `held_until` is the
    /// deadline of a request held before and woken now.
    pub(crate) fn pop(
        &self,
        ctx: &RequestContext,
        mut request: RemotingCommand,
        held_until: Option<Instant>,
    ) -> Result<Option<RemotingCommand>, ProcessorError> {
        let now = now_millis();
        fill_born_time(&mut request, now);
        let header = PopMessageRequestHeader::read_from(&request.ext_fields)?;
        let b = &self.broker;
        // Exact arithmetic: both fields are the peer's.
        if i128::from(now) - i128::from(header.born_time) - i128::from(header.poll_time)
            > i128::from(TIMEOUT_TOO_MUCH_MS)
        {
            return Ok(Some(response(
                response_code::POLLING_TIMEOUT,
                format!(
                    "the broker[{}] pop message is timeout too much",
                    broker_ip(b)
                ),
            )));
        }
        if header.max_msg_nums > MAX_POP_MSG_NUMS {
            return Ok(Some(response(
                response_code::INVALID_PARAMETER,
                format!(
                    "the broker[{}] pop message's num is greater than 32",
                    broker_ip(b)
                ),
            )));
        }
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
        let filter = match self.filter_for(&header) {
            Ok(filter) => filter,
            Err(refused) => return Ok(Some(refused)),
        };
        let random = self.pop.random_percent();
        // Orderly pops read the topic only: a retry copy would break the order.
        let retry_first = !header.order && random < self.pop.config.pop_from_retry_probability;
        let retry_topic = pop_retry_topic_v1(&header.topic, &header.consumer_group);
        let mut batch = PopBatch {
            header: &header,
            filter: &filter,
            pop_time: now,
            revive_qid: self.pop.next_revive_qid(header.order),
            messages: Vec::new(),
            start_offset_info: String::new(),
            msg_offset_info: String::new(),
            order_count_info: String::new(),
            rest_num: 0,
            checkpoint_error: None,
        };
        if retry_first {
            self.pop_from_topic(&mut batch, &retry_topic, true, random);
        }
        if header.queue_id < 0 {
            self.pop_from_topic(&mut batch, &topic.topic_name, false, random);
        } else {
            self.pop_from_queue(&mut batch, &topic.topic_name, false, header.queue_id);
        }
        if !retry_first && !header.order && (batch.messages.len() as i32) < header.max_msg_nums {
            self.pop_from_topic(&mut batch, &retry_topic, true, random);
        }

        let (code, remark) = if !batch.messages.is_empty() {
            if batch.rest_num > 0 {
                // More than this pop could take: let another held pop of the key run.
                self.pop
                    .polling
                    .wake_one(&header.topic, &header.consumer_group, header.queue_id);
            }
            (response_code::SUCCESS, "FOUND")
        } else if let Some(e) = batch.checkpoint_error {
            return Ok(Some(response(
                response_code::SYSTEM_ERROR,
                format!("the pop checkpoint could not be written, nothing was popped: {e}"),
            )));
        } else {
            let deadline = held_until.unwrap_or_else(|| poll_deadline(&header, now));
            let wake_at = if header.order {
                self.unblocked_at(&header, &topic, now)
                    .map_or(deadline, |at| at.min(deadline))
            } else {
                deadline
            };
            match self.pop.polling.polling(PopRequest {
                ctx: ctx.clone(),
                request,
                target: PopTarget {
                    topic: header.topic.clone(),
                    group: header.consumer_group.clone(),
                    queue_id: header.queue_id,
                    order: header.order,
                    attempt_id: header.attempt_id.clone(),
                },
                deadline,
                wake_at,
            }) {
                PollingResult::Suspended => return Ok(None),
                PollingResult::Full => (response_code::POLLING_FULL, "NO_MESSAGE_IN_QUEUE"),
                PollingResult::Timeout => (response_code::POLLING_TIMEOUT, "NO_MESSAGE_IN_QUEUE"),
            }
        };
        let mut response = RemotingCommand::new_response(code, remark.to_string());
        PopMessageResponseHeader {
            pop_time: batch.pop_time,
            invisible_time: header.invisible_time,
            revive_qid: batch.revive_qid,
            rest_num: batch.rest_num,
            start_offset_info: Some(batch.start_offset_info),
            msg_offset_info: Some(batch.msg_offset_info),
            order_count_info: header.order.then_some(batch.order_count_info),
        }
        .write_to(&mut response.ext_fields);
        if code == response_code::SUCCESS {
            response.body = batch.messages.concat().into();
        }
        Ok(Some(response))
    }
}

impl RequestProcessor for PopMessageProcessor {
    fn process_request(
        &self,
        ctx: &RequestContext,
        request: RemotingCommand,
    ) -> Result<Option<RemotingCommand>, ProcessorError> {
        self.pop(ctx, request, None)
    }
}

/// Runs woken pops and NOTIFICATIONs again on the `rmq-pop-polling` thread; the answer is
/// queued for the connection's writer, so a slow reader stalls nobody.
pub(crate) struct PopWakeUp {
    pub(crate) pop: Arc<PopMessageProcessor>,
    pub(crate) notification: Arc<super::pop_notification::NotificationProcessor>,
}

impl PopRequestAnswerer for PopWakeUp {
    fn execute_when_wakeup(&self, held: PopRequest) {
        let ctx = held.ctx.clone();
        let answer = if held.request.code == request_code::NOTIFICATION {
            self.notification
                .notification(&held.ctx, held.request, Some(held.deadline))
        } else {
            self.pop.pop(&held.ctx, held.request, Some(held.deadline))
        };
        match answer {
            Ok(Some(response)) => ctx.reply(response),
            Ok(None) => {}
            Err(e) => ctx.reply(RemotingCommand::new_response(
                response_code::SYSTEM_ERROR,
                e.to_string(),
            )),
        }
    }

    fn has_message(&self, target: &PopTarget) -> bool {
        self.notification.has_message(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::message::MessageExt;

    #[test]
    fn reads_the_queue_offset_of_a_stored_record() {
        let message = MessageExt {
            topic: "T".into(),
            queue_id: 3,
            queue_offset: 4242,
            body: b"x".to_vec().into(),
            ..MessageExt::default()
        };
        let record = encode_stored_message(&message).unwrap();
        assert_eq!(stored_queue_offset(&record), Some(4242));
        assert_eq!(stored_queue_offset(&record[..27]), None);
    }
}
