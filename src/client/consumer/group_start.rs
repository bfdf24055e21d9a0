//! How a group consumer (push or lite pull) starts: the steps both take, in Java's order
//! (`DefaultMQPushConsumerImpl.start`, `DefaultLitePullConsumerImpl.start`).

use std::sync::{Arc, Weak};

use super::consumer_inner::ConsumerInner;
use super::pull_service::{PullMessageService, PullTarget};
use crate::client::consumer::client_remoting_processor::{
    ClientRemotingProcessor, CLIENT_REQUEST_CODES,
};
use crate::client::shared::client_instance::MqClientInstance;
use crate::client::shared::error::ClientError;
use crate::client::shared::validators::RETRY_GROUP_TOPIC_PREFIX;
use crate::common::service_thread::{while_alive, Schedule, ServiceThread};
use crate::protocol::body::SubscriptionData;
use crate::remoting::{PoolConfig, RemotingError};

/// Registers `consumer` with its client instance (heartbeats announce it; what brokers ask
/// of it reaches it through a [`ClientRemotingProcessor`]), starts its pull thread
/// (`rmq-pull`), then the instance's route and heartbeat threads.
pub(crate) fn start_group_consumer<C>(
    consumer: &Arc<C>,
    instance: &Arc<MqClientInstance>,
) -> Result<PullMessageService, ClientError>
where
    C: ConsumerInner + PullTarget + 'static,
{
    let weak_consumer: Weak<dyn ConsumerInner> = Arc::downgrade(consumer) as Weak<C>;
    instance.register_consumer(weak_consumer.clone());
    instance.api().remoting().register_processor_for_codes(
        &CLIENT_REQUEST_CODES,
        Arc::new(ClientRemotingProcessor::new(weak_consumer)),
        PoolConfig {
            threads: 2,
            queue_capacity: 1000,
        },
    )?;
    let weak_target: Weak<dyn PullTarget> = Arc::downgrade(consumer) as Weak<C>;
    let pulls = PullMessageService::start(weak_target).map_err(thread_error("rmq-pull"))?;
    instance.start_background_tasks()?;
    Ok(pulls)
}

/// Starts thread `name` running `task` on the consumer on `schedule`, while the consumer
/// lives.
pub(crate) fn start_consumer_thread<C: Send + Sync + 'static>(
    name: &'static str,
    schedule: Schedule,
    consumer: &Arc<C>,
    task: impl Fn(&C) + Send + 'static,
) -> Result<ServiceThread, ClientError> {
    ServiceThread::start(
        name,
        schedule,
        while_alive(consumer, move |consumer, _| task(consumer)),
    )
    .map_err(thread_error(name))
}

/// Before the first rebalance: the routes of the subscribed topics (a group's retry topic
/// may have none yet: not worth a warning), then a heartbeat, so the brokers know the group.
pub(crate) fn prepare_first_rebalance(
    instance: &MqClientInstance,
    subscriptions: &[SubscriptionData],
) {
    for subscription in subscriptions {
        if let Err(e) =
            instance.update_topic_route(&subscription.topic, instance.api_timeout_default())
        {
            if !subscription.topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) {
                log::warn!("route of {}: {e}", subscription.topic);
            }
        }
    }
    instance.send_heartbeat_now();
}

fn thread_error(name: &'static str) -> impl Fn(std::io::Error) -> ClientError {
    move |e| ClientError::from(RemotingError::io(format!("start {name}"), e))
}
