//! White-listed remote addresses (Java's `RemoteAddressStrategyFactory`): requests from a
//! matching address skip the signature and permission checks.

use std::net::{IpAddr, Ipv6Addr};

/// One `whiteRemoteAddress` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RemoteAddressStrategy {
    /// Blank: matches nothing.
    Nothing,
    /// `*`, `*.*.*.*` or `*:*:*:*:*:*:*:*`: matches every address.
    Everything,
    /// `a,b,c` or `192.168.1.{1,2,3}`: any of these addresses.
    Multiple(Vec<IpAddr>),
    /// IPv4 segments, each a range: `192.168.*.*`, `10.1.1-20.*`, `10.0.0.5`.
    Ipv4Ranges([(u8, u8); 4]),
    /// One IPv6 address.
    One(Ipv6Addr),
}

impl RemoteAddressStrategy {
    /// Parses a pattern; `Err` says what is wrong with it (a bad table fails the broker's start).
    pub(crate) fn parse(pattern: &str) -> Result<Self, String> {
        let pattern = pattern.trim();
        let bad = |why: &str| format!("whiteRemoteAddress {pattern:?}: {why}");
        if pattern.is_empty() {
            return Ok(RemoteAddressStrategy::Nothing);
        }
        if matches!(pattern, "*" | "*.*.*.*" | "*:*:*:*:*:*:*:*") {
            return Ok(RemoteAddressStrategy::Everything);
        }
        if let Some(open) = pattern.find('{') {
            // 192.168.1.{1,2}: the last segment lists the addresses.
            let Some(inner) = pattern[open + 1..].strip_suffix('}') else {
                return Err(bad("a '{' list must end the pattern with '}'"));
            };
            let head = &pattern[..open];
            let addrs = inner
                .split(',')
                .map(|last| parse_ip(&format!("{head}{}", last.trim())).map_err(|e| bad(&e)))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(RemoteAddressStrategy::Multiple(addrs));
        }
        if pattern.contains(',') {
            let addrs = pattern
                .split(',')
                .map(|one| parse_ip(one.trim()).map_err(|e| bad(&e)))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(RemoteAddressStrategy::Multiple(addrs));
        }
        if let Ok(IpAddr::V6(v6)) = pattern.parse::<IpAddr>() {
            return Ok(RemoteAddressStrategy::One(v6));
        }
        if pattern.contains(':') {
            return Err(bad(
                "IPv6 patterns other than one address or '*' are not supported",
            ));
        }
        let segments: Vec<&str> = pattern.split('.').collect();
        if segments.len() != 4 {
            return Err(bad("expected four IPv4 segments"));
        }
        let mut ranges = [(0u8, 0u8); 4];
        for (range, segment) in ranges.iter_mut().zip(&segments) {
            *range = parse_segment(segment.trim()).map_err(|e| bad(&e))?;
        }
        Ok(RemoteAddressStrategy::Ipv4Ranges(ranges))
    }

    /// Whether a request from `ip` matches.
    pub(crate) fn matches(&self, ip: Option<IpAddr>) -> bool {
        let Some(ip) = ip.map(canonical) else {
            return matches!(self, RemoteAddressStrategy::Everything);
        };
        match self {
            RemoteAddressStrategy::Nothing => false,
            RemoteAddressStrategy::Everything => true,
            RemoteAddressStrategy::Multiple(addrs) => addrs.iter().any(|a| canonical(*a) == ip),
            RemoteAddressStrategy::One(v6) => IpAddr::V6(*v6) == ip,
            RemoteAddressStrategy::Ipv4Ranges(ranges) => match ip {
                IpAddr::V4(v4) => v4
                    .octets()
                    .iter()
                    .zip(ranges)
                    .all(|(octet, (low, high))| (*low..=*high).contains(octet)),
                IpAddr::V6(_) => false,
            },
        }
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it carries.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn parse_ip(text: &str) -> Result<IpAddr, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not an IP address"))
}

/// `*` (0-255), `n`, or `n-m`.
fn parse_segment(segment: &str) -> Result<(u8, u8), String> {
    let number = |text: &str| {
        text.trim()
            .parse::<u8>()
            .map_err(|_| format!("segment {segment:?} is not 0-255, n-m or *"))
    };
    if segment == "*" {
        return Ok((0, 255));
    }
    match segment.split_once('-') {
        Some((low, high)) => {
            let (low, high) = (number(low)?, number(high)?);
            if low > high {
                return Err(format!("segment {segment:?}: start is after end"));
            }
            Ok((low, high))
        }
        None => number(segment).map(|n| (n, n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn patterns_match_as_java_documents_them() {
        let all = RemoteAddressStrategy::parse("*").unwrap();
        assert!(all.matches(ip("10.1.2.3")));
        let none = RemoteAddressStrategy::parse("  ").unwrap();
        assert!(!none.matches(ip("10.1.2.3")));
        let range = RemoteAddressStrategy::parse("192.168.1-10.*").unwrap();
        assert!(range.matches(ip("192.168.5.77")));
        assert!(!range.matches(ip("192.168.11.1")));
        assert!(range.matches(ip("::ffff:192.168.1.1")));
        let listed = RemoteAddressStrategy::parse("10.0.0.{1,3}").unwrap();
        assert!(listed.matches(ip("10.0.0.3")) && !listed.matches(ip("10.0.0.2")));
        let comma = RemoteAddressStrategy::parse("10.0.0.1,10.0.0.9").unwrap();
        assert!(comma.matches(ip("10.0.0.9")));
        let one = RemoteAddressStrategy::parse("127.0.0.1").unwrap();
        assert!(one.matches(ip("127.0.0.1")) && !one.matches(ip("127.0.0.2")));
        assert!(!one.matches(None));
    }

    #[test]
    fn bad_patterns_are_refused_with_a_reason() {
        for bad in [
            "10.0.0",
            "10.0.0.300",
            "10.0.9-1.*",
            "10.0.0.{1,x}",
            "fe80::*",
        ] {
            let err = RemoteAddressStrategy::parse(bad).unwrap_err();
            assert!(err.contains(bad), "{err}");
        }
    }
}
