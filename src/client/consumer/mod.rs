//! Consumers: [`PushConsumer`] and [`LitePullConsumer`], members of a consumer group on one
//! engine, and [`PullConsumer`], which reads queues from offsets the caller keeps.

mod allocate;
mod config;
mod consume_from;
mod engine;
mod listener;
mod lite_pull_consumer;
mod pull_consumer;
mod push_consumer;
mod subscription;

pub use allocate::{
    AllocateAveragely, AllocateAveragelyByCircle, AllocateByConfig, AllocateMessageQueueStrategy,
};
pub use config::{
    LitePullConsumerBuilder, LitePullConsumerConfig, PushConsumerBuilder, PushConsumerConfig,
};
pub use consume_from::ConsumeFrom;
pub use listener::{
    ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus, ConsumeOrderlyContext,
    ConsumeOrderlyStatus, MessageListenerConcurrently, MessageListenerOrderly,
};
pub use lite_pull_consumer::LitePullConsumer;
pub use pull_consumer::{PullConsumer, PullConsumerBuilder, PullConsumerConfig};
pub use push_consumer::PushConsumer;
