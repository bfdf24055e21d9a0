//! `BrokerConfig` and `BrokerBuilder`: what a reference broker is called, where it listens
//! and what it allows, and the one way to start one.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::pop::PopConfig;
use super::store::{DeleteWhen, DiskUsageProbe, FlushDiskType};
use super::{Broker, BrokerError};
use crate::remoting::ServerConfig;

/// Settings of a [`Broker`]; mirrors the parts of Java's `BrokerConfig`, `NettyServerConfig`
/// and `MessageStoreConfig` that the reference broker uses. Made by [`BrokerBuilder`]; read
/// back with [`Broker::config`].
#[derive(Debug, Clone)]
#[non_exhaustive]
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
    /// How to reach the name servers over TLS; None (the default): plain.
    #[cfg(feature = "tls")]
    pub namesrv_tls: Option<crate::remoting::TlsClientConfig>,
    /// Where the commit log, indexes and config files live (`storePathRootDir`).
    pub store_dir: PathBuf,
    /// Async (default) or sync flush.
    pub flush_disk_type: FlushDiskType,
    /// How often the commit log is fsynced with async flush (`flushIntervalCommitLog`,
    /// 500 ms).
    pub flush_interval: Duration,
    /// Bytes per commit log segment (`mappedFileSizeCommitLog`, 64 MiB).
    pub commit_log_segment_size: u64,
    /// Entries per consume queue file (`mappedFileSizeConsumeQueue / 20`, 300,000).
    pub consume_queue_file_entries: i64,
    /// Hash slots per key index file (`maxHashSlotNum`, 5,000,000).
    pub max_hash_slot_num: u32,
    /// Entries per key index file (`maxIndexNum`, 20,000,000).
    pub max_index_num: u32,
    /// How long a commit log segment is kept after its last write (`fileReservedTime`, 72 h).
    pub file_reserved_time: Duration,
    /// The hours at which expired files are deleted (`deleteWhen`, `"04"`).
    pub delete_when: DeleteWhen,
    /// Percent of the disk above which expired files are deleted whatever the hour
    /// (`diskMaxUsedSpaceRatio`, 75).
    pub disk_max_used_space_ratio: u8,
    /// Percent above which puts are refused (`diskSpaceWarningLevelRatio`, 90).
    pub disk_space_warning_level_ratio: u8,
    /// Percent above which the oldest segments go even unexpired
    /// (`diskSpaceCleanForciblyRatio`, 85).
    pub disk_space_clean_forcibly_ratio: u8,
    /// Whether a nearly full disk deletes unexpired segments (`cleanFileForciblyEnable`, on).
    pub clean_file_forcibly: bool,
    /// How often the disk is measured and expired files looked for (`cleanResourceInterval`,
    /// 10 s).
    pub clean_resource_interval: Duration,
    /// Pause between two deleted segments (`deleteCommitLogFilesInterval`, 100 ms).
    pub delete_files_interval: Duration,
    /// How full the disk is; None: the file system's own figures (statvfs).
    pub disk_usage: Option<Arc<dyn DiskUsageProbe>>,
    /// A send that waited longer than this in the send queue is answered SYSTEM_BUSY
    /// `[TIMEOUT_CLEAN_QUEUE]` instead of stored (`waitTimeMillsInSendQueue`, 200 ms).
    pub wait_time_in_send_queue: Duration,
    /// Where settings changed at run time are kept (`brokerConfigPath`); None:
    /// `<store_dir>/config/broker.properties`. Read at start: its keys override the builder's.
    pub config_file: Option<PathBuf>,
    /// Sends to unknown topics create them from TBW102 (`autoCreateTopicEnable`, on).
    pub auto_create_topic: bool,
    /// A group's config is created when one of its consumers first shows up
    /// (`autoCreateSubscriptionGroup`, on); off: pulls of unknown groups are refused.
    pub auto_create_subscription_group: bool,
    /// Queues of TBW102 (`defaultTopicQueueNums`, 8); producers clamp to their own default 4.
    pub default_topic_queue_nums: i32,
    /// How often to re-register with the name servers (30 s).
    pub register_interval: Duration,
    /// Region written into send responses (`regionId`, "DefaultRegion").
    pub region_id: String,
    /// Whether send responses say message tracing is on (`traceOn`, true).
    pub trace_on: bool,
    /// Create the message trace topic at start (`traceTopicEnable`, off), for clients that
    /// write trace records when auto-creation is off.
    pub trace_topic_enable: bool,
    /// The trace topic created with `trace_topic_enable` (`msgTraceTopicName`,
    /// `RMQ_SYS_TRACE_TOPIC`).
    pub msg_trace_topic_name: String,
    /// Largest message accepted (`maxMessageSize`, 4 MiB).
    pub max_message_size: usize,
    /// Whether a pull with nothing to read may be held (`longPollingEnable`, on).
    pub long_polling: bool,
    /// A client that has not sent a heartbeat for this long is dropped (120 s).
    pub client_channel_expiry: Duration,
    /// How often dirty consumer offsets are written to disk (1 s; Java: 5 s).
    pub offset_flush_interval: Duration,
    /// The delay of each level, level 1 first (`messageDelayLevel`, "1s 5s 10s 30s 1m 2m 3m
    /// 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h"); units s, m, h, d, and ms.
    pub message_delay_level: String,
    /// Refuse transactional half messages (`rejectTransactionMessage`, false).
    pub reject_transaction_message: bool,
    /// A half message younger than this is not checked yet (`transactionTimeOut`, 6 s).
    pub transaction_timeout: Duration,
    /// Checks of one half message before it is discarded to `TRANS_CHECK_MAX_TIME_TOPIC`
    /// (`transactionCheckMax`, 15).
    pub transaction_check_max: i32,
    /// How often open half messages are looked at (`transactionCheckInterval`, 60 s).
    pub transaction_check_interval: Duration,
    /// Store replies in the reply topic besides pushing them (`storeReplyMessageEnable`,
    /// true).
    pub store_reply_message: bool,
    /// Accept timer messages (`timerWheelEnable`, on): messages due at a time of their own
    /// (`TIMER_DELIVER_MS`, `TIMER_DELAY_SEC`, `TIMER_DELAY_MS`), 5.x.
    pub timer_wheel_enable: bool,
    /// The timer's granularity (`timerPrecisionMs`, 1000 ms): a timer message is delivered
    /// within this much after its time.
    pub timer_precision_ms: i64,
    /// How far ahead a timer message may be due (`timerMaxDelaySec`, 3 days).
    pub timer_max_delay_sec: i64,
    /// Serve RECALL_MESSAGE, which cancels a timer message not yet delivered
    /// (`recallMessageEnable`, off as in Java 5.3).
    pub recall_message_enable: bool,
    /// Serve SQL92 subscriptions (`enablePropertyFilter`, off as in Java): consumers may
    /// filter by an expression over message properties.
    pub enable_property_filter: bool,
    /// How POP is served (5.x).
    pub pop: PopConfig,
    /// The ACL account table (Java's `plain_acl.yml` as JSON); when set, every request must
    /// pass [`PlainAccessValidator`](crate::acl::PlainAccessValidator) (`aclEnable`).
    #[cfg(feature = "acl")]
    pub acl_file: Option<PathBuf>,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
        BrokerConfig {
            server: ServerConfig::listen("0.0.0.0:10911"),
            advertised_addr: None,
            broker_name: "broker-a".into(),
            cluster_name: "DefaultCluster".into(),
            namesrv_addrs: Vec::new(),
            #[cfg(feature = "tls")]
            namesrv_tls: None,
            store_dir: home.join("store"),
            flush_disk_type: FlushDiskType::AsyncFlush,
            flush_interval: Duration::from_millis(500),
            commit_log_segment_size: 64 * 1024 * 1024,
            consume_queue_file_entries: 300_000,
            max_hash_slot_num: 5_000_000,
            max_index_num: 20_000_000,
            file_reserved_time: Duration::from_secs(72 * 3600),
            delete_when: DeleteWhen::default(),
            disk_max_used_space_ratio: 75,
            disk_space_warning_level_ratio: 90,
            disk_space_clean_forcibly_ratio: 85,
            clean_file_forcibly: true,
            clean_resource_interval: Duration::from_secs(10),
            delete_files_interval: Duration::from_millis(100),
            disk_usage: None,
            wait_time_in_send_queue: Duration::from_millis(200),
            config_file: None,
            auto_create_topic: true,
            auto_create_subscription_group: true,
            default_topic_queue_nums: 8,
            register_interval: Duration::from_secs(30),
            region_id: "DefaultRegion".into(),
            trace_on: true,
            trace_topic_enable: false,
            msg_trace_topic_name: "RMQ_SYS_TRACE_TOPIC".into(),
            max_message_size: 4 * 1024 * 1024,
            long_polling: true,
            client_channel_expiry: Duration::from_secs(120),
            offset_flush_interval: Duration::from_secs(1),
            message_delay_level: super::schedule_message_service::DEFAULT_MESSAGE_DELAY_LEVEL
                .to_string(),
            reject_transaction_message: false,
            transaction_timeout: Duration::from_secs(6),
            transaction_check_max: 15,
            transaction_check_interval: Duration::from_secs(60),
            store_reply_message: true,
            timer_wheel_enable: true,
            timer_precision_ms: 1000,
            timer_max_delay_sec: 259_200,
            recall_message_enable: false,
            enable_property_filter: false,
            pop: PopConfig::default(),
            #[cfg(feature = "acl")]
            acl_file: None,
        }
    }
}

/// Builds and starts a [`Broker`], one setting per call, with Java's defaults (listening on
/// 0.0.0.0:10911, storing under `~/store`).
///
/// ```no_run
/// use rocketmq_blocking::broker::Broker;
///
/// let broker = Broker::builder()
///     .listen("127.0.0.1:10911")
///     .name_server("127.0.0.1:9876")
///     .store_dir("/var/lib/rocketmq/broker-a")
///     .start()?;
/// # Ok::<(), rocketmq_blocking::broker::BrokerError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct BrokerBuilder {
    config: BrokerConfig,
}

impl BrokerBuilder {
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

    /// Register with the name servers over TLS, as this says (default: plain).
    #[cfg(feature = "tls")]
    pub fn namesrv_tls(mut self, tls: crate::remoting::TlsClientConfig) -> Self {
        self.config.namesrv_tls = Some(tls);
        self
    }

    /// Name servers to register with, as Java writes them: `"host:port;host:port"`.
    pub fn name_server(mut self, addrs: &str) -> Self {
        self.config.namesrv_addrs = addrs
            .split(';')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .collect();
        self
    }

    /// Where the store lives.
    pub fn store_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config.store_dir = dir.into();
        self
    }

    /// The address to register and write into message ids (default: the bound address).
    pub fn advertised_addr(mut self, addr: impl Into<String>) -> Self {
        self.config.advertised_addr = Some(addr.into());
        self
    }

    /// The broker's name ("broker-a").
    pub fn broker_name(mut self, name: impl Into<String>) -> Self {
        self.config.broker_name = name.into();
        self
    }

    /// The cluster's name ("DefaultCluster").
    pub fn cluster_name(mut self, name: impl Into<String>) -> Self {
        self.config.cluster_name = name.into();
        self
    }

    /// Async (default) or sync flush.
    pub fn flush_disk_type(mut self, flush: FlushDiskType) -> Self {
        self.config.flush_disk_type = flush;
        self
    }

    /// Bytes per commit log segment (`mappedFileSizeCommitLog`, 64 MiB).
    pub fn commit_log_segment_size(mut self, bytes: u64) -> Self {
        self.config.commit_log_segment_size = bytes;
        self
    }

    /// Entries per consume queue file (300,000).
    pub fn consume_queue_file_entries(mut self, entries: i64) -> Self {
        self.config.consume_queue_file_entries = entries;
        self
    }

    /// Hash slots and entries per key index file (`maxHashSlotNum` 5,000,000, `maxIndexNum`
    /// 20,000,000: a 420 MB sparse file).
    pub fn index_file_size(mut self, hash_slots: u32, entries: u32) -> Self {
        self.config.max_hash_slot_num = hash_slots;
        self.config.max_index_num = entries;
        self
    }

    /// How long commit log segments are kept after their last write (`fileReservedTime`,
    /// 72 h).
    pub fn file_reserved_time(mut self, time: Duration) -> Self {
        self.config.file_reserved_time = time;
        self
    }

    /// The hours at which expired files are deleted (`deleteWhen`, `"04"`).
    pub fn delete_when(mut self, hours: DeleteWhen) -> Self {
        self.config.delete_when = hours;
        self
    }

    /// Percent of the disk above which expired files are deleted at once
    /// (`diskMaxUsedSpaceRatio`, 75).
    pub fn disk_max_used_space_ratio(mut self, percent: u8) -> Self {
        self.config.disk_max_used_space_ratio = percent;
        self
    }

    /// How often the disk is measured and expired files looked for (10 s).
    pub fn clean_resource_interval(mut self, interval: Duration) -> Self {
        self.config.clean_resource_interval = interval;
        self
    }

    /// How full the disk is, instead of the file system's own figures.
    pub fn disk_usage(mut self, probe: Arc<dyn DiskUsageProbe>) -> Self {
        self.config.disk_usage = Some(probe);
        self
    }

    /// Where settings changed at run time are kept (default
    /// `<store_dir>/config/broker.properties`); its keys override the builder's at start.
    pub fn config_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.config.config_file = Some(path.into());
        self
    }

    /// Whether sends to unknown topics create them (on).
    pub fn auto_create_topic(mut self, enable: bool) -> Self {
        self.config.auto_create_topic = enable;
        self
    }

    /// Queues of TBW102 (8).
    pub fn default_topic_queue_nums(mut self, queues: i32) -> Self {
        self.config.default_topic_queue_nums = queues;
        self
    }

    /// How often to re-register with the name servers (30 s).
    pub fn register_interval(mut self, interval: Duration) -> Self {
        self.config.register_interval = interval;
        self
    }

    /// Region written into send responses ("DefaultRegion").
    pub fn region_id(mut self, region: impl Into<String>) -> Self {
        self.config.region_id = region.into();
        self
    }

    /// Whether send responses say message tracing is on (true).
    pub fn trace_on(mut self, on: bool) -> Self {
        self.config.trace_on = on;
        self
    }

    /// Create the message trace topic at start (`traceTopicEnable`, off).
    pub fn trace_topic_enable(mut self, enable: bool) -> Self {
        self.config.trace_topic_enable = enable;
        self
    }

    /// The trace topic `trace_topic_enable` creates (`msgTraceTopicName`,
    /// `RMQ_SYS_TRACE_TOPIC`).
    pub fn msg_trace_topic_name(mut self, topic: impl Into<String>) -> Self {
        self.config.msg_trace_topic_name = topic.into();
        self
    }

    /// Largest message accepted (4 MiB).
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.config.max_message_size = bytes;
        self
    }

    /// Whether pulls with nothing to read are held (on).
    pub fn long_polling(mut self, enable: bool) -> Self {
        self.config.long_polling = enable;
        self
    }

    /// How long a client may go without a heartbeat (120 s).
    pub fn client_channel_expiry(mut self, expiry: Duration) -> Self {
        self.config.client_channel_expiry = expiry;
        self
    }

    /// How often dirty consumer offsets are written (1 s).
    pub fn offset_flush_interval(mut self, interval: Duration) -> Self {
        self.config.offset_flush_interval = interval;
        self
    }

    /// The delay levels (`messageDelayLevel`): e.g. `"1s 5s 10s"` (tests shorten them).
    pub fn message_delay_level(mut self, levels: impl Into<String>) -> Self {
        self.config.message_delay_level = levels.into();
        self
    }

    /// Refuse transactional half messages with NO_PERMISSION (`rejectTransactionMessage`).
    pub fn reject_transaction_message(mut self, reject: bool) -> Self {
        self.config.reject_transaction_message = reject;
        self
    }

    /// How old an open half message must be before its producer group is asked about it
    /// (`transactionTimeOut`, 6 s).
    pub fn transaction_timeout(mut self, timeout: Duration) -> Self {
        self.config.transaction_timeout = timeout;
        self
    }

    /// How many times a half message is checked before it is given up
    /// (`transactionCheckMax`, 15).
    pub fn transaction_check_max(mut self, max: i32) -> Self {
        self.config.transaction_check_max = max;
        self
    }

    /// How often open half messages are looked at (`transactionCheckInterval`, 60 s).
    pub fn transaction_check_interval(mut self, interval: Duration) -> Self {
        self.config.transaction_check_interval = interval;
        self
    }

    /// Store replies besides pushing them to the requester (`storeReplyMessageEnable`).
    pub fn store_reply_message(mut self, store: bool) -> Self {
        self.config.store_reply_message = store;
        self
    }

    /// Accept timer messages (`timerWheelEnable`, on).
    pub fn timer_wheel_enable(mut self, enable: bool) -> Self {
        self.config.timer_wheel_enable = enable;
        self
    }

    /// The timer's granularity (`timerPrecisionMs`): 100, 200, 500 or 1000 ms (the default).
    pub fn timer_precision_ms(mut self, precision_ms: i64) -> Self {
        self.config.timer_precision_ms = precision_ms;
        self
    }

    /// How far ahead a timer message may be due (`timerMaxDelaySec`, 259,200 = 3 days).
    pub fn timer_max_delay_sec(mut self, seconds: i64) -> Self {
        self.config.timer_max_delay_sec = seconds;
        self
    }

    /// Serve RECALL_MESSAGE (`recallMessageEnable`, off).
    pub fn recall_message_enable(mut self, enable: bool) -> Self {
        self.config.recall_message_enable = enable;
        self
    }

    /// Serve SQL92 subscriptions (`enablePropertyFilter`, off).
    pub fn enable_property_filter(mut self, enable: bool) -> Self {
        self.config.enable_property_filter = enable;
        self
    }

    /// Whether a group without a config gets the default one (`autoCreateSubscriptionGroup`,
    /// true).
    pub fn auto_create_subscription_group(mut self, enable: bool) -> Self {
        self.config.auto_create_subscription_group = enable;
        self
    }

    /// How POP is served (see [`PopConfig`]).
    pub fn pop_config(mut self, pop: PopConfig) -> Self {
        self.config.pop = pop;
        self
    }

    /// Checks every request against the ACL account table in `path` (JSON with the field
    /// names of Java's `plain_acl.yml`); a bad table fails `start`.
    #[cfg(feature = "acl")]
    pub fn acl_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.config.acl_file = Some(path.into());
        self
    }

    /// The configuration built so far.
    pub fn config(&self) -> &BrokerConfig {
        &self.config
    }

    /// Binds, opens (and recovers) the store, registers the processors, starts serving and
    /// registers with every name server.
    pub fn start(self) -> Result<Broker, BrokerError> {
        Broker::start(self.config)
    }
}
