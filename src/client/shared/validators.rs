//! Checks run before anything is sent; mirrors Java's `client.Validators` and the parts of
//! `common.topic.TopicValidator` a client uses.

use super::error::ClientError;
use super::message::Message;

/// The longest topic name (`TOPIC_MAX_LENGTH`).
pub(crate) const TOPIC_MAX_LENGTH: usize = 127;
/// The longest group name (`CHARACTER_MAX_LENGTH`).
pub(crate) const CHARACTER_MAX_LENGTH: usize = 255;
/// The topic brokers create new topics from (`AUTO_CREATE_TOPIC_KEY_TOPIC`).
pub(crate) const AUTO_CREATE_TOPIC_KEY_TOPIC: &str = "TBW102";
/// The group Java refuses as a producer group (`MixAll.DEFAULT_PRODUCER_GROUP`).
pub(crate) const DEFAULT_PRODUCER_GROUP: &str = "DEFAULT_PRODUCER";
pub(crate) use crate::protocol::mix_all::RETRY_GROUP_TOPIC_PREFIX;

/// System topics no client may send to (`TopicValidator.NOT_ALLOWED_SEND_TOPIC_SET`).
pub(crate) const NOT_ALLOWED_SEND_TOPICS: [&str; 6] = [
    "SCHEDULE_TOPIC_XXXX",
    "RMQ_SYS_TRANS_HALF_TOPIC",
    "RMQ_SYS_TRANS_OP_HALF_TOPIC",
    "TRANS_CHECK_MAX_TIME_TOPIC",
    "SELF_TEST_TOPIC",
    "OFFSET_MOVED_EVENT",
];

const ALLOWED_CHARACTERS: &str = "only letters, digits, %, |, _ and - are allowed";

/// True when `name` has a character outside `^[%|a-zA-Z0-9_-]+$` (`isTopicOrGroupIllegal`).
fn has_illegal_char(name: &str) -> bool {
    !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '%' | '|' | '_' | '-'))
}

/// Checks a group name (`checkGroup`): not blank, at most 255 characters, legal characters.
pub(crate) fn check_group(group: &str) -> Result<(), ClientError> {
    let invalid = |reason: String| ClientError::InvalidGroup {
        group: group.to_string(),
        reason,
    };
    if group.trim().is_empty() {
        return Err(invalid("a group name is required".into()));
    }
    if group.chars().count() > CHARACTER_MAX_LENGTH {
        return Err(invalid(format!(
            "longer than {CHARACTER_MAX_LENGTH} characters"
        )));
    }
    if has_illegal_char(group) {
        return Err(invalid(ALLOWED_CHARACTERS.into()));
    }
    Ok(())
}

/// Checks a producer group: a valid group other than Java's reserved `DEFAULT_PRODUCER`.
pub(crate) fn check_producer_group(group: &str) -> Result<(), ClientError> {
    check_group(group)?;
    if group == DEFAULT_PRODUCER_GROUP {
        return Err(ClientError::InvalidGroup {
            group: group.to_string(),
            reason: "reserved by RocketMQ; name your producer group".into(),
        });
    }
    Ok(())
}

/// Checks a topic name (`checkTopic`): not blank, at most 127 characters, legal characters.
pub(crate) fn check_topic(topic: &str) -> Result<(), ClientError> {
    let invalid = |reason: String| ClientError::InvalidTopic {
        topic: topic.to_string(),
        reason,
    };
    if topic.trim().is_empty() {
        return Err(invalid("a topic name is required".into()));
    }
    if topic.chars().count() > TOPIC_MAX_LENGTH {
        return Err(invalid(format!(
            "longer than {TOPIC_MAX_LENGTH} characters"
        )));
    }
    if has_illegal_char(topic) {
        return Err(invalid(ALLOWED_CHARACTERS.into()));
    }
    Ok(())
}

/// Refuses the system topics clients may not send to (`isNotAllowedSendTopic`).
pub(crate) fn check_allowed_send_topic(topic: &str) -> Result<(), ClientError> {
    if NOT_ALLOWED_SEND_TOPICS.contains(&topic) {
        return Err(ClientError::InvalidTopic {
            topic: topic.to_string(),
            reason: "a system topic the broker keeps to itself; clients may not send to it".into(),
        });
    }
    Ok(())
}

/// Checks a message before it is sent (`checkMessage`): topic rules, then a body of
/// 1..=`max_message_size` bytes (before compression).
pub(crate) fn check_message(message: &Message, max_message_size: usize) -> Result<(), ClientError> {
    check_topic(message.topic())?;
    check_allowed_send_topic(message.topic())?;
    check_body_size(message.body().len(), max_message_size)
}

/// Checks a body length against the limits of `checkMessage`.
pub(crate) fn check_body_size(len: usize, max_message_size: usize) -> Result<(), ClientError> {
    if len == 0 {
        return Err(ClientError::EmptyBody);
    }
    if len > max_message_size {
        return Err(ClientError::BodyTooLarge {
            size: len,
            limit: max_message_size,
        });
    }
    Ok(())
}

/// Checks the messages of a batch (`MessageBatch.generateFromList` and the per-message
/// `checkMessage`): not empty, each valid, one topic, one wait-store flag, no delay, no
/// retry topic.
pub(crate) fn check_batch(
    messages: &[Message],
    max_message_size: usize,
) -> Result<(), ClientError> {
    let invalid = |reason: &str| ClientError::InvalidBatch {
        reason: reason.to_string(),
    };
    let Some(first) = messages.first() else {
        return Err(invalid("a batch needs at least one message"));
    };
    for message in messages {
        if message.delay_time_level() > 0 {
            return Err(invalid("delayed messages cannot be batched"));
        }
        if message.topic().starts_with(RETRY_GROUP_TOPIC_PREFIX) {
            return Err(invalid("messages to a retry topic cannot be batched"));
        }
        if message.topic() != first.topic() {
            return Err(invalid("every message of a batch must have the same topic"));
        }
        if message.wait_store_msg_ok() != first.wait_store_msg_ok() {
            return Err(invalid(
                "every message of a batch must have the same wait-store flag",
            ));
        }
        check_message(message, max_message_size)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: usize = 4 * 1024 * 1024;

    fn reason(result: Result<(), ClientError>) -> String {
        match result {
            Err(
                ClientError::InvalidTopic { reason, .. }
                | ClientError::InvalidGroup { reason, .. }
                | ClientError::InvalidBatch { reason },
            ) => reason,
            other => panic!("expected a naming or batch error, got {other:?}"),
        }
    }

    #[test]
    fn topic_rules() {
        assert!(check_topic("TopicTest").is_ok());
        assert!(check_topic("a%b|c_d-e9").is_ok());
        assert!(check_topic(&"t".repeat(127)).is_ok());
        assert!(reason(check_topic("")).contains("required"));
        assert!(reason(check_topic("   ")).contains("required"));
        assert!(reason(check_topic(&"t".repeat(128))).contains("longer than 127"));
        for bad in ["a b", "a.b", "é"] {
            assert!(reason(check_topic(bad)).contains("only letters"), "{bad}");
        }
    }

    #[test]
    fn system_topics_are_refused() {
        for topic in NOT_ALLOWED_SEND_TOPICS {
            assert!(reason(check_message(&Message::new(topic, "x"), MAX)).contains("system topic"));
        }
        // TBW102 is a system topic but not a forbidden send target (as in Java).
        assert!(check_message(&Message::new("TBW102", "x"), MAX).is_ok());
    }

    #[test]
    fn group_rules() {
        assert!(check_group("PG_1").is_ok());
        assert!(check_group(&"g".repeat(255)).is_ok());
        assert!(reason(check_group("")).contains("required"));
        assert!(reason(check_group(&"g".repeat(256))).contains("longer than 255"));
        assert!(reason(check_group("my group")).contains("only letters"));
        assert!(reason(check_producer_group(DEFAULT_PRODUCER_GROUP)).contains("reserved"));
    }

    #[test]
    fn body_is_checked_against_the_limit_exactly() {
        assert!(matches!(
            check_message(&Message::new("T", Vec::new()), MAX),
            Err(ClientError::EmptyBody)
        ));
        assert!(check_message(&Message::new("T", vec![0u8; MAX]), MAX).is_ok());
        assert!(matches!(
            check_message(&Message::new("T", vec![0u8; MAX + 1]), MAX),
            Err(ClientError::BodyTooLarge { size, limit }) if size == MAX + 1 && limit == MAX
        ));
    }

    #[test]
    fn batch_rules() {
        let m = |topic: &str| Message::new(topic, "x");
        assert!(check_batch(&[m("T"), m("T")], MAX).is_ok());
        assert!(reason(check_batch(&[], MAX)).contains("at least one"));
        assert!(reason(check_batch(&[m("T"), m("U")], MAX)).contains("same topic"));
        assert!(reason(check_batch(
            &[m("T"), m("T").with_wait_store_msg_ok(false)],
            MAX
        ))
        .contains("wait-store"));
        assert!(reason(check_batch(&[m("T").with_delay_time_level(2)], MAX)).contains("delayed"));
        assert!(reason(check_batch(&[m("%RETRY%G")], MAX)).contains("retry topic"));
        assert!(matches!(
            check_batch(&[m("T"), Message::new("T", Vec::new())], MAX),
            Err(ClientError::EmptyBody)
        ));
    }
}
