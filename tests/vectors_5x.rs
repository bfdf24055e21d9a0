//! The frames captured from Apache RocketMQ 5.3.3 (`tests/fixtures/java-5.3.3/`, see
//! `tests/fixtures/README.md`): POP (a Java 5.3.3 `mqadmin setConsumeMode`, a push consumer
//! with `clientRebalance(false)`: heartbeat, QUERY_ASSIGNMENT, POP_MESSAGE, ACK_MESSAGE,
//! CHANGE_MESSAGE_INVISIBLETIME), timer sends and their answers with `recallHandle`, and a
//! SQL92 consumer (CHECK_CLIENT_CONFIG, its heartbeat, its pulls and their answers). Each must
//! decode to the fields the capture's README lists, consumed exactly, and survive decode,
//! encode, decode; the broker and client tests replay them (`broker_pop.rs`, the client's
//! unit tests).

use std::collections::BTreeSet;
use std::path::PathBuf;

use rocketmq_blocking::protocol::{
    decode_first_frame, decode_frame, LanguageCode, SerializeType, DEFAULT_MAX_FRAME_LENGTH,
};

/// What one fixture must decode to (every frame is JSON, Java, version 479).
struct Vector {
    file: &'static str,
    code: i32,
    flag: i32,
    opaque: i32,
    remark: Option<&'static str>,
    ext: &'static [(&'static str, &'static str)],
    body_len: usize,
    body: Option<&'static str>,
}

const VECTORS: &[Vector] = &[
    Vector {
        file: "017-req-code401-json.bin",
        code: 401,
        flag: 0,
        opaque: 2,
        remark: None,
        ext: &[
            ("AccessKey", "rocketmq2"),
            ("Signature", "TWcMx9foK1/SlqIjjMbtQN92fOM=")
        ],
        body_len: 80,
        body: Some("{\"consumerGroup\":\"CapPopG5\",\"mode\":\"POP\",\"popShareQueueNum\":0,\"topic\":\"CapPop5\"}"),
    },
    Vector {
        file: "018-resp-code0-json.bin",
        code: 0,
        flag: 1,
        opaque: 2,
        remark: None,
        ext: &[],
        body_len: 0,
        body: None,
    },
    Vector {
        file: "057-req-code34-json.bin",
        code: 34,
        flag: 0,
        opaque: 7,
        remark: None,
        ext: &[],
        body_len: 621,
        body: Some("{\"clientID\":\"192.0.2.2@23204#7587576566205\",\"consumerDataSet\":[{\"consumeFromWhere\":\"CONSUME_FROM_FIRST_OFFSET\",\"consumeType\":\"CONSUME_PASSIVELY\",\"groupName\":\"CapPopG5\",\"messageModel\":\"CLUSTERING\",\"subscriptionDataSet\":[{\"classFilterMode\":false,\"codeSet\":[],\"expressionType\":\"TAG\",\"subString\":\"*\",\"subVersion\":1796627985453,\"tagsSet\":[],\"topic\":\"%RETRY%CapPopG5\"},{\"classFilterMode\":false,\"codeSet\":[],\"expressionType\":\"TAG\",\"subString\":\"*\",\"subVersion\":1796627985445,\"tagsSet\":[],\"topic\":\"CapPop5\"}],\"unitMode\":false}],\"heartbeatFingerprint\":0,\"producerDataSet\":[{\"groupName\":\"CLIENT_INNER_PRODUCER\"}],\"withoutSub\":false}"),
    },
    Vector {
        file: "062-req-code400-json.bin",
        code: 400,
        flag: 0,
        opaque: 13,
        remark: None,
        ext: &[],
        body_len: 146,
        body: Some("{\"clientId\":\"192.0.2.2@23204#7587576566205\",\"consumerGroup\":\"CapPopG5\",\"messageModel\":\"CLUSTERING\",\"strategyName\":\"AVG\",\"topic\":\"%RETRY%CapPopG5\"}"),
    },
    Vector {
        file: "063-resp-code0-json.bin",
        code: 0,
        flag: 1,
        opaque: 13,
        remark: None,
        ext: &[],
        body_len: 124,
        body: Some("{\"messageQueueAssignments\":[{\"messageQueue\":{\"brokerName\":\"broker-5\",\"queueId\":0,\"topic\":\"%RETRY%CapPopG5\"},\"mode\":\"PULL\"}]}"),
    },
    Vector {
        file: "070-req-code400-json.bin",
        code: 400,
        flag: 0,
        opaque: 21,
        remark: None,
        ext: &[],
        body_len: 138,
        body: Some("{\"clientId\":\"192.0.2.2@23204#7587576566205\",\"consumerGroup\":\"CapPopG5\",\"messageModel\":\"CLUSTERING\",\"strategyName\":\"AVG\",\"topic\":\"CapPop5\"}"),
    },
    Vector {
        file: "071-resp-code0-json.bin",
        code: 0,
        flag: 1,
        opaque: 21,
        remark: None,
        ext: &[],
        body_len: 116,
        body: Some("{\"messageQueueAssignments\":[{\"messageQueue\":{\"brokerName\":\"broker-5\",\"queueId\":-1,\"topic\":\"CapPop5\"},\"mode\":\"POP\"}]}"),
    },
    Vector {
        file: "075-req-code200050-json.bin",
        code: 200050,
        flag: 0,
        opaque: 26,
        remark: None,
        ext: &[
            ("pollTime", "15000"),
            ("invisibleTime", "60000"),
            ("queueId", "-1"),
            ("bornTime", "1796627987136"),
            ("maxMsgNums", "32"),
            ("bname", "broker-5"),
            ("topic", "CapPop5"),
            ("expType", "TAG"),
            ("exp", "*"),
            ("consumerGroup", "CapPopG5"),
            ("initMode", "0"),
            ("order", "false")
        ],
        body_len: 0,
        body: None,
    },
    Vector {
        file: "076-resp-code0-json.bin",
        code: 0,
        flag: 1,
        opaque: 26,
        remark: Some("FOUND"),
        ext: &[
            ("invisibleTime", "60000"),
            ("startOffsetInfo", "0 0 0;0 1 0;0 2 0;0 3 0;0 4 0;0 5 0;0 6 0;0 7 0"),
            ("restNum", "0"),
            ("popTime", "1796627987145"),
            ("reviveQid", "0"),
            ("msgOffsetInfo", "0 0 0;0 1 0;0 2 0;0 3 0;0 4 0;0 5 0,1;0 6 0,1;0 7 0")
        ],
        body_len: 2580,
        body: None,
    },
    Vector {
        file: "077-req-code200050-json.bin",
        code: 200050,
        flag: 0,
        opaque: 28,
        remark: None,
        ext: &[
            ("pollTime", "15000"),
            ("invisibleTime", "60000"),
            ("queueId", "-1"),
            ("bornTime", "1796627987213"),
            ("maxMsgNums", "32"),
            ("bname", "broker-5"),
            ("topic", "CapPop5"),
            ("expType", "TAG"),
            ("exp", "*"),
            ("consumerGroup", "CapPopG5"),
            ("initMode", "0"),
            ("order", "false")
        ],
        body_len: 0,
        body: None,
    },
    Vector {
        file: "078-req-code200051-json.bin",
        code: 200051,
        flag: 0,
        opaque: 29,
        remark: None,
        ext: &[
            ("queueId", "7"),
            ("offset", "0"),
            ("bname", "broker-5"),
            ("topic", "CapPop5"),
            ("consumerGroup", "CapPopG5"),
            ("extraInfo", "0 1796627987145 60000 0 0 broker-5 7 0")
        ],
        body_len: 0,
        body: None,
    },
    Vector {
        file: "079-req-code200053-json.bin",
        code: 200053,
        flag: 0,
        opaque: 30,
        remark: None,
        ext: &[
            ("invisibleTime", "10000"),
            ("queueId", "0"),
            ("offset", "0"),
            ("bname", "broker-5"),
            ("topic", "CapPop5"),
            ("consumerGroup", "CapPopG5"),
            ("extraInfo", "0 1796627987145 60000 0 0 broker-5 0 0")
        ],
        body_len: 0,
        body: None,
    },
    Vector {
        file: "088-resp-code0-json.bin",
        code: 0,
        flag: 1,
        opaque: 30,
        remark: Some("not set any response code"),
        ext: &[
            ("invisibleTime", "10000"),
            ("popTime", "1796627987223"),
            ("reviveQid", "0")
        ],
        body_len: 0,
        body: None,
    },
    Vector {
        file: "089-resp-code0-json.bin",
        code: 0,
        flag: 1,
        opaque: 29,
        remark: None,
        ext: &[],
        body_len: 0,
        body: None,
    },
    Vector {
        file: "098-resp-code0-json.bin",
        code: 0,
        flag: 1,
        opaque: 28,
        remark: Some("FOUND"),
        ext: &[
            ("invisibleTime", "60000"),
            ("startOffsetInfo", "1 0 0"),
            ("restNum", "0"),
            ("popTime", "1796628002186"),
            ("reviveQid", "2"),
            ("msgOffsetInfo", "1 0 0")
        ],
        body_len: 331,
        body: None,
    },
    Vector {
        file: "100-req-code200051-json.bin",
        code: 200051,
        flag: 0,
        opaque: 51,
        remark: None,
        ext: &[
            ("queueId", "0"),
            ("offset", "0"),
            ("bname", "broker-5"),
            ("topic", "%RETRY%CapPopG5_CapPop5"),
            ("consumerGroup", "CapPopG5"),
            ("extraInfo", "0 1796628002186 60000 2 1 broker-5 0 0")
        ],
        body_len: 0,
        body: None,
    },
    Vector {
        file: "101-resp-code0-json.bin",
        code: 0,
        flag: 1,
        opaque: 51,
        remark: None,
        ext: &[],
        body_len: 0,
        body: None,
    },
    Vector {
        file: "003-req-code310-json.bin",
        code: 310,
        flag: 0,
        opaque: 2,
        remark: None,
        ext: &[
            ("a", "CapTimerPG5"),
            ("b", "CapTimer5"),
            ("c", "TBW102"),
            ("d", "4"),
            ("e", "4"),
            ("f", "0"),
            ("g", "1796627958692"),
            ("h", "0"),
            ("i", "TIMER_DELAY_MS\u{1}3000\u{2}KEYS\u{1}k0\u{2}UNIQ_KEY\u{1}FD00000000000000000000000000000259C85FFD2B2720785BA30000\u{2}WAIT\u{1}true\u{2}TAGS\u{1}TagT\u{2}"),
            ("j", "0"),
            ("k", "false"),
            ("m", "false"),
            ("n", "broker-5")
        ],
        body_len: 7,
        body: Some("timer-0"),
    },
    Vector {
        file: "004-resp-code0-json.bin",
        code: 0,
        flag: 1,
        opaque: 2,
        remark: None,
        ext: &[
            ("queueId", "4"),
            ("transactionId", "FD00000000000000000000000000000259C85FFD2B2720785BA30000"),
            ("msgId", "7F00000100002ABD00000000007C470B"),
            ("TRACE_ON", "true"),
            ("MSG_REGION", "DefaultRegion"),
            ("recallHandle", "djEgQ2FwVGltZXI1IGJyb2tlci01IDE3OTY2Mjc5NjEwMDEgRkQwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDI1OUM4NUZGRDJCMjcyMDc4NUJBMzAwMDA="),
            ("queueOffset", "10")
        ],
        body_len: 0,
        body: None,
    },
    Vector {
        file: "009-req-code310-json.bin",
        code: 310,
        flag: 0,
        opaque: 8,
        remark: None,
        ext: &[
            ("a", "CapTimerPG5"),
            ("b", "CapTimer5"),
            ("c", "TBW102"),
            ("d", "4"),
            ("e", "6"),
            ("f", "0"),
            ("g", "1796627958724"),
            ("h", "0"),
            ("i", "KEYS\u{1}k2\u{2}TIMER_DELIVER_MS\u{1}1796627961724\u{2}UNIQ_KEY\u{1}FD00000000000000000000000000000259C85FFD2B2720785BC40002\u{2}WAIT\u{1}true\u{2}TAGS\u{1}TagT\u{2}"),
            ("j", "0"),
            ("k", "false"),
            ("m", "false"),
            ("n", "broker-5")
        ],
        body_len: 7,
        body: Some("timer-2"),
    },
    Vector {
        file: "010-resp-code0-json.bin",
        code: 0,
        flag: 1,
        opaque: 8,
        remark: None,
        ext: &[
            ("queueId", "6"),
            ("transactionId", "FD00000000000000000000000000000259C85FFD2B2720785BC40002"),
            ("msgId", "7F00000100002ABD00000000007C49BF"),
            ("TRACE_ON", "true"),
            ("MSG_REGION", "DefaultRegion"),
            ("recallHandle", "djEgQ2FwVGltZXI1IGJyb2tlci01IDE3OTY2Mjc5NjEwMDEgRkQwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDI1OUM4NUZGRDJCMjcyMDc4NUJDNDAwMDI="),
            ("queueOffset", "12")
        ],
        body_len: 0,
        body: None,
    },
    Vector {
        file: "148-req-code46-json.bin",
        code: 46,
        flag: 0,
        opaque: 4,
        remark: None,
        ext: &[],
        body_len: 224,
        body: Some("{\"clientId\":\"192.0.2.2@23342#7618696192325\",\"group\":\"CapSqlG5\",\"subscriptionData\":{\"classFilterMode\":false,\"codeSet\":[],\"expressionType\":\"SQL92\",\"subString\":\"a > 5\",\"subVersion\":1796628016563,\"tagsSet\":[],\"topic\":\"CapSql5\"}}"),
    },
    Vector {
        file: "149-req-code34-json.bin",
        code: 34,
        flag: 0,
        opaque: 9,
        remark: None,
        ext: &[],
        body_len: 627,
        body: Some("{\"clientID\":\"192.0.2.2@23342#7618696192325\",\"consumerDataSet\":[{\"consumeFromWhere\":\"CONSUME_FROM_FIRST_OFFSET\",\"consumeType\":\"CONSUME_PASSIVELY\",\"groupName\":\"CapSqlG5\",\"messageModel\":\"CLUSTERING\",\"subscriptionDataSet\":[{\"classFilterMode\":false,\"codeSet\":[],\"expressionType\":\"TAG\",\"subString\":\"*\",\"subVersion\":1796628016572,\"tagsSet\":[],\"topic\":\"%RETRY%CapSqlG5\"},{\"classFilterMode\":false,\"codeSet\":[],\"expressionType\":\"SQL92\",\"subString\":\"a > 5\",\"subVersion\":1796628016563,\"tagsSet\":[],\"topic\":\"CapSql5\"}],\"unitMode\":false}],\"heartbeatFingerprint\":0,\"producerDataSet\":[{\"groupName\":\"CLIENT_INNER_PRODUCER\"}],\"withoutSub\":false}"),
    },
    Vector {
        file: "177-req-code11-json.bin",
        code: 11,
        flag: 0,
        opaque: 37,
        remark: None,
        ext: &[
            ("queueId", "7"),
            ("maxMsgBytes", "262144"),
            ("maxMsgNums", "32"),
            ("sysFlag", "2"),
            ("suspendTimeoutMillis", "15000"),
            ("commitOffset", "0"),
            ("bname", "broker-5"),
            ("topic", "CapSql5"),
            ("queueOffset", "0"),
            ("expressionType", "SQL92"),
            ("subVersion", "1796628017715"),
            ("consumerGroup", "CapSqlG5")
        ],
        body_len: 0,
        body: None,
    },
    Vector {
        file: "185-resp-code20-json.bin",
        code: 20,
        flag: 1,
        opaque: 38,
        remark: Some("NO_MATCHED_MESSAGE"),
        ext: &[
            ("suggestWhichBrokerId", "0"),
            ("groupSysFlag", "0"),
            ("nextBeginOffset", "1"),
            ("maxOffset", "1"),
            ("minOffset", "0"),
            ("topicSysFlag", "0")
        ],
        body_len: 0,
        body: None,
    },
    Vector {
        file: "187-resp-code0-json.bin",
        code: 0,
        flag: 1,
        opaque: 42,
        remark: Some("FOUND"),
        ext: &[
            ("suggestWhichBrokerId", "0"),
            ("groupSysFlag", "0"),
            ("nextBeginOffset", "1"),
            ("maxOffset", "1"),
            ("minOffset", "0"),
            ("topicSysFlag", "0")
        ],
        body_len: 258,
        body: None,
    },
    Vector {
        file: "322-resp-code0-json.bin",
        code: 0,
        flag: 1,
        opaque: 51,
        remark: Some("FOUND"),
        ext: &[
            ("suggestWhichBrokerId", "0"),
            ("groupSysFlag", "0"),
            ("nextBeginOffset", "1"),
            ("maxOffset", "1"),
            ("minOffset", "0"),
            ("topicSysFlag", "0")
        ],
        body_len: 409,
        body: None,
    },
];

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/java-5.3.3")
}

#[test]
fn table_covers_every_fixture_file() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".bin"))
        .collect();
    let in_table: BTreeSet<String> = VECTORS.iter().map(|v| v.file.to_string()).collect();
    assert_eq!(in_table.len(), VECTORS.len(), "a fixture is listed twice");
    assert_eq!(on_disk, in_table);
}

#[test]
fn every_fixture_decodes_to_the_captured_fields_and_round_trips() {
    for v in VECTORS {
        let f = v.file;
        let bytes = std::fs::read(fixtures_dir().join(f)).unwrap();
        let (cmd, used) = decode_first_frame(&bytes, DEFAULT_MAX_FRAME_LENGTH)
            .unwrap_or_else(|e| panic!("{f}: {e}"))
            .unwrap_or_else(|| panic!("{f}: incomplete"));
        assert_eq!(used, bytes.len(), "{f}: consumed exactly");
        assert_eq!(
            (cmd.code, cmd.flag, cmd.opaque, cmd.version),
            (v.code, v.flag, v.opaque, 479),
            "{f}"
        );
        assert_eq!(cmd.language, LanguageCode::Java, "{f}");
        assert_eq!(cmd.serialize_type, SerializeType::Json, "{f}");
        assert_eq!(cmd.remark.as_deref(), v.remark, "{f}: remark");
        for (key, value) in v.ext {
            assert_eq!(cmd.ext_fields.get(key), Some(*value), "{f}: {key}");
        }
        assert_eq!(cmd.ext_fields.len(), v.ext.len(), "{f}: ext count");
        assert_eq!(cmd.body.len(), v.body_len, "{f}: body length");
        if let Some(body) = v.body {
            assert_eq!(String::from_utf8_lossy(&cmd.body), body, "{f}: body");
        }
        let again = decode_frame(&cmd.encode().unwrap()[4..]).unwrap();
        assert_eq!(again.code, cmd.code, "{f}: re-encoded");
        assert_eq!(
            again.ext_fields, cmd.ext_fields,
            "{f}: re-encoded ext fields"
        );
        assert_eq!(again.body, cmd.body, "{f}: re-encoded body");
        assert_eq!(again.remark, cmd.remark, "{f}: re-encoded remark");
    }
}
