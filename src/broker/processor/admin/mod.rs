//! The broker's admin calls, what `mqadmin` and the dashboard use; mirrors Java's
//! `AdminBrokerProcessor`.
//!
//! - here: UPDATE_AND_CREATE_TOPIC (17), SEARCH_OFFSET_BY_TIMESTAMP (29), GET_MAX_OFFSET (30),
//!   GET_MIN_OFFSET (31), GET_EARLIEST_MSG_STORETIME (32), LOCK_BATCH_MQ (41),
//!   UNLOCK_BATCH_MQ (42);
//! - [`topic`]: GET_ALL_TOPIC_CONFIG (21), GET_TOPIC_STATS_INFO (202), DELETE_TOPIC_IN_BROKER
//!   (215), QUERY_TOPIC_CONSUME_BY_WHO (300), GET_TOPIC_CONFIG (351, 5.x);
//! - [`group`]: subscription groups (200, 201, 207, 352 of 5.x), connection lists (203, 204),
//!   GET_CONSUME_STATS (208);
//! - [`runtime`]: UPDATE_BROKER_CONFIG (25), GET_BROKER_CONFIG (26),
//!   GET_BROKER_RUNTIME_INFO (28).
//!
//! Calls the broker forwards to clients (222, 223, 307, 309) are `client_calls`'.

mod group;
mod runtime;
mod topic;

use std::sync::Arc;

use super::BrokerContext;
use crate::broker::pop::PopService;
use crate::broker::topic_config_manager::{validate_topic_name, AUTO_CREATE_TOPIC_KEY_TOPIC};
use crate::protocol::body::{
    LockBatchRequestBody, LockBatchResponseBody, TopicConfig, TopicFilterType,
    UnlockBatchRequestBody,
};
use crate::protocol::codes::{request_code, response_code};
use crate::protocol::header::{
    CreateTopicRequestHeader, GetEarliestMsgStoretimeRequestHeader,
    GetEarliestMsgStoretimeResponseHeader, GetMaxOffsetRequestHeader, GetMaxOffsetResponseHeader,
    GetMinOffsetRequestHeader, GetMinOffsetResponseHeader, SearchOffsetRequestHeader,
    SearchOffsetResponseHeader,
};
use crate::protocol::{CommandCustomHeader, RemotingCommand};
use crate::remoting::{ProcessorError, RequestContext, RequestProcessor};

/// Serves topic and group administration, statistics, offset look-ups and ordered-consumer
/// queue locks.
pub(crate) struct AdminBrokerProcessor {
    broker: Arc<BrokerContext>,
    /// The POP state: deleting a group with its offsets forgets its pop offsets too.
    pop: Arc<PopService>,
    /// Held by UPDATE_BROKER_CONFIG from reading the settings to swapping them.
    config_update: std::sync::Mutex<()>,
}

/// The codes this processor serves.
pub(crate) const ADMIN_CODES: [i32; 22] = [
    request_code::UPDATE_AND_CREATE_TOPIC,
    request_code::UPDATE_BROKER_CONFIG,
    request_code::GET_ALL_TOPIC_CONFIG,
    request_code::GET_BROKER_CONFIG,
    request_code::GET_BROKER_RUNTIME_INFO,
    request_code::SEARCH_OFFSET_BY_TIMESTAMP,
    request_code::GET_MAX_OFFSET,
    request_code::GET_MIN_OFFSET,
    request_code::GET_EARLIEST_MSG_STORETIME,
    request_code::LOCK_BATCH_MQ,
    request_code::UNLOCK_BATCH_MQ,
    request_code::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP,
    request_code::GET_ALL_SUBSCRIPTIONGROUP_CONFIG,
    request_code::GET_TOPIC_STATS_INFO,
    request_code::GET_CONSUMER_CONNECTION_LIST,
    request_code::GET_PRODUCER_CONNECTION_LIST,
    request_code::DELETE_SUBSCRIPTIONGROUP,
    request_code::GET_CONSUME_STATS,
    request_code::DELETE_TOPIC_IN_BROKER,
    request_code::QUERY_TOPIC_CONSUME_BY_WHO,
    request_code::GET_TOPIC_CONFIG,
    request_code::GET_SUBSCRIPTIONGROUP_CONFIG,
];

/// How long UPDATE_AND_CREATE_TOPIC waits for the registration (`registerBrokerTimeoutMills`).
const REGISTER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(6);

/// An error answer with `remark`.
fn error(code: i32, remark: impl Into<String>) -> RemotingCommand {
    RemotingCommand::new_response(code, remark.into())
}

impl AdminBrokerProcessor {
    /// A processor over the broker's shared state.
    pub(crate) fn new(broker: Arc<BrokerContext>, pop: Arc<PopService>) -> Self {
        AdminBrokerProcessor {
            broker,
            pop,
            config_update: std::sync::Mutex::new(()),
        }
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
        // As Java (registerIncrementBrokerData): the name servers know the topic when this
        // answers. A name server that is down does not fail the call.
        if !self.broker.register_and_wait(REGISTER_TIMEOUT) {
            log::warn!(
                "topic {} created; the name servers have not confirmed it within {} s",
                h.topic,
                REGISTER_TIMEOUT.as_secs()
            );
        }
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
            request_code::GET_EARLIEST_MSG_STORETIME => {
                let h = GetEarliestMsgStoretimeRequestHeader::read_from(&request.ext_fields)?;
                let min = store.min_offset_in_queue(&h.topic, h.queue_id);
                let timestamp = store
                    .store_timestamp_at(&h.topic, h.queue_id, min)
                    .unwrap_or(-1);
                let mut response = RemotingCommand::success();
                GetEarliestMsgStoretimeResponseHeader { timestamp }
                    .write_to(&mut response.ext_fields);
                response
            }
            request_code::LOCK_BATCH_MQ => self.lock_batch(&request)?,
            request_code::UNLOCK_BATCH_MQ => self.unlock_batch(&request)?,
            request_code::GET_ALL_TOPIC_CONFIG => self.get_all_topic_config(),
            request_code::GET_BROKER_CONFIG => self.get_broker_config(),
            request_code::UPDATE_BROKER_CONFIG => self.update_broker_config(&request),
            request_code::GET_BROKER_RUNTIME_INFO => self.get_broker_runtime_info(),
            request_code::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP => {
                self.update_subscription_group(&request)
            }
            request_code::GET_ALL_SUBSCRIPTIONGROUP_CONFIG => self.get_all_subscription_groups(),
            request_code::GET_TOPIC_STATS_INFO => self.get_topic_stats_info(&request)?,
            request_code::GET_TOPIC_CONFIG => self.get_topic_config(&request)?,
            request_code::GET_SUBSCRIPTIONGROUP_CONFIG => self.get_subscription_group(&request)?,
            request_code::GET_CONSUMER_CONNECTION_LIST => {
                self.get_consumer_connection_list(&request)?
            }
            request_code::GET_PRODUCER_CONNECTION_LIST => {
                self.get_producer_connection_list(&request)?
            }
            request_code::DELETE_SUBSCRIPTIONGROUP => self.delete_subscription_group(&request)?,
            request_code::GET_CONSUME_STATS => self.get_consume_stats(&request)?,
            request_code::DELETE_TOPIC_IN_BROKER => self.delete_topic(&request)?,
            request_code::QUERY_TOPIC_CONSUME_BY_WHO => {
                self.query_topic_consume_by_who(&request)?
            }
            other => error(
                response_code::REQUEST_CODE_NOT_SUPPORTED,
                format!(" request type {other} not supported"),
            ),
        };
        Ok(Some(response))
    }
}
