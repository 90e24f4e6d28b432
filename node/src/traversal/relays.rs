//! Relays found over gossip: the reachable nodes whose STUN and TURN this node's page uses when its own servers
//! cannot be reached from outside, and the TURN credentials they lent.
//!
//! A node announces STUN and TURN services in its route rumors only while a dial-back says they are reachable
//! (see [`super::reachability`]). [`candidates`] ranks the nodes that announce both: direct peers first (we reach
//! them at the address their datagrams come from, proven by the gossip link itself), then by hop count. The
//! [`RelayBook`] keeps up to [`MAX_RELAYS`] of them; for each it asks for credentials
//! ([`RelayAction::Ask`]), has the node check that the relay's STUN and TURN really answer at the address the page
//! would use ([`RelayAction::Check`]: never hand the browser an address it cannot use), and asks again before the
//! credentials run out. A relay that refuses, does not answer or fails its check is shunned for [`SHUN_FOR`] and
//! the next best one is taken.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use hearsay_shared::gossip::{PublicKey, service_kind};

use crate::gossip::UserInfo;

/// Relays a page uses at once: a second one keeps calls going while the first is being replaced.
pub const MAX_RELAYS: usize = 2;
/// How long a request for credentials or a check may take.
pub const ANSWER_LIMIT: Duration = Duration::from_secs(5);
/// Ask for new credentials when the current ones have less than this left.
pub const REFRESH_BEFORE: Duration = Duration::from_secs(240);
/// Credentials with less than this left are no longer offered to the page.
pub const MIN_VALIDITY: Duration = Duration::from_secs(60);
/// How long a relay that refused, went silent or failed its check is passed over.
pub const SHUN_FOR: Duration = Duration::from_secs(120);
/// Requests that go unanswered this many times in a row shun the relay.
const MAX_ATTEMPTS: u32 = 3;
/// Bound of the shunned-relays record.
const MAX_SHUNNED: usize = 256;

/// A node that announces STUN and TURN, and where this node reaches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub key: PublicKey,
    pub name: String,
    pub host: IpAddr,
    pub stun_port: u16,
    pub turn_port: u16,
    pub hops: u8,
}

fn service_port(user: &UserInfo, kind: u16) -> Option<u16> {
    user.services
        .iter()
        .find(|s| s.kind == kind && s.port != 0)
        .map(|s| s.port)
}

/// The nodes that could relay for us, best first: reachable users announcing both STUN and TURN, direct peers
/// (at the address we reach them at) before others (at the first address they announce), then by hops and key.
pub fn candidates(users: &[UserInfo]) -> Vec<Candidate> {
    let mut found: Vec<Candidate> = users
        .iter()
        .filter(|u| u.reachable)
        .filter_map(|u| {
            let hops = u.hops?;
            let stun_port = service_port(u, service_kind::STUN)?;
            let turn_port = service_port(u, service_kind::TURN)?;
            let host = match (hops, u.next_hop) {
                (1, Some(hop)) => hop.ip(),
                _ => u.addrs.first()?.ip(),
            };
            Some(Candidate {
                key: u.key,
                name: u.name.clone(),
                host,
                stun_port,
                turn_port,
                hops,
            })
        })
        .collect();
    found.sort_by(|a, b| a.hops.cmp(&b.hops).then(a.key.cmp(&b.key)));
    found
}

/// The ports a relay's grant names (TURN over TCP 0: none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrantPorts {
    pub stun: u16,
    pub turn: u16,
    pub turn_tcp: u16,
}

/// TURN credentials a relay lent us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub username: String,
    pub password: String,
    /// Unix time (s) the relay stops accepting them for new allocations.
    pub expires: u64,
    pub stun: SocketAddr,
    pub turn: SocketAddr,
    /// TURN over TCP, if the relay offers it.
    pub turn_tcp: Option<SocketAddr>,
    refresh_at: Instant,
    usable_until: Instant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    NotYet,
    Running(Instant),
    Passed,
}

/// One chosen relay.
#[derive(Debug, Clone)]
pub struct Relay {
    pub candidate: Candidate,
    pub grant: Option<Grant>,
    asking: Option<(u64, Instant)>,
    check: Check,
    failures: u32,
}

impl Relay {
    /// Credentials valid for a while and addresses that answered: the page may use it.
    pub fn usable(&self, now: Instant) -> Option<&Grant> {
        self.grant
            .as_ref()
            .filter(|g| self.check == Check::Passed && now < g.usable_until)
    }
}

/// What the node should do for its relays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayAction {
    /// Send a `TurnRequest` with this id to the relay.
    Ask { to: PublicKey, request: u64 },
    /// Check with STUN Binding requests that the relay answers where the page would reach it: its STUN and TURN
    /// over UDP, or else its TURN over TCP; report with [`RelayBook::on_checked`].
    Check {
        key: PublicKey,
        stun: SocketAddr,
        turn: SocketAddr,
        turn_tcp: Option<SocketAddr>,
    },
}

/// The relays this node keeps for its page.
#[derive(Debug, Default)]
pub struct RelayBook {
    chosen: Vec<Relay>,
    shunned: HashMap<PublicKey, Instant>,
}

impl RelayBook {
    pub fn chosen(&self) -> &[Relay] {
        &self.chosen
    }

    /// The relays the page may use now.
    pub fn usable(&self, now: Instant) -> impl Iterator<Item = (&Candidate, &Grant)> {
        self.chosen
            .iter()
            .filter_map(move |r| r.usable(now).map(|g| (&r.candidate, g)))
    }

    /// Re-chooses from `candidates` (best first) when `wanted`, and returns what to do next. `next_id` makes
    /// request ids.
    pub fn update(
        &mut self,
        now: Instant,
        candidates: &[Candidate],
        wanted: bool,
        mut next_id: impl FnMut() -> u64,
    ) -> Vec<RelayAction> {
        self.shunned.retain(|_, until| now < *until);
        if !wanted {
            self.chosen.clear();
            return Vec::new();
        }
        // Keep a chosen relay only while it is still a candidate at the same address and ports.
        self.chosen.retain(|r| {
            candidates.contains(&r.candidate) && !self.shunned.contains_key(&r.candidate.key)
        });
        for c in candidates {
            if self.chosen.len() >= MAX_RELAYS {
                break;
            }
            if self.shunned.contains_key(&c.key)
                || self.chosen.iter().any(|r| r.candidate.key == c.key)
            {
                continue;
            }
            self.chosen.push(Relay {
                candidate: c.clone(),
                grant: None,
                asking: None,
                check: Check::NotYet,
                failures: 0,
            });
        }
        let mut actions = Vec::new();
        for relay in &mut self.chosen {
            let stale = relay.grant.as_ref().is_none_or(|g| now >= g.refresh_at);
            if stale && relay.asking.is_none() {
                let request = next_id();
                relay.asking = Some((request, now));
                actions.push(RelayAction::Ask {
                    to: relay.candidate.key,
                    request,
                });
            }
            if let (Some(grant), Check::NotYet) = (&relay.grant, relay.check) {
                relay.check = Check::Running(now);
                actions.push(RelayAction::Check {
                    key: relay.candidate.key,
                    stun: grant.stun,
                    turn: grant.turn,
                    turn_tcp: grant.turn_tcp,
                });
            }
        }
        actions
    }

    /// Credentials from `from` in answer to `request`. `unix` is the wall clock (s) matching `now`. Returns true
    /// when something the page sees may have changed.
    #[allow(clippy::too_many_arguments)]
    pub fn on_grant(
        &mut self,
        now: Instant,
        unix: u64,
        from: PublicKey,
        request: u64,
        username: String,
        password: String,
        expires: u64,
        ports: GrantPorts,
    ) -> bool {
        let Some(relay) = self
            .chosen
            .iter_mut()
            .find(|r| r.candidate.key == from && r.asking.is_some_and(|(id, _)| id == request))
        else {
            return false;
        };
        relay.asking = None;
        relay.failures = 0;
        let left = Duration::from_secs(expires.saturating_sub(unix));
        let host = relay.candidate.host;
        let (stun, turn) = (
            SocketAddr::new(host, ports.stun),
            SocketAddr::new(host, ports.turn),
        );
        let turn_tcp = (ports.turn_tcp != 0).then(|| SocketAddr::new(host, ports.turn_tcp));
        let moved = relay
            .grant
            .as_ref()
            .is_none_or(|g| g.stun != stun || g.turn != turn || g.turn_tcp != turn_tcp);
        if moved {
            relay.check = Check::NotYet;
        }
        relay.grant = Some(Grant {
            username,
            password,
            expires,
            stun,
            turn,
            turn_tcp,
            refresh_at: now + left.saturating_sub(REFRESH_BEFORE).max(MIN_VALIDITY / 2),
            usable_until: now + left.saturating_sub(MIN_VALIDITY),
        });
        true
    }

    /// `from` refused `request`: pass it over for a while.
    pub fn on_refused(&mut self, now: Instant, from: PublicKey, request: u64) -> bool {
        let asked = self
            .chosen
            .iter()
            .any(|r| r.candidate.key == from && r.asking.is_some_and(|(id, _)| id == request));
        if asked {
            self.shun(now, from);
        }
        asked
    }

    /// The node's check of a relay's addresses came back.
    pub fn on_checked(&mut self, now: Instant, key: PublicKey, ok: bool) -> bool {
        let Some(relay) = self.chosen.iter_mut().find(|r| r.candidate.key == key) else {
            return false;
        };
        if !matches!(relay.check, Check::Running(_)) {
            return false;
        }
        if ok {
            relay.check = Check::Passed;
        } else {
            self.shun(now, key);
        }
        true
    }

    /// Gives up on requests and checks that took too long. Returns true when a relay was dropped.
    pub fn expire(&mut self, now: Instant) -> bool {
        let mut shun = Vec::new();
        for relay in &mut self.chosen {
            if relay
                .asking
                .is_some_and(|(_, sent)| now.saturating_duration_since(sent) >= ANSWER_LIMIT)
            {
                relay.asking = None;
                relay.failures += 1;
                if relay.failures >= MAX_ATTEMPTS {
                    shun.push(relay.candidate.key);
                }
            }
            if let Check::Running(since) = relay.check
                && now.saturating_duration_since(since) >= ANSWER_LIMIT
            {
                shun.push(relay.candidate.key);
            }
        }
        let dropped = !shun.is_empty();
        for key in shun {
            self.shun(now, key);
        }
        dropped
    }

    fn shun(&mut self, now: Instant, key: PublicKey) {
        if self.shunned.len() >= MAX_SHUNNED {
            self.shunned.retain(|_, until| now < *until);
        }
        if self.shunned.len() < MAX_SHUNNED {
            self.shunned.insert(key, now + SHUN_FOR);
        }
        self.chosen.retain(|r| r.candidate.key != key);
    }

    /// The next instant something is due: a refresh, a timeout, or credentials going stale.
    pub fn next_wake(&self) -> Option<Instant> {
        self.chosen
            .iter()
            .flat_map(|r| {
                let asking = r.asking.map(|(_, sent)| sent + ANSWER_LIMIT);
                let check = match r.check {
                    Check::Running(since) => Some(since + ANSWER_LIMIT),
                    _ => None,
                };
                let grant = r.grant.as_ref().map(|g| g.refresh_at.min(g.usable_until));
                [asking, check, grant]
            })
            .flatten()
            .min()
    }
}

#[cfg(test)]
mod tests {
    use hearsay_shared::gossip::Service;

    use super::*;

    fn key(b: u8) -> PublicKey {
        PublicKey([b; 32])
    }

    fn user(
        b: u8,
        hops: Option<u8>,
        next_hop: &str,
        addr: &str,
        services: &[(u16, u16)],
    ) -> UserInfo {
        UserInfo {
            key: key(b),
            name: format!("n{b}"),
            hops,
            reachable: hops.is_some(),
            next_hop: next_hop.parse().ok(),
            addrs: addr.parse().ok().into_iter().collect(),
            services: services
                .iter()
                .map(|&(kind, port)| Service { kind, port })
                .collect(),
        }
    }

    const BOTH: &[(u16, u16)] = &[(service_kind::STUN, 3478), (service_kind::TURN, 3479)];

    #[test]
    fn direct_peers_come_first_at_the_address_we_reach_them_at() {
        let users = [
            user(1, Some(3), "198.51.100.9:5000", "203.0.113.30:5000", BOTH),
            user(2, Some(1), "203.0.113.10:5000", "192.0.2.99:5000", BOTH),
            user(
                3,
                Some(1),
                "203.0.113.11:5000",
                "",
                &[(service_kind::STUN, 3478)],
            ),
            user(4, None, "", "203.0.113.40:5000", BOTH),
            user(5, Some(2), "198.51.100.9:5000", "", BOTH),
        ];
        let found = candidates(&users);
        let keys: Vec<_> = found.iter().map(|c| (c.key, c.host)).collect();
        assert_eq!(
            keys,
            [
                (key(2), "203.0.113.10".parse().unwrap()),
                (key(1), "203.0.113.30".parse().unwrap()),
            ],
            "TURN-less, unreachable and address-less users are not candidates"
        );
    }

    fn counter() -> impl FnMut() -> u64 {
        let mut n = 0;
        move || {
            n += 1;
            n
        }
    }

    fn cand(b: u8) -> Candidate {
        Candidate {
            key: key(b),
            name: format!("n{b}"),
            host: format!("203.0.113.{b}").parse().unwrap(),
            stun_port: 3478,
            turn_port: 3479,
            hops: 1,
        }
    }

    fn grant(book: &mut RelayBook, now: Instant, unix: u64, b: u8, request: u64) -> bool {
        book.on_grant(
            now,
            unix,
            key(b),
            request,
            format!("{}:k", unix + 600),
            "pw".into(),
            unix + 600,
            GrantPorts {
                stun: 3478,
                turn: 3479,
                turn_tcp: 3479,
            },
        )
    }

    #[test]
    fn a_relay_is_usable_once_it_lent_credentials_and_its_addresses_answered() {
        let t0 = Instant::now();
        let mut book = RelayBook::default();
        let mut ids = counter();
        let actions = book.update(t0, &[cand(10), cand(11), cand(12)], true, &mut ids);
        assert_eq!(
            actions,
            [
                RelayAction::Ask {
                    to: key(10),
                    request: 1
                },
                RelayAction::Ask {
                    to: key(11),
                    request: 2
                }
            ]
        );
        assert!(grant(&mut book, t0, 1_000, 10, 1));
        assert_eq!(book.usable(t0).count(), 0, "not before the check");
        let actions = book.update(t0, &[cand(10), cand(11)], true, &mut ids);
        assert_eq!(
            actions,
            [RelayAction::Check {
                key: key(10),
                stun: "203.0.113.10:3478".parse().unwrap(),
                turn: "203.0.113.10:3479".parse().unwrap(),
                turn_tcp: Some("203.0.113.10:3479".parse().unwrap()),
            }]
        );
        assert!(book.on_checked(t0, key(10), true));
        let usable: Vec<_> = book.usable(t0).map(|(c, _)| c.key).collect();
        assert_eq!(usable, [key(10)]);
    }

    #[test]
    fn grants_for_requests_not_made_are_ignored() {
        let t0 = Instant::now();
        let mut book = RelayBook::default();
        book.update(t0, &[cand(10)], true, counter());
        assert!(!grant(&mut book, t0, 1_000, 10, 99), "wrong request id");
        assert!(!grant(&mut book, t0, 1_000, 11, 1), "not a chosen relay");
    }

    #[test]
    fn credentials_are_asked_for_again_before_they_run_out_and_dropped_when_stale() {
        let t0 = Instant::now();
        let mut book = RelayBook::default();
        let mut ids = counter();
        book.update(t0, &[cand(10)], true, &mut ids);
        grant(&mut book, t0, 1_000, 10, 1);
        book.update(t0, &[cand(10)], true, &mut ids);
        book.on_checked(t0, key(10), true);
        let refresh = book.next_wake().unwrap();
        assert_eq!(refresh, t0 + Duration::from_secs(600) - REFRESH_BEFORE);
        assert!(
            book.update(
                refresh - Duration::from_secs(1),
                &[cand(10)],
                true,
                &mut ids
            )
            .is_empty()
        );
        let actions = book.update(refresh, &[cand(10)], true, &mut ids);
        assert_eq!(
            actions,
            [RelayAction::Ask {
                to: key(10),
                request: 2
            }]
        );
        assert!(
            book.usable(refresh).count() == 1,
            "still usable while the new grant is on its way"
        );
        let stale = t0 + Duration::from_secs(600) - MIN_VALIDITY;
        assert_eq!(book.usable(stale).count(), 0);
    }

    #[test]
    fn a_relay_that_refuses_or_stays_silent_is_replaced_by_the_next() {
        let t0 = Instant::now();
        let mut book = RelayBook::default();
        let mut ids = counter();
        book.update(t0, &[cand(10), cand(11), cand(12)], true, &mut ids);
        assert!(book.on_refused(t0, key(10), 1));
        let actions = book.update(t0, &[cand(10), cand(11), cand(12)], true, &mut ids);
        assert_eq!(
            actions,
            [RelayAction::Ask {
                to: key(12),
                request: 3
            }]
        );
        assert!(grant(&mut book, t0, 1_000, 12, 3));
        book.update(t0, &[cand(10), cand(11), cand(12)], true, &mut ids);
        assert!(book.on_checked(t0, key(12), true));
        // 11 never answers: after three tries it is shunned too.
        let mut now = t0;
        for _ in 0..MAX_ATTEMPTS {
            now += ANSWER_LIMIT;
            book.expire(now);
            book.update(now, &[cand(10), cand(11), cand(12)], true, &mut ids);
        }
        let chosen: Vec<_> = book.chosen().iter().map(|r| r.candidate.key).collect();
        assert_eq!(chosen, [key(12)]);
        // After the shunning ends they may be chosen again.
        let later = now + SHUN_FOR;
        book.update(later, &[cand(10), cand(11), cand(12)], true, &mut ids);
        assert_eq!(book.chosen().len(), MAX_RELAYS);
    }

    #[test]
    fn a_relay_whose_addresses_do_not_answer_is_never_offered() {
        let t0 = Instant::now();
        let mut book = RelayBook::default();
        let mut ids = counter();
        book.update(t0, &[cand(10)], true, &mut ids);
        grant(&mut book, t0, 1_000, 10, 1);
        book.update(t0, &[cand(10)], true, &mut ids);
        assert!(book.on_checked(t0, key(10), false));
        assert_eq!(book.usable(t0).count(), 0);
        assert!(book.chosen().is_empty());
    }

    #[test]
    fn no_relays_are_kept_when_the_own_servers_will_do() {
        let t0 = Instant::now();
        let mut book = RelayBook::default();
        book.update(t0, &[cand(10)], true, counter());
        assert!(book.update(t0, &[cand(10)], false, counter()).is_empty());
        assert!(book.chosen().is_empty());
    }

    #[test]
    fn a_relay_that_moved_is_chosen_afresh() {
        let t0 = Instant::now();
        let mut book = RelayBook::default();
        let mut ids = counter();
        book.update(t0, &[cand(10)], true, &mut ids);
        grant(&mut book, t0, 1_000, 10, 1);
        let mut moved = cand(10);
        moved.host = "198.51.100.10".parse().unwrap();
        let actions = book.update(t0, &[moved], true, &mut ids);
        assert_eq!(
            actions,
            [RelayAction::Ask {
                to: key(10),
                request: 2
            }]
        );
        assert!(book.chosen()[0].grant.is_none());
    }
}
