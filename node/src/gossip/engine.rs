//! The gossip protocol engine: one sans-IO state machine per node.
//!
//! Drive it like this (the tokio shell and the simulator both do exactly this):
//!
//! ```text
//! let mut gossip = Gossip::new(now, identity, check, config);
//! loop {
//!     // after every input, drain the outputs; the last one before `None` is always the next wake-up
//!     while let Some(out) = gossip.poll_output() {
//!         match out {
//!             Output::Transmit { to, bytes } => { /* send one datagram */ }
//!             Output::Event(event) => { /* tell the page */ }
//!             Output::Timeout(at) => { /* call handle_timeout(at) then, unless another input comes first */ }
//!         }
//!     }
//!     // wait for: a datagram -> handle_datagram(now, from, bytes)
//!     //           a command  -> handle_command(now, cmd)
//!     //           the timer  -> handle_timeout(now)
//! }
//! ```
//!
//! What it does: announces this node (a signed route rumor with a growing sequence number) at start and every route
//! period to all its direct peers; spreads rumors it hears the way Plumtree does, where classic Peerster mongered
//! them to random peers and re-announced every few seconds (see `docs/SCALING.md` for why):
//! - a newer rumor of a known origin is pushed whole to the peers on a broadcast tree and pushed again until their
//!   status acknowledges it; the peers off the tree get an announcement (its origin and sequence number in a status)
//!   after [`Timing::lazy_delay`], and ask for it ([`Packet::Graft`]) if the tree did not bring it; a peer that sends
//!   a rumor we already had by a shorter way is pruned off the tree ([`Packet::Prune`]);
//! - the first rumor of an origin nobody here knew (a user who just joined) is flooded to every peer
//!   ([`Packet::Flood`]), neither retried nor acknowledged, and announced after the lazy delay like the rest, so a
//!   peer that lost every copy asks for it; a peer whose copy arrived before ours left gets neither;
//! - anti-entropy sends a page of the status to a random peer every period, and a full sync to a new peer.
//!
//! It keeps the next-hop table ([`super::routes`]), the peers ([`super::peers`]), private messages in flight
//! ([`super::outbox`]) and incoming ones ([`super::reassembly`]). Every rumor and private message is verified before
//! it changes anything or is forwarded; failures are counted in [`Stats`].
//!
//! Holding up against hostile senders (each limit is a named value in [`Limits`], with its reason):
//! - **No amplification.** An address that is not a peer (the user did not add it, it has not proved it receives)
//!   gets nothing but a [`Packet::Challenge`], no larger than the datagram that provoked it, and only within one
//!   budget shared by all strangers; it becomes a peer when it echoes the cookie ([`Packet::Response`]). So a
//!   spoofed status makes a node send at most 1× back (QUIC's limit is 3×), and a spoofed address never becomes a
//!   peer.
//! - **Fair shares.** Each peer has budgets for private datagrams, for rumors that need a signature check and for
//!   origins it introduces; each origin for how fast its sequence number may advance ([`super::routes`]); partial
//!   and remembered messages are bounded per origin ([`super::reassembly`]).
//! - **Routing around liars.** Hop counts are not signed, so a neighbour can claim to be next to everyone. The route
//!   table keeps alternate next hops, and the engine watches delivery: a fragment retried through the same next hop
//!   without its acknowledgement having come back marks that hop as failing, and the retry goes another way.
//!   Acknowledgements return along the path their fragment took, so a liar off that path cannot swallow them.
//! - **No replays.** A private message carries its origin's signed clock; it is refused outside
//!   [`Limits::max_message_age`] / [`Limits::max_clock_ahead`], and inside the window its id is remembered.
//! - **A clock that went back.** A node that hears its direct neighbour announce an older sequence number than the
//!   one it holds for it sends the newer one back, so a restarted node with an earlier clock jumps past its old
//!   numbers within one round trip.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hearsay_shared::gossip::{
    self, DEFAULT_HOP_LIMIT, KeyPrefix, MAX_ADDRS, MAX_DATAGRAM_BYTES, MAX_MESSAGE_BYTES,
    MAX_RUMORS_PER_DATAGRAM, MAX_SERVICES, MAX_STATUS_ENTRIES, Packet, PrivateBody, PrivateContent,
    PrivateMessage, PublicKey, RouteAnnouncement, Rumor, Service, SignedRoute, Status, StatusScope,
};
use rand::seq::IndexedRandom;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use hearsay_shared::gossip::{CHALLENGE_BYTES, Cookie};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::identity::{Identity, SignatureCheck};
use super::origins::Origins;
use super::outbox::{self, Outbox, RetryPolicy};
use super::peers::{Heard, PeerRates, PeerTable, Proved, Spend};
use super::reassembly::{Accepted, Reassembly, ReassemblyLimits};
use super::routes::{HeardNews, Offer, RouteTable};
use crate::budget::{Bucket, Rate};

/// Periods and lifetimes. The defaults suit a real network; tests may shorten them.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// How often a status page goes to a random peer (background repair of whatever the tree and its lazy
    /// announcements missed).
    pub anti_entropy: Duration,
    /// How often this node announces itself with a new sequence number (each period is drawn between ¾ and all of
    /// this, so the network's announcements spread evenly over time).
    pub route_period: Duration,
    /// How long an announcement stays a usable route.
    pub route_lifetime: Duration,
    /// How long an expired route is remembered (so a replay of it is refused).
    pub forget_routes_after: Duration,
    /// A peer not heard from for this long stops being live.
    pub peer_silence: Duration,
    /// Every peer gets something at least this often, whatever else the engine sends or stops sending: the peer
    /// knows we are alive, and the UDP mapping of a NAT between us stays open, so a node behind a home router
    /// stays reachable through its peer. Home routers drop idle UDP mappings after as little as 30 s (RFC 4787
    /// REQ-5 asks for 2 minutes; many give less); this must stay well below that, and below `peer_silence`.
    pub keepalive: Duration,
    /// A new rumor is announced to the peers off the broadcast tree this long after it arrived, so that its copy
    /// along the tree normally arrives first and the announcement costs nothing but a few bytes. Refreshes wait up
    /// to [`Config::tree_batch_delay`] at each hop of a tree whose branches run ~20 hops, so a shorter delay lets the
    /// announcement overtake the tree's copy: the peer grafts the link, and prunes another on the next duplicate.
    pub lazy_delay: Duration,
    pub retry: RetryPolicy,
    pub reassembly_timeout: Duration,
}

impl Default for Timing {
    /// The periods of a network of thousands: an origin re-announces itself every 9–12 minutes and its route
    /// lives 15 minutes (an announcement repaired late, up to 3 minutes after it left, still arrives in time), so a
    /// node's upkeep is about one announcement per origin per 10.5 minutes instead of one per 10 s. (It was 7.5–10
    /// minutes, mean 8.75: the longer period takes 16 % off the upkeep, which is what brings 10 000 users under
    /// 10 KB/s per node, for 2 minutes less margin before a route whose refresh was lost expires.) A dead node is
    /// found out by trying it: a message to it fails within [`RetryPolicy::deadline`] and it is shown unreachable
    /// (see `docs/SCALING.md`).
    fn default() -> Self {
        Self {
            anti_entropy: Duration::from_secs(10),
            route_period: Duration::from_secs(720),
            route_lifetime: Duration::from_secs(900),
            forget_routes_after: Duration::from_secs(600),
            peer_silence: Duration::from_secs(15),
            keepalive: Duration::from_secs(3),
            lazy_delay: Duration::from_secs(5),
            // Signaling is interactive: retry soon (a 10-hop round trip is well under 500 ms) and often. Routes live
            // 15 minutes, so trying is how a dead node is found out: with nothing acknowledged after 8 s its user is
            // shown unreachable, while the retries go on to the deadline (lossy paths take a while).
            retry: RetryPolicy {
                first: Duration::from_millis(500),
                max: Duration::from_secs(2),
                deadline: Duration::from_secs(30),
                presumed_gone: Duration::from_secs(8),
            },
            reassembly_timeout: Duration::from_secs(30),
        }
    }
}

impl Timing {
    /// The periods of the previous design (kept to measure against): every origin re-announced every 10 s and
    /// its route lived 35 s, a status page to a random peer every second.
    pub fn flooding() -> Self {
        Self {
            anti_entropy: Duration::from_secs(1),
            route_period: Duration::from_secs(10),
            route_lifetime: Duration::from_secs(35),
            ..Self::default()
        }
    }
}

/// A duplicate of a rumor from an origin first heard of this recently does not prune its sender: newcomers'
/// first announcements are flooded, and their duplicates say nothing about the tree.
const NEWCOMER_FLOOD: Duration = Duration::from_secs(10);
/// Pages of a full status sync sent to a new peer per housekeeping tick: 8 × 56 origins a second walks a table of
/// 10 000 in about 22 s (the peer answers each page with what it lacks and with a page of its own where it knows
/// more), ~7 KB/s of statuses while it lasts.
const SYNC_PAGES_PER_TICK: usize = 8;
/// Housekeeping (expiry, sync pages, forgetting old records) runs this often.
const HOUSEKEEPING: Duration = Duration::from_secs(1);

/// What any one sender may ask of a node. The defaults suit a real network; the reasons are beside each value.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Private datagrams handled per second from one peer. Signaling for a call is a few dozen datagrams; a relay in
    /// the middle of many calls forwards a few hundred a second at most. Past this a peer's datagrams are dropped
    /// (their senders retry), so one peer cannot take all of a node's signature checks.
    pub private_per_peer: Rate,
    /// Rumors needing a signature check (a new origin or a newer announcement) per second from one peer. At 10 000
    /// origins announcing every 10 s a peer forwards about 1 000 a second; the burst covers a newcomer's first sync.
    pub rumor_checks_per_peer: Rate,
    /// Origins one peer may introduce per second. Fresh keys cost nothing to make, and routes live 15 minutes, so
    /// this alone would let a flooder fill `max_origins` in under a minute; the table therefore makes room for
    /// others' origins at the expense of the peer that introduced the most ([`super::routes`]). This bounds the
    /// signature checks and churn a flooder causes. The burst lets a node joining a network of a few thousand learn
    /// them from its first peer at once.
    pub new_origins_per_peer: Rate,
    /// How fast one origin may advance its sequence number: a burst for start-up and network changes, then one a
    /// second (honest nodes announce every route period). Stops one key making every node re-flood it constantly.
    pub updates_per_origin: Rate,
    /// Challenges sent per second to all strangers together: at 18 bytes each, at most 18 KB/s of answers to
    /// spoofed addresses, however many datagrams arrive.
    pub challenges: Rate,
    /// Learned peers per IP address (the user's own peers do not count; loopback is exempt): a home behind one
    /// NAT holds a handful of nodes, an attacker's host cannot fill `max_peers` from 64 source ports.
    pub learned_peers_per_ip: usize,
    /// A private message signed longer ago than this (by the origin's clock) is refused: a replay window. It must
    /// exceed the retry deadline (a retried fragment is the same signed message) plus the clock skew tolerated.
    pub max_message_age: Duration,
    /// A private message signed this far in the future is refused too (clock skew the other way).
    pub max_clock_ahead: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            private_per_peer: Rate::new(200, 400),
            rumor_checks_per_peer: Rate::new(2_000, 20_000),
            new_origins_per_peer: Rate::new(500, 2_000),
            updates_per_origin: Rate::new(1, 5),
            challenges: Rate::new(1_000, 1_000),
            learned_peers_per_ip: 16,
            max_message_age: Duration::from_secs(60),
            max_clock_ahead: Duration::from_secs(30),
        }
    }
}

/// How a node starts.
#[derive(Clone, Debug)]
pub struct Config {
    pub name: String,
    /// Addresses this node announces it is reachable at.
    pub addrs: Vec<SocketAddr>,
    pub services: Vec<Service>,
    /// The first sequence number: must exceed any this key used before (the shell uses milliseconds since the Unix
    /// epoch; one announcement per route period never catches up with the clock).
    pub initial_seq: u64,
    /// Seed of the engine's RNG (peer choice, coin flips, message ids).
    pub rng_seed: u64,
    /// Wall-clock time when the engine starts, in milliseconds since the Unix epoch: private messages carry the
    /// time they were signed (the engine adds the time since its start to this).
    pub clock_ms_at_start: u64,
    /// Key of the challenge cookies: secret, and unpredictable in a real node (the shell fills it from the OS RNG).
    pub cookie_key: [u8; 32],
    /// Hop limit of the private messages this node sends.
    pub hop_limit: u8,
    /// Spread new rumors along a broadcast tree and only announce them to the other peers (Plumtree, the
    /// default), or push them to every peer (flooding, the previous design, kept to measure against). See the
    /// module doc.
    pub lazy_push: bool,
    /// Each hop sends a private-message datagram this many times (copies are suppressed by the next hop within
    /// [`COPY_WINDOW`]). End-to-end retries alone lose too much over several lossy hops: at 20 % loss per link a
    /// 6-hop round trip succeeds 7 % of the time; with 2 copies per hop, 60 %.
    pub private_copies: u8,
    /// A newcomer's flood waits this long for others going the same way, to share datagrams (up to 8 rumors per
    /// datagram instead of one each); short, as a user who joins should be reachable everywhere within 2 s.
    pub batch_delay: Duration,
    /// Refreshes pushed along the broadcast tree wait up to this long, to share datagrams: nothing waits for them
    /// (a route lives minutes longer than its refresh period), and at 10 000 users a node passes on ~20 a second,
    /// which went out in ~9 datagrams.
    pub tree_batch_delay: Duration,
    pub timing: Timing,
    pub max_peers: usize,
    pub max_origins: usize,
    pub max_messages_in_flight: usize,
    pub reassembly: ReassemblyLimits,
    pub limits: Limits,
}

impl Config {
    /// A node named `name` whose sequence numbers start at `initial_seq`, which is also taken as its wall clock in
    /// milliseconds (the shell passes the Unix time in milliseconds for both). The cookie key is derived from
    /// `rng_seed`, which suits simulations; a real node sets its own.
    pub fn new(name: impl Into<String>, initial_seq: u64, rng_seed: u64) -> Self {
        let timing = Timing::default();
        let limits = Limits::default();
        let mut cookie_key = [0u8; 32];
        ChaCha8Rng::seed_from_u64(rng_seed ^ 0x636f_6f6b_6965).fill_bytes(&mut cookie_key);
        Self {
            name: name.into(),
            addrs: Vec::new(),
            services: Vec::new(),
            initial_seq,
            rng_seed,
            clock_ms_at_start: initial_seq,
            cookie_key,
            hop_limit: DEFAULT_HOP_LIMIT,
            lazy_push: true,
            batch_delay: Duration::from_millis(20),
            tree_batch_delay: Duration::from_millis(250),
            private_copies: 2,
            timing,
            max_peers: 64,
            max_origins: 20_000,
            max_messages_in_flight: 256,
            reassembly: ReassemblyLimits {
                // A call's signaling has one or two multi-fragment messages in flight (offer, answer); 64 covers
                // many calls at once, and 4 per origin lets one peer renegotiate while an invite is still arriving.
                max_partial: 64,
                max_partial_per_origin: 4,
                // 1 MiB: eighteen of the largest messages, far more than signaling ever holds at once.
                max_bytes: 1 << 20,
                timeout: timing.reassembly_timeout,
                // Everything still inside the replay window (old or ahead) must be remembered.
                remember: limits.max_message_age + limits.max_clock_ahead,
                // 16 384 over the 90 s window is ~180 messages/s delivered here, about one peer's whole private budget;
                // 256 per origin is a dozen call set-ups.
                max_remembered: 16_384,
                max_remembered_per_origin: 256,
            },
            limits,
        }
    }
}

/// What the user (the page, through the shell) asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    AddPeer(SocketAddr),
    DeletePeer(SocketAddr),
    /// The addresses this node is reachable at changed (e.g. a peer's STUN server told it its public address):
    /// announce them at once, with a new sequence number. At most [`MAX_ADDRS`] are kept.
    SetAddrs(Vec<SocketAddr>),
    /// Announce this node now, with a new sequence number: its network changed, so its peers may be seeing it
    /// from a new address, and the rumor from there moves their next hop towards it at once.
    Announce,
    /// The services this node offers others changed (e.g. its STUN and TURN servers turned out to be reachable from
    /// outside, or not): announce them at once, with a new sequence number. At most [`MAX_SERVICES`] are kept.
    SetServices(Vec<Service>),
    /// Send a private message; [`Gossip::handle_command`] returns its id, and later an [`Event::Delivered`] or
    /// [`Event::Failed`] names it.
    Send {
        to: PublicKey,
        payload: Vec<u8>,
    },
}

/// Why a command was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("message of {0} bytes is over the {MAX_MESSAGE_BYTES}-byte limit")]
    TooLarge(usize),
    #[error("too many messages waiting for delivery; try again later")]
    Busy,
    #[error("that is this node itself")]
    ToSelf,
}

/// What happened that the user should know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    PeersChanged,
    UsersChanged,
    Received {
        from: PublicKey,
        message_id: u64,
        payload: Vec<u8>,
    },
    Delivered {
        to: PublicKey,
        message_id: u64,
    },
    Failed {
        to: PublicKey,
        message_id: u64,
    },
}

/// What the engine wants done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    Transmit {
        to: SocketAddr,
        bytes: Vec<u8>,
    },
    Event(Event),
    /// Call [`Gossip::handle_timeout`] at this instant.
    Timeout(Instant),
}

/// Counters, for tests, benchmarks and logs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub datagrams_in: u64,
    pub bytes_in: u64,
    pub datagrams_out: u64,
    pub bytes_out: u64,
    pub malformed: u64,
    pub from_deleted_peers: u64,
    pub bad_signatures: u64,
    pub old_rumors: u64,
    pub table_full: u64,
    pub hop_limit_drops: u64,
    pub no_route_drops: u64,
    pub fragments_refused: u64,
    /// Datagrams from addresses that are not peers (answered with a challenge at most).
    pub from_strangers: u64,
    pub challenges_sent: u64,
    /// Responses whose cookie was not one this node made for that address.
    pub bad_cookies: u64,
    /// Rumors and private datagrams dropped because their peer or origin was over its budget.
    pub over_budget: u64,
    /// Private messages signed outside the replay window.
    pub stale_messages: u64,
    /// Retries sent another way because the next hop they took before never delivered.
    pub rerouted_retries: u64,
}

/// A known user, as the page shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserInfo {
    pub key: PublicKey,
    pub name: String,
    pub hops: Option<u8>,
    pub reachable: bool,
    pub next_hop: Option<SocketAddr>,
    pub addrs: Vec<SocketAddr>,
    pub services: Vec<Service>,
}

/// A direct peer, as the page shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerInfo {
    pub addr: SocketAddr,
    pub last_heard: Option<Instant>,
    pub added_by_user: bool,
    pub live: bool,
}

/// Copies of one private datagram arriving within this window are one: later ones are dropped. Shorter than the
/// first retry, so a retry is never taken for a copy.
pub const COPY_WINDOW: Duration = Duration::from_millis(250);
/// Bound of the recently-seen private datagrams.
const MAX_RECENT_PRIVATE: usize = 16_384;

/// Names one private datagram for copy suppression: (origin, destination, message id, is an ack, fragment index).
type PrivateKey = (PublicKey, PublicKey, u64, bool, u16);
/// Names one fragment: (origin, destination, message id, fragment index).
type FragmentKey = (PublicKey, PublicKey, u64, u16);

/// Where this node sent a fragment, for delivery feedback and for sending its acknowledgement back the same way.
#[derive(Clone, Copy, Debug)]
struct Forwarded {
    /// The peer it came from (`None` when this node is its origin).
    came_from: Option<SocketAddr>,
    via: SocketAddr,
    at: Instant,
}

/// Bound of the fragments remembered for delivery feedback (entries older than the retry deadline are dropped).
const MAX_FORWARDED: usize = 16_384;
/// A next hop that failed to deliver is tried after the others for this long (or until an ack comes through it).
const SUSPECT_FOR: Duration = Duration::from_secs(60);
/// Challenge cookies are made with the current and accepted with the current or previous period's number.
const COOKIE_PERIOD: Duration = Duration::from_secs(60);

/// Most rumors sent in answer to one status (the rest follow on later statuses).
const MAX_RUMORS_PER_STATUS: usize = 64;

/// A rumor pushed along the tree is pushed again if the peer's status has not shown it after this long (datagrams
/// get lost; Plumtree assumes TCP links, we have UDP), at most [`MAX_PUSHES`] times in all.
const PUSH_RETRY: Duration = Duration::from_secs(1);
const MAX_PUSHES: u8 = 5;
/// Rumors received are acknowledged this long after the first of them (one status per peer for all it pushed
/// meanwhile), not one status per datagram: at 10 000 nodes a node gets ~8 datagrams of rumors a second, and their
/// acknowledgements were the largest share of the datagrams it sent. Well under [`PUSH_RETRY`] less a round trip.
const ACK_DELAY: Duration = Duration::from_millis(200);
/// Bound of the rumors pushed and not yet acknowledged (beyond it, the oldest are left to anti-entropy).
const MAX_UNACKED: usize = 16_384;
/// An announced rumor we asked for (grafted) and that has not come is asked for again after this long, from the
/// next peer that announced it, at most [`MAX_GRAFTS`] times in all.
const GRAFT_RETRY: Duration = Duration::from_secs(1);
const MAX_GRAFTS: u8 = 6;
/// Bound of the announced rumors waited for.
const MAX_WANTED: usize = 4_096;
/// Most peers remembered as having announced one rumor.
const MAX_ANNOUNCERS: usize = 4;

/// Statuses waiting to go, per peer: the origins each will list, all sent when the first one added falls due.
#[derive(Debug, Default)]
struct ListedBatch {
    by_peer: std::collections::BTreeMap<SocketAddr, Vec<KeyPrefix>>,
    due: Option<Instant>,
}

impl ListedBatch {
    fn add(
        &mut self,
        peer: SocketAddr,
        prefixes: impl IntoIterator<Item = KeyPrefix>,
        due: Instant,
    ) {
        self.by_peer.entry(peer).or_default().extend(prefixes);
        self.due.get_or_insert(due);
    }

    /// Everything waiting, to be sent now.
    fn take(&mut self) -> std::collections::BTreeMap<SocketAddr, Vec<KeyPrefix>> {
        self.due = None;
        std::mem::take(&mut self.by_peer)
    }
}

/// A rumor waiting in a peer's batch (see `Gossip::forward`).
#[derive(Clone, Copy, Debug)]
struct Push {
    origin: PublicKey,
    /// Pushed again until acknowledged (along the tree). A newcomer's flood is not: every peer sends it to every
    /// other, so a node gets it from each of its peers and one lost copy costs nothing, and keeping each copy for
    /// retry is what made a network starting at once hold ~1.5 pushes per node and origin (15 GB at 10 000 nodes).
    acked: bool,
}

/// A rumor pushed whole to a peer on the tree, until the peer's status shows it holds it.
#[derive(Clone, Copy, Debug)]
struct Unacked {
    seq: u64,
    pushed: Instant,
    pushes: u8,
}

/// A rumor peers announced and we asked for, until it arrives.
#[derive(Clone, Debug)]
struct Wanted {
    seq: u64,
    announcers: Vec<SocketAddr>,
    asked: Instant,
    grafts: u8,
}

/// One node's gossip state machine. See the module doc for how to drive it.
pub struct Gossip {
    identity: Identity,
    check: Arc<dyn SignatureCheck>,
    config: Config,
    rng: ChaCha8Rng,
    own_seq: u64,
    routes: RouteTable,
    peers: PeerTable,
    outbox: Outbox,
    inbox: Reassembly,
    /// Rumors waiting for their batch to leave, per peer on the tree (the newest announcement is taken at flush).
    pending: std::collections::BTreeMap<SocketAddr, Vec<Push>>,
    /// Rumors waiting to be announced (their origins listed in a status) to the peers off the tree.
    lazy_pending: ListedBatch,
    /// Rumors received and not yet acknowledged (see [`ACK_DELAY`]).
    acks: ListedBatch,
    /// Rumors pushed along the tree and not yet acknowledged, by (peer, origin).
    unacked: std::collections::BTreeMap<(SocketAddr, KeyPrefix), Unacked>,
    /// Announced rumors asked for and not yet arrived, by origin.
    wanted: std::collections::BTreeMap<KeyPrefix, Wanted>,
    /// Private datagrams handled lately, for copy suppression.
    recent_private: HashMap<PrivateKey, Instant>,
    /// Fragments this node sent or forwarded lately, until their acknowledgement comes back.
    forwarded: HashMap<FragmentKey, Forwarded>,
    /// Next hops that lately failed to deliver a fragment, and when.
    suspects: HashMap<SocketAddr, Instant>,
    started: Instant,
    challenges: Bucket,
    flush_at: Option<Instant>,
    status_cursor: KeyPrefix,
    next_tick: Instant,
    next_status: Instant,
    next_announce: Instant,
    next_route_expiry: Option<Instant>,
    out: VecDeque<Output>,
    wake_pending: bool,
    peers_changed: bool,
    stats: Stats,
}

impl Gossip {
    pub fn new(
        now: Instant,
        identity: Identity,
        check: Arc<dyn SignatureCheck>,
        config: Config,
    ) -> Self {
        Self::with_origins(now, identity, check, config, Origins::new())
    }

    /// [`Gossip::new`] numbering origins in `origins`, shared with the other engines of the process (the simulator
    /// runs thousands; see [`super::origins`]).
    pub fn with_origins(
        now: Instant,
        identity: Identity,
        check: Arc<dyn SignatureCheck>,
        config: Config,
        origins: Arc<Origins>,
    ) -> Self {
        let own = sign_route(&identity, &config, config.initial_seq);
        let t = config.timing;
        let limits = config.limits;
        Self {
            routes: RouteTable::new(
                own,
                now,
                t.route_lifetime,
                t.forget_routes_after,
                config.max_origins,
                limits.updates_per_origin,
                origins,
            ),
            peers: PeerTable::new(
                t.peer_silence,
                config.max_peers,
                limits.learned_peers_per_ip,
                PeerRates {
                    private: limits.private_per_peer,
                    rumor_checks: limits.rumor_checks_per_peer,
                    new_origins: limits.new_origins_per_peer,
                },
            ),
            outbox: Outbox::new(t.retry, config.max_messages_in_flight),
            inbox: Reassembly::new(config.reassembly),
            rng: ChaCha8Rng::seed_from_u64(config.rng_seed),
            own_seq: config.initial_seq,
            identity,
            check,
            config,
            pending: std::collections::BTreeMap::new(),
            lazy_pending: ListedBatch::default(),
            acks: ListedBatch::default(),
            unacked: Default::default(),
            wanted: Default::default(),
            recent_private: HashMap::new(),
            forwarded: HashMap::new(),
            suspects: HashMap::new(),
            started: now,
            challenges: Bucket::full(limits.challenges, now),
            flush_at: None,
            status_cursor: KeyPrefix::MIN,
            next_tick: now,
            next_status: now + t.anti_entropy,
            next_announce: now,
            next_route_expiry: None,
            out: VecDeque::new(),
            wake_pending: true,
            peers_changed: false,
            stats: Stats::default(),
        }
    }

    // ---- getters ----

    pub fn public_key(&self) -> PublicKey {
        self.identity.public()
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    pub fn own_seq(&self) -> u64 {
        self.own_seq
    }

    /// The next hop towards `key`, if there is a live route.
    pub fn next_hop(&self, key: &PublicKey) -> Option<SocketAddr> {
        self.routes.next_hop(key)
    }

    /// Every signed announcement this node holds, its own included (what it would pass on).
    pub fn announcements(&self) -> Vec<Arc<SignedRoute>> {
        std::iter::once(self.routes.own().clone())
            .chain(self.routes.others().map(|e| e.signed.clone()))
            .collect()
    }

    /// Number of other origins with a live route.
    pub fn reachable_count(&self) -> usize {
        self.routes.reachable_count()
    }

    /// The newest sequence number held for `key` (with or without a live route).
    pub fn known_seq(&self, key: &PublicKey) -> Option<u64> {
        self.routes.get(key).map(|e| e.signed.route.seq)
    }

    /// Every user heard of and not expired, in key order.
    pub fn users(&self) -> Vec<UserInfo> {
        let mut users: Vec<UserInfo> = self
            .routes
            .others()
            .filter(|e| !e.expired)
            .map(|e| UserInfo {
                key: e.signed.route.origin,
                // Signed by its owner, but not to be obeyed: controls and direction overrides are shown, not run.
                name: hearsay_shared::text::escape(&e.signed.route.name),
                hops: e.hops(),
                reachable: e.has_route() && !e.unreachable,
                next_hop: self.routes.path_of(e).and_then(|p| p.next_hop()),
                addrs: e.signed.route.addrs.clone(),
                services: e.signed.route.services.clone(),
            })
            .collect();
        users.sort_by_key(|u| u.key);
        users
    }

    pub fn peers(&self) -> Vec<PeerInfo> {
        self.peers
            .iter()
            .map(|p| PeerInfo {
                addr: p.addr,
                last_heard: p.last_heard,
                added_by_user: p.added_by_user,
                live: p.live,
            })
            .collect()
    }

    // ---- inputs ----

    /// One datagram from `from`. Anything malformed, forged or from a deleted peer is dropped and counted.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) {
        self.wake_pending = true;
        self.stats.datagrams_in += 1;
        self.stats.bytes_in += bytes.len() as u64;
        let packet = match gossip::decode(bytes) {
            Ok(packet) => packet,
            Err(_) => {
                self.stats.malformed += 1;
                return;
            }
        };
        match packet {
            Packet::Challenge(cookie) => self.on_challenge(now, from, cookie),
            Packet::Response(cookie) => self.on_response(now, from, cookie),
            Packet::Rumors(_)
            | Packet::Flood(_)
            | Packet::Status(_)
            | Packet::Private(_)
            | Packet::Prune
            | Packet::Graft(_) => {
                match self.peers.heard(from, now) {
                    Heard::Deleted => self.stats.from_deleted_peers += 1,
                    Heard::Stranger => self.challenge(now, from, bytes.len()),
                    heard @ (Heard::New | Heard::Known) => {
                        if heard == Heard::New {
                            // New, or back from silence: it may have missed anything meanwhile.
                            self.peers_changed = true;
                            self.greet(now, from);
                        }
                        match packet {
                            Packet::Rumors(rumors) => self.on_rumors(now, from, rumors, false),
                            Packet::Flood(rumors) => self.on_rumors(now, from, rumors, true),
                            Packet::Status(status) => self.on_status(now, from, status, false),
                            Packet::Graft(status) => self.on_status(now, from, status, true),
                            Packet::Prune => {
                                // It had what we pushed from elsewhere: no acknowledgement will come, and pushing
                                // again would only repeat the duplicate.
                                self.peers.set_eager(&from, false);
                                self.unacked.retain(|(peer, _), _| *peer != from);
                            }
                            Packet::Private(msg) => self.on_private(now, from, msg),
                            Packet::Challenge(_) | Packet::Response(_) => {}
                        }
                    }
                }
            }
        }
        self.flush_changes();
    }

    // ---- proof of receipt ----

    /// A datagram from an address that is not a peer: answer with a cookie to echo, if that is no more bytes than it
    /// sent and the strangers' budget allows; nothing else.
    fn challenge(&mut self, now: Instant, to: SocketAddr, received: usize) {
        self.stats.from_strangers += 1;
        if received < CHALLENGE_BYTES || !self.challenges.take(self.config.limits.challenges, now) {
            return;
        }
        self.stats.challenges_sent += 1;
        let cookie = self.cookie(to, self.cookie_period(now));
        self.send_packet(now, to, &Packet::Challenge(cookie));
    }

    /// Someone asks us to prove we receive: echo the cookie (same size as the challenge, so no amplification).
    fn on_challenge(&mut self, now: Instant, from: SocketAddr, cookie: Cookie) {
        if self.peers.is_deleted(&from) || !self.challenges.take(self.config.limits.challenges, now)
        {
            return;
        }
        self.send_packet(now, from, &Packet::Response(cookie));
    }

    /// An echo of one of our cookies: the address receives, so it may become a peer; greet it as a new peer.
    fn on_response(&mut self, now: Instant, from: SocketAddr, cookie: Cookie) {
        let period = self.cookie_period(now);
        let valid = cookie == self.cookie(from, period)
            || (period > 0 && cookie == self.cookie(from, period - 1));
        if !valid {
            self.stats.bad_cookies += 1;
            return;
        }
        if self.peers.prove(from, now) == Proved::New {
            self.peers_changed = true;
            self.greet(now, from);
        }
    }

    fn cookie_period(&self, now: Instant) -> u64 {
        (now.saturating_duration_since(self.started).as_secs()) / COOKIE_PERIOD.as_secs()
    }

    /// The cookie for `addr` in `period`: a keyed hash that only this node can make.
    fn cookie(&self, addr: SocketAddr, period: u64) -> Cookie {
        // HMAC takes keys of any length; 32 bytes cannot fail.
        let mut mac =
            <Hmac<Sha256>>::new_from_slice(&self.config.cookie_key).expect("any key length");
        mac.update(&period.to_be_bytes());
        let ip = match addr.ip() {
            std::net::IpAddr::V4(v4) => v4.to_ipv6_mapped(),
            std::net::IpAddr::V6(v6) => v6,
        };
        mac.update(&ip.octets());
        mac.update(&addr.port().to_be_bytes());
        let mut cookie = [0u8; 16];
        cookie.copy_from_slice(&mac.finalize().into_bytes()[..16]);
        Cookie(cookie)
    }

    /// Hello to a new peer: our own route, and a full sync of our status starting now (one page per housekeeping
    /// tick after this first one), so it learns everything we know and, where it knows more, we learn it.
    fn greet(&mut self, now: Instant, addr: SocketAddr) {
        let own = self.own_rumor();
        self.send_rumors(now, addr, vec![own], false);
        let (status, next) = self.routes.status_page(KeyPrefix::MIN, now);
        self.peers.set_sync(&addr, next);
        self.send_packet(now, addr, &Packet::Status(status));
    }

    /// A command from the user. `Send` returns the new message's id.
    pub fn handle_command(
        &mut self,
        now: Instant,
        cmd: Command,
    ) -> Result<Option<u64>, CommandError> {
        self.wake_pending = true;
        let result = match cmd {
            Command::AddPeer(addr) => {
                if self.peers.add(addr, now) {
                    self.peers_changed = true;
                }
                self.greet(now, addr);
                Ok(None)
            }
            Command::DeletePeer(addr) => {
                if self.peers.delete(addr) {
                    self.peers_changed = true;
                }
                let lost = self.routes.drop_via(addr);
                self.withdraw(now, &lost, None);
                self.pending.remove(&addr);
                self.lazy_pending.by_peer.remove(&addr);
                self.acks.by_peer.remove(&addr);
                self.unacked.retain(|(peer, _), _| *peer != addr);
                Ok(None)
            }
            Command::SetAddrs(mut addrs) => {
                addrs.truncate(MAX_ADDRS);
                if addrs != self.config.addrs {
                    self.config.addrs = addrs;
                    self.announce(now);
                }
                Ok(None)
            }
            Command::Announce => {
                self.announce(now);
                self.next_announce = now + self.refresh_delay(false);
                Ok(None)
            }
            Command::SetServices(mut services) => {
                services.truncate(MAX_SERVICES);
                if services != self.config.services {
                    self.config.services = services;
                    self.announce(now);
                }
                Ok(None)
            }
            Command::Send { to, payload } => self.send_private(now, to, payload).map(Some),
        };
        self.flush_changes();
        result
    }

    /// The timer fired (or any later instant).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.wake_pending = true;
        if now >= self.next_announce {
            // The first period after start is drawn from all of it, so nodes started together do not announce
            // together ever after.
            let first = self.own_seq == self.config.initial_seq;
            self.announce(now);
            self.next_announce = now + self.refresh_delay(first);
        }
        if now >= self.next_tick {
            self.tick(now);
            self.next_tick = now + HOUSEKEEPING;
        }
        if now >= self.next_status {
            self.anti_entropy(now);
            self.next_status = now + self.config.timing.anti_entropy;
        }
        self.send_keepalives(now);
        if self.flush_at.is_some_and(|at| now >= at) {
            self.flush_pending(now);
        }
        // Announcements (which a peer lacking one answers with a Graft) and acknowledgements.
        let mut due = Vec::new();
        for batch in [&mut self.lazy_pending, &mut self.acks] {
            if batch.due.is_some_and(|at| now >= at) {
                due.push(batch.take());
            }
        }
        for (target, prefixes) in due.into_iter().flatten() {
            self.send_listed(now, target, prefixes);
        }
        for gone in self.outbox.presumed_gone(now) {
            // Tried and not there: shown unreachable until it announces itself again or a message gets through.
            self.routes.mark_unreachable(&gone);
        }
        let (resend, failed) = self.outbox.due(now);
        for (_, fragment) in resend {
            self.route_private(now, fragment, None);
        }
        for f in failed {
            self.routes.mark_unreachable(&f.to);
            self.out.push_back(Output::Event(Event::Failed {
                to: f.to,
                message_id: f.message_id,
            }));
        }
        self.flush_changes();
    }

    /// The next thing to do. After any input, call until `None`; the last output is always [`Output::Timeout`].
    pub fn poll_output(&mut self) -> Option<Output> {
        if let Some(out) = self.out.pop_front() {
            return Some(out);
        }
        if std::mem::take(&mut self.wake_pending) {
            return Some(Output::Timeout(self.next_wake()));
        }
        None
    }

    fn next_wake(&self) -> Instant {
        let mut at = self.next_tick.min(self.next_announce).min(self.next_status);
        if let Some(t) = self.peers.next_keepalive(self.config.timing.keepalive) {
            at = at.min(t);
        }
        if let Some(t) = self.outbox.next_deadline() {
            at = at.min(t);
        }
        if let Some(t) = self.flush_at {
            at = at.min(t);
        }
        for t in [self.lazy_pending.due, self.acks.due].into_iter().flatten() {
            at = at.min(t);
        }
        at
    }

    // ---- rumors and status ----

    fn own_rumor(&self) -> Rumor {
        Rumor {
            signed: self.routes.own().clone(),
            hops: 0,
        }
    }

    fn announce(&mut self, now: Instant) {
        if self.routes.own().route.seq != self.own_seq {
            let own = sign_route(&self.identity, &self.config, self.own_seq);
            self.routes.set_own(own);
        }
        // The origin tells every direct peer, on the tree or not, so each of them routes to it directly; the tree
        // carries it further.
        let own = self.own_rumor();
        for peer in self.peers.gossip_candidates() {
            self.send_rumors(now, peer, vec![own.clone()], false);
        }
        self.own_seq += 1;
    }

    /// How long until the next announcement: between ¾ and all of the route period (all of it, from 0, for the
    /// first one after start).
    fn refresh_delay(&mut self, first: bool) -> Duration {
        let period = self.config.timing.route_period;
        let low = if first { 0.0 } else { 0.75 };
        period.mul_f64(self.rng.random_range(low..=1.0))
    }

    fn tick(&mut self, now: Instant) {
        for lost in self.peers.expire(now) {
            self.peers_changed = true;
            let gone = self.routes.drop_via(lost);
            self.withdraw(now, &gone, None);
        }
        if self.next_route_expiry.is_none_or(|at| now >= at) {
            self.next_route_expiry = self.routes.expire(now);
        }
        self.inbox.expire(now);
        self.recent_private
            .retain(|_, at| now.saturating_duration_since(*at) < COPY_WINDOW);
        let deadline = self.config.timing.retry.deadline;
        self.forwarded
            .retain(|_, f| now.saturating_duration_since(f.at) < deadline);
        self.suspects
            .retain(|_, at| now.saturating_duration_since(*at) < SUSPECT_FOR);
        self.retry_dissemination(now);
        // Full syncs under way: the next pages of our status to each such peer.
        for (peer, start) in self.peers.syncing() {
            let mut from = Some(start);
            for _ in 0..SYNC_PAGES_PER_TICK {
                let Some(page) = from else { break };
                let (status, next) = self.routes.status_page(page, now);
                self.send_packet(now, peer, &Packet::Status(status));
                from = next;
            }
            self.peers.set_sync(&peer, from);
        }
    }

    /// Anti-entropy: the next page of our status to a random peer.
    fn anti_entropy(&mut self, now: Instant) {
        let candidates = self.peers.gossip_candidates();
        if let Some(&peer) = candidates.choose(&mut self.rng) {
            let (status, next) = self.routes.status_page(self.status_cursor, now);
            self.status_cursor = next.unwrap_or(KeyPrefix::MIN);
            self.send_packet(now, peer, &Packet::Status(status));
        }
    }

    /// Keepalive: every peer hears from us now and then, even the silent ones we were asked to keep. Scheduled on
    /// its own timer, not the anti-entropy period, so NAT mappings stay open whatever the other periods are.
    fn send_keepalives(&mut self, now: Instant) {
        for peer in self
            .peers
            .due_for_keepalive(now, self.config.timing.keepalive)
        {
            // An empty status: the smallest datagram that says "alive" (4 bytes; a page of the table was ~900).
            let empty = Status {
                scope: StatusScope::Listed,
                entries: Vec::new(),
            };
            self.send_packet(now, peer, &Packet::Status(empty));
        }
    }

    /// Rumors from a peer; `flooded` when they came as a [`Packet::Flood`] (not acknowledged: the sender does not wait
    /// for it).
    fn on_rumors(&mut self, now: Instant, from: SocketAddr, rumors: Vec<Rumor>, flooded: bool) {
        let mut fresh = Vec::new();
        let mut restored = Vec::new();
        // Origins we had never heard of: flooded to every peer rather than pushed along the tree, so a user who
        // just joined is reachable everywhere in the time a flood takes (joins are rare; refreshes are not).
        let mut newcomers = Vec::new();
        // A rumor we already had, come the long way round: this link is redundant for the broadcast tree. (Not when
        // ours came straight from its origin, which tells every neighbour directly, tree or not.)
        let mut redundant = false;
        // A rumor we hold through this very peer, sent again: our acknowledgement was lost, so it is due again.
        let mut repeated = false;
        // Anything we already held: its sender waits for an acknowledgement, or a Prune.
        let mut duplicate = false;
        let mut listed = Vec::with_capacity(rumors.len());
        let check = &self.check;
        let mut corrections = Vec::new();
        // Rumors the sender holds as we do (its copy is ours): pushing them back, or announcing them when our path is
        // no shorter than its own, would tell it nothing.
        let mut sender_holds = Vec::new();
        for rumor in &rumors {
            let origin = rumor.signed.route.origin;
            listed.push(origin.prefix());
            // Work that costs a signature check, or a new table entry, is paid from the peer's budget.
            let held = self.routes.get(&origin).map(|e| e.signed.route.seq);
            let affordable = match held {
                _ if origin == self.identity.public() => true,
                None => {
                    self.peers.spend(&from, now, Spend::NewOrigin)
                        && self.peers.spend(&from, now, Spend::RumorCheck)
                }
                Some(seq) if seq < rumor.signed.route.seq => {
                    self.peers.spend(&from, now, Spend::RumorCheck)
                }
                Some(_) => true,
            };
            if !affordable {
                self.stats.over_budget += 1;
                continue;
            }
            let verdict = self
                .routes
                .offer(now, rumor, from, |s| check.admit_route(s));
            // What we hold now, where the sender's copy changed nothing or only the path.
            let entry = match verdict {
                Offer::Duplicate | Offer::Old | Offer::Rerouted => self.routes.get(&origin),
                _ => None,
            };
            if matches!(verdict, Offer::Duplicate | Offer::Old) {
                duplicate = true;
                let path = entry.and_then(|e| self.routes.path_of(e));
                let next_hop = path.and_then(|p| p.next_hop());
                if rumor.hops > 0
                    && entry.is_some_and(|e| self.routes.heard_for(e, now) > NEWCOMER_FLOOD)
                    && path.is_some_and(|p| p.hops() > 1)
                    && next_hop.is_some_and(|hop| hop != from)
                {
                    redundant = true;
                }
                if verdict == Offer::Duplicate && next_hop == Some(from) {
                    repeated = true;
                }
            }
            if matches!(verdict, Offer::Duplicate | Offer::Rerouted) {
                let ours = entry.and_then(|e| e.hops());
                let shorter_here = ours.is_some_and(|hops| u16::from(hops) + 1 < rumor.hops.into());
                sender_holds.push((origin, shorter_here));
            }
            match verdict {
                Offer::Newer if held.is_none() => newcomers.push(origin),
                Offer::Newer => fresh.push(origin),
                Offer::Restored => restored.push(origin.prefix()),
                Offer::Rerouted | Offer::Duplicate => {}
                Offer::Old => {
                    self.stats.old_rumors += 1;
                    // The origin itself (hop count 0) announces a number below the one we hold for it: it restarted
                    // with a clock that went back, or lost its state. Show it its newer announcement so it can jump
                    // past it (it checks the signature); no neighbour would otherwise, as split horizon never sends
                    // a node's route back towards it. One answer per such rumor: no amplification.
                    if rumor.hops == 0
                        && let Some(entry) = self.routes.get(&origin)
                    {
                        corrections.push(Rumor {
                            signed: entry.signed.clone(),
                            hops: entry.hops().unwrap_or(0),
                        });
                    }
                }
                Offer::BadSignature => self.stats.bad_signatures += 1,
                Offer::Full | Offer::PrefixTaken => self.stats.table_full += 1,
                Offer::TooFrequent => self.stats.over_budget += 1,
                Offer::Own => {
                    // Someone holds a newer announcement of ours (we restarted with a clock that went back): jump
                    // past it, if it is really ours.
                    let seq = rumor.signed.route.seq;
                    if seq >= self.own_seq {
                        if self.check.admit_route(&rumor.signed).is_some() {
                            self.own_seq = seq + 1;
                            self.next_announce = now;
                        } else {
                            self.stats.bad_signatures += 1;
                        }
                    }
                }
            }
        }
        if !corrections.is_empty() {
            self.send_rumors(now, from, corrections, false);
        }
        if self.config.lazy_push {
            self.sender_holds(from, &sender_holds);
        }
        let news = !fresh.is_empty() || !newcomers.is_empty();
        let prune =
            !news && redundant && self.config.lazy_push && self.peers.set_eager(&from, false);
        // Acknowledge news with our status for exactly these origins: a sender pushing many (a newcomer's first
        // sync) paces itself on these. A duplicate is acknowledged too unless it prunes the link (a Prune ends the
        // sender's retries): unanswered, a push was repeated up to MAX_PUSHES times. (Flooding acknowledged every
        // batch.) A flood is not: nobody waits for it, and acknowledging each copy of a newcomer's flood doubled the
        // datagrams every join cost the network.
        if !flooded && (news || repeated || (duplicate && !prune) || !self.config.lazy_push) {
            self.acknowledge(now, from, listed);
        }
        if !newcomers.is_empty() {
            self.forward(now, &newcomers, from, true);
        }
        if !fresh.is_empty() {
            self.forward(now, &fresh, from, false);
        }
        if prune {
            self.send_packet(now, from, &Packet::Prune);
        }
        if self.config.lazy_push {
            // Peers that lost the route when we did get it back from us: an announcement is enough (they ask).
            self.announce_to_all_but(now, from, &restored);
        }
    }

    /// `from` showed it holds these origins' rumors as we do (with `true` where our path to the origin is shorter than
    /// its own): what waits for it of them need not go. During a newcomer's flood a peer's copy often arrives before
    /// ours has left for it; the copy going back, and its announcement after the lazy delay, were a third of a join's
    /// datagrams. (Not in the previous design, flooding, kept as it was to measure against.)
    fn sender_holds(&mut self, from: SocketAddr, held: &[(PublicKey, bool)]) {
        if held.is_empty() {
            return;
        }
        if let Some(pushes) = self.pending.get_mut(&from) {
            pushes.retain(|push| !held.iter().any(|(origin, _)| *origin == push.origin));
            if pushes.is_empty() {
                self.pending.remove(&from);
            }
        }
        if let Some(prefixes) = self.lazy_pending.by_peer.get_mut(&from) {
            prefixes.retain(|prefix| {
                !held
                    .iter()
                    .any(|(origin, shorter_here)| !shorter_here && origin.prefix() == *prefix)
            });
        }
        for (origin, _) in held {
            self.unacked.remove(&(from, origin.prefix()));
        }
    }

    /// A status: what the peer holds. `graft` when it came as a [`Packet::Graft`]: the peer also asks to be back on
    /// the broadcast tree.
    fn on_status(&mut self, now: Instant, from: SocketAddr, status: Status, graft: bool) {
        if graft {
            self.peers.set_eager(&from, true);
        }
        if !self.unacked.is_empty() {
            for entry in &status.entries {
                if let Some(u) = self.unacked.get(&(from, entry.origin))
                    && entry.seq >= u.seq
                {
                    self.unacked.remove(&(from, entry.origin));
                }
            }
        }
        // A shorter path heard is passed on: routes learned along the broadcast tree are as long as the tree's
        // branches (36 hops at 1 000 nodes, past the hop limit), and a status reaches only one peer, so without
        // this only the neighbours of a node on a short path ever learned of it. Each origin's hop count only
        // falls until its next announcement, which bounds what this sends.
        let HeardNews { lost, shorter } = self.routes.heard_status(&status.entries, from);
        self.withdraw(now, &lost, Some(from));
        if self.config.lazy_push {
            self.announce_to_all_but(now, from, &shorter);
        }
        let cmp = self.routes.compare(&status, from, now);
        if !cmp.to_send.is_empty() {
            let mut rumors = cmp.to_send;
            rumors.truncate(MAX_RUMORS_PER_STATUS);
            self.send_rumors(now, from, rumors, false);
        }
        if cmp.behind.is_empty() {
            return;
        }
        // Ask for exactly what the peer showed it has newer: our status for those origins (listed, so the answer
        // is rumors, never another page: two peers each behind on something the other will not send — split
        // horizon — would otherwise trade pages forever).
        let reply = self.routes.status_wanted(&cmp.behind, now);
        if self.config.lazy_push && status.scope == StatusScope::Listed {
            // An announced rumor that did not come along the tree: the tree is broken somewhere above us, and
            // this link mends it (Plumtree's GRAFT; the announcement already waited `lazy_delay` for the tree's
            // copy).
            self.peers.set_eager(&from, true);
            let ours: HashMap<KeyPrefix, u64> =
                reply.entries.iter().map(|e| (e.origin, e.seq)).collect();
            for theirs in &status.entries {
                if ours
                    .get(&theirs.origin)
                    .is_some_and(|&seq| theirs.seq > seq)
                {
                    self.want(now, theirs.origin, theirs.seq, from);
                }
            }
            self.send_packet(now, from, &Packet::Graft(reply));
        } else {
            self.send_packet(now, from, &Packet::Status(reply));
        }
    }

    /// Routes to these origins were lost here: tell every peer (but `except`) at once, so those routing through us
    /// drop them too, and any that still has a route offers it back (our status shows one below what we hold).
    fn withdraw(&mut self, now: Instant, lost: &[KeyPrefix], except: Option<SocketAddr>) {
        if lost.is_empty() || !self.config.lazy_push {
            return;
        }
        let statuses: Vec<Packet> = lost
            .chunks(MAX_STATUS_ENTRIES)
            .map(|chunk| Packet::Status(self.routes.status_listed(chunk, now)))
            .collect();
        for peer in self.peers.gossip_candidates() {
            if Some(peer) == except {
                continue;
            }
            for status in &statuses {
                self.send_packet(now, peer, status);
            }
        }
    }

    /// Remembers that `from` announced `origin` at `seq`, which we lack and have asked it for.
    fn want(&mut self, now: Instant, origin: KeyPrefix, seq: u64, from: SocketAddr) {
        if self.wanted.len() >= MAX_WANTED && !self.wanted.contains_key(&origin) {
            return; // anti-entropy will bring it
        }
        let wanted = self.wanted.entry(origin).or_insert(Wanted {
            seq,
            announcers: Vec::new(),
            asked: now,
            grafts: 1,
        });
        wanted.seq = wanted.seq.max(seq);
        if !wanted.announcers.contains(&from) && wanted.announcers.len() < MAX_ANNOUNCERS {
            wanted.announcers.push(from);
        }
    }

    /// Pushes again what the tree did not acknowledge, and asks again (another announcer) for what did not come.
    fn retry_dissemination(&mut self, now: Instant) {
        let mut repush: std::collections::BTreeMap<SocketAddr, Vec<Push>> = Default::default();
        let mut done = Vec::new();
        for (&(peer, prefix), u) in self.unacked.iter_mut() {
            if now.saturating_duration_since(u.pushed) < PUSH_RETRY {
                continue;
            }
            match self.routes.routed(prefix) {
                Some((key, seq))
                    if seq >= u.seq && u.pushes < MAX_PUSHES && self.peers.is_live(&peer) =>
                {
                    u.pushes += 1;
                    u.pushed = now;
                    repush.entry(peer).or_default().push(Push {
                        origin: key,
                        acked: true,
                    });
                }
                _ => done.push((peer, prefix)),
            }
        }
        for key in done {
            self.unacked.remove(&key);
        }
        for (peer, pushes) in repush {
            self.push_rumors(now, peer, pushes, false);
        }

        let mut regraft: std::collections::BTreeMap<SocketAddr, Vec<KeyPrefix>> =
            Default::default();
        let mut done = Vec::new();
        for (&prefix, w) in self.wanted.iter_mut() {
            if self
                .routes
                .routed_seq(prefix)
                .is_some_and(|seq| seq >= w.seq)
            {
                done.push(prefix);
                continue;
            }
            if now.saturating_duration_since(w.asked) < GRAFT_RETRY {
                continue;
            }
            if w.grafts >= MAX_GRAFTS {
                done.push(prefix);
                continue;
            }
            let peer = w.announcers[w.grafts as usize % w.announcers.len()];
            w.grafts += 1;
            w.asked = now;
            regraft.entry(peer).or_default().push(prefix);
        }
        for prefix in done {
            self.wanted.remove(&prefix);
        }
        for (peer, prefixes) in regraft {
            self.peers.set_eager(&peer, true);
            for chunk in prefixes.chunks(MAX_STATUS_ENTRIES) {
                let ask = self.routes.status_wanted(chunk, now);
                self.send_packet(now, peer, &Packet::Graft(ask));
            }
        }
    }

    /// Passes news on: the whole rumors to the peers on the tree (to all of them when flooding, or when `flood`),
    /// an announcement of them to the others. Never back to `except`, the peer they came from.
    fn forward(&mut self, now: Instant, origins: &[PublicKey], except: SocketAddr, flood: bool) {
        let mut lazy = Vec::new();
        for peer in self.peers.gossip_candidates() {
            if peer == except {
                continue;
            }
            if flood || !self.config.lazy_push || self.peers.is_eager(&peer) {
                let pushes = origins.iter().map(|&origin| Push {
                    origin,
                    acked: !flood,
                });
                self.pending.entry(peer).or_default().extend(pushes);
            }
            // A flood is announced as well: its pushes are not retried, so a peer that lost every copy learns of it
            // here and asks (as off the tree).
            if self.config.lazy_push && (flood || !self.peers.is_eager(&peer)) {
                lazy.push(peer);
            }
        }
        let prefixes: Vec<KeyPrefix> = origins.iter().map(PublicKey::prefix).collect();
        self.announce_to(now, lazy, &prefixes);
        if !self.pending.is_empty() {
            let delay = if flood || !self.config.lazy_push {
                self.config.batch_delay
            } else {
                self.config.tree_batch_delay
            };
            let at = now + delay;
            self.flush_at = Some(self.flush_at.map_or(at, |t| t.min(at)));
        }
        if self.config.batch_delay.is_zero() {
            self.flush_pending(now);
        }
    }

    /// Announces these origins (our status for them) to `peers`, after the lazy delay (one status per peer for
    /// everything announced meanwhile).
    fn announce_to(&mut self, now: Instant, peers: Vec<SocketAddr>, prefixes: &[KeyPrefix]) {
        if peers.is_empty() || prefixes.is_empty() {
            return;
        }
        let due = now + self.config.timing.lazy_delay;
        for peer in peers {
            self.lazy_pending.add(peer, prefixes.iter().copied(), due);
        }
    }

    /// Acknowledges these origins' rumors to `from`: our status for them, within [`ACK_DELAY`] (at once in the
    /// previous design, flooding, kept as it was to measure against).
    fn acknowledge(&mut self, now: Instant, from: SocketAddr, listed: Vec<KeyPrefix>) {
        if !self.config.lazy_push {
            let ack = self.routes.status_listed(&listed, now);
            self.send_packet(now, from, &Packet::Status(ack));
            return;
        }
        self.acks.add(from, listed, now + ACK_DELAY);
    }

    /// Sends `to` our status for these origins (repeats dropped), in as many datagrams as that takes; origins we do
    /// not hold (any more) are left out, and nothing is sent if none is left.
    fn send_listed(&mut self, now: Instant, to: SocketAddr, mut prefixes: Vec<KeyPrefix>) {
        prefixes.sort();
        prefixes.dedup();
        for chunk in prefixes.chunks(MAX_STATUS_ENTRIES) {
            let status = self.routes.status_listed(chunk, now);
            if !status.entries.is_empty() {
                self.send_packet(now, to, &Packet::Status(status));
            }
        }
    }

    /// Sends every batch of rumors for the tree that is waiting.
    fn flush_pending(&mut self, now: Instant) {
        self.flush_at = None;
        for (target, pushes) in std::mem::take(&mut self.pending) {
            self.push_rumors(now, target, pushes, true);
        }
    }

    /// Pushes these origins' current rumors to `target` and, for those to be acknowledged, waits for it (`first`: the
    /// first push, else a retry).
    fn push_rumors(
        &mut self,
        now: Instant,
        target: SocketAddr,
        mut pushes: Vec<Push>,
        first: bool,
    ) {
        // One rumor per origin, acknowledged if any of its pushes asked for it.
        pushes.sort_by_key(|p| (p.origin, !p.acked));
        pushes.dedup_by_key(|p| p.origin);
        let rumors: Vec<(Rumor, bool)> = pushes
            .iter()
            .filter_map(|push| {
                let entry = self.routes.get(&push.origin)?;
                let rumor = Rumor {
                    signed: entry.signed.clone(),
                    hops: entry.hops()?,
                };
                Some((rumor, push.acked))
            })
            .collect();
        if self.config.lazy_push && first {
            for (rumor, _) in rumors.iter().filter(|(_, acked)| *acked) {
                let key = (target, rumor.signed.route.origin.prefix());
                if self.unacked.len() < MAX_UNACKED || self.unacked.contains_key(&key) {
                    self.unacked.insert(
                        key,
                        Unacked {
                            seq: rumor.signed.route.seq,
                            pushed: now,
                            pushes: 1,
                        },
                    );
                }
            }
        }
        // What nobody waits for goes as a flood (not acknowledged); the previous design acknowledged everything.
        let (acked, flooded): (Vec<_>, Vec<_>) = rumors
            .into_iter()
            .partition(|(_, acked)| *acked || !self.config.lazy_push);
        for (rumors, flood) in [(acked, false), (flooded, true)] {
            self.send_rumors(
                now,
                target,
                rumors.into_iter().map(|(r, _)| r).collect(),
                flood,
            );
        }
    }

    /// Announces these origins to every peer but `from` (the one we learned them from).
    fn announce_to_all_but(&mut self, now: Instant, from: SocketAddr, prefixes: &[KeyPrefix]) {
        if prefixes.is_empty() {
            return;
        }
        let others: Vec<SocketAddr> = self
            .peers
            .gossip_candidates()
            .into_iter()
            .filter(|p| *p != from)
            .collect();
        self.announce_to(now, others, prefixes);
    }

    // ---- private messages ----

    fn send_private(
        &mut self,
        now: Instant,
        to: PublicKey,
        payload: Vec<u8>,
    ) -> Result<u64, CommandError> {
        if payload.len() > MAX_MESSAGE_BYTES {
            return Err(CommandError::TooLarge(payload.len()));
        }
        if to == self.identity.public() {
            return Err(CommandError::ToSelf);
        }
        if self.outbox.is_full() {
            return Err(CommandError::Busy);
        }
        let mut message_id = self.rng.next_u64();
        while self.outbox.contains(message_id) {
            message_id = self.rng.next_u64();
        }
        let parts = outbox::split(&payload);
        let count = parts.len() as u16; // at most MAX_FRAGMENTS (64): checked through MAX_MESSAGE_BYTES above
        let fragments: Vec<PrivateMessage> = parts
            .into_iter()
            .enumerate()
            .map(|(index, data)| {
                self.sign_private(
                    now,
                    to,
                    message_id,
                    PrivateContent::Fragment {
                        index: index as u16, // < count ≤ 64
                        count,
                        data,
                    },
                )
            })
            .collect();
        for fragment in &fragments {
            self.route_private(now, fragment.clone(), None);
        }
        self.outbox.insert(now, message_id, to, fragments);
        Ok(message_id)
    }

    fn sign_private(
        &self,
        now: Instant,
        to: PublicKey,
        message_id: u64,
        content: PrivateContent,
    ) -> PrivateMessage {
        let body = PrivateBody {
            origin: self.identity.public(),
            destination: to,
            message_id,
            sent_at_ms: self.wall_ms(now),
            max_hops: self.config.hop_limit,
            content,
        };
        PrivateMessage {
            signature: self.identity.sign(&body.signed_bytes()),
            body,
            hop_limit: self.config.hop_limit,
        }
    }

    /// Sends a private message to one hop, with the usual copies.
    fn route_private_to(&mut self, now: Instant, hop: SocketAddr, msg: PrivateMessage) {
        let packet = Packet::Private(msg);
        for _ in 0..self.config.private_copies.max(1) {
            self.send_packet(now, hop, &packet);
        }
    }

    /// This node's wall clock, in milliseconds since the Unix epoch.
    fn wall_ms(&self, now: Instant) -> u64 {
        let since_start = now.saturating_duration_since(self.started).as_millis() as u64;
        self.config.clock_ms_at_start.saturating_add(since_start)
    }

    /// Sends a private message one hop towards its destination. A fragment goes to the best next hop that has not
    /// lately failed to deliver (see the module doc), and is remembered so its acknowledgement can credit that hop
    /// and go back to `came_from`. An acknowledgement goes back the way its fragment came if this node forwarded
    /// it, else along the route. With no next hop it is dropped (counted; the sender retries).
    fn route_private(&mut self, now: Instant, msg: PrivateMessage, came_from: Option<SocketAddr>) {
        let body = &msg.body;
        let next = match body.content {
            PrivateContent::Fragment { index, .. } => {
                let key = (body.origin, body.destination, body.message_id, index);
                if let Some(before) = self.forwarded.get(&key)
                    && now.saturating_duration_since(before.at) >= COPY_WINDOW
                {
                    // A retry, and no acknowledgement came back through the hop it took last time.
                    self.suspects.insert(before.via, now);
                    self.stats.rerouted_retries += 1;
                }
                let hop = self.best_next_hop(&body.destination);
                if let Some(via) = hop
                    && (self.forwarded.len() < MAX_FORWARDED || self.forwarded.contains_key(&key))
                {
                    self.forwarded.insert(
                        key,
                        Forwarded {
                            came_from,
                            via,
                            at: now,
                        },
                    );
                }
                hop
            }
            PrivateContent::Ack { index } => {
                // The acknowledged fragment went from the ack's destination to its origin.
                let key = (body.destination, body.origin, body.message_id, index);
                match self.forwarded.remove(&key) {
                    Some(sent) => {
                        self.suspects.remove(&sent.via); // it delivered
                        sent.came_from
                            .filter(|hop| self.peers.is_live(hop))
                            .or_else(|| self.best_next_hop(&body.destination))
                    }
                    None => self.best_next_hop(&body.destination).or(came_from),
                }
            }
        };
        match next {
            Some(hop) => self.route_private_to(now, hop, msg),
            None => self.stats.no_route_drops += 1,
        }
    }

    /// The live next hop towards `to` that has gone longest without failing to deliver (never is best), the
    /// shortest among equals.
    fn best_next_hop(&self, to: &PublicKey) -> Option<SocketAddr> {
        self.routes
            .candidates(to)
            .into_iter()
            .filter(|hop| self.peers.is_live(hop))
            .min_by_key(|hop| self.suspects.get(hop).copied())
    }

    fn on_private(&mut self, now: Instant, from: SocketAddr, mut msg: PrivateMessage) {
        if !self.peers.spend(&from, now, Spend::Private) {
            self.stats.over_budget += 1;
            return;
        }
        let body = &msg.body;
        let wall = self.wall_ms(now);
        let max_age = self.config.limits.max_message_age.as_millis() as u64;
        let max_ahead = self.config.limits.max_clock_ahead.as_millis() as u64;
        if body.sent_at_ms < wall.saturating_sub(max_age)
            || body.sent_at_ms > wall.saturating_add(max_ahead)
        {
            self.stats.stale_messages += 1;
            return; // a replay, or a clock far off: refused before any signature check
        }
        let (is_ack, index) = match body.content {
            PrivateContent::Fragment { index, .. } => (false, index),
            PrivateContent::Ack { index } => (true, index),
        };
        let copy_key = (
            body.origin,
            body.destination,
            body.message_id,
            is_ack,
            index,
        );
        if self
            .recent_private
            .get(&copy_key)
            .is_some_and(|at| now.saturating_duration_since(*at) < COPY_WINDOW)
        {
            return; // a copy of one handled a moment ago
        }
        if !self
            .check
            .verify(&body.origin, &body.signed_bytes(), &msg.signature)
        {
            self.stats.bad_signatures += 1;
            return;
        }
        if self.recent_private.len() >= MAX_RECENT_PRIVATE {
            self.recent_private.clear(); // only suppresses copies; losing it costs a few duplicate datagrams
        }
        self.recent_private.insert(copy_key, now);
        if body.destination != self.identity.public() {
            if msg.hop_limit <= 1 {
                self.stats.hop_limit_drops += 1;
                return;
            }
            msg.hop_limit -= 1;
            self.route_private(now, msg, Some(from));
            return;
        }
        let origin = body.origin;
        let message_id = body.message_id;
        // Signed by it and arrived: whatever a failed message said, it is reachable.
        self.routes.mark_reached(&origin);
        match &body.content {
            PrivateContent::Ack { index } => {
                // Our own fragment, acknowledged: the hop it took delivers.
                let me = self.identity.public();
                if let Some(sent) = self.forwarded.remove(&(me, origin, message_id, *index)) {
                    self.suspects.remove(&sent.via);
                }
                if let Some(done) = self.outbox.ack(origin, message_id, *index) {
                    self.out.push_back(Output::Event(Event::Delivered {
                        to: done.to,
                        message_id: done.message_id,
                    }));
                }
            }
            PrivateContent::Fragment { index, count, data } => {
                let index = *index;
                match self
                    .inbox
                    .accept(now, origin, message_id, index, *count, data)
                {
                    Accepted::Refused => {
                        self.stats.fragments_refused += 1;
                        return;
                    }
                    Accepted::Complete(payload) => {
                        self.out.push_back(Output::Event(Event::Received {
                            from: origin,
                            message_id,
                            payload,
                        }));
                    }
                    Accepted::Kept | Accepted::Duplicate => {}
                }
                // Back the way the fragment came: that path works, whatever the route table says.
                let ack = self.sign_private(now, origin, message_id, PrivateContent::Ack { index });
                self.route_private_to(now, from, ack);
            }
        }
    }

    // ---- sending ----

    fn send_packet(&mut self, now: Instant, to: SocketAddr, packet: &Packet) {
        match gossip::encode(packet) {
            Ok(bytes) => {
                self.stats.datagrams_out += 1;
                self.stats.bytes_out += bytes.len() as u64;
                self.peers.sent(to, now);
                self.out.push_back(Output::Transmit { to, bytes });
            }
            Err(err) => {
                // Only our own bugs get here: every packet is built within the wire bounds.
                debug_assert!(false, "built an unsendable packet: {err}");
            }
        }
    }

    /// Sends rumors packed into as few datagrams as the limits allow, as a [`Packet::Flood`] when `flood`.
    fn send_rumors(&mut self, now: Instant, to: SocketAddr, rumors: Vec<Rumor>, flood: bool) {
        let packet = if flood { Packet::Flood } else { Packet::Rumors };
        // A one-rumor packet costs 3 bytes of framing (version, variant, count) around the rumor itself.
        const FRAMING: usize = 3;
        let mut batch: Vec<Rumor> = Vec::new();
        let mut size = FRAMING;
        for rumor in rumors {
            let len = gossip::encoded_len(&Packet::Rumors(vec![rumor.clone()])) - FRAMING;
            if !batch.is_empty()
                && (batch.len() == MAX_RUMORS_PER_DATAGRAM || size + len > MAX_DATAGRAM_BYTES)
            {
                self.send_packet(now, to, &packet(std::mem::take(&mut batch)));
                size = FRAMING;
            }
            size += len;
            batch.push(rumor);
        }
        if !batch.is_empty() {
            self.send_packet(now, to, &packet(batch));
        }
    }

    fn flush_changes(&mut self) {
        if std::mem::take(&mut self.peers_changed) {
            self.out.push_back(Output::Event(Event::PeersChanged));
        }
        if self.routes.take_changed() {
            self.out.push_back(Output::Event(Event::UsersChanged));
        }
    }
}

fn sign_route(identity: &Identity, config: &Config, seq: u64) -> Arc<SignedRoute> {
    let route = RouteAnnouncement {
        origin: identity.public(),
        seq,
        name: config.name.clone(),
        addrs: config.addrs.clone(),
        services: config.services.clone(),
    };
    Arc::new(SignedRoute {
        signature: identity.sign(&route.signed_bytes()),
        route,
    })
}
