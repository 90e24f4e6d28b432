//! What a newcomer's flood costs one node: copies of it are not acknowledged (nobody waits for them), and what a peer
//! has just sent us is neither pushed back to it nor announced to it. A rumor pushed along the tree still is
//! acknowledged, once for all that peer pushed within the acknowledgement delay. Driven on one engine directly, with
//! peers that are plain addresses.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hearsay_node::gossip::{Command, Config, Ed25519Check, Gossip, Identity, Output, Timing};
use hearsay_shared::gossip::{
    self, Packet, RouteAnnouncement, Rumor, SignedRoute, Status, StatusScope,
};

const X: &str = "127.0.0.2:5000";
const Z: &str = "127.0.0.3:5000";
const W: &str = "127.0.0.4:5000";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// A node with peers X, Z and W, all heard from (live), past its greetings.
fn node(start: Instant) -> Gossip {
    let mut g = Gossip::new(
        start,
        Identity::from_seed([1; 32]),
        Arc::new(Ed25519Check),
        Config::new("y", 1, 1),
    );
    let keepalive = datagram(Packet::Status(Status {
        scope: StatusScope::Listed,
        entries: vec![],
    }));
    for peer in [X, Z, W] {
        g.handle_command(start, Command::AddPeer(addr(peer)))
            .unwrap();
        g.handle_datagram(start, addr(peer), &keepalive);
    }
    drain(&mut g);
    g
}

/// The first announcement of a user nobody knew, as a peer one hop from it passes it on.
fn newcomer_rumor() -> Rumor {
    rumor_of(9)
}

/// The first announcement of the user whose key is made from `seed`, one hop away.
fn rumor_of(seed: u8) -> Rumor {
    let id = Identity::from_seed([seed; 32]);
    let route = RouteAnnouncement {
        origin: id.public(),
        seq: 1,
        name: "newcomer".into(),
        addrs: vec![],
        services: vec![],
    };
    let signature = id.sign(&route.signed_bytes());
    Rumor {
        signed: Arc::new(SignedRoute { route, signature }),
        hops: 1,
    }
}

/// Every datagram the node sends until its outputs run dry, decoded, with its destination.
fn drain(g: &mut Gossip) -> Vec<(SocketAddr, Packet)> {
    let mut sent = Vec::new();
    while let Some(out) = g.poll_output() {
        if let Output::Transmit { to, bytes } = out {
            sent.push((
                to,
                gossip::decode(&bytes).expect("the engine sends what decodes"),
            ));
        }
    }
    sent
}

/// Runs the node's timers from `from` to `to` in steps of 10 ms, collecting what it sends.
fn run(g: &mut Gossip, from: Instant, to: Instant) -> Vec<(SocketAddr, Packet)> {
    let mut sent = Vec::new();
    let mut now = from;
    while now < to {
        now += Duration::from_millis(10);
        g.handle_timeout(now);
        sent.extend(drain(g));
    }
    sent
}

/// Packets to `peer` that carry the newcomer or list it (a page of a full sync, which walks the whole table, does not
/// count).
fn about_newcomer(sent: &[(SocketAddr, Packet)], peer: &str) -> Vec<Packet> {
    let rumor = newcomer_rumor();
    let prefix = rumor.signed.route.origin.prefix();
    sent.iter()
        .filter(|(to, _)| *to == addr(peer))
        .filter(|(_, p)| match p {
            Packet::Rumors(rs) | Packet::Flood(rs) => rs.iter().any(|r| r.signed == rumor.signed),
            Packet::Status(s) | Packet::Graft(s) => {
                s.scope == StatusScope::Listed && s.entries.iter().any(|e| e.origin == prefix)
            }
            _ => false,
        })
        .map(|(_, p)| p.clone())
        .collect()
}

fn datagram(packet: Packet) -> Vec<u8> {
    gossip::encode(&packet).unwrap()
}

/// What a fresh node sends in the half second after `packet` arrives from X.
fn half_a_second_after(packet: Packet) -> Vec<(SocketAddr, Packet)> {
    let t0 = Instant::now();
    let mut y = node(t0);
    y.handle_datagram(t0, addr(X), &datagram(packet));
    let mut sent = drain(&mut y);
    sent.extend(run(&mut y, t0, t0 + Duration::from_millis(500)));
    sent
}

#[test]
fn a_flood_is_passed_on_as_a_flood_and_not_acknowledged() {
    let sent = half_a_second_after(Packet::Flood(vec![newcomer_rumor()]));
    assert!(
        about_newcomer(&sent, X).is_empty(),
        "answered the flood: {:?}",
        about_newcomer(&sent, X)
    );
    let to_z = about_newcomer(&sent, Z);
    assert!(
        matches!(to_z.as_slice(), [Packet::Flood(_)]),
        "Z should get the newcomer as one flood, got {to_z:?}"
    );
}

#[test]
fn a_rumor_pushed_along_the_tree_is_acknowledged() {
    let sent = half_a_second_after(Packet::Rumors(vec![newcomer_rumor()]));
    assert!(
        about_newcomer(&sent, X)
            .iter()
            .any(|p| matches!(p, Packet::Status(_))),
        "no acknowledgement of a pushed rumor: {sent:?}"
    );
}

#[test]
fn what_a_peer_sent_us_goes_back_to_it_neither_whole_nor_announced() {
    let t0 = Instant::now();
    let mut y = node(t0);
    let flood = datagram(Packet::Flood(vec![newcomer_rumor()]));
    // X's copy first; Z's arrives before ours has left for Z (pushes wait a few milliseconds to share datagrams).
    y.handle_datagram(t0, addr(X), &flood);
    let mut sent = drain(&mut y);
    y.handle_datagram(t0 + Duration::from_millis(1), addr(Z), &flood);
    sent.extend(drain(&mut y));
    // Past the lazy delay, when the announcements of the flood go out.
    let past_lazy_delay = t0 + Timing::default().lazy_delay + Duration::from_secs(1);
    sent.extend(run(&mut y, t0 + Duration::from_millis(1), past_lazy_delay));
    for peer in [X, Z] {
        assert!(
            about_newcomer(&sent, peer).is_empty(),
            "sent {peer} what it had sent us: {:?}",
            about_newcomer(&sent, peer)
        );
    }
    // W sent nothing: it gets the flood and, after the lazy delay, its announcement.
    let to_w = about_newcomer(&sent, W);
    assert!(
        matches!(to_w.as_slice(), [Packet::Flood(_), Packet::Status(_)]),
        "W should get the flood and its announcement, got {to_w:?}"
    );
    assert!(y.next_hop(&newcomer_rumor().signed.route.origin).is_some());
}

#[test]
fn rumors_pushed_close_together_get_one_acknowledgement() {
    let t0 = Instant::now();
    let mut y = node(t0);
    let (a, b) = (rumor_of(9), rumor_of(10));
    y.handle_datagram(t0, addr(X), &datagram(Packet::Rumors(vec![a.clone()])));
    let mut sent = drain(&mut y);
    sent.extend(run(&mut y, t0, t0 + Duration::from_millis(50)));
    y.handle_datagram(
        t0 + Duration::from_millis(50),
        addr(X),
        &datagram(Packet::Rumors(vec![b.clone()])),
    );
    sent.extend(drain(&mut y));
    sent.extend(run(
        &mut y,
        t0 + Duration::from_millis(50),
        t0 + Duration::from_millis(500),
    ));
    let acks: Vec<Vec<_>> = sent
        .iter()
        .filter_map(|(to, p)| match p {
            Packet::Status(s)
                if *to == addr(X) && s.scope == StatusScope::Listed && !s.entries.is_empty() =>
            {
                Some(s.entries.iter().map(|e| e.origin).collect())
            }
            _ => None,
        })
        .collect();
    let both = vec![
        a.signed.route.origin.prefix(),
        b.signed.route.origin.prefix(),
    ];
    assert_eq!(
        acks.len(),
        1,
        "one acknowledgement for both pushes, got {acks:?}"
    );
    let mut acked = acks[0].clone();
    acked.sort();
    let mut both = both;
    both.sort();
    assert_eq!(acked, both);
}
