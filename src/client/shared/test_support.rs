//! Captured Java frames for the client's unit tests.

use crate::protocol::{decode_first_frame, RemotingCommand, DEFAULT_MAX_FRAME_LENGTH};

/// The raw bytes of fixture `name` (a path under tests/fixtures).
fn fixture_bytes(name: &str) -> &'static [u8] {
    macro_rules! fixtures {
        ($($file:literal),* $(,)?) => {
            match name {
                $($file => include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/", $file)).as_slice(),)*
                other => panic!("no fixture {other}"),
            }
        };
    }
    fixtures!(
        "java-4.9.8/008-resp-code0-json.bin",
        "java-4.9.8/010-req-code310-json.bin",
        "java-4.9.8/022-resp-code0-json.bin",
        "java-4.9.8/083-resp-code0-json.bin",
        "java-4.9.8/090-resp-code0-json.bin",
        "java-4.9.8/099-req-code34-json.bin",
        "java-4.9.8/115-resp-code0-binary.bin",
        "java-5.3.3/003-req-code310-json.bin",
        "java-5.3.3/004-resp-code0-json.bin",
        "java-5.3.3/070-req-code400-json.bin",
        "java-5.3.3/075-req-code200050-json.bin",
        "java-5.3.3/076-resp-code0-json.bin",
        "java-5.3.3/078-req-code200051-json.bin",
        "java-5.3.3/079-req-code200053-json.bin",
        "java-5.3.3/088-resp-code0-json.bin",
        "java-5.3.3/098-resp-code0-json.bin",
        "java-5.3.3/100-req-code200051-json.bin",
        "java-5.3.3/148-req-code46-json.bin",
        "java-5.3.3/177-req-code11-json.bin",
        "java-5.3.3-trace/255-req-code310-json.bin",
    )
}

/// Fixture `name` decoded as one whole frame.
pub(crate) fn fixture(name: &str) -> RemotingCommand {
    let bytes = fixture_bytes(name);
    let (command, used) = decode_first_frame(bytes, DEFAULT_MAX_FRAME_LENGTH)
        .expect("fixture decodes")
        .expect("fixture is a whole frame");
    assert_eq!(used, bytes.len(), "{name} is one frame");
    command
}

/// The body of fixture `name`.
pub(crate) fn fixture_body(name: &str) -> Vec<u8> {
    fixture(name).body.into_vec()
}
