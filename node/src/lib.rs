//! The hearsay node: one process per user that serves the user's page and (as later work lands) runs the gossip
//! overlay, a STUN server and a TURN server.
//!
//! Drive it with [`run`]: give it a [`config::Config`] and a future that resolves when the node should stop. It
//! binds every listener first (so a port in use fails fast with a clear error), prints where it listens on stdout
//! (`hearsay: stun at <addr>`, `hearsay: turn at <addr>`, `hearsay: gossip at <addr>` — the bound addresses, e.g.
//! `0.0.0.0:5000` — `hearsay: key <hex>`, then `hearsay: page at https://…/` last), and serves until the shutdown
//! future resolves. Once peers have told it how they see it, it prints `hearsay: seen from outside at <addrs>
//! (reachable from outside: yes|no)`: the address a friend adds as a peer.
//!
//! Layout: [`config`] (command line and environment), [`tls`] (the node's self-signed certificate),
//! [`web`] (HTTPS server, the embedded page and the page's WebSocket), [`gossip`] (the UDP overlay: sans-IO engine,
//! tokio shell, simulator), [`traversal`] (how the node is seen from outside, relays found over gossip), [`stun`]
//! (STUN server and client), [`turn`] (TURN server on the `turn` crate, credentials, relay policy, caps).
#![forbid(unsafe_code)]

pub mod config;
pub mod gossip;
pub mod stun;
pub mod tls;
pub mod traversal;
pub mod turn;
pub mod web;

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use hearsay_shared::page::NodeIdentity;

/// The line prefix, on stdout, that tells scripts and tests where the page is served.
pub const PAGE_URL_PREFIX: &str = "hearsay: page at ";
/// The line prefix, on stdout, before the STUN server's bound UDP address.
pub const STUN_ADDR_PREFIX: &str = "hearsay: stun at ";
/// The line prefix, on stdout, before the TURN server's bound UDP address.
pub const TURN_ADDR_PREFIX: &str = "hearsay: turn at ";
/// The line prefix, on stdout, before the TURN server's bound TCP address.
pub const TURN_TCP_ADDR_PREFIX: &str = "hearsay: turn/tcp at ";

/// The line prefix, on stdout, that tells scripts and tests where the gossip socket listens.
pub const GOSSIP_ADDR_PREFIX: &str = "hearsay: gossip at ";
/// The line prefix, on stdout, before the node's public key (64 hex digits: how other users address it).
pub const KEY_PREFIX: &str = "hearsay: key ";

/// Runs the node until `shutdown` resolves.
pub async fn run(config: config::Config, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data dir {}", config.data_dir.display()))?;
    let tls = tls::load_or_create(&config.data_dir)?;
    let listener = tokio::net::TcpListener::bind(config.web)
        .await
        .with_context(|| format!("binding the web server to {}", config.web))?;
    let web_addr = listener.local_addr()?;
    let relay = &config.relay;
    let stun_socket = tokio::net::UdpSocket::bind(relay.stun)
        .await
        .with_context(|| format!("binding the STUN server to {}", relay.stun))?;
    let stun_addr = stun_socket.local_addr()?;
    stun::wire::enlarge_buffers(&stun_socket, stun::wire::LISTENER_BUFFER_BYTES);
    let turn_socket = tokio::net::UdpSocket::bind(relay.turn)
        .await
        .with_context(|| format!("binding the TURN server to {}", relay.turn))?;
    let turn_addr = turn_socket.local_addr()?;
    stun::wire::enlarge_buffers(&turn_socket, stun::wire::LISTENER_BUFFER_BYTES);
    let turn_tcp = tokio::net::TcpListener::bind(relay.turn_tcp)
        .await
        .with_context(|| format!("binding the TURN server to TCP {}", relay.turn_tcp))?;
    let turn_tcp_addr = turn_tcp.local_addr()?;
    let advertised_ip = relay
        .relay_ip
        .unwrap_or_else(|| advertised_ip_for(turn_addr));
    let secret = turn::credentials::TurnSecret::load_or_create(&config.data_dir)?;
    let turn_server = turn::TurnServer::start(
        turn_socket,
        Some(turn_tcp),
        turn::TurnSettings {
            realm: config.name.clone(),
            credentials: turn::credentials::Credentials::new(
                secret.clone(),
                relay.static_users.iter().cloned().collect(),
            ),
            policy: turn::peer_policy::PeerPolicy {
                allow_private: relay.allow_private,
            },
            quotas: turn::gate::Quotas {
                per_user: relay.user_quota,
                total: relay.total_quota,
                user_bytes_per_sec: relay.user_bytes_per_sec,
                total_bytes_per_sec: relay.total_bytes_per_sec,
            },
            relay: turn::relay_ports::RelayPorts {
                bind_ip: turn_addr.ip(),
                advertised_ip,
                ports: relay.relay_ports.clone(),
            },
        },
    )
    .await?;
    let secret_for_traversal = secret.clone();
    let stun_task = tokio::spawn(stun::server::serve(
        stun_socket,
        stun::BindingResponder::default(),
    ));
    let udp = tokio::net::UdpSocket::bind(config.gossip)
        .await
        .with_context(|| format!("binding the gossip socket to {}", config.gossip))?;
    let gossip_addr = udp.local_addr()?;
    // Gossip over TCP on the same port, for peers whose networks block UDP; a node that cannot have it still runs.
    let gossip_tcp = match tokio::net::TcpListener::bind(gossip_addr).await {
        Ok(listener) => Some(listener),
        Err(err) => {
            tracing::warn!(%err, %gossip_addr, "no gossip over TCP: peers that cannot use UDP cannot reach this node");
            None
        }
    };
    let mut peers = Vec::new();
    for peer in &config.peers {
        peers.push(resolve_peer(peer, gossip_addr).await?);
    }
    let identity = gossip::Identity::load_or_create(&config.data_dir)?;
    // STUN and TURN are announced once a peer has reached them from outside (see `traversal`).
    let (gossip, gossip_task) = start_gossip(&config, identity, udp, gossip_tcp, &peers).await?;
    let (traversal, traversal_task) = traversal::shell::spawn(
        traversal::Settings {
            name: config.name.clone(),
            gossip_local: gossip_addr,
            stun_port: stun_addr.port(),
            turn_port: turn_addr.port(),
            turn_tcp_port: turn_tcp_addr.port(),
            relay_ip: advertised_ip,
            relay_for: relay.relay_for,
            secret: secret_for_traversal,
            rng_seed: rand::random(),
        },
        gossip.clone(),
    );

    let node = Arc::new(web::NodeInfo {
        identity: NodeIdentity {
            name: config.name.clone(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        },
        started: Instant::now(),
        ice: turn::ice_servers::IceServerSource::new(
            advertised_ip,
            stun_addr,
            turn_addr,
            Some(turn_tcp_addr.port()),
            secret,
        ),
        gossip: gossip.clone(),
        traversal,
        origins: web::AllowedOrigins::new(web_addr.port(), &config.allow_origins),
    });
    let routes = web::routes(node, config.assets.clone());

    let host = match web_addr.ip() {
        ip if ip.is_unspecified() => "127.0.0.1".to_owned(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    tracing::info!(name = %config.name, data_dir = %config.data_dir.display(), %stun_addr, %turn_addr,
        %turn_tcp_addr, %advertised_ip, "node started");
    println!("{STUN_ADDR_PREFIX}{stun_addr}");
    println!("{TURN_ADDR_PREFIX}{turn_addr}");
    println!("{TURN_TCP_ADDR_PREFIX}{turn_tcp_addr}");
    // The bound address: a friend cannot use 0.0.0.0 or a LAN address behind NAT, so the page (and the "seen
    // from outside" line once peers have said) gives the address to hand out.
    println!("{GOSSIP_ADDR_PREFIX}{gossip_addr}");
    println!("{KEY_PREFIX}{}", gossip.key.to_hex());
    tracing::info!(key = %gossip.key.fingerprint(), addr = %gossip_addr, "gossip started");
    println!("{PAGE_URL_PREFIX}https://{host}:{}/", web_addr.port());

    web::serve_https(listener, tls, routes, shutdown).await;
    gossip_task.abort();
    traversal_task.abort();
    stun_task.abort();
    turn_server.close().await;
    Ok(())
}

/// The address to advertise for relays and in ICE server lists when `--relay-ip` is not given: the TURN address
/// itself if it is specific, else the source address the OS would use towards the internet (a UDP `connect`
/// only consults the routing table; nothing is sent), else loopback.
fn advertised_ip_for(turn_addr: SocketAddr) -> IpAddr {
    if !turn_addr.ip().is_unspecified() {
        return turn_addr.ip();
    }
    traversal::shell::outward_ip().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
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
    tcp: Option<tokio::net::TcpListener>,
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
    let (handle, task) = gossip::shell::spawn(udp, tcp, engine)?;
    for &peer in peers {
        handle
            .command(gossip::Command::AddPeer(peer))
            .await?
            .map_err(|e| anyhow::anyhow!("adding peer {peer}: {e}"))?;
    }
    Ok((handle, task))
}
