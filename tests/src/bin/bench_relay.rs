//! STUN and TURN throughput and memory: hearsay's relay servers side by side with coturn on loopback (run by
//! `cargo xtask bench`, release node through `HEARSAY_BIN`; prints tables with ratios to coturn and to a UDP echo).
//!
//! Takes the release `hearsay` and the load tools beside this binary (`udp_load`, `udp_echo`), starts
//! three servers pinned to core 0 with `taskset` (hearsay, coturn's `turnserver` with the equivalent
//! configuration, and a raw UDP echo as the ceiling), drives them from core 1, and prints:
//!
//! 1. STUN Binding responses per second under open-loop load at fixed offered rates and flat out, with ratios
//!    to coturn and to the echo.
//! 2. TURN relay with coturn's `turnutils_uclient` through each server to `turnutils_peer`: round-tripped
//!    messages per second, loss and average round trip, light and heavy runs.
//! 3. Resident memory idle and with about 200 allocations.
//!
//! Traffic goes to 127.0.0.1 only; every run is bounded in count and time; every process started is killed when
//! its guard drops (also on error). Needs `turnserver`, `turnutils_uclient`, `turnutils_peer` (Debian `coturn`)
//! and `taskset` (`util-linux`); fails with that message if one is missing.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use hearsay_shared::startup;
use hearsay_tests::procs::cpu_seconds;
use hearsay_tests::relay_tools::{
    UclientReport, binding_request, free_udp_port, parse_uclient, stun_exchange,
};
use hearsay_tests::{hearsay_bin, require_tool, rss_kib};

/// Offered STUN loads, requests per second; 0 means as fast as the generator can send.
const STUN_RATES: [u64; 4] = [50_000, 100_000, 200_000, 0];
const STUN_SECONDS: &str = "3";
const HEARSAY_RELAY_PORTS: (u16, u16) = (40_000, 44_999);
const COTURN_RELAY_PORTS: (u16, u16) = (45_000, 49_999);
const SECRET: &str = "bench-secret-0123456789abcdef";
const SERVER_CORE: &str = "0";
const LOAD_CORE: &str = "1";

/// A child process killed (and reaped) when dropped.
struct Guard {
    name: &'static str,
    child: Child,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Guard {
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

fn main() -> anyhow::Result<()> {
    for (tool, package) in [
        ("turnserver", "coturn"),
        ("turnutils_uclient", "coturn"),
        ("turnutils_peer", "coturn"),
        ("taskset", "util-linux"),
    ] {
        require_tool(tool, package)?;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    anyhow::ensure!(
        cores >= 2,
        "the relay benchmark pins server and load to different cores; this machine has {cores}"
    );
    // `udp_load` and `udp_echo` are built beside this binary by the same `cargo xtask bench` build.
    let tools = std::env::current_exe()?
        .parent()
        .context("the benchmark binary has a directory")?
        .to_path_buf();
    let node = hearsay_bin()?;
    let work = std::env::temp_dir().join(format!("hearsay-bench-relay-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let result = bench(&node, &tools, &work);
    let _ = std::fs::remove_dir_all(&work);
    result
}

fn bench(node: &Path, bin: &Path, work: &Path) -> anyhow::Result<()> {
    let (hearsay, hearsay_stun, hearsay_turn) = start_hearsay(node, work)?;
    let (coturn, coturn_port) = start_coturn(work)?;
    let (echo, echo_addr) = start_echo(bin)?;
    let idle = [
        settled_rss_kib(hearsay.pid())?,
        settled_rss_kib(coturn.pid())?,
    ];

    println!();
    println!(
        "STUN Binding, open loop from core {LOAD_CORE}, servers pinned to core {SERVER_CORE}, {STUN_SECONDS} s per cell"
    );
    println!(
        "{:>10} | {:>22} | {:>22} | {:>22} | {:>9} | {:>9}",
        "offered/s",
        "hearsay resp/s (loss)",
        "coturn resp/s (loss)",
        "udp echo resp/s (loss)",
        "vs coturn",
        "vs echo"
    );
    let mut cpu_rows = Vec::new();
    let coturn_stun: SocketAddr = format!("127.0.0.1:{coturn_port}").parse()?;
    for rate in STUN_RATES {
        let h = stun_load(bin, hearsay_stun, hearsay.pid(), rate)?;
        let c = stun_load(bin, coturn_stun, coturn.pid(), rate)?;
        let e = stun_load(bin, echo_addr, echo.pid(), rate)?;
        let offered = if rate == 0 {
            "max".to_owned()
        } else {
            rate.to_string()
        };
        println!(
            "{offered:>10} | {:>30} | {:>30} | {:>30} | {:>8.2}x | {:>8.0}%",
            h.cell(),
            c.cell(),
            e.cell(),
            h.per_second() / c.per_second().max(1.0),
            100.0 * h.per_second() / e.per_second().max(1.0)
        );
        cpu_rows.push((offered, h.cpu_us(), c.cpu_us(), e.cpu_us()));
    }
    println!("by server CPU per answer (throughput a dedicated core would reach = 1 / cpu):");
    println!(
        "{:>10} | {:>14} | {:>14} | {:>14} | {:>9} | {:>9}",
        "offered/s", "hearsay", "coturn", "udp echo", "vs coturn", "vs echo"
    );
    for (offered, h, c, e) in cpu_rows {
        println!(
            "{offered:>10} | {:>9.0} /s-core | {:>9.0} /s-core | {:>9.0} /s-core | {:>8.2}x | {:>8.0}%",
            1e6 / h.max(0.001),
            1e6 / c.max(0.001),
            1e6 / e.max(0.001),
            c / h.max(0.001),
            100.0 * e / h.max(0.001)
        );
    }
    drop(echo);

    println!();
    println!(
        "TURN relay, turnutils_uclient -c -l 170 → turnutils_peer (client and peer on core {LOAD_CORE})"
    );
    println!(
        "{:>26} | {:>8} | {:>12} | {:>10} | {:>8} | {:>12}",
        "run", "server", "msgs/s", "lost", "avg rtt", "recv/sent"
    );
    let peer = start_peer()?;
    for (label, clients, messages, interval_ms) in [
        ("50 x 1000 msgs, 5 ms", 50u32, 1000u32, 5u32),
        ("100 x 2000 msgs, 1 ms", 100, 2000, 1),
    ] {
        let mut figures = Vec::new();
        for (server, port) in [("hearsay", hearsay_turn.port()), ("coturn", coturn_port)] {
            let f = uclient(port, peer.1, clients, messages, interval_ms)?;
            println!(
                "{label:>26} | {server:>8} | {:>12.0} | {:>10} | {:>6.2}ms | {:>5}/{:<6}",
                f.msgs_per_s, f.report.lost, f.report.avg_rtt_ms, f.report.received, f.report.sent
            );
            figures.push(f);
        }
        // uclient averages whole-millisecond samples: below 0.05 ms a ratio says nothing.
        let rtt = if figures[1].report.avg_rtt_ms < 0.05 {
            format!(
                "{:.2} vs {:.2}",
                figures[0].report.avg_rtt_ms, figures[1].report.avg_rtt_ms
            )
        } else {
            format!(
                "{:.2}x",
                figures[0].report.avg_rtt_ms / figures[1].report.avg_rtt_ms
            )
        };
        println!(
            "{:>26} | {:>8} | {:>11.2}x | {:>10} | {:>8} |",
            "",
            "ratio",
            figures[0].msgs_per_s / figures[1].msgs_per_s.max(1.0),
            format!("{} vs {}", figures[0].report.lost, figures[1].report.lost),
            rtt
        );
    }

    println!();
    println!("Memory (VmRSS)");
    println!(
        "{:>8} | {:>10} | {:>26}",
        "server", "idle", "with allocations (count)"
    );
    for (server, pid, port, range) in [
        (
            "hearsay",
            hearsay.pid(),
            hearsay_turn.port(),
            HEARSAY_RELAY_PORTS,
        ),
        ("coturn", coturn.pid(), coturn_port, COTURN_RELAY_PORTS),
    ] {
        let (rss, count) = rss_with_allocations(pid, port, peer.1, range)?;
        let idle = if server == "hearsay" {
            idle[0]
        } else {
            idle[1]
        };
        println!(
            "{server:>8} | {:>7} KiB | {:>13} KiB ({count:>4})",
            idle, rss
        );
    }
    drop(peer);
    drop(coturn);
    drop(hearsay);
    Ok(())
}

fn start_hearsay(node: &Path, work: &Path) -> anyhow::Result<(Guard, SocketAddr, SocketAddr)> {
    let data = work.join("hearsay");
    std::fs::create_dir_all(&data)?;
    std::fs::write(data.join(startup::TURN_SECRET_FILE), SECRET)?;
    let ports = format!("{}-{}", HEARSAY_RELAY_PORTS.0, HEARSAY_RELAY_PORTS.1);
    let mut child = Command::new("taskset")
        .args(["-c", SERVER_CORE])
        .arg(node)
        .args([
            "--name",
            "bench",
            "--web",
            "127.0.0.1:0",
            "--stun",
            "127.0.0.1:0",
            "--turn",
            "127.0.0.1:0",
            "--turn-tcp",
            "127.0.0.1:0",
        ])
        .args(["--relay-allow-private", "--relay-ports", &ports])
        .args([
            "--turn-user-quota",
            "100000",
            "--turn-total-quota",
            "100000",
        ])
        // coturn runs without bandwidth caps; so does the node here (uclient's users are metered ones).
        .args(["--relay-user-kbps", "0", "--relay-total-kbps", "0"])
        .arg("--data-dir")
        .arg(&data)
        .env("RUST_LOG", "warn,turn=off")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("starting hearsay")?;
    let stdout = child.stdout.take().context("piped stdout")?;
    let guard = Guard {
        name: "hearsay",
        child,
    };
    let (mut stun, mut turn) = (None, None);
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        if let Some(a) = line.strip_prefix(startup::STUN_ADDR_PREFIX) {
            stun = Some(a.trim().parse()?);
        }
        if let Some(a) = line.strip_prefix(startup::TURN_ADDR_PREFIX) {
            turn = Some(a.trim().parse()?);
        }
        if line.starts_with(startup::PAGE_URL_PREFIX) {
            break;
        }
    }
    let (Some(stun), Some(turn)) = (stun, turn) else {
        bail!(
            "{} exited before printing its STUN and TURN addresses",
            guard.name
        )
    };
    Ok((guard, stun, turn))
}

fn start_coturn(work: &Path) -> anyhow::Result<(Guard, u16)> {
    let port = free_udp_port();
    let child = Command::new("taskset")
        .args(["-c", SERVER_CORE, "turnserver", "-n"])
        .args(["--listening-ip", "127.0.0.1", "--relay-ip", "127.0.0.1"])
        .args(["--listening-port", &port.to_string()])
        .args([
            "--min-port",
            &COTURN_RELAY_PORTS.0.to_string(),
            "--max-port",
            &COTURN_RELAY_PORTS.1.to_string(),
        ])
        .args([
            "--use-auth-secret",
            "--static-auth-secret",
            SECRET,
            "--realm",
            "bench",
        ])
        .args([
            "--no-tls",
            "--no-dtls",
            "--no-tcp",
            "--no-tcp-relay",
            "--no-cli",
            "--allow-loopback-peers",
        ])
        .args([
            "--user-quota",
            "0",
            "--total-quota",
            "0",
            "--no-stdout-log",
            "--simple-log",
        ])
        .arg("--log-file")
        .arg(work.join("coturn.log"))
        .arg("--pidfile")
        .arg(work.join("coturn.pid"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting turnserver")?;
    let guard = Guard {
        name: "coturn",
        child,
    };
    wait_for_binding(port).with_context(|| format!("{} did not answer STUN", guard.name))?;
    Ok((guard, port))
}

fn start_echo(bin: &Path) -> anyhow::Result<(Guard, SocketAddr)> {
    let mut child = Command::new("taskset")
        .args(["-c", SERVER_CORE])
        .arg(bin.join("udp_echo"))
        .arg("127.0.0.1:0")
        .stdout(Stdio::piped())
        .spawn()
        .context("starting udp_echo")?;
    let stdout = child.stdout.take().context("piped stdout")?;
    let guard = Guard {
        name: "udp_echo",
        child,
    };
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let addr = line
        .trim()
        .strip_prefix("echo at ")
        .with_context(|| format!("{} printed {line:?}", guard.name))?
        .parse()?;
    Ok((guard, addr))
}

fn start_peer() -> anyhow::Result<(Guard, u16)> {
    let port = free_udp_port();
    let child = Command::new("taskset")
        .args([
            "-c",
            LOAD_CORE,
            "turnutils_peer",
            "-L",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting turnutils_peer")?;
    let guard = Guard {
        name: "turnutils_peer",
        child,
    };
    wait_for_echo(port).context("turnutils_peer did not echo")?;
    Ok((guard, port))
}

struct StunFigures {
    sent: u64,
    received: u64,
    seconds: f64,
    /// Server CPU seconds (user + system) spent during the run.
    cpu_seconds: f64,
}

impl StunFigures {
    fn per_second(&self) -> f64 {
        self.received as f64 / self.seconds.max(0.001)
    }
    fn cpu_us(&self) -> f64 {
        1e6 * self.cpu_seconds / (self.received.max(1)) as f64
    }
    fn cell(&self) -> String {
        let loss = 100.0 * (1.0 - self.received as f64 / (self.sent.max(1)) as f64);
        let cpu_us = 1e6 * self.cpu_seconds / (self.received.max(1)) as f64;
        format!(
            "{:.0} ({:.1}%, {:.1} us)",
            self.per_second(),
            loss.max(0.0),
            cpu_us
        )
    }
}

fn stun_load(bin: &Path, server: SocketAddr, pid: u32, rate: u64) -> anyhow::Result<StunFigures> {
    let cpu_before = cpu_seconds(pid)?;
    let out = Command::new("taskset")
        .args(["-c", LOAD_CORE])
        .arg(bin.join("udp_load"))
        .args([
            server.to_string(),
            rate.to_string(),
            STUN_SECONDS.to_owned(),
        ])
        .output()
        .context("running udp_load")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let words: Vec<&str> = text.split_whitespace().collect();
    match words.as_slice() {
        ["sent", s, "received", r, "seconds", t] => Ok(StunFigures {
            sent: s.parse()?,
            received: r.parse()?,
            seconds: t.parse()?,
            cpu_seconds: cpu_seconds(pid)? - cpu_before,
        }),
        _ => bail!(
            "udp_load printed {text:?} ({})",
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

struct TurnFigures {
    report: UclientReport,
    /// Messages round-tripped per second of wall clock (allocation set-up included).
    msgs_per_s: f64,
}

fn uclient(
    port: u16,
    peer: u16,
    clients: u32,
    messages: u32,
    interval_ms: u32,
) -> anyhow::Result<TurnFigures> {
    let started = Instant::now();
    let out = Command::new("timeout")
        .args([
            "120",
            "taskset",
            "-c",
            LOAD_CORE,
            "turnutils_uclient",
            "-c",
            "-W",
            SECRET,
        ])
        .args([
            "-p",
            &port.to_string(),
            "-e",
            "127.0.0.1",
            "-r",
            &peer.to_string(),
        ])
        .args([
            "-m",
            &clients.to_string(),
            "-n",
            &messages.to_string(),
            "-l",
            "170",
        ])
        .args(["-z", &interval_ms.to_string(), "127.0.0.1"])
        .output()
        .context("running turnutils_uclient")?;
    let wall = started.elapsed().as_secs_f64();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let Some(report) = parse_uclient(&text) else {
        let tail: Vec<&str> = text.lines().rev().take(5).collect();
        bail!("turnutils_uclient did not finish a run: {tail:?}")
    };
    // uclient's own "Total transmit time" is whole seconds; the wall clock includes allocation setup, which is
    // part of what a server costs, so it is used for both servers alike.
    Ok(TurnFigures {
        msgs_per_s: report.received as f64 / wall,
        report,
    })
}

/// RSS of `pid` while about 200 allocations are live (100 uclient clients with -c), and how many relay sockets
/// were actually open in the server's relay range when measured.
fn rss_with_allocations(
    pid: u32,
    port: u16,
    peer: u16,
    range: (u16, u16),
) -> anyhow::Result<(u64, usize)> {
    let child = Command::new("timeout")
        .args([
            "60",
            "turnutils_uclient",
            "-c",
            "-W",
            SECRET,
            "-p",
            &port.to_string(),
        ])
        .args([
            "-e",
            "127.0.0.1",
            "-r",
            &peer.to_string(),
            "-m",
            "100",
            "-n",
            "2000",
            "-z",
            "20",
            "-l",
            "170",
        ])
        .arg("127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let client = Guard {
        name: "turnutils_uclient",
        child,
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut count = 0;
    while Instant::now() < deadline {
        count = relay_sockets(range)?;
        if count >= 200 {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let rss = settled_rss_kib(pid)?;
    let count = relay_sockets(range)?.max(count);
    drop(client);
    Ok((rss, count))
}

/// UDP sockets bound to a port in `range` (all owners), from /proc/net/udp.
fn relay_sockets(range: (u16, u16)) -> anyhow::Result<usize> {
    let table = std::fs::read_to_string("/proc/net/udp")?;
    Ok(table
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(1))
        .filter_map(|local| u16::from_str_radix(local.rsplit(':').next()?, 16).ok())
        .filter(|p| (range.0..=range.1).contains(p))
        .count())
}

/// VmRSS of `pid` once it holds still: two readings 200 ms apart that agree within 1 %, read for at most 5 s (a
/// server still mapping its buffers or freeing what a client left would otherwise be caught half-way).
fn settled_rss_kib(pid: u32) -> anyhow::Result<u64> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut last = rss_kib(pid)?;
    loop {
        std::thread::sleep(Duration::from_millis(200));
        let now = rss_kib(pid)?;
        if now.abs_diff(last) * 100 <= last || Instant::now() >= deadline {
            return Ok(now);
        }
        last = now;
    }
}

/// Waits (at most 5 s) until the UDP echo at `port` on loopback sends a datagram back.
fn wait_for_echo(port: u16) -> anyhow::Result<()> {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0")?;
    socket.set_read_timeout(Some(Duration::from_millis(100)))?;
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut buf = [0u8; 64];
    while Instant::now() < deadline {
        socket.send_to(b"ready?", ("127.0.0.1", port))?;
        if socket.recv_from(&mut buf).is_ok() {
            return Ok(());
        }
    }
    anyhow::bail!("no echo from 127.0.0.1:{port} within 5 s")
}

fn wait_for_binding(port: u16) -> anyhow::Result<()> {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0")?;
    let id = *b"bench-ready!";
    stun_exchange(
        &socket,
        SocketAddr::from(([127, 0, 0, 1], port)),
        &binding_request(id),
        id,
    )
    .map(drop)
}
