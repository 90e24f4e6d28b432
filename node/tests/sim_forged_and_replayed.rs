//! A forged rumor (bad signature), a rumor signed by the wrong key, a replayed old rumor and a forged private message
//! change nothing: routes stay as they were and the drops are counted.

use std::time::Duration;

use hearsay_node::gossip::Identity;
use hearsay_node::gossip::sim::{LinkModel, Sim, sim_seed};
use hearsay_shared::gossip::{
    self, Packet, PrivateBody, PrivateContent, PrivateMessage, RouteAnnouncement, Rumor, Signature,
    SignedRoute,
};

fn converged_line() -> Sim {
    let mut sim = Sim::new(sim_seed(8), LinkModel::default());
    let line = sim.line(6);
    sim.run_until("routes along the line", Duration::from_secs(30), |s| {
        s.routes_complete(&line)
    })
    .unwrap_or_else(|e| panic!("{e}"));
    sim
}

fn rumor_bytes(route: RouteAnnouncement, signature: Signature) -> Vec<u8> {
    gossip::encode(&Packet::Rumors(vec![Rumor {
        signed: SignedRoute { route, signature }.into(),
        hops: 0,
    }]))
    .unwrap()
}

#[test]
fn forged_rumors_change_no_route_and_are_counted() {
    let mut sim = converged_line();
    let victim = sim.nodes[5].key();
    let route_before = sim.nodes[0].gossip.next_hop(&victim);
    let seq_before = sim.nodes[0].gossip.known_seq(&victim).unwrap();
    let bad_before = sim.nodes[0].gossip.stats().bad_signatures;
    // The attacker sits at node 1's address (a live peer of node 0) and claims to be the victim, newest ever.
    let hijack = RouteAnnouncement {
        origin: victim,
        seq: u64::MAX - 1,
        name: "n5".into(),
        addrs: vec!["127.9.9.9:5000".parse().unwrap()],
        services: vec![],
    };
    let from = sim.nodes[1].addr;
    sim.inject(
        0,
        from,
        rumor_bytes(hijack.clone(), Signature::from_bytes(&[7; 64])),
    );
    let attacker = Identity::from_seed([66; 32]);
    sim.inject(
        0,
        from,
        rumor_bytes(hijack.clone(), attacker.sign(&hijack.signed_bytes())),
    );
    sim.run_for(Duration::from_secs(1));
    assert_eq!(sim.nodes[0].gossip.stats().bad_signatures, bad_before + 2);
    assert_eq!(sim.nodes[0].gossip.next_hop(&victim), route_before);
    assert!(sim.nodes[0].gossip.known_seq(&victim).unwrap() < u64::MAX - 1);
    assert!(sim.nodes[0].gossip.known_seq(&victim).unwrap() >= seq_before);
}

#[test]
fn a_replayed_old_rumor_is_ignored() {
    let mut sim = converged_line();
    let victim_key = sim.nodes[5].key();
    let old_seq = sim.nodes[0].gossip.known_seq(&victim_key).unwrap();
    // The victim announces itself again within a route period.
    let period = sim.timing.route_period;
    sim.run_for(period + Duration::from_secs(5));
    let newer = sim.nodes[0].gossip.known_seq(&victim_key).unwrap();
    assert!(newer > old_seq);
    let route_before = sim.nodes[0].gossip.next_hop(&victim_key);
    let old_before = sim.nodes[0].gossip.stats().old_rumors;
    // A genuine, validly signed old announcement, replayed from another address than the route's next hop.
    let old = RouteAnnouncement {
        origin: victim_key,
        seq: old_seq,
        name: "n5".into(),
        addrs: vec![sim.nodes[5].addr],
        services: vec![],
    };
    let signature = sim.nodes[5].identity.sign(&old.signed_bytes());
    // From a peer of node 0, or it would be a stranger and only get a challenge.
    let replayer = sim.nodes[1].addr;
    sim.inject(0, replayer, rumor_bytes(old, signature));
    sim.run_for(Duration::from_millis(100));
    assert_eq!(sim.nodes[0].gossip.stats().old_rumors, old_before + 1);
    assert_eq!(sim.nodes[0].gossip.next_hop(&victim_key), route_before);
    assert_eq!(sim.nodes[0].gossip.known_seq(&victim_key), Some(newer));
}

#[test]
fn a_forged_private_message_is_neither_delivered_nor_routed() {
    let mut sim = converged_line();
    let body = PrivateBody {
        origin: sim.nodes[5].key(),
        destination: sim.nodes[0].key(),
        message_id: 1,
        sent_at_ms: sim.wall_ms(),
        max_hops: 10,
        content: PrivateContent::Fragment {
            index: 0,
            count: 1,
            data: b"it's me, honest".to_vec(),
        },
    };
    let forged = PrivateMessage {
        body,
        signature: Signature::from_bytes(&[1; 64]),
        hop_limit: 10,
    };
    let bytes = gossip::encode(&Packet::Private(forged.clone())).unwrap();
    let from = sim.nodes[1].addr;
    sim.inject(0, from, bytes);
    // And one in transit through node 2 towards node 5.
    let mut transit = forged;
    transit.body.destination = sim.nodes[5].key();
    transit.body.origin = sim.nodes[0].key();
    sim.inject(2, from, gossip::encode(&Packet::Private(transit)).unwrap());
    sim.run_for(Duration::from_secs(1));
    assert!(sim.nodes[0].events.is_empty(), "{:?}", sim.nodes[0].events);
    assert!(sim.nodes[5].events.is_empty());
    assert_eq!(sim.nodes[0].gossip.stats().bad_signatures, 1);
    assert_eq!(sim.nodes[2].gossip.stats().bad_signatures, 1);
}
