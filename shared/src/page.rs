//! The page ↔ node protocol: JSON text frames on the node's `/ws` WebSocket.
//!
//! Every frame is an [`Envelope`]: `{"v": 1, "msg": {"type": "...", ...}}`. The node speaks [`ServerMsg`], the page
//! speaks [`ClientMsg`]. A frame is checked in this order, each failure giving its own [`DecodeError`]: size (at most
//! [`MAX_FRAME_BYTES`]), JSON syntax, protocol version, message type and fields.

use serde::{Deserialize, Serialize};

use crate::gossip::PublicKey;
use crate::ice::IceServers;

/// The node's id of a private message on its way: a `u64`, written as a decimal string in JSON because JavaScript
/// numbers lose integers above 2^53.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MessageId(pub u64);

impl std::fmt::Display for MessageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for MessageId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.collect_str(&self.0)
        } else {
            serializer.serialize_u64(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for MessageId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
            text.parse()
                .map(MessageId)
                .map_err(|_| serde::de::Error::custom("a message id is a decimal u64 in a string"))
        } else {
            u64::deserialize(deserializer).map(MessageId)
        }
    }
}

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
    /// Behaviour for automated tests, switched on only by the node's `--testing-*` flags (never by anything in a
    /// URL); the page shows a banner while any is on.
    #[serde(default)]
    pub testing: TestingModes,
}

/// What automated tests and benchmarks need the page to do on its own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestingModes {
    /// Answer every incoming call at once, with camera and microphone.
    pub auto_accept: bool,
    /// Send every call through TURN (iceTransportPolicy "relay").
    pub relay_only: bool,
}

impl TestingModes {
    pub fn any(&self) -> bool {
        self.auto_accept || self.relay_only
    }
}

/// This node on the gossip overlay, told to the page right after [`ServerMsg::Hello`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GossipIdentity {
    /// The node's public key (64 hex digits in JSON): how other users address it.
    pub key: PublicKey,
    /// Short form of the key, e.g. `1a2b:3c4d:5e6f:7081`.
    pub fingerprint: String,
    /// The UDP address the gossip socket is bound to.
    pub addr: String,
}

/// A direct gossip peer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerView {
    /// `ip:port`.
    pub addr: String,
    /// Milliseconds since a datagram from it last arrived; `None` if never.
    pub last_heard_ms: Option<u64>,
    /// Heard recently enough to route through.
    pub live: bool,
    /// Added by the user (kept while silent) rather than learned from its traffic.
    pub added_by_user: bool,
}

/// A user known through the overlay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    /// Public key (64 hex digits in JSON): what [`ClientMsg::SendPrivate`] takes as `to`.
    pub key: PublicKey,
    pub name: String,
    pub fingerprint: String,
    /// Hops away, when reachable.
    pub hops: Option<u8>,
    pub reachable: bool,
}

/// Most bytes one [`ServerMsg::Users`] frame takes, half of [`MAX_FRAME_BYTES`]: room for the envelope and for
/// JSON escaping the estimate does not see.
pub const USERS_FRAME_BUDGET: usize = MAX_FRAME_BYTES / 2;

/// The users list as the page's side keeps it, by key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserDirectory {
    users: std::collections::BTreeMap<PublicKey, UserView>,
}

impl UserDirectory {
    /// Applies one [`ServerMsg::Users`].
    pub fn apply(&mut self, reset: bool, upsert: &[UserView], remove: &[PublicKey]) {
        if reset {
            self.users.clear();
        }
        for user in upsert {
            self.users.insert(user.key, user.clone());
        }
        for key in remove {
            self.users.remove(key);
        }
    }

    pub fn get(&self, key: &PublicKey) -> Option<&UserView> {
        self.users.get(key)
    }

    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &UserView> {
        self.users.values()
    }

    /// The [`ServerMsg::Users`] frames that turn a page's copy of `self` into `now` (all of `now` after a `reset`
    /// when `self` is `None`, i.e. a page that has nothing yet), each within [`USERS_FRAME_BUDGET`]; none if
    /// nothing changed.
    pub fn frames_to(before: Option<&Self>, now: &Self) -> Vec<ServerMsg> {
        let upsert: Vec<&UserView> = now
            .iter()
            .filter(|u| before.is_none_or(|b| b.get(&u.key) != Some(*u)))
            .collect();
        let remove: Vec<PublicKey> = before
            .map(|b| {
                b.users
                    .keys()
                    .filter(|k| now.get(k).is_none())
                    .copied()
                    .collect()
            })
            .unwrap_or_default();
        let reset = before.is_none();
        if !reset && upsert.is_empty() && remove.is_empty() {
            return Vec::new();
        }
        // What the envelope and the field names take, and a removed key's share ("<64 hex>",).
        const OVERHEAD: usize = 96;
        const KEY_BYTES: usize = 64 + 3;
        let mut frames = Vec::new();
        let mut current = (reset, Vec::new(), Vec::new());
        let mut used = OVERHEAD;
        let mut flush = |current: &mut (bool, Vec<UserView>, Vec<PublicKey>), used: &mut usize| {
            let (reset, upsert, remove) = std::mem::take(current);
            frames.push(ServerMsg::Users {
                reset,
                upsert,
                remove,
            });
            *used = OVERHEAD;
        };
        for user in upsert {
            let size = serde_json::to_string(user).map_or(USERS_FRAME_BUDGET, |j| j.len() + 1);
            if used + size > USERS_FRAME_BUDGET && !(current.1.is_empty() && current.2.is_empty()) {
                flush(&mut current, &mut used);
            }
            current.1.push(user.clone());
            used += size;
        }
        for key in remove {
            if used + KEY_BYTES > USERS_FRAME_BUDGET {
                flush(&mut current, &mut used);
            }
            current.2.push(key);
            used += KEY_BYTES;
        }
        if current.0 || !current.1.is_empty() || !current.2.is_empty() {
            flush(&mut current, &mut used);
        }
        frames
    }
}

impl FromIterator<UserView> for UserDirectory {
    fn from_iter<I: IntoIterator<Item = UserView>>(iter: I) -> Self {
        Self {
            users: iter.into_iter().map(|u| (u.key, u)).collect(),
        }
    }
}

/// A STUN/TURN relay the page's calls use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayView {
    /// The relay node's user name (this node's own name for its own servers).
    pub name: String,
    /// `host:port` of its TURN server, as the browser reaches it.
    pub addr: String,
    /// This node's own STUN and TURN (it is reachable from outside).
    pub own: bool,
}

/// How this node is seen from outside, and which relays its page's calls use.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkView {
    /// `ip:port` addresses of this node's gossip socket as its peers see it: what a friend adds as a peer.
    pub addrs: Vec<String>,
    /// Whether a peer reached this node's ports without this node talking first (a dial-back): `None` until a peer
    /// has tried. Behind a NAT with no port forwarding it is `Some(false)`, and friends cannot add this node; it
    /// needs one reachable peer.
    pub reachable: Option<bool>,
    /// The STUN/TURN servers calls use, best first.
    pub relays: Vec<RelayView>,
    /// Counts the changes of network the node noticed (its host moved: Wi-Fi to mobile, another router). A call
    /// under way restarts ICE at once when it grows, instead of waiting for the browser to notice the old path
    /// is dead.
    #[serde(default)]
    pub network_changes: u32,
}

/// Messages from the node to its page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    /// First message on every connection.
    Hello(NodeIdentity),
    /// Second message on every connection.
    GossipInfo(GossipIdentity),
    /// The whole peers list, sent on connect and whenever it changes (and every few seconds for `last_heard_ms`).
    Peers { peers: Vec<PeerView> },
    /// Changes to the users list, applied in order by a [`UserDirectory`]: on connect the node sends `reset`
    /// and then every user, over as many frames as it takes; afterwards only who was added or changed (`upsert`)
    /// and who is gone (`remove`). Each frame stays under [`USERS_FRAME_BUDGET`] whatever the network's size.
    Users {
        /// Forget every user first.
        #[serde(default)]
        reset: bool,
        #[serde(default)]
        upsert: Vec<UserView>,
        #[serde(default)]
        remove: Vec<PublicKey>,
    },
    /// A [`ClientMsg::SendPrivate`] was accepted and is on its way as `message_id`.
    PrivateAccepted { request: u32, message_id: MessageId },
    /// Every part of the message reached its destination (acknowledged end to end).
    PrivateDelivered { message_id: MessageId },
    /// The message could not be delivered before its deadline.
    PrivateFailed { message_id: MessageId },
    /// A private message for this node's user.
    PrivateReceived {
        /// Sender's key, as the gossip layer verified it.
        from: PublicKey,
        /// Sender's name, if the sender is a known user.
        from_name: Option<String>,
        message_id: MessageId,
        /// The payload as text (invalid UTF-8 is replaced).
        payload: String,
    },
    /// Sent every [`HEARTBEAT_INTERVAL_MS`] so the page can tell a live but quiet node from a dead link.
    Heartbeat {
        /// Milliseconds since the node started.
        uptime_ms: u64,
    },
    /// The STUN and TURN servers the node chose for this page's calls, with TURN credentials for this page: its own
    /// when it is reachable from outside, else reachable nodes' found over gossip. Sent after [`ServerMsg::Hello`]
    /// on every connection, whenever the choice or the credentials change, and when the page sends
    /// [`ClientMsg::GetIceServers`].
    IceServers(IceServers),
    /// How this node is seen from outside (its public addresses, reachable or not) and the relays calls use. Sent
    /// on connect and whenever it changes.
    Network(NetworkView),
    /// The node could not act on something the page sent. The connection stays open.
    Error { code: ErrorCode, message: String },
}

/// Messages from the page to its node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    /// Keeps intermediaries from timing the connection out; the node does not answer it.
    Heartbeat,
    /// Asks for a fresh [`ServerMsg::IceServers`] (e.g. before a call, when the last credentials are old).
    GetIceServers,
    /// Add a gossip peer by `host:port`. A bad address gets an [`ErrorCode::BadAddress`] error.
    AddPeer { addr: String },
    /// Delete a gossip peer (`ip:port` as listed); its traffic is ignored until it is added again.
    DeletePeer { addr: String },
    /// Send a private message to a user's key. `request` is echoed in [`ServerMsg::PrivateAccepted`] or in the
    /// error's message.
    SendPrivate {
        request: u32,
        to: PublicKey,
        payload: String,
    },
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
    /// A peer address that does not parse or resolve, or a user key that is not 64 hex digits.
    BadAddress,
    /// The node could not do what was asked (e.g. too many messages in flight, message too large).
    Refused,
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
    const TYPES: &'static [&'static str] = &[
        "heartbeat",
        "get_ice_servers",
        "add_peer",
        "delete_peer",
        "send_private",
    ];
}

impl KnownTypes for ServerMsg {
    const TYPES: &'static [&'static str] = &[
        "hello",
        "gossip_info",
        "peers",
        "users",
        "private_accepted",
        "private_delivered",
        "private_failed",
        "private_received",
        "heartbeat",
        "ice_servers",
        "network",
        "error",
    ];
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
                testing: TestingModes::default(),
            }),
            ServerMsg::Heartbeat { uptime_ms: 42 },
            ServerMsg::IceServers(crate::ice::IceServers {
                servers: vec![
                    crate::ice::IceServer {
                        urls: vec!["stun:192.0.2.1:3478".into()],
                        username: None,
                        credential: None,
                    },
                    crate::ice::IceServer {
                        urls: vec!["turn:192.0.2.1:3479?transport=udp".into()],
                        username: Some("1700000000:page".into()),
                        credential: Some("c2VjcmV0".into()),
                    },
                ],
                expires: 1_700_000_000,
            }),
            ServerMsg::GossipInfo(GossipIdentity {
                key: PublicKey([0xab; 32]),
                fingerprint: "abab:abab:abab:abab".into(),
                addr: "127.0.0.1:5000".into(),
            }),
            ServerMsg::Peers {
                peers: vec![PeerView {
                    addr: "127.0.0.1:5001".into(),
                    last_heard_ms: Some(12),
                    live: true,
                    added_by_user: false,
                }],
            },
            ServerMsg::Users {
                reset: true,
                upsert: vec![UserView {
                    key: PublicKey([0xcd; 32]),
                    name: "bob".into(),
                    fingerprint: "cdcd:cdcd:cdcd:cdcd".into(),
                    hops: Some(2),
                    reachable: true,
                }],
                remove: vec![PublicKey([0xab; 32])],
            },
            ServerMsg::PrivateAccepted {
                request: 1,
                message_id: MessageId(99),
            },
            ServerMsg::PrivateDelivered {
                message_id: MessageId(u64::MAX),
            },
            ServerMsg::PrivateFailed {
                message_id: MessageId(99),
            },
            ServerMsg::PrivateReceived {
                from: PublicKey([0xcd; 32]),
                from_name: None,
                message_id: MessageId(7),
                payload: "v=0".into(),
            },
            ServerMsg::Error {
                code: ErrorCode::NotJson,
                message: "nope".into(),
            },
            ServerMsg::Network(NetworkView {
                addrs: vec!["203.0.113.7:5000".into()],
                reachable: Some(false),
                relays: vec![RelayView {
                    name: "hub".into(),
                    addr: "203.0.113.10:3479".into(),
                    own: false,
                }],
                network_changes: 2,
            }),
        ];
        for msg in msgs {
            assert_eq!(decode_server(&encode(msg.clone())), Ok(msg));
        }
    }

    #[test]
    fn client_messages_round_trip_through_the_envelope() {
        let msgs = [
            ClientMsg::Heartbeat,
            ClientMsg::AddPeer {
                addr: "bob.lan:5000".into(),
            },
            ClientMsg::DeletePeer {
                addr: "127.0.0.1:5000".into(),
            },
            ClientMsg::SendPrivate {
                request: 3,
                to: PublicKey([0xab; 32]),
                payload: "hi".into(),
            },
        ];
        for msg in msgs {
            assert_eq!(decode_client(&encode(msg.clone())), Ok(msg));
        }
        assert_eq!(
            encode(ClientMsg::AddPeer { addr: "h:1".into() }),
            r#"{"v":1,"msg":{"type":"add_peer","addr":"h:1"}}"#
        );
    }

    #[test]
    fn keys_and_message_ids_are_strings_in_json() {
        let text = encode(ServerMsg::PrivateDelivered {
            message_id: MessageId(u64::MAX),
        });
        assert!(
            text.contains(r#""message_id":"18446744073709551615""#),
            "{text}"
        );
        let bad_key =
            r#"{"v":1,"msg":{"type":"send_private","request":1,"to":"xyz","payload":"p"}}"#;
        assert_eq!(
            decode_client(bad_key).unwrap_err().code(),
            ErrorCode::BadMessage
        );
    }

    #[test]
    fn wire_shape_is_versioned_and_tagged() {
        assert_eq!(
            encode(ClientMsg::Heartbeat),
            r#"{"v":1,"msg":{"type":"heartbeat"}}"#
        );
    }

    #[test]
    fn ice_servers_use_the_webrtc_field_names() {
        let msg = ServerMsg::IceServers(crate::ice::IceServers {
            servers: vec![crate::ice::IceServer {
                urls: vec!["turn:h:1?transport=udp".into()],
                username: Some("u".into()),
                credential: Some("p".into()),
            }],
            expires: 7,
        });
        assert_eq!(
            encode(msg),
            r#"{"v":1,"msg":{"type":"ice_servers","servers":[{"urls":["turn:h:1?transport=udp"],"username":"u","credential":"p"}],"expires":7}}"#
        );
        assert_eq!(
            decode_client(r#"{"v":1,"msg":{"type":"get_ice_servers"}}"#),
            Ok(ClientMsg::GetIceServers)
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
            testing: TestingModes::default(),
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

    fn many_users(n: usize, name: impl Fn(usize) -> String) -> UserDirectory {
        (0..n)
            .map(|i| {
                let mut key = [0u8; 32];
                key[..8].copy_from_slice(&(i as u64).to_be_bytes());
                let key = PublicKey(key);
                UserView {
                    key,
                    name: name(i),
                    fingerprint: key.fingerprint(),
                    hops: Some((i % 7) as u8),
                    reachable: i % 3 != 0,
                }
            })
            .collect()
    }

    #[test]
    fn ten_thousand_users_go_in_frames_under_the_limit_and_arrive_whole() {
        // Names as long as allowed and as costly to encode as JSON makes them (quotes and backslashes double).
        let now = many_users(10_000, |i| format!("{i:05}{}", "\\\"".repeat(29)));
        let frames = UserDirectory::frames_to(None, &now);
        assert!(frames.len() > 1);
        let mut page = UserDirectory::default();
        page.apply(
            false,
            &[UserView {
                key: PublicKey([0xee; 32]),
                name: "stale".into(),
                fingerprint: String::new(),
                hops: None,
                reachable: false,
            }],
            &[],
        );
        for frame in &frames {
            let text = encode(frame.clone());
            assert!(text.len() <= USERS_FRAME_BUDGET, "{} bytes", text.len());
            let ServerMsg::Users {
                reset,
                upsert,
                remove,
            } = decode_server(&text).unwrap()
            else {
                panic!("not a users frame");
            };
            page.apply(reset, &upsert, &remove);
        }
        assert_eq!(
            page, now,
            "the page holds exactly the node's list, the stale user gone"
        );
    }

    #[test]
    fn changes_travel_as_deltas() {
        let before = many_users(5_000, |i| format!("user {i}"));
        assert!(UserDirectory::frames_to(Some(&before), &before).is_empty());
        let mut now = before.clone();
        let gone = PublicKey({
            let mut k = [0u8; 32];
            k[..8].copy_from_slice(&7u64.to_be_bytes());
            k
        });
        now.apply(false, &[], &[gone]);
        let mut changed = now.iter().next().unwrap().clone();
        changed.reachable = !changed.reachable;
        now.apply(false, &[changed.clone()], &[]);
        let frames = UserDirectory::frames_to(Some(&before), &now);
        assert_eq!(
            frames,
            vec![ServerMsg::Users {
                reset: false,
                upsert: vec![changed],
                remove: vec![gone]
            }]
        );
        let mut page = before.clone();
        for frame in frames {
            if let ServerMsg::Users {
                reset,
                upsert,
                remove,
            } = frame
            {
                page.apply(reset, &upsert, &remove);
            }
        }
        assert_eq!(page, now);
        // A page with nothing yet still hears that the list is empty.
        assert_eq!(
            UserDirectory::frames_to(None, &UserDirectory::default()),
            vec![ServerMsg::Users {
                reset: true,
                upsert: vec![],
                remove: vec![]
            }]
        );
    }
}
