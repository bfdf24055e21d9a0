//! Request processors and the table that maps request codes to them.

use std::collections::HashMap;
use std::sync::Arc;

use super::config::PoolConfig;
use super::connection::Connection;
use super::thread_pool::ThreadPool;
use crate::protocol::RemotingCommand;

/// The error a processor returns; the peer gets SYSTEM_ERROR with its text as the remark.
pub type ProcessorError = Box<dyn std::error::Error + Send + Sync>;

/// Where a request came from; lets a processor reply later or call the peer back.
#[derive(Clone)]
pub struct RequestContext {
    connection: Arc<Connection>,
}

impl RequestContext {
    pub(crate) fn new(connection: Arc<Connection>) -> Self {
        RequestContext { connection }
    }

    /// The connection the request arrived on.
    pub fn connection(&self) -> &Arc<Connection> {
        &self.connection
    }

    /// The peer's address.
    pub fn remote_addr(&self) -> &str {
        self.connection.remote_addr()
    }
}

/// Handles requests of one or more codes; mirrors Java's `NettyRequestProcessor`.
pub trait RequestProcessor: Send + Sync {
    /// Processes a request. `Ok(Some(response))` is sent back (the transport sets opaque, flag
    /// and header type); `Ok(None)` sends nothing now, for a processor that answers later
    /// through [`RequestContext::connection`] (long polling).
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
