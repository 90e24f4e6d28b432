//! The hearsay node: one process per user that serves the user's page and (as later work lands) runs the gossip
//! overlay, a STUN server and a TURN server.
//!
//! Drive it with [`run`]: give it a [`config::Config`] and a future that resolves when the node should stop. It
//! binds every listener first (so a port in use fails fast with a clear error), prints the page URL on stdout as
//! `hearsay: page at https://…/`, and serves until the shutdown future resolves.
//!
//! Layout: [`config`] (command line and environment), [`tls`] (the node's self-signed certificate),
//! [`web`] (HTTPS server, the embedded page and the page's WebSocket), [`gossip`] (the UDP overlay: sans-IO engine,
//! tokio shell, simulator). It also prints `hearsay: gossip at 127.0.0.1:PORT` once the gossip socket is bound.
#![forbid(unsafe_code)]

pub mod config;
pub mod gossip;
pub mod tls;
pub mod web;

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use hearsay_shared::page::NodeIdentity;

/// The line prefix, on stdout, that tells scripts and tests where the page is served.
pub const PAGE_URL_PREFIX: &str = "hearsay: page at ";

/// The line prefix, on stdout, that tells scripts and tests where the gossip socket listens.
pub const GOSSIP_ADDR_PREFIX: &str = "hearsay: gossip at ";

/// Runs the node until `shutdown` resolves.
pub async fn run(config: config::Config, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data dir {}", config.data_dir.display()))?;
    let tls = tls::load_or_create(&config.data_dir)?;
    let listener = tokio::net::TcpListener::bind(config.web)
        .await
        .with_context(|| format!("binding the web server to {}", config.web))?;
    let web_addr = listener.local_addr()?;
    let udp = tokio::net::UdpSocket::bind(config.gossip)
        .await
        .with_context(|| format!("binding the gossip socket to {}", config.gossip))?;
    let gossip_addr = udp.local_addr()?;
    let mut peers = Vec::new();
    for peer in &config.peers {
        peers.push(resolve_peer(peer, gossip_addr).await?);
    }
    let identity = gossip::Identity::load_or_create(&config.data_dir)?;
    let (gossip, gossip_task) = start_gossip(&config, identity, udp, &peers).await?;

    let node = Arc::new(web::NodeInfo {
        identity: NodeIdentity {
            name: config.name.clone(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        },
        started: Instant::now(),
        gossip: gossip.clone(),
    });
    let routes = web::routes(node, config.assets.clone());

    let host = match web_addr.ip() {
        ip if ip.is_unspecified() => "127.0.0.1".to_owned(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    tracing::info!(name = %config.name, data_dir = %config.data_dir.display(), "node started");
    println!("{PAGE_URL_PREFIX}https://{host}:{}/", web_addr.port());
    let gossip_host = if gossip_addr.ip().is_unspecified() {
        std::net::SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), gossip_addr.port())
    } else {
        gossip_addr
    };
    println!("{GOSSIP_ADDR_PREFIX}{gossip_host}");
    tracing::info!(key = %gossip.key.fingerprint(), addr = %gossip_addr, "gossip started");

    web::serve_https(listener, tls, routes, shutdown).await;
    gossip_task.abort();
    Ok(())
}

/// Resolves a `host:port` peer to one address of the gossip socket's family.
pub async fn resolve_peer(
    peer: &str,
    local: std::net::SocketAddr,
) -> anyhow::Result<std::net::SocketAddr> {
    let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host(peer)
        .await
        .with_context(|| format!("peer {peer:?} is not a host:port that resolves"))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4() == local.is_ipv4())
        .or(addrs.first())
        .copied()
        .with_context(|| format!("peer {peer:?} resolves to no address"))
}

async fn start_gossip(
    config: &config::Config,
    identity: gossip::Identity,
    udp: tokio::net::UdpSocket,
    peers: &[std::net::SocketAddr],
) -> anyhow::Result<(gossip::shell::GossipHandle, tokio::task::JoinHandle<()>)> {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(1);
    let mut seed = [0u8; 8];
    rand::TryRngCore::try_fill_bytes(&mut rand::rngs::OsRng, &mut seed)
        .context("the OS random number generator failed")?;
    let mut gossip_config =
        gossip::Config::new(config.name.clone(), now_ms, u64::from_le_bytes(seed));
    let local = udp.local_addr()?;
    if !local.ip().is_unspecified() {
        gossip_config.addrs = vec![local];
    }
    let engine = gossip::Gossip::new(
        Instant::now(),
        identity,
        Arc::new(gossip::Ed25519Check),
        gossip_config,
    );
    let (handle, task) = gossip::shell::spawn(udp, engine)?;
    for &peer in peers {
        handle
            .command(gossip::Command::AddPeer(peer))
            .await?
            .map_err(|e| anyhow::anyhow!("adding peer {peer}: {e}"))?;
    }
    Ok((handle, task))
}
