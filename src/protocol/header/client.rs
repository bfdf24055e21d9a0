//! Headers of client-management requests: GET_CONSUMER_LIST_BY_GROUP (38),
//! CONSUMER_SEND_MSG_BACK (36), UNREGISTER_CLIENT (35), NOTIFY_CONSUMER_IDS_CHANGED (40).
//! HEART_BEAT (34) has no header, only a body.

use super::{lenient_bool, optional_string, required_string, CommandCustomHeader};
use crate::protocol::error::HeaderError;
use crate::protocol::ext_fields::ExtFields;

/// Asks a broker for the client ids of a consumer group; mirrors Java's
/// `GetConsumerListByGroupRequestHeader`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GetConsumerListByGroupRequestHeader {
    /// `consumerGroup`.
    pub consumer_group: String,
}

impl CommandCustomHeader for GetConsumerListByGroupRequestHeader {
    fn write_to(&self, fields: &mut ExtFields) {
        fields.insert("consumerGroup", self.consumer_group.as_str());
    }

    fn read_from(fields: &ExtFields) -> Result<Self, HeaderError> {
        Ok(GetConsumerListByGroupRequestHeader {
            consumer_group: required_string(fields, "consumerGroup")?,
        })
    }
}

/// A consumer returning a message for later redelivery; mirrors Java's
/// `ConsumerSendMsgBackRequestHeader`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsumerSendMsgBackRequestHeader {
    /// `offset`: the message's commit log offset.
    pub offset: i64,
    /// `group`: the consumer group.
    pub group: String,
    /// `delayLevel`: the redelivery delay level (0: the broker chooses).
    pub delay_level: i32,
    /// `originMsgId`.
    pub origin_msg_id: Option<String>,
    /// `originTopic`.
    pub origin_topic: Option<String>,
    /// `unitMode`; Java always writes it.
    pub unit_mode: bool,
    /// `maxReconsumeTimes`.
    pub max_reconsume_times: Option<i32>,
    /// `bname`: the target broker's name.
    pub bname: Option<String>,
}

impl CommandCustomHeader for ConsumerSendMsgBackRequestHeader {
    fn write_to(&self, fields: &mut ExtFields) {
        fields.insert("offset", self.offset.to_string());
        fields.insert("group", self.group.as_str());
        fields.insert("delayLevel", self.delay_level.to_string());
        fields.insert_opt("originMsgId", self.origin_msg_id.as_ref());
        fields.insert_opt("originTopic", self.origin_topic.as_ref());
        fields.insert("unitMode", self.unit_mode.to_string());
        fields.insert_opt("maxReconsumeTimes", self.max_reconsume_times.as_ref());
        fields.insert_opt("bname", self.bname.as_ref());
    }

    fn read_from(fields: &ExtFields) -> Result<Self, HeaderError> {
        Ok(ConsumerSendMsgBackRequestHeader {
            offset: fields.required("offset")?,
            group: required_string(fields, "group")?,
            delay_level: fields.required("delayLevel")?,
            origin_msg_id: optional_string(fields, "originMsgId"),
            origin_topic: optional_string(fields, "originTopic"),
            unit_mode: lenient_bool(fields, "unitMode").unwrap_or(false),
            max_reconsume_times: fields.optional("maxReconsumeTimes")?,
            bname: optional_string(fields, "bname"),
        })
    }
}

/// A client leaving its producer and/or consumer group; mirrors Java's
/// `UnregisterClientRequestHeader`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnregisterClientRequestHeader {
    /// `clientID`.
    pub client_id: String,
    /// `producerGroup`.
    pub producer_group: Option<String>,
    /// `consumerGroup`.
    pub consumer_group: Option<String>,
}

impl CommandCustomHeader for UnregisterClientRequestHeader {
    fn write_to(&self, fields: &mut ExtFields) {
        fields.insert("clientID", self.client_id.as_str());
        fields.insert_opt("producerGroup", self.producer_group.as_ref());
        fields.insert_opt("consumerGroup", self.consumer_group.as_ref());
    }

    fn read_from(fields: &ExtFields) -> Result<Self, HeaderError> {
        Ok(UnregisterClientRequestHeader {
            client_id: required_string(fields, "clientID")?,
            producer_group: optional_string(fields, "producerGroup"),
            consumer_group: optional_string(fields, "consumerGroup"),
        })
    }
}

/// A broker telling a group's consumers that the group changed; mirrors Java's
/// `NotifyConsumerIdsChangedRequestHeader`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifyConsumerIdsChangedRequestHeader {
    /// `consumerGroup`.
    pub consumer_group: String,
}

impl CommandCustomHeader for NotifyConsumerIdsChangedRequestHeader {
    fn write_to(&self, fields: &mut ExtFields) {
        fields.insert("consumerGroup", self.consumer_group.as_str());
    }

    fn read_from(fields: &ExtFields) -> Result<Self, HeaderError> {
        Ok(NotifyConsumerIdsChangedRequestHeader {
            consumer_group: required_string(fields, "consumerGroup")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::test_fixtures::fixture;

    #[test]
    fn reads_the_java_notify_oneway() {
        let cmd = fixture("java-4.9.8/076-oneway-code40-json.bin");
        let h: NotifyConsumerIdsChangedRequestHeader = cmd.decode_header().unwrap();
        assert_eq!(h.consumer_group, "javapeer_consumer_group_1795279649463");
        let mut fields = ExtFields::new();
        h.write_to(&mut fields);
        assert_eq!(fields, cmd.ext_fields);
        // The same single field as GET_CONSUMER_LIST_BY_GROUP's header.
        let list: GetConsumerListByGroupRequestHeader = cmd.decode_header().unwrap();
        assert_eq!(list.consumer_group, h.consumer_group);
    }

    #[test]
    fn send_back_and_unregister_round_trip() {
        let back = ConsumerSendMsgBackRequestHeader {
            offset: 4096,
            group: "G".into(),
            delay_level: 0,
            origin_msg_id: Some("ID".into()),
            origin_topic: Some("T".into()),
            unit_mode: false,
            max_reconsume_times: Some(16),
            bname: Some("broker-a".into()),
        };
        let mut fields = ExtFields::new();
        back.write_to(&mut fields);
        assert_eq!(fields.get("unitMode"), Some("false"));
        assert_eq!(
            ConsumerSendMsgBackRequestHeader::read_from(&fields),
            Ok(back)
        );
        fields.remove("delayLevel");
        assert_eq!(
            ConsumerSendMsgBackRequestHeader::read_from(&fields),
            Err(HeaderError::MissingField("delayLevel"))
        );

        let bye = UnregisterClientRequestHeader {
            client_id: "192.0.2.2@16137#457717984084".into(),
            producer_group: Some("PG".into()),
            consumer_group: None,
        };
        let mut fields = ExtFields::new();
        bye.write_to(&mut fields);
        assert_eq!(fields.get("clientID"), Some("192.0.2.2@16137#457717984084"));
        assert_eq!(fields.len(), 2);
        assert_eq!(UnregisterClientRequestHeader::read_from(&fields), Ok(bye));
    }
}
