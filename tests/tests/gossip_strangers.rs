//! A real node answers an address that has not proved it receives with no more bytes than it sent (a challenge),
//! and never lists it as a peer; the same probe from an address that echoed the challenge is answered in full.
//! (Before challenges, every address got the full answer: the figure printed for the proven peer.)

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use hearsay_shared::gossip::{self, Packet};
use hearsay_tests::Node;
use hearsay_tests::gossip_peer::{become_peer, empty_status};
use hearsay_tests::page_socket::PageSocket;
use tokio::net::UdpSocket;

/// Everything `socket` receives within `window`: (datagrams, bytes, challenges).
async fn drain(socket: &UdpSocket, window: Duration) -> anyhow::Result<(u64, u64, u64)> {
    let mut buf = [0u8; 2048];
    let (mut datagrams, mut bytes, mut challenges) = (0, 0, 0);
    let deadline = Instant::now() + window;
    while let Ok(received) = tokio::time::timeout(
        deadline.saturating_duration_since(Instant::now()),
        socket.recv_from(&mut buf),
    )
    .await
    {
        let (len, _) = received?;
        datagrams += 1;
        bytes += len as u64;
        if matches!(gossip::decode(&buf[..len]), Ok(Packet::Challenge(_))) {
            challenges += 1;
        }
    }
    Ok((datagrams, bytes, challenges))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_gets_a_challenge_and_no_more_and_a_proven_peer_gets_everything()
-> anyhow::Result<()> {
    // A node that knows a few others, so "everything" is more than its own route.
    let hub = Node::start_gossip("hub", &[]).await?;
    let mut others = Vec::new();
    for i in 0..4 {
        others.push(Node::start_gossip(&format!("spoke{i}"), &[&hub]).await?);
    }
    let mut page = PageSocket::connect(&hub).await?;
    page.wait_users("every spoke", Duration::from_secs(30), |u| {
        u.iter().filter(|u| u.reachable).count() >= 4
    })
    .await?;

    let probe = empty_status();
    let stranger = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    const PROBES: u64 = 50;
    for _ in 0..PROBES {
        stranger.send_to(&probe, hub.gossip).await?;
    }
    let (datagrams, bytes, challenges) = drain(&stranger, Duration::from_secs(3)).await?;
    let sent = PROBES * probe.len() as u64;
    eprintln!(
        "stranger: {PROBES} probes of {} bytes -> {datagrams} datagrams, {bytes} bytes back ({:.2}x), \
         {challenges} of them challenges",
        probe.len(),
        bytes as f64 / sent as f64
    );
    assert!(bytes <= 3 * sent, "{bytes} bytes back for {sent}");
    assert_eq!(
        challenges, datagrams,
        "a stranger gets nothing but challenges"
    );
    // Its address is never a peer: two refreshes of the page's peers list (one a second) after the probes.
    let stranger_addr = stranger.local_addr()?.to_string();
    let mut lists = 0;
    page.wait_for("two peers lists", Duration::from_secs(10), |m| {
        lists += u32::from(matches!(m, hearsay_shared::page::ServerMsg::Peers { .. }));
        (lists >= 2).then_some(())
    })
    .await?;
    assert!(
        page.peers.iter().all(|p| p.addr != stranger_addr),
        "the stranger became a peer: {:?}",
        page.peers
    );

    // The same probe from an address that proved it receives is answered in full.
    let peer = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    become_peer(&peer, hub.gossip).await?;
    drain(&peer, Duration::from_millis(500)).await?;
    peer.send_to(&probe, hub.gossip).await?;
    let (datagrams, bytes, _) = drain(&peer, Duration::from_millis(500)).await?;
    eprintln!(
        "proven peer: one probe of {} bytes -> {datagrams} datagrams, {bytes} bytes back ({:.0}x)",
        probe.len(),
        bytes as f64 / probe.len() as f64
    );
    assert!(
        bytes > 3 * probe.len() as u64,
        "a proven peer gets the answer"
    );
    let peer_addr = peer.local_addr()?.to_string();
    page.wait_peers("the proven peer listed", Duration::from_secs(5), |peers| {
        peers.iter().any(|p| p.addr == peer_addr)
    })
    .await?;
    Ok(())
}
