//! The `iceServers` list of a node's own servers: its STUN server and its TURN server with credentials minted on
//! the spot from the node's secret, for its own page. [`IceServerSource::fresh`] is a pure function of the time and
//! a label. (Whether a page gets these or other nodes' servers is the traversal machine's choice.)

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime};

use hearsay_shared::ice::{IceServer, IceServers};

use super::credentials::TurnSecret;

/// How long credentials handed to the node's own page may start allocations. The page gets fresh ones every
/// [`PAGE_REFRESH`]; an allocation outlives them (the TURN server checks the expiry on Allocate only).
pub const PAGE_CREDENTIAL_TTL: Duration = Duration::from_secs(3600);
/// How often a connected page is sent a fresh list.
pub const PAGE_REFRESH: Duration = Duration::from_secs(20 * 60);

/// Where this node's STUN and TURN servers are reachable, and the secret to mint TURN credentials with.
#[derive(Debug, Clone)]
pub struct IceServerSource {
    /// The host browsers should use (the relay's advertised address).
    pub host: IpAddr,
    pub stun_port: u16,
    pub turn_port: u16,
    /// TURN over TCP, for browsers on networks that block UDP.
    pub turn_tcp_port: Option<u16>,
    pub secret: TurnSecret,
}

impl IceServerSource {
    pub fn new(
        host: IpAddr,
        stun: SocketAddr,
        turn: SocketAddr,
        turn_tcp_port: Option<u16>,
        secret: TurnSecret,
    ) -> Self {
        Self {
            host,
            stun_port: stun.port(),
            turn_port: turn.port(),
            turn_tcp_port,
            secret,
        }
    }

    /// The list with TURN credentials for `label` (e.g. `page`, or a caller's name) valid for `ttl` from `now`.
    pub fn fresh(&self, label: &str, now: SystemTime, ttl: Duration) -> IceServers {
        let host = match self.host {
            IpAddr::V6(v6) => format!("[{v6}]"),
            v4 => v4.to_string(),
        };
        let minted = self.secret.mint(label, now, ttl);
        let mut turn_urls = vec![format!("turn:{host}:{}?transport=udp", self.turn_port)];
        if let Some(port) = self.turn_tcp_port {
            turn_urls.push(format!("turn:{host}:{port}?transport=tcp"));
        }
        IceServers {
            servers: vec![
                IceServer {
                    urls: vec![format!("stun:{host}:{}", self.stun_port)],
                    username: None,
                    credential: None,
                },
                IceServer {
                    urls: turn_urls,
                    username: Some(minted.username),
                    credential: Some(minted.password),
                },
            ],
            expires: minted.expires,
        }
    }

    /// The list for this node's own page.
    pub fn for_page(&self, now: SystemTime) -> IceServers {
        self.fresh(super::credentials::OWN_PAGE_LABEL, now, PAGE_CREDENTIAL_TTL)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::turn::credentials::Credentials;

    #[test]
    fn fresh_list_has_stun_and_turn_with_working_credentials() {
        let secret = TurnSecret::new("0123456789abcdef");
        let source = IceServerSource::new(
            "192.0.2.7".parse().unwrap(),
            "0.0.0.0:3478".parse().unwrap(),
            "0.0.0.0:3479".parse().unwrap(),
            Some(3480),
            secret.clone(),
        );
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let list = source.fresh("page", now, Duration::from_secs(100));
        assert_eq!(list.expires, 1_100);
        assert_eq!(list.servers[0].urls, ["stun:192.0.2.7:3478"]);
        assert_eq!(
            list.servers[1].urls,
            [
                "turn:192.0.2.7:3479?transport=udp",
                "turn:192.0.2.7:3480?transport=tcp"
            ]
        );
        let turn = &list.servers[1];
        let creds = Credentials::new(secret, HashMap::new());
        assert_eq!(
            creds.password_for(turn.username.as_deref().unwrap()).ok(),
            turn.credential.clone()
        );
    }
}
