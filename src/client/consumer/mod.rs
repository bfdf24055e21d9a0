//! Consumers: [`PullConsumer`] reads queues from offsets the caller keeps.

mod allocate;
pub(crate) mod client_remoting_processor;
mod consume_concurrently;
mod consume_orderly;
mod consume_service;
mod consume_stats;
pub(crate) mod consumer_inner;
mod group_start;
mod listener;
mod lite_pull_consumer;
mod offset_store;
mod process_queue;
mod pull_api;
mod pull_consumer;
mod pull_service;
mod push_consumer;
mod rebalance;
mod subscription;

pub use allocate::{
    AllocateAveragely, AllocateAveragelyByCircle, AllocateByConfig, AllocateMessageQueueStrategy,
};
pub use listener::{
    ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus, ConsumeOrderlyContext,
    ConsumeOrderlyStatus, MessageListenerConcurrently, MessageListenerOrderly,
};
pub use lite_pull_consumer::{LitePullConsumer, LitePullConsumerBuilder, LitePullConsumerConfig};
pub use pull_consumer::{PullConsumer, PullConsumerBuilder, PullConsumerConfig};
pub use push_consumer::{ConsumeFrom, PushConsumer, PushConsumerBuilder, PushConsumerConfig};
