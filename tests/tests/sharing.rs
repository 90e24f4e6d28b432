//! In a running call: switching to screen sharing and back keeps the peer receiving (and it sees which it gets),
//! chat flows both ways with an unread marker, files arrive whole and verified (one, two at once, or cancelled
//! cleanly), and both pages show the same safety code, which changes with either identity.

use std::time::Duration;

use hearsay_tests::call_page::{LIMIT, Person, call_connected, same_shape};
use hearsay_tests::fantoccini::Locator;
use hearsay_tests::files::{
    describe_transfer, downloaded_sha256, make_file, offer_files, transfer_state,
};
use hearsay_tests::{AUTO_ACCEPT, Node, wait_for, wait_until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screen_sharing_switches_the_track_and_back_without_dropping_the_call() -> anyhow::Result<()>
{
    let (a, b) = call_connected(&[], &[AUTO_ACCEPT]).await?;
    b.wait_media_flowing().await?;
    let camera = b.frame_shape().await?;
    anyhow::ensure!(camera > 0.0, "bob decodes no video from alice's camera");
    eprintln!("camera frames are {camera:.3} wide for 1 high");
    a.click("#toggle-screen").await?;
    wait_until("bob to see that alice shares her screen", LIMIT, || async {
        Ok(b.browser.text("#peer-sharing").await?.is_some())
    })
    .await?;
    wait_until(
        "bob to decode frames of another shape (the screen)",
        LIMIT,
        || async {
            let shape = b.frame_shape().await?;
            Ok(shape != 0.0 && !same_shape(shape, camera))
        },
    )
    .await?;
    b.wait_media_flowing().await?;
    a.browser.screenshot("share-screen").await?;
    b.browser.screenshot("share-screen-peer").await?;
    a.click("#toggle-screen").await?;
    wait_for(
        &format!("bob to get the camera back (no sharing notice, shape {camera:.3})"),
        LIMIT,
        || async {
            Ok((
                b.browser.text("#peer-sharing").await?.is_some(),
                b.frame_shape().await?,
            ))
        },
        |&(sharing, shape)| !sharing && same_shape(shape, camera),
    )
    .await?;
    b.wait_media_flowing().await?;
    a.wait_phase("in_call").await?;
    b.wait_phase("in_call").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_flows_both_ways_with_an_unread_marker() -> anyhow::Result<()> {
    let (a, b) = call_connected(&[], &[AUTO_ACCEPT]).await?;
    a.click("#toggle-chat").await?;
    let input = a.browser.client.find(Locator::Css("#chat-input")).await?;
    input.send_keys("hello bob\u{E007}").await?; // U+E007 is WebDriver's Enter key
    wait_until("bob's unread marker", LIMIT, || async {
        Ok(b.browser.text("#chat-unread").await?.as_deref() == Some("1"))
    })
    .await?;
    b.click("#toggle-chat").await?;
    wait_until("bob to read alice's message", LIMIT, || async {
        Ok(b.browser.text(".chat-msg.theirs .text").await?.as_deref() == Some("hello bob"))
    })
    .await?;
    assert_eq!(
        b.browser.text("#chat-unread").await?,
        None,
        "opening the chat clears the marker"
    );
    let input = b.browser.client.find(Locator::Css("#chat-input")).await?;
    input.send_keys("hi alice").await?;
    b.click("#chat-send").await?;
    wait_until("alice to read bob's reply", LIMIT, || async {
        Ok(a.browser.text(".chat-msg.theirs .text").await?.as_deref() == Some("hi alice"))
    })
    .await?;
    assert_eq!(
        a.browser.text(".chat-msg.mine .text").await?.as_deref(),
        Some("hello bob")
    );
    b.browser.screenshot("chat").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_20_mb_file_arrives_with_the_same_sha256() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (path, sha) = make_file(dir.path(), "twenty.bin", 20 << 20, 1);
    let (a, b) = call_connected(&[], &[AUTO_ACCEPT]).await?;
    offer_files(&a, &[&path]).await?;
    b.click(r#"li.transfer[data-direction="in"][data-id="0"] button.accept"#)
        .await?;
    wait_until("a transfer in progress on both sides", LIMIT, || async {
        let bytes = b
            .browser
            .attr(r#"li.transfer[data-direction="in"]"#, "data-bytes")
            .await?;
        Ok(bytes
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|n| n > 0))
    })
    .await?;
    b.browser.screenshot("transfer-in-progress").await?;
    wait_until("the file to arrive", Duration::from_secs(120), || async {
        Ok(transfer_state(&b, "in", "0").await?.as_deref() == Some("done"))
    })
    .await?;
    assert_eq!(
        transfer_state(&a, "out", "0").await?.as_deref(),
        Some("done")
    );
    assert_eq!(downloaded_sha256(&b, "0").await?, sha);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_files_at_once_both_arrive() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (one, sha_one) = make_file(dir.path(), "one.bin", 3 << 20, 2);
    // A name that would show as "twoexe.html" if its right-to-left override were obeyed.
    let (two, sha_two) = make_file(dir.path(), "two\u{202E}lmth.exe", 5 << 20, 3);
    let (a, b) = call_connected(&[], &[AUTO_ACCEPT]).await?;
    offer_files(&a, &[&one, &two]).await?;
    b.click(r#"li.transfer[data-direction="in"][data-id="1"] button.accept"#)
        .await?;
    b.click(r#"li.transfer[data-direction="in"][data-id="0"] button.accept"#)
        .await?;
    for id in ["0", "1"] {
        wait_until("both files to arrive", Duration::from_secs(120), || async {
            Ok(transfer_state(&b, "in", id).await?.as_deref() == Some("done"))
        })
        .await?;
    }
    assert_eq!(downloaded_sha256(&b, "0").await?, sha_one);
    assert_eq!(downloaded_sha256(&b, "1").await?, sha_two);
    let shown = b
        .browser
        .text(r#"li.transfer[data-direction="in"][data-id="1"] .name"#)
        .await?;
    assert_eq!(
        shown.as_deref(),
        Some("two_lmth.exe"),
        "the override is shown, not obeyed"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_transfer_leaves_both_sides_clean() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (big, _) = make_file(dir.path(), "big.bin", 400 << 20, 4);
    let (a, b) = call_connected(&[], &[AUTO_ACCEPT]).await?;
    offer_files(&a, &[&big]).await?;
    b.click(r#"li.transfer[data-direction="in"][data-id="0"] button.accept"#)
        .await?;
    wait_until("some bytes to arrive", LIMIT, || async {
        let bytes = b
            .browser
            .attr(r#"li.transfer[data-direction="in"]"#, "data-bytes")
            .await?;
        Ok(bytes
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|n| n > 0))
    })
    .await?;
    // Bob's page is receiving at full speed: on a loaded machine it answers WebDriver slowly, so the Cancel is
    // found and clicked in one script (CI saw the transfer end while a WebDriver click was still on its way).
    if let Err(err) = b
        .click_in_one_turn(r#"li.transfer[data-direction="in"][data-id="0"] button.cancel"#)
        .await
    {
        let (at_b, at_a) = (
            describe_transfer(&b, "in", "0").await,
            describe_transfer(&a, "out", "0").await,
        );
        return Err(err.context(format!("bob's row: {at_b}; alice's row: {at_a}")));
    }
    wait_until(
        "both sides to show the transfer cancelled",
        LIMIT,
        || async {
            Ok(
                transfer_state(&a, "out", "0").await?.as_deref() == Some("cancelled")
                    && transfer_state(&b, "in", "0").await?.as_deref() == Some("cancelled"),
            )
        },
    )
    .await?;
    assert!(
        b.browser.text("a.download").await?.is_none(),
        "a cancelled file offers no download"
    );
    // The channel is still good: a chat message gets through after the cancel.
    a.click("#toggle-chat").await?;
    a.browser
        .client
        .find(Locator::Css("#chat-input"))
        .await?
        .send_keys("still here\u{E007}")
        .await?;
    wait_until("the chat to still work", LIMIT, || async {
        Ok(b.browser.text("#chat-unread").await?.is_some())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn safety_codes_match_and_change_with_an_identity() -> anyhow::Result<()> {
    async fn codes(a: &Person, b: &Person) -> anyhow::Result<(String, String)> {
        wait_until("both pages to show a safety code", LIMIT, || async {
            Ok(a.browser.text("#safety-code").await?.is_some()
                && b.browser.text("#safety-code").await?.is_some())
        })
        .await?;
        Ok((
            a.browser.text("#safety-code").await?.unwrap_or_default(),
            b.browser.text("#safety-code").await?.unwrap_or_default(),
        ))
    }
    let (a, b) = call_connected(&[], &[AUTO_ACCEPT]).await?;
    let (at_a, at_b) = codes(&a, &b).await?;
    assert_eq!(at_a, at_b, "both ends must show the same code");
    a.click("#hang-up").await?;
    a.click("#dismiss-call").await?;
    a.wait_phase("idle").await?;

    // Another bob: same name, fresh data dir, so a fresh identity key. Alice calls him from the same page.
    let other = Node::start_gossip_with("bob", &[&a.node], &[AUTO_ACCEPT]).await?;
    assert_ne!(other.key, b.node.key);
    let b2 = Person::open(other).await?;
    // Two users called "bob" are told apart: each is marked, each keeps its own fingerprint.
    a.wait_reachable(&b2).await?;
    wait_until(
        "both bobs to be marked as sharing a name",
        LIMIT,
        || async {
            let marked = a
                .browser
                .client
                .find_all(Locator::Css("li.user.same-name"))
                .await?
                .len();
            Ok(marked == 2)
        },
    )
    .await?;
    a.call(&b2, "video").await?;
    a.wait_phase("in_call").await?;
    let (again_a, again_b) = codes(&a, &b2).await?;
    assert_eq!(again_a, again_b);
    assert_ne!(at_a, again_a, "another identity gives another code");
    Ok(())
}
