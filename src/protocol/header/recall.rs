//! Headers of RECALL_MESSAGE (370, RocketMQ 5.3) and its response.

custom_header! {
    /// Cancel a timer message not yet delivered; mirrors Java's `RecallMessageRequestHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct RecallMessageRequestHeader {
        /// `producerGroup` of the producer recalling.
        pub producer_group: Option<String> = "producerGroup",
        /// `topic` the message was sent to.
        pub topic: String = "topic",
        /// `recallHandle`, as the send's answer gave it.
        pub recall_handle: String = "recallHandle",
    }
}

custom_header! {
    /// The answer to a recall; mirrors Java's `RecallMessageResponseHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct RecallMessageResponseHeader {
        /// `msgId`: the unique id of the recalled message.
        pub msg_id: String = "msgId",
    }
}
