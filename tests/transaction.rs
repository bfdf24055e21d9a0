//! Transactional messages end to end on the reference name server and broker: a commit is
//! delivered once, a rollback never, an unknown one is settled by the broker's check; the
//! check reaches another producer of the group when the first is gone; halves, ends and
//! checks survive a broker restart.

#![cfg(feature = "servers")]

mod common;

use std::any::Any;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use rocketmq_blocking::broker::Broker;
use rocketmq_blocking::client::{
    ConsumeConcurrentlyStatus, ConsumeFrom, LocalTransactionState, Message, MessageExt,
    PushConsumer, TransactionListener, TransactionProducer,
};
use rocketmq_blocking::namesrv::NameServer;

const HALF_TOPIC: &str = "RMQ_SYS_TRANS_HALF_TOPIC";
const CHECK_PROGRESS_GROUP: &str = "CID_RMQ_SYS_TRANS";

/// A name server and a broker that checks open halves older than 300 ms every 100 ms, and
/// never gives one up.
struct TxCluster {
    broker: Option<Broker>,
    namesrv: NameServer,
    store: TempDir,
}

impl TxCluster {
    fn start(name: &str) -> TxCluster {
        init_logging();
        let namesrv = NameServer::builder().listen("127.0.0.1:0").start().unwrap();
        let store = TempDir::created(name);
        let broker = Self::start_broker(&namesrv, &store, "127.0.0.1:0");
        TxCluster {
            broker: Some(broker),
            namesrv,
            store,
        }
    }

    fn start_broker(namesrv: &NameServer, store: &TempDir, listen: &str) -> Broker {
        Broker::builder()
            .listen(listen)
            .name_server(&namesrv.local_addr().to_string())
            .store_dir(&store.0)
            .register_interval(Duration::from_secs(1))
            .transaction_timeout(Duration::from_millis(300))
            .transaction_check_interval(Duration::from_millis(100))
            // 15 checks would pass in 1.5 s here; the tests wait longer than that.
            .transaction_check_max(100_000)
            .start()
            .unwrap()
    }

    fn namesrv(&self) -> String {
        self.namesrv.local_addr().to_string()
    }

    fn broker(&self) -> &Broker {
        self.broker.as_ref().unwrap()
    }

    /// Stops the broker and starts it again on the same address and store.
    fn restart_broker(&mut self) {
        let broker = self.broker.take().unwrap();
        let addr = broker.local_addr().to_string();
        broker.shutdown();
        drop(broker);
        self.broker = Some(Self::start_broker(&self.namesrv, &self.store, &addr));
    }

    /// Every half message stored so far has been passed by the check scan: ended, or given
    /// up. From then on no commit can happen.
    fn all_halves_settled(&self) -> bool {
        let broker = self.broker();
        let max = broker.store().max_offset_in_queue(HALF_TOPIC, 0);
        max > 0 && broker.consumer_offset(CHECK_PROGRESS_GROUP, HALF_TOPIC, 0) == Some(max)
    }

    /// Messages of `topic` in the broker's queues (what consumers can ever read).
    fn stored(&self, topic: &str) -> i64 {
        (0..8)
            .map(|q| self.broker().store().max_offset_in_queue(topic, q))
            .sum()
    }
}

/// A producer's local state: each message's fate by its `seq` property, what checks asked.
struct Ledger {
    name: &'static str,
    /// What the local transaction returns, by `seq`.
    fate: Box<dyn Fn(u64) -> LocalTransactionState + Send + Sync>,
    /// What a check answers.
    check_answer: Mutex<LocalTransactionState>,
    /// `seq`s asked about, with the topic the check showed.
    checked: Mutex<Vec<(u64, String)>>,
}

fn seq_of(m: &MessageExt) -> u64 {
    m.property("seq")
        .and_then(|s| s.parse().ok())
        .unwrap_or(u64::MAX)
}

impl Ledger {
    fn new(
        name: &'static str,
        fate: impl Fn(u64) -> LocalTransactionState + Send + Sync + 'static,
        check_answer: LocalTransactionState,
    ) -> Arc<Ledger> {
        Arc::new(Ledger {
            name,
            fate: Box::new(fate),
            check_answer: Mutex::new(check_answer),
            checked: Mutex::new(Vec::new()),
        })
    }

    fn checked_seqs(&self) -> BTreeSet<u64> {
        self.checked.lock().unwrap().iter().map(|c| c.0).collect()
    }
}

/// The listener given to the producer (the test keeps the ledger).
struct Listener(Arc<Ledger>);

impl TransactionListener for Listener {
    fn execute_local_transaction(&self, message: &Message, _: &dyn Any) -> LocalTransactionState {
        let seq = message
            .property("seq")
            .and_then(|s| s.parse().ok())
            .unwrap();
        (self.0.fate)(seq)
    }

    fn check_local_transaction(&self, message: &MessageExt) -> LocalTransactionState {
        log::info!("producer {} checked seq {}", self.0.name, seq_of(message));
        self.0
            .checked
            .lock()
            .unwrap()
            .push((seq_of(message), message.topic.clone()));
        *self.0.check_answer.lock().unwrap()
    }
}

fn tx_producer(cluster: &TxCluster, group: &str, ledger: &Arc<Ledger>) -> TransactionProducer {
    TransactionProducer::builder(group, Listener(ledger.clone()))
        .name_server(cluster.namesrv())
        .producer(|p| p.heartbeat_interval(Duration::from_millis(200)))
        .start()
        .unwrap()
}

fn send(producer: &TransactionProducer, topic: &str, seqs: impl Iterator<Item = u64>) {
    for seq in seqs {
        let m = Message::new(topic, format!("tx-{seq}"))
            .with_keys(format!("k{seq}"))
            .with_property("seq", seq.to_string())
            .unwrap();
        producer
            .send_message_in_transaction(&m, &seq)
            .unwrap_or_else(|e| panic!("send {seq}: {e:#}"));
    }
}

/// Deliveries by `seq` (a count, to see duplicates).
type Delivered = Arc<Mutex<BTreeMap<u64, usize>>>;

fn consumer(cluster: &TxCluster, group: &str, topic: &str) -> (PushConsumer, Delivered) {
    let delivered: Delivered = Arc::default();
    let seen = delivered.clone();
    let consumer = PushConsumer::builder(group)
        .name_server(cluster.namesrv())
        .subscribe(topic, "*")
        .consume_from(ConsumeFrom::FirstOffset)
        .message_listener_concurrently(move |messages: &[MessageExt], _: &mut _| {
            let mut seen = seen.lock().unwrap();
            for m in messages {
                *seen.entry(seq_of(m)).or_default() += 1;
            }
            ConsumeConcurrentlyStatus::ConsumeSuccess
        })
        .start()
        .unwrap();
    (consumer, delivered)
}

fn fate_by_seq(seq: u64) -> LocalTransactionState {
    match seq % 3 {
        0 => LocalTransactionState::RollbackMessage,
        1 => LocalTransactionState::Unknown,
        _ => LocalTransactionState::CommitMessage,
    }
}

#[test]
fn commit_is_delivered_rollback_never_and_unknown_is_settled_by_a_check() {
    let cluster = TxCluster::start("fates");
    let ledger = Ledger::new("A", fate_by_seq, LocalTransactionState::CommitMessage);
    let producer = tx_producer(&cluster, "PG_tx_fates", &ledger);
    send(&producer, "TxFates", 0..30);
    // Started once the topic exists: a consumer whose topic has no route yet rebalances
    // again only after 20 s.
    let (consumer, delivered) = consumer(&cluster, "CG_tx_fates", "TxFates");
    let unknown: BTreeSet<u64> = (0..30).filter(|s| s % 3 == 1).collect();
    let visible: BTreeSet<u64> = (0..30).filter(|s| s % 3 != 0).collect();
    assert_eventually("every unknown one checked", Duration::from_secs(30), || {
        ledger.checked_seqs() == unknown
    });
    assert_eventually("every half settled", Duration::from_secs(30), || {
        cluster.all_halves_settled()
    });
    assert_eventually("20 delivered", Duration::from_secs(30), || {
        delivered.lock().unwrap().len() == visible.len()
    });
    // Settled: nothing more can be committed. Exactly the commits and the checked ones
    // are stored, each once.
    assert_eq!(cluster.stored("TxFates"), visible.len() as i64);
    let delivered = delivered.lock().unwrap().clone();
    assert_eq!(delivered.keys().copied().collect::<BTreeSet<_>>(), visible);
    assert!(delivered.values().all(|&n| n == 1), "{delivered:?}");
    // The check shows the real topic, not the half topic.
    assert!(ledger
        .checked
        .lock()
        .unwrap()
        .iter()
        .all(|(_, topic)| topic == "TxFates"));
    consumer.shutdown();
    producer.shutdown();
}

#[test]
fn the_check_reaches_another_producer_of_the_group_when_the_first_is_gone() {
    let cluster = TxCluster::start("failover");
    let first = Ledger::new(
        "first",
        |_| LocalTransactionState::Unknown,
        LocalTransactionState::Unknown,
    );
    let producer = tx_producer(&cluster, "PG_tx_failover", &first);
    send(&producer, "TxFailover", 0..3);
    // Gone without ending anything.
    producer.shutdown();
    drop(producer);
    assert_eventually(
        "the broker forgot the first producer",
        Duration::from_secs(10),
        || {
            cluster
                .broker()
                .clients()
                .producer_group_size("PG_tx_failover")
                == 0
        },
    );
    let second = Ledger::new(
        "second",
        |_| LocalTransactionState::Unknown,
        LocalTransactionState::CommitMessage,
    );
    let producer = tx_producer(&cluster, "PG_tx_failover", &second);
    let (consumer, delivered) = consumer(&cluster, "CG_tx_failover", "TxFailover");
    assert_eventually(
        "the second producer checked all three",
        Duration::from_secs(30),
        || second.checked_seqs() == BTreeSet::from([0, 1, 2]),
    );
    assert_eventually("all three delivered", Duration::from_secs(30), || {
        delivered.lock().unwrap().len() == 3
    });
    assert_eventually("every half settled", Duration::from_secs(30), || {
        cluster.all_halves_settled()
    });
    assert_eq!(cluster.stored("TxFailover"), 3);
    consumer.shutdown();
    producer.shutdown();
}

#[test]
fn halves_and_ends_survive_a_broker_restart() {
    let mut cluster = TxCluster::start("restart");
    // 0 rolled back, 1 left unknown (checks answer unknown for now), 2 committed.
    let ledger = Ledger::new("A", fate_by_seq, LocalTransactionState::Unknown);
    let producer = tx_producer(&cluster, "PG_tx_restart", &ledger);
    send(&producer, "TxRestart", 0..3);
    assert_eventually(
        "the unknown one was checked",
        Duration::from_secs(30),
        || ledger.checked_seqs().contains(&1),
    );
    assert_eq!(cluster.stored("TxRestart"), 1, "only the commit so far");
    cluster.restart_broker();
    // The restarted broker still has the open half and asks about it again.
    let asked_before = ledger.checked.lock().unwrap().len();
    assert_eventually(
        "checked again after the restart",
        Duration::from_secs(30),
        || ledger.checked.lock().unwrap().len() > asked_before,
    );
    *ledger.check_answer.lock().unwrap() = LocalTransactionState::CommitMessage;
    assert_eventually("every half settled", Duration::from_secs(30), || {
        cluster.all_halves_settled()
    });
    let (consumer, delivered) = consumer(&cluster, "CG_tx_restart", "TxRestart");
    assert_eventually("both commits delivered", Duration::from_secs(30), || {
        delivered.lock().unwrap().len() == 2
    });
    assert_eq!(cluster.stored("TxRestart"), 2);
    let delivered = delivered.lock().unwrap().clone();
    assert_eq!(delivered, BTreeMap::from([(1, 1), (2, 1)]));
    consumer.shutdown();
    producer.shutdown();
}
