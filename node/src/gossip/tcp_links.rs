//! Gossip over TCP, for a node on a network that lets no UDP out (a hotel, a corporate firewall): when a peer the
//! user added has not been heard over UDP at all [`FALLBACK_AFTER`] after it was added, the shell dials it over TCP
//! on the same port, and every node accepts such connections. (A peer that answered over UDP and then fell silent
//! is gone, or deleted us: dialing it over TCP would walk around its deletion, since a TCP link comes from another
//! port than the address it deleted.) Each datagram travels as a 2-byte big-endian length and its bytes. The engine
//! does not know: a link is keyed by the peer's address, so datagrams to that address take the link and frames
//! from it arrive as datagrams from it. A peer behind such a firewall reaches the overlay through one reachable
//! node; its calls then relay through TURN over TCP.
//!
//! Bounds: at most [`MAX_LINKS`] links, frames of at most `MAX_DATAGRAM_BYTES` (a longer one closes the link), at
//! most `QUEUE` frames waiting each way (more are dropped, as UDP would), a dial gives up after
//! [`DIAL_LIMIT`] and is tried again after [`REDIAL_AFTER`].

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hearsay_shared::gossip::MAX_DATAGRAM_BYTES;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// A peer the user added that has been silent over UDP this long is dialed over TCP.
pub const FALLBACK_AFTER: Duration = Duration::from_secs(4);
pub const DIAL_LIMIT: Duration = Duration::from_secs(5);
pub const REDIAL_AFTER: Duration = Duration::from_secs(10);
pub const MAX_LINKS: usize = 64;
const QUEUE: usize = 256;

/// The TCP links of one node, and what their tasks report.
pub struct TcpLinks {
    links: HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>,
    /// Peers the user added, and since when: the ones that may fall back to TCP.
    configured: HashMap<SocketAddr, Instant>,
    /// Dials on their way, or failed ones, until when not to dial again.
    not_before: HashMap<SocketAddr, Instant>,
    dialing: HashSet<SocketAddr>,
    frames_tx: mpsc::Sender<(SocketAddr, Vec<u8>)>,
    closed_tx: mpsc::Sender<SocketAddr>,
    dialed_tx: mpsc::Sender<(SocketAddr, Option<TcpStream>)>,
    /// Datagrams that arrived over a link.
    pub frames: mpsc::Receiver<(SocketAddr, Vec<u8>)>,
    /// Links that closed.
    pub closed: mpsc::Receiver<SocketAddr>,
    /// Dials that finished (with the stream, or `None`).
    pub dialed: mpsc::Receiver<(SocketAddr, Option<TcpStream>)>,
}

impl Default for TcpLinks {
    fn default() -> Self {
        let (frames_tx, frames) = mpsc::channel(QUEUE * 4);
        let (closed_tx, closed) = mpsc::channel(MAX_LINKS);
        let (dialed_tx, dialed) = mpsc::channel(MAX_LINKS);
        Self {
            links: HashMap::new(),
            configured: HashMap::new(),
            not_before: HashMap::new(),
            dialing: HashSet::new(),
            frames_tx,
            closed_tx,
            dialed_tx,
            frames,
            closed,
            dialed,
        }
    }
}

impl TcpLinks {
    /// Sends a datagram over the link to `to`; false if there is none (send it over UDP).
    pub fn send(&self, to: SocketAddr, bytes: &[u8]) -> bool {
        let Some(link) = self.links.get(&to) else {
            return false;
        };
        let mut frame = Vec::with_capacity(2 + bytes.len());
        // Datagrams are at most MAX_DATAGRAM_BYTES (1200), so their length fits two bytes.
        frame.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
        frame.extend_from_slice(bytes);
        let _ = link.try_send(frame); // full: dropped, as UDP would
        true
    }

    /// The user added (or deleted) peer `addr`.
    pub fn configure(&mut self, addr: SocketAddr, now: Instant, added: bool) {
        if added {
            self.configured.entry(addr).or_insert(now);
        } else {
            self.configured.remove(&addr);
            self.links.remove(&addr); // dropping the sender ends the link's writer, and so the link
        }
    }

    /// Runs a link over `stream` to the peer at `addr` (dialed, or accepted from it).
    pub fn adopt(&mut self, stream: TcpStream, addr: SocketAddr) {
        if self.links.len() >= MAX_LINKS && !self.links.contains_key(&addr) {
            tracing::info!(%addr, "gossip/tcp: too many links, refused one");
            return;
        }
        let _ = stream.set_nodelay(true);
        let (tx, rx) = mpsc::channel(QUEUE);
        self.links.insert(addr, tx);
        tokio::spawn(serve_link(
            stream,
            addr,
            rx,
            self.frames_tx.clone(),
            self.closed_tx.clone(),
        ));
        tracing::info!(%addr, "gossip over TCP with a peer");
    }

    pub fn link_closed(&mut self, addr: SocketAddr, now: Instant) {
        self.links.remove(&addr);
        self.not_before.insert(addr, now + REDIAL_AFTER);
    }

    pub fn dial_done(&mut self, addr: SocketAddr, stream: Option<TcpStream>, now: Instant) {
        self.dialing.remove(&addr);
        match stream {
            Some(stream) if self.configured.contains_key(&addr) => self.adopt(stream, addr),
            Some(_) => {}
            None => {
                self.not_before.insert(addr, now + REDIAL_AFTER);
            }
        }
    }

    /// Dials the configured peers UDP has never reached: `last_heard` says when each peer was last heard.
    pub fn dial_silent_peers(
        &mut self,
        now: Instant,
        last_heard: impl Fn(SocketAddr) -> Option<Instant>,
    ) {
        let due: Vec<SocketAddr> = self
            .configured
            .iter()
            .filter(|(addr, since)| {
                last_heard(**addr).is_none()
                    && now.saturating_duration_since(**since) >= FALLBACK_AFTER
                    && !self.links.contains_key(addr)
                    && !self.dialing.contains(addr)
                    && self.not_before.get(addr).is_none_or(|t| now >= *t)
            })
            .map(|(addr, _)| *addr)
            .collect();
        for addr in due {
            self.dialing.insert(addr);
            let done = self.dialed_tx.clone();
            tokio::spawn(async move {
                let stream = tokio::time::timeout(DIAL_LIMIT, TcpStream::connect(addr))
                    .await
                    .ok()
                    .and_then(Result::ok);
                let _ = done.send((addr, stream)).await;
            });
        }
    }
}

/// Moves frames both ways over one link until either side stops.
async fn serve_link(
    stream: TcpStream,
    addr: SocketAddr,
    mut outgoing: mpsc::Receiver<Vec<u8>>,
    incoming: mpsc::Sender<(SocketAddr, Vec<u8>)>,
    closed: mpsc::Sender<SocketAddr>,
) {
    let (mut reader, mut writer) = stream.into_split();
    let write = async move {
        while let Some(frame) = outgoing.recv().await {
            if writer.write_all(&frame).await.is_err() {
                break;
            }
        }
    };
    let read = async move {
        loop {
            let mut head = [0u8; 2];
            if reader.read_exact(&mut head).await.is_err() {
                return;
            }
            let len = usize::from(u16::from_be_bytes(head));
            if len == 0 || len > MAX_DATAGRAM_BYTES {
                tracing::debug!(%addr, len, "gossip/tcp: bad frame length, closing");
                return;
            }
            let mut bytes = vec![0u8; len];
            if reader.read_exact(&mut bytes).await.is_err() {
                return;
            }
            let _ = incoming.try_send((addr, bytes)); // full: dropped, as UDP would
        }
    };
    tokio::select! {
        _ = write => {}
        _ = read => {}
    }
    let _ = closed.send(addr).await;
}
