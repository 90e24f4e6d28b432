//! The hop limit stops a private message: over five hops, a limit of 4 never arrives (and the sender is told it
//! failed) while a limit of 5 does.

use std::time::Duration;

use hearsay_node::gossip::sim::{LinkModel, Sim, sim_seed};

fn line_of_six(hop_limit: u8) -> Sim {
    let mut sim = Sim::new(sim_seed(5), LinkModel::default());
    sim.hop_limit = hop_limit;
    let line = sim.line(6);
    sim.run_until("routes along the line", Duration::from_secs(30), |s| {
        s.routes_complete(&line)
    })
    .unwrap_or_else(|e| panic!("{e}"));
    sim
}

#[test]
fn a_hop_limit_below_the_distance_stops_the_message() {
    let mut sim = line_of_six(4);
    let id = sim.send(0, 5, b"too far".to_vec());
    sim.run_until(
        "the sender is told it failed",
        Duration::from_secs(60),
        |s| s.failed(0, id),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sim.times_received(5, id), 0);
    assert!(
        sim.nodes[4].gossip.stats().hop_limit_drops > 0,
        "the last hop before the end drops it"
    );
}

#[test]
fn a_hop_limit_equal_to_the_distance_is_enough() {
    let mut sim = line_of_six(5);
    let id = sim.send(0, 5, b"just far enough".to_vec());
    sim.run_until("delivered", Duration::from_secs(10), |s| s.delivered(0, id))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(sim.received(5, 0, id, b"just far enough"));
}
