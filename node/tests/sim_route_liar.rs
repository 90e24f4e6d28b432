//! A neighbour that claims to be next to every origin (hop count 0 on every rumor, which is not signed) and drops
//! every private message does not cut a node off: the retry goes another way, and the message is delivered.

use std::time::Duration;

use hearsay_node::gossip::sim::{LinkModel, Sim, sim_seed};
use hearsay_shared::gossip::{self, MAX_RUMORS_PER_DATAGRAM, Packet, Rumor};

#[test]
fn a_liar_next_to_the_sender_is_routed_around() {
    let mut sim = Sim::new(sim_seed(41), LinkModel::default());
    let line = sim.line(4); // A – B – C – D
    let (a, d) = (line[0], line[3]);
    let liar = sim.add_node("M");
    sim.connect(a, liar);
    // M drops every private message (fragments and acks) it would forward.
    sim.set_tamper(liar, |packet| match packet {
        Packet::Private(_) => None,
        other => Some(other),
    });
    sim.run_until("routes along the line", Duration::from_secs(30), |s| {
        s.routes_complete(&line)
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let liar_addr = sim.nodes[liar].addr;
    let d_key = sim.nodes[d].key();
    // M re-announces everything it holds to A, twice a second, claiming 0 hops.
    let lie = |sim: &mut Sim| {
        let rumors: Vec<Rumor> = sim.nodes[liar]
            .gossip
            .announcements()
            .into_iter()
            .map(|signed| Rumor { signed, hops: 0 })
            .collect();
        for batch in rumors.chunks(MAX_RUMORS_PER_DATAGRAM) {
            let bytes = gossip::encode(&Packet::Rumors(batch.to_vec())).unwrap();
            sim.inject(a, liar_addr, bytes);
        }
    };
    for _ in 0..10 {
        lie(&mut sim);
        sim.run_for(Duration::from_millis(500));
    }
    assert_eq!(
        sim.nodes[a].gossip.next_hop(&d_key),
        Some(liar_addr),
        "the lie works on the table: A takes M as next to D"
    );
    let id = sim.send(a, d, b"invite".to_vec());
    let sent_at = sim.elapsed();
    let mut delivered_after = None;
    for _ in 0..60 {
        lie(&mut sim);
        sim.run_for(Duration::from_millis(500));
        if sim.delivered(a, id) {
            delivered_after = Some(sim.elapsed() - sent_at);
            break;
        }
    }
    let took = delivered_after.expect("A's message to D never delivered past the liar within 30 s");
    eprintln!(
        "delivered past the liar after {took:?}; retries rerouted at A: {}",
        sim.nodes[a].gossip.stats().rerouted_retries
    );
    assert!(sim.received(d, a, id, b"invite"));
    assert!(sim.nodes[a].gossip.stats().rerouted_retries >= 1);

    // Later messages go the working way at once while M is suspect: no retry needed.
    let second = sim.send(a, d, b"candidate".to_vec());
    sim.run_for(Duration::from_millis(400));
    assert!(
        sim.delivered(a, second),
        "the next message went around the liar at once"
    );
}
