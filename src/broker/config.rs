//! `BrokerConfig`: what a reference broker is called, where it listens and what it allows.

use std::path::PathBuf;
use std::time::Duration;

use super::store::FlushDiskType;
use crate::remoting::ServerConfig;

/// Settings of a [`super::Broker`]; mirrors the parts of Java's `BrokerConfig`,
/// `NettyServerConfig` and `MessageStoreConfig` that the reference broker uses.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// The remoting server settings, including the listen address (Java's default 10911).
    pub server: ServerConfig,
    /// The address registered with name servers and written into message ids; None derives
    /// it from the bound address (a wildcard bind advertises 127.0.0.1).
    pub advertised_addr: Option<String>,
    /// The broker's name (`brokerName`).
    pub broker_name: String,
    /// The cluster it belongs to (`brokerClusterName`).
    pub cluster_name: String,
    /// Name servers to register with.
    pub namesrv_addrs: Vec<String>,
    /// Where the commit log, indexes and config files live.
    pub store_dir: PathBuf,
    /// Async (default) or sync flush.
    pub flush_disk_type: FlushDiskType,
    /// Sends to unknown topics create them from TBW102 (`autoCreateTopicEnable`, on).
    pub auto_create_topic: bool,
    /// Queues of TBW102 (`defaultTopicQueueNums`, 8); producers clamp to their own default 4.
    pub default_topic_queue_nums: i32,
    /// How often to re-register with the name servers (30 s).
    pub register_interval: Duration,
    /// Region written into send responses (`regionId`, "DefaultRegion").
    pub region_id: String,
    /// Whether send responses say message tracing is on (`traceOn`, true).
    pub trace_on: bool,
    /// Largest message accepted (`maxMessageSize`, 4 MiB).
    pub max_message_size: usize,
    /// How long a pull with nothing to read may be held (`longPollingEnable`, on).
    pub long_polling: bool,
    /// A client that has not sent a heartbeat for this long is dropped (120 s).
    pub client_channel_expiry: Duration,
    /// How often dirty consumer offsets are written to disk (1 s; Java: 5 s).
    pub offset_flush_interval: Duration,
}

impl BrokerConfig {
    /// Defaults for a broker listening on `listen`, storing under `store_dir`.
    pub fn new(listen: impl Into<String>, store_dir: impl Into<PathBuf>) -> Self {
        BrokerConfig {
            server: ServerConfig::listen(listen),
            advertised_addr: None,
            broker_name: "broker-a".into(),
            cluster_name: "DefaultCluster".into(),
            namesrv_addrs: Vec::new(),
            store_dir: store_dir.into(),
            flush_disk_type: FlushDiskType::AsyncFlush,
            auto_create_topic: true,
            default_topic_queue_nums: 8,
            register_interval: Duration::from_secs(30),
            region_id: "DefaultRegion".into(),
            trace_on: true,
            max_message_size: 4 * 1024 * 1024,
            long_polling: true,
            client_channel_expiry: Duration::from_secs(120),
            offset_flush_interval: Duration::from_secs(1),
        }
    }
}
