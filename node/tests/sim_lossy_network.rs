//! With 20 % of all datagrams lost, a random network still converges and private messages still arrive (retried).

use std::time::Duration;

use hearsay_node::gossip::sim::{LinkModel, Sim, sim_seed};

const NODES: usize = 300;

#[test]
fn twenty_percent_loss_still_converges_and_delivers() {
    let link = LinkModel {
        loss: 0.2,
        ..LinkModel::default()
    };
    let mut sim = Sim::new(sim_seed(20), link);
    sim.random_graph(NODES, 4);
    let took = sim
        .run_until_checked_every(
            "every node has a route to every other despite loss",
            Duration::from_secs(180),
            Duration::from_millis(500),
            &mut |s| s.all_routes_known(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("{NODES} nodes with 20% loss converged in {took:?}");
    let pairs = [(0, NODES / 2), (7, NODES - 1), (NODES / 3, 11)];
    let sent: Vec<(usize, usize, u64)> = pairs
        .iter()
        .map(|&(a, b)| (a, b, sim.send(a, b, vec![a as u8; 3000])))
        .collect();
    sim.run_until("every message acknowledged", Duration::from_secs(30), |s| {
        sent.iter().all(|&(a, _, id)| s.delivered(a, id))
    })
    .unwrap_or_else(|e| panic!("{e}"));
    for &(a, b, id) in &sent {
        assert!(sim.received(b, a, id, &vec![a as u8; 3000]));
        assert_eq!(
            sim.times_received(b, id),
            1,
            "retries must not deliver twice"
        );
    }
}
