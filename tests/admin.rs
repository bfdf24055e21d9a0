//! The admin and query calls through `MqAdmin` against the reference name server and broker:
//! every code `mqadmin` uses is answered with a body that decodes as Java's type, the
//! statistics are real counts, messages are found by key, unique id and offset id (also after
//! a restart), and bad requests get Java's codes and remarks.

#![cfg(feature = "servers")]

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use rocketmq_blocking::broker::Broker;
use rocketmq_blocking::client::{
    ClientError, ConsumeConcurrentlyStatus, ConsumeFrom, Message, MessageExt, MessageQueue,
    MqAdmin, Producer, PushConsumer,
};
use rocketmq_blocking::namesrv::NameServer;
use rocketmq_blocking::protocol::body::SubscriptionGroupConfig;
use rocketmq_blocking::protocol::codes::{request_code, response_code};
use rocketmq_blocking::protocol::header::GetTopicStatsInfoRequestHeader;
use rocketmq_blocking::protocol::RemotingCommand;
use rocketmq_blocking::remoting::{ClientConfig, RemotingClient};

struct Cluster {
    broker: Option<Broker>,
    namesrv: NameServer,
    store: TempDir,
}

impl Cluster {
    fn start(name: &str) -> Cluster {
        init_logging();
        let namesrv = NameServer::builder().listen("127.0.0.1:0").start().unwrap();
        let store = TempDir::created(name);
        let broker = Self::broker(&namesrv, &store, "127.0.0.1:0");
        Cluster {
            broker: Some(broker),
            namesrv,
            store,
        }
    }

    fn broker(namesrv: &NameServer, store: &TempDir, listen: &str) -> Broker {
        Broker::builder()
            .listen(listen)
            .name_server(&namesrv.local_addr().to_string())
            .store_dir(&store.0)
            .register_interval(Duration::from_secs(1))
            .start()
            .unwrap()
    }

    fn namesrv(&self) -> String {
        self.namesrv.local_addr().to_string()
    }

    fn broker_addr(&self) -> String {
        self.broker.as_ref().unwrap().broker_addr().to_string()
    }

    fn restart_broker(&mut self) {
        let broker = self.broker.take().unwrap();
        let addr = broker.local_addr().to_string();
        broker.shutdown();
        drop(broker);
        self.broker = Some(Self::broker(&self.namesrv, &self.store, &addr));
    }

    fn admin(&self) -> MqAdmin {
        MqAdmin::builder()
            .name_server(self.namesrv())
            .start()
            .unwrap()
    }

    fn producer(&self, group: &str) -> Producer {
        Producer::builder(group)
            .name_server(self.namesrv())
            .start()
            .unwrap()
    }
}

/// A push consumer counting what it consumed.
fn consumer(cluster: &Cluster, group: &str, topic: &str) -> (PushConsumer, Arc<AtomicUsize>) {
    let consumed = Arc::new(AtomicUsize::new(0));
    let seen = consumed.clone();
    let consumer = PushConsumer::builder(group)
        .name_server(cluster.namesrv())
        .subscribe(topic, "*")
        .consume_from(ConsumeFrom::FirstOffset)
        .message_listener_concurrently(move |messages: &[MessageExt], _: &mut _| {
            seen.fetch_add(messages.len(), Ordering::SeqCst);
            ConsumeConcurrentlyStatus::ConsumeSuccess
        })
        .start()
        .unwrap();
    (consumer, consumed)
}

fn broker_code(e: &ClientError) -> Option<i32> {
    e.response_code()
}

#[test]
fn topics_are_created_listed_described_and_deleted() {
    let cluster = Cluster::start("topics");
    let admin = cluster.admin();
    let broker = cluster.broker_addr();
    admin.create_topic("TBW102", "AdminTopic", 3).unwrap();
    // 17 answered after the name server knows the topic.
    let route = admin.examine_topic_route_info("AdminTopic").unwrap();
    assert_eq!(route.queue_datas[0].write_queue_nums, 3);
    // 21
    let all = admin.get_all_topic_config(&broker).unwrap();
    assert_eq!(all.topic_config_table["AdminTopic"].read_queue_nums, 3);
    assert!(all.data_version.counter > 0);
    // 206, 224
    let listed = admin.fetch_all_topic_list().unwrap();
    assert!(listed.topic_list.contains(&"AdminTopic".to_string()));
    let by_cluster = admin.fetch_topics_by_cluster("DefaultCluster").unwrap();
    assert!(by_cluster.topic_list.contains(&"AdminTopic".to_string()));
    assert!(admin
        .fetch_topics_by_cluster("NoSuchCluster")
        .unwrap()
        .topic_list
        .is_empty());

    // 202: real offsets and store times.
    let producer = cluster.producer("PG_admin_topics");
    for i in 0..6 {
        let queue = MessageQueue::new("AdminTopic", "broker-a", i % 3);
        producer
            .send_to_queue(&Message::new("AdminTopic", format!("m{i}")), &queue)
            .unwrap();
    }
    let stats = admin.examine_topic_stats("AdminTopic").unwrap();
    assert_eq!(stats.offset_table.len(), 3);
    for (queue, offsets) in &stats.offset_table {
        assert_eq!(queue.topic, "AdminTopic");
        assert_eq!((offsets.min_offset, offsets.max_offset), (0, 2));
        assert!(offsets.last_update_timestamp > 0);
    }
    // 29, 30, 31, 32
    let queue = MessageQueue::new("AdminTopic", "broker-a", 0);
    assert_eq!(admin.max_offset(&queue).unwrap(), 2);
    assert_eq!(admin.min_offset(&queue).unwrap(), 0);
    let earliest = admin.earliest_msg_store_time(&queue).unwrap();
    assert!(earliest > 0);
    assert_eq!(admin.search_offset(&queue, earliest).unwrap(), 0);
    let empty = MessageQueue::new("AdminTopic", "broker-a", 7);
    assert_eq!(admin.earliest_msg_store_time(&empty).unwrap(), -1);

    // 215 + 216
    admin.delete_topic("AdminTopic", "DefaultCluster").unwrap();
    assert!(matches!(
        admin.examine_topic_route_info("AdminTopic"),
        Err(ClientError::NoRoute { .. })
    ));
    let all = admin.get_all_topic_config(&broker).unwrap();
    assert!(!all.topic_config_table.contains_key("AdminTopic"));
    // A system topic cannot be deleted.
    let refused = admin.delete_topic("TBW102", "DefaultCluster").unwrap_err();
    assert_eq!(broker_code(&refused), Some(response_code::SYSTEM_ERROR));
    assert!(
        refused.to_string().contains("conflict with system topic"),
        "{refused}"
    );
    producer.shutdown();
}

#[test]
fn groups_connections_and_progress_are_reported() {
    let cluster = Cluster::start("groups");
    let admin = cluster.admin();
    let broker = cluster.broker_addr();
    let producer = cluster.producer("PG_admin_groups");
    for i in 0..20 {
        producer
            .send(&Message::new("AdminGroups", format!("m{i}")))
            .unwrap();
    }
    let (consumer, consumed) = consumer(&cluster, "CG_admin", "AdminGroups");
    assert_eventually("20 consumed", Duration::from_secs(30), || {
        consumed.load(Ordering::SeqCst) >= 20
    });
    // 203
    let connections = admin.examine_consumer_connection_info("CG_admin").unwrap();
    assert_eq!(connections.connection_set.len(), 1);
    assert_eq!(
        connections.connection_set[0].client_id,
        consumer.client_id()
    );
    assert_eq!(connections.connection_set[0].language, "JAVA");
    assert_eq!(
        connections.consume_type.as_deref(),
        Some("CONSUME_PASSIVELY")
    );
    assert_eq!(connections.message_model.as_deref(), Some("CLUSTERING"));
    assert_eq!(
        connections.consume_from_where.as_deref(),
        Some("CONSUME_FROM_FIRST_OFFSET")
    );
    assert!(connections.subscription_table.contains_key("AdminGroups"));
    // 204, once the producer's first heartbeat (1 s after its start) arrived.
    assert_eventually("the producer registered", Duration::from_secs(10), || {
        admin
            .examine_producer_connection_info("PG_admin_groups", "AdminGroups")
            .is_ok()
    });
    let producers = admin
        .examine_producer_connection_info("PG_admin_groups", "AdminGroups")
        .unwrap();
    assert_eq!(producers.connection_set.len(), 1);
    assert_eq!(producers.connection_set[0].client_id, producer.client_id());
    // 208: every message consumed and committed.
    assert_eventually("offsets committed", Duration::from_secs(30), || {
        admin
            .examine_consume_stats("CG_admin", None)
            .is_ok_and(|s| s.total_diff() == 0 && !s.offset_table.is_empty())
    });
    let stats = admin
        .examine_consume_stats("CG_admin", Some("AdminGroups"))
        .unwrap();
    let consumed_total: i64 = stats.offset_table.values().map(|o| o.consumer_offset).sum();
    assert_eq!(consumed_total, 20);
    assert!(stats
        .offset_table
        .values()
        .all(|o| o.consumer_offset == 0 || o.last_timestamp > 0));
    assert!(stats.consume_tps >= 0.0);
    // 300
    let groups = admin.query_topic_consume_by_who("AdminGroups").unwrap();
    assert!(groups.group_list.contains(&"CG_admin".to_string()));
    // 223, 222
    let status = admin
        .get_consume_status("AdminGroups", "CG_admin", None)
        .unwrap();
    assert_eq!(status.len(), 1, "one member answered");
    let reset = admin
        .reset_offset_by_timestamp("AdminGroups", "CG_admin", 0, true)
        .unwrap();
    assert!(!reset.is_empty());
    assert!(reset.values().all(|o| *o == 0));
    // 200, 201, 207: the heartbeat created the group; an update replaces it; a delete with
    // its offsets forgets both.
    let all = admin.get_all_subscription_group(&broker).unwrap();
    assert!(all.subscription_group_table.contains_key("CG_admin"));
    assert!(all.subscription_group_table.contains_key("TOOLS_CONSUMER"));
    admin
        .create_and_update_subscription_group_config(
            &broker,
            &SubscriptionGroupConfig {
                retry_max_times: 3,
                consume_broadcast_enable: false,
                ..SubscriptionGroupConfig::new("CG_admin_made")
            },
        )
        .unwrap();
    let all = admin.get_all_subscription_group(&broker).unwrap();
    assert_eq!(
        all.subscription_group_table["CG_admin_made"].retry_max_times,
        3
    );
    consumer.shutdown();
    admin
        .delete_subscription_group(&broker, "CG_admin", true)
        .unwrap();
    let all = admin.get_all_subscription_group(&broker).unwrap();
    assert!(!all.subscription_group_table.contains_key("CG_admin"));
    let gone = admin.examine_consume_stats("CG_admin", None).unwrap_err();
    assert_eq!(broker_code(&gone), Some(response_code::CONSUMER_NOT_ONLINE));
    // Unknown groups: Java's codes and remarks.
    let offline = admin
        .examine_consumer_connection_info("CG_admin")
        .unwrap_err();
    assert_eq!(
        broker_code(&offline),
        Some(response_code::CONSUMER_NOT_ONLINE)
    );
    assert!(offline
        .to_string()
        .contains("the consumer group[CG_admin] not online"));
    let unknown = admin
        .examine_producer_connection_info("PG_nobody", "AdminGroups")
        .unwrap_err();
    assert_eq!(broker_code(&unknown), Some(response_code::SYSTEM_ERROR));
    assert!(unknown
        .to_string()
        .contains("the producer group[PG_nobody] not exist"));
    producer.shutdown();
}

#[test]
fn broker_config_and_runtime_info_carry_what_the_tools_read() {
    let cluster = Cluster::start("runtime");
    let admin = cluster.admin();
    let broker = cluster.broker_addr();
    let producer = cluster.producer("PG_admin_runtime");
    for i in 0..5 {
        producer
            .send(&Message::new("AdminRuntime", format!("m{i}")))
            .unwrap();
    }
    // 26
    let config = admin.get_broker_config(&broker).unwrap();
    assert_eq!(config["brokerName"], "broker-a");
    assert_eq!(config["brokerClusterName"], "DefaultCluster");
    assert_eq!(config["transactionTimeOut"], "6000");
    assert_eq!(config["flushDiskType"], "ASYNC_FLUSH");
    // 28: every key clusterList and brokerStatus parse, with real counts.
    let info = admin.fetch_broker_runtime_stats(&broker).unwrap().table;
    for key in [
        "putTps",
        "getTransferedTps",
        "sendThreadPoolQueueSize",
        "pullThreadPoolQueueSize",
        "sendThreadPoolQueueHeadWaitTimeMills",
        "pullThreadPoolQueueHeadWaitTimeMills",
        "pageCacheLockTimeMills",
        "earliestMessageTimeStamp",
        "commitLogDiskRatio",
        "brokerVersionDesc",
        "msgPutTotalYesterdayMorning",
        "msgPutTotalTodayMorning",
        "msgPutTotalTodayNow",
        "msgGetTotalYesterdayMorning",
        "msgGetTotalTodayMorning",
        "msgGetTotalTodayNow",
        "bootTimestamp",
        "runtime",
        "putMessageDistributeTime",
        "commitLogMaxOffset",
    ] {
        assert!(info.contains_key(key), "runtime info lacks {key}");
    }
    let put_total: u64 = info["msgPutTotalTodayNow"].parse().unwrap();
    assert!(put_total >= 5, "{put_total}");
    assert!(info["earliestMessageTimeStamp"].parse::<i64>().unwrap() > 0);
    assert!(info["commitLogMaxOffset"].parse::<i64>().unwrap() > 0);
    assert_eq!(info["brokerVersionDesc"], "V4_9_8");
    info["commitLogDiskRatio"].parse::<f64>().unwrap();
    assert_eq!(info["putTps"].split(' ').count(), 3);
    // The broker cluster info (106) names the broker these came from.
    let clusters = admin.examine_broker_cluster_info().unwrap();
    assert!(clusters.cluster_addr_table["DefaultCluster"].contains("broker-a"));
    producer.shutdown();
}

#[test]
fn messages_are_found_by_key_unique_id_and_offset_id_also_after_a_restart() {
    let mut cluster = Cluster::start("query");
    let admin = cluster.admin();
    let producer = cluster.producer("PG_admin_query");
    let mut sent = Vec::new();
    for i in 0..4 {
        let message = Message::new("AdminQuery", format!("order {i}"))
            .with_keys(vec![format!("order-{i}"), "all-orders".to_string()]);
        sent.push(producer.send(&message).unwrap());
    }
    let check = |admin: &MqAdmin| {
        let found = admin
            .query_message("AdminQuery", "order-2", 32, 0, i64::MAX)
            .unwrap();
        assert_eq!(found.messages.len(), 1);
        assert_eq!(found.messages[0].body, b"order 2");
        assert!(found.index_last_update_timestamp > 0);
        let all = admin
            .query_message("AdminQuery", "all-orders", 32, 0, i64::MAX)
            .unwrap();
        let bodies: BTreeSet<Vec<u8>> = all.messages.iter().map(|m| m.body.to_vec()).collect();
        assert_eq!(bodies.len(), 4);
        let limited = admin
            .query_message("AdminQuery", "all-orders", 2, 0, i64::MAX)
            .unwrap();
        assert_eq!(limited.messages.len(), 2);
        let by_id = admin
            .query_message_by_unique_key("AdminQuery", &sent[1].msg_id)
            .unwrap()
            .unwrap();
        assert_eq!(by_id.body, b"order 1");
        let viewed = admin.view_message(&sent[3].offset_msg_id).unwrap();
        assert_eq!(viewed.body, b"order 3");
        assert_eq!(viewed.msg_id, sent[3].offset_msg_id);
        assert!(admin
            .query_message("AdminQuery", "no-such-key", 32, 0, i64::MAX)
            .unwrap()
            .messages
            .is_empty());
    };
    check(&admin);
    cluster.restart_broker();
    check(&admin);
    // An offset where no message starts: Java's remark.
    let (_, offset) =
        rocketmq_blocking::protocol::message::decode_offset_message_id(&sent[3].offset_msg_id)
            .unwrap();
    let bogus = rocketmq_blocking::protocol::message::create_offset_message_id(
        cluster.broker_addr().parse().unwrap(),
        offset + 1_000_000,
    );
    let missing = admin.view_message(&bogus).unwrap_err();
    assert_eq!(broker_code(&missing), Some(response_code::SYSTEM_ERROR));
    assert!(missing
        .to_string()
        .contains("can not find message by the offset"));
    producer.shutdown();
}

#[test]
fn malformed_admin_requests_get_javas_error_answers() {
    let cluster = Cluster::start("malformed");
    let client = RemotingClient::new(ClientConfig::default()).unwrap();
    let broker = cluster.broker_addr();
    let call = |request: RemotingCommand| {
        client
            .invoke_sync(Some(&broker), request, Duration::from_secs(5))
            .unwrap()
    };
    // A required header field missing.
    let response = call(RemotingCommand::new_request(
        request_code::GET_TOPIC_STATS_INFO,
    ));
    assert_eq!(response.code, response_code::SYSTEM_ERROR);
    assert!(response.remark.unwrap_or_default().contains("topic"));
    // An unknown topic.
    let response = call(RemotingCommand::request_with_header(
        request_code::GET_TOPIC_STATS_INFO,
        &GetTopicStatsInfoRequestHeader {
            topic: "NoSuchTopic".into(),
        },
    ));
    assert_eq!(response.code, response_code::TOPIC_NOT_EXIST);
    assert_eq!(
        response.remark.as_deref(),
        Some("topic[NoSuchTopic] not exist")
    );
    // A body that is no subscription group.
    let response = call(
        RemotingCommand::new_request(request_code::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP)
            .with_body(b"not json".to_vec()),
    );
    assert_eq!(response.code, response_code::SYSTEM_ERROR);
    // A code no broker knows.
    let response = call(RemotingCommand::new_request(27));
    assert_eq!(response.code, response_code::REQUEST_CODE_NOT_SUPPORTED);
    assert_eq!(
        response.remark.as_deref(),
        Some(" request type 27 not supported")
    );
    client.shutdown();
}
