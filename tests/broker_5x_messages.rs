//! RocketMQ 5 message features of the reference broker over real sockets, driven with raw
//! requests as any 5.x client sends them: timer messages (never early, refused past the
//! maximum delay), recall (Java's answers, a recalled message never delivered), SQL92
//! subscriptions (by pull and by heartbeat, CHECK_CLIENT_CONFIG, Java's refusals) and the
//! 5.x admin codes GET_TOPIC_CONFIG (351) and GET_SUBSCRIPTIONGROUP_CONFIG (352).

#![cfg(feature = "servers")]

mod common;
use common::{assert_code, raw, start_broker, TempDir};

use std::time::Duration;

use rocketmq_blocking::broker::Broker;
use rocketmq_blocking::protocol::body::{
    CheckClientRequestBody, ConsumerData, HeartbeatData, SubscriptionData,
};
use rocketmq_blocking::protocol::codes::{request_code, response_code};
use rocketmq_blocking::protocol::header::{
    GetSubscriptionGroupConfigRequestHeader, GetTopicConfigRequestHeader, PullMessageRequestHeader,
    RecallMessageRequestHeader, SendMessageRequestHeader, SendMessageResponseHeader,
};
use rocketmq_blocking::protocol::message::decode_messages;
use rocketmq_blocking::protocol::RemotingCommand;
use rocketmq_blocking::remoting::{ClientConfig, RemotingClient};

const TIMEOUT: Duration = Duration::from_secs(5);

fn invoke(client: &RemotingClient, addr: &str, request: RemotingCommand) -> RemotingCommand {
    client
        .invoke_sync(Some(addr), request, TIMEOUT)
        .expect("answer")
}

/// SEND_MESSAGE_V2 to queue 0 of `topic` with a property string.
fn send(
    client: &RemotingClient,
    addr: &str,
    topic: &str,
    properties: &str,
    body: &str,
) -> RemotingCommand {
    let header = SendMessageRequestHeader {
        born_timestamp: common::now_ms(),
        ..raw::send_header("PG_5x", topic, 0, properties)
    };
    let request = raw::send_request(header, body);
    invoke(client, addr, request)
}

/// The bodies stored in queue 0 of `topic`, in order.
fn bodies(broker: &Broker, topic: &str) -> Vec<String> {
    let found = broker.store().get_message(topic, 0, 0, 32, None);
    found
        .messages
        .iter()
        .flat_map(|record| decode_messages(record, false).unwrap())
        .map(|m| String::from_utf8(m.body.into_vec()).unwrap())
        .collect()
}

fn recall(client: &RemotingClient, addr: &str, topic: &str, handle: &str) -> RemotingCommand {
    let header = RecallMessageRequestHeader {
        producer_group: Some("PG_5x".into()),
        topic: topic.into(),
        recall_handle: handle.into(),
    };
    invoke(
        client,
        addr,
        RemotingCommand::request_with_header(request_code::RECALL_MESSAGE, &header),
    )
}

#[test]
fn timer_messages_arrive_at_their_time_and_recalled_ones_never() {
    let store = TempDir::new("5x-timer");
    let broker = start_broker(&store, |b| b.recall_message_enable(true));
    let addr = broker.local_addr().to_string();
    let client = RemotingClient::new(ClientConfig::default()).unwrap();
    assert_code(
        &send(&client, &addr, "Timed", "", "warm-up"),
        response_code::SUCCESS,
    );

    let due = common::now_ms() + 1_500;
    let props = format!("UNIQ_KEY\u{1}KEEP0001\u{2}TIMER_DELIVER_MS\u{1}{due}");
    let kept = send(&client, &addr, "Timed", &props, "kept");
    assert_code(&kept, response_code::SUCCESS);
    let props = format!("UNIQ_KEY\u{1}DROP0001\u{2}TIMER_DELIVER_MS\u{1}{due}");
    let dropped = send(&client, &addr, "Timed", &props, "dropped");
    assert_code(&dropped, response_code::SUCCESS);
    let kept_header: SendMessageResponseHeader = kept.decode_header().unwrap();
    let handle = dropped
        .ext_fields
        .get("recallHandle")
        .expect("a timer message's answer carries a recall handle")
        .to_string();
    assert!(kept_header.queue_offset >= 0);
    assert_eq!(
        bodies(&broker, "Timed"),
        vec!["warm-up"],
        "not before its time"
    );

    // Recall refusals, each with Java's code and remark.
    let wrong_topic = recall(&client, &addr, "Other", &handle);
    assert_code(&wrong_topic, response_code::TOPIC_NOT_EXIST);
    let garbage = recall(&client, &addr, "Timed", "bm90IGEgaGFuZGxl");
    assert_code(&garbage, response_code::ILLEGAL_OPERATION);
    assert_eq!(garbage.remark.as_deref(), Some("recall handle is invalid"));
    let recalled = recall(&client, &addr, "Timed", &handle);
    assert_code(&recalled, response_code::SUCCESS);
    assert_eq!(recalled.ext_fields.get("msgId"), Some("DROP0001"));

    // The kept one arrives, not before its time; the recalled one, due in the same slot,
    // never does.
    common::assert_eventually("the timer message arrives", Duration::from_secs(10), || {
        bodies(&broker, "Timed").len() == 2
    });
    assert!(common::now_ms() >= due, "delivered early");
    assert_eq!(bodies(&broker, "Timed"), vec!["warm-up", "kept"]);
    // A handle whose time has passed is refused.
    let late = recall(&client, &addr, "Timed", &handle);
    assert_code(&late, response_code::ILLEGAL_OPERATION);
    assert_eq!(
        late.remark.as_deref(),
        Some("recall failed, timestamp invalid")
    );

    // Too far ahead, or not a number: MESSAGE_ILLEGAL with Java's remark, nothing stored.
    for bad in ["TIMER_DELAY_SEC\u{1}259201", "TIMER_DELAY_MS\u{1}soon"] {
        let refused = send(&client, &addr, "Timed", bad, "bad");
        assert_code(&refused, response_code::MESSAGE_ILLEGAL);
        assert!(refused
            .remark
            .as_deref()
            .unwrap()
            .starts_with("timer message illegal, the delay time should not be bigger than the max delay 259200000ms"));
    }
    assert_eq!(bodies(&broker, "Timed").len(), 2);
    client.shutdown();
    broker.shutdown();
}

#[test]
fn timers_and_recall_can_be_turned_off() {
    let store = TempDir::new("5x-timer-off");
    let broker = start_broker(&store, |b| b.timer_wheel_enable(false));
    let addr = broker.local_addr().to_string();
    let client = RemotingClient::new(ClientConfig::default()).unwrap();
    let refused = send(&client, &addr, "Timed", "TIMER_DELAY_SEC\u{1}5", "x");
    assert_code(&refused, response_code::SYSTEM_ERROR);
    assert_eq!(
        refused.remark.as_deref(),
        Some("accurate timer message is not enabled, timerWheelEnable is false")
    );
    // Recall is off by default, as in Java.
    let off = recall(&client, &addr, "Timed", "anything");
    assert_code(&off, response_code::NO_PERMISSION);
    assert_eq!(
        off.remark.as_deref(),
        Some("recall failed, operation is forbidden")
    );
    client.shutdown();
    broker.shutdown();
}

fn pull(
    client: &RemotingClient,
    addr: &str,
    group: &str,
    subscription: Option<(&str, &str)>,
    sub_version: i64,
) -> RemotingCommand {
    let header = PullMessageRequestHeader {
        sys_flag: if subscription.is_some() {
            raw::FLAG_SUBSCRIPTION
        } else {
            0
        },
        subscription: subscription.map(|(e, _)| e.to_string()),
        sub_version,
        expression_type: subscription.map(|(_, t)| t.to_string()),
        ..raw::pull_header(group, "Filtered", 0, 0)
    };
    invoke(client, addr, raw::pull_request(&header))
}

fn pulled_bodies(response: &RemotingCommand) -> Vec<String> {
    decode_messages(&response.body, false)
        .unwrap()
        .into_iter()
        .map(|m| String::from_utf8(m.body.into_vec()).unwrap())
        .collect()
}

fn sql_subscription(expression: &str, version: i64) -> SubscriptionData {
    SubscriptionData {
        topic: "Filtered".into(),
        sub_string: expression.into(),
        sub_version: version,
        expression_type: Some("SQL92".into()),
        ..SubscriptionData::default()
    }
}

#[test]
fn sql92_subscriptions_filter_by_properties() {
    let store = TempDir::new("5x-sql");
    let broker = start_broker(&store, |b| b.enable_property_filter(true));
    let addr = broker.local_addr().to_string();
    let client = RemotingClient::new(ClientConfig::default()).unwrap();
    for (region, price, body) in [("eu", 5, "eu-5"), ("us", 50, "us-50"), ("eu", 50, "eu-50")] {
        let props = format!("region\u{1}{region}\u{2}price\u{1}{price}\u{2}TAGS\u{1}T");
        assert_code(
            &send(&client, &addr, "Filtered", &props, body),
            response_code::SUCCESS,
        );
    }
    assert_code(
        &send(&client, &addr, "Filtered", "TAGS\u{1}T", "none"),
        response_code::SUCCESS,
    );

    // A pull carrying its subscription.
    let sql = ("region = 'eu' AND price > 10", "SQL92");
    let found = pull(&client, &addr, "CG_sql", Some(sql), 1);
    assert_code(&found, response_code::SUCCESS);
    assert_eq!(pulled_bodies(&found), vec!["eu-50"]);
    let three_valued = pull(
        &client,
        &addr,
        "CG_sql",
        Some(("region <> 'us'", "SQL92")),
        1,
    );
    assert_eq!(
        pulled_bodies(&three_valued),
        vec!["eu-5", "eu-50"],
        "no region: NULL"
    );
    let bad = pull(&client, &addr, "CG_sql", Some(("region = ", "SQL92")), 1);
    assert_code(&bad, response_code::SUBSCRIPTION_PARSE_FAILED);

    // By heartbeat: compiled once, then pulls name only the version.
    let heartbeat = HeartbeatData {
        client_id: "127.0.0.1@sql".into(),
        consumer_data_set: vec![ConsumerData {
            group_name: "CG_hb".into(),
            subscription_data_set: vec![sql_subscription("price >= 50", 7)],
            ..ConsumerData::default()
        }],
        ..HeartbeatData::default()
    };
    let request = RemotingCommand::new_request(request_code::HEART_BEAT)
        .with_body(heartbeat.to_json().into_bytes());
    assert_code(&invoke(&client, &addr, request), response_code::SUCCESS);
    let by_heartbeat = pull(&client, &addr, "CG_hb", None, 7);
    assert_code(&by_heartbeat, response_code::SUCCESS);
    assert_eq!(pulled_bodies(&by_heartbeat), vec!["us-50", "eu-50"]);
    let newer = pull(&client, &addr, "CG_hb", None, 8);
    assert_code(&newer, response_code::FILTER_DATA_NOT_LATEST);

    // CHECK_CLIENT_CONFIG: fine, or the parser's complaint with its position.
    let check = |expression: &str| {
        let body = CheckClientRequestBody {
            client_id: "127.0.0.1@sql".into(),
            group: "CG_check".into(),
            subscription_data: Some(sql_subscription(expression, 1)),
            namespace: None,
        };
        let request = RemotingCommand::new_request(request_code::CHECK_CLIENT_CONFIG)
            .with_body(body.to_json().into_bytes());
        invoke(&client, &addr, request)
    };
    assert_code(&check("a IS NOT NULL"), response_code::SUCCESS);
    let refused = check("a = 1 AND AND b = 2");
    assert_code(&refused, response_code::SUBSCRIPTION_PARSE_FAILED);
    assert!(
        refused
            .remark
            .as_deref()
            .unwrap()
            .contains("line 1, column 11"),
        "{:?}",
        refused.remark
    );
    client.shutdown();
    broker.shutdown();
}

#[test]
fn sql92_is_refused_when_the_broker_does_not_filter_by_properties() {
    let store = TempDir::new("5x-sql-off");
    let broker = start_broker(&store, |b| b);
    let addr = broker.local_addr().to_string();
    let client = RemotingClient::new(ClientConfig::default()).unwrap();
    assert_code(
        &send(&client, &addr, "Filtered", "a\u{1}2", "x"),
        response_code::SUCCESS,
    );
    let refused = pull(&client, &addr, "CG_sql", Some(("a > 1", "SQL92")), 1);
    assert_code(&refused, response_code::SYSTEM_ERROR);
    assert_eq!(
        refused.remark.as_deref(),
        Some("The broker does not support consumer to filter message by SQL92")
    );
    client.shutdown();
    broker.shutdown();
}

#[test]
fn five_x_admin_codes_answer_as_java_does() {
    let store = TempDir::new("5x-admin");
    let broker = start_broker(&store, |b| b);
    let addr = broker.local_addr().to_string();
    let client = RemotingClient::new(ClientConfig::default()).unwrap();
    assert_code(
        &send(&client, &addr, "Known", "", "x"),
        response_code::SUCCESS,
    );
    let topic_config = |topic: &str| {
        let header = GetTopicConfigRequestHeader {
            topic: topic.into(),
            lo: Some(true),
        };
        invoke(
            &client,
            &addr,
            RemotingCommand::request_with_header(request_code::GET_TOPIC_CONFIG, &header),
        )
    };
    let known = topic_config("Known");
    assert_code(&known, response_code::SUCCESS);
    let json: serde_json::Value = serde_json::from_slice(&known.body).unwrap();
    assert_eq!(json["topicName"], "Known");
    assert!(json["readQueueNums"].as_i64().unwrap() > 0);
    let unknown = topic_config("Unknown");
    assert_code(&unknown, response_code::TOPIC_NOT_EXIST);
    assert_eq!(
        unknown.remark.as_deref(),
        Some("No topic in this broker. topic: Unknown")
    );
    let header = GetSubscriptionGroupConfigRequestHeader {
        group: "CG_admin".into(),
    };
    let group = invoke(
        &client,
        &addr,
        RemotingCommand::request_with_header(request_code::GET_SUBSCRIPTIONGROUP_CONFIG, &header),
    );
    assert_code(&group, response_code::SUCCESS);
    let json: serde_json::Value = serde_json::from_slice(&group.body).unwrap();
    assert_eq!(json["groupName"], "CG_admin");
    assert_eq!(json["retryMaxTimes"], 16);
    client.shutdown();
    broker.shutdown();
}
