//! The communication layer: connections, the response table, the janitor, server and client.
//!
//! Mirrors `org.apache.rocketmq.remoting.netty` with plain threads. [`RemotingClient`] and
//! [`RemotingServer`] share one core (Java's `NettyRemotingAbstract`), so a server calls its
//! clients exactly as a client calls its server.
//!
//! # A sync call
//!
//! [`RemotingClient::invoke_sync`] finds (or opens) the [`Connection`] to the address, stamps
//! the request (language, version), runs the [`RpcHook`]s, and registers a response future
//! under the request's opaque in the response table: a `Mutex<HashMap<opaque, future>>`. The
//! future of a sync call is a slot with a condvar. The calling thread writes the frame
//! itself when no other write is in progress and the socket takes it at once (frames that
//! arrive meanwhile are coalesced into the same syscall), then waits on the slot.
//!
//! Each connection has one reader thread, `rmq-reader-<addr>`. It feeds the socket's bytes to
//! the protocol's frame decoder; for a response, it removes the future with that opaque
//! (only one pending on the same connection: another peer cannot guess an opaque into
//! someone else's call) and fills its slot, which wakes the caller.
//!
//! # An async call
//!
//! [`RemotingClient::invoke_async`] registers a future carrying the callback instead of a
//! slot, and queues the frame for the connection's writer thread, `rmq-writer-<addr>`, so a
//! burst of async calls leaves in few syscalls. When the response arrives the reader thread
//! hands the callback to the callback pool (`rmq-callback-*`): user code never runs on a
//! reader thread. A oneway call ([`RemotingClient::invoke_oneway`]) is flagged so that the
//! peer never answers, and registers nothing.
//!
//! # The janitor
//!
//! A call whose response never comes must still end. The janitor thread (`rmq-janitor-*`)
//! scans the response table periodically and fails every future whose `begin + timeout + 1 s`
//! has passed (Java's expiry rule): a sync caller sees the timeout (it also stops waiting at
//! its own deadline), an async callback runs with it. It also closes connections idle for
//! two minutes. A connection that closes fails the calls pending on it at once.
//!
//! # Requests a peer sends
//!
//! A request goes to the [`RequestProcessor`] registered for its code, on that processor's
//! own thread pool (a full queue answers SYSTEM_BUSY). Whatever it returns, or answers later
//! through [`RequestContext::reply`], leaves by one path: stamped with the request's opaque
//! and header type, shown to the hooks, written on the connection.
//!
//! # Peers that are slow or hostile
//!
//! No thread waits on another peer's socket: a frame the socket does not take within 2 ms
//! goes onto the connection's bounded outbound queue, which only the connection's writer
//! thread waits on. A peer that lets more than [`CommonConfig::outbound_queue_limit`] pile up
//! unread is disconnected (a server never waits for a client; a client's own request waits
//! for room, within its timeout). On the reading side a frame's length, its header's ext
//! fields, its arrival time ([`CommonConfig::frame_deadline`]) and, for large frames, a share
//! of a memory budget shared by all connections ([`CommonConfig::frame_memory_budget`]) are
//! bounded, and a server takes at most [`ServerConfig::max_connections`]. A connection is one
//! socket: reader and writer share it, so it costs one file descriptor.
//!
//! # TLS
//!
//! With the `tls` feature (on by default) a connection may carry its frames inside TLS
//! (rustls). A server's `ServerConfig::tls_mode` says whether it takes plain connections,
//! TLS ones or both (Java's `tlsMode`: disabled, permissive, enforcing); a client speaks TLS
//! when its `ClientConfig::tls` says so. The design is the same: the reader thread reads
//! the session, any thread writes it, encrypted bytes the socket has not taken wait for the
//! writer thread. A client completes its handshake within its connect timeout; a server
//! completes it on the connection's reader thread, within
//! `ServerConfig::tls_handshake_timeout`, so a peer that never finishes blocks no one else.
//!
//! `shutdown()` (and `Drop`) of a client or server closes every connection, fails what is
//! pending (every callback runs once), and joins every thread it started.

mod client;
mod config;
mod connection;
mod core;
mod error;
mod events;
mod frame_writer;
mod hook;
mod permits;
mod processor;
mod response_table;
mod server;
mod socket;
mod spin_policy;
mod stream;
mod thread_pool;
mod threads;
#[cfg(feature = "tls")]
mod tls;

pub use client::RemotingClient;
#[cfg(feature = "servers")]
pub(crate) use config::server_tls_setters;
pub use config::{ClientConfig, CommonConfig, PoolConfig, ServerConfig};
pub use connection::Connection;
pub(crate) use connection::CLOSED_LOCALLY;
pub(crate) use error::write_name_servers_tried;
pub use error::{RemotingError, TlsFailure};
pub use events::{ChannelEventListener, ConnectionEvent, ConnectionEventKind};
pub use hook::{AbortProcess, RpcHook};
pub(crate) use permits::{Permit, Semaphore};
pub use processor::{ProcessorError, RequestContext, RequestProcessor};
pub use response_table::InvokeResult;
pub use server::RemotingServer;
#[cfg(feature = "tls")]
pub use tls::{TlsClientConfig, TlsMode};

pub(crate) use thread_pool::{Job, Rejected, ThreadPool};
