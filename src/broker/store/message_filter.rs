//! `MessageFilter`: which messages a get hands out; mirrors Java's `MessageFilter`.

/// Decides, for each entry a get reads, whether the consumer wants it: first from the consume
/// queue entry's tags hash code (cheap, no commit log read), then, for a filter that needs
/// the message itself (SQL92 over its properties), from the stored record.
///
/// A closure over the tags hash code is a filter of the first kind.
pub trait MessageFilter {
    /// Whether the entry with this tags hash code may match (`isMatchedByConsumeQueue`).
    fn is_matched_by_consume_queue(&self, tags_code: i64) -> bool;

    /// Whether the stored record matches (`isMatchedByCommitLog`); every record by default.
    fn is_matched_by_commit_log(&self, record: &[u8]) -> bool {
        let _ = record;
        true
    }
}

impl<F: Fn(i64) -> bool> MessageFilter for F {
    fn is_matched_by_consume_queue(&self, tags_code: i64) -> bool {
        self(tags_code)
    }
}
