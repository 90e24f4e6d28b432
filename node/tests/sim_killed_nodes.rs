//! When 30 % of the nodes die, a survivor trying one is told within 10 s that it is unreachable, every dead node
//! is gone from every list within the route lifetime (15 minutes), and the survivors still reach each other.

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
    // Routes live 15 minutes; whoever tries a dead node finds out at once: with no acknowledgement within 10 s the
    // node is shown unreachable (the message itself fails at its 30 s deadline).
    let caller = survivors[0];
    let tried = dead_keys[0];
    sim.send(caller, dead[0], b"are you there?".to_vec());
    let asked = sim.elapsed();
    sim.run_until(
        "the caller is told the dead node is unreachable",
        Duration::from_secs(10),
        |s| {
            s.nodes[caller]
                .gossip
                .users()
                .iter()
                .any(|u| u.key == tried && !u.reachable)
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "a dead node showed unreachable {:?} after trying to reach it",
        sim.elapsed() - asked
    );

    let lifetime = sim.timing.route_lifetime;
    let took = sim
        .run_until_checked_every(
            "every dead node gone from every survivor's list",
            lifetime + Duration::from_secs(60),
            Duration::from_secs(1),
            &mut |s| {
                alive.iter().all(|&a| {
                    let users = s.nodes[a].gossip.users();
                    dead_keys.iter().all(|k| {
                        s.nodes[a].gossip.next_hop(k).is_none()
                            && !users.iter().any(|u| u.key == *k)
                    })
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
