//! When 30 % of the nodes die, routes to them expire everywhere and the survivors still reach each other.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use hearsay_node::gossip::sim::{LinkModel, Sim, sim_seed};
use rand::SeedableRng;
use rand::seq::SliceRandom;

const NODES: usize = 300;

/// The largest connected group of `alive` nodes over the links the nodes were configured with.
fn largest_component(sim: &Sim, alive: &HashSet<usize>) -> Vec<usize> {
    let index: HashMap<_, _> = sim
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.addr, i))
        .collect();
    let mut seen = HashSet::new();
    let mut best = Vec::new();
    for &start in alive {
        if !seen.insert(start) {
            continue;
        }
        let mut group = vec![start];
        let mut todo = vec![start];
        while let Some(i) = todo.pop() {
            for peer in &sim.nodes[i].configured_peers {
                let j = index[peer];
                if alive.contains(&j) && seen.insert(j) {
                    group.push(j);
                    todo.push(j);
                }
            }
        }
        if group.len() > best.len() {
            best = group;
        }
    }
    best.sort();
    best
}

#[test]
fn routes_to_dead_nodes_expire_and_survivors_still_talk() {
    let seed = sim_seed(30);
    let mut sim = Sim::new(seed, LinkModel::default());
    sim.random_graph(NODES, 4);
    sim.run_until("initial convergence", Duration::from_secs(120), |s| {
        s.all_routes_known()
    })
    .unwrap_or_else(|e| panic!("{e}"));

    let mut order: Vec<usize> = (0..NODES).collect();
    order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
    let dead: Vec<usize> = order[..NODES * 3 / 10].to_vec();
    for &i in &dead {
        sim.kill(i);
    }
    let alive: HashSet<usize> = order[NODES * 3 / 10..].iter().copied().collect();
    let survivors = largest_component(&sim, &alive);
    eprintln!(
        "{} dead, {} alive, {} in the largest connected group",
        dead.len(),
        alive.len(),
        survivors.len()
    );
    assert!(
        survivors.len() > NODES / 2,
        "the test needs a big surviving group (seed {seed})"
    );

    let dead_keys: Vec<_> = dead.iter().map(|&i| sim.nodes[i].key()).collect();
    let took = sim
        .run_until(
            "every route to a dead node expired everywhere",
            Duration::from_secs(120),
            |s| {
                alive.iter().all(|&a| {
                    dead_keys
                        .iter()
                        .all(|k| s.nodes[a].gossip.next_hop(k).is_none())
                })
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("routes to dead nodes gone after {took:?}");
    sim.run_until(
        "survivors route to each other",
        Duration::from_secs(60),
        |s| s.routes_complete(&survivors),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let pairs: Vec<(usize, usize)> = (0..10)
        .map(|k| (survivors[k], survivors[survivors.len() - 1 - k]))
        .collect();
    let sent: Vec<(usize, u64)> = pairs
        .iter()
        .map(|&(a, b)| (a, sim.send(a, b, b"still here".to_vec())))
        .collect();
    sim.run_until(
        "messages between survivors acknowledged",
        Duration::from_secs(30),
        |s| sent.iter().all(|&(a, id)| s.delivered(a, id)),
    )
    .unwrap_or_else(|e| panic!("{e}"));
}
