//! A 2000-node random graph of average degree 4 (the shorter version of `cargo xtask bench gossip`'s 10 000):
//! it converges (every node has a route to every other); after a minute of steady state a user who joins is
//! routable from every node within 2 s; private messages between random pairs arrive once and are acknowledged; a
//! node that dies is shown unreachable to whoever tries it within 10 s. All in virtual time.

use std::time::{Duration, Instant};

use hearsay_node::gossip::sim::{LinkModel, Sim, sim_seed};
use rand::{Rng, SeedableRng};

const NODES: usize = 2000;

#[test]
fn two_thousand_nodes_converge_take_a_newcomer_and_carry_messages() {
    let seed = sim_seed(1000);
    let mut sim = Sim::new(seed, LinkModel::default());
    let wall = Instant::now();
    sim.random_graph(NODES, 4);
    let took = sim
        .run_until_checked_every(
            "every node has a route to every other",
            Duration::from_secs(120),
            Duration::from_millis(500),
            &mut |s| s.all_routes_known(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "{NODES} nodes converged in {took:?} of virtual time ({:?} wall, {} datagrams)",
        wall.elapsed(),
        sim.traffic.datagrams
    );
    sim.run_for(Duration::from_secs(60));

    let newcomer = sim.add_node("newcomer");
    for k in 0..4 {
        sim.connect(newcomer, k * NODES / 4 + 3);
    }
    let key = sim.nodes[newcomer].key();
    let took = sim
        .run_until_checked_every(
            "the newcomer is routable from every node",
            Duration::from_secs(2),
            Duration::from_millis(10),
            &mut |s| (0..NODES).all(|i| s.nodes[i].gossip.next_hop(&key).is_some()),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("a newcomer was routable from every node {took:?} after joining");

    let mut pick = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut sent = Vec::new();
    for k in 0..50 {
        let a = pick.random_range(0..NODES);
        let b = (a + pick.random_range(1..NODES)) % NODES;
        let payload = format!("message {k} from {a} to {b}").into_bytes();
        sent.push((a, b, sim.send(a, b, payload.clone()), payload));
    }
    sim.run_until("every message acknowledged", Duration::from_secs(20), |s| {
        sent.iter().all(|(a, _, id, _)| s.delivered(*a, *id))
    })
    .unwrap_or_else(|e| panic!("{e}"));
    for (a, b, id, payload) in &sent {
        assert!(
            sim.received(*b, *a, *id, payload),
            "{a} -> {b} not received (seed {seed})"
        );
        assert_eq!(sim.times_received(*b, *id), 1);
    }

    // One dies; its route lives on elsewhere (15 minutes), but whoever tries it is told within 10 s.
    let (dead, caller) = (NODES / 2, 5);
    let dead_key = sim.nodes[dead].key();
    sim.kill(dead);
    sim.send(caller, dead, b"still there?".to_vec());
    let took = sim
        .run_until_checked_every(
            "the caller shows the dead node unreachable",
            Duration::from_secs(10),
            Duration::from_millis(100),
            &mut |s| {
                s.nodes[caller]
                    .gossip
                    .users()
                    .iter()
                    .any(|u| u.key == dead_key && !u.reachable)
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("a dead node showed unreachable {took:?} after the caller tried it");
}
