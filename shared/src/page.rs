//! The page ↔ node protocol: JSON text frames on the node's `/ws` WebSocket.
//!
//! Every frame is an [`Envelope`]: `{"v": 1, "msg": {"type": "...", ...}}`. The node speaks [`ServerMsg`], the page
//! speaks [`ClientMsg`]. A frame is checked in this order, each failure giving its own [`DecodeError`]: size (at most
//! [`MAX_FRAME_BYTES`]), JSON syntax, protocol version, message type and fields.

use serde::{Deserialize, Serialize};

/// The version of this protocol. Bumped on any incompatible change; a peer speaking another version gets
/// [`ErrorCode::UnsupportedVersion`].
pub const PROTOCOL_VERSION: u16 = 1;

/// Largest text frame either side accepts, in bytes. Checked before parsing.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// How often the node sends [`ServerMsg::Heartbeat`]; the page treats a link as dead after a few missed beats.
pub const HEARTBEAT_INTERVAL_MS: u32 = 5_000;

/// The versioned wrapper around every message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope<M> {
    /// Protocol version of the sender; see [`PROTOCOL_VERSION`].
    pub v: u16,
    pub msg: M,
}

impl<M> Envelope<M> {
    pub fn new(msg: M) -> Self {
        Self {
            v: PROTOCOL_VERSION,
            msg,
        }
    }
}

/// Who a node is, as told to its page when the WebSocket opens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeIdentity {
    /// The user's display name (the node's `--name`).
    pub name: String,
    /// The node software's version (`CARGO_PKG_VERSION` of hearsay-node).
    pub version: String,
}

/// Messages from the node to its page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    /// First message on every connection.
    Hello(NodeIdentity),
    /// Sent every [`HEARTBEAT_INTERVAL_MS`] so the page can tell a live but quiet node from a dead link.
    Heartbeat {
        /// Milliseconds since the node started.
        uptime_ms: u64,
    },
    /// The node could not act on something the page sent. The connection stays open.
    Error { code: ErrorCode, message: String },
}

/// Messages from the page to its node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    /// Keeps intermediaries from timing the connection out; the node does not answer it.
    Heartbeat,
}

/// Machine-readable kind of a [`ServerMsg::Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    TooLarge,
    NotJson,
    UnsupportedVersion,
    UnknownType,
    BadMessage,
    BinaryFrame,
}

/// Why a frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("frame of {len} bytes is over the {max}-byte limit")]
    TooLarge { len: usize, max: usize },
    #[error("frame is not JSON: {0}")]
    NotJson(String),
    #[error("frame has no numeric \"v\" protocol version")]
    MissingVersion,
    #[error("protocol version {got} is not supported (this side speaks {PROTOCOL_VERSION})")]
    UnsupportedVersion { got: u64 },
    #[error("unknown message type {0:?}")]
    UnknownType(String),
    #[error("malformed message: {0}")]
    BadMessage(String),
}

impl DecodeError {
    /// The code to send back to the peer that sent the bad frame.
    pub fn code(&self) -> ErrorCode {
        match self {
            DecodeError::TooLarge { .. } => ErrorCode::TooLarge,
            DecodeError::NotJson(_) => ErrorCode::NotJson,
            DecodeError::MissingVersion | DecodeError::UnsupportedVersion { .. } => {
                ErrorCode::UnsupportedVersion
            }
            DecodeError::UnknownType(_) => ErrorCode::UnknownType,
            DecodeError::BadMessage(_) => ErrorCode::BadMessage,
        }
    }
}

/// Message types a side understands, so an unknown `type` is told apart from a known one with bad fields.
trait KnownTypes {
    const TYPES: &'static [&'static str];
}

impl KnownTypes for ClientMsg {
    const TYPES: &'static [&'static str] = &["heartbeat"];
}

impl KnownTypes for ServerMsg {
    const TYPES: &'static [&'static str] = &["hello", "heartbeat", "error"];
}

fn decode<M: KnownTypes + for<'de> Deserialize<'de>>(text: &str) -> Result<M, DecodeError> {
    if text.len() > MAX_FRAME_BYTES {
        return Err(DecodeError::TooLarge {
            len: text.len(),
            max: MAX_FRAME_BYTES,
        });
    }
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| DecodeError::NotJson(e.to_string()))?;
    let version = value
        .get("v")
        .and_then(serde_json::Value::as_u64)
        .ok_or(DecodeError::MissingVersion)?;
    if version != u64::from(PROTOCOL_VERSION) {
        return Err(DecodeError::UnsupportedVersion { got: version });
    }
    let msg = value
        .get("msg")
        .ok_or_else(|| DecodeError::BadMessage("no \"msg\" field".into()))?;
    let kind = msg
        .get("type")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| DecodeError::BadMessage("\"msg\" has no string \"type\"".into()))?;
    if !M::TYPES.contains(&kind) {
        return Err(DecodeError::UnknownType(kind.chars().take(64).collect()));
    }
    M::deserialize(msg).map_err(|e| DecodeError::BadMessage(e.to_string()))
}

/// Decodes a text frame the page sent to the node.
pub fn decode_client(text: &str) -> Result<ClientMsg, DecodeError> {
    decode(text)
}

/// Decodes a text frame the node sent to the page.
pub fn decode_server(text: &str) -> Result<ServerMsg, DecodeError> {
    decode(text)
}

/// Encodes a message in its envelope as a JSON text frame.
pub fn encode<M: Serialize>(msg: M) -> String {
    // Serializing these plain data types cannot fail: no maps with non-string keys, no custom Serialize impls.
    serde_json::to_string(&Envelope::new(msg)).expect("page messages always serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_messages_round_trip_through_the_envelope() {
        let msgs = [
            ServerMsg::Hello(NodeIdentity {
                name: "alice".into(),
                version: "0.1.0".into(),
            }),
            ServerMsg::Heartbeat { uptime_ms: 42 },
            ServerMsg::Error {
                code: ErrorCode::NotJson,
                message: "nope".into(),
            },
        ];
        for msg in msgs {
            assert_eq!(decode_server(&encode(msg.clone())), Ok(msg));
        }
    }

    #[test]
    fn wire_shape_is_versioned_and_tagged() {
        assert_eq!(
            encode(ClientMsg::Heartbeat),
            r#"{"v":1,"msg":{"type":"heartbeat"}}"#
        );
    }

    #[test]
    fn each_kind_of_bad_frame_has_its_own_error() {
        assert_eq!(
            decode_client("nope").unwrap_err().code(),
            ErrorCode::NotJson
        );
        assert_eq!(
            decode_client(r#"{"msg":{"type":"heartbeat"}}"#),
            Err(DecodeError::MissingVersion)
        );
        assert_eq!(
            decode_client(r#"{"v":2,"msg":{"type":"heartbeat"}}"#),
            Err(DecodeError::UnsupportedVersion { got: 2 })
        );
        assert_eq!(
            decode_client(r#"{"v":1,"msg":{"type":"launch_missiles"}}"#),
            Err(DecodeError::UnknownType("launch_missiles".into()))
        );
        assert_eq!(
            decode_server(r#"{"v":1,"msg":{"type":"heartbeat"}}"#)
                .unwrap_err()
                .code(),
            ErrorCode::BadMessage
        );
        let huge = format!(
            r#"{{"v":1,"msg":{{"type":"heartbeat","pad":"{}"}}}}"#,
            "x".repeat(MAX_FRAME_BYTES)
        );
        assert!(matches!(
            decode_client(&huge),
            Err(DecodeError::TooLarge { .. })
        ));
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_decoder() {
        // A cheap deterministic sweep over truncations and byte flips of a valid frame.
        let valid = encode(ServerMsg::Hello(NodeIdentity {
            name: "bob".into(),
            version: "1".into(),
        }));
        for cut in 0..valid.len() {
            let _ = decode_server(&valid[..cut]);
        }
        let bytes = valid.as_bytes();
        for i in 0..bytes.len() {
            for flip in [0x01u8, 0x20, 0x80] {
                let mut b = bytes.to_vec();
                b[i] ^= flip;
                if let Ok(s) = std::str::from_utf8(&b) {
                    let _ = decode_server(s);
                }
            }
        }
    }
}
