//! Conformance vectors: whole frames captured from Apache RocketMQ 4.9.8 (Java) and from the
//! Apache C++ client 2.0, in `tests/fixtures/` (see `tests/fixtures/README.md`).
//!
//! Every fixture must decode to the fields the README lists, must be consumed exactly, and must
//! survive decode → encode → decode; ROCKETMQ binary-header frames must re-encode byte for byte.

use std::collections::BTreeSet;
use std::path::PathBuf;

use rocketmq_blocking::protocol::{
    decode_first_frame, decode_frame, frame_length, FrameDecoder, LanguageCode, RemotingCommand,
    SerializeType, DEFAULT_MAX_FRAME_LENGTH,
};

/// What one fixture must decode to, copied from the README table.
struct Vector {
    /// Path under `tests/fixtures/`.
    file: &'static str,
    code: i32,
    flag: i32,
    opaque: i32,
    language: LanguageCode,
    version: i32,
    serialize: SerializeType,
    /// `None` for a JSON `null` / absent remark (or a zero-length binary remark).
    remark: Option<&'static str>,
    /// Every ext field, in the order the README lists them.
    ext: &'static [(&'static str, &'static str)],
    body_len: usize,
    /// The body as text, where the README gives it.
    body: Option<&'static str>,
}

use LanguageCode::{Cpp, Java};
use SerializeType::{Json, RocketMq};

const ROUTE_BODY_QUOTED: &str = r#"{"brokerDatas":[{"brokerAddrs":{"0":"127.0.0.1:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":7,"readQueueNums":8,"topicSysFlag":0,"writeQueueNums":8}]}"#;

/// Route body for a request with version < 401: the brokerAddrs key `0` is not quoted.
const ROUTE_BODY_UNQUOTED: &str = r#"{"brokerDatas":[{"brokerAddrs":{0:"127.0.0.1:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#;

const HEARTBEAT_BODY: &str = r#"{"clientID":"192.0.2.2@16137#457717984084","consumerDataSet":[],"producerDataSet":[{"groupName":"CLIENT_INNER_PRODUCER"},{"groupName":"javapeer_producer_group"}]}"#;

const VECTORS: &[Vector] = &[
    // ---------------------------------------------------------------- Java 4.9.8
    Vector {
        file: "java-4.9.8/001-req-code103-json.bin",
        code: 103,
        flag: 0,
        opaque: 77,
        language: Java,
        version: 409,
        serialize: Json,
        remark: None,
        ext: &[
            ("brokerId", "0"),
            ("bodyCrc32", "78052007"),
            ("clusterName", "DefaultCluster"),
            ("brokerAddr", "127.0.0.1:10911"),
            ("haServerAddr", "192.0.2.2:10912"),
            ("compressed", "false"),
            ("brokerName", "broker-a"),
        ],
        body_len: 1764,
        body: None,
    },
    Vector {
        file: "java-4.9.8/005-resp-code0-json.bin",
        code: 0,
        flag: 1,
        opaque: 77,
        language: Java,
        version: 409,
        serialize: Json,
        remark: None,
        ext: &[],
        body_len: 0,
        body: None,
    },
    Vector {
        file: "java-4.9.8/007-req-code105-json.bin",
        code: 105,
        flag: 0,
        opaque: 2,
        language: Java,
        version: 409,
        serialize: Json,
        remark: None,
        ext: &[("topic", "TopicTest")],
        body_len: 0,
        body: None,
    },
    Vector {
        file: "java-4.9.8/008-resp-code0-json.bin",
        code: 0,
        flag: 1,
        opaque: 0,
        language: Java,
        version: 409,
        serialize: Json,
        remark: None,
        ext: &[],
        body_len: 235,
        body: Some(ROUTE_BODY_QUOTED),
    },
    Vector {
        file: "java-4.9.8/010-req-code310-json.bin",
        code: 310,
        flag: 0,
        opaque: 4,
        language: Java,
        version: 409,
        serialize: Json,
        remark: None,
        ext: &[
            ("a", "javapeer_producer_group"),
            ("b", "TopicTest"),
            ("c", "TBW102"),
            ("d", "4"),
            ("e", "2"),
            ("f", "0"),
            ("g", "1795279641668"),
            ("h", "0"),
            (
                "i",
                "KEYS\u{1}KEY0\u{2}UNIQ_KEY\u{1}FD00000000000000000000000000000233755FFD2B276A9974430000\u{2}WAIT\u{1}true\u{2}TAGS\u{1}TagA",
            ),
            ("j", "0"),
            ("k", "false"),
            ("m", "false"),
            ("n", "broker-a"),
        ],
        body_len: 16,
        body: None,
    },
    Vector {
        file: "java-4.9.8/022-resp-code0-json.bin",
        code: 0,
        flag: 1,
        opaque: 4,
        language: Java,
        version: 409,
        serialize: Json,
        remark: None,
        ext: &[
            ("queueId", "2"),
            ("TRACE_ON", "true"),
            ("MSG_REGION", "DefaultRegion"),
            ("msgId", "7F00000100002A9F00000000000008C0"),
            ("queueOffset", "3"),
        ],
        body_len: 0,
        body: None,
    },
    Vector {
        file: "java-4.9.8/038-resp-code17-json.bin",
        code: 17,
        flag: 1,
        opaque: 2,
        language: Java,
        version: 409,
        serialize: Json,
        remark: Some(
            "No topic route info in name server for the topic: TopicCapture\nSee http://rocketmq.apache.org/docs/faq/ for further details.",
        ),
        ext: &[],
        body_len: 0,
        body: None,
    },
    Vector {
        file: "java-4.9.8/076-oneway-code40-json.bin",
        code: 40,
        flag: 2,
        opaque: 117,
        language: Java,
        version: 409,
        serialize: Json,
        remark: None,
        ext: &[("consumerGroup", "javapeer_consumer_group_1795279649463")],
        body_len: 0,
        body: None,
    },
    Vector {
        file: "java-4.9.8/083-resp-code0-json.bin",
        code: 0,
        flag: 1,
        opaque: 19,
        language: Java,
        version: 409,
        serialize: Json,
        remark: Some("FOUND"),
        ext: &[
            ("suggestWhichBrokerId", "0"),
            ("nextBeginOffset", "5"),
            ("maxOffset", "5"),
            ("minOffset", "0"),
        ],
        body_len: 1120,
        body: None,
    },
    Vector {
        file: "java-4.9.8/090-resp-code0-json.bin",
        code: 0,
        flag: 1,
        opaque: 7,
        language: Java,
        version: 409,
        serialize: Json,
        remark: None,
        ext: &[],
        body_len: 233,
        body: Some(ROUTE_BODY_UNQUOTED),
    },
    Vector {
        file: "java-4.9.8/095-req-code105-binary.bin",
        code: 105,
        flag: 0,
        opaque: 7,
        language: Java,
        version: 399,
        serialize: RocketMq,
        remark: None,
        ext: &[("topic", "TopicTest")],
        body_len: 0,
        body: None,
    },
    Vector {
        file: "java-4.9.8/096-resp-code0-binary.bin",
        code: 0,
        flag: 1,
        opaque: 7,
        language: Java,
        version: 409,
        serialize: RocketMq,
        remark: None,
        ext: &[],
        body_len: 233,
        body: Some(ROUTE_BODY_UNQUOTED),
    },
    Vector {
        file: "java-4.9.8/099-req-code34-json.bin",
        code: 34,
        flag: 0,
        opaque: 8,
        language: Java,
        version: 409,
        serialize: Json,
        remark: None,
        ext: &[],
        body_len: 162,
        body: Some(HEARTBEAT_BODY),
    },
    Vector {
        file: "java-4.9.8/111-req-code310-binary.bin",
        code: 310,
        flag: 0,
        opaque: 4,
        language: Java,
        version: 409,
        serialize: RocketMq,
        remark: None,
        ext: &[
            ("a", "javapeer_producer_group"),
            ("b", "TopicTest"),
            ("c", "TBW102"),
            ("d", "4"),
            ("e", "2"),
            ("f", "0"),
            ("g", "1795279795061"),
            ("h", "0"),
            (
                "i",
                "KEYS\u{1}KEY0\u{2}UNIQ_KEY\u{1}FD0000000000000000000000000000023F8B5FFD2B276A9BCB740000\u{2}WAIT\u{1}true\u{2}TAGS\u{1}TagA",
            ),
            ("j", "0"),
            ("k", "false"),
            ("m", "false"),
            ("n", "broker-a"),
        ],
        body_len: 16,
        body: None,
    },
    Vector {
        file: "java-4.9.8/115-resp-code0-binary.bin",
        code: 0,
        flag: 1,
        opaque: 4,
        language: Java,
        version: 409,
        serialize: RocketMq,
        remark: None,
        ext: &[
            ("msgId", "7F00000100002A9F00000000000015E9"),
            ("queueId", "2"),
            ("queueOffset", "7"),
            ("TRACE_ON", "true"),
            ("MSG_REGION", "DefaultRegion"),
        ],
        body_len: 0,
        body: None,
    },
    // ---------------------------------------------------------------- C++ client 2.0
    // Numbers in extFields ("queueId":0) must read as their JSON text.
    Vector {
        file: "cpp-2.0/001-req-code10-json.bin",
        code: 10,
        flag: 0,
        opaque: 2,
        language: Cpp,
        version: 63,
        serialize: Json,
        remark: Some(""),
        ext: &[
            ("AccessKey", ""),
            ("OnsChannel", "ALIYUN"),
            ("Signature", "stX5oGuiEy6+yCZGTPXidc5E/pg="),
            ("batch", "0"),
            ("bornTimestamp", "1795281103898"),
            ("defaultTopic", "TBW102"),
            ("defaultTopicQueueNums", "4"),
            ("flag", "0"),
            ("producerGroup", "PID_cpp_test"),
            (
                "properties",
                "KEYS\u{1}key-0\u{2}TAGS\u{1}TagA\u{2}UNIQ_KEY\u{1}0100007F0000555300009A0E0D700100\u{2}WAIT\u{1}true\u{2}seq\u{1}0\u{2}",
            ),
            ("queueId", "0"),
            ("reconsumeTimes", "0"),
            ("sysFlag", "0"),
            ("topic", "TopicTest"),
            ("unitMode", "0"),
        ],
        body_len: 9,
        body: None,
    },
    Vector {
        file: "cpp-2.0/003-req-code34-json.bin",
        code: 34,
        flag: 0,
        opaque: 2,
        language: Cpp,
        version: 63,
        serialize: Json,
        remark: Some(""),
        ext: &[
            ("AccessKey", ""),
            ("OnsChannel", "ALIYUN"),
            ("Signature", "Cyj0LZzT9C21K9s6kqH8ojGQUUg="),
        ],
        body_len: 310,
        body: None,
    },
    Vector {
        file: "cpp-2.0/005-req-code105-json.bin",
        code: 105,
        flag: 0,
        opaque: 0,
        language: Cpp,
        version: 63,
        serialize: Json,
        remark: Some(""),
        ext: &[
            ("AccessKey", ""),
            ("OnsChannel", "ALIYUN"),
            ("Signature", "N/YT7X6tJe5UfutmW+uNwTTJ7Fc="),
            ("topic", "TopicTest"),
        ],
        body_len: 0,
        body: None,
    },
    Vector {
        file: "cpp-2.0/007-req-code11-json.bin",
        code: 11,
        flag: 0,
        opaque: 8,
        language: Cpp,
        version: 63,
        serialize: Json,
        remark: Some(""),
        ext: &[
            ("AccessKey", ""),
            ("OnsChannel", "ALIYUN"),
            ("Signature", "o8gGANfF/fz9G/9ChSP2ANhX+P8="),
            ("commitOffset", "0"),
            ("consumerGroup", "CID_cpp_test"),
            ("maxMsgNums", "32"),
            ("queueId", "0"),
            ("queueOffset", "0"),
            ("subVersion", "1795281168838"),
            ("subscription", "*"),
            ("suspendTimeoutMillis", "15000"),
            ("sysFlag", "6"),
            ("topic", "TopicTest"),
        ],
        body_len: 0,
        body: None,
    },
];

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
}

fn read_fixture(file: &str) -> Vec<u8> {
    let path = fixtures_dir().join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Decodes a whole frame with the streaming decoder and checks it is consumed exactly.
fn decode_whole(file: &str, bytes: &[u8]) -> RemotingCommand {
    let (cmd, used) = decode_first_frame(bytes, DEFAULT_MAX_FRAME_LENGTH)
        .unwrap_or_else(|e| panic!("{file}: decode failed: {e}"))
        .unwrap_or_else(|| panic!("{file}: decoder wants more than the whole file"));
    assert_eq!(
        used,
        bytes.len(),
        "{file}: decoder did not consume exactly the file"
    );
    cmd
}

fn check_fields(v: &Vector, cmd: &RemotingCommand) {
    let f = v.file;
    assert_eq!(cmd.code, v.code, "{f}: code");
    assert_eq!(cmd.flag, v.flag, "{f}: flag");
    assert_eq!(cmd.opaque, v.opaque, "{f}: opaque");
    assert_eq!(cmd.language, v.language, "{f}: language");
    assert_eq!(cmd.version, v.version, "{f}: version");
    assert_eq!(cmd.serialize_type, v.serialize, "{f}: serialize type");
    assert_eq!(cmd.remark.as_deref(), v.remark, "{f}: remark");
    for (key, value) in v.ext {
        assert_eq!(
            cmd.ext_fields.get(key),
            Some(*value),
            "{f}: extField {key:?}"
        );
    }
    let got_keys: BTreeSet<&str> = cmd.ext_fields.iter().map(|(k, _)| k).collect();
    let want_keys: BTreeSet<&str> = v.ext.iter().map(|(k, _)| *k).collect();
    assert_eq!(got_keys, want_keys, "{f}: extField keys");
    assert_eq!(cmd.ext_fields.len(), v.ext.len(), "{f}: extField count");
    assert_eq!(cmd.body.len(), v.body_len, "{f}: body_len");
    if let Some(body) = v.body {
        assert_eq!(String::from_utf8_lossy(&cmd.body), body, "{f}: body text");
    }
}

#[test]
fn table_covers_every_fixture_file() {
    let mut on_disk = BTreeSet::new();
    for dir in ["java-4.9.8", "cpp-2.0"] {
        for entry in std::fs::read_dir(fixtures_dir().join(dir)).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".bin") {
                on_disk.insert(format!("{dir}/{name}"));
            }
        }
    }
    let in_table: BTreeSet<String> = VECTORS.iter().map(|v| v.file.to_string()).collect();
    assert_eq!(in_table.len(), VECTORS.len(), "a fixture is listed twice");
    assert_eq!(
        on_disk, in_table,
        "fixture files and the VECTORS table differ"
    );
    assert_eq!(on_disk.len(), 19);
}

#[test]
fn every_fixture_decodes_to_the_readme_fields() {
    for v in VECTORS {
        let bytes = read_fixture(v.file);
        let cmd = decode_whole(v.file, &bytes);
        check_fields(v, &cmd);
    }
}

#[test]
fn frame_length_and_decode_frame_agree_with_the_decoder() {
    for v in VECTORS {
        let bytes = read_fixture(v.file);
        let prefix: [u8; 4] = bytes[..4].try_into().unwrap();
        let total = frame_length(prefix, bytes.len()).unwrap();
        assert_eq!(total + 4, bytes.len(), "{}: length prefix", v.file);
        let cmd = decode_frame(&bytes[4..])
            .unwrap_or_else(|e| panic!("{}: decode_frame failed: {e}", v.file));
        check_fields(v, &cmd);
        assert_eq!(cmd, decode_whole(v.file, &bytes), "{}", v.file);
    }
}

#[test]
fn every_strict_prefix_needs_more_bytes() {
    for v in VECTORS {
        let bytes = read_fixture(v.file);
        for cut in 0..bytes.len() {
            assert_eq!(
                decode_first_frame(&bytes[..cut], DEFAULT_MAX_FRAME_LENGTH),
                Ok(None),
                "{}: prefix of {cut} bytes",
                v.file
            );
        }
    }
}

#[test]
fn a_stream_of_all_fixtures_decodes_frame_by_frame() {
    let mut stream = Vec::new();
    let mut expected = Vec::new();
    for v in VECTORS {
        let bytes = read_fixture(v.file);
        expected.push((v, bytes.len()));
        stream.extend_from_slice(&bytes);
    }
    // One decoder, fed the whole stream in 7-byte pieces as a socket might deliver it.
    let mut decoder = FrameDecoder::default();
    let mut decoded = Vec::new();
    for piece in stream.chunks(7) {
        let mut at = 0;
        while at < piece.len() {
            let (used, cmd) = decoder.feed(&piece[at..]).unwrap();
            at += used;
            decoded.extend(cmd);
        }
    }
    assert_eq!(decoded.len(), expected.len());
    for ((v, _), cmd) in expected.iter().zip(&decoded) {
        check_fields(v, cmd);
    }
    assert!(!decoder.in_frame());
}

#[test]
fn every_fixture_survives_decode_encode_decode() {
    for v in VECTORS {
        let bytes = read_fixture(v.file);
        let cmd = decode_whole(v.file, &bytes);
        let encoded = cmd
            .encode()
            .unwrap_or_else(|e| panic!("{}: encode failed: {e}", v.file));
        let again = decode_whole(v.file, &encoded);
        assert_eq!(again, cmd, "{}: decode(encode(cmd)) != cmd", v.file);
        check_fields(v, &again);
        // The header type is kept, so a re-encoded frame is in the fixture's own header type.
        assert_eq!(encoded[4], v.serialize.code(), "{}: mark type byte", v.file);
    }
}

#[test]
fn binary_header_fixtures_re_encode_byte_for_byte() {
    let binary: Vec<&Vector> = VECTORS.iter().filter(|v| v.serialize == RocketMq).collect();
    let names: Vec<&str> = binary.iter().map(|v| v.file).collect();
    assert_eq!(
        names,
        [
            "java-4.9.8/095-req-code105-binary.bin",
            "java-4.9.8/096-resp-code0-binary.bin",
            "java-4.9.8/111-req-code310-binary.bin",
            "java-4.9.8/115-resp-code0-binary.bin",
        ]
    );
    for v in binary {
        let bytes = read_fixture(v.file);
        let cmd = decode_whole(v.file, &bytes);
        let encoded = cmd.encode().unwrap();
        assert_eq!(encoded, bytes, "{}: re-encoded bytes differ", v.file);
        // encode_without_body is the same frame minus the body.
        let head = cmd.encode_without_body().unwrap();
        assert_eq!(
            head,
            bytes[..bytes.len() - v.body_len],
            "{}: header bytes",
            v.file
        );
    }
}
