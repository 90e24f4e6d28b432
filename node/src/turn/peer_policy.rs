//! Which peers the TURN server relays to. A TURN server that relays anywhere is an open proxy into the network it
//! stands in: by default hearsay refuses peers on loopback, private (RFC 1918, RFC 4193 unique-local, deprecated
//! site-local fec0::/10), shared CGNAT (RFC 6598), link-local, IETF protocol assignments (192.0.0.0/24),
//! benchmarking (198.18.0.0/15), multicast, broadcast, reserved (240.0.0.0/4) and unspecified addresses, and IPv6
//! forms that embed such an IPv4 address (NAT64 64:ff9b::/96, 6to4 2002::/16; local-use NAT64 64:ff9b:1::/48
//! always); the gate answers such a CreatePermission or ChannelBind with 403 (RFC 8656 §9.1).
//! `--relay-allow-private` lifts this, for LANs and tests. The node's own service ports are never relayed to
//! ([`OwnServices`]), whatever the flag: a relay must not be a way into the node itself.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The relay policy for peer addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerPolicy {
    pub allow_private: bool,
}

/// The node's own services: a peer on one of these ports at one of these addresses (or on loopback) is refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnServices {
    pub ips: Vec<IpAddr>,
    pub ports: Vec<u16>,
}

impl OwnServices {
    /// True when `peer` is one of the node's own services.
    pub fn contains(&self, peer: std::net::SocketAddr) -> bool {
        let ip = peer.ip().to_canonical();
        self.ports.contains(&peer.port())
            && (ip.is_loopback()
                || ip.is_unspecified()
                || self.ips.iter().any(|own| own.to_canonical() == ip))
    }
}

impl PeerPolicy {
    /// True when the server may relay to `ip`.
    pub fn allows(&self, ip: IpAddr) -> bool {
        match ip.to_canonical() {
            IpAddr::V4(v4) => v4_allowed(v4, self.allow_private),
            IpAddr::V6(v6) => v6_allowed(v6, self.allow_private),
        }
    }
}

fn v4_allowed(ip: Ipv4Addr, allow_private: bool) -> bool {
    let [a, b, c, _] = ip.octets();
    // Never relay to these, whatever the flag: they do not name one reachable host.
    let reserved = a >= 240; // 240.0.0.0/4, and 255.255.255.255
    if ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() || a == 0 || reserved {
        return false;
    }
    if allow_private {
        return true;
    }
    let shared_cgnat = a == 100 && (64..128).contains(&b);
    let protocol_assignments = a == 192 && b == 0 && c == 0;
    let benchmarking = a == 198 && (b & 0xFE) == 18;
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || shared_cgnat
        || protocol_assignments
        || benchmarking)
}

fn v6_allowed(ip: Ipv6Addr, allow_private: bool) -> bool {
    if ip.is_unspecified() || ip.is_multicast() {
        return false;
    }
    let seg = ip.segments();
    let octets = ip.octets();
    // Forms that reach an IPv4 host: judged by that host.
    let embedded = if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        Some(Ipv4Addr::new(
            octets[12], octets[13], octets[14], octets[15],
        )) // NAT64 well-known prefix
    } else if seg[0] == 0x2002 {
        Some(Ipv4Addr::new(octets[2], octets[3], octets[4], octets[5])) // 6to4
    } else {
        None
    };
    if let Some(v4) = embedded {
        return v4_allowed(v4, allow_private);
    }
    if allow_private {
        return true;
    }
    let first = seg[0];
    let unique_local = first & 0xFE00 == 0xFC00;
    let link_local = first & 0xFFC0 == 0xFE80;
    let site_local = first & 0xFFC0 == 0xFEC0;
    let local_nat64 = seg[..3] == [0x64, 0xff9b, 1];
    !(ip.is_loopback() || unique_local || link_local || site_local || local_nat64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: PeerPolicy = PeerPolicy {
        allow_private: false,
    };
    const LAN: PeerPolicy = PeerPolicy {
        allow_private: true,
    };

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn strict_policy_refuses_everything_not_public() {
        for refused in [
            "127.0.0.1",
            "127.9.9.9",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.1.1",
            "100.64.0.1",
            "100.127.255.255",
            "224.0.0.1",
            "239.255.255.250",
            "255.255.255.255",
            "0.0.0.0",
            "0.1.2.3",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "fc12::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "192.0.0.8",
            "198.18.0.1",
            "198.19.255.254",
            "240.0.0.1",
            "250.1.2.3",
            "fec0::1",
            "64:ff9b::10.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b:1::1",
            "2002:c0a8:0101::1",
            "2002:7f00:0001::1",
        ] {
            assert!(!STRICT.allows(ip(refused)), "{refused} should be refused");
        }
    }

    #[test]
    fn strict_policy_allows_public_addresses() {
        for allowed in [
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "192.0.2.10",
            "2001:db8::1",
            "2a00:1450::1",
            "::ffff:1.2.3.4",
            "198.20.0.1",
            "192.0.1.1",
            "64:ff9b::1.2.3.4",
            "2002:0102:0304::1",
        ] {
            assert!(STRICT.allows(ip(allowed)), "{allowed} should be allowed");
        }
    }

    #[test]
    fn lan_policy_allows_private_but_never_multicast_or_unspecified() {
        for allowed in ["127.0.0.1", "10.0.0.1", "192.168.0.9", "fe80::1", "::1"] {
            assert!(LAN.allows(ip(allowed)), "{allowed} should be allowed");
        }
        for refused in [
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "::",
            "ff02::1",
            "64:ff9b::240.0.0.1",
        ] {
            assert!(!LAN.allows(ip(refused)), "{refused} should be refused");
        }
    }

    #[test]
    fn the_nodes_own_services_are_never_peers() {
        let own = OwnServices {
            ips: vec![ip("203.0.113.5")],
            ports: vec![5000, 3478],
        };
        for refused in [
            "203.0.113.5:5000",
            "127.0.0.1:3478",
            "[::ffff:203.0.113.5]:3478",
            "0.0.0.0:5000",
        ] {
            assert!(own.contains(refused.parse().unwrap()), "{refused}");
        }
        for allowed in ["203.0.113.5:5001", "127.0.0.1:5001", "198.51.100.1:5000"] {
            assert!(!own.contains(allowed.parse().unwrap()), "{allowed}");
        }
    }
}
