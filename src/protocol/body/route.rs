//! The GET_ROUTEINFO_BY_TOPIC response body: `TopicRouteData`, `QueueData`, `BrokerData`
//! (Java's `protocol.route` package), and `PermName`.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::json::{null_as_default, parse, JsonWriter};
use crate::protocol::error::BodyError;

/// Queue permission bits; mirrors Java's `common.constant.PermName`.
pub mod perm_name {
    /// Priority queue (`PERM_PRIORITY`).
    pub const PERM_PRIORITY: i32 = 0x1 << 3;
    /// Readable: consumers may pull (`PERM_READ`).
    pub const PERM_READ: i32 = 0x1 << 2;
    /// Writeable: producers may send (`PERM_WRITE`).
    pub const PERM_WRITE: i32 = 0x1 << 1;
    /// Inherited from the default topic (`PERM_INHERIT`).
    pub const PERM_INHERIT: i32 = 0x1;

    /// True when `perm` allows reading (`isReadable`).
    pub fn is_readable(perm: i32) -> bool {
        perm & PERM_READ == PERM_READ
    }

    /// True when `perm` allows writing (`isWriteable`).
    pub fn is_writeable(perm: i32) -> bool {
        perm & PERM_WRITE == PERM_WRITE
    }

    /// True when `perm` has the inherit bit (`isInherited`).
    pub fn is_inherited(perm: i32) -> bool {
        perm & PERM_INHERIT == PERM_INHERIT
    }
}

/// The broker id of a master (`MixAll.MASTER_ID`).
pub const MASTER_ID: i64 = 0;

/// A topic's queues on one broker; mirrors Java's `QueueData`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueData {
    /// `brokerName`.
    pub broker_name: String,
    /// `readQueueNums`.
    #[serde(default)]
    pub read_queue_nums: i32,
    /// `writeQueueNums`.
    #[serde(default)]
    pub write_queue_nums: i32,
    /// `perm`: the [`perm_name`] bits.
    #[serde(default)]
    pub perm: i32,
    /// `topicSysFlag`.
    #[serde(default)]
    pub topic_sys_flag: i32,
}

impl QueueData {
    fn write(&self, w: &mut JsonWriter) {
        w.begin_object();
        w.string_field("brokerName", &self.broker_name);
        w.integer_field("perm", i64::from(self.perm));
        w.integer_field("readQueueNums", i64::from(self.read_queue_nums));
        w.integer_field("topicSysFlag", i64::from(self.topic_sys_flag));
        w.integer_field("writeQueueNums", i64::from(self.write_queue_nums));
        w.end_object();
    }
}

/// One broker (master and slaves) and its addresses; mirrors Java's `BrokerData`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BrokerData {
    /// `cluster`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub cluster: String,
    /// `brokerName`.
    pub broker_name: String,
    /// `brokerAddrs`: broker id (0 = master) to address.
    #[serde(default, deserialize_with = "null_as_default")]
    pub broker_addrs: BTreeMap<i64, String>,
}

impl BrokerData {
    /// The master's address (broker id 0).
    pub fn master_addr(&self) -> Option<&str> {
        self.broker_addrs.get(&MASTER_ID).map(String::as_str)
    }

    /// The master's address, else the slave with the lowest id (Java's `selectBrokerAddr`
    /// picks a random slave; a fixed choice keeps this layer free of randomness).
    pub fn select_broker_addr(&self) -> Option<&str> {
        self.master_addr()
            .or_else(|| self.broker_addrs.values().next().map(String::as_str))
    }

    pub(crate) fn write(&self, w: &mut JsonWriter) {
        w.begin_object();
        w.key("brokerAddrs");
        w.begin_object();
        for (id, addr) in &self.broker_addrs {
            w.integer_key(*id);
            w.string(addr);
        }
        w.end_object();
        w.string_field("brokerName", &self.broker_name);
        w.string_field("cluster", &self.cluster);
        w.end_object();
    }
}

/// A topic's route: which brokers hold its queues and where they are; mirrors Java's
/// `TopicRouteData`. 5.x fields (`topicQueueMappingByBroker`, `enableActingMaster`,
/// `zoneName`) are ignored when read and not written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicRouteData {
    /// `orderTopicConf`: "brokerA:4;brokerB:4" for ordered topics.
    #[serde(default)]
    pub order_topic_conf: Option<String>,
    /// `queueDatas`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub queue_datas: Vec<QueueData>,
    /// `brokerDatas`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub broker_datas: Vec<BrokerData>,
    /// `filterServerTable`: broker address to filter server addresses.
    #[serde(default, deserialize_with = "null_as_default")]
    pub filter_server_table: BTreeMap<String, Vec<String>>,
}

/// The most queues one topic's route may name, over all its brokers, read and write counted
/// apart (far above any real topic: Java's default is 8 per broker).
pub const MAX_TOPIC_QUEUES: i64 = 65_536;

/// Refuses queue counts that are negative or add up to more than [`MAX_TOPIC_QUEUES`].
fn check_queue_total(
    field: &'static str,
    nums: impl Iterator<Item = i32>,
) -> Result<(), BodyError> {
    let mut total = 0i64;
    for n in nums {
        total += i64::from(n);
        if n < 0 || total > MAX_TOPIC_QUEUES {
            return Err(BodyError::InvalidLength {
                field,
                length: i64::from(n),
            });
        }
    }
    Ok(())
}

impl TopicRouteData {
    /// Reads a route body, standard JSON or the form with unquoted `brokerAddrs` keys.
    ///
    /// A route whose queue counts add up to more than [`MAX_TOPIC_QUEUES`] (or any is
    /// negative) is refused: a client builds one queue object per queue, so the count must
    /// not be whatever a peer writes.
    pub fn from_json(body: &[u8]) -> Result<TopicRouteData, BodyError> {
        let route: TopicRouteData = parse(body, "TopicRouteData")?;
        check_queue_total(
            "readQueueNums",
            route.queue_datas.iter().map(|q| q.read_queue_nums),
        )?;
        check_queue_total(
            "writeQueueNums",
            route.queue_datas.iter().map(|q| q.write_queue_nums),
        )?;
        Ok(route)
    }

    /// Writes the body as a Java name server does: `standard` gives the browser-compatible
    /// JSON of `acceptStandardJsonOnly` / version ≥ 401 requests, otherwise `brokerAddrs`
    /// keys are unquoted as for older clients. Map keys are sorted.
    pub fn to_json(&self, standard: bool) -> String {
        let mut w = JsonWriter::new(standard);
        w.begin_object();
        w.key("brokerDatas");
        w.begin_array();
        for broker in &self.broker_datas {
            w.element();
            broker.write(&mut w);
        }
        w.end_array();
        w.key("filterServerTable");
        w.begin_object();
        for (broker_addr, servers) in &self.filter_server_table {
            w.string_array_field(broker_addr, servers.iter().map(String::as_str));
        }
        w.end_object();
        w.optional_string_field("orderTopicConf", self.order_topic_conf.as_deref());
        w.key("queueDatas");
        w.begin_array();
        for queue in &self.queue_datas {
            w.element();
            queue.write(&mut w);
        }
        w.end_array();
        w.end_object();
        w.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::test_fixtures::fixture;

    fn broker_a() -> BrokerData {
        BrokerData {
            cluster: "DefaultCluster".into(),
            broker_name: "broker-a".into(),
            broker_addrs: [(0, "127.0.0.1:10911".to_string())].into_iter().collect(),
        }
    }

    fn route(perm: i32, queues: i32) -> TopicRouteData {
        TopicRouteData {
            order_topic_conf: None,
            queue_datas: vec![QueueData {
                broker_name: "broker-a".into(),
                read_queue_nums: queues,
                write_queue_nums: queues,
                perm,
                topic_sys_flag: 0,
            }],
            broker_datas: vec![broker_a()],
            filter_server_table: BTreeMap::new(),
        }
    }

    #[test]
    fn queue_counts_a_client_would_allocate_for_are_bounded() {
        let ok = route(6, 8).to_json(true);
        assert!(TopicRouteData::from_json(ok.as_bytes()).is_ok());
        for queues in [-1, i32::MAX] {
            let body = route(6, queues).to_json(true);
            assert!(
                matches!(
                    TopicRouteData::from_json(body.as_bytes()),
                    Err(BodyError::InvalidLength { .. })
                ),
                "{queues}"
            );
        }
        // Many brokers, each with a modest count, add up too.
        let mut many = route(6, 60_000);
        many.queue_datas.push(many.queue_datas[0].clone());
        let body = many.to_json(true);
        assert!(TopicRouteData::from_json(body.as_bytes()).is_err());
    }

    #[test]
    fn standard_route_matches_vector_008_byte_for_byte() {
        let body = fixture("java-4.9.8/008-resp-code0-json.bin").body;
        let parsed = TopicRouteData::from_json(&body).unwrap();
        assert_eq!(parsed, route(7, 8));
        assert_eq!(parsed.to_json(true).as_bytes(), &body[..]);
    }

    #[test]
    fn unquoted_route_matches_vector_090_byte_for_byte() {
        for name in [
            "java-4.9.8/090-resp-code0-json.bin",
            "java-4.9.8/096-resp-code0-binary.bin",
        ] {
            let body = fixture(name).body;
            assert!(
                body.windows(4).any(|w| w == b"{0:\""),
                "{name} has a bare key"
            );
            let parsed = TopicRouteData::from_json(&body).unwrap();
            assert_eq!(parsed, route(6, 4));
            assert_eq!(parsed.to_json(false).as_bytes(), &body[..]);
        }
    }

    #[test]
    fn reads_5x_and_other_clients_leniently() {
        let body = br#"{"brokerDatas":[{"brokerAddrs":{"0":"a:1","1":"b:2"},"brokerName":"b1","cluster":"c","enableActingMaster":false,"zoneName":null}],
            "filterServerTable":null,"orderTopicConf":"b1:4","queueDatas":[{"brokerName":"b1","perm":6,"readQueueNums":4,"writeQueueNums":4}],
            "topicQueueMappingByBroker":{"b1":{"bname":"b1","epoch":0}}}
"#;
        let parsed = TopicRouteData::from_json(body).unwrap();
        assert_eq!(parsed.order_topic_conf.as_deref(), Some("b1:4"));
        assert_eq!(parsed.broker_datas[0].master_addr(), Some("a:1"));
        assert_eq!(
            parsed.broker_datas[0]
                .broker_addrs
                .get(&1)
                .map(String::as_str),
            Some("b:2")
        );
        assert_eq!(parsed.queue_datas[0].topic_sys_flag, 0);
        assert!(parsed.filter_server_table.is_empty());
        // Written back with orderTopicConf in its sorted place.
        let text = parsed.to_json(true);
        assert!(
            text.contains(r#""filterServerTable":{},"orderTopicConf":"b1:4","queueDatas""#),
            "{text}"
        );
        assert_eq!(TopicRouteData::from_json(text.as_bytes()).unwrap(), parsed);
    }

    #[test]
    fn unusable_routes_name_the_problem() {
        let err = TopicRouteData::from_json(br#"{"queueDatas":[{"perm":6}]}"#).unwrap_err();
        assert!(err.to_string().contains("brokerName"), "{err}");
        let err = TopicRouteData::from_json(br#"{"queueDatas":[{"brokerName":"b","perm":"x"}]}"#)
            .unwrap_err();
        assert!(err.to_string().contains("TopicRouteData"), "{err}");
        assert!(TopicRouteData::from_json(b"").is_err());
        assert!(TopicRouteData::from_json(b"[]").is_err());
    }

    #[test]
    fn broker_choice_and_permissions() {
        let slaves_only = BrokerData {
            broker_addrs: [(2, "s2".to_string()), (1, "s1".to_string())]
                .into_iter()
                .collect(),
            ..broker_a()
        };
        assert_eq!(slaves_only.master_addr(), None);
        assert_eq!(slaves_only.select_broker_addr(), Some("s1"));
        assert_eq!(broker_a().select_broker_addr(), Some("127.0.0.1:10911"));
        assert!(perm_name::is_writeable(6) && perm_name::is_readable(6));
        assert!(!perm_name::is_writeable(4));
        assert!(perm_name::is_inherited(7));
    }
}
