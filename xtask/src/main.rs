//! Project tasks, run as `cargo xtask <task>` (the alias lives in `.cargo/config.toml`):
//!
//! - `cargo xtask run [-- NODE ARGS]`: installs what is missing, builds the page with trunk (release), builds the
//!   node with the page inside, and starts it; the node prints the URL to open.
//! - `cargo xtask test`: installs the same plus Chromium, chromedriver and the third-party STUN/TURN clients, builds
//!   the page, and runs `cargo test --workspace` (browser tests included: they fail, never skip, without a browser).
//! - `cargo xtask build-page`: just the tools and the page (`frontend/dist`).
//! - `cargo xtask bench`: the benchmarks; each prints a table comparing against its named anchor.
//! - `cargo xtask fuzz [SECONDS]`: the libFuzzer targets of `fuzz/`, each for SECONDS, and a table of what they did
//!   (see [`fuzz`]).
//!
//! Tools go where a user's tools go (`~/.cargo/bin` for trunk and wasm-bindgen, `~/.cache/hearsay/tools` for
//! wasm-opt), so a second clone or a CI run on the same machine does not rebuild them; a tool already at the right
//! version is never reinstalled.

/// Prints a progress line with the time since the task started, so a slow step is plain to see.
macro_rules! say {
    ($($arg:tt)*) => {
        eprintln!("xtask [{:>4.0} s]: {}", $crate::started().elapsed().as_secs_f64(), format!($($arg)*))
    };
}

mod fuzz;
mod page;
mod tools;

/// When this task started.
pub fn started() -> std::time::Instant {
    static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    *STARTED.get_or_init(std::time::Instant::now)
}

use std::process::Command;

use anyhow::{Context, bail};

fn main() -> std::process::ExitCode {
    match run_task() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            say!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run_task() -> anyhow::Result<()> {
    started();
    let mut args = std::env::args().skip(1);
    let task = args.next().unwrap_or_default();
    let rest: Vec<String> = args.skip_while(|a| a == "--").collect();
    match task.as_str() {
        "run" => run(&rest),
        "test" => test(&rest),
        "build-page" => {
            let tools = tools::Tools::ensure_page_tools()?;
            page::build(&tools)
        }
        "bench" => bench(&rest),
        "demo" => demo(),
        "fuzz" => fuzz::run(&rest),
        _ => {
            eprintln!(
                "usage: cargo xtask <task>\n\n\
                 tasks:\n  \
                 run [-- NODE ARGS]   build the page and the node, then start the node\n  \
                 test [-- CARGO TEST ARGS]  install test tools, build the page, run the whole suite\n  \
                 build-page           build the page into frontend/dist\n  \
                 demo                 start three linked nodes on this machine and print their pages\n  \
                 bench [GROUP...]     run the benchmarks (page gossip overlay calls relay) and print their tables\n  \
                 fuzz [SECONDS] [--runs N] [--cmin] [--asan] [TARGET...]\n                       \
                 run each fuzz target (default 60 s each) and print executions and crashes"
            );
            if task.is_empty() || task == "help" || task == "--help" {
                Ok(())
            } else {
                bail!("unknown task {task:?}")
            }
        }
    }
}

/// The one build path of `run`, `demo` and `bench`: the tools, the page, then the release node with the page inside
/// (and whatever else `extra` names, in the same cargo invocation). Returns the node binary.
fn build_release(test_packages: bool, extra: &[&str]) -> anyhow::Result<std::path::PathBuf> {
    let tools = tools::Tools::ensure_page_tools()?;
    if test_packages {
        tools::ensure_test_tools()?;
    }
    page::build(&tools)?;
    let mut args = vec![
        "build",
        "--release",
        "-p",
        "hearsay-node",
        "--bin",
        "hearsay",
    ];
    args.extend_from_slice(extra);
    cargo(&args)?;
    Ok(tools::target_dir().join("release/hearsay"))
}

fn run(node_args: &[String]) -> anyhow::Result<()> {
    let bin = build_release(false, &[])?;
    say!(
        "starting {} — open the URL it prints (the certificate is self-signed: accept it once)",
        bin.display()
    );
    let status = Command::new(&bin)
        .args(node_args)
        .status()
        .with_context(|| format!("starting {}", bin.display()))?;
    if !status.success() {
        bail!("the node exited with {status}");
    }
    Ok(())
}

fn test(cargo_test_args: &[String]) -> anyhow::Result<()> {
    let tools = tools::Tools::ensure_page_tools()?;
    tools::ensure_test_tools()?;
    page::build(&tools)?;
    // The suite starts the node binary; build it first so its compile time is not charged to a test's timeout.
    say!("building the node");
    cargo(&["build", "-p", "hearsay-node", "--bin", "hearsay"])?;
    say!("running the suite (cargo test --workspace)");
    let mut args = vec!["test", "--workspace"];
    args.extend(cargo_test_args.iter().map(String::as_str));
    cargo(&args)?;
    // The shared crate must keep building for the page's target.
    cargo(&[
        "build",
        "-p",
        "hearsay-shared",
        "--target",
        "wasm32-unknown-unknown",
    ])?;
    say!("all tests passed");
    Ok(())
}

/// `cargo xtask demo`: three nodes on this machine, linked in a line (A – B – C) over loopback gossip, each with a
/// temporary data dir and free ports, so a newcomer can open the three pages and watch the network form (and call
/// from one tab to another). Ctrl-C stops them all.
fn demo() -> anyhow::Result<()> {
    let bin = build_release(false, &[])?;
    let free_port = |udp: bool| -> anyhow::Result<u16> {
        Ok(if udp {
            std::net::UdpSocket::bind("127.0.0.1:0")?
                .local_addr()?
                .port()
        } else {
            std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port()
        })
    };
    let mut children = Vec::new();
    let mut dirs = Vec::new();
    let mut previous: Option<u16> = None;
    for name in ["ada", "bo", "cy"] {
        let dir = std::env::temp_dir().join(format!("hearsay-demo-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let (web, gossip) = (free_port(false)?, free_port(true)?);
        let mut cmd = Command::new(&bin);
        cmd.args(["--name", name, "--data-dir"])
            .arg(&dir)
            .args(["--web", &format!("127.0.0.1:{web}")])
            .args(["--gossip", &format!("127.0.0.1:{gossip}")])
            .args([
                "--stun",
                "127.0.0.1:0",
                "--turn",
                "127.0.0.1:0",
                "--turn-tcp",
                "127.0.0.1:0",
                "--relay-allow-private",
            ])
            .stdout(std::process::Stdio::null());
        if let Some(peer) = previous {
            cmd.args(["--peers", &format!("127.0.0.1:{peer}")]);
        }
        children.push(
            cmd.spawn()
                .with_context(|| format!("starting {}", bin.display()))?,
        );
        let url = wait_for_page_url(&dir)?;
        dirs.push(dir);
        say!("{name}: {url} (gossip 127.0.0.1:{gossip})");
        previous = Some(gossip);
    }
    say!("three nodes in a line: ada – bo – cy. Open the pages above; Ctrl-C stops them all.");
    let mut result = Ok(());
    for mut child in children {
        let status = child.wait()?;
        if !status.success() && result.is_ok() {
            result = Err(anyhow::anyhow!("a demo node exited with {status}"));
        }
    }
    for dir in dirs {
        let _ = std::fs::remove_dir_all(dir);
    }
    result
}

/// The login URL a node started on `dir` writes there (`page-url`, before it prints it), waited for a bounded time.
fn wait_for_page_url(dir: &std::path::Path) -> anyhow::Result<String> {
    let file = dir.join(hearsay_shared::startup::PAGE_URL_FILE);
    for _ in 0..300 {
        if let Ok(url) = std::fs::read_to_string(&file) {
            return Ok(url.trim().to_owned());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    bail!("no node wrote {} within 30 s", file.display())
}

/// The benchmark groups, in the order `cargo xtask bench` runs them.
const BENCHES: [&str; 5] = ["page", "gossip", "overlay", "calls", "relay"];

/// `cargo xtask bench [GROUP...]`: all groups, or the ones named.
fn bench(args: &[String]) -> anyhow::Result<()> {
    if let Some(unknown) = args.iter().find(|a| !BENCHES.contains(&a.as_str())) {
        bail!("unknown benchmark {unknown:?}; the groups are {BENCHES:?}");
    }
    let wanted = |group: &str| args.is_empty() || args.iter().any(|a| a == group);
    say!("building the release node and the benchmark programs");
    let node = build_release(
        true,
        &[
            "--example",
            "bench_gossip",
            "--features",
            "hearsay-node/sim",
            "-p",
            "hearsay-tests",
            "--bin",
            "bench_calls",
            "--bin",
            "bench_overlay",
            "--bin",
            "bench_idle",
            "--bin",
            "bench_relay",
            "--bin",
            "udp_load",
            "--bin",
            "udp_echo",
        ],
    )?;
    let release = tools::target_dir().join("release");
    if wanted("page") {
        page::print_size_table()?;
    }
    if wanted("gossip") {
        say!("gossip convergence on the simulator");
        tools::run_checked(&mut Command::new(release.join("examples/bench_gossip")))?;
    }
    if wanted("overlay") {
        say!("private messages across 5 hops of real nodes");
        tools::run_checked(Command::new(release.join("bench_overlay")).env("HEARSAY_BIN", &node))?;
        say!("idle upkeep of 30 real nodes beside the simulator's");
        tools::run_checked(
            Command::new(release.join("bench_idle"))
                .env("HEARSAY_BIN", &node)
                .env(
                    "HEARSAY_BENCH_GOSSIP",
                    release.join("examples/bench_gossip"),
                ),
        )?;
    }
    if wanted("calls") {
        say!("call set-up and file transfer between two Chromiums, and Firefox <-> Chromium");
        tools::run_checked(Command::new(release.join("bench_calls")).env("HEARSAY_BIN", &node))?;
    }
    if wanted("relay") {
        say!("STUN and TURN beside coturn");
        tools::run_checked(Command::new(release.join("bench_relay")).env("HEARSAY_BIN", &node))?;
    }
    Ok(())
}

/// Runs cargo (the one running this xtask) in the repo root.
pub fn cargo(args: &[&str]) -> anyhow::Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    tools::run_checked(
        Command::new(cargo)
            .args(args)
            .current_dir(tools::repo_root()),
    )
}
