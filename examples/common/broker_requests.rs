//! SEND_MESSAGE_V2 and PULL_MESSAGE built by hand, field by field as a Java client fills them
//! in, for the programs that drive a broker without our client: the broker benchmarks, and the
//! broker tests (which take this file as `common::raw`).

#![allow(dead_code)] // each program takes what it needs

use rocketmq_blocking::protocol::codes::request_code;
use rocketmq_blocking::protocol::header::{
    PullMessageRequestHeader, SendMessageRequestHeader, SendMessageRequestHeaderV2,
};
use rocketmq_blocking::protocol::{Body, RemotingCommand};

/// `PullSysFlag.FLAG_SUSPEND`: the broker may hold the pull until a message arrives.
pub const FLAG_SUSPEND: i32 = 0x2;
/// `PullSysFlag.FLAG_SUBSCRIPTION`: the pull carries its subscription.
pub const FLAG_SUBSCRIPTION: i32 = 0x4;

/// A send of a new message from `producer_group` to queue `queue_id` of `topic`, with its
/// `\x01`/`\x02` property string: the topic is created from TBW102 with 4 queues when missing,
/// the message was never consumed, its born time is 0 (set `born_timestamp` where it matters).
pub fn send_header(
    producer_group: &str,
    topic: &str,
    queue_id: i32,
    properties: &str,
) -> SendMessageRequestHeader {
    SendMessageRequestHeader {
        producer_group: producer_group.into(),
        topic: topic.into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id,
        properties: Some(properties.into()),
        reconsume_times: Some(0),
        ..SendMessageRequestHeader::default()
    }
}

/// SEND_MESSAGE_V2 of `header` (in Java's one-letter field names) and `body`.
pub fn send_request(header: SendMessageRequestHeader, body: impl Into<Body>) -> RemotingCommand {
    RemotingCommand::request_with_header(
        request_code::SEND_MESSAGE_V2,
        &SendMessageRequestHeaderV2::from(header),
    )
    .with_body(body)
}

/// A pull by `consumer_group` of up to 32 messages from `offset` of queue `queue_id` of
/// `topic`, subscribed to every tag, answered at once (not held) and committing nothing.
pub fn pull_header(
    consumer_group: &str,
    topic: &str,
    queue_id: i32,
    offset: i64,
) -> PullMessageRequestHeader {
    PullMessageRequestHeader {
        consumer_group: consumer_group.into(),
        topic: topic.into(),
        queue_id,
        queue_offset: offset,
        max_msg_nums: 32,
        sys_flag: FLAG_SUBSCRIPTION,
        subscription: Some("*".into()),
        expression_type: Some("TAG".into()),
        ..PullMessageRequestHeader::default()
    }
}

/// PULL_MESSAGE of `header`.
pub fn pull_request(header: &PullMessageRequestHeader) -> RemotingCommand {
    RemotingCommand::request_with_header(request_code::PULL_MESSAGE, header)
}
