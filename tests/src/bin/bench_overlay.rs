//! Private-message latency across 5 gossip hops between real `hearsay` processes on loopback (run by
//! `cargo xtask bench`, release node through `HEARSAY_BIN`; prints a markdown table).
//!
//! Six nodes in a line; the benchmark holds the page WebSocket of both ends, so one clock times each message from
//! the moment the first page sends it to the moment the last page receives it (WebSocket in, 5 signed and
//! verified UDP hops, WebSocket out). Anchor: the same 5 hops as bare UDP forwarders in this process (receive,
//! send to the next), the floor of the loopback path itself.

use std::time::{Duration, Instant};

use hearsay_shared::page::ServerMsg;
use hearsay_tests::Node;
use hearsay_tests::page_socket::PageSocket;
use tokio::net::UdpSocket;

const HOPS: usize = 5;
const MESSAGES: usize = 50;

/// (median, p90, max) in milliseconds.
fn summary(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    (v[n / 2], v[(n * 9) / 10], v[n - 1])
}

/// Milliseconds for one datagram through `HOPS` bare UDP forwarders, `MESSAGES` times.
async fn bare_udp_hops() -> anyhow::Result<Vec<f64>> {
    let mut sockets = Vec::with_capacity(HOPS + 1);
    for _ in 0..=HOPS {
        sockets.push(UdpSocket::bind("127.0.0.1:0").await?);
    }
    let addrs: Vec<_> = sockets
        .iter()
        .map(UdpSocket::local_addr)
        .collect::<Result<_, _>>()?;
    let mut sockets = sockets.into_iter();
    let first = sockets.next().expect("HOPS + 1 sockets");
    let mut forwarders = Vec::new();
    let mut last = None;
    for (i, socket) in sockets.enumerate() {
        let next = addrs.get(i + 2).copied();
        match next {
            Some(next) => forwarders.push(tokio::spawn(async move {
                let mut buf = [0u8; 1500];
                for _ in 0..MESSAGES {
                    let Ok(n) = socket.recv(&mut buf).await else {
                        return;
                    };
                    let _ = socket.send_to(&buf[..n], next).await;
                }
            })),
            None => last = Some(socket),
        }
    }
    let last = last.expect("a last hop");
    let mut times = Vec::with_capacity(MESSAGES);
    let mut buf = [0u8; 1500];
    for _ in 0..MESSAGES {
        let started = Instant::now();
        first.send_to(&[7u8; 300], addrs[1]).await?;
        tokio::time::timeout(Duration::from_secs(5), last.recv(&mut buf)).await??;
        times.push(started.elapsed().as_secs_f64() * 1e3);
    }
    for f in forwarders {
        f.abort();
    }
    Ok(times)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let mut nodes: Vec<Node> = Vec::with_capacity(HOPS + 1);
    for i in 0..=HOPS {
        let before: Vec<&Node> = nodes.last().into_iter().collect();
        nodes.push(Node::start_gossip(&format!("n{i}"), &before).await?);
    }
    let mut first = PageSocket::connect(&nodes[0]).await?;
    let mut last = PageSocket::connect(&nodes[HOPS]).await?;
    let last_key = last.key;
    first
        .wait_users(
            "the far end to be reachable",
            Duration::from_secs(30),
            |u| {
                u.iter()
                    .any(|u| u.key == last_key && u.hops == Some(HOPS as u8))
            },
        )
        .await?;
    let mut times = Vec::with_capacity(MESSAGES);
    for i in 0..MESSAGES {
        let payload = format!("ping {i}: {}", "x".repeat(300)); // about an ICE candidate's size
        let started = Instant::now();
        first.send_private(last_key, &payload).await?;
        last.wait_for("the message at the far end", Duration::from_secs(30), |m| {
            matches!(m, ServerMsg::PrivateReceived { payload: p, .. } if *p == payload)
                .then_some(())
        })
        .await?;
        times.push(started.elapsed().as_secs_f64() * 1e3);
    }
    let anchor = bare_udp_hops().await?;
    let (a_med, a_p90, a_max) = summary(anchor);
    let (med, p90, max) = summary(times);
    println!(
        "\n## Private message across {HOPS} gossip hops (real processes on loopback, {MESSAGES} messages of ~300 B)\n"
    );
    println!("| path | median ms | p90 ms | max ms | ratio to anchor | target |");
    println!("|---|---:|---:|---:|---:|---|");
    println!(
        "| anchor: {HOPS} bare UDP forwarders in one process | {a_med:.3} | {a_p90:.3} | {a_max:.3} | 1.00× | |"
    );
    println!(
        "| page → node → {HOPS} hops (signed, verified, acked) → node → page | {med:.2} | {p90:.2} | {max:.2} | {:.0}× | < 10 ms |",
        med / a_med
    );
    Ok(())
}
