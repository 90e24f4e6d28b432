//! The end-to-end harness: real `hearsay` processes on loopback and real headless Chromium, driven through
//! chromedriver.
//!
//! - [`Node`] starts the `hearsay` binary (built on first use with `cargo build -p hearsay-node`) on a free port
//!   with a temporary data dir as its working directory, gossip on a free 127.0.0.1 UDP port, and reads its page
//!   URL and gossip address from stdout. [`Node::stop`] sends
//!   SIGTERM; [`Node::restart`] starts it again on the same port and data dir.
//! - [`Browser`] starts chromedriver and one Chromium session with the flags that work headless and offline
//!   (fake media devices, self-signed certificates accepted).
//! - [`wait_until`] polls a condition with a bound instead of sleeping a fixed time.
//!
//! Screenshots go to `artifacts/` at the repo root (or `$HEARSAY_ARTIFACTS`).

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use fantoccini::{Client, ClientBuilder, Locator};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub use fantoccini;

/// The line the node prints on stdout before its page URL (kept equal to `hearsay_node::PAGE_URL_PREFIX`).
const PAGE_URL_PREFIX: &str = "hearsay: page at ";
/// The line the node prints before its gossip address (kept equal to `hearsay_node::GOSSIP_ADDR_PREFIX`).
const GOSSIP_ADDR_PREFIX: &str = "hearsay: gossip at ";

/// How long a node may take to print its URL, and a browser to start.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The workspace root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the repo root")
        .to_path_buf()
}

/// The `hearsay` binary, built (once per test process) so tests never run a stale one.
/// `HEARSAY_BIN` overrides it.
pub fn hearsay_bin() -> anyhow::Result<PathBuf> {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("HEARSAY_BIN") {
            return Ok(PathBuf::from(bin));
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = std::process::Command::new(cargo)
            .args(["build", "--quiet", "-p", "hearsay-node", "--bin", "hearsay"])
            .current_dir(repo_root())
            .status()
            .map_err(|e| format!("running cargo build: {e}"))?;
        if !status.success() {
            return Err(format!("cargo build -p hearsay-node failed: {status}"));
        }
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_root().join("target"));
        Ok(target.join("debug").join("hearsay"))
    })
    .clone()
    .map_err(anyhow::Error::msg)
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("loopback has free ports")
}

/// Where tests put screenshots and other artifacts.
pub fn artifacts_dir() -> PathBuf {
    let dir = std::env::var_os("HEARSAY_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("artifacts"));
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// A running `hearsay` process.
pub struct Node {
    pub name: String,
    /// The page URL the node printed, e.g. `https://127.0.0.1:41234/`.
    pub url: String,
    pub web: SocketAddr,
    /// The gossip UDP address the node printed (on 127.0.0.1; a free port unless `--gossip` was given). Kept across
    /// restarts so peers find the node again.
    pub gossip: Option<SocketAddr>,
    data_dir: tempfile::TempDir,
    child: Option<Child>,
    extra_args: Vec<String>,
}

impl Node {
    /// Starts a node named `name` on a free web port with a fresh data dir.
    pub async fn start(name: &str) -> anyhow::Result<Self> {
        Self::start_with(name, &[]).await
    }

    /// Starts a node with extra command-line arguments.
    pub async fn start_with(name: &str, extra_args: &[&str]) -> anyhow::Result<Self> {
        let data_dir = tempfile::Builder::new().prefix("hearsay-test-").tempdir()?;
        let web = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()));
        let mut node = Node {
            name: name.to_owned(),
            url: String::new(),
            web,
            gossip: None,
            data_dir,
            child: None,
            extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
        };
        node.spawn().await?;
        Ok(node)
    }

    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }

    async fn spawn(&mut self) -> anyhow::Result<()> {
        let bin = hearsay_bin()?;
        // Never the default 0.0.0.0:5000: tests run nodes side by side, on loopback only.
        let gossip_args: Vec<String> = if self.extra_args.iter().any(|a| a.starts_with("--gossip")) {
            Vec::new()
        } else {
            let addr = self
                .gossip
                .map_or_else(|| "127.0.0.1:0".to_owned(), |a| a.to_string());
            vec!["--gossip".into(), addr]
        };
        let mut child = Command::new(&bin)
            .arg("--name")
            .arg(&self.name)
            .arg("--data-dir")
            .arg(self.data_dir.path())
            .arg("--web")
            .arg(self.web.to_string())
            .args(&gossip_args)
            .args(&self.extra_args)
            // Run from elsewhere than the repo: the page must come from inside the binary.
            .current_dir(self.data_dir.path())
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let stdout = child.stdout.take().context("stdout is piped")?;
        let mut lines = BufReader::new(stdout).lines();
        let (url, gossip) = tokio::time::timeout(START_TIMEOUT, async {
            let mut url = None;
            while let Some(line) = lines.next_line().await? {
                if let Some(u) = line.strip_prefix(PAGE_URL_PREFIX) {
                    url = Some(u.trim().to_owned());
                }
                if let Some(addr) = line.strip_prefix(GOSSIP_ADDR_PREFIX) {
                    let gossip: SocketAddr = addr.trim().parse().context("gossip address line")?;
                    let url = url.context("the node printed its gossip address before its page URL")?;
                    return Ok((url, gossip));
                }
            }
            bail!("node exited before printing its page URL and gossip address")
        })
        .await
        .context("node did not print its page URL and gossip address in time")??;
        // Keep draining stdout so the node never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        self.url = url;
        self.gossip = Some(gossip);
        self.child = Some(child);
        Ok(())
    }

    /// Stops the node with SIGTERM, as a user's Ctrl-C would, and waits for it to exit.
    pub async fn stop(&mut self) -> anyhow::Result<std::process::ExitStatus> {
        let mut child = self.child.take().context("node is not running")?;
        let pid = child.id().context("node already exited")?;
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
        match tokio::time::timeout(Duration::from_secs(10), child.wait()).await {
            Ok(status) => Ok(status?),
            Err(_) => {
                child.kill().await?;
                bail!("node did not stop within 10 s of SIGTERM")
            }
        }
    }

    /// Starts the node again with the same name, port and data dir.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        if self.child.is_some() {
            self.stop().await?;
        }
        self.spawn().await
    }
}

/// Chromium flags that work headless, offline and as root; see ../shared/TOOLCHAIN.md.
const CHROMIUM_ARGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--auto-select-desktop-capture-source=Entire screen",
    "--ignore-certificate-errors",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--window-size=1280,800",
];

/// One headless Chromium session behind its own chromedriver.
pub struct Browser {
    pub client: Client,
    _driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub async fn start() -> anyhow::Result<Self> {
        let chromium = which("chromium").or_else(|| which("chromium-browser")).context(
            "Chromium is not installed: `cargo xtask test` installs it (apt-get install chromium chromium-driver)",
        )?;
        let chromedriver = which("chromedriver").context(
            "chromedriver is not installed: `cargo xtask test` installs it (apt-get install chromium-driver)",
        )?;
        let port = free_port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting chromedriver")?;
        let webdriver = format!("http://127.0.0.1:{port}");
        let profile = tempfile::Builder::new().prefix("hearsay-chromium-").tempdir()?;
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), "chrome".into());
        caps.insert("acceptInsecureCerts".into(), true.into());
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({ "binary": chromium, "args": args }),
        );
        let mut builder = ClientBuilder::rustls()?;
        builder.capabilities(caps);
        let deadline = Instant::now() + START_TIMEOUT;
        let client = loop {
            match builder.connect(&webdriver).await {
                Ok(client) => break client,
                Err(_) if Instant::now() < deadline => {
                    pause_before_retry().await;
                }
                Err(err) => bail!("could not open a Chromium session through chromedriver: {err}"),
            }
        };
        Ok(Self {
            client,
            _driver: driver,
            _profile: profile,
        })
    }

    /// Text of the first element matching `css`, or `None` if there is none.
    pub async fn text(&self, css: &str) -> anyhow::Result<Option<String>> {
        match self.client.find(Locator::Css(css)).await {
            Ok(el) => Ok(Some(el.text().await?)),
            Err(e) if e.is_no_such_element() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// An attribute of the first element matching `css`, or `None` if there is no such element or attribute.
    pub async fn attr(&self, css: &str, attr: &str) -> anyhow::Result<Option<String>> {
        match self.client.find(Locator::Css(css)).await {
            Ok(el) => Ok(el.attr(attr).await?),
            Err(e) if e.is_no_such_element() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Saves a screenshot of the page as `artifacts/<name>.png` and returns its path.
    pub async fn screenshot(&self, name: &str) -> anyhow::Result<PathBuf> {
        let png = self.client.screenshot().await?;
        let path = artifacts_dir().join(format!("{name}.png"));
        std::fs::write(&path, png)?;
        Ok(path)
    }

    pub async fn close(self) -> anyhow::Result<()> {
        self.client.close().await?;
        Ok(())
    }
}

/// chromedriver needs a moment before it listens; the session request is retried after this pause.
async fn pause_before_retry() {
    tokio::time::sleep(Duration::from_millis(100)).await;
}

fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// Polls `condition` every 50 ms until it returns true; fails with `what` and the last observation after `limit`.
pub async fn wait_until<F, Fut>(what: &str, limit: Duration, mut condition: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    let deadline = Instant::now() + limit;
    let mut last_error = None;
    loop {
        match condition().await {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(err) => last_error = Some(err),
        }
        if Instant::now() >= deadline {
            match last_error {
                Some(err) => bail!("timed out after {limit:?} waiting for {what}; last error: {err:#}"),
                None => bail!("timed out after {limit:?} waiting for {what}"),
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
