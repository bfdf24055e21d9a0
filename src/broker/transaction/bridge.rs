//! How a transaction's records look in the store: the half message, its copies, the op
//! record that ends it, and the real message a commit writes. Pure rewrites of
//! [`MessageExt`], no I/O; mirrors Java's `TransactionalMessageBridge` and
//! `TransactionalMessageUtil`.

use std::net::SocketAddr;

use crate::broker::topic_config_manager::{
    RMQ_SYS_TRANS_CHECK_MAX_TIME_TOPIC, RMQ_SYS_TRANS_HALF_TOPIC, RMQ_SYS_TRANS_OP_HALF_TOPIC,
};
use crate::protocol::message::message_const::{
    PROPERTY_CHECK_IMMUNITY_TIME_IN_SECONDS, PROPERTY_REAL_QUEUE_ID, PROPERTY_REAL_TOPIC,
    PROPERTY_TAGS, PROPERTY_TRANSACTION_CHECK_TIMES, PROPERTY_TRANSACTION_PREPARED_QUEUE_OFFSET,
    PROPERTY_WAIT_STORE_MSG_OK,
};
use crate::protocol::message::sys_flag::{
    reset_transaction_value, TRANSACTION_COMMIT_TYPE, TRANSACTION_NOT_TYPE,
};
use crate::protocol::message::MessageExt;

/// The tag of an op record (`TransactionalMessageUtil.REMOVETAG`).
pub(crate) const REMOVE_TAG: &str = "d";

/// The group under which the check's progress is kept in the consumer offsets
/// (`MixAll.CID_SYS_RMQ_TRANS`).
pub(crate) const CID_SYS_RMQ_TRANS: &str = "CID_RMQ_SYS_TRANS";

/// `parseHalfMessageInner`: a half message is stored as a plain message of queue 0 of
/// `RMQ_SYS_TRANS_HALF_TOPIC`, its real topic and queue kept in properties. The transaction
/// bits are cleared so that the half topic's queue indexes it; no consumer reads that topic.
pub(crate) fn half_message(mut message: MessageExt) -> MessageExt {
    message
        .properties
        .insert(PROPERTY_REAL_TOPIC, message.topic.clone());
    message
        .properties
        .insert(PROPERTY_REAL_QUEUE_ID, message.queue_id.to_string());
    message.sys_flag = reset_transaction_value(message.sys_flag, TRANSACTION_NOT_TYPE);
    message.topic = RMQ_SYS_TRANS_HALF_TOPIC.to_string();
    message.queue_id = 0;
    message
}

/// The real topic and queue a half message is for.
pub(crate) fn real_destination(half: &MessageExt) -> Option<(String, i32)> {
    let topic = half.property(PROPERTY_REAL_TOPIC)?.to_string();
    let queue_id = half.property(PROPERTY_REAL_QUEUE_ID)?.parse().ok()?;
    Some((topic, queue_id))
}

/// A stored record with fresh positions, for the store to place.
fn unplaced(message: MessageExt) -> MessageExt {
    MessageExt {
        queue_offset: 0,
        commit_log_offset: 0,
        store_timestamp: 0,
        store_size: 0,
        msg_id: String::new(),
        ..message
    }
}

/// `endMessageTransaction` with `EndTransactionProcessor`'s edits: the message a commit
/// writes to the real topic and queue, with the commit type and the half's commit log offset
/// (`preparedTransactionOffset`). The properties are the half's, as the Java broker stores
/// them (`TRAN_MSG`, `PGROUP`, `REAL_TOPIC` and `REAL_QID` included: consumers of a Java
/// cluster see them too).
pub(crate) fn committed_message(
    half: &MessageExt,
    half_commit_log_offset: i64,
) -> Option<MessageExt> {
    let (topic, queue_id) = real_destination(half)?;
    let mut message = unplaced(half.clone());
    message.topic = topic;
    message.queue_id = queue_id;
    message.sys_flag = reset_transaction_value(half.sys_flag, TRANSACTION_COMMIT_TYPE);
    message.prepared_transaction_offset = half_commit_log_offset;
    Some(message)
}

/// The op record that ends the half message at `half_queue_offset` (`putOpMessage`): tag
/// `d`, the half's queue offset as decimal text for body.
pub(crate) fn op_message(half_queue_offset: i64, store_host: SocketAddr, now: i64) -> MessageExt {
    let mut message = MessageExt {
        topic: RMQ_SYS_TRANS_OP_HALF_TOPIC.to_string(),
        queue_id: 0,
        body: half_queue_offset.to_string().into(),
        born_timestamp: now,
        born_host: store_host,
        store_host,
        ..MessageExt::default()
    };
    message.properties.insert(PROPERTY_TAGS, REMOVE_TAG);
    message
        .properties
        .insert(PROPERTY_WAIT_STORE_MSG_OK, "true");
    message
}

/// The half queue offset an op record ends, if its body is one.
pub(crate) fn op_half_offset(op: &MessageExt) -> Option<i64> {
    if op.property(PROPERTY_TAGS) != Some(REMOVE_TAG) {
        return None;
    }
    std::str::from_utf8(&op.body).ok()?.trim().parse().ok()
}

/// How many times the half was checked (`TRANSACTION_CHECK_TIMES`; 0 when never).
pub(crate) fn check_times(half: &MessageExt) -> i32 {
    half.property(PROPERTY_TRANSACTION_CHECK_TIMES)
        .and_then(|t| t.parse().ok())
        .unwrap_or(0)
}

/// How long after its birth a half may not be checked: the producer's
/// `CHECK_IMMUNITY_TIME_IN_SECONDS` if it set one, else the broker's transaction timeout.
pub(crate) fn check_immunity_millis(half: &MessageExt, transaction_timeout_ms: i64) -> i64 {
    half.property(PROPERTY_CHECK_IMMUNITY_TIME_IN_SECONDS)
        .and_then(|s| s.trim().parse::<i64>().ok())
        .map_or(transaction_timeout_ms, |s| s.saturating_mul(1000))
}

/// The queue offset of the first half of the transaction `half` belongs to: a copy names
/// it in `TRAN_PREPARED_QUEUE_OFFSET`, the first half is its own.
pub(crate) fn first_half_offset(half: &MessageExt) -> i64 {
    half.property(PROPERTY_TRANSACTION_PREPARED_QUEUE_OFFSET)
        .and_then(|o| o.parse().ok())
        .unwrap_or(half.queue_offset)
}

/// `renewHalfMessageInner`: a copy of an open half put at the end of the half queue, so the
/// scan can move on; `checks` is its new check count. The copy names the first half of its
/// transaction, so that whichever copy a producer ends, the transaction ends once.
pub(crate) fn renewed_half(half: &MessageExt, checks: i32) -> MessageExt {
    let first = first_half_offset(half);
    let mut copy = unplaced(half.clone());
    copy.properties
        .insert(PROPERTY_TRANSACTION_CHECK_TIMES, checks.to_string());
    copy.properties.insert(
        PROPERTY_TRANSACTION_PREPARED_QUEUE_OFFSET,
        first.to_string(),
    );
    copy
}

/// `resolveDiscardMsg`: where a half checked `transactionCheckMax` times goes, kept for an
/// operator to look at (queue 0 of `TRANS_CHECK_MAX_TIME_TOPIC`).
pub(crate) fn discarded_message(half: &MessageExt) -> MessageExt {
    let mut message = unplaced(half.clone());
    message.topic = RMQ_SYS_TRANS_CHECK_MAX_TIME_TOPIC.to_string();
    message.queue_id = 0;
    message
}

/// The half as a check shows it to the producer (`sendCheckMessage`): its real topic and
/// queue, positions of the copy being checked.
pub(crate) fn check_view(half: &MessageExt) -> MessageExt {
    let mut view = half.clone();
    if let Some((topic, queue_id)) = real_destination(half) {
        view.topic = topic;
        view.queue_id = queue_id;
    }
    view
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::message::message_const::{
        PROPERTY_PRODUCER_GROUP, PROPERTY_TRANSACTION_PREPARED,
    };
    use crate::protocol::message::sys_flag::{
        transaction_value, COMPRESSED_FLAG, TRANSACTION_PREPARED_TYPE,
    };

    fn sent_half() -> MessageExt {
        let mut m = MessageExt {
            topic: "Orders".into(),
            queue_id: 3,
            sys_flag: TRANSACTION_PREPARED_TYPE | COMPRESSED_FLAG,
            body: b"x".into(),
            ..MessageExt::default()
        };
        m.properties.insert(PROPERTY_TRANSACTION_PREPARED, "true");
        m.properties.insert(PROPERTY_PRODUCER_GROUP, "PG");
        m
    }

    #[test]
    fn a_half_waits_in_queue_0_of_the_half_topic_as_a_plain_message() {
        let half = half_message(sent_half());
        assert_eq!(
            (half.topic.as_str(), half.queue_id),
            (RMQ_SYS_TRANS_HALF_TOPIC, 0)
        );
        assert_eq!(transaction_value(half.sys_flag), TRANSACTION_NOT_TYPE);
        assert_eq!(
            half.sys_flag & COMPRESSED_FLAG,
            COMPRESSED_FLAG,
            "compression kept"
        );
        assert_eq!(real_destination(&half), Some(("Orders".into(), 3)));
    }

    #[test]
    fn a_commit_writes_the_real_message_with_the_commit_type() {
        let mut half = half_message(sent_half());
        half.queue_offset = 7;
        half.commit_log_offset = 4096;
        let real = committed_message(&half, 4096).unwrap();
        assert_eq!((real.topic.as_str(), real.queue_id), ("Orders", 3));
        assert_eq!(transaction_value(real.sys_flag), TRANSACTION_COMMIT_TYPE);
        assert_eq!(real.prepared_transaction_offset, 4096);
        assert_eq!((real.queue_offset, real.commit_log_offset), (0, 0));
        assert_eq!(real.property(PROPERTY_PRODUCER_GROUP), Some("PG"));
        let mut lost = half.clone();
        lost.properties.remove(PROPERTY_REAL_TOPIC);
        assert!(committed_message(&lost, 4096).is_none());
    }

    #[test]
    fn op_records_name_the_half_offset_as_java_writes_them() {
        let host: SocketAddr = "10.0.0.1:10911".parse().unwrap();
        let op = op_message(17, host, 1);
        assert_eq!(op.topic, RMQ_SYS_TRANS_OP_HALF_TOPIC);
        assert_eq!(op.body, b"17");
        assert_eq!(op.property(PROPERTY_TAGS), Some("d"));
        assert_eq!(op_half_offset(&op), Some(17));
        let mut other = op.clone();
        other.properties.insert(PROPERTY_TAGS, "x");
        assert_eq!(op_half_offset(&other), None);
        other.properties.insert(PROPERTY_TAGS, "d");
        other.body = b"seventeen".into();
        assert_eq!(op_half_offset(&other), None);
    }

    #[test]
    fn copies_count_checks_and_remember_the_first_half() {
        let mut half = half_message(sent_half());
        half.queue_offset = 5;
        assert_eq!(check_times(&half), 0);
        assert_eq!(first_half_offset(&half), 5);
        let mut copy = renewed_half(&half, 1);
        copy.queue_offset = 9;
        assert_eq!(check_times(&copy), 1);
        assert_eq!(first_half_offset(&copy), 5);
        let again = renewed_half(&copy, 2);
        assert_eq!(
            first_half_offset(&again),
            5,
            "still the first, not the copy"
        );
        assert_eq!(check_times(&again), 2);
    }

    #[test]
    fn immunity_is_the_producers_choice_or_the_timeout() {
        let mut half = half_message(sent_half());
        assert_eq!(check_immunity_millis(&half, 6000), 6000);
        half.properties
            .insert(PROPERTY_CHECK_IMMUNITY_TIME_IN_SECONDS, "20");
        assert_eq!(check_immunity_millis(&half, 6000), 20_000);
        half.properties
            .insert(PROPERTY_CHECK_IMMUNITY_TIME_IN_SECONDS, "soon");
        assert_eq!(check_immunity_millis(&half, 6000), 6000);
    }

    #[test]
    fn checks_and_discards_show_the_right_topic() {
        let half = half_message(sent_half());
        let view = check_view(&half);
        assert_eq!((view.topic.as_str(), view.queue_id), ("Orders", 3));
        let gone = discarded_message(&half);
        assert_eq!(gone.topic, RMQ_SYS_TRANS_CHECK_MAX_TIME_TOPIC);
    }
}
