//! RECALL_MESSAGE (370, RocketMQ 5.3): cancels a timer message not yet delivered; mirrors
//! Java's `RecallMessageProcessor`.
//!
//! The handle names the message's topic, broker, slot time and unique id. A recall stores a
//! marker in the same slot of the timer; the timer store, meeting the marker before the
//! message (it is newer), does not deliver the message. A message already due cannot be
//! recalled: Java answers ILLEGAL_OPERATION "recall failed, timestamp invalid".

use std::sync::Arc;

use super::BrokerContext;
use crate::broker::store::PutMessageStatus;
use crate::broker::timer::transform_timer_message;
use crate::common::clock::now_millis;
use crate::protocol::codes::response_code;
use crate::protocol::header::{RecallMessageRequestHeader, RecallMessageResponseHeader};
use crate::protocol::message::message_const::{
    PROPERTY_BORN_TIMESTAMP, PROPERTY_MSG_REGION, PROPERTY_PRODUCER_GROUP, PROPERTY_TAGS,
    PROPERTY_TIMER_DELIVER_MS, PROPERTY_TIMER_DEL_UNIQKEY, PROPERTY_TRACE_CONTEXT,
    PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
};
use crate::protocol::message::recall_handle::RecallHandle;
use crate::protocol::message::MessageExt;
use crate::protocol::{CommandCustomHeader, RemotingCommand};
use crate::remoting::{ProcessorError, RequestContext, RequestProcessor};

/// The tag of a recall marker (`RecallMessageProcessor.RECALL_MESSAGE_TAG`).
const RECALL_MESSAGE_TAG: &str = "_RECALL_TAG_";

/// Serves recalls of timer messages.
pub(crate) struct RecallMessageProcessor {
    broker: Arc<BrokerContext>,
}

impl RecallMessageProcessor {
    /// A processor over the broker's shared state.
    pub(crate) fn new(broker: Arc<BrokerContext>) -> Self {
        RecallMessageProcessor { broker }
    }

    fn recall(
        &self,
        ctx: &RequestContext,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, ProcessorError> {
        let b = &self.broker;
        let refuse = |code, remark: &str| {
            let mut response = RemotingCommand::new_response(code, remark.to_string());
            response
                .ext_fields
                .insert(PROPERTY_MSG_REGION, &b.config.region_id);
            response
        };
        let header = RecallMessageRequestHeader::read_from(&request.ext_fields)?;
        if !b.setting(|c| c.recall_message_enable) {
            return Ok(refuse(
                response_code::NO_PERMISSION,
                "recall failed, operation is forbidden",
            ));
        }
        if b.topics.select_topic_config(&header.topic).is_none() {
            return Ok(refuse(
                response_code::TOPIC_NOT_EXIST,
                &format!("recall failed, the topic[{}] not exist", header.topic),
            ));
        }
        let handle = match RecallHandle::decode(&header.recall_handle) {
            Ok(handle) => handle,
            Err(remark) => return Ok(refuse(response_code::ILLEGAL_OPERATION, remark)),
        };
        if handle.topic != header.topic {
            return Ok(refuse(
                response_code::ILLEGAL_OPERATION,
                "recall failed, topic not match",
            ));
        }
        if handle.broker_name != b.config.broker_name {
            return Ok(refuse(
                response_code::ILLEGAL_OPERATION,
                "recall failed, broker service not available",
            ));
        }
        let now = now_millis();
        let time_left = handle.timestamp_ms().saturating_sub(now);
        if time_left <= 0 || time_left >= b.config.timer_max_delay_sec.saturating_mul(1000) {
            return Ok(refuse(
                response_code::ILLEGAL_OPERATION,
                "recall failed, timestamp invalid",
            ));
        }
        let mut marker = MessageExt {
            topic: handle.topic.clone(),
            body: b"0".to_vec().into(),
            queue_id: 0,
            born_timestamp: now,
            born_host: ctx.remote_addr().parse().unwrap_or(b.store_host),
            store_host: b.store_host,
            ..MessageExt::default()
        };
        let props = &mut marker.properties;
        props.insert(PROPERTY_TAGS, RECALL_MESSAGE_TAG);
        props.insert(
            PROPERTY_TIMER_DEL_UNIQKEY,
            format!("{}+{}", handle.topic, handle.message_id),
        );
        props.insert(
            PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
            handle.message_id.clone(),
        );
        props.insert(PROPERTY_TIMER_DELIVER_MS, handle.timestamp.clone());
        props.insert(PROPERTY_BORN_TIMESTAMP, now.to_string());
        props.insert(PROPERTY_TRACE_CONTEXT, "");
        if let Some(group) = &header.producer_group {
            props.insert(PROPERTY_PRODUCER_GROUP, group.clone());
        }
        let stored = transform_timer_message(&mut marker, b.timer.settings(), now)
            .ok()
            .and_then(|()| b.store.put_message(marker).ok())
            .is_some_and(|result| {
                matches!(
                    result.status,
                    PutMessageStatus::PutOk
                        | PutMessageStatus::FlushDiskTimeout
                        | PutMessageStatus::FlushSlaveTimeout
                        | PutMessageStatus::SlaveNotAvailable
                )
            });
        if !stored {
            return Ok(refuse(
                response_code::SYSTEM_ERROR,
                "recall failed, execute error",
            ));
        }
        let mut response = RemotingCommand::success();
        response
            .ext_fields
            .insert(PROPERTY_MSG_REGION, &b.config.region_id);
        RecallMessageResponseHeader {
            msg_id: handle.message_id,
        }
        .write_to(&mut response.ext_fields);
        Ok(response)
    }
}

impl RequestProcessor for RecallMessageProcessor {
    fn process_request(
        &self,
        ctx: &RequestContext,
        request: RemotingCommand,
    ) -> Result<Option<RemotingCommand>, ProcessorError> {
        self.recall(ctx, &request).map(Some)
    }
}
