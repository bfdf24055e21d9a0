//! `MqClientApi`: one function per RPC a client makes, each building its request, sending it
//! and reading the answer in one place; mirrors Java's `MQClientAPIImpl`.
//!
//! Here the calls every client makes (routes, heartbeats) and the few ways a call is
//! invoked; the rest by who makes them: `send.rs` (producers), `consumer.rs` (pulls,
//! offsets, group members, queue locks, send-back), `pop.rs` (5.x POP: pops, acks,
//! invisibility changes, queue assignments) and `admin.rs` (the admin calls).

mod admin;
mod consumer;
mod pop;
mod send;

pub(crate) use self::pop::{receipt_handle_of, PopResult, PopStatus};
pub(crate) use send::DEFAULT_TRACE_REGION_ID;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::error::ClientError;
use super::result::Callback;
use crate::protocol::body::{HeartbeatData, TopicRouteData};
use crate::protocol::codes::{request_code, response_code};
use crate::protocol::header::{GetRouteInfoRequestHeader, UnregisterClientRequestHeader};
use crate::protocol::{BodyError, CommandCustomHeader, RemotingCommand, SerializeType};
use crate::remoting::{InvokeResult, RemotingClient, RemotingError, CLOSED_LOCALLY};

/// The RPCs of a client over one [`RemotingClient`]; mirrors Java's `MQClientAPIImpl`.
///
/// Every request is written in the configured header encoding. `addr: None` means a name
/// server.
pub(crate) struct MqClientApi {
    remoting: RemotingClient,
    serialize_type: SerializeType,
    /// Set when the client's shutdown begins: a call its connections' closing cuts short
    /// fails as [`ClientError::ShutDown`], not as a peer's doing.
    closing: AtomicBool,
}

impl MqClientApi {
    /// The API over `remoting`, writing headers as `serialize_type`.
    pub(crate) fn new(remoting: RemotingClient, serialize_type: SerializeType) -> Self {
        MqClientApi {
            remoting,
            serialize_type,
            closing: AtomicBool::new(false),
        }
    }

    /// The client's shutdown begins: from now on a failed call is reported as cut short by
    /// it.
    pub(crate) fn begin_close(&self) {
        self.closing.store(true, Ordering::SeqCst);
    }

    /// A transport failure as the client reports it: a call whose connection this client
    /// closed because its shutdown began is [`ClientError::ShutDown`].
    pub(crate) fn call_error(&self, error: RemotingError) -> ClientError {
        let closed_here = matches!(
            &error,
            RemotingError::ConnectionClosed { reason, .. } if reason == CLOSED_LOCALLY
        );
        if closed_here && self.closing.load(Ordering::SeqCst) {
            ClientError::ShutDown
        } else {
            error.into()
        }
    }

    /// The transport.
    pub(crate) fn remoting(&self) -> &RemotingClient {
        &self.remoting
    }

    /// A request of `code` carrying `header`, in the configured header encoding.
    pub(crate) fn request(&self, code: i32, header: &impl CommandCustomHeader) -> RemotingCommand {
        RemotingCommand::request_with_header(code, header).with_serialize_type(self.serialize_type)
    }

    /// A request of `code` without a header (its body, if any, says everything).
    pub(crate) fn bare_request(&self, code: i32) -> RemotingCommand {
        RemotingCommand::new_request(code).with_serialize_type(self.serialize_type)
    }

    // ----- the ways a call is invoked ------------------------------------------------------

    /// Sends `request` to `addr` (None: a name server) and waits for the answer, whatever
    /// its code.
    pub(crate) fn invoke(
        &self,
        addr: Option<&str>,
        request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, ClientError> {
        self.remoting
            .invoke_sync(addr, request, timeout)
            .map_err(|e| self.call_error(e))
    }

    /// [`MqClientApi::invoke`] to a broker, expecting SUCCESS.
    pub(crate) fn invoke_success(
        &self,
        addr: &str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> Result<(), ClientError> {
        let response = self.invoke(Some(addr), request, timeout)?;
        expect_success(&response, addr)
    }

    /// [`MqClientApi::invoke`], expecting SUCCESS with a body `decode` reads.
    pub(crate) fn invoke_body<T>(
        &self,
        addr: Option<&str>,
        request: RemotingCommand,
        timeout: Duration,
        decode: impl FnOnce(&[u8]) -> Result<T, BodyError>,
    ) -> Result<T, ClientError> {
        let response = self.invoke(addr, request, timeout)?;
        expect_body(&response, peer(addr), decode)
    }

    /// [`MqClientApi::invoke`] to a broker, expecting SUCCESS with a response header `H`.
    pub(crate) fn invoke_header<H: CommandCustomHeader>(
        &self,
        addr: &str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> Result<H, ClientError> {
        let response = self.invoke(Some(addr), request, timeout)?;
        expect_success(&response, addr)?;
        response
            .decode_header()
            .map_err(|e| ClientError::invalid_response(addr, e))
    }

    /// `request` to a broker without waiting: `read` makes the answer of the response (and
    /// the address it came from), and `callback` gets it, or the failure, exactly once (on
    /// the transport's callback pool, or on this thread when the request never left).
    pub(crate) fn invoke_async_reading<T: 'static>(
        &self,
        addr: &str,
        request: RemotingCommand,
        timeout: Duration,
        callback: Callback<T>,
        read: impl FnOnce(RemotingCommand, &str) -> Result<T, ClientError> + Send + 'static,
    ) {
        let answered_by = addr.to_string();
        self.remoting.invoke_async_always(
            Some(addr),
            request,
            timeout,
            Box::new(move |outcome: InvokeResult| {
                callback(
                    outcome
                        .map_err(ClientError::from)
                        .and_then(|response| read(response, &answered_by)),
                )
            }),
        );
    }

    /// `request` to `addr`, oneway (handed to the connection) or waiting for a SUCCESS.
    pub(crate) fn invoke_maybe_oneway(
        &self,
        addr: &str,
        request: RemotingCommand,
        oneway: bool,
        timeout: Duration,
    ) -> Result<(), ClientError> {
        if oneway {
            return self
                .remoting
                .invoke_oneway(Some(addr), request, timeout)
                .map_err(|e| self.call_error(e));
        }
        self.invoke_success(addr, request, timeout)
    }

    // ----- what every client asks ----------------------------------------------------------

    /// GET_ROUTEINFO_BY_TOPIC from a name server (`getTopicRouteInfoFromNameServer`).
    ///
    /// Asks for standard JSON (`acceptStandardJsonOnly=true`; our version is ≥ 401 too) and
    /// still reads the unquoted-key form. TOPIC_NOT_EXIST is [`ClientError::NoRoute`].
    pub(crate) fn get_topic_route_info(
        &self,
        topic: &str,
        timeout: Duration,
    ) -> Result<TopicRouteData, ClientError> {
        let header = GetRouteInfoRequestHeader {
            topic: topic.to_string(),
            accept_standard_json_only: Some(true),
        };
        let request = self.request(request_code::GET_ROUTEINFO_BY_TOPIC, &header);
        let response = self.invoke(None, request, timeout)?;
        match response.code {
            response_code::TOPIC_NOT_EXIST => Err(ClientError::NoRoute {
                topic: topic.to_string(),
                reason: "the name servers do not know it".into(),
            }),
            _ => expect_body(&response, peer(None), TopicRouteData::from_json),
        }
    }

    /// HEART_BEAT with `data` (`sendHearbeat`).
    pub(crate) fn send_heartbeat(
        &self,
        addr: &str,
        data: &HeartbeatData,
        timeout: Duration,
    ) -> Result<(), ClientError> {
        let request = self
            .bare_request(request_code::HEART_BEAT)
            .with_body(data.to_json());
        self.invoke_success(addr, request, timeout)
    }

    /// UNREGISTER_CLIENT for a producer and/or consumer group (`unregisterClient`).
    pub(crate) fn unregister_client(
        &self,
        addr: &str,
        client_id: &str,
        producer_group: Option<&str>,
        consumer_group: Option<&str>,
        timeout: Duration,
    ) -> Result<(), ClientError> {
        let header = UnregisterClientRequestHeader {
            client_id: client_id.to_string(),
            producer_group: producer_group.map(str::to_string),
            consumer_group: consumer_group.map(str::to_string),
        };
        let request = self.request(request_code::UNREGISTER_CLIENT, &header);
        self.invoke_success(addr, request, timeout)
    }
}

/// Where an answer came from, for errors: a broker's address, or "name server".
fn peer(addr: Option<&str>) -> &str {
    addr.unwrap_or("name server")
}

/// Ok for SUCCESS; any other code is a [`ClientError::Broker`] naming `addr`.
pub(crate) fn expect_success(response: &RemotingCommand, addr: &str) -> Result<(), ClientError> {
    if response.code == response_code::SUCCESS {
        Ok(())
    } else {
        Err(ClientError::broker(
            response.code,
            response.remark.clone(),
            addr,
        ))
    }
}

/// The body of a SUCCESS response from `addr`, decoded by `decode`; any other code is a
/// [`ClientError::Broker`], a body that does not decode an invalid response.
pub(crate) fn expect_body<T>(
    response: &RemotingCommand,
    addr: &str,
    decode: impl FnOnce(&[u8]) -> Result<T, BodyError>,
) -> Result<T, ClientError> {
    expect_success(response, addr)?;
    decode(&response.body).map_err(|e| ClientError::invalid_response(addr, e))
}
