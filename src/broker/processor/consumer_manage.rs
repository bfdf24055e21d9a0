//! QUERY_CONSUMER_OFFSET (14), UPDATE_CONSUMER_OFFSET (15) and GET_CONSUMER_LIST_BY_GROUP (38);
//! mirrors Java's `ConsumerManageProcessor`.

use std::sync::Arc;

use super::BrokerContext;
use crate::protocol::body::GetConsumerListByGroupResponseBody;
use crate::protocol::codes::{request_code, response_code};
use crate::protocol::header::{
    GetConsumerListByGroupRequestHeader, QueryConsumerOffsetRequestHeader,
    QueryConsumerOffsetResponseHeader, UpdateConsumerOffsetRequestHeader,
};
use crate::protocol::{CommandCustomHeader, RemotingCommand};
use crate::remoting::{ProcessorError, RequestContext, RequestProcessor};

/// Serves consumer offsets and group membership.
pub(crate) struct ConsumerManageProcessor {
    broker: Arc<BrokerContext>,
}

impl ConsumerManageProcessor {
    /// A processor over the broker's shared state.
    pub(crate) fn new(broker: Arc<BrokerContext>) -> Self {
        ConsumerManageProcessor { broker }
    }

    fn query_offset(&self, request: &RemotingCommand) -> Result<RemotingCommand, ProcessorError> {
        let h = QueryConsumerOffsetRequestHeader::read_from(&request.ext_fields)?;
        let b = &self.broker;
        let offset = match b
            .offsets
            .query_offset(&h.consumer_group, &h.topic, h.queue_id)
        {
            Some(offset) => Some(offset),
            // A group that never committed starts at 0 while the queue still holds its first
            // message (Java: minOffset <= 0 and the message is not yet only on disk).
            None if h.set_zero_if_not_found != Some(false)
                && b.store.min_offset_in_queue(&h.topic, h.queue_id) <= 0 =>
            {
                Some(0)
            }
            None => None,
        };
        let Some(offset) = offset else {
            return Ok(RemotingCommand::new_response(
                response_code::QUERY_NOT_FOUND,
                "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first".to_string(),
            ));
        };
        let mut response = RemotingCommand::success();
        QueryConsumerOffsetResponseHeader { offset }.write_to(&mut response.ext_fields);
        Ok(response)
    }

    fn update_offset(&self, request: &RemotingCommand) -> Result<RemotingCommand, ProcessorError> {
        let h = UpdateConsumerOffsetRequestHeader::read_from(&request.ext_fields)?;
        self.broker
            .offsets
            .commit_offset(&h.consumer_group, &h.topic, h.queue_id, h.commit_offset);
        Ok(RemotingCommand::success())
    }

    fn consumer_list(&self, request: &RemotingCommand) -> Result<RemotingCommand, ProcessorError> {
        let h = GetConsumerListByGroupRequestHeader::read_from(&request.ext_fields)?;
        match self.broker.clients.consumer_group(&h.consumer_group) {
            Some(group) if !group.channels.is_empty() => {
                let body = GetConsumerListByGroupResponseBody {
                    consumer_id_list: group.client_ids(),
                };
                Ok(RemotingCommand::success().with_body(body.to_json().into_bytes()))
            }
            _ => Ok(RemotingCommand::new_response(
                response_code::SYSTEM_ERROR,
                format!("no consumer for this group, {}", h.consumer_group),
            )),
        }
    }
}

impl RequestProcessor for ConsumerManageProcessor {
    fn process_request(
        &self,
        _ctx: &RequestContext,
        request: RemotingCommand,
    ) -> Result<Option<RemotingCommand>, ProcessorError> {
        let response = match request.code {
            request_code::QUERY_CONSUMER_OFFSET => self.query_offset(&request)?,
            request_code::UPDATE_CONSUMER_OFFSET => self.update_offset(&request)?,
            _ => self.consumer_list(&request)?,
        };
        Ok(Some(response))
    }
}
