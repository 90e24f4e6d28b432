//! Idle upkeep of real nodes (run by `cargo xtask bench overlay`, release node through `HEARSAY_BIN`; needs root
//! for iptables, and says so otherwise): 30 `hearsay` processes on loopback in a random graph of average degree
//! about 4, left idle once every node knows every other; once the start's late traffic has settled (at most
//! [`WARM_UP`]) iptables counts the datagrams and bytes each gossip port sends and receives over [`IDLE`]. Beside it, the simulator's figure for 30 nodes (the `bench_gossip` example,
//! `HEARSAY_BENCH_GOSSIP`), which counts UDP payload only: the real row gives both IP bytes and payload (IP bytes
//! less 28 bytes of IPv4 + UDP header per datagram).

use std::process::Command;
use std::time::Duration;

use hearsay_tests::Node;
use hearsay_tests::page_socket::PageSocket;

const NODES: usize = 30;
const IDLE: Duration = Duration::from_secs(120);
/// The longest wait between "every node knows every other" and the measurement (the simulator's warm-up).
const WARM_UP: Duration = Duration::from_secs(60);
/// Traffic is compared over windows this long while it settles.
const SETTLE_WINDOW: Duration = Duration::from_secs(5);
const CHAIN: &str = "HEARSAY_IDLE";

fn iptables(args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("iptables").args(args).output()?;
    anyhow::ensure!(
        out.status.success(),
        "iptables {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Removes the counting chain and the jumps to it (also when a previous run died half-way).
fn remove_chain() {
    for hook in ["INPUT", "OUTPUT"] {
        while iptables(&["-D", hook, "-j", CHAIN]).is_ok() {}
    }
    let _ = iptables(&["-F", CHAIN]);
    let _ = iptables(&["-X", CHAIN]);
}

/// (packets, bytes) counted by the chain's rules, in order.
fn counters() -> anyhow::Result<Vec<(u64, u64)>> {
    let listing = iptables(&["-L", CHAIN, "-v", "-x", "-n"])?;
    Ok(listing
        .lines()
        .skip(2)
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            Some((f.next()?.parse().ok()?, f.next()?.parse().ok()?))
        })
        .collect())
}

/// Datagrams counted by the chain so far, all ports together.
fn packets() -> anyhow::Result<u64> {
    Ok(counters()?.iter().map(|(p, _)| p).sum())
}

/// Waits until two consecutive [`SETTLE_WINDOW`]s carry datagram counts within 20 % of each other, or [`WARM_UP`]
/// passes; returns how long it waited.
async fn settle() -> anyhow::Result<Duration> {
    let start = std::time::Instant::now();
    let mut last = packets()?;
    let mut previous: Option<u64> = None;
    while start.elapsed() < WARM_UP {
        // A sampling window, not a wait for an event: the condition is on traffic over real time (real processes
        // have no virtual clock), checked after every window and bounded by WARM_UP.
        tokio::time::sleep(SETTLE_WINDOW).await;
        let now = packets()?;
        let window = now - last;
        last = now;
        if previous.is_some_and(|p| window.abs_diff(p) * 5 <= p.max(1)) {
            break;
        }
        previous = Some(window);
    }
    Ok(start.elapsed())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    println!(
        "\n## Idle upkeep, {NODES} real nodes on loopback (random graph, average degree ~4, {IDLE:?} idle)\n"
    );
    if let Err(e) = hearsay_tests::netbed::require_root() {
        println!("not run: counting uses iptables: {e}");
        return Ok(());
    }
    let mut nodes: Vec<Node> = Vec::with_capacity(NODES);
    for i in 0..NODES {
        // A ring (each to the one before) plus one random chord to an earlier node: average degree ~4.
        let mut peers: Vec<&Node> = nodes.last().into_iter().collect();
        if i >= 2 {
            peers.push(&nodes[(i * 7 + 3) % (i - 1)]);
        }
        nodes.push(Node::start_gossip(&format!("n{i:02}"), &peers).await?);
    }
    let mut watchers = Vec::new();
    for node in &nodes {
        watchers.push(PageSocket::connect(node).await?);
    }
    for w in &mut watchers {
        w.wait_users(
            "every node knows every other",
            Duration::from_secs(60),
            |u| u.len() >= NODES - 1 && u.iter().all(|u| u.reachable),
        )
        .await?;
    }
    drop(watchers);

    remove_chain();
    iptables(&["-N", CHAIN])?;
    for node in &nodes {
        let port = node.gossip.port().to_string();
        iptables(&["-A", CHAIN, "-p", "udp", "--sport", &port])?;
    }
    iptables(&["-I", "OUTPUT", "-j", CHAIN])?;
    // What the start sends late (a newcomer's flood is announced to the peers a lazy delay after it, and asked for
    // where it was lost) is not idle upkeep, as the simulator's figure is measured after its warm-up: the window
    // opens once two settling windows in a row carry about the same traffic (at most WARM_UP).
    let settled = settle().await?;
    eprintln!("traffic settled after {settled:?}");
    let before = counters()?;
    // The measurement window itself, not a wait for something to happen: idle upkeep is bytes over a stretch of
    // real time, and real processes have no virtual clock (the simulator's figure beside it is virtual time).
    tokio::time::sleep(IDLE).await;
    let after = counters()?;
    remove_chain();
    anyhow::ensure!(before.len() == NODES && after.len() == NODES);
    let (mut packets, mut bytes) = (0u64, 0u64);
    for (b, a) in before.iter().zip(&after) {
        packets += a.0 - b.0;
        bytes += a.1 - b.1;
    }
    let per = |x: u64| x as f64 / NODES as f64 / IDLE.as_secs_f64();
    let payload = bytes - 28 * packets;

    let sim = std::env::var("HEARSAY_BENCH_GOSSIP").ok().and_then(|bin| {
        let out = Command::new(bin)
            .args(["--one", &NODES.to_string(), "tree"])
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let row = text.lines().find(|l| l.starts_with("ROW\tok"))?.to_owned();
        let f: Vec<String> = row.split('\t').map(str::to_owned).collect();
        Some((f[6].parse::<f64>().ok()?, f[7].parse::<f64>().ok()?))
    });
    println!(
        "| where | datagrams sent /node/s | payload sent /node/s | payload sent+received /node/s | IP bytes sent+received /node/s | ratio to simulator |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    let sim_both = sim.map(|(_, b)| 2.0 * b);
    if let Some((d, b)) = sim {
        println!(
            "| simulator, {NODES} nodes, degree 4, 5 min (anchor) | {d:.2} | {b:.0} | {:.0} | {:.0} | 1× |",
            2.0 * b,
            2.0 * (b + 28.0 * d)
        );
    } else {
        println!("| simulator: not run (HEARSAY_BENCH_GOSSIP not set or failed) | | | | | |");
    }
    println!(
        "| {NODES} real processes, counted by iptables | {:.2} | {:.0} | {:.0} | {:.0} | {} |",
        per(packets),
        per(payload),
        2.0 * per(payload),
        2.0 * per(bytes),
        sim_both.map_or(String::new(), |s| format!("{:.2}×", 2.0 * per(payload) / s))
    );
    Ok(())
}
