//! `ClientSettings`: what every client (producer, consumer) is configured with, how name
//! server addresses are read, and how a client id is made; mirrors Java's `ClientConfig`.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::error::ClientError;
use crate::common::clock::now_nanos;
use crate::protocol::{LanguageCode, SerializeType};

/// The environment variable Java clients read name server addresses from.
pub const NAMESRV_ADDR_ENV: &str = "NAMESRV_ADDR";

/// Settings shared by producers and consumers; mirrors Java's `ClientConfig`.
///
/// Made by the builders ([`super::ProducerBuilder`], [`super::PullConsumerBuilder`]); read
/// back with their `config()`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientSettings {
    /// Name server addresses (`host:port`).
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
    /// TCP connect timeout (3 s), the TLS handshake included.
    pub connect_timeout: Duration,
    /// Speak TLS to name servers and brokers, as this says; None (the default): plain.
    #[cfg(feature = "tls")]
    pub tls: Option<crate::remoting::TlsClientConfig>,
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
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

impl ClientSettings {
    /// The IP to use: the configured one, else the machine's.
    pub(crate) fn resolved_client_ip(&self) -> IpAddr {
        self.client_ip.unwrap_or_else(local_ip)
    }

    /// The client id, `ip@instance` (`buildMQClientId`).
    pub(crate) fn build_client_id(&self) -> String {
        let instance = self
            .instance_name
            .clone()
            .unwrap_or_else(default_instance_name);
        format!("{}@{instance}", self.resolved_client_ip())
    }

    /// The checks a builder makes when it starts its client: the name servers it was given
    /// (`"host:port;host:port"`), else those of `NAMESRV_ADDR` (as Java reads it), each
    /// `host:port`; and every broker address override `host:port`.
    pub(crate) fn check_at_start(&mut self, given: Option<&str>) -> Result<(), ClientError> {
        if let Some(text) = given {
            self.name_server_addrs = parse_non_empty_address_list(text)?;
        } else if let Ok(text) = std::env::var(NAMESRV_ADDR_ENV) {
            self.name_server_addrs = parse_address_list(&text)?;
        }
        if self.name_server_addrs.is_empty() {
            return Err(ClientError::NoNameServer { tried: Vec::new() });
        }
        for actual in self.broker_addr_override.values() {
            check_address(actual)?;
        }
        Ok(())
    }
}

/// The setters every client builder has (name servers, client id, header encoding, broker
/// address overrides, timeouts), for a builder whose settings are `self.config.client` and
/// whose name servers wait in `self.name_server`.
macro_rules! client_settings_setters {
    () => {
        /// Name servers as Java writes them: `"host:port"` or `"host:port;host:port"`. Checked
        /// by `start`. Without this, the `NAMESRV_ADDR` environment variable is read, as Java
        /// clients do.
        pub fn name_server(mut self, addrs: impl Into<String>) -> Self {
            self.name_server = Some(addrs.into());
            self
        }

        /// The instance part of the client id (default `<pid>#<nanos>`).
        pub fn instance_name(mut self, name: impl Into<String>) -> Self {
            self.config.client.instance_name = Some(name.into());
            self
        }

        /// The IP in the client id and message ids (default: this machine's).
        pub fn client_ip(mut self, ip: std::net::IpAddr) -> Self {
            self.config.client.client_ip = Some(ip);
            self
        }

        /// Header encoding of every request (JSON).
        pub fn serialize_type(mut self, serialize_type: $crate::protocol::SerializeType) -> Self {
            self.config.client.serialize_type = serialize_type;
            self
        }

        /// Language stamped on every request (JAVA).
        pub fn language(mut self, language: $crate::protocol::LanguageCode) -> Self {
            self.config.client.language = language;
            self
        }

        /// Dial `actual` whenever a route names the broker address `advertised`.
        pub fn broker_addr_override(
            mut self,
            advertised: impl Into<String>,
            actual: impl Into<String>,
        ) -> Self {
            self.config
                .client
                .broker_addr_override
                .insert(advertised.into(), actual.into());
            self
        }

        /// Replaces the whole broker address override map.
        pub fn broker_addr_overrides(
            mut self,
            overrides: std::collections::HashMap<String, String>,
        ) -> Self {
            self.config.client.broker_addr_override = overrides;
            self
        }

        /// Timeout of name server and housekeeping calls (3 s).
        pub fn api_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.config.client.api_timeout = timeout;
            self
        }

        /// TCP connect timeout (3 s), the TLS handshake included.
        pub fn connect_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.config.client.connect_timeout = timeout;
            self
        }

        /// Speak TLS to name servers and brokers, trusting what `tls` says (e.g.
        /// `TlsClientConfig::platform_roots()` or `TlsClientConfig::with_ca_file(path)`);
        /// its files are read by `start`. Default: plain connections.
        #[cfg(feature = "tls")]
        pub fn tls(mut self, tls: $crate::remoting::TlsClientConfig) -> Self {
            self.config.client.tls = Some(tls);
            self
        }
    };
}

pub(crate) use client_settings_setters;

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

/// `<pid>#<nanos>`: Java's `changeInstanceNameToPID` (pid and `System.nanoTime()`); a
/// process-wide counter keeps two clients made in the same nanosecond apart.
pub(crate) fn default_instance_name() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = now_nanos().wrapping_add(u64::from(COUNTER.fetch_add(1, Ordering::Relaxed)));
    format!("{}#{nanos}", std::process::id())
}

/// This machine's IPv4 address on its default route, else 127.0.0.1.
///
/// Connecting a UDP socket sends no packet; it only makes the OS pick the local address it
/// would route through. 192.0.2.1 is a documentation address, never contacted.
pub(crate) fn local_ip() -> IpAddr {
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
    fn address_lists_split_like_java_and_are_checked() {
        assert_eq!(
            parse_address_list(" a:1; b.example:9876 ;;[::1]:9876").unwrap(),
            ["a:1", "b.example:9876", "[::1]:9876"]
        );
        assert!(parse_address_list("").unwrap().is_empty());
        for bad in [
            "localhost",
            "a:b",
            ":9876",
            "a:0",
            "a:70000",
            "a b:1",
            "::1:9876",
        ] {
            let error = parse_address_list(bad).unwrap_err();
            assert!(
                matches!(&error, ClientError::InvalidAddress { addr, .. } if addr == bad),
                "{bad}: {error:?}"
            );
            assert!(error.to_string().contains("expected host:port"), "{error}");
        }
    }
}
