//! What the benchmarks read about processes from Linux's `/proc`: CPU time, memory, and which processes make up a
//! browser (the one started with its profile directory, and every process under it).

use anyhow::Context;

/// User + system CPU seconds `pid` has used so far (`/proc/<pid>/stat` fields 14 and 15, at the usual 100 Hz).
pub fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let fields = stat_fields(pid)?;
    let ticks = |i: usize| -> anyhow::Result<f64> {
        Ok(fields.get(i).context("short stat")?.parse::<f64>()?)
    };
    // utime and stime are fields 14 and 15 of the whole line, i.e. 11 and 12 after the command.
    Ok((ticks(11)? + ticks(12)?) / 100.0)
}

/// A memory line of `/proc/<pid>/status` in KiB: `field` is e.g. `"VmRSS:"` (now) or `"VmHWM:"` (peak).
pub fn status_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .with_context(|| format!("no {field} for process {pid}"))
}

/// The fields of `/proc/<pid>/stat` after the command name (which is in parentheses and may hold spaces): field 3
/// of the line is index 0 here.
fn stat_fields(pid: u32) -> anyhow::Result<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let rest = &stat[stat.rfind(')').context("malformed stat")? + 2..];
    Ok(rest.split_whitespace().map(str::to_owned).collect())
}

/// Every process whose command line contains `marker`.
fn with_arg(marker: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            String::from_utf8_lossy(&cmdline)
                .contains(marker)
                .then_some(pid)
        })
        .collect()
}

/// The parent of `pid` (`/proc/<pid>/stat` field 4).
fn parent(pid: u32) -> Option<u32> {
    stat_fields(pid).ok()?.get(1)?.parse().ok()
}

/// Every process whose command line contains `marker`, and every process under one of them: all of a browser,
/// whether or not its helpers repeat the profile directory on their own command lines (Firefox's content
/// processes do not).
pub fn family(marker: &str) -> Vec<u32> {
    let mut family = with_arg(marker);
    let all: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            Some((pid, parent(pid)?))
        })
        .collect();
    // Parents come before children in the list only by accident: grow until nothing joins.
    loop {
        let joining: Vec<u32> = all
            .iter()
            .filter(|(pid, parent)| family.contains(parent) && !family.contains(pid))
            .map(|(pid, _)| *pid)
            .collect();
        if joining.is_empty() {
            return family;
        }
        family.extend(joining);
    }
}
