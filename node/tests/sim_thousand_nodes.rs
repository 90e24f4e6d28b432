//! A 1000-node random graph of degree about 4 converges (every node has a route to every other) and private messages
//! between random pairs arrive and are acknowledged.

use std::time::{Duration, Instant};

use hearsay_node::gossip::sim::{LinkModel, Sim, sim_seed};
use rand::{Rng, SeedableRng};

#[test]
fn a_thousand_nodes_converge_and_random_pairs_exchange_messages() {
    let seed = sim_seed(1000);
    let mut sim = Sim::new(seed, LinkModel::default());
    let wall = Instant::now();
    sim.random_graph(1000, 4);
    let took = sim
        .run_until_checked_every(
            "every node has a route to every other",
            Duration::from_secs(120),
            Duration::from_millis(500),
            &mut |s| s.all_routes_known(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "1000 nodes converged in {took:?} of virtual time ({:?} wall, {} datagrams)",
        wall.elapsed(),
        sim.traffic.datagrams
    );

    let mut pick = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut sent = Vec::new();
    for k in 0..50 {
        let a = pick.random_range(0..1000);
        let b = (a + pick.random_range(1..1000)) % 1000;
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
}
