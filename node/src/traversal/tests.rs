//! The traversal machine on its own: time and every peer's answer are played by the test.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant, UNIX_EPOCH};

use hearsay_shared::gossip::{PublicKey, Service, service_kind};
use hearsay_shared::node_msg::{NodeMsg, TurnRefusal};

use super::machine::*;
use super::reachability::Verdict;
use super::{IceChoice, RelayFor};
use crate::gossip::UserInfo;
use crate::turn::credentials::{Credentials, TurnSecret};

const UNIX: u64 = 1_800_000_000;

fn key(b: u8) -> PublicKey {
    PublicKey([b; 32])
}

fn settings(relay_ip: &str, relay_for: RelayFor) -> Settings {
    Settings {
        name: "me".into(),
        gossip_local: "0.0.0.0:5000".parse().unwrap(),
        stun_port: 3478,
        turn_port: 3479,
        turn_tcp_port: 3479,
        relay_ip: relay_ip.parse().unwrap(),
        relay_for,
        secret: TurnSecret::new("traversal-test-secret"),
        rng_seed: 1,
    }
}

struct Bench {
    t: Traversal,
    t0: Instant,
    secs: u64,
}

impl Bench {
    fn new(relay_ip: &str, relay_for: RelayFor) -> Self {
        let t0 = Instant::now();
        Self {
            t: Traversal::new(Now { at: t0, unix: UNIX }, settings(relay_ip, relay_for)),
            t0,
            secs: 0,
        }
    }

    fn now(&self) -> Now {
        Now {
            at: self.t0 + Duration::from_secs(self.secs),
            unix: UNIX + self.secs,
        }
    }

    /// Every output but timeouts.
    fn drain(&mut self) -> Vec<Output> {
        let mut out = Vec::new();
        while let Some(o) = self.t.poll_output() {
            if !matches!(o, Output::Timeout(_)) {
                out.push(o);
            }
        }
        out
    }

    fn users(&mut self, users: Vec<UserInfo>) -> Vec<Output> {
        self.t.handle_users(self.now(), users);
        self.drain()
    }

    fn message(&mut self, from: PublicKey, msg: NodeMsg) -> Vec<Output> {
        self.t.handle_message(self.now(), from, msg);
        self.drain()
    }
}

fn direct_peer(b: u8, addr: &str, services: &[(u16, u16)]) -> UserInfo {
    let addr: SocketAddr = addr.parse().unwrap();
    UserInfo {
        key: key(b),
        name: format!("peer{b}"),
        hops: Some(1),
        reachable: true,
        next_hop: Some(addr),
        addrs: vec![addr],
        services: services
            .iter()
            .map(|&(kind, port)| Service { kind, port })
            .collect(),
    }
}

const RELAY: &[(u16, u16)] = &[(service_kind::STUN, 3478), (service_kind::TURN, 3479)];

fn probe_nonce(outputs: &[Output], to: PublicKey) -> u64 {
    outputs
        .iter()
        .find_map(|o| match o {
            Output::Send {
                to: t,
                msg: NodeMsg::ProbeRequest { nonce, ports },
            } if *t == to => {
                assert_eq!(ports, &[3478, 3479], "asks about its STUN and TURN ports");
                Some(*nonce)
            }
            _ => None,
        })
        .expect("a probe request")
}

#[test]
fn a_node_reached_from_outside_announces_stun_and_turn_and_its_page_uses_its_own() {
    let mut b = Bench::new("203.0.113.10", RelayFor::All);
    let out = b.users(vec![direct_peer(1, "203.0.113.11:5000", &[])]);
    let nonce = probe_nonce(&out, key(1));
    assert_eq!(b.t.verdict(), Verdict::Unknown);
    assert!(
        !out.iter().any(|o| matches!(o, Output::SetServices(_))),
        "nothing announced before a dial-back"
    );
    let ip: IpAddr = "203.0.113.10".parse().unwrap();
    let out = b.message(
        key(1),
        NodeMsg::ProbeResult {
            nonce,
            probed_ip: ip,
            answered: vec![3478, 3479],
        },
    );
    assert!(out.contains(&Output::SetServices(vec![
        Service {
            kind: service_kind::STUN,
            port: 3478
        },
        Service {
            kind: service_kind::TURN,
            port: 3479
        },
    ])));
    assert!(out.contains(&Output::SetAddrs(vec![
        "203.0.113.10:5000".parse().unwrap()
    ])));
    assert!(out.contains(&Output::Changed));
    assert_eq!(b.t.ice_choice(), IceChoice::Own);
    let view = b.t.view();
    assert_eq!(view.reachable, Some(true));
    assert_eq!(view.addrs, ["203.0.113.10:5000"]);
    assert!(view.relays[0].own);
}

#[test]
fn a_node_behind_a_nat_borrows_a_reachable_peers_relay_once_it_answers() {
    let mut b = Bench::new("10.0.1.2", RelayFor::All);
    let hub = direct_peer(1, "203.0.113.10:5000", RELAY);
    let out = b.users(vec![hub.clone()]);
    let nonce = probe_nonce(&out, key(1));
    let request = out
        .iter()
        .find_map(|o| match o {
            Output::Send {
                to,
                msg: NodeMsg::TurnRequest { request },
            } if *to == key(1) => Some(*request),
            _ => None,
        })
        .expect("asks the hub for TURN while its own reachability is unknown");
    assert!(out.contains(&Output::LookUp {
        servers: vec!["203.0.113.10:3478".parse().unwrap()]
    }));
    let out = b.message(
        key(1),
        NodeMsg::ProbeResult {
            nonce,
            probed_ip: "203.0.113.11".parse().unwrap(),
            answered: vec![],
        },
    );
    assert_eq!(b.t.verdict(), Verdict::Unreachable);
    assert!(
        !out.iter()
            .any(|o| matches!(o, Output::SetServices(s) if !s.is_empty()))
    );
    assert_eq!(b.t.view().reachable, Some(false));
    assert_eq!(
        b.t.view().addrs,
        ["203.0.113.11:5000"],
        "the address the hub sees"
    );
    assert!(
        b.t.view().relays.is_empty(),
        "its own LAN servers are no relay for anyone outside"
    );
    let out = b.message(
        key(1),
        NodeMsg::TurnGrant {
            request,
            username: format!("{}:x", UNIX + 600),
            password: "pw".into(),
            expires: UNIX + 600,
            stun_port: 3478,
            turn_port: 3479,
            turn_tcp_port: 3479,
        },
    );
    let stun: SocketAddr = "203.0.113.10:3478".parse().unwrap();
    let turn: SocketAddr = "203.0.113.10:3479".parse().unwrap();
    assert!(out.contains(&Output::CheckRelay {
        key: key(1),
        stun,
        turn,
        turn_tcp: Some(turn),
    }));
    assert_eq!(
        b.t.ice_choice(),
        IceChoice::Own,
        "not before the relay answered the node itself"
    );
    b.t.handle_relay_checked(b.now(), key(1), true);
    let out = b.drain();
    assert!(out.contains(&Output::Changed));
    let IceChoice::Relays(servers) = b.t.ice_choice() else {
        panic!("expected the hub's servers")
    };
    assert_eq!(servers.expires, UNIX + 600);
    let urls: Vec<&str> = servers
        .servers
        .iter()
        .flat_map(|s| s.urls.iter().map(String::as_str))
        .collect();
    assert_eq!(
        urls,
        [
            "stun:203.0.113.10:3478",
            "turn:203.0.113.10:3479?transport=udp",
            "turn:203.0.113.10:3479?transport=tcp"
        ]
    );
    assert_eq!(servers.servers[1].credential.as_deref(), Some("pw"));
    let view = b.t.view();
    assert_eq!(view.relays.len(), 1);
    assert_eq!(
        (view.relays[0].name.as_str(), view.relays[0].own),
        ("peer1", false)
    );
}

#[test]
fn probes_go_only_to_direct_peers_at_the_address_we_reach_them_at_within_budget() {
    let mut b = Bench::new("203.0.113.10", RelayFor::All);
    let mut far = direct_peer(2, "203.0.113.12:5000", &[]);
    far.hops = Some(3);
    b.users(vec![direct_peer(1, "198.51.100.7:40000", &[]), far]);
    let ask = |nonce| NodeMsg::ProbeRequest {
        nonce,
        ports: vec![3478, 3479],
    };
    assert!(
        !b.message(key(2), ask(1))
            .iter()
            .any(|o| matches!(o, Output::Probe { .. })),
        "not a direct peer: no probe"
    );
    let out = b.message(key(1), ask(2));
    let id = out
        .iter()
        .find_map(|o| match o {
            Output::Probe { id, ip, ports } => {
                assert_eq!(
                    *ip,
                    "198.51.100.7".parse::<IpAddr>().unwrap(),
                    "the IP its datagrams come from"
                );
                assert_eq!(ports, &[3478, 3479]);
                Some(*id)
            }
            _ => None,
        })
        .expect("a probe");
    b.message(key(1), ask(3));
    assert!(
        !b.message(key(1), ask(4))
            .iter()
            .any(|o| matches!(o, Output::Probe { .. })),
        "over the per-key budget"
    );
    b.t.handle_probe_done(b.now(), id, vec![3478]);
    let out = b.drain();
    assert!(out.contains(&Output::Send {
        to: key(1),
        msg: NodeMsg::ProbeResult {
            nonce: 2,
            probed_ip: "198.51.100.7".parse().unwrap(),
            answered: vec![3478]
        },
    }));
}

fn reachable_bench(relay_for: RelayFor) -> Bench {
    let mut b = Bench::new("203.0.113.10", relay_for);
    let out = b.users(vec![direct_peer(1, "203.0.113.11:5000", &[])]);
    let nonce = probe_nonce(&out, key(1));
    b.message(
        key(1),
        NodeMsg::ProbeResult {
            nonce,
            probed_ip: "203.0.113.10".parse().unwrap(),
            answered: vec![3478, 3479],
        },
    );
    b
}

fn grant_of(out: &[Output]) -> Option<(String, String, u64)> {
    out.iter().find_map(|o| match o {
        Output::Send {
            msg:
                NodeMsg::TurnGrant {
                    username,
                    password,
                    expires,
                    ..
                },
            ..
        } => Some((username.clone(), password.clone(), *expires)),
        _ => None,
    })
}

fn refusal_of(out: &[Output]) -> Option<TurnRefusal> {
    out.iter().find_map(|o| match o {
        Output::Send {
            msg: NodeMsg::TurnRefused { reason, .. },
            ..
        } => Some(*reason),
        _ => None,
    })
}

#[test]
fn lent_credentials_are_scoped_to_the_asking_key_and_short_lived() {
    let mut b = reachable_bench(RelayFor::All);
    let asker = key(7);
    let (username, password, expires) =
        grant_of(&b.message(asker, NodeMsg::TurnRequest { request: 1 })).expect("a grant");
    assert_eq!(username, format!("{}:{}", UNIX + 600, asker.to_hex()));
    assert_eq!(expires, UNIX + 600);
    let creds = Credentials::new(TurnSecret::new("traversal-test-secret"), Default::default());
    assert_eq!(creds.password_for(&username), Ok(password));
    let at = |secs| UNIX_EPOCH + Duration::from_secs(secs);
    assert!(creds.may_allocate(&username, at(UNIX + 600)).is_ok());
    assert!(creds.may_allocate(&username, at(UNIX + 601)).is_err());
}

#[test]
fn lending_is_refused_when_not_relaying_not_reachable_or_asked_too_often() {
    let mut b = reachable_bench(RelayFor::None);
    assert_eq!(
        refusal_of(&b.message(key(7), NodeMsg::TurnRequest { request: 1 })),
        Some(TurnRefusal::NotRelaying)
    );
    let mut b = Bench::new("10.0.1.2", RelayFor::All);
    assert_eq!(
        refusal_of(&b.message(key(7), NodeMsg::TurnRequest { request: 1 })),
        Some(TurnRefusal::NotReachable)
    );
    let mut b = reachable_bench(RelayFor::All);
    let granted = (0..10)
        .filter(|n| grant_of(&b.message(key(7), NodeMsg::TurnRequest { request: *n })).is_some())
        .count();
    assert_eq!(granted, super::lending::GRANT_BUDGET.burst as usize);
    assert_eq!(
        refusal_of(&b.message(key(7), NodeMsg::TurnRequest { request: 99 })),
        Some(TurnRefusal::RateLimited)
    );
    assert!(grant_of(&b.message(key(8), NodeMsg::TurnRequest { request: 1 })).is_some());
}

#[test]
fn a_node_relaying_for_nobody_announces_stun_but_not_turn() {
    let mut b = Bench::new("203.0.113.10", RelayFor::None);
    let out = b.users(vec![direct_peer(1, "203.0.113.11:5000", &[])]);
    let nonce = probe_nonce(&out, key(1));
    let out = b.message(
        key(1),
        NodeMsg::ProbeResult {
            nonce,
            probed_ip: "203.0.113.10".parse().unwrap(),
            answered: vec![3478, 3479],
        },
    );
    assert!(out.contains(&Output::SetServices(vec![Service {
        kind: service_kind::STUN,
        port: 3478
    }])));
    assert_eq!(
        b.t.ice_choice(),
        IceChoice::Own,
        "its own page still uses its own relay"
    );
}

#[test]
fn reachable_only_on_another_ip_than_the_relays_is_no_usable_own_relay() {
    // A port-forwarding router: peers reach the node at the public IP, but its TURN server hands out relayed
    // addresses on the LAN IP (no --relay-ip), which nobody outside can use.
    let mut b = Bench::new("192.168.1.5", RelayFor::All);
    let out = b.users(vec![direct_peer(1, "203.0.113.11:5000", RELAY)]);
    let nonce = probe_nonce(&out, key(1));
    let out = b.message(
        key(1),
        NodeMsg::ProbeResult {
            nonce,
            probed_ip: "198.51.100.2".parse().unwrap(),
            answered: vec![3478, 3479],
        },
    );
    assert_eq!(b.t.verdict(), Verdict::Reachable);
    assert!(!b.t.own_relay_usable());
    assert!(out.contains(&Output::SetServices(vec![Service {
        kind: service_kind::STUN,
        port: 3478
    }])));
}

#[test]
fn the_look_at_our_public_address_asks_direct_peers_stun_and_retries_when_nobody_answers() {
    let mut b = Bench::new("203.0.113.10", RelayFor::All);
    let out = b.users(vec![]);
    assert!(
        !out.iter().any(|o| matches!(o, Output::LookUp { .. })),
        "no peer, no look"
    );
    b.secs = 6;
    let out = b.users(vec![direct_peer(1, "203.0.113.11:5000", RELAY)]);
    assert!(out.contains(&Output::LookUp {
        servers: vec!["203.0.113.11:3478".parse().unwrap()]
    }));
    b.t.handle_reflexive(b.now(), vec![]);
    b.drain();
    b.secs += LOOKUP_RETRY.as_secs();
    b.t.handle_timeout(b.now());
    assert!(
        b.drain().iter().any(|o| matches!(o, Output::LookUp { .. })),
        "tried again soon"
    );
    b.t.handle_reflexive(b.now(), vec!["203.0.113.10".parse().unwrap()]);
    assert!(b.drain().contains(&Output::SetAddrs(vec![
        "203.0.113.10:5000".parse().unwrap()
    ])));
}

#[test]
fn a_new_network_is_announced_at_once_and_looked_at_again() {
    let mut b = Bench::new("10.0.1.2", RelayFor::All);
    b.t.handle_outward_ip(b.now(), Some("10.0.1.2".parse().unwrap()));
    assert!(
        !b.drain().contains(&Output::Announce),
        "the first look is no change"
    );
    b.users(vec![direct_peer(1, "203.0.113.10:5000", RELAY)]);
    b.t.handle_reflexive(b.now(), vec!["203.0.113.11".parse().unwrap()]);
    b.drain();
    b.secs = 30;
    b.t.handle_outward_ip(b.now(), Some("10.0.7.2".parse().unwrap()));
    let out = b.drain();
    assert!(out.contains(&Output::Announce));
    assert!(out.contains(&Output::Changed));
    assert_eq!(
        b.t.view().network_changes,
        1,
        "the page is told, so a call restarts at once"
    );
    assert!(
        out.iter().any(|o| matches!(o, Output::LookUp { .. })),
        "how it is seen from outside is looked at again now"
    );
    assert!(
        out.iter().any(|o| matches!(
            o,
            Output::Send {
                msg: NodeMsg::ProbeRequest { .. },
                ..
            }
        )),
        "and whether it is reachable"
    );
}
