//! Two people call each other from their own pages, each page on its own node, with every signaling message routed
//! over the gossip network: accept with media flowing both ways, hang-up, decline, busy, cancel, no answer, a call
//! across gossip hops, a call forced through TURN, and a callee with no camera.

use hearsay_tests::call_page::{Person, call_connected, pair};
use hearsay_tests::{AUTO_ACCEPT, Browser, Node, RELAY_ONLY, wait_for, wait_until};

use hearsay_tests::call_page::LIMIT;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_call_carries_video_and_audio_both_ways_then_hangs_up() -> anyhow::Result<()> {
    let (a, b) = pair(&[], &[]).await?;
    a.wait_reachable(&b).await?;
    a.browser.screenshot("call-idle").await?;
    a.call(&b, "video").await?;
    b.wait_phase("ringing_in").await?;
    assert_eq!(
        b.browser.text("#caller-name").await?.as_deref(),
        Some("alice")
    );
    b.browser.screenshot("call-ringing").await?;
    b.click("#accept-call").await?;
    a.wait_phase("in_call").await?;
    b.wait_phase("in_call").await?;
    a.wait_media_flowing().await?;
    b.wait_media_flowing().await?;
    a.browser.screenshot("call-in-call").await?;
    a.browser.client.set_window_size(420, 800).await?;
    a.browser.screenshot("call-in-call-narrow").await?;

    a.click("#hang-up").await?;
    a.wait_phase("ended:HungUpByYou").await?;
    b.wait_phase("ended:HungUpByPeer").await?;
    b.click("#dismiss-call").await?;
    b.wait_phase("idle").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declined_call_ends_on_both_sides() -> anyhow::Result<()> {
    let (a, b) = pair(&[], &[]).await?;
    a.call(&b, "video").await?;
    b.click("#reject-call").await?;
    a.wait_phase("ended:Declined").await?;
    b.wait_phase("ended:DeclinedByYou").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_call_stops_ringing() -> anyhow::Result<()> {
    let (a, b) = pair(&[], &[]).await?;
    a.call(&b, "audio").await?;
    b.wait_phase("ringing_in").await?;
    a.click("#cancel-call").await?;
    a.wait_phase("ended:CancelledByYou").await?;
    b.wait_phase("ended:Missed").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_third_caller_hears_busy() -> anyhow::Result<()> {
    let (a, b) = pair(&[], &[AUTO_ACCEPT]).await?;
    let c = Person::open(Node::start_gossip("carol", &[&a.node]).await?).await?;
    a.call(&b, "audio").await?;
    a.wait_phase("in_call").await?;
    c.call(&b, "audio").await?;
    c.wait_phase("ended:Busy").await?;
    b.wait_phase("in_call").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_call_times_out() -> anyhow::Result<()> {
    let (a, b) = pair(&[], &[]).await?;
    a.call(&b, "audio").await?;
    b.wait_phase("ringing_in").await?;
    // The ring timeout is 30 s; LIMIT (40 s) leaves room for it.
    a.wait_phase("ended:NoAnswer").await?;
    b.wait_phase("ended:Missed").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_crosses_gossip_hops_between_nodes_that_are_not_peers() -> anyhow::Result<()> {
    // A – X – Y – B: A and B know of each other only what the gossip network tells them.
    let a = Node::start_gossip("alice", &[]).await?;
    let x = Node::start_gossip("xavier", &[&a]).await?;
    let y = Node::start_gossip("yvonne", &[&x]).await?;
    let b = Node::start_gossip_with("bob", &[&y], &[AUTO_ACCEPT]).await?;
    let (a, b) = (Person::open(a).await?, Person::open(b).await?);
    a.wait_reachable(&b).await?;
    let hops = a
        .browser
        .text(&format!(r#"li.user[data-key="{}"] .hops"#, b.node.key))
        .await?;
    assert_eq!(hops.as_deref(), Some("3 hops"));
    a.call(&b, "video").await?;
    a.wait_phase("in_call").await?;
    a.wait_media_flowing().await?;
    b.wait_media_flowing().await?;
    drop((x, y));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_only_call_connects_through_turn() -> anyhow::Result<()> {
    let (a, b) = call_connected(&[RELAY_ONLY], &[RELAY_ONLY, AUTO_ACCEPT]).await?;
    a.wait_media_flowing().await?;
    b.wait_media_flowing().await?;
    for p in [&a, &b] {
        assert_eq!(
            p.browser
                .attr("#call-stats", "data-local-candidate")
                .await?
                .as_deref(),
            Some("relay"),
            "with iceTransportPolicy relay the selected pair must use a relay candidate"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callee_without_camera_joins_with_audio_only() -> anyhow::Result<()> {
    let a = Node::start_gossip("alice", &[]).await?;
    let b = Node::start_gossip("bob", &[&a]).await?;
    let a = Person::open(a).await?;
    let b = Person::open_in(b, Browser::start_without_camera().await?).await?;
    a.call(&b, "video").await?;
    b.click("#accept-call").await?;
    b.wait_phase("in_call").await?;
    // The call connects while the camera is asked for, so the fallback may be told a moment later.
    wait_for(
        "bob's page to say it goes on with audio only",
        LIMIT,
        || async { Ok(b.browser.text("#call-notice").await?.unwrap_or_default()) },
        |notice| notice.contains("audio only"),
    )
    .await?;
    // Bob sends audio but no video; Alice hears him and sees that his camera is off.
    wait_until("alice to receive bob's audio", LIMIT, || async {
        Ok(a.stat("audio-packets").await? > 10)
    })
    .await?;
    wait_until("alice to see that bob's camera is off", LIMIT, || async {
        Ok(a.browser.text("#peer-camera-off").await?.is_some())
    })
    .await?;
    // Bob still sees and hears Alice.
    b.wait_media_flowing().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_stopped_mid_call_exits_cleanly_and_its_peers_see_it_leave() -> anyhow::Result<()> {
    let (mut a, b) = call_connected(&[], &[AUTO_ACCEPT]).await?;
    b.wait_media_flowing().await?;
    let stopping = std::time::Instant::now();
    let status = a.node.stop().await?;
    assert!(status.success(), "alice's node exited with {status}");
    eprintln!("alice's node stopped mid-call in {:?}", stopping.elapsed());
    wait_until("alice's page to say its node is gone", LIMIT, || async {
        Ok(a.browser
            .attr("#link-status", "data-state")
            .await?
            .as_deref()
            != Some("connected"))
    })
    .await?;
    // Bob's node stops hearing alice's: her route goes, and his page shows her unreachable.
    let alice = format!(
        r#"li.user[data-key="{}"][data-reachable="true"]"#,
        a.node.key
    );
    wait_until("bob to see alice leave", LIMIT, || async {
        Ok(b.browser.text(&alice).await?.is_none())
    })
    .await
}
