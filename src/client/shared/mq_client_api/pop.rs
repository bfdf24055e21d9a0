//! The 5.x POP RPCs: POP_MESSAGE, ACK_MESSAGE, BATCH_ACK_MESSAGE,
//! CHANGE_MESSAGE_INVISIBLETIME and QUERY_ASSIGNMENT (`MQClientAPIImpl`'s `popMessageAsync`,
//! `processPopResponse`, `ackMessageAsync`, `batchAckMessageAsync`,
//! `changeInvisibleTimeAsync`, `queryAssignment`), with the headers a Java 5.3.3 client
//! writes.

use std::collections::HashMap;
use std::time::Duration;

use super::{expect_success, MqClientApi};
use crate::client::shared::error::ClientError;
use crate::client::shared::result::Callback;
use crate::protocol::body::{
    BatchAckMessageRequestBody, MessageQueueAssignment, QueryAssignmentRequestBody,
    QueryAssignmentResponseBody,
};
use crate::protocol::codes::{request_code, response_code};
use crate::protocol::header::{
    parse_msg_offset_info, parse_start_offset_info, start_offset_info_map_key,
    AckMessageRequestHeader, ChangeInvisibleTimeRequestHeader, ChangeInvisibleTimeResponseHeader,
    ExtraInfo, PopMessageRequestHeader, PopMessageResponseHeader, PopRetryFlag,
};
use crate::protocol::message::message_const::{PROPERTY_FIRST_POP_TIME, PROPERTY_POP_CK};
use crate::protocol::message::message_ext::DEFAULT_MAX_DECOMPRESSED_SIZE;
use crate::protocol::message::{decode_messages_skipping, MessageExt, SkippedRecord};
use crate::protocol::{HeaderError, RemotingCommand};

/// How a pop came back; mirrors Java's `PopStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PopStatus {
    /// Messages were popped (SUCCESS).
    Found,
    /// The broker held the request and nothing came (POLLING_TIMEOUT), or found nothing
    /// (PULL_NOT_FOUND): `POLLING_NOT_FOUND`.
    PollingNotFound,
    /// Too many pops wait at the broker; this one was not held (POLLING_FULL).
    PollingFull,
}

/// A pop's answer; mirrors Java's `PopResult`.
#[derive(Debug)]
pub(crate) struct PopResult {
    pub(crate) status: PopStatus,
    /// The messages, each with its receipt handle in `POP_CK` and the requested topic.
    pub(crate) messages: Vec<MessageExt>,
    /// Records of the answer that could not be read (they come back after their invisible
    /// time, and go to the dead-letter topic once they have come back too often).
    pub(crate) skipped: Vec<SkippedRecord>,
    /// The broker's pop time, ms (its clock).
    pub(crate) pop_time: i64,
    /// How long the messages stay invisible, ms.
    pub(crate) invisible_time: i64,
    /// Messages left in the queues looked at.
    pub(crate) rest_num: i64,
}

impl MqClientApi {
    /// POP_MESSAGE, answered through `callback` exactly once (`popMessageAsync`).
    pub(crate) fn pop_message_async(
        &self,
        addr: &str,
        broker_name: &str,
        header: PopMessageRequestHeader,
        timeout: Duration,
        callback: Callback<PopResult>,
    ) {
        let request = self.request(request_code::POP_MESSAGE, &header);
        let broker_name = broker_name.to_string();
        self.invoke_async_reading(addr, request, timeout, callback, move |response, addr| {
            process_pop_response(response, &broker_name, addr, &header.topic)
        });
    }

    /// POP_MESSAGE, waiting for the answer (a held pop waits up to its `pollTime`).
    pub(crate) fn pop_message(
        &self,
        addr: &str,
        broker_name: &str,
        header: &PopMessageRequestHeader,
        timeout: Duration,
    ) -> Result<PopResult, ClientError> {
        let request = self.request(request_code::POP_MESSAGE, header);
        let response = self.invoke(Some(addr), request, timeout)?;
        process_pop_response(response, broker_name, addr, &header.topic)
    }

    /// ACK_MESSAGE, waiting for a SUCCESS.
    pub(crate) fn ack_message(
        &self,
        addr: &str,
        header: &AckMessageRequestHeader,
        timeout: Duration,
    ) -> Result<(), ClientError> {
        let request = self.request(request_code::ACK_MESSAGE, header);
        self.invoke_success(addr, request, timeout)
    }

    /// ACK_MESSAGE, its outcome to `callback` exactly once (`ackMessageAsync`).
    pub(crate) fn ack_message_async(
        &self,
        addr: &str,
        header: &AckMessageRequestHeader,
        timeout: Duration,
        callback: Callback<()>,
    ) {
        let request = self.request(request_code::ACK_MESSAGE, header);
        self.invoke_success_async(addr, request, timeout, callback);
    }

    /// BATCH_ACK_MESSAGE (no header; the body names each checkpoint and the offsets acked),
    /// its outcome to `callback` exactly once (`batchAckMessageAsync`).
    pub(crate) fn batch_ack_message_async(
        &self,
        addr: &str,
        body: &BatchAckMessageRequestBody,
        timeout: Duration,
        callback: Callback<()>,
    ) {
        let request = self
            .bare_request(request_code::BATCH_ACK_MESSAGE)
            .with_body(body.to_json());
        self.invoke_success_async(addr, request, timeout, callback);
    }

    /// CHANGE_MESSAGE_INVISIBLETIME, waiting for the answer: the new checkpoint's pop time,
    /// invisible time and revive queue, from which the new handle is made.
    pub(crate) fn change_invisible_time(
        &self,
        addr: &str,
        header: &ChangeInvisibleTimeRequestHeader,
        timeout: Duration,
    ) -> Result<ChangeInvisibleTimeResponseHeader, ClientError> {
        let request = self.request(request_code::CHANGE_MESSAGE_INVISIBLETIME, header);
        self.invoke_header(addr, request, timeout)
    }

    /// CHANGE_MESSAGE_INVISIBLETIME, its outcome to `callback` exactly once
    /// (`changeInvisibleTimeAsync`).
    pub(crate) fn change_invisible_time_async(
        &self,
        addr: &str,
        header: &ChangeInvisibleTimeRequestHeader,
        timeout: Duration,
        callback: Callback<()>,
    ) {
        let request = self.request(request_code::CHANGE_MESSAGE_INVISIBLETIME, header);
        self.invoke_success_async(addr, request, timeout, callback);
    }

    /// QUERY_ASSIGNMENT: the queues the broker gives this member of the group and how to
    /// consume each (`queryAssignment`). None: the broker has no answer (an unknown topic or
    /// strategy), and the member keeps what it has.
    pub(crate) fn query_assignment(
        &self,
        addr: &str,
        body: &QueryAssignmentRequestBody,
        timeout: Duration,
    ) -> Result<Option<Vec<MessageQueueAssignment>>, ClientError> {
        let request = self
            .bare_request(request_code::QUERY_ASSIGNMENT)
            .with_body(body.to_json());
        let answer = self.invoke_body(
            Some(addr),
            request,
            timeout,
            QueryAssignmentResponseBody::from_json,
        )?;
        Ok(answer.message_queue_assignments)
    }

    /// `request` to a broker, its SUCCESS (or why not) to `callback` exactly once.
    fn invoke_success_async(
        &self,
        addr: &str,
        request: RemotingCommand,
        timeout: Duration,
        callback: Callback<()>,
    ) {
        self.invoke_async_reading(addr, request, timeout, callback, |response, addr| {
            expect_success(&response, addr)
        });
    }
}

/// Reads a pop's answer (`processPopResponse`): the messages of a SUCCESS decoded (bodies
/// inflated; an unreadable record passed over), each given its receipt handle in `POP_CK`
/// when the broker did not set one (a message from the retry topic comes with its own): from
/// `startOffsetInfo` and `msgOffsetInfo`, or, from a broker that sends neither, from the
/// first offset popped of its queue. Each gets `1ST_POP_TIME` if it has none, and the
/// requested topic, `topic`. POLLING_TIMEOUT and PULL_NOT_FOUND are "nothing",
/// POLLING_FULL says so, other codes are a [`ClientError::Broker`].
pub(crate) fn process_pop_response(
    response: RemotingCommand,
    broker_name: &str,
    addr: &str,
    topic: &str,
) -> Result<PopResult, ClientError> {
    let status = match response.code {
        response_code::SUCCESS => PopStatus::Found,
        response_code::POLLING_FULL => PopStatus::PollingFull,
        response_code::POLLING_TIMEOUT | response_code::PULL_NOT_FOUND => {
            PopStatus::PollingNotFound
        }
        code => return Err(ClientError::broker(code, response.remark, addr)),
    };
    let mut result = PopResult {
        status,
        messages: Vec::new(),
        skipped: Vec::new(),
        pop_time: 0,
        invisible_time: 0,
        rest_num: 0,
    };
    if status != PopStatus::Found {
        // The header is read for `restNum` only; a broker may leave it out when nothing came.
        if let Ok(header) = response.decode_header::<PopMessageResponseHeader>() {
            result.rest_num = header.rest_num;
        }
        return Ok(result);
    }
    let invalid = |e: HeaderError| ClientError::invalid_response(addr, e);
    let header: PopMessageResponseHeader = response.decode_header().map_err(invalid)?;
    let decoded = decode_messages_skipping(&response.body, DEFAULT_MAX_DECOMPRESSED_SIZE);
    let mut messages = decoded.messages;
    set_receipt_handles(&mut messages, &header, broker_name).map_err(invalid)?;
    for message in &mut messages {
        if message.property(PROPERTY_FIRST_POP_TIME).is_none() {
            message
                .properties
                .insert(PROPERTY_FIRST_POP_TIME, header.pop_time.to_string());
        }
        topic.clone_into(&mut message.topic);
    }
    result.messages = messages;
    result.skipped = decoded.skipped;
    result.pop_time = header.pop_time;
    result.invisible_time = header.invisible_time;
    result.rest_num = header.rest_num;
    Ok(result)
}

/// Gives each message without a `POP_CK` its handle, as `processPopResponse` builds it. The
/// key of a message's queue in the info strings is its retry flag (from the topic it was
/// stored in) and queue id; its offset is the one at its position among the messages of that
/// key in `msgOffsetInfo`.
fn set_receipt_handles(
    messages: &mut [MessageExt],
    header: &PopMessageResponseHeader,
    broker_name: &str,
) -> Result<(), HeaderError> {
    let handle = |ck_queue_offset, m: &MessageExt, queue_offset| ExtraInfo {
        ck_queue_offset,
        pop_time: header.pop_time,
        invisible_time: header.invisible_time,
        revive_qid: header.revive_qid,
        retry: PopRetryFlag::of_topic(&m.topic),
        broker_name: broker_name.to_string(),
        queue_id: Some(m.queue_id),
        queue_offset: Some(queue_offset),
    };
    let Some(start_info) = header.start_offset_info.as_deref() else {
        // A broker without info strings: the checkpoint starts at the first offset popped
        // of each queue.
        let mut first: HashMap<(String, i32), i64> = HashMap::new();
        for m in messages.iter_mut() {
            if m.property(PROPERTY_POP_CK).is_some() {
                continue;
            }
            let start = *first
                .entry((m.topic.clone(), m.queue_id))
                .or_insert(m.queue_offset);
            let ck = handle(start, m, m.queue_offset).to_string();
            m.properties.insert(PROPERTY_POP_CK, ck);
        }
        return Ok(());
    };
    let starts = parse_start_offset_info(Some(start_info))?;
    let offsets = parse_msg_offset_info(header.msg_offset_info.as_deref())?;
    // The position of each message among the messages of its key (`buildQueueOffsetSortedMap`).
    let mut seen: HashMap<String, usize> = HashMap::new();
    let missing = |what: &'static str, key: &str| HeaderError::InvalidField {
        field: what,
        value: format!("no entry {key}"),
    };
    for m in messages.iter_mut() {
        let key = start_offset_info_map_key(&m.topic, m.queue_id);
        let position = seen.entry(key.clone()).or_insert(0);
        let index = *position;
        *position += 1;
        if m.property(PROPERTY_POP_CK).is_some() {
            continue;
        }
        let start = *starts
            .get(&key)
            .ok_or_else(|| missing("startOffsetInfo", &key))?;
        let offset = *offsets
            .get(&key)
            .and_then(|list| list.get(index))
            .ok_or_else(|| missing("msgOffsetInfo", &key))?;
        if offset != m.queue_offset {
            log::warn!(
                "pop answer of {broker_name}: offset {offset} of {key} in msgOffsetInfo is not \
                 the stored message's {}",
                m.queue_offset
            );
        }
        let ck = handle(start, m, offset).to_string();
        m.properties.insert(PROPERTY_POP_CK, ck);
    }
    Ok(())
}

/// The receipt handle of a popped message (its `POP_CK`), read.
pub(crate) fn receipt_handle_of(message: &MessageExt) -> Result<ExtraInfo, ClientError> {
    let text = message
        .property(PROPERTY_POP_CK)
        .ok_or_else(|| ClientError::invalid_argument("message", "it has no receipt handle"))?;
    ExtraInfo::parse(text)
        .map_err(|e| ClientError::invalid_argument("receipt handle", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::shared::test_support::fixture;

    fn handles(result: &PopResult) -> Vec<(i32, i64, String)> {
        result
            .messages
            .iter()
            .map(|m| {
                (
                    m.queue_id,
                    m.queue_offset,
                    m.property(PROPERTY_POP_CK).unwrap().to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn handles_are_rebuilt_as_the_java_client_acked_them() {
        // 076 popped ten messages of eight queues; the Java client then acked the one of
        // queue 7 with 078's extraInfo and put the one of queue 0 back with 079's.
        let response = fixture("java-5.3.3/076-resp-code0-json.bin");
        let frame = response.body.clone();
        let result = process_pop_response(response, "broker-5", "a:1", "CapPop5").unwrap();
        assert_eq!(result.status, PopStatus::Found);
        assert_eq!(
            (result.pop_time, result.invisible_time),
            (1_796_627_987_145, 60_000)
        );
        assert_eq!(result.messages.len(), 10);
        assert!(result.skipped.is_empty());
        assert!(result
            .messages
            .iter()
            .all(|m| m.body.shares_bytes_with(&frame)));
        let handles = handles(&result);
        for (request, queue) in [
            ("java-5.3.3/078-req-code200051-json.bin", 7),
            ("java-5.3.3/079-req-code200053-json.bin", 0),
        ] {
            let sent = fixture(request);
            let (_, _, handle) = handles.iter().find(|(q, _, _)| *q == queue).unwrap();
            assert_eq!(Some(handle.as_str()), sent.ext_fields.get("extraInfo"));
        }
        // Queue 5 had two messages: one checkpoint from offset 0, each its own offset.
        let five: Vec<&str> = handles
            .iter()
            .filter(|(q, _, _)| *q == 5)
            .map(|(_, _, h)| h.as_str())
            .collect();
        assert_eq!(
            five,
            [
                "0 1796627987145 60000 0 0 broker-5 5 0",
                "0 1796627987145 60000 0 0 broker-5 5 1"
            ]
        );
        for m in &result.messages {
            assert_eq!(m.topic, "CapPop5");
            assert_eq!(m.property(PROPERTY_FIRST_POP_TIME), Some("1796627987145"));
        }
    }

    #[test]
    fn a_message_back_from_the_retry_topic_keeps_its_handle() {
        // 098: the message put back by 079 came again through %RETRY%CapPopG5_CapPop5 with
        // its handle set; the Java client acked it with that handle (100).
        let result = process_pop_response(
            fixture("java-5.3.3/098-resp-code0-json.bin"),
            "broker-5",
            "a:1",
            "CapPop5",
        )
        .unwrap();
        assert_eq!(result.messages.len(), 1);
        let m = &result.messages[0];
        assert_eq!(m.topic, "CapPop5");
        assert_eq!(m.reconsume_times, 1);
        let sent = fixture("java-5.3.3/100-req-code200051-json.bin");
        assert_eq!(
            m.property(PROPERTY_POP_CK),
            sent.ext_fields.get("extraInfo")
        );
        let handle = receipt_handle_of(m).unwrap();
        assert_eq!(handle.retry, PopRetryFlag::RetryV1);
    }

    #[test]
    fn other_answers_and_broken_info_strings() {
        for (code, status) in [
            (response_code::POLLING_TIMEOUT, PopStatus::PollingNotFound),
            (response_code::PULL_NOT_FOUND, PopStatus::PollingNotFound),
            (response_code::POLLING_FULL, PopStatus::PollingFull),
        ] {
            let result =
                process_pop_response(RemotingCommand::new_response(code, None), "b", "a:1", "T")
                    .unwrap();
            assert_eq!(result.status, status);
            assert!(result.messages.is_empty());
        }
        let refused = process_pop_response(
            RemotingCommand::new_response(response_code::INVALID_PARAMETER, "num > 32".to_string()),
            "b",
            "a:1",
            "T",
        )
        .unwrap_err();
        assert_eq!(
            refused.response_code(),
            Some(response_code::INVALID_PARAMETER)
        );
        // A FOUND whose info strings do not name the messages' queue: an unreadable answer,
        // not a panic.
        let mut response = fixture("java-5.3.3/076-resp-code0-json.bin");
        response.ext_fields.insert("startOffsetInfo", "0 99 0");
        let error = process_pop_response(response, "broker-5", "a:1", "CapPop5").unwrap_err();
        assert!(
            matches!(error, ClientError::InvalidResponse { .. }),
            "{error}"
        );
        let mut response = fixture("java-5.3.3/076-resp-code0-json.bin");
        response.ext_fields.insert("msgOffsetInfo", "0 0 0");
        assert!(process_pop_response(response, "broker-5", "a:1", "CapPop5").is_err());
        // Without info strings (an old broker) each queue's checkpoint starts at its first
        // message popped.
        let mut response = fixture("java-5.3.3/076-resp-code0-json.bin");
        response.ext_fields.remove("startOffsetInfo");
        response.ext_fields.remove("msgOffsetInfo");
        let result = process_pop_response(response, "broker-5", "a:1", "CapPop5").unwrap();
        assert!(handles(&result)
            .iter()
            .any(|(q, _, h)| *q == 6 && h == "0 1796627987145 60000 0 0 broker-5 6 1"));
    }
}
