//! `RemotingClient`: calls servers by address; mirrors `NettyRemotingClient`.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use super::config::{ClientConfig, PoolConfig};
use super::connection::{Connection, ConnectionHandler};
use super::core::RemotingCore;
use super::error::RemotingError;
use super::events::{ChannelEventListener, ConnectionEventKind};
use super::hook::RpcHook;
use super::processor::RequestProcessor;
use super::response_table::{InvokeCallback, InvokeResult};
use super::stream::Stream;
use crate::common::clock::deadline_after;
use crate::common::service_thread::{Schedule, ServiceThread};
use crate::common::sync::{MutexExt, RwLockExt};
use crate::protocol::RemotingCommand;

/// How long shutdown waits for queued frames to be written before closing a connection.
const SHUTDOWN_FLUSH_TIMEOUT: Duration = Duration::from_secs(1);

/// A blocking RocketMQ remoting client.
///
/// Connections are made lazily, one per address, and remade on the next call after one fails.
/// `addr = None` means "a name server": one is chosen round-robin from a random start among the
/// configured addresses, failing over to the next when it cannot be reached.
pub struct RemotingClient {
    inner: Arc<ClientInner>,
    janitor: Mutex<Option<ServiceThread>>,
}

/// The connection to one address, or None before the first call and after a failure.
type ConnectionSlot = Arc<Mutex<Option<Arc<Connection>>>>;

struct ClientInner {
    core: Arc<RemotingCore>,
    config: ClientConfig,
    /// Address → slot; the slot's lock is held while connecting, so concurrent callers of a new
    /// address share one connection (Java's `lockChannelTables`).
    connections: Mutex<HashMap<String, ConnectionSlot>>,
    namesrv_addrs: RwLock<Vec<String>>,
    namesrv_index: AtomicUsize,
    namesrv_chosen: Mutex<Option<String>>,
    /// rustls's client settings, made once from [`ClientConfig::tls`].
    #[cfg(feature = "tls")]
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl ConnectionHandler for ClientInner {
    fn on_command(&self, conn: &Arc<Connection>, cmd: RemotingCommand) {
        self.core.process_command(conn, cmd);
    }

    fn on_exception(&self, conn: &Arc<Connection>, _reason: &str) {
        self.core
            .emit(ConnectionEventKind::Exception, conn.remote_addr());
    }

    fn on_close(&self, conn: &Arc<Connection>, reason: &str) {
        log::debug!("connection to {} closed: {reason}", conn.remote_addr());
        // Fail the pending calls first: the slot's lock may be held for seconds by a caller
        // reconnecting to this address, and they must not wait for that.
        self.core.on_connection_closed(conn, reason);
        if let Some(slot) = self.slot_if_present(conn.remote_addr()) {
            // Clearing is only tidiness (callers skip closed connections), so never wait for it.
            if let Ok(mut current) = slot.try_lock() {
                if current.as_ref().is_some_and(|c| c.id() == conn.id()) {
                    *current = None;
                }
            }
        }
    }
}

impl ClientInner {
    fn slot_if_present(&self, addr: &str) -> Option<ConnectionSlot> {
        self.connections.lock_unpoisoned().get(addr).cloned()
    }

    fn snapshot(&self) -> Vec<Arc<Connection>> {
        let slots: Vec<_> = self
            .connections
            .lock_unpoisoned()
            .values()
            .cloned()
            .collect();
        slots
            .iter()
            .filter_map(|s| s.lock_unpoisoned().clone())
            .collect()
    }

    fn connection(
        self: &Arc<Self>,
        addr: Option<&str>,
        budget: Duration,
    ) -> Result<Arc<Connection>, RemotingError> {
        match addr {
            Some(addr) => self.connection_to(addr, budget),
            None => self.namesrv_connection(budget),
        }
    }

    /// The live connection to `addr`, connecting first if there is none.
    fn connection_to(
        self: &Arc<Self>,
        addr: &str,
        budget: Duration,
    ) -> Result<Arc<Connection>, RemotingError> {
        if self.core.is_shutting_down() {
            return Err(RemotingError::Shutdown);
        }
        let slot = {
            let mut table = self.connections.lock_unpoisoned();
            table.entry(addr.to_string()).or_default().clone()
        };
        let mut current = slot.lock_unpoisoned();
        if let Some(conn) = current.as_ref().filter(|c| !c.is_closed()) {
            return Ok(conn.clone());
        }
        let conn = self.connect(addr, budget)?;
        *current = Some(conn.clone());
        drop(current);
        if self.core.is_shutting_down() {
            conn.close(); // shutdown raced us; its reader ends at once
        }
        Ok(conn)
    }

    fn connect(
        self: &Arc<Self>,
        addr: &str,
        budget: Duration,
    ) -> Result<Arc<Connection>, RemotingError> {
        // Not host:port is the caller's mistake; a name that does not resolve (now) is a
        // failure to connect, which another broker or a later try may not have.
        let sock_addr = match addr.to_socket_addrs() {
            Ok(mut resolved) => resolved.next().ok_or_else(|| {
                let none = std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "the name resolves to no address",
                );
                RemotingError::connect(addr, none)
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => {
                return Err(RemotingError::InvalidAddress {
                    addr: addr.to_string(),
                    reason: e.to_string(),
                })
            }
            Err(e) => return Err(RemotingError::connect(addr, e)),
        };
        // Never wait longer for the connection (its TLS handshake included) than the caller
        // has left for the whole call.
        let connect_timeout = self
            .config
            .connect_timeout
            .min(budget)
            .max(Duration::from_millis(1));
        #[cfg(feature = "tls")]
        let deadline = deadline_after(connect_timeout);
        let tcp = TcpStream::connect_timeout(&sock_addr, connect_timeout)
            .map_err(|e| RemotingError::connect(addr, e))?;
        #[cfg(feature = "tls")]
        let stream = match &self.tls {
            Some(tls) => Stream::from(super::tls::connect(tcp, addr, tls, deadline)?),
            None => Stream::Plain(tcp),
        };
        #[cfg(not(feature = "tls"))]
        let stream = Stream::Plain(tcp);
        let conn = Connection::new(
            stream,
            addr.to_string(),
            self.core.connection_settings.clone(),
        )
        .map_err(|e| RemotingError::connect(addr, e))?;
        let inner = Arc::clone(self);
        let reader_conn = conn.clone();
        self.core
            .reader_threads
            .spawn(
                format!("rmq-reader-{addr}"),
                reader_stack_size(&self.core.config, &conn),
                move || reader_conn.run_reader(&*inner),
            )
            .map_err(|e| RemotingError::io(format!("start the reader thread for {addr}"), e))?;
        self.core.emit(ConnectionEventKind::Connect, addr);
        log::debug!("connected to {addr}");
        Ok(conn)
    }

    /// A connection to a name server: the last one used while it lives, else the next in
    /// round-robin order that accepts a connection.
    fn namesrv_connection(
        self: &Arc<Self>,
        budget: Duration,
    ) -> Result<Arc<Connection>, RemotingError> {
        let deadline = deadline_after(budget);
        let chosen = self.namesrv_chosen.lock_unpoisoned().clone();
        if let Some(addr) = chosen {
            let live = self
                .slot_if_present(&addr)
                .and_then(|s| s.lock_unpoisoned().clone());
            if let Some(conn) = live.filter(|c| !c.is_closed()) {
                return Ok(conn);
            }
        }
        let addrs = self.namesrv_addrs.read_unpoisoned().clone();
        let mut tried = Vec::new();
        for _ in 0..addrs.len() {
            let addr = &addrs[self.namesrv_index.fetch_add(1, Ordering::Relaxed) % addrs.len()];
            match self.connection_to(addr, deadline.saturating_duration_since(Instant::now())) {
                Ok(conn) => {
                    *self.namesrv_chosen.lock_unpoisoned() = Some(addr.clone());
                    return Ok(conn);
                }
                Err(error) => tried.push((addr.clone(), error)),
            }
        }
        Err(RemotingError::NoNameServer { tried })
    }
}

impl std::fmt::Debug for RemotingClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemotingClient")
            .field("name_servers", &self.name_server_address_list())
            .field("connected", &self.connected_addresses())
            .finish()
    }
}

impl RemotingClient {
    /// A client with its janitor running; connections are made on first use.
    pub fn new(config: ClientConfig) -> Result<Self, RemotingError> {
        let core = RemotingCore::new("client", config.common.clone())
            .map_err(|e| RemotingError::io("start client", e))?;
        let random_start = RandomState::new().build_hasher().finish() as usize;
        #[cfg(feature = "tls")]
        let tls = config.tls.as_ref().map(|tls| tls.build()).transpose()?;
        let inner = Arc::new(ClientInner {
            #[cfg(feature = "tls")]
            tls,
            core: Arc::new(core),
            config,
            connections: Mutex::new(HashMap::new()),
            namesrv_addrs: RwLock::new(Vec::new()),
            namesrv_index: AtomicUsize::new(random_start % 1024),
            namesrv_chosen: Mutex::new(None),
        });
        let scan = Arc::clone(&inner);
        let janitor = ServiceThread::start(
            "rmq-janitor-client",
            Schedule::every(inner.core.config.scan_interval),
            move |_| scan.core.scan(&scan.snapshot()),
        )
        .map_err(|e| RemotingError::io("start janitor", e))?;
        Ok(RemotingClient {
            inner,
            janitor: Mutex::new(Some(janitor)),
        })
    }

    /// Replaces the name-server address list; a chosen address no longer listed is dropped.
    pub fn update_name_server_address_list(&self, addrs: Vec<String>) {
        let mut chosen = self.inner.namesrv_chosen.lock_unpoisoned();
        if chosen.as_ref().is_some_and(|c| !addrs.contains(c)) {
            *chosen = None;
        }
        *self.inner.namesrv_addrs.write_unpoisoned() = addrs;
    }

    /// The configured name-server addresses.
    pub fn name_server_address_list(&self) -> Vec<String> {
        self.inner.namesrv_addrs.read_unpoisoned().clone()
    }

    /// Serves server-initiated requests of `code` (e.g. NOTIFY_CONSUMER_IDS_CHANGED).
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

    /// Serves all of `codes` with one processor and one pool (a consumer's requests from
    /// brokers: NOTIFY_CONSUMER_IDS_CHANGED, GET_CONSUMER_RUNNING_INFO, ...).
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

    /// Adds a hook that runs around every call.
    pub fn register_rpc_hook(&self, hook: Arc<dyn RpcHook>) {
        self.inner.core.register_rpc_hook(hook);
    }

    /// Sends connection events to `listener` on the `rmq-events-client` thread.
    pub fn set_channel_event_listener(
        &self,
        listener: Arc<dyn ChannelEventListener>,
    ) -> Result<(), RemotingError> {
        self.inner.core.set_event_listener(listener)
    }

    /// Sends `request` to `addr` (None: a name server) and waits for the response.
    ///
    /// The timeout covers connecting too. On timeout the connection is closed when
    /// `close_socket_if_timeout` is set, as Java does.
    pub fn invoke_sync(
        &self,
        addr: Option<&str>,
        request: RemotingCommand,
        timeout: Duration,
    ) -> InvokeResult {
        let begin = Instant::now();
        let conn = self.inner.connection(addr, timeout)?;
        let left = remaining(begin, timeout, &conn)?;
        let result = self.inner.core.invoke_sync(&conn, request, left);
        if let Err(RemotingError::Timeout { .. }) = &result {
            if self.inner.config.close_socket_if_timeout {
                log::warn!("closing {} after a sync call timed out", conn.remote_addr());
                conn.close();
            }
        }
        result
    }

    /// Sends `request` and returns at once; `callback` runs exactly once, on the callback pool,
    /// with the response or the failure, unless this returns `Err` (then it never runs).
    pub fn invoke_async(
        &self,
        addr: Option<&str>,
        request: RemotingCommand,
        timeout: Duration,
        callback: impl FnOnce(InvokeResult) + Send + 'static,
    ) -> Result<(), RemotingError> {
        self.invoke_async_inner(addr, request, timeout, Box::new(callback))
            .map_err(|(error, _)| error)
    }

    /// [`RemotingClient::invoke_async`] whose callback runs in every case: a failure before
    /// the request was handed over (no connection, no permit, shut down) runs it on the
    /// calling thread. Async sends deliver every outcome to their user's callback so.
    pub(crate) fn invoke_async_always(
        &self,
        addr: Option<&str>,
        request: RemotingCommand,
        timeout: Duration,
        callback: InvokeCallback,
    ) {
        if let Err((error, callback)) = self.invoke_async_inner(addr, request, timeout, callback) {
            callback(Err(error));
        }
    }

    fn invoke_async_inner(
        &self,
        addr: Option<&str>,
        request: RemotingCommand,
        timeout: Duration,
        callback: InvokeCallback,
    ) -> Result<(), (RemotingError, InvokeCallback)> {
        let begin = Instant::now();
        let conn = match self.inner.connection(addr, timeout) {
            Ok(conn) => conn,
            Err(error) => return Err((error, callback)),
        };
        let left = match remaining(begin, timeout, &conn) {
            Ok(left) => left,
            Err(error) => return Err((error, callback)),
        };
        self.inner.core.invoke_async(&conn, request, left, callback)
    }

    /// Sends `request` flagged oneway; the peer never replies.
    pub fn invoke_oneway(
        &self,
        addr: Option<&str>,
        request: RemotingCommand,
        timeout: Duration,
    ) -> Result<(), RemotingError> {
        let begin = Instant::now();
        let conn = self.inner.connection(addr, timeout)?;
        let left = remaining(begin, timeout, &conn)?;
        self.inner.core.invoke_oneway(&conn, request, left)
    }

    /// Closes the connection to `addr`, if any; the next call reconnects.
    pub fn close_connection(&self, addr: &str) {
        if let Some(conn) = self
            .inner
            .slot_if_present(addr)
            .and_then(|s| s.lock_unpoisoned().clone())
        {
            conn.close();
        }
    }

    /// Addresses with a live connection.
    pub fn connected_addresses(&self) -> Vec<String> {
        self.inner
            .snapshot()
            .into_iter()
            .filter(|c| !c.is_closed())
            .map(|c| c.remote_addr().to_string())
            .collect()
    }

    /// Calls waiting for a response right now (tests check that nothing leaks).
    pub fn pending_requests(&self) -> usize {
        self.inner.core.response_table.len()
    }

    /// Closes every connection, fails pending calls, runs their callbacks, joins every thread.
    pub fn shutdown(&self) {
        let Some(janitor) = self.janitor.lock_unpoisoned().take() else {
            return;
        };
        self.inner.core.begin_shutdown();
        janitor.stop();
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

impl Drop for RemotingClient {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn remaining(
    begin: Instant,
    timeout: Duration,
    conn: &Connection,
) -> Result<Duration, RemotingError> {
    let left = timeout.saturating_sub(begin.elapsed());
    if left.is_zero() {
        return Err(RemotingError::Timeout {
            addr: conn.remote_addr().to_string(),
            timeout,
        });
    }
    Ok(left)
}

/// The configured reader stack, or more for a TLS connection (rustls decrypts on it).
fn reader_stack_size(config: &super::CommonConfig, conn: &Connection) -> usize {
    #[cfg(feature = "tls")]
    if conn.is_tls() {
        return config
            .reader_stack_size
            .max(super::server::TLS_READER_STACK_MIN);
    }
    let _ = conn;
    config.reader_stack_size
}
