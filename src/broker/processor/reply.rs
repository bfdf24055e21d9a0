//! SEND_REPLY_MESSAGE (324) and SEND_REPLY_MESSAGE_V2 (325): a responder's reply to a
//! request, pushed at once to the client that sent the request (PUSH_REPLY_MESSAGE_TO_CLIENT,
//! 326, found by the `REPLY_TO_CLIENT` property among connected producers) and stored in the
//! reply topic; mirrors Java's `ReplyMessageProcessor`.
//!
//! The answer's code says whether the push succeeded, whatever the store did (as Java). The
//! push waits for the requester at most 10 s, on this processor's own pool, so a slow
//! requester holds reply threads, never the threads that serve sends and pulls.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use super::send::msg_check;
use super::BrokerContext;
use crate::broker::store::PutMessageStatus;
use crate::common::clock::now_millis;
use crate::protocol::codes::{request_code, response_code};
use crate::protocol::header::{
    ReplyMessageRequestHeader, SendMessageRequestHeader, SendMessageRequestHeaderV2,
    SendMessageResponseHeader,
};
use crate::protocol::message::properties::{
    message_const, properties_to_string, string_to_properties,
};
use crate::protocol::message::MessageExt;
use crate::protocol::{CommandCustomHeader, RemotingCommand};
use crate::remoting::{ProcessorError, RequestContext, RequestProcessor};

/// How long a requester may take to take its reply (Java: 10 s).
const PUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// Pushes replies to requesters and stores them.
pub(crate) struct ReplyMessageProcessor {
    broker: Arc<BrokerContext>,
    next_queue: AtomicUsize,
}

impl ReplyMessageProcessor {
    /// A processor over the broker's shared state.
    pub(crate) fn new(broker: Arc<BrokerContext>) -> Self {
        ReplyMessageProcessor {
            broker,
            next_queue: AtomicUsize::new(0),
        }
    }

    /// `pushReplyMessage`: hands the reply to the requester's connection; `Err` is the remark.
    fn push_reply(
        &self,
        header: &SendMessageRequestHeader,
        body: &[u8],
        responder: &str,
    ) -> Result<(), String> {
        let mut properties = string_to_properties(header.properties.as_deref().unwrap_or(""));
        let Some(requester) = properties
            .get(message_const::PROPERTY_MESSAGE_REPLY_TO_CLIENT)
            .map(str::to_string)
        else {
            return Err("reply message properties[REPLY_TO_CLIENT] is null".into());
        };
        let Some(channel) = self.broker.clients.find_producer_channel(&requester) else {
            return Err(format!(
                "push reply message fail, channel of <{requester}> not found."
            ));
        };
        let Some(server) = self.broker.server.get().and_then(Weak::upgrade) else {
            return Err(format!("push reply message to {requester}fail."));
        };
        properties.insert(
            message_const::PROPERTY_PUSH_REPLY_TIME,
            now_millis().to_string(),
        );
        let push = ReplyMessageRequestHeader {
            producer_group: header.producer_group.clone(),
            topic: header.topic.clone(),
            default_topic: header.default_topic.clone(),
            default_topic_queue_nums: header.default_topic_queue_nums,
            queue_id: header.queue_id,
            sys_flag: header.sys_flag,
            born_timestamp: header.born_timestamp,
            flag: header.flag,
            properties: Some(properties_to_string(&properties)),
            reconsume_times: header.reconsume_times,
            unit_mode: header.unit_mode,
            born_host: responder.to_string(),
            store_host: self.broker.broker_addr.clone(),
            store_timestamp: now_millis(),
        };
        let request =
            RemotingCommand::request_with_header(request_code::PUSH_REPLY_MESSAGE_TO_CLIENT, &push)
                .with_body(body.to_vec());
        match server.invoke_sync(&channel.connection, request, PUSH_TIMEOUT) {
            Ok(answer) if answer.code == response_code::SUCCESS => Ok(()),
            Ok(answer) => {
                log::warn!(
                    "requester {requester} refused a reply: code {} {:?}",
                    answer.code,
                    answer.remark
                );
                Err(format!("push reply message to {requester}fail."))
            }
            Err(e) => {
                log::warn!("pushing a reply to {requester} failed: {e}");
                Err(format!("push reply message to {requester}fail."))
            }
        }
    }
}

impl RequestProcessor for ReplyMessageProcessor {
    fn process_request(
        &self,
        ctx: &RequestContext,
        request: RemotingCommand,
    ) -> Result<Option<RemotingCommand>, ProcessorError> {
        let header = match request.code {
            request_code::SEND_REPLY_MESSAGE_V2 => SendMessageRequestHeader::from(
                SendMessageRequestHeaderV2::read_from(&request.ext_fields)?,
            ),
            _ => SendMessageRequestHeader::read_from(&request.ext_fields)?,
        };
        let topic = match msg_check(&self.broker, &header, ctx.remote_addr()) {
            Ok(topic) => topic,
            Err(response) => return Ok(Some(response)),
        };
        let queue_id = if header.queue_id < 0 {
            let n = topic.write_queue_nums.max(1) as usize;
            (self.next_queue.fetch_add(1, Ordering::Relaxed) % n) as i32
        } else {
            header.queue_id
        };
        let pushed = self.push_reply(&header, &request.body, ctx.remote_addr());
        let mut answer = SendMessageResponseHeader {
            msg_id: "0".into(),
            queue_id,
            queue_offset: 0,
            transaction_id: None,
            batch_uniq_id: None,
            recall_handle: None,
            msg_region: Some(self.broker.config.region_id.clone()),
            trace_on: Some(self.broker.config.trace_on),
        };
        if self.broker.config.store_reply_message {
            let born_host: SocketAddr = ctx
                .remote_addr()
                .parse()
                .unwrap_or_else(|_| ([0, 0, 0, 0], 0).into());
            let message = MessageExt {
                topic: header.topic.clone(),
                queue_id,
                body: request.body,
                flag: header.flag,
                properties: string_to_properties(header.properties.as_deref().unwrap_or("")),
                sys_flag: header.sys_flag,
                born_timestamp: header.born_timestamp,
                born_host,
                store_host: self.broker.store_host,
                reconsume_times: header.reconsume_times.unwrap_or(0),
                ..MessageExt::default()
            };
            match self.broker.store.put_message(message) {
                Ok(put)
                    if put.status == PutMessageStatus::PutOk
                        || put.status == PutMessageStatus::FlushDiskTimeout =>
                {
                    answer.msg_id = put.msg_id;
                    answer.queue_offset = put.queue_offset;
                }
                Ok(put) => log::warn!("storing a reply: {:?}", put.status),
                Err(e) => log::warn!("storing a reply failed: {e}"),
            }
        }
        let mut response = match pushed {
            Ok(()) => RemotingCommand::new_response(response_code::SUCCESS, None),
            Err(remark) => RemotingCommand::new_response(response_code::SYSTEM_ERROR, remark),
        };
        answer.write_to(&mut response.ext_fields);
        Ok(Some(response))
    }
}
