//! `ClientRemotingProcessor`: the requests brokers send a client, the client acting as the
//! server; mirrors Java's class of that name.
//!
//! - NOTIFY_CONSUMER_IDS_CHANGED (oneway): the group changed; rebalance now.
//! - RESET_CONSUMER_CLIENT_OFFSET: take these offsets (`mqadmin resetOffsetByTime`).
//! - GET_CONSUMER_STATUS_FROM_CLIENT: the offsets held for a topic.
//! - GET_CONSUMER_RUNNING_INFO: subscriptions, queues, rates (`mqadmin consumerStatus`).
//! - CONSUME_MESSAGE_DIRECTLY: consume this message now and say how
//!   (`mqadmin consumeMessage`).

use std::collections::BTreeMap;
use std::sync::Weak;

use crate::protocol::body::{
    ConsumeMessageDirectlyResult, ConsumerRunningInfo, GetConsumerStatusBody, ResetOffsetBody,
};
use crate::protocol::codes::{request_code, response_code};
use crate::protocol::header::{
    ConsumeMessageDirectlyResultRequestHeader, GetConsumerRunningInfoRequestHeader,
    GetConsumerStatusRequestHeader, NotifyConsumerIdsChangedRequestHeader,
    ResetOffsetRequestHeader,
};
use crate::protocol::message::{decode_message, MessageExt, MessageQueue};
use crate::protocol::RemotingCommand;
use crate::remoting::{ProcessorError, RequestContext, RequestProcessor};

/// The codes this processor serves.
pub(crate) const CLIENT_REQUEST_CODES: [i32; 5] = [
    request_code::NOTIFY_CONSUMER_IDS_CHANGED,
    request_code::RESET_CONSUMER_CLIENT_OFFSET,
    request_code::GET_CONSUMER_STATUS_FROM_CLIENT,
    request_code::GET_CONSUMER_RUNNING_INFO,
    request_code::CONSUME_MESSAGE_DIRECTLY,
];

/// What brokers ask of a consumer (Java's `MQConsumerInner`, as this processor calls it);
/// the consumer engine answers.
pub(crate) trait ConsumerInner: Send + Sync {
    /// The consumer group.
    fn group(&self) -> &str;
    /// Re-shares the queues now (NOTIFY_CONSUMER_IDS_CHANGED; `rebalanceImmediately`).
    fn rebalance_now(&self);
    /// The state `mqadmin consumerStatus` shows (GET_CONSUMER_RUNNING_INFO).
    fn running_info(&self) -> ConsumerRunningInfo;
    /// Moves the offsets of `topic`'s queues (RESET_CONSUMER_CLIENT_OFFSET).
    fn reset_offset(&self, topic: &str, offsets: &BTreeMap<MessageQueue, i64>);
    /// The offsets held in memory for `topic` (GET_CONSUMER_STATUS_FROM_CLIENT).
    fn consumer_status(&self, topic: &str) -> BTreeMap<MessageQueue, i64>;
    /// Consumes one message now and says how (CONSUME_MESSAGE_DIRECTLY).
    fn consume_message_directly(
        &self,
        message: MessageExt,
        broker_name: Option<&str>,
    ) -> ConsumeMessageDirectlyResult;
}

/// Answers a broker's requests to one consumer. It is registered with the transport the
/// consumer's engine owns, so it holds the engine weakly: once the consumer is gone, brokers
/// get an error answer.
pub(crate) struct ClientRemotingProcessor {
    consumer: Weak<dyn ConsumerInner>,
}

impl ClientRemotingProcessor {
    pub(crate) fn new(consumer: Weak<dyn ConsumerInner>) -> Self {
        ClientRemotingProcessor { consumer }
    }
}

fn error(code: i32, remark: String) -> Result<Option<RemotingCommand>, ProcessorError> {
    Ok(Some(RemotingCommand::new_response(code, remark)))
}

impl RequestProcessor for ClientRemotingProcessor {
    fn process_request(
        &self,
        ctx: &RequestContext,
        request: RemotingCommand,
    ) -> Result<Option<RemotingCommand>, ProcessorError> {
        let Some(consumer) = self.consumer.upgrade() else {
            return error(
                response_code::SYSTEM_ERROR,
                "the consumer has shut down".into(),
            );
        };
        match request.code {
            request_code::NOTIFY_CONSUMER_IDS_CHANGED => {
                let header: NotifyConsumerIdsChangedRequestHeader = request.decode_header()?;
                log::info!(
                    "{}: group {} changed; rebalancing now",
                    ctx.remote_addr(),
                    header.consumer_group
                );
                consumer.rebalance_now();
                Ok(None)
            }
            request_code::RESET_CONSUMER_CLIENT_OFFSET => {
                let header: ResetOffsetRequestHeader = request.decode_header()?;
                let mut offsets = if request.body.is_empty() {
                    Default::default()
                } else {
                    ResetOffsetBody::from_json(&request.body)?.offset_table
                };
                // 5.x may name one queue and its offset in the header instead.
                if let (Some(queue_id), Some(offset)) = (header.queue_id, header.offset) {
                    if queue_id >= 0 && offsets.is_empty() {
                        for queue in consumer.consumer_status(&header.topic).into_keys() {
                            if queue.queue_id == queue_id {
                                offsets.insert(queue, offset);
                            }
                        }
                    }
                }
                log::info!(
                    "{}: resetting {} offset(s) of {} for group {}",
                    ctx.remote_addr(),
                    offsets.len(),
                    header.topic,
                    header.group
                );
                consumer.reset_offset(&header.topic, &offsets);
                Ok(Some(RemotingCommand::success()))
            }
            request_code::GET_CONSUMER_STATUS_FROM_CLIENT => {
                let header: GetConsumerStatusRequestHeader = request.decode_header()?;
                let body = GetConsumerStatusBody {
                    message_queue_table: consumer.consumer_status(&header.topic),
                    ..GetConsumerStatusBody::default()
                };
                Ok(Some(RemotingCommand::success().with_body(body.to_json())))
            }
            request_code::GET_CONSUMER_RUNNING_INFO => {
                let header: GetConsumerRunningInfoRequestHeader = request.decode_header()?;
                if header.consumer_group != consumer.group() {
                    return error(
                        response_code::SYSTEM_ERROR,
                        format!(
                            "The Consumer Group <{}> not exist in this consumer",
                            header.consumer_group
                        ),
                    );
                }
                let mut info = consumer.running_info();
                if header.jstack_enable {
                    info.jstack = "thread dumps are not available from a Rust client".into();
                }
                Ok(Some(RemotingCommand::success().with_body(info.to_json())))
            }
            request_code::CONSUME_MESSAGE_DIRECTLY => {
                let header: ConsumeMessageDirectlyResultRequestHeader = request.decode_header()?;
                let (message, _) = decode_message(&request.body, true)?;
                let broker_name = header.broker_name.as_deref();
                let result = consumer.consume_message_directly(message, broker_name);
                Ok(Some(RemotingCommand::success().with_body(result.to_json())))
            }
            other => error(
                response_code::REQUEST_CODE_NOT_SUPPORTED,
                format!("request type {other} not supported"),
            ),
        }
    }
}
