//! Peers hear from each other at least every keepalive period even when nothing else is due (anti-entropy and
//! route announcements set an hour apart): the keepalive has its own timer, so a node behind a NAT keeps its
//! mapping open by design, whatever the other periods become.

use std::time::Duration;

use hearsay_node::gossip::sim::{LinkModel, Sim, sim_seed};

#[test]
fn peers_hear_from_each_other_every_keepalive_when_nothing_else_is_sent() {
    let mut sim = Sim::new(sim_seed(11), LinkModel::default());
    let hour = Duration::from_secs(3600);
    sim.timing.anti_entropy = hour;
    sim.timing.route_period = hour;
    sim.timing.route_lifetime = 3 * hour;
    let keepalive = sim.timing.keepalive;
    let nodes = sim.line(3);
    sim.run_for(Duration::from_secs(2));
    let mut longest = Duration::ZERO;
    for _ in 0..120 {
        sim.run_for(Duration::from_millis(500));
        for &i in &nodes {
            for peer in sim.nodes[i].gossip.peers() {
                let heard = peer.last_heard.expect("every peer has been heard");
                longest = longest.max(sim.now.saturating_duration_since(heard));
                assert!(
                    peer.live,
                    "node {i} lost peer {} after {:?}",
                    peer.addr,
                    sim.elapsed()
                );
            }
        }
    }
    let slack = Duration::from_millis(600); // link latency plus the 500 ms sampling step
    assert!(
        longest <= keepalive + slack,
        "a peer went {longest:?} without a datagram; the keepalive is {keepalive:?}"
    );
    assert!(
        sim.routes_complete(&nodes),
        "routes stay up on keepalives alone"
    );
}
