//! With no name server given, a producer reads `NAMESRV_ADDR` as Java clients do; with
//! neither, it asks the address service, and says which settings are missing when that
//! fails. Alone in its binary: it sets the environment.

#![cfg(feature = "servers")]

mod producer_common;

use producer_common::name_server;
use rocketmq_blocking::client::{ClientError, Message, Producer, NAMESRV_ADDR_ENV};

#[test]
fn the_environment_gives_the_name_servers_when_the_builder_does_not() {
    std::env::remove_var(NAMESRV_ADDR_ENV);
    // Nothing given: the address service is asked, here one that refuses connections.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/rocketmq/nsaddr");
    let error = Producer::builder("PG_ENV")
        .name_server_address_service(&url)
        .start()
        .unwrap_err();
    assert!(
        matches!(&error, ClientError::NameServerLookup { url: u, .. } if *u == url),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(
        text.contains("name_server") && text.contains("NAMESRV_ADDR") && text.contains(&url),
        "{text}"
    );

    std::env::set_var(NAMESRV_ADDR_ENV, "not-an-address");
    let error = Producer::builder("PG_ENV").start().unwrap_err();
    assert!(
        matches!(error, ClientError::InvalidAddress { .. }),
        "{error:?}"
    );

    let namesrv = name_server();
    std::env::set_var(NAMESRV_ADDR_ENV, namesrv.local_addr().to_string());
    let producer = Producer::builder("PG_ENV").start().unwrap();
    assert_eq!(
        producer.config().client.name_server_addrs,
        [namesrv.local_addr().to_string()]
    );
    // The name server is reached (it knows no route for the topic, nor TBW102).
    let error = producer.send(&Message::new("EnvTopic", "x")).unwrap_err();
    assert!(matches!(error, ClientError::NoRoute { .. }), "{error:?}");
    std::env::remove_var(NAMESRV_ADDR_ENV);
}
