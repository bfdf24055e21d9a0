//! Headers of transactional messages: END_TRANSACTION (37), producer → broker, and
//! CHECK_TRANSACTION_STATE (39), broker → producer.

custom_header! {
    /// Ends a transaction: commit, rollback, or still unknown; mirrors Java's
    /// `EndTransactionRequestHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct EndTransactionRequestHeader {
        /// `producerGroup`.
        pub producer_group: String = "producerGroup",
        /// `tranStateTableOffset`: the half message's queue offset.
        pub tran_state_table_offset: i64 = "tranStateTableOffset",
        /// `commitLogOffset`: the half message's commit log offset.
        pub commit_log_offset: i64 = "commitLogOffset",
        /// `commitOrRollback`: `TRANSACTION_COMMIT_TYPE` (8), `TRANSACTION_ROLLBACK_TYPE` (12)
        /// or `TRANSACTION_NOT_TYPE` (0, unknown).
        pub commit_or_rollback: i32 = "commitOrRollback",
        /// `fromTransactionCheck`: an answer to CHECK_TRANSACTION_STATE.
        pub from_transaction_check: bool = "fromTransactionCheck",
        /// `msgId`: the message's unique id.
        pub msg_id: String = "msgId",
        /// `transactionId`.
        pub transaction_id: Option<String> = "transactionId",
        /// `bname`: the broker that stored the half (5.x `RpcRequestHeader`).
        pub broker_name: Option<String> = "bname",
    }
}

custom_header! {
    /// Asks a producer of the group how a transaction ended (the body is the half message);
    /// mirrors Java's `CheckTransactionStateRequestHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct CheckTransactionStateRequestHeader {
        /// `tranStateTableOffset`: the half message's queue offset.
        pub tran_state_table_offset: i64 = "tranStateTableOffset",
        /// `commitLogOffset`: the half message's commit log offset.
        pub commit_log_offset: i64 = "commitLogOffset",
        /// `msgId`: the message's unique id.
        pub msg_id: Option<String> = "msgId",
        /// `transactionId`.
        pub transaction_id: Option<String> = "transactionId",
        /// `offsetMsgId`: the half message's offset id.
        pub offset_msg_id: Option<String> = "offsetMsgId",
        /// `bname`: the asking broker (5.x; 4.9.8 leaves it out).
        pub broker_name: Option<String> = "bname",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::header::CommandCustomHeader;
    use crate::protocol::ExtFields;

    #[test]
    fn end_transaction_round_trips_with_javas_names() {
        let h = EndTransactionRequestHeader {
            producer_group: "PG".into(),
            tran_state_table_offset: 3,
            commit_log_offset: 1024,
            commit_or_rollback: 8,
            from_transaction_check: true,
            msg_id: "AC1100".into(),
            transaction_id: Some("AC1100".into()),
            broker_name: Some("broker-a".into()),
        };
        let mut fields = ExtFields::new();
        h.write_to(&mut fields);
        assert_eq!(fields.get("commitOrRollback"), Some("8"));
        assert_eq!(fields.get("fromTransactionCheck"), Some("true"));
        assert_eq!(EndTransactionRequestHeader::read_from(&fields).unwrap(), h);
    }
}
