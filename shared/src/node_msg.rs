//! What one node asks of another, carried as the payload of a signed private message: the gossip layer proves who
//! sent it, and the receiving node answers it itself — these never reach a page.
//!
//! - [`NodeMsg::ProbeRequest`] / [`NodeMsg::ProbeResult`]: a dial-back (as libp2p's AutoNAT does it). A node asks a
//!   direct peer to send a STUN Binding request to some of its ports at the address the peer reaches it at, from a
//!   socket that never talked to it, and to say which ports answered. A port that answers such an unsolicited
//!   request is reachable from outside; behind a NAT with no port forwarding none does.
//! - [`NodeMsg::TurnRequest`] / [`NodeMsg::TurnGrant`] / [`NodeMsg::TurnRefused`]: a node whose own TURN server is
//!   not reachable asks a reachable node for TURN credentials for its user's page. The relay mints them scoped to
//!   the requesting key and valid for minutes; they never travel in call signaling.
//!
//! A payload is [`TAG`] followed by the postcard encoding of a [`NodeMsg`]. Page payloads are JSON text, which
//! never starts with a NUL byte, so [`is_node_msg`] tells the two apart. [`decode`] bounds the size first, checks
//! every field against its bound, and never panics.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// The first bytes of every node-to-node payload.
pub const TAG: &[u8] = b"\0hearsay-node\0";
/// Largest encoded message, tag included: far above what any message needs, far below a private message's limit.
pub const MAX_BYTES: usize = 1024;
/// Most ports one probe request may name (STUN and TURN today).
pub const MAX_PROBE_PORTS: usize = 4;
/// Longest TURN username or password in a grant.
pub const MAX_CREDENTIAL_CHARS: usize = 256;

/// Why a relay refused to lend TURN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TurnRefusal {
    /// Its operator relays for nobody else (`--relay-for none`).
    NotRelaying,
    /// This key asked too often.
    RateLimited,
    /// Its TURN server is not reachable from outside, so it would be no use.
    NotReachable,
}

/// A request or answer between two nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum NodeMsg {
    /// "Send a STUN Binding request to each of these ports of mine, at the IP you reach me at, and tell me which
    /// answered."
    ProbeRequest {
        nonce: u64,
        ports: Vec<u16>,
    },
    /// The answer to a [`NodeMsg::ProbeRequest`]: the IP the peer probed (the one it reaches the asker at) and the
    /// ports that answered.
    ProbeResult {
        nonce: u64,
        probed_ip: IpAddr,
        answered: Vec<u16>,
    },
    /// "May my user's page relay through your TURN server?"
    TurnRequest {
        request: u64,
    },
    /// TURN REST credentials for the asker's key; `expires` is Unix time in seconds. The asker reaches the relay's
    /// servers at the address it knows the relay by, on the ports given here.
    TurnGrant {
        request: u64,
        username: String,
        password: String,
        expires: u64,
        stun_port: u16,
        turn_port: u16,
        /// TURN over TCP on this port (0: none), for browsers whose network blocks UDP.
        turn_tcp_port: u16,
    },
    TurnRefused {
        request: u64,
        reason: TurnRefusal,
    },
}

/// Why a payload is not a node message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeMsgError {
    #[error("not a node message (no tag)")]
    NotNodeMsg,
    #[error("node message of {0} bytes is over the {MAX_BYTES}-byte limit")]
    TooLarge(usize),
    #[error("malformed node message: {0}")]
    Malformed(String),
    #[error("node message field out of bounds: {0}")]
    OutOfBounds(&'static str),
}

impl NodeMsg {
    /// Checks every field against its bound; [`decode`] and [`encode`] both call it.
    pub fn check_bounds(&self) -> Result<(), NodeMsgError> {
        match self {
            NodeMsg::ProbeRequest { ports, .. } => {
                if ports.is_empty() || ports.len() > MAX_PROBE_PORTS || ports.contains(&0) {
                    return Err(NodeMsgError::OutOfBounds("probe ports"));
                }
            }
            NodeMsg::ProbeResult { answered, .. } => {
                if answered.len() > MAX_PROBE_PORTS {
                    return Err(NodeMsgError::OutOfBounds("answered ports"));
                }
            }
            NodeMsg::TurnGrant {
                username,
                password,
                stun_port,
                turn_port,
                ..
            } => {
                if username.is_empty()
                    || username.chars().count() > MAX_CREDENTIAL_CHARS
                    || password.chars().count() > MAX_CREDENTIAL_CHARS
                {
                    return Err(NodeMsgError::OutOfBounds("credential length"));
                }
                if *stun_port == 0 || *turn_port == 0 {
                    return Err(NodeMsgError::OutOfBounds("relay ports"));
                }
            }
            NodeMsg::TurnRequest { .. } | NodeMsg::TurnRefused { .. } => {}
        }
        Ok(())
    }
}

/// Whether a private message's payload is meant for the node rather than its page.
pub fn is_node_msg(payload: &[u8]) -> bool {
    payload.starts_with(TAG)
}

/// The payload of a private message carrying `msg`.
pub fn encode(msg: &NodeMsg) -> Result<Vec<u8>, NodeMsgError> {
    msg.check_bounds()?;
    let out = postcard::to_extend(msg, TAG.to_vec())
        .map_err(|e| NodeMsgError::Malformed(e.to_string()))?;
    if out.len() > MAX_BYTES {
        return Err(NodeMsgError::TooLarge(out.len()));
    }
    Ok(out)
}

/// Decodes a private message's payload. Never panics.
pub fn decode(payload: &[u8]) -> Result<NodeMsg, NodeMsgError> {
    let body = payload.strip_prefix(TAG).ok_or(NodeMsgError::NotNodeMsg)?;
    if payload.len() > MAX_BYTES {
        return Err(NodeMsgError::TooLarge(payload.len()));
    }
    let (msg, rest): (NodeMsg, _) =
        postcard::take_from_bytes(body).map_err(|e| NodeMsgError::Malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(NodeMsgError::Malformed(format!(
            "{} trailing bytes",
            rest.len()
        )));
    }
    msg.check_bounds()?;
    Ok(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<NodeMsg> {
        vec![
            NodeMsg::ProbeRequest {
                nonce: 7,
                ports: vec![3478, 3479],
            },
            NodeMsg::ProbeResult {
                nonce: 7,
                probed_ip: "203.0.113.10".parse().unwrap(),
                answered: vec![3478],
            },
            NodeMsg::ProbeResult {
                nonce: u64::MAX,
                probed_ip: "2001:db8::1".parse().unwrap(),
                answered: vec![],
            },
            NodeMsg::TurnRequest { request: 1 },
            NodeMsg::TurnGrant {
                request: 1,
                username: format!("1700000000:{}", "ab".repeat(32)),
                password: "x".repeat(MAX_CREDENTIAL_CHARS),
                expires: 1_700_000_000,
                stun_port: 3478,
                turn_port: 3479,
                turn_tcp_port: 3479,
            },
            NodeMsg::TurnRefused {
                request: 2,
                reason: TurnRefusal::RateLimited,
            },
        ]
    }

    #[test]
    fn every_message_round_trips_behind_the_tag() {
        for msg in samples() {
            let bytes = encode(&msg).unwrap();
            assert!(is_node_msg(&bytes));
            assert!(bytes.len() <= MAX_BYTES);
            assert_eq!(decode(&bytes), Ok(msg));
        }
    }

    #[test]
    fn page_payloads_are_never_node_messages() {
        let signal = br#"{"signal":"hang_up","call":1}"#;
        assert!(!is_node_msg(signal));
        assert_eq!(decode(signal), Err(NodeMsgError::NotNodeMsg));
    }

    #[test]
    fn out_of_bounds_fields_are_refused_both_ways() {
        let too_many = NodeMsg::ProbeRequest {
            nonce: 1,
            ports: vec![1; MAX_PROBE_PORTS + 1],
        };
        assert_eq!(
            encode(&too_many),
            Err(NodeMsgError::OutOfBounds("probe ports"))
        );
        let bytes = postcard::to_extend(&too_many, TAG.to_vec()).unwrap();
        assert_eq!(
            decode(&bytes),
            Err(NodeMsgError::OutOfBounds("probe ports"))
        );
        let port_zero = NodeMsg::ProbeRequest {
            nonce: 1,
            ports: vec![0],
        };
        assert!(encode(&port_zero).is_err());
        let long = NodeMsg::TurnGrant {
            request: 1,
            username: "u".repeat(MAX_CREDENTIAL_CHARS + 1),
            password: "p".into(),
            expires: 1,
            stun_port: 1,
            turn_port: 2,
            turn_tcp_port: 0,
        };
        assert!(encode(&long).is_err());
    }

    #[test]
    fn oversized_and_trailing_bytes_are_refused() {
        let mut big = TAG.to_vec();
        big.resize(MAX_BYTES + 1, 0);
        assert_eq!(decode(&big), Err(NodeMsgError::TooLarge(MAX_BYTES + 1)));
        let mut bytes = encode(&NodeMsg::TurnRequest { request: 3 }).unwrap();
        bytes.push(0);
        assert!(matches!(decode(&bytes), Err(NodeMsgError::Malformed(_))));
    }

    #[test]
    fn truncations_and_bit_flips_never_panic() {
        for msg in samples() {
            let bytes = encode(&msg).unwrap();
            for cut in 0..bytes.len() {
                let _ = decode(&bytes[..cut]);
            }
            for i in TAG.len()..bytes.len() {
                for flip in [0x01u8, 0x80, 0xff] {
                    let mut b = bytes.clone();
                    b[i] ^= flip;
                    let _ = decode(&b);
                }
            }
        }
    }
}
