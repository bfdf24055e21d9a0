//! The reference name server, on our [`RemotingServer`]; mirrors Java's `NamesrvController`.
//!
//! Brokers register their topics here (REGISTER_BROKER, every 30 s); clients ask for a
//! topic's route (GET_ROUTEINFO_BY_TOPIC). A broker that stops registering is dropped after
//! its expiry (120 s), and one whose connection closes is dropped at once.

mod processor;
mod route_info;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

pub(crate) use processor::NamesrvProcessor;
pub(crate) use route_info::RouteInfoManager;

use crate::common::service_thread::{Schedule, ServiceThread};
use crate::common::sync::{MutexExt, RwLockExt};
use crate::protocol::body::TopicRouteData;
use crate::protocol::codes::request_code;
use crate::remoting::{
    ChannelEventListener, ConnectionEvent, ConnectionEventKind, PoolConfig, RemotingError,
    RemotingServer, ServerConfig,
};

/// Settings of a [`NameServer`]; mirrors `NamesrvConfig` and its `NettyServerConfig`. Made by
/// [`NameServerBuilder`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NameServerConfig {
    /// The remoting server settings, including the listen address (Java's default port 9876).
    pub server: ServerConfig,
    /// A broker that has not registered for this long is dropped (120 s).
    pub broker_expiry: Duration,
    /// How often silent brokers are looked for (10 s).
    pub scan_interval: Duration,
}

impl Default for NameServerConfig {
    /// Java's defaults: listening on 0.0.0.0:9876, brokers expire after 120 s.
    fn default() -> Self {
        NameServerConfig {
            server: ServerConfig::listen("0.0.0.0:9876"),
            broker_expiry: Duration::from_secs(120),
            scan_interval: Duration::from_secs(10),
        }
    }
}

/// Builds and starts a [`NameServer`].
///
/// ```no_run
/// use rocketmq_blocking::namesrv::NameServer;
///
/// let namesrv = NameServer::builder().listen("127.0.0.1:9876").start()?;
/// println!("listening on {}", namesrv.local_addr());
/// # Ok::<(), rocketmq_blocking::remoting::RemotingError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct NameServerBuilder {
    config: NameServerConfig,
}

impl NameServerBuilder {
    /// The address to listen on; port 0 picks a free port.
    pub fn listen(mut self, addr: impl Into<String>) -> Self {
        self.config.server.listen_addr = addr.into();
        self
    }

    /// The remoting server settings, the listen address included.
    pub fn server_config(mut self, server: ServerConfig) -> Self {
        self.config.server = server;
        self
    }

    crate::remoting::server_tls_setters!();

    /// How long a broker may go without registering before it is dropped (120 s).
    pub fn broker_expiry(mut self, expiry: Duration) -> Self {
        self.config.broker_expiry = expiry;
        self
    }

    /// How often silent brokers are looked for (10 s).
    pub fn scan_interval(mut self, interval: Duration) -> Self {
        self.config.scan_interval = interval;
        self
    }

    /// Binds, registers the processor and starts serving.
    pub fn start(self) -> Result<NameServer, RemotingError> {
        NameServer::start(self.config)
    }
}

/// A running name server.
pub struct NameServer {
    server: RemotingServer,
    routes: Arc<RwLock<RouteInfoManager>>,
    scanner: Mutex<Option<ServiceThread>>,
}

/// Drops a broker's routes as soon as its connection closes (`BrokerHousekeepingService`).
struct BrokerHousekeeping {
    routes: Arc<RwLock<RouteInfoManager>>,
}

impl ChannelEventListener for BrokerHousekeeping {
    fn on_event(&self, event: ConnectionEvent) {
        if matches!(
            event.kind,
            ConnectionEventKind::Close | ConnectionEventKind::Exception | ConnectionEventKind::Idle
        ) {
            let gone = self
                .routes
                .write_unpoisoned()
                .on_connection_closed(&event.remote_addr);
            for addr in gone {
                log::info!(
                    "broker {addr} dropped: its connection {} closed",
                    event.remote_addr
                );
            }
        }
    }
}

impl std::fmt::Debug for NameServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NameServer")
            .field("local_addr", &self.local_addr())
            .field("live_brokers", &self.live_brokers())
            .finish()
    }
}

impl NameServer {
    /// A builder with Java's defaults.
    pub fn builder() -> NameServerBuilder {
        NameServerBuilder::default()
    }

    fn start(config: NameServerConfig) -> Result<NameServer, RemotingError> {
        let server = RemotingServer::new(config.server)?;
        let routes = Arc::new(RwLock::new(RouteInfoManager::new()));
        server.set_channel_event_listener(Arc::new(BrokerHousekeeping {
            routes: routes.clone(),
        }))?;
        let processor = Arc::new(NamesrvProcessor::new(routes.clone(), config.broker_expiry));
        let pool = PoolConfig {
            threads: 8,
            queue_capacity: 10_000,
        };
        let codes = [
            request_code::REGISTER_BROKER,
            request_code::UNREGISTER_BROKER,
            request_code::GET_ROUTEINFO_BY_TOPIC,
            request_code::GET_BROKER_CLUSTER_INFO,
            request_code::GET_ALL_TOPIC_LIST_FROM_NAMESERVER,
            request_code::DELETE_TOPIC_IN_NAMESRV,
            request_code::GET_TOPICS_BY_CLUSTER,
        ];
        server.register_processor_for_codes(&codes, processor, pool)?;
        let scan_routes = routes.clone();
        let scanner = ServiceThread::start(
            "rmq-namesrv-scan",
            Schedule::every(config.scan_interval),
            move |_| {
                let gone = scan_routes
                    .write_unpoisoned()
                    .scan_not_active_brokers(Instant::now());
                for addr in gone {
                    log::warn!("broker {addr} dropped: no registration within its expiry");
                }
            },
        )
        .map_err(|e| RemotingError::io("start the name server scan thread", e))?;
        server.start()?;
        log::info!("name server listening on {}", server.local_addr());
        Ok(NameServer {
            server,
            routes,
            scanner: Mutex::new(Some(scanner)),
        })
    }

    /// The address bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// The route the name server would give for `topic` right now.
    pub fn topic_route(&self, topic: &str) -> Option<TopicRouteData> {
        self.routes.read_unpoisoned().pickup_topic_route_data(topic)
    }

    /// Addresses of the brokers currently registered.
    pub fn live_brokers(&self) -> Vec<String> {
        self.routes.read_unpoisoned().live_broker_addrs()
    }

    /// Stops serving and joins every thread.
    pub fn shutdown(&self) {
        if let Some(scanner) = self.scanner.lock_unpoisoned().take() {
            scanner.stop();
        }
        self.server.shutdown();
    }
}

impl Drop for NameServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}
