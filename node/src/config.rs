//! The node's command line. Every flag has a default that works with no flags at all, and each can also be set
//! through a `HEARSAY_*` environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;

/// A hearsay node: serves your calling page at https://127.0.0.1:8443/.
#[derive(Debug, Parser)]
#[command(name = "hearsay", version, about)]
pub struct Cli {
    /// Your display name, shown to the people you call. Defaults to this machine's host name.
    #[arg(long, env = "HEARSAY_NAME")]
    pub name: Option<String>,

    /// Where the node keeps its certificate and keys. Defaults to the XDG data dir (~/.local/share/hearsay).
    #[arg(long, env = "HEARSAY_DATA_DIR")]
    pub data_dir: Option<PathBuf>,

    /// Address of the HTTPS server for the page. Port 0 picks a free port.
    #[arg(long, env = "HEARSAY_WEB", default_value = "127.0.0.1:8443")]
    pub web: SocketAddr,

    /// Serve the page from this folder instead of the copy built into the binary (for development).
    #[arg(long, env = "HEARSAY_ASSETS")]
    pub assets: Option<PathBuf>,

    /// UDP address of the gossip overlay. Port 0 picks a free port.
    #[arg(long, env = "HEARSAY_GOSSIP", default_value = "0.0.0.0:5000")]
    pub gossip: SocketAddr,

    /// Gossip peers to start with, as host:port, comma-separated (e.g. `--peers 10.0.0.2:5000,bob.lan:5000`).
    #[arg(long, env = "HEARSAY_PEERS", value_delimiter = ',')]
    pub peers: Vec<String>,
}

/// The resolved settings the node runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub name: String,
    pub data_dir: PathBuf,
    pub web: SocketAddr,
    pub assets: Option<PathBuf>,
    pub gossip: SocketAddr,
    /// As given (host:port); resolved when the node starts.
    pub peers: Vec<String>,
}

impl Cli {
    /// Fills in the defaults that depend on the machine (host name, data dir).
    pub fn into_config(self) -> anyhow::Result<Config> {
        let name = match self.name {
            Some(name) => name,
            None => gethostname::gethostname().to_string_lossy().into_owned(),
        };
        let name = name.trim().to_owned();
        anyhow::ensure!(!name.is_empty(), "--name must not be empty");
        anyhow::ensure!(
            name.chars().count() <= 64,
            "--name must be at most 64 characters"
        );
        let data_dir = match self.data_dir {
            Some(dir) => dir,
            None => directories::ProjectDirs::from("", "", "hearsay")
                .context("no home directory to keep the node's data in; pass --data-dir")?
                .data_dir()
                .to_path_buf(),
        };
        Ok(Config {
            name,
            data_dir,
            web: self.web,
            assets: self.assets,
            gossip: self.gossip,
            peers: self
                .peers
                .into_iter()
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn blank_name_is_refused() {
        let cli = Cli::try_parse_from(["hearsay", "--name", "  "]).unwrap();
        assert!(cli.into_config().is_err());
    }
}
