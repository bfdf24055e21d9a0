//! The consumers' RPCs: pulls, offsets, the group's members, queue locks, sending a message
//! back and checking a subscription with a broker (`MQClientAPIImpl`'s consumer half).

use std::collections::BTreeSet;
use std::time::Duration;

use super::MqClientApi;
use crate::client::shared::error::ClientError;
use crate::client::shared::result::{Callback, PullResult, PullStatus};
use crate::protocol::body::{
    CheckClientRequestBody, GetConsumerListByGroupResponseBody, LockBatchRequestBody,
    LockBatchResponseBody, SubscriptionData, UnlockBatchRequestBody,
};
use crate::protocol::codes::{request_code, response_code};
use crate::protocol::header::{
    ConsumerSendMsgBackRequestHeader, GetConsumerListByGroupRequestHeader,
    GetMaxOffsetRequestHeader, GetMaxOffsetResponseHeader, GetMinOffsetRequestHeader,
    GetMinOffsetResponseHeader, PullMessageRequestHeader, PullMessageResponseHeader,
    QueryConsumerOffsetRequestHeader, QueryConsumerOffsetResponseHeader, SearchOffsetRequestHeader,
    SearchOffsetResponseHeader, UpdateConsumerOffsetRequestHeader,
};
use crate::protocol::message::message_ext::DEFAULT_MAX_DECOMPRESSED_SIZE;
use crate::protocol::message::{
    decode_messages_skipping, DecodedRecords, MessageExt, MessageQueue,
};
use crate::protocol::RemotingCommand;

impl MqClientApi {
    /// PULL_MESSAGE, waiting for the answer (`pullMessageSync`).
    pub(crate) fn pull_message(
        &self,
        addr: &str,
        header: &PullMessageRequestHeader,
        timeout: Duration,
    ) -> Result<PullResult, ClientError> {
        let request = self.request(request_code::PULL_MESSAGE, header);
        let response = self.invoke(Some(addr), request, timeout)?;
        process_pull_response(response, addr)
    }

    /// PULL_MESSAGE, answered through `callback` exactly once (`pullMessageAsync`): on the
    /// transport's callback pool, or on this thread for a failure before the request left.
    pub(crate) fn pull_message_async(
        &self,
        addr: &str,
        header: &PullMessageRequestHeader,
        timeout: Duration,
        callback: Callback<PullResult>,
    ) {
        let request = self.request(request_code::PULL_MESSAGE, header);
        self.invoke_async_reading(addr, request, timeout, callback, process_pull_response);
    }

    /// GET_MAX_OFFSET of a queue (`getMaxOffset`).
    pub(crate) fn get_max_offset(
        &self,
        addr: &str,
        queue: &MessageQueue,
        timeout: Duration,
    ) -> Result<i64, ClientError> {
        let header = GetMaxOffsetRequestHeader {
            topic: queue.topic.clone(),
            queue_id: queue.queue_id,
            committed: None,
            bname: Some(queue.broker_name.clone()),
        };
        let request = self.request(request_code::GET_MAX_OFFSET, &header);
        let answer: GetMaxOffsetResponseHeader = self.invoke_header(addr, request, timeout)?;
        Ok(answer.offset)
    }

    /// GET_MIN_OFFSET of a queue (`getMinOffset`).
    pub(crate) fn get_min_offset(
        &self,
        addr: &str,
        queue: &MessageQueue,
        timeout: Duration,
    ) -> Result<i64, ClientError> {
        let header = GetMinOffsetRequestHeader {
            topic: queue.topic.clone(),
            queue_id: queue.queue_id,
            bname: Some(queue.broker_name.clone()),
        };
        let request = self.request(request_code::GET_MIN_OFFSET, &header);
        let answer: GetMinOffsetResponseHeader = self.invoke_header(addr, request, timeout)?;
        Ok(answer.offset)
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
        let answer: SearchOffsetResponseHeader = self.invoke_header(addr, request, timeout)?;
        Ok(answer.offset)
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
        let answer: QueryConsumerOffsetResponseHeader =
            self.invoke_header(addr, request, timeout)?;
        Ok(answer.offset)
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
        let body = self.invoke_body(
            Some(addr),
            request,
            timeout,
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
        let request = self
            .bare_request(request_code::LOCK_BATCH_MQ)
            .with_body(body.to_json());
        let locked = self.invoke_body(
            Some(addr),
            request,
            timeout,
            LockBatchResponseBody::from_json,
        )?;
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
        let request = self
            .bare_request(request_code::UNLOCK_BATCH_MQ)
            .with_body(body.to_json());
        self.invoke_maybe_oneway(addr, request, oneway, timeout)
    }

    /// CHECK_CLIENT_CONFIG: whether the broker can filter by `subscription` (a SQL92 one),
    /// asked when a consumer starts (`checkClientInBroker`). A refusal is the broker's code
    /// and remark (SYSTEM_ERROR when it does not filter by properties,
    /// SUBSCRIPTION_PARSE_FAILED with the parser's complaint).
    pub(crate) fn check_client_in_broker(
        &self,
        addr: &str,
        group: &str,
        client_id: &str,
        subscription: &SubscriptionData,
        timeout: Duration,
    ) -> Result<(), ClientError> {
        let body = CheckClientRequestBody {
            client_id: client_id.to_string(),
            group: group.to_string(),
            subscription_data: Some(subscription.clone()),
            namespace: None,
        };
        let request = self
            .bare_request(request_code::CHECK_CLIENT_CONFIG)
            .with_body(body.to_json());
        self.invoke_success(addr, request, timeout)
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
        self.invoke_success(addr, request, timeout)
    }
}

/// Reads a pull response (`processPullResponse`), decoding the messages of a FOUND answer
/// with their bodies decompressed. A record that cannot be read is passed over (listed in
/// [`PullResult::skipped`]), so that one bad message never wedges its queue. Other codes than
/// the four pull outcomes are a [`ClientError::Broker`].
pub(crate) fn process_pull_response(
    response: RemotingCommand,
    addr: &str,
) -> Result<PullResult, ClientError> {
    let status = match response.code {
        response_code::SUCCESS => PullStatus::Found,
        response_code::PULL_NOT_FOUND => PullStatus::NoNewMsg,
        response_code::PULL_RETRY_IMMEDIATELY => PullStatus::NoMatchedMsg,
        response_code::PULL_OFFSET_MOVED => PullStatus::OffsetIllegal,
        code => return Err(ClientError::broker(code, response.remark, addr)),
    };
    let header: PullMessageResponseHeader = response
        .decode_header()
        .map_err(|e| ClientError::invalid_response(addr, e))?;
    let decoded = if status == PullStatus::Found {
        decode_messages_skipping(&response.body, DEFAULT_MAX_DECOMPRESSED_SIZE)
    } else {
        DecodedRecords::default()
    };
    Ok(PullResult {
        status,
        next_begin_offset: header.next_begin_offset,
        min_offset: header.min_offset,
        max_offset: header.max_offset,
        suggest_which_broker_id: header.suggest_which_broker_id,
        messages: decoded.messages,
        skipped: decoded.skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::shared::test_support::fixture;

    #[test]
    fn pull_response_of_java_vector_083() {
        let response = fixture("java-4.9.8/083-resp-code0-json.bin");
        let frame = response.body.clone();
        let result = process_pull_response(response, "a:1").unwrap();
        // The bodies are the frame's bytes, shared, not copies.
        assert!(result
            .messages
            .iter()
            .all(|m| m.body.shares_bytes_with(&frame)));
        assert_eq!(result.status, PullStatus::Found);
        assert_eq!(
            (
                result.next_begin_offset,
                result.min_offset,
                result.max_offset
            ),
            (5, 0, 5)
        );
        assert_eq!(result.messages.len(), 5);
        let bodies: Vec<_> = result
            .messages
            .iter()
            .map(|m| String::from_utf8_lossy(&m.body).into_owned())
            .collect();
        assert_eq!(
            bodies,
            ["2", "6", "1", "5", "9"].map(|n| format!("Hello RocketMQ {n}"))
        );
        for (code, status) in [
            (response_code::PULL_NOT_FOUND, PullStatus::NoNewMsg),
            (
                response_code::PULL_RETRY_IMMEDIATELY,
                PullStatus::NoMatchedMsg,
            ),
            (response_code::PULL_OFFSET_MOVED, PullStatus::OffsetIllegal),
        ] {
            let response = RemotingCommand::new_response(code, None)
                .with_ext("suggestWhichBrokerId", "0")
                .with_ext("nextBeginOffset", "7")
                .with_ext("minOffset", "1")
                .with_ext("maxOffset", "7");
            let result = process_pull_response(response, "a:1").unwrap();
            assert_eq!(result.status, status);
            assert_eq!(result.next_begin_offset, 7);
            assert!(result.messages.is_empty());
        }
        // SUBSCRIPTION_NOT_EXIST (24) is a broker error.
        let error =
            process_pull_response(RemotingCommand::new_response(24, None), "a:1").unwrap_err();
        assert_eq!(error.response_code(), Some(24));
    }

    #[test]
    fn check_client_config_is_written_as_java_5_3_3_writes_it() {
        use crate::client::consumer::MessageSelector;
        use crate::client::shared::test_support::fixture;
        // A Java 5.3.3 push consumer subscribing `a > 5` (vector 148).
        let java = fixture("java-5.3.3/148-req-code46-json.bin");
        let mut subscription = crate::client::consumer::build_subscription_data(
            "CapSql5",
            &MessageSelector::sql("a > 5"),
        )
        .unwrap();
        subscription.sub_version = 1_796_628_016_563;
        let ours = CheckClientRequestBody {
            client_id: "192.0.2.2@23342#7618696192325".into(),
            group: "CapSqlG5".into(),
            subscription_data: Some(subscription),
            namespace: None,
        };
        assert_eq!(ours.to_json().as_bytes(), java.body.as_slice());
        assert_eq!(java.code, request_code::CHECK_CLIENT_CONFIG);
    }
}
