//! The reference name server over real sockets: route bytes as Java writes them, expiry, and
//! route removal when a broker's connection closes.

#![cfg(feature = "servers")]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{assert_eventually, client};
use rocketmq_blocking::namesrv::NameServer;
use rocketmq_blocking::protocol::body::{
    DataVersion, RegisterBrokerBody, TopicConfig, TopicConfigSerializeWrapper, TopicRouteData,
};
use rocketmq_blocking::protocol::codes::{request_code, response_code};
use rocketmq_blocking::protocol::header::{GetRouteInfoRequestHeader, RegisterBrokerRequestHeader};
use rocketmq_blocking::protocol::util_all::crc32;
use rocketmq_blocking::protocol::{decode_first_frame, RemotingCommand, DEFAULT_MAX_FRAME_LENGTH};
use rocketmq_blocking::remoting::RemotingClient;

const TIMEOUT: Duration = Duration::from_secs(3);

fn fixture_body(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/java-4.9.8/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(&path).expect("fixture");
    decode_first_frame(&bytes, DEFAULT_MAX_FRAME_LENGTH)
        .expect("decodes")
        .expect("whole frame")
        .0
        .body
        .into_vec()
}

fn topic(name: &str, queues: i32, perm: i32) -> TopicConfig {
    TopicConfig {
        read_queue_nums: queues,
        write_queue_nums: queues,
        perm,
        ..TopicConfig::new(name)
    }
}

fn register(
    client: &RemotingClient,
    namesrv: &str,
    broker_name: &str,
    addr: &str,
    topics: Vec<TopicConfig>,
) {
    let body = RegisterBrokerBody {
        topic_config_serialize_wrapper: TopicConfigSerializeWrapper {
            topic_config_table: topics
                .into_iter()
                .map(|t| (t.topic_name.clone(), t))
                .collect::<BTreeMap<_, _>>(),
            data_version: DataVersion {
                state_version: None,
                timestamp: 1,
                counter: 1,
            },
        },
        filter_server_list: Vec::new(),
    }
    .to_json()
    .into_bytes();
    let header = RegisterBrokerRequestHeader {
        broker_name: broker_name.into(),
        broker_addr: addr.into(),
        cluster_name: "DefaultCluster".into(),
        ha_server_addr: "127.0.0.1:10912".into(),
        broker_id: 0,
        heartbeat_timeout_millis: None,
        enable_acting_master: None,
        compressed: false,
        body_crc32: crc32(&body),
    };
    let request = RemotingCommand::request_with_header(request_code::REGISTER_BROKER, &header)
        .with_body(body);
    let response = client
        .invoke_sync(Some(namesrv), request, TIMEOUT)
        .expect("register");
    assert_eq!(
        response.code,
        response_code::SUCCESS,
        "{:?}",
        response.remark
    );
}

fn route_request(topic: &str, version: i32) -> RemotingCommand {
    let header = GetRouteInfoRequestHeader {
        topic: topic.into(),
        accept_standard_json_only: None,
    };
    let mut request =
        RemotingCommand::request_with_header(request_code::GET_ROUTEINFO_BY_TOPIC, &header);
    request.version = version;
    request
}

fn start(expiry: Duration) -> NameServer {
    NameServer::builder()
        .listen("127.0.0.1:0")
        .broker_expiry(expiry)
        .scan_interval(Duration::from_millis(100))
        .start()
        .expect("name server")
}

#[test]
fn route_json_is_byte_identical_to_java_for_both_versions() {
    let namesrv = start(Duration::from_secs(120));
    let addr = namesrv.local_addr().to_string();
    let registrar = client();
    // Vector 008 answered a version-409 request for an 8-queue, perm-7 topic; 090 a
    // version-399 request for a 4-queue, perm-6 topic, with the same broker.
    register(
        &registrar,
        &addr,
        "broker-a",
        "127.0.0.1:10911",
        vec![topic("Standard", 8, 7), topic("Legacy", 4, 6)],
    );

    // The requests go through a raw RemotingClient whose stamp would override the version,
    // so versions are set by config: one client per version.
    for (topic_name, version, fixture) in [
        ("Standard", 409, "008-resp-code0-json.bin"),
        ("Legacy", 399, "090-resp-code0-json.bin"),
    ] {
        let mut config = rocketmq_blocking::remoting::ClientConfig::default();
        config.common.version = version;
        let client = RemotingClient::new(config).expect("client");
        let response = client
            .invoke_sync(Some(&addr), route_request(topic_name, version), TIMEOUT)
            .expect("route");
        assert_eq!(response.code, response_code::SUCCESS);
        assert_eq!(
            String::from_utf8_lossy(&response.body),
            String::from_utf8_lossy(&fixture_body(fixture)),
            "version {version}"
        );
        let route = TopicRouteData::from_json(&response.body).expect("our parser reads it");
        assert_eq!(
            route.broker_datas[0]
                .broker_addrs
                .get(&0)
                .map(String::as_str),
            Some("127.0.0.1:10911")
        );
        client.shutdown();
    }
}

#[test]
fn unknown_topic_gets_java_remark() {
    let namesrv = start(Duration::from_secs(120));
    let addr = namesrv.local_addr().to_string();
    let response = client()
        .invoke_sync(Some(&addr), route_request("TopicCapture", 409), TIMEOUT)
        .expect("call");
    assert_eq!(response.code, response_code::TOPIC_NOT_EXIST);
    // Exactly vector 038's remark.
    let path = format!(
        "{}/tests/fixtures/java-4.9.8/038-resp-code17-json.bin",
        env!("CARGO_MANIFEST_DIR")
    );
    let java = decode_first_frame(
        &std::fs::read(path).expect("fixture"),
        DEFAULT_MAX_FRAME_LENGTH,
    )
    .unwrap()
    .unwrap()
    .0;
    assert_eq!(response.remark, java.remark);
}

#[test]
fn silent_broker_expires_and_closed_connection_drops_at_once() {
    let namesrv = start(Duration::from_millis(600));
    let addr = namesrv.local_addr().to_string();
    let registrar = client();
    register(
        &registrar,
        &addr,
        "broker-a",
        "127.0.0.1:20911",
        vec![topic("T", 4, 6)],
    );
    assert!(namesrv.topic_route("T").is_some());
    // No re-registration: gone after the expiry (600 ms) plus a scan (100 ms).
    assert_eventually("route expires", Duration::from_secs(3), || {
        namesrv.topic_route("T").is_none()
    });
    assert!(namesrv.live_brokers().is_empty());

    // A broker whose connection closes is dropped without waiting for the expiry.
    let namesrv = start(Duration::from_secs(120));
    let addr = namesrv.local_addr().to_string();
    let registrar = client();
    register(
        &registrar,
        &addr,
        "broker-b",
        "127.0.0.1:30911",
        vec![topic("U", 4, 6)],
    );
    assert_eq!(namesrv.live_brokers(), vec!["127.0.0.1:30911".to_string()]);
    registrar.shutdown();
    assert_eventually("route dropped on close", Duration::from_secs(2), || {
        namesrv.topic_route("U").is_none()
    });
}

#[test]
fn cluster_info_lists_registered_brokers() {
    let namesrv = start(Duration::from_secs(120));
    let addr = namesrv.local_addr().to_string();
    let registrar = client();
    register(
        &registrar,
        &addr,
        "broker-a",
        "127.0.0.1:10911",
        vec![topic("T", 4, 6)],
    );
    register(
        &registrar,
        &addr,
        "broker-b",
        "127.0.0.1:10921",
        vec![topic("T", 4, 6)],
    );
    let request = RemotingCommand::new_request(request_code::GET_BROKER_CLUSTER_INFO);
    let response = registrar
        .invoke_sync(Some(&addr), request, TIMEOUT)
        .expect("cluster info");
    let info =
        rocketmq_blocking::protocol::body::ClusterInfo::from_json(&response.body).expect("parses");
    let mut addrs = info.retrieve_all_addr_by_cluster("DefaultCluster");
    addrs.sort();
    assert_eq!(addrs, vec!["127.0.0.1:10911", "127.0.0.1:10921"]);
    let route = namesrv.topic_route("T").expect("route");
    assert_eq!(route.queue_datas.len(), 2);
}
