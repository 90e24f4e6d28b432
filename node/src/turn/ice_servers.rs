//! The `iceServers` list a node hands out: its STUN server and its TURN server with credentials minted on the
//! spot from the node's secret. [`IceServerSource::fresh`] is a pure function of the time and a label.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime};

use hearsay_shared::ice::{IceServer, IceServers};

use super::credentials::TurnSecret;

/// How long credentials handed to a page stay valid: long enough for a long call, refreshed on every connect.
pub const PAGE_CREDENTIAL_TTL: Duration = Duration::from_secs(12 * 3600);

/// Where this node's STUN and TURN servers are reachable, and the secret to mint TURN credentials with.
#[derive(Debug, Clone)]
pub struct IceServerSource {
    /// The host browsers should use (the relay's advertised address).
    pub host: IpAddr,
    pub stun_port: u16,
    pub turn_port: u16,
    pub secret: TurnSecret,
}

impl IceServerSource {
    pub fn new(host: IpAddr, stun: SocketAddr, turn: SocketAddr, secret: TurnSecret) -> Self {
        Self {
            host,
            stun_port: stun.port(),
            turn_port: turn.port(),
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
        IceServers {
            servers: vec![
                IceServer {
                    urls: vec![format!("stun:{host}:{}", self.stun_port)],
                    username: None,
                    credential: None,
                },
                IceServer {
                    urls: vec![format!("turn:{host}:{}?transport=udp", self.turn_port)],
                    username: Some(minted.username),
                    credential: Some(minted.password),
                },
            ],
            expires: minted.expires,
        }
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
            secret.clone(),
        );
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let list = source.fresh("page", now, Duration::from_secs(100));
        assert_eq!(list.expires, 1_100);
        assert_eq!(list.servers[0].urls, ["stun:192.0.2.7:3478"]);
        assert_eq!(list.servers[1].urls, ["turn:192.0.2.7:3479?transport=udp"]);
        let turn = &list.servers[1];
        let creds = Credentials::new(secret, HashMap::new());
        assert_eq!(
            creds
                .password_for(turn.username.as_deref().unwrap(), now)
                .ok(),
            turn.credential.clone()
        );
    }
}
