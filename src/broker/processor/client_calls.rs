//! Admin requests the broker answers by asking its consumers: GET_CONSUMER_RUNNING_INFO (307)
//! and CONSUME_MESSAGE_DIRECTLY (309) forwarded to one client, INVOKE_BROKER_TO_RESET_OFFSET
//! (222) and INVOKE_BROKER_TO_GET_CONSUMER_STATUS (223) sent to every client of a group;
//! mirrors Java's `AdminBrokerProcessor.callConsumer` and `Broker2Client`.
//!
//! These are what `mqadmin consumerStatus`, `consumeMessage`, `resetOffsetByTime` and
//! `getConsumerStatus` do. They run on their own small pool: a call waits for a client (at
//! most 10 s), and must not hold the threads that serve sends and pulls.

use std::collections::BTreeMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use super::BrokerContext;
use crate::protocol::body::{GetConsumerStatusBody, ResetOffsetBody};
use crate::protocol::codes::{request_code, response_code};
use crate::protocol::header::{
    ConsumeMessageDirectlyResultRequestHeader, GetConsumerRunningInfoRequestHeader,
    GetConsumerStatusRequestHeader, ResetOffsetRequestHeader,
};
use crate::protocol::message::{decode_offset_message_id, MessageQueue};
use crate::protocol::{CommandCustomHeader, RemotingCommand};
use crate::remoting::{ProcessorError, RemotingServer, RequestContext, RequestProcessor};

/// How long a call to a client may take (`Broker2Client.callClient`: 10 s).
const CALL_CLIENT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client's offsets may take (`getConsumeStatus`: 5 s).
const STATUS_TIMEOUT: Duration = Duration::from_secs(5);

/// Forwards admin requests to consumers.
pub(crate) struct ClientCallsProcessor {
    broker: Arc<BrokerContext>,
}

fn error(code: i32, remark: impl Into<String>) -> RemotingCommand {
    RemotingCommand::new_response(code, remark.into())
}

impl ClientCallsProcessor {
    /// A processor over the broker's shared state.
    pub(crate) fn new(broker: Arc<BrokerContext>) -> Self {
        ClientCallsProcessor { broker }
    }

    fn server(&self) -> Option<Arc<RemotingServer>> {
        self.broker.server.get().and_then(Weak::upgrade)
    }

    /// Sends `request`'s code, ext fields and body to `client_id` of `group` and returns its
    /// answer (`callConsumer`).
    fn call_consumer(
        &self,
        request: &RemotingCommand,
        group: &str,
        client_id: &str,
    ) -> RemotingCommand {
        let Some(server) = self.server() else {
            return error(response_code::SYSTEM_ERROR, "the broker is shutting down");
        };
        let channel = self
            .broker
            .clients
            .consumer_group(group)
            .and_then(|g| g.channels.into_values().find(|c| c.client_id == client_id));
        let Some(channel) = channel else {
            return error(
                response_code::SYSTEM_ERROR,
                format!("The Consumer <{group}> <{client_id}> not online"),
            );
        };
        let mut forwarded = RemotingCommand::new_request(request.code);
        forwarded.ext_fields = request.ext_fields.clone();
        forwarded.body = request.body.clone();
        match server.invoke_sync(&channel.connection, forwarded, CALL_CLIENT_TIMEOUT) {
            Ok(answer) => answer,
            Err(e) => error(
                response_code::SYSTEM_ERROR,
                format!("invoke consumer <{group}> <{client_id}> failed: {e}"),
            ),
        }
    }

    fn consume_message_directly(
        &self,
        mut request: RemotingCommand,
    ) -> Result<RemotingCommand, ProcessorError> {
        let h = ConsumeMessageDirectlyResultRequestHeader::read_from(&request.ext_fields)?;
        let Some(msg_id) = h.msg_id.as_deref() else {
            return Ok(error(response_code::SYSTEM_ERROR, "no msgId"));
        };
        let found = decode_offset_message_id(msg_id)
            .ok()
            .and_then(|(_, offset)| self.broker.store.select_one_message_by_offset(offset));
        let Some(stored) = found else {
            return Ok(error(
                response_code::SYSTEM_ERROR,
                format!("no message with id {msg_id} on this broker"),
            ));
        };
        request.body = stored.into();
        let client_id = h.client_id.clone().unwrap_or_default();
        Ok(self.call_consumer(&request, &h.consumer_group, &client_id))
    }

    /// New offsets of `group` for `topic`, sent to each client (`Broker2Client.resetOffset`).
    fn reset_offset(&self, request: &RemotingCommand) -> Result<RemotingCommand, ProcessorError> {
        let h = ResetOffsetRequestHeader::read_from(&request.ext_fields)?;
        let b = &self.broker;
        let Some(topic) = b.topics.select_topic_config(&h.topic) else {
            return Ok(error(
                response_code::SYSTEM_ERROR,
                format!(
                    "[reset-offset] reset offset failed, no topic in this broker. topic={}",
                    h.topic
                ),
            ));
        };
        let mut offsets = BTreeMap::new();
        for queue_id in 0..topic.write_queue_nums {
            if h.queue_id.is_some_and(|q| q >= 0 && q != queue_id) {
                continue;
            }
            let Some(committed) = b.offsets.query_offset(&h.group, &h.topic, queue_id) else {
                return Ok(error(
                    response_code::SYSTEM_ERROR,
                    format!("THe consumer group <{}> not exist", h.group),
                ));
            };
            let target = match (h.offset, h.timestamp) {
                (Some(offset), _) if h.queue_id == Some(queue_id) => offset,
                (_, -1) => b.store.max_offset_in_queue(&h.topic, queue_id),
                (_, at) => b.store.offset_in_queue_by_time(&h.topic, queue_id, at),
            }
            .max(0);
            let offset = if h.is_force || target < committed {
                target
            } else {
                committed
            };
            offsets.insert(
                MessageQueue::new(&h.topic, &b.config.broker_name, queue_id),
                offset,
            );
        }
        let body = ResetOffsetBody {
            offset_table: offsets,
        };
        let members = b
            .clients
            .consumer_group(&h.group)
            .map(|g| g.channels.into_values().collect::<Vec<_>>())
            .unwrap_or_default();
        let Some(server) = self.server().filter(|_| !members.is_empty()) else {
            return Ok(error(
                response_code::CONSUMER_NOT_ONLINE,
                format!(
                    "Consumer not online, so can not reset offset, Group: {}",
                    h.group
                ),
            ));
        };
        for member in &members {
            let notice = RemotingCommand::request_with_header(
                request_code::RESET_CONSUMER_CLIENT_OFFSET,
                &h,
            )
            .with_body(body.to_json());
            if let Err(e) = server.invoke_oneway(&member.connection, notice, STATUS_TIMEOUT) {
                log::warn!("[reset-offset] telling {} failed: {e}", member.client_id);
            } else {
                log::info!(
                    "[reset-offset] {} of group {} told to reset {}",
                    member.client_id,
                    h.group,
                    h.topic
                );
            }
        }
        Ok(RemotingCommand::success().with_body(body.to_json()))
    }

    /// Every client's offsets of `group` for `topic` (`Broker2Client.getConsumeStatus`).
    fn consumer_status(
        &self,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, ProcessorError> {
        let h = GetConsumerStatusRequestHeader::read_from(&request.ext_fields)?;
        let Some(server) = self.server() else {
            return Ok(error(
                response_code::SYSTEM_ERROR,
                "the broker is shutting down",
            ));
        };
        let members = self
            .broker
            .clients
            .consumer_group(&h.group)
            .map(|g| g.channels.into_values().collect::<Vec<_>>())
            .unwrap_or_default();
        if members.is_empty() {
            return Ok(error(
                response_code::SYSTEM_ERROR,
                format!(
                    "No Any Consumer online in the consumer group: [{}]",
                    h.group
                ),
            ));
        }
        let mut gathered = GetConsumerStatusBody::default();
        for member in members {
            if let Some(addr) = &h.client_addr {
                if !addr.is_empty() && addr != member.connection.remote_addr() {
                    continue;
                }
            }
            let ask = RemotingCommand::request_with_header(
                request_code::GET_CONSUMER_STATUS_FROM_CLIENT,
                &h,
            );
            match server.invoke_sync(&member.connection, ask, STATUS_TIMEOUT) {
                Ok(answer) if answer.code == response_code::SUCCESS => {
                    match GetConsumerStatusBody::from_json(&answer.body) {
                        Ok(body) => {
                            gathered
                                .consumer_table
                                .insert(member.client_id.clone(), body.message_queue_table);
                        }
                        Err(e) => log::warn!("status of {}: {e}", member.client_id),
                    }
                }
                Ok(answer) => log::warn!(
                    "status of {}: code {} {:?}",
                    member.client_id,
                    answer.code,
                    answer.remark
                ),
                Err(e) => log::warn!("status of {}: {e}", member.client_id),
            }
        }
        Ok(RemotingCommand::success().with_body(gathered.to_json()))
    }
}

impl RequestProcessor for ClientCallsProcessor {
    fn process_request(
        &self,
        _ctx: &RequestContext,
        request: RemotingCommand,
    ) -> Result<Option<RemotingCommand>, ProcessorError> {
        let response = match request.code {
            request_code::GET_CONSUMER_RUNNING_INFO => {
                let h = GetConsumerRunningInfoRequestHeader::read_from(&request.ext_fields)?;
                self.call_consumer(&request, &h.consumer_group, &h.client_id)
            }
            request_code::CONSUME_MESSAGE_DIRECTLY => self.consume_message_directly(request)?,
            request_code::INVOKE_BROKER_TO_RESET_OFFSET => self.reset_offset(&request)?,
            _ => self.consumer_status(&request)?,
        };
        Ok(Some(response))
    }
}
