//! Probe: runs one random-graph simulation of N (first argument) nodes and prints convergence figures.
use std::time::{Duration, Instant};

use hearsay_node::gossip::sim::{LinkModel, Sim};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let mut sim = Sim::new(1, LinkModel::default());
    let wall = Instant::now();
    sim.random_graph(n, 4);
    let mut check = Duration::ZERO;
    let r = sim.run_until_checked_every(
        "converge",
        Duration::from_secs(120),
        Duration::from_millis(500),
        &mut |s| {
            let t = Instant::now();
            let ok = s.all_routes_known();
            check += t.elapsed();
            ok
        },
    );
    println!(
        "n={n} result={r:?} wall={:?} (checks {check:?}) datagrams={} bytes={} jobs={}",
        wall.elapsed(),
        sim.traffic.datagrams,
        sim.traffic.bytes,
        sim.jobs_done
    );
}
