//! Gossip benchmark on the deterministic simulator (run by `cargo xtask bench`, release build):
//! for random graphs of N nodes (degree about 4, link latency 5–50 ms, no loss), how long until every node has a
//! route to every other, in virtual time and in rounds, beside the classic push-gossip bound log2 N + ln N; the
//! wall time each simulation took; and the steady-state traffic per node once converged.
//!
//! A *round* here is one mean link delay (27.5 ms with the default link model): routes spread by flooding each
//! new announcement once per link, so a round is one hop of spreading. The longest route held at the end is the
//! graph's diameter as the protocol found it, the least number of rounds any scheme could need.
//!
//! Arguments: the sizes to run (default `100 1000 10000`); `HEARSAY_BENCH_WALL_LIMIT_S` bounds each run's wall
//! time (default 60 s, the target for 10 000 nodes): a run over it is reported as not finished, never as a figure.

use std::time::{Duration, Instant};

use hearsay_node::gossip::sim::{LinkModel, Sim};

/// How long the steady-state traffic is measured, in virtual time.
const STEADY: Duration = Duration::from_secs(20);

fn main() {
    let sizes: Vec<usize> = {
        let given: Vec<usize> = std::env::args()
            .skip(1)
            .filter_map(|a| a.parse().ok())
            .collect();
        if given.is_empty() {
            vec![100, 1000, 10_000]
        } else {
            given
        }
    };
    let wall_limit = Duration::from_secs(
        std::env::var("HEARSAY_BENCH_WALL_LIMIT_S")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(60),
    );
    let link = LinkModel::default();
    let round = (link.min_latency + link.max_latency) / 2;
    println!(
        "\n## Gossip convergence (simulator, random graph of degree ~4, {round:?} per round)\n"
    );
    println!(
        "| N | virtual time | rounds | log2 N + ln N | ratio | longest route (hops) | wall time | datagrams /node/s | bytes /node/s | target |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for n in sizes {
        let bound = (n as f64).log2() + (n as f64).ln();
        let target = match n {
            1000 => "≤ 25 rounds",
            10_000 => "wall < 60 s",
            _ => "",
        };
        let wall = Instant::now();
        let mut sim = Sim::new(1, link);
        sim.random_graph(n, 4);
        let mut over_wall = false;
        let result = sim.run_until_checked_every(
            "every node has a route to every other",
            Duration::from_secs(120),
            // Checked every virtual millisecond, so the wall-time limit is noticed soon on big networks.
            Duration::from_millis(1),
            &mut |s| {
                if wall.elapsed() > wall_limit {
                    over_wall = true;
                    return true; // stop; reported below as not finished
                }
                s.all_routes_known()
            },
        );
        let converged_wall = wall.elapsed();
        match result {
            Ok(took) if !over_wall => {
                let rounds = took.as_secs_f64() / round.as_secs_f64();
                let before = sim.traffic;
                sim.run_for(STEADY);
                let per_node_s = |x: u64| x as f64 / n as f64 / STEADY.as_secs_f64();
                println!(
                    "| {n} | {took:.2?} | {rounds:.1} | {bound:.1} | {:.2}× | {} | {converged_wall:.1?} | {:.1} | {:.0} | {target} |",
                    rounds / bound,
                    sim.longest_route_hops(),
                    per_node_s(sim.traffic.datagrams - before.datagrams),
                    per_node_s(sim.traffic.bytes - before.bytes),
                );
            }
            Ok(_) => println!(
                "| {n} | not finished: over the {wall_limit:?} wall-time limit | | {bound:.1} | | | > {wall_limit:?} | | | {target} |"
            ),
            Err(e) => println!(
                "| {n} | not converged: {e} | | {bound:.1} | | | {converged_wall:.1?} | | | {target} |"
            ),
        }
    }
}
