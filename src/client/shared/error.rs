//! `ClientError`: the one error type of the producer and the consumers.

use std::fmt;
use std::time::Duration;

use crate::protocol::codes::response_code;
use crate::remoting::write_name_servers_tried;
use crate::remoting::RemotingError;

/// Why a client call failed; mirrors Java's `MQClientException`, `MQBrokerException` and the
/// `RemotingException` family, with one variant per kind of failure a program may want to
/// handle differently.
///
/// The first group means nothing was sent: fix the input or the setting the message names.
/// A broker's refusal keeps its response code, remark and address ([`ClientError::Broker`]);
/// transport failures keep the [`RemotingError`] (and through it the `io::Error`) as their
/// [`source`](std::error::Error::source); a send whose every attempt failed says how many,
/// how long, on which brokers, and keeps the last attempt's error as its cause.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ClientError {
    /// An address is not `host:port`.
    InvalidAddress {
        /// The address as given.
        addr: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A group name breaks the naming rules.
    InvalidGroup {
        /// The group as given.
        group: String,
        /// The rule it breaks.
        reason: String,
    },
    /// A topic name breaks the naming rules, or is a topic clients may not send to.
    InvalidTopic {
        /// The topic as given.
        topic: String,
        /// The rule it breaks.
        reason: String,
    },
    /// The message body is empty.
    EmptyBody,
    /// The message body (or a batch's encoded body) is over the producer's limit.
    BodyTooLarge {
        /// The body's size in bytes.
        size: usize,
        /// The limit (`max_message_size`).
        limit: usize,
    },
    /// The messages of a batch cannot go together.
    InvalidBatch {
        /// Why.
        reason: String,
    },
    /// A user property uses a reserved name, or a blank name or value.
    InvalidProperty {
        /// The property name.
        name: String,
        /// Why it is refused.
        reason: String,
    },
    /// Another argument is out of range (a negative offset, a queue of another topic, a
    /// selector that chose no queue).
    InvalidArgument {
        /// The argument.
        name: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The client has been shut down.
    ShutDown,
    /// No name server address is configured, or none of them could be reached.
    NoNameServer {
        /// Each address tried with why it failed; empty when none is configured.
        tried: Vec<(String, RemotingError)>,
    },
    /// No name server address was given (builder, `NAMESRV_ADDR`) and the address service
    /// gave none at start (Java's `fetchNameServerAddr`).
    NameServerLookup {
        /// The address service URL asked.
        url: String,
        /// Why no list came of it (no answer, a status other than 200, a bad list).
        reason: String,
    },
    /// The name servers have no route for the topic (nor, for a send, for the auto-create
    /// topic), or the route has no queue to use.
    NoRoute {
        /// The topic.
        topic: String,
        /// What is missing.
        reason: String,
    },
    /// No address is known for a broker name (it left every route).
    BrokerNotFound {
        /// The broker name.
        broker_name: String,
    },
    /// A broker or name server answered with an error code (`MQBrokerException`).
    Broker {
        /// The response code.
        code: i32,
        /// The peer's remark.
        remark: Option<String>,
        /// The address of the peer that answered.
        addr: String,
    },
    /// A peer's answer could not be read (a required header field missing, a bad body).
    InvalidResponse {
        /// The peer's address.
        addr: String,
        /// What was wrong.
        reason: String,
    },
    /// The time budget of an operation ran out.
    Timeout {
        /// What was being done.
        operation: String,
        /// The budget that ran out.
        timeout: Duration,
        /// The setting that sets the budget, to name in the message.
        setting: &'static str,
    },
    /// The transport failed: connect, write, no response in time, connection closed.
    Remoting(RemotingError),
    /// Every attempt of a send failed; `cause` is the last attempt's error.
    SendFailed {
        /// Attempts made.
        attempts: u32,
        /// Time from the start of the send to the end of the last attempt.
        elapsed: Duration,
        /// The topic.
        topic: String,
        /// The broker of each attempt, in order.
        brokers_sent: Vec<String>,
        /// The last attempt's error.
        cause: Box<ClientError>,
    },
    /// The async send queue is full: the brokers are slower than the sends.
    AsyncSendQueueFull {
        /// The queue's capacity.
        capacity: usize,
    },
    /// A request got no reply within its timeout (Java's `RequestTimeoutException`, code
    /// 10006).
    RequestTimeout {
        /// The request's topic.
        topic: String,
        /// Its `CORRELATION_ID`.
        correlation_id: String,
        /// The timeout.
        timeout: Duration,
        /// Whether the broker had acknowledged the request.
        request_sent: bool,
    },
    /// `flush` returned before every async send completed.
    FlushTimeout {
        /// Async sends still in flight.
        in_flight: usize,
        /// How long `flush` waited.
        timeout: Duration,
    },
    /// A popped message's invisible time has passed, so its receipt handle no longer holds
    /// it: the broker may have handed it out again. An ack or an invisibility change made now
    /// would not stop the redelivery, so it is not sent (a broker would answer SUCCESS all
    /// the same). The message comes again; consumers must expect it.
    ReceiptHandleExpired {
        /// The message's id (`UNIQ_KEY`).
        message_id: String,
        /// How long ago it became visible again.
        expired_for: Duration,
    },
}

impl ClientError {
    /// The peer's response code, if a peer answered with an error (directly or as the last
    /// cause of a failed send).
    pub fn response_code(&self) -> Option<i32> {
        match self {
            ClientError::Broker { code, .. } => Some(*code),
            ClientError::SendFailed { cause, .. } => cause.response_code(),
            _ => None,
        }
    }

    /// True when a broker or name server refused the request with NO_PERMISSION (16): an ACL
    /// refusal (a wrong signature, an unknown access key, a topic or group the account may
    /// not use), or a topic or broker not writable (directly or as a failed send's last
    /// cause). The remark says which.
    pub fn is_permission_denied(&self) -> bool {
        self.response_code() == Some(crate::protocol::codes::response_code::NO_PERMISSION)
    }

    /// True when a time limit ran out: the operation's budget, or a call's response time
    /// (directly or as the last cause of a failed send).
    pub fn is_timeout(&self) -> bool {
        match self {
            ClientError::Timeout { .. }
            | ClientError::FlushTimeout { .. }
            | ClientError::RequestTimeout { .. } => true,
            ClientError::Remoting(e) => e.is_timeout(),
            ClientError::SendFailed { cause, .. } => cause.is_timeout(),
            _ => false,
        }
    }

    /// True for the errors that mean nothing was sent because an argument, a message or a
    /// setting is invalid; retrying the same call cannot succeed.
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            ClientError::InvalidAddress { .. }
                | ClientError::InvalidGroup { .. }
                | ClientError::InvalidTopic { .. }
                | ClientError::EmptyBody
                | ClientError::BodyTooLarge { .. }
                | ClientError::InvalidBatch { .. }
                | ClientError::InvalidProperty { .. }
                | ClientError::InvalidArgument { .. }
        )
    }

    /// True when the request could not be delivered or answered: connect, write, a closed
    /// connection, no response in time, no permit (Java's `RemotingException` family); the
    /// message may not have arrived, and another broker may work. Java's async sends retry
    /// only these.
    pub(crate) fn is_transport_failure(&self) -> bool {
        match self {
            ClientError::Remoting(e) => {
                !matches!(e, RemotingError::Encode(_) | RemotingError::Hook { .. })
            }
            ClientError::BrokerNotFound { .. } => true,
            _ => false,
        }
    }

    /// True when a sync send that failed this way may be retried on another broker
    /// (`sendDefaultImpl`): transport failures, a broker missing from the routes, an
    /// unreadable answer, and broker codes in `retry_codes` (`retryResponseCodes`).
    pub(crate) fn is_retryable(&self, retry_codes: &[i32]) -> bool {
        match self {
            ClientError::Broker { code, .. } => retry_codes.contains(code),
            ClientError::InvalidResponse { .. } => true,
            other => other.is_transport_failure(),
        }
    }

    /// True when a transport failure means the broker may be gone, so its route is worth
    /// fetching again.
    pub(crate) fn suggests_route_change(&self) -> bool {
        matches!(
            self,
            ClientError::Remoting(
                RemotingError::Connect { .. }
                    | RemotingError::ConnectionClosed { .. }
                    | RemotingError::SendRequest { .. }
            ) | ClientError::BrokerNotFound { .. }
        )
    }

    /// A peer's error answer.
    pub(crate) fn broker(code: i32, remark: Option<String>, addr: &str) -> Self {
        ClientError::Broker {
            code,
            remark,
            addr: addr.to_string(),
        }
    }

    /// An unreadable answer from `addr`.
    pub(crate) fn invalid_response(addr: &str, reason: impl fmt::Display) -> Self {
        ClientError::InvalidResponse {
            addr: addr.to_string(),
            reason: reason.to_string(),
        }
    }

    /// An out-of-range argument.
    pub(crate) fn invalid_argument(name: &'static str, reason: impl Into<String>) -> Self {
        ClientError::InvalidArgument {
            name,
            reason: reason.into(),
        }
    }
}

/// The response codes Java retries a send on: 4.9.8's `retryResponseCodes` (TOPIC_NOT_EXIST,
/// SERVICE_NOT_AVAILABLE, SYSTEM_ERROR, NO_PERMISSION, NO_BUYER_ID, NOT_IN_CURRENT_UNIT) plus
/// 5.x's SYSTEM_BUSY and GO_AWAY: none of them means the message was stored.
pub const DEFAULT_RETRY_RESPONSE_CODES: [i32; 8] = [
    response_code::TOPIC_NOT_EXIST,
    response_code::SERVICE_NOT_AVAILABLE,
    response_code::SYSTEM_ERROR,
    response_code::NO_PERMISSION,
    response_code::NO_BUYER_ID,
    response_code::NOT_IN_CURRENT_UNIT,
    response_code::SYSTEM_BUSY,
    response_code::GO_AWAY,
];

impl fmt::Display for ClientError {
    /// What failed, without its cause (that is [`source`](std::error::Error::source)); `{:#}`
    /// appends the causes: `send to topic T failed after 3 attempts in 12 ms on broker-a,
    /// broker-a, broker-a: connect to 10.0.0.1:10911 failed: Connection refused`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let ClientError::Remoting(e) = self {
            return fmt::Display::fmt(e, f); // transparent
        }
        self.describe(f)?;
        crate::common::write_sources(f, std::error::Error::source(self))
    }
}

impl ClientError {
    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::InvalidAddress { addr, reason } => {
                write!(f, "invalid address {addr:?}: {reason}")
            }
            ClientError::InvalidGroup { group, reason } => {
                write!(f, "invalid group {group:?}: {reason}")
            }
            ClientError::InvalidTopic { topic, reason } => {
                write!(f, "invalid topic {topic:?}: {reason}")
            }
            ClientError::EmptyBody => f.write_str("the message body is empty"),
            ClientError::BodyTooLarge { size, limit } => write!(
                f,
                "the message body is {size} bytes, over the limit of {limit} \
                 (raise it with the builder's max_message_size)"
            ),
            ClientError::InvalidBatch { reason } => write!(f, "invalid batch: {reason}"),
            ClientError::InvalidProperty { name, reason } => {
                write!(f, "invalid property {name:?}: {reason}")
            }
            ClientError::InvalidArgument { name, reason } => write!(f, "invalid {name}: {reason}"),
            ClientError::ShutDown => f.write_str("the client has been shut down"),
            ClientError::NoNameServer { tried } if tried.is_empty() => f.write_str(
                "no name server address: give one to the builder's name_server(\"host:port\") \
                 or set NAMESRV_ADDR",
            ),
            ClientError::NoNameServer { tried } => write_name_servers_tried(f, tried),
            ClientError::NameServerLookup { url, reason } => write!(
                f,
                "no name server address: none given to the builder's name_server(\"host:port\") \
                 nor in NAMESRV_ADDR, and the address service {url} gave none: {reason}"
            ),
            ClientError::NoRoute { topic, reason } => {
                write!(f, "no route for topic {topic}: {reason}")
            }
            ClientError::BrokerNotFound { broker_name } => write!(
                f,
                "no address known for broker {broker_name}: it is in no route the name \
                 servers give"
            ),
            ClientError::Broker { code, remark, addr } => {
                write!(f, "{addr} answered code {code}")?;
                if let Some(name) = response_code::name(*code) {
                    write!(f, " ({name})")?;
                }
                match remark.as_deref().filter(|r| !r.is_empty()) {
                    Some(remark) => write!(f, ": {remark}"),
                    None => Ok(()),
                }
            }
            ClientError::InvalidResponse { addr, reason } => {
                write!(f, "unreadable answer from {addr}: {reason}")
            }
            ClientError::Timeout {
                operation,
                timeout,
                setting,
            } => write!(
                f,
                "{operation} timed out after {} ms (the builder's {setting})",
                timeout.as_millis()
            ),
            ClientError::Remoting(e) => write!(f, "{e}"),
            ClientError::SendFailed {
                attempts,
                elapsed,
                topic,
                brokers_sent,
                ..
            } => write!(
                f,
                "send to topic {topic} failed after {attempts} attempt{} in {} ms on {}",
                if *attempts == 1 { "" } else { "s" },
                elapsed.as_millis(),
                brokers_sent.join(", ")
            ),
            ClientError::AsyncSendQueueFull { capacity } => write!(
                f,
                "the async send queue is full ({capacity} sends waiting; the builder's \
                 async_send_queue_capacity)"
            ),
            ClientError::RequestTimeout {
                topic,
                correlation_id,
                timeout,
                request_sent,
            } => {
                if *request_sent {
                    write!(
                        f,
                        "send request message to <{topic}> OK, but wait reply message timeout, \
                         {} ms (correlation id {correlation_id})",
                        timeout.as_millis()
                    )
                } else {
                    write!(
                        f,
                        "request to <{topic}> timed out after {} ms before the broker \
                         acknowledged it (correlation id {correlation_id})",
                        timeout.as_millis()
                    )
                }
            }
            ClientError::FlushTimeout { in_flight, timeout } => write!(
                f,
                "flush gave up after {} ms with {in_flight} async send{} still in flight",
                timeout.as_millis(),
                if *in_flight == 1 { "" } else { "s" }
            ),
            ClientError::ReceiptHandleExpired {
                message_id,
                expired_for,
            } => write!(
                f,
                "the receipt handle of message {message_id} expired {} ms ago: its invisible \
                 time passed and it will be delivered again",
                expired_for.as_millis()
            ),
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            // Transparent: the transport error's own cause.
            ClientError::Remoting(e) => e.source(),
            ClientError::SendFailed { cause, .. } => Some(cause.as_ref()),
            _ => None,
        }
    }
}

impl From<RemotingError> for ClientError {
    fn from(e: RemotingError) -> Self {
        match e {
            RemotingError::NoNameServer { tried } => ClientError::NoNameServer { tried },
            RemotingError::InvalidAddress { addr, reason } => {
                ClientError::InvalidAddress { addr, reason }
            }
            RemotingError::Shutdown => ClientError::ShutDown,
            other => ClientError::Remoting(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error;
    use std::io;
    use std::sync::Arc;

    fn broker(code: i32) -> ClientError {
        ClientError::broker(code, Some("r".into()), "10.0.0.1:10911")
    }

    fn io_error(kind: io::ErrorKind) -> Arc<io::Error> {
        Arc::new(io::Error::from(kind))
    }

    #[test]
    fn retry_decision_table() {
        let codes = DEFAULT_RETRY_RESPONSE_CODES;
        let addr = || "10.0.0.1:10911".to_string();
        // (error, sync send retries it, async send retries it)
        let table: Vec<(ClientError, bool, bool)> = vec![
            // Transport failures: the message may not have arrived; another broker may work.
            (
                RemotingError::Connect {
                    addr: addr(),
                    source: io_error(io::ErrorKind::ConnectionRefused),
                }
                .into(),
                true,
                true,
            ),
            (
                RemotingError::SendRequest {
                    addr: addr(),
                    source: io_error(io::ErrorKind::BrokenPipe),
                }
                .into(),
                true,
                true,
            ),
            (
                RemotingError::Timeout {
                    addr: addr(),
                    timeout: Duration::from_secs(1),
                }
                .into(),
                true,
                true,
            ),
            (
                RemotingError::ConnectionClosed {
                    addr: addr(),
                    reason: "eof".into(),
                }
                .into(),
                true,
                true,
            ),
            (
                ClientError::BrokerNotFound {
                    broker_name: "b".into(),
                },
                true,
                true,
            ),
            // Local conditions another broker cannot fix.
            (RemotingError::Shutdown.into(), false, false),
            // No permit: Java retries it (a RemotingException), as do we.
            (
                RemotingError::TooManyRequests {
                    kind: "async",
                    waited: Duration::ZERO,
                }
                .into(),
                true,
                true,
            ),
            (
                RemotingError::Hook {
                    message: "boom".into(),
                }
                .into(),
                false,
                false,
            ),
            (
                RemotingError::NoNameServer { tried: vec![] }.into(),
                false,
                false,
            ),
            // Broker answers: sync retries Java's set; async never retries an answer
            // (MQClientAPIImpl.sendMessageAsync: needRetry = false).
            (broker(response_code::TOPIC_NOT_EXIST), true, false),
            (broker(response_code::SERVICE_NOT_AVAILABLE), true, false),
            (broker(response_code::SYSTEM_ERROR), true, false),
            (broker(response_code::NO_PERMISSION), true, false),
            (broker(response_code::NO_BUYER_ID), true, false),
            (broker(response_code::NOT_IN_CURRENT_UNIT), true, false),
            (broker(response_code::SYSTEM_BUSY), true, false),
            (broker(response_code::GO_AWAY), true, false),
            (broker(response_code::MESSAGE_ILLEGAL), false, false),
            (
                broker(response_code::REQUEST_CODE_NOT_SUPPORTED),
                false,
                false,
            ),
            (
                ClientError::invalid_response("a:1", "missing msgId"),
                true,
                false,
            ),
            (ClientError::EmptyBody, false, false),
            (ClientError::ShutDown, false, false),
        ];
        for (error, sync, async_) in table {
            assert_eq!(error.is_retryable(&codes), sync, "sync {error:?}");
            assert_eq!(error.is_transport_failure(), async_, "async {error:?}");
        }
        // A caller's own set replaces the default.
        assert!(!broker(response_code::SYSTEM_BUSY).is_retryable(&[17]));
        assert!(broker(response_code::MESSAGE_ILLEGAL).is_retryable(&[13]));
    }

    #[test]
    fn send_failed_names_attempts_brokers_and_keeps_the_cause() {
        let error = ClientError::SendFailed {
            attempts: 3,
            elapsed: Duration::from_millis(1234),
            topic: "T".into(),
            brokers_sent: vec!["broker-a".into(), "broker-b".into(), "broker-a".into()],
            cause: Box::new(broker(response_code::SYSTEM_BUSY)),
        };
        assert_eq!(
            error.to_string(),
            "send to topic T failed after 3 attempts in 1234 ms on broker-a, broker-b, broker-a"
        );
        assert_eq!(
            format!("{error:#}"),
            "send to topic T failed after 3 attempts in 1234 ms on broker-a, broker-b, \
             broker-a: 10.0.0.1:10911 answered code 2 (SYSTEM_BUSY): r"
        );
        assert_eq!(error.response_code(), Some(response_code::SYSTEM_BUSY));
        assert!(error.source().is_some());
    }

    #[test]
    fn the_io_error_stays_reachable_through_source() {
        let error = ClientError::SendFailed {
            attempts: 1,
            elapsed: Duration::ZERO,
            topic: "T".into(),
            brokers_sent: vec!["b".into()],
            cause: Box::new(
                RemotingError::Connect {
                    addr: "10.0.0.1:1".into(),
                    source: io_error(io::ErrorKind::ConnectionRefused),
                }
                .into(),
            ),
        };
        let mut found = None;
        let mut next: Option<&(dyn Error + 'static)> = Some(&error);
        while let Some(e) = next {
            if let Some(io) = e.downcast_ref::<io::Error>() {
                found = Some(io.kind());
            }
            next = e.source();
        }
        assert_eq!(found, Some(io::ErrorKind::ConnectionRefused));
    }

    #[test]
    fn name_server_errors_name_every_address_or_the_settings() {
        let error: ClientError = RemotingError::NoNameServer {
            tried: vec![
                (
                    "127.0.0.1:1".into(),
                    RemotingError::Connect {
                        addr: "127.0.0.1:1".into(),
                        source: io_error(io::ErrorKind::ConnectionRefused),
                    },
                ),
                (
                    "127.0.0.1:2".into(),
                    RemotingError::Connect {
                        addr: "127.0.0.1:2".into(),
                        source: io_error(io::ErrorKind::ConnectionRefused),
                    },
                ),
            ],
        }
        .into();
        assert_eq!(
            error.to_string(),
            "no name server reachable: tried 127.0.0.1:1 (connection refused), 127.0.0.1:2 \
             (connection refused)"
        );
        let none = ClientError::NoNameServer { tried: vec![] }.to_string();
        assert!(
            none.contains("name_server") && none.contains("NAMESRV_ADDR"),
            "{none}"
        );
    }

    #[test]
    fn messages_name_the_setting_to_change() {
        let error = ClientError::BodyTooLarge { size: 5, limit: 4 };
        assert!(error.to_string().contains("max_message_size"), "{error}");
        assert!(error.is_invalid_input());
        let error = ClientError::Timeout {
            operation: "send to topic T".into(),
            timeout: Duration::from_millis(3000),
            setting: "send_timeout",
        };
        assert_eq!(
            error.to_string(),
            "send to topic T timed out after 3000 ms (the builder's send_timeout)"
        );
        assert!(error.is_timeout());
    }
}
