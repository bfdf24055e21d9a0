//! Apache RocketMQ's remoting protocol in Rust, with plain threads and `std::net` sockets.
//!
//! Layers, from the bottom up (each depends only on those below it):
//! - [`protocol`]: the wire format, no I/O: [`protocol::RemotingCommand`] and its frame codec.
//! - [`remoting`]: the transport: connections, the response table, server and client.
//! - [`client`]: the producer (`DefaultMQProducer`) and a minimal pull consumer.
//! - `namesrv`, `broker` (feature `servers`, on by default): reference servers on `remoting`.

#![warn(missing_docs)]

mod common;

pub mod client;
pub mod protocol;
pub mod remoting;

#[cfg(feature = "servers")]
pub mod broker;
#[cfg(feature = "servers")]
mod local_cluster;
#[cfg(feature = "servers")]
pub mod namesrv;

pub use common::trace::TRACE_TARGET;
#[cfg(feature = "servers")]
pub use local_cluster::LocalCluster;
