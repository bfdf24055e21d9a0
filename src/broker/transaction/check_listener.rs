//! Asks a producer of the group how a transaction ended: CHECK_TRANSACTION_STATE (39), a
//! broker → client oneway request whose body is the half message; mirrors Java's
//! `AbstractTransactionalMessageCheckListener.sendCheckMessage` and
//! `Broker2Client.checkProducerTransactionState`.
//!
//! The producer answers later with END_TRANSACTION (`fromTransactionCheck=true`); a group
//! with no live producer is asked again at the next look.

use std::time::Duration;

use super::bridge::check_view;
use crate::broker::client_manager::ClientManager;
use crate::protocol::codes::request_code;
use crate::protocol::header::CheckTransactionStateRequestHeader;
use crate::protocol::message::message_const::PROPERTY_PRODUCER_GROUP;
use crate::protocol::message::{encode_stored_message, MessageExt};
use crate::protocol::RemotingCommand;
use crate::remoting::RemotingServer;

/// How long a check may wait to be queued on a producer's connection.
const CHECK_SEND_TIMEOUT: Duration = Duration::from_millis(100);

/// Sends the check of the copy `half` (positions of the copy) to one live producer of its
/// group. Failures are logged: the next look asks again.
pub(crate) fn send_check(server: &RemotingServer, clients: &ClientManager, half: &MessageExt) {
    let Some(group) = half.property(PROPERTY_PRODUCER_GROUP) else {
        log::warn!("half message {} names no producer group", half.msg_id);
        return;
    };
    let Some(channel) = clients.available_producer_channel(group) else {
        log::warn!("Check transaction failed, channel is null. groupId={group}");
        return;
    };
    let unique_id = half.uniq_key().map(str::to_string);
    let header = CheckTransactionStateRequestHeader {
        tran_state_table_offset: half.queue_offset,
        commit_log_offset: half.commit_log_offset,
        msg_id: unique_id.clone(),
        transaction_id: unique_id,
        offset_msg_id: Some(half.msg_id.clone()),
        broker_name: None,
    };
    let body = match encode_stored_message(&check_view(half)) {
        Ok(body) => body,
        Err(e) => {
            log::error!("half message {} does not encode ({e})", half.msg_id);
            return;
        }
    };
    let request =
        RemotingCommand::request_with_header(request_code::CHECK_TRANSACTION_STATE, &header)
            .with_body(body);
    if let Err(e) = server.invoke_oneway(&channel.connection, request, CHECK_SEND_TIMEOUT) {
        log::warn!(
            "asking {} about transaction {} failed: {e}",
            channel.client_id,
            half.msg_id
        );
    }
}
