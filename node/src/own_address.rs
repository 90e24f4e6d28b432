//! The node's own reachable address, learned from its peers' STUN servers and announced in its route rumors.
//!
//! A node behind a NAT knows only its private address; its peers see it at a public one. Every so often the node
//! asks the STUN servers its direct peers advertise (their route rumors carry a STUN service port) what address its
//! requests come from, and announces that IP with its gossip port beside its own specific address
//! ([`Command::SetAddrs`]). A node whose gossip socket listens on a port-forwarded or public address is then
//! reachable at it; one behind a port-changing NAT at least tells others its public IP.
//!
//! The choice of servers and the merging of addresses are pure functions; [`run`] is the thin loop around them.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hearsay_shared::gossip::{MAX_ADDRS, Service, service_kind};

use crate::gossip::shell::GossipHandle;
use crate::gossip::{Command, UserInfo};

/// The first look, once peers have had time to announce themselves; then this often.
const FIRST_LOOK: Duration = Duration::from_secs(3);
const EVERY: Duration = Duration::from_secs(300);
/// At most this many peers' servers are asked each time.
const SERVERS_PER_LOOK: usize = 3;
/// How long one server may take to answer (with retransmissions).
const ANSWER_LIMIT: Duration = Duration::from_secs(3);

/// The STUN servers of direct peers: the address we reach each peer at, with the STUN port it announces.
pub fn peer_stun_servers(users: &[UserInfo]) -> Vec<SocketAddr> {
    users
        .iter()
        .filter(|u| u.reachable && u.hops == Some(1))
        .filter_map(|u| Some(SocketAddr::new(u.next_hop?.ip(), stun_port(&u.services)?)))
        .take(SERVERS_PER_LOOK)
        .collect()
}

fn stun_port(services: &[Service]) -> Option<u16> {
    services
        .iter()
        .find(|s| s.kind == service_kind::STUN)
        .map(|s| s.port)
}

/// The addresses to announce: the socket's own if specific, then each reflexive IP with the gossip port.
pub fn addresses(local: SocketAddr, reflexive: &[IpAddr]) -> Vec<SocketAddr> {
    let mut addrs = Vec::new();
    if !local.ip().is_unspecified() {
        addrs.push(local);
    }
    for &ip in reflexive {
        let addr = SocketAddr::new(ip, local.port());
        if !addrs.contains(&addr) {
            addrs.push(addr);
        }
    }
    addrs.truncate(MAX_ADDRS);
    addrs
}

/// Looks now and then, for as long as the node runs.
pub async fn run(gossip: GossipHandle, local: SocketAddr) {
    let mut wait = FIRST_LOOK;
    loop {
        tokio::time::sleep(wait).await;
        wait = EVERY;
        let servers = peer_stun_servers(&gossip.snapshot().borrow().users);
        if servers.is_empty() {
            continue;
        }
        let mut reflexive = Vec::new();
        for server in servers {
            let bind = if server.is_ipv4() {
                "0.0.0.0:0"
            } else {
                "[::]:0"
            };
            let Ok(socket) = tokio::net::UdpSocket::bind(bind).await else {
                continue;
            };
            match crate::stun::client::reflexive_address(&socket, server, ANSWER_LIMIT).await {
                Ok(seen) => {
                    tracing::debug!(%server, %seen, "a peer's STUN server saw us");
                    if !reflexive.contains(&seen.ip()) {
                        reflexive.push(seen.ip());
                    }
                }
                Err(err) => tracing::debug!(%server, %err, "a peer's STUN server did not answer"),
            }
        }
        if reflexive.is_empty() {
            continue;
        }
        let addrs = addresses(local, &reflexive);
        tracing::info!(?addrs, "announcing the addresses peers see us at");
        if let Err(err) = gossip.command(Command::SetAddrs(addrs)).await {
            tracing::warn!(%err, "the gossip task is gone");
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use hearsay_shared::gossip::PublicKey;

    use super::*;

    fn user(hops: Option<u8>, next_hop: &str, services: &[(u16, u16)]) -> UserInfo {
        UserInfo {
            key: PublicKey([hops.unwrap_or(0); 32]),
            name: "u".into(),
            hops,
            reachable: hops.is_some(),
            next_hop: next_hop.parse().ok(),
            addrs: vec!["192.0.2.9:5000".parse().unwrap()],
            services: services
                .iter()
                .map(|&(kind, port)| Service { kind, port })
                .collect(),
        }
    }

    #[test]
    fn only_direct_peers_with_a_stun_service_are_asked_at_their_peer_address() {
        let users = [
            user(Some(1), "198.51.100.1:5000", &[(service_kind::STUN, 3478)]),
            user(Some(1), "198.51.100.2:5000", &[(service_kind::TURN, 3479)]),
            user(Some(2), "198.51.100.1:5000", &[(service_kind::STUN, 3478)]),
            user(None, "", &[(service_kind::STUN, 3478)]),
        ];
        assert_eq!(
            peer_stun_servers(&users),
            ["198.51.100.1:3478".parse::<SocketAddr>().unwrap()]
        );
    }

    #[test]
    fn announced_addresses_keep_the_gossip_port_and_drop_duplicates() {
        let local: SocketAddr = "10.0.0.5:5000".parse().unwrap();
        let public: IpAddr = "203.0.113.7".parse().unwrap();
        assert_eq!(
            addresses(local, &[public, public, local.ip()]),
            [local, SocketAddr::new(public, 5000)]
        );
        let any: SocketAddr = "0.0.0.0:5000".parse().unwrap();
        assert_eq!(addresses(any, &[public]), [SocketAddr::new(public, 5000)]);
    }
}
