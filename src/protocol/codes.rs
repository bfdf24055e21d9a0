//! Request and response codes; mirrors Java's `RequestCode` and `ResponseCode`.

/// Request codes (`RequestCode`): what a request asks for.
pub mod request_code {
    /// Send a message with the long-named `SendMessageRequestHeader`.
    pub const SEND_MESSAGE: i32 = 10;
    /// Pull messages from a queue.
    pub const PULL_MESSAGE: i32 = 11;
    /// Query messages by key.
    pub const QUERY_MESSAGE: i32 = 12;
    /// Query a consumer group's committed offset.
    pub const QUERY_CONSUMER_OFFSET: i32 = 14;
    /// Commit a consumer group's offset.
    pub const UPDATE_CONSUMER_OFFSET: i32 = 15;
    /// Create or update a topic on a broker.
    pub const UPDATE_AND_CREATE_TOPIC: i32 = 17;
    /// Find a queue offset by store timestamp.
    pub const SEARCH_OFFSET_BY_TIMESTAMP: i32 = 29;
    /// A queue's max offset.
    pub const GET_MAX_OFFSET: i32 = 30;
    /// A queue's min offset.
    pub const GET_MIN_OFFSET: i32 = 31;
    /// Look a message up by its offset message id.
    pub const VIEW_MESSAGE_BY_ID: i32 = 33;
    /// Client heartbeat carrying its producer and consumer groups.
    pub const HEART_BEAT: i32 = 34;
    /// A client leaving its groups.
    pub const UNREGISTER_CLIENT: i32 = 35;
    /// A consumer returning a message for redelivery.
    pub const CONSUMER_SEND_MSG_BACK: i32 = 36;
    /// Commit or roll back a transactional message.
    pub const END_TRANSACTION: i32 = 37;
    /// The client ids in a consumer group.
    pub const GET_CONSUMER_LIST_BY_GROUP: i32 = 38;
    /// Broker asking a producer for a transaction's state.
    pub const CHECK_TRANSACTION_STATE: i32 = 39;
    /// Broker telling consumers their group changed.
    pub const NOTIFY_CONSUMER_IDS_CHANGED: i32 = 40;
    /// Lock queues for an ordered consumer.
    pub const LOCK_BATCH_MQ: i32 = 41;
    /// Unlock queues of an ordered consumer.
    pub const UNLOCK_BATCH_MQ: i32 = 42;
    /// Store a key-value pair on the name server.
    pub const PUT_KV_CONFIG: i32 = 100;
    /// Broker registering its topics with a name server.
    pub const REGISTER_BROKER: i32 = 103;
    /// Broker leaving a name server.
    pub const UNREGISTER_BROKER: i32 = 104;
    /// A topic's route from a name server.
    pub const GET_ROUTEINFO_BY_TOPIC: i32 = 105;
    /// The cluster and broker tables of a name server.
    pub const GET_BROKER_CLUSTER_INFO: i32 = 106;
    /// Ask a consumer for its running state.
    pub const GET_CONSUMER_RUNNING_INFO: i32 = 307;
    /// Send a message with the short-named `SendMessageRequestHeaderV2`.
    pub const SEND_MESSAGE_V2: i32 = 310;
    /// Send a batch of messages.
    pub const SEND_BATCH_MESSAGE: i32 = 320;
    /// Send a reply message (request-reply).
    pub const SEND_REPLY_MESSAGE: i32 = 324;
    /// Send a reply message with the short-named header.
    pub const SEND_REPLY_MESSAGE_V2: i32 = 325;
}

/// Response codes (`ResponseCode` and `RemotingSysResponseCode`): how a request went.
pub mod response_code {
    /// The request succeeded.
    pub const SUCCESS: i32 = 0;
    /// The server failed while processing.
    pub const SYSTEM_ERROR: i32 = 1;
    /// The server is overloaded or flow-controlling.
    pub const SYSTEM_BUSY: i32 = 2;
    /// No processor for the request code.
    pub const REQUEST_CODE_NOT_SUPPORTED: i32 = 3;
    /// A transaction failed.
    pub const TRANSACTION_FAILED: i32 = 4;
    /// Stored, but the disk flush timed out.
    pub const FLUSH_DISK_TIMEOUT: i32 = 10;
    /// Stored, but no slave is available.
    pub const SLAVE_NOT_AVAILABLE: i32 = 11;
    /// Stored, but the slave flush timed out.
    pub const FLUSH_SLAVE_TIMEOUT: i32 = 12;
    /// The message is illegal.
    pub const MESSAGE_ILLEGAL: i32 = 13;
    /// The service is not available (e.g. a slave, or shutting down).
    pub const SERVICE_NOT_AVAILABLE: i32 = 14;
    /// The requester's version is not supported.
    pub const VERSION_NOT_SUPPORTED: i32 = 15;
    /// Permission denied.
    pub const NO_PERMISSION: i32 = 16;
    /// The topic does not exist.
    pub const TOPIC_NOT_EXIST: i32 = 17;
    /// The topic already exists.
    pub const TOPIC_EXIST_ALREADY: i32 = 18;
    /// No new message to pull.
    pub const PULL_NOT_FOUND: i32 = 19;
    /// Pull again at once.
    pub const PULL_RETRY_IMMEDIATELY: i32 = 20;
    /// The requested pull offset is out of range.
    pub const PULL_OFFSET_MOVED: i32 = 21;
    /// The query found nothing.
    pub const QUERY_NOT_FOUND: i32 = 22;
    /// No buyer id (unit mode).
    pub const NO_BUYER_ID: i32 = 204;
    /// Not in the current unit (unit mode).
    pub const NOT_IN_CURRENT_UNIT: i32 = 205;
    /// The consumer is not online.
    pub const CONSUMER_NOT_ONLINE: i32 = 206;
    /// No message (pop consumption).
    pub const NO_MESSAGE: i32 = 208;
    /// Flow control (pop consumption).
    pub const FLOW_CONTROL: i32 = 215;
    /// 5.x: the server is going away; reconnect elsewhere.
    pub const GO_AWAY: i32 = 1500;
}
