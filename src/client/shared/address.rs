//! Name server and broker addresses as Java writes them: `host:port`, lists `a:9876;b:9876`.

use super::error::ClientError;

/// Parses a Java-style address list, `"a:9876;b:9876"`: each entry `host:port` (an IPv6 host
/// in brackets), blanks around entries ignored.
pub(crate) fn parse_address_list(text: &str) -> Result<Vec<String>, ClientError> {
    text.split(';')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|addr| check_address(addr).map(|()| addr.to_string()))
        .collect()
}

/// [`parse_address_list`] that refuses a list with no address in it.
pub(crate) fn parse_non_empty_address_list(text: &str) -> Result<Vec<String>, ClientError> {
    let addrs = parse_address_list(text)?;
    if addrs.is_empty() {
        return Err(ClientError::InvalidAddress {
            addr: text.to_string(),
            reason: "no address given; expected host:port".into(),
        });
    }
    Ok(addrs)
}

/// Checks that `addr` is `host:port` with a port from 1 to 65535.
pub(crate) fn check_address(addr: &str) -> Result<(), ClientError> {
    let invalid = |reason: &str| ClientError::InvalidAddress {
        addr: addr.to_string(),
        reason: reason.to_string(),
    };
    let Some((host, port)) = addr.rsplit_once(':') else {
        return Err(invalid("expected host:port"));
    };
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if host.is_empty()
        || host.contains(char::is_whitespace)
        || host.contains(':') && !addr.starts_with('[')
    {
        return Err(invalid("expected host:port"));
    }
    match port.parse::<u16>() {
        Ok(port) if port > 0 => Ok(()),
        _ => Err(invalid("expected host:port with a port from 1 to 65535")),
    }
}
