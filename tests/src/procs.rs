//! What the benchmarks read about processes from Linux's `/proc`: CPU time, memory, and which processes carry an
//! argument (a browser's processes all carry its profile directory).

use anyhow::Context;

/// User + system CPU seconds `pid` has used so far (`/proc/<pid>/stat` fields 14 and 15, at the usual 100 Hz).
pub fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')').context("malformed stat")? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
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

/// Every process whose command line contains `marker`.
pub fn with_arg(marker: &str) -> Vec<u32> {
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
