//! Firefox ↔ Chromium: the page in Firefox ESR (its WebSocket to the node, the users list, ringing), and calls
//! between the two browsers in both directions carrying everything a call has — audio and video both ways, mute and
//! camera-off seen by the other side, screen sharing, chat, 20 MB files with matching SHA-256 each way, the same
//! safety code on both pages, and hang-up from either side. Every signaling message crosses the gossip network.
//!
//! Screen sharing goes both ways: Firefox runs on a virtual display of its own (Xvfb) and shares that display.

use std::time::Duration;

use hearsay_tests::call_page::{self, LIMIT, Person, same_shape};
use hearsay_tests::fantoccini::Locator;
use hearsay_tests::files::{downloaded_sha256, make_file, offer_files, transfer_state};
use hearsay_tests::{BrowserKind, RELAY_ONLY, wait_until};

/// [`call_page::pair_in`] (`args` for both nodes), saying which browser runs each page.
async fn pair_in(
    alice_in: BrowserKind,
    bob_in: BrowserKind,
    args: &[&str],
) -> anyhow::Result<(Person, Person)> {
    let (a, b) = call_page::pair_in(alice_in, bob_in, args, args).await?;
    for p in [&a, &b] {
        eprintln!(
            "{}'s page runs in {}",
            p.node.name,
            p.browser.version().await?
        );
    }
    Ok((a, b))
}

/// Alice calls Bob with video; Bob sees who rings and accepts by a click; both end up in the call with media
/// flowing both ways and the same safety code.
async fn call_and_accept(a: &Person, b: &Person) -> anyhow::Result<()> {
    a.call(b, "video").await?;
    b.wait_phase("ringing_in").await?;
    anyhow::ensure!(
        b.browser.text("#caller-name").await?.as_deref() == Some("alice"),
        "bob's page should say alice is calling"
    );
    b.click("#accept-call").await?;
    a.wait_phase("in_call").await?;
    b.wait_phase("in_call").await?;
    a.wait_media_flowing().await?;
    b.wait_media_flowing().await?;
    wait_until("both pages to show a safety code", LIMIT, || async {
        Ok(a.browser.text("#safety-code").await?.is_some()
            && b.browser.text("#safety-code").await?.is_some())
    })
    .await?;
    let (at_a, at_b) = (
        a.browser.text("#safety-code").await?,
        b.browser.text("#safety-code").await?,
    );
    anyhow::ensure!(
        at_a == at_b,
        "safety codes differ: {at_a:?} at alice, {at_b:?} at bob"
    );
    // Each page reads its selected candidate pair from its own browser's getStats (Firefox names it differently).
    for p in [a, b] {
        let path = p.wait_path("known", |_| true).await?;
        eprintln!("{}'s path ({}): {path}", p.node.name, p.browser.kind.name());
    }
    Ok(())
}

/// `from` turns its microphone and then its camera off and on again; `to` sees each change.
async fn mute_and_camera_seen(from: &Person, to: &Person) -> anyhow::Result<()> {
    let (who, seen_by) = (&from.node.name, &to.node.name);
    for (button, indicator, what) in [
        ("#toggle-mic", "#peer-muted", "muted"),
        ("#toggle-camera", "#peer-camera-off", "camera off"),
    ] {
        from.click(button).await?;
        wait_until(&format!("{seen_by} to see {who} {what}"), LIMIT, || async {
            Ok(to.browser.text(indicator).await?.is_some())
        })
        .await?;
        from.click(button).await?;
        wait_until(
            &format!("{seen_by} to see {who} no longer {what}"),
            LIMIT,
            || async { Ok(to.browser.text(indicator).await?.is_none()) },
        )
        .await?;
    }
    to.wait_media_flowing().await
}

/// `from` writes `text` in the chat; `to` opens its chat and reads it.
async fn chat(from: &Person, to: &Person, text: &str) -> anyhow::Result<()> {
    if from.browser.text("#chat-input").await?.is_none() {
        from.click("#toggle-chat").await?;
    }
    from.browser
        .client
        .find(Locator::Css("#chat-input"))
        .await?
        .send_keys(&format!("{text}\u{E007}")) // U+E007 is WebDriver's Enter key
        .await?;
    if to.browser.text("#chat-input").await?.is_none() {
        to.click("#toggle-chat").await?;
    }
    wait_until(
        &format!("{} to read {text:?}", to.node.name),
        LIMIT,
        || async {
            let all = to
                .browser
                .client
                .find_all(Locator::Css(".chat-msg.theirs .text"))
                .await?;
            for msg in all {
                if msg.text().await? == text {
                    return Ok(true);
                }
            }
            Ok(false)
        },
    )
    .await
}

/// `from` offers a 20 MB file as transfer `id`; `to` accepts it; what `to` can download has the same SHA-256.
async fn send_20_mb(from: &Person, to: &Person, id: &str, seed: u64) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (path, sha) = make_file(dir.path(), &format!("twenty-{id}.bin"), 20 << 20, seed);
    offer_files(from, &[&path]).await?;
    to.click(&format!(
        r#"li.transfer[data-direction="in"][data-id="{id}"] button.accept"#
    ))
    .await?;
    let started = std::time::Instant::now();
    wait_until(
        &format!("{}'s file to reach {}", from.node.name, to.node.name),
        Duration::from_secs(120),
        || async { Ok(transfer_state(to, "in", id).await?.as_deref() == Some("done")) },
    )
    .await?;
    eprintln!(
        "20 MB {} ({}) → {} ({}) in {:.1} s",
        from.node.name,
        from.browser.kind.name(),
        to.node.name,
        to.browser.kind.name(),
        started.elapsed().as_secs_f64()
    );
    wait_until("the sender to show the file sent", LIMIT, || async {
        Ok(transfer_state(from, "out", id).await?.as_deref() == Some("done"))
    })
    .await?;
    anyhow::ensure!(
        downloaded_sha256(to, id).await? == sha,
        "the file {} downloads is not the file {} sent",
        to.node.name,
        from.node.name
    );
    Ok(())
}

/// `sharer` shares its screen; `viewer` is told and decodes frames of another shape; then back to the camera.
async fn screen_share_seen(sharer: &Person, viewer: &Person) -> anyhow::Result<()> {
    let camera = viewer.frame_shape().await?;
    anyhow::ensure!(camera > 0.0, "no video decoded before sharing");
    sharer.click("#toggle-screen").await?;
    let told = wait_until(
        "the viewer to be told of the shared screen",
        LIMIT,
        || async { Ok(viewer.browser.text("#peer-sharing").await?.is_some()) },
    )
    .await;
    if let Err(err) = told {
        let notice = sharer.browser.text("#call-notice").await?;
        sharer.browser.screenshot("firefox-share-failed").await?;
        anyhow::bail!(
            "{err:#}; the sharer's page ({}) says {notice:?}",
            sharer.browser.kind.name()
        );
    }
    wait_until("the viewer to decode the screen", LIMIT, || async {
        let shape = viewer.frame_shape().await?;
        Ok(shape != 0.0 && !same_shape(shape, camera))
    })
    .await?;
    sharer.click("#toggle-screen").await?;
    wait_until("the viewer to get the camera back", LIMIT, || async {
        Ok(viewer.browser.text("#peer-sharing").await?.is_none()
            && same_shape(viewer.frame_shape().await?, camera))
    })
    .await?;
    viewer.wait_media_flowing().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firefox_calls_chromium_and_everything_crosses() -> anyhow::Result<()> {
    let (a, b) = pair_in(BrowserKind::Firefox, BrowserKind::Chromium, &[]).await?;
    a.wait_reachable(&b).await?;
    a.browser.screenshot("firefox-idle").await?;
    call_and_accept(&a, &b).await?;
    a.browser.screenshot("firefox-in-call").await?;
    mute_and_camera_seen(&a, &b).await?;
    mute_and_camera_seen(&b, &a).await?;
    chat(&a, &b, "hello from firefox").await?;
    chat(&b, &a, "hello from chromium").await?;
    send_20_mb(&a, &b, "0", 11).await?;
    send_20_mb(&b, &a, "0", 12).await?;
    screen_share_seen(&b, &a).await?;
    a.click("#hang-up").await?;
    a.wait_phase("ended:HungUpByYou").await?;
    b.wait_phase("ended:HungUpByPeer").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_calls_firefox_and_firefox_hangs_up() -> anyhow::Result<()> {
    let (a, b) = pair_in(BrowserKind::Chromium, BrowserKind::Firefox, &[]).await?;
    b.wait_reachable(&a).await?;
    call_and_accept(&a, &b).await?;
    b.browser.screenshot("firefox-answered").await?;
    mute_and_camera_seen(&b, &a).await?;
    screen_share_seen(&a, &b).await?;
    screen_share_seen(&b, &a).await?;
    b.click("#hang-up").await?;
    b.wait_phase("ended:HungUpByYou").await?;
    a.wait_phase("ended:HungUpByPeer").await
}

/// Firefox's TURN client against the node's TURN server: both pages may only use relay candidates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_only_call_between_firefox_and_chromium_goes_through_turn() -> anyhow::Result<()> {
    let (a, b) = pair_in(BrowserKind::Firefox, BrowserKind::Chromium, &[RELAY_ONLY]).await?;
    call_and_accept(&a, &b).await?;
    for p in [&a, &b] {
        let path = p.wait_path("relayed", |p| p.local == "relay").await?;
        eprintln!(
            "{} relays via {}",
            p.browser.kind.name(),
            path.local_address
        );
    }
    a.click("#hang-up").await?;
    b.wait_phase("ended:HungUpByPeer").await
}
