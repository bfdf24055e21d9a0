//! The RPCs consumers make, as more `MqClientApi` methods (Java's `MQClientAPIImpl`): one
//! function per request, building it, sending it and reading the answer.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::client::shared::error::ClientError;
use crate::client::shared::mq_client_api::{
    expect_body, expect_success, process_pull_response, MqClientApi,
};
use crate::client::shared::result::PullResult;
use crate::protocol::body::{
    GetConsumerListByGroupResponseBody, LockBatchRequestBody, LockBatchResponseBody,
    UnlockBatchRequestBody,
};
use crate::protocol::codes::request_code;
use crate::protocol::header::{
    ConsumerSendMsgBackRequestHeader, GetConsumerListByGroupRequestHeader,
    PullMessageRequestHeader, QueryConsumerOffsetRequestHeader, QueryConsumerOffsetResponseHeader,
    SearchOffsetRequestHeader, SearchOffsetResponseHeader, UpdateConsumerOffsetRequestHeader,
};
use crate::protocol::message::{MessageExt, MessageQueue};
use crate::protocol::RemotingCommand;
use crate::remoting::InvokeResult;

/// What an async pull's callback gets.
pub(crate) type PullCallback = Box<dyn FnOnce(Result<PullResult, ClientError>) + Send + 'static>;

impl MqClientApi {
    /// `request` to `addr`, oneway (handed to the connection) or waiting for a SUCCESS.
    fn invoke_maybe_oneway(
        &self,
        addr: &str,
        request: RemotingCommand,
        oneway: bool,
        timeout: Duration,
    ) -> Result<(), ClientError> {
        if oneway {
            self.remoting()
                .invoke_oneway(Some(addr), request, timeout)?;
            return Ok(());
        }
        let response = self.remoting().invoke_sync(Some(addr), request, timeout)?;
        expect_success(&response, addr)
    }

    /// PULL_MESSAGE, answered through `callback` exactly once (`pullMessageAsync`): on the
    /// transport's callback pool, or on this thread for a failure before the request left.
    pub(crate) fn pull_message_async(
        &self,
        addr: &str,
        header: &PullMessageRequestHeader,
        timeout: Duration,
        callback: PullCallback,
    ) {
        let request = self.request(request_code::PULL_MESSAGE, header);
        let response_addr = addr.to_string();
        self.remoting().invoke_async_always(
            Some(addr),
            request,
            timeout,
            Box::new(move |outcome: InvokeResult| {
                callback(
                    outcome
                        .map_err(ClientError::from)
                        .and_then(|response| process_pull_response(response, &response_addr)),
                )
            }),
        );
    }

    /// QUERY_CONSUMER_OFFSET (`queryConsumerOffset`). A group with no committed offset is a
    /// [`ClientError::Broker`] with QUERY_NOT_FOUND.
    pub(crate) fn query_consumer_offset(
        &self,
        addr: &str,
        group: &str,
        queue: &MessageQueue,
        timeout: Duration,
    ) -> Result<i64, ClientError> {
        let header = QueryConsumerOffsetRequestHeader {
            consumer_group: group.to_string(),
            topic: queue.topic.clone(),
            queue_id: queue.queue_id,
            set_zero_if_not_found: None,
            bname: Some(queue.broker_name.clone()),
        };
        let request = self.request(request_code::QUERY_CONSUMER_OFFSET, &header);
        let response = self.remoting().invoke_sync(Some(addr), request, timeout)?;
        expect_success(&response, addr)?;
        let header: QueryConsumerOffsetResponseHeader = response
            .decode_header()
            .map_err(|e| ClientError::invalid_response(addr, e))?;
        Ok(header.offset)
    }

    /// UPDATE_CONSUMER_OFFSET (`updateConsumerOffset`, or its oneway form, which the
    /// periodic persistence uses).
    pub(crate) fn update_consumer_offset(
        &self,
        addr: &str,
        group: &str,
        queue: &MessageQueue,
        offset: i64,
        oneway: bool,
        timeout: Duration,
    ) -> Result<(), ClientError> {
        let header = UpdateConsumerOffsetRequestHeader {
            consumer_group: group.to_string(),
            topic: queue.topic.clone(),
            queue_id: queue.queue_id,
            commit_offset: offset,
            bname: Some(queue.broker_name.clone()),
        };
        let request = self.request(request_code::UPDATE_CONSUMER_OFFSET, &header);
        self.invoke_maybe_oneway(addr, request, oneway, timeout)
    }

    /// GET_CONSUMER_LIST_BY_GROUP: the client ids of a group's live members
    /// (`getConsumerIdListByGroup`).
    pub(crate) fn get_consumer_id_list(
        &self,
        addr: &str,
        group: &str,
        timeout: Duration,
    ) -> Result<Vec<String>, ClientError> {
        let header = GetConsumerListByGroupRequestHeader {
            consumer_group: group.to_string(),
        };
        let request = self.request(request_code::GET_CONSUMER_LIST_BY_GROUP, &header);
        let response = self.remoting().invoke_sync(Some(addr), request, timeout)?;
        let body = expect_body(
            &response,
            addr,
            GetConsumerListByGroupResponseBody::from_json,
        )?;
        Ok(body.consumer_id_list)
    }

    /// LOCK_BATCH_MQ: the queues of `body` the broker locked for us (`lockBatchMQ`).
    pub(crate) fn lock_batch_mq(
        &self,
        addr: &str,
        body: &LockBatchRequestBody,
        timeout: Duration,
    ) -> Result<BTreeSet<MessageQueue>, ClientError> {
        let request = RemotingCommand::new_request(request_code::LOCK_BATCH_MQ)
            .with_serialize_type(self.serialize_type())
            .with_body(body.to_json());
        let response = self.remoting().invoke_sync(Some(addr), request, timeout)?;
        let locked = expect_body(&response, addr, LockBatchResponseBody::from_json)?;
        Ok(locked.lock_ok_mq_set)
    }

    /// UNLOCK_BATCH_MQ (`unlockBatchMQ`).
    pub(crate) fn unlock_batch_mq(
        &self,
        addr: &str,
        body: &UnlockBatchRequestBody,
        oneway: bool,
        timeout: Duration,
    ) -> Result<(), ClientError> {
        let request = RemotingCommand::new_request(request_code::UNLOCK_BATCH_MQ)
            .with_serialize_type(self.serialize_type())
            .with_body(body.to_json());
        self.invoke_maybe_oneway(addr, request, oneway, timeout)
    }

    /// CONSUMER_SEND_MSG_BACK: the broker redelivers `message` later through the group's
    /// retry topic, or moves it to the dead-letter topic (`consumerSendMessageBack`).
    pub(crate) fn consumer_send_message_back(
        &self,
        addr: &str,
        message: &MessageExt,
        group: &str,
        delay_level: i32,
        max_reconsume_times: i32,
        timeout: Duration,
    ) -> Result<(), ClientError> {
        let header = ConsumerSendMsgBackRequestHeader {
            offset: message.commit_log_offset,
            group: group.to_string(),
            delay_level,
            origin_msg_id: Some(message.msg_id.clone()),
            origin_topic: Some(message.topic.clone()),
            unit_mode: false,
            max_reconsume_times: Some(max_reconsume_times),
            bname: None,
        };
        let request = self.request(request_code::CONSUMER_SEND_MSG_BACK, &header);
        let response = self.remoting().invoke_sync(Some(addr), request, timeout)?;
        expect_success(&response, addr)
    }

    /// SEARCH_OFFSET_BY_TIMESTAMP: the first offset of `queue` stored at or after `timestamp`
    /// (`searchOffset`).
    pub(crate) fn search_offset(
        &self,
        addr: &str,
        queue: &MessageQueue,
        timestamp: i64,
        timeout: Duration,
    ) -> Result<i64, ClientError> {
        let header = SearchOffsetRequestHeader {
            topic: queue.topic.clone(),
            queue_id: queue.queue_id,
            timestamp,
            boundary_type: None,
            bname: Some(queue.broker_name.clone()),
        };
        let request = self.request(request_code::SEARCH_OFFSET_BY_TIMESTAMP, &header);
        let response = self.remoting().invoke_sync(Some(addr), request, timeout)?;
        expect_success(&response, addr)?;
        let header: SearchOffsetResponseHeader = response
            .decode_header()
            .map_err(|e| ClientError::invalid_response(addr, e))?;
        Ok(header.offset)
    }
}
