//! `cargo xtask fuzz [SECONDS] [--runs N] [--cmin] [--asan] [TARGET...]`: runs the libFuzzer targets of `fuzz/` one after
//! another and prints what each did.
//!
//! Each target runs for SECONDS (default [`DEFAULT_SECONDS`]), or for N executions with `--runs`, on one core,
//! growing its corpus in `fuzz/corpus/<target>/` from the seeds in `fuzz/seeds/<target>/`. The table gives the
//! seconds, executions and executions per second libFuzzer reports (`-print_final_stats=1`), the corpus after the
//! run, and the crashes. A crash, timeout or out-of-memory makes the task fail naming the input libFuzzer saved
//! (`fuzz/artifacts/<target>/…`); replay one with `cargo +nightly fuzz run <target> <file>`. `--cmin` minimises
//! each corpus afterwards (`cargo fuzz cmin`), which is what to do before committing it. `--asan` builds with
//! AddressSanitizer (see [`build_flags`]).
//!
//! Fuzzing needs nightly Rust (sanitizer-coverage) and cargo-fuzz; both are installed when missing. It is not part
//! of `cargo xtask test`: its worth grows with the time it is given.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, bail};

use crate::tools;

/// The targets in `fuzz/fuzz_targets/`, in the order they run.
pub const TARGETS: [&str; 5] = [
    "gossip_datagram",
    "reassembly",
    "page_message",
    "stun_responder",
    "turn_gate",
];

/// Seconds per target when none are given: enough to replay the corpus and explore a little.
const DEFAULT_SECONDS: u64 = 60;

/// How the targets are built and run; the build and every run must pass the same flags, or each run rebuilds.
/// Optimised, with debug assertions and overflow checks: an arithmetic slip is a crash, not a wrap. No sanitizer by
/// default: hearsay's crates forbid unsafe code, and without AddressSanitizer the targets run about ten times faster
/// here; `--asan` turns it on for the unsafe code in dependencies.
fn build_flags(asan: bool) -> [&'static str; 4] {
    let sanitizer = if asan { "address" } else { "none" };
    ["--release", "--debug-assertions", "--sanitizer", sanitizer]
}

/// What to run.
struct Plan {
    limit: Limit,
    cmin: bool,
    asan: bool,
    targets: Vec<&'static str>,
}

enum Limit {
    Seconds(u64),
    Runs(u64),
}

fn plan(args: &[String]) -> anyhow::Result<Plan> {
    let mut plan = Plan {
        limit: Limit::Seconds(DEFAULT_SECONDS),
        cmin: false,
        asan: false,
        targets: Vec::new(),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--cmin" {
            plan.cmin = true;
        } else if arg == "--asan" {
            plan.asan = true;
        } else if arg == "--runs" {
            let n = args.next().context("--runs needs a number of executions")?;
            plan.limit = Limit::Runs(n.parse().with_context(|| format!("--runs {n:?}"))?);
        } else if let Ok(seconds) = arg.parse() {
            plan.limit = Limit::Seconds(seconds);
        } else if let Some(target) = TARGETS.iter().find(|t| *t == arg) {
            plan.targets.push(target);
        } else {
            bail!("unknown fuzz argument {arg:?}; the targets are {TARGETS:?}");
        }
    }
    if plan.targets.is_empty() {
        plan.targets = TARGETS.to_vec();
    }
    Ok(plan)
}

/// What one run did, from libFuzzer's final statistics.
#[derive(Debug, Default, PartialEq, Eq)]
struct Outcome {
    executions: Option<u64>,
    exec_per_sec: Option<u64>,
    /// Inputs libFuzzer saved because they crashed, hung or ran out of memory.
    artifacts: Vec<String>,
}

fn parse_output(log: &str) -> Outcome {
    let mut outcome = Outcome::default();
    for line in log.lines() {
        let stat = |name: &str| {
            line.strip_prefix(name)
                .and_then(|rest| rest.trim_start_matches(':').trim().parse().ok())
        };
        if let Some(n) = stat("stat::number_of_executed_units") {
            outcome.executions = Some(n);
        } else if let Some(n) = stat("stat::average_exec_per_sec") {
            outcome.exec_per_sec = Some(n);
        } else if let Some((_, path)) = line.split_once("Test unit written to ") {
            outcome.artifacts.push(path.trim().to_owned());
        } else if outcome.executions.is_none()
            && let Some(done) = line.strip_prefix('#')
            && let Some((n, rest)) = done.split_once(char::is_whitespace)
            && rest.trim_start().starts_with("DONE")
        {
            // The "#N DONE" line, should the final statistics be missing.
            outcome.executions = n.parse().ok();
        }
    }
    outcome
}

/// Files and bytes in a corpus folder.
fn corpus_size(dir: &Path) -> (usize, u64) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return (0, 0);
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .fold((0, 0), |(n, bytes), m| (n + 1, bytes + m.len()))
}

/// `cargo +nightly fuzz <args>` in the repo root, without what `cargo run` put in xtask's environment: the
/// toolchain rustup picked for xtask, and the package variables (`CARGO_MANIFEST_DIR`, `CARGO_PKG_*`…) that some
/// build scripts watch, which would otherwise make every switch between `cargo xtask fuzz` and a plain `cargo fuzz`
/// rebuild the dependencies.
fn cargo_fuzz(args: &[&str]) -> Command {
    let mut cmd = Command::new("cargo");
    cmd.arg("+nightly")
        .arg("fuzz")
        .args(args)
        .current_dir(tools::repo_root());
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        let from_cargo_run = name.starts_with("CARGO_PKG_")
            || matches!(
                &*name,
                "CARGO"
                    | "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_CRATE_NAME"
                    | "CARGO_BIN_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
                    | "RUSTUP_TOOLCHAIN"
                    | "RUSTC"
            );
        if from_cargo_run {
            cmd.env_remove(&*name);
        }
    }
    cmd
}

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let plan = plan(args)?;
    let flags = build_flags(plan.asan);
    tools::ensure_fuzz_tools()?;
    let root = tools::repo_root().join("fuzz");
    say!("building the fuzz targets (nightly, cargo-fuzz)");
    let mut build = vec!["build"];
    build.extend(flags);
    tools::run_checked(&mut cargo_fuzz(&build))?;
    let logs = tools::target_dir().join("fuzz");
    std::fs::create_dir_all(&logs)?;

    let mut rows = Vec::new();
    for &target in &plan.targets {
        let corpus = root.join("corpus").join(target);
        let seeds = root.join("seeds").join(target);
        std::fs::create_dir_all(&corpus)?;
        let limit = match plan.limit {
            Limit::Seconds(s) => format!("-max_total_time={s}"),
            Limit::Runs(n) => format!("-runs={n}"),
        };
        let log_path = logs.join(format!("{target}.log"));
        say!(
            "fuzzing {target} ({limit}); libFuzzer's output goes to {}",
            log_path.display()
        );
        let log = std::fs::File::create(&log_path)?;
        let started = Instant::now();
        let mut run = vec!["run"];
        run.extend(flags);
        let (corpus_arg, seeds_arg) = (corpus.display().to_string(), seeds.display().to_string());
        run.extend([
            target,
            &corpus_arg,
            &seeds_arg,
            "--",
            &limit,
            "-print_final_stats=1",
        ]);
        let status = cargo_fuzz(&run)
            .stdout(log.try_clone()?)
            .stderr(log)
            .stdin(Stdio::null())
            .status()
            .context("starting cargo fuzz")?;
        let seconds = started.elapsed().as_secs_f64();
        let outcome = parse_output(&std::fs::read_to_string(&log_path)?);
        if !status.success() && outcome.artifacts.is_empty() {
            bail!(
                "cargo fuzz run {target} failed ({status}) without saving an input; see {}",
                log_path.display()
            );
        }
        rows.push((target, seconds, outcome));
    }

    if plan.cmin {
        for &target in &plan.targets {
            say!("minimising the corpus of {target}");
            let mut cmin = vec!["cmin"];
            cmin.extend(flags);
            // The smallest set of inputs that keeps every feature, rather than libFuzzer's greedy merge.
            cmin.extend([target, "--", "-set_cover_merge=1"]);
            tools::run_checked(
                cargo_fuzz(&cmin)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null()),
            )?;
        }
    }

    println!(
        "{:<16} {:>8} {:>14} {:>10} {:>16} {:>8}",
        "target", "seconds", "executions", "exec/s", "corpus", "crashes"
    );
    let mut crashes = Vec::new();
    for (target, seconds, outcome) in &rows {
        let (files, bytes) = corpus_size(&root.join("corpus").join(target));
        let show = |n: Option<u64>| n.map_or("?".to_owned(), |n| n.to_string());
        println!(
            "{:<16} {:>8.0} {:>14} {:>10} {:>16} {:>8}",
            target,
            seconds,
            show(outcome.executions),
            show(outcome.exec_per_sec),
            format!("{files} / {} KB", bytes.div_ceil(1024)),
            outcome.artifacts.len()
        );
        crashes.extend(outcome.artifacts.iter().map(|a| format!("{target}: {a}")));
    }
    if !crashes.is_empty() {
        bail!(
            "the fuzzers saved {} failing input(s):\n  {}",
            crashes.len(),
            crashes.join("\n  ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_statistics_and_saved_inputs_are_read_from_libfuzzers_output() {
        let done = "#6\tINITED cov: 246 ft: 274 corp: 5/496b exec/s: 0 rss: 76Mb\n\
                    #9206814\tDONE   cov: 700 ft: 1554 corp: 575/87Kb lim: 4096 exec/s: 438419 rss: 76Mb\n\
                    Done 9206814 runs in 21 second(s)\n\
                    stat::number_of_executed_units: 9206814\n\
                    stat::average_exec_per_sec:     438419\n\
                    stat::new_units_added:          1047\n";
        assert_eq!(
            parse_output(done),
            Outcome {
                executions: Some(9_206_814),
                exec_per_sec: Some(438_419),
                artifacts: vec![],
            }
        );
        let crash = "#1200\tNEW    cov: 80 ft: 90 corp: 9/100b\n\
                     ==42== ERROR: libFuzzer: deadly signal\n\
                     artifact_prefix='/r/fuzz/artifacts/reassembly/'; Test unit written to /r/fuzz/artifacts/reassembly/crash-ab12\n\
                     stat::number_of_executed_units: 1234\n";
        let outcome = parse_output(crash);
        assert_eq!(outcome.executions, Some(1234));
        assert_eq!(outcome.exec_per_sec, None);
        assert_eq!(
            outcome.artifacts,
            ["/r/fuzz/artifacts/reassembly/crash-ab12"]
        );
        // Without the final statistics, the DONE line still gives the count.
        assert_eq!(parse_output("#77\tDONE   cov: 1\n").executions, Some(77));
    }

    #[test]
    fn arguments_pick_seconds_runs_minimising_and_targets() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let p = plan(&args(&[])).unwrap();
        assert!(matches!(p.limit, Limit::Seconds(DEFAULT_SECONDS)));
        assert_eq!(p.targets, TARGETS);
        assert!(!p.cmin && !p.asan);
        let p = plan(&args(&["30", "--cmin", "--asan", "turn_gate"])).unwrap();
        assert!(matches!(p.limit, Limit::Seconds(30)) && p.cmin && p.asan);
        assert_eq!(p.targets, ["turn_gate"]);
        let p = plan(&args(&["--runs", "10000000"])).unwrap();
        assert!(matches!(p.limit, Limit::Runs(10_000_000)));
        assert!(plan(&args(&["no_such_target"])).is_err());
        assert!(plan(&args(&["--runs"])).is_err());
    }

    #[test]
    fn every_target_has_a_source_file_and_seeds() {
        let fuzz = tools::repo_root().join("fuzz");
        for target in TARGETS {
            assert!(
                fuzz.join(format!("fuzz_targets/{target}.rs")).is_file(),
                "{target}"
            );
            assert!(
                corpus_size(&fuzz.join("seeds").join(target)).0 > 0,
                "seeds of {target}"
            );
        }
    }
}
