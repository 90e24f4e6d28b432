//! Building the page with trunk, and measuring what a browser downloads.

use std::io::Write;
use std::process::Command;

use anyhow::Context;

use crate::tools::{Tools, repo_root, run_checked};

/// `trunk build --release` into `frontend/dist` (see Trunk.toml), offline, with our wasm-opt on PATH.
pub fn build(tools: &Tools) -> anyhow::Result<()> {
    say!("building the page (trunk build --release)");
    run_checked(
        Command::new("trunk")
            .args(["build", "--release"])
            .current_dir(repo_root())
            .env("PATH", tools.path_env())
            .env("TRUNK_OFFLINE", "true")
            .env("NO_COLOR", "true"),
    )
    .context("trunk could not build the page")
}

/// The page's transfer size: wasm + js (+ css, html), raw and gzipped.
pub struct PageSize {
    pub raw: u64,
    pub gzip: u64,
    pub wasm_js_raw: u64,
    pub wasm_js_gzip: u64,
}

pub fn measure() -> anyhow::Result<PageSize> {
    let dist = repo_root().join("frontend/dist");
    let mut size = PageSize {
        raw: 0,
        gzip: 0,
        wasm_js_raw: 0,
        wasm_js_gzip: 0,
    };
    for entry in std::fs::read_dir(&dist).with_context(|| format!("reading {}", dist.display()))? {
        let path = entry?.path();
        if !path.is_file() {
            continue;
        }
        let bytes = std::fs::read(&path)?;
        let gz = gzip_len(&bytes)?;
        size.raw += bytes.len() as u64;
        size.gzip += gz;
        if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("wasm" | "js")
        ) {
            size.wasm_js_raw += bytes.len() as u64;
            size.wasm_js_gzip += gz;
        }
    }
    Ok(size)
}

/// Gzipped size at level 9, by the system `gzip`.
fn gzip_len(bytes: &[u8]) -> anyhow::Result<u64> {
    let mut child = Command::new("gzip")
        .args(["-9", "-c"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("running gzip")?;
    let mut stdin = child.stdin.take().context("gzip stdin")?;
    let data = bytes.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output()?;
    writer.join().expect("writer thread does not panic")?;
    Ok(out.stdout.len() as u64)
}

pub fn print_size_table() -> anyhow::Result<()> {
    let s = measure()?;
    let kb = |b: u64| b as f64 / 1024.0;
    println!("\n## Page size (frontend/dist, release)\n");
    println!("| what | raw KiB | gzip KiB |");
    println!("|---|---:|---:|");
    println!(
        "| wasm + js | {:.1} | {:.1} |",
        kb(s.wasm_js_raw),
        kb(s.wasm_js_gzip)
    );
    println!("| everything | {:.1} | {:.1} |", kb(s.raw), kb(s.gzip));
    Ok(())
}
