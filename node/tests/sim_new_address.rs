//! A node that learns a new address of its own (as from a peer's STUN server) announces it at once, and the whole
//! line learns it well before the next periodic announcement would have carried it.

use std::net::SocketAddr;
use std::time::Duration;

use hearsay_node::gossip::Command;
use hearsay_node::gossip::sim::{LinkModel, Sim, sim_seed};

#[test]
fn a_new_own_address_reaches_the_far_end_of_a_line() {
    let mut sim = Sim::new(sim_seed(3), LinkModel::default());
    let line = sim.line(4);
    sim.run_until("routes along the line", Duration::from_secs(30), |s| {
        s.routes_complete(&line)
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let origin = sim.nodes[0].key();
    let addrs_at_far_end = |s: &Sim| -> Vec<SocketAddr> {
        s.nodes[3]
            .gossip
            .users()
            .into_iter()
            .find(|u| u.key == origin)
            .map(|u| u.addrs)
            .unwrap_or_default()
    };
    let public: SocketAddr = "203.0.113.7:5000".parse().unwrap(); // documentation range: only data here
    let mut addrs = addrs_at_far_end(&sim);
    assert!(!addrs.contains(&public));
    addrs.push(public);
    let seq_before = sim.nodes[0].gossip.own_seq();
    sim.command(0, Command::SetAddrs(addrs.clone()))
        .expect("addresses are accepted");
    // The route period is 10 s: well within 2 s means the change was announced, not just carried by a period.
    let took = sim
        .run_until(
            "the far end to learn the new address",
            Duration::from_secs(2),
            |s| addrs_at_far_end(s) == addrs,
        )
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("new address known 3 hops away after {took:?}");
    assert!(sim.nodes[0].gossip.own_seq() > seq_before);

    // The same addresses again change nothing: no new announcement.
    let seq = sim.nodes[0].gossip.own_seq();
    sim.command(0, Command::SetAddrs(addrs)).unwrap();
    assert_eq!(sim.nodes[0].gossip.own_seq(), seq);
}
