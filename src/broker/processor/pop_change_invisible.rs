//! CHANGE_MESSAGE_INVISIBLETIME (200053); mirrors Java's `ChangeInvisibleTimeProcessor`.
//!
//! The message gets a checkpoint of its own, popped now and invisible for the time asked,
//! and is acked in its old one: it comes back at the new deadline, not the old. The answer
//! carries the new pop time, from which the client builds the message's new handle.
//!
//! One difference from Java: a handle whose checkpoint no longer holds the message un-acked
//! (acked already, or revived after its invisible time) is answered NO_MESSAGE and nothing is
//! written. Java writes the new checkpoint anyway, so such a message would come back a
//! second time (or an acked one again).

use std::sync::Arc;

use super::pop_ack::{check_ack_target, OffsetRange};
use super::BrokerContext;
use crate::broker::pop::{CheckpointKey, PopService};
use crate::common::clock::now_millis;
use crate::protocol::codes::response_code;
use crate::protocol::header::{
    ChangeInvisibleTimeRequestHeader, ChangeInvisibleTimeResponseHeader, ExtraInfo,
};
use crate::protocol::{CommandCustomHeader, RemotingCommand};
use crate::remoting::{ProcessorError, RequestContext, RequestProcessor};

/// The remark of every answer Java gives here but its failures: it builds the response with
/// `createResponseCommand(Class)`, which presets this remark, and only sets the code.
const DEFAULT_REMARK: &str = "not set any response code";

/// Serves invisibility changes.
pub(crate) struct ChangeInvisibleTimeProcessor {
    broker: Arc<BrokerContext>,
    pop: Arc<PopService>,
}

impl ChangeInvisibleTimeProcessor {
    /// A processor over the broker's shared state and its POP state.
    pub(crate) fn new(broker: Arc<BrokerContext>, pop: Arc<PopService>) -> Self {
        ChangeInvisibleTimeProcessor { broker, pop }
    }

    fn change(
        &self,
        ctx: &RequestContext,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, ProcessorError> {
        let header = ChangeInvisibleTimeRequestHeader::read_from(&request.ext_fields)?;
        if let Err(response) = check_ack_target(
            &self.broker,
            &header.topic,
            header.queue_id,
            header.offset,
            OffsetRange::BelowMax,
            ctx.remote_addr(),
        ) {
            return Ok(response);
        }
        let handle = ExtraInfo::parse(&header.extra_info)?;
        if handle.is_order() {
            return Ok(self.change_orderly(&header, &handle));
        }
        let key = CheckpointKey::of_handle(
            &header.topic,
            &header.consumer_group,
            header.queue_id,
            &handle,
        );
        let changed = self.pop.checkpoints.change_invisible_time(
            &key,
            &handle.broker_name,
            header.offset,
            header.invisible_time,
            now_millis(),
        );
        match changed {
            Ok(Some(checkpoint)) => {
                let mut response = RemotingCommand::new_response(
                    response_code::SUCCESS,
                    DEFAULT_REMARK.to_string(),
                );
                ChangeInvisibleTimeResponseHeader {
                    pop_time: checkpoint.pop_time,
                    invisible_time: header.invisible_time,
                    revive_qid: handle.revive_qid,
                }
                .write_to(&mut response.ext_fields);
                Ok(response)
            }
            Ok(None) => Ok(RemotingCommand::new_response(
                response_code::NO_MESSAGE,
                format!(
                    "the message at {}@{} queue {} offset {} is not invisible under this handle: \
                     it was acked, or its invisible time passed and it came back",
                    header.topic, header.consumer_group, header.queue_id, header.offset
                ),
            )),
            Err(e) => Ok(RemotingCommand::new_response(
                response_code::SYSTEM_ERROR,
                format!("the new checkpoint could not be written: {e}"),
            )),
        }
    }
}

impl ChangeInvisibleTimeProcessor {
    /// An orderly pop's message (`processChangeInvisibleTimeForOrder`): the queue's order
    /// record says when it is visible again; its handle keeps the pop time.
    fn change_orderly(
        &self,
        header: &ChangeInvisibleTimeRequestHeader,
        handle: &ExtraInfo,
    ) -> RemotingCommand {
        let (topic, group, queue_id) = (&header.topic, &header.consumer_group, header.queue_id);
        let answer = |pop_time: i64, invisible_time: i64, revive_qid: i32| {
            let mut response =
                RemotingCommand::new_response(response_code::SUCCESS, DEFAULT_REMARK.to_string());
            ChangeInvisibleTimeResponseHeader {
                pop_time,
                invisible_time,
                revive_qid,
            }
            .write_to(&mut response.ext_fields);
            response
        };
        let committed = || {
            self.broker
                .offsets
                .query_offset(group, topic, queue_id)
                .unwrap_or(-1)
        };
        // Already acked past it: Java answers with the header's zero values.
        if header.offset < committed() {
            return answer(0, 0, 0);
        }
        let _lock = self.pop.locks.lock(topic, group, queue_id);
        if header.offset < committed() {
            return answer(0, 0, 0);
        }
        let next_visible = now_millis().saturating_add(header.invisible_time);
        self.pop.orders.update_next_visible_time(
            topic,
            group,
            queue_id,
            header.offset,
            handle.pop_time,
            next_visible,
        );
        answer(
            handle.pop_time,
            next_visible.saturating_sub(handle.pop_time),
            handle.revive_qid,
        )
    }
}

impl RequestProcessor for ChangeInvisibleTimeProcessor {
    fn process_request(
        &self,
        ctx: &RequestContext,
        request: RemotingCommand,
    ) -> Result<Option<RemotingCommand>, ProcessorError> {
        self.change(ctx, &request).map(Some)
    }
}
