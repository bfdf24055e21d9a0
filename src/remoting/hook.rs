//! `RpcHook`: code that runs around every request (ACL signing, tracing, metrics).

use crate::protocol::RemotingCommand;

/// Runs before a request is sent or processed and after its response; mirrors Java's `RPCHook`.
///
/// On a client, `do_before_request` sees each outgoing request (it may add ext fields, as ACL
/// signing does) and `do_after_response` each response. On a server, they run before the
/// processor and after it, before the response is written.
pub trait RpcHook: Send + Sync {
    /// Before the request is written (client) or processed (server). `Err` stops it: on a
    /// server the request is answered with the [`AbortProcess`]'s code and remark instead of
    /// being processed (as Java 5's `AbortProcessException`; ACL refuses with NO_PERMISSION
    /// this way); on a client the call fails with [`RemotingError::Hook`] and nothing is sent.
    ///
    /// [`RemotingError::Hook`]: super::RemotingError::Hook
    fn do_before_request(
        &self,
        remote_addr: &str,
        request: &mut RemotingCommand,
    ) -> Result<(), AbortProcess>;

    /// After the response arrived (client) or was produced (server). On the server the request
    /// passed here has no body: the processor took it.
    fn do_after_response(
        &self,
        remote_addr: &str,
        request: &RemotingCommand,
        response: &mut RemotingCommand,
    );
}

/// A hook's refusal of a request: the response code and remark to answer it with (Java 5's
/// `AbortProcessException`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbortProcess {
    /// The response code, e.g. [`response_code::NO_PERMISSION`](crate::protocol::codes::response_code::NO_PERMISSION).
    pub code: i32,
    /// Why, for the peer.
    pub remark: String,
}

impl AbortProcess {
    /// A refusal with `code` and `remark`.
    pub fn new(code: i32, remark: impl Into<String>) -> Self {
        AbortProcess {
            code,
            remark: remark.into(),
        }
    }
}

impl std::fmt::Display for AbortProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "refused with code {}: {}", self.code, self.remark)
    }
}

impl std::error::Error for AbortProcess {}

/// Why the before-hooks stopped a request.
#[derive(Debug)]
pub(crate) enum HookStop {
    /// A hook refused it.
    Abort(AbortProcess),
    /// A hook panicked (the message names the panic).
    Panicked(String),
}

/// Runs every hook's `do_before_request`, stopping at the first refusal. A hook that panics
/// ends the call too: the request would otherwise leave without what the hook adds (an ACL
/// signature, say).
pub(crate) fn run_before_request(
    hooks: &[std::sync::Arc<dyn RpcHook>],
    remote_addr: &str,
    request: &mut RemotingCommand,
) -> Result<(), HookStop> {
    for hook in hooks {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            hook.do_before_request(remote_addr, request)
        }));
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(abort)) => return Err(HookStop::Abort(abort)),
            Err(panic) => {
                let what = crate::common::panic_message(&panic);
                log::error!("an RPC hook panicked before a request to {remote_addr}: {what}");
                return Err(HookStop::Panicked(what));
            }
        }
    }
    Ok(())
}

/// Runs every hook's `do_after_response`; a panic is logged and the response goes on.
pub(crate) fn run_after_response(
    hooks: &[std::sync::Arc<dyn RpcHook>],
    remote_addr: &str,
    request: &RemotingCommand,
    response: &mut RemotingCommand,
) {
    for hook in hooks {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            hook.do_after_response(remote_addr, request, response)
        }));
        if let Err(panic) = outcome {
            log::error!(
                "an RPC hook panicked after a response from {remote_addr}: {}",
                crate::common::panic_message(&panic)
            );
        }
    }
}
