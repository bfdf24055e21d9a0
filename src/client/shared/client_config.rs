//! `ClientSettings`: what every client (producer, consumer) is configured with, how name
//! server addresses are read, and how a client id is made; mirrors Java's `ClientConfig`.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::address::{check_address, parse_address_list, parse_non_empty_address_list};
use super::error::ClientError;
use super::top_addressing;
use crate::common::clock::now_nanos;
use crate::protocol::{LanguageCode, SerializeType};

/// The environment variable Java clients read name server addresses from.
pub const NAMESRV_ADDR_ENV: &str = "NAMESRV_ADDR";

/// Settings shared by producers and consumers; mirrors Java's `ClientConfig`.
///
/// Made by the builders ([`ProducerBuilder`](crate::client::ProducerBuilder), [`PullConsumerBuilder`](crate::client::PullConsumerBuilder)); read
/// back with their `config()`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientSettings {
    /// Name server addresses (`host:port`) as found at start: given, from `NAMESRV_ADDR`, or
    /// from the address service (whose later answers replace the list in use, not this).
    pub name_server_addrs: Vec<String>,
    /// The address service asked for the name server list when neither the builder nor
    /// `NAMESRV_ADDR` gives one: an `http://` URL; None: made from
    /// [`NAMESRV_DOMAIN_ENV`](crate::client::NAMESRV_DOMAIN_ENV) and
    /// [`NAMESRV_DOMAIN_SUBGROUP_ENV`](crate::client::NAMESRV_DOMAIN_SUBGROUP_ENV) as Java's
    /// `MixAll.getWSAddr` does (`http://jmenv.tbsite.net:8080/rocketmq/nsaddr` by default).
    pub name_server_address_service: Option<String>,
    /// How often the address service is asked again (Java: 2 minutes).
    pub name_server_address_fetch_interval: Duration,
    /// Java's `unitName`: appended to the client id (`ip@instance@unit`) and to the address
    /// service URL (`<url>-<unit>?nofix=1`).
    pub unit_name: Option<String>,
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
    /// The namespace every topic and group is wrapped in (`ns%topic`, Java's `namespace`);
    /// None: names are used as given.
    pub namespace: Option<String>,
    /// ACL credentials: when set, every request is signed with them (feature `acl`).
    #[cfg(feature = "acl")]
    pub credentials: Option<crate::acl::SessionCredentials>,
    /// The URL the name server list came from at start, asked again every
    /// `name_server_address_fetch_interval`; None when the list was given.
    pub(crate) discovered_from: Option<String>,
    /// Speak TLS to name servers and brokers, as this says; None (the default): plain.
    #[cfg(feature = "tls")]
    pub tls: Option<crate::remoting::TlsClientConfig>,
}

impl Default for ClientSettings {
    fn default() -> Self {
        ClientSettings {
            name_server_addrs: Vec::new(),
            name_server_address_service: None,
            name_server_address_fetch_interval: Duration::from_secs(120),
            unit_name: None,
            instance_name: None,
            client_ip: None,
            serialize_type: SerializeType::Json,
            language: LanguageCode::Java,
            broker_addr_override: HashMap::new(),
            route_refresh_interval: Duration::from_secs(30),
            heartbeat_interval: Duration::from_secs(30),
            api_timeout: Duration::from_secs(3),
            connect_timeout: Duration::from_secs(3),
            namespace: None,
            #[cfg(feature = "acl")]
            credentials: None,
            discovered_from: None,
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

    /// The client id, `ip@instance`, `ip@instance@unit` with a unit name
    /// (`buildMQClientId`).
    pub(crate) fn build_client_id(&self) -> String {
        let instance = self
            .instance_name
            .clone()
            .unwrap_or_else(default_instance_name);
        match self.unit_name.as_deref().filter(|u| !u.trim().is_empty()) {
            Some(unit) => format!("{}@{instance}@{unit}", self.resolved_client_ip()),
            None => format!("{}@{instance}", self.resolved_client_ip()),
        }
    }

    /// The checks a builder makes when it starts its client: the name servers it was given
    /// (`"host:port;host:port"`), else those of `NAMESRV_ADDR` (as Java reads it; blank counts
    /// as unset), else those the address service answers now, within `api_timeout`
    /// (`fetchNameServerAddr` in Java's `MQClientInstance.start`); each `host:port`; and
    /// every broker address override `host:port`.
    pub(crate) fn check_at_start(&mut self, given: Option<&str>) -> Result<(), ClientError> {
        if self.name_server_address_fetch_interval.is_zero() {
            return Err(ClientError::invalid_argument(
                "name_server_address_fetch_interval",
                "must be more than zero",
            ));
        }
        // A bad URL is a bad setting even when a name server list makes it unused.
        if let Some(url) = &self.name_server_address_service {
            top_addressing::parse_http_url(url).map_err(|reason| {
                ClientError::invalid_argument("name_server_address_service", reason)
            })?;
        }
        let from_env = std::env::var(NAMESRV_ADDR_ENV)
            .ok()
            .filter(|text| !text.trim().is_empty());
        if let Some(text) = given {
            self.name_server_addrs = parse_non_empty_address_list(text)?;
        } else if let Some(text) = from_env {
            self.name_server_addrs = parse_address_list(&text)?;
        } else {
            let url = top_addressing::with_unit(
                &self
                    .name_server_address_service
                    .clone()
                    .unwrap_or_else(top_addressing::ws_addr_from_env),
                self.unit_name.as_deref(),
            );
            self.name_server_addrs =
                top_addressing::fetch_name_server_list(&url, self.api_timeout, None).map_err(
                    |reason| ClientError::NameServerLookup {
                        url: url.clone(),
                        reason,
                    },
                )?;
            log::info!(
                "name server addresses from {url}: {}",
                self.name_server_addrs.join(";")
            );
            self.discovered_from = Some(url);
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
        /// clients do; without either, the list is fetched from the
        /// [address service](Self::name_server_address_service).
        pub fn name_server(mut self, addrs: impl Into<String>) -> Self {
            self.name_server = Some(addrs.into());
            self
        }

        /// The address service (an `http://` URL; https is not supported) that serves the
        /// name server list as `host:port;host:port` when neither
        /// [`name_server`](Self::name_server) nor `NAMESRV_ADDR` gives one: asked at
        /// `start` (which fails if it gives no list), then every
        /// [`name_server_address_fetch_interval`](Self::name_server_address_fetch_interval).
        /// Default: `http://<domain>:8080/rocketmq/<subgroup>` from the
        /// `ROCKETMQ_NAMESRV_DOMAIN` (`jmenv.tbsite.net`) and
        /// `ROCKETMQ_NAMESRV_DOMAIN_SUBGROUP` (`nsaddr`) environment variables, as Java's
        /// `MixAll.getWSAddr`.
        pub fn name_server_address_service(mut self, url: impl Into<String>) -> Self {
            self.config.client.name_server_address_service = Some(url.into());
            self
        }

        /// How often the address service is asked again (2 minutes); the list in use changes
        /// only when the answer does, and a bad answer keeps it.
        pub fn name_server_address_fetch_interval(mut self, interval: std::time::Duration) -> Self {
            self.config.client.name_server_address_fetch_interval = interval;
            self
        }

        /// Java's `unitName`: the client id becomes `ip@instance@unit` and the address
        /// service URL `<url>-<unit>?nofix=1` (none by default).
        pub fn unit_name(mut self, unit: impl Into<String>) -> Self {
            self.config.client.unit_name = Some(unit.into());
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

        /// Puts every topic and group this client names in `namespace`: the cluster sees
        /// `namespace%topic` (retry and dead-letter topics `%RETRY%namespace%group`), while
        /// send results, received messages and queues show the names as given (Java's
        /// `setNamespace`).
        pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
            self.config.client.namespace = Some(namespace.into());
            self
        }

        /// Signs every request with these ACL credentials (Java's `AclClientRPCHook`), as
        /// ACL-enabled brokers require (feature `acl`).
        #[cfg(feature = "acl")]
        pub fn credentials(mut self, credentials: $crate::acl::SessionCredentials) -> Self {
            self.config.client.credentials = Some(credentials);
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
        let settings = ClientSettings {
            client_ip: Some("10.1.2.3".parse().unwrap()),
            instance_name: Some("inst".into()),
            unit_name: Some("u1".into()),
            ..ClientSettings::default()
        };
        assert_eq!(settings.build_client_id(), "10.1.2.3@inst@u1");
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
