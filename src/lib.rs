//! An Apache RocketMQ client (and the remoting layer under it) with plain threads and
//! `std::net` sockets: no async runtime. It speaks RocketMQ's wire protocol, so it works with
//! Apache RocketMQ 4.9 and 5.x name servers and brokers, and beside the Java and C++ clients.
//!
//! ```
//! use rocketmq_blocking::client::{Message, Producer, PullConsumer, PullStatus};
//! use rocketmq_blocking::LocalCluster;
//!
//! // A reference name server and broker in this process (feature `servers`); point
//! // `name_server` at a real cluster instead.
//! let cluster = LocalCluster::start()?;
//!
//! let producer = Producer::builder("example_producer")
//!     .name_server(cluster.name_server_addr())
//!     .start()?;
//! let sent = producer.send(&Message::new("TopicTest", "Hello RocketMQ").with_tags("TagA"))?;
//! println!("{sent}");
//!
//! let consumer = PullConsumer::builder("example_consumer")
//!     .name_server(cluster.name_server_addr())
//!     .start()?;
//! let pulled = consumer.pull(&sent.message_queue, sent.queue_offset, 32)?;
//! assert_eq!(pulled.status, PullStatus::Found);
//! assert_eq!(pulled.messages[0].body, b"Hello RocketMQ");
//!
//! producer.shutdown();
//! consumer.shutdown();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Three layers
//!
//! The code follows the Java original's layers, each depending only on those below it:
//!
//! - [`client`], the business layer: [`Producer`](client::Producer) (`DefaultMQProducer`) and
//!   [`PullConsumer`](client::PullConsumer), on a client instance that keeps routes and
//!   heartbeats. What most programs use.
//! - [`remoting`], the communication layer: connections, the response table that matches
//!   responses to requests by opaque, the three invoke styles, processors for requests a peer
//!   sends, the janitor. [`RemotingServer`](remoting::RemotingServer) and
//!   [`RemotingClient`](remoting::RemotingClient) for programs that speak the protocol
//!   directly.
//! - [`protocol`], the message-handling layer: the wire format with no I/O. A
//!   [`RemotingCommand`](protocol::RemotingCommand) and its frame, custom headers, message
//!   and body formats.
//!
//! Beside them, built on the same layers: [`namesrv`] and [`broker`], the reference servers
//! (feature `servers`, on by default), and [`LocalCluster`], both in one process.
//!
//! # Watching a send
//!
//! Every step of every send can be logged, one line each, prefixed with its layer: enable the
//! `log` target [`TRACE_TARGET`] at TRACE level (the examples do it when `RMQ_TRACE=1`). The
//! same steps are structured events a [`trace::TraceRecorder`] collects in-process, and
//! [`trace::SequenceDiagram`] draws them as a picture of the threads a message crosses
//! (`cargo run --release --example quickstart -- --diagram send.svg`). See the [`client`]
//! module for the route a sync send takes, and [`remoting`] for how a response finds its
//! caller.

#![warn(missing_docs, unreachable_pub)]

mod common;

#[cfg(feature = "acl")]
pub mod acl;
pub mod client;
pub mod protocol;
pub mod remoting;

#[cfg(feature = "servers")]
pub mod broker;
#[cfg(feature = "servers")]
mod filter;
#[cfg(feature = "servers")]
mod local_cluster;
#[cfg(feature = "servers")]
pub mod namesrv;

pub use common::trace;
pub use common::trace::TRACE_TARGET;

/// The README's Rust examples, compiled by `cargo test` so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;
#[cfg(feature = "servers")]
pub use local_cluster::LocalCluster;
