//! Gossip benchmark on the deterministic simulator (run by `cargo xtask bench gossip`, release build): for random
//! graphs of N nodes (average degree 4, link latency 5–50 ms, no loss), each design in a process of its own:
//! - **tree**: this round's design (rumors along a broadcast tree, announced in statuses elsewhere, refreshed every
//!   9–12 minutes; see `node/src/gossip/engine.rs`);
//! - **flooding**: the previous design, the anchor (every rumor over every link, refreshed every 10 s);
//! - **joining** (after the others, sizes `HEARSAY_BENCH_JOINING`, default `2000 10000`): the tree design on a
//!   network built one join at a time over 5 minutes of virtual time, each new node linked to two nodes already
//!   there, instead of every node starting in the same instant (which makes every origin a newcomer flooded over
//!   every link at once: the N² burst that decides the other rows' peak memory; see `docs/SCALING.md`).
//!
//! Per row: virtual time to converge (every node routes to every other), the wall time that took, the wall time of
//! the steady state that follows (5 minutes of virtual time for the tree, after a minute of warm-up; 20 s for flooding, whose 10 s cycle is
//! stationary after two periods and whose 5 minutes would take far longer to simulate), the process's peak RSS,
//! the steady-state traffic per node (sent, and sent + received: every datagram is sent by one node and received by
//! another), and for the tree how long a node joining then takes to be routable from every node (virtual time). What
//! converging and the steady state cost, by kind of packet, goes to stderr (seen when a row is run by hand).
//!
//! Arguments: the sizes (default `1000 2000 5000 10000`). A size whose memory, projected from the largest size run
//! before it, would pass `HEARSAY_BENCH_RSS_LIMIT_GB` (default 8) is reported as not run, with the projection;
//! `HEARSAY_BENCH_WALL_LIMIT_S` (default 60) bounds each convergence: over it, the row says not finished.

use std::process::Command;
use std::time::{Duration, Instant};

use hearsay_node::gossip::Timing;
use hearsay_node::gossip::sim::{LinkModel, Sim, Traffic};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const TREE_STEADY: Duration = Duration::from_secs(300);
/// In the "joining" rows, nodes join one at a time over this much virtual time.
const JOIN_SPAN: Duration = Duration::from_secs(300);
const FLOODING_STEADY: Duration = Duration::from_secs(20);
/// Virtual time skipped after convergence before the tree's steady state is measured.
const WARM_UP: Duration = Duration::from_secs(60);
/// Steady-state budget per node, sent + received (issue 13).
const BUDGET_BYTES: f64 = 10_000.0;

fn env_f64(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Peak resident memory of this process, in bytes (VmHWM).
fn peak_rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}

/// One row, run in this process: prints a tab-separated record for the parent.
/// Where the datagrams and bytes go, by kind of packet, to stderr (seen when a row is run by hand:
/// `bench_gossip --one N tree`); `scale` turns a count into what `unit` says.
fn print_kinds(traffic: &Traffic, unit: &str, scale: impl Fn(u64) -> f64) {
    for (kind, (datagrams, bytes)) in Traffic::KINDS.iter().zip(traffic.by_kind) {
        eprintln!(
            "{kind:>10}: {:12.2} datagrams, {:14.1} bytes {unit}",
            scale(datagrams),
            scale(bytes)
        );
    }
}

fn run_one(n: usize, design: &str) {
    let wall_limit = Duration::from_secs_f64(env_f64("HEARSAY_BENCH_WALL_LIMIT_S", 60.0));
    let link = LinkModel::default();
    let mut sim = Sim::new(1, link);
    let tree = design != "flooding";
    if !tree {
        sim.timing = Timing::flooding();
        sim.lazy_push = false;
    }
    let wall = Instant::now();
    if design == "joining" {
        // One node at a time, each to two nodes already there (average degree 4), evenly over JOIN_SPAN: every join
        // is the newcomer case, and the tree exists (not every origin new in the same instant).
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let gap = JOIN_SPAN / n as u32;
        for i in 0..n {
            let joined = sim.add_node(&format!("n{i}"));
            if i == 1 {
                sim.connect(joined, 0);
            } else if i >= 2 {
                let a = rng.random_range(0..i);
                let b = (a + rng.random_range(1..i)) % i;
                sim.connect(joined, a);
                sim.connect(joined, b);
            }
            sim.run_for(gap);
            if wall.elapsed() > wall_limit {
                println!("ROW	over	{}	{}", wall.elapsed().as_secs_f64(), peak_rss());
                return;
            }
        }
    } else {
        sim.random_graph(n, 4);
    }
    let mut over_wall = false;
    let result = sim.run_until_checked_every(
        "every node has a route to every other",
        Duration::from_secs(120),
        Duration::from_millis(100),
        &mut |s| {
            if wall.elapsed() > wall_limit {
                over_wall = true;
                return true;
            }
            s.all_routes_known()
        },
    );
    let converge_wall = wall.elapsed();
    print_kinds(&sim.traffic, "sent to converge (all nodes)", |x| x as f64);
    let took = match result {
        Ok(took) if !over_wall => took,
        Ok(_) => {
            println!("ROW\tover\t{}\t{}", converge_wall.as_secs_f64(), peak_rss());
            return;
        }
        Err(e) => {
            println!("ROW\tfailed\t{e}");
            return;
        }
    };
    let steady = if tree { TREE_STEADY } else { FLOODING_STEADY };
    // The start-up transient (everyone's first announcement flooded, the tree pruning itself into shape) is over
    // within a minute; the steady state is measured after it. The first refresh after start is drawn over a whole
    // period, so refreshes are spread evenly from then on.
    if tree {
        sim.run_for(WARM_UP);
    }
    let before = sim.traffic;
    let steady_wall = Instant::now();
    sim.run_for(steady);
    let steady_wall = steady_wall.elapsed();
    let d = sim.traffic.since(&before);
    let per = |x: u64| x as f64 / n as f64 / steady.as_secs_f64();
    print_kinds(&d, "sent /node/s", per);
    let newcomer = if tree {
        let joined = sim.add_node("newcomer");
        for k in 0..4 {
            sim.connect(joined, (k * n / 4 + 7) % n);
        }
        let key = sim.nodes[joined].key();
        match sim.run_until_checked_every(
            "the newcomer is routable from every node",
            Duration::from_secs(30),
            Duration::from_millis(10),
            &mut |s| (0..n).all(|i| s.nodes[i].gossip.next_hop(&key).is_some()),
        ) {
            Ok(t) => format!("{:.2} s", t.as_secs_f64()),
            Err(_) => "> 30 s".into(),
        }
    } else {
        String::new()
    };
    let (longer, routes) = sim.routes_longer_than(hearsay_shared::gossip::DEFAULT_HOP_LIMIT);
    println!(
        "ROW\tok\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{:.2} %",
        took.as_secs_f64(),
        converge_wall.as_secs_f64(),
        steady_wall.as_secs_f64(),
        peak_rss(),
        per(d.datagrams),
        per(d.bytes),
        newcomer,
        sim.longest_route_hops(),
        100.0 * longer as f64 / routes.max(1) as f64,
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--one") {
        let n = args[1].parse().expect("a size");
        run_one(n, &args[2]);
        return;
    }
    let sizes: Vec<usize> = {
        let given: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
        if given.is_empty() {
            vec![1000, 2000, 5000, 10_000]
        } else {
            given
        }
    };
    let rss_limit = env_f64("HEARSAY_BENCH_RSS_LIMIT_GB", 8.0) * 1e9;
    let me = std::env::current_exe().expect("own path");
    println!(
        "\n## Gossip upkeep and convergence (simulator, random graph of average degree 4; anchor: flooding, the previous design)\n"
    );
    println!(
        "| N | design | converged (virtual; joining: after the last join) | wall: converge (joining: the joins too) | wall: steady state | peak RSS | datagrams sent /node/s | bytes sent /node/s | bytes sent+received /node/s | vs flooding | newcomer routable everywhere | longest route | routes over the hop limit ({}) | target |",
        hearsay_shared::gossip::DEFAULT_HOP_LIMIT
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    // Bytes of RSS per route entry (N² entries), from the largest size run so far: the projection for the next. The
    // joining rows (the network built one join at a time, see `run_one`; after the others) keep their own, as they
    // have no start-up burst: [started at once, joining].
    let mut per_entry: [Option<f64>; 2] = [None, None];
    let joining: Vec<usize> = std::env::var("HEARSAY_BENCH_JOINING")
        .unwrap_or_else(|_| "2000 10000".into())
        .split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect();
    let rows = sizes
        .iter()
        .flat_map(|&n| [(n, "flooding"), (n, "tree")])
        .chain(joining.iter().map(|&n| (n, "joining")));
    let mut flooding_bytes = None;
    for (n, design) in rows {
        let per_entry = &mut per_entry[usize::from(design == "joining")];
        if design == "flooding" {
            flooding_bytes = None;
        }
        let target = match (n, design) {
            (10_000, "tree" | "joining") => "< 60 s, ≤ 8 GB, ≤ 10 KB/s",
            (_, "tree" | "joining") => "≤ 10 KB/s; newcomer ≤ 2 s",
            _ => "",
        };
        let design_name = match design {
            "joining" => "tree, joining over 5 min",
            other => other,
        };
        if let Some(b) = *per_entry {
            let projected = b * (n * n) as f64;
            if projected > rss_limit {
                println!(
                    "| {n} | {design_name} | not run: ~{:.0} GB projected ({:.0} B per route entry × N²) > {:.0} GB | | | | | | | | | | | {target} |",
                    projected / 1e9,
                    b,
                    rss_limit / 1e9
                );
                continue;
            }
        }
        let out = Command::new(&me)
            .args(["--one", &n.to_string(), design])
            .output()
            .expect("run one row");
        let text = String::from_utf8_lossy(&out.stdout);
        let Some(row) = text.lines().find(|l| l.starts_with("ROW\t")) else {
            println!(
                "| {n} | {design_name} | crashed: {} | | | | | | | | | | | {target} |",
                out.status
            );
            continue;
        };
        let f: Vec<&str> = row.split('\t').collect();
        match f[1] {
            "ok" => {
                let num = |i: usize| f[i].parse::<f64>().unwrap_or(f64::NAN);
                let rss = num(5);
                *per_entry = Some(rss / (n * n) as f64);
                let sent = num(7);
                let both = 2.0 * sent;
                let ratio = match (design, flooding_bytes) {
                    ("flooding", _) => "1×".into(),
                    ("tree", Some(fl)) => format!("{:.3}×", both / fl),
                    ("tree", None) => "no anchor (flooding did not finish)".into(),
                    _ => "no anchor".into(),
                };
                if design == "flooding" {
                    flooding_bytes = Some(both);
                }
                let verdict = if design != "flooding" && both > BUDGET_BYTES {
                    " (over budget)"
                } else {
                    ""
                };
                println!(
                    "| {n} | {design_name} | {:.2} s | {:.1} s | {:.1} s | {:.2} GB | {:.1} | {:.0} | {:.0}{verdict} | {ratio} | {} | {} | {} | {target} |",
                    num(2),
                    num(3),
                    num(4),
                    rss / 1e9,
                    num(6),
                    sent,
                    both,
                    f[8],
                    f[9],
                    f[10],
                );
            }
            "over" => println!(
                "| {n} | {design_name} | not finished: over the wall-time limit ({:.0} s) | | | {:.2} GB | | | | | | | | {target} |",
                f[2].parse::<f64>().unwrap_or(0.0),
                f[3].parse::<f64>().unwrap_or(0.0) / 1e9
            ),
            _ => println!(
                "| {n} | {design_name} | not converged: {} | | | | | | | | | | | {target} |",
                f.get(2).unwrap_or(&"")
            ),
        }
    }
}
