//! The producer's RPCs: SEND_MESSAGE_V2 (or SEND_BATCH_MESSAGE, SEND_REPLY_MESSAGE_V2) and
//! the reading of its answer (`MQClientAPIImpl.sendMessage`, `processSendResponse`), and
//! RECALL_MESSAGE (`recallMessage`).

use std::time::Duration;

use super::MqClientApi;
use crate::client::shared::error::ClientError;
use crate::client::shared::result::{Callback, CommunicationMode, SendResult, SendStatus};
use crate::protocol::codes::{request_code, response_code};
use crate::protocol::header::{
    RecallMessageRequestHeader, RecallMessageResponseHeader, SendMessageRequestHeaderV2,
    SendMessageResponseHeader,
};
use crate::protocol::message::{message_const, string_to_properties, MessageQueue};
use crate::protocol::{Body, RemotingCommand};
use crate::remoting::InvokeResult;

/// The region a send result reports when the broker names none (`MixAll.DEFAULT_TRACE_REGION_ID`).
pub(crate) const DEFAULT_TRACE_REGION_ID: &str = "DefaultRegion";

impl MqClientApi {
    /// SEND_MESSAGE_V2, or SEND_BATCH_MESSAGE when `header.m` says batch (`sendMessage`):
    /// builds the request, sends it the way `mode` says, and reads the answer
    /// (`processSendResponse`). `msg_id` is the client id (`UNIQ_KEY`) the result reports.
    ///
    /// Sync: returns the result. Oneway: returns once the request is handed to the
    /// connection. Async: returns at once, and `callback` gets the outcome exactly once, on
    /// the transport's callback pool, or on this thread when the request could not leave (an
    /// async send without a callback waits as a sync one).
    #[allow(clippy::too_many_arguments)] // Java's sendMessage takes these, and more
    pub(crate) fn send_message(
        &self,
        addr: &str,
        broker_name: &str,
        header: &SendMessageRequestHeaderV2,
        body: Body,
        msg_id: &str,
        timeout: Duration,
        mode: CommunicationMode,
        callback: Option<Callback<SendResult>>,
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
        match (mode, callback) {
            (CommunicationMode::Async, Some(callback)) => {
                let (topic, broker_name, msg_id, response_addr) = (
                    header.b.clone(),
                    broker_name.to_string(),
                    msg_id.to_string(),
                    addr.to_string(),
                );
                self.remoting().invoke_async_always(
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
            (CommunicationMode::Oneway, _) => {
                self.remoting()
                    .invoke_oneway(Some(addr), request, timeout)
                    .map_err(|e| self.call_error(e))?;
                Ok(None)
            }
            (CommunicationMode::Sync | CommunicationMode::Async, _) => {
                let response = self
                    .remoting()
                    .invoke_sync(Some(addr), request, timeout)
                    .map_err(|e| self.call_error(e))?;
                process_send_response(&header.b, broker_name, msg_id, &response, addr).map(Some)
            }
        }
    }
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
        recall_handle: header.recall_handle,
    })
}

impl MqClientApi {
    /// RECALL_MESSAGE (5.3): cancels the timer message `recall_handle` names; its unique id
    /// (`recallMessage`).
    pub(crate) fn recall_message(
        &self,
        addr: &str,
        header: &RecallMessageRequestHeader,
        timeout: Duration,
    ) -> Result<String, ClientError> {
        let request = self.request(request_code::RECALL_MESSAGE, header);
        let answer: RecallMessageResponseHeader = self.invoke_header(addr, request, timeout)?;
        Ok(answer.msg_id)
    }
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
    use crate::protocol::message::recall_handle::RecallHandle;

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
                    recall_handle: None,
                },
                "{name}"
            );
        }
    }

    #[test]
    fn a_java_5_3_timer_send_answer_carries_its_recall_handle() {
        let response = fixture("java-5.3.3/004-resp-code0-json.bin");
        let result = process_send_response(
            "CapTimer5",
            "broker-5",
            "FD00000000000000000000000000000259C85FFD2B2720785BA30000",
            &response,
            "127.0.0.1:10941",
        )
        .unwrap();
        let handle = result.recall_handle.expect("recallHandle");
        let decoded = RecallHandle::decode(&handle).unwrap();
        assert_eq!(decoded.topic, "CapTimer5");
        assert_eq!(decoded.broker_name, "broker-5");
        assert_eq!(decoded.timestamp_ms(), 1_796_627_961_001);
        assert_eq!(decoded.message_id, result.msg_id);
        // And the reference broker builds the same handle from the same facts.
        assert_eq!(
            RecallHandle::build("CapTimer5", "broker-5", "1796627961001", &result.msg_id),
            handle
        );
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
}
