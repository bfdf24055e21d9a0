//! Settings of the remoting server and client, with Java's defaults.

use std::time::Duration;

use crate::protocol::{
    LanguageCode, DEFAULT_MAX_EXT_FIELDS, DEFAULT_MAX_FRAME_LENGTH, DEFAULT_VERSION,
};

/// Size of a processor's thread pool and of its queue of waiting requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    /// Worker threads.
    pub threads: usize,
    /// Requests that may wait; one more is answered SYSTEM_BUSY `[OVERLOAD]`.
    pub queue_capacity: usize,
}

impl Default for PoolConfig {
    /// Four threads and 10,000 queued requests (the broker's send pool queue in Java).
    fn default() -> Self {
        PoolConfig {
            threads: 4,
            queue_capacity: 10_000,
        }
    }
}

/// Settings shared by server and client (Java's `NettyServerConfig`/`NettyClientConfig` overlap).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CommonConfig {
    /// Largest frame accepted or sent, length prefix included (16 MiB).
    pub max_frame_length: usize,
    /// Most ext fields a received header may carry (1,024; real clients send under 30). More
    /// is a bad frame: the connection closes.
    pub max_ext_fields: usize,
    /// Bytes of frames read in part that all connections together may hold (256 MiB). A
    /// frame over 64 KiB is counted, at its announced length, before its body is read; one
    /// that does not fit waits (its reader stops reading) until others complete, at most
    /// until its frame deadline. Smaller frames are not counted: each connection holds at
    /// most one, bounded by the connection count.
    pub frame_memory_budget: usize,
    /// Once a frame's first bytes arrived, the rest must arrive within this (30 s); a peer
    /// that trickles is closed by the janitor, at its next scan after the deadline.
    pub frame_deadline: Duration,
    /// Bytes that may wait in one connection's outbound queue (4 MiB). A response or a
    /// server's request that would pass it closes the connection (a peer that does not read
    /// is cut off; no thread waits for it); a client's own request waits for room, at most
    /// its timeout. One frame larger than the limit is still taken by an empty queue.
    pub outbound_queue_limit: usize,
    /// Stack of each connection's reader thread (128 KiB). It decodes frames and hands them
    /// on; decoding is not recursive, so this need not grow with what peers send.
    pub reader_stack_size: usize,
    /// Permits for concurrent async invokes.
    pub async_permits: usize,
    /// Permits for concurrent oneway invokes.
    pub oneway_permits: usize,
    /// Threads running async callbacks (the number of CPUs, as Java).
    pub callback_threads: usize,
    /// How often the janitor expires stale futures and closes idle connections (3 s).
    pub scan_interval: Duration,
    /// A connection with no traffic for this long is closed (120 s).
    pub idle_timeout: Duration,
    /// A connection whose peer accepts no bytes for this long is closed (10 s). Only the
    /// connection's writer thread ever waits that long: other threads hand their bytes to it
    /// after 2 ms.
    pub write_timeout: Duration,
    /// How long a sync caller that is the only one waiting may poll for its response before
    /// sleeping (100 µs; zero never polls). Polling saves a thread wake-up per call when a
    /// core is free, at the price of up to this much CPU per call, and costs time when the
    /// cores are busy: calls are timed both ways and the faster way is used.
    pub sync_spin: Duration,
    /// Language stamped on every command this component writes (JAVA: every broker knows it).
    pub language: LanguageCode,
    /// Version stamped on every command this component writes (≥ 401 for standard route JSON).
    pub version: i32,
}

impl CommonConfig {
    fn with_permits(async_permits: usize, oneway_permits: usize) -> Self {
        CommonConfig {
            max_frame_length: DEFAULT_MAX_FRAME_LENGTH,
            max_ext_fields: DEFAULT_MAX_EXT_FIELDS,
            frame_memory_budget: 256 * 1024 * 1024,
            frame_deadline: Duration::from_secs(30),
            outbound_queue_limit: 4 * 1024 * 1024,
            reader_stack_size: 128 * 1024,
            async_permits,
            oneway_permits,
            callback_threads: std::thread::available_parallelism().map_or(4, |n| n.get()),
            scan_interval: Duration::from_secs(3),
            idle_timeout: Duration::from_secs(120),
            write_timeout: Duration::from_secs(10),
            sync_spin: Duration::from_micros(100),
            language: LanguageCode::Java,
            version: DEFAULT_VERSION,
        }
    }
}

/// Settings of a [`super::RemotingServer`]; mirrors `NettyServerConfig`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Address to listen on; port 0 picks a free port.
    pub listen_addr: String,
    /// Shared settings; server permits default to 64 async and 256 oneway.
    pub common: CommonConfig,
    /// Connections served at once (10,000). One more is accepted and closed at once, logged.
    /// Connections still in their TLS handshake count.
    pub max_connections: usize,
    /// Plain connections, TLS ones or both (Java's `tlsMode`; default disabled). With
    /// permissive, a connection whose first byte starts a TLS handshake (0x16) speaks TLS and
    /// any other is plain; with enforcing, a plain one is closed (logged).
    #[cfg(feature = "tls")]
    pub tls_mode: super::TlsMode,
    /// The server's certificate chain, PEM, leaf first (needed unless TLS is disabled).
    #[cfg(feature = "tls")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// The server's private key, PEM (PKCS#8, PKCS#1 or SEC1).
    #[cfg(feature = "tls")]
    pub tls_key: Option<std::path::PathBuf>,
    /// Certificate authorities, PEM, whose client certificates are required; None: clients
    /// present none.
    #[cfg(feature = "tls")]
    pub tls_client_ca: Option<std::path::PathBuf>,
    /// How long a new connection has, when TLS is not disabled, to send its first byte and
    /// complete its handshake (10 s). It runs on the connection's own reader thread: a peer
    /// that dawdles holds no other.
    #[cfg(feature = "tls")]
    pub tls_handshake_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen_addr: "0.0.0.0:10911".into(),
            max_connections: 10_000,
            common: CommonConfig::with_permits(64, 256),
            #[cfg(feature = "tls")]
            tls_mode: super::TlsMode::Disabled,
            #[cfg(feature = "tls")]
            tls_cert: None,
            #[cfg(feature = "tls")]
            tls_key: None,
            #[cfg(feature = "tls")]
            tls_client_ca: None,
            #[cfg(feature = "tls")]
            tls_handshake_timeout: Duration::from_secs(10),
        }
    }
}

impl ServerConfig {
    /// Defaults, listening on `addr`.
    pub fn listen(addr: impl Into<String>) -> Self {
        ServerConfig {
            listen_addr: addr.into(),
            ..ServerConfig::default()
        }
    }
}

/// Settings of a [`super::RemotingClient`]; mirrors `NettyClientConfig`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    /// Shared settings; client permits default to 65,535 async and 65,535 oneway.
    pub common: CommonConfig,
    /// How long to wait for a TCP connection (3 s).
    pub connect_timeout: Duration,
    /// Close a connection when a sync call on it times out (Java's `clientCloseSocketIfTimeout`).
    pub close_socket_if_timeout: bool,
    /// Speak TLS to every server, trusting and presenting what this says; None: plain. The
    /// handshake completes within [`ClientConfig::connect_timeout`].
    #[cfg(feature = "tls")]
    pub tls: Option<super::TlsClientConfig>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            common: CommonConfig::with_permits(65_535, 65_535),
            connect_timeout: Duration::from_secs(3),
            close_socket_if_timeout: true,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

/// The TLS setters of a server builder whose remoting settings are `self.config.server` (the
/// name server's and the broker's).
#[cfg(feature = "servers")]
macro_rules! server_tls_setters {
    () => {
        /// Plain connections, TLS ones or both (default disabled): see
        /// [`ServerConfig::tls_mode`](crate::remoting::ServerConfig::tls_mode).
        #[cfg(feature = "tls")]
        pub fn tls_mode(mut self, mode: crate::remoting::TlsMode) -> Self {
            self.config.server.tls_mode = mode;
            self
        }

        /// The certificate chain (PEM, leaf first) presented to TLS clients.
        #[cfg(feature = "tls")]
        pub fn tls_cert(mut self, path: impl Into<std::path::PathBuf>) -> Self {
            self.config.server.tls_cert = Some(path.into());
            self
        }

        /// The private key (PEM) of [`Self::tls_cert`].
        #[cfg(feature = "tls")]
        pub fn tls_key(mut self, path: impl Into<std::path::PathBuf>) -> Self {
            self.config.server.tls_key = Some(path.into());
            self
        }

        /// Require TLS clients to present a certificate signed by an authority in this PEM file.
        #[cfg(feature = "tls")]
        pub fn tls_client_ca(mut self, path: impl Into<std::path::PathBuf>) -> Self {
            self.config.server.tls_client_ca = Some(path.into());
            self
        }
    };
}

#[cfg(feature = "servers")]
pub(crate) use server_tls_setters;
