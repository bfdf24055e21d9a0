//! How the examples print an error: the error and every `source()` under it on one line, so
//! that the operating system's reason (an address in use, a connection refused) is never
//! dropped: `broker: remoting: bind 127.0.0.1:10911 failed: Address already in use (os error 98)`.

use std::error::Error;

/// `error`, then each cause, `": "`-separated. A cause whose text already ends the line (an
/// error that shows its cause in its own text) is not repeated.
pub fn error_chain(error: &(dyn Error + 'static)) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !line.ends_with(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = cause.source();
    }
    line
}
