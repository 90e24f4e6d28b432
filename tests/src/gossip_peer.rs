//! Talking to a real node's gossip port as a peer would, from a test's own UDP socket: a node answers an address it
//! does not know with nothing but a challenge, so a test that sends rumors first proves it receives.

use std::net::SocketAddr;
use std::time::Duration;

use hearsay_shared::gossip::{self, KeyPrefix, Packet, Status, StatusScope};
use tokio::net::UdpSocket;

/// A status page asking for everything: as large as a challenge (a node answers nothing smaller), and harmless.
pub fn empty_status() -> Vec<u8> {
    let status = Packet::Status(Status {
        scope: StatusScope::Range {
            from: KeyPrefix::MIN,
            to: KeyPrefix::MAX,
        },
        entries: vec![],
    });
    // A status with no entries is always within the wire bounds.
    gossip::encode(&status).expect("an empty status encodes")
}

/// Makes `socket` a peer of the node at `node`: knocks, echoes the node's challenge, and waits for its greeting.
pub async fn become_peer(socket: &UdpSocket, node: SocketAddr) -> anyhow::Result<()> {
    let mut buf = [0u8; 2048];
    for _ in 0..10 {
        socket.send_to(&empty_status(), node).await?;
        let deadline = tokio::time::Instant::now() + Duration::from_millis(500);
        while let Ok(received) = tokio::time::timeout_at(deadline, socket.recv_from(&mut buf)).await
        {
            let (len, from) = received?;
            if from != node {
                continue;
            }
            match gossip::decode(&buf[..len]) {
                Ok(Packet::Challenge(cookie)) => {
                    let response = gossip::encode(&Packet::Response(cookie))?;
                    socket.send_to(&response, node).await?;
                }
                // Rumors or a status: the greeting of a peer.
                Ok(Packet::Rumors(_) | Packet::Status(_)) => return Ok(()),
                _ => {}
            }
        }
    }
    anyhow::bail!(
        "the node at {node} never took this socket as a peer (no challenge, or no greeting after it)"
    )
}
