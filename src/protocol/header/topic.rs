//! Header of UPDATE_AND_CREATE_TOPIC (17).

use super::{lenient_bool, optional_string, required_string, CommandCustomHeader};
use crate::protocol::error::HeaderError;
use crate::protocol::ext_fields::ExtFields;

/// Creates or updates a topic on a broker; mirrors Java's `CreateTopicRequestHeader`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateTopicRequestHeader {
    /// `topic`.
    pub topic: String,
    /// `defaultTopic`.
    pub default_topic: String,
    /// `readQueueNums`.
    pub read_queue_nums: i32,
    /// `writeQueueNums`.
    pub write_queue_nums: i32,
    /// `perm`: the `PermName` bits.
    pub perm: i32,
    /// `topicFilterType`: "SINGLE_TAG" or "MULTI_TAG".
    pub topic_filter_type: String,
    /// `topicSysFlag`.
    pub topic_sys_flag: Option<i32>,
    /// `order`: an ordered topic; Java always writes it.
    pub order: bool,
    /// `attributes` (5.x): "+key=value,..." text.
    pub attributes: Option<String>,
    /// `force` (5.x).
    pub force: Option<bool>,
}

impl CommandCustomHeader for CreateTopicRequestHeader {
    fn write_to(&self, fields: &mut ExtFields) {
        fields.insert("topic", self.topic.as_str());
        fields.insert("defaultTopic", self.default_topic.as_str());
        fields.insert("readQueueNums", self.read_queue_nums.to_string());
        fields.insert("writeQueueNums", self.write_queue_nums.to_string());
        fields.insert("perm", self.perm.to_string());
        fields.insert("topicFilterType", self.topic_filter_type.as_str());
        fields.insert_opt("topicSysFlag", self.topic_sys_flag.as_ref());
        fields.insert("order", self.order.to_string());
        fields.insert_opt("attributes", self.attributes.as_ref());
        fields.insert_opt("force", self.force.as_ref());
    }

    fn read_from(fields: &ExtFields) -> Result<Self, HeaderError> {
        Ok(CreateTopicRequestHeader {
            topic: required_string(fields, "topic")?,
            default_topic: required_string(fields, "defaultTopic")?,
            read_queue_nums: fields.required("readQueueNums")?,
            write_queue_nums: fields.required("writeQueueNums")?,
            perm: fields.required("perm")?,
            topic_filter_type: required_string(fields, "topicFilterType")?,
            topic_sys_flag: fields.optional("topicSysFlag")?,
            order: lenient_bool(fields, "order").ok_or(HeaderError::MissingField("order"))?,
            attributes: optional_string(fields, "attributes"),
            force: lenient_bool(fields, "force"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_requires_order() {
        let h = CreateTopicRequestHeader {
            topic: "T".into(),
            default_topic: "TBW102".into(),
            read_queue_nums: 8,
            write_queue_nums: 8,
            perm: 6,
            topic_filter_type: "SINGLE_TAG".into(),
            topic_sys_flag: Some(0),
            order: false,
            ..Default::default()
        };
        let mut fields = ExtFields::new();
        h.write_to(&mut fields);
        assert_eq!(fields.get("order"), Some("false"));
        assert_eq!(fields.len(), 8);
        assert_eq!(CreateTopicRequestHeader::read_from(&fields), Ok(h));
        fields.remove("order");
        assert_eq!(
            CreateTopicRequestHeader::read_from(&fields),
            Err(HeaderError::MissingField("order"))
        );
    }
}
