//! `ClientRemotingProcessor`: the requests brokers send a client, the client acting as the
//! server; mirrors Java's class of that name.
//!
//! - NOTIFY_CONSUMER_IDS_CHANGED (oneway): the group changed; rebalance now.
//! - RESET_CONSUMER_CLIENT_OFFSET: take these offsets (`mqadmin resetOffsetByTime`).
//! - GET_CONSUMER_STATUS_FROM_CLIENT: the offsets held for a topic.
//! - GET_CONSUMER_RUNNING_INFO: subscriptions, queues, rates (`mqadmin consumerStatus`).
//! - CONSUME_MESSAGE_DIRECTLY: consume this message now and say how
//!   (`mqadmin consumeMessage`).

use std::sync::Weak;

use crate::client::consumer::consumer_inner::ConsumerInner;
use crate::protocol::body::{GetConsumerStatusBody, ResetOffsetBody};
use crate::protocol::codes::{request_code, response_code};
use crate::protocol::header::{
    ConsumeMessageDirectlyResultRequestHeader, GetConsumerRunningInfoRequestHeader,
    GetConsumerStatusRequestHeader, NotifyConsumerIdsChangedRequestHeader,
    ResetOffsetRequestHeader,
};
use crate::protocol::message::{decode_message, MessageQueue};
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

/// Answers a broker's requests to one consumer.
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
                if header.consumer_group != consumer.group_name() {
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

/// The queue a directly consumed message came from, for its listener's context.
pub(crate) fn queue_of(topic: &str, broker_name: Option<&str>, queue_id: i32) -> MessageQueue {
    MessageQueue::new(topic, broker_name.unwrap_or(""), queue_id)
}
