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
