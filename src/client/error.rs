//! `ClientError`: the one error type of the producer and pull consumer.

use std::fmt;
use std::time::Duration;

use crate::protocol::codes::response_code;
use crate::remoting::RemotingError;

/// Why a client call failed; mirrors Java's `MQClientException`, `MQBrokerException` and the
/// `RemotingException` family in one enum.
///
/// Every variant says what a user can act on: the rule a message broke, the topic that has
/// no route, the broker (by address) that answered with an error code, or the transport error
/// with the address it happened at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// A message, topic, group or setting breaks a rule; nothing was sent.
    InvalidArgument(String),
    /// The producer or consumer is not running (never started, or shut down).
    NotRunning {
        /// The state it is in: "not started" or "shut down".
        state: &'static str,
    },
    /// The name server has no route for the topic (and none for the auto-create topic).
    TopicNotFound {
        /// The topic asked for.
        topic: String,
    },
    /// The topic has a route, but no writable queue on a broker with a master.
    NoWritableQueue {
        /// The topic.
        topic: String,
    },
    /// No address is known for a broker name (it left every route).
    BrokerNotFound {
        /// The broker name.
        broker_name: String,
    },
    /// A broker answered with an error code (`MQBrokerException`).
    Broker {
        /// The response code.
        code: i32,
        /// The broker's remark.
        remark: Option<String>,
        /// The address of the broker that answered.
        broker_addr: String,
    },
    /// The transport failed: connect, write, timeout, closed connection, no name server.
    Remoting(RemotingError),
    /// A peer's response could not be read (a required header field missing, a bad body).
    InvalidResponse {
        /// The peer's address.
        addr: String,
        /// What was wrong.
        reason: String,
    },
    /// Every attempt of a send failed; the cause is the last attempt's error.
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
    /// The send timeout passed before a request could be sent (Java's "call timeout").
    Timeout {
        /// What was being done.
        what: String,
        /// The timeout that passed.
        timeout: Duration,
    },
}

impl ClientError {
    /// The broker's response code, if a broker answered with an error (directly or as the
    /// last cause of a failed send).
    pub fn response_code(&self) -> Option<i32> {
        match self {
            ClientError::Broker { code, .. } => Some(*code),
            ClientError::SendFailed { cause, .. } => cause.response_code(),
            _ => None,
        }
    }

    /// True when a send that failed this way may be retried on another broker: transport
    /// failures, a broker missing from the routes, unreadable responses, and broker codes in
    /// `retry_codes` (`DefaultMQProducer.retryResponseCodes`). Invalid input, local overload
    /// and shutdown are final.
    pub fn is_retryable(&self, retry_codes: &[i32]) -> bool {
        match self {
            ClientError::Broker { code, .. } => retry_codes.contains(code),
            ClientError::Remoting(e) => !matches!(
                e,
                RemotingError::Shutdown
                    | RemotingError::TooManyRequests { .. }
                    | RemotingError::Encode(_)
                    | RemotingError::NoNameServer { .. }
            ),
            ClientError::BrokerNotFound { .. } | ClientError::InvalidResponse { .. } => true,
            ClientError::InvalidArgument(_)
            | ClientError::NotRunning { .. }
            | ClientError::TopicNotFound { .. }
            | ClientError::NoWritableQueue { .. }
            | ClientError::SendFailed { .. }
            | ClientError::Timeout { .. } => false,
        }
    }

    /// A broker error from a response's code and remark.
    pub(crate) fn broker(code: i32, remark: Option<String>, broker_addr: &str) -> Self {
        ClientError::Broker {
            code,
            remark,
            broker_addr: broker_addr.to_string(),
        }
    }

    /// An unreadable response from `addr`.
    pub(crate) fn invalid_response(addr: &str, reason: impl fmt::Display) -> Self {
        ClientError::InvalidResponse {
            addr: addr.to_string(),
            reason: reason.to_string(),
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
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::InvalidArgument(reason) => f.write_str(reason),
            ClientError::NotRunning { state } => write!(f, "the client is {state}"),
            ClientError::TopicNotFound { topic } => write!(
                f,
                "topic {topic} not found: the name server has no route for it, nor for the \
                 auto-create topic"
            ),
            ClientError::NoWritableQueue { topic } => write!(
                f,
                "topic {topic} has no writable queue on a broker with a master"
            ),
            ClientError::BrokerNotFound { broker_name } => {
                write!(f, "no address known for broker {broker_name}")
            }
            ClientError::Broker {
                code,
                remark,
                broker_addr,
            } => write!(
                f,
                "broker {broker_addr} answered code {code}: {}",
                remark.as_deref().unwrap_or("(no remark)")
            ),
            ClientError::Remoting(e) => e.fmt(f),
            ClientError::InvalidResponse { addr, reason } => {
                write!(f, "unreadable response from {addr}: {reason}")
            }
            ClientError::SendFailed {
                attempts,
                elapsed,
                topic,
                brokers_sent,
                cause,
            } => write!(
                f,
                "Send [{attempts}] times, still failed, cost [{}]ms, Topic: {topic}, \
                 BrokersSent: [{}]: {cause}",
                elapsed.as_millis(),
                brokers_sent.join(", ")
            ),
            ClientError::Timeout { what, timeout } => write!(
                f,
                "{what}: the timeout of {} ms passed before a request was sent",
                timeout.as_millis()
            ),
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClientError::Remoting(e) => Some(e),
            ClientError::SendFailed { cause, .. } => Some(cause.as_ref()),
            _ => None,
        }
    }
}

impl From<RemotingError> for ClientError {
    fn from(e: RemotingError) -> Self {
        ClientError::Remoting(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broker(code: i32) -> ClientError {
        ClientError::broker(code, Some("r".into()), "10.0.0.1:10911")
    }

    #[test]
    fn retryable_decision_table() {
        let codes = DEFAULT_RETRY_RESPONSE_CODES;
        let addr = || "10.0.0.1:10911".to_string();
        let table: Vec<(ClientError, bool)> = vec![
            // Transport failures: the message may not have arrived; another broker may work.
            (
                RemotingError::Connect {
                    addr: addr(),
                    reason: "refused".into(),
                }
                .into(),
                true,
            ),
            (
                RemotingError::SendRequest {
                    addr: addr(),
                    reason: "broken pipe".into(),
                }
                .into(),
                true,
            ),
            (
                RemotingError::Timeout {
                    addr: addr(),
                    timeout: Duration::from_secs(1),
                }
                .into(),
                true,
            ),
            (
                RemotingError::ConnectionClosed {
                    addr: addr(),
                    reason: "eof".into(),
                }
                .into(),
                true,
            ),
            (RemotingError::InvalidAddress("x".into()).into(), true),
            // Local conditions another broker cannot fix.
            (RemotingError::Shutdown.into(), false),
            (
                RemotingError::TooManyRequests {
                    kind: "async",
                    waited: Duration::ZERO,
                }
                .into(),
                false,
            ),
            (RemotingError::NoNameServer { tried: vec![] }.into(), false),
            // Broker codes: Java's set retries, the rest is final.
            (broker(response_code::TOPIC_NOT_EXIST), true),
            (broker(response_code::SERVICE_NOT_AVAILABLE), true),
            (broker(response_code::SYSTEM_ERROR), true),
            (broker(response_code::NO_PERMISSION), true),
            (broker(response_code::NO_BUYER_ID), true),
            (broker(response_code::NOT_IN_CURRENT_UNIT), true),
            (broker(response_code::SYSTEM_BUSY), true),
            (broker(response_code::GO_AWAY), true),
            (broker(response_code::MESSAGE_ILLEGAL), false),
            (broker(response_code::REQUEST_CODE_NOT_SUPPORTED), false),
            (broker(response_code::VERSION_NOT_SUPPORTED), false),
            (
                ClientError::BrokerNotFound {
                    broker_name: "b".into(),
                },
                true,
            ),
            (ClientError::invalid_response("a:1", "missing msgId"), true),
            (ClientError::InvalidArgument("bad".into()), false),
            (ClientError::NotRunning { state: "shut down" }, false),
        ];
        for (error, expected) in table {
            assert_eq!(error.is_retryable(&codes), expected, "{error:?}");
        }
        // A caller's own set replaces the default.
        assert!(!broker(response_code::SYSTEM_BUSY).is_retryable(&[17]));
        assert!(broker(response_code::MESSAGE_ILLEGAL).is_retryable(&[13]));
    }

    #[test]
    fn send_failed_names_attempts_brokers_and_cause() {
        let error = ClientError::SendFailed {
            attempts: 3,
            elapsed: Duration::from_millis(1234),
            topic: "T".into(),
            brokers_sent: vec!["broker-a".into(), "broker-b".into(), "broker-a".into()],
            cause: Box::new(broker(response_code::SYSTEM_BUSY)),
        };
        assert_eq!(
            error.to_string(),
            "Send [3] times, still failed, cost [1234]ms, Topic: T, BrokersSent: [broker-a, \
             broker-b, broker-a]: broker 10.0.0.1:10911 answered code 2: r"
        );
        assert_eq!(error.response_code(), Some(response_code::SYSTEM_BUSY));
        assert!(std::error::Error::source(&error).is_some());
    }

    #[test]
    fn name_server_error_keeps_every_address() {
        let error: ClientError = RemotingError::NoNameServer {
            tried: vec![
                ("127.0.0.1:1".into(), "connection refused".into()),
                ("127.0.0.1:2".into(), "connection refused".into()),
            ],
        }
        .into();
        assert_eq!(
            error.to_string(),
            "no name server reachable: tried 127.0.0.1:1 (connection refused), 127.0.0.1:2 \
             (connection refused)"
        );
    }
}
