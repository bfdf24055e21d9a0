//! JSON request and response bodies as Java writes and reads them (Java's `protocol.body`,
//! `protocol.route` and `protocol.heartbeat` packages).
//!
//! Each body type has `from_json(&[u8])`, which accepts what Java, 5.x and the C++ client write
//! (unknown fields, missing optional fields, `null`s, a trailing newline, unquoted integer map
//! keys), and `to_json`, which writes fastjson's layout: keys sorted, absent fields omitted.
//! An unusable body is a [`BodyError::Json`](crate::protocol::BodyError::Json) naming the body
//! and the field at fault.

pub mod admin;
pub mod cluster;
pub mod consumer_info;
pub mod consumer_list;
pub mod heartbeat;
mod json;
pub mod lock_batch;
pub mod pop;
pub mod route;
pub mod topic_config;

pub use admin::{
    Connection, ConsumeStats, ConsumerConnection, GroupList, KvTable, OffsetWrapper,
    ProducerConnection, SubscriptionGroupConfig, SubscriptionGroupWrapper, TopicList, TopicOffset,
    TopicStatsTable,
};
pub use cluster::ClusterInfo;
pub use consumer_info::{
    running_info_property, CmResult, ConsumeMessageDirectlyResult, ConsumeStatus,
    ConsumerRunningInfo, GetConsumerStatusBody, PopProcessQueueInfo, ProcessQueueInfo,
    ResetOffsetBody,
};
pub use consumer_list::GetConsumerListByGroupResponseBody;
pub use heartbeat::{
    CheckClientRequestBody, ConsumeFromWhere, ConsumeType, ConsumerData, HeartbeatData,
    MessageModel, ProducerData, SubscriptionData,
};
#[cfg(feature = "servers")]
pub(crate) use json::quote_bare_keys as json_quote_bare_keys;
pub use lock_batch::{LockBatchRequestBody, LockBatchResponseBody, UnlockBatchRequestBody};
pub use pop::{
    BatchAck, BatchAckMessageRequestBody, MessageQueueAssignment, MessageRequestMode,
    MessageRequestModeSerializeWrapper, QueryAssignmentRequestBody, QueryAssignmentResponseBody,
    SetMessageRequestModeRequestBody,
};
pub use route::{perm_name, BrokerData, QueueData, TopicRouteData, MASTER_ID};
pub use topic_config::{
    DataVersion, RegisterBrokerBody, TopicConfig, TopicConfigSerializeWrapper, TopicFilterType,
};
