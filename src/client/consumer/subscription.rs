//! Subscriptions: a topic and a [`MessageSelector`] (a tag expression, `*` or
//! `TagA || TagB`, or a SQL92 expression over message properties), as Java's
//! `FilterAPI.build` makes them, and the client-side tag check.

use std::fmt;

use crate::client::shared::error::ClientError;
use crate::common::clock::now_millis;
use crate::protocol::body::SubscriptionData;
use crate::protocol::message::MessageExt;
use crate::protocol::util_all::java_string_hash_code;

/// The expression that matches every message (`SubscriptionData.SUB_ALL`).
pub(crate) const SUB_ALL: &str = "*";
/// Tag expressions (`ExpressionType.TAG`).
pub(crate) const EXPRESSION_TYPE_TAG: &str = "TAG";
/// SQL92 expressions (`ExpressionType.SQL92`).
pub(crate) const EXPRESSION_TYPE_SQL92: &str = "SQL92";

/// Which messages of a topic a consumer wants; mirrors Java's `MessageSelector`.
///
/// A plain string is a tag selector, so `subscribe("Orders", "*")` and
/// `subscribe("Orders", "TagA || TagB")` read as they always did.
///
/// ```
/// use rocketmq_blocking::client::MessageSelector;
///
/// let tags: MessageSelector = "TagA || TagB".into();
/// assert_eq!(tags, MessageSelector::tags("TagA || TagB"));
/// // Evaluated by the broker over each message's properties; a Java or reference broker
/// // serves it only with `enablePropertyFilter=true`.
/// let sql = MessageSelector::sql("region = 'eu' AND price > 10");
/// assert!(sql.is_sql());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MessageSelector {
    sql: bool,
    expression: String,
}

impl MessageSelector {
    /// Messages with one of the tags: `*` for every message, or tags joined by `||`
    /// (`MessageSelector.byTag`).
    pub fn tags(expression: impl Into<String>) -> MessageSelector {
        MessageSelector {
            sql: false,
            expression: expression.into(),
        }
    }

    /// Messages for which a SQL92 expression over their properties is TRUE
    /// (`MessageSelector.bySql`): comparisons, `AND`/`OR`/`NOT`, `IS [NOT] NULL`,
    /// `[NOT] BETWEEN`, `[NOT] IN`, and (5.x) `CONTAINS`/`STARTSWITH`/`ENDSWITH`.
    pub fn sql(expression: impl Into<String>) -> MessageSelector {
        MessageSelector {
            sql: true,
            expression: expression.into(),
        }
    }

    /// Whether this is a SQL92 selector.
    pub fn is_sql(&self) -> bool {
        self.sql
    }

    /// The expression.
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// Its type as the protocol names it: `TAG` or `SQL92` (`ExpressionType`).
    pub fn expression_type(&self) -> &'static str {
        if self.sql {
            EXPRESSION_TYPE_SQL92
        } else {
            EXPRESSION_TYPE_TAG
        }
    }
}

impl From<&str> for MessageSelector {
    fn from(expression: &str) -> MessageSelector {
        MessageSelector::tags(expression)
    }
}

impl From<String> for MessageSelector {
    fn from(expression: String) -> MessageSelector {
        MessageSelector::tags(expression)
    }
}

impl From<&String> for MessageSelector {
    fn from(expression: &String) -> MessageSelector {
        MessageSelector::tags(expression.as_str())
    }
}

impl fmt::Display for MessageSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.expression_type(), self.expression)
    }
}

/// Builds the subscription of `topic` to a selector (`FilterAPI.build`). A tag expression:
/// empty or `*` for every message, else tags separated by `||` (each trimmed; the broker
/// filters by their hash codes, the client again by the tag itself). A SQL92 expression is
/// passed to the broker as it is (it compiles it; a blank one is refused here).
pub(crate) fn build_subscription_data(
    topic: &str,
    selector: &MessageSelector,
) -> Result<SubscriptionData, ClientError> {
    let expression = selector.expression().trim();
    if selector.is_sql() {
        if expression.is_empty() {
            return Err(ClientError::InvalidArgument {
                name: "subscription expression",
                reason: "a SQL92 selector needs an expression".into(),
            });
        }
        return Ok(SubscriptionData {
            topic: topic.to_string(),
            sub_string: expression.to_string(),
            sub_version: now_millis(),
            expression_type: Some(EXPRESSION_TYPE_SQL92.to_string()),
            ..SubscriptionData::default()
        });
    }
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
        let all = build_subscription_data("T", &"".into()).unwrap();
        assert_eq!(all.sub_string, "*");
        assert!(all.tags_set.is_empty() && all.code_set.is_empty());
        let some = build_subscription_data("T", &" TagA || TagB ||TagA".into()).unwrap();
        assert_eq!(some.sub_string, "TagA || TagB ||TagA");
        assert_eq!(some.tags_set, ["TagA", "TagB"]);
        assert_eq!(some.code_set, [2_598_919, 2_598_920]);
        assert_eq!(some.expression_type.as_deref(), Some("TAG"));
        assert!(build_subscription_data("T", &"||".into()).is_err());
        let sql = build_subscription_data("T", &MessageSelector::sql(" a > 1 ")).unwrap();
        assert_eq!(sql.sub_string, "a > 1");
        assert_eq!(sql.expression_type.as_deref(), Some("SQL92"));
        assert!(sql.tags_set.is_empty() && sql.code_set.is_empty());
        assert!(build_subscription_data("T", &MessageSelector::sql(" ")).is_err());
    }

    #[test]
    fn the_client_checks_the_tag_itself() {
        let some = build_subscription_data("T", &"TagA || TagB".into()).unwrap();
        assert!(tag_matches(&some, &with_tag(Some("TagA"))));
        assert!(!tag_matches(&some, &with_tag(Some("TagC"))));
        assert!(!tag_matches(&some, &with_tag(None)));
        let all = build_subscription_data("T", &"*".into()).unwrap();
        assert!(tag_matches(&all, &with_tag(None)));
    }
}
