//! Project tasks, run as `cargo xtask <task>` (the alias lives in `.cargo/config.toml`):
//!
//! - `cargo xtask run [-- NODE ARGS]`: installs what is missing, builds the page with trunk (release), builds the
//!   node with the page inside, and starts it; the node prints the URL to open.
//! - `cargo xtask test`: installs the same plus Chromium, chromedriver and the third-party STUN/TURN clients, builds
//!   the page, and runs `cargo test --workspace` (browser tests included: they fail, never skip, without a browser).
//! - `cargo xtask build-page`: just the tools and the page (`frontend/dist`).
//! - `cargo xtask bench`: the benchmarks; each prints a table comparing against its named anchor.
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

mod bench_relay;
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
        _ => {
            eprintln!(
                "usage: cargo xtask <task>\n\n\
                 tasks:\n  \
                 run [-- NODE ARGS]   build the page and the node, then start the node\n  \
                 test [-- CARGO TEST ARGS]  install test tools, build the page, run the whole suite\n  \
                 build-page           build the page into frontend/dist\n  \
                 bench                run the benchmarks and print their tables"
            );
            if task.is_empty() || task == "help" || task == "--help" {
                Ok(())
            } else {
                bail!("unknown task {task:?}")
            }
        }
    }
}

fn run(node_args: &[String]) -> anyhow::Result<()> {
    let tools = tools::Tools::ensure_page_tools()?;
    page::build(&tools)?;
    cargo(&[
        "build",
        "--release",
        "-p",
        "hearsay-node",
        "--bin",
        "hearsay",
    ])?;
    let bin = tools::repo_root().join("target/release/hearsay");
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
    tools::ensure_test_packages()?;
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

fn bench(_args: &[String]) -> anyhow::Result<()> {
    let tools = tools::Tools::ensure_page_tools()?;
    tools::ensure_test_packages()?;
    page::build(&tools)?;
    page::print_size_table()?;
    bench_relay::run()?;
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
