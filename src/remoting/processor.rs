//! Request processors, the context they run in, and the table that maps request codes to them.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use super::config::PoolConfig;
use super::connection::Connection;
use super::thread_pool::ThreadPool;
use crate::protocol::{RemotingCommand, SerializeType};

/// The error a processor returns; the peer gets SYSTEM_ERROR with its text as the remark.
pub type ProcessorError = Box<dyn std::error::Error + Send + Sync>;

/// What a response must echo of its request, kept apart from the request itself so that a
/// processor may consume the request (and its body) and still answer it later.
#[derive(Debug, Clone)]
pub(crate) struct RequestInfo {
    /// The request's opaque, which the response carries back.
    pub(crate) opaque: i32,
    /// The request code (for logs).
    pub(crate) code: i32,
    /// A oneway request gets no response.
    pub(crate) oneway: bool,
    /// The response is written in the request's header encoding.
    pub(crate) serialize_type: SerializeType,
    /// The request as the RPC hooks saw it (no body), when hooks are registered: the
    /// after-hooks get it with the response.
    pub(crate) hooked: Option<Arc<RemotingCommand>>,
}

impl RequestInfo {
    pub(crate) fn of(request: &RemotingCommand, hooked: Option<Arc<RemotingCommand>>) -> Self {
        RequestInfo {
            opaque: request.opaque,
            code: request.code,
            oneway: request.is_oneway(),
            serialize_type: request.serialize_type,
            hooked,
        }
    }
}

/// How a response is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReplyWrite {
    /// From the calling thread, when no other write is in progress (a processor's answer).
    Now,
    /// Onto the connection's queue for its writer thread (an answer given later).
    Queued,
}

/// What sends responses: the transport's one reply path (`RemotingCore::reply`). A trait
/// here so that contexts can hold it without this module depending on the core.
pub(crate) trait Replier: Send + Sync {
    /// Stamps, hooks and writes `response` to `request` on `conn`.
    fn reply(
        &self,
        conn: &Arc<Connection>,
        request: &RequestInfo,
        response: RemotingCommand,
        write: ReplyWrite,
    );
}

/// Where a request came from; lets a processor answer later (long polling) or call the peer
/// back (a broker notifying its consumers).
#[derive(Clone)]
pub struct RequestContext {
    connection: Arc<Connection>,
    replier: Weak<dyn Replier>,
    request: RequestInfo,
    /// When the request was handed to its processor's pool.
    queued_at: std::time::Instant,
}

impl std::fmt::Debug for RequestContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestContext")
            .field("remote_addr", &self.connection.remote_addr())
            .field("code", &self.request.code)
            .field("opaque", &self.request.opaque)
            .finish()
    }
}

impl RequestContext {
    pub(crate) fn new(
        connection: Arc<Connection>,
        replier: Weak<dyn Replier>,
        request: RequestInfo,
        queued_at: std::time::Instant,
    ) -> Self {
        RequestContext {
            connection,
            replier,
            request,
            queued_at,
        }
    }

    /// How long the request waited in its processor's queue before a pool thread took it
    /// (what Java's `BrokerFastFailure` looks at).
    pub fn waited_in_queue(&self) -> std::time::Duration {
        self.queued_at.elapsed()
    }

    /// The connection the request arrived on (for calls back to the peer, or to close it).
    pub fn connection(&self) -> &Arc<Connection> {
        &self.connection
    }

    /// The peer's address.
    pub fn remote_addr(&self) -> &str {
        self.connection.remote_addr()
    }

    /// The request's opaque.
    pub fn opaque(&self) -> i32 {
        self.request.opaque
    }

    /// Answers the request now, for a processor that returned `Ok(None)` and answers later
    /// (a held pull). The response goes the way every response goes: stamped with the
    /// request's opaque and header type and our language and version, through the RPC
    /// after-hooks, onto the connection's outbound queue for its writer thread. The caller
    /// never waits: a peer whose queue is already over its limit is disconnected instead.
    /// Nothing is sent for a oneway request or once the transport has shut down.
    pub fn reply(&self, response: RemotingCommand) {
        if let Some(replier) = self.replier.upgrade() {
            replier.reply(
                &self.connection,
                &self.request,
                response,
                ReplyWrite::Queued,
            );
        }
    }
}

/// Handles requests of one or more codes; mirrors Java's `NettyRequestProcessor`.
pub trait RequestProcessor: Send + Sync {
    /// Processes a request. `Ok(Some(response))` is sent back (the transport sets opaque, flag
    /// and header type); `Ok(None)` sends nothing now, for a processor that answers later
    /// with [`RequestContext::reply`] (long polling).
    fn process_request(
        &self,
        ctx: &RequestContext,
        request: RemotingCommand,
    ) -> Result<Option<RemotingCommand>, ProcessorError>;

    /// True to turn requests away with SYSTEM_BUSY `[REJECTREQUEST]` (flow control).
    fn reject_request(&self) -> bool {
        false
    }
}

impl<F> RequestProcessor for F
where
    F: Fn(&RequestContext, RemotingCommand) -> Result<Option<RemotingCommand>, ProcessorError>
        + Send
        + Sync,
{
    fn process_request(
        &self,
        ctx: &RequestContext,
        request: RemotingCommand,
    ) -> Result<Option<RemotingCommand>, ProcessorError> {
        self(ctx, request)
    }
}

/// A processor with the pool that runs it (Java's `Pair<NettyRequestProcessor, ExecutorService>`).
pub(crate) struct ProcessorEntry {
    pub(crate) processor: Arc<dyn RequestProcessor>,
    pub(crate) pool: Arc<ThreadPool>,
}

/// Request code → processor, plus the default processor for codes not in the table.
#[derive(Default)]
pub(crate) struct ProcessorTable {
    by_code: HashMap<i32, Arc<ProcessorEntry>>,
    default: Option<Arc<ProcessorEntry>>,
    pools: Vec<Arc<ThreadPool>>,
}

impl ProcessorTable {
    /// Registers `processor` for `codes` (None: as the default processor), all served by one
    /// new pool.
    pub(crate) fn register(
        &mut self,
        codes: Option<&[i32]>,
        processor: Arc<dyn RequestProcessor>,
        pool_name: &str,
        pool: PoolConfig,
    ) -> std::io::Result<()> {
        let pool = Arc::new(ThreadPool::new(
            pool_name,
            pool.threads,
            Some(pool.queue_capacity),
        )?);
        self.pools.push(pool.clone());
        let entry = Arc::new(ProcessorEntry { processor, pool });
        match codes {
            Some(codes) => {
                for code in codes {
                    self.by_code.insert(*code, entry.clone());
                }
            }
            None => self.default = Some(entry),
        }
        Ok(())
    }

    pub(crate) fn lookup(&self, code: i32) -> Option<Arc<ProcessorEntry>> {
        self.by_code.get(&code).or(self.default.as_ref()).cloned()
    }

    /// Drains and joins every pool; the table is empty afterwards.
    pub(crate) fn shutdown(&mut self) {
        self.by_code.clear();
        self.default = None;
        for pool in self.pools.drain(..) {
            pool.shutdown();
        }
    }
}
