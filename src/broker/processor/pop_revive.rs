//! `rmq-pop-revive`: brings back popped messages nobody acked in time; mirrors Java's
//! `PopReviveService`.
//!
//! The thread sleeps until the earliest checkpoint's revive time (woken when an earlier one
//! is written), then copies each of its un-acked messages to the group's retry topic
//! (`%RETRY%{group}_{topic}`, Java's V1 name; queue 0) with its reconsume times raised by one,
//! its properties kept and `1ST_POP_TIME` set, through the store's normal put path; a
//! message already reconsumed the group's `retryMaxTimes` (16) goes to `%DLQ%{group}`
//! instead. Only then is the checkpoint finished in the log: a crash in between revives the
//! message again (at least once, never lost). A failed put leaves the checkpoint open and
//! tries again after a back-off.

use std::sync::Arc;
use std::thread;

use super::BrokerContext;
use crate::broker::pop::{PopCheckpoint, PopService, ReviveWork};
use crate::broker::store::PutMessageStatus;
use crate::protocol::body::perm_name;
use crate::protocol::header::{parse_normal_topic, pop_retry_topic_v1};
use crate::protocol::message::properties::message_const;
use crate::protocol::message::{decode_message, MessageExt};
use crate::protocol::mix_all::{DLQ_GROUP_TOPIC_PREFIX, RETRY_GROUP_TOPIC_PREFIX};

/// Why one message could not be revived now (it is tried again later).
type ReviveError = String;

struct PopReviveService {
    broker: Arc<BrokerContext>,
    pop: Arc<PopService>,
}

/// Starts `rmq-pop-revive`; [`PopService::shutdown`] stops and joins it.
pub(crate) fn start_revive_service(
    broker: Arc<BrokerContext>,
    pop: Arc<PopService>,
) -> std::io::Result<()> {
    let service = PopReviveService {
        broker,
        pop: pop.clone(),
    };
    let handle = thread::Builder::new()
        .name("rmq-pop-revive".into())
        .spawn(move || service.run())?;
    pop.set_revive_thread(handle);
    Ok(())
}

impl PopReviveService {
    fn run(&self) {
        while let ReviveWork::Due(checkpoints) = self.pop.checkpoints.wait_for_work() {
            for checkpoint in checkpoints {
                self.revive(checkpoint);
            }
        }
    }

    /// Revives the un-acked messages of one due checkpoint (`reviveMsgFromCk`).
    fn revive(&self, checkpoint: PopCheckpoint) {
        let b = &self.broker;
        let normal_topic = parse_normal_topic(&checkpoint.topic, &checkpoint.group);
        if b.topics.select_topic_config(normal_topic).is_none() {
            log::warn!(
                "topic {normal_topic} is gone: the un-acked messages of checkpoint {} are not revived",
                checkpoint.id
            );
            self.finish(&checkpoint, checkpoint.all_bits(), false);
            return;
        }
        let max_reconsume = b.groups.retry_max_times(&checkpoint.group);
        let mut revived = 0u32;
        let mut failed = false;
        for index in 0..checkpoint.queue_offset_diff.len() {
            if checkpoint.bit_map & (1 << index) != 0
                || self.pop.checkpoints.is_acked(checkpoint.id, index)
            {
                continue;
            }
            match self.revive_message(&checkpoint, checkpoint.offset_at(index), max_reconsume) {
                Ok(()) => revived |= 1 << index,
                Err(e) => {
                    log::error!(
                        "reviving {}@{} queue {} offset {}: {e}",
                        checkpoint.topic,
                        checkpoint.group,
                        checkpoint.queue_id,
                        checkpoint.offset_at(index)
                    );
                    failed = true;
                }
            }
        }
        self.finish(&checkpoint, revived, failed);
    }

    fn finish(&self, checkpoint: &PopCheckpoint, revived: u32, failed: bool) {
        if let Err(e) = self
            .pop
            .checkpoints
            .finish_revive(checkpoint.id, revived, failed)
        {
            // The checkpoint stays open in the log: revived again after a restart.
            log::error!(
                "recording the revive of checkpoint {} failed: {e}",
                checkpoint.id
            );
        }
    }

    /// Copies the message at `offset` to the retry topic, or to the dead-letter topic once it
    /// was reconsumed `max_reconsume` times (`reviveRetry`). A message the store no longer
    /// has (cleaned) is logged and counted as done: there is nothing to bring back.
    fn revive_message(
        &self,
        checkpoint: &PopCheckpoint,
        offset: i64,
        max_reconsume: i32,
    ) -> Result<(), ReviveError> {
        let b = &self.broker;
        let found = b
            .store
            .get_message(&checkpoint.topic, checkpoint.queue_id, offset, 1, None);
        let Some(record) = found.messages.first() else {
            log::warn!(
                "{}@{} queue {} offset {} is no longer stored ({:?}): not revived",
                checkpoint.topic,
                checkpoint.group,
                checkpoint.queue_id,
                offset,
                found.status
            );
            return Ok(());
        };
        let original = match decode_message(record, false) {
            Ok((message, _)) => message,
            Err(e) => {
                log::error!(
                    "{}@{} queue {} offset {} cannot be read ({e}): not revived",
                    checkpoint.topic,
                    checkpoint.group,
                    checkpoint.queue_id,
                    offset
                );
                return Ok(());
            }
        };
        let dead = original.reconsume_times >= max_reconsume;
        let target = if dead {
            format!("{DLQ_GROUP_TOPIC_PREFIX}{}", checkpoint.group)
        } else if checkpoint.topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) {
            checkpoint.topic.clone()
        } else {
            pop_retry_topic_v1(&checkpoint.topic, &checkpoint.group)
        };
        match b.topics.create_topic_if_absent(
            &target,
            1,
            perm_name::PERM_READ | perm_name::PERM_WRITE,
        ) {
            Ok((_, true)) => b.request_registration(),
            Ok(_) => {}
            Err(e) => return Err(format!("creating {target} failed: {e}")),
        }
        let mut properties = original.properties.clone();
        if original.reconsume_times == 0
            || properties
                .get(message_const::PROPERTY_FIRST_POP_TIME)
                .is_none()
        {
            properties.insert(
                message_const::PROPERTY_FIRST_POP_TIME,
                checkpoint.pop_time.to_string(),
            );
        }
        if dead {
            // As a message sent back to the dead-letter topic: where it came from.
            let normal = parse_normal_topic(&checkpoint.topic, &checkpoint.group).to_string();
            if properties
                .get(message_const::PROPERTY_RETRY_TOPIC)
                .is_none()
            {
                properties.insert(message_const::PROPERTY_RETRY_TOPIC, normal);
            }
            if properties
                .get(message_const::PROPERTY_ORIGIN_MESSAGE_ID)
                .is_none()
            {
                properties.insert(
                    message_const::PROPERTY_ORIGIN_MESSAGE_ID,
                    original.client_msg_id(),
                );
            }
            log::info!(
                "a message of {} was reconsumed {} times (max {max_reconsume}): it goes to {target}",
                checkpoint.topic,
                original.reconsume_times
            );
        }
        let message = MessageExt {
            topic: target.clone(),
            queue_id: 0,
            flag: original.flag,
            body: original.body,
            properties,
            sys_flag: original.sys_flag,
            born_timestamp: original.born_timestamp,
            born_host: b.store_host,
            store_host: b.store_host,
            reconsume_times: original.reconsume_times + 1,
            ..MessageExt::default()
        };
        match b.store.put_message(message) {
            Ok(put)
                if matches!(
                    put.status,
                    PutMessageStatus::PutOk
                        | PutMessageStatus::FlushDiskTimeout
                        | PutMessageStatus::FlushSlaveTimeout
                        | PutMessageStatus::SlaveNotAvailable
                ) =>
            {
                Ok(())
            }
            Ok(put) => Err(format!("storing into {target} answered {:?}", put.status)),
            Err(e) => Err(format!("storing into {target} failed: {e}")),
        }
    }
}
