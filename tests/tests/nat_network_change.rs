//! A call survives a change of network: mid-call the caller's host moves to another home (a new router, a new public
//! address, a new LAN address — Wi-Fi to mobile), its old path is gone, and the call comes back by itself, with
//! media both ways, through an ICE restart negotiated over gossip. Three moves in a row; each prints how long it
//! took from the new network being there to frames flowing again on both pages (goal: under 5 s), and the median.
//!
//! Needs root (CI runs as root); fails saying so otherwise.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hearsay_tests::call_page::{LIMIT, Person, frames_resumed};
use hearsay_tests::netbed::{Nat, Testbed};
use hearsay_tests::{Browser, Node, wait_for};

const MOVES: usize = 3;
/// A gap between frames this long is the outage the move caused.
const OUTAGE_MS: u64 = 700;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_comes_back_after_the_caller_changes_networks() -> anyhow::Result<()> {
    let mut bed = Testbed::new()?;
    let hub_host = bed.add_host("hub", Nat::Public)?;
    let mut a_host = bed.add_host("alice", Nat::Cone)?;
    let b_host = bed.add_host("bob", Nat::Cone)?;
    let hub = Node::start_in_namespace(&hub_host.ns, "hub", &[]).await?;
    let bootstrap = hub_host.gossip_addr().to_string();
    let a = Node::start_in_namespace(&a_host.ns, "alice", &["--peers", &bootstrap]).await?;
    let b = Node::start_in_namespace(
        &b_host.ns,
        "bob",
        &["--peers", &bootstrap, hearsay_tests::AUTO_ACCEPT],
    )
    .await?;
    let a = Person::open_in(a, Browser::start_in_namespace(&a_host.ns).await?).await?;
    let b = Person::open_in(b, Browser::start_in_namespace(&b_host.ns).await?).await?;
    a.wait_network_known().await?;
    b.wait_network_known().await?;
    a.call(&b, "video").await?;
    a.wait_phase("in_call").await?;
    a.wait_media_flowing().await?;
    b.wait_media_flowing().await?;
    a.log_frames().await?;
    b.log_frames().await?;

    let mut recoveries = Vec::new();
    for round in 1..=MOVES {
        let restarts_before = a.restarts().await? + b.restarts().await?;
        let moved_at = now_ms();
        bed.move_host(&mut a_host, Nat::Cone)?;
        // Frames flow again on both pages: a frame after the outage, then more keep coming.
        let mut resumed = Vec::new();
        for p in [&a, &b] {
            // (resumed at, last frame at, frames logged, phase), relative to the move.
            let seen = wait_for(
                &format!("{}'s picture to come back after move {round}", p.node.name),
                LIMIT,
                || async {
                    let log = p.frame_log().await?;
                    let rel = |t: u64| t as i64 - moved_at as i64;
                    Ok((
                        frames_resumed(&log, moved_at, OUTAGE_MS).map(rel),
                        log.last().copied().map(rel),
                        log.len(),
                        p.phase().await?,
                    ))
                },
                // Settled: the resumed frame is followed by a second's worth more.
                |(resumed, last, _, _)| matches!((resumed, last), (Some(r), Some(l)) if *l >= r + 1_000),
            )
            .await?;
            resumed.push(seen.0.unwrap_or_default().max(0) as u64 + moved_at);
        }
        let recovery = resumed
            .iter()
            .max()
            .copied()
            .unwrap_or_default()
            .saturating_sub(moved_at);
        for p in [&a, &b] {
            p.wait_phase("in_call").await?;
        }
        let restarts = a.restarts().await? + b.restarts().await? - restarts_before;
        let path = a.path().await?;
        println!(
            "network change | move {round}: alice now behind {} | frames both ways again after {recovery} ms | \
             {restarts} ICE restart(s) | path {path}",
            a_host.public_ip
        );
        anyhow::ensure!(
            restarts >= 1,
            "the old path is gone, so the call must have restarted ICE (it came back after {recovery} ms)"
        );
        recoveries.push(recovery);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    recoveries.sort_unstable();
    println!(
        "network change | median recovery {} ms over {MOVES} moves ({recoveries:?} ms); goal < 5000 ms",
        recoveries[MOVES / 2]
    );
    drop((a, b, hub));
    drop(bed);
    Ok(())
}
