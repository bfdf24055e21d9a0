//! PULL_MESSAGE (11) with long polling; mirrors Java's `PullMessageProcessor`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{suggest_todo, BrokerContext};
use crate::broker::filter::{is_tag_type, SubscriptionFilter, EXPRESSION_TYPE_SQL92};
use crate::broker::long_polling::{HeldPull, HeldPullAnswerer};
use crate::broker::store::{tags_string_to_tags_code, GetMessageStatus};
use crate::common::trace::trace_step;
use crate::protocol::body::{perm_name, MessageModel};
use crate::protocol::codes::response_code;
use crate::protocol::header::{PullMessageRequestHeader, PullMessageResponseHeader};
use crate::protocol::{CommandCustomHeader, RemotingCommand};
use crate::remoting::{ProcessorError, RequestContext, RequestProcessor};

/// Pull flag: commit the offset carried in the request.
pub(super) const FLAG_COMMIT_OFFSET: i32 = 0x1;
/// Pull flag: the broker may hold the request until a message arrives.
pub(super) const FLAG_SUSPEND: i32 = 0x2;
/// Pull flag: the request carries its subscription expression.
pub(super) const FLAG_SUBSCRIPTION: i32 = 0x4;

/// The longest a pull is held, whatever it asks: a client asking for hours would pin its
/// request in memory long after it gave up (Java's clients ask for 15-20 s).
const MAX_SUSPEND: Duration = Duration::from_secs(60);

/// The filter of a subscription a request carries as (`expressionType`, expression): tags, or
/// SQL92 compiled now; Java's answers when the broker cannot filter so or it does not parse.
/// Pulls that carry their subscription and pops read theirs this way.
pub(super) fn request_filter(
    broker: &BrokerContext,
    kind: Option<&str>,
    expression: &str,
) -> Result<SubscriptionFilter, RemotingCommand> {
    if is_tag_type(kind) {
        return Ok(parse_tag_expression(expression));
    }
    check_sql_allowed(broker, kind)?;
    broker
        .filters
        .compile(expression)
        .map(SubscriptionFilter::Sql)
        .map_err(|_| parse_failed())
}

/// A non-tag subscription needs `enablePropertyFilter` and must be SQL92.
fn check_sql_allowed(broker: &BrokerContext, kind: Option<&str>) -> Result<(), RemotingCommand> {
    let kind = kind.unwrap_or_default();
    if !broker.setting(|c| c.enable_property_filter) {
        return Err(RemotingCommand::new_response(
            response_code::SYSTEM_ERROR,
            format!("The broker does not support consumer to filter message by {kind}"),
        ));
    }
    if kind != EXPRESSION_TYPE_SQL92 {
        return Err(parse_failed());
    }
    Ok(())
}

fn parse_failed() -> RemotingCommand {
    RemotingCommand::new_response(
        response_code::SUBSCRIPTION_PARSE_FAILED,
        "parse the consumer's subscription failed".to_string(),
    )
}

/// Reads a TAG expression (`*`, or `TagA || TagB`) into tag codes (`FilterAPI.buildSubscriptionData`).
pub(super) fn parse_tag_expression(expression: &str) -> SubscriptionFilter {
    let expression = expression.trim();
    if expression.is_empty() || expression == "*" {
        return SubscriptionFilter::All;
    }
    SubscriptionFilter::Tags(
        expression
            .split("||")
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(tags_string_to_tags_code)
            .collect(),
    )
}

/// Serves pulls; also re-runs held pulls when their messages arrive or their time is up.
pub(crate) struct PullMessageProcessor {
    broker: Arc<BrokerContext>,
}

impl PullMessageProcessor {
    /// A processor over the broker's shared state.
    pub(crate) fn new(broker: Arc<BrokerContext>) -> Self {
        PullMessageProcessor { broker }
    }

    /// The group's subscription config must exist (or be created) and allow consuming, and a
    /// broadcasting group must be allowed to broadcast, as Java's pull checks.
    fn check_group(&self, group: &str) -> Result<(), RemotingCommand> {
        let b = &self.broker;
        let config = b.consumable_group(group, "http://rocketmq.apache.org/docs/faq/")?;
        let broadcasting = b
            .clients
            .consumer_group(group)
            .is_some_and(|g| g.message_model == Some(MessageModel::Broadcasting));
        if broadcasting && !config.consume_broadcast_enable {
            return Err(RemotingCommand::new_response(
                response_code::NO_PERMISSION,
                format!("the consumer group[{group}] can not consume by broadcast way"),
            ));
        }
        Ok(())
    }

    /// What the pull wants: from the request when it carries its subscription, else from
    /// the group's heartbeat (SQL92 compiled then); Java's answers when it cannot be had.
    fn filter_for(
        &self,
        header: &PullMessageRequestHeader,
    ) -> Result<SubscriptionFilter, RemotingCommand> {
        let b = &self.broker;
        let refuse = |code, remark: String| Err(RemotingCommand::new_response(code, remark));
        let from_request = header.sys_flag & FLAG_SUBSCRIPTION != 0;
        let (kind, expression) = if from_request {
            (
                header.expression_type.clone(),
                header.subscription.clone().unwrap_or_else(|| "*".into()),
            )
        } else {
            match b
                .clients
                .consumer_group(&header.consumer_group)
                .and_then(|g| g.subscriptions.get(&header.topic).cloned())
            {
                Some(s) => (s.expression_type, s.sub_string),
                None => return Ok(SubscriptionFilter::All),
            }
        };
        if from_request {
            return request_filter(b, kind.as_deref(), &expression);
        }
        if is_tag_type(kind.as_deref()) {
            return Ok(parse_tag_expression(&expression));
        }
        check_sql_allowed(b, kind.as_deref())?;
        let Some(data) = b.filters.get(&header.topic, &header.consumer_group) else {
            return refuse(
                response_code::FILTER_DATA_NOT_EXIST,
                "The broker's consumer filter data is not exist!Your expression may be wrong!"
                    .into(),
            );
        };
        if data.client_version < header.sub_version {
            return refuse(
                response_code::FILTER_DATA_NOT_LATEST,
                "the consumer's consumer filter data not latest".into(),
            );
        }
        Ok(SubscriptionFilter::Sql(data.expression.clone()))
    }

    /// `processRequest(channel, request, brokerAllowSuspend)`: None when the pull is held.
    pub(crate) fn pull(
        &self,
        ctx: &RequestContext,
        request: &RemotingCommand,
        allow_suspend: bool,
    ) -> Result<Option<RemotingCommand>, ProcessorError> {
        let header = PullMessageRequestHeader::read_from(&request.ext_fields)?;
        let b = &self.broker;
        if let Err(refused) = self.check_group(&header.consumer_group) {
            return Ok(Some(refused));
        }
        let Some(topic) = b.topics.select_topic_config(&header.topic) else {
            return Ok(Some(RemotingCommand::new_response(
                response_code::TOPIC_NOT_EXIST,
                format!(
                    "topic[{}] not exist, apply first please!{}",
                    header.topic,
                    suggest_todo("http://rocketmq.apache.org/docs/faq/")
                ),
            )));
        };
        if topic.perm & perm_name::PERM_READ == 0 {
            return Ok(Some(RemotingCommand::new_response(
                response_code::NO_PERMISSION,
                format!("the topic[{}] pulling message is forbidden", header.topic),
            )));
        }
        if header.queue_id < 0 || header.queue_id >= topic.read_queue_nums {
            return Ok(Some(RemotingCommand::new_response(
                response_code::SYSTEM_ERROR,
                format!(
                    "queueId[{}] is illegal, topic:[{}] topicConfig.readQueueNums:[{}] consumer:[{}]",
                    header.queue_id,
                    header.topic,
                    topic.read_queue_nums,
                    ctx.remote_addr()
                ),
            )));
        }
        let filter = match self.filter_for(&header) {
            Ok(filter) => filter,
            Err(response) => return Ok(Some(response)),
        };
        let max = header.max_msg_nums.max(1);
        trace_step!(
            "broker",
            "pull of {} queue {} from offset {} for {}, at most {max}",
            header.topic,
            header.queue_id,
            header.queue_offset,
            header.consumer_group
        );
        let result = b.store.get_message(
            &header.topic,
            header.queue_id,
            header.queue_offset,
            max,
            Some(&filter),
        );

        if !result.messages.is_empty() {
            b.stats.inc_group_get_nums(
                &header.consumer_group,
                &header.topic,
                result.messages.len() as u64,
            );
        }
        let (code, remark) = match result.status {
            GetMessageStatus::Found => (response_code::SUCCESS, "FOUND"),
            GetMessageStatus::MessageWasRemoving => (
                response_code::PULL_RETRY_IMMEDIATELY,
                "MESSAGE_WAS_REMOVING",
            ),
            GetMessageStatus::NoMatchedLogicQueue | GetMessageStatus::NoMessageInQueue => {
                let remark = if result.status == GetMessageStatus::NoMessageInQueue {
                    "NO_MESSAGE_IN_QUEUE"
                } else {
                    "NO_MATCHED_LOGIC_QUEUE"
                };
                if header.queue_offset != 0 {
                    (response_code::PULL_OFFSET_MOVED, remark)
                } else {
                    (response_code::PULL_NOT_FOUND, remark)
                }
            }
            GetMessageStatus::NoMatchedMessage => {
                (response_code::PULL_RETRY_IMMEDIATELY, "NO_MATCHED_MESSAGE")
            }
            GetMessageStatus::OffsetFoundNull => {
                (response_code::PULL_NOT_FOUND, "OFFSET_FOUND_NULL")
            }
            GetMessageStatus::OffsetOverflowBadly => {
                (response_code::PULL_OFFSET_MOVED, "OFFSET_OVERFLOW_BADLY")
            }
            GetMessageStatus::OffsetOverflowOne => {
                (response_code::PULL_NOT_FOUND, "OFFSET_OVERFLOW_ONE")
            }
            GetMessageStatus::OffsetTooSmall => {
                (response_code::PULL_OFFSET_MOVED, "OFFSET_TOO_SMALL")
            }
        };

        // Only the first execution commits, as Java's brokerAllowSuspend guard does.
        if allow_suspend && header.sys_flag & FLAG_COMMIT_OFFSET != 0 {
            b.offsets.commit_offset(
                &header.consumer_group,
                &header.topic,
                header.queue_id,
                header.commit_offset,
            );
        }

        if code == response_code::PULL_NOT_FOUND
            && allow_suspend
            && header.sys_flag & FLAG_SUSPEND != 0
        {
            let hold_for = if b.setting(|c| c.long_polling) {
                Duration::from_millis(header.suspend_timeout_millis.max(0) as u64).min(MAX_SUSPEND)
            } else {
                Duration::from_secs(1)
            };
            b.hold.suspend(HeldPull {
                ctx: ctx.clone(),
                request: request.clone(),
                topic: header.topic.clone(),
                queue_id: header.queue_id,
                pull_from_offset: header.queue_offset,
                deadline: Instant::now() + hold_for,
            });
            return Ok(None);
        }

        let mut response = RemotingCommand::new_response(code, remark.to_string());
        PullMessageResponseHeader {
            suggest_which_broker_id: 0,
            next_begin_offset: result.next_begin_offset,
            min_offset: result.min_offset,
            max_offset: result.max_offset,
            offset_delta: None,
            topic_sys_flag: None,
            group_sys_flag: None,
            forbidden_type: None,
        }
        .write_to(&mut response.ext_fields);
        if code == response_code::SUCCESS {
            response.body = result.messages.concat().into();
        }
        Ok(Some(response))
    }

    /// Runs a held pull again and answers it (`executeRequestWhenWakeup`). The answer goes out
    /// as every response does ([`RequestContext::reply`]: stamped, through the RPC hooks) and
    /// is queued for the connection's writer, not written here: this runs on the one thread
    /// that serves every held pull, which one slow reader must not stall.
    fn answer_held(&self, held: HeldPull) {
        let response = match self.pull(&held.ctx, &held.request, false) {
            Ok(Some(response)) => response,
            Ok(None) => return,
            Err(e) => RemotingCommand::new_response(response_code::SYSTEM_ERROR, e.to_string()),
        };
        held.ctx.reply(response);
    }
}

impl HeldPullAnswerer for PullMessageProcessor {
    fn execute_when_wakeup(&self, pull: HeldPull) {
        self.answer_held(pull);
    }

    /// The next offset to be written in a queue (what long polling compares against).
    fn max_offset(&self, topic: &str, queue_id: i32) -> i64 {
        self.broker.store.max_offset_in_queue(topic, queue_id)
    }
}

impl RequestProcessor for PullMessageProcessor {
    fn process_request(
        &self,
        ctx: &RequestContext,
        request: RemotingCommand,
    ) -> Result<Option<RemotingCommand>, ProcessorError> {
        self.pull(ctx, &request, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_expressions() {
        assert!(matches!(parse_tag_expression("*"), SubscriptionFilter::All));
        assert!(matches!(parse_tag_expression(" "), SubscriptionFilter::All));
        let SubscriptionFilter::Tags(codes) = parse_tag_expression("TagA || TagB") else {
            panic!("a tag filter");
        };
        assert!(codes.contains(&tags_string_to_tags_code("TagA")));
        assert!(codes.contains(&tags_string_to_tags_code("TagB")));
        assert_eq!(codes.len(), 2);
    }
}
