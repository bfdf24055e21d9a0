//! The echo service shared by the `echo_server` example and the benchmark.

use rocketmq_blocking::protocol::codes::response_code;
use rocketmq_blocking::protocol::RemotingCommand;
use rocketmq_blocking::remoting::{
    PoolConfig, ProcessorError, RemotingError, RemotingServer, RequestContext,
};

/// The request code the echo service answers.
pub const ECHO_CODE: i32 = 1;

/// Replies SUCCESS with the request's body and ext fields.
pub fn echo(
    _ctx: &RequestContext,
    request: RemotingCommand,
) -> Result<Option<RemotingCommand>, ProcessorError> {
    let mut response = RemotingCommand::new_response(response_code::SUCCESS, None);
    response.ext_fields = request.ext_fields;
    response.body = request.body;
    Ok(Some(response))
}

/// Registers the echo processor on `server` with a pool sized for benchmarks.
#[allow(dead_code)]
pub fn register_echo(server: &RemotingServer) -> Result<(), RemotingError> {
    server.register_processor(
        ECHO_CODE,
        echo,
        PoolConfig {
            threads: 4,
            queue_capacity: 100_000,
        },
    )
}
