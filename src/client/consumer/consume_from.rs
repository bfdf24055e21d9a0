//! `ConsumeFrom`: where a group with no committed offset starts.

/// Where a group with no committed offset for a queue starts; mirrors Java's
/// `ConsumeFromWhere` (the three that are not deprecated).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumeFrom {
    /// The queue's end: only messages sent from now on (`CONSUME_FROM_LAST_OFFSET`).
    LastOffset,
    /// The queue's first message still stored (`CONSUME_FROM_FIRST_OFFSET`).
    FirstOffset,
    /// The first message stored at or after this time, ms since the Unix epoch
    /// (`CONSUME_FROM_TIMESTAMP`).
    Timestamp(i64),
}

impl ConsumeFrom {
    /// The Java constant heartbeats announce.
    pub(crate) fn java(self) -> crate::protocol::body::ConsumeFromWhere {
        use crate::protocol::body::ConsumeFromWhere as W;
        match self {
            ConsumeFrom::LastOffset => W::ConsumeFromLastOffset,
            ConsumeFrom::FirstOffset => W::ConsumeFromFirstOffset,
            ConsumeFrom::Timestamp(_) => W::ConsumeFromTimestamp,
        }
    }

    /// Where a pop starts for a group with no offset (`getConsumeInitMode`): the queue's
    /// first message for `FirstOffset`, else its end (a pop cannot start at a time).
    pub(crate) fn pop_init_mode(self) -> i32 {
        use crate::protocol::header::{CONSUME_INIT_MODE_MAX, CONSUME_INIT_MODE_MIN};
        match self {
            ConsumeFrom::FirstOffset => CONSUME_INIT_MODE_MIN,
            ConsumeFrom::LastOffset | ConsumeFrom::Timestamp(_) => CONSUME_INIT_MODE_MAX,
        }
    }
}
