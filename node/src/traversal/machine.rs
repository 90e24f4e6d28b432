//! The traversal state machine: how this node is seen from outside and which STUN/TURN servers its page uses.
//!
//! Drive it like the gossip engine (sans-IO, time passed in, a seeded RNG):
//!
//! ```text
//! let mut t = Traversal::new(now, settings);
//! loop {
//!     while let Some(out) = t.poll_output() {
//!         match out {
//!             Output::Send { to, msg }            => { /* a private message over gossip */ }
//!             Output::Probe { id, ip, ports }     => { /* STUN Binding to ip:port from fresh sockets,
//!                                                        then handle_probe_done(id, answered) */ }
//!             Output::LookUp { servers }          => { /* ask them our reflexive address, then handle_reflexive */ }
//!             Output::CheckRelay { key, stun, turn } => { /* STUN Binding to both, then handle_relay_checked */ }
//!             Output::SetAddrs(a) | Output::SetServices(s) => { /* gossip commands: announce them */ }
//!             Output::Changed                     => { /* republish view() and ice_choice() to pages */ }
//!             Output::Timeout(at)                 => { /* call handle_timeout then */ }
//!         }
//!     }
//!     // inputs: handle_users (the gossip users list changed), handle_message (a node message arrived),
//!     //         the IO results above, handle_timeout
//! }
//! ```
//!
//! What it decides: whether this node is reachable from outside ([`super::reachability`], by dial-back through
//! direct peers), what addresses and services it announces (STUN and TURN only when reachable), the addresses
//! its peers see it at (their STUN servers and dial-backs tell it), which relays its page uses when its own
//! servers are not reachable ([`super::relays`]), and what it does for nodes that ask it ([`super::lending`]).

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hearsay_shared::gossip::{MAX_ADDRS, PublicKey, Service, service_kind};
use hearsay_shared::ice::{IceServer, IceServers};
use hearsay_shared::node_msg::{MAX_PROBE_PORTS, NodeMsg, TurnRefusal};
use hearsay_shared::page::{NetworkView, RelayView};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::lending::{GRANT_BUDGET, GRANT_TTL, KeyBudget, PROBE_BUDGET, RelayFor};
use super::reachability::{Reachability, Verdict};
use super::relays::{self, GrantPorts, RelayAction, RelayBook};
use crate::gossip::UserInfo;
use crate::turn::credentials::TurnSecret;

/// The first look at our reflexive address once peers exist; then this often.
pub const LOOKUP_EVERY: Duration = Duration::from_secs(300);
/// A look that found no server, or no answer, is tried again this soon.
pub const LOOKUP_RETRY: Duration = Duration::from_secs(5);
/// How long a look or a probe may take before it is forgotten.
const IO_LIMIT: Duration = Duration::from_secs(10);
/// At most this many peers' STUN servers are asked per look.
pub const SERVERS_PER_LOOK: usize = 3;
/// Probes for others in flight at once.
const MAX_PROBES_IN_FLIGHT: usize = 64;

/// A clock reading: the monotonic instant for timers, and the wall clock (Unix seconds) for credentials.
#[derive(Debug, Clone, Copy)]
pub struct Now {
    pub at: Instant,
    pub unix: u64,
}

impl Now {
    pub fn system() -> Self {
        Self {
            at: Instant::now(),
            unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        }
    }
}

/// How the node runs.
#[derive(Debug, Clone)]
pub struct Settings {
    pub name: String,
    /// The gossip socket's bound address (its port is the one announced; its IP too when specific).
    pub gossip_local: SocketAddr,
    pub stun_port: u16,
    pub turn_port: u16,
    /// TURN over TCP, offered to pages whose networks block UDP.
    pub turn_tcp_port: u16,
    /// The IP the TURN server puts in relayed addresses: its relay works from outside only when a peer reached
    /// this node at this IP.
    pub relay_ip: IpAddr,
    pub relay_for: RelayFor,
    pub secret: TurnSecret,
    pub rng_seed: u64,
}

/// What the page's calls use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IceChoice {
    /// This node's own STUN and TURN (reachable from outside, or nothing better is known).
    Own,
    /// Other nodes' STUN and TURN, with the credentials they lent.
    Relays(IceServers),
}

/// What the machine wants done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Send {
        to: PublicKey,
        msg: NodeMsg,
    },
    Probe {
        id: u64,
        ip: IpAddr,
        ports: Vec<u16>,
    },
    LookUp {
        servers: Vec<SocketAddr>,
    },
    CheckRelay {
        key: PublicKey,
        stun: SocketAddr,
        turn: SocketAddr,
        turn_tcp: Option<SocketAddr>,
    },
    SetAddrs(Vec<SocketAddr>),
    SetServices(Vec<Service>),
    /// Announce this node at once (its network changed).
    Announce,
    /// [`Traversal::view`] or [`Traversal::ice_choice`] changed.
    Changed,
    Timeout(Instant),
}

#[derive(Debug, Clone, Copy)]
struct ProbeForOther {
    asker: PublicKey,
    nonce: u64,
    ip: IpAddr,
    started: Instant,
}

/// See the module doc.
pub struct Traversal {
    settings: Settings,
    rng: ChaCha8Rng,
    reach: Reachability,
    relays: RelayBook,
    probe_budget: KeyBudget,
    grant_budget: KeyBudget,
    probes: HashMap<u64, ProbeForOther>,
    /// Direct peers: key → the address we reach it at.
    direct: HashMap<PublicKey, SocketAddr>,
    users: Vec<UserInfo>,
    /// IPs peers' STUN servers saw us at, from the last look.
    reflexive: BTreeSet<IpAddr>,
    next_lookup: Instant,
    looking_since: Option<Instant>,
    /// The local address the OS sends from towards the internet (it changes when the host changes networks).
    outward_ip: Option<IpAddr>,
    network_changes: u32,
    addrs: Vec<SocketAddr>,
    services: Vec<Service>,
    published: Option<(NetworkView, IceChoice)>,
    out: VecDeque<Output>,
    wake_pending: bool,
    now: Now,
}

impl Traversal {
    pub fn new(now: Now, settings: Settings) -> Self {
        let reach = Reachability::new(now.at, vec![settings.stun_port, settings.turn_port]);
        let addrs = addresses(settings.gossip_local, &BTreeSet::new());
        Self {
            rng: ChaCha8Rng::seed_from_u64(settings.rng_seed),
            reach,
            relays: RelayBook::default(),
            probe_budget: KeyBudget::new(PROBE_BUDGET),
            grant_budget: KeyBudget::new(GRANT_BUDGET),
            probes: HashMap::new(),
            direct: HashMap::new(),
            users: Vec::new(),
            reflexive: BTreeSet::new(),
            next_lookup: now.at,
            looking_since: None,
            outward_ip: None,
            network_changes: 0,
            addrs,
            services: Vec::new(),
            published: None,
            out: VecDeque::new(),
            wake_pending: true,
            now,
            settings,
        }
    }

    // ---- getters ----

    pub fn verdict(&self) -> Verdict {
        self.reach.verdict()
    }

    /// The addresses this node announces (where peers see its gossip socket).
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// Whether this node's own TURN relay works from outside: a peer reached its ports at the relay's IP.
    pub fn own_relay_usable(&self) -> bool {
        self.reach.verdict() == Verdict::Reachable
            && self.reach.reachable_at().contains(&self.settings.relay_ip)
    }

    pub fn ice_choice(&self) -> IceChoice {
        if self.own_relay_usable() {
            return IceChoice::Own;
        }
        let mut servers = Vec::new();
        let mut expires = u64::MAX;
        for (_, grant) in self.relays.usable(self.now.at) {
            servers.push(IceServer {
                urls: vec![format!("stun:{}", grant.stun)],
                username: None,
                credential: None,
            });
            let mut urls = vec![format!("turn:{}?transport=udp", grant.turn)];
            urls.extend(
                grant
                    .turn_tcp
                    .map(|tcp| format!("turn:{tcp}?transport=tcp")),
            );
            servers.push(IceServer {
                urls,
                username: Some(grant.username.clone()),
                credential: Some(grant.password.clone()),
            });
            expires = expires.min(grant.expires);
        }
        if servers.is_empty() {
            // Nothing reachable is known: the own servers still serve calls within this network.
            IceChoice::Own
        } else {
            IceChoice::Relays(IceServers { servers, expires })
        }
    }

    pub fn view(&self) -> NetworkView {
        // Only relays that work from outside: the own servers when reachable, else the borrowed ones. (With
        // neither, the page still gets its own servers, which serve calls within its own network.)
        let relays = if self.own_relay_usable() {
            vec![RelayView {
                name: self.settings.name.clone(),
                addr: SocketAddr::new(self.settings.relay_ip, self.settings.turn_port).to_string(),
                own: true,
            }]
        } else {
            self.relays
                .usable(self.now.at)
                .map(|(c, g)| RelayView {
                    name: c.name.clone(),
                    addr: g.turn.to_string(),
                    own: false,
                })
                .collect()
        };
        NetworkView {
            addrs: self.addrs.iter().map(ToString::to_string).collect(),
            reachable: match self.reach.verdict() {
                Verdict::Unknown => None,
                Verdict::Reachable => Some(true),
                Verdict::Unreachable => Some(false),
            },
            relays,
            network_changes: self.network_changes,
        }
    }

    // ---- inputs ----

    /// The gossip users list changed (new peers, routes, services).
    pub fn handle_users(&mut self, now: Now, users: Vec<UserInfo>) {
        self.now = now;
        self.wake_pending = true;
        self.direct = users
            .iter()
            .filter(|u| u.reachable && u.hops == Some(1))
            .filter_map(|u| Some((u.key, u.next_hop?)))
            .collect();
        self.users = users;
        self.step();
    }

    /// A node message from `from` (the gossip layer verified the key).
    pub fn handle_message(&mut self, now: Now, from: PublicKey, msg: NodeMsg) {
        self.now = now;
        self.wake_pending = true;
        match msg {
            NodeMsg::ProbeRequest { nonce, ports } => self.probe_for(from, nonce, ports),
            NodeMsg::ProbeResult {
                nonce,
                probed_ip,
                answered,
            } => {
                if self
                    .reach
                    .on_result(now.at, from, nonce, probed_ip, &answered)
                {
                    tracing::info!(verdict = ?self.reach.verdict(), ip = %probed_ip, "a peer probed our ports");
                }
            }
            NodeMsg::TurnRequest { request } => self.lend(from, request),
            NodeMsg::TurnGrant {
                request,
                username,
                password,
                expires,
                stun_port,
                turn_port,
                turn_tcp_port,
            } => {
                self.relays.on_grant(
                    now.at,
                    now.unix,
                    from,
                    request,
                    username,
                    password,
                    expires,
                    GrantPorts {
                        stun: stun_port,
                        turn: turn_port,
                        turn_tcp: turn_tcp_port,
                    },
                );
            }
            NodeMsg::TurnRefused { request, reason } => {
                if self.relays.on_refused(now.at, from, request) {
                    tracing::info!(relay = %from.fingerprint(), ?reason, "a relay refused to lend TURN");
                }
            }
        }
        self.step();
    }

    /// The probe `id` this node ran for another: which ports answered.
    pub fn handle_probe_done(&mut self, now: Now, id: u64, answered: Vec<u16>) {
        self.now = now;
        self.wake_pending = true;
        if let Some(p) = self.probes.remove(&id) {
            self.out.push_back(Output::Send {
                to: p.asker,
                msg: NodeMsg::ProbeResult {
                    nonce: p.nonce,
                    probed_ip: p.ip,
                    answered,
                },
            });
        }
        self.step();
    }

    /// A look at our reflexive address ended: the IPs the servers saw (empty if none answered).
    pub fn handle_reflexive(&mut self, now: Now, seen: Vec<IpAddr>) {
        self.now = now;
        self.wake_pending = true;
        self.looking_since = None;
        if seen.is_empty() {
            self.next_lookup = now.at + LOOKUP_RETRY;
        } else {
            self.next_lookup = now.at + LOOKUP_EVERY;
            let seen: BTreeSet<IpAddr> = seen.into_iter().collect();
            if seen != self.reflexive {
                if !self.reflexive.is_empty() {
                    // Our public address changed (a new network, a router restart): ask about reachability anew.
                    self.reach.recheck_now(now.at);
                }
                self.reflexive = seen;
            }
        }
        self.step();
    }

    /// The local address the OS would send from towards the internet, looked up now and then. When it changes
    /// the host is on another network (Wi-Fi to mobile, a new lease, another router): the node announces itself
    /// at once, so its peers route to its new address, and looks again at how it is seen from outside.
    pub fn handle_outward_ip(&mut self, now: Now, ip: Option<IpAddr>) {
        self.now = now;
        self.wake_pending = true;
        if ip == self.outward_ip {
            return;
        }
        let before = std::mem::replace(&mut self.outward_ip, ip);
        if before.is_some() {
            tracing::info!(?before, now = ?ip, "the network changed: announcing again");
            self.network_changes += 1;
            self.out.push_back(Output::Announce);
            self.reach.new_network(now.at);
            self.reflexive.clear();
            self.next_lookup = now.at;
        }
        self.step();
    }

    /// The check of a relay's STUN and TURN addresses came back.
    pub fn handle_relay_checked(&mut self, now: Now, key: PublicKey, ok: bool) {
        self.now = now;
        self.wake_pending = true;
        if !ok {
            tracing::info!(relay = %key.fingerprint(), "a relay's STUN or TURN did not answer; passing it over");
        }
        self.relays.on_checked(now.at, key, ok);
        self.step();
    }

    pub fn handle_timeout(&mut self, now: Now) {
        self.now = now;
        self.wake_pending = true;
        self.reach.expire(now.at);
        self.relays.expire(now.at);
        self.probes
            .retain(|_, p| now.at.saturating_duration_since(p.started) < IO_LIMIT);
        if self
            .looking_since
            .is_some_and(|since| now.at.saturating_duration_since(since) >= IO_LIMIT)
        {
            self.looking_since = None;
            self.next_lookup = now.at + LOOKUP_RETRY;
        }
        self.step();
    }

    /// The next thing to do; after any input call until `None` (the last output is a [`Output::Timeout`]).
    pub fn poll_output(&mut self) -> Option<Output> {
        if let Some(out) = self.out.pop_front() {
            return Some(out);
        }
        if std::mem::take(&mut self.wake_pending) {
            return Some(Output::Timeout(self.next_wake()));
        }
        None
    }

    // ---- the work ----

    fn next_wake(&self) -> Instant {
        let mut at = self.reach.next_wake().min(self.next_lookup);
        if let Some(t) = self.relays.next_wake() {
            at = at.min(t);
        }
        if let Some(since) = self.looking_since {
            at = at.min(since + IO_LIMIT);
        }
        if let Some(p) = self.probes.values().map(|p| p.started + IO_LIMIT).min() {
            at = at.min(p);
        }
        // Never sleep past the next moment a timer could matter by more than a second's housekeeping.
        at.max(self.now.at)
    }

    /// After any input: start what is due, announce what changed, tell the pages.
    fn step(&mut self) {
        let now = self.now.at;
        // Dial-back rounds.
        let peers: Vec<PublicKey> = {
            let mut keys: Vec<PublicKey> = self.direct.keys().copied().collect();
            keys.sort();
            keys
        };
        let asked = self.reach.start_round_if_due(now, &peers, &mut self.rng);
        for (peer, nonce) in asked {
            self.out.push_back(Output::Send {
                to: peer,
                msg: NodeMsg::ProbeRequest {
                    nonce,
                    ports: self.reach.ports().to_vec(),
                },
            });
        }
        // Looks at our reflexive address.
        if self.looking_since.is_none() && now >= self.next_lookup {
            let servers = self.peer_stun_servers();
            if servers.is_empty() {
                self.next_lookup = now + LOOKUP_RETRY;
            } else {
                self.looking_since = Some(now);
                self.out.push_back(Output::LookUp { servers });
            }
        }
        // What we announce.
        let mut ips = self.reflexive.clone();
        ips.extend(self.reach.seen_at().iter().copied());
        let addrs = addresses(self.settings.gossip_local, &ips);
        if addrs != self.addrs {
            self.addrs = addrs.clone();
            tracing::info!(?addrs, "announcing the addresses peers see us at");
            self.out.push_back(Output::SetAddrs(addrs));
        }
        let services = self.services_to_announce();
        if services != self.services {
            self.services = services.clone();
            self.out.push_back(Output::SetServices(services));
        }
        // Relays for the page.
        let candidates = relays::candidates(&self.users);
        let wanted = !self.own_relay_usable();
        let rng = &mut self.rng;
        let actions = self
            .relays
            .update(now, &candidates, wanted, || rng.next_u64());
        for action in actions {
            match action {
                RelayAction::Ask { to, request } => self.out.push_back(Output::Send {
                    to,
                    msg: NodeMsg::TurnRequest { request },
                }),
                RelayAction::Check {
                    key,
                    stun,
                    turn,
                    turn_tcp,
                } => self.out.push_back(Output::CheckRelay {
                    key,
                    stun,
                    turn,
                    turn_tcp,
                }),
            }
        }
        let published = (self.view(), self.ice_choice());
        if self.published.as_ref() != Some(&published) {
            self.published = Some(published);
            self.out.push_back(Output::Changed);
        }
    }

    fn services_to_announce(&self) -> Vec<Service> {
        if self.reach.verdict() != Verdict::Reachable {
            return Vec::new();
        }
        let mut services = vec![Service {
            kind: service_kind::STUN,
            port: self.settings.stun_port,
        }];
        if self.own_relay_usable() && self.settings.relay_for == RelayFor::All {
            services.push(Service {
                kind: service_kind::TURN,
                port: self.settings.turn_port,
            });
        }
        services
    }

    /// The STUN servers of direct peers: the address we reach each peer at, with the STUN port it announces.
    fn peer_stun_servers(&self) -> Vec<SocketAddr> {
        let mut servers: Vec<SocketAddr> = self
            .users
            .iter()
            .filter(|u| u.reachable && u.hops == Some(1))
            .filter_map(|u| {
                let port = u
                    .services
                    .iter()
                    .find(|s| s.kind == service_kind::STUN)?
                    .port;
                Some(SocketAddr::new(u.next_hop?.ip(), port))
            })
            .collect();
        servers.sort();
        servers.truncate(SERVERS_PER_LOOK);
        servers
    }

    fn probe_for(&mut self, asker: PublicKey, nonce: u64, mut ports: Vec<u16>) {
        // Only a direct peer, only at the address we reach it at: our probes cannot be aimed at anyone else.
        let Some(addr) = self.direct.get(&asker).copied() else {
            tracing::debug!(asker = %asker.fingerprint(), "probe request from a node that is not a direct peer");
            return;
        };
        if self.probes.len() >= MAX_PROBES_IN_FLIGHT || !self.probe_budget.allow(self.now.at, asker)
        {
            tracing::debug!(asker = %asker.fingerprint(), "probe request over budget");
            return;
        }
        ports.truncate(MAX_PROBE_PORTS);
        let mut id = self.rng.next_u64();
        while self.probes.contains_key(&id) {
            id = self.rng.next_u64();
        }
        self.probes.insert(
            id,
            ProbeForOther {
                asker,
                nonce,
                ip: addr.ip(),
                started: self.now.at,
            },
        );
        self.out.push_back(Output::Probe {
            id,
            ip: addr.ip(),
            ports,
        });
    }

    fn lend(&mut self, asker: PublicKey, request: u64) {
        let refusal = if self.settings.relay_for == RelayFor::None {
            Some(TurnRefusal::NotRelaying)
        } else if !self.own_relay_usable() {
            Some(TurnRefusal::NotReachable)
        } else if !self.grant_budget.allow(self.now.at, asker) {
            Some(TurnRefusal::RateLimited)
        } else {
            None
        };
        let msg = match refusal {
            Some(reason) => NodeMsg::TurnRefused { request, reason },
            None => {
                let minted = self.settings.secret.mint(
                    &asker.to_hex(),
                    UNIX_EPOCH + Duration::from_secs(self.now.unix),
                    GRANT_TTL,
                );
                NodeMsg::TurnGrant {
                    request,
                    username: minted.username,
                    password: minted.password,
                    expires: minted.expires,
                    stun_port: self.settings.stun_port,
                    turn_port: self.settings.turn_port,
                    turn_tcp_port: self.settings.turn_tcp_port,
                }
            }
        };
        self.out.push_back(Output::Send { to: asker, msg });
    }
}

/// The addresses to announce: the socket's own if specific, then each IP peers see us at with the gossip port.
pub fn addresses(local: SocketAddr, seen: &BTreeSet<IpAddr>) -> Vec<SocketAddr> {
    let mut addrs = Vec::new();
    if !local.ip().is_unspecified() {
        addrs.push(local);
    }
    for &ip in seen {
        let addr = SocketAddr::new(ip, local.port());
        if !addrs.contains(&addr) {
            addrs.push(addr);
        }
    }
    addrs.truncate(MAX_ADDRS);
    addrs
}
