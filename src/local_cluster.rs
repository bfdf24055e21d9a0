//! `LocalCluster`: a reference name server and broker in this process, on free loopback
//! ports, storing in a temporary directory: for quickstarts, examples, doc tests and an
//! application's own tests.

use std::fmt;
use std::time::Duration;

use crate::broker::{Broker, BrokerBuilder, BrokerError};
use crate::common::temp_dir::TempDir;
use crate::namesrv::NameServer;
use crate::remoting::RemotingError;

/// A name server and a broker registered with it, both on `127.0.0.1` with ports chosen by
/// the OS; the broker's store lives in a fresh temporary directory removed on drop.
///
/// ```
/// use rocketmq_blocking::LocalCluster;
///
/// let cluster = LocalCluster::start()?;
/// println!("name server at {}", cluster.name_server_addr());
/// cluster.shutdown();
/// # Ok::<(), rocketmq_blocking::broker::BrokerError>(())
/// ```
pub struct LocalCluster {
    // Dropped in this order: the broker unregisters before the name server stops, and the
    // store directory goes last.
    broker: Broker,
    namesrv: NameServer,
    _store: TempDir,
}

impl fmt::Debug for LocalCluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalCluster")
            .field("name_server", &self.name_server_addr())
            .field("broker", &self.broker.broker_addr())
            .finish()
    }
}

impl LocalCluster {
    /// Starts the name server, then the broker, which registers before this returns: a
    /// producer can send at once.
    pub fn start() -> Result<LocalCluster, BrokerError> {
        LocalCluster::start_with(|broker| broker)
    }

    /// [`LocalCluster::start`] with broker settings of the caller's, such as the ones Java's
    /// broker has off by default.
    ///
    /// ```
    /// use rocketmq_blocking::LocalCluster;
    ///
    /// // SQL92 subscriptions and recalling timer messages allowed.
    /// let cluster = LocalCluster::start_with(|broker| {
    ///     broker.enable_property_filter(true).recall_message_enable(true)
    /// })?;
    /// assert!(cluster.broker().config().recall_message_enable);
    /// # Ok::<(), rocketmq_blocking::broker::BrokerError>(())
    /// ```
    pub fn start_with(
        configure: impl FnOnce(BrokerBuilder) -> BrokerBuilder,
    ) -> Result<LocalCluster, BrokerError> {
        let store = TempDir::new("local-cluster").map_err(|e| {
            BrokerError::Remoting(RemotingError::io("create the store directory", e))
        })?;
        let namesrv = NameServer::builder().listen("127.0.0.1:0").start()?;
        let broker = configure(Broker::builder())
            .listen("127.0.0.1:0")
            .name_server(&namesrv.local_addr().to_string())
            .store_dir(store.path())
            .register_interval(Duration::from_secs(5))
            .start()?;
        Ok(LocalCluster {
            broker,
            namesrv,
            _store: store,
        })
    }

    /// The name server's address, `127.0.0.1:<port>`: what a client's `name_server` takes.
    pub fn name_server_addr(&self) -> String {
        self.namesrv.local_addr().to_string()
    }

    /// The name server.
    pub fn name_server(&self) -> &NameServer {
        &self.namesrv
    }

    /// The broker.
    pub fn broker(&self) -> &Broker {
        &self.broker
    }

    /// Stops the broker (it unregisters and saves its offsets), then the name server.
    /// Dropping does the same and removes the store.
    pub fn shutdown(&self) {
        self.broker.shutdown();
        self.namesrv.shutdown();
    }
}
