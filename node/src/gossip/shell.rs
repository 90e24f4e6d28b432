//! The tokio shell around the gossip engine: one task owns the UDP socket, the TCP links ([`super::tcp_links`]:
//! gossip over TCP where UDP cannot get through), the clock and the engine, and only shuttles datagrams, commands
//! and deadlines (see the drive loop in [`super::engine`]).
//!
//! [`spawn`] starts the task and returns a [`GossipHandle`] that the web side clones per page: it sends commands
//! ([`GossipHandle::command`]), watches the peers and users lists ([`GossipHandle::snapshot`], refreshed within
//! `SNAPSHOT_EVERY` of a change and every second so "last heard" stays current), and hears private-message events
//! ([`GossipHandle::events`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hearsay_shared::gossip::PublicKey;
use tokio::net::UdpSocket;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::time::Instant;

use super::engine::{Command, CommandError, Event, Gossip, Output, PeerInfo, UserInfo};
use super::tcp_links::TcpLinks;

/// Largest datagram read; anything longer is cut to this and then refused by the decoder's size check.
const RECV_BUFFER: usize = 2048;

/// The lists are published at most this often. Taking a snapshot copies every user, so taking one per datagram
/// made a burst of announcements cost O(users) each: at a few thousand users the loop fell behind the socket and
/// the kernel dropped datagrams. A page sees changes within this delay.
const SNAPSHOT_EVERY: Duration = Duration::from_millis(200);

/// The lists the page shows, as of `taken`.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub taken: std::time::Instant,
    pub peers: Vec<PeerInfo>,
    pub users: Vec<UserInfo>,
}

struct Request {
    cmd: Command,
    reply: oneshot::Sender<Result<Option<u64>, CommandError>>,
}

/// The web side's way to the gossip task. Cheap to clone.
#[derive(Clone)]
pub struct GossipHandle {
    requests: mpsc::Sender<Request>,
    snapshot: watch::Receiver<Arc<Snapshot>>,
    events: broadcast::Sender<Event>,
    /// This node's key.
    pub key: PublicKey,
    /// The address the gossip socket is bound to.
    pub local_addr: SocketAddr,
}

impl GossipHandle {
    /// Runs a command in the gossip task. Fails only if the task has stopped.
    pub async fn command(&self, cmd: Command) -> anyhow::Result<Result<Option<u64>, CommandError>> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(Request { cmd, reply })
            .await
            .map_err(|_| anyhow::anyhow!("the gossip task has stopped"))?;
        answer
            .await
            .map_err(|_| anyhow::anyhow!("the gossip task has stopped"))
    }

    /// The peers and users lists, updated live.
    pub fn snapshot(&self) -> watch::Receiver<Arc<Snapshot>> {
        self.snapshot.clone()
    }

    /// Received / Delivered / Failed events (and list changes) from now on.
    pub fn events(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }
}

/// Starts the gossip task on `socket`, accepting gossip over TCP on `tcp` if given, on the runtime: it runs until
/// the returned task is aborted.
pub fn spawn(
    socket: UdpSocket,
    tcp: Option<tokio::net::TcpListener>,
    gossip: Gossip,
) -> anyhow::Result<(GossipHandle, tokio::task::JoinHandle<()>)> {
    let (handle, task) = start(socket, tcp, gossip)?;
    Ok((handle, tokio::spawn(task)))
}

/// The gossip task on `socket` (and `tcp`), for the caller to run: the handle works while the task runs.
pub fn start(
    socket: UdpSocket,
    tcp: Option<tokio::net::TcpListener>,
    gossip: Gossip,
) -> anyhow::Result<(
    GossipHandle,
    impl std::future::Future<Output = ()> + Send + 'static,
)> {
    let local_addr = socket.local_addr()?;
    let (requests, rx) = mpsc::channel(64);
    let (snapshot_tx, snapshot) = watch::channel(Arc::new(take_snapshot(&gossip)));
    let (events, _) = broadcast::channel(256);
    let handle = GossipHandle {
        requests,
        snapshot,
        events: events.clone(),
        key: gossip.public_key(),
        local_addr,
    };
    Ok((handle, run(socket, tcp, gossip, rx, snapshot_tx, events)))
}

fn take_snapshot(gossip: &Gossip) -> Snapshot {
    Snapshot {
        taken: std::time::Instant::now(),
        peers: gossip.peers(),
        users: gossip.users(),
    }
}

async fn accept(
    tcp: &Option<tokio::net::TcpListener>,
) -> std::io::Result<(tokio::net::TcpStream, SocketAddr)> {
    match tcp {
        Some(listener) => listener.accept().await,
        None => std::future::pending().await,
    }
}

async fn run(
    socket: UdpSocket,
    tcp: Option<tokio::net::TcpListener>,
    mut gossip: Gossip,
    mut requests: mpsc::Receiver<Request>,
    snapshot: watch::Sender<Arc<Snapshot>>,
    events: broadcast::Sender<Event>,
) {
    let mut buf = vec![0u8; RECV_BUFFER];
    let mut wake = Instant::now();
    let mut refresh = tokio::time::interval(Duration::from_secs(1));
    let mut requests_open = true;
    let mut links = TcpLinks::default();
    let mut lists_changed = false;
    let mut last_published = Instant::now();
    loop {
        while let Some(out) = gossip.poll_output() {
            match out {
                Output::Transmit { to, bytes } => {
                    if links.send(to, &bytes) {
                        continue;
                    }
                    if let Err(err) = socket.send_to(&bytes, to).await {
                        tracing::debug!(%to, %err, "gossip datagram not sent");
                    }
                }
                Output::Event(event) => {
                    if let Event::Received { from, payload, .. } = &event {
                        tracing::debug!(from = %from.fingerprint(), bytes = payload.len(), "private message received");
                    }
                    if matches!(event, Event::PeersChanged | Event::UsersChanged) {
                        lists_changed = true;
                    }
                    // A page names a message's sender from the users list: it must not be older than the message.
                    if lists_changed && matches!(event, Event::Received { .. }) {
                        let _ = snapshot.send(Arc::new(take_snapshot(&gossip)));
                        last_published = Instant::now();
                        lists_changed = false;
                    }
                    let _ = events.send(event); // no subscriber is fine
                }
                Output::Timeout(at) => wake = Instant::from_std(at),
            }
        }
        let mut until = wake;
        if lists_changed {
            let due = last_published + SNAPSHOT_EVERY;
            if Instant::now() >= due {
                let _ = snapshot.send(Arc::new(take_snapshot(&gossip)));
                last_published = Instant::now();
                lists_changed = false;
            } else {
                until = until.min(due);
            }
        }
        tokio::select! {
            _ = tokio::time::sleep_until(until) => gossip.handle_timeout(std::time::Instant::now()),
            received = socket.recv_from(&mut buf) => match received {
                Ok((len, from)) => gossip.handle_datagram(std::time::Instant::now(), from, &buf[..len]),
                // e.g. ICMP port unreachable reported on Linux: nothing to do but go on.
                Err(err) => tracing::debug!(%err, "gossip receive error"),
            },
            request = requests.recv(), if requests_open => match request {
                Some(Request { cmd, reply }) => {
                    let now = std::time::Instant::now();
                    match &cmd {
                        Command::Send { to, payload } => {
                            tracing::debug!(to = %to.fingerprint(), bytes = payload.len(), "private message sent");
                        }
                        Command::AddPeer(addr) => links.configure(*addr, now, true),
                        Command::DeletePeer(addr) => links.configure(*addr, now, false),
                        _ => {}
                    }
                    let _ = reply.send(gossip.handle_command(now, cmd));
                }
                None => requests_open = false,
            },
            _ = refresh.tick() => {
                let now = std::time::Instant::now();
                let peers = gossip.peers();
                links.dial_silent_peers(now, |addr| {
                    peers.iter().find(|p| p.addr == addr).and_then(|p| p.last_heard)
                });
                let _ = snapshot.send(Arc::new(take_snapshot(&gossip)));
                last_published = Instant::now();
                lists_changed = false;
            }
            accepted = accept(&tcp) => {
                if let Ok((stream, from)) = accepted {
                    links.adopt(stream, from);
                }
            }
            Some((from, bytes)) = links.frames.recv() => {
                gossip.handle_datagram(std::time::Instant::now(), from, &bytes);
            }
            Some(addr) = links.closed.recv() => links.link_closed(addr, std::time::Instant::now()),
            Some((addr, stream)) = links.dialed.recv() => {
                links.dial_done(addr, stream, std::time::Instant::now());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gossip::{Config, Ed25519Check, Identity};

    async fn node(name: &str, seed: u8) -> (GossipHandle, tokio::task::JoinHandle<()>) {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let mut config = Config::new(name, 1, u64::from(seed));
        config.addrs = vec![socket.local_addr().unwrap()];
        let gossip = Gossip::new(
            std::time::Instant::now(),
            Identity::from_seed([seed; 32]),
            Arc::new(Ed25519Check),
            config,
        );
        spawn(socket, None, gossip).unwrap()
    }

    #[tokio::test]
    async fn a_peer_udp_cannot_reach_is_reached_over_tcp() {
        // B's gossip over TCP listens on a port where nothing listens for UDP: A's datagrams go nowhere, so after
        // the fallback delay A dials B over TCP, and from then on both gossip over that link.
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let tcp_addr = tcp.local_addr().unwrap();
        let b_socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b_engine = Gossip::new(
            std::time::Instant::now(),
            Identity::from_seed([2; 32]),
            Arc::new(Ed25519Check),
            Config::new("b", 1, 2),
        );
        let (b, tb) = spawn(b_socket, Some(tcp), b_engine).unwrap();
        let (a, ta) = node("a", 1).await;
        a.command(Command::AddPeer(tcp_addr))
            .await
            .unwrap()
            .unwrap();
        let mut snap = a.snapshot();
        tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                if snap
                    .borrow()
                    .users
                    .iter()
                    .any(|u| u.key == b.key && u.reachable)
                {
                    break;
                }
                snap.changed().await.unwrap();
            }
        })
        .await
        .expect("a learns b over TCP");
        let mut b_events = b.events();
        a.command(Command::Send {
            to: b.key,
            payload: b"over tcp".to_vec(),
        })
        .await
        .unwrap()
        .unwrap();
        let got = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                if let Event::Received { payload, .. } = b_events.recv().await.unwrap() {
                    return payload;
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(got, b"over tcp");
        ta.abort();
        tb.abort();
    }

    #[tokio::test]
    async fn two_nodes_on_real_loopback_sockets_learn_each_other_and_exchange_a_message() {
        let (a, ta) = node("a", 1).await;
        let (b, tb) = node("b", 2).await;
        a.command(Command::AddPeer(b.local_addr))
            .await
            .unwrap()
            .unwrap();
        let mut snap = a.snapshot();
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                if snap
                    .borrow()
                    .users
                    .iter()
                    .any(|u| u.key == b.key && u.reachable)
                {
                    break;
                }
                snap.changed().await.unwrap();
            }
        })
        .await
        .expect("a learns b within 10 s");
        let mut b_events = b.events();
        let mut a_events = a.events();
        let id = a
            .command(Command::Send {
                to: b.key,
                payload: b"hi".to_vec(),
            })
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let got = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                if let Event::Received { payload, .. } = b_events.recv().await.unwrap() {
                    return payload;
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(got, b"hi");
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                if a_events.recv().await.unwrap()
                    == (Event::Delivered {
                        to: b.key,
                        message_id: id,
                    })
                {
                    break;
                }
            }
        })
        .await
        .expect("a hears the ack");
        ta.abort();
        tb.abort();
    }
}
