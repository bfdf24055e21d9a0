//! Request and response codes; mirrors Java's `RequestCode` and `ResponseCode`.

/// Declares code constants and `name(code)`, which gives a code's Java name (for logs,
/// errors and the teaching trace).
macro_rules! codes {
    ($($(#[$doc:meta])* $name:ident = $value:expr,)*) => {
        $($(#[$doc])* pub const $name: i32 = $value;)*

        /// The Java name of `code`, if it is one of these.
        pub fn name(code: i32) -> Option<&'static str> {
            match code {
                $($value => Some(stringify!($name)),)*
                _ => None,
            }
        }
    };
}

/// Request codes (`RequestCode`): what a request asks for.
pub mod request_code {
    codes! {
        /// Send a message with the long-named `SendMessageRequestHeader`.
        SEND_MESSAGE = 10,
        /// Pull messages from a queue.
        PULL_MESSAGE = 11,
        /// Query messages by key.
        QUERY_MESSAGE = 12,
        /// Query a consumer group's committed offset.
        QUERY_CONSUMER_OFFSET = 14,
        /// Commit a consumer group's offset.
        UPDATE_CONSUMER_OFFSET = 15,
        /// Create or update a topic on a broker.
        UPDATE_AND_CREATE_TOPIC = 17,
        /// Every topic config of a broker.
        GET_ALL_TOPIC_CONFIG = 21,
        /// Change broker settings.
        UPDATE_BROKER_CONFIG = 25,
        /// A broker's settings.
        GET_BROKER_CONFIG = 26,
        /// A broker's runtime statistics.
        GET_BROKER_RUNTIME_INFO = 28,
        /// Find a queue offset by store timestamp.
        SEARCH_OFFSET_BY_TIMESTAMP = 29,
        /// A queue's max offset.
        GET_MAX_OFFSET = 30,
        /// A queue's min offset.
        GET_MIN_OFFSET = 31,
        /// Store time of a queue's earliest message.
        GET_EARLIEST_MSG_STORETIME = 32,
        /// Look a message up by its offset message id.
        VIEW_MESSAGE_BY_ID = 33,
        /// Client heartbeat carrying its producer and consumer groups.
        HEART_BEAT = 34,
        /// A client leaving its groups.
        UNREGISTER_CLIENT = 35,
        /// A consumer returning a message for redelivery.
        CONSUMER_SEND_MSG_BACK = 36,
        /// Commit or roll back a transactional message.
        END_TRANSACTION = 37,
        /// The client ids in a consumer group.
        GET_CONSUMER_LIST_BY_GROUP = 38,
        /// Broker asking a producer for a transaction's state.
        CHECK_TRANSACTION_STATE = 39,
        /// Broker telling consumers their group changed.
        NOTIFY_CONSUMER_IDS_CHANGED = 40,
        /// Lock queues for an ordered consumer.
        LOCK_BATCH_MQ = 41,
        /// Unlock queues of an ordered consumer.
        UNLOCK_BATCH_MQ = 42,
        /// A consumer asking the broker whether it can filter by its subscription (SQL92).
        CHECK_CLIENT_CONFIG = 46,
        /// Store a key-value pair on the name server.
        PUT_KV_CONFIG = 100,
        /// Broker registering its topics with a name server.
        REGISTER_BROKER = 103,
        /// Broker leaving a name server.
        UNREGISTER_BROKER = 104,
        /// A topic's route from a name server.
        GET_ROUTEINFO_BY_TOPIC = 105,
        /// The cluster and broker tables of a name server.
        GET_BROKER_CLUSTER_INFO = 106,
        /// Create or update a subscription group on a broker.
        UPDATE_AND_CREATE_SUBSCRIPTIONGROUP = 200,
        /// Every subscription group of a broker.
        GET_ALL_SUBSCRIPTIONGROUP_CONFIG = 201,
        /// A topic's queue offsets on a broker.
        GET_TOPIC_STATS_INFO = 202,
        /// The client connections of a consumer group, from a broker (admin).
        GET_CONSUMER_CONNECTION_LIST = 203,
        /// A producer group's connections.
        GET_PRODUCER_CONNECTION_LIST = 204,
        /// Every topic a name server knows.
        GET_ALL_TOPIC_LIST_FROM_NAMESERVER = 206,
        /// Delete a subscription group from a broker.
        DELETE_SUBSCRIPTIONGROUP = 207,
        /// A consumer group's offsets and lag per queue, from a broker (admin).
        GET_CONSUME_STATS = 208,
        /// Delete a topic from a broker.
        DELETE_TOPIC_IN_BROKER = 215,
        /// Delete a topic from a name server.
        DELETE_TOPIC_IN_NAMESRV = 216,
        /// Broker telling a consumer to move its offsets (after RESET_CONSUMER_OFFSET).
        RESET_CONSUMER_CLIENT_OFFSET = 220,
        /// Broker asking a consumer for its offsets.
        GET_CONSUMER_STATUS_FROM_CLIENT = 221,
        /// Admin asking a broker to reset a group's offsets (by timestamp).
        INVOKE_BROKER_TO_RESET_OFFSET = 222,
        /// Admin asking a broker for a group's client offsets.
        INVOKE_BROKER_TO_GET_CONSUMER_STATUS = 223,
        /// The topics of a cluster.
        GET_TOPICS_BY_CLUSTER = 224,
        /// The consumer groups of a topic.
        QUERY_TOPIC_CONSUME_BY_WHO = 300,
        /// Ask a consumer for its running state.
        GET_CONSUMER_RUNNING_INFO = 307,
        /// Ask a consumer to consume one message now, and say how it went.
        CONSUME_MESSAGE_DIRECTLY = 309,
        /// Send a message with the short-named `SendMessageRequestHeaderV2`.
        SEND_MESSAGE_V2 = 310,
        /// Send a batch of messages.
        SEND_BATCH_MESSAGE = 320,
        /// Send a reply message (request-reply).
        SEND_REPLY_MESSAGE = 324,
        /// Send a reply message with the short-named header.
        SEND_REPLY_MESSAGE_V2 = 325,
        /// Broker → client: the reply to a request this client sent.
        PUSH_REPLY_MESSAGE_TO_CLIENT = 326,
        /// 5.x: one topic's config on a broker (`mqadmin topicStatus`, `consumerProgress`).
        GET_TOPIC_CONFIG = 351,
        /// 5.x: one subscription group's config on a broker.
        GET_SUBSCRIPTIONGROUP_CONFIG = 352,
        /// 5.3: cancel a timer message not yet delivered, by its recall handle.
        RECALL_MESSAGE = 370,
        /// 5.x: which queues a consumer takes and whether it pulls or pops them.
        QUERY_ASSIGNMENT = 400,
        /// 5.x: set whether a group pulls or pops a topic (`mqadmin setConsumeMode`).
        SET_MESSAGE_REQUEST_MODE = 401,
        /// 5.x: pop messages, each invisible to others until acked or its time passes.
        POP_MESSAGE = 200050,
        /// 5.x: acknowledge one popped message.
        ACK_MESSAGE = 200051,
        /// 5.x: move a popped message's invisibility deadline.
        CHANGE_MESSAGE_INVISIBLETIME = 200053,
        /// 5.x: ask (long polling) whether a pop would find messages.
        NOTIFICATION = 200054,
        /// 5.x: how many pops wait on a queue.
        POLLING_INFO = 200055,
        /// 5.x: acknowledge many popped messages at once.
        BATCH_ACK_MESSAGE = 200151,
    }
}

/// Response codes (`ResponseCode` and `RemotingSysResponseCode`): how a request went.
pub mod response_code {
    codes! {
        /// The request succeeded.
        SUCCESS = 0,
        /// The server failed while processing.
        SYSTEM_ERROR = 1,
        /// The server is overloaded or flow-controlling.
        SYSTEM_BUSY = 2,
        /// No processor for the request code.
        REQUEST_CODE_NOT_SUPPORTED = 3,
        /// A transaction failed.
        TRANSACTION_FAILED = 4,
        /// Stored, but the disk flush timed out.
        FLUSH_DISK_TIMEOUT = 10,
        /// Stored, but no slave is available.
        SLAVE_NOT_AVAILABLE = 11,
        /// Stored, but the slave flush timed out.
        FLUSH_SLAVE_TIMEOUT = 12,
        /// The message is illegal.
        MESSAGE_ILLEGAL = 13,
        /// The service is not available (e.g. a slave, or shutting down).
        SERVICE_NOT_AVAILABLE = 14,
        /// The requester's version is not supported.
        VERSION_NOT_SUPPORTED = 15,
        /// Permission denied.
        NO_PERMISSION = 16,
        /// The topic does not exist.
        TOPIC_NOT_EXIST = 17,
        /// The topic already exists.
        TOPIC_EXIST_ALREADY = 18,
        /// No new message to pull.
        PULL_NOT_FOUND = 19,
        /// Pull again at once.
        PULL_RETRY_IMMEDIATELY = 20,
        /// The requested pull offset is out of range.
        PULL_OFFSET_MOVED = 21,
        /// The query found nothing.
        QUERY_NOT_FOUND = 22,
        /// A subscription expression that does not parse (SQL92).
        SUBSCRIPTION_PARSE_FAILED = 23,
        /// The group has no subscription to the topic.
        SUBSCRIPTION_NOT_EXIST = 24,
        /// The broker's copy of the subscription is older than the pull's.
        SUBSCRIPTION_NOT_LATEST = 25,
        /// The consumer group has no subscription group config (and none is auto-created).
        SUBSCRIPTION_GROUP_NOT_EXIST = 26,
        /// No compiled filter for the group's SQL92 subscription.
        FILTER_DATA_NOT_EXIST = 27,
        /// The compiled filter is older than the pull's subscription.
        FILTER_DATA_NOT_LATEST = 28,
        /// A request field is out of range (5.x).
        INVALID_PARAMETER = 29,
        /// No buyer id (unit mode).
        NO_BUYER_ID = 204,
        /// Not in the current unit (unit mode).
        NOT_IN_CURRENT_UNIT = 205,
        /// The consumer is not online.
        CONSUMER_NOT_ONLINE = 206,
        /// No message (pop consumption).
        NO_MESSAGE = 208,
        /// 5.x: too many pops wait already (4.9.8 used 209 for an ACL failure).
        POLLING_FULL = 209,
        /// 5.x: the pop's poll time passed with nothing to pop (4.9.8: an ACL failure).
        POLLING_TIMEOUT = 210,
        /// Flow control (pop consumption).
        FLOW_CONTROL = 215,
        /// 5.3: an operation refused as it stands (a bad recall handle).
        ILLEGAL_OPERATION = 604,
        /// 5.x: the server is going away; reconnect elsewhere.
        GO_AWAY = 1500,
    }
}
