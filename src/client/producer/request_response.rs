//! Request-reply: a request is an ordinary message that names its sender; a responder
//! consumes it and sends a reply the broker pushes straight back to that sender. Mirrors
//! Java's `DefaultMQProducerImpl.request*`, `RequestResponseFuture`, `RequestFutureHolder`
//! and `MessageUtil.createReplyMessage`.
//!
//! 1. [`Producer::request`](crate::client::Producer::request) stamps the message with `CORRELATION_ID` (new for each request),
//!    `REPLY_TO_CLIENT` (this producer's client id) and `TTL` (the timeout in ms), records a
//!    pending request under the correlation id, and sends the message asynchronously. The
//!    first request to a topic also heartbeats at once, so that the brokers know this client
//!    before any reply comes back.
//! 2. A responder makes the reply with [`create_reply_message`] (topic
//!    `<cluster>_REPLY_TOPIC`, `MSG_TYPE=reply`, the three properties copied) and sends it
//!    with a plain send, which goes out as SEND_REPLY_MESSAGE_V2 (325).
//! 3. The broker pushes the reply to the requester's connection (PUSH_REPLY_MESSAGE_TO_CLIENT,
//!    326); [`ReceiveReplyProcessor`] completes the pending request with the same correlation
//!    id: the waiting [`Producer::request`](crate::client::Producer::request) returns it, or the callback of
//!    [`Producer::request_async`] gets it.
//! 4. A request with no reply within its timeout fails with [`ClientError::RequestTimeout`];
//!    the `rmq-request-expiry` thread (started with the first request, once a second as Java's
//!    `RequestHouseKeepingService`) fails the async ones.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

use super::async_sender::AsyncSender;
use super::send_engine::{SendEngine, Target};
use crate::client::shared::error::ClientError;
use crate::client::shared::message::Message;
use crate::common::clock::now_millis;
use crate::common::service_thread::{Schedule, ServiceThread};
use crate::common::sync::MutexExt;
use crate::protocol::codes::response_code;
use crate::protocol::header::ReplyMessageRequestHeader;
use crate::protocol::message::message_const::{
    PROPERTY_CLUSTER, PROPERTY_CORRELATION_ID, PROPERTY_MESSAGE_REPLY_TO_CLIENT,
    PROPERTY_MESSAGE_TTL, PROPERTY_MESSAGE_TYPE, PROPERTY_REPLY_MESSAGE_ARRIVE_TIME,
    REPLY_MESSAGE_FLAG,
};
use crate::protocol::message::message_ext::DEFAULT_MAX_DECOMPRESSED_SIZE;
use crate::protocol::message::sys_flag::{compression_type, COMPRESSED_FLAG};
use crate::protocol::message::{decompress_with, reply_topic, string_to_properties, MessageExt};
use crate::protocol::{Body, RemotingCommand};
use crate::remoting::{ProcessorError, RequestContext, RequestProcessor};

/// What the callback of an async request gets: the reply, or why there is none.
pub type RequestCallback = Box<dyn FnOnce(Result<MessageExt, ClientError>) + Send + 'static>;

/// How often pending requests are looked at for expiry (Java: every second).
const EXPIRY_SCAN_INTERVAL: Duration = Duration::from_secs(1);

/// Makes the reply to `request` (a message a requester sent with [`Producer::request`](crate::client::Producer::request)) with
/// `body`: topic `<cluster>_REPLY_TOPIC` of the cluster that stored the request, `MSG_TYPE`
/// `reply`, and the request's `CORRELATION_ID`, `REPLY_TO_CLIENT` and `TTL`; mirrors Java's
/// `MessageUtil.createReplyMessage`. Send it with [`Producer::send`](crate::client::Producer::send).
///
/// A request that no broker stored (no `CLUSTER` property) cannot be answered:
/// [`ClientError::InvalidArgument`].
pub fn create_reply_message(
    request: &MessageExt,
    body: impl Into<crate::protocol::Body>,
) -> Result<Message, ClientError> {
    let cluster = request.property(PROPERTY_CLUSTER).ok_or_else(|| {
        ClientError::invalid_argument(
            "request",
            "create reply message fail, requestMessage error, property[CLUSTER] is null.",
        )
    })?;
    let mut reply = Message::new(reply_topic(cluster), body);
    reply.put_system_property(PROPERTY_MESSAGE_TYPE, REPLY_MESSAGE_FLAG);
    for name in [
        PROPERTY_CORRELATION_ID,
        PROPERTY_MESSAGE_REPLY_TO_CLIENT,
        PROPERTY_MESSAGE_TTL,
    ] {
        if let Some(value) = request.property(name) {
            reply.put_system_property(name, value);
        }
    }
    Ok(reply)
}

/// The state of one request, shared by the waiter, the send callback, the reply processor
/// and the expiry scan.
struct Pending {
    /// True once completed: later outcomes (a reply after the timeout) are dropped.
    finished: bool,
    /// A sync request's outcome, until the waiter takes it.
    outcome: Option<Result<MessageExt, ClientError>>,
    /// An async request's callback, taken by whoever completes it.
    callback: Option<RequestCallback>,
    /// The broker acknowledged the request.
    sent: bool,
}

/// One request waiting for its reply; mirrors Java's `RequestResponseFuture`.
pub(crate) struct RequestResponseFuture {
    correlation_id: String,
    topic: String,
    timeout: Duration,
    deadline: Instant,
    pending: Mutex<Pending>,
    done: Condvar,
}

impl RequestResponseFuture {
    fn new(
        correlation_id: String,
        topic: String,
        timeout: Duration,
        callback: Option<RequestCallback>,
    ) -> Self {
        RequestResponseFuture {
            correlation_id,
            topic,
            timeout,
            deadline: Instant::now() + timeout,
            pending: Mutex::new(Pending {
                finished: false,
                outcome: None,
                callback,
                sent: false,
            }),
            done: Condvar::new(),
        }
    }

    /// Records `outcome` unless the request was completed before, and runs the callback
    /// (outside the lock).
    fn complete(&self, outcome: Result<MessageExt, ClientError>) {
        let callback = {
            let mut pending = self.pending.lock_unpoisoned();
            if pending.finished {
                return;
            }
            pending.finished = true;
            let callback = pending.callback.take();
            if callback.is_none() {
                pending.outcome = Some(outcome);
                drop(pending);
                self.done.notify_all();
                return;
            }
            callback
        };
        if let Some(callback) = callback {
            callback(outcome);
        }
    }

    fn mark_sent(&self) {
        self.pending.lock_unpoisoned().sent = true;
    }

    /// Waits for the outcome until the deadline (`waitResponseMessage`).
    fn wait(&self) -> Result<MessageExt, ClientError> {
        let mut pending = self.pending.lock_unpoisoned();
        loop {
            if let Some(outcome) = pending.outcome.take() {
                return outcome;
            }
            let left = self.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(self.timeout_error(pending.sent));
            }
            pending = self
                .done
                .wait_timeout(pending, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    fn timeout_error(&self, sent: bool) -> ClientError {
        ClientError::RequestTimeout {
            topic: self.topic.clone(),
            correlation_id: self.correlation_id.clone(),
            timeout: self.timeout,
            request_sent: sent,
        }
    }
}

/// Pending requests by correlation id, and the thread that expires them; mirrors Java's
/// `RequestFutureHolder` (one per producer here: a reply comes back on the connection of
/// the producer that asked).
#[derive(Default)]
pub(crate) struct RequestFutureTable {
    /// Set by the producer's first request.
    used: AtomicBool,
    futures: Mutex<HashMap<String, Arc<RequestResponseFuture>>>,
    janitor: Mutex<Option<ServiceThread>>,
}

impl RequestFutureTable {
    fn register(self: &Arc<Self>, future: Arc<RequestResponseFuture>) -> Result<(), ClientError> {
        self.ensure_janitor()?;
        self.futures
            .lock_unpoisoned()
            .insert(future.correlation_id.clone(), future);
        Ok(())
    }

    fn remove(&self, correlation_id: &str) -> Option<Arc<RequestResponseFuture>> {
        self.futures.lock_unpoisoned().remove(correlation_id)
    }

    fn ensure_janitor(self: &Arc<Self>) -> Result<(), ClientError> {
        let mut janitor = self.janitor.lock_unpoisoned();
        if janitor.is_none() {
            let table: Weak<Self> = Arc::downgrade(self);
            let thread = ServiceThread::start(
                "rmq-request-expiry",
                Schedule::every(EXPIRY_SCAN_INTERVAL),
                move |_| {
                    if let Some(table) = table.upgrade() {
                        table.expire(Instant::now());
                    }
                },
            )
            .map_err(|e| {
                ClientError::from(crate::remoting::RemotingError::io(
                    "start the request expiry thread",
                    e,
                ))
            })?;
            *janitor = Some(thread);
        }
        Ok(())
    }

    /// `scanExpiredRequest`: fails every request past its deadline.
    fn expire(&self, now: Instant) {
        let expired: Vec<Arc<RequestResponseFuture>> = {
            let mut futures = self.futures.lock_unpoisoned();
            let ids: Vec<String> = futures
                .iter()
                .filter(|(_, f)| f.deadline <= now)
                .map(|(id, _)| id.clone())
                .collect();
            ids.iter().filter_map(|id| futures.remove(id)).collect()
        };
        for future in expired {
            let sent = future.pending.lock_unpoisoned().sent;
            log::debug!("request {} expired", future.correlation_id);
            future.complete(Err(future.timeout_error(sent)));
        }
    }

    /// Fails every pending request and stops the expiry thread.
    pub(crate) fn shutdown(&self) {
        if let Some(janitor) = self.janitor.lock_unpoisoned().take() {
            janitor.stop();
        }
        let pending: Vec<_> = self.futures.lock_unpoisoned().drain().collect();
        for (_, future) in pending {
            future.complete(Err(ClientError::ShutDown));
        }
    }
}

/// Completes requests with the replies brokers push (PUSH_REPLY_MESSAGE_TO_CLIENT, 326);
/// mirrors `ClientRemotingProcessor.receiveReplyMessage`.
pub(crate) struct ReceiveReplyProcessor {
    pub(crate) table: Weak<RequestFutureTable>,
}

/// The reply as a message: the header's fields, the body inflated if compressed, the arrival
/// time in `ARRIVE_TIME`.
fn reply_from(header: ReplyMessageRequestHeader, body: Body) -> Result<MessageExt, String> {
    let host = |addr: &str| -> Result<SocketAddr, String> {
        addr.parse()
            .map_err(|_| format!("bad address {addr:?} in the reply header"))
    };
    let mut sys_flag = header.sys_flag;
    let body = if sys_flag & COMPRESSED_FLAG != 0 {
        let kind = compression_type(sys_flag).map_err(|e| e.to_string())?;
        sys_flag &= !COMPRESSED_FLAG;
        Body::from(
            decompress_with(kind, &body, DEFAULT_MAX_DECOMPRESSED_SIZE)
                .map_err(|e| e.to_string())?,
        )
    } else {
        body
    };
    let mut properties = string_to_properties(header.properties.as_deref().unwrap_or(""));
    properties.insert(PROPERTY_REPLY_MESSAGE_ARRIVE_TIME, now_millis().to_string());
    Ok(MessageExt {
        topic: header.topic,
        queue_id: header.queue_id,
        store_timestamp: header.store_timestamp,
        born_host: host(&header.born_host)?,
        store_host: host(&header.store_host)?,
        body,
        flag: header.flag,
        sys_flag,
        properties,
        born_timestamp: header.born_timestamp,
        reconsume_times: header.reconsume_times.unwrap_or(0),
        ..MessageExt::default()
    })
}

impl RequestProcessor for ReceiveReplyProcessor {
    fn process_request(
        &self,
        ctx: &RequestContext,
        request: RemotingCommand,
    ) -> Result<Option<RemotingCommand>, ProcessorError> {
        let header: ReplyMessageRequestHeader = request.decode_header()?;
        let reply = match reply_from(header, request.body) {
            Ok(reply) => reply,
            Err(reason) => {
                log::warn!("{}: unreadable reply: {reason}", ctx.remote_addr());
                return Ok(Some(RemotingCommand::new_response(
                    response_code::SYSTEM_ERROR,
                    "process reply message fail".to_string(),
                )));
            }
        };
        let correlation_id = reply.property(PROPERTY_CORRELATION_ID).unwrap_or("");
        let future = self
            .table
            .upgrade()
            .and_then(|table| table.remove(correlation_id));
        match future {
            Some(future) => future.complete(Ok(reply)),
            None => log::warn!(
                "receive reply message, but not matched any request, CorrelationId: \
                 {correlation_id} , reply from host: {}",
                ctx.remote_addr()
            ),
        }
        Ok(Some(RemotingCommand::success()))
    }
}

/// `prepareSendRequest` + the async send: records the pending request in `requests` and
/// sends it with `engine` on `sender`'s threads.
pub(crate) fn send_request(
    engine: &Arc<SendEngine>,
    sender: &Arc<AsyncSender>,
    requests: &Arc<RequestFutureTable>,
    message: &Message,
    timeout: Duration,
    target: Target,
    callback: Option<RequestCallback>,
) -> Result<Arc<RequestResponseFuture>, ClientError> {
    let begin = Instant::now();
    let correlation_id = engine.next_id();
    let mut request = message.clone();
    request.put_system_property(PROPERTY_CORRELATION_ID, &correlation_id);
    request.put_system_property(
        PROPERTY_MESSAGE_REPLY_TO_CLIENT,
        engine.instance.client_id(),
    );
    request.put_system_property(PROPERTY_MESSAGE_TTL, timeout.as_millis().to_string());
    let prepared = engine.prepare(&request)?;
    // The first request, and the first to a topic: fetch the route and heartbeat now, so
    // that the brokers know where to push the reply (Java heartbeats for a new topic;
    // a producer that only sent before may not have heartbeated yet).
    let (_, source) = engine
        .instance
        .find_topic_publish_info(message.topic(), timeout)?;
    let first_request = !requests.used.swap(true, Ordering::SeqCst);
    if first_request || source != crate::client::shared::client_instance::RouteSource::Cache {
        engine.instance.send_heartbeat_now();
    }
    let future = Arc::new(RequestResponseFuture::new(
        correlation_id.clone(),
        message.topic().to_string(),
        timeout,
        callback,
    ));
    requests.register(future.clone())?;
    let table = Arc::downgrade(requests);
    let sending = future.clone();
    let on_sent = move |sent: Result<_, ClientError>| match sent {
        Ok(_) => sending.mark_sent(),
        Err(e) => {
            if let Some(table) = table.upgrade() {
                table.remove(&sending.correlation_id);
            }
            sending.complete(Err(e));
        }
    };
    let budget = timeout.saturating_sub(begin.elapsed());
    if let Err(e) = engine.send_async(sender, prepared, target, Box::new(on_sent), budget) {
        requests.remove(&correlation_id);
        return Err(e);
    }
    Ok(future)
}

impl RequestResponseFuture {
    /// Waits for the outcome, then drops the pending entry (a sync request's `finally`).
    pub(crate) fn wait_and_forget(
        &self,
        table: &RequestFutureTable,
    ) -> Result<MessageExt, ClientError> {
        let outcome = self.wait();
        table.remove(&self.correlation_id);
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request_message() -> MessageExt {
        let mut m = MessageExt {
            topic: "Orders".into(),
            ..MessageExt::default()
        };
        m.properties.insert(PROPERTY_CLUSTER, "DefaultCluster");
        m.properties.insert(PROPERTY_CORRELATION_ID, "c-1");
        m.properties
            .insert(PROPERTY_MESSAGE_REPLY_TO_CLIENT, "10.0.0.2@1");
        m.properties.insert(PROPERTY_MESSAGE_TTL, "3000");
        m
    }

    #[test]
    fn a_reply_goes_to_the_clusters_reply_topic_with_the_requests_ids() {
        let reply = create_reply_message(&request_message(), b"ok".to_vec()).unwrap();
        assert_eq!(reply.topic(), "DefaultCluster_REPLY_TOPIC");
        assert_eq!(reply.property("MSG_TYPE"), Some("reply"));
        assert_eq!(reply.property("CORRELATION_ID"), Some("c-1"));
        assert_eq!(reply.property("REPLY_TO_CLIENT"), Some("10.0.0.2@1"));
        assert_eq!(reply.property("TTL"), Some("3000"));
        let mut unstored = request_message();
        unstored.properties.remove(PROPERTY_CLUSTER);
        let e = create_reply_message(&unstored, b"ok".to_vec()).unwrap_err();
        assert!(e.to_string().contains("property[CLUSTER] is null"), "{e}");
    }

    #[test]
    fn a_future_completes_once_and_times_out_with_what_happened() {
        let f = RequestResponseFuture::new("c".into(), "T".into(), Duration::ZERO, None);
        f.mark_sent();
        match f.wait() {
            Err(ClientError::RequestTimeout { request_sent, .. }) => assert!(request_sent),
            other => panic!("{other:?}"),
        }
        let f = RequestResponseFuture::new("c".into(), "T".into(), Duration::from_secs(5), None);
        f.complete(Ok(request_message()));
        f.complete(Err(ClientError::ShutDown));
        assert_eq!(f.wait().unwrap().topic, "Orders");
    }

    #[test]
    fn expired_async_requests_get_a_timeout_once() {
        let table = Arc::new(RequestFutureTable::default());
        let calls = Arc::new(Mutex::new(Vec::new()));
        let seen = calls.clone();
        let callback: RequestCallback = Box::new(move |r| seen.lock().unwrap().push(r.is_err()));
        let f = Arc::new(RequestResponseFuture::new(
            "c".into(),
            "T".into(),
            Duration::ZERO,
            Some(callback),
        ));
        table.register(f.clone()).unwrap();
        table.expire(Instant::now());
        table.expire(Instant::now());
        f.complete(Ok(request_message()));
        assert_eq!(*calls.lock().unwrap(), [true]);
        assert!(table.remove("c").is_none());
        table.shutdown();
    }

    #[test]
    fn pushed_replies_become_messages() {
        let header = ReplyMessageRequestHeader {
            topic: "DefaultCluster_REPLY_TOPIC".into(),
            properties: Some("CORRELATION_ID\u{1}c-1\u{2}".into()),
            born_host: "10.0.0.2:5000".into(),
            store_host: "10.0.0.1:10911".into(),
            store_timestamp: 9,
            ..ReplyMessageRequestHeader::default()
        };
        let m = reply_from(header.clone(), Body::from(b"hi")).unwrap();
        assert_eq!(m.property("CORRELATION_ID"), Some("c-1"));
        assert!(m.property("ARRIVE_TIME").is_some());
        assert_eq!(m.store_host.to_string(), "10.0.0.1:10911");
        let compressed = crate::protocol::message::compress(b"hello hello", 5).unwrap();
        let zipped = ReplyMessageRequestHeader {
            sys_flag: COMPRESSED_FLAG,
            ..header.clone()
        };
        assert_eq!(
            reply_from(zipped, Body::from(compressed)).unwrap().body,
            b"hello hello"
        );
        let bad = ReplyMessageRequestHeader {
            born_host: "nowhere".into(),
            ..header
        };
        assert!(reply_from(bad, Body::new()).is_err());
    }
}
