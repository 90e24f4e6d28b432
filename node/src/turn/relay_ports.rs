//! Relay sockets from a configured port range: the `turn` crate's `RelayAddressGenerator` seam.
//!
//! Each allocation gets a UDP socket bound to a port of `--relay-ports` on the relay bind address; the address
//! told to the client is `advertised_ip` with that port. Ports are probed from a random start, wrapping around,
//! at most once each, so a nearly full range still finds its last free port and a full one fails (the crate then
//! answers 508 Insufficient Capacity).

use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::sync::Arc;

use tokio::net::UdpSocket;

/// Buffer asked for on each relay socket: a smaller burst reserve than the listeners', as there is one per
/// allocation.
const RELAY_BUFFER_BYTES: usize = 1 << 20;

/// Hands out relay sockets in a port range.
#[derive(Debug, Clone)]
pub struct RelayPorts {
    /// The address relay sockets bind to (the TURN listener's address, often 0.0.0.0).
    pub bind_ip: IpAddr,
    /// The address put in XOR-RELAYED-ADDRESS: where peers reach the relay.
    pub advertised_ip: IpAddr,
    pub ports: RangeInclusive<u16>,
}

impl RelayPorts {
    /// The ports to try, in order, starting at offset `start` into the range.
    fn probe_order(&self, start: u32) -> impl Iterator<Item = u16> + '_ {
        let low = u32::from(*self.ports.start());
        let span = u32::from(*self.ports.end()) - low + 1;
        // Every value is low + (something < span) ≤ the range's end ≤ u16::MAX.
        (0..span)
            .map(move |i| u16::try_from(low + (start + i) % span).expect("within the u16 range"))
    }
}

#[async_trait::async_trait]
impl ::turn::relay::RelayAddressGenerator for RelayPorts {
    fn validate(&self) -> Result<(), ::turn::Error> {
        if *self.ports.start() == 0 || self.ports.is_empty() {
            return Err(::turn::Error::Other(
                "relay port range must be non-empty and not include port 0".into(),
            ));
        }
        Ok(())
    }

    async fn allocate_conn(
        &self,
        use_ipv4: bool,
        requested_port: u16,
    ) -> Result<(Arc<dyn webrtc_util::Conn + Send + Sync>, SocketAddr), ::turn::Error> {
        if use_ipv4 != self.bind_ip.is_ipv4() {
            return Err(::turn::Error::Other("address family not served".into()));
        }
        let candidates: Vec<u16> = if requested_port != 0 {
            vec![requested_port]
        } else {
            self.probe_order(rand::random::<u32>() % 65_536).collect()
        };
        for port in candidates {
            if !self.ports.contains(&port) {
                continue;
            }
            if let Ok(socket) = UdpSocket::bind((self.bind_ip, port)).await {
                crate::stun::wire::enlarge_buffers(&socket, RELAY_BUFFER_BYTES);
                let relay_addr = SocketAddr::new(self.advertised_ip, port);
                return Ok((Arc::new(socket), relay_addr));
            }
        }
        Err(::turn::Error::Other("no free relay port in range".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probing_visits_every_port_once_from_any_start() {
        let relay = RelayPorts {
            bind_ip: [127, 0, 0, 1].into(),
            advertised_ip: [127, 0, 0, 1].into(),
            ports: 65_530..=65_535,
        };
        for start in [0, 3, 65_535, u32::MAX - 7] {
            let mut seen: Vec<u16> = relay.probe_order(start % 65_536).collect();
            seen.sort_unstable();
            assert_eq!(seen, (65_530..=65_535).collect::<Vec<_>>());
        }
    }
}
