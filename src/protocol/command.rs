//! `RemotingCommand`: the one message type every RocketMQ peer exchanges.

use std::sync::atomic::{AtomicI32, Ordering};

use super::codes::response_code;
use super::command_body::Body;
use super::error::{DecodeError, HeaderError};
use super::ext_fields::ExtFields;
use super::header::CommandCustomHeader;
use super::language::LanguageCode;

/// Flag bit 0: the command is a response.
pub const RPC_RESPONSE: i32 = 1;
/// Flag bit 1: the request is oneway and gets no response.
pub const RPC_ONEWAY: i32 = 2;

/// The version stamped on commands by default: `MQVersion.V4_9_8` (409).
///
/// Name servers answer requests with a version below 401 with non-standard route JSON, so we
/// always send at least 401.
pub const DEFAULT_VERSION: i32 = 409;

static NEXT_OPAQUE: AtomicI32 = AtomicI32::new(0);

/// The next request id from the process-wide counter (Java's `RemotingCommand.requestId`).
pub fn next_opaque() -> i32 {
    NEXT_OPAQUE.fetch_add(1, Ordering::Relaxed)
}

/// The header encoding of a command: JSON (type 0) or ROCKETMQ binary (type 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SerializeType {
    /// JSON header (`RemotingSerializable`); Java's default.
    #[default]
    Json,
    /// Compact binary header (`RocketMQSerializable`).
    RocketMq,
}

impl SerializeType {
    /// The type byte stored in the top 8 bits of the mark field.
    pub fn code(self) -> u8 {
        match self {
            SerializeType::Json => 0,
            SerializeType::RocketMq => 1,
        }
    }

    /// The type for a mark-field byte.
    pub fn from_code(code: u8) -> Result<SerializeType, DecodeError> {
        match code {
            0 => Ok(SerializeType::Json),
            1 => Ok(SerializeType::RocketMq),
            other => Err(DecodeError::UnknownSerializeType(other)),
        }
    }

    /// The name written in the JSON header's `serializeTypeCurrentRPC`.
    pub fn name(self) -> &'static str {
        match self {
            SerializeType::Json => "JSON",
            SerializeType::RocketMq => "ROCKETMQ",
        }
    }
}

/// A request or response of the remoting protocol; mirrors Java's `RemotingCommand`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemotingCommand {
    /// Request code for requests, response code for responses.
    pub code: i32,
    /// The language of the writer.
    pub language: LanguageCode,
    /// The writer's `MQVersion` ordinal.
    pub version: i32,
    /// Request id; a response carries its request's opaque.
    pub opaque: i32,
    /// Bit 0: response; bit 1: oneway.
    pub flag: i32,
    /// Human-readable detail, mostly on error responses.
    pub remark: Option<String>,
    /// The custom header, flattened to strings.
    pub ext_fields: ExtFields,
    /// The payload after the header, shared between clones.
    pub body: Body,
    /// The header encoding this command is (or will be) written in.
    pub serialize_type: SerializeType,
}

impl RemotingCommand {
    fn blank(code: i32, flag: i32, opaque: i32) -> Self {
        RemotingCommand {
            code,
            language: LanguageCode::Java,
            version: DEFAULT_VERSION,
            opaque,
            flag,
            remark: None,
            ext_fields: ExtFields::new(),
            body: Body::new(),
            serialize_type: SerializeType::Json,
        }
    }

    /// A request with a fresh opaque (`createRequestCommand`).
    pub fn new_request(code: i32) -> Self {
        Self::blank(code, 0, next_opaque())
    }

    /// A request carrying a typed custom header.
    pub fn request_with_header(code: i32, header: &impl CommandCustomHeader) -> Self {
        let mut cmd = Self::new_request(code);
        header.write_to(&mut cmd.ext_fields);
        cmd
    }

    /// A oneway request: flagged so that the peer never replies.
    pub fn new_oneway(code: i32) -> Self {
        let mut cmd = Self::new_request(code);
        cmd.mark_oneway();
        cmd
    }

    /// A response with a code and remark (`createResponseCommand`); the transport sets its opaque.
    pub fn new_response(code: i32, remark: impl Into<Option<String>>) -> Self {
        let mut cmd = Self::blank(code, RPC_RESPONSE, 0);
        cmd.remark = remark.into();
        cmd
    }

    /// A SUCCESS response with no remark.
    pub fn success() -> Self {
        Self::new_response(response_code::SUCCESS, None)
    }

    /// The response to this request: its opaque, its header type, and the response flag.
    pub fn response_to(&self, code: i32, remark: impl Into<Option<String>>) -> Self {
        let mut resp = Self::new_response(code, remark);
        resp.opaque = self.opaque;
        resp.serialize_type = self.serialize_type;
        resp
    }

    /// Builder: sets the body.
    pub fn with_body(mut self, body: impl Into<Body>) -> Self {
        self.body = body.into();
        self
    }

    /// Builder: sets one ext field.
    pub fn with_ext(mut self, key: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        self.ext_fields.insert(key, value);
        self
    }

    /// Builder: sets the header encoding.
    pub fn with_serialize_type(mut self, serialize_type: SerializeType) -> Self {
        self.serialize_type = serialize_type;
        self
    }

    /// Builder: sets the remark.
    pub fn with_remark(mut self, remark: impl Into<String>) -> Self {
        self.remark = Some(remark.into());
        self
    }

    /// True for responses (flag bit 0).
    pub fn is_response(&self) -> bool {
        self.flag & RPC_RESPONSE != 0
    }

    /// True for oneway requests (flag bit 1).
    pub fn is_oneway(&self) -> bool {
        self.flag & RPC_ONEWAY != 0
    }

    /// Marks the command as a response.
    pub fn mark_response(&mut self) {
        self.flag |= RPC_RESPONSE;
    }

    /// Marks the command as a oneway request.
    pub fn mark_oneway(&mut self) {
        self.flag |= RPC_ONEWAY;
    }

    /// A copy of everything but the body, for hooks that outlive the body's owner.
    pub fn header_copy(&self) -> RemotingCommand {
        RemotingCommand {
            remark: self.remark.clone(),
            ext_fields: self.ext_fields.clone(),
            body: Body::new(),
            ..*self
        }
    }

    /// Reads the ext fields as a typed custom header (`decodeCommandCustomHeader`).
    pub fn decode_header<H: CommandCustomHeader>(&self) -> Result<H, HeaderError> {
        H::read_from(&self.ext_fields)
    }
}
