//! `RemotingCore`: what server and client share; mirrors Java's `NettyRemotingAbstract`.
//!
//! It owns the response table, the processor table, the hooks, the permits and the callback
//! pool, and implements the three invoke styles and the handling of every received command.
//! Because server and client both use it, a server can call its clients just as a client
//! calls its server.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use super::config::{CommonConfig, PoolConfig};
use super::connection::{Connection, ConnectionSettings};
use super::error::RemotingError;
use super::events::{ChannelEventListener, ConnectionEventKind, EventDispatcher};
use super::frame_writer::WhenFull;
use super::hook::{run_after_response, run_before_request, HookStop, RpcHook};
use super::permits::Semaphore;
use super::processor::{
    ProcessorTable, Replier, ReplyWrite, RequestContext, RequestInfo, RequestProcessor,
};
use super::response_table::{InvokeCallback, InvokeResult, ResponseFuture, ResponseTable};
use super::thread_pool::{Job, Rejected, ThreadPool};
use super::threads::ThreadSet;
use crate::common::clock::deadline_after;
use crate::common::sync::{MutexExt, RwLockExt};
use crate::common::trace::{self, trace_event, Step};
use crate::protocol::codes::response_code;
use crate::protocol::RemotingCommand;

const REJECT_REMARK: &str = "[REJECTREQUEST]system busy, start flow control for a while";
const OVERLOAD_REMARK: &str = "[OVERLOAD]system busy, start flow control for a while";

type Hooks = Arc<Vec<Arc<dyn RpcHook>>>;

/// The shared half of server and client.
pub(crate) struct RemotingCore {
    name: &'static str,
    pub(crate) config: CommonConfig,
    pub(crate) response_table: ResponseTable,
    processors: RwLock<ProcessorTable>,
    hooks: RwLock<Hooks>,
    callback_pool: ThreadPool,
    async_permits: Arc<Semaphore>,
    oneway_permits: Arc<Semaphore>,
    events: Mutex<EventDispatcher>,
    /// Reader and writer threads of every connection.
    pub(crate) reader_threads: Arc<ThreadSet>,
    /// Limits and the frame memory budget every connection of this component shares.
    pub(crate) connection_settings: Arc<ConnectionSettings>,
    /// A server never waits for room in a client's outbound queue; a client's own requests
    /// wait, within their timeout.
    is_server: bool,
    shutting_down: AtomicBool,
}

impl RemotingCore {
    /// A core named `name` ("server" or "client"), used in thread names.
    pub(crate) fn new(name: &'static str, config: CommonConfig) -> std::io::Result<Self> {
        let callback_pool = ThreadPool::new(
            &format!("rmq-callback-{name}"),
            config.callback_threads,
            None,
        )?;
        let reader_threads = Arc::new(ThreadSet::default());
        Ok(RemotingCore {
            name,
            connection_settings: ConnectionSettings::new(&config, reader_threads.clone()),
            reader_threads,
            is_server: name == "server",
            async_permits: Semaphore::new(config.async_permits),
            oneway_permits: Semaphore::new(config.oneway_permits),
            config,
            response_table: ResponseTable::new(),
            processors: RwLock::new(ProcessorTable::default()),
            hooks: RwLock::new(Arc::new(Vec::new())),
            callback_pool,
            events: Mutex::new(EventDispatcher::none()),
            shutting_down: AtomicBool::new(false),
        })
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    // ----- registration -------------------------------------------------------------------

    /// The queue of the pool serving `code`: jobs waiting, and the capacity.
    pub(crate) fn processor_queue(&self, code: i32) -> Option<(usize, Option<usize>)> {
        let entry = self.processors.read_unpoisoned().lookup(code)?;
        Some(entry.pool.queue_size())
    }

    pub(crate) fn register_processor(
        &self,
        codes: Option<&[i32]>,
        processor: Arc<dyn RequestProcessor>,
        pool: PoolConfig,
    ) -> Result<(), RemotingError> {
        let pool_name = match codes {
            Some([code, ..]) => format!("rmq-{}-proc-{code}", self.name),
            _ => format!("rmq-{}-proc-default", self.name),
        };
        self.processors
            .write_unpoisoned()
            .register(codes, processor, &pool_name, pool)
            .map_err(|e| RemotingError::io("start processor pool", e))
    }

    pub(crate) fn register_rpc_hook(&self, hook: Arc<dyn RpcHook>) {
        let mut hooks = self.hooks.write_unpoisoned();
        let mut list: Vec<_> = hooks.iter().cloned().collect();
        list.push(hook);
        *hooks = Arc::new(list);
    }

    pub(crate) fn set_event_listener(
        &self,
        listener: Arc<dyn ChannelEventListener>,
    ) -> Result<(), RemotingError> {
        let dispatcher = EventDispatcher::start(self.name, listener)
            .map_err(|e| RemotingError::io("start event thread", e))?;
        let mut old = std::mem::replace(&mut *self.events.lock_unpoisoned(), dispatcher);
        old.shutdown();
        Ok(())
    }

    pub(crate) fn emit(&self, kind: ConnectionEventKind, remote_addr: &str) {
        self.events.lock_unpoisoned().emit(kind, remote_addr);
    }

    fn hooks(&self) -> Hooks {
        self.hooks.read_unpoisoned().clone()
    }

    /// What a request does when its connection's outbound queue is full: a server closes the
    /// connection (no server thread waits for a client); a client's caller waits for room
    /// until `deadline`, its own call's.
    fn request_when_full(&self, deadline: Instant) -> WhenFull {
        if self.is_server {
            WhenFull::Close
        } else {
            WhenFull::Wait { deadline }
        }
    }

    /// The one way a request leaves, whatever the invoke style and whichever side sends it:
    /// stamped with our language and version, then, from a client, shown to the RPC
    /// before-hooks (which may add fields, as ACL signing does). Returns the hooks, for the
    /// after-hooks.
    ///
    /// A server's own requests to its clients (transaction checks, pushed replies, consumer
    /// notices) run no hooks, as in Java (`NettyRemotingServer.invoke*` calls no hooks): a
    /// server's hooks judge what clients send it, and an ACL validator would refuse the
    /// server's unsigned calls.
    fn prepare_request(
        &self,
        conn: &Connection,
        request: &mut RemotingCommand,
    ) -> Result<Hooks, RemotingError> {
        request.language = self.config.language;
        request.version = self.config.version;
        if self.is_server {
            return Ok(Hooks::default());
        }
        let hooks = self.hooks();
        run_before_request(&hooks, conn.remote_addr(), request).map_err(|stop| {
            RemotingError::Hook {
                message: match stop {
                    HookStop::Abort(abort) => abort.to_string(),
                    HookStop::Panicked(what) => format!("panicked: {what}"),
                },
            }
        })?;
        Ok(hooks)
    }

    // ----- invoking -----------------------------------------------------------------------

    /// Registers `future`; fails it at once if its connection already closed. Returns false
    /// when the future was failed here (the caller must not write).
    ///
    /// A request whose opaque is already pending (a clone sent twice) is given a fresh one, so
    /// the two never share a slot. Returns the future as registered.
    fn register(
        &self,
        mut future: Arc<ResponseFuture>,
        request: &mut RemotingCommand,
        conn: &Connection,
    ) -> (Arc<ResponseFuture>, bool) {
        while !self.response_table.insert_if_absent(future.clone()) {
            request.opaque = crate::protocol::next_opaque();
            future = future.rekey(request.opaque);
        }
        let registered = self.check_open(&future, conn);
        (future, registered)
    }

    fn check_open(&self, future: &Arc<ResponseFuture>, conn: &Connection) -> bool {
        // The closer sets `closed` before sweeping the table, so checking after inserting
        // means either the sweep sees the future or we see the flag.
        if conn.is_closed() || self.is_shutting_down() {
            if let Some(f) = self.response_table.remove(future.opaque()) {
                self.complete(
                    &f,
                    Err(closed_error(conn, "closed before the request was sent")),
                );
            }
            return false;
        }
        true
    }

    /// `invokeSyncImpl`: write, then wait for the response or the timeout.
    pub(crate) fn invoke_sync(
        &self,
        conn: &Arc<Connection>,
        mut request: RemotingCommand,
        timeout: Duration,
    ) -> InvokeResult {
        let hooks = self.prepare_request(conn, &mut request)?;
        let future = ResponseFuture::new(
            request.opaque,
            conn.id(),
            conn.shared_addr(),
            timeout,
            None,
            None,
        );
        let (future, registered) = self.register(future, &mut request, conn);
        let opaque = future.opaque();
        trace_event!(
            "remoting",
            Step::Invoke,
            Some(opaque),
            None;
            "opaque {opaque} registered: a sync call to {}, its caller waits on a condvar slot",
            conn.remote_addr()
        );
        if registered {
            let when_full = self.request_when_full(deadline_after(timeout));
            if let Err(e) = conn.write_command(&request, when_full) {
                if self.response_table.remove(opaque).is_some() {
                    return Err(e);
                }
            }
        }
        let mut response = match future.wait(timeout, self.config.sync_spin) {
            Some(result) => result,
            None => match self.response_table.remove(opaque) {
                Some(_) => Err(RemotingError::Timeout {
                    addr: conn.remote_addr().to_string(),
                    timeout,
                }),
                // Taken by the reader or the janitor just now: its result is on the way.
                None => loop {
                    if let Some(result) = future.wait(Duration::from_secs(1), Duration::ZERO) {
                        break result;
                    }
                },
            },
        }?;
        trace_event!(
            "remoting",
            Step::Wake,
            Some(opaque),
            None;
            "opaque {opaque}: the caller {} wakes with the response",
            trace::thread_name()
        );
        run_after_response(&hooks, conn.remote_addr(), &request, &mut response);
        Ok(response)
    }

    /// `invokeAsyncImpl`. `Err` means the callback will never run; `Ok` means it runs exactly
    /// once, on the callback pool.
    ///
    /// `Err` hands the callback back with the error, for a caller that must still deliver it.
    pub(crate) fn invoke_async(
        &self,
        conn: &Arc<Connection>,
        mut request: RemotingCommand,
        timeout: Duration,
        callback: InvokeCallback,
    ) -> Result<(), (RemotingError, InvokeCallback)> {
        // After shutdown the callback pool is gone: refuse, rather than run it on this thread.
        if self.is_shutting_down() {
            return Err((RemotingError::Shutdown, callback));
        }
        let begin = Instant::now();
        let Some(permit) = self.async_permits.acquire(timeout) else {
            let error = RemotingError::TooManyRequests {
                kind: "async",
                waited: timeout,
            };
            return Err((error, callback));
        };
        let left = timeout.saturating_sub(begin.elapsed());
        if left.is_zero() {
            let error = RemotingError::Timeout {
                addr: conn.remote_addr().to_string(),
                timeout,
            };
            return Err((error, callback));
        }
        let hooks = match self.prepare_request(conn, &mut request) {
            Ok(hooks) => hooks,
            Err(error) => return Err((error, callback)),
        };
        let callback: InvokeCallback = if hooks.is_empty() {
            callback
        } else {
            let (addr, header) = (conn.remote_addr().to_string(), request.header_copy());
            Box::new(move |result: InvokeResult| {
                callback(result.map(|mut response| {
                    run_after_response(&hooks, &addr, &header, &mut response);
                    response
                }))
            })
        };
        let future = ResponseFuture::new(
            request.opaque,
            conn.id(),
            conn.shared_addr(),
            left,
            Some(callback),
            Some(permit),
        );
        let (future, registered) = self.register(future, &mut request, conn);
        let opaque = future.opaque();
        trace_event!(
            "remoting",
            Step::Invoke,
            Some(opaque),
            None;
            "opaque {opaque} registered: an async call to {}, its callback waits in the \
             response table",
            conn.remote_addr()
        );
        if registered {
            let when_full = self.request_when_full(deadline_after(left));
            if let Err(e) = conn.write_command_queued(&request, when_full) {
                if let Some(f) = self.response_table.remove(opaque) {
                    self.complete(&f, Err(e));
                }
            }
        }
        Ok(())
    }

    /// `invokeOnewayImpl`: flag the request oneway and write it; no response is expected.
    pub(crate) fn invoke_oneway(
        &self,
        conn: &Arc<Connection>,
        mut request: RemotingCommand,
        timeout: Duration,
    ) -> Result<(), RemotingError> {
        let _permit =
            self.oneway_permits
                .acquire(timeout)
                .ok_or(RemotingError::TooManyRequests {
                    kind: "oneway",
                    waited: timeout,
                })?;
        request.mark_oneway();
        self.prepare_request(conn, &mut request)?;
        trace_event!(
            "remoting",
            Step::Invoke,
            Some(request.opaque),
            None;
            "opaque {}: a oneway request to {}, no response expected",
            request.opaque,
            conn.remote_addr()
        );
        conn.write_command_queued(&request, self.request_when_full(deadline_after(timeout)))
    }

    /// Delivers a result: wakes a sync waiter or queues an async callback.
    pub(crate) fn complete(&self, future: &ResponseFuture, result: InvokeResult) {
        let opaque = future.opaque();
        trace_event!(
            "remoting",
            Step::Complete,
            Some(opaque),
            None;
            "future opaque {opaque} completed ({}) by {}",
            match &result {
                Ok(_) => "response".to_string(),
                Err(e) => e.to_string(),
            },
            trace::thread_name()
        );
        if let Some((callback, result)) = future.complete(result) {
            // The callback's steps serve this request too.
            let context = trace::Context::of(opaque);
            let job: Job = Box::new(move || {
                let _serving = context.enter();
                trace_event!(
                    "remoting",
                    Step::Callback,
                    Some(opaque),
                    None;
                    "opaque {opaque}: its callback runs on {}",
                    trace::thread_name()
                );
                callback(result)
            });
            if let Err(Rejected::Full(job) | Rejected::Shutdown(job)) =
                self.callback_pool.execute(job)
            {
                // Only after shutdown: the callback must still run once.
                if catch_unwind(AssertUnwindSafe(job)).is_err() {
                    log::error!("an invoke callback panicked");
                }
            }
        }
    }

    // ----- receiving ----------------------------------------------------------------------

    /// `processMessageReceived`: a response completes its future; a request goes to its processor.
    pub(crate) fn process_command(self: &Arc<Self>, conn: &Arc<Connection>, cmd: RemotingCommand) {
        if cmd.is_response() {
            // Only the connection the request went out on may answer it: another peer
            // guessing an opaque must not complete (or steal) someone else's call.
            match self.response_table.remove_if_from(cmd.opaque, conn.id()) {
                Some(future) => self.complete(&future, Ok(cmd)),
                None => log::warn!(
                    "response opaque {} from {} matches no request pending on that connection",
                    cmd.opaque,
                    conn.remote_addr()
                ),
            }
        } else {
            self.process_request(conn, cmd);
        }
    }

    /// `processRequestCommand`: find the processor, check flow control, run it on its pool;
    /// every answer goes out through [`RemotingCore::reply`].
    fn process_request(self: &Arc<Self>, conn: &Arc<Connection>, request: RemotingCommand) {
        let info = RequestInfo::of(&request, None);
        let entry = self.processors.read_unpoisoned().lookup(request.code);
        let Some(entry) = entry else {
            let remark = format!(" request type {} not supported", request.code);
            let response =
                RemotingCommand::new_response(response_code::REQUEST_CODE_NOT_SUPPORTED, remark);
            self.reply(conn, &info, response, ReplyWrite::Now);
            return;
        };
        if entry.processor.reject_request() {
            let response = RemotingCommand::new_response(
                response_code::SYSTEM_BUSY,
                REJECT_REMARK.to_string(),
            );
            self.reply(conn, &info, response, ReplyWrite::Now);
            return;
        }
        let (core, job_conn) = (Arc::downgrade(self), conn.clone());
        let processor = entry.processor.clone();
        let queued_at = Instant::now();
        trace_event!(
            "remoting",
            Step::Dispatch,
            Some(info.opaque),
            None;
            "opaque {}: request code {} handed to its processor's pool",
            info.opaque,
            info.code
        );
        let context = trace::Context::of(info.opaque);
        let job: Job = Box::new(move || {
            let Some(core) = core.upgrade() else { return };
            // What the processor does serves this request.
            let _serving = context.enter();
            trace_event!(
                "remoting",
                Step::Process,
                Some(request.opaque),
                None;
                "opaque {}: {} runs its processor, {} µs after it was handed over",
                request.opaque,
                trace::thread_name(),
                queued_at.elapsed().as_micros()
            );
            core.run_processor(&job_conn, &*processor, request, queued_at);
        });
        match entry.pool.execute(job) {
            Ok(()) => {}
            Err(Rejected::Full(_)) => {
                log::warn!(
                    "pool for request code {} full; {} told to back off",
                    info.code,
                    conn.remote_addr()
                );
                let response = RemotingCommand::new_response(
                    response_code::SYSTEM_BUSY,
                    OVERLOAD_REMARK.to_string(),
                );
                self.reply(conn, &info, response, ReplyWrite::Now);
            }
            Err(Rejected::Shutdown(_)) => {}
        }
    }

    /// Runs one request on its processor's pool thread: before-hooks, the processor (a panic
    /// or an error becomes SYSTEM_ERROR), then the reply.
    fn run_processor(
        self: &Arc<Self>,
        conn: &Arc<Connection>,
        processor: &dyn RequestProcessor,
        mut request: RemotingCommand,
        queued_at: Instant,
    ) {
        let hooks = self.hooks();
        if let Err(stop) = run_before_request(&hooks, conn.remote_addr(), &mut request) {
            let info = RequestInfo::of(&request, None);
            let response = match stop {
                // The hook's own answer (ACL: NO_PERMISSION), as Java 5 gives it.
                HookStop::Abort(abort) => {
                    log_refusal(request.code, conn.remote_addr(), &abort.remark);
                    RemotingCommand::new_response(abort.code, abort.remark)
                }
                // Java answers a throwing hook with SYSTEM_ERROR; the peer must not wait in vain.
                HookStop::Panicked(what) => RemotingCommand::new_response(
                    response_code::SYSTEM_ERROR,
                    format!("an RPC hook failed: {what}"),
                ),
            };
            return self.reply(conn, &info, response, ReplyWrite::Now);
        }
        let hooked = (!hooks.is_empty()).then(|| Arc::new(request.header_copy()));
        let info = RequestInfo::of(&request, hooked);
        let replier: Weak<dyn Replier> = Arc::downgrade(self) as Weak<RemotingCore>;
        let ctx = RequestContext::new(conn.clone(), replier, info.clone(), queued_at);
        let code = request.code;
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            processor.process_request(&ctx, request)
        }));
        let response = match outcome {
            Ok(Ok(Some(response))) => response,
            Ok(Ok(None)) => return, // answered later through ctx.reply
            Ok(Err(e)) => RemotingCommand::new_response(response_code::SYSTEM_ERROR, e.to_string()),
            Err(panic) => {
                let what = crate::common::panic_message(&panic);
                log::error!("processor for request code {code} panicked: {what}");
                RemotingCommand::new_response(
                    response_code::SYSTEM_ERROR,
                    format!("processor for request code {code} panicked: {what}"),
                )
            }
        };
        self.reply(conn, &info, response, ReplyWrite::Now);
    }

    // ----- failures and housekeeping ------------------------------------------------------

    /// A connection ended: fail its pending calls at once and report the event.
    pub(crate) fn on_connection_closed(&self, conn: &Connection, reason: &str) {
        for future in self.response_table.remove_for_connection(conn.id()) {
            self.complete(&future, Err(closed_error(conn, reason)));
        }
        self.emit(ConnectionEventKind::Close, conn.remote_addr());
    }

    /// The janitor's scan: expire stale futures and close idle connections.
    pub(crate) fn scan(&self, connections: &[Arc<Connection>]) {
        for future in self.response_table.remove_expired(Instant::now()) {
            trace_event!(
                "remoting",
                Step::Expire,
                Some(future.opaque()),
                None;
                "opaque {} expired: the janitor fails it, {} ms + 1 s after it began",
                future.opaque(),
                future.timeout().as_millis()
            );
            log::warn!(
                "request opaque {} to {} expired",
                future.opaque(),
                future.addr()
            );
            let err = RemotingError::Timeout {
                addr: future.addr().to_string(),
                timeout: future.timeout(),
            };
            self.complete(&future, Err(err));
        }
        for conn in connections {
            if let Some(late) = conn
                .frame_in_progress_for()
                .filter(|arriving| *arriving >= self.config.frame_deadline)
            {
                log::warn!(
                    "closing {}: a frame begun {} ms ago is still incomplete (deadline {} ms)",
                    conn.remote_addr(),
                    late.as_millis(),
                    self.config.frame_deadline.as_millis()
                );
                conn.close();
                continue;
            }
            if !conn.is_closed() && conn.idle_for() >= self.config.idle_timeout {
                log::info!(
                    "closing {} after {} ms idle",
                    conn.remote_addr(),
                    conn.idle_for().as_millis()
                );
                self.emit(ConnectionEventKind::Idle, conn.remote_addr());
                conn.close();
            }
        }
    }

    /// Last step of a component's shutdown, after its connections are closed and its reader
    /// threads joined: fail what is left, drain the pools, join their threads.
    pub(crate) fn shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        for future in self.response_table.remove_all() {
            self.complete(&future, Err(RemotingError::Shutdown));
        }
        // Drain the pools outside the lock, so a job finishing up never waits on it.
        let mut processors = std::mem::take(&mut *self.processors.write_unpoisoned());
        processors.shutdown();
        self.callback_pool.shutdown();
        // Join the event thread outside the lock: a listener may still be emitting.
        let mut events =
            std::mem::replace(&mut *self.events.lock_unpoisoned(), EventDispatcher::none());
        events.shutdown();
    }

    pub(crate) fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
    }
}

impl Replier for RemotingCore {
    /// The one way a response leaves: shown to the RPC after-hooks when the request went
    /// through the before-hooks; stamped with the request's opaque and header type, the
    /// response flag and our language and version; then written now (the processor thread
    /// that produced it) or queued for the connection's writer (an answer given later). A
    /// oneway request gets nothing written.
    fn reply(
        &self,
        conn: &Arc<Connection>,
        request: &RequestInfo,
        mut response: RemotingCommand,
        write: ReplyWrite,
    ) {
        // Java runs the after-hooks for oneway requests too, then sends nothing.
        if let Some(hooked) = &request.hooked {
            run_after_response(&self.hooks(), conn.remote_addr(), hooked, &mut response);
        }
        if request.oneway {
            return;
        }
        response.opaque = request.opaque;
        response.mark_response();
        response.serialize_type = request.serialize_type;
        response.language = self.config.language;
        response.version = self.config.version;
        // A reply never waits for a peer that does not read: past the limit, it closes.
        let written = match write {
            ReplyWrite::Now => conn.write_command(&response, WhenFull::Close),
            ReplyWrite::Queued => conn.write_command_queued(&response, WhenFull::Close),
        };
        match written {
            Ok(()) => {}
            // The peer left (a consumer shutting down with pulls held): nothing to tell it.
            Err(e @ RemotingError::ConnectionClosed { .. }) => log::debug!(
                "answering request code {} (opaque {}) of {}: {e}",
                request.code,
                request.opaque,
                conn.remote_addr()
            ),
            Err(e) => log::warn!(
                "answering request code {} (opaque {}) of {} failed: {e}",
                request.code,
                request.opaque,
                conn.remote_addr()
            ),
        }
    }
}

fn closed_error(conn: &Connection, reason: &str) -> RemotingError {
    RemotingError::ConnectionClosed {
        addr: conn.remote_addr().to_string(),
        reason: reason.to_string(),
    }
}

/// Logs a request a hook refused, at most once a second in the process: any peer can send
/// refused requests, and the remark quotes what it sent (shown escaped, cut at 200
/// characters), so neither can flood or forge the log.
fn log_refusal(code: i32, remote_addr: &str, remark: &str) {
    static NEXT_LOG_MS: AtomicU64 = AtomicU64::new(0);
    static SUPPRESSED: AtomicU64 = AtomicU64::new(0);
    let now = crate::common::clock::monotonic_millis();
    let next = NEXT_LOG_MS.load(Ordering::Relaxed);
    if now < next
        || NEXT_LOG_MS
            .compare_exchange(next, now + 1000, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
    {
        SUPPRESSED.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let shown: String = remark.chars().take(200).collect();
    log::warn!(
        "request code {code} from {remote_addr} refused: {shown:?} ({} more refusals not logged)",
        SUPPRESSED.swap(0, Ordering::Relaxed)
    );
}
