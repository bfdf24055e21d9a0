//! Subscriptions: a topic and a tag expression (`*`, `TagA || TagB`), as Java's
//! `FilterAPI.buildSubscriptionData` makes them, and the client-side tag check.

use crate::client::shared::error::ClientError;
use crate::common::clock::now_millis;
use crate::protocol::body::SubscriptionData;
use crate::protocol::message::MessageExt;
use crate::protocol::util_all::java_string_hash_code;

/// The expression that matches every message (`SubscriptionData.SUB_ALL`).
pub(crate) const SUB_ALL: &str = "*";
/// Tag expressions (`ExpressionType.TAG`).
pub(crate) const EXPRESSION_TYPE_TAG: &str = "TAG";

/// Builds the subscription of `topic` to a tag expression: empty or `*` for every message,
/// else tags separated by `||` (each trimmed; the broker filters by their hash codes, the
/// client again by the tag itself).
pub(crate) fn build_subscription_data(
    topic: &str,
    expression: &str,
) -> Result<SubscriptionData, ClientError> {
    let expression = expression.trim();
    let mut data = SubscriptionData {
        topic: topic.to_string(),
        sub_string: expression.to_string(),
        sub_version: now_millis(),
        expression_type: Some(EXPRESSION_TYPE_TAG.to_string()),
        ..SubscriptionData::default()
    };
    if expression.is_empty() || expression == SUB_ALL {
        data.sub_string = SUB_ALL.to_string();
        return Ok(data);
    }
    for tag in expression
        .split("||")
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        if !data.tags_set.iter().any(|t| t == tag) {
            data.code_set.push(java_string_hash_code(tag));
            data.tags_set.push(tag.to_string());
        }
    }
    if data.tags_set.is_empty() {
        return Err(ClientError::InvalidArgument {
            name: "subscription expression",
            reason: format!("{expression:?} names no tag"),
        });
    }
    Ok(data)
}

/// The client-side check after the broker's (which compares hash codes only): a message
/// passes when the subscription names no tags, or names its tag (`processPullResult`).
pub(crate) fn tag_matches(subscription: &SubscriptionData, message: &MessageExt) -> bool {
    if subscription.tags_set.is_empty() || subscription.class_filter_mode {
        return true;
    }
    message
        .tags()
        .is_some_and(|tag| subscription.tags_set.iter().any(|t| t == tag))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::message::message_const::PROPERTY_TAGS;

    fn with_tag(tag: Option<&str>) -> MessageExt {
        let mut m = MessageExt::default();
        if let Some(tag) = tag {
            m.properties.insert(PROPERTY_TAGS, tag);
        }
        m
    }

    #[test]
    fn tag_expressions_parse_as_java_does() {
        let all = build_subscription_data("T", "").unwrap();
        assert_eq!(all.sub_string, "*");
        assert!(all.tags_set.is_empty() && all.code_set.is_empty());
        let some = build_subscription_data("T", " TagA || TagB ||TagA").unwrap();
        assert_eq!(some.sub_string, "TagA || TagB ||TagA");
        assert_eq!(some.tags_set, ["TagA", "TagB"]);
        assert_eq!(some.code_set, [2_598_919, 2_598_920]);
        assert_eq!(some.expression_type.as_deref(), Some("TAG"));
        assert!(build_subscription_data("T", "||").is_err());
    }

    #[test]
    fn the_client_checks_the_tag_itself() {
        let some = build_subscription_data("T", "TagA || TagB").unwrap();
        assert!(tag_matches(&some, &with_tag(Some("TagA"))));
        assert!(!tag_matches(&some, &with_tag(Some("TagC"))));
        assert!(!tag_matches(&some, &with_tag(None)));
        let all = build_subscription_data("T", "*").unwrap();
        assert!(tag_matches(&all, &with_tag(None)));
    }
}
