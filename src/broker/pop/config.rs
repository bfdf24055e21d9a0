//! `PopConfig`: the broker's settings for POP consumption (the POP part of Java's
//! `BrokerConfig`), with Java's names and defaults.

use crate::protocol::body::MessageRequestMode;

/// How the broker serves POP; a field of [`BrokerConfig`](crate::broker::BrokerConfig), set
/// with [`BrokerBuilder::pop_config`](crate::broker::BrokerBuilder::pop_config).
///
/// ```
/// use rocketmq_blocking::broker::PopConfig;
///
/// let mut pop = PopConfig::default();
/// pop.max_pop_polling_size = 10_000;
/// assert_eq!(pop.revive_queue_num, 8);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PopConfig {
    /// Revive queue ids handed out round robin in receipt handles (`reviveQueueNum`, 8).
    /// The reference broker keeps one checkpoint table whatever the number; it is kept in
    /// handles for clients that read it.
    pub revive_queue_num: i32,
    /// Pops (and NOTIFICATIONs) held at once over all queues before new ones are answered
    /// POLLING_FULL (`maxPopPollingSize`, 100,000).
    pub max_pop_polling_size: usize,
    /// Pops held on one topic, group and queue before new ones are answered POLLING_FULL
    /// (`popPollingSize`, 1,024).
    pub pop_polling_size: usize,
    /// Percent of pops that look at the retry topic before the topic itself
    /// (`popFromRetryProbability`, 20); the others look at it after, if not full.
    pub pop_from_retry_probability: u32,
    /// The mode QUERY_ASSIGNMENT answers for a group no SET_MESSAGE_REQUEST_MODE named
    /// (`defaultMessageRequestMode`, PULL).
    pub default_message_request_mode: MessageRequestMode,
    /// `popShareQueueNum` of that default when it is POP (`defaultPopShareQueueNum`, -1:
    /// every member pops every queue).
    pub default_pop_share_queue_num: i32,
    /// Messages popped from a retry topic go out as stored, retry topic and all, instead of
    /// under their original topic with their handle set (`popResponseReturnActualRetryTopic`,
    /// false).
    pub pop_response_return_actual_retry_topic: bool,
    /// The checkpoint log is rewritten with only what is open once it is this large and
    /// at least twice what is open (4 MiB); disk stays bounded by open checkpoints.
    pub checkpoint_log_compact_bytes: u64,
}

impl Default for PopConfig {
    fn default() -> Self {
        PopConfig {
            revive_queue_num: 8,
            max_pop_polling_size: 100_000,
            pop_polling_size: 1024,
            pop_from_retry_probability: 20,
            default_message_request_mode: MessageRequestMode::Pull,
            default_pop_share_queue_num: -1,
            pop_response_return_actual_retry_topic: false,
            checkpoint_log_compact_bytes: 4 * 1024 * 1024,
        }
    }
}
