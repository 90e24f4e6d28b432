//! The hearsay node: one process per user that serves the user's page and runs the gossip overlay, a STUN server
//! and a TURN server.
//!
//! Drive it with [`run`]: give it a [`config::Config`] and a future that resolves when the node should stop. It
//! binds every listener first (so a port in use fails fast with a clear error), prints where it listens on stdout
//! (`hearsay: stun at <addr>`, `hearsay: turn at <addr>`, `hearsay: gossip at <addr>` — the bound addresses, e.g.
//! `0.0.0.0:5000` — `hearsay: key <hex>`, then `hearsay: page at https://…/` last), and serves until the shutdown
//! future resolves. Once peers have told it how they see it, it prints `hearsay: seen from outside at <addrs>
//! (reachable from outside: yes|no)`: the address a friend adds as a peer.
//!
//! [`run`] reads as the list of what the node runs; it binds every socket first ([`listeners`]), spawns every
//! long-running task through [`tasks`] so a stop (Ctrl-C, SIGTERM) drains them within a bound, and exits.
//!
//! Layout: [`config`] (command line and environment), [`data_dir`] (where and how secrets are kept), [`tls`] (the
//! node's self-signed certificate),
//! [`web`] (HTTPS server, the embedded page and the page's WebSocket), [`gossip`] (the UDP overlay: sans-IO engine,
//! tokio shell, simulator), [`traversal`] (how the node is seen from outside, relays found over gossip), [`stun`]
//! (STUN server and client), [`turn`] (TURN server on the `turn` crate, credentials, relay policy, caps).
#![forbid(unsafe_code)]

pub mod budget;
pub mod config;
pub mod data_dir;
pub mod gossip;
pub mod listeners;
pub mod stun;
pub mod tasks;
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

pub use hearsay_shared::startup::{
    GOSSIP_ADDR_PREFIX, KEY_PREFIX, PAGE_URL_FILE, PAGE_URL_PREFIX, STUN_ADDR_PREFIX,
    TURN_ADDR_PREFIX, TURN_TCP_ADDR_PREFIX,
};

/// Runs the node until `shutdown` resolves, then stops every task (at most [`tasks::DRAIN_LIMIT`]).
pub async fn run(config: config::Config, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let store = Store::open(&config)?;
    let listeners = listeners::Listeners::bind(&config).await?;
    let bound = listeners.bound()?;
    let relay_ip = config
        .relay
        .relay_ip
        .unwrap_or_else(|| advertised_ip_for(bound.turn));
    let tasks = tasks::Tasks::default();

    let turn = start_turn(
        &config,
        &store,
        listeners.turn,
        listeners.turn_tcp,
        bound,
        relay_ip,
    )
    .await?;
    tasks.spawn(stun::server::serve(
        listeners.stun,
        stun::BindingResponder::default(),
    ));
    let gossip = start_gossip(
        &config,
        &store,
        listeners.gossip,
        listeners.gossip_tcp,
        &tasks,
    )
    .await?;
    let traversal = start_traversal(&config, &store, bound, relay_ip, &gossip, &tasks);
    let page = Arc::new(web::NodeInfo {
        identity: NodeIdentity {
            name: config.name.clone(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            testing: config.testing,
        },
        started: Instant::now(),
        ice: turn::ice_servers::IceServerSource::new(
            relay_ip,
            bound.stun,
            bound.turn,
            Some(bound.turn_tcp.port()),
            store.turn_secret.clone(),
        ),
        gossip: gossip.clone(),
        traversal,
        access: web::Access::new(
            bound.web.port(),
            &config.allow_origins,
            web::access::new_token()?,
            web::access::load_or_create_session_key(&config.data_dir)?,
        ),
        tasks: tasks.clone(),
    });
    let url = page_url_with(bound.web, page.access.token());
    // Written before it is printed, so whoever reads the printed line finds the file current.
    data_dir::write(
        &config.data_dir.join(PAGE_URL_FILE),
        format!("{url}\n").as_bytes(),
    )?;
    let routes = web::routes(page.clone(), config.assets.clone(), true);
    if let Some(addr) = config.dev_http {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding the development HTTP server to {addr}"))?;
        tracing::info!(%addr, "serving the page over plain HTTP on loopback, for development");
        let dev_routes = web::routes(page.clone(), config.assets.clone(), false);
        tasks.spawn(web::serve_dev_http(listener, dev_routes, tasks.clone()));
    }

    print_addresses(&config, bound, relay_ip, &gossip, &url, page.access.token());
    web::serve_https(listeners.web, store.tls, routes, shutdown, &tasks).await;
    tracing::info!("stopping");
    tasks.drain().await;
    turn.close().await;
    Ok(())
}

/// What the node keeps in its data dir: the page's certificate, the TURN secret, the identity key.
struct Store {
    tls: Arc<tokio_rustls::rustls::ServerConfig>,
    turn_secret: turn::credentials::TurnSecret,
    identity: gossip::Identity,
}

impl Store {
    fn open(config: &config::Config) -> anyhow::Result<Self> {
        data_dir::prepare(&config.data_dir)?;
        Ok(Self {
            tls: tls::load_or_create(&config.data_dir)?,
            turn_secret: turn::credentials::TurnSecret::load_or_create(&config.data_dir)?,
            identity: gossip::Identity::load_or_create(&config.data_dir)?,
        })
    }
}

async fn start_turn(
    config: &config::Config,
    store: &Store,
    udp: tokio::net::UdpSocket,
    tcp: tokio::net::TcpListener,
    bound: listeners::Bound,
    relay_ip: IpAddr,
) -> anyhow::Result<turn::TurnServer> {
    let relay = &config.relay;
    turn::TurnServer::start(
        udp,
        Some(tcp),
        turn::TurnSettings {
            realm: turn::server::REALM.to_owned(),
            credentials: turn::credentials::Credentials::new(
                store.turn_secret.clone(),
                relay.static_users.iter().cloned().collect(),
            ),
            policy: turn::peer_policy::PeerPolicy {
                allow_private: relay.allow_private,
            },
            own: turn::peer_policy::OwnServices {
                ips: [relay_ip, bound.turn.ip(), bound.gossip.ip(), bound.web.ip()]
                    .into_iter()
                    .filter(|ip| !ip.is_unspecified())
                    .collect(),
                ports: vec![
                    bound.web.port(),
                    bound.stun.port(),
                    bound.turn.port(),
                    bound.turn_tcp.port(),
                    bound.gossip.port(),
                ],
            },
            quotas: turn::gate::Quotas {
                per_user: relay.user_quota,
                total: relay.total_quota,
                user_bytes_per_sec: relay.user_bytes_per_sec,
                total_bytes_per_sec: relay.total_bytes_per_sec,
            },
            relay: turn::relay_ports::RelayPorts {
                bind_ip: bound.turn.ip(),
                advertised_ip: relay_ip,
                ports: relay.relay_ports.clone(),
            },
        },
    )
    .await
}

fn start_traversal(
    config: &config::Config,
    store: &Store,
    bound: listeners::Bound,
    relay_ip: IpAddr,
    gossip: &gossip::shell::GossipHandle,
    tasks: &tasks::Tasks,
) -> tokio::sync::watch::Receiver<Arc<traversal::Published>> {
    let (published, task) = traversal::shell::start(
        traversal::Settings {
            name: config.name.clone(),
            gossip_local: bound.gossip,
            stun_port: bound.stun.port(),
            turn_port: bound.turn.port(),
            turn_tcp_port: bound.turn_tcp.port(),
            relay_ip,
            relay_for: config.relay.relay_for,
            secret: store.turn_secret.clone(),
            rng_seed: rand::random(),
        },
        gossip.clone(),
    );
    tasks.spawn(task);
    published
}

/// The start-up lines scripts and tests read (see the prefixes above), the page's URL last.
fn print_addresses(
    config: &config::Config,
    bound: listeners::Bound,
    relay_ip: IpAddr,
    gossip: &gossip::shell::GossipHandle,
    url: &str,
    token: &str,
) {
    tracing::info!(name = %config.name, data_dir = %config.data_dir.display(), stun = %bound.stun,
        turn = %bound.turn, turn_tcp = %bound.turn_tcp, %relay_ip, "node started");
    println!("{STUN_ADDR_PREFIX}{}", bound.stun);
    println!("{TURN_ADDR_PREFIX}{}", bound.turn);
    println!("{TURN_TCP_ADDR_PREFIX}{}", bound.turn_tcp);
    // The bound address: a friend cannot use 0.0.0.0 or a LAN address behind NAT, so the page (and the "seen
    // from outside" line once peers have said) gives the address to hand out.
    println!("{GOSSIP_ADDR_PREFIX}{}", bound.gossip);
    println!("{KEY_PREFIX}{}", gossip.key.to_hex());
    tracing::info!(key = %gossip.key.fingerprint(), addr = %bound.gossip, "gossip started");
    for origin in config
        .allow_origins
        .iter()
        .filter(|o| o.starts_with("http://"))
    {
        println!(
            "hearsay: page under development (trunk serve) at {}/{}?token={token}",
            origin.trim_end_matches('/'),
            web::access::LOGIN_PATH
        );
    }
    if config.testing.any() {
        println!(
            "hearsay: TESTING MODES ON: {:?} (never for a node people can call)",
            config.testing
        );
    }
    println!("{PAGE_URL_PREFIX}{url}");
}

/// The URL that logs a browser in to the page served at `web`.
fn page_url_with(web: SocketAddr, token: &str) -> String {
    let host = match web.ip() {
        ip if ip.is_unspecified() => "127.0.0.1".to_owned(),
        IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    format!(
        "https://{host}:{}/{}?token={token}",
        web.port(),
        web::access::LOGIN_PATH
    )
}

/// The page URL of the node running on `data_dir` (what `hearsay url` prints).
pub fn page_url(data_dir: &std::path::Path) -> anyhow::Result<String> {
    let path = data_dir.join(PAGE_URL_FILE);
    let bytes = data_dir::read(&path, data_dir::Kind::Secret)?.with_context(|| {
        format!(
            "{} does not exist: no node has started on this data dir (pass --data-dir if it runs on another)",
            path.display()
        )
    })?;
    Ok(String::from_utf8_lossy(&bytes).trim().to_owned())
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
    store: &Store,
    udp: tokio::net::UdpSocket,
    tcp: Option<tokio::net::TcpListener>,
    tasks: &tasks::Tasks,
) -> anyhow::Result<gossip::shell::GossipHandle> {
    let local = udp.local_addr()?;
    let mut peers = Vec::new();
    for peer in &config.peers {
        peers.push(resolve_peer(peer, local).await?);
    }
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(1);
    let mut seed = [0u8; 8];
    rand::TryRngCore::try_fill_bytes(&mut rand::rngs::OsRng, &mut seed)
        .context("the OS random number generator failed")?;
    let mut gossip_config =
        gossip::Config::new(config.name.clone(), now_ms, u64::from_le_bytes(seed));
    // The challenge cookies' key must be unguessable, not derived from the 64-bit RNG seed.
    rand::TryRngCore::try_fill_bytes(&mut rand::rngs::OsRng, &mut gossip_config.cookie_key)
        .context("the OS random number generator failed")?;
    if !local.ip().is_unspecified() {
        gossip_config.addrs = vec![local];
    }
    // STUN and TURN are announced once a peer has reached them from outside (see `traversal`).
    let engine = gossip::Gossip::new(
        Instant::now(),
        store.identity.clone(),
        Arc::new(gossip::Ed25519Check),
        gossip_config,
    );
    let (handle, task) = gossip::shell::start(udp, tcp, engine)?;
    tasks.spawn(task);
    for &peer in &peers {
        handle
            .command(gossip::Command::AddPeer(peer))
            .await?
            .map_err(|e| anyhow::anyhow!("adding peer {peer}: {e}"))?;
    }
    Ok(handle)
}
