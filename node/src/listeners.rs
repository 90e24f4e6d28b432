//! Every socket the node listens on, bound before anything starts, so a port in use fails the start with a clear
//! error instead of leaving a half-started node.

use std::net::SocketAddr;

use anyhow::Context;
use tokio::net::{TcpListener, UdpSocket};

use crate::config::Config;
use crate::stun::wire::{LISTENER_BUFFER_BYTES, enlarge_buffers};

pub struct Listeners {
    /// HTTPS and the page's WebSocket.
    pub web: TcpListener,
    pub stun: UdpSocket,
    pub turn: UdpSocket,
    pub turn_tcp: TcpListener,
    pub gossip: UdpSocket,
    /// Gossip over TCP on the gossip port, for peers whose networks block UDP (`None` if that port is taken for
    /// TCP: the node still runs, over UDP only).
    pub gossip_tcp: Option<TcpListener>,
}

/// Where the listeners ended up (ports 0 picked free ones).
#[derive(Debug, Clone, Copy)]
pub struct Bound {
    pub web: SocketAddr,
    pub stun: SocketAddr,
    pub turn: SocketAddr,
    pub turn_tcp: SocketAddr,
    pub gossip: SocketAddr,
}

impl Listeners {
    pub async fn bind(config: &Config) -> anyhow::Result<Self> {
        let relay = &config.relay;
        let web = TcpListener::bind(config.web)
            .await
            .with_context(|| format!("binding the web server to {}", config.web))?;
        let stun = UdpSocket::bind(relay.stun)
            .await
            .with_context(|| format!("binding the STUN server to {}", relay.stun))?;
        enlarge_buffers(&stun, LISTENER_BUFFER_BYTES);
        let turn = UdpSocket::bind(relay.turn)
            .await
            .with_context(|| format!("binding the TURN server to {}", relay.turn))?;
        enlarge_buffers(&turn, LISTENER_BUFFER_BYTES);
        let turn_tcp = TcpListener::bind(relay.turn_tcp)
            .await
            .with_context(|| format!("binding the TURN server to TCP {}", relay.turn_tcp))?;
        let gossip = UdpSocket::bind(config.gossip)
            .await
            .with_context(|| format!("binding the gossip socket to {}", config.gossip))?;
        let gossip_addr = gossip.local_addr()?;
        let gossip_tcp = match TcpListener::bind(gossip_addr).await {
            Ok(listener) => Some(listener),
            Err(err) => {
                tracing::warn!(%err, %gossip_addr, "no gossip over TCP: peers that cannot use UDP cannot reach this node");
                None
            }
        };
        Ok(Self {
            web,
            stun,
            turn,
            turn_tcp,
            gossip,
            gossip_tcp,
        })
    }

    pub fn bound(&self) -> anyhow::Result<Bound> {
        Ok(Bound {
            web: self.web.local_addr()?,
            stun: self.stun.local_addr()?,
            turn: self.turn.local_addr()?,
            turn_tcp: self.turn_tcp.local_addr()?,
            gossip: self.gossip.local_addr()?,
        })
    }
}
