//! `RpcHook`: code that runs around every request (ACL signing, tracing, metrics).

use crate::protocol::RemotingCommand;

/// Runs before a request is sent or processed and after its response; mirrors Java's `RPCHook`.
///
/// On a client, `do_before_request` sees each outgoing request (it may add ext fields, as ACL
/// signing does) and `do_after_response` each response. On a server, they run before the
/// processor and after it, before the response is written.
pub trait RpcHook: Send + Sync {
    /// Before the request is written (client) or processed (server).
    fn do_before_request(&self, remote_addr: &str, request: &mut RemotingCommand);

    /// After the response arrived (client) or was produced (server). On the server the request
    /// passed here has no body: the processor took it.
    fn do_after_response(
        &self,
        remote_addr: &str,
        request: &RemotingCommand,
        response: &mut RemotingCommand,
    );
}

/// Runs every hook's `do_before_request`. A hook that panics ends the call: the request
/// would otherwise leave without what the hook adds (an ACL signature, say). `Err` names
/// the panic.
pub(crate) fn run_before_request(
    hooks: &[std::sync::Arc<dyn RpcHook>],
    remote_addr: &str,
    request: &mut RemotingCommand,
) -> Result<(), String> {
    for hook in hooks {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            hook.do_before_request(remote_addr, request)
        }));
        if let Err(panic) = outcome {
            let what = crate::common::panic_message(&panic);
            log::error!("an RPC hook panicked before a request to {remote_addr}: {what}");
            return Err(what);
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
