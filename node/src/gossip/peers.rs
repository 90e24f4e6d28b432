//! The peers this node gossips with directly: added by the user, or learned from incoming datagrams.
//!
//! - A deleted peer is remembered as deleted: its datagrams are ignored and it is not learned again until the user
//!   adds it again.
//! - A learned peer silent for longer than the silence period is dropped; a peer the user added is kept (so the node
//!   keeps knocking and finds it again when it comes back) but is no longer *live*: nothing is routed through it.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// One direct peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    pub addr: SocketAddr,
    /// When a datagram from it last arrived.
    pub last_heard: Option<Instant>,
    /// Added by the user (or `--peers`), rather than learned from its traffic.
    pub added_by_user: bool,
    /// Heard within the silence period.
    pub live: bool,
    /// When we last sent it anything (for keepalives).
    pub last_sent: Option<Instant>,
}

/// What hearing from an address did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Heard {
    /// The address was deleted by the user: drop its datagram.
    Deleted,
    /// A peer we knew and heard recently.
    Known,
    /// A new peer, or a silent one that is back.
    New,
    /// Too many peers already: its datagram is still handled, but it is not kept as a peer.
    Full,
}

/// All direct peers. See the module doc for the rules.
#[derive(Debug)]
pub struct PeerTable {
    peers: BTreeMap<SocketAddr, Peer>,
    deleted: HashSet<SocketAddr>,
    silence: Duration,
    max_peers: usize,
}

impl PeerTable {
    pub fn new(silence: Duration, max_peers: usize) -> Self {
        Self {
            peers: BTreeMap::new(),
            deleted: HashSet::new(),
            silence,
            max_peers,
        }
    }

    /// Adds a peer at the user's request; undoes an earlier delete. Returns false if it was already there.
    pub fn add(&mut self, addr: SocketAddr) -> bool {
        self.deleted.remove(&addr);
        match self.peers.get_mut(&addr) {
            Some(peer) => {
                let was = peer.added_by_user;
                peer.added_by_user = true;
                !was
            }
            None => {
                self.peers.insert(
                    addr,
                    Peer {
                        addr,
                        last_heard: None,
                        added_by_user: true,
                        live: false,
                        last_sent: None,
                    },
                );
                true
            }
        }
    }

    /// Deletes a peer at the user's request; its traffic is ignored from now on. Returns false if it was unknown.
    pub fn delete(&mut self, addr: SocketAddr) -> bool {
        self.deleted.insert(addr);
        self.peers.remove(&addr).is_some()
    }

    pub fn is_deleted(&self, addr: &SocketAddr) -> bool {
        self.deleted.contains(addr)
    }

    /// Records a datagram from `addr`.
    pub fn heard(&mut self, addr: SocketAddr, now: Instant) -> Heard {
        if self.deleted.contains(&addr) {
            return Heard::Deleted;
        }
        if let Some(peer) = self.peers.get_mut(&addr) {
            peer.last_heard = Some(now);
            if peer.live {
                return Heard::Known;
            }
            peer.live = true;
            return Heard::New;
        }
        if self.peers.len() >= self.max_peers {
            return Heard::Full;
        }
        self.peers.insert(
            addr,
            Peer {
                addr,
                last_heard: Some(now),
                added_by_user: false,
                live: true,
                last_sent: None,
            },
        );
        Heard::New
    }

    pub fn sent(&mut self, addr: SocketAddr, now: Instant) {
        if let Some(peer) = self.peers.get_mut(&addr) {
            peer.last_sent = Some(now);
        }
    }

    pub fn is_live(&self, addr: &SocketAddr) -> bool {
        self.peers.get(addr).is_some_and(|p| p.live)
    }

    /// Marks peers silent for too long: learned ones are removed, user-added ones stop being live. Returns the
    /// peers that stopped being live.
    pub fn expire(&mut self, now: Instant) -> Vec<SocketAddr> {
        let silence = self.silence;
        let mut lost = Vec::new();
        self.peers.retain(|addr, peer| {
            let silent = match peer.last_heard {
                Some(at) => now.saturating_duration_since(at) >= silence,
                None => true,
            };
            if silent && peer.live {
                peer.live = false;
                lost.push(*addr);
            }
            !silent || peer.added_by_user
        });
        lost
    }

    /// Peers worth gossiping with: the live ones, or if none is live, every peer (to knock on their doors).
    pub fn gossip_candidates(&self) -> Vec<SocketAddr> {
        let live: Vec<SocketAddr> = self
            .peers
            .values()
            .filter(|p| p.live)
            .map(|p| p.addr)
            .collect();
        if live.is_empty() {
            self.peers.keys().copied().collect()
        } else {
            live
        }
    }

    /// When the next peer falls due for a keepalive (see [`PeerTable::due_for_keepalive`]).
    pub fn next_keepalive(&self, every: Duration) -> Option<Instant> {
        self.peers
            .values()
            .filter_map(|p| p.last_sent.map(|at| at + every))
            .min()
    }

    /// Every peer not sent anything within `every`.
    pub fn due_for_keepalive(&self, now: Instant, every: Duration) -> Vec<SocketAddr> {
        self.peers
            .values()
            .filter(|p| {
                p.last_sent
                    .is_none_or(|at| now.saturating_duration_since(at) >= every)
            })
            .map(|p| p.addr)
            .collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Peer> {
        self.peers.values()
    }

    pub fn len(&self) -> usize {
        self.peers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn a_deleted_peer_is_not_relearned_from_its_traffic_until_added_again() {
        let now = Instant::now();
        let mut peers = PeerTable::new(Duration::from_secs(20), 10);
        assert_eq!(peers.heard(addr(1), now), Heard::New);
        assert!(peers.delete(addr(1)));
        assert_eq!(peers.heard(addr(1), now), Heard::Deleted);
        assert!(peers.is_empty());
        assert!(peers.add(addr(1)));
        assert_eq!(peers.heard(addr(1), now), Heard::New);
        assert_eq!(peers.heard(addr(1), now), Heard::Known);
    }

    #[test]
    fn silent_learned_peers_go_and_silent_added_peers_stay_but_are_not_live() {
        let t0 = Instant::now();
        let mut peers = PeerTable::new(Duration::from_secs(20), 10);
        peers.add(addr(1));
        peers.heard(addr(1), t0);
        peers.heard(addr(2), t0);
        assert!(peers.expire(t0 + Duration::from_secs(19)).is_empty());
        let mut lost = peers.expire(t0 + Duration::from_secs(20));
        lost.sort();
        assert_eq!(lost, vec![addr(1), addr(2)]);
        assert_eq!(peers.len(), 1);
        assert!(!peers.is_live(&addr(1)));
        assert_eq!(
            peers.heard(addr(1), t0 + Duration::from_secs(30)),
            Heard::New
        );
    }

    #[test]
    fn the_table_is_bounded() {
        let now = Instant::now();
        let mut peers = PeerTable::new(Duration::from_secs(20), 2);
        peers.heard(addr(1), now);
        peers.heard(addr(2), now);
        assert_eq!(peers.heard(addr(3), now), Heard::Full);
        assert_eq!(peers.len(), 2);
    }
}
