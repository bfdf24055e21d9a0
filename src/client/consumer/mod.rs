//! Consumers: [`PullConsumer`] reads queues from offsets the caller keeps.

mod pull_consumer;

pub use pull_consumer::{PullConsumer, PullConsumerBuilder, PullConsumerConfig};
