//! Installing what the tasks need, each at a pinned version, only when it is missing or at another version.
//! See ../shared/TOOLCHAIN.md for why each is installed the way it is.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// trunk's newest releases need a newer rustc than these machines have; 0.21.14 builds.
const TRUNK_VERSION: &str = "0.21.14";
/// cargo-fuzz, for `cargo xtask fuzz`; 0.13.2 builds here with `--locked`.
const CARGO_FUZZ_VERSION: &str = "0.13.2";
/// geckodriver, Firefox's WebDriver server, built from its crate (nothing downloaded at run time).
const GECKODRIVER_VERSION: &str = "0.37.1";
/// The npm `binaryen` package: Debian's wasm-opt is too old for current rustc output.
const BINARYEN_VERSION: &str = "132.0.0";
/// Debian packages the test suite and benchmarks use: a real browser, real third-party STUN/TURN programs, and
/// what the NAT testbed builds its routers with (network namespaces, iptables NAT, conntrack), and curl.
const TEST_PACKAGES: &[(&str, &str)] = &[
    ("chromium", "chromium"),
    ("chromedriver", "chromium-driver"),
    // The cross-browser tests: Debian's Firefox ESR (its version is the distribution's; tests print it).
    ("firefox-esr", "firefox-esr"),
    // A virtual display for Firefox: headless Firefox has no screen to share.
    ("Xvfb", "xvfb"),
    ("turnutils_uclient", "coturn"),
    ("stun", "stun-client"),
    ("ip", "iproute2"),
    ("iptables", "iptables"),
    ("conntrack", "conntrack"),
    // The access tests knock on the node's WebSocket as another local user would.
    ("curl", "curl"),
];

/// Where cargo puts build output (`CARGO_TARGET_DIR`, else `target/` in the repo).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"))
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the repo root")
        .to_path_buf()
}

/// Paths of the tools the page build needs.
pub struct Tools {
    /// Folder holding `wasm-opt`, to put first on PATH for trunk.
    pub wasm_opt_dir: PathBuf,
}

impl Tools {
    /// Makes sure the wasm target, trunk, wasm-bindgen (at the Cargo.lock version) and wasm-opt are there.
    pub fn ensure_page_tools() -> anyhow::Result<Tools> {
        ensure_wasm_target()?;
        ensure_cargo_tool("trunk", "trunk", TRUNK_VERSION, true)?;
        let bindgen = wasm_bindgen_version_in_lockfile()?;
        // Without --locked: a locked dependency of wasm-bindgen-cli is not served by the registry.
        ensure_cargo_tool("wasm-bindgen", "wasm-bindgen-cli", &bindgen, false)?;
        let wasm_opt_dir = ensure_wasm_opt()?;
        Ok(Tools { wasm_opt_dir })
    }

    /// PATH with the project's tool folders first.
    pub fn path_env(&self) -> std::ffi::OsString {
        let mut dirs = vec![self.wasm_opt_dir.clone(), cargo_bin_dir()];
        if let Some(path) = std::env::var_os("PATH") {
            dirs.extend(std::env::split_paths(&path));
        }
        std::env::join_paths(dirs).expect("tool paths contain no separator")
    }
}

/// Makes sure the nightly toolchain (libFuzzer's sanitizer-coverage needs it) and cargo-fuzz are there.
pub fn ensure_fuzz_tools() -> anyhow::Result<()> {
    let toolchains = output(Command::new("rustup").args(["toolchain", "list"]))
        .context("rustup is needed for the nightly toolchain fuzzing builds with")?;
    if !toolchains.lines().any(|l| l.starts_with("nightly-")) {
        say!("installing the nightly toolchain (rustup, minimal profile)");
        run_checked(Command::new("rustup").args([
            "toolchain",
            "install",
            "nightly",
            "--profile",
            "minimal",
        ]))?;
    }
    ensure_cargo_tool("cargo-fuzz", "cargo-fuzz", CARGO_FUZZ_VERSION, true)
}

fn cargo_bin_dir() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"))
        .join("bin")
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

fn ensure_wasm_target() -> anyhow::Result<()> {
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"]))
        .context("rustup is needed to add the wasm32 target")?;
    if installed
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        return Ok(());
    }
    say!("adding the wasm32-unknown-unknown target");
    run_checked(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))
}

/// Installs `krate` at `version` with `cargo install` unless `bin --version` already reports that version.
fn ensure_cargo_tool(bin: &str, krate: &str, version: &str, locked: bool) -> anyhow::Result<()> {
    let path = cargo_bin_dir().join(bin);
    let found = output(
        Command::new(if path.exists() {
            path.as_os_str()
        } else {
            bin.as_ref()
        })
        .arg("--version"),
    )
    .ok()
    .and_then(|v| v.split_whitespace().nth(1).map(str::to_owned));
    if found.as_deref() == Some(version) {
        return Ok(());
    }
    say!(
        "installing {krate} {version} (found {}); this takes a few minutes once",
        found.as_deref().unwrap_or("none")
    );
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["install", krate, "--version", version, "--force"]);
    if locked {
        cmd.arg("--locked");
    }
    run_checked(&mut cmd)
}

/// The `wasm-bindgen` version in Cargo.lock: the CLI must match it exactly.
pub fn wasm_bindgen_version_in_lockfile() -> anyhow::Result<String> {
    let lock =
        std::fs::read_to_string(repo_root().join("Cargo.lock")).context("reading Cargo.lock")?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == r#"name = "wasm-bindgen""#
            && let Some(v) = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = "))
        {
            return Ok(v.trim_matches('"').to_owned());
        }
    }
    bail!("Cargo.lock has no wasm-bindgen package")
}

/// wasm-opt from the npm `binaryen` package, in a per-user cache folder.
fn ensure_wasm_opt() -> anyhow::Result<PathBuf> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join(".cache")))
        .context("no HOME to keep tools in")?;
    let prefix = cache
        .join("hearsay/tools")
        .join(format!("binaryen-{BINARYEN_VERSION}"));
    let bin_dir = prefix.join("node_modules/.bin");
    let wasm_opt = bin_dir.join("wasm-opt");
    let want = BINARYEN_VERSION
        .split('.')
        .next()
        .unwrap_or(BINARYEN_VERSION);
    if let Ok(v) = output(Command::new(&wasm_opt).arg("--version"))
        && v.contains(&format!("version {want}"))
    {
        return Ok(bin_dir);
    }
    say!("installing wasm-opt (npm package binaryen@{BINARYEN_VERSION})");
    std::fs::create_dir_all(&prefix)?;
    run_checked(
        Command::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                "--prefix",
            ])
            .arg(&prefix)
            .arg(format!("binaryen@{BINARYEN_VERSION}")),
    )
    .context("installing binaryen with npm (is Node.js installed?)")?;
    let v = output(Command::new(&wasm_opt).arg("--version"))?;
    if !v.contains(&format!("version {want}")) {
        bail!("wasm-opt reports {v:?}, expected version {want}");
    }
    Ok(bin_dir)
}

/// What the suite and the benchmarks drive besides the page tools: the Debian packages of [`TEST_PACKAGES`] and
/// geckodriver.
pub fn ensure_test_tools() -> anyhow::Result<()> {
    ensure_test_packages()?;
    ensure_cargo_tool("geckodriver", "geckodriver", GECKODRIVER_VERSION, true)
}

/// Installs the Debian packages of [`TEST_PACKAGES`] that are missing (as root), or says what to install.
fn ensure_test_packages() -> anyhow::Result<()> {
    let missing: Vec<&str> = TEST_PACKAGES
        .iter()
        .filter(|(bin, _)| which(bin).is_none())
        .map(|(_, pkg)| *pkg)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let is_root = output(Command::new("id").arg("-u"))
        .map(|u| u.trim() == "0")
        .unwrap_or(false);
    if !is_root {
        bail!(
            "the test suite needs these Debian packages: {0}\ninstall them with: sudo apt-get install -y {0}",
            missing.join(" ")
        );
    }
    say!("installing {}", missing.join(" "));
    run_checked(Command::new("apt-get").arg("update").arg("-q"))?;
    run_checked(
        Command::new("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// Runs a command, failing with its command line if it fails.
pub fn run_checked(cmd: &mut Command) -> anyhow::Result<()> {
    let status = cmd.status().with_context(|| format!("starting {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed: {status}");
    }
    Ok(())
}

/// Runs a command and returns its stdout, failing if it fails.
pub fn output(cmd: &mut Command) -> anyhow::Result<String> {
    let out = cmd.output().with_context(|| format!("starting {cmd:?}"))?;
    if !out.status.success() {
        bail!("{cmd:?} failed: {}", out.status);
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
