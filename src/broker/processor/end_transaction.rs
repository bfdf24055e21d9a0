//! END_TRANSACTION (37): a producer commits or rolls back a transaction, or says it does not
//! know yet; mirrors Java's `EndTransactionProcessor`.
//!
//! Producers send it oneway, so the response is seldom read; it still carries Java's codes
//! and remarks for a caller that waits.

use std::sync::Arc;

use super::BrokerContext;
use crate::broker::store::StoreError;
use crate::broker::transaction::{EndAction, EndError, EndRequest};
use crate::protocol::codes::response_code;
use crate::protocol::header::EndTransactionRequestHeader;
use crate::protocol::message::sys_flag::{
    TRANSACTION_COMMIT_TYPE, TRANSACTION_NOT_TYPE, TRANSACTION_ROLLBACK_TYPE,
};
use crate::protocol::RemotingCommand;
use crate::remoting::{ProcessorError, RequestContext, RequestProcessor};

/// Ends transactions.
pub(crate) struct EndTransactionProcessor {
    broker: Arc<BrokerContext>,
}

impl EndTransactionProcessor {
    /// A processor over the broker's shared state.
    pub(crate) fn new(broker: Arc<BrokerContext>) -> Self {
        EndTransactionProcessor { broker }
    }
}

fn error(code: i32, remark: impl Into<String>) -> RemotingCommand {
    RemotingCommand::new_response(code, remark.into())
}

/// Java's response to a store failure of the real message (`sendFinalMessage`).
fn store_failure(e: &StoreError, max_message_size: usize) -> RemotingCommand {
    use crate::broker::store::PutMessageStatus as S;
    match e.put_status() {
        S::CreateMappedFileFailed => {
            error(response_code::SYSTEM_ERROR, "Create mapped file failed.")
        }
        S::MessageIllegal | S::PropertiesSizeExceeded => error(
            response_code::MESSAGE_ILLEGAL,
            format!(
                "The message is illegal, maybe msg body or properties length not matched. msg \
                 body length limit {max_message_size}B, msg properties length limit 32KB."
            ),
        ),
        S::ServiceNotAvailable => error(
            response_code::SERVICE_NOT_AVAILABLE,
            "Service not available now.",
        ),
        _ => error(response_code::SYSTEM_ERROR, format!("UNKNOWN_ERROR: {e}")),
    }
}

impl RequestProcessor for EndTransactionProcessor {
    fn process_request(
        &self,
        ctx: &RequestContext,
        request: RemotingCommand,
    ) -> Result<Option<RemotingCommand>, ProcessorError> {
        let header: EndTransactionRequestHeader = request.decode_header()?;
        let from = if header.from_transaction_check {
            "the check"
        } else {
            "the producer"
        };
        let action = match header.commit_or_rollback {
            TRANSACTION_COMMIT_TYPE => EndAction::Commit,
            TRANSACTION_ROLLBACK_TYPE => {
                log::debug!(
                    "{}: {from} rolls back transaction {} (group {})",
                    ctx.remote_addr(),
                    header.msg_id,
                    header.producer_group
                );
                EndAction::Rollback
            }
            TRANSACTION_NOT_TYPE => {
                // Still unknown: the check will ask again.
                log::debug!(
                    "{}: {from} does not know transaction {} yet{}",
                    ctx.remote_addr(),
                    header.msg_id,
                    request
                        .remark
                        .as_deref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default()
                );
                return Ok(None);
            }
            other => {
                log::warn!(
                    "{}: END_TRANSACTION with commitOrRollback {other}; ignored",
                    ctx.remote_addr()
                );
                return Ok(Some(error(
                    response_code::SYSTEM_ERROR,
                    "commitOrRollback field wrong",
                )));
            }
        };
        let end = EndRequest {
            producer_group: &header.producer_group,
            queue_offset: header.tran_state_table_offset,
            commit_log_offset: header.commit_log_offset,
            action,
        };
        let b = &self.broker;
        let response = match b.transactions.end(&b.topics, &end) {
            Ok(_) => RemotingCommand::success(),
            Err(EndError::NotFound) => {
                log::warn!(
                    "{}: END_TRANSACTION for {} names no half message (commit log offset {}); \
                     ignored",
                    ctx.remote_addr(),
                    header.msg_id,
                    header.commit_log_offset
                );
                error(
                    response_code::SYSTEM_ERROR,
                    "Find prepared transaction message failed",
                )
            }
            Err(EndError::Mismatch(remark)) => {
                log::warn!(
                    "{}: END_TRANSACTION for {} refused: {remark}",
                    ctx.remote_addr(),
                    header.msg_id
                );
                error(response_code::SYSTEM_ERROR, remark)
            }
            Err(EndError::AlreadyEnded { live_offset }) => {
                log::info!(
                    "{}: transaction {} (half offset {live_offset}) has already ended; {from}'s \
                     {action:?} ignored",
                    ctx.remote_addr(),
                    header.msg_id
                );
                error(
                    response_code::SYSTEM_ERROR,
                    format!("the transaction of {} has already ended", header.msg_id),
                )
            }
            Err(EndError::Store(e)) => {
                log::warn!(
                    "{}: ending transaction {} failed: {e}",
                    ctx.remote_addr(),
                    header.msg_id
                );
                store_failure(&e, b.config.max_message_size)
            }
        };
        Ok(Some(response))
    }
}
