//! The tokio shell around the [`Traversal`] machine: it feeds it the gossip users list and the node messages that
//! arrive, carries out its probes, looks and checks with the STUN client, sends its messages and announcements
//! through the gossip task, and publishes what pages need ([`Published`]) on a watch channel.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hearsay_shared::gossip::PublicKey;
use hearsay_shared::node_msg;
use hearsay_shared::page::NetworkView;
use tokio::sync::{broadcast::error::RecvError, mpsc, watch};

use super::machine::{IceChoice, Now, Output, Settings, Traversal};
use crate::gossip::shell::GossipHandle;
use crate::gossip::{Command, Event};
use crate::stun::client;

/// How long a dial-back probe of one port retransmits before the port counts as silent.
const PROBE_LIMIT: Duration = Duration::from_millis(1500);
/// How long a reflexive-address look or a relay check waits for one server.
const ANSWER_LIMIT: Duration = Duration::from_secs(3);

pub use hearsay_shared::startup::SEEN_PREFIX;
/// How often the local route towards the internet is looked up (a routing-table lookup, nothing is sent), so a
/// change of network is noticed within this.
const NETWORK_CHECK: Duration = Duration::from_secs(1);

/// The source address the OS would use towards the internet: a UDP `connect` only consults the routing table,
/// nothing is sent. `None` with no route at all.
pub fn outward_ip() -> Option<IpAddr> {
    let socket = std::net::UdpSocket::bind((std::net::Ipv4Addr::UNSPECIFIED, 0)).ok()?;
    // TEST-NET-1, a documentation address: only its route is looked up.
    socket
        .connect((std::net::Ipv4Addr::new(192, 0, 2, 1), 9))
        .ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_unspecified()).then_some(ip)
}

/// What pages are told: how this node is seen, and which STUN/TURN servers their calls use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub view: NetworkView,
    pub ice: IceChoice,
}

/// The results of IO the machine asked for.
enum Done {
    Probe { id: u64, answered: Vec<u16> },
    LookUp { seen: Vec<IpAddr> },
    Check { key: PublicKey, ok: bool },
}

/// The traversal task, for the caller to run (it ends when the gossip task does), and what it publishes.
pub fn start(
    settings: Settings,
    gossip: GossipHandle,
) -> (
    watch::Receiver<Arc<Published>>,
    impl std::future::Future<Output = ()> + Send + 'static,
) {
    let machine = Traversal::new(Now::system(), settings);
    let (tx, rx) = watch::channel(Arc::new(Published {
        view: machine.view(),
        ice: machine.ice_choice(),
    }));
    (rx, run(machine, gossip, tx))
}

async fn run(
    mut machine: Traversal,
    gossip: GossipHandle,
    published: watch::Sender<Arc<Published>>,
) {
    let mut events = gossip.events();
    let mut snapshots = gossip.snapshot();
    let (done_tx, mut done_rx) = mpsc::channel::<Done>(64);
    let mut wake = tokio::time::Instant::now();
    let users = snapshots.borrow_and_update().users.clone();
    machine.handle_users(Now::system(), users);
    machine.handle_outward_ip(Now::system(), outward_ip());
    let mut network_check = tokio::time::interval(NETWORK_CHECK);
    let mut last_seen_line = String::new();
    loop {
        while let Some(out) = machine.poll_output() {
            match out {
                Output::Timeout(at) => wake = tokio::time::Instant::from_std(at),
                Output::Send { to, msg } => match node_msg::encode(&msg) {
                    Ok(payload) => {
                        if let Ok(Err(err)) = gossip.command(Command::Send { to, payload }).await {
                            tracing::debug!(%err, to = %to.fingerprint(), "node message not sent");
                        }
                    }
                    Err(err) => tracing::warn!(%err, "built an unsendable node message"),
                },
                Output::SetAddrs(addrs) => {
                    let _ = gossip.command(Command::SetAddrs(addrs)).await;
                }
                Output::SetServices(services) => {
                    tracing::info!(?services, "announcing services");
                    let _ = gossip.command(Command::SetServices(services)).await;
                }
                Output::Announce => {
                    let _ = gossip.command(Command::Announce).await;
                }
                Output::Probe { id, ip, ports } => {
                    let done = done_tx.clone();
                    tokio::spawn(async move {
                        let probes = ports.iter().map(|&port| async move {
                            client::answers(SocketAddr::new(ip, port), PROBE_LIMIT)
                                .await
                                .then_some(port)
                        });
                        let answered = futures_util::future::join_all(probes)
                            .await
                            .into_iter()
                            .flatten()
                            .collect();
                        let _ = done.send(Done::Probe { id, answered }).await;
                    });
                }
                Output::LookUp { servers } => {
                    let done = done_tx.clone();
                    tokio::spawn(async move {
                        let looks = servers.into_iter().map(look_up);
                        let mut seen: Vec<IpAddr> = futures_util::future::join_all(looks)
                            .await
                            .into_iter()
                            .flatten()
                            .collect();
                        seen.sort();
                        seen.dedup();
                        let _ = done.send(Done::LookUp { seen }).await;
                    });
                }
                Output::CheckRelay {
                    key,
                    stun,
                    turn,
                    turn_tcp,
                } => {
                    let done = done_tx.clone();
                    tokio::spawn(async move {
                        // Usable if the page can reach it over UDP, or else over TCP (a network that blocks UDP).
                        let (udp_stun, udp_turn, tcp) = tokio::join!(
                            client::answers(stun, ANSWER_LIMIT),
                            client::answers(turn, ANSWER_LIMIT),
                            async {
                                match turn_tcp {
                                    Some(addr) => client::answers_tcp(addr, ANSWER_LIMIT).await,
                                    None => false,
                                }
                            }
                        );
                        let ok = (udp_stun && udp_turn) || tcp;
                        let _ = done.send(Done::Check { key, ok }).await;
                    });
                }
                Output::Changed => {
                    let view = machine.view();
                    let line = seen_line(&view);
                    if line != last_seen_line && !view.addrs.is_empty() {
                        println!("{line}");
                        last_seen_line = line;
                    }
                    let _ = published.send(Arc::new(Published {
                        view,
                        ice: machine.ice_choice(),
                    }));
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep_until(wake) => machine.handle_timeout(Now::system()),
            _ = network_check.tick() => machine.handle_outward_ip(Now::system(), outward_ip()),
            changed = snapshots.changed() => {
                if changed.is_err() {
                    return; // the gossip task is gone: the node is stopping
                }
                let users = snapshots.borrow_and_update().users.clone();
                machine.handle_users(Now::system(), users);
            }
            event = events.recv() => match event {
                Ok(Event::Received { from, payload, .. }) if node_msg::is_node_msg(&payload) => {
                    match node_msg::decode(&payload) {
                        Ok(msg) => machine.handle_message(Now::system(), from, msg),
                        Err(err) => tracing::debug!(%err, from = %from.fingerprint(), "bad node message"),
                    }
                }
                Ok(_) => {}
                Err(RecvError::Lagged(n)) => tracing::warn!(missed = n, "traversal fell behind on gossip events"),
                Err(RecvError::Closed) => return,
            },
            Some(done) = done_rx.recv() => match done {
                Done::Probe { id, answered } => machine.handle_probe_done(Now::system(), id, answered),
                Done::LookUp { seen } => machine.handle_reflexive(Now::system(), seen),
                Done::Check { key, ok } => machine.handle_relay_checked(Now::system(), key, ok),
            },
        }
    }
}

/// The reflexive IP one STUN server sees us at, asked from a fresh socket.
async fn look_up(server: SocketAddr) -> Option<IpAddr> {
    let bind = if server.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    let socket = tokio::net::UdpSocket::bind(bind).await.ok()?;
    match client::reflexive_address(&socket, server, ANSWER_LIMIT).await {
        Ok(seen) => {
            tracing::debug!(%server, %seen, "a peer's STUN server saw us");
            Some(seen.ip())
        }
        Err(err) => {
            tracing::debug!(%server, %err, "a peer's STUN server did not answer");
            None
        }
    }
}

/// `hearsay: seen from outside at 203.0.113.7:5000 (reachable from outside: no)`.
fn seen_line(view: &NetworkView) -> String {
    let reachable = match view.reachable {
        None => "not known yet",
        Some(true) => "yes",
        Some(false) => "no",
    };
    format!(
        "{SEEN_PREFIX}{} (reachable from outside: {reachable})",
        view.addrs.join(", ")
    )
}
