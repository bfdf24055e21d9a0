//! Frame layout: `i32 total | i32 mark | header | body`, all big-endian.
//!
//! `total` counts everything after itself; `mark` is `serialize_type << 24 | header_len`.

use byteorder::{BigEndian, ByteOrder};

use super::command::{RemotingCommand, SerializeType};
use super::error::{DecodeError, EncodeError};
use super::{binary_header, json_header};

/// Java's default `com.rocketmq.remoting.frameMaxLength`: 16 MiB, length prefix included.
pub const DEFAULT_MAX_FRAME_LENGTH: usize = 16 * 1024 * 1024;

/// Size of the length prefix that starts every frame.
pub const FRAME_LENGTH_FIELD_SIZE: usize = 4;

const MARK_SIZE: usize = 4;
const MAX_HEADER_LEN: usize = 0x00FF_FFFF;

/// Checks a length prefix and returns how many bytes follow it.
///
/// The caller may allocate that many bytes only because this check bounds them by `max_frame`.
pub fn frame_length(prefix: [u8; 4], max_frame: usize) -> Result<usize, DecodeError> {
    let total = BigEndian::read_i32(&prefix);
    if total < MARK_SIZE as i32 {
        return Err(DecodeError::InvalidFrameLength(total as i64));
    }
    let total = total as usize;
    if total + FRAME_LENGTH_FIELD_SIZE > max_frame {
        return Err(DecodeError::FrameTooLarge {
            length: total + FRAME_LENGTH_FIELD_SIZE,
            max: max_frame,
        });
    }
    Ok(total)
}

/// Decodes the bytes that follow a length prefix (mark, header, body) into a command.
///
/// Takes the buffer by value so the body can reuse its allocation.
pub fn decode_frame(frame: Vec<u8>) -> Result<RemotingCommand, DecodeError> {
    if frame.len() < MARK_SIZE {
        return Err(DecodeError::InvalidFrameLength(frame.len() as i64));
    }
    let mut mark = [0u8; MARK_SIZE];
    mark.copy_from_slice(&frame[..MARK_SIZE]);
    let (serialize_type, header_len) = parse_mark(mark, frame.len())?;
    let header_end = MARK_SIZE + header_len;
    let body = frame[header_end..].to_vec();
    decode_header(serialize_type, &frame[MARK_SIZE..header_end], body)
}

/// Reads the mark field of a frame whose length prefix said `frame_len`: the header type and
/// the header length, checked to be non-zero and to fit in the frame.
///
/// With [`decode_header`] this lets a transport read header and body into separate buffers,
/// so a large body is never copied.
pub fn parse_mark(mark: [u8; 4], frame_len: usize) -> Result<(SerializeType, usize), DecodeError> {
    let mark = BigEndian::read_u32(&mark);
    let serialize_type = SerializeType::from_code((mark >> 24) as u8)?;
    let header_len = (mark & 0x00FF_FFFF) as usize;
    let available = frame_len.saturating_sub(MARK_SIZE);
    if header_len == 0 || header_len > available {
        return Err(DecodeError::InvalidHeaderLength {
            header_len,
            available,
        });
    }
    Ok((serialize_type, header_len))
}

/// Decodes a header of the given type; `body` becomes the command's body.
pub fn decode_header(
    serialize_type: SerializeType,
    header: &[u8],
    body: Vec<u8>,
) -> Result<RemotingCommand, DecodeError> {
    match serialize_type {
        SerializeType::Json => json_header::decode(header, body),
        SerializeType::RocketMq => binary_header::decode(header, body),
    }
}

/// Encodes length prefix, mark and header of `cmd`; the body is left for the caller to append.
pub(crate) fn encode_prefix_and_header(cmd: &RemotingCommand) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(&[0u8; FRAME_LENGTH_FIELD_SIZE + MARK_SIZE]);
    match cmd.serialize_type {
        SerializeType::Json => json_header::encode(cmd, &mut out),
        SerializeType::RocketMq => binary_header::encode(cmd, &mut out)?,
    }
    let header_len = out.len() - FRAME_LENGTH_FIELD_SIZE - MARK_SIZE;
    if header_len > MAX_HEADER_LEN {
        return Err(EncodeError::HeaderTooLarge(header_len));
    }
    let total = MARK_SIZE + header_len + cmd.body.len();
    let total_i32 = i32::try_from(total).map_err(|_| EncodeError::FrameTooLarge {
        length: total + FRAME_LENGTH_FIELD_SIZE,
        max: i32::MAX as usize,
    })?;
    BigEndian::write_i32(&mut out[0..4], total_i32);
    let mark = ((cmd.serialize_type.code() as u32) << 24) | header_len as u32;
    BigEndian::write_u32(&mut out[4..8], mark);
    Ok(out)
}

/// A sans-I/O frame decoder over a byte buffer, for tests, fuzzing and non-socket transports.
#[derive(Debug, Clone, Copy)]
pub struct FrameDecoder {
    max_frame: usize,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        FrameDecoder {
            max_frame: DEFAULT_MAX_FRAME_LENGTH,
        }
    }
}

impl FrameDecoder {
    /// A decoder that rejects frames longer than `max_frame` bytes (length prefix included).
    pub fn new(max_frame: usize) -> Self {
        FrameDecoder { max_frame }
    }

    /// Decodes the first frame in `buf`: `Ok(None)` when more bytes are needed, else the
    /// command and how many bytes it used.
    pub fn decode(&self, buf: &[u8]) -> Result<Option<(RemotingCommand, usize)>, DecodeError> {
        if buf.len() < FRAME_LENGTH_FIELD_SIZE {
            return Ok(None);
        }
        let mut prefix = [0u8; 4];
        prefix.copy_from_slice(&buf[..FRAME_LENGTH_FIELD_SIZE]);
        let total = frame_length(prefix, self.max_frame)?;
        let end = FRAME_LENGTH_FIELD_SIZE + total;
        if buf.len() < end {
            return Ok(None);
        }
        let cmd = decode_frame(buf[FRAME_LENGTH_FIELD_SIZE..end].to_vec())?;
        Ok(Some((cmd, end)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(total: i32, rest: &[u8]) -> Vec<u8> {
        let mut v = total.to_be_bytes().to_vec();
        v.extend_from_slice(rest);
        v
    }

    #[test]
    fn round_trip_both_header_types() {
        for st in [SerializeType::Json, SerializeType::RocketMq] {
            let cmd = RemotingCommand::new_request(1)
                .with_ext("k", "v")
                .with_body(b"payload".to_vec())
                .with_serialize_type(st);
            let bytes = cmd.encode().unwrap();
            let (back, used) = FrameDecoder::default().decode(&bytes).unwrap().unwrap();
            assert_eq!(used, bytes.len());
            assert_eq!(back, cmd);
            assert_eq!(
                FrameDecoder::default().decode(&bytes[..bytes.len() - 1]),
                Ok(None)
            );
        }
    }

    #[test]
    fn bad_lengths_are_typed_errors() {
        let d = FrameDecoder::new(1024);
        assert_eq!(
            d.decode(&frame(-1, &[])),
            Err(DecodeError::InvalidFrameLength(-1))
        );
        assert_eq!(
            d.decode(&frame(0, &[])),
            Err(DecodeError::InvalidFrameLength(0))
        );
        assert!(matches!(
            d.decode(&frame(i32::MAX, &[])),
            Err(DecodeError::FrameTooLarge { .. })
        ));
        assert_eq!(d.decode(&frame(1020, &[])), Ok(None));
        assert!(matches!(
            d.decode(&frame(1021, &[])),
            Err(DecodeError::FrameTooLarge { .. })
        ));
        // zero-length header
        assert!(matches!(
            d.decode(&frame(4, &[0, 0, 0, 0])),
            Err(DecodeError::InvalidHeaderLength { header_len: 0, .. })
        ));
        // header longer than the frame
        assert!(matches!(
            d.decode(&frame(6, &[0, 0, 0, 9, b'{', b'}'])),
            Err(DecodeError::InvalidHeaderLength {
                header_len: 9,
                available: 2
            })
        ));
        // unknown serialize type
        assert_eq!(
            d.decode(&frame(6, &[7, 0, 0, 2, b'{', b'}'])),
            Err(DecodeError::UnknownSerializeType(7))
        );
        // garbage JSON
        assert!(matches!(
            d.decode(&frame(6, &[0, 0, 0, 2, b'{', b'x'])),
            Err(DecodeError::InvalidJson(_))
        ));
    }

    #[test]
    fn body_keeps_its_bytes() {
        let cmd = RemotingCommand::new_request(1).with_body(vec![0u8, 1, 2, 255]);
        let bytes = cmd.encode().unwrap();
        let back = decode_frame(bytes[4..].to_vec()).unwrap();
        assert_eq!(back.body, vec![0u8, 1, 2, 255]);
    }
}
