//! ACL 1.0: the signatures Java 4.9.8 computed (tests/fixtures/java-4.9.8-acl/) reproduced;
//! signed producers, consumers and admin calls through our broker with an account table, and
//! the refusals (wrong secret, no access key, a topic without PUB, an admin code from a plain
//! account) answered NO_PERMISSION with Java's words; the broker's own calls to its clients
//! (a pushed reply) are not held to the ACL; the Apache C++ client with its session
//! credentials accepted.

#![cfg(all(feature = "acl", feature = "servers"))]

mod common;
mod cpp_peer;

use std::path::Path;
use std::time::Duration;

use common::Servers;
use cpp_peer::run_peer;
use rocketmq_blocking::acl::{
    calculate_signature, combine_request_content, AclClientRpcHook, SessionCredentials,
};
use rocketmq_blocking::client::{
    create_reply_message, ClientError, ConsumeConcurrentlyStatus, ConsumeFrom, Message, MessageExt,
    MqAdmin, Producer, PullConsumer, PullStatus, PushConsumer,
};
use rocketmq_blocking::protocol::decode_frame;
use rocketmq_blocking::remoting::RpcHook;

const SECRET: &str = "12345678";

/// The account table: `RocketMQ` may publish and subscribe `AclTopic`, only subscribe
/// `SubOnly`, nothing else; `rocketmqadmin` is an admin.
const TABLE: &str = r#"{
  "globalWhiteRemoteAddresses": [],
  "accounts": [
    {"accessKey": "RocketMQ", "secretKey": "12345678", "whiteRemoteAddress": "",
     "admin": false, "defaultTopicPerm": "DENY", "defaultGroupPerm": "SUB",
     "topicPerms": ["AclTopic=PUB|SUB", "SubOnly=SUB", "CppAclTopic=PUB|SUB"],
     "groupPerms": ["DeniedGroup=DENY"]},
    {"accessKey": "rocketmqadmin", "secretKey": "12345678", "whiteRemoteAddress": "",
     "admin": true, "defaultTopicPerm": "PUB|SUB", "defaultGroupPerm": "PUB|SUB"}
  ]
}"#;

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/java-4.9.8-acl")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn java_signatures_are_reproduced_from_the_other_fields() {
    let vectors = [
        (
            "acl-001-req-code310-json.bin",
            310,
            "D3Af/enxWzDtAumkKulnyJ35+NY=",
            None,
        ),
        (
            "acl-002-req-code105-json.bin",
            105,
            "JIqh0F9m9PVwC11XAz7CE1ztmQM=",
            None,
        ),
        (
            "acl-003-req-code310-binary.bin",
            310,
            "loE+q3aM2p73W9WVimCwjCgubAk=",
            Some("token-abc"),
        ),
    ];
    for (file, code, signature, token) in vectors {
        let frame = fixture(file);
        let cmd = decode_frame(&frame[4..]).unwrap();
        assert_eq!(cmd.code, code, "{file}");
        assert_eq!(cmd.ext_fields.get("Signature"), Some(signature), "{file}");
        assert_eq!(cmd.ext_fields.get("AccessKey"), Some("RocketMQ"), "{file}");

        // The signer over the fields as they arrived.
        let content = combine_request_content(&cmd.ext_fields, &cmd.body);
        assert_eq!(calculate_signature(&content, SECRET), signature, "{file}");

        // The client hook, from the request before Java's hook ran.
        let mut unsigned = cmd.clone();
        for field in ["Signature", "AccessKey", "SecurityToken"] {
            unsigned.ext_fields.remove(field);
        }
        let mut credentials = SessionCredentials::new("RocketMQ", SECRET);
        if let Some(token) = token {
            credentials = credentials.with_security_token(token);
        }
        AclClientRpcHook::new(credentials)
            .do_before_request("127.0.0.1:10911", &mut unsigned)
            .unwrap();
        assert_eq!(
            unsigned.ext_fields.get("Signature"),
            Some(signature),
            "{file}"
        );
        assert_eq!(unsigned.ext_fields.get("SecurityToken"), token, "{file}");
    }
}

struct AclCluster(Servers);

impl AclCluster {
    fn start(name: &str) -> AclCluster {
        AclCluster(Servers::start(name, |broker, dir| {
            let table = dir.join("plain_acl.json");
            std::fs::write(&table, TABLE).unwrap();
            broker.acl_file(table)
        }))
    }

    fn ns(&self) -> String {
        self.0.ns()
    }

    fn producer(&self, group: &str, credentials: Option<SessionCredentials>) -> Producer {
        let mut builder = Producer::builder(group)
            .name_server(self.ns())
            .send_timeout(Duration::from_secs(3))
            .retry_times_when_send_failed(0);
        if let Some(credentials) = credentials {
            builder = builder.credentials(credentials);
        }
        builder.start().unwrap()
    }

    fn admin(&self, access_key: &str) -> MqAdmin {
        MqAdmin::builder()
            .name_server(self.ns())
            .credentials(SessionCredentials::new(access_key, SECRET))
            .start()
            .unwrap()
    }
}

fn good() -> SessionCredentials {
    SessionCredentials::new("RocketMQ", SECRET)
}

/// The refusal a send met, checked to be a NO_PERMISSION with `remark` in it.
fn assert_refused(result: Result<impl std::fmt::Debug, ClientError>, remark: &str) {
    let err = result.expect_err("the broker must refuse it");
    assert!(err.is_permission_denied(), "not NO_PERMISSION: {err}");
    // The remark is on the cause of a failed send: follow the `source()` chain.
    let mut text = err.to_string();
    let mut cause = std::error::Error::source(&err);
    while let Some(e) = cause {
        text = format!("{text}: {e}");
        cause = e.source();
    }
    assert!(text.contains(remark), "{text:?} does not say {remark:?}");
    assert!(text.contains("NO_PERMISSION"), "{text}");
}

#[test]
fn signed_clients_pass_and_refusals_say_why() {
    let cluster = AclCluster::start("acl-rust");

    // Admin codes: an admin account creates the topics; a plain account may not.
    let admin = cluster.admin("rocketmqadmin");
    for topic in ["AclTopic", "SubOnly"] {
        admin.create_topic("TBW102", topic, 4).unwrap();
    }
    let plain_admin = cluster.admin("RocketMQ");
    assert_refused(
        plain_admin.create_topic("TBW102", "NotAllowed", 4),
        "Need admin permission for request code=17, but accessKey=RocketMQ is not",
    );

    // A signed producer sends; a signed consumer reads it back.
    let producer = cluster.producer("PG_acl", Some(good()));
    let mut sent = Vec::new();
    for i in 0..5 {
        sent.push(
            producer
                .send(&Message::new("AclTopic", format!("acl-{i}")).with_keys(format!("k{i}")))
                .unwrap(),
        );
    }
    let consumer = PullConsumer::builder("CG_acl")
        .name_server(cluster.ns())
        .credentials(good())
        .start()
        .unwrap();
    let mut bodies = Vec::new();
    for queue in consumer.fetch_subscribe_message_queues("AclTopic").unwrap() {
        let pulled = consumer.pull(&queue, 0, 32).unwrap();
        if pulled.status == PullStatus::Found {
            bodies.extend(pulled.messages.into_iter().map(|m| m.body));
        }
    }
    bodies.sort();
    let expected: Vec<Vec<u8>> = (0..5).map(|i| format!("acl-{i}").into_bytes()).collect();
    assert_eq!(bodies, expected);
    // A query by unique key is signed without `_UNIQUE_KEY_QUERY`, as brokers verify it.
    let found = admin
        .query_message_by_unique_key("AclTopic", &sent[0].msg_id)
        .unwrap();
    assert_eq!(found.map(|m| m.body.into_vec()), Some(b"acl-0".to_vec()));

    // A group the account may not use.
    let denied = PullConsumer::builder("DeniedGroup")
        .name_server(cluster.ns())
        .credentials(good())
        .start()
        .unwrap();
    assert_refused(
        denied.pull(&sent[0].message_queue, 0, 32),
        "No default permission for group:DeniedGroup",
    );

    // Refusals: a topic without PUB, a wrong secret, no credentials at all.
    assert_refused(
        producer.send(&Message::new("SubOnly", "x")),
        "No default permission for topic:SubOnly",
    );
    let wrong = cluster.producer(
        "PG_acl_wrong",
        Some(SessionCredentials::new("RocketMQ", "not-the-secret")),
    );
    assert_refused(
        wrong.send(&Message::new("AclTopic", "x")),
        "Check signature failed for accessKey=RocketMQ",
    );
    let anonymous = cluster.producer("PG_acl_anonymous", None);
    assert_refused(
        anonymous.send(&Message::new("AclTopic", "x")),
        "No accessKey is configured",
    );
    let unknown = cluster.producer(
        "PG_acl_unknown",
        Some(SessionCredentials::new("NoSuchAccount", SECRET)),
    );
    assert_refused(
        unknown.send(&Message::new("AclTopic", "x")),
        "No acl config for NoSuchAccount",
    );

    for p in [producer, wrong, anonymous, unknown] {
        p.shutdown();
    }
    consumer.shutdown();
    denied.shutdown();
    admin.shutdown();
    plain_admin.shutdown();
}

/// A request-reply round trip through the ACL broker: the reply reaches the requester as the
/// broker's own PUSH_REPLY_MESSAGE_TO_CLIENT call, which carries no signature and must not
/// be judged by the broker's validator (Java's server calls run no hooks).
#[test]
fn the_brokers_own_calls_to_signed_clients_are_not_refused() {
    let cluster = AclCluster::start("acl-reply");
    let admin = cluster.admin("rocketmqadmin");
    admin.create_topic("TBW102", "AclTopic", 4).unwrap();
    let replier = std::sync::Arc::new(cluster.producer("PG_acl_replier", Some(good())));
    let sender = replier.clone();
    let responder = PushConsumer::builder("CG_acl_responder")
        .name_server(cluster.ns())
        .credentials(good())
        .subscribe("AclTopic", "*")
        .consume_from(ConsumeFrom::LastOffset)
        .message_listener_concurrently(move |requests: &[MessageExt], _: &mut _| {
            for request in requests {
                let reply = create_reply_message(request, b"pong".to_vec()).unwrap();
                sender.send(&reply).unwrap();
            }
            ConsumeConcurrentlyStatus::ConsumeSuccess
        })
        .start()
        .unwrap();
    let requester = cluster.producer("PG_acl_requester", Some(good()));
    let reply = requester
        .request(&Message::new("AclTopic", "ping"), Duration::from_secs(20))
        .unwrap();
    assert_eq!(reply.body, b"pong");
    responder.shutdown();
    requester.shutdown();
    replier.shutdown();
    admin.shutdown();
}

#[test]
fn the_cpp_client_signs_with_its_session_credentials() {
    let cluster = AclCluster::start("acl-cpp");
    let admin = cluster.admin("rocketmqadmin");
    admin.create_topic("TBW102", "CppAclTopic", 4).unwrap();
    let ns = cluster.ns();
    let produce = |secret: &str| {
        run_peer(&[
            "produce",
            "--namesrv",
            &ns,
            "--topic",
            "CppAclTopic",
            "--count",
            "10",
            "--mode",
            "sync",
            "--group",
            "PID_cpp_acl",
            "--access-key",
            "RocketMQ",
            "--secret-key",
            secret,
        ])
    };
    let records = produce(SECRET);
    let summary = records.last().expect("a summary line");
    assert_eq!(
        summary["ok"], 10,
        "the C++ producer's signed sends: {summary}"
    );
    let records = produce("wrong-secret");
    let summary = records.last().expect("a summary line");
    assert_eq!(
        summary["ok"], 0,
        "sends with a wrong secret must fail: {summary}"
    );

    // The C++ push consumer, signed, reads the ten.
    let consumed = run_peer(&[
        "consume",
        "--namesrv",
        &ns,
        "--topic",
        "CppAclTopic",
        "--group",
        "CID_cpp_acl",
        "--expect",
        "10",
        "--timeout",
        "60",
        "--quiet",
        "1",
        "--access-key",
        "RocketMQ",
        "--secret-key",
        SECRET,
    ]);
    let summary = consumed.last().expect("a summary line");
    assert_eq!(summary["received"], 10, "the C++ consumer: {summary}");
    admin.shutdown();
}
