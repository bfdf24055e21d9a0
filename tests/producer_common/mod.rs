//! Helpers of the producer integration tests: a name server, fake brokers built on
//! `RemotingServer` that register with it like real ones, and waiting with deadlines.
//!
//! A fake broker answers SEND_MESSAGE_V2, SEND_BATCH_MESSAGE, HEART_BEAT, UNREGISTER_CLIENT,
//! PULL_MESSAGE, GET_MAX_OFFSET and GET_MIN_OFFSET, records every request, and keeps what it
//! stores in memory so a pull reads it back. It can be told to stay silent or to answer an
//! error code, killed (server and name-server registration closed) and restarted on the same
//! port.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rocketmq_blocking::namesrv::NameServer;
use rocketmq_blocking::protocol::body::{
    DataVersion, RegisterBrokerBody, TopicConfig, TopicConfigSerializeWrapper,
};
use rocketmq_blocking::protocol::codes::{request_code, response_code};
use rocketmq_blocking::protocol::header::{
    GetMaxOffsetRequestHeader, PullMessageRequestHeader, PullMessageResponseHeader,
    RegisterBrokerRequestHeader, SendMessageRequestHeaderV2, SendMessageResponseHeader,
};
use rocketmq_blocking::protocol::message::{
    create_offset_message_id, decode_batch, encode_stored_message, string_to_properties, MessageExt,
};
use rocketmq_blocking::protocol::util_all::crc32;
use rocketmq_blocking::protocol::{CommandCustomHeader, ExtFields, RemotingCommand, SerializeType};
use rocketmq_blocking::remoting::{
    ClientConfig, PoolConfig, ProcessorError, RemotingClient, RemotingServer, RequestContext,
    RequestProcessor, ServerConfig,
};

// Logging and deadline-bounded waiting are the remoting tests' helpers, shared, not copied.
#[path = "../common/mod.rs"]
pub mod common;
#[allow(unused_imports)]
pub use common::{assert_eventually, init_logging};

/// A name server on 127.0.0.1:0 that drops a broker as soon as its connection closes.
pub fn name_server() -> NameServer {
    init_logging();
    NameServer::builder()
        .listen("127.0.0.1:0")
        .scan_interval(Duration::from_millis(200))
        .start()
        .expect("name server")
}

/// How a fake broker answers sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Store and answer SUCCESS.
    Normal,
    /// Accept the request and never answer.
    Silent,
    /// Answer this response code without storing.
    Error(i32),
    /// Store, but answer this code (FLUSH_DISK_TIMEOUT and the like) with the usual header.
    StoredWith(i32),
    /// Wait this long, then answer this response code without storing.
    SlowError(Duration, i32),
}

/// A request as the fake broker received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub code: i32,
    pub ext_fields: ExtFields,
    pub body: Vec<u8>,
    pub serialize_type: SerializeType,
    pub oneway: bool,
    pub at: Instant,
}

/// What a fake broker remembers across restarts.
pub struct BrokerState {
    mode: Mutex<Mode>,
    requests: Mutex<Vec<Recorded>>,
    queues: Mutex<HashMap<(String, i32), Vec<MessageExt>>>,
    commit_offset: AtomicI64,
}

impl BrokerState {
    fn new() -> Arc<Self> {
        Arc::new(BrokerState {
            mode: Mutex::new(Mode::Normal),
            requests: Mutex::new(Vec::new()),
            queues: Mutex::new(HashMap::new()),
            commit_offset: AtomicI64::new(0),
        })
    }
}

struct FakeBrokerProcessor {
    state: Arc<BrokerState>,
    store_host: SocketAddr,
}

impl RequestProcessor for FakeBrokerProcessor {
    fn process_request(
        &self,
        ctx: &RequestContext,
        request: RemotingCommand,
    ) -> Result<Option<RemotingCommand>, ProcessorError> {
        self.state.requests.lock().unwrap().push(Recorded {
            code: request.code,
            ext_fields: request.ext_fields.clone(),
            body: request.body.to_vec(),
            serialize_type: request.serialize_type,
            oneway: request.is_oneway(),
            at: Instant::now(),
        });
        match request.code {
            request_code::SEND_MESSAGE_V2 | request_code::SEND_BATCH_MESSAGE => {
                match *self.state.mode.lock().unwrap() {
                    Mode::Silent => Ok(None),
                    Mode::Error(code) => Ok(Some(RemotingCommand::new_response(
                        code,
                        Some(format!("fake broker error {code}")),
                    ))),
                    Mode::Normal => self.store(ctx, &request).map(Some),
                    Mode::SlowError(delay, code) => {
                        thread::sleep(delay);
                        Ok(Some(RemotingCommand::new_response(
                            code,
                            Some(format!("fake broker error {code}")),
                        )))
                    }
                    Mode::StoredWith(code) => self.store(ctx, &request).map(|mut response| {
                        response.code = code;
                        Some(response)
                    }),
                }
            }
            request_code::HEART_BEAT | request_code::UNREGISTER_CLIENT => {
                Ok(Some(RemotingCommand::success()))
            }
            request_code::PULL_MESSAGE => self.pull(&request).map(Some),
            request_code::GET_MAX_OFFSET | request_code::GET_MIN_OFFSET => {
                let header = GetMaxOffsetRequestHeader::read_from(&request.ext_fields)?;
                let len = self.queue_len(&header.topic, header.queue_id);
                let offset = if request.code == request_code::GET_MAX_OFFSET {
                    len
                } else {
                    0
                };
                Ok(Some(
                    RemotingCommand::success().with_ext("offset", offset.to_string()),
                ))
            }
            other => Ok(Some(RemotingCommand::new_response(
                response_code::REQUEST_CODE_NOT_SUPPORTED,
                Some(format!(" request type {other} not supported")),
            ))),
        }
    }
}

impl FakeBrokerProcessor {
    fn queue_len(&self, topic: &str, queue_id: i32) -> i64 {
        self.state
            .queues
            .lock()
            .unwrap()
            .get(&(topic.to_string(), queue_id))
            .map_or(0, |q| q.len() as i64)
    }

    fn store(
        &self,
        ctx: &RequestContext,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, ProcessorError> {
        let header = SendMessageRequestHeaderV2::read_from(&request.ext_fields)?;
        let born_host: SocketAddr = ctx.remote_addr().parse()?;
        let entries: Vec<(i32, Vec<u8>, String)> = if header.m {
            decode_batch(&request.body)?
                .into_iter()
                .map(|m| {
                    let props =
                        rocketmq_blocking::protocol::message::properties_to_string(&m.properties);
                    (m.flag, m.body, props)
                })
                .collect()
        } else {
            vec![(
                header.h,
                request.body.to_vec(),
                header.i.clone().unwrap_or_default(),
            )]
        };
        let mut queues = self.state.queues.lock().unwrap();
        let queue = queues.entry((header.b.clone(), header.e)).or_default();
        let first_offset = queue.len() as i64;
        let mut offset_ids = Vec::new();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        for (flag, body, properties) in entries {
            let commit = self
                .state
                .commit_offset
                .fetch_add(body.len() as i64 + 100, Ordering::SeqCst);
            offset_ids.push(create_offset_message_id(self.store_host, commit));
            queue.push(MessageExt {
                topic: header.b.clone(),
                flag,
                body: body.into(),
                properties: string_to_properties(&properties),
                queue_id: header.e,
                queue_offset: queue.len() as i64,
                sys_flag: header.f,
                born_timestamp: header.g,
                born_host,
                store_timestamp: now,
                store_host: self.store_host,
                commit_log_offset: commit,
                ..MessageExt::default()
            });
        }
        let mut response = RemotingCommand::success();
        SendMessageResponseHeader {
            msg_id: offset_ids.join(","),
            queue_id: header.e,
            queue_offset: first_offset,
            msg_region: Some("DefaultRegion".into()),
            trace_on: Some(true),
            ..SendMessageResponseHeader::default()
        }
        .write_to(&mut response.ext_fields);
        Ok(response)
    }

    fn pull(&self, request: &RemotingCommand) -> Result<RemotingCommand, ProcessorError> {
        let header = PullMessageRequestHeader::read_from(&request.ext_fields)?;
        let queues = self.state.queues.lock().unwrap();
        let stored = queues
            .get(&(header.topic.clone(), header.queue_id))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let max = stored.len() as i64;
        let (code, next, body) = if header.queue_offset > max {
            (response_code::PULL_OFFSET_MOVED, max, Vec::new())
        } else if header.queue_offset == max {
            (response_code::PULL_NOT_FOUND, max, Vec::new())
        } else {
            let from = header.queue_offset as usize;
            let to = (from + header.max_msg_nums.max(0) as usize).min(stored.len());
            let mut body = Vec::new();
            for message in &stored[from..to] {
                body.extend_from_slice(&encode_stored_message(message)?);
            }
            (response_code::SUCCESS, to as i64, body)
        };
        let mut response = RemotingCommand::new_response(code, None).with_body(body);
        PullMessageResponseHeader {
            suggest_which_broker_id: 0,
            next_begin_offset: next,
            min_offset: 0,
            max_offset: max,
            ..PullMessageResponseHeader::default()
        }
        .write_to(&mut response.ext_fields);
        Ok(response)
    }
}

/// A broker stand-in registered with a name server.
pub struct FakeBroker {
    pub name: String,
    pub addr: String,
    namesrv: String,
    topics: Vec<(String, i32)>,
    state: Arc<BrokerState>,
    server: Option<RemotingServer>,
    registrar: Option<RemotingClient>,
}

impl FakeBroker {
    /// Starts on 127.0.0.1:0 and registers `topics` (name, queue count; perm 6) with
    /// `namesrv`.
    pub fn start(name: &str, namesrv: &str, topics: &[(&str, i32)]) -> FakeBroker {
        init_logging();
        let mut broker = FakeBroker {
            name: name.to_string(),
            addr: "127.0.0.1:0".into(),
            namesrv: namesrv.to_string(),
            topics: topics.iter().map(|(t, n)| (t.to_string(), *n)).collect(),
            state: BrokerState::new(),
            server: None,
            registrar: None,
        };
        broker.serve();
        broker
    }

    fn serve(&mut self) {
        let server = RemotingServer::new(ServerConfig::listen(self.addr.clone())).expect("bind");
        let store_host = server.local_addr();
        self.addr = store_host.to_string();
        server
            .register_default_processor(
                FakeBrokerProcessor {
                    state: self.state.clone(),
                    store_host,
                },
                PoolConfig {
                    threads: 4,
                    queue_capacity: 10_000,
                },
            )
            .expect("processor");
        server.start().expect("start");
        self.server = Some(server);
        self.register();
    }

    /// REGISTER_BROKER with this broker's topics, as a real broker does.
    pub fn register(&mut self) {
        let registrar = RemotingClient::new(ClientConfig::default()).expect("client");
        let topics: BTreeMap<String, TopicConfig> = self
            .topics
            .iter()
            .map(|(name, queues)| {
                let config = TopicConfig {
                    read_queue_nums: *queues,
                    write_queue_nums: *queues,
                    perm: 6,
                    ..TopicConfig::new(name.clone())
                };
                (name.clone(), config)
            })
            .collect();
        let body = RegisterBrokerBody {
            topic_config_serialize_wrapper: TopicConfigSerializeWrapper {
                topic_config_table: topics,
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
            broker_name: self.name.clone(),
            broker_addr: self.addr.clone(),
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
        let response = registrar
            .invoke_sync(Some(&self.namesrv), request, Duration::from_secs(3))
            .expect("register broker");
        assert_eq!(
            response.code,
            response_code::SUCCESS,
            "{:?}",
            response.remark
        );
        self.registrar = Some(registrar);
    }

    /// Stops serving and drops the name server registration (the name server forgets the
    /// broker when the registration connection closes).
    pub fn kill(&mut self) {
        if let Some(registrar) = self.registrar.take() {
            registrar.shutdown();
        }
        if let Some(server) = self.server.take() {
            server.shutdown();
        }
    }

    /// Serves again on the same address and registers again.
    pub fn restart(&mut self) {
        self.kill();
        self.serve();
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.state.mode.lock().unwrap() = mode;
    }

    /// Every request received with `code`.
    pub fn requests(&self, code: i32) -> Vec<Recorded> {
        self.state
            .requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.code == code)
            .cloned()
            .collect()
    }

    /// How many requests with `code` arrived.
    pub fn count(&self, code: i32) -> usize {
        self.state
            .requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.code == code)
            .count()
    }

    /// Messages stored in `topic`'s queues.
    pub fn stored(&self, topic: &str) -> usize {
        self.state
            .queues
            .lock()
            .unwrap()
            .iter()
            .filter(|((t, _), _)| t == topic)
            .map(|(_, q)| q.len())
            .sum()
    }
}

impl Drop for FakeBroker {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Names of this process's threads (from /proc/self/task/*/comm; at most 15 characters).
pub fn thread_names() -> Vec<String> {
    let mut names = Vec::new();
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            if let Ok(name) = std::fs::read_to_string(task.path().join("comm")) {
                names.push(name.trim().to_string());
            }
        }
    }
    names
}
