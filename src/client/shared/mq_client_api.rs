//! `MqClientApi`: one function per RPC a client makes, each building its request, sending it
//! and reading the answer in one place; mirrors Java's `MQClientAPIImpl`.

use std::time::Duration;

use super::error::ClientError;
use super::result::{PullResult, PullStatus, SendResult, SendStatus};
use crate::protocol::body::{HeartbeatData, TopicRouteData};
use crate::protocol::codes::{request_code, response_code};
use crate::protocol::header::{
    GetMaxOffsetRequestHeader, GetMaxOffsetResponseHeader, GetMinOffsetRequestHeader,
    GetMinOffsetResponseHeader, GetRouteInfoRequestHeader, PullMessageRequestHeader,
    PullMessageResponseHeader, SendMessageRequestHeaderV2, SendMessageResponseHeader,
    UnregisterClientRequestHeader,
};
use crate::protocol::message::message_ext::DEFAULT_MAX_DECOMPRESSED_SIZE;
use crate::protocol::message::{
    decode_messages_skipping, message_const, string_to_properties, DecodedRecords, MessageQueue,
};
use crate::protocol::{Body, CommandCustomHeader, RemotingCommand, SerializeType};
use crate::remoting::{InvokeResult, RemotingClient};

/// The region a send result reports when the broker names none (`MixAll.DEFAULT_TRACE_REGION_ID`).
pub(crate) const DEFAULT_TRACE_REGION_ID: &str = "DefaultRegion";

/// What an async send's callback gets: the result, or why there is none.
pub(crate) type SendCallback = Box<dyn FnOnce(Result<SendResult, ClientError>) + Send + 'static>;

/// How [`MqClientApi::send_message`] waits for the broker (Java's `CommunicationMode` with
/// the async callback attached).
pub(crate) enum SendMode {
    /// Wait for the answer and return it.
    Sync,
    /// Return at once; the callback gets the result or the failure exactly once: failures
    /// before the request was written on the calling thread, the rest on the transport's
    /// callback pool.
    Async(SendCallback),
    /// Write the request and return; the broker does not answer.
    Oneway,
}

impl SendMode {
    /// Delivers `error` the way this mode delivers outcomes: returned for sync and oneway,
    /// to the callback (on this thread) for async.
    pub(crate) fn fail(self, error: ClientError) -> Result<Option<SendResult>, ClientError> {
        match self {
            SendMode::Async(callback) => {
                callback(Err(error));
                Ok(None)
            }
            SendMode::Sync | SendMode::Oneway => Err(error),
        }
    }
}

/// The RPCs of a client over one [`RemotingClient`]; mirrors Java's `MQClientAPIImpl`.
///
/// Every request is written in the configured header encoding. `addr: None` in the remoting
/// calls means a name server.
pub(crate) struct MqClientApi {
    remoting: RemotingClient,
    serialize_type: SerializeType,
}

impl MqClientApi {
    /// The API over `remoting`, writing headers as `serialize_type`.
    pub(crate) fn new(remoting: RemotingClient, serialize_type: SerializeType) -> Self {
        MqClientApi {
            remoting,
            serialize_type,
        }
    }

    /// The transport.
    pub(crate) fn remoting(&self) -> &RemotingClient {
        &self.remoting
    }

    /// The header encoding requests are written in.
    pub(crate) fn serialize_type(&self) -> SerializeType {
        self.serialize_type
    }

    /// A request of `code` carrying `header`, in the configured header encoding.
    pub(crate) fn request(&self, code: i32, header: &impl CommandCustomHeader) -> RemotingCommand {
        RemotingCommand::request_with_header(code, header).with_serialize_type(self.serialize_type)
    }

    /// GET_ROUTEINFO_BY_TOPIC from a name server (`getTopicRouteInfoFromNameServer`).
    ///
    /// Asks for standard JSON (`acceptStandardJsonOnly=true`; our version is ≥ 401 too) and
    /// still reads the unquoted-key form. TOPIC_NOT_EXIST is [`ClientError::NoRoute`].
    pub(crate) fn get_topic_route_info(
        &self,
        topic: &str,
        timeout: Duration,
    ) -> Result<TopicRouteData, ClientError> {
        let header = GetRouteInfoRequestHeader {
            topic: topic.to_string(),
            accept_standard_json_only: Some(true),
        };
        let request = self.request(request_code::GET_ROUTEINFO_BY_TOPIC, &header);
        let response = self.remoting.invoke_sync(None, request, timeout)?;
        match response.code {
            response_code::SUCCESS => TopicRouteData::from_json(&response.body)
                .map_err(|e| ClientError::invalid_response("name server", e)),
            response_code::TOPIC_NOT_EXIST => Err(ClientError::NoRoute {
                topic: topic.to_string(),
                reason: "the name servers do not know it".into(),
            }),
            code => Err(ClientError::broker(code, response.remark, "name server")),
        }
    }

    /// SEND_MESSAGE_V2, or SEND_BATCH_MESSAGE when `header.m` says batch (`sendMessage`):
    /// builds the request, sends it the way `mode` says, and reads the answer
    /// (`processSendResponse`). `msg_id` is the client id (`UNIQ_KEY`) the result reports.
    ///
    /// Returns the result for a sync send, `None` for async (the callback gets it) and
    /// oneway sends.
    #[allow(clippy::too_many_arguments)] // Java's sendMessage takes these, and more
    pub(crate) fn send_message(
        &self,
        addr: &str,
        broker_name: &str,
        header: &SendMessageRequestHeaderV2,
        body: Body,
        msg_id: &str,
        timeout: Duration,
        mode: SendMode,
    ) -> Result<Option<SendResult>, ClientError> {
        let code = if header.m {
            request_code::SEND_BATCH_MESSAGE
        } else if is_reply(header.i.as_deref()) {
            // A reply goes to the broker's reply processor, which pushes it to the requester.
            request_code::SEND_REPLY_MESSAGE_V2
        } else {
            request_code::SEND_MESSAGE_V2
        };
        let request = self.request(code, header).with_body(body);
        match mode {
            SendMode::Sync => {
                let response = self.remoting.invoke_sync(Some(addr), request, timeout)?;
                process_send_response(&header.b, broker_name, msg_id, &response, addr).map(Some)
            }
            SendMode::Async(callback) => {
                let (topic, broker_name, msg_id, response_addr) = (
                    header.b.clone(),
                    broker_name.to_string(),
                    msg_id.to_string(),
                    addr.to_string(),
                );
                self.remoting.invoke_async_always(
                    Some(addr),
                    request,
                    timeout,
                    Box::new(move |outcome: InvokeResult| {
                        callback(outcome.map_err(ClientError::from).and_then(|response| {
                            process_send_response(
                                &topic,
                                &broker_name,
                                &msg_id,
                                &response,
                                &response_addr,
                            )
                        }))
                    }),
                );
                Ok(None)
            }
            SendMode::Oneway => {
                self.remoting.invoke_oneway(Some(addr), request, timeout)?;
                Ok(None)
            }
        }
    }

    /// HEART_BEAT with `data` (`sendHearbeat`).
    pub(crate) fn send_heartbeat(
        &self,
        addr: &str,
        data: &HeartbeatData,
        timeout: Duration,
    ) -> Result<(), ClientError> {
        let request = RemotingCommand::new_request(request_code::HEART_BEAT)
            .with_serialize_type(self.serialize_type)
            .with_body(data.to_json());
        let response = self.remoting.invoke_sync(Some(addr), request, timeout)?;
        expect_success(&response, addr)
    }

    /// UNREGISTER_CLIENT for a producer and/or consumer group (`unregisterClient`).
    pub(crate) fn unregister_client(
        &self,
        addr: &str,
        client_id: &str,
        producer_group: Option<&str>,
        consumer_group: Option<&str>,
        timeout: Duration,
    ) -> Result<(), ClientError> {
        let header = UnregisterClientRequestHeader {
            client_id: client_id.to_string(),
            producer_group: producer_group.map(str::to_string),
            consumer_group: consumer_group.map(str::to_string),
        };
        let request = self.request(request_code::UNREGISTER_CLIENT, &header);
        let response = self.remoting.invoke_sync(Some(addr), request, timeout)?;
        expect_success(&response, addr)
    }

    /// PULL_MESSAGE, waiting for the answer (`pullMessageSync`).
    pub(crate) fn pull_message(
        &self,
        addr: &str,
        header: &PullMessageRequestHeader,
        timeout: Duration,
    ) -> Result<PullResult, ClientError> {
        let request = self.request(request_code::PULL_MESSAGE, header);
        let response = self.remoting.invoke_sync(Some(addr), request, timeout)?;
        process_pull_response(response, addr)
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
        let response = self.remoting.invoke_sync(Some(addr), request, timeout)?;
        expect_success(&response, addr)?;
        let header: GetMaxOffsetResponseHeader = response
            .decode_header()
            .map_err(|e| ClientError::invalid_response(addr, e))?;
        Ok(header.offset)
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
        let response = self.remoting.invoke_sync(Some(addr), request, timeout)?;
        expect_success(&response, addr)?;
        let header: GetMinOffsetResponseHeader = response
            .decode_header()
            .map_err(|e| ClientError::invalid_response(addr, e))?;
        Ok(header.offset)
    }
}

/// Ok for SUCCESS; any other code is a [`ClientError::Broker`] naming `addr`.
pub(crate) fn expect_success(response: &RemotingCommand, addr: &str) -> Result<(), ClientError> {
    if response.code == response_code::SUCCESS {
        Ok(())
    } else {
        Err(ClientError::broker(
            response.code,
            response.remark.clone(),
            addr,
        ))
    }
}

/// The body of a SUCCESS response from `addr`, decoded by `decode`; any other code is a
/// [`ClientError::Broker`], a body that does not decode an invalid response.
pub(crate) fn expect_body<T>(
    response: &RemotingCommand,
    addr: &str,
    decode: impl FnOnce(&[u8]) -> Result<T, crate::protocol::BodyError>,
) -> Result<T, ClientError> {
    expect_success(response, addr)?;
    decode(&response.body).map_err(|e| ClientError::invalid_response(addr, e))
}

/// Reads a send response (`processSendResponse`): SUCCESS and the three "stored, but" codes
/// give a [`SendResult`]; any other code is a [`ClientError::Broker`] naming `addr`.
/// `msg_id` is the client id (`UNIQ_KEY`) of what was sent; the header's `msgId` is the
/// offset id.
pub(crate) fn process_send_response(
    topic: &str,
    broker_name: &str,
    msg_id: &str,
    response: &RemotingCommand,
    addr: &str,
) -> Result<SendResult, ClientError> {
    let send_status = match response.code {
        response_code::SUCCESS => SendStatus::SendOk,
        response_code::FLUSH_DISK_TIMEOUT => SendStatus::FlushDiskTimeout,
        response_code::FLUSH_SLAVE_TIMEOUT => SendStatus::FlushSlaveTimeout,
        response_code::SLAVE_NOT_AVAILABLE => SendStatus::SlaveNotAvailable,
        code => return Err(ClientError::broker(code, response.remark.clone(), addr)),
    };
    let header: SendMessageResponseHeader = response
        .decode_header()
        .map_err(|e| ClientError::invalid_response(addr, e))?;
    let region_id = header
        .msg_region
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| DEFAULT_TRACE_REGION_ID.to_string());
    // Java: trace is on unless the field says exactly "false".
    let trace_on = response.ext_fields.get("TRACE_ON") != Some("false");
    Ok(SendResult {
        send_status,
        msg_id: msg_id.to_string(),
        offset_msg_id: header.msg_id,
        message_queue: MessageQueue::new(topic, broker_name, header.queue_id),
        queue_offset: header.queue_offset,
        transaction_id: header.transaction_id,
        region_id,
        trace_on,
    })
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

/// True when a property string says `MSG_TYPE=reply` (a reply made by
/// `create_reply_message`).
fn is_reply(properties: Option<&str>) -> bool {
    let Some(text) = properties else {
        return false;
    };
    text.contains(message_const::PROPERTY_MESSAGE_TYPE)
        && string_to_properties(text).get(message_const::PROPERTY_MESSAGE_TYPE)
            == Some(message_const::REPLY_MESSAGE_FLAG)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::shared::test_support::fixture;

    #[test]
    fn send_responses_of_java_vectors_022_and_115() {
        for (name, offset_id, queue_offset) in [
            (
                "java-4.9.8/022-resp-code0-json.bin",
                "7F00000100002A9F00000000000008C0",
                3,
            ),
            (
                "java-4.9.8/115-resp-code0-binary.bin",
                "7F00000100002A9F00000000000015E9",
                7,
            ),
        ] {
            let response = fixture(name);
            let result = process_send_response(
                "TopicTest",
                "broker-a",
                "UNIQ",
                &response,
                "127.0.0.1:10911",
            )
            .unwrap();
            assert_eq!(
                result,
                SendResult {
                    send_status: SendStatus::SendOk,
                    msg_id: "UNIQ".into(),
                    offset_msg_id: offset_id.into(),
                    message_queue: MessageQueue::new("TopicTest", "broker-a", 2),
                    queue_offset,
                    transaction_id: None,
                    region_id: "DefaultRegion".into(),
                    trace_on: true,
                },
                "{name}"
            );
        }
    }

    #[test]
    fn send_statuses_errors_and_defaults() {
        let ok = fixture("java-4.9.8/022-resp-code0-json.bin");
        for (code, status) in [
            (
                response_code::FLUSH_DISK_TIMEOUT,
                SendStatus::FlushDiskTimeout,
            ),
            (
                response_code::FLUSH_SLAVE_TIMEOUT,
                SendStatus::FlushSlaveTimeout,
            ),
            (
                response_code::SLAVE_NOT_AVAILABLE,
                SendStatus::SlaveNotAvailable,
            ),
        ] {
            let mut response = ok.clone();
            response.code = code;
            let result = process_send_response("T", "b", "U", &response, "a:1").unwrap();
            assert_eq!(result.send_status, status);
        }
        // No region, trace off.
        let mut response = ok.clone();
        response.ext_fields.remove("MSG_REGION");
        response.ext_fields.insert("TRACE_ON", "false");
        let result = process_send_response("T", "b", "U", &response, "a:1").unwrap();
        assert_eq!(result.region_id, "DefaultRegion");
        assert!(!result.trace_on);
        // An error code keeps code, remark and broker address.
        let error = process_send_response(
            "T",
            "b",
            "U",
            &RemotingCommand::new_response(response_code::SYSTEM_BUSY, Some("busy".into())),
            "10.0.0.1:10911",
        )
        .unwrap_err();
        assert!(
            matches!(
                &error,
                ClientError::Broker { code: 2, remark: Some(r), addr }
                    if r == "busy" && addr == "10.0.0.1:10911"
            ),
            "{error:?}"
        );
        // SUCCESS without the header fields is an unreadable response, not a panic.
        let error =
            process_send_response("T", "b", "U", &RemotingCommand::success(), "a:1").unwrap_err();
        assert!(error.to_string().contains("msgId"), "{error}");
    }

    #[test]
    fn pull_response_of_java_vector_083() {
        let result =
            process_pull_response(fixture("java-4.9.8/083-resp-code0-json.bin"), "a:1").unwrap();
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
}
