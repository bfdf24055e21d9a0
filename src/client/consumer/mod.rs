//! Consumers: [`PullConsumer`] reads queues from offsets the caller keeps.

mod allocate;
mod consumer_rpc;
mod offset_store;
mod process_queue;
mod pull_consumer;
mod subscription;

pub use allocate::{
    AllocateAveragely, AllocateAveragelyByCircle, AllocateByConfig, AllocateMessageQueueStrategy,
};
pub use pull_consumer::{PullConsumer, PullConsumerBuilder, PullConsumerConfig};
