//! ACK_MESSAGE (200051) and BATCH_ACK_MESSAGE (200151); mirrors Java's `AckMessageProcessor`.
//!
//! An ack sets the message's bit in its checkpoint (found by the handle's topic, group, queue,
//! start offset and pop time), durably; a checkpoint whose messages are all acked is done and
//! none of them comes back. An ack whose checkpoint is gone (revived after its invisible time,
//! or never written) changes nothing and succeeds, as in Java. An orderly pop's ack moves the
//! queue's offset instead (`ackOrderly`).

use std::sync::Arc;

use super::pop_checks::FAQ_URL;
use super::{suggest_todo, BrokerContext};
use crate::broker::pop::{CheckpointKey, OrderCommit, PopService};
use crate::common::clock::now_millis;
use crate::protocol::body::{BatchAckMessageRequestBody, TopicConfig};
use crate::protocol::codes::{request_code, response_code};
use crate::protocol::header::{
    AckMessageRequestHeader, ExtraInfo, PopRetryFlag, POP_ORDER_REVIVE_QUEUE,
};
use crate::protocol::{CommandCustomHeader, HeaderError, RemotingCommand};
use crate::remoting::{ProcessorError, RequestContext, RequestProcessor};

/// The most offsets one orderly batch ack is looked at for (a pop hands out at most 32).
const MAX_ORDERLY_ACKS: usize = 64;

/// Which offsets count as in a queue for an ack (Java: `[min, max]`) or an invisibility
/// change (`[min, max)`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum OffsetRange {
    UpToMax,
    BelowMax,
}

/// The checks an ack and an invisibility change make first, with Java's codes and remarks:
/// the topic exists, the queue is one of its read queues, the offset is in the queue. Remarks
/// of an offset outside the queue are only given for acks (Java's invisibility change keeps
/// its default remark).
pub(super) fn check_ack_target(
    broker: &BrokerContext,
    topic: &str,
    queue_id: i32,
    offset: i64,
    range: OffsetRange,
    remote: &str,
) -> Result<TopicConfig, RemotingCommand> {
    let Some(config) = broker.topics.select_topic_config(topic) else {
        return Err(RemotingCommand::new_response(
            response_code::TOPIC_NOT_EXIST,
            format!(
                "topic[{topic}] not exist, apply first please! {}",
                suggest_todo(FAQ_URL)
            ),
        ));
    };
    if queue_id < 0 || queue_id >= config.read_queue_nums {
        return Err(RemotingCommand::new_response(
            response_code::MESSAGE_ILLEGAL,
            format!(
                "queueId[{queue_id}] is illegal, topic:[{topic}] topicConfig.readQueueNums:[{}] consumer:[{remote}]",
                config.read_queue_nums
            ),
        ));
    }
    let min = broker.store.min_offset_in_queue(topic, queue_id);
    let max = broker.store.max_offset_in_queue(topic, queue_id);
    let outside = match range {
        OffsetRange::UpToMax => offset < min || offset > max,
        OffsetRange::BelowMax => offset < min || offset >= max,
    };
    if outside {
        let remark = match range {
            OffsetRange::UpToMax => format!(
                "offset is illegal, key:{topic}@{queue_id}, commit:{offset}, store:{min}~{max}"
            ),
            OffsetRange::BelowMax => "not set any response code".to_string(),
        };
        return Err(RemotingCommand::new_response(
            response_code::NO_MESSAGE,
            remark,
        ));
    }
    Ok(config)
}

/// An orderly pop's ack (`ackOrderly`): the message is marked done in the queue's order
/// record and the group's offset moves to the first message of the batch not acked yet (past
/// the batch once all are); then the queue is free and held pops of it run.
pub(super) fn ack_orderly(
    broker: &BrokerContext,
    pop: &PopService,
    target: (&str, &str, i32),
    offset: i64,
    pop_time: i64,
    remote: &str,
) -> RemotingCommand {
    let (topic, group, queue_id) = target;
    let committed = || {
        broker
            .offsets
            .query_offset(group, topic, queue_id)
            .unwrap_or(-1)
    };
    if offset < committed() {
        return RemotingCommand::success();
    }
    let _lock = pop.locks.lock(topic, group, queue_id);
    let old = committed();
    if offset < old {
        return RemotingCommand::success();
    }
    match pop
        .orders
        .commit_and_next(topic, group, queue_id, offset, pop_time)
    {
        OrderCommit::Next(next) => {
            broker.offsets.commit_offset(group, topic, queue_id, next);
            if !pop
                .orders
                .check_block(None, topic, group, queue_id, 0, now_millis())
            {
                pop.polling.wake_one(topic, group, queue_id);
                pop.polling.wake_one(topic, group, -1);
            }
            RemotingCommand::success()
        }
        OrderCommit::Stale => RemotingCommand::success(),
        OrderCommit::Illegal => RemotingCommand::new_response(
            response_code::MESSAGE_ILLEGAL,
            format!(
                "offset is illegal, key:{topic}@{group}@{queue_id}, old:{old}, commit:{offset}, next:-1, {remote}"
            ),
        ),
    }
}

/// Serves acks.
pub(crate) struct AckMessageProcessor {
    broker: Arc<BrokerContext>,
    pop: Arc<PopService>,
}

impl AckMessageProcessor {
    /// A processor over the broker's shared state and its POP state.
    pub(crate) fn new(broker: Arc<BrokerContext>, pop: Arc<PopService>) -> Self {
        AckMessageProcessor { broker, pop }
    }

    fn ack(
        &self,
        ctx: &RequestContext,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, ProcessorError> {
        let header = AckMessageRequestHeader::read_from(&request.ext_fields)?;
        if let Err(response) = check_ack_target(
            &self.broker,
            &header.topic,
            header.queue_id,
            header.offset,
            OffsetRange::UpToMax,
            ctx.remote_addr(),
        ) {
            return Ok(response);
        }
        // A malformed handle is SYSTEM_ERROR naming the field, as Java's exception is.
        let handle = ExtraInfo::parse(&header.extra_info)?;
        if handle.is_order() {
            return Ok(ack_orderly(
                &self.broker,
                &self.pop,
                (&header.topic, &header.consumer_group, header.queue_id),
                header.offset,
                handle.pop_time,
                ctx.remote_addr(),
            ));
        }
        let key = CheckpointKey::of_handle(
            &header.topic,
            &header.consumer_group,
            header.queue_id,
            &handle,
        );
        let offset = header.offset;
        match self
            .pop
            .checkpoints
            .ack(&key, &handle.broker_name, |o| o == offset)
        {
            Ok(0) => log::debug!(
                "ack of {}@{} queue {} offset {offset} from {}: no open checkpoint holds it un-acked",
                header.topic,
                header.consumer_group,
                header.queue_id,
                ctx.remote_addr()
            ),
            Ok(_) => {}
            Err(e) => {
                return Ok(RemotingCommand::new_response(
                    response_code::SYSTEM_ERROR,
                    format!("the ack could not be written: {e}"),
                ))
            }
        }
        Ok(RemotingCommand::success())
    }

    fn batch_ack(
        &self,
        ctx: &RequestContext,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, ProcessorError> {
        if request.body.is_empty() {
            return Ok(RemotingCommand::new_response(
                response_code::NO_MESSAGE,
                None,
            ));
        }
        let body = BatchAckMessageRequestBody::from_json(&request.body)?;
        if body.acks.is_empty() {
            return Ok(RemotingCommand::new_response(
                response_code::NO_MESSAGE,
                None,
            ));
        }
        // Every ack is read before any is applied: a bad one changes nothing.
        let mut keys = Vec::with_capacity(body.acks.len());
        for ack in &body.acks {
            let retry =
                PopRetryFlag::parse(&ack.retry).ok_or_else(|| HeaderError::InvalidField {
                    field: "r",
                    value: ack.retry.chars().take(16).collect(),
                })?;
            keys.push(CheckpointKey {
                topic: retry.real_topic(&ack.topic, &ack.consumer_group),
                group: ack.consumer_group.clone(),
                queue_id: ack.queue_id,
                start_offset: ack.start_offset,
                pop_time: ack.pop_time,
            });
        }
        let broker_name = body
            .broker_name
            .clone()
            .unwrap_or_else(|| self.broker.config.broker_name.clone());
        for (ack, key) in body.acks.iter().zip(keys) {
            let store = &self.broker.store;
            let min = store.min_offset_in_queue(&key.topic, key.queue_id);
            let max = store.max_offset_in_queue(&key.topic, key.queue_id);
            if ack.revive_queue_id == POP_ORDER_REVIVE_QUEUE {
                // Each offset in turn, as Java; an orderly pop hands out at most 32.
                let offsets = ack
                    .acked_indexes()
                    .filter_map(|i| {
                        i64::try_from(i)
                            .ok()
                            .map(|i| ack.start_offset.saturating_add(i))
                    })
                    .take_while(|o| *o <= max)
                    .filter(|o| *o >= min)
                    .take(MAX_ORDERLY_ACKS);
                for offset in offsets {
                    let answer = ack_orderly(
                        &self.broker,
                        &self.pop,
                        (&key.topic, &key.group, key.queue_id),
                        offset,
                        ack.pop_time,
                        ctx.remote_addr(),
                    );
                    if answer.code != response_code::SUCCESS {
                        return Ok(answer);
                    }
                }
                continue;
            }
            let acked = |offset: i64| {
                if offset < min || offset > max {
                    return false;
                }
                let Some(Ok(index)) = offset.checked_sub(ack.start_offset).map(u64::try_from)
                else {
                    return false;
                };
                usize::try_from(index / 8)
                    .ok()
                    .and_then(|byte| ack.bit_set.get(byte))
                    .is_some_and(|bits| bits & (1 << (index % 8)) != 0)
            };
            if let Err(e) = self.pop.checkpoints.ack(&key, &broker_name, acked) {
                return Ok(RemotingCommand::new_response(
                    response_code::SYSTEM_ERROR,
                    format!("the ack could not be written: {e}"),
                ));
            }
        }
        Ok(RemotingCommand::success())
    }
}

impl RequestProcessor for AckMessageProcessor {
    fn process_request(
        &self,
        ctx: &RequestContext,
        request: RemotingCommand,
    ) -> Result<Option<RemotingCommand>, ProcessorError> {
        let response = match request.code {
            request_code::BATCH_ACK_MESSAGE => self.batch_ack(ctx, &request)?,
            _ => self.ack(ctx, &request)?,
        };
        Ok(Some(response))
    }
}
