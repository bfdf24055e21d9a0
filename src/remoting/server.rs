//! `RemotingServer`: accepts connections and serves requests; mirrors `NettyRemotingServer`.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::config::{PoolConfig, ServerConfig};
use super::connection::{Connection, ConnectionHandler};
use super::core::RemotingCore;
use super::error::RemotingError;
use super::events::{ChannelEventListener, ConnectionEventKind};
use super::hook::RpcHook;
use super::processor::RequestProcessor;
use super::response_table::{InvokeCallback, InvokeResult};
use super::stream::Stream;
use super::threads::join_all_except_current;
use crate::common::clock::deadline_after;
use crate::common::service_thread::{Schedule, ServiceThread};
use crate::common::sync::MutexExt;
use crate::protocol::RemotingCommand;

/// How long shutdown waits for queued frames to be written before closing a connection.
const SHUTDOWN_FLUSH_TIMEOUT: Duration = Duration::from_secs(1);

/// Least stack of a reader thread that runs a TLS handshake and decrypts (rustls and ring
/// want more than the plain decoder).
#[cfg(feature = "tls")]
pub(crate) const TLS_READER_STACK_MIN: usize = 256 * 1024;

/// A blocking RocketMQ remoting server.
///
/// `new` binds, `register_processor` wires request codes to processors (each with its own
/// pool), `start` begins accepting. One reader thread per connection; `shutdown` (or `Drop`)
/// closes everything and joins every thread it started.
pub struct RemotingServer {
    inner: Arc<ServerInner>,
    local_addr: SocketAddr,
    listener: Mutex<Option<TcpListener>>,
    accept_thread: Mutex<Option<JoinHandle<()>>>,
    janitor: Mutex<Option<ServiceThread>>,
}

struct ServerInner {
    core: Arc<RemotingCore>,
    connections: Mutex<HashMap<u64, Arc<Connection>>>,
    max_connections: usize,
    /// Connections refused for being over the limit, and when that was last logged.
    refused: Mutex<RefusedLog>,
    stopping: AtomicBool,
    /// The TLS mode and settings; None when TLS is disabled (the plain path, unchanged).
    #[cfg(feature = "tls")]
    tls: Option<super::tls::TlsAcceptor>,
    /// Sockets whose first byte or TLS handshake is awaited on their reader thread (a second
    /// handle to each, so that shutdown can end the wait), by a number of their own.
    #[cfg(feature = "tls")]
    handshaking: Mutex<HashMap<u64, TcpStream>>,
    #[cfg(feature = "tls")]
    next_handshake: std::sync::atomic::AtomicU64,
}

/// Refusals are logged at most once a second, with how many there were, so a flood of
/// connection attempts cannot flood the log too.
#[derive(Default)]
struct RefusedLog {
    since_logged: u64,
    logged_at: Option<Instant>,
}

impl ConnectionHandler for ServerInner {
    fn on_command(&self, conn: &Arc<Connection>, cmd: RemotingCommand) {
        self.core.process_command(conn, cmd);
    }

    fn on_exception(&self, conn: &Arc<Connection>, _reason: &str) {
        self.core
            .emit(ConnectionEventKind::Exception, conn.remote_addr());
    }

    fn on_close(&self, conn: &Arc<Connection>, reason: &str) {
        self.connections.lock_unpoisoned().remove(&conn.id());
        log::debug!("connection from {} closed: {reason}", conn.remote_addr());
        self.core.on_connection_closed(conn, reason);
    }
}

impl ServerInner {
    fn snapshot(&self) -> Vec<Arc<Connection>> {
        self.connections
            .lock_unpoisoned()
            .values()
            .cloned()
            .collect()
    }

    /// Connections served, those still in their handshake included.
    fn open_count(&self) -> usize {
        let open = self.connections.lock_unpoisoned().len();
        #[cfg(feature = "tls")]
        let open = open + self.handshaking.lock_unpoisoned().len();
        open
    }

    fn accept(self: &Arc<Self>, stream: TcpStream, peer: SocketAddr) {
        let open = self.open_count();
        if open >= self.max_connections {
            drop(stream); // closed at once: the peer sees its connection end
            self.log_refused(peer, open);
            return;
        }
        #[cfg(feature = "tls")]
        if self.tls.is_some() {
            self.accept_tls(stream, peer);
            return;
        }
        let Some(conn) = self.register(Stream::Plain(stream), peer) else {
            return;
        };
        let inner = Arc::clone(self);
        let reader_conn = conn.clone();
        let spawned = self.core.reader_threads.spawn(
            format!("rmq-reader-{peer}"),
            self.core.config.reader_stack_size,
            move || {
                reader_conn.run_reader(&*inner);
            },
        );
        if let Err(e) = spawned {
            log::error!("cannot start a reader thread for {peer}: {e}");
            conn.close();
            self.on_close(&conn, "no reader thread");
        }
    }

    /// Makes the connection and lists it (unless the server is stopping: shutdown closes
    /// what is listed, so nothing may be added after it looked).
    fn register(self: &Arc<Self>, stream: Stream, peer: SocketAddr) -> Option<Arc<Connection>> {
        let conn = match Connection::new(
            stream,
            peer.to_string(),
            self.core.connection_settings.clone(),
        ) {
            Ok(conn) => conn,
            Err(e) => {
                log::warn!("cannot set up the connection from {peer}: {e}");
                return None;
            }
        };
        {
            let mut connections = self.connections.lock_unpoisoned();
            if self.stopping.load(Ordering::SeqCst) {
                drop(connections);
                conn.close();
                return None;
            }
            connections.insert(conn.id(), conn.clone());
        }
        self.core
            .emit(ConnectionEventKind::Connect, conn.remote_addr());
        Some(conn)
    }

    /// TLS permissive or enforcing: the connection's reader thread waits for its first byte,
    /// runs the handshake if it is TLS, then serves it; the accept thread moves on at once.
    #[cfg(feature = "tls")]
    fn accept_tls(self: &Arc<Self>, stream: TcpStream, peer: SocketAddr) {
        let id = self.next_handshake.fetch_add(1, Ordering::Relaxed);
        match stream.try_clone() {
            Ok(handle) => {
                self.handshaking.lock_unpoisoned().insert(id, handle);
            }
            Err(e) => {
                log::warn!("cannot set up the connection from {peer}: {e}");
                return;
            }
        }
        let inner = Arc::clone(self);
        let spawned = self.core.reader_threads.spawn(
            format!("rmq-reader-{peer}"),
            self.core.config.reader_stack_size.max(TLS_READER_STACK_MIN),
            move || {
                let accepted = match &inner.tls {
                    Some(tls) => tls.accept(stream).map(Stream::from),
                    None => Ok(Stream::Plain(stream)),
                };
                inner.handshaking.lock_unpoisoned().remove(&id);
                match accepted {
                    Ok(stream) => {
                        if let Some(conn) = inner.register(stream, peer) {
                            conn.run_reader(&*inner);
                        }
                    }
                    // Shutdown ends the waits of connections still in their handshake.
                    Err(reason) if inner.stopping.load(Ordering::SeqCst) => {
                        log::debug!("closing the connection from {peer}: {reason}")
                    }
                    Err(reason) => log::warn!("closing the connection from {peer}: {reason}"),
                }
            },
        );
        if let Err(e) = spawned {
            log::error!("cannot start a reader thread for {peer}: {e}");
            self.handshaking.lock_unpoisoned().remove(&id);
        }
    }
}

impl ServerInner {
    fn log_refused(&self, peer: SocketAddr, open: usize) {
        let mut refused = self.refused.lock_unpoisoned();
        refused.since_logged += 1;
        if refused
            .logged_at
            .is_none_or(|at| at.elapsed() >= Duration::from_secs(1))
        {
            log::warn!(
                "refused the connection from {peer} and {} more since the last report: {open} \
                 connections open, the limit (max_connections)",
                refused.since_logged - 1
            );
            refused.since_logged = 0;
            refused.logged_at = Some(Instant::now());
        }
    }
}

impl std::fmt::Debug for RemotingServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemotingServer")
            .field("local_addr", &self.local_addr)
            .field("connections", &self.inner.snapshot().len())
            .finish()
    }
}

impl RemotingServer {
    /// Binds the listening socket (port 0 picks a free port); nothing is served until `start`.
    pub fn new(config: ServerConfig) -> Result<Self, RemotingError> {
        #[cfg(feature = "tls")]
        let tls = super::tls::TlsAcceptor::new(
            config.tls_mode,
            config.tls_cert.as_deref(),
            config.tls_key.as_deref(),
            config.tls_client_ca.as_deref(),
            config.tls_handshake_timeout,
        )?;
        let listener = TcpListener::bind(&config.listen_addr)
            .map_err(|e| RemotingError::io(format!("bind {}", config.listen_addr), e))?;
        let local_addr = listener
            .local_addr()
            .map_err(|e| RemotingError::io("local address", e))?;
        let core = RemotingCore::new("server", config.common)
            .map_err(|e| RemotingError::io("start server", e))?;
        Ok(RemotingServer {
            inner: Arc::new(ServerInner {
                core: Arc::new(core),
                connections: Mutex::new(HashMap::new()),
                max_connections: config.max_connections,
                refused: Mutex::new(RefusedLog::default()),
                stopping: AtomicBool::new(false),
                #[cfg(feature = "tls")]
                tls,
                #[cfg(feature = "tls")]
                handshaking: Mutex::new(HashMap::new()),
                #[cfg(feature = "tls")]
                next_handshake: std::sync::atomic::AtomicU64::new(0),
            }),
            local_addr,
            listener: Mutex::new(Some(listener)),
            accept_thread: Mutex::new(None),
            janitor: Mutex::new(None),
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves `code` with `processor` on a pool of its own.
    pub fn register_processor(
        &self,
        code: i32,
        processor: impl RequestProcessor + 'static,
        pool: PoolConfig,
    ) -> Result<(), RemotingError> {
        self.inner
            .core
            .register_processor(Some(&[code]), Arc::new(processor), pool)
    }

    /// Serves all of `codes` with one processor and one pool (Java registers its
    /// `SendMessageProcessor` for SEND_MESSAGE, SEND_MESSAGE_V2 and SEND_BATCH_MESSAGE so).
    pub fn register_processor_for_codes(
        &self,
        codes: &[i32],
        processor: Arc<dyn RequestProcessor>,
        pool: PoolConfig,
    ) -> Result<(), RemotingError> {
        self.inner
            .core
            .register_processor(Some(codes), processor, pool)
    }

    /// Serves every code without its own processor.
    pub fn register_default_processor(
        &self,
        processor: impl RequestProcessor + 'static,
        pool: PoolConfig,
    ) -> Result<(), RemotingError> {
        self.inner
            .core
            .register_processor(None, Arc::new(processor), pool)
    }

    /// Adds a hook that runs around every request served.
    pub fn register_rpc_hook(&self, hook: Arc<dyn RpcHook>) {
        self.inner.core.register_rpc_hook(hook);
    }

    /// Sends connection events to `listener` on the `rmq-events-server` thread.
    pub fn set_channel_event_listener(
        &self,
        listener: Arc<dyn ChannelEventListener>,
    ) -> Result<(), RemotingError> {
        self.inner.core.set_event_listener(listener)
    }

    /// Starts the accept thread and the janitor.
    pub fn start(&self) -> Result<(), RemotingError> {
        let Some(listener) = self.listener.lock_unpoisoned().take() else {
            return Ok(()); // already started
        };
        let inner = Arc::clone(&self.inner);
        let accept = thread::Builder::new()
            .name(format!("rmq-accept-{}", self.local_addr.port()))
            .spawn(move || accept_loop(listener, inner))
            .map_err(|e| RemotingError::io("start accept thread", e))?;
        *self.accept_thread.lock_unpoisoned() = Some(accept);

        let inner = Arc::clone(&self.inner);
        let janitor = ServiceThread::start(
            "rmq-janitor-server",
            Schedule::every(inner.core.config.scan_interval),
            move |_| inner.core.scan(&inner.snapshot()),
        )
        .map_err(|e| RemotingError::io("start janitor", e))?;
        *self.janitor.lock_unpoisoned() = Some(janitor);
        Ok(())
    }

    /// The live connection from `remote_addr` (`ip:port`), for server → client calls.
    pub fn connection(&self, remote_addr: &str) -> Option<Arc<Connection>> {
        self.inner
            .snapshot()
            .into_iter()
            .find(|c| c.remote_addr() == remote_addr)
    }

    /// Every live connection.
    pub fn connections(&self) -> Vec<Arc<Connection>> {
        self.inner.snapshot()
    }

    /// Calls a connected client and waits for its response.
    pub fn invoke_sync(
        &self,
        conn: &Arc<Connection>,
        request: RemotingCommand,
        timeout: Duration,
    ) -> InvokeResult {
        self.inner.core.invoke_sync(conn, request, timeout)
    }

    /// Calls a connected client; `callback` runs once with the outcome unless this returns `Err`.
    pub fn invoke_async(
        &self,
        conn: &Arc<Connection>,
        request: RemotingCommand,
        timeout: Duration,
        callback: impl FnOnce(InvokeResult) + Send + 'static,
    ) -> Result<(), RemotingError> {
        let callback: InvokeCallback = Box::new(callback);
        self.inner
            .core
            .invoke_async(conn, request, timeout, callback)
            .map_err(|(error, _)| error)
    }

    /// Sends a connected client a request that gets no response.
    pub fn invoke_oneway(
        &self,
        conn: &Arc<Connection>,
        request: RemotingCommand,
        timeout: Duration,
    ) -> Result<(), RemotingError> {
        self.inner.core.invoke_oneway(conn, request, timeout)
    }

    /// The queue of the pool that serves request `code` (or the default processor's): jobs
    /// waiting, and its capacity; None when nothing serves the code.
    pub fn processor_queue(&self, code: i32) -> Option<(usize, usize)> {
        self.inner
            .core
            .processor_queue(code)
            .map(|(len, capacity)| (len, capacity.unwrap_or(usize::MAX)))
    }

    /// Calls waiting for a response right now (tests check that nothing leaks).
    pub fn pending_requests(&self) -> usize {
        self.inner.core.response_table.len()
    }

    /// Bytes of the frame memory budget that frames being read hold right now (see
    /// [`CommonConfig::frame_memory_budget`](super::CommonConfig::frame_memory_budget)).
    pub fn frame_memory_in_use(&self) -> usize {
        self.inner.core.connection_settings.frame_budget.used()
    }

    /// Stops accepting, closes every connection, fails pending calls, joins every thread.
    pub fn shutdown(&self) {
        if self.inner.stopping.swap(true, Ordering::SeqCst) {
            return;
        }
        self.inner.core.begin_shutdown();
        if let Some(accept) = self.accept_thread.lock_unpoisoned().take() {
            // accept() has no timeout: wake it with a connection of our own.
            let _ = TcpStream::connect_timeout(&wake_addr(self.local_addr), Duration::from_secs(1));
            join_all_except_current(vec![accept]);
        }
        // Connections still in their first byte or handshake end now, not at their timeout.
        #[cfg(feature = "tls")]
        for handle in self.inner.handshaking.lock_unpoisoned().values() {
            let _ = handle.shutdown(std::net::Shutdown::Both);
        }
        if let Some(janitor) = self.janitor.lock_unpoisoned().take() {
            janitor.stop();
        }
        // Oneway and async frames handed to us before shutdown still reach the socket, within
        // one deadline for all connections (not one per connection).
        let deadline = deadline_after(SHUTDOWN_FLUSH_TIMEOUT);
        for conn in self.inner.snapshot() {
            conn.flush(deadline.saturating_duration_since(Instant::now()));
            conn.close();
        }
        self.inner.core.reader_threads.join_all();
        self.inner.core.shutdown();
    }
}

impl Drop for RemotingServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn accept_loop(listener: TcpListener, inner: Arc<ServerInner>) {
    loop {
        match listener.accept() {
            Ok((stream, peer)) => {
                if inner.stopping.load(Ordering::SeqCst) {
                    return;
                }
                inner.accept(stream, peer);
            }
            Err(e) => {
                if inner.stopping.load(Ordering::SeqCst) {
                    return;
                }
                // Out of file descriptors and the like: back off instead of spinning.
                log::warn!("accept failed: {e}");
                thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// Where to connect to wake our own accept(): a wildcard bind is reached via loopback.
fn wake_addr(local: SocketAddr) -> SocketAddr {
    let mut addr = local;
    if addr.ip().is_unspecified() {
        addr.set_ip(match local {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    addr
}
