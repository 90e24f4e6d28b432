//! The page, served by a real node, shows in a real browser that it is connected to its node, notices when the
//! node stops, and reconnects when it comes back.

use std::time::Duration;

use hearsay_tests::{Browser, Node, wait_until};

const LIMIT: Duration = Duration::from_secs(30);

async fn link_state(browser: &Browser) -> anyhow::Result<Option<String>> {
    browser.attr("#link-status", "data-state").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_shows_its_node_then_disconnect_then_reconnect() -> anyhow::Result<()> {
    let mut node = Node::start("alice-test").await?;
    let browser = Browser::start().await?;
    browser.client.goto(&node.url).await?;

    wait_until("the page to say connected", LIMIT, || async {
        Ok(link_state(&browser).await?.as_deref() == Some("connected"))
    })
    .await?;
    assert_eq!(
        browser.text("#node-name").await?.as_deref(),
        Some("alice-test")
    );
    assert_eq!(
        browser.text("#link-status .link-label").await?.as_deref(),
        Some("connected")
    );
    browser.screenshot("page-idle-connected").await?;

    let status = node.stop().await?;
    assert!(
        status.success(),
        "SIGTERM should stop the node cleanly, got {status}"
    );
    wait_until("the page to say disconnected", LIMIT, || async {
        Ok(link_state(&browser).await?.as_deref() == Some("disconnected"))
    })
    .await?;
    browser.screenshot("page-disconnected").await?;

    node.restart().await?;
    wait_until("the page to reconnect by itself", LIMIT, || async {
        Ok(link_state(&browser).await?.as_deref() == Some("connected"))
    })
    .await?;
    assert_eq!(
        browser.text("#node-name").await?.as_deref(),
        Some("alice-test")
    );
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_answers_bad_websocket_frames_and_keeps_the_connection() -> anyhow::Result<()> {
    let node = Node::start("bob-test").await?;
    let browser = Browser::start().await?;
    browser.client.goto(&node.url).await?;
    let ws_url = format!("wss://{}/ws", node.web);
    // The browser's own WebSocket is the client: send one bad frame at a time, record what comes back.
    let script = r#"
        const [url, done] = [arguments[0], arguments[arguments.length - 1]];
        const frames = [
            "not json",
            JSON.stringify({v: 1, msg: {type: "teleport"}}),
            JSON.stringify({v: 99, msg: {type: "heartbeat"}}),
            JSON.stringify({v: 1, msg: {type: "heartbeat", pad: "x".repeat(100000)}}),
            new Uint8Array([1, 2, 3]),
            JSON.stringify({v: 1, msg: {type: "heartbeat"}}),
        ];
        const got = [];
        let next = 0;
        const ws = new WebSocket(url);
        const sendNext = () => {
            if (next < frames.length) { ws.send(frames[next++]); }
            if (next === frames.length) {
                // The last frame is valid and needs no answer: give the node a moment to (wrongly) answer it.
                next++;
                setTimeout(() => done({got, readyState: ws.readyState}), 500);
            }
        };
        ws.onmessage = (e) => {
            const msg = JSON.parse(e.data).msg;
            // Only hello and errors answer this test's frames; heartbeats and the gossip lists come on their own.
            if (msg.type !== "hello" && msg.type !== "error") return;
            got.push(msg.type === "error" ? msg.code : msg.type);
            sendNext();
        };
        ws.onclose = (e) => done({got, closed: e.code});
        setTimeout(() => done({got, timedOut: true}), 15000);
    "#;
    let result = browser
        .client
        .execute_async(script, vec![serde_json::Value::String(ws_url)])
        .await?;
    assert_eq!(
        result["got"],
        serde_json::json!([
            "hello",
            "not_json",
            "unknown_type",
            "unsupported_version",
            "too_large",
            "binary_frame"
        ]),
        "full result: {result}"
    );
    assert_eq!(
        result["readyState"], 1,
        "the connection must stay open: {result}"
    );
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_and_wasm_are_served_from_inside_the_binary() -> anyhow::Result<()> {
    // The node runs with its temp data dir as working directory, so the files can only come from the binary.
    let node = Node::start("carol-test").await?;
    let browser = Browser::start().await?;
    browser.client.goto(&node.url).await?;
    let script = r#"
        const done = arguments[arguments.length - 1];
        (async () => {
            const page = await fetch("/");
            const html = await page.text();
            const wasmName = (html.match(/[\w.-]+\.wasm/) || [null])[0];
            const wasm = wasmName ? await fetch("/" + wasmName) : null;
            const missing = await fetch("/no-such-file.js");
            done({
                status: page.status,
                type: page.headers.get("content-type"),
                hasScript: html.includes("<script"),
                wasmName,
                wasmStatus: wasm && wasm.status,
                wasmType: wasm && wasm.headers.get("content-type"),
                missingStatus: missing.status,
            });
        })().catch(e => done({error: String(e)}));
    "#;
    let r = browser.client.execute_async(script, vec![]).await?;
    assert_eq!(r["status"], 200, "{r}");
    assert!(
        r["type"].as_str().unwrap_or("").starts_with("text/html"),
        "{r}"
    );
    assert_eq!(r["hasScript"], true, "{r}");
    assert!(
        r["wasmName"].is_string(),
        "index.html must load a .wasm: {r}"
    );
    assert_eq!(r["wasmStatus"], 200, "{r}");
    assert_eq!(r["wasmType"], "application/wasm", "{r}");
    assert_eq!(r["missingStatus"], 404, "{r}");
    browser.close().await
}
