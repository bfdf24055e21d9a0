//! The broker's settings by Java's names: the config file read at start, GET_BROKER_CONFIG
//! and UPDATE_BROKER_CONFIG (25); mirrors Java's `Configuration` over `BrokerConfig` and
//! `MessageStoreConfig`.
//!
//! The config file holds `key=value` lines (Java's properties: `#` and `!` start comments).
//! At start every key it names overrides the builder's value. UPDATE_BROKER_CONFIG changes the
//! settings that may change at run time ([`LIVE_KEYS`]) and writes them to the file, keeping
//! its other lines, so a restart keeps them. An update is all or nothing: a line that is not
//! `key=value`, a key this broker does not know, a key that cannot change while it runs, or a
//! value of the wrong type refuses the whole update with a remark that names it, and nothing
//! changes. (Java ignores unknown keys and unparsable values silently; its black-listed keys
//! answer NO_PERMISSION, as here.)

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::config::BrokerConfig;
use super::persist::{read_if_exists, write_atomically};
use super::store::{DeleteWhen, FlushDiskType};

/// Keys no update may set (`configBlackList`).
const BLACK_LIST: [&str; 2] = ["configBlackList", "brokerConfigPath"];

/// One setting by its Java name.
struct Key {
    name: &'static str,
    /// Reads a value into the config; the error says what was expected.
    set: fn(&mut BrokerConfig, &str) -> Result<(), String>,
    /// The value as Java writes it.
    get: fn(&BrokerConfig) -> String,
}

fn parse_bool(v: &str) -> Result<bool, String> {
    match v {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err("true or false".into()),
    }
}

fn parse_millis(v: &str) -> Result<Duration, String> {
    v.parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|_| "milliseconds, a whole number".into())
}

fn parse_percent(v: &str) -> Result<u8, String> {
    v.parse::<u8>()
        .ok()
        .filter(|p| *p <= 100)
        .ok_or_else(|| "a percentage, 0 to 100".into())
}

fn parse_hours(v: &str) -> Result<Duration, String> {
    v.parse::<f64>()
        .ok()
        .filter(|h| h.is_finite() && *h >= 0.0 && *h < 1e6)
        .map(|h| Duration::from_secs_f64(h * 3600.0))
        .ok_or_else(|| "hours, a number of 0 or more".into())
}

fn show_hours(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if d.as_secs() % 3600 == 0 && d.subsec_nanos() == 0 {
        (d.as_secs() / 3600).to_string()
    } else {
        format!("{}", secs / 3600.0)
    }
}

fn parse_u32(v: &str) -> Result<u32, String> {
    v.parse::<u32>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| "a whole number above 0".into())
}

fn flush_name(flush: FlushDiskType) -> &'static str {
    match flush {
        FlushDiskType::AsyncFlush => "ASYNC_FLUSH",
        FlushDiskType::SyncFlush => "SYNC_FLUSH",
    }
}

/// The settings UPDATE_BROKER_CONFIG changes while the broker runs.
const LIVE_KEYS: &[Key] = &[
    Key {
        name: "flushDiskType",
        set: |c, v| {
            c.flush_disk_type = match v {
                "ASYNC_FLUSH" => FlushDiskType::AsyncFlush,
                "SYNC_FLUSH" => FlushDiskType::SyncFlush,
                _ => return Err("ASYNC_FLUSH or SYNC_FLUSH".into()),
            };
            Ok(())
        },
        get: |c| flush_name(c.flush_disk_type).into(),
    },
    Key {
        name: "flushIntervalCommitLog",
        set: |c, v| {
            c.flush_interval = parse_millis(v)?;
            if c.flush_interval.is_zero() {
                return Err("milliseconds above 0".into());
            }
            Ok(())
        },
        get: |c| c.flush_interval.as_millis().to_string(),
    },
    Key {
        name: "fileReservedTime",
        set: |c, v| {
            c.file_reserved_time = parse_hours(v)?;
            Ok(())
        },
        get: |c| show_hours(c.file_reserved_time),
    },
    Key {
        name: "deleteWhen",
        set: |c, v| {
            c.delete_when = DeleteWhen::parse(v)?;
            Ok(())
        },
        get: |c| c.delete_when.to_string(),
    },
    Key {
        name: "diskMaxUsedSpaceRatio",
        set: |c, v| {
            c.disk_max_used_space_ratio = parse_percent(v)?;
            Ok(())
        },
        get: |c| c.disk_max_used_space_ratio.to_string(),
    },
    Key {
        name: "diskSpaceWarningLevelRatio",
        set: |c, v| {
            c.disk_space_warning_level_ratio = parse_percent(v)?;
            Ok(())
        },
        get: |c| c.disk_space_warning_level_ratio.to_string(),
    },
    Key {
        name: "diskSpaceCleanForciblyRatio",
        set: |c, v| {
            c.disk_space_clean_forcibly_ratio = parse_percent(v)?;
            Ok(())
        },
        get: |c| c.disk_space_clean_forcibly_ratio.to_string(),
    },
    Key {
        name: "cleanFileForciblyEnable",
        set: |c, v| {
            c.clean_file_forcibly = parse_bool(v)?;
            Ok(())
        },
        get: |c| c.clean_file_forcibly.to_string(),
    },
    Key {
        name: "cleanResourceInterval",
        set: |c, v| {
            c.clean_resource_interval = parse_millis(v)?.max(Duration::from_millis(1));
            Ok(())
        },
        get: |c| c.clean_resource_interval.as_millis().to_string(),
    },
    Key {
        name: "deleteCommitLogFilesInterval",
        set: |c, v| {
            c.delete_files_interval = parse_millis(v)?;
            Ok(())
        },
        get: |c| c.delete_files_interval.as_millis().to_string(),
    },
    Key {
        name: "autoCreateTopicEnable",
        set: |c, v| {
            c.auto_create_topic = parse_bool(v)?;
            Ok(())
        },
        get: |c| c.auto_create_topic.to_string(),
    },
    Key {
        name: "autoCreateSubscriptionGroup",
        set: |c, v| {
            c.auto_create_subscription_group = parse_bool(v)?;
            Ok(())
        },
        get: |c| c.auto_create_subscription_group.to_string(),
    },
    Key {
        name: "waitTimeMillsInSendQueue",
        set: |c, v| {
            c.wait_time_in_send_queue = parse_millis(v)?;
            Ok(())
        },
        get: |c| c.wait_time_in_send_queue.as_millis().to_string(),
    },
    Key {
        name: "longPollingEnable",
        set: |c, v| {
            c.long_polling = parse_bool(v)?;
            Ok(())
        },
        get: |c| c.long_polling.to_string(),
    },
    Key {
        name: "rejectTransactionMessage",
        set: |c, v| {
            c.reject_transaction_message = parse_bool(v)?;
            Ok(())
        },
        get: |c| c.reject_transaction_message.to_string(),
    },
    Key {
        name: "enablePropertyFilter",
        set: |c, v| {
            c.enable_property_filter = parse_bool(v)?;
            Ok(())
        },
        get: |c| c.enable_property_filter.to_string(),
    },
    Key {
        name: "recallMessageEnable",
        set: |c, v| {
            c.recall_message_enable = parse_bool(v)?;
            Ok(())
        },
        get: |c| c.recall_message_enable.to_string(),
    },
];

/// Settings read from the config file at start only (the files' layout, the topics made at
/// start, what send answers say).
const START_KEYS: &[Key] = &[
    Key {
        name: "traceTopicEnable",
        set: |c, v| {
            c.trace_topic_enable = parse_bool(v)?;
            Ok(())
        },
        get: |c| c.trace_topic_enable.to_string(),
    },
    Key {
        name: "msgTraceTopicName",
        set: |c, v| {
            if v.is_empty() {
                return Err("a topic name".into());
            }
            c.msg_trace_topic_name = v.to_string();
            Ok(())
        },
        get: |c| c.msg_trace_topic_name.clone(),
    },
    Key {
        name: "regionId",
        set: |c, v| {
            c.region_id = v.to_string();
            Ok(())
        },
        get: |c| c.region_id.clone(),
    },
    Key {
        name: "traceOn",
        set: |c, v| {
            c.trace_on = parse_bool(v)?;
            Ok(())
        },
        get: |c| c.trace_on.to_string(),
    },
    Key {
        name: "mappedFileSizeCommitLog",
        set: |c, v| {
            c.commit_log_segment_size = u64::from(parse_u32(v)?);
            Ok(())
        },
        get: |c| c.commit_log_segment_size.to_string(),
    },
    Key {
        name: "mappedFileSizeConsumeQueue",
        set: |c, v| {
            c.consume_queue_file_entries = i64::from(parse_u32(v)?) / 20;
            Ok(())
        },
        get: |c| (c.consume_queue_file_entries * 20).to_string(),
    },
    Key {
        name: "maxHashSlotNum",
        set: |c, v| {
            c.max_hash_slot_num = parse_u32(v)?;
            Ok(())
        },
        get: |c| c.max_hash_slot_num.to_string(),
    },
    Key {
        name: "maxIndexNum",
        set: |c, v| {
            c.max_index_num = parse_u32(v)?;
            Ok(())
        },
        get: |c| c.max_index_num.to_string(),
    },
    Key {
        name: "timerWheelEnable",
        set: |c, v| {
            c.timer_wheel_enable = parse_bool(v)?;
            Ok(())
        },
        get: |c| c.timer_wheel_enable.to_string(),
    },
    Key {
        name: "timerPrecisionMs",
        set: |c, v| {
            c.timer_precision_ms = match v {
                "100" | "200" | "500" | "1000" => v.parse().unwrap_or(1000),
                _ => return Err("100, 200, 500 or 1000".into()),
            };
            Ok(())
        },
        get: |c| c.timer_precision_ms.to_string(),
    },
    Key {
        name: "timerMaxDelaySec",
        set: |c, v| {
            c.timer_max_delay_sec = i64::from(parse_u32(v)?);
            Ok(())
        },
        get: |c| c.timer_max_delay_sec.to_string(),
    },
];

/// Why an update was refused: Java's response code and a remark naming the line or key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UpdateRefused {
    /// NO_PERMISSION for a black-listed key, else SYSTEM_ERROR.
    pub code: i32,
    /// What was wrong.
    pub remark: String,
}

/// `key=value` lines (Java's properties, without line continuations); an error names the
/// first line that is neither that, blank, nor a comment.
pub(crate) fn parse_properties(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let Some((key, value)) = line.split_once(['=', ':']) else {
            return Err(format!("line {} is not key=value: {:?}", n + 1, cut(line)));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(format!("line {} has no key: {:?}", n + 1, cut(line)));
        }
        out.push((key.to_string(), value.trim().to_string()));
    }
    Ok(out)
}

/// At most 100 characters of what a peer sent, for a remark.
fn cut(text: &str) -> String {
    text.chars().take(100).collect()
}

fn find(keys: &'static [Key], name: &str) -> Option<&'static Key> {
    keys.iter().find(|k| k.name == name)
}

/// `config` with the settings of an UPDATE_BROKER_CONFIG body changed, or why not.
pub(crate) fn apply_update(
    config: &BrokerConfig,
    body: &str,
) -> Result<BrokerConfig, UpdateRefused> {
    let refused = |remark: String| UpdateRefused {
        code: crate::protocol::codes::response_code::SYSTEM_ERROR,
        remark,
    };
    let properties =
        parse_properties(body).map_err(|e| refused(format!("bad config: {e}; nothing changed")))?;
    if properties
        .iter()
        .any(|(k, _)| BLACK_LIST.contains(&k.as_str()))
    {
        return Err(UpdateRefused {
            code: crate::protocol::codes::response_code::NO_PERMISSION,
            remark: "Can not update config in black list.".into(),
        });
    }
    let mut updated = config.clone();
    for (key, value) in &properties {
        let Some(setting) = find(LIVE_KEYS, key) else {
            let why = if find(START_KEYS, key).is_some() {
                "is read at start only; change it in the config file and restart"
            } else {
                "is not a setting of this broker"
            };
            return Err(refused(format!("{:?} {why}; nothing changed", cut(key))));
        };
        (setting.set)(&mut updated, value).map_err(|expected| {
            refused(format!(
                "{key}={:?}: expected {expected}; nothing changed",
                cut(value)
            ))
        })?;
    }
    check(&updated).map_err(|e| refused(format!("{e}; nothing changed")))?;
    Ok(updated)
}

/// What no single key can check.
fn check(c: &BrokerConfig) -> Result<(), String> {
    if c.disk_space_clean_forcibly_ratio > c.disk_space_warning_level_ratio {
        return Err(format!(
            "diskSpaceCleanForciblyRatio {} is above diskSpaceWarningLevelRatio {}",
            c.disk_space_clean_forcibly_ratio, c.disk_space_warning_level_ratio
        ));
    }
    Ok(())
}

/// The config file's path.
pub(crate) fn config_file_path(config: &BrokerConfig) -> PathBuf {
    config
        .config_file
        .clone()
        .unwrap_or_else(|| config.store_dir.join("config").join("broker.properties"))
}

/// Applies the config file, if there is one, over `config` (at start: every key).
pub(crate) fn load_file(config: &mut BrokerConfig) -> Result<(), String> {
    let path = config_file_path(config);
    let Some(bytes) = read_if_exists(&path).map_err(|e| format!("{}: {e}", path.display()))? else {
        return Ok(());
    };
    let text = String::from_utf8_lossy(&bytes);
    let properties = parse_properties(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    for (key, value) in properties {
        match find(LIVE_KEYS, &key).or_else(|| find(START_KEYS, &key)) {
            Some(setting) => {
                (setting.set)(config, &value)
                    .map_err(|e| format!("{}: {key}={value:?}: expected {e}", path.display()))?;
                log::info!("{key}={value} from {}", path.display());
            }
            None => log::warn!("{}: ignoring unknown setting {key}", path.display()),
        }
    }
    check(config).map_err(|e| format!("{}: {e}", path.display()))
}

/// Writes the settings that change at run time into the config file, keeping its other lines.
pub(crate) fn persist(config: &BrokerConfig) -> std::io::Result<()> {
    let path = config_file_path(config);
    write_atomically(&path, &merged_file(&path, config)?)
}

fn merged_file(path: &Path, config: &BrokerConfig) -> std::io::Result<String> {
    let old = read_if_exists(path)?.unwrap_or_default();
    let old = String::from_utf8_lossy(&old);
    let mut written = Vec::new();
    let mut out = String::new();
    for line in old.lines() {
        let key = line.split_once(['=', ':']).map(|(k, _)| k.trim());
        match key.and_then(|k| find(LIVE_KEYS, k)) {
            Some(setting) if !line.trim_start().starts_with(['#', '!']) => {
                out.push_str(&format!("{}={}\n", setting.name, (setting.get)(config)));
                written.push(setting.name);
            }
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    for setting in LIVE_KEYS.iter().filter(|k| !written.contains(&k.name)) {
        out.push_str(&format!("{}={}\n", setting.name, (setting.get)(config)));
    }
    Ok(out)
}

/// Every setting by its Java name with its value now (for GET_BROKER_CONFIG).
pub(crate) fn settings(config: &BrokerConfig) -> Vec<(&'static str, String)> {
    LIVE_KEYS
        .iter()
        .chain(START_KEYS)
        .map(|k| (k.name, (k.get)(config)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::codes::response_code;

    #[test]
    fn updates_change_live_settings_all_or_nothing() {
        let base = BrokerConfig::default();
        let updated = apply_update(
            &base,
            "# a comment\nfileReservedTime=48\n\ndeleteWhen = 03;15\nautoCreateTopicEnable=false\n",
        )
        .unwrap();
        assert_eq!(updated.file_reserved_time, Duration::from_secs(48 * 3600));
        assert_eq!(updated.delete_when.to_string(), "03;15");
        assert!(!updated.auto_create_topic);

        for (body, says) in [
            ("fileReservedTime", "line 1 is not key=value"),
            (
                "fileReservedTime=48\nnoSuchKey=1",
                "\"noSuchKey\" is not a setting",
            ),
            ("mappedFileSizeCommitLog=1024", "read at start only"),
            (
                "diskMaxUsedSpaceRatio=lots",
                "diskMaxUsedSpaceRatio=\"lots\": expected a percentage",
            ),
            ("autoCreateTopicEnable=yes", "expected true or false"),
            ("deleteWhen=25", "not an hour"),
            (
                "diskSpaceCleanForciblyRatio=95",
                "above diskSpaceWarningLevelRatio",
            ),
        ] {
            let refused = apply_update(&base, body).unwrap_err();
            assert_eq!(refused.code, response_code::SYSTEM_ERROR, "{body}");
            assert!(refused.remark.contains(says), "{body}: {}", refused.remark);
        }
        let black = apply_update(&base, "brokerConfigPath=/etc/passwd").unwrap_err();
        assert_eq!(black.code, response_code::NO_PERMISSION);
        assert_eq!(black.remark, "Can not update config in black list.");
    }

    #[test]
    fn the_file_keeps_other_lines_and_reads_back() {
        let dir = crate::common::temp_dir::TempDir::new("broker-config-file").unwrap();
        let mut config = BrokerConfig {
            store_dir: dir.path().to_path_buf(),
            ..BrokerConfig::default()
        };
        let path = config_file_path(&config);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(
            &path,
            "# ops\nmappedFileSizeCommitLog=1048576\nfileReservedTime=1\n",
        )
        .unwrap();
        config.file_reserved_time = Duration::from_secs(7200);
        persist(&config).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# ops\nmappedFileSizeCommitLog=1048576\nfileReservedTime=2\n"));
        let mut loaded = BrokerConfig {
            store_dir: dir.path().to_path_buf(),
            ..BrokerConfig::default()
        };
        load_file(&mut loaded).unwrap();
        assert_eq!(loaded.commit_log_segment_size, 1_048_576);
        assert_eq!(loaded.file_reserved_time, Duration::from_secs(7200));
        std::fs::write(&path, "fileReservedTime=soon\n").unwrap();
        assert!(load_file(&mut loaded)
            .unwrap_err()
            .contains("fileReservedTime"));
    }

    #[test]
    fn trace_settings_are_read_by_javas_names_at_start() {
        let dir = crate::common::temp_dir::TempDir::new("broker-config-trace").unwrap();
        let mut config = BrokerConfig {
            store_dir: dir.path().to_path_buf(),
            ..BrokerConfig::default()
        };
        assert!(!config.trace_topic_enable);
        let path = config_file_path(&config);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(
            &path,
            "traceTopicEnable=true\nmsgTraceTopicName=OpsTrace\nregionId=eu-1\ntraceOn=false\n",
        )
        .unwrap();
        load_file(&mut config).unwrap();
        assert!(config.trace_topic_enable);
        assert_eq!(config.msg_trace_topic_name, "OpsTrace");
        assert_eq!(config.region_id, "eu-1");
        assert!(!config.trace_on);
        let refused = apply_update(&config, "traceTopicEnable=false").unwrap_err();
        assert!(
            refused.remark.contains("read at start only"),
            "{}",
            refused.remark
        );
        assert!(settings(&config).contains(&("msgTraceTopicName", "OpsTrace".to_string())));
    }

    #[test]
    fn hours_read_and_show_as_java_writes_them() {
        assert_eq!(parse_hours("72"), Ok(Duration::from_secs(72 * 3600)));
        assert_eq!(show_hours(Duration::from_secs(72 * 3600)), "72");
        assert_eq!(show_hours(Duration::from_secs(1800)), "0.5");
        assert!(parse_hours("-1").is_err());
    }
}
