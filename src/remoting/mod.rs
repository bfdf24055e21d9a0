//! The transport: connections, the response table, the janitor, server and client.
//!
//! Mirrors `org.apache.rocketmq.remoting.netty` with plain threads: one reader thread per
//! connection demultiplexes responses into the [`ResponseTable`] (opaque → condvar slot) and
//! hands requests to the processor's own [`ThreadPool`]; a janitor thread expires stale
//! futures; async callbacks run on a callback pool, never on a reader thread.

mod client;
mod config;
mod connection;
mod core;
mod error;
mod events;
mod hook;
mod permits;
mod processor;
mod response_table;
mod server;
mod thread_pool;
mod threads;

pub use client::RemotingClient;
pub use config::{ClientConfig, CommonConfig, PoolConfig, ServerConfig};
pub use connection::Connection;
pub use error::RemotingError;
pub use events::{ChannelEventListener, ConnectionEvent, ConnectionEventKind};
pub use hook::RpcHook;
pub use processor::{ProcessorError, RequestContext, RequestProcessor};
pub use response_table::InvokeResult;
pub use server::RemotingServer;

pub(crate) use thread_pool::{Job, Rejected, ThreadPool};
