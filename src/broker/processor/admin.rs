//! UPDATE_AND_CREATE_TOPIC (17), SEARCH_OFFSET_BY_TIMESTAMP (29), GET_MAX_OFFSET (30),
//! GET_MIN_OFFSET (31), LOCK_BATCH_MQ (41), UNLOCK_BATCH_MQ (42); mirrors the parts of Java's
//! `AdminBrokerProcessor` clients use.

use std::sync::Arc;

use super::BrokerContext;
use crate::broker::topic_config_manager::{validate_topic_name, AUTO_CREATE_TOPIC_KEY_TOPIC};
use crate::protocol::body::{
    LockBatchRequestBody, LockBatchResponseBody, TopicConfig, TopicFilterType,
    UnlockBatchRequestBody,
};
use crate::protocol::codes::{request_code, response_code};
use crate::protocol::header::{
    CreateTopicRequestHeader, GetMaxOffsetRequestHeader, GetMaxOffsetResponseHeader,
    GetMinOffsetRequestHeader, GetMinOffsetResponseHeader, SearchOffsetRequestHeader,
    SearchOffsetResponseHeader,
};
use crate::protocol::{CommandCustomHeader, RemotingCommand};
use crate::remoting::{ProcessorError, RequestContext, RequestProcessor};

/// Serves topic administration, offset look-ups and ordered-consumer queue locks.
pub struct AdminBrokerProcessor {
    broker: Arc<BrokerContext>,
}

impl AdminBrokerProcessor {
    /// A processor over the broker's shared state.
    pub fn new(broker: Arc<BrokerContext>) -> Self {
        AdminBrokerProcessor { broker }
    }

    fn update_and_create_topic(
        &self,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, ProcessorError> {
        let h = CreateTopicRequestHeader::read_from(&request.ext_fields)?;
        if let Err(remark) = validate_topic_name(&h.topic) {
            return Ok(RemotingCommand::new_response(
                response_code::SYSTEM_ERROR,
                remark,
            ));
        }
        if h.topic == AUTO_CREATE_TOPIC_KEY_TOPIC {
            return Ok(RemotingCommand::new_response(
                response_code::SYSTEM_ERROR,
                "The specified topic is conflict with AUTO_CREATE_TOPIC_KEY_TOPIC.".to_string(),
            ));
        }
        let config = TopicConfig {
            read_queue_nums: h.read_queue_nums,
            write_queue_nums: h.write_queue_nums,
            perm: h.perm,
            topic_filter_type: TopicFilterType::from_name(&h.topic_filter_type)
                .unwrap_or(TopicFilterType::SingleTag),
            topic_sys_flag: h.topic_sys_flag.unwrap_or(0),
            order: h.order,
            ..TopicConfig::new(h.topic.clone())
        };
        self.broker
            .topics
            .update_topic_config(config)
            .map_err(|e| format!("persisting topic config failed: {e}"))?;
        self.broker.request_registration();
        Ok(RemotingCommand::success())
    }

    fn offset_reply(offset: i64, write: impl FnOnce(i64, &mut RemotingCommand)) -> RemotingCommand {
        let mut response = RemotingCommand::success();
        write(offset, &mut response);
        response
    }

    fn lock_batch(&self, request: &RemotingCommand) -> Result<RemotingCommand, ProcessorError> {
        let body = match LockBatchRequestBody::from_json(&request.body) {
            Ok(body) => body,
            Err(e) => {
                return Ok(RemotingCommand::new_response(
                    response_code::SYSTEM_ERROR,
                    format!("bad LOCK_BATCH_MQ body: {e}"),
                ))
            }
        };
        let locked =
            self.broker
                .locks
                .try_lock_batch(&body.consumer_group, &body.mq_set, &body.client_id);
        let response = LockBatchResponseBody {
            lock_ok_mq_set: locked,
        };
        Ok(RemotingCommand::success().with_body(response.to_json().into_bytes()))
    }

    fn unlock_batch(&self, request: &RemotingCommand) -> Result<RemotingCommand, ProcessorError> {
        let body = match UnlockBatchRequestBody::from_json(&request.body) {
            Ok(body) => body,
            Err(e) => {
                return Ok(RemotingCommand::new_response(
                    response_code::SYSTEM_ERROR,
                    format!("bad UNLOCK_BATCH_MQ body: {e}"),
                ))
            }
        };
        self.broker
            .locks
            .unlock_batch(&body.consumer_group, &body.mq_set, &body.client_id);
        Ok(RemotingCommand::success())
    }
}

impl RequestProcessor for AdminBrokerProcessor {
    fn process_request(
        &self,
        _ctx: &RequestContext,
        request: RemotingCommand,
    ) -> Result<Option<RemotingCommand>, ProcessorError> {
        let store = &self.broker.store;
        let response = match request.code {
            request_code::UPDATE_AND_CREATE_TOPIC => self.update_and_create_topic(&request)?,
            request_code::GET_MAX_OFFSET => {
                let h = GetMaxOffsetRequestHeader::read_from(&request.ext_fields)?;
                Self::offset_reply(
                    store.max_offset_in_queue(&h.topic, h.queue_id),
                    |offset, r| GetMaxOffsetResponseHeader { offset }.write_to(&mut r.ext_fields),
                )
            }
            request_code::GET_MIN_OFFSET => {
                let h = GetMinOffsetRequestHeader::read_from(&request.ext_fields)?;
                Self::offset_reply(
                    store.min_offset_in_queue(&h.topic, h.queue_id),
                    |offset, r| GetMinOffsetResponseHeader { offset }.write_to(&mut r.ext_fields),
                )
            }
            request_code::SEARCH_OFFSET_BY_TIMESTAMP => {
                let h = SearchOffsetRequestHeader::read_from(&request.ext_fields)?;
                Self::offset_reply(
                    store.offset_in_queue_by_time(&h.topic, h.queue_id, h.timestamp),
                    |offset, r| SearchOffsetResponseHeader { offset }.write_to(&mut r.ext_fields),
                )
            }
            request_code::LOCK_BATCH_MQ => self.lock_batch(&request)?,
            _ => self.unlock_batch(&request)?,
        };
        Ok(Some(response))
    }
}
