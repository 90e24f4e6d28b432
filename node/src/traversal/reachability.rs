//! Is this node reachable from outside? Asked of direct peers by dial-back (libp2p AutoNAT's idea): a round sends a
//! [`NodeMsg::ProbeRequest`](hearsay_shared::node_msg::NodeMsg::ProbeRequest) naming this node's STUN and TURN
//! ports to up to [`PEERS_PER_ROUND`] direct peers; each sends a STUN Binding request to those ports at the IP it
//! reaches us at, from a socket that never talked to us, and reports which answered. Behind a NAT without port
//! forwarding nothing answers: the NAT has no mapping for ports we never sent from.
//!
//! The verdict of a round: reachable if any peer got an answer on every port, unreachable if every peer that
//! reported got none; a round in which nobody reports keeps the last verdict and is tried again soon.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use hearsay_shared::gossip::PublicKey;
use rand::RngCore;
use rand::seq::IndexedRandom;

/// How many direct peers one round asks.
pub const PEERS_PER_ROUND: usize = 2;
/// How long to wait for a peer's result (it retransmits its probes for ~1.5 s).
pub const RESULT_LIMIT: Duration = Duration::from_secs(6);
/// How often the question is asked again once answered: NATs and firewalls change (a router reboots, a port
/// forward is added).
pub const RECHECK: Duration = Duration::from_secs(600);
/// How soon a round nobody answered, or a node with no verdict yet, tries again.
pub const RETRY: Duration = Duration::from_secs(10);

/// What the last round found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No peer has reported yet.
    Unknown,
    /// A peer reached every probed port without us talking first.
    Reachable,
    /// Every peer that reported reached none or only some of them.
    Unreachable,
}

/// One probe request on its way.
#[derive(Debug, Clone, Copy)]
struct Pending {
    peer: PublicKey,
    sent: Instant,
}

/// The asking side of dial-back probes.
#[derive(Debug)]
pub struct Reachability {
    ports: Vec<u16>,
    pending: HashMap<u64, Pending>,
    /// Results of the current round: (reached every port, the IP probed).
    round: Vec<(bool, IpAddr)>,
    verdict: Verdict,
    /// IPs at which a peer reached every port, in the current verdict.
    reachable_at: BTreeSet<IpAddr>,
    /// The IPs peers say they reach us at (our public IPs as they see them).
    seen_at: BTreeSet<IpAddr>,
    next_round: Instant,
}

impl Reachability {
    /// Probes `ports` (this node's STUN and TURN ports); the first round may start at `now`.
    pub fn new(now: Instant, ports: Vec<u16>) -> Self {
        Self {
            ports,
            pending: HashMap::new(),
            round: Vec::new(),
            verdict: Verdict::Unknown,
            reachable_at: BTreeSet::new(),
            seen_at: BTreeSet::new(),
            next_round: now,
        }
    }

    pub fn verdict(&self) -> Verdict {
        self.verdict
    }

    pub fn ports(&self) -> &[u16] {
        &self.ports
    }

    /// IPs at which peers reached every probed port.
    pub fn reachable_at(&self) -> &BTreeSet<IpAddr> {
        &self.reachable_at
    }

    /// IPs peers reach this node at, as they reported them.
    pub fn seen_at(&self) -> &BTreeSet<IpAddr> {
        &self.seen_at
    }

    /// When the next round is due (or a pending result times out).
    pub fn next_wake(&self) -> Instant {
        let oldest = self.pending.values().map(|p| p.sent + RESULT_LIMIT).min();
        oldest.map_or(self.next_round, |t| t.min(self.next_round))
    }

    /// Starts a round if one is due and there are direct peers to ask: returns (peer, nonce) for each request to
    /// send, to up to [`PEERS_PER_ROUND`] of `peers` picked at random.
    pub fn start_round_if_due(
        &mut self,
        now: Instant,
        peers: &[PublicKey],
        rng: &mut impl RngCore,
    ) -> Vec<(PublicKey, u64)> {
        if now < self.next_round || !self.pending.is_empty() || peers.is_empty() {
            return Vec::new();
        }
        self.round.clear();
        self.next_round = now + RETRY;
        let picked: Vec<PublicKey> = peers
            .choose_multiple(rng, PEERS_PER_ROUND)
            .copied()
            .collect();
        picked
            .into_iter()
            .map(|peer| {
                let mut id = rng.next_u64();
                while self.pending.contains_key(&id) {
                    id = rng.next_u64();
                }
                self.pending.insert(id, Pending { peer, sent: now });
                (peer, id)
            })
            .collect()
    }

    /// Asks again at once (e.g. the node's addresses changed).
    pub fn recheck_now(&mut self, now: Instant) {
        self.next_round = now;
    }

    /// The host moved to another network: requests still on their way asked about the old one, so a new round
    /// starts at once (the last verdict stands until it reports).
    pub fn new_network(&mut self, now: Instant) {
        self.pending.clear();
        self.round.clear();
        self.next_round = now;
    }

    /// A peer's result. Returns true when the verdict or the addresses changed. Results from keys we did not ask,
    /// or for nonces we do not know, are ignored.
    pub fn on_result(
        &mut self,
        now: Instant,
        from: PublicKey,
        nonce: u64,
        probed_ip: IpAddr,
        answered: &[u16],
    ) -> bool {
        match self.pending.get(&nonce) {
            Some(p) if p.peer == from => {}
            _ => return false,
        }
        self.pending.remove(&nonce);
        let reached_all = self.ports.iter().all(|p| answered.contains(p));
        self.round.push((reached_all, probed_ip));
        let before = (
            self.verdict,
            self.reachable_at.clone(),
            self.seen_at.clone(),
        );
        self.seen_at.insert(probed_ip);
        self.reachable_at = self
            .round
            .iter()
            .filter(|(all, _)| *all)
            .map(|(_, ip)| *ip)
            .collect();
        self.verdict = if self.reachable_at.is_empty() {
            Verdict::Unreachable
        } else {
            Verdict::Reachable
        };
        if self.pending.is_empty() {
            self.next_round = now + RECHECK;
        }
        before
            != (
                self.verdict,
                self.reachable_at.clone(),
                self.seen_at.clone(),
            )
    }

    /// Forgets requests that went unanswered too long; a round that ends with no result is retried soon.
    pub fn expire(&mut self, now: Instant) {
        let before = self.pending.len();
        self.pending
            .retain(|_, p| now.saturating_duration_since(p.sent) < RESULT_LIMIT);
        if before > 0 && self.pending.is_empty() {
            self.next_round = if self.round.is_empty() {
                now + RETRY
            } else {
                now + RECHECK
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> PublicKey {
        PublicKey([b; 32])
    }

    fn rng() -> rand_chacha::ChaCha8Rng {
        rand::SeedableRng::seed_from_u64(7)
    }

    /// Starts a round and returns the nonce sent to each asked peer.
    fn round(r: &mut Reachability, now: Instant, peers: &[PublicKey]) -> Vec<(PublicKey, u64)> {
        r.start_round_if_due(now, peers, &mut rng())
    }

    fn nonce_for(sent: &[(PublicKey, u64)], peer: PublicKey) -> u64 {
        sent.iter().find(|(p, _)| *p == peer).unwrap().1
    }

    const STUN: u16 = 3478;
    const TURN: u16 = 3479;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_peer_reaching_every_port_makes_the_node_reachable_at_that_ip() {
        let t0 = Instant::now();
        let mut r = Reachability::new(t0, vec![STUN, TURN]);
        assert_eq!(r.verdict(), Verdict::Unknown);
        let sent = round(&mut r, t0, &[key(1), key(2), key(3)]);
        assert_eq!(sent.len(), PEERS_PER_ROUND);
        assert_ne!(sent[0].0, sent[1].0, "two different peers");
        let (peer, nonce) = sent[0];
        assert!(r.on_result(t0, peer, nonce, ip("203.0.113.10"), &[STUN, TURN]));
        assert_eq!(r.verdict(), Verdict::Reachable);
        assert!(r.reachable_at().contains(&ip("203.0.113.10")));
    }

    #[test]
    fn behind_a_nat_nothing_answers_and_the_node_is_unreachable_but_knows_its_public_ip() {
        let t0 = Instant::now();
        let mut r = Reachability::new(t0, vec![STUN, TURN]);
        let sent = round(&mut r, t0, &[key(1)]);
        assert!(r.on_result(
            t0,
            key(1),
            nonce_for(&sent, key(1)),
            ip("203.0.113.11"),
            &[]
        ));
        assert_eq!(r.verdict(), Verdict::Unreachable);
        assert!(r.reachable_at().is_empty());
        assert_eq!(
            r.seen_at().iter().copied().collect::<Vec<_>>(),
            [ip("203.0.113.11")]
        );
    }

    #[test]
    fn only_some_ports_answering_is_not_reachable() {
        let t0 = Instant::now();
        let mut r = Reachability::new(t0, vec![STUN, TURN]);
        let sent = round(&mut r, t0, &[key(1)]);
        r.on_result(
            t0,
            key(1),
            nonce_for(&sent, key(1)),
            ip("198.51.100.2"),
            &[STUN],
        );
        assert_eq!(r.verdict(), Verdict::Unreachable);
    }

    #[test]
    fn results_from_keys_not_asked_or_unknown_nonces_are_ignored() {
        let t0 = Instant::now();
        let mut r = Reachability::new(t0, vec![STUN, TURN]);
        let nonce = nonce_for(&round(&mut r, t0, &[key(1)]), key(1));
        assert!(!r.on_result(t0, key(9), nonce, ip("192.0.2.1"), &[STUN, TURN]));
        assert!(!r.on_result(t0, key(1), nonce ^ 1, ip("192.0.2.1"), &[STUN, TURN]));
        assert_eq!(r.verdict(), Verdict::Unknown);
        // The real answer still counts, once.
        assert!(r.on_result(t0, key(1), nonce, ip("192.0.2.1"), &[STUN, TURN]));
        assert!(!r.on_result(t0, key(1), nonce, ip("192.0.2.1"), &[STUN, TURN]));
    }

    #[test]
    fn unanswered_rounds_are_retried_soon_and_answered_ones_rechecked_later() {
        let t0 = Instant::now();
        let mut r = Reachability::new(t0, vec![STUN, TURN]);
        round(&mut r, t0, &[key(1)]);
        assert!(
            round(&mut r, t0, &[key(1)]).is_empty(),
            "one round at a time"
        );
        let late = t0 + RESULT_LIMIT;
        r.expire(late);
        assert_eq!(r.verdict(), Verdict::Unknown);
        assert_eq!(r.next_wake(), late + RETRY);
        let sent = round(&mut r, late + RETRY, &[key(1)]);
        assert_eq!(sent.len(), 1);
        r.on_result(late + RETRY, key(1), sent[0].1, ip("192.0.2.1"), &[]);
        assert_eq!(r.next_wake(), late + RETRY + RECHECK);
    }

    #[test]
    fn a_new_round_replaces_the_old_verdict() {
        let t0 = Instant::now();
        let mut r = Reachability::new(t0, vec![STUN, TURN]);
        let sent = round(&mut r, t0, &[key(1)]);
        r.on_result(t0, key(1), sent[0].1, ip("192.0.2.1"), &[STUN, TURN]);
        assert_eq!(r.verdict(), Verdict::Reachable);
        r.recheck_now(t0);
        let sent = round(&mut r, t0, &[key(2)]);
        assert_eq!(sent.len(), 1);
        r.on_result(t0, key(2), sent[0].1, ip("192.0.2.1"), &[]);
        assert_eq!(
            r.verdict(),
            Verdict::Unreachable,
            "the port forward is gone"
        );
    }

    #[test]
    fn no_peers_no_round() {
        let t0 = Instant::now();
        let mut r = Reachability::new(t0, vec![STUN, TURN]);
        assert!(round(&mut r, t0, &[]).is_empty());
        assert_eq!(r.verdict(), Verdict::Unknown);
    }
}
