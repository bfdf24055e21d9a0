//! Request-reply through the reference broker: a responder (push consumer + producer) answers
//! requests; the requester gets each reply synchronously, through a callback, to a chosen
//! queue or by a selector; no reply in time is a timeout; a reply to nobody fails the
//! responder's send with Java's remark.

#![cfg(feature = "servers")]

mod common;

use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use rocketmq_blocking::client::{
    create_reply_message, ClientError, ConsumeConcurrentlyStatus, ConsumeFrom, Message, MessageExt,
    MessageQueue, Producer, PushConsumer, SelectMessageQueueByHash,
};
use rocketmq_blocking::protocol::codes::response_code;
use rocketmq_blocking::LocalCluster;

/// Answers every request of `topic` with `echo: <body>`.
fn responder(cluster: &LocalCluster, group: &str, topic: &str) -> (PushConsumer, Arc<Producer>) {
    let replier = Arc::new(
        Producer::builder(format!("{group}_replier"))
            .name_server(cluster.name_server_addr())
            .start()
            .unwrap(),
    );
    let sender = replier.clone();
    let consumer = PushConsumer::builder(group)
        .name_server(cluster.name_server_addr())
        .subscribe(topic, "*")
        .consume_from(ConsumeFrom::FirstOffset)
        .message_listener_concurrently(move |requests: &[MessageExt], _: &mut _| {
            for request in requests {
                let mut body = b"echo: ".to_vec();
                body.extend_from_slice(&request.body);
                let reply = create_reply_message(request, body).unwrap();
                if let Err(e) = sender.send(&reply) {
                    log::warn!("reply failed: {e}");
                }
            }
            ConsumeConcurrentlyStatus::ConsumeSuccess
        })
        .start()
        .unwrap();
    (consumer, replier)
}

fn requester(cluster: &LocalCluster, group: &str) -> Producer {
    Producer::builder(group)
        .name_server(cluster.name_server_addr())
        .start()
        .unwrap()
}

/// Creates `topic` (a plain send auto-creates it), so the responder finds its route at once.
fn create_topic(producer: &Producer, topic: &str) {
    producer.send(&Message::new(topic, "warm-up")).unwrap();
}

/// The error and its causes, one per line.
fn causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push('\n');
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

const WAIT: Duration = Duration::from_secs(30);

#[test]
fn sync_async_queue_and_selector_requests_get_their_replies() {
    init_logging();
    let cluster = LocalCluster::start().unwrap();
    let requester = requester(&cluster, "PG_requests");
    create_topic(&requester, "Requests");
    let (consumer, replier) = responder(&cluster, "CG_responder", "Requests");

    let reply = requester
        .request(&Message::new("Requests", "sync"), WAIT)
        .unwrap();
    assert_eq!(reply.body, b"echo: sync");
    assert_eq!(reply.topic, "DefaultCluster_REPLY_TOPIC");
    assert_eq!(reply.property("MSG_TYPE"), Some("reply"));
    assert!(reply.property("CORRELATION_ID").is_some());
    assert_eq!(
        reply.property("REPLY_TO_CLIENT"),
        Some(requester.client_id())
    );
    assert!(reply.property("PUSH_REPLY_TIME").is_some());
    assert!(reply.property("ARRIVE_TIME").is_some());

    let (tx, rx) = mpsc::channel();
    for i in 0..5 {
        let tx = tx.clone();
        requester
            .request_async(
                &Message::new("Requests", format!("async {i}")),
                WAIT,
                move |result| tx.send(result.map(|m| m.body.into_vec())).unwrap(),
            )
            .unwrap();
    }
    let mut bodies: Vec<Vec<u8>> = (0..5)
        .map(|_| rx.recv_timeout(WAIT).unwrap().unwrap())
        .collect();
    bodies.sort();
    let expected: Vec<Vec<u8>> = (0..5)
        .map(|i| format!("echo: async {i}").into_bytes())
        .collect();
    assert_eq!(bodies, expected);

    let queue = MessageQueue::new("Requests", "broker-a", 2);
    let reply = requester
        .request_to_queue(&Message::new("Requests", "queued"), &queue, WAIT)
        .unwrap();
    assert_eq!(reply.body, b"echo: queued");

    let reply = requester
        .request_with_selector(
            &Message::new("Requests", "selected"),
            SelectMessageQueueByHash,
            7u64,
            WAIT,
        )
        .unwrap();
    assert_eq!(reply.body, b"echo: selected");

    consumer.shutdown();
    replier.shutdown();
    requester.shutdown();
}

#[test]
fn a_request_nobody_answers_times_out_sync_and_async() {
    init_logging();
    let cluster = LocalCluster::start().unwrap();
    let requester = requester(&cluster, "PG_unanswered");
    create_topic(&requester, "Unanswered");
    let timeout = Duration::from_millis(500);
    let begin = Instant::now();
    let error = requester
        .request(&Message::new("Unanswered", "hello?"), timeout)
        .unwrap_err();
    assert!(begin.elapsed() >= timeout);
    match &error {
        ClientError::RequestTimeout {
            topic,
            request_sent,
            ..
        } => {
            assert_eq!(topic, "Unanswered");
            assert!(request_sent, "the broker stored the request");
        }
        other => panic!("expected a request timeout, got {other:?}"),
    }
    assert!(error.is_timeout());
    assert!(
        error.to_string().contains("wait reply message timeout"),
        "{error}"
    );

    let (tx, rx) = mpsc::channel();
    requester
        .request_async(&Message::new("Unanswered", "anyone?"), timeout, move |r| {
            tx.send(r).unwrap()
        })
        .unwrap();
    // The expiry scan runs every second: the callback comes within about that.
    let outcome = rx.recv_timeout(WAIT).expect("the callback ran");
    assert!(matches!(outcome, Err(ClientError::RequestTimeout { .. })));
    assert!(
        rx.recv_timeout(Duration::from_millis(200)).is_err(),
        "the callback runs once"
    );
    requester.shutdown();
}

#[test]
fn a_reply_for_a_requester_that_is_gone_fails_the_responders_send() {
    init_logging();
    let cluster = LocalCluster::start().unwrap();
    let replier = requester(&cluster, "PG_orphan_replier");
    let mut request = MessageExt {
        topic: "Orphans".into(),
        ..MessageExt::default()
    };
    request.properties.insert("CLUSTER", "DefaultCluster");
    request.properties.insert("CORRELATION_ID", "nobody-waits");
    request
        .properties
        .insert("REPLY_TO_CLIENT", "10.9.9.9@gone");
    let reply = create_reply_message(&request, b"too late".to_vec()).unwrap();
    let error = replier.send(&reply).unwrap_err();
    assert_eq!(error.response_code(), Some(response_code::SYSTEM_ERROR));
    let chain = causes(&error);
    assert!(
        chain.contains("push reply message fail, channel of <10.9.9.9@gone> not found."),
        "{chain}"
    );
    replier.shutdown();
}
