//! The end-to-end harness: real `hearsay` processes on loopback and real headless browsers (Chromium through
//! chromedriver, Firefox ESR through geckodriver).
//!
//! - [`Node`] starts the `hearsay` binary (built on first use with `cargo build -p hearsay-node`) on a free port
//!   with a temporary data dir as its working directory, and reads its page URL from stdout. Its STUN and TURN
//!   servers listen on free loopback UDP ports (`--stun/--turn 127.0.0.1:0`, overridable through the extra
//!   arguments); their addresses are read from stdout too ([`Node::stun`], [`Node::turn`]). [`Node::stop`] sends
//!   SIGTERM; [`Node::restart`] starts it again on the same port and data dir.
//! - [`require_tool`] finds a third-party program (coturn's `turnutils_*`, stund's `stun`) or fails with how to
//!   install it — tests never skip silently.
//! - [`Browser`] starts one Chromium or Firefox session behind its own driver, with the flags and preferences that
//!   work headless and offline (fake media devices, self-signed certificates accepted); see [`browser`].
//! - [`wait_until`] polls a condition with a bound instead of sleeping a fixed time.
//!
//! Screenshots go to `artifacts/` at the repo root (or `$HEARSAY_ARTIFACTS`).

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub use fantoccini;

pub mod browser;
pub use browser::{Browser, BrowserKind};

pub mod call_page;

pub mod files;

pub mod gossip_peer;

pub mod page_socket;

pub mod relay_tools;

pub mod netbed;

pub mod plain_call;

pub mod procs;

use hearsay_shared::startup::{
    GOSSIP_ADDR_PREFIX, KEY_PREFIX, PAGE_URL_PREFIX, STUN_ADDR_PREFIX, TURN_ADDR_PREFIX,
    TURN_SECRET_FILE, TURN_TCP_ADDR_PREFIX,
};

/// The node flag that makes its page answer every call at once (tests only; the page shows a banner).
pub const AUTO_ACCEPT: &str = "--testing-auto-accept";
/// The node flag that makes its page send calls only through TURN (tests only; the page shows a banner).
pub const RELAY_ONLY: &str = "--testing-relay-only";

/// How long a node may take to print its URL, and a browser to start.
pub(crate) const START_TIMEOUT: Duration = Duration::from_secs(30);

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
    /// The page URL the node printed, with its token: `https://127.0.0.1:41234/login?token=…` (for a browser where
    /// the node runs). Opening it logs the browser in, as it does for a user.
    pub url: String,
    /// Where this test process reaches the page's server (through a [`netbed::Forward`] for a node in a
    /// namespace).
    pub web: SocketAddr,
    /// The STUN server's UDP address, as the node printed it (an unspecified IP replaced by 127.0.0.1).
    pub stun: SocketAddr,
    /// The TURN server's UDP address, as the node printed it (an unspecified IP replaced by 127.0.0.1).
    pub turn: SocketAddr,
    /// The TURN server's TCP address, as the node printed it (an unspecified IP replaced by 127.0.0.1).
    pub turn_tcp: SocketAddr,
    /// The gossip socket's UDP address (kept across restarts).
    pub gossip: SocketAddr,
    /// The node's public key: how other users address it.
    pub key: hearsay_shared::gossip::PublicKey,
    data_dir: tempfile::TempDir,
    child: Option<Child>,
    extra_args: Vec<String>,
    /// The network namespace the node runs in (a testbed host), if not the test's own.
    netns: Option<String>,
    /// How this process reaches the page's server in that namespace.
    _web_forward: Option<netbed::Forward>,
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
            stun: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            turn: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            turn_tcp: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            gossip: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            key: hearsay_shared::gossip::PublicKey([0; 32]),
            data_dir,
            child: None,
            extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
            netns: None,
            _web_forward: None,
        };
        node.spawn().await?;
        Ok(node)
    }

    /// Starts a node inside network namespace `netns` (a testbed host), on the default ports a user's node has:
    /// page at 127.0.0.1:8443, gossip 0.0.0.0:5000, STUN 0.0.0.0:3478, TURN 0.0.0.0:3479.
    pub async fn start_in_namespace(
        netns: &str,
        name: &str,
        extra_args: &[&str],
    ) -> anyhow::Result<Self> {
        let data_dir = tempfile::Builder::new().prefix("hearsay-test-").tempdir()?;
        let mut node = Node {
            name: name.to_owned(),
            url: String::new(),
            web: SocketAddr::from((Ipv4Addr::LOCALHOST, 8443)),
            stun: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 3478)),
            turn: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 3479)),
            turn_tcp: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 3479)),
            gossip: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 5000)),
            key: hearsay_shared::gossip::PublicKey([0; 32]),
            data_dir,
            child: None,
            extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
            netns: Some(netns.to_owned()),
            _web_forward: None,
        };
        node.spawn().await?;
        let forward = netbed::Forward::start(netns, 8443)?;
        node.web = SocketAddr::from((Ipv4Addr::LOCALHOST, forward.port));
        node._web_forward = Some(forward);
        Ok(node)
    }

    /// Starts a node on the gossip overlay, peered with `peers`, whose TURN may relay on loopback (calls between
    /// pages on one machine need that).
    pub async fn start_gossip(name: &str, peers: &[&Node]) -> anyhow::Result<Self> {
        Self::start_gossip_with(name, peers, &[]).await
    }

    /// [`Node::start_gossip`] with extra arguments (e.g. [`AUTO_ACCEPT`]).
    pub async fn start_gossip_with(
        name: &str,
        peers: &[&Node],
        extra_args: &[&str],
    ) -> anyhow::Result<Self> {
        let list = peers
            .iter()
            .map(|p| p.gossip.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let mut args = vec!["--relay-allow-private"];
        if !list.is_empty() {
            args.extend(["--peers", list.as_str()]);
        }
        args.extend(extra_args);
        Self::start_with(name, &args).await
    }

    /// The page's own origin, `https://127.0.0.1:<port>`, as its browser sends it.
    pub fn origin(&self) -> &str {
        let rest = self.url.strip_prefix("https://").unwrap_or(&self.url);
        let end = rest
            .find('/')
            .map_or(self.url.len(), |i| i + "https://".len());
        &self.url[..end]
    }

    /// This start's token, from the printed URL.
    pub fn token(&self) -> &str {
        self.url.split_once("token=").map_or("", |(_, t)| t)
    }

    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }

    /// The node's TURN REST secret (created on its first start), for coturn's `-W`.
    pub fn turn_secret(&self) -> anyhow::Result<String> {
        let path = self.data_dir.path().join(TURN_SECRET_FILE);
        Ok(std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?
            .trim()
            .to_owned())
    }

    async fn spawn(&mut self) -> anyhow::Result<()> {
        let bin = hearsay_bin()?;
        let mut command = match &self.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(&bin);
                c
            }
            None => Command::new(&bin),
        };
        let mut child = command
            .arg("--name")
            .arg(&self.name)
            .arg("--data-dir")
            .arg(self.data_dir.path())
            .arg("--web")
            .arg(match self.netns {
                Some(_) => "127.0.0.1:8443".to_owned(),
                None => self.web.to_string(),
            })
            // Ports are free ones on first start and the same ones on a restart, so peers find the node again.
            .args([
                "--stun",
                &self.stun.to_string(),
                "--turn",
                &self.turn.to_string(),
                "--turn-tcp",
                &self.turn_tcp.to_string(),
            ])
            .args(["--gossip", &self.gossip.to_string()])
            .args(&self.extra_args)
            // Run from elsewhere than the repo: the page must come from inside the binary.
            .current_dir(self.data_dir.path())
            // `HEARSAY_TEST_LOG` sets the nodes' log filter (e.g. `info,hearsay_node::gossip=debug`) when a test
            // needs a closer look.
            .env(
                "RUST_LOG",
                std::env::var("HEARSAY_TEST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let stdout = child.stdout.take().context("stdout is piped")?;
        let mut lines = BufReader::new(stdout).lines();
        let (mut stun, mut turn, mut turn_tcp, mut gossip, mut key) =
            (None, None, None, None, None);
        let url = tokio::time::timeout(START_TIMEOUT, async {
            while let Some(line) = lines.next_line().await? {
                if let Some(url) = line.strip_prefix(PAGE_URL_PREFIX) {
                    return Ok(url.trim().to_owned());
                }
                if let Some(addr) = line.strip_prefix(STUN_ADDR_PREFIX) {
                    stun = Some(printed_addr(addr)?);
                }
                if let Some(addr) = line.strip_prefix(TURN_ADDR_PREFIX) {
                    turn = Some(printed_addr(addr)?);
                }
                if let Some(addr) = line.strip_prefix(TURN_TCP_ADDR_PREFIX) {
                    turn_tcp = Some(printed_addr(addr)?);
                }
                if let Some(addr) = line.strip_prefix(GOSSIP_ADDR_PREFIX) {
                    gossip = Some(printed_addr(addr)?);
                }
                if let Some(hex) = line.strip_prefix(KEY_PREFIX) {
                    key = Some(hex.trim().to_owned());
                }
            }
            bail!("node exited before printing its page URL")
        })
        .await
        .context("node did not print its page URL in time")??;
        self.stun = stun.context("node printed no STUN address before its page URL")?;
        self.turn = turn.context("node printed no TURN address before its page URL")?;
        self.turn_tcp = turn_tcp.context("node printed no TURN/TCP address before its page URL")?;
        self.gossip = gossip.context("node printed no gossip address before its page URL")?;
        self.key = key
            .and_then(|hex: String| hearsay_shared::gossip::PublicKey::from_hex(&hex))
            .context("node printed no key (64 hex digits) before its page URL")?;
        // Keep draining stdout so the node never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        self.url = url;
        self.child = Some(child);
        Ok(())
    }

    /// The node's process id, while it runs.
    pub fn pid(&self) -> anyhow::Result<u32> {
        self.child
            .as_ref()
            .and_then(Child::id)
            .context("the node is not running")
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

/// A socket address the node printed; an unspecified IP (0.0.0.0, ::) becomes loopback, where tests reach it.
fn printed_addr(text: &str) -> anyhow::Result<SocketAddr> {
    let mut addr: SocketAddr = text
        .trim()
        .parse()
        .with_context(|| format!("node printed a bad address {text:?}"))?;
    if addr.ip().is_unspecified() {
        addr.set_ip(Ipv4Addr::LOCALHOST.into());
    }
    Ok(addr)
}

/// The path of `program`, or an error saying which Debian package `cargo xtask test` installs it from.
pub fn require_tool(program: &str, package: &str) -> anyhow::Result<PathBuf> {
    which(program).with_context(|| {
        format!(
            "{program} is not installed: `cargo xtask test` installs it (apt-get install {package})"
        )
    })
}

pub(crate) fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// Polls `condition` every 50 ms until it returns true; fails with `what` and the last error after `limit`.
pub async fn wait_until<F, Fut>(what: &str, limit: Duration, condition: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    wait_for(what, limit, condition, |&done| done)
        .await
        .map(drop)
}

/// Polls `probe` every 50 ms until what it sees satisfies `done`, and returns that; fails after `limit` with `what`,
/// the last thing seen and the last error.
pub async fn wait_for<T, F, Fut>(
    what: &str,
    limit: Duration,
    mut probe: F,
    done: impl Fn(&T) -> bool,
) -> anyhow::Result<T>
where
    T: std::fmt::Debug,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let deadline = Instant::now() + limit;
    let mut last_seen = None;
    let mut last_error = None;
    loop {
        match probe().await {
            Ok(seen) if done(&seen) => return Ok(seen),
            Ok(seen) => last_seen = Some(seen),
            Err(err) => last_error = Some(err),
        }
        if Instant::now() >= deadline {
            let mut message = format!("timed out after {limit:?} waiting for {what}");
            if let Some(seen) = last_seen {
                message += &format!("; last seen: {seen:?}");
            }
            if let Some(err) = last_error {
                message += &format!("; last error: {err:#}");
            }
            bail!(message);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// VmRSS of process `pid` in KiB.
pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    procs::status_kib(pid, "VmRSS:")
}
