//! Captured frames from tests/fixtures, decoded, for the unit tests of headers and bodies.

use super::{decode_first_frame, RemotingCommand, DEFAULT_MAX_FRAME_LENGTH};

macro_rules! fixture_bytes {
    ($($name:literal),* $(,)?) => {
        /// The raw bytes of fixture `name` (a path under tests/fixtures).
        pub(crate) fn fixture_bytes(name: &str) -> &'static [u8] {
            match name {
                $($name => include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/", $name)),)*
                other => panic!("no fixture {other}"),
            }
        }
    };
}

fixture_bytes!(
    "cpp-2.0/001-req-code10-json.bin",
    "cpp-2.0/003-req-code34-json.bin",
    "cpp-2.0/007-req-code11-json.bin",
    "java-4.9.8/001-req-code103-json.bin",
    "java-4.9.8/007-req-code105-json.bin",
    "java-4.9.8/008-resp-code0-json.bin",
    "java-4.9.8/010-req-code310-json.bin",
    "java-4.9.8/022-resp-code0-json.bin",
    "java-4.9.8/076-oneway-code40-json.bin",
    "java-4.9.8/083-resp-code0-json.bin",
    "java-4.9.8/090-resp-code0-json.bin",
    "java-4.9.8/096-resp-code0-binary.bin",
    "java-4.9.8/099-req-code34-json.bin",
    "java-4.9.8/111-req-code310-binary.bin",
    "java-4.9.8/115-resp-code0-binary.bin",
    "java-5.3.3/017-req-code401-json.bin",
    "java-5.3.3/062-req-code400-json.bin",
    "java-5.3.3/063-resp-code0-json.bin",
    "java-5.3.3/070-req-code400-json.bin",
    "java-5.3.3/071-resp-code0-json.bin",
    "java-5.3.3/075-req-code200050-json.bin",
    "java-5.3.3/076-resp-code0-json.bin",
    "java-5.3.3/078-req-code200051-json.bin",
    "java-5.3.3/079-req-code200053-json.bin",
    "java-5.3.3/088-resp-code0-json.bin",
    "java-5.3.3/098-resp-code0-json.bin",
    "java-5.3.3/100-req-code200051-json.bin",
);

/// Fixture `name` decoded as one whole frame.
pub(crate) fn fixture(name: &str) -> RemotingCommand {
    let bytes = fixture_bytes(name);
    let (cmd, used) = decode_first_frame(bytes, DEFAULT_MAX_FRAME_LENGTH)
        .unwrap()
        .unwrap();
    assert_eq!(used, bytes.len(), "{name} is one whole frame");
    cmd
}
