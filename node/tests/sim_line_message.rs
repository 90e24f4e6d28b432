//! In a line of five nodes, routes form end to end and a private message crosses all four hops and is acknowledged.

use std::time::Duration;

use hearsay_node::gossip::sim::{LinkModel, Sim, sim_seed};

#[test]
fn a_message_crosses_a_line_of_five_and_is_acknowledged() {
    let mut sim = Sim::new(sim_seed(1), LinkModel::default());
    let line = sim.line(5);
    let took = sim
        .run_until("routes along the line", Duration::from_secs(30), |s| {
            s.routes_complete(&line)
        })
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("line of 5 converged in {took:?}");
    let end = sim.nodes[4].key();
    assert_eq!(
        sim.nodes[0]
            .gossip
            .users()
            .iter()
            .find(|u| u.key == end)
            .unwrap()
            .hops,
        Some(4)
    );

    let id = sim.send(0, 4, b"hello across four hops".to_vec());
    sim.run_until("delivery reported", Duration::from_secs(10), |s| {
        s.delivered(0, id)
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(sim.received(4, 0, id, b"hello across four hops"));
    assert_eq!(sim.times_received(4, id), 1);
}
