//! Headers of name server requests: GET_ROUTEINFO_BY_TOPIC (105), REGISTER_BROKER (103) and
//! UNREGISTER_BROKER (104); Java's `protocol.header.namesrv` package.

custom_header! {
    /// Asks a name server for a topic's route; mirrors Java's `GetRouteInfoRequestHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct GetRouteInfoRequestHeader {
        /// `topic`.
        pub topic: String = "topic",
        /// `acceptStandardJsonOnly`: ask for quoted `brokerAddrs` keys whatever our version.
        pub accept_standard_json_only: Option<bool> = "acceptStandardJsonOnly",
    }
}

custom_header! {
    /// A broker registering with a name server; mirrors Java's `RegisterBrokerRequestHeader`.
    ///
    /// The body is a `RegisterBrokerBody` ([`crate::protocol::body::RegisterBrokerBody`]) whose
    /// CRC-32 travels in `bodyCrc32`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct RegisterBrokerRequestHeader {
        /// `brokerName`.
        pub broker_name: String = "brokerName",
        /// `brokerAddr`: the broker's client-facing address.
        pub broker_addr: String = "brokerAddr",
        /// `clusterName`.
        pub cluster_name: String = "clusterName",
        /// `haServerAddr`: the address slaves replicate from.
        pub ha_server_addr: String = "haServerAddr",
        /// `brokerId`: 0 for a master.
        pub broker_id: i64 = "brokerId",
        /// `heartbeatTimeoutMillis` (5.x).
        pub heartbeat_timeout_millis: Option<i64> = "heartbeatTimeoutMillis",
        /// `enableActingMaster` (5.x).
        pub enable_acting_master: Option<bool> = "enableActingMaster",
        /// `compressed`: the body is in the compressed binary form, not JSON.
        pub compressed: bool = "compressed",
        /// `bodyCrc32`: CRC-32 of the body ([`crate::protocol::util_all::crc32`]).
        pub body_crc32: i32 = "bodyCrc32",
    }
}

custom_header! {
    /// The name server's answer to a registration; mirrors Java's `RegisterBrokerResponseHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct RegisterBrokerResponseHeader {
        /// `haServerAddr`: the master's HA address, for a slave.
        pub ha_server_addr: Option<String> = "haServerAddr",
        /// `masterAddr`: the master's address, for a slave.
        pub master_addr: Option<String> = "masterAddr",
    }
}

custom_header! {
    /// A broker leaving a name server; mirrors Java's `UnRegisterBrokerRequestHeader`.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct UnRegisterBrokerRequestHeader {
        /// `brokerName`.
        pub broker_name: String = "brokerName",
        /// `brokerAddr`.
        pub broker_addr: String = "brokerAddr",
        /// `clusterName`.
        pub cluster_name: String = "clusterName",
        /// `brokerId`.
        pub broker_id: i64 = "brokerId",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::header::CommandCustomHeader;
    use crate::protocol::test_fixtures::fixture;
    use crate::protocol::util_all::crc32;
    use crate::protocol::{ExtFields, HeaderError};

    #[test]
    fn reads_the_java_route_request() {
        let h: GetRouteInfoRequestHeader = fixture("java-4.9.8/007-req-code105-json.bin")
            .decode_header()
            .unwrap();
        assert_eq!(
            h,
            GetRouteInfoRequestHeader {
                topic: "TopicTest".into(),
                accept_standard_json_only: None
            }
        );
        let h = GetRouteInfoRequestHeader {
            accept_standard_json_only: Some(true),
            ..h
        };
        let mut fields = ExtFields::new();
        h.write_to(&mut fields);
        assert_eq!(fields.get("acceptStandardJsonOnly"), Some("true"));
        assert_eq!(GetRouteInfoRequestHeader::read_from(&fields), Ok(h));
    }

    #[test]
    fn reads_the_java_broker_registration() {
        let cmd = fixture("java-4.9.8/001-req-code103-json.bin");
        let h: RegisterBrokerRequestHeader = cmd.decode_header().unwrap();
        let expected = RegisterBrokerRequestHeader {
            broker_name: "broker-a".into(),
            broker_addr: "127.0.0.1:10911".into(),
            cluster_name: "DefaultCluster".into(),
            ha_server_addr: "192.0.2.2:10912".into(),
            broker_id: 0,
            compressed: false,
            body_crc32: 78_052_007,
            ..Default::default()
        };
        assert_eq!(h, expected);
        // The CRC the broker sent is UtilAll.crc32 of the body.
        assert_eq!(crc32(&cmd.body), h.body_crc32);
        let mut fields = ExtFields::new();
        h.write_to(&mut fields);
        let mut written: Vec<_> = fields.iter().collect();
        let mut sent: Vec<_> = cmd.ext_fields.iter().collect();
        written.sort();
        sent.sort();
        assert_eq!(written, sent);
    }

    #[test]
    fn unregister_and_register_response_round_trip() {
        let h = UnRegisterBrokerRequestHeader {
            broker_name: "b".into(),
            broker_addr: "1.2.3.4:10911".into(),
            cluster_name: "c".into(),
            broker_id: 1,
        };
        let mut fields = ExtFields::new();
        h.write_to(&mut fields);
        assert_eq!(UnRegisterBrokerRequestHeader::read_from(&fields), Ok(h));
        fields.remove("clusterName");
        assert_eq!(
            UnRegisterBrokerRequestHeader::read_from(&fields),
            Err(HeaderError::MissingField("clusterName"))
        );
        let empty = RegisterBrokerResponseHeader::read_from(&ExtFields::new()).unwrap();
        assert_eq!(empty, RegisterBrokerResponseHeader::default());
        let full = RegisterBrokerResponseHeader {
            ha_server_addr: Some("h:1".into()),
            master_addr: Some("m:2".into()),
        };
        let mut fields = ExtFields::new();
        full.write_to(&mut fields);
        assert_eq!(RegisterBrokerResponseHeader::read_from(&fields), Ok(full));
    }
}
