//! QUERY_MESSAGE (12) and VIEW_MESSAGE_BY_ID (33): messages by key or unique id, and one
//! message by its commit log offset (from an offset message id); mirrors Java's
//! `QueryMessageProcessor`. The answers carry the stored records byte for byte.

use std::sync::Arc;

use super::BrokerContext;
use crate::protocol::codes::{request_code, response_code};
use crate::protocol::header::{
    QueryMessageRequestHeader, QueryMessageResponseHeader, ViewMessageRequestHeader,
    UNIQUE_MSG_QUERY_FLAG,
};
use crate::protocol::{CommandCustomHeader, RemotingCommand};
use crate::remoting::{ProcessorError, RequestContext, RequestProcessor};

/// How many messages a unique-key query returns (`defaultQueryMaxNum`, 32).
const DEFAULT_QUERY_MAX_NUM: usize = 32;

/// Serves key and id queries from the store's index.
pub(crate) struct QueryMessageProcessor {
    broker: Arc<BrokerContext>,
}

impl QueryMessageProcessor {
    /// A processor over the broker's shared state.
    pub(crate) fn new(broker: Arc<BrokerContext>) -> Self {
        QueryMessageProcessor { broker }
    }

    fn query_message(&self, request: &RemotingCommand) -> Result<RemotingCommand, ProcessorError> {
        let h = QueryMessageRequestHeader::read_from(&request.ext_fields)?;
        let unique = request.ext_fields.get(UNIQUE_MSG_QUERY_FLAG) == Some("true");
        let max_num = if unique {
            DEFAULT_QUERY_MAX_NUM
        } else {
            usize::try_from(h.max_num).unwrap_or(0)
        };
        let found = self.broker.store.query_message(
            &h.topic,
            &h.key,
            max_num,
            h.begin_timestamp,
            h.end_timestamp,
        );
        let mut response = if found.messages.is_empty() {
            RemotingCommand::new_response(
                response_code::QUERY_NOT_FOUND,
                "can not find message, maybe time range not correct".to_string(),
            )
        } else {
            RemotingCommand::success().with_body(found.messages.concat())
        };
        QueryMessageResponseHeader {
            index_last_update_timestamp: found.index_last_update_timestamp,
            index_last_update_phyoffset: found.index_last_update_phy_offset,
        }
        .write_to(&mut response.ext_fields);
        Ok(response)
    }

    fn view_message_by_id(
        &self,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, ProcessorError> {
        let h = ViewMessageRequestHeader::read_from(&request.ext_fields)?;
        Ok(
            match self.broker.store.select_one_message_by_offset(h.offset) {
                Some(record) => RemotingCommand::success().with_body(record),
                None => RemotingCommand::new_response(
                    response_code::SYSTEM_ERROR,
                    format!("can not find message by the offset, {}", h.offset),
                ),
            },
        )
    }
}

impl RequestProcessor for QueryMessageProcessor {
    fn process_request(
        &self,
        _ctx: &RequestContext,
        request: RemotingCommand,
    ) -> Result<Option<RemotingCommand>, ProcessorError> {
        let response = match request.code {
            request_code::QUERY_MESSAGE => self.query_message(&request)?,
            _ => self.view_message_by_id(&request)?,
        };
        Ok(Some(response))
    }
}
