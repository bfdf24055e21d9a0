//! Message bodies a Java 4.9.8 producer compressed with LZ4, ZSTD and ZLIB, in PULL_MESSAGE
//! responses from a Java 4.9.8 broker (`tests/fixtures/java-4.9.8-compressed/`): each decodes
//! to the original 6,000-byte bodies with their keys, tags and properties.

use std::path::PathBuf;

use rocketmq_blocking::protocol::message::decode_messages;
use rocketmq_blocking::protocol::{decode_first_frame, DEFAULT_MAX_FRAME_LENGTH};

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/java-4.9.8-compressed")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `msg-<i>-` padded with `x` to 6,000 bytes, as the Java producer sent it.
fn original_body(i: usize) -> Vec<u8> {
    let mut body = format!("msg-{i}-").into_bytes();
    body.resize(6000, b'x');
    body
}

#[cfg(feature = "lz4-zstd")]
#[test]
fn lz4_zstd_and_zlib_bodies_decode_to_the_original_bytes() {
    use rocketmq_blocking::protocol::message::sys_flag::COMPRESSED_FLAG;
    for (file, kind) in [
        ("pull-resp-lz4.bin", 0x100),
        ("pull-resp-zstd.bin", 0x200),
        ("pull-resp-zlib.bin", 0x300),
    ] {
        let bytes = fixture(file);
        let (response, used) = decode_first_frame(&bytes, DEFAULT_MAX_FRAME_LENGTH)
            .unwrap()
            .unwrap();
        assert_eq!(used, bytes.len(), "{file}");
        assert_eq!(response.code, 0, "{file}");
        assert_eq!(response.remark.as_deref(), Some("FOUND"), "{file}");
        // As stored: compressed, with the type in bits 8-10.
        let raw = decode_messages(&response.body, false).unwrap();
        assert_eq!(raw.len(), 2, "{file}");
        assert_eq!(raw[0].sys_flag & 0x701, kind | COMPRESSED_FLAG, "{file}");
        assert!(raw[0].body.len() < 6000, "{file}: stored compressed");
        // As a consumer reads them.
        let messages =
            decode_messages(&response.body, true).unwrap_or_else(|e| panic!("{file}: {e}"));
        for (i, m) in messages.iter().enumerate() {
            assert_eq!(m.body, original_body(i), "{file}: body of message {i}");
            assert_eq!(m.sys_flag & COMPRESSED_FLAG, 0, "{file}");
            assert_eq!(m.keys(), Some(format!("k{i}").as_str()), "{file}");
            assert_eq!(m.tags(), Some(format!("T{i}").as_str()), "{file}");
            assert_eq!(m.property("seq"), Some(i.to_string().as_str()), "{file}");
        }
    }
}

#[cfg(not(feature = "lz4-zstd"))]
#[test]
fn without_the_feature_lz4_and_zstd_are_errors_naming_it() {
    for file in ["pull-resp-lz4.bin", "pull-resp-zstd.bin"] {
        let bytes = fixture(file);
        let (response, _) = decode_first_frame(&bytes, DEFAULT_MAX_FRAME_LENGTH)
            .unwrap()
            .unwrap();
        let error = decode_messages(&response.body, true).unwrap_err();
        assert!(error.to_string().contains("lz4-zstd"), "{file}: {error}");
    }
    let bytes = fixture("pull-resp-zlib.bin");
    let (response, _) = decode_first_frame(&bytes, DEFAULT_MAX_FRAME_LENGTH)
        .unwrap()
        .unwrap();
    assert_eq!(
        decode_messages(&response.body, true).unwrap()[1].body,
        original_body(1)
    );
}
