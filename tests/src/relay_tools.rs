//! Helpers for the STUN/TURN tests: run third-party clients with a time bound and read their figures, keep a
//! `turnutils_peer` running, and speak just enough raw STUN to probe a server (hand-built bytes, so the tests do
//! not share a codec with the server they check).

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::process::{Child, Command};

use crate::require_tool;

/// A UDP port on 127.0.0.1 that was free a moment ago (and, for RTCP-style tools, whose successor was too).
pub fn free_udp_port() -> u16 {
    for _ in 0..100 {
        let Ok(socket) = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)) else {
            continue;
        };
        let Ok(addr) = socket.local_addr() else {
            continue;
        };
        if addr.port() < u16::MAX && UdpSocket::bind((Ipv4Addr::LOCALHOST, addr.port() + 1)).is_ok()
        {
            return addr.port();
        }
    }
    panic!("no free UDP port pair on loopback after 100 tries")
}

/// Arguments for `turnutils_uclient`: `clients` clients relay `messages` messages of `bytes` bytes each over channels
/// through the TURN server on 127.0.0.1:`turn_port` to a `turnutils_peer` on 127.0.0.1:`peer`, authenticated with
/// `auth` (e.g. `-W <secret>` for REST credentials, `-u user -w password` for a static user).
pub fn uclient_args(
    turn_port: u16,
    peer: u16,
    clients: u32,
    messages: u32,
    bytes: u32,
    auth: &[String],
) -> Vec<String> {
    let mut args: Vec<String> = auth.to_vec();
    args.extend(
        [
            "-c",
            "-p",
            &turn_port.to_string(),
            "-e",
            "127.0.0.1",
            "-r",
            &peer.to_string(),
            "-m",
            &clients.to_string(),
            "-n",
            &messages.to_string(),
            "-l",
            &bytes.to_string(),
            "127.0.0.1",
        ]
        .map(String::from),
    );
    args
}

/// Runs `turnutils_uclient args…` (within 60 s) and returns its report and output; an error if it finished no run.
pub async fn run_uclient(args: &[String]) -> anyhow::Result<(UclientReport, String)> {
    let (status, out) =
        run_bounded("turnutils_uclient", "coturn", args, Duration::from_secs(60)).await?;
    let report = parse_uclient(&out)
        .with_context(|| format!("uclient did not finish ({status}):\n{out}"))?;
    Ok((report, out))
}

/// Runs `program args…` to completion within `limit` (killed otherwise) and returns its exit status and its
/// stdout and stderr together.
pub async fn run_bounded(
    program: &str,
    package: &str,
    args: &[String],
    limit: Duration,
) -> anyhow::Result<(ExitStatus, String)> {
    let path = require_tool(program, package)?;
    let child = Command::new(&path)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {program}"))?;
    let output = tokio::time::timeout(limit, child.wait_with_output())
        .await
        .with_context(|| format!("{program} {args:?} did not finish within {limit:?}"))??;
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    Ok((output.status, text))
}

/// coturn's `turnutils_peer`: a UDP echo peer on 127.0.0.1 that TURN clients relay to. Killed on drop.
pub struct TurnPeer {
    pub port: u16,
    _child: Child,
}

impl TurnPeer {
    pub async fn start() -> anyhow::Result<Self> {
        let path = require_tool("turnutils_peer", "coturn")?;
        let port = free_udp_port();
        let child = Command::new(path)
            .args(["-L", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting turnutils_peer")?;
        // Wait until the peer echoes: a probe datagram must come back.
        let probe = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
        probe.set_read_timeout(Some(Duration::from_millis(100)))?;
        let mut buf = [0u8; 64];
        for _ in 0..50 {
            probe.send_to(b"ping", (Ipv4Addr::LOCALHOST, port))?;
            if let Ok((n, _)) = probe.recv_from(&mut buf)
                && &buf[..n] == b"ping"
            {
                return Ok(Self {
                    port,
                    _child: child,
                });
            }
        }
        bail!("turnutils_peer on port {port} did not echo within 5 s")
    }
}

/// The figures `turnutils_uclient` prints at the end of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct UclientReport {
    pub sent: u64,
    pub received: u64,
    pub lost: u64,
    pub avg_rtt_ms: f64,
    /// "Total transmit time is N" (seconds, as uclient rounds it).
    pub transmit_secs: Option<u64>,
}

/// Reads `start_mclient: tot_send_msgs=A, tot_recv_msgs=B`, `Total lost packets N` and
/// `Average round trip delay X ms` from uclient's output; `None` if it never got that far.
pub fn parse_uclient(output: &str) -> Option<UclientReport> {
    let after = |line: &str, key: &str| -> Option<String> {
        let rest = &line[line.find(key)? + key.len()..];
        Some(
            rest.chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect(),
        )
    };
    let (mut sent, mut received, mut lost, mut rtt, mut secs) = (None, None, None, None, None);
    for line in output.lines() {
        if line.contains("start_mclient: tot_send_msgs=") {
            sent = after(line, "tot_send_msgs=").and_then(|v| v.parse().ok());
            received = after(line, "tot_recv_msgs=").and_then(|v| v.parse().ok());
        }
        if line.contains("Total lost packets ") {
            lost = after(line, "Total lost packets ").and_then(|v| v.parse().ok());
        }
        if line.contains("Average round trip delay ") {
            rtt = after(line, "Average round trip delay ").and_then(|v| v.parse().ok());
        }
        if line.contains("Total transmit time is ") {
            secs = after(line, "Total transmit time is ").and_then(|v| v.parse().ok());
        }
    }
    Some(UclientReport {
        sent: sent?,
        received: received?,
        lost: lost?,
        avg_rtt_ms: rtt?,
        transmit_secs: secs,
    })
}

/// The RFC 5389 magic cookie.
pub const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];

/// A STUN message header with `message_type`, transaction id `id` and `attributes` (already padded).
pub fn stun_message(message_type: u16, id: [u8; 12], attributes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(20 + attributes.len());
    out.extend_from_slice(&message_type.to_be_bytes());
    // Test messages are tiny: far below 64 KiB.
    out.extend_from_slice(
        &u16::try_from(attributes.len())
            .expect("small")
            .to_be_bytes(),
    );
    out.extend_from_slice(&MAGIC_COOKIE);
    out.extend_from_slice(&id);
    out.extend_from_slice(attributes);
    out
}

/// One attribute TLV, padded to 4 bytes.
pub fn stun_attribute(kind: u16, value: &[u8]) -> Vec<u8> {
    let mut out = kind.to_be_bytes().to_vec();
    out.extend_from_slice(&u16::try_from(value.len()).expect("small").to_be_bytes());
    out.extend_from_slice(value);
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
    out
}

/// What a raw probe got back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StunReply {
    pub message_type: u16,
    /// The ERROR-CODE's number, if any.
    pub error_code: Option<u16>,
    /// XOR-MAPPED-ADDRESS, decoded (IPv4 only).
    pub xor_mapped: Option<SocketAddr>,
}

/// Decodes the few fields the tests look at; `None` if the bytes are not a STUN message for transaction `id`.
pub fn parse_stun_reply(bytes: &[u8], id: [u8; 12]) -> Option<StunReply> {
    if bytes.len() < 20 || bytes[4..8] != MAGIC_COOKIE || bytes[8..20] != id {
        return None;
    }
    let message_type = u16::from_be_bytes([bytes[0], bytes[1]]);
    let (mut error_code, mut xor_mapped) = (None, None);
    let mut at = 20;
    while at + 4 <= bytes.len() {
        let kind = u16::from_be_bytes([bytes[at], bytes[at + 1]]);
        let len = usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]));
        let value = bytes.get(at + 4..at + 4 + len)?;
        match kind {
            0x0009 if len >= 4 => {
                error_code = Some(u16::from(value[2]) * 100 + u16::from(value[3]))
            }
            0x0020 if len == 8 && value[1] == 1 => {
                let port = u16::from_be_bytes([value[2], value[3]]) ^ 0x2112;
                let ip = [
                    value[4] ^ MAGIC_COOKIE[0],
                    value[5] ^ MAGIC_COOKIE[1],
                    value[6] ^ MAGIC_COOKIE[2],
                    value[7] ^ MAGIC_COOKIE[3],
                ];
                xor_mapped = Some(SocketAddr::from((ip, port)));
            }
            _ => {}
        }
        at += 4 + len.div_ceil(4) * 4;
    }
    Some(StunReply {
        message_type,
        error_code,
        xor_mapped,
    })
}

/// Sends `request` (transaction `id`) from `socket` to `server` and waits for the matching reply, retrying a few
/// times; ignores any other datagram.
pub fn stun_exchange(
    socket: &UdpSocket,
    server: SocketAddr,
    request: &[u8],
    id: [u8; 12],
) -> anyhow::Result<StunReply> {
    socket.set_read_timeout(Some(Duration::from_millis(300)))?;
    let mut buf = [0u8; 2048];
    for _ in 0..10 {
        socket.send_to(request, server)?;
        while let Ok((n, from)) = socket.recv_from(&mut buf) {
            if from == server
                && let Some(reply) = parse_stun_reply(&buf[..n], id)
            {
                return Ok(reply);
            }
        }
    }
    bail!("no STUN reply from {server} after 10 tries")
}

/// A Binding request for transaction `id`.
pub fn binding_request(id: [u8; 12]) -> Vec<u8> {
    stun_message(0x0001, id, &[])
}
