//! Names every RocketMQ component derives the same way; mirrors the constants of Java's
//! `MixAll` that the wire carries.

/// Prefix of a consumer group's retry topic, `%RETRY%<group>` (`MixAll.RETRY_GROUP_TOPIC_PREFIX`).
pub const RETRY_GROUP_TOPIC_PREFIX: &str = "%RETRY%";
/// Prefix of a consumer group's dead-letter topic, `%DLQ%<group>` (`MixAll.DLQ_GROUP_TOPIC_PREFIX`).
pub const DLQ_GROUP_TOPIC_PREFIX: &str = "%DLQ%";
