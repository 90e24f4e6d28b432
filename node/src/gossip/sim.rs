//! A deterministic network simulator for the gossip engine: many [`Gossip`] nodes in one process, one virtual clock.
//!
//! Everything happens through one event queue ordered by (virtual time, sequence number): datagram deliveries and
//! node wake-ups. A seeded link model decides latency and loss; partitions, kills and restarts are commands. So a
//! run is a pure function of its seed: a failing test prints its seed and `HEARSAY_SIM_SEED=<seed>` replays it.
//!
//! ```text
//! let mut sim = Sim::new(sim_seed(7), LinkModel::default());
//! let nodes = sim.random_graph(1000, 4);
//! sim.run_until("every route known", Duration::from_secs(120), |s| s.all_routes_known())?;
//! ```
//!
//! It lives in the library (not under `tests/`) so the benchmark can use it too. Addresses are 127.x.y.z:5000 but
//! no socket is ever opened. Signatures are real Ed25519, memoized across nodes ([`MemoCheck`]): a checker is a
//! pure function, so memoizing changes no outcome, only the time a 1000-node run takes.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hearsay_shared::gossip::{PublicKey, Signature, SignedRoute};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use hearsay_shared::gossip::Packet;

use super::engine::{Command, CommandError, Config, Event, Gossip, Output, Timing};
use super::identity::{Ed25519Check, Identity, SignatureCheck};
use super::origins::Origins;

/// The seed for a simulation: `HEARSAY_SIM_SEED` if set (to replay a failure), else `default`. Prints it.
pub fn sim_seed(default: u64) -> u64 {
    let seed = std::env::var("HEARSAY_SIM_SEED")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(default);
    eprintln!("simulation seed {seed} (replay with HEARSAY_SIM_SEED={seed})");
    seed
}

/// Latency and loss of every link.
#[derive(Clone, Copy, Debug)]
pub struct LinkModel {
    pub min_latency: Duration,
    pub max_latency: Duration,
    /// Probability that a datagram is lost.
    pub loss: f64,
}

impl Default for LinkModel {
    fn default() -> Self {
        Self {
            min_latency: Duration::from_millis(5),
            max_latency: Duration::from_millis(50),
            loss: 0.0,
        }
    }
}

/// One verification: who signed, the signature, and the signed bytes.
type Verified = (PublicKey, Signature, Vec<u8>);

/// Real Ed25519 verification, memoized on the full (key, message, signature); and one shared copy of each good
/// route announcement for all the simulation's engines (see [`SignatureCheck::admit_route`]).
#[derive(Default)]
pub struct MemoCheck {
    seen: Mutex<HashMap<Verified, bool>>,
    /// Good announcements, by (origin, sequence number, signature); the content is compared too before one is shared.
    routes: Mutex<HashMap<(PublicKey, u64, Signature), Arc<SignedRoute>>>,
}

impl SignatureCheck for MemoCheck {
    fn verify(&self, key: &PublicKey, message: &[u8], signature: &Signature) -> bool {
        let entry = (*key, *signature, message.to_vec());
        // A poisoned lock means another test thread panicked mid-insert; the map itself is still valid.
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&ok) = seen.get(&entry) {
            return ok;
        }
        let ok = Ed25519Check.verify(key, message, signature);
        seen.insert(entry, ok);
        ok
    }

    fn admit_route(&self, signed: &Arc<SignedRoute>) -> Option<Arc<SignedRoute>> {
        let id = (signed.route.origin, signed.route.seq, signed.signature);
        let shared = {
            let routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
            routes.get(&id).filter(|kept| ***kept == **signed).cloned()
        };
        if shared.is_some() {
            return shared;
        }
        let signed = Ed25519Check.admit_route(signed)?;
        let mut routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        let kept = routes.entry(id).or_insert_with(|| signed.clone());
        // Two good announcements under one signature cannot differ (strict Ed25519); if they did, none is shared.
        Some(if **kept == *signed {
            kept.clone()
        } else {
            signed
        })
    }
}

/// One simulated node.
pub struct SimNode {
    pub addr: SocketAddr,
    pub identity: Identity,
    pub gossip: Gossip,
    pub alive: bool,
    /// Peers it was told about with [`Sim::connect`] (given to it again on restart).
    pub configured_peers: Vec<SocketAddr>,
    /// Received / Delivered / Failed events, in order.
    pub events: Vec<Event>,
    /// Rewrites (or drops, with `None`) every packet it sends: a hostile node (see [`Sim::set_tamper`]).
    tamper: Option<Tamper>,
    /// The wake-up currently scheduled for it.
    wake: Option<Instant>,
    group: u32,
    config: Config,
}

impl SimNode {
    pub fn key(&self) -> PublicKey {
        self.identity.public()
    }
}

/// How a hostile node changes what it sends.
pub type Tamper = Box<dyn FnMut(Packet) -> Option<Packet>>;

/// Something to do at a virtual time. Kept small (32 bytes): a network starting at once has millions of datagrams
/// in flight.
enum Job {
    /// A datagram sent by node `from` to node `to`.
    Deliver {
        to: u32,
        from: u32,
        bytes: Box<[u8]>,
    },
    /// A datagram from any address, e.g. a forged one ([`Sim::inject`]).
    Inject(Box<(usize, SocketAddr, Vec<u8>)>),
    Wake {
        node: u32,
        at: Nanos,
    },
}

/// Virtual time in nanoseconds since the simulation's start (8 bytes where an `Instant` takes 16).
type Nanos = u64;

struct Scheduled {
    at: Nanos,
    seq: u64,
    job: Job,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// Totals over a run, for the benchmark.
#[derive(Clone, Copy, Debug, Default)]
pub struct Traffic {
    pub datagrams: u64,
    pub bytes: u64,
    pub lost: u64,
    /// (datagrams, bytes) by kind of packet, in the order of [`Traffic::KINDS`].
    pub by_kind: [(u64, u64); 8],
}

impl Traffic {
    /// The packet kinds of [`Traffic::by_kind`] (the wire's variant order).
    pub const KINDS: [&'static str; 8] = [
        "rumors",
        "status",
        "private",
        "challenge",
        "response",
        "prune",
        "graft",
        "flood",
    ];

    /// What happened between `before` and now (`self`).
    pub fn since(&self, before: &Traffic) -> Traffic {
        let mut by_kind = self.by_kind;
        for (now, then) in by_kind.iter_mut().zip(before.by_kind) {
            now.0 -= then.0;
            now.1 -= then.1;
        }
        Traffic {
            datagrams: self.datagrams - before.datagrams,
            bytes: self.bytes - before.bytes,
            lost: self.lost - before.lost,
            by_kind,
        }
    }
}

/// The simulator. See the module doc.
pub struct Sim {
    pub seed: u64,
    pub start: Instant,
    pub now: Instant,
    pub link: LinkModel,
    /// Timing every node added from now on gets.
    pub timing: Timing,
    /// Hop limit every node added from now on gets.
    pub hop_limit: u8,
    /// Dissemination every node added from now on uses (see `Config::lazy_push`; false: the previous design).
    pub lazy_push: bool,
    pub nodes: Vec<SimNode>,
    pub traffic: Traffic,
    /// Traffic sent to each of these addresses, counted when it leaves the sender (see [`Sim::watch`]).
    pub watched: HashMap<SocketAddr, Traffic>,
    pub jobs_done: u64,
    rng: ChaCha8Rng,
    queue: BinaryHeap<Reverse<Scheduled>>,
    seq: u64,
    check: Arc<MemoCheck>,
    /// One numbering of origins for every node's table (see [`super::origins`]).
    origins: Arc<Origins>,
}

/// Hard cap on queue jobs per run, so a livelock fails instead of hanging.
const MAX_JOBS_PER_RUN: u64 = 500_000_000;

impl Sim {
    pub fn new(seed: u64, link: LinkModel) -> Self {
        let start = Instant::now();
        Self {
            seed,
            start,
            now: start,
            link,
            timing: Timing::default(),
            hop_limit: hearsay_shared::gossip::DEFAULT_HOP_LIMIT,
            lazy_push: true,
            nodes: Vec::new(),
            traffic: Traffic::default(),
            watched: HashMap::new(),
            jobs_done: 0,
            rng: ChaCha8Rng::seed_from_u64(seed),
            queue: BinaryHeap::new(),
            seq: 0,
            check: Arc::new(MemoCheck::default()),
            origins: Origins::new(),
        }
    }

    /// Virtual time since the start.
    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// The address of node `i`: 127.x.y.z:5000.
    pub fn addr_of(i: usize) -> SocketAddr {
        let n = i as u32 + 1;
        SocketAddr::from((
            Ipv4Addr::new(127, (n >> 16) as u8, (n >> 8) as u8, n as u8),
            5000,
        ))
    }

    /// The node whose address is `addr` ([`Sim::addr_of`] backwards), if there is one.
    fn node_at(&self, addr: SocketAddr) -> Option<usize> {
        let SocketAddr::V4(v4) = addr else {
            return None;
        };
        let [127, a, b, c] = v4.ip().octets() else {
            return None;
        };
        let i = (u32::from_be_bytes([0, a, b, c]) as usize).checked_sub(1)?;
        (self.nodes.get(i)?.addr == addr).then_some(i)
    }

    /// Adds a node (not connected to anything yet). Its key comes from the simulation's RNG.
    pub fn add_node(&mut self, name: &str) -> usize {
        let i = self.nodes.len();
        let addr = Self::addr_of(i);
        let mut seed = [0u8; 32];
        self.rng.fill_bytes(&mut seed);
        let identity = Identity::from_seed(seed);
        let mut config = Config::new(name, self.initial_seq(), self.rng.next_u64());
        config.addrs = vec![addr];
        config.timing = self.timing;
        config.hop_limit = self.hop_limit;
        config.lazy_push = self.lazy_push;
        let gossip = Gossip::with_origins(
            self.now,
            identity.clone(),
            self.check.clone(),
            config.clone(),
            self.origins.clone(),
        );
        self.nodes.push(SimNode {
            addr,
            identity,
            gossip,
            alive: true,
            configured_peers: Vec::new(),
            events: Vec::new(),
            tamper: None,
            wake: None,
            group: 0,
            config,
        });
        self.drain(i);
        i
    }

    /// Sequence numbers start from the virtual wall clock in ms, as the real node's start from the wall clock.
    fn initial_seq(&self) -> u64 {
        self.wall_ms()
    }

    /// The virtual wall clock, in milliseconds since the Unix epoch (it starts in November 2023).
    pub fn wall_ms(&self) -> u64 {
        1_700_000_000_000 + self.elapsed().as_millis() as u64
    }

    /// Counts from now on every datagram any node sends to `addr` (a node's or no one's) in [`Sim::watched`].
    pub fn watch(&mut self, addr: SocketAddr) {
        self.watched.entry(addr).or_default();
    }

    /// Makes node `i` hostile: every packet it sends goes through `tamper` first (which may drop it).
    pub fn set_tamper(&mut self, i: usize, tamper: impl FnMut(Packet) -> Option<Packet> + 'static) {
        self.nodes[i].tamper = Some(Box::new(tamper));
    }

    /// Makes `a` and `b` peers of each other, as `--peers` would.
    pub fn connect(&mut self, a: usize, b: usize) {
        let (addr_a, addr_b) = (self.nodes[a].addr, self.nodes[b].addr);
        self.nodes[a].configured_peers.push(addr_b);
        self.nodes[b].configured_peers.push(addr_a);
        let _ = self.command(a, Command::AddPeer(addr_b));
        let _ = self.command(b, Command::AddPeer(addr_a));
    }

    /// `n` nodes in a line: 0 – 1 – … – n-1.
    pub fn line(&mut self, n: usize) -> Vec<usize> {
        let nodes: Vec<usize> = (0..n).map(|i| self.add_node(&format!("n{i}"))).collect();
        for w in nodes.windows(2) {
            self.connect(w[0], w[1]);
        }
        nodes
    }

    /// `n` nodes in a connected random graph of average degree about `degree`: a ring plus random chords.
    pub fn random_graph(&mut self, n: usize, degree: usize) -> Vec<usize> {
        let nodes: Vec<usize> = (0..n).map(|i| self.add_node(&format!("n{i}"))).collect();
        let mut edges = std::collections::HashSet::new();
        for i in 0..n {
            let j = (i + 1) % n;
            if i != j {
                edges.insert((i.min(j), i.max(j)));
            }
        }
        let target = n * degree / 2;
        let mut tries = 0;
        while edges.len() < target && tries < target * 10 {
            tries += 1;
            let a = self.rng.random_range(0..n);
            let b = self.rng.random_range(0..n);
            if a != b {
                edges.insert((a.min(b), a.max(b)));
            }
        }
        let mut edges: Vec<(usize, usize)> = edges.into_iter().collect();
        edges.sort();
        for (a, b) in edges {
            self.connect(nodes[a], nodes[b]);
        }
        nodes
    }

    /// Gives node `i` a command, as its page would.
    pub fn command(&mut self, i: usize, cmd: Command) -> Result<Option<u64>, CommandError> {
        let now = self.now;
        let result = self.nodes[i].gossip.handle_command(now, cmd);
        self.drain(i);
        result
    }

    /// Sends a private message from `from` to `to`; returns its id.
    pub fn send(&mut self, from: usize, to: usize, payload: Vec<u8>) -> u64 {
        let key = self.nodes[to].key();
        self.command(from, Command::Send { to: key, payload })
            .unwrap_or_else(|e| panic!("sending from {from} to {to}: {e}"))
            .expect("Send returns an id")
    }

    /// Delivers raw bytes to node `to` as if `from` sent them (for forged and replayed datagrams).
    pub fn inject(&mut self, to: usize, from: SocketAddr, bytes: Vec<u8>) {
        let at = self.now;
        self.schedule(at, Job::Inject(Box::new((to, from, bytes))));
    }

    /// Stops node `i`: it neither sends nor receives until restarted.
    pub fn kill(&mut self, i: usize) {
        self.nodes[i].alive = false;
        self.nodes[i].wake = None;
    }

    /// Starts node `i` again with the same key and address, no memory, and a sequence number from the clock.
    pub fn restart(&mut self, i: usize) {
        self.restart_with_clock(i, self.wall_ms());
    }

    /// [`Sim::restart`] with the node's wall clock (and so its first sequence number) at `clock_ms`: e.g. one that
    /// went back.
    pub fn restart_with_clock(&mut self, i: usize, clock_ms: u64) {
        let mut config = self.nodes[i].config.clone();
        config.initial_seq = clock_ms;
        config.clock_ms_at_start = clock_ms;
        config.rng_seed = self.rng.next_u64();
        let node = &mut self.nodes[i];
        node.gossip = Gossip::with_origins(
            self.now,
            node.identity.clone(),
            self.check.clone(),
            config,
            self.origins.clone(),
        );
        node.alive = true;
        node.wake = None;
        let peers = node.configured_peers.clone();
        for peer in peers {
            let _ = self.command(i, Command::AddPeer(peer));
        }
        self.drain(i);
    }

    /// Splits the network: a datagram between nodes of different groups is lost. `group_of(i)` names node i's group.
    pub fn partition(&mut self, group_of: impl Fn(usize) -> u32) {
        for (i, node) in self.nodes.iter_mut().enumerate() {
            node.group = group_of(i);
        }
    }

    pub fn heal(&mut self) {
        self.partition(|_| 0);
    }

    fn schedule(&mut self, at: Instant, job: Job) {
        self.seq += 1;
        self.queue.push(Reverse(Scheduled {
            at: self.nanos(at),
            seq: self.seq,
            job,
        }));
    }

    fn nanos(&self, at: Instant) -> Nanos {
        at.saturating_duration_since(self.start).as_nanos() as Nanos
    }

    fn instant(&self, at: Nanos) -> Instant {
        self.start + Duration::from_nanos(at)
    }

    /// Moves everything node `i` wants done into the queue.
    fn drain(&mut self, i: usize) {
        while let Some(out) = self.nodes[i].gossip.poll_output() {
            match out {
                Output::Transmit { to, bytes } => self.transmit(i, to, bytes),
                Output::Event(event) => match event {
                    Event::PeersChanged | Event::UsersChanged => {}
                    other => self.nodes[i].events.push(other),
                },
                Output::Timeout(at) => {
                    if self.nodes[i].wake != Some(at) {
                        self.nodes[i].wake = Some(at);
                        let job = Job::Wake {
                            node: i as u32,
                            at: self.nanos(at),
                        };
                        self.schedule(at.max(self.now), job);
                    }
                }
            }
        }
    }

    fn transmit(&mut self, from: usize, to: SocketAddr, bytes: Vec<u8>) {
        let bytes = match &mut self.nodes[from].tamper {
            None => bytes,
            Some(tamper) => {
                // The engine only sends what decodes; a tamperer's output is re-encoded within the same bounds.
                let Ok(packet) = hearsay_shared::gossip::decode(&bytes) else {
                    return;
                };
                let Some(changed) = tamper(packet) else {
                    return;
                };
                match hearsay_shared::gossip::encode(&changed) {
                    Ok(bytes) => bytes,
                    Err(_) => return,
                }
            }
        };
        self.traffic.datagrams += 1;
        self.traffic.bytes += bytes.len() as u64;
        // Byte 1 is the packet's variant (after the version byte); every packet the engine sends has one.
        if let Some(kind) = bytes
            .get(1)
            .and_then(|&k| self.traffic.by_kind.get_mut(k as usize))
        {
            kind.0 += 1;
            kind.1 += bytes.len() as u64;
        }
        if let Some(watched) = self.watched.get_mut(&to) {
            watched.datagrams += 1;
            watched.bytes += bytes.len() as u64;
        }
        let Some(dest) = self.node_at(to) else {
            self.traffic.lost += 1;
            return;
        };
        if self.nodes[from].group != self.nodes[dest].group || self.rng.random_bool(self.link.loss)
        {
            self.traffic.lost += 1;
            return;
        }
        let latency = self
            .rng
            .random_range(self.link.min_latency..=self.link.max_latency);
        self.schedule(
            self.now + latency,
            Job::Deliver {
                to: dest as u32,
                from: from as u32,
                bytes: bytes.into_boxed_slice(),
            },
        );
    }

    /// Runs the next job; false if there is none.
    pub fn step(&mut self) -> bool {
        let Some(Reverse(next)) = self.queue.pop() else {
            return false;
        };
        self.now = self.now.max(self.instant(next.at));
        self.jobs_done += 1;
        match next.job {
            Job::Deliver { to, from, bytes } => {
                let from = self.nodes[from as usize].addr;
                self.deliver(to as usize, from, &bytes);
            }
            Job::Inject(datagram) => {
                let (to, from, bytes) = *datagram;
                self.deliver(to, from, &bytes);
            }
            Job::Wake { node, at } => {
                let node = node as usize;
                if self.nodes[node].alive && self.nodes[node].wake == Some(self.instant(at)) {
                    self.nodes[node].wake = None;
                    let now = self.now;
                    self.nodes[node].gossip.handle_timeout(now);
                    self.drain(node);
                }
            }
        }
        true
    }

    fn deliver(&mut self, to: usize, from: SocketAddr, bytes: &[u8]) {
        if self.nodes[to].alive {
            let now = self.now;
            self.nodes[to].gossip.handle_datagram(now, from, bytes);
            self.drain(to);
        }
    }

    /// Runs until `done` holds (checked every 100 ms of virtual time) or `limit` of virtual time passes. Returns the
    /// virtual time it took, or an error naming `what` and the seed.
    pub fn run_until(
        &mut self,
        what: &str,
        limit: Duration,
        mut done: impl FnMut(&Sim) -> bool,
    ) -> Result<Duration, String> {
        self.run_until_checked_every(what, limit, Duration::from_millis(100), &mut done)
    }

    /// [`Sim::run_until`] with a chosen check interval (for expensive predicates on big networks).
    pub fn run_until_checked_every(
        &mut self,
        what: &str,
        limit: Duration,
        every: Duration,
        done: &mut dyn FnMut(&Sim) -> bool,
    ) -> Result<Duration, String> {
        let started = self.now;
        let deadline = started + limit;
        let jobs_at_start = self.jobs_done;
        let mut next_check = self.now;
        let progress = std::env::var_os("HEARSAY_SIM_PROGRESS").is_some();
        let wall = std::time::Instant::now();
        let mut next_report = self.now;
        loop {
            if progress && self.now >= next_report {
                next_report = self.now + Duration::from_secs(1);
                let reach: Vec<usize> = self
                    .nodes
                    .iter()
                    .filter(|n| n.alive)
                    .map(|n| n.gossip.reachable_count())
                    .collect();
                eprintln!(
                    "[sim] t={:?} wall={:?} jobs={} queue={} datagrams={} min_reach={:?} mean_reach={:.1}",
                    self.elapsed(),
                    wall.elapsed(),
                    self.jobs_done,
                    self.queue.len(),
                    self.traffic.datagrams,
                    reach.iter().min(),
                    reach.iter().sum::<usize>() as f64 / reach.len().max(1) as f64
                );
            }
            if self.now >= next_check {
                if done(self) {
                    return Ok(self.now - started);
                }
                next_check = self.now + every;
            }
            let next_at = self.queue.peek().map(|Reverse(s)| self.instant(s.at));
            match next_at {
                Some(at) if at <= deadline => {
                    if at > next_check && done(self) {
                        return Ok(self.now - started);
                    }
                    self.step();
                }
                _ => {
                    self.now = deadline;
                    if done(self) {
                        return Ok(self.now - started);
                    }
                    return Err(format!(
                        "not reached within {limit:?} of virtual time: {what} (seed {seed}; replay with \
                         HEARSAY_SIM_SEED={seed})",
                        seed = self.seed
                    ));
                }
            }
            if self.jobs_done - jobs_at_start > MAX_JOBS_PER_RUN {
                return Err(format!(
                    "over {MAX_JOBS_PER_RUN} jobs without {what} (seed {seed}; replay with HEARSAY_SIM_SEED={seed})",
                    seed = self.seed
                ));
            }
        }
    }

    /// Runs for `span` of virtual time.
    pub fn run_for(&mut self, span: Duration) {
        let deadline = self.now + span;
        let deadline_ns = self.nanos(deadline);
        while self
            .queue
            .peek()
            .is_some_and(|Reverse(s)| s.at <= deadline_ns)
        {
            self.step();
        }
        self.now = deadline;
    }

    /// Whether every live node among `among` has a route to every other live node among them.
    pub fn routes_complete(&self, among: &[usize]) -> bool {
        let live: Vec<usize> = among
            .iter()
            .copied()
            .filter(|&i| self.nodes[i].alive)
            .collect();
        // Cheap necessary condition first: enough routes at all.
        if live
            .iter()
            .any(|&a| self.nodes[a].gossip.reachable_count() + 1 < live.len())
        {
            return false;
        }
        live.iter().all(|&a| {
            let g = &self.nodes[a].gossip;
            live.iter()
                .all(|&b| a == b || g.next_hop(&self.nodes[b].key()).is_some())
        })
    }

    /// The longest route any live node holds, in hops: how many flooding rounds the network needed at least.
    pub fn longest_route_hops(&self) -> u8 {
        self.nodes
            .iter()
            .filter(|n| n.alive)
            .flat_map(|n| n.gossip.users())
            .filter_map(|u| u.hops)
            .max()
            .unwrap_or(0)
    }

    /// How many routes the live nodes hold to users, and how many of them are longer than `limit` hops (a private
    /// message sent with hop limit `limit` along such a route dies on the way).
    pub fn routes_longer_than(&self, limit: u8) -> (usize, usize) {
        let hops = self
            .nodes
            .iter()
            .filter(|n| n.alive)
            .flat_map(|n| n.gossip.users())
            .filter_map(|u| u.hops);
        hops.fold((0, 0), |(longer, all), h| {
            (longer + usize::from(h > limit), all + 1)
        })
    }

    /// Whether every live node has a route to every other live node.
    pub fn all_routes_known(&self) -> bool {
        let all: Vec<usize> = (0..self.nodes.len()).collect();
        self.routes_complete(&all)
    }

    /// Whether node `i` got message `message_id` from `from` with exactly this payload.
    pub fn received(&self, i: usize, from: usize, message_id: u64, payload: &[u8]) -> bool {
        let key = self.nodes[from].key();
        self.nodes[i].events.iter().any(|e| {
            matches!(e, Event::Received { from: f, message_id: id, payload: p }
                if *f == key && *id == message_id && p.as_slice() == payload)
        })
    }

    /// How many times node `i` got message `message_id` (to check duplicates are suppressed).
    pub fn times_received(&self, i: usize, message_id: u64) -> usize {
        self.nodes[i]
            .events
            .iter()
            .filter(|e| matches!(e, Event::Received { message_id: id, .. } if *id == message_id))
            .count()
    }

    /// Whether node `i` was told message `message_id` was delivered.
    pub fn delivered(&self, i: usize, message_id: u64) -> bool {
        self.nodes[i]
            .events
            .iter()
            .any(|e| matches!(e, Event::Delivered { message_id: id, .. } if *id == message_id))
    }

    /// Whether node `i` was told message `message_id` failed.
    pub fn failed(&self, i: usize, message_id: u64) -> bool {
        self.nodes[i]
            .events
            .iter()
            .any(|e| matches!(e, Event::Failed { message_id: id, .. } if *id == message_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Engines in one simulation hold one copy of each announcement between them (what lets 10 000 of them fit).
    #[test]
    fn a_queued_job_takes_48_bytes() {
        assert_eq!(std::mem::size_of::<Reverse<Scheduled>>(), 48);
    }

    #[test]
    fn engines_share_one_copy_of_each_announcement() {
        let mut sim = Sim::new(3, LinkModel::default());
        let nodes = sim.line(4);
        sim.run_until("every route known", Duration::from_secs(30), |s| {
            s.all_routes_known()
        })
        .expect("a line of 4 converges");
        let origin = sim.nodes[nodes[0]].key();
        let held: Vec<Arc<SignedRoute>> = nodes[1..]
            .iter()
            .map(|&i| {
                let all = sim.nodes[i].gossip.announcements();
                all.into_iter()
                    .find(|s| s.route.origin == origin)
                    .expect("a route to node 0")
            })
            .collect();
        assert!(held.windows(2).all(|w| Arc::ptr_eq(&w[0], &w[1])));
        // Its origin keeps the copy it signed; the others share the first good copy decoded from the wire.
        let own = sim.nodes[nodes[0]].gossip.announcements().remove(0);
        assert!(!Arc::ptr_eq(&own, &held[0]) && *own == *held[0]);
    }
}
