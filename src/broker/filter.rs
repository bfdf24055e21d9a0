//! How the broker filters what a pull hands out: by tags, or by a SQL92 expression over the
//! message's properties; mirrors Java's `ConsumerFilterManager` and `ExpressionMessageFilter`.
//!
//! A consumer subscribing with SQL92 sends its expression in its heartbeats; the broker
//! compiles it once per topic and group ([`ConsumerFilterManager::register`]) and evaluates it
//! on each stored record a pull reads. A pull carrying its own subscription (the pull
//! consumer, the lite pull consumer's first pulls) is compiled through a small cache instead.
//! SQL92 is served only with `enablePropertyFilter` on, as in Java.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use super::store::MessageFilter;
use crate::common::sync::MutexExt;
use crate::filter::{compile, EvaluationContext, FilterError, SqlExpression};
use crate::protocol::body::SubscriptionData;
use crate::protocol::message::{decode_properties, MessageProperties};

/// `ExpressionType.TAG`.
pub(crate) const EXPRESSION_TYPE_TAG: &str = "TAG";
/// `ExpressionType.SQL92`.
pub(crate) const EXPRESSION_TYPE_SQL92: &str = "SQL92";

/// Compiled expressions kept for pulls that carry their own (Java's parser cache: 100).
const COMPILE_CACHE_SIZE: usize = 100;

/// `ExpressionType.isTagType`: no type, or TAG.
pub(crate) fn is_tag_type(expression_type: Option<&str>) -> bool {
    expression_type.is_none_or(|t| t.is_empty() || t == EXPRESSION_TYPE_TAG)
}

impl EvaluationContext for MessageProperties {
    fn get(&self, name: &str) -> Option<&str> {
        MessageProperties::get(self, name)
    }
}

/// A group's compiled SQL92 subscription to a topic (`ConsumerFilterData`).
#[derive(Debug)]
pub(crate) struct ConsumerFilterData {
    /// The subscription's version the client sent (`clientVersion`).
    pub(crate) client_version: i64,
    pub(crate) expression: Arc<SqlExpression>,
}

/// Compiled SQL92 subscriptions by topic and group (`ConsumerFilterManager`).
#[derive(Default)]
pub(crate) struct ConsumerFilterManager {
    /// topic → group → filter.
    table: Mutex<HashMap<String, HashMap<String, Arc<ConsumerFilterData>>>>,
    cache: Mutex<HashMap<String, Result<Arc<SqlExpression>, FilterError>>>,
}

impl ConsumerFilterManager {
    /// Takes in a group's subscriptions from a heartbeat: SQL92 ones are compiled (a newer
    /// version replaces an older), others dropped from the table.
    pub(crate) fn register(&self, group: &str, subscriptions: &[SubscriptionData]) {
        for subscription in subscriptions {
            let topic = &subscription.topic;
            if is_tag_type(subscription.expression_type.as_deref()) {
                self.remove(topic, group);
                continue;
            }
            if self
                .get(topic, group)
                .is_some_and(|known| known.client_version >= subscription.sub_version)
            {
                continue;
            }
            match self.compile(&subscription.sub_string) {
                Ok(expression) => {
                    let data = Arc::new(ConsumerFilterData {
                        client_version: subscription.sub_version,
                        expression,
                    });
                    self.table
                        .lock_unpoisoned()
                        .entry(topic.clone())
                        .or_default()
                        .insert(group.to_string(), data);
                }
                Err(e) => {
                    log::warn!(
                        "consumer group {group} subscribes to {topic} with a SQL92 expression \
                         that does not compile: {e}"
                    );
                    self.remove(topic, group);
                }
            }
        }
    }

    /// The compiled subscription of `group` to `topic`.
    pub(crate) fn get(&self, topic: &str, group: &str) -> Option<Arc<ConsumerFilterData>> {
        self.table.lock_unpoisoned().get(topic)?.get(group).cloned()
    }

    /// Forgets a group (it has no member left).
    pub(crate) fn unregister_group(&self, group: &str) {
        for groups in self.table.lock_unpoisoned().values_mut() {
            groups.remove(group);
        }
    }

    fn remove(&self, topic: &str, group: &str) {
        if let Some(groups) = self.table.lock_unpoisoned().get_mut(topic) {
            groups.remove(group);
        }
    }

    /// Compiles an expression, through a bounded cache.
    pub(crate) fn compile(&self, expression: &str) -> Result<Arc<SqlExpression>, FilterError> {
        if let Some(known) = self.cache.lock_unpoisoned().get(expression) {
            return known.clone();
        }
        let compiled = compile(expression).map(Arc::new);
        let mut cache = self.cache.lock_unpoisoned();
        if cache.len() >= COMPILE_CACHE_SIZE {
            cache.clear();
        }
        cache.insert(expression.to_string(), compiled.clone());
        compiled
    }
}

/// Which messages of a queue a pull wants (`ExpressionMessageFilter`).
#[derive(Debug, Clone)]
pub(crate) enum SubscriptionFilter {
    /// `*`: every message.
    All,
    /// The tag hash codes of a TAG expression.
    Tags(HashSet<i64>),
    /// A SQL92 expression over the properties.
    Sql(Arc<SqlExpression>),
}

impl MessageFilter for SubscriptionFilter {
    fn is_matched_by_consume_queue(&self, tags_code: i64) -> bool {
        match self {
            SubscriptionFilter::Tags(codes) => codes.contains(&tags_code),
            _ => true,
        }
    }

    fn is_matched_by_commit_log(&self, record: &[u8]) -> bool {
        let SubscriptionFilter::Sql(expression) = self else {
            return true;
        };
        let properties = match decode_properties(record) {
            Ok(properties) => properties,
            Err(e) => {
                log::warn!("SQL92 filter: a stored record does not decode: {e}");
                return false;
            }
        };
        match expression.matches(&properties) {
            Ok(matched) => matched,
            // Java logs and does not deliver; the message itself decides it, so debug level.
            Err(e) => {
                log::debug!("SQL92 filter {expression}: {e}; not delivering the message");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::message::{encode_stored_message, MessageExt};

    fn subscription(topic: &str, expression: &str, kind: &str, version: i64) -> SubscriptionData {
        SubscriptionData {
            topic: topic.into(),
            sub_string: expression.into(),
            sub_version: version,
            expression_type: Some(kind.into()),
            ..SubscriptionData::default()
        }
    }

    fn record(props: &[(&'static str, &str)]) -> Vec<u8> {
        let mut message = MessageExt {
            topic: "T".into(),
            body: b"body".to_vec().into(),
            ..MessageExt::default()
        };
        for (k, v) in props {
            message.properties.insert(k, v);
        }
        encode_stored_message(&message).unwrap()
    }

    #[test]
    fn heartbeats_register_compiled_sql_subscriptions() {
        let filters = ConsumerFilterManager::default();
        filters.register("G", &[subscription("T", "a > 1", "SQL92", 5)]);
        assert_eq!(filters.get("T", "G").unwrap().client_version, 5);
        // An older version does not replace it; a newer one does.
        filters.register("G", &[subscription("T", "a > 2", "SQL92", 4)]);
        assert_eq!(filters.get("T", "G").unwrap().client_version, 5);
        filters.register("G", &[subscription("T", "a > 2", "SQL92", 6)]);
        assert_eq!(filters.get("T", "G").unwrap().client_version, 6);
        // A bad expression or a switch to tags drops it.
        filters.register("G", &[subscription("T", "a >", "SQL92", 7)]);
        assert!(filters.get("T", "G").is_none());
        filters.register("G", &[subscription("T", "a > 1", "SQL92", 8)]);
        filters.register("G", &[subscription("T", "*", "TAG", 9)]);
        assert!(filters.get("T", "G").is_none());
        filters.register("G", &[subscription("T", "a > 1", "SQL92", 10)]);
        filters.unregister_group("G");
        assert!(filters.get("T", "G").is_none());
    }

    #[test]
    fn sql_filters_read_the_stored_properties() {
        let filters = ConsumerFilterManager::default();
        let filter = SubscriptionFilter::Sql(filters.compile("region = 'eu' AND a > 1").unwrap());
        assert!(filter.is_matched_by_consume_queue(12345));
        assert!(filter.is_matched_by_commit_log(&record(&[("region", "eu"), ("a", "2")])));
        assert!(!filter.is_matched_by_commit_log(&record(&[("region", "us"), ("a", "2")])));
        assert!(!filter.is_matched_by_commit_log(&record(&[("region", "eu"), ("a", "x")])));
        assert!(!filter.is_matched_by_commit_log(b"garbage"));
        assert!(filters.compile("a >").is_err());
        let tags = SubscriptionFilter::Tags([7].into_iter().collect());
        assert!(tags.is_matched_by_consume_queue(7) && !tags.is_matched_by_consume_queue(8));
        assert!(tags.is_matched_by_commit_log(b"anything"));
    }
}
