//! The broker's settings and state: GET_BROKER_CONFIG (26) and GET_BROKER_RUNTIME_INFO (28);
//! mirrors `getBrokerConfig` and `prepareRuntimeInfo` of Java's `AdminBrokerProcessor`.
//!
//! Settings are reported under Java's names where this broker has the setting, with this
//! broker's values. Runtime values are measured, except the few this broker cannot measure
//! (named in [`AdminBrokerProcessor::get_broker_runtime_info`]).

use std::sync::Weak;

use super::AdminBrokerProcessor;
use crate::broker::configuration;
use crate::broker::store::java_double;
use crate::common::sync::{MutexExt, RwLockExt};
use crate::protocol::body::KvTable;
use crate::protocol::codes::request_code;
use crate::protocol::codes::response_code;
use crate::protocol::header::GetBrokerConfigResponseHeader;
use crate::protocol::{CommandCustomHeader, RemotingCommand};

/// The version code our brokers answer with (`MQVersion.CURRENT_VERSION` of 4.9.8).
const BROKER_VERSION: i32 = 409;

/// `MixAll.humanReadableByteCount(bytes, false)`: `512 B`, `1.5 KiB`, `2.0 MiB`.
fn human_readable_bytes(bytes: i64) -> String {
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let exp = ((bytes as f64).ln() / 1024f64.ln()).floor() as i32;
    let unit = ["K", "M", "G", "T", "P", "E"][(exp - 1).clamp(0, 5) as usize];
    format!("{:.1} {unit}iB", bytes as f64 / 1024f64.powi(exp))
}

impl AdminBrokerProcessor {
    /// UPDATE_BROKER_CONFIG (`updateBrokerConfig`): the body's `key=value` lines change the
    /// settings that may change at run time, all or none (see `configuration`); the store
    /// takes its part at once, and the config file keeps them for the next start.
    pub(super) fn update_broker_config(&self, request: &RemotingCommand) -> RemotingCommand {
        let b = &self.broker;
        let Ok(body) = std::str::from_utf8(&request.body) else {
            return RemotingCommand::new_response(
                response_code::SYSTEM_ERROR,
                "bad config: the body is not UTF-8 text; nothing changed".to_string(),
            );
        };
        // One update at a time (Java's method is synchronized): each persists what it set.
        // The settings' own lock is taken only to swap them, so sends, pulls and pops that
        // read a setting do not wait for the file's fsync.
        let _one_update = self.config_update.lock_unpoisoned();
        let current = b.current_config();
        let updated = match configuration::apply_update(&current, body) {
            Ok(updated) => updated,
            Err(refused) => {
                log::warn!("refused a broker config update: {}", refused.remark);
                return RemotingCommand::new_response(refused.code, refused.remark);
            }
        };
        if let Err(e) = configuration::persist(&updated) {
            return RemotingCommand::new_response(
                response_code::SYSTEM_ERROR,
                format!("persisting the broker config failed: {e}; nothing changed"),
            );
        }
        b.store
            .update_config(&crate::broker::store_config(&updated, b.store_host));
        // The pop checkpoint log is flushed as the commit log is.
        self.pop.checkpoints.set_sync_flush(
            updated.flush_disk_type == crate::broker::store::FlushDiskType::SyncFlush,
        );
        log::info!("broker config updated: {}", body.trim().replace('\n', ", "));
        *b.settings.write_unpoisoned() = updated;
        b.config_version
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        RemotingCommand::success()
    }

    /// GET_BROKER_CONFIG: `key=value` lines of the settings now, and their version (counter:
    /// the updates since start).
    pub(super) fn get_broker_config(&self) -> RemotingCommand {
        let b = &self.broker;
        let current = b.current_config();
        let c = &current;
        let ip = b.broker_addr.rsplit_once(':').map_or("", |(ip, _)| ip);
        let port = b.broker_addr.rsplit_once(':').map_or("", |(_, port)| port);
        let settings: Vec<(&str, String)> = vec![
            ("brokerClusterName", c.cluster_name.clone()),
            ("brokerName", c.broker_name.clone()),
            ("brokerId", "0".into()),
            ("brokerIP1", ip.to_string()),
            ("listenPort", port.to_string()),
            ("namesrvAddr", c.namesrv_addrs.join(";")),
            ("brokerRole", "ASYNC_MASTER".into()),
            ("brokerPermission", "6".into()),
            ("storePathRootDir", c.store_dir.display().to_string()),
            (
                "brokerConfigPath",
                configuration::config_file_path(c).display().to_string(),
            ),
            ("maxMessageSize", c.max_message_size.to_string()),
            ("messageIndexEnable", "true".into()),
            ("maxMsgsNumBatch", "64".into()),
            ("defaultQueryMaxNum", "32".into()),
            ("clusterTopicEnable", "true".into()),
            ("brokerTopicEnable", "true".into()),
            (
                "defaultTopicQueueNums",
                c.default_topic_queue_nums.to_string(),
            ),
            ("messageDelayLevel", c.message_delay_level.clone()),
            (
                "transactionTimeOut",
                c.transaction_timeout.as_millis().to_string(),
            ),
            ("transactionCheckMax", c.transaction_check_max.to_string()),
            (
                "transactionCheckInterval",
                c.transaction_check_interval.as_millis().to_string(),
            ),
            ("storeReplyMessageEnable", c.store_reply_message.to_string()),
            ("regionId", c.region_id.clone()),
            ("traceOn", c.trace_on.to_string()),
            (
                "registerNameServerPeriod",
                c.register_interval.as_millis().to_string(),
            ),
            (
                "flushConsumerOffsetInterval",
                c.offset_flush_interval.as_millis().to_string(),
            ),
            ("serverChannelMaxIdleTimeSeconds", "120".into()),
            ("sendMessageThreadPoolNums", "8".into()),
            ("pullMessageThreadPoolNums", "8".into()),
            ("processReplyMessageThreadPoolNums", "8".into()),
            ("queryMessageThreadPoolNums", "4".into()),
            ("endTransactionThreadPoolNums", "4".into()),
            ("sendThreadPoolQueueCapacity", "10000".into()),
            ("pullThreadPoolQueueCapacity", "100000".into()),
            ("replyThreadPoolQueueCapacity", "10000".into()),
            ("queryThreadPoolQueueCapacity", "20000".into()),
            ("endTransactionPoolQueueCapacity", "100000".into()),
        ];
        let live = configuration::settings(c);
        let body: String = settings
            .iter()
            .map(|(k, v)| (*k, v))
            .chain(live.iter().map(|(k, v)| (*k, v)))
            .map(|(k, v)| format!("{k}={v}\n"))
            .collect();
        let mut response = RemotingCommand::success().with_body(body.into_bytes());
        GetBrokerConfigResponseHeader {
            version: format!(
                "{{\"counter\":{},\"timestamp\":{}}}",
                b.config_version.load(std::sync::atomic::Ordering::Relaxed),
                b.store.stats().boot_timestamp()
            ),
        }
        .write_to(&mut response.ext_fields);
        response
    }

    /// GET_BROKER_RUNTIME_INFO: the store's counters and rates, the day-start totals, the
    /// processor queues, the commit log's extent, the disk ratios (measured now). Not
    /// measured here, reported as Java's idle values: the head wait time of the processor
    /// queues and the page cache lock time (`0`).
    pub(super) fn get_broker_runtime_info(&self) -> RemotingCommand {
        let b = &self.broker;
        let store = &b.store;
        let mut table = KvTable::default();
        let mut put = |k: &str, v: String| {
            table.table.insert(k.to_string(), v);
        };
        for (key, value) in store.stats().runtime_info() {
            put(&key, value);
        }
        put("brokerVersionDesc", "V4_9_8".into());
        put("brokerVersion", BROKER_VERSION.to_string());
        put(
            "brokerImplementation",
            format!("rocketmq-blocking {}", env!("CARGO_PKG_VERSION")),
        );
        let daily = b.stats.daily_totals();
        put(
            "msgPutTotalYesterdayMorning",
            daily.put_yesterday_morning.to_string(),
        );
        put(
            "msgPutTotalTodayMorning",
            daily.put_today_morning.to_string(),
        );
        put(
            "msgPutTotalTodayNow",
            store.stats().put_message_times_total().to_string(),
        );
        put(
            "msgGetTotalYesterdayMorning",
            daily.get_yesterday_morning.to_string(),
        );
        put(
            "msgGetTotalTodayMorning",
            daily.get_today_morning.to_string(),
        );
        put(
            "msgGetTotalTodayNow",
            store.stats().get_transferred_total().to_string(),
        );
        let server = b.server.get().and_then(Weak::upgrade);
        let queue = |code: i32| {
            server
                .as_ref()
                .and_then(|s| s.processor_queue(code))
                .unwrap_or((0, 0))
        };
        for (prefix, code) in [
            ("send", request_code::SEND_MESSAGE_V2),
            ("pull", request_code::PULL_MESSAGE),
            ("query", request_code::QUERY_MESSAGE),
        ] {
            let (len, capacity) = queue(code);
            put(&format!("{prefix}ThreadPoolQueueSize"), len.to_string());
            put(
                &format!("{prefix}ThreadPoolQueueCapacity"),
                capacity.to_string(),
            );
            put(
                &format!("{prefix}ThreadPoolQueueHeadWaitTimeMills"),
                "0".into(),
            );
        }
        let (len, capacity) = queue(request_code::END_TRANSACTION);
        put("EndTransactionQueueSize", len.to_string());
        put(
            "EndTransactionThreadPoolQueueCapacity",
            capacity.to_string(),
        );
        put("dispatchBehindBytes", "0".into());
        put("pageCacheLockTimeMills", "0".into());
        put(
            "earliestMessageTimeStamp",
            store.earliest_message_time().unwrap_or(-1).to_string(),
        );
        put("startAcceptSendRequestTimeStamp", "0".into());
        put("remainTransientStoreBufferNumbs", i32::MAX.to_string());
        put(
            "remainHowManyDataToFlush",
            human_readable_bytes(store.unflushed_bytes()),
        );
        put("commitLogMinOffset", store.min_phy_offset().to_string());
        put("commitLogMaxOffset", store.max_phy_offset().to_string());
        let commit_log = b.config.store_dir.join("commitlog");
        let disk = store.check_disk();
        put(
            &format!("commitLogDiskRatio_{}", commit_log.display()),
            java_double(disk.commit_log_ratio),
        );
        put("commitLogDiskRatio", java_double(disk.commit_log_ratio));
        put(
            "consumeQueueDiskRatio",
            java_double(disk.consume_queue_ratio),
        );
        for (level, offset) in b.schedule.offsets() {
            let max = store.max_offset_in_queue(
                crate::broker::schedule_message_service::SCHEDULE_TOPIC,
                level - 1,
            );
            put(
                &format!("scheduleMessageOffset_{level}"),
                format!("{offset},{max}"),
            );
        }
        for (key, value) in b.timer.runtime_info(crate::common::clock::now_millis()) {
            put(key, value.to_string());
        }
        RemotingCommand::success().with_body(table.to_json().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::human_readable_bytes;

    #[test]
    fn byte_counts_read_as_javas() {
        assert_eq!(human_readable_bytes(0), "0 B");
        assert_eq!(human_readable_bytes(1023), "1023 B");
        assert_eq!(human_readable_bytes(1536), "1.5 KiB");
        assert_eq!(human_readable_bytes(3 * 1024 * 1024), "3.0 MiB");
    }
}
