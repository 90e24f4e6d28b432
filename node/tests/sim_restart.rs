//! A node that restarts (no memory, same key) is reachable again at once: its clock-based sequence number beats the
//! one it had before, so nobody ignores it.

use std::time::Duration;

use hearsay_node::gossip::sim::{LinkModel, Sim, sim_seed};

#[test]
fn a_restarted_node_is_reachable_again_at_once() {
    let mut sim = Sim::new(sim_seed(4), LinkModel::default());
    let all = sim.random_graph(50, 4);
    sim.run_until("initial convergence", Duration::from_secs(60), |s| {
        s.all_routes_known()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let x = all[17];
    let key = sim.nodes[x].key();
    let seq_before = sim.nodes[x].gossip.own_seq();

    sim.kill(x);
    sim.run_for(Duration::from_secs(3));
    sim.restart(x);
    assert!(
        sim.nodes[x].gossip.own_seq() > seq_before,
        "the new epoch starts above the old numbers"
    );
    let took = sim
        .run_until(
            "everyone holds the restarted node's new announcement",
            Duration::from_secs(30),
            |s| {
                let seq = s.nodes[x].gossip.own_seq();
                all.iter().all(|&i| {
                    i == x
                        || (s.nodes[i].gossip.known_seq(&key) >= Some(seq - 1)
                            && s.nodes[i].gossip.next_hop(&key).is_some())
                })
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("restarted node known again everywhere after {took:?}");
    assert!(took < Duration::from_secs(15), "took {took:?}");
    let id = sim.send(all[0], x, b"welcome back".to_vec());
    sim.run_until(
        "message to the restarted node acknowledged",
        Duration::from_secs(20),
        |s| s.delivered(all[0], id),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(sim.received(x, all[0], id, b"welcome back"));
}
