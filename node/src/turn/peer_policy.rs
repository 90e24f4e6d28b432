//! Which peers the TURN server relays to. A TURN server that relays anywhere is an open proxy into the network it
//! stands in: by default hearsay refuses peers on loopback, private (RFC 1918, RFC 4193 unique-local), shared
//! CGNAT (RFC 6598), link-local, multicast, broadcast and unspecified addresses, and the gate answers such a
//! CreatePermission or ChannelBind with 403 (RFC 8656 §9.1). `--relay-allow-private` lifts this, for LANs and
//! tests.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The relay policy for peer addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerPolicy {
    pub allow_private: bool,
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
    // Never relay to these, whatever the flag: they do not name one reachable host.
    if ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() || ip.octets()[0] == 0 {
        return false;
    }
    if allow_private {
        return true;
    }
    let [a, b, ..] = ip.octets();
    let shared_cgnat = a == 100 && (64..128).contains(&b);
    !(ip.is_loopback() || ip.is_private() || ip.is_link_local() || shared_cgnat)
}

fn v6_allowed(ip: Ipv6Addr, allow_private: bool) -> bool {
    if ip.is_unspecified() || ip.is_multicast() {
        return false;
    }
    if allow_private {
        return true;
    }
    let first = ip.segments()[0];
    let unique_local = first & 0xFE00 == 0xFC00;
    let link_local = first & 0xFFC0 == 0xFE80;
    !(ip.is_loopback() || unique_local || link_local)
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
        ] {
            assert!(STRICT.allows(ip(allowed)), "{allowed} should be allowed");
        }
    }

    #[test]
    fn lan_policy_allows_private_but_never_multicast_or_unspecified() {
        for allowed in ["127.0.0.1", "10.0.0.1", "192.168.0.9", "fe80::1", "::1"] {
            assert!(LAN.allows(ip(allowed)), "{allowed} should be allowed");
        }
        for refused in ["0.0.0.0", "224.0.0.1", "255.255.255.255", "::", "ff02::1"] {
            assert!(!LAN.allows(ip(refused)), "{refused} should be refused");
        }
    }
}
