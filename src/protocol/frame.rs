//! Frame layout: `i32 total | i32 mark | header | body`, all big-endian; the encoder and the
//! sans-I/O [`FrameDecoder`] that every connection's reader thread drives.
//!
//! `total` counts everything after itself; `mark` is `serialize_type << 24 | header_len`.

use byteorder::{BigEndian, ByteOrder};

use super::command::{RemotingCommand, SerializeType};
use super::command_body::Body;
use super::error::{DecodeError, EncodeError};
use super::{binary_header, json_header};
use crate::common::trace::{trace_event, Step};

/// Java's default `com.rocketmq.remoting.frameMaxLength`: 16 MiB, length prefix included.
pub const DEFAULT_MAX_FRAME_LENGTH: usize = 16 * 1024 * 1024;

/// Most ext fields a header may carry unless configured otherwise. The largest headers Java,
/// C++ and Go clients send (SEND_MESSAGE_V2 or PULL_MESSAGE with ACL and 5.x RPC fields)
/// carry under 30; a limit far above that still stops a frame with a million of them early.
pub const DEFAULT_MAX_EXT_FIELDS: usize = 1024;

/// Size of the length prefix that starts every frame.
pub const FRAME_LENGTH_FIELD_SIZE: usize = 4;

const MARK_SIZE: usize = 4;
const MAX_HEADER_LEN: usize = 0x00FF_FFFF;

/// A decoder reserves at most this much ahead of the bytes that actually arrived, so a peer
/// that announces 16 MiB and sends nothing costs nothing.
const EAGER_RESERVE: usize = 256 * 1024;

/// A header buffer larger than this is released after its frame instead of kept.
const KEEP_HEADER_CAPACITY: usize = 1024 * 1024;

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

/// Reads the mark field of a frame whose length prefix said `frame_len`: the header type and
/// the header length, checked to be non-zero and to fit in the frame.
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

/// Decodes a header of the given type; `body` becomes the command's body. At most
/// [`DEFAULT_MAX_EXT_FIELDS`] ext fields are accepted.
pub fn decode_header(
    serialize_type: SerializeType,
    header: &[u8],
    body: Body,
) -> Result<RemotingCommand, DecodeError> {
    decode_header_limited(serialize_type, header, body, DEFAULT_MAX_EXT_FIELDS)
}

fn decode_header_limited(
    serialize_type: SerializeType,
    header: &[u8],
    body: Body,
    max_ext_fields: usize,
) -> Result<RemotingCommand, DecodeError> {
    match serialize_type {
        SerializeType::Json => json_header::decode(header, body, max_ext_fields),
        SerializeType::RocketMq => binary_header::decode(header, body, max_ext_fields),
    }
}

/// Decodes the bytes that follow a length prefix (mark, header, body) into a command.
pub fn decode_frame(frame: &[u8]) -> Result<RemotingCommand, DecodeError> {
    if frame.len() < MARK_SIZE {
        return Err(DecodeError::InvalidFrameLength(frame.len() as i64));
    }
    let mut mark = [0u8; MARK_SIZE];
    mark.copy_from_slice(&frame[..MARK_SIZE]);
    let (serialize_type, header_len) = parse_mark(mark, frame.len())?;
    let header_end = MARK_SIZE + header_len;
    decode_header(
        serialize_type,
        &frame[MARK_SIZE..header_end],
        Body::from(&frame[header_end..]),
    )
}

/// Decodes the frame at the start of `buf`: `Ok(None)` when `buf` holds less than a whole
/// frame, else the command and how many bytes it used. For tests and tools holding whole
/// buffers; a connection feeds a [`FrameDecoder`] as bytes arrive.
pub fn decode_first_frame(
    buf: &[u8],
    max_frame: usize,
) -> Result<Option<(RemotingCommand, usize)>, DecodeError> {
    let mut decoder = FrameDecoder::new(max_frame);
    let (used, command) = decoder.feed(buf)?;
    Ok(command.map(|command| (command, used)))
}

impl RemotingCommand {
    /// Encodes the whole frame, length prefix included.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let mut frame = self.encode_without_body()?;
        frame.extend_from_slice(&self.body);
        Ok(frame)
    }

    /// Encodes length prefix, mark and header, leaving the body to be written after it.
    ///
    /// The transport writes the body from the command itself, so large bodies are not copied.
    pub fn encode_without_body(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(&[0u8; FRAME_LENGTH_FIELD_SIZE + MARK_SIZE]);
        match self.serialize_type {
            SerializeType::Json => json_header::encode(self, &mut out),
            SerializeType::RocketMq => binary_header::encode(self, &mut out)?,
        }
        let header_len = out.len() - FRAME_LENGTH_FIELD_SIZE - MARK_SIZE;
        if header_len > MAX_HEADER_LEN {
            return Err(EncodeError::HeaderTooLarge(header_len));
        }
        let total = MARK_SIZE + header_len + self.body.len();
        let total_i32 = i32::try_from(total).map_err(|_| EncodeError::FrameTooLarge {
            length: total + FRAME_LENGTH_FIELD_SIZE,
            max: i32::MAX as usize,
        })?;
        BigEndian::write_i32(&mut out[0..4], total_i32);
        let mark = ((self.serialize_type.code() as u32) << 24) | header_len as u32;
        BigEndian::write_u32(&mut out[4..8], mark);
        trace_event!(
            "protocol",
            if self.is_response() { Step::EncodeResponse } else { Step::EncodeRequest },
            Some(self.opaque),
            Some(code_and_name(self));
            "encoded {}: {} header {header_len} bytes, body {} bytes, frame {} bytes",
            describe(self),
            self.serialize_type.name(),
            self.body.len(),
            total + FRAME_LENGTH_FIELD_SIZE
        );
        Ok(out)
    }
}

/// Where a [`FrameDecoder`] is within the current frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Reading the 4-byte length prefix.
    Length,
    /// Reading the 4-byte mark.
    Mark,
    /// Reading `header_len` header bytes.
    Header,
    /// Reading `body_len` body bytes.
    Body,
}

/// A sans-I/O, incremental frame decoder: bytes go in as they arrive, in pieces of any size,
/// and whole commands come out. No sockets: the connection's reader thread feeds it from the
/// socket, the fuzzer from random splits of random bytes.
///
/// Nothing is allocated ahead of the bytes that arrived by more than 256 KiB, every length is
/// checked against `max_frame` before anything is reserved, and a header with more than
/// [`FrameDecoder::with_max_ext_fields`] ext fields is refused. After an error the decoder
/// keeps returning it: the stream is out of sync and its connection must close.
#[derive(Debug)]
pub struct FrameDecoder {
    max_frame: usize,
    max_ext_fields: usize,
    frames_decoded: u64,
    stage: Stage,
    fixed: [u8; 4],
    fixed_filled: usize,
    frame_len: usize,
    serialize_type: SerializeType,
    header_len: usize,
    body_len: usize,
    header: Vec<u8>,
    body: Vec<u8>,
    failed: Option<DecodeError>,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        FrameDecoder::new(DEFAULT_MAX_FRAME_LENGTH)
    }
}

impl FrameDecoder {
    /// A decoder that rejects frames longer than `max_frame` bytes (length prefix included).
    pub fn new(max_frame: usize) -> Self {
        FrameDecoder {
            max_frame,
            max_ext_fields: DEFAULT_MAX_EXT_FIELDS,
            frames_decoded: 0,
            stage: Stage::Length,
            fixed: [0; 4],
            fixed_filled: 0,
            frame_len: 0,
            serialize_type: SerializeType::Json,
            header_len: 0,
            body_len: 0,
            header: Vec::new(),
            body: Vec::new(),
            failed: None,
        }
    }

    /// Refuses headers with more than `max` ext fields ([`DEFAULT_MAX_EXT_FIELDS`] unless set).
    pub fn with_max_ext_fields(mut self, max: usize) -> Self {
        self.max_ext_fields = max;
        self
    }

    /// The length (after the prefix) the frame in progress announced, once its length prefix
    /// is read; a transport charges its memory budget with it before reading the rest.
    pub fn announced_length(&self) -> Option<usize> {
        match self.stage {
            Stage::Length => None,
            _ => Some(self.frame_len),
        }
    }

    /// How many frames have been completed (decoded or failed), so a caller can tell the
    /// frame in progress from the one before.
    pub fn frames_decoded(&self) -> u64 {
        self.frames_decoded
    }

    /// True between a frame's first byte and its last: a clean end of stream is one that
    /// comes while this is false.
    pub fn in_frame(&self) -> bool {
        self.stage != Stage::Length || self.fixed_filled > 0
    }

    /// Takes bytes of `input` that belong to the frame in progress (never more), and returns
    /// how many it took and, when they completed the frame, its command. Call again with the
    /// rest of `input`; an empty `input` completes a frame whose body was filled through
    /// [`FrameDecoder::body_buffer`].
    pub fn feed(&mut self, input: &[u8]) -> Result<(usize, Option<RemotingCommand>), DecodeError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        match self.feed_inner(input) {
            Ok(done) => Ok(done),
            Err(e) => {
                self.failed = Some(e.clone());
                Err(e)
            }
        }
    }

    fn feed_inner(
        &mut self,
        input: &[u8],
    ) -> Result<(usize, Option<RemotingCommand>), DecodeError> {
        let mut used = 0;
        loop {
            let rest = &input[used..];
            match self.stage {
                Stage::Length | Stage::Mark => {
                    let n = rest.len().min(4 - self.fixed_filled);
                    self.fixed[self.fixed_filled..self.fixed_filled + n]
                        .copy_from_slice(&rest[..n]);
                    self.fixed_filled += n;
                    used += n;
                    if self.fixed_filled < 4 {
                        return Ok((used, None));
                    }
                    self.fixed_filled = 0;
                    if self.stage == Stage::Length {
                        self.frame_len = frame_length(self.fixed, self.max_frame)?;
                        self.stage = Stage::Mark;
                    } else {
                        let (serialize_type, header_len) = parse_mark(self.fixed, self.frame_len)?;
                        self.serialize_type = serialize_type;
                        self.header_len = header_len;
                        self.body_len = self.frame_len - MARK_SIZE - header_len;
                        self.header.clear();
                        self.stage = Stage::Header;
                    }
                }
                Stage::Header => {
                    let n = rest.len().min(self.header_len - self.header.len());
                    append_bounded(&mut self.header, &rest[..n], self.header_len);
                    used += n;
                    if self.header.len() < self.header_len {
                        return Ok((used, None));
                    }
                    self.body = Vec::new();
                    self.stage = Stage::Body;
                }
                Stage::Body => {
                    let n = rest
                        .len()
                        .min(self.body_len.saturating_sub(self.body.len()));
                    append_bounded(&mut self.body, &rest[..n], self.body_len);
                    used += n;
                    if self.body.len() > self.body_len {
                        return Err(DecodeError::InvalidFrameLength(self.body.len() as i64));
                    }
                    if self.body.len() < self.body_len {
                        return Ok((used, None));
                    }
                    return Ok((used, Some(self.finish_frame()?)));
                }
            }
        }
    }

    /// For a transport that reads large bodies straight into place (one copy, no staging
    /// buffer): the body buffer of the frame in progress and how many bytes it still needs,
    /// or None outside a body. Append at most that many, then call `feed(&[])`.
    pub fn body_buffer(&mut self) -> Option<(&mut Vec<u8>, usize)> {
        if self.stage != Stage::Body || self.failed.is_some() {
            return None;
        }
        let wanted = self.body_len.saturating_sub(self.body.len());
        if self.body.capacity() == self.body.len() {
            self.body.reserve_exact(wanted.min(EAGER_RESERVE));
        }
        Some((&mut self.body, wanted))
    }

    fn finish_frame(&mut self) -> Result<RemotingCommand, DecodeError> {
        self.stage = Stage::Length;
        self.frames_decoded += 1;
        let body = Body::from(std::mem::take(&mut self.body));
        let command =
            decode_header_limited(self.serialize_type, &self.header, body, self.max_ext_fields);
        if let Ok(command) = &command {
            trace_event!(
                "protocol",
                if command.is_response() { Step::DecodeResponse } else { Step::DecodeRequest },
                Some(command.opaque),
                Some(code_and_name(command));
                "decoded {}: {} header {} bytes, body {} bytes, frame {} bytes",
                describe(command),
                self.serialize_type.name(),
                self.header_len,
                self.body_len,
                self.frame_len + FRAME_LENGTH_FIELD_SIZE
            );
        }
        if self.header.capacity() > KEEP_HEADER_CAPACITY {
            self.header = Vec::new(); // one huge header must not pin its buffer
        }
        command
    }
}

/// A command's code with its Java name (`?` for a code we do not know).
fn code_and_name(command: &RemotingCommand) -> (i32, &'static str) {
    let name = if command.is_response() {
        super::codes::response_code::name(command.code)
    } else {
        super::codes::request_code::name(command.code)
    };
    (command.code, name.unwrap_or("?"))
}

/// A command as a trace line names it: kind, code with its Java name, opaque.
fn describe(command: &RemotingCommand) -> String {
    let kind = if command.is_response() {
        "response"
    } else {
        "request"
    };
    let (code, name) = code_and_name(command);
    format!("{kind} {name} ({code}) opaque {}", command.opaque)
}

/// Appends `bytes` to `buf`, which will hold `total` bytes once complete: capacity grows with
/// what arrived (doubling, at most [`EAGER_RESERVE`] ahead) and never past `total`.
fn append_bounded(buf: &mut Vec<u8>, bytes: &[u8], total: usize) {
    let needed = buf.len() + bytes.len();
    if needed > buf.capacity() {
        let target = needed
            .max(buf.len().saturating_mul(2))
            .max(needed.min(EAGER_RESERVE))
            .min(total.max(needed));
        buf.reserve_exact(target - buf.len());
    }
    buf.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(total: i32, rest: &[u8]) -> Vec<u8> {
        let mut v = total.to_be_bytes().to_vec();
        v.extend_from_slice(rest);
        v
    }

    fn decode(max: usize, buf: &[u8]) -> Result<Option<(RemotingCommand, usize)>, DecodeError> {
        decode_first_frame(buf, max)
    }

    #[test]
    fn round_trip_both_header_types_in_pieces_of_every_size() {
        for st in [SerializeType::Json, SerializeType::RocketMq] {
            let cmd = RemotingCommand::new_request(1)
                .with_ext("k", "v")
                .with_body(b"payload".to_vec())
                .with_serialize_type(st);
            let bytes = cmd.encode().unwrap();
            let (back, used) = decode(1024, &bytes).unwrap().unwrap();
            assert_eq!(used, bytes.len());
            assert_eq!(back, cmd);
            assert_eq!(decode(1024, &bytes[..bytes.len() - 1]), Ok(None));
            for piece in 1..=bytes.len() {
                let mut decoder = FrameDecoder::new(1024);
                let mut out = Vec::new();
                for chunk in bytes.chunks(piece) {
                    let mut at = 0;
                    while at < chunk.len() {
                        let (used, command) = decoder.feed(&chunk[at..]).unwrap();
                        at += used;
                        out.extend(command);
                    }
                }
                assert_eq!(out, std::slice::from_ref(&cmd), "pieces of {piece}");
                assert!(!decoder.in_frame());
            }
        }
    }

    #[test]
    fn bad_lengths_are_typed_errors_and_stick() {
        assert_eq!(
            decode(1024, &frame(-1, &[])),
            Err(DecodeError::InvalidFrameLength(-1))
        );
        assert_eq!(
            decode(1024, &frame(0, &[])),
            Err(DecodeError::InvalidFrameLength(0))
        );
        assert!(matches!(
            decode(1024, &frame(i32::MAX, &[])),
            Err(DecodeError::FrameTooLarge { .. })
        ));
        assert_eq!(decode(1024, &frame(1020, &[])), Ok(None));
        assert!(matches!(
            decode(1024, &frame(1021, &[])),
            Err(DecodeError::FrameTooLarge { .. })
        ));
        // zero-length header
        assert!(matches!(
            decode(1024, &frame(4, &[0, 0, 0, 0])),
            Err(DecodeError::InvalidHeaderLength { header_len: 0, .. })
        ));
        // header longer than the frame
        assert!(matches!(
            decode(1024, &frame(6, &[0, 0, 0, 9, b'{', b'}'])),
            Err(DecodeError::InvalidHeaderLength {
                header_len: 9,
                available: 2
            })
        ));
        // unknown serialize type
        assert_eq!(
            decode(1024, &frame(6, &[7, 0, 0, 2, b'{', b'}'])),
            Err(DecodeError::UnknownSerializeType(7))
        );
        // garbage JSON
        let mut decoder = FrameDecoder::new(1024);
        let bad = frame(6, &[0, 0, 0, 2, b'{', b'x']);
        assert!(matches!(
            decoder.feed(&bad),
            Err(DecodeError::InvalidJson(_))
        ));
        let good = RemotingCommand::new_request(1).encode().unwrap();
        assert!(
            decoder.feed(&good).is_err(),
            "a failed decoder stays failed"
        );
    }

    #[test]
    fn a_large_announcement_reserves_only_what_arrives() {
        let mut decoder = FrameDecoder::new(DEFAULT_MAX_FRAME_LENGTH);
        let header = b"{}";
        let mut bytes = frame(4 + 2 + 10_000_000, &[0, 0, 0, 2]);
        bytes.extend_from_slice(header);
        bytes.extend_from_slice(&[7u8; 1000]);
        assert_eq!(decoder.feed(&bytes).unwrap(), (bytes.len(), None));
        let (body, wanted) = decoder.body_buffer().unwrap();
        assert_eq!(wanted, 10_000_000 - 1000);
        assert!(
            body.capacity() <= 1000 + EAGER_RESERVE,
            "{}",
            body.capacity()
        );
        assert!(decoder.in_frame());
    }

    #[test]
    fn a_body_filled_directly_completes_on_an_empty_feed() {
        let cmd = RemotingCommand::new_request(9).with_body(vec![5u8; 40_000]);
        let bytes = cmd.encode().unwrap();
        let head_len = bytes.len() - 40_000;
        let mut decoder = FrameDecoder::default();
        assert_eq!(decoder.feed(&bytes[..head_len]).unwrap(), (head_len, None));
        let (body, wanted) = decoder.body_buffer().unwrap();
        assert_eq!(wanted, 40_000);
        body.extend_from_slice(&bytes[head_len..]);
        let (used, back) = decoder.feed(&[]).unwrap();
        assert_eq!((used, back), (0, Some(cmd)));
    }

    #[test]
    fn body_keeps_its_bytes() {
        let cmd = RemotingCommand::new_request(1).with_body(vec![0u8, 1, 2, 255]);
        let bytes = cmd.encode().unwrap();
        let back = decode_frame(&bytes[4..]).unwrap();
        assert_eq!(back.body, vec![0u8, 1, 2, 255]);
    }
}
