//! A network split in two loses the routes across the split (they expire), keeps those within each half, and
//! converges again once healed.

use std::time::Duration;

use hearsay_node::gossip::sim::{LinkModel, Sim, sim_seed};

const NODES: usize = 200;

#[test]
fn partition_expires_routes_across_then_heal_restores_them() {
    let mut sim = Sim::new(sim_seed(3), LinkModel::default());
    let all = sim.random_graph(NODES, 4);
    sim.run_until("initial convergence", Duration::from_secs(120), |s| {
        s.all_routes_known()
    })
    .unwrap_or_else(|e| panic!("{e}"));

    // The ring under the random graph keeps each half connected on its own.
    let (left, right): (Vec<usize>, Vec<usize>) = all.iter().partition(|&&i| i < NODES / 2);
    sim.partition(|i| u32::from(i >= NODES / 2));
    let no_route_across = |s: &Sim| {
        left.iter().all(|&a| {
            right.iter().all(|&b| {
                s.nodes[a].gossip.next_hop(&s.nodes[b].key()).is_none()
                    && s.nodes[b].gossip.next_hop(&s.nodes[a].key()).is_none()
            })
        })
    };
    let lifetime = sim.timing.route_lifetime;
    let took = sim
        .run_until_checked_every(
            "routes across the split expire",
            lifetime + Duration::from_secs(60),
            Duration::from_secs(1),
            &mut |s| no_route_across(s),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("routes across the partition gone after {took:?}");
    assert!(
        sim.routes_complete(&left) && sim.routes_complete(&right),
        "each half keeps its own routes"
    );
    let id = sim.send(left[0], right[0], b"across the split".to_vec());
    sim.run_until(
        "the message across the split fails",
        Duration::from_secs(60),
        |s| s.failed(left[0], id),
    )
    .unwrap_or_else(|e| panic!("{e}"));

    sim.heal();
    let took = sim
        .run_until(
            "reconvergence after healing",
            Duration::from_secs(120),
            |s| s.all_routes_known(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("healed network converged again in {took:?}");
    let id = sim.send(left[0], right[0], b"healed".to_vec());
    sim.run_until("delivery after healing", Duration::from_secs(20), |s| {
        s.delivered(left[0], id)
    })
    .unwrap_or_else(|e| panic!("{e}"));
}
