//! QUERY_ASSIGNMENT (400) and SET_MESSAGE_REQUEST_MODE (401); mirrors Java's
//! `QueryAssignmentProcessor`.
//!
//! A consumer with `clientRebalance(false)` asks the broker which queues it takes and whether
//! it pulls or pops them. The mode is what SET_MESSAGE_REQUEST_MODE (`mqadmin setConsumeMode`)
//! set for the topic and group, else the broker's default (PULL); retry topics are always
//! pulled. A POP assignment gives every member queue -1 (pop them all) unless
//! `popShareQueueNum` says otherwise. The queues are this broker's read queues of the topic
//! (Java asks the name server for the topic's route, every broker's queues).

use std::collections::BTreeSet;
use std::sync::Arc;

use super::BrokerContext;
use crate::broker::pop::PopService;
use crate::client::{AllocateAveragely, AllocateAveragelyByCircle, AllocateMessageQueueStrategy};
use crate::protocol::body::{
    MessageModel, MessageQueueAssignment, MessageRequestMode, QueryAssignmentRequestBody,
    QueryAssignmentResponseBody, SetMessageRequestModeRequestBody,
};
use crate::protocol::codes::{request_code, response_code};
use crate::protocol::message::MessageQueue;
use crate::protocol::RemotingCommand;
use crate::remoting::{ProcessorError, RequestContext, RequestProcessor};

// Retry topics are always pulled.
use crate::protocol::mix_all::RETRY_GROUP_TOPIC_PREFIX;

/// The strategy a consumer names, as Java's broker registers them.
fn strategy(name: &str) -> Option<&'static dyn AllocateMessageQueueStrategy> {
    match name {
        "AVG" => Some(&AllocateAveragely),
        "AVG_BY_CIRCLE" => Some(&AllocateAveragelyByCircle),
        _ => None,
    }
}

/// The queues of one POP member (`allocate4Pop`): every queue as queue -1 when each member
/// pops them all (`popShareQueueNum` ≤ 0 or at least the members less one); otherwise its
/// own share plus the shares of the `share` members after it; with more members than
/// queues, one queue each.
fn allocate_for_pop(
    strategy: &dyn AllocateMessageQueueStrategy,
    group: &str,
    client_id: &str,
    all_queues: &[MessageQueue],
    all_clients: &[String],
    share: i32,
) -> Vec<MessageQueue> {
    let share = i64::from(share);
    if share <= 0 || share >= all_clients.len() as i64 - 1 {
        return all_queues
            .iter()
            .map(|q| MessageQueue::new(q.topic.clone(), q.broker_name.clone(), -1))
            .collect();
    }
    let Some(index) = all_clients.iter().position(|c| c == client_id) else {
        return Vec::new();
    };
    if all_queues.is_empty() {
        // A topic with no read queues (creatable by UPDATE_AND_CREATE_TOPIC): nothing to share.
        return Vec::new();
    }
    if all_clients.len() <= all_queues.len() {
        let mut queues = strategy.allocate(group, client_id, all_queues, all_clients);
        for i in 1..=share as usize {
            let next = &all_clients[(index + i) % all_clients.len()];
            queues.extend(strategy.allocate(group, next, all_queues, all_clients));
        }
        queues
    } else {
        vec![all_queues[index % all_queues.len()].clone()]
    }
}

/// Serves queue assignments and request modes.
pub(crate) struct QueryAssignmentProcessor {
    broker: Arc<BrokerContext>,
    pop: Arc<PopService>,
}

impl QueryAssignmentProcessor {
    /// A processor over the broker's shared state and its POP state.
    pub(crate) fn new(broker: Arc<BrokerContext>, pop: Arc<PopService>) -> Self {
        QueryAssignmentProcessor { broker, pop }
    }

    /// The mode for a topic and group: the one set, else the broker's default.
    fn request_mode(&self, topic: &str, group: &str) -> SetMessageRequestModeRequestBody {
        if let Some(set) = self.pop.modes.get(topic, group) {
            return set;
        }
        let config = &self.pop.config;
        let mode = if topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) {
            MessageRequestMode::Pull
        } else {
            config.default_message_request_mode
        };
        SetMessageRequestModeRequestBody {
            topic: topic.to_string(),
            consumer_group: group.to_string(),
            mode,
            pop_share_queue_num: if mode == MessageRequestMode::Pop {
                config.default_pop_share_queue_num
            } else {
                0
            },
        }
    }

    /// The queues a member gets (`doLoadBalance`); None when there is no answer (unknown
    /// topic, group or strategy): the member keeps what it has.
    fn load_balance(
        &self,
        body: &QueryAssignmentRequestBody,
        model: MessageModel,
        mode: &SetMessageRequestModeRequestBody,
    ) -> Option<Vec<MessageQueue>> {
        let b = &self.broker;
        let config = b.topics.select_topic_config(&body.topic)?;
        let all_queues: Vec<MessageQueue> = (0..config.read_queue_nums)
            .map(|q| MessageQueue::new(body.topic.clone(), b.config.broker_name.clone(), q))
            .collect();
        if model == MessageModel::Broadcasting {
            return Some(all_queues);
        }
        let group = b.clients.consumer_group(&body.consumer_group)?;
        let all_clients = group.client_ids();
        let strategy = strategy(&body.strategy_name)?;
        let queues = if mode.mode == MessageRequestMode::Pop {
            allocate_for_pop(
                strategy,
                &body.consumer_group,
                &body.client_id,
                &all_queues,
                &all_clients,
                mode.pop_share_queue_num,
            )
        } else {
            strategy.allocate(
                &body.consumer_group,
                &body.client_id,
                &all_queues,
                &all_clients,
            )
        };
        // Java answers a set.
        let unique: BTreeSet<MessageQueue> = queues.into_iter().collect();
        Some(unique.into_iter().collect())
    }

    fn query_assignment(
        &self,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, ProcessorError> {
        let body = QueryAssignmentRequestBody::from_json(&request.body)?;
        let Some(model) = body.message_model else {
            return Ok(RemotingCommand::new_response(
                response_code::SYSTEM_ERROR,
                "QueryAssignmentRequestBody: messageModel is missing".to_string(),
            ));
        };
        let mode = self.request_mode(&body.topic, &body.consumer_group);
        let assignments = self.load_balance(&body, model, &mode).map(|queues| {
            queues
                .into_iter()
                .map(|message_queue| MessageQueueAssignment {
                    message_queue,
                    mode: mode.mode,
                    attachments: None,
                })
                .collect()
        });
        let answer = QueryAssignmentResponseBody {
            message_queue_assignments: assignments,
        };
        Ok(RemotingCommand::success().with_body(answer.to_json().into_bytes()))
    }

    fn set_message_request_mode(
        &self,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, ProcessorError> {
        let body = SetMessageRequestModeRequestBody::from_json(&request.body)?;
        if body.topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) {
            return Ok(RemotingCommand::new_response(
                response_code::NO_PERMISSION,
                "retry topic is not allowed to set mode".to_string(),
            ));
        }
        let b = &self.broker;
        if b.topics.select_topic_config(&body.topic).is_none() {
            return Ok(RemotingCommand::new_response(
                response_code::TOPIC_NOT_EXIST,
                format!("topic[{}] not exist", body.topic),
            ));
        }
        let group = b.groups.find_or_create(
            &body.consumer_group,
            b.setting(|c| c.auto_create_subscription_group),
        )?;
        if group.is_none() {
            return Ok(RemotingCommand::new_response(
                response_code::SUBSCRIPTION_GROUP_NOT_EXIST,
                "subscription group does not exist".to_string(),
            ));
        }
        log::info!(
            "group {} now {}s topic {} (popShareQueueNum {})",
            body.consumer_group,
            body.mode.name().to_lowercase(),
            body.topic,
            body.pop_share_queue_num
        );
        self.pop.modes.set(body)?;
        Ok(RemotingCommand::success())
    }
}

impl RequestProcessor for QueryAssignmentProcessor {
    fn process_request(
        &self,
        _ctx: &RequestContext,
        request: RemotingCommand,
    ) -> Result<Option<RemotingCommand>, ProcessorError> {
        let response = match request.code {
            request_code::SET_MESSAGE_REQUEST_MODE => self.set_message_request_mode(&request)?,
            _ => self.query_assignment(&request)?,
        };
        Ok(Some(response))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queues(n: i32) -> Vec<MessageQueue> {
        (0..n).map(|q| MessageQueue::new("T", "b", q)).collect()
    }

    fn clients(n: usize) -> Vec<String> {
        (0..n).map(|c| format!("c{c}")).collect()
    }

    #[test]
    fn pop_members_pop_every_queue_unless_told_to_share() {
        let all = allocate_for_pop(&AllocateAveragely, "G", "c1", &queues(4), &clients(3), 0);
        assert_eq!(all.len(), 4);
        assert!(all.iter().all(|q| q.queue_id == -1));
        // share >= members - 1: everything too.
        let all = allocate_for_pop(&AllocateAveragely, "G", "c1", &queues(4), &clients(3), 2);
        assert!(all.iter().all(|q| q.queue_id == -1));
        // share 1 of 4 members on 8 queues: its own two and the next member's two.
        let shared = allocate_for_pop(&AllocateAveragely, "G", "c3", &queues(8), &clients(4), 1);
        let ids: Vec<i32> = shared.iter().map(|q| q.queue_id).collect();
        assert_eq!(ids, [6, 7, 0, 1]);
        // More members than queues: one each, round robin.
        let one = allocate_for_pop(&AllocateAveragely, "G", "c4", &queues(2), &clients(6), 1);
        assert_eq!(one, [MessageQueue::new("T", "b", 0)]);
        assert!(
            allocate_for_pop(&AllocateAveragely, "G", "zz", &queues(2), &clients(6), 1).is_empty()
        );
        // A topic with no read queues: nothing, not a division by zero.
        assert!(
            allocate_for_pop(&AllocateAveragely, "G", "c4", &queues(0), &clients(6), 1).is_empty()
        );
        assert!(strategy("AVG").is_some() && strategy("AVG_BY_CIRCLE").is_some());
        assert!(strategy("CONSISTENT_HASH").is_none());
    }
}
