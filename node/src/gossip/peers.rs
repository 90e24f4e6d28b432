//! The peers this node gossips with directly: added by the user, or learned from addresses that proved they receive.
//!
//! - An address the user did not add is a *stranger* until it echoes a challenge cookie (the engine checks the
//!   cookie, then calls [`PeerTable::prove`]): a spoofed source address never becomes a peer, so it never gets
//!   keepalives, status pages or flooded rumors. At most `max_per_ip` learned peers share one IP address (loopback
//!   excepted: there every local process shares 127.0.0.1), so one host cannot fill the table with source ports.
//! - A deleted peer is remembered as deleted: its datagrams are ignored and it is not learned again until the user
//!   adds it again.
//! - A learned peer silent for longer than the silence period is dropped; a peer the user added is kept (so the node
//!   keeps knocking and finds it again when it comes back) but is no longer *live*: nothing is routed through it.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hearsay_shared::gossip::KeyPrefix;

use crate::budget::{Bucket, Rate};

/// One direct peer.
#[derive(Clone, Debug)]
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
    /// Its share of the work it may ask of this node (see [`super::engine::Limits`]).
    pub budget: PeerBudget,
    /// On the broadcast tree: new rumors are pushed to it whole. Otherwise they are only announced to it in a status
    /// (Plumtree's eager and lazy peers; see [`super::engine`]). Every link starts on the tree and leaves it when the
    /// other end says it got a rumor twice.
    pub eager: bool,
    /// Where the next page of a full status sync to this peer starts, while one is under way (a new peer, or one
    /// back from silence, is walked through our whole table one page per housekeeping tick).
    pub sync_from: Option<KeyPrefix>,
}

/// What one peer may spend: private datagrams handled, rumors checked, and origins it may introduce.
#[derive(Clone, Copy, Debug)]
pub struct PeerBudget {
    pub private: Bucket,
    pub rumor_checks: Bucket,
    pub new_origins: Bucket,
}

impl PartialEq for Peer {
    fn eq(&self, other: &Self) -> bool {
        (
            self.addr,
            self.last_heard,
            self.added_by_user,
            self.live,
            self.last_sent,
        ) == (
            other.addr,
            other.last_heard,
            other.added_by_user,
            other.live,
            other.last_sent,
        )
    }
}
impl Eq for Peer {}

/// What hearing from an address did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Heard {
    /// The address was deleted by the user: drop its datagram.
    Deleted,
    /// A peer we knew and heard recently.
    Known,
    /// A new peer, or a silent one that is back.
    New,
    /// Not a peer: it has to prove it receives before anything but a challenge is sent to it.
    Stranger,
}

/// What a proof of receipt did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Proved {
    /// Deleted by the user: ignored.
    Deleted,
    /// Already a peer.
    Known,
    /// A new learned peer.
    New,
    /// No room: too many peers, or too many from its IP address.
    Full,
}

/// All direct peers. See the module doc for the rules.
#[derive(Debug)]
pub struct PeerTable {
    peers: BTreeMap<SocketAddr, Peer>,
    deleted: HashSet<SocketAddr>,
    silence: Duration,
    max_peers: usize,
    max_per_ip: usize,
    budget: PeerRates,
}

/// Which of a peer's budgets a piece of work spends.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Spend {
    Private,
    RumorCheck,
    NewOrigin,
}

/// The rates a new peer's [`PeerBudget`] starts with.
#[derive(Clone, Copy, Debug)]
pub struct PeerRates {
    pub private: Rate,
    pub rumor_checks: Rate,
    pub new_origins: Rate,
}

impl PeerTable {
    pub fn new(silence: Duration, max_peers: usize, max_per_ip: usize, budget: PeerRates) -> Self {
        Self {
            peers: BTreeMap::new(),
            deleted: HashSet::new(),
            silence,
            max_peers,
            max_per_ip,
            budget,
        }
    }

    fn fresh_budget(&self, now: Instant) -> PeerBudget {
        PeerBudget {
            private: Bucket::full(self.budget.private, now),
            rumor_checks: Bucket::full(self.budget.rumor_checks, now),
            new_origins: Bucket::full(self.budget.new_origins, now),
        }
    }

    /// Spends one token of `what` from a peer's budget. False if the peer is over that budget, or not a peer.
    pub fn spend(&mut self, addr: &SocketAddr, now: Instant, what: Spend) -> bool {
        let rates = self.budget;
        let Some(peer) = self.peers.get_mut(addr) else {
            return false;
        };
        let (bucket, rate) = match what {
            Spend::Private => (&mut peer.budget.private, rates.private),
            Spend::RumorCheck => (&mut peer.budget.rumor_checks, rates.rumor_checks),
            Spend::NewOrigin => (&mut peer.budget.new_origins, rates.new_origins),
        };
        bucket.take(rate, now)
    }

    /// Adds a peer at the user's request; undoes an earlier delete. Returns false if it was already there.
    pub fn add(&mut self, addr: SocketAddr, now: Instant) -> bool {
        self.deleted.remove(&addr);
        let budget = self.fresh_budget(now);
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
                        budget,
                        eager: true,
                        sync_from: None,
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
        let Some(peer) = self.peers.get_mut(&addr) else {
            return Heard::Stranger;
        };
        peer.last_heard = Some(now);
        if peer.live {
            return Heard::Known;
        }
        peer.live = true;
        // Back from silence: the tree may have healed around it; it rejoins and prunes itself again if redundant.
        peer.eager = true;
        Heard::New
    }

    /// `addr` echoed a cookie made for it, so it receives what is sent there: it may become a learned peer.
    pub fn prove(&mut self, addr: SocketAddr, now: Instant) -> Proved {
        match self.heard(addr, now) {
            Heard::Deleted => return Proved::Deleted,
            Heard::Known => return Proved::Known,
            Heard::New => return Proved::New,
            Heard::Stranger => {}
        }
        if self.peers.len() >= self.max_peers {
            return Proved::Full;
        }
        let ip = addr.ip();
        if !ip.is_loopback()
            && self
                .peers
                .values()
                .filter(|p| !p.added_by_user && p.addr.ip() == ip)
                .count()
                >= self.max_per_ip
        {
            return Proved::Full;
        }
        let budget = self.fresh_budget(now);
        self.peers.insert(
            addr,
            Peer {
                addr,
                last_heard: Some(now),
                added_by_user: false,
                live: true,
                last_sent: None,
                budget,
                eager: true,
                sync_from: None,
            },
        );
        Proved::New
    }

    /// Puts a peer on the broadcast tree or takes it off. Returns whether that changed anything.
    pub fn set_eager(&mut self, addr: &SocketAddr, eager: bool) -> bool {
        match self.peers.get_mut(addr) {
            Some(peer) if peer.eager != eager => {
                peer.eager = eager;
                true
            }
            _ => false,
        }
    }

    pub fn is_eager(&self, addr: &SocketAddr) -> bool {
        self.peers.get(addr).is_some_and(|p| p.eager)
    }

    /// The live peers with a sync under way, and where each one's next page starts.
    pub fn syncing(&self) -> Vec<(SocketAddr, KeyPrefix)> {
        self.peers
            .values()
            .filter(|p| p.live)
            .filter_map(|p| Some((p.addr, p.sync_from?)))
            .collect()
    }

    /// Where `addr`'s sync goes on (`None`: it is done).
    pub fn set_sync(&mut self, addr: &SocketAddr, next: Option<KeyPrefix>) {
        if let Some(peer) = self.peers.get_mut(addr) {
            peer.sync_from = next;
        }
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

    const RATES: PeerRates = PeerRates {
        private: Rate::new(10, 10),
        rumor_checks: Rate::new(10, 10),
        new_origins: Rate::new(10, 10),
    };

    fn table(max_peers: usize) -> PeerTable {
        PeerTable::new(Duration::from_secs(20), max_peers, 2, RATES)
    }

    #[test]
    fn a_deleted_peer_is_not_relearned_from_its_traffic_until_added_again() {
        let now = Instant::now();
        let mut peers = table(10);
        assert_eq!(peers.prove(addr(1), now), Proved::New);
        assert!(peers.delete(addr(1)));
        assert_eq!(peers.heard(addr(1), now), Heard::Deleted);
        assert_eq!(peers.prove(addr(1), now), Proved::Deleted);
        assert!(peers.is_empty());
        assert!(peers.add(addr(1), now));
        assert_eq!(peers.heard(addr(1), now), Heard::New);
        assert_eq!(peers.heard(addr(1), now), Heard::Known);
    }

    #[test]
    fn silent_learned_peers_go_and_silent_added_peers_stay_but_are_not_live() {
        let t0 = Instant::now();
        let mut peers = table(10);
        peers.add(addr(1), t0);
        peers.heard(addr(1), t0);
        peers.prove(addr(2), t0);
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
        let mut peers = table(2);
        peers.prove(addr(1), now);
        peers.prove(addr(2), now);
        assert_eq!(peers.prove(addr(3), now), Proved::Full);
        assert_eq!(peers.len(), 2);
    }

    #[test]
    fn a_stranger_is_not_a_peer_until_it_proves_it_receives() {
        let now = Instant::now();
        let mut peers = table(10);
        assert_eq!(peers.heard(addr(1), now), Heard::Stranger);
        assert!(peers.is_empty(), "hearing from it adds nothing");
        assert_eq!(peers.prove(addr(1), now), Proved::New);
        assert_eq!(peers.heard(addr(1), now), Heard::Known);
    }

    #[test]
    fn one_ip_address_cannot_fill_the_table_with_ports_except_on_loopback() {
        let now = Instant::now();
        let mut peers = table(10);
        let at = |port| SocketAddr::from(([198, 51, 100, 7], port));
        assert_eq!(peers.prove(at(1), now), Proved::New);
        assert_eq!(peers.prove(at(2), now), Proved::New);
        assert_eq!(peers.prove(at(3), now), Proved::Full, "max 2 per IP");
        assert!(peers.add(at(3), now), "the user may still add it");
        assert_eq!(
            peers.prove(SocketAddr::from(([198, 51, 100, 8], 1)), now),
            Proved::New
        );
        for port in 1..=4 {
            assert_eq!(
                peers.prove(addr(port), now),
                Proved::New,
                "loopback is exempt"
            );
        }
    }
}
