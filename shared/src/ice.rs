//! ICE server descriptions as the browser's `RTCPeerConnection` wants them (`RTCIceServer`): a node hands its
//! page (and, through signaling, a caller's page) its STUN server and its TURN server with fresh credentials.

use serde::{Deserialize, Serialize};

/// One entry of `RTCConfiguration.iceServers`. Field names serialize as the WebRTC API spells them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    /// `stun:host:port` or `turn:host:port?transport=udp` URLs.
    pub urls: Vec<String>,
    /// TURN username (absent for STUN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// TURN password (absent for STUN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// A node's ICE servers with the time their TURN credentials stop working.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServers {
    pub servers: Vec<IceServer>,
    /// Unix time (seconds) at which the TURN credentials expire; ask for new ones before.
    pub expires: u64,
}
