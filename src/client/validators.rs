//! Checks run before anything is sent; mirrors Java's `client.Validators` and the parts of
//! `common.topic.TopicValidator` a client uses.

use super::error::ClientError;
use super::message::Message;

/// The longest topic name (`TOPIC_MAX_LENGTH`).
pub const TOPIC_MAX_LENGTH: usize = 127;
/// The longest group name (`CHARACTER_MAX_LENGTH`).
pub const CHARACTER_MAX_LENGTH: usize = 255;
/// The topic brokers create new topics from (`AUTO_CREATE_TOPIC_KEY_TOPIC`).
pub const AUTO_CREATE_TOPIC_KEY_TOPIC: &str = "TBW102";
/// The group Java refuses as a producer group (`MixAll.DEFAULT_PRODUCER_GROUP`).
pub const DEFAULT_PRODUCER_GROUP: &str = "DEFAULT_PRODUCER";
/// The prefix of consumer retry topics (`MixAll.RETRY_GROUP_TOPIC_PREFIX`).
pub const RETRY_GROUP_TOPIC_PREFIX: &str = "%RETRY%";

/// System topics no client may send to (`TopicValidator.NOT_ALLOWED_SEND_TOPIC_SET`).
pub const NOT_ALLOWED_SEND_TOPICS: [&str; 6] = [
    "SCHEDULE_TOPIC_XXXX",
    "RMQ_SYS_TRANS_HALF_TOPIC",
    "RMQ_SYS_TRANS_OP_HALF_TOPIC",
    "TRANS_CHECK_MAX_TIME_TOPIC",
    "SELF_TEST_TOPIC",
    "OFFSET_MOVED_EVENT",
];

/// The characters a topic or group may use: `^[%|a-zA-Z0-9_-]+$`.
const VALID_CHARS: &str = "^[%|a-zA-Z0-9_-]+$";

/// True when `name` has a character outside [`VALID_CHARS`] (`isTopicOrGroupIllegal`).
fn has_illegal_char(name: &str) -> bool {
    !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '%' | '|' | '_' | '-'))
}

fn invalid(reason: String) -> ClientError {
    ClientError::InvalidArgument(reason)
}

/// Checks a group name (`checkGroup`): not blank, at most 255 characters, legal characters.
pub fn check_group(group: &str) -> Result<(), ClientError> {
    if group.trim().is_empty() {
        return Err(invalid("the specified group is blank".into()));
    }
    if group.chars().count() > CHARACTER_MAX_LENGTH {
        return Err(invalid(format!(
            "the specified group is longer than group max length {CHARACTER_MAX_LENGTH}."
        )));
    }
    if has_illegal_char(group) {
        return Err(invalid(format!(
            "the specified group[{group}] contains illegal characters, allowing only {VALID_CHARS}"
        )));
    }
    Ok(())
}

/// Checks a topic name (`checkTopic`): not blank, at most 127 characters, legal characters.
pub fn check_topic(topic: &str) -> Result<(), ClientError> {
    if topic.trim().is_empty() {
        return Err(invalid("The specified topic is blank".into()));
    }
    if topic.chars().count() > TOPIC_MAX_LENGTH {
        return Err(invalid(format!(
            "The specified topic is longer than topic max length {TOPIC_MAX_LENGTH}."
        )));
    }
    if has_illegal_char(topic) {
        return Err(invalid(format!(
            "The specified topic[{topic}] contains illegal characters, allowing only {VALID_CHARS}"
        )));
    }
    Ok(())
}

/// Refuses the system topics clients may not send to (`isNotAllowedSendTopic`).
pub fn check_allowed_send_topic(topic: &str) -> Result<(), ClientError> {
    if NOT_ALLOWED_SEND_TOPICS.contains(&topic) {
        return Err(invalid(format!(
            "Sending message to topic[{topic}] is forbidden."
        )));
    }
    Ok(())
}

/// Checks a message before it is sent (`checkMessage`): topic rules, then a body of
/// 1..=`max_message_size` bytes (before compression).
pub fn check_message(message: &Message, max_message_size: usize) -> Result<(), ClientError> {
    check_topic(&message.topic)?;
    check_allowed_send_topic(&message.topic)?;
    check_body_size(message.body.len(), max_message_size)
}

/// Checks a body length against the limits of `checkMessage`.
pub fn check_body_size(len: usize, max_message_size: usize) -> Result<(), ClientError> {
    if len == 0 {
        return Err(invalid("the message body length is zero".into()));
    }
    if len > max_message_size {
        return Err(invalid(format!(
            "the message body size over max value, MAX: {max_message_size}"
        )));
    }
    Ok(())
}

/// Checks the messages of a batch (`MessageBatch.generateFromList` and the per-message
/// `checkMessage`): not empty, each valid, one topic, one wait-store flag, no delay, no
/// retry topic.
pub fn check_batch(messages: &[Message], max_message_size: usize) -> Result<(), ClientError> {
    let Some(first) = messages.first() else {
        return Err(invalid("a batch needs at least one message".into()));
    };
    for message in messages {
        if message.delay_time_level() > 0 {
            return Err(invalid(
                "TimeDelayLevel is not supported for batching".into(),
            ));
        }
        if message.topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) {
            return Err(invalid("Retry Group is not supported for batching".into()));
        }
        if message.topic != first.topic {
            return Err(invalid(
                "The topic of the messages in one batch should be the same".into(),
            ));
        }
        if message.wait_store_msg_ok() != first.wait_store_msg_ok() {
            return Err(invalid(
                "The waitStoreMsgOK of the messages in one batch should the same".into(),
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

    fn rejects(result: Result<(), ClientError>, words: &str) {
        match result {
            Err(ClientError::InvalidArgument(text)) => {
                assert!(text.contains(words), "{text:?} should mention {words:?}")
            }
            other => panic!("expected InvalidArgument mentioning {words:?}, got {other:?}"),
        }
    }

    #[test]
    fn topic_rules() {
        assert!(check_topic("TopicTest").is_ok());
        assert!(check_topic("a%b|c_d-e9").is_ok());
        assert!(check_topic(&"t".repeat(127)).is_ok());
        rejects(check_topic(""), "blank");
        rejects(check_topic("   "), "blank");
        rejects(
            check_topic(&"t".repeat(128)),
            "longer than topic max length 127",
        );
        rejects(check_topic("a b"), "illegal characters");
        rejects(check_topic("a.b"), "illegal characters");
        rejects(check_topic("é"), "illegal characters");
    }

    #[test]
    fn system_topics_are_refused() {
        for topic in NOT_ALLOWED_SEND_TOPICS {
            rejects(
                check_message(&Message::new(topic, "x"), MAX),
                "is forbidden",
            );
        }
        // TBW102 is a system topic but not a forbidden send target (as in Java).
        assert!(check_message(&Message::new("TBW102", "x"), MAX).is_ok());
    }

    #[test]
    fn group_rules() {
        assert!(check_group("PG_1").is_ok());
        assert!(check_group(&"g".repeat(255)).is_ok());
        rejects(check_group(""), "blank");
        rejects(
            check_group(&"g".repeat(256)),
            "longer than group max length 255",
        );
        rejects(check_group("my group"), "illegal characters");
    }

    #[test]
    fn body_is_checked_against_the_limit_exactly() {
        rejects(check_message(&Message::new("T", Vec::new()), MAX), "zero");
        assert!(check_message(&Message::new("T", vec![0u8; MAX]), MAX).is_ok());
        rejects(
            check_message(&Message::new("T", vec![0u8; MAX + 1]), MAX),
            "over max value, MAX: 4194304",
        );
    }

    #[test]
    fn batch_rules() {
        let m = |topic: &str| Message::new(topic, "x");
        assert!(check_batch(&[m("T"), m("T")], MAX).is_ok());
        rejects(check_batch(&[], MAX), "at least one");
        rejects(check_batch(&[m("T"), m("U")], MAX), "should be the same");
        rejects(
            check_batch(&[m("T"), m("T").with_wait_store_msg_ok(false)], MAX),
            "waitStoreMsgOK",
        );
        rejects(
            check_batch(&[m("T").with_delay_time_level(2)], MAX),
            "TimeDelayLevel",
        );
        rejects(check_batch(&[m("%RETRY%G")], MAX), "Retry Group");
        rejects(
            check_batch(&[m("T"), Message::new("T", Vec::new())], MAX),
            "zero",
        );
    }
}
