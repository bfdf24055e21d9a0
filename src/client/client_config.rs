//! `ClientSettings`: what every client (producer, pull consumer) is configured with, and how
//! its client id is made.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::common::clock::now_nanos;
use crate::protocol::{LanguageCode, SerializeType};

/// Settings shared by producers and consumers; mirrors Java's `ClientConfig`.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// Name server addresses (`host:port`); replaceable at runtime.
    pub name_server_addrs: Vec<String>,
    /// The instance part of the client id; None: `<pid>#<nanos>`, unique per client, as Java
    /// turns "DEFAULT" into the pid.
    pub instance_name: Option<String>,
    /// The IP in the client id and in message ids; None: this machine's first non-loopback
    /// IPv4 address, else 127.0.0.1.
    pub client_ip: Option<IpAddr>,
    /// Header encoding of every request: JSON (Java's default) or ROCKETMQ binary.
    pub serialize_type: SerializeType,
    /// Language stamped on every request (JAVA: every broker version knows it).
    pub language: LanguageCode,
    /// Broker addresses to dial instead of those in the routes, keyed by the route's address
    /// (brokers behind NAT or in containers advertise addresses clients cannot reach).
    pub broker_addr_override: HashMap<String, String>,
    /// How often the routes of the topics in use are fetched again (`pollNameServerInterval`,
    /// 30 s).
    pub route_refresh_interval: Duration,
    /// How often every broker gets a heartbeat (`heartbeatBrokerInterval`, 30 s).
    pub heartbeat_interval: Duration,
    /// Timeout of name server and housekeeping calls (`mqClientApiTimeout`, 3 s).
    pub api_timeout: Duration,
    /// TCP connect timeout (3 s).
    pub connect_timeout: Duration,
}

impl Default for ClientSettings {
    fn default() -> Self {
        ClientSettings {
            name_server_addrs: Vec::new(),
            instance_name: None,
            client_ip: None,
            serialize_type: SerializeType::Json,
            language: LanguageCode::Java,
            broker_addr_override: HashMap::new(),
            route_refresh_interval: Duration::from_secs(30),
            heartbeat_interval: Duration::from_secs(30),
            api_timeout: Duration::from_secs(3),
            connect_timeout: Duration::from_secs(3),
        }
    }
}

impl ClientSettings {
    /// The IP to use: the configured one, else the machine's.
    pub fn resolved_client_ip(&self) -> IpAddr {
        self.client_ip.unwrap_or_else(local_ip)
    }

    /// The client id, `ip@instance` (`buildMQClientId`).
    pub fn build_client_id(&self) -> String {
        let instance = self
            .instance_name
            .clone()
            .unwrap_or_else(default_instance_name);
        format!("{}@{instance}", self.resolved_client_ip())
    }
}

/// Splits a Java-style address list, `"a:9876;b:9876"`, into addresses.
pub fn split_name_server_addrs(addrs: &str) -> Vec<String> {
    addrs
        .split(';')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect()
}

/// `<pid>#<nanos>`: Java's `changeInstanceNameToPID` (pid and `System.nanoTime()`); a
/// process-wide counter keeps two clients made in the same nanosecond apart.
pub fn default_instance_name() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = now_nanos();
    let nanos = nanos.wrapping_add(u64::from(COUNTER.fetch_add(1, Ordering::Relaxed)));
    format!("{}#{nanos}", std::process::id())
}

/// This machine's IPv4 address on its default route, else 127.0.0.1.
///
/// Connecting a UDP socket sends no packet; it only makes the OS pick the local address it
/// would route through. 192.0.2.1 is a documentation address, never contacted.
pub fn local_ip() -> IpAddr {
    let routed = UdpSocket::bind("0.0.0.0:0")
        .and_then(|socket| {
            socket.connect("192.0.2.1:9")?;
            socket.local_addr()
        })
        .map(|addr| addr.ip())
        .ok();
    match routed {
        Some(ip) if !ip.is_unspecified() && !ip.is_loopback() => ip,
        _ => IpAddr::V4(Ipv4Addr::LOCALHOST),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_id_is_ip_at_instance() {
        let settings = ClientSettings {
            client_ip: Some("10.1.2.3".parse().unwrap()),
            instance_name: Some("inst".into()),
            ..ClientSettings::default()
        };
        assert_eq!(settings.build_client_id(), "10.1.2.3@inst");
        let settings = ClientSettings {
            client_ip: Some("10.1.2.3".parse().unwrap()),
            ..ClientSettings::default()
        };
        let (a, b) = (settings.build_client_id(), settings.build_client_id());
        let pid = std::process::id().to_string();
        assert!(a.starts_with(&format!("10.1.2.3@{pid}#")), "{a}");
        assert_ne!(a, b, "two clients of one process get distinct ids");
    }

    #[test]
    fn local_ip_is_usable() {
        let ip = local_ip();
        assert!(!ip.is_unspecified());
        assert!(ip.is_ipv4());
    }

    #[test]
    fn address_lists_split_like_java() {
        assert_eq!(
            split_name_server_addrs(" a:1; b:2 ;;"),
            vec!["a:1".to_string(), "b:2".to_string()]
        );
        assert!(split_name_server_addrs("").is_empty());
    }
}
