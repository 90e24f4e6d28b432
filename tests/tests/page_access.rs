//! Only the user drives their node: the page's WebSocket, tried as an attacker would — from another website, from a
//! program without a browser's headers, through a DNS name that is not the node's, without the token, as another
//! UNIX user, by framing the page, and with an `?auto-accept` URL while the attacker calls. Each is refused or
//! inert, and the user's own page is unaffected. The page itself runs under its security headers.

use std::time::Duration;

use hearsay_tests::call_page::{LIMIT, Person};
use hearsay_tests::page_socket::{Handshake, PageSocket, login, refused_status};
use hearsay_tests::{AUTO_ACCEPT, Browser, Node, require_tool, wait_until};

async fn link_state(browser: &Browser) -> anyhow::Result<Option<String>> {
    browser.attr("#link-status", "data-state").await
}

/// Tries an upgrade with `handshake`; the HTTP status it was refused with, or `None` if it got in.
async fn knock(node: &Node, handshake: Handshake) -> anyhow::Result<Option<u16>> {
    match PageSocket::connect_with(node, &handshake).await {
        Ok(_) => Ok(None),
        Err(err) => refused_status(&err)
            .map(Some)
            .ok_or_else(|| err.context("the upgrade failed without an HTTP answer")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn programs_without_the_token_origin_or_host_are_refused() -> anyhow::Result<()> {
    let node = Node::start_with("victim", &["--allow-origin", "http://127.0.0.1:8080"]).await?;
    let page = Handshake::as_page(&node).await?;
    let port = node
        .origin()
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        knock(&node, page.clone()).await?,
        None,
        "the own page gets in"
    );

    let cases = [
        (
            "no Origin (a local program)",
            Handshake {
                origin: None,
                ..page.clone()
            },
        ),
        (
            "another website's Origin",
            Handshake {
                origin: Some("https://evil.example".into()),
                ..page.clone()
            },
        ),
        (
            "a DNS name pointing at loopback (rebinding)",
            Handshake {
                host: Some(format!("rebind.example:{}", node.web.port())),
                origin: Some(format!("https://rebind.example:{}", node.web.port())),
                ..page.clone()
            },
        ),
        (
            "no token",
            Handshake {
                cookie: None,
                ..page.clone()
            },
        ),
        (
            "a guessed session cookie",
            Handshake {
                cookie: Some(format!("hearsay-{port}={}", "0".repeat(64))),
                ..page.clone()
            },
        ),
        (
            "the login token as the cookie",
            Handshake {
                cookie: Some(format!("hearsay-{port}={}", node.token())),
                ..page.clone()
            },
        ),
        (
            "an allowed development origin without the token",
            Handshake {
                origin: Some("http://127.0.0.1:8080".into()),
                cookie: None,
                host: None,
            },
        ),
    ];
    for (what, handshake) in cases {
        assert_eq!(knock(&node, handshake).await?, Some(403), "{what}");
    }
    // The allowed development origin with the token gets in (trunk serve's proxy passes both on).
    let dev = Handshake {
        origin: Some("http://127.0.0.1:8080".into()),
        ..page.clone()
    };
    assert_eq!(knock(&node, dev).await?, None);
    // After all that the user's own socket still works.
    let mut own = PageSocket::connect(&node).await?;
    own.wait_for("a heartbeat", Duration::from_secs(10), |m| {
        matches!(m, hearsay_shared::page::ServerMsg::Heartbeat { .. }).then_some(())
    })
    .await?;
    Ok(())
}

/// `curl` as the UNIX user `nobody`: what another account on the same machine gets.
fn as_nobody(args: &[&str]) -> anyhow::Result<std::process::Output> {
    anyhow::ensure!(
        nix_is_root(),
        "this test needs root (it runs a client as the user `nobody` with runuser); run it as root, as CI does"
    );
    let runuser = require_tool("runuser", "util-linux")?;
    Ok(std::process::Command::new(runuser)
        .args(["-u", "nobody", "--"])
        .args(args)
        .output()?)
}

/// `curl` as `nobody` fetching `url` with `extra` arguments; the HTTP status is its stdout.
fn curl_as_nobody(
    curl: &std::path::Path,
    extra: &[&str],
    url: &str,
) -> anyhow::Result<std::process::Output> {
    let curl = curl.to_string_lossy();
    let mut args = vec![
        curl.as_ref(),
        "--silent",
        "--insecure",
        "--max-time",
        "10",
        "--output",
        "/dev/null",
        "--write-out",
        "%{http_code}",
    ];
    args.extend(extra);
    args.push(url);
    as_nobody(&args)
}

fn nix_is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_unix_user_can_neither_read_the_token_nor_get_in() -> anyhow::Result<()> {
    let curl = require_tool("curl", "curl")?;
    let node = Node::start("victim").await?;
    let url_file = node.data_dir().join(hearsay_shared::startup::PAGE_URL_FILE);
    let read = as_nobody(&["cat", &url_file.to_string_lossy()])?;
    assert!(
        !read.status.success() && read.stdout.is_empty(),
        "nobody read the token file: {}",
        String::from_utf8_lossy(&read.stdout)
    );
    // With everything but the token a browser page would send.
    let upgrade = curl_as_nobody(
        &curl,
        &[
            "--http1.1",
            "-H",
            &format!("Origin: {}", node.origin()),
            "-H",
            "Connection: Upgrade",
            "-H",
            "Upgrade: websocket",
            "-H",
            "Sec-WebSocket-Version: 13",
            "-H",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        ],
        &format!("https://{}/ws", node.web),
    )?;
    assert_eq!(
        String::from_utf8_lossy(&upgrade.stdout),
        "403",
        "curl as nobody: {}",
        String::from_utf8_lossy(&upgrade.stderr)
    );
    // A guessed login gets nothing either.
    let login = curl_as_nobody(
        &curl,
        &[],
        &format!("https://{}/login?token=guess", node.web),
    )?;
    assert_eq!(String::from_utf8_lossy(&login.stdout), "403");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websites_cannot_drive_frame_or_switch_the_page() -> anyhow::Result<()> {
    let attacker = Node::start_gossip("mallory", &[]).await?;
    let victim = Node::start_gossip("victim", &[&attacker]).await?;
    let ws_url = format!("wss://{}/ws", victim.web);
    let page_root = format!("{}/", victim.origin());
    let open = r#"
        const [url, done] = [arguments[0], arguments[arguments.length - 1]];
        const ws = new WebSocket(url);
        ws.onopen = () => { ws.close(); done("open"); };
        ws.onclose = () => done("refused");
        setTimeout(() => done("timed out"), 15000);
    "#;
    let browser = Browser::start().await?;
    // Without the token the page says how to get in, instead of staying blank.
    browser.client.goto(&page_root).await?;
    wait_until("the page to say it is locked", LIMIT, || async {
        Ok(link_state(&browser).await?.as_deref() == Some("locked"))
    })
    .await?;
    let notice = browser.text("#needs-token").await?.unwrap_or_default();
    assert!(notice.contains("hearsay url"), "{notice}");
    browser.screenshot("page-locked").await?;

    // The user opens the node's link; this browser now holds the token as a cookie. The page connects.
    browser.client.goto(&victim.url).await?;
    wait_until("the page to connect", LIMIT, || async {
        Ok(link_state(&browser).await?.as_deref() == Some("connected"))
    })
    .await?;
    assert!(
        !browser
            .client
            .current_url()
            .await?
            .as_str()
            .contains("token"),
        "the token is taken out of the address bar"
    );
    // The page runs under its headers.
    let headers = browser
        .client
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
               fetch("/").then(r => done(Object.fromEntries(["content-security-policy",
                 "x-content-type-options", "referrer-policy", "cross-origin-opener-policy"]
                 .map(h => [h, r.headers.get(h)]))));"#,
            vec![],
        )
        .await?;
    let csp = headers["content-security-policy"].as_str().unwrap_or("");
    assert!(csp.contains("frame-ancestors 'none'"), "{headers}");
    assert!(csp.contains("default-src 'self'"), "{headers}");
    assert_eq!(headers["x-content-type-options"], "nosniff", "{headers}");
    assert_eq!(headers["referrer-policy"], "no-referrer", "{headers}");
    assert_eq!(
        headers["cross-origin-opener-policy"], "same-origin",
        "{headers}"
    );

    // A website the user visits, in the same browser that holds the cookie: its WebSocket is refused...
    browser
        .client
        .goto("data:text/html,<title>elsewhere</title>")
        .await?;
    let elsewhere = browser
        .client
        .execute_async(open, vec![serde_json::Value::String(ws_url.clone())])
        .await?;
    assert_eq!(elsewhere, "refused");
    // ...and it cannot frame the page (a frame it made itself shows, so frames are seen at all).
    // Each frame counts its load (a refused frame loads the browser's error page, and that fires load too).
    let framing = format!(
        "data:text/html,<script>window.loaded = 0;</script>\
         <iframe onload=\"loaded++\" srcdoc=\"<p id=control>shown</p>\"></iframe>\
         <iframe onload=\"loaded++\" src=\"{page_root}\"></iframe>"
    );
    browser.client.goto(&framing).await?;
    wait_until("both frames to load", LIMIT, || async {
        let loaded = browser
            .client
            .execute("return window.loaded;", vec![])
            .await?;
        Ok(loaded.as_u64() == Some(2))
    })
    .await?;
    browser.client.enter_frame(0).await?;
    assert_eq!(
        browser.text("#control").await?.as_deref(),
        Some("shown"),
        "the control frame shows"
    );
    browser.client.enter_parent_frame().await?;
    browser.client.enter_frame(1).await?;
    assert_eq!(
        browser.text("#link-status").await?,
        None,
        "the node's page must not render inside another site's frame"
    );
    browser.client.enter_parent_frame().await?;

    // The website sends the user to the page with the old test switch while its owner calls: the page rings and
    // waits for the user; nothing in a URL answers for them.
    browser
        .client
        .goto(&format!("{page_root}?auto-accept&relay-only"))
        .await?;
    let victim = Person {
        node: victim,
        browser,
    };
    wait_until("the page to connect", LIMIT, || async {
        Ok(link_state(&victim.browser).await?.as_deref() == Some("connected"))
    })
    .await?;
    assert_eq!(victim.browser.text("#testing-banner").await?, None);
    let mallory = Person::open(attacker).await?;
    mallory.wait_reachable(&victim).await?;
    mallory.call(&victim, "video").await?;
    // An auto-answer would come in the same step as the invite (the call runtime accepts before it publishes), so
    // a page that shows ringing at all did not answer by itself; the caller still waits too.
    victim.wait_phase("ringing_in").await?;
    assert_eq!(
        victim.phase().await?,
        "ringing_in",
        "still ringing, not answered"
    );
    assert_eq!(mallory.phase().await?, "ringing_out");
    victim.click("#reject-call").await?;
    mallory.wait_phase("ended:Declined").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn testing_switches_come_only_from_the_node_and_show_a_banner() -> anyhow::Result<()> {
    let node = Node::start_with("tester", &[AUTO_ACCEPT]).await?;
    let person = Person::open(node).await?;
    let banner = person
        .browser
        .text("#testing-banner")
        .await?
        .unwrap_or_default();
    assert!(banner.contains("answers every call"), "{banner:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_kills_the_old_link_but_keeps_logged_in_pages() -> anyhow::Result<()> {
    let mut node = Node::start("victim").await?;
    let before = node.url.clone();
    let printed = std::process::Command::new(hearsay_tests::hearsay_bin()?)
        .arg("url")
        .arg("--data-dir")
        .arg(node.data_dir())
        .output()?;
    assert_eq!(
        String::from_utf8_lossy(&printed.stdout).trim(),
        before,
        "`hearsay url` prints the running node's link"
    );
    let logged_in = Handshake::as_page(&node).await?;
    node.restart().await?;
    assert_ne!(node.url, before, "a new start, a new token");
    let old_link = login(&node, &before).await.unwrap_err().to_string();
    assert!(old_link.contains("403"), "{old_link}");
    assert_eq!(
        knock(&node, logged_in).await?,
        None,
        "a browser logged in before the restart reconnects by itself"
    );
    assert!(login(&node, &node.url).await.is_ok());
    Ok(())
}
