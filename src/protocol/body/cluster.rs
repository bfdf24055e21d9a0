//! The GET_BROKER_CLUSTER_INFO response body: `ClusterInfo`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::json::{null_as_default, parse, JsonWriter};
use super::route::BrokerData;
use crate::protocol::error::BodyError;

/// Every broker a name server knows, by name and by cluster; mirrors Java's `ClusterInfo`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterInfo {
    /// `brokerAddrTable`: broker name to its data.
    #[serde(default, deserialize_with = "null_as_default")]
    pub broker_addr_table: BTreeMap<String, BrokerData>,
    /// `clusterAddrTable`: cluster name to the names of its brokers.
    #[serde(default, deserialize_with = "null_as_default")]
    pub cluster_addr_table: BTreeMap<String, BTreeSet<String>>,
}

impl ClusterInfo {
    /// Reads the body, standard JSON or with unquoted `brokerAddrs` keys.
    pub fn from_json(body: &[u8]) -> Result<ClusterInfo, BodyError> {
        parse(body, "ClusterInfo")
    }

    /// Writes the body. Java name servers write it with `RemotingSerializable.encode`, i.e.
    /// `standard = false` (unquoted `brokerAddrs` keys) in both 4.9.8 and 5.x.
    pub fn to_json(&self, standard: bool) -> String {
        let mut w = JsonWriter::new(standard);
        w.begin_object();
        w.key("brokerAddrTable");
        w.begin_object();
        for (name, broker) in &self.broker_addr_table {
            w.key(name);
            broker.write(&mut w);
        }
        w.end_object();
        w.key("clusterAddrTable");
        w.begin_object();
        for (cluster, brokers) in &self.cluster_addr_table {
            w.string_array_field(cluster, brokers.iter().map(String::as_str));
        }
        w.end_object();
        w.end_object();
        w.finish()
    }

    /// Every address of every broker in `cluster` (`retrieveAllAddrByCluster`).
    pub fn retrieve_all_addr_by_cluster(&self, cluster: &str) -> Vec<&str> {
        self.cluster_addr_table
            .get(cluster)
            .into_iter()
            .flatten()
            .filter_map(|name| self.broker_addr_table.get(name))
            .flat_map(|broker| broker.broker_addrs.values().map(String::as_str))
            .collect()
    }

    /// The cluster names (`retrieveAllClusterNames`).
    pub fn retrieve_all_cluster_names(&self) -> Vec<&str> {
        self.cluster_addr_table.keys().map(String::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> ClusterInfo {
        let broker = |name: &str, addrs: &[(i64, &str)]| BrokerData {
            cluster: "DefaultCluster".into(),
            broker_name: name.into(),
            broker_addrs: addrs.iter().map(|(id, a)| (*id, a.to_string())).collect(),
        };
        ClusterInfo {
            broker_addr_table: [
                (
                    "broker-a".to_string(),
                    broker("broker-a", &[(0, "10.0.0.1:10911"), (1, "10.0.0.2:10911")]),
                ),
                (
                    "broker-b".to_string(),
                    broker("broker-b", &[(0, "10.0.0.3:10911")]),
                ),
            ]
            .into_iter()
            .collect(),
            cluster_addr_table: [(
                "DefaultCluster".to_string(),
                ["broker-b".to_string(), "broker-a".to_string()]
                    .into_iter()
                    .collect(),
            )]
            .into_iter()
            .collect(),
        }
    }

    #[test]
    fn writes_like_a_java_name_server_and_reads_back() {
        let text = info().to_json(false);
        assert_eq!(
            text,
            r#"{"brokerAddrTable":{"broker-a":{"brokerAddrs":{0:"10.0.0.1:10911",1:"10.0.0.2:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"},"broker-b":{"brokerAddrs":{0:"10.0.0.3:10911"},"brokerName":"broker-b","cluster":"DefaultCluster"}},"clusterAddrTable":{"DefaultCluster":["broker-a","broker-b"]}}"#
        );
        assert_eq!(ClusterInfo::from_json(text.as_bytes()).unwrap(), info());
        let standard = info().to_json(true);
        assert!(standard.contains(r#"{"0":"10.0.0.1:10911","1":"10.0.0.2:10911"}"#));
        assert_eq!(ClusterInfo::from_json(standard.as_bytes()).unwrap(), info());
    }

    #[test]
    fn lists_addresses_and_clusters() {
        let info = info();
        assert_eq!(
            info.retrieve_all_addr_by_cluster("DefaultCluster"),
            ["10.0.0.1:10911", "10.0.0.2:10911", "10.0.0.3:10911"]
        );
        assert!(info.retrieve_all_addr_by_cluster("Other").is_empty());
        assert_eq!(info.retrieve_all_cluster_names(), ["DefaultCluster"]);
        assert!(ClusterInfo::from_json(br#"{"brokerAddrTable":[]}"#).is_err());
    }
}
