//! The Apache C++ client's consumer (PyPI rocketmq==0.4.4, which has no transactional
//! producer) reads transactional messages our producer sent through our broker: every
//! committed one once, those committed by a check too, never a rolled-back one.

#![cfg(feature = "servers")]

mod common;
mod cpp_peer;

use std::any::Any;
use std::collections::BTreeSet;
use std::time::Duration;

use common::assert_eventually;
use cpp_peer::{run_peer, temp_store};
use rocketmq_blocking::broker::Broker;
use rocketmq_blocking::client::{
    LocalTransactionState, Message, MessageExt, TransactionListener, TransactionProducer,
};
use rocketmq_blocking::namesrv::NameServer;

const COUNT: u64 = 30;
const HALF_TOPIC: &str = "RMQ_SYS_TRANS_HALF_TOPIC";

/// Rolls back every third message, leaves the next unknown (a check commits it), commits
/// the rest.
struct Fates;

fn seq(property: Option<&str>) -> u64 {
    property.and_then(|s| s.parse().ok()).unwrap_or(u64::MAX)
}

impl TransactionListener for Fates {
    fn execute_local_transaction(&self, message: &Message, _: &dyn Any) -> LocalTransactionState {
        match seq(message.property("seq")) % 3 {
            0 => LocalTransactionState::RollbackMessage,
            1 => LocalTransactionState::Unknown,
            _ => LocalTransactionState::CommitMessage,
        }
    }

    fn check_local_transaction(&self, message: &MessageExt) -> LocalTransactionState {
        match seq(message.property("seq")) % 3 {
            0 => LocalTransactionState::RollbackMessage,
            _ => LocalTransactionState::CommitMessage,
        }
    }
}

#[test]
fn the_cpp_consumer_reads_committed_transactional_messages_and_never_a_rolled_back_one() {
    common::init_logging();
    let store = temp_store("cpp-tx");
    let namesrv = NameServer::builder().listen("127.0.0.1:0").start().unwrap();
    let ns = namesrv.local_addr().to_string();
    let broker = Broker::builder()
        .listen("127.0.0.1:0")
        .store_dir(&store)
        .name_server(&ns)
        .register_interval(Duration::from_secs(5))
        .transaction_timeout(Duration::from_millis(300))
        .transaction_check_interval(Duration::from_millis(100))
        .start()
        .unwrap();
    let producer = TransactionProducer::builder("PG_cpp_tx", Fates)
        .name_server(&ns)
        .start()
        .unwrap();
    for i in 0..COUNT {
        let m = Message::new("CppTx", format!("transactional {i}"))
            .with_tags("TagTx")
            .with_keys(format!("tx-{i}"))
            .with_property("seq", i.to_string())
            .unwrap();
        producer.send_message_in_transaction(&m, &i).unwrap();
    }
    let visible: BTreeSet<u64> = (0..COUNT).filter(|s| s % 3 != 0).collect();
    assert_eventually("every half settled", Duration::from_secs(60), || {
        let max = broker.store().max_offset_in_queue(HALF_TOPIC, 0);
        broker.consumer_offset("CID_RMQ_SYS_TRANS", HALF_TOPIC, 0) == Some(max)
    });
    let stored: i64 = (0..8)
        .map(|q| broker.store().max_offset_in_queue("CppTx", q))
        .sum();
    assert_eq!(stored, visible.len() as i64);

    let records = run_peer(&[
        "consume",
        "--namesrv",
        &ns,
        "--topic",
        "CppTx",
        "--group",
        "CID_cpp_tx_reader",
        "--expect",
        &visible.len().to_string(),
        "--timeout",
        "60",
        "--quiet",
        "1",
    ]);
    let messages: Vec<&serde_json::Value> = records
        .iter()
        .filter(|r| r.get("summary").is_none())
        .collect();
    let seqs: Vec<u64> = messages.iter().map(|r| seq(r["seq"].as_str())).collect();
    let distinct: BTreeSet<u64> = seqs.iter().copied().collect();
    assert_eq!(
        distinct, visible,
        "the C++ consumer got exactly the committed ones"
    );
    assert_eq!(seqs.len(), visible.len(), "each once: {seqs:?}");
    for r in &messages {
        let s = seq(r["seq"].as_str());
        assert_eq!(
            r["body"].as_str(),
            Some(format!("transactional {s}").as_str())
        );
        assert_eq!(r["tags"].as_str(), Some("TagTx"));
        assert_eq!(r["keys"].as_str(), Some(format!("tx-{s}").as_str()));
    }
    producer.shutdown();
    broker.shutdown();
    namesrv.shutdown();
    let _ = std::fs::remove_dir_all(&store);
}
