//! What POP_MESSAGE, NOTIFICATION and POLLING_INFO share: the checks of the topic, queue and
//! group a pop names, and the deadline of a request held for long polling.

use std::time::{Duration, Instant};

use super::{suggest_todo, BrokerContext};
use crate::protocol::body::{perm_name, TopicConfig};
use crate::protocol::codes::response_code;
use crate::protocol::RemotingCommand;

/// Java's `FAQUrl` of 5.x, appended to topic and group remarks.
pub(super) const FAQ_URL: &str = "https://rocketmq.apache.org/docs/bestPractice/06FAQ";

/// A pop is held at most this long whatever its poll time says (Java's clients ask 15-30 s);
/// a peer asking for hours would pin its request in memory long after it gave up.
const MAX_POLL_TIME: Duration = Duration::from_secs(60);

/// The checks POP_MESSAGE, NOTIFICATION and POLLING_INFO make before anything else, with
/// Java's codes and remarks: the topic exists and may be read, the queue is one of its read
/// queues (or -1 for all), the group exists (created when `autoCreateSubscriptionGroup`) and
/// may consume.
pub(super) fn check_pop_target(
    broker: &BrokerContext,
    topic: &str,
    queue_id: i32,
    group: &str,
    remote: &str,
) -> Result<TopicConfig, RemotingCommand> {
    let Some(config) = broker.topics.select_topic_config(topic) else {
        log::warn!("pop from {remote}: topic {topic} does not exist");
        return Err(RemotingCommand::new_response(
            response_code::TOPIC_NOT_EXIST,
            format!(
                "topic[{topic}] not exist, apply first please! {}",
                suggest_todo(FAQ_URL)
            ),
        ));
    };
    if config.perm & perm_name::PERM_READ == 0 {
        return Err(RemotingCommand::new_response(
            response_code::NO_PERMISSION,
            format!("the topic[{topic}] peeking message is forbidden"),
        ));
    }
    if queue_id >= config.read_queue_nums {
        return Err(RemotingCommand::new_response(
            response_code::INVALID_PARAMETER,
            format!(
                "queueId[{queue_id}] is illegal, topic:[{topic}] topicConfig.readQueueNums:[{}] consumer:[{remote}]",
                config.read_queue_nums
            ),
        ));
    }
    broker.consumable_group(group, FAQ_URL)?;
    Ok(config)
}

/// When a request held for long polling is answered with nothing: `bornTime + pollTime`,
/// at most [`MAX_POLL_TIME`] from now.
pub(super) fn poll_deadline_at(born_time: i64, poll_time: i64, now: i64) -> Instant {
    let left = born_time.saturating_add(poll_time).saturating_sub(now);
    Instant::now() + Duration::from_millis(u64::try_from(left).unwrap_or(0)).min(MAX_POLL_TIME)
}

/// Java fills in a missing or zero `bornTime` with the time it arrived, so that a request held
/// and run again keeps its deadline.
pub(super) fn fill_born_time(request: &mut RemotingCommand, now: i64) {
    if request
        .ext_fields
        .get("bornTime")
        .is_none_or(|t| t.trim() == "0")
    {
        request.ext_fields.insert("bornTime", now.to_string());
    }
}
