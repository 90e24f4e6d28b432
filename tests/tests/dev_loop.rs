//! The page development loop works as the README says: a node that also serves its WebSocket over plain HTTP on
//! loopback (`--dev-http`), and `trunk serve` beside it proxying `/ws` and the login to it; the page trunk serves,
//! opened from the development link the node prints, connects to the node and shows its name.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use hearsay_tests::{Browser, Node, free_port, repo_root, wait_for, wait_until};

/// trunk may have to build the page first (it reuses what `cargo xtask build-page` built when it can).
const TRUNK_LIMIT: Duration = Duration::from_secs(300);
/// The page, once served, connects to the node within this.
const CONNECT_LIMIT: Duration = Duration::from_secs(30);

/// The directory `cargo xtask` installs trunk and wasm-bindgen into.
fn cargo_bin() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_default()
        .join("bin")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trunk_serve_gives_a_page_connected_to_a_running_node() -> anyhow::Result<()> {
    let trunk = cargo_bin().join("trunk");
    anyhow::ensure!(
        trunk.is_file(),
        "trunk is not installed at {}: `cargo xtask test` installs it",
        trunk.display()
    );
    let (dev_port, page_port) = (free_port(), free_port());
    let origin = format!("http://127.0.0.1:{page_port}");
    let node = Node::start_with(
        "dev-loop",
        &[
            "--dev-http",
            &format!("127.0.0.1:{dev_port}"),
            "--allow-origin",
            &origin,
        ],
    )
    .await?;

    // The repo's own Trunk.toml, with this test's ports, paths made absolute and an output folder of its own.
    let work = tempfile::Builder::new()
        .prefix("hearsay-trunk-")
        .tempdir()?;
    let config = work.path().join("Trunk.toml");
    let repo_config = std::fs::read_to_string(repo_root().join("Trunk.toml"))?;
    let ours = repo_config
        .replace(
            "\"frontend/index.html\"",
            &format!("{:?}", repo_root().join("frontend/index.html")),
        )
        .replace(
            "\"frontend/dist\"",
            &format!("{:?}", work.path().join("dist")),
        )
        .replace(
            "watch = [\"frontend\", \"shared\"]",
            &format!(
                "watch = [{:?}, {:?}]",
                repo_root().join("frontend"),
                repo_root().join("shared")
            ),
        )
        .replace("port = 8080", &format!("port = {page_port}"))
        .replace("127.0.0.1:8081", &format!("127.0.0.1:{dev_port}"));
    anyhow::ensure!(
        ours.contains(&format!("127.0.0.1:{dev_port}"))
            && ours.contains(&format!("port = {page_port}")),
        "Trunk.toml no longer has the ports the README names:\n{repo_config}"
    );
    std::fs::write(&config, ours)?;
    let path = std::env::join_paths(std::iter::once(cargo_bin()).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))?;
    let _trunk = tokio::process::Command::new(&trunk)
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .current_dir(repo_root())
        .env("PATH", path)
        .env("NO_COLOR", "true")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(work.path().join("trunk.log"))?)
        .kill_on_drop(true)
        .spawn()
        .context("starting trunk serve")?;

    let browser = Browser::start().await?;
    let trunk_log = |err: anyhow::Error| {
        let log = std::fs::read_to_string(work.path().join("trunk.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(15)..].join("\n");
        anyhow::anyhow!("{err:#}\ntrunk said:\n{tail}")
    };
    // Until trunk has built and serves the page, loading fails or shows no page yet: try again. The link is the one
    // the node prints for development: the login goes through trunk's proxy to the node.
    let login = format!("{origin}/login?token={}", node.token());
    wait_until("trunk serve to give the page", TRUNK_LIMIT, || async {
        Ok(browser.client.goto(&login).await.is_ok()
            && browser.attr("#link-status", "data-state").await?.is_some())
    })
    .await
    .map_err(trunk_log)?;
    let state = wait_for(
        "the page from trunk serve to connect to the node",
        CONNECT_LIMIT,
        || async { browser.attr("#link-status", "data-state").await },
        |state| state.as_deref() == Some("connected"),
    )
    .await
    .map_err(trunk_log)?;
    assert_eq!(state.as_deref(), Some("connected"));
    assert_eq!(
        browser.text("#node-name").await?.as_deref(),
        Some("dev-loop"),
        "the page speaks with the node it was proxied to"
    );
    browser.close().await?;
    drop(node);
    Ok(())
}
