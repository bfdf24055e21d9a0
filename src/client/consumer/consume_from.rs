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
}
