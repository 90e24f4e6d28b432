//! The node's command line. Every flag has a default that works with no flags at all, and each can also be set
//! through a `HEARSAY_*` environment variable.

use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;

/// A hearsay node: serves your calling page at https://127.0.0.1:8443/.
#[derive(Debug, Parser)]
// A flag given twice keeps its last value, so scripts and test harnesses can override what they set by default.
#[command(name = "hearsay", version, about, args_override_self = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Your display name, shown to the people you call. Defaults to this machine's host name.
    #[arg(long, env = "HEARSAY_NAME")]
    pub name: Option<String>,

    /// Where the node keeps its certificate and keys. Defaults to the XDG data dir (~/.local/share/hearsay).
    #[arg(long, env = "HEARSAY_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,

    /// Address of the HTTPS server for the page. Port 0 picks a free port.
    #[arg(long, env = "HEARSAY_WEB", default_value = "127.0.0.1:8443")]
    pub web: SocketAddr,

    /// Also serve the page and its WebSocket over plain HTTP at this loopback address, for `trunk serve` to proxy
    /// during page development (it cannot take the node's self-signed certificate); e.g. `127.0.0.1:8081`. Only
    /// loopback addresses are taken. Origins are checked as on HTTPS (see --allow-origin).
    #[arg(long, env = "HEARSAY_DEV_HTTP")]
    pub dev_http: Option<SocketAddr>,

    /// Serve the page from this folder instead of the copy built into the binary (for development).
    #[arg(long, env = "HEARSAY_ASSETS")]
    pub assets: Option<PathBuf>,

    /// Another web origin allowed to open the page's WebSocket, e.g. `http://127.0.0.1:8080` for `trunk serve`
    /// (repeatable; the environment variable takes a comma-separated list). The node's own page always may.
    #[arg(
        long = "allow-origin",
        env = "HEARSAY_ALLOW_ORIGINS",
        value_delimiter = ','
    )]
    pub allow_origins: Vec<String>,

    /// UDP address of the gossip overlay. Port 0 picks a free port.
    #[arg(long, env = "HEARSAY_GOSSIP", default_value = "0.0.0.0:5000")]
    pub gossip: SocketAddr,

    /// Gossip peers to start with, as host:port, comma-separated (e.g. `--peers 10.0.0.2:5000,bob.lan:5000`).
    #[arg(long, env = "HEARSAY_PEERS", value_delimiter = ',')]
    pub peers: Vec<String>,

    /// UDP address of the STUN server. Port 0 picks a free port.
    #[arg(long, env = "HEARSAY_STUN", default_value = "0.0.0.0:3478")]
    pub stun: SocketAddr,

    /// UDP address of the TURN server. Port 0 picks a free port.
    #[arg(long, env = "HEARSAY_TURN", default_value = "0.0.0.0:3479")]
    pub turn: SocketAddr,

    /// TCP address of the TURN server, for browsers on networks that let no UDP out (`turn:…?transport=tcp`; the
    /// relayed side is still UDP). Port 0 picks a free port.
    #[arg(long, env = "HEARSAY_TURN_TCP", default_value = "0.0.0.0:3479")]
    pub turn_tcp: SocketAddr,

    /// UDP ports the TURN server relays from, as LOW-HIGH (inclusive).
    #[arg(long, env = "HEARSAY_RELAY_PORTS", default_value = "49152-65535", value_parser = parse_port_range)]
    pub relay_ports: RangeInclusive<u16>,

    /// The address peers reach relayed traffic at. Defaults to the TURN address if it is specific, otherwise the
    /// address of the interface that routes to the internet.
    #[arg(long, env = "HEARSAY_RELAY_IP")]
    pub relay_ip: Option<IpAddr>,

    /// Let TURN relay to loopback, private and link-local addresses (for LANs and tests; off by default so the
    /// node is no open proxy into its own network).
    #[arg(long, env = "HEARSAY_RELAY_ALLOW_PRIVATE")]
    pub relay_allow_private: bool,

    /// A static TURN user as USER:PASSWORD (repeatable; the environment variable takes a comma-separated list).
    #[arg(long = "turn-user", env = "HEARSAY_TURN_USERS", value_delimiter = ',')]
    pub turn_users: Vec<String>,

    /// Live TURN allocations one username may hold.
    #[arg(long, env = "HEARSAY_TURN_USER_QUOTA", default_value_t = 32)]
    pub turn_user_quota: usize,

    /// Live TURN allocations on this node in total.
    #[arg(long, env = "HEARSAY_TURN_TOTAL_QUOTA", default_value_t = 1024)]
    pub turn_total_quota: usize,

    /// Who may relay calls through this node's TURN server by asking over gossip: `all` users of the overlay
    /// (each within the caps below; the server is offered only while it is reachable from outside), or `none`
    /// but this node's own page.
    #[arg(long, env = "HEARSAY_RELAY_FOR", value_enum, default_value_t = crate::traversal::RelayFor::All)]
    pub relay_for: crate::traversal::RelayFor,

    /// Most relayed traffic one other user may cause, both directions together, in kbit/s (0: no cap). A video
    /// call through a relay takes about 2–5 Mbit/s.
    #[arg(long, env = "HEARSAY_RELAY_USER_KBPS", default_value_t = 8_000)]
    pub relay_user_kbps: u64,

    /// Most relayed traffic for other users in total, in kbit/s (0: no cap). This node's own page is not counted.
    #[arg(long, env = "HEARSAY_RELAY_TOTAL_KBPS", default_value_t = 50_000)]
    pub relay_total_kbps: u64,

    /// FOR AUTOMATED TESTS ONLY: the page answers every incoming call at once, with camera and microphone, and says
    /// so in a banner. Never use it on a node people can call.
    #[arg(long)]
    pub testing_auto_accept: bool,

    /// FOR AUTOMATED TESTS ONLY: the page sends every call through TURN relays (and says so in a banner).
    #[arg(long)]
    pub testing_relay_only: bool,
}

/// What the binary does instead of running a node.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Print the page URL (with its token) of the node running on this data dir.
    Url,
}

/// Parses `LOW-HIGH` into a non-empty port range without port 0.
fn parse_port_range(text: &str) -> Result<RangeInclusive<u16>, String> {
    let (low, high) = text
        .split_once('-')
        .ok_or_else(|| format!("expected LOW-HIGH, got {text:?}"))?;
    let low: u16 = low.trim().parse().map_err(|e| format!("low port: {e}"))?;
    let high: u16 = high.trim().parse().map_err(|e| format!("high port: {e}"))?;
    if low == 0 || low > high {
        return Err(format!("need 1 <= LOW <= HIGH, got {low}-{high}"));
    }
    Ok(low..=high)
}

/// kbit/s to bytes/s; 0 means no cap.
fn kbps_to_bytes(kbps: u64) -> Option<u64> {
    (kbps > 0).then(|| kbps.saturating_mul(1000) / 8)
}

/// The STUN and TURN settings the node runs with.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    pub stun: SocketAddr,
    pub turn: SocketAddr,
    pub turn_tcp: SocketAddr,
    pub relay_ports: RangeInclusive<u16>,
    pub relay_ip: Option<IpAddr>,
    pub allow_private: bool,
    /// Static TURN users (name, password).
    pub static_users: Vec<(String, String)>,
    pub user_quota: usize,
    pub total_quota: usize,
    pub relay_for: crate::traversal::RelayFor,
    /// Bandwidth caps on relayed traffic for other users, in bytes per second (`None`: no cap).
    pub user_bytes_per_sec: Option<u64>,
    pub total_bytes_per_sec: Option<u64>,
}

/// The resolved settings the node runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub name: String,
    pub data_dir: PathBuf,
    pub web: SocketAddr,
    pub dev_http: Option<SocketAddr>,
    pub assets: Option<PathBuf>,
    pub allow_origins: Vec<String>,
    pub gossip: SocketAddr,
    /// As given (host:port); resolved when the node starts.
    pub peers: Vec<String>,
    pub relay: RelayConfig,
    pub testing: hearsay_shared::page::TestingModes,
}

/// `--data-dir`, or the XDG data dir.
pub fn data_dir_or_default(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    match given {
        Some(dir) => Ok(dir),
        None => Ok(directories::ProjectDirs::from("", "", "hearsay")
            .context("no home directory to keep the node's data in; pass --data-dir")?
            .data_dir()
            .to_path_buf()),
    }
}

impl Cli {
    /// Fills in the defaults that depend on the machine (host name, data dir).
    pub fn into_config(self) -> anyhow::Result<Config> {
        let name = match self.name {
            Some(name) => name,
            None => gethostname::gethostname().to_string_lossy().into_owned(),
        };
        let name = name.trim().to_owned();
        hearsay_shared::text::check_name(&name, hearsay_shared::gossip::MAX_NAME_CHARS)
            .map_err(|err| anyhow::anyhow!("--name {name:?} cannot be announced: {err}"))?;
        let data_dir = data_dir_or_default(self.data_dir)?;
        let static_users = self
            .turn_users
            .iter()
            .map(|u| crate::turn::credentials::parse_static_user(u))
            .collect::<anyhow::Result<Vec<_>>>()?;
        anyhow::ensure!(
            self.turn_user_quota > 0 && self.turn_total_quota > 0,
            "TURN quotas must be at least 1"
        );
        if let Some(addr) = self.dev_http {
            anyhow::ensure!(
                addr.ip().is_loopback(),
                "--dev-http serves without TLS, so only on loopback (e.g. 127.0.0.1:8081), not {addr}"
            );
        }
        Ok(Config {
            name,
            data_dir,
            web: self.web,
            dev_http: self.dev_http,
            assets: self.assets,
            allow_origins: self.allow_origins,
            gossip: self.gossip,
            peers: self
                .peers
                .into_iter()
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())
                .collect(),
            relay: RelayConfig {
                stun: self.stun,
                turn: self.turn,
                turn_tcp: self.turn_tcp,
                relay_ports: self.relay_ports,
                relay_ip: self.relay_ip,
                allow_private: self.relay_allow_private,
                static_users,
                user_quota: self.turn_user_quota,
                total_quota: self.turn_total_quota,
                relay_for: self.relay_for,
                user_bytes_per_sec: kbps_to_bytes(self.relay_user_kbps),
                total_bytes_per_sec: kbps_to_bytes(self.relay_total_kbps),
            },
            testing: hearsay_shared::page::TestingModes {
                auto_accept: self.testing_auto_accept,
                relay_only: self.testing_relay_only,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_would_deceive_are_refused_at_start() {
        for bad in ["evil\u{202E}gnp", "al\u{200B}ice", "bell\u{7}", " "] {
            let err = Cli::try_parse_from(["hearsay", "--name", bad])
                .unwrap()
                .into_config()
                .unwrap_err()
                .to_string();
            assert!(err.contains("--name"), "{bad:?}: {err}");
        }
        assert!(
            Cli::try_parse_from(["hearsay", "--name", "Zoë 👩‍👩‍👧"])
                .unwrap()
                .into_config()
                .is_ok()
        );
    }

    #[test]
    fn defaults_work_with_no_flags() {
        let config = Cli::try_parse_from(["hearsay"])
            .unwrap()
            .into_config()
            .unwrap();
        assert_eq!(config.web, "127.0.0.1:8443".parse().unwrap());
        assert!(!config.name.is_empty());
        assert!(config.data_dir.ends_with("hearsay"));
        assert_eq!(config.gossip, "0.0.0.0:5000".parse().unwrap());
        assert!(config.peers.is_empty());
        assert_eq!(config.relay.stun, "0.0.0.0:3478".parse().unwrap());
        assert_eq!(config.relay.turn, "0.0.0.0:3479".parse().unwrap());
        assert_eq!(config.relay.turn_tcp, "0.0.0.0:3479".parse().unwrap());
        assert_eq!(config.relay.relay_ports, 49152..=65535);
        assert!(!config.relay.allow_private);
        assert_eq!(config.relay.relay_for, crate::traversal::RelayFor::All);
        assert_eq!(config.relay.user_bytes_per_sec, Some(1_000_000));
        assert_eq!(config.relay.total_bytes_per_sec, Some(6_250_000));
    }

    #[test]
    fn relaying_for_others_can_be_switched_off_and_caps_lifted() {
        let config = Cli::try_parse_from([
            "hearsay",
            "--relay-for",
            "none",
            "--relay-user-kbps",
            "0",
            "--relay-total-kbps",
            "800",
        ])
        .unwrap()
        .into_config()
        .unwrap();
        assert_eq!(config.relay.relay_for, crate::traversal::RelayFor::None);
        assert_eq!(config.relay.user_bytes_per_sec, None);
        assert_eq!(config.relay.total_bytes_per_sec, Some(100_000));
        assert!(Cli::try_parse_from(["hearsay", "--relay-for", "some"]).is_err());
    }

    #[test]
    fn relay_flags_parse_and_the_last_one_wins() {
        let config = Cli::try_parse_from([
            "hearsay",
            "--turn",
            "127.0.0.1:0",
            "--turn",
            "127.0.0.1:5000",
            "--relay-ports",
            "40000-40010",
            "--relay-allow-private",
            "--turn-user",
            "bob:pw",
        ])
        .unwrap()
        .into_config()
        .unwrap();
        assert_eq!(config.relay.turn, "127.0.0.1:5000".parse().unwrap());
        assert_eq!(config.relay.relay_ports, 40000..=40010);
        assert!(config.relay.allow_private);
        assert_eq!(config.relay.static_users, [("bob".into(), "pw".into())]);
    }

    #[test]
    fn bad_port_ranges_are_refused() {
        for bad in ["0-10", "10-5", "10", "a-b", "1-70000"] {
            assert!(parse_port_range(bad).is_err(), "{bad} should be refused");
        }
        assert_eq!(parse_port_range("7-7"), Ok(7..=7));
    }

    #[test]
    fn peers_are_a_comma_separated_list() {
        let cli = Cli::try_parse_from([
            "hearsay",
            "--peers",
            "127.0.0.1:5001, bob.lan:5000,",
            "--gossip",
            "127.0.0.1:0",
        ]);
        let config = cli.unwrap().into_config().unwrap();
        assert_eq!(config.peers, vec!["127.0.0.1:5001", "bob.lan:5000"]);
        assert_eq!(config.gossip.port(), 0);
    }

    #[test]
    fn plain_http_for_development_is_loopback_only() {
        let ok = Cli::try_parse_from(["hearsay", "--dev-http", "127.0.0.1:8081"]).unwrap();
        assert_eq!(
            ok.into_config().unwrap().dev_http,
            Some("127.0.0.1:8081".parse().unwrap())
        );
        let lan = Cli::try_parse_from(["hearsay", "--dev-http", "0.0.0.0:8081"]).unwrap();
        assert!(lan.into_config().is_err());
    }

    #[test]
    fn blank_name_is_refused() {
        let cli = Cli::try_parse_from(["hearsay", "--name", "  "]).unwrap();
        assert!(cli.into_config().is_err());
    }
}
