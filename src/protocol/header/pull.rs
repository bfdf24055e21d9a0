//! Headers of PULL_MESSAGE (11) and its response.

use super::{optional_string, required_string, CommandCustomHeader};
use crate::protocol::error::HeaderError;
use crate::protocol::ext_fields::ExtFields;

/// A pull request; mirrors Java's `PullMessageRequestHeader` (4.9.8 fields, plus the optional
/// 5.x ones).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullMessageRequestHeader {
    /// `consumerGroup`.
    pub consumer_group: String,
    /// `topic`.
    pub topic: String,
    /// `queueId`.
    pub queue_id: i32,
    /// `queueOffset`: where to start reading.
    pub queue_offset: i64,
    /// `maxMsgNums`: the most messages to return.
    pub max_msg_nums: i32,
    /// `sysFlag`: the `PullSysFlag` bits (commit offset, suspend, subscription, class filter).
    pub sys_flag: i32,
    /// `commitOffset`: the consumer's offset to commit along the way.
    pub commit_offset: i64,
    /// `suspendTimeoutMillis`: how long the broker may hold the request (long polling).
    pub suspend_timeout_millis: i64,
    /// `subscription`: the filter expression.
    pub subscription: Option<String>,
    /// `subVersion`: the subscription's version.
    pub sub_version: i64,
    /// `expressionType`: "TAG" or "SQL92".
    pub expression_type: Option<String>,
    /// `maxMsgBytes` (5.x).
    pub max_msg_bytes: Option<i32>,
    /// `requestSource` (5.x).
    pub request_source: Option<i32>,
    /// `proxyFrowardClientId` (5.x, Java's spelling).
    pub proxy_froward_client_id: Option<String>,
    /// `bname`: the target broker's name.
    pub bname: Option<String>,
}

impl CommandCustomHeader for PullMessageRequestHeader {
    fn write_to(&self, fields: &mut ExtFields) {
        fields.insert("consumerGroup", self.consumer_group.as_str());
        fields.insert("topic", self.topic.as_str());
        fields.insert("queueId", self.queue_id.to_string());
        fields.insert("queueOffset", self.queue_offset.to_string());
        fields.insert("maxMsgNums", self.max_msg_nums.to_string());
        fields.insert("sysFlag", self.sys_flag.to_string());
        fields.insert("commitOffset", self.commit_offset.to_string());
        fields.insert(
            "suspendTimeoutMillis",
            self.suspend_timeout_millis.to_string(),
        );
        fields.insert_opt("subscription", self.subscription.as_ref());
        fields.insert("subVersion", self.sub_version.to_string());
        fields.insert_opt("expressionType", self.expression_type.as_ref());
        fields.insert_opt("maxMsgBytes", self.max_msg_bytes.as_ref());
        fields.insert_opt("requestSource", self.request_source.as_ref());
        fields.insert_opt(
            "proxyFrowardClientId",
            self.proxy_froward_client_id.as_ref(),
        );
        fields.insert_opt("bname", self.bname.as_ref());
    }

    fn read_from(fields: &ExtFields) -> Result<Self, HeaderError> {
        Ok(PullMessageRequestHeader {
            consumer_group: required_string(fields, "consumerGroup")?,
            topic: required_string(fields, "topic")?,
            queue_id: fields.required("queueId")?,
            queue_offset: fields.required("queueOffset")?,
            max_msg_nums: fields.required("maxMsgNums")?,
            sys_flag: fields.required("sysFlag")?,
            commit_offset: fields.required("commitOffset")?,
            suspend_timeout_millis: fields.required("suspendTimeoutMillis")?,
            subscription: optional_string(fields, "subscription"),
            sub_version: fields.required("subVersion")?,
            expression_type: optional_string(fields, "expressionType"),
            max_msg_bytes: fields.optional("maxMsgBytes")?,
            request_source: fields.optional("requestSource")?,
            proxy_froward_client_id: optional_string(fields, "proxyFrowardClientId"),
            bname: optional_string(fields, "bname"),
        })
    }
}

/// The broker's answer to a pull; mirrors Java's `PullMessageResponseHeader`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullMessageResponseHeader {
    /// `suggestWhichBrokerId`: master (0) or a slave to pull from next.
    pub suggest_which_broker_id: i64,
    /// `nextBeginOffset`: the queue offset to pull from next.
    pub next_begin_offset: i64,
    /// `minOffset`: the queue's min offset.
    pub min_offset: i64,
    /// `maxOffset`: the queue's max offset.
    pub max_offset: i64,
    /// `offsetDelta` (5.x).
    pub offset_delta: Option<i64>,
    /// `topicSysFlag` (5.x).
    pub topic_sys_flag: Option<i32>,
    /// `groupSysFlag` (5.x).
    pub group_sys_flag: Option<i32>,
    /// `forbiddenType` (5.x).
    pub forbidden_type: Option<i32>,
}

impl CommandCustomHeader for PullMessageResponseHeader {
    fn write_to(&self, fields: &mut ExtFields) {
        fields.insert(
            "suggestWhichBrokerId",
            self.suggest_which_broker_id.to_string(),
        );
        fields.insert("nextBeginOffset", self.next_begin_offset.to_string());
        fields.insert("minOffset", self.min_offset.to_string());
        fields.insert("maxOffset", self.max_offset.to_string());
        fields.insert_opt("offsetDelta", self.offset_delta.as_ref());
        fields.insert_opt("topicSysFlag", self.topic_sys_flag.as_ref());
        fields.insert_opt("groupSysFlag", self.group_sys_flag.as_ref());
        fields.insert_opt("forbiddenType", self.forbidden_type.as_ref());
    }

    fn read_from(fields: &ExtFields) -> Result<Self, HeaderError> {
        Ok(PullMessageResponseHeader {
            suggest_which_broker_id: fields.required("suggestWhichBrokerId")?,
            next_begin_offset: fields.required("nextBeginOffset")?,
            min_offset: fields.required("minOffset")?,
            max_offset: fields.required("maxOffset")?,
            offset_delta: fields.optional("offsetDelta")?,
            topic_sys_flag: fields.optional("topicSysFlag")?,
            group_sys_flag: fields.optional("groupSysFlag")?,
            forbidden_type: fields.optional("forbiddenType")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::test_fixtures::fixture;

    #[test]
    fn reads_the_cpp_pull_request() {
        let h: PullMessageRequestHeader = fixture("cpp-2.0/007-req-code11-json.bin")
            .decode_header()
            .unwrap();
        let expected = PullMessageRequestHeader {
            consumer_group: "CID_cpp_test".into(),
            topic: "TopicTest".into(),
            queue_id: 0,
            queue_offset: 0,
            max_msg_nums: 32,
            sys_flag: 6,
            commit_offset: 0,
            suspend_timeout_millis: 15_000,
            subscription: Some("*".into()),
            sub_version: 1_795_281_168_838,
            ..Default::default()
        };
        assert_eq!(h, expected);
        let mut fields = ExtFields::new();
        h.write_to(&mut fields);
        assert_eq!(fields.len(), 10);
        assert_eq!(PullMessageRequestHeader::read_from(&fields), Ok(h));
        fields.remove("subVersion");
        assert_eq!(
            PullMessageRequestHeader::read_from(&fields),
            Err(HeaderError::MissingField("subVersion"))
        );
    }

    #[test]
    fn reads_the_java_pull_response() {
        let cmd = fixture("java-4.9.8/083-resp-code0-json.bin");
        let h: PullMessageResponseHeader = cmd.decode_header().unwrap();
        assert_eq!(
            h,
            PullMessageResponseHeader {
                suggest_which_broker_id: 0,
                next_begin_offset: 5,
                min_offset: 0,
                max_offset: 5,
                ..Default::default()
            }
        );
        let mut fields = ExtFields::new();
        h.write_to(&mut fields);
        let mut written: Vec<_> = fields.iter().collect();
        let mut sent: Vec<_> = cmd.ext_fields.iter().collect();
        written.sort();
        sent.sort();
        assert_eq!(written, sent);
    }
}
