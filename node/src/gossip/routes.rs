//! The next-hop table: for every origin heard of, its newest signed announcement and the peer to forward through.
//!
//! Rules (DSDV plus expiry):
//! - a newer sequence number always wins and sets the next hop to the peer it came from;
//! - the same sequence number only changes the next hop if it is shorter, or if the route had been lost (its peer
//!   went silent or was deleted) and has not expired yet;
//! - an older sequence number changes nothing (replays are ignored), and the entry is remembered as a tombstone after
//!   its route is gone so an old announcement cannot come back;
//! - a route expires `lifetime` after its sequence number was first accepted; tombstones are forgotten later.
//!
//! Where it departs from DSDV, because hop counts are not signed and a neighbour may lie about them:
//! - besides the shortest path, up to [`MAX_ALTERNATES`] other peers that offered the current announcement are kept
//!   as alternates ([`RouteTable::candidates`]), so the engine can turn to another next hop when the shortest one
//!   stops delivering (it learns that from end-to-end acknowledgements), and a lost peer's routes move to an
//!   alternate at once instead of waiting for the next announcement;
//! - an origin may advance its sequence number only as fast as its [`Rate`] allows (a burst for start-up and network
//!   changes, then one per second): one key bumping its number a thousand times a second cannot make every node
//!   re-flood it a thousand times a second;
//! - when the table is full, a new origin takes the place of the oldest tombstone (a tombstone only guards against a
//!   replay of an expired announcement), or else of the newest origin introduced by the peer that introduced the
//!   most; that peer's own offers are refused. One peer making up keys cannot shut out users others introduce.
//!
//! How an entry is kept small (a node holds one per user, the simulator one per user per node): the announcement is
//! shared ([`SignatureCheck::admit_route`](super::identity::SignatureCheck)), entries sit in a vector indexed by the
//! origin's number in the process ([`super::origins`]: no key beside each entry, no map around it), and next hops
//! and introducers are 2-byte slots ([`Hop`]) behind which the table keeps the addresses, sweeping the slots no
//! entry uses any more.
//!
//! The table also answers status pages: [`RouteTable::status_page`] lists a range of origins,
//! [`RouteTable::compare`] says what a peer's status shows we should send and whether we are behind.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use std::time::{Duration, Instant};

use hearsay_shared::gossip::{
    KeyPrefix, MAX_STATUS_ENTRIES, NO_ROUTE, PublicKey, Rumor, SignedRoute, Status, StatusEntry,
    StatusScope,
};

use super::origins::{OriginId, Origins};
use crate::budget::{MsBucket, Rate};

/// Most alternate next hops kept per origin: enough to route around a liar or two among a node's peers, few enough
/// that the table stays small (each is an address and a hop count).
pub const MAX_ALTERNATES: usize = 3;

/// How to reach an origin. The table keeps next hops as [`Hop`] slots and hands out addresses.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Path<H = SocketAddr> {
    /// This node itself.
    Local,
    /// Through `next_hop`, `hops` hops away.
    Via { next_hop: H, hops: u8 },
}

impl<H: Copy> Path<H> {
    /// The next hop, unless this is the node itself.
    pub fn next_hop(&self) -> Option<H> {
        match self {
            Path::Local => None,
            Path::Via { next_hop, .. } => Some(*next_hop),
        }
    }

    pub fn hops(&self) -> u8 {
        match self {
            Path::Local => 0,
            Path::Via { hops, .. } => *hops,
        }
    }
}

/// One origin.
#[derive(Clone, Debug)]
pub struct RouteEntry {
    /// The announcement as admitted (see [`SignatureCheck::admit_route`](super::identity::SignatureCheck)): shared
    /// with the rumors that pass it on.
    pub signed: Arc<SignedRoute>,
    /// `None` once the route expired or its peer was lost (a tombstone that still remembers `signed.route.seq`).
    /// Its address: [`RouteTable::path_of`].
    path: Option<Path<Hop>>,
    /// Other peers that offered the current announcement: (next hop, hops), shortest first.
    alternates: Alternates,
    /// When the current sequence number stops being a usable route (on the table's clock, [`Ms`]).
    expires: Ms,
    /// The route expired: the origin stopped announcing itself, so it is not shown any more (the entry stays a while
    /// as a tombstone against replays).
    pub expired: bool,
    /// A message to it failed to arrive (no acknowledgement before the retry deadline): shown as unreachable until
    /// it announces itself again or a message gets through. Its path is kept and still tried.
    pub unreachable: bool,
    /// How fast the origin may advance its sequence number (see the module doc).
    updates: MsBucket,
    /// The peer that first told us of this origin (for making room fairly when the table is full).
    introduced_by: Option<Hop>,
    /// When we first heard of this origin.
    first_heard: Ms,
}

impl RouteEntry {
    fn seq(&self) -> u64 {
        self.signed.route.seq
    }

    /// Its times, after the table's clock moved its epoch `by` ms later ([`TableClock::shift_due`]).
    fn shift(&mut self, by: u32) {
        self.expires = Ms(self.expires.0.saturating_sub(by));
        self.first_heard = Ms(self.first_heard.0.saturating_sub(by));
        self.updates.shift(by);
    }

    /// Whether there is a live route (the origin is this node, or a next hop is known).
    pub fn has_route(&self) -> bool {
        self.path.is_some()
    }

    /// Hops to the origin while there is a live route.
    pub fn hops(&self) -> Option<u8> {
        self.path.map(|p| p.hops())
    }

    /// `peer` holds our announcement `hops` away (see [`RouteTable::heard_status`]). Returns what it did, and whether
    /// our path changed.
    fn offered_hops(&mut self, hops: u8, peer: Hop) -> (StatusNews, bool) {
        let Some(Path::Via {
            next_hop,
            hops: ours,
        }) = self.path
        else {
            return (StatusNews::Nothing, false);
        };
        if hops == NO_ROUTE || self.expired || next_hop == peer {
            return (StatusNews::Nothing, false);
        }
        let theirs = hops.saturating_add(1);
        if theirs >= ours && self.alternates.contains(peer, theirs) {
            return (StatusNews::Nothing, false); // heard before: every status repeats it
        }
        self.alternates.remove(peer);
        let shorter = theirs < ours;
        if shorter {
            self.alternates.insert(next_hop, ours);
            self.path = Some(Path::Via {
                next_hop: peer,
                hops: theirs,
            });
        } else {
            self.alternates.insert(peer, theirs);
        }
        if shorter {
            (StatusNews::Shorter, true)
        } else {
            (StatusNews::Nothing, false)
        }
    }

    /// `peer` holds an older announcement than ours: it lost the route (see [`RouteTable::heard_status`]). Returns
    /// what it did, and whether our path changed.
    fn withdrawn_by(&mut self, peer: Hop) -> (StatusNews, bool) {
        self.alternates.remove(peer);
        if !matches!(self.path, Some(Path::Via { next_hop, .. }) if next_hop == peer) {
            return (StatusNews::Nothing, false);
        }
        match self.alternates.take_shortest() {
            None => {
                self.path = None;
                (StatusNews::Lost, true)
            }
            Some((next_hop, hops)) => {
                self.path = Some(Path::Via { next_hop, hops });
                (StatusNews::Nothing, true)
            }
        }
    }
}

/// What a peer's status did to our routes (see [`RouteTable::heard_status`]).
#[derive(Debug, Default)]
pub struct HeardNews {
    /// Origins whose route was through the peer, which lost it, with no alternate: we lost them too.
    pub lost: Vec<KeyPrefix>,
    /// Origins our path to got shorter (through the peer).
    pub shorter: Vec<KeyPrefix>,
}

/// What one entry of a peer's status did to our route (see [`RouteTable::heard_status`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum StatusNews {
    Nothing,
    /// Our path got shorter (through the peer).
    Shorter,
    /// Our route was through the peer, which lost it, and there is no alternate: we lost it too.
    Lost,
}

/// What offering a rumor to the table did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Offer {
    /// A newer announcement (or a first one): accepted, worth spreading.
    Newer,
    /// Same announcement, now with a shorter path.
    Rerouted,
    /// Same announcement, with a path again after its route was lost (its peer went silent): news for the peers
    /// that lost it too.
    Restored,
    /// Nothing new.
    Duplicate,
    /// Older than what we hold: a replay or a straggler. Ignored.
    Old,
    /// The signature did not verify. Dropped.
    BadSignature,
    /// About this node itself.
    Own,
    /// The table is full and the offering peer introduced the most of it. Dropped.
    Full,
    /// Another key with the same 8-byte prefix is known (statuses could not tell them apart). Dropped.
    PrefixTaken,
    /// The origin advances its sequence number faster than its rate allows. Dropped (its next one will do).
    TooFrequent,
}

/// The next-hop table. See the module doc for the rules.
#[derive(Debug)]
pub struct RouteTable {
    me: PublicKey,
    me_id: OriginId,
    origins: Arc<Origins>,
    /// By origin number; each entry holds its number in `origins` once.
    entries: Vec<Option<RouteEntry>>,
    /// How many entries are `Some`.
    len: usize,
    /// The clock entries keep their times on.
    clock: TableClock,
    lifetime: Duration,
    forget_after: Duration,
    max_origins: usize,
    update_rate: Rate,
    /// How many of the entries each peer introduced.
    introduced: HashMap<Hop, usize>,
    /// The addresses behind the entries' [`Hop`]s.
    hops: HopSlots,
    /// Set whenever something the users list shows changed; cleared by [`RouteTable::take_changed`].
    changed: bool,
}

impl RouteTable {
    /// A table holding only this node's own announcement, numbering origins in `origins`.
    pub fn new(
        own: Arc<SignedRoute>,
        now: Instant,
        lifetime: Duration,
        forget_after: Duration,
        max_origins: usize,
        update_rate: Rate,
        origins: Arc<Origins>,
    ) -> Self {
        let me = own.route.origin;
        let me_id = origins
            .hold(&me)
            .expect("no other key has this node's prefix (2^-64 by chance; 2^64 work to aim at)");
        let mut table = Self {
            me,
            me_id,
            origins,
            entries: Vec::new(),
            len: 0,
            clock: TableClock { epoch: now },
            lifetime,
            forget_after,
            max_origins,
            update_rate,
            introduced: HashMap::new(),
            hops: HopSlots::default(),
            changed: false,
        };
        table.put(
            me_id,
            RouteEntry {
                signed: own,
                expired: false,
                unreachable: false,
                path: Some(Path::Local),
                alternates: Alternates::default(),
                expires: Ms(0),
                updates: MsBucket::full(update_rate, 0),
                introduced_by: None,
                first_heard: Ms(0),
            },
        );
        table
    }

    /// Stores `entry` under `id`, which the caller holds for it (the table releases it when the entry goes).
    fn put(&mut self, id: OriginId, entry: RouteEntry) {
        let i = id.index();
        if i >= self.entries.len() {
            // Every table of a process grows to about the numbering's size: take that at once, and at least an
            // eighth more when the numbering grows one origin at a time (a network joined one node at a time), so
            // a table is reallocated a few dozen times, not once per origin, and never holds a quarter spare.
            let len = self.entries.len();
            let want = (i + 1).max(self.origins.capacity()).max(len + len / 8);
            self.entries.reserve_exact(want - len);
            self.entries.resize_with(want, || None);
        }
        let old = self.entries[i].replace(entry);
        debug_assert!(old.is_none(), "one hold per entry");
        self.len += 1;
    }

    fn slot(&self, id: OriginId) -> Option<&RouteEntry> {
        self.entries.get(id.index())?.as_ref()
    }

    fn slot_mut(&mut self, id: OriginId) -> Option<&mut RouteEntry> {
        self.entries.get_mut(id.index())?.as_mut()
    }

    /// Every entry, with its number.
    fn held(&self) -> impl Iterator<Item = (OriginId, &RouteEntry)> {
        self.entries
            .iter()
            .zip(0u32..)
            .filter_map(|(e, i)| Some((OriginId::from_index(i), e.as_ref()?)))
    }

    /// Every next hop towards `origin` while its route is live: the shortest first, then the alternates.
    pub fn candidates(&self, origin: &PublicKey) -> Vec<SocketAddr> {
        let Some(entry) = self.get(origin) else {
            return Vec::new();
        };
        let Some(Path::Via { next_hop, .. }) = entry.path else {
            return Vec::new();
        };
        std::iter::once(next_hop)
            .chain(entry.alternates.iter().map(|(hop, _)| hop))
            .map(|hop| self.hops.addr(hop))
            .collect()
    }

    /// Makes room for a new origin offered by `from`, if the table is full: the oldest tombstone goes, or else the
    /// newest origin of the peer that introduced the most (unless that is `from` itself, which is refused). So a
    /// peer making up keys fills at most the room others leave, and cannot shut out users introduced by others —
    /// with routes living 15 minutes, a rate limit alone would let one flooder fill the table.
    fn make_room(&mut self, from: Hop) -> bool {
        if self.len <= self.max_origins {
            return true;
        }
        let oldest_tombstone = self
            .held()
            .filter(|(_, e)| e.path.is_none())
            .min_by_key(|(_, e)| e.expires)
            .map(|(id, _)| id);
        let victim = match oldest_tombstone {
            Some(key) => key,
            None => {
                let Some((&biggest, _)) = self.introduced.iter().max_by_key(|(_, n)| **n) else {
                    return false;
                };
                if biggest == from {
                    return false;
                }
                let newest = self
                    .held()
                    .filter(|(_, e)| e.introduced_by == Some(biggest))
                    .max_by_key(|(_, e)| e.expires)
                    .map(|(id, _)| id);
                match newest {
                    Some(key) => key,
                    None => return false,
                }
            }
        };
        self.remove(victim);
        true
    }

    fn remove(&mut self, id: OriginId) {
        if let Some(entry) = self.entries.get_mut(id.index()).and_then(Option::take) {
            self.len -= 1;
            self.origins.release(id);
            self.forget_introducer(entry.introduced_by);
        }
    }

    fn forget_introducer(&mut self, by: Option<Hop>) {
        if let Some(by) = by
            && let Some(n) = self.introduced.get_mut(&by)
        {
            *n -= 1;
            if *n == 0 {
                self.introduced.remove(&by);
            }
        }
    }

    /// The slot of `addr`, given one if it has none. When the slots run out, the ones no entry mentions any more
    /// are freed first (a scan of the table, once per [`HOP_SLOTS_BEFORE_SWEEP`] new addresses). `None` only if
    /// more addresses than slots are in use at once.
    fn hop_for(&mut self, addr: SocketAddr) -> Option<Hop> {
        if let Some(hop) = self.hops.find(addr) {
            return Some(hop);
        }
        if self.hops.needs_sweep() {
            let mut used = vec![false; self.hops.len()];
            for (_, entry) in self.held() {
                for hop in entry
                    .path
                    .and_then(|p| p.next_hop())
                    .into_iter()
                    .chain(entry.alternates.iter().map(|(hop, _)| hop))
                    .chain(entry.introduced_by)
                {
                    used[usize::from(hop.0)] = true;
                }
            }
            self.hops.keep_only(&used);
        }
        self.hops.insert(addr)
    }

    /// Replaces this node's own announcement (a new sequence number).
    pub fn set_own(&mut self, own: Arc<SignedRoute>) {
        if let Some(entry) = self.slot_mut(self.me_id) {
            entry.signed = own;
        }
    }

    pub fn own(&self) -> &Arc<SignedRoute> {
        // The own entry is inserted by `new` and never removed (expiry skips `Path::Local`).
        &self.slot(self.me_id).expect("the own entry").signed
    }

    pub fn get(&self, origin: &PublicKey) -> Option<&RouteEntry> {
        self.slot(self.origins.find(origin)?)
    }

    fn get_mut(&mut self, origin: &PublicKey) -> Option<&mut RouteEntry> {
        let id = self.origins.find(origin)?;
        self.slot_mut(id)
    }

    /// The next hop towards `origin`, if there is a live route.
    pub fn next_hop(&self, origin: &PublicKey) -> Option<SocketAddr> {
        self.path(origin)?.next_hop()
    }

    /// The path to `origin`, if there is a live route.
    pub fn path(&self, origin: &PublicKey) -> Option<Path> {
        self.path_of(self.get(origin)?)
    }

    /// `entry`'s path with its next hop's address.
    pub fn path_of(&self, entry: &RouteEntry) -> Option<Path> {
        Some(match entry.path? {
            Path::Local => Path::Local,
            Path::Via { next_hop, hops } => Path::Via {
                next_hop: self.hops.addr(next_hop),
                hops,
            },
        })
    }

    /// How long ago this table first heard of `entry`'s origin.
    pub fn heard_for(&self, entry: &RouteEntry, now: Instant) -> Duration {
        Duration::from_millis(u64::from(
            self.clock.at(now).0.saturating_sub(entry.first_heard.0),
        ))
    }

    /// Every origin other than this node, with or without a live route (in no particular order).
    pub fn others(&self) -> impl Iterator<Item = &RouteEntry> {
        self.held()
            .filter(|(id, _)| *id != self.me_id)
            .map(|(_, e)| e)
    }

    /// Number of other origins with a live route.
    pub fn reachable_count(&self) -> usize {
        self.others().filter(|e| e.has_route()).count()
    }

    pub fn take_changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }

    /// Offers a rumor heard from `from`. `admit` checks its signature and returns the copy to keep (`None`: bad
    /// signature); it is called only when the rumor would change the table, so replays and duplicates cost no
    /// signature check.
    pub fn offer(
        &mut self,
        now: Instant,
        rumor: &Rumor,
        from: SocketAddr,
        admit: impl FnOnce(&Arc<SignedRoute>) -> Option<Arc<SignedRoute>>,
    ) -> Offer {
        let route = &rumor.signed.route;
        if route.origin == self.me {
            return Offer::Own;
        }
        let Some(from) = self.hop_for(from) else {
            return Offer::Full; // only with tens of thousands of peers' addresses in the table at once
        };
        let hops = rumor.hops.saturating_add(1);
        let via = Path::Via {
            next_hop: from,
            hops,
        };
        let Ok(numbered) = self.origins.lookup(&route.origin) else {
            return Offer::PrefixTaken;
        };
        let Some(id) = numbered.filter(|&id| self.slot(id).is_some()) else {
            if !self.make_room(from) {
                return Offer::Full;
            }
            let Some(signed) = admit(&rumor.signed) else {
                return Offer::BadSignature;
            };
            let Ok(id) = self.origins.hold(&route.origin) else {
                return Offer::PrefixTaken;
            };
            let at = self.clock.at(now);
            let mut updates = MsBucket::full(self.update_rate, at.0);
            updates.take(self.update_rate, at.0);
            self.put(
                id,
                RouteEntry {
                    signed,
                    path: Some(via),
                    alternates: Alternates::default(),
                    expires: at.after(self.lifetime),
                    expired: false,
                    unreachable: false,
                    updates,
                    introduced_by: Some(from),
                    first_heard: at,
                },
            );
            *self.introduced.entry(from).or_default() += 1;
            self.changed = true;
            return Offer::Newer;
        };
        let entry = self.entries[id.index()].as_mut().expect("held just above");
        if route.seq < entry.seq() {
            return Offer::Old;
        }
        if route.seq > entry.seq() {
            let Some(signed) = admit(&rumor.signed) else {
                return Offer::BadSignature;
            };
            // Only a verified announcement spends the origin's budget: forgeries cannot use up an honest origin's.
            if !entry.updates.take(self.update_rate, self.clock.at(now).0) {
                return Offer::TooFrequent;
            }
            if entry.path != Some(via) || entry.signed.route.name != route.name {
                self.changed = true;
            }
            entry.signed = signed;
            entry.path = Some(via);
            entry.alternates = Alternates::default();
            entry.expires = self.clock.at(now).after(self.lifetime);
            if entry.expired || entry.unreachable {
                self.changed = true;
            }
            entry.expired = false;
            entry.unreachable = false;
            return Offer::Newer;
        }
        // Same sequence number. An identical announcement was verified when first accepted; a different one with the
        // same number is not trusted without its own check.
        let same = Arc::ptr_eq(&rumor.signed, &entry.signed) || rumor.signed == entry.signed;
        let current = match entry.path {
            Some(Path::Local) => return Offer::Duplicate,
            Some(Path::Via { next_hop, hops }) => Some((next_hop, hops)),
            None => None,
        };
        let restorable = current.is_none() && self.clock.at(now) < entry.expires;
        let shorter = current.is_some_and(|(_, old)| hops < old);
        let new_alternate =
            current.is_some_and(|(hop, _)| hop != from) && !entry.alternates.has(from);
        if !(restorable || shorter || new_alternate) {
            return Offer::Duplicate;
        }
        if !same && admit(&rumor.signed).is_none() {
            return Offer::BadSignature;
        }
        entry.alternates.remove(from);
        if restorable || shorter {
            if let Some((hop, hops)) = current {
                entry.alternates.insert(hop, hops);
            }
            entry.path = Some(via);
            self.changed = true;
        } else {
            entry.alternates.insert(from, hops);
        }
        if restorable {
            Offer::Restored
        } else if shorter {
            Offer::Rerouted
        } else {
            Offer::Duplicate
        }
    }

    /// Ends routes whose time is up and forgets tombstones older than `forget_after`. Returns the earliest instant
    /// at which calling again can change anything.
    pub fn expire(&mut self, now: Instant) -> Option<Instant> {
        if let Some(by) = self.clock.shift_due(now) {
            for entry in self.entries.iter_mut().flatten() {
                entry.shift(by);
            }
        }
        let at = self.clock.at(now);
        let forget_after = self.forget_after;
        let mut changed = false;
        let mut next: Option<Ms> = None;
        let mut forgotten = Vec::new();
        for (i, slot) in self.entries.iter_mut().enumerate() {
            let Some(entry) = slot else { continue };
            if entry.path == Some(Path::Local) {
                continue;
            }
            if at >= entry.expires && !entry.expired {
                entry.expired = true;
                entry.path = None;
                entry.alternates = Alternates::default();
                changed = true;
            }
            let deadline = if entry.expired {
                entry.expires.after(forget_after)
            } else {
                entry.expires
            };
            if entry.expired && at >= deadline {
                forgotten.push(OriginId::from_index(i as u32));
                continue;
            }
            next = Some(next.map_or(deadline, |n| n.min(deadline)));
        }
        for id in forgotten {
            self.remove(id);
        }
        self.changed |= changed;
        next.map(|ms| self.clock.instant(ms))
    }

    /// A message to `origin` was not acknowledged in time: show it as unreachable (see [`RouteEntry::unreachable`]).
    pub fn mark_unreachable(&mut self, origin: &PublicKey) {
        if let Some(entry) = self.get_mut(origin)
            && !entry.unreachable
        {
            entry.unreachable = true;
            self.changed = true;
        }
    }

    /// Something signed by `origin` arrived here: it is reachable after all.
    pub fn mark_reached(&mut self, origin: &PublicKey) {
        if let Some(entry) = self.get_mut(origin)
            && entry.unreachable
        {
            entry.unreachable = false;
            self.changed = true;
        }
    }

    /// Drops every route through `peer` (deleted or silent); a route with an alternate moves to it at once.
    /// Returns the origins whose route is lost (no alternate to move to).
    pub fn drop_via(&mut self, peer: SocketAddr) -> Vec<KeyPrefix> {
        let Some(peer) = self.hops.find(peer) else {
            return Vec::new(); // no entry mentions it
        };
        let mut lost = Vec::new();
        for entry in self.entries.iter_mut().flatten() {
            entry.alternates.remove(peer);
            if matches!(entry.path, Some(Path::Via { next_hop, .. }) if next_hop == peer) {
                entry.path = match entry.alternates.take_shortest() {
                    None => {
                        lost.push(entry.signed.route.origin.prefix());
                        None
                    }
                    Some((next_hop, hops)) => Some(Path::Via { next_hop, hops }),
                };
                self.changed = true;
            }
        }
        lost
    }

    /// One entry of `peer`'s status, against ours for the same origin (one lookup for both rules):
    /// - **the same announcement**, `hops` away from the peer: a shorter way there than ours becomes our path (ours an
    ///   alternate), a longer one an alternate. A lost or expired route is not restored this way (the rumor itself
    ///   restores it). [`StatusNews::Shorter`] when our path got shorter: the engine tells its other peers, so shorter
    ///   paths spread as in distance-vector routing.
    /// - **a lower sequence number** than ours: the peer lost the route. If it was our next hop, our route is gone
    ///   too (moved to an alternate if there is one); [`StatusNews::Lost`] when there was none. This is how a broken route
    ///   is withdrawn downstream (a status is the withdrawal: a lost route is reported one below what is held);
    ///   without it, nodes beyond the break would keep routing into it, and restore it from each other in a loop,
    ///   until the origin's next announcement — minutes, now that announcements are rare.
    pub fn heard_status(&mut self, heard: &[StatusEntry], peer: SocketAddr) -> HeardNews {
        let mut news = HeardNews::default();
        let Some(peer) = self.hop_for(peer) else {
            return news;
        };
        for entry in heard {
            match self.heard_entry(entry, peer) {
                StatusNews::Lost => news.lost.push(entry.origin),
                StatusNews::Shorter => news.shorter.push(entry.origin),
                StatusNews::Nothing => {}
            }
        }
        news
    }

    fn heard_entry(&mut self, heard: &StatusEntry, peer: Hop) -> StatusNews {
        let Some(id) = self.origins.find_prefix(heard.origin) else {
            return StatusNews::Nothing;
        };
        let Some(Some(entry)) = self.entries.get_mut(id.index()) else {
            return StatusNews::Nothing;
        };
        let (verdict, changed) = match heard.seq.cmp(&entry.seq()) {
            std::cmp::Ordering::Less => entry.withdrawn_by(peer),
            std::cmp::Ordering::Equal => entry.offered_hops(heard.hops, peer),
            std::cmp::Ordering::Greater => (StatusNews::Nothing, false),
        };
        self.changed |= changed;
        verdict
    }

    /// The sequence number we report in a status: one less than we hold when we lost the route early and would
    /// take the same announcement again.
    fn reported_seq(&self, entry: &RouteEntry, now: Instant) -> u64 {
        if entry.path.is_none() && self.clock.at(now) < entry.expires {
            entry.seq().saturating_sub(1)
        } else {
            entry.seq()
        }
    }

    /// The page of our status starting at `from`: up to [`MAX_STATUS_ENTRIES`] origins. Returns the status and where
    /// the next page starts (`None` after the last page).
    pub fn status_page(&self, from: KeyPrefix, now: Instant) -> (Status, Option<KeyPrefix>) {
        let mut entries = Vec::with_capacity(MAX_STATUS_ENTRIES);
        let mut more = false;
        self.origins.walk_from(from, |prefix, id| {
            let Some(entry) = self.slot(id) else {
                return true;
            };
            if entries.len() == MAX_STATUS_ENTRIES {
                more = true;
                return false;
            }
            entries.push(StatusEntry {
                origin: prefix,
                seq: self.reported_seq(entry, now),
                hops: reported_hops(entry),
            });
            true
        });
        let (to, next) = match (more, entries.last()) {
            (true, Some(last)) if last.origin != KeyPrefix::MAX => (
                last.origin,
                Some(KeyPrefix::from_u64(last.origin.as_u64() + 1)),
            ),
            _ => (KeyPrefix::MAX, None),
        };
        (
            Status {
                scope: StatusScope::Range { from, to },
                entries,
            },
            next,
        )
    }

    /// Our status for exactly these origins (the acknowledgement of a batch of rumors, or the answer to one).
    pub fn status_listed(&self, origins: &[KeyPrefix], now: Instant) -> Status {
        self.listed(origins, now, false)
    }

    /// Like [`RouteTable::status_listed`], but an origin we do not know is listed too, at sequence number 0: the
    /// answer to an announcement, asking for whatever it announced that we lack.
    pub fn status_wanted(&self, origins: &[KeyPrefix], now: Instant) -> Status {
        self.listed(origins, now, true)
    }

    fn listed(&self, origins: &[KeyPrefix], now: Instant, unknown_too: bool) -> Status {
        let mut entries: Vec<StatusEntry> = origins
            .iter()
            .filter_map(|prefix| {
                let entry = self.by_prefix(*prefix);
                (entry.is_some() || unknown_too).then(|| StatusEntry {
                    origin: *prefix,
                    seq: entry.map_or(0, |entry| self.reported_seq(entry, now)),
                    hops: entry.map_or(NO_ROUTE, reported_hops),
                })
            })
            .collect();
        entries.sort_by_key(|e| e.origin);
        entries.dedup_by_key(|e| e.origin);
        Status {
            scope: StatusScope::Listed,
            entries,
        }
    }

    /// The sequence number held for the origin with this key prefix, with a live route.
    pub fn routed_seq(&self, prefix: KeyPrefix) -> Option<u64> {
        let entry = self.by_prefix(prefix)?;
        entry.has_route().then(|| entry.seq())
    }

    /// The full key and the sequence number of the origin with this key prefix, while it has a live route.
    pub fn routed(&self, prefix: KeyPrefix) -> Option<(PublicKey, u64)> {
        let entry = self.by_prefix(prefix)?;
        entry
            .has_route()
            .then(|| (entry.signed.route.origin, entry.seq()))
    }

    /// The origin with this key prefix (one key per prefix: see [`super::origins`]).
    fn by_prefix(&self, prefix: KeyPrefix) -> Option<&RouteEntry> {
        self.slot(self.origins.find_prefix(prefix)?)
    }

    /// Compares a peer's status with ours: the rumors the peer lacks that we can route (never offering a peer a route
    /// through itself), and whether the peer holds anything newer than we do.
    pub fn compare(&self, status: &Status, peer: SocketAddr, now: Instant) -> Comparison {
        let peer = self.hops.find(peer);
        // Both sides in prefix order, one entry per origin (a status is at most a page long).
        let mut theirs: Vec<(KeyPrefix, u64)> =
            status.entries.iter().map(|e| (e.origin, e.seq)).collect();
        theirs.sort_unstable();
        theirs.dedup_by_key(|(prefix, _)| *prefix);
        let mut ours: Vec<(KeyPrefix, &RouteEntry)> = Vec::new();
        match status.scope {
            StatusScope::Range { from, to } => {
                self.origins.walk(from, to, |prefix, id| {
                    if let Some(entry) = self.slot(id) {
                        ours.push((prefix, entry));
                    }
                    true
                });
            }
            StatusScope::Listed => {
                ours.extend(
                    theirs
                        .iter()
                        .filter_map(|&(prefix, _)| Some((prefix, self.by_prefix(prefix)?))),
                );
            }
        }
        let their_seq = |prefix: KeyPrefix| {
            let at = theirs.binary_search_by_key(&prefix, |(p, _)| *p).ok()?;
            Some(theirs[at].1)
        };
        let mut to_send = Vec::new();
        for &(prefix, entry) in &ours {
            let Some(path) = entry.path else { continue };
            if let Path::Via { next_hop, .. } = path
                && Some(next_hop) == peer
            {
                continue; // split horizon
            }
            match their_seq(prefix) {
                Some(seq) if seq >= entry.seq() => {}
                _ => to_send.push(Rumor {
                    signed: entry.signed.clone(),
                    hops: path.hops(),
                }),
            }
        }
        let behind: Vec<KeyPrefix> = theirs
            .iter()
            .filter(
                |&&(prefix, seq)| match ours.binary_search_by_key(&prefix, |(p, _)| *p) {
                    Ok(at) => seq > self.reported_seq(ours[at].1, now),
                    Err(_) => true,
                },
            )
            .map(|(prefix, _)| *prefix)
            .collect();
        Comparison { to_send, behind }
    }
}

impl Drop for RouteTable {
    /// Lets go of every number this table holds (a restarted simulated node drops its table and makes a new one).
    fn drop(&mut self) {
        for (id, _) in self.held() {
            self.origins.release(id);
        }
    }
}

/// What a peer's status shows.
#[derive(Debug, Default)]
pub struct Comparison {
    /// Rumors the peer lacks.
    pub to_send: Vec<Rumor>,
    /// The origins where the peer holds something newer than we do (or that we do not know), sorted.
    pub behind: Vec<KeyPrefix>,
}

/// The hop count a status gives for an entry.
fn reported_hops(entry: &RouteEntry) -> u8 {
    entry.path.map_or(NO_ROUTE, |p| p.hops().min(NO_ROUTE - 1))
}

/// A next hop or introducer as the table stores it: a slot in `HopSlots` (2 bytes where an address takes 32; a
/// table holds several per origin, and the simulator 10 000 tables).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct Hop(u16);

/// A route's alternates: up to [`MAX_ALTERNATES`] (next hop, hops), shortest first, kept in place (10 bytes; a
/// vector would be 24 and an allocation).
#[derive(Clone, Copy, Debug, Default)]
struct Alternates {
    next_hops: [Hop; MAX_ALTERNATES],
    hops: [u8; MAX_ALTERNATES],
    len: u8,
}

impl Alternates {
    fn iter(&self) -> impl Iterator<Item = (Hop, u8)> + '_ {
        let n = usize::from(self.len);
        self.next_hops[..n]
            .iter()
            .copied()
            .zip(self.hops[..n].iter().copied())
    }

    fn has(&self, next_hop: Hop) -> bool {
        self.iter().any(|(hop, _)| hop == next_hop)
    }

    fn contains(&self, next_hop: Hop, hops: u8) -> bool {
        self.iter().any(|alt| alt == (next_hop, hops))
    }

    /// Adds one after those no longer than it (so among equals the older comes first); the longest beyond
    /// [`MAX_ALTERNATES`] is dropped, the new one included.
    fn insert(&mut self, next_hop: Hop, hops: u8) {
        let n = usize::from(self.len);
        let at = self.hops[..n].iter().take_while(|&&h| h <= hops).count();
        if at == MAX_ALTERNATES {
            return;
        }
        let end = n.min(MAX_ALTERNATES - 1);
        self.next_hops.copy_within(at..end, at + 1);
        self.hops.copy_within(at..end, at + 1);
        self.next_hops[at] = next_hop;
        self.hops[at] = hops;
        self.len = (end + 1) as u8;
    }

    fn remove(&mut self, next_hop: Hop) {
        let n = usize::from(self.len);
        if let Some(at) = self.next_hops[..n].iter().position(|&hop| hop == next_hop) {
            self.next_hops.copy_within(at + 1..n, at);
            self.hops.copy_within(at + 1..n, at);
            self.len -= 1;
        }
    }

    fn take_shortest(&mut self) -> Option<(Hop, u8)> {
        let first = self.iter().next()?;
        self.remove(first.0);
        Some(first)
    }
}

/// An instant on a table's clock: whole milliseconds since its epoch (4 bytes where an `Instant` takes 16; a table
/// keeps two per origin).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
struct Ms(u32);

impl Ms {
    fn after(self, span: Duration) -> Ms {
        let span = u32::try_from(span.as_millis()).unwrap_or(u32::MAX);
        Ms(self.0.saturating_add(span))
    }
}

/// Converts instants to [`Ms`]. Its epoch moves forward every ~25 days ([`TableClock::shift_due`]) so that a node
/// running for months never runs out of milliseconds: entries are 15 minutes old at most (25 with their tombstone),
/// and an older "first heard" or bucket time only needs to stay old.
#[derive(Debug)]
struct TableClock {
    epoch: Instant,
}

/// When the clock reads this, its epoch moves [`CLOCK_SHIFT`] later (both far below `u32::MAX` ms, ~49 days).
const CLOCK_SHIFT_AT: u32 = 1 << 31;
const CLOCK_SHIFT: u32 = 1 << 30;

impl TableClock {
    fn at(&self, now: Instant) -> Ms {
        let ms = now.saturating_duration_since(self.epoch).as_millis();
        Ms(u32::try_from(ms).unwrap_or(u32::MAX))
    }

    fn instant(&self, ms: Ms) -> Instant {
        self.epoch + Duration::from_millis(u64::from(ms.0))
    }

    /// Moves the epoch forward if it is due: by how many ms (every entry's times go back by as much).
    fn shift_due(&mut self, now: Instant) -> Option<u32> {
        if self.at(now).0 < CLOCK_SHIFT_AT {
            return None;
        }
        self.epoch += Duration::from_millis(u64::from(CLOCK_SHIFT));
        Some(CLOCK_SHIFT)
    }
}

/// New addresses given slots before the table sweeps the unused ones (see [`RouteTable::hop_for`]). Peers are far
/// fewer, so a sweep is rare; it is a walk over the table.
const HOP_SLOTS_BEFORE_SWEEP: usize = 1024;

/// The addresses behind [`Hop`]s.
#[derive(Debug, Default)]
struct HopSlots {
    addrs: Vec<Option<SocketAddr>>,
    index: HashMap<SocketAddr, Hop>,
    free: Vec<Hop>,
    /// Slots in all (used or free) at which the next sweep is due.
    sweep_at: usize,
}

impl HopSlots {
    fn find(&self, addr: SocketAddr) -> Option<Hop> {
        self.index.get(&addr).copied()
    }

    /// The address of a slot an entry holds (such a slot is never freed: see [`RouteTable::hop_for`]).
    fn addr(&self, hop: Hop) -> SocketAddr {
        self.addrs[usize::from(hop.0)].expect("a slot in use has its address")
    }

    fn len(&self) -> usize {
        self.addrs.len()
    }

    /// No free slot, and [`HOP_SLOTS_BEFORE_SWEEP`] slots were made since the last sweep.
    fn needs_sweep(&self) -> bool {
        self.free.is_empty() && self.addrs.len() >= self.sweep_at.max(HOP_SLOTS_BEFORE_SWEEP)
    }

    fn insert(&mut self, addr: SocketAddr) -> Option<Hop> {
        let hop = match self.free.pop() {
            Some(hop) => hop,
            None => {
                let hop = Hop(u16::try_from(self.addrs.len()).ok()?);
                self.addrs.push(None);
                hop
            }
        };
        self.addrs[usize::from(hop.0)] = Some(addr);
        self.index.insert(addr, hop);
        Some(hop)
    }

    /// Frees every slot not marked `used`.
    fn keep_only(&mut self, used: &[bool]) {
        self.sweep_at = self.addrs.len() + HOP_SLOTS_BEFORE_SWEEP;
        for (i, slot) in self.addrs.iter_mut().enumerate() {
            if !used[i]
                && let Some(addr) = slot.take()
            {
                self.index.remove(&addr);
                self.free.push(Hop(i as u16));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearsay_shared::gossip::{RouteAnnouncement, Signature};

    /// What `admit` does for a good signature: keeps the announcement as it came.
    fn good(signed: &Arc<SignedRoute>) -> Option<Arc<SignedRoute>> {
        Some(signed.clone())
    }

    fn forged(_: &Arc<SignedRoute>) -> Option<Arc<SignedRoute>> {
        None
    }

    fn signed(origin: u8, seq: u64) -> Arc<SignedRoute> {
        Arc::new(SignedRoute {
            route: RouteAnnouncement {
                origin: PublicKey([origin; 32]),
                seq,
                name: format!("n{origin}"),
                addrs: vec![],
                services: vec![],
            },
            signature: Signature::from_bytes(&[0; 64]),
        })
    }

    fn rumor(origin: u8, seq: u64, hops: u8) -> Rumor {
        Rumor {
            signed: signed(origin, seq),
            hops,
        }
    }

    const LIFE: Duration = Duration::from_secs(30);

    const UPDATES: Rate = Rate::new(1000, 1000);

    fn table(now: Instant) -> RouteTable {
        RouteTable::new(
            signed(0, 1),
            now,
            LIFE,
            LIFE * 10,
            100,
            UPDATES,
            Origins::new(),
        )
    }

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn newer_sequence_wins_older_is_ignored_and_never_verified() {
        let t0 = Instant::now();
        let mut t = table(t0);
        assert_eq!(t.offer(t0, &rumor(1, 5, 2), addr(1), good), Offer::Newer);
        assert_eq!(t.next_hop(&PublicKey([1; 32])), Some(addr(1)));
        assert_eq!(
            t.offer(t0, &rumor(1, 4, 0), addr(2), |_| panic!("no check for old")),
            Offer::Old
        );
        assert_eq!(t.offer(t0, &rumor(1, 6, 7), addr(2), good), Offer::Newer);
        assert_eq!(t.next_hop(&PublicKey([1; 32])), Some(addr(2)));
    }

    #[test]
    fn same_sequence_only_moves_to_a_shorter_path() {
        let t0 = Instant::now();
        let mut t = table(t0);
        t.offer(t0, &rumor(1, 5, 3), addr(1), good);
        assert_eq!(
            t.offer(t0, &rumor(1, 5, 3), addr(2), good),
            Offer::Duplicate
        );
        assert_eq!(t.offer(t0, &rumor(1, 5, 1), addr(2), good), Offer::Rerouted);
        assert_eq!(t.get(&PublicKey([1; 32])).unwrap().hops(), Some(2));
    }

    #[test]
    fn bad_signature_changes_nothing() {
        let t0 = Instant::now();
        let mut t = table(t0);
        assert_eq!(
            t.offer(t0, &rumor(1, 5, 0), addr(1), forged),
            Offer::BadSignature
        );
        assert!(t.get(&PublicKey([1; 32])).is_none());
    }

    #[test]
    fn routes_expire_and_a_replay_after_expiry_stays_ignored() {
        let t0 = Instant::now();
        let mut t = table(t0);
        t.offer(t0, &rumor(1, 5, 0), addr(1), good);
        t.take_changed();
        t.expire(t0 + LIFE);
        assert!(t.take_changed());
        assert_eq!(t.next_hop(&PublicKey([1; 32])), None);
        let later = t0 + LIFE + Duration::from_secs(1);
        assert_eq!(
            t.offer(later, &rumor(1, 5, 0), addr(1), good),
            Offer::Duplicate
        );
        assert_eq!(t.offer(later, &rumor(1, 4, 0), addr(1), good), Offer::Old);
        t.expire(t0 + LIFE * 12);
        assert!(t.get(&PublicKey([1; 32])).is_none(), "tombstone forgotten");
    }

    #[test]
    fn a_lost_peer_drops_its_routes_which_come_back_through_another() {
        let t0 = Instant::now();
        let mut t = table(t0);
        t.offer(t0, &rumor(1, 5, 0), addr(1), good);
        t.drop_via(addr(1));
        assert_eq!(t.next_hop(&PublicKey([1; 32])), None);
        let (status, _) = t.status_page(KeyPrefix::MIN, t0);
        assert!(
            status.entries.iter().any(|e| e.seq == 4),
            "asks again for seq 5"
        );
        assert_eq!(t.offer(t0, &rumor(1, 5, 1), addr(2), good), Offer::Restored);
        assert_eq!(t.next_hop(&PublicKey([1; 32])), Some(addr(2)));
    }

    #[test]
    fn an_expired_route_is_no_longer_listed_and_an_unreachable_one_comes_back_when_reached() {
        let t0 = Instant::now();
        let mut t = table(t0);
        let key = PublicKey([1; 32]);
        t.offer(t0, &rumor(1, 5, 0), addr(1), good);
        t.mark_unreachable(&key);
        assert!(t.get(&key).is_some_and(|e| e.unreachable && e.has_route()));
        t.mark_reached(&key);
        assert!(t.get(&key).is_some_and(|e| !e.unreachable));
        t.mark_unreachable(&key);
        // A newer announcement clears it too.
        t.offer(t0, &rumor(1, 6, 0), addr(1), good);
        assert!(t.get(&key).is_some_and(|e| !e.unreachable && !e.expired));
        t.expire(t0 + LIFE);
        assert!(t.get(&key).is_some_and(|e| e.expired && !e.has_route()));
        assert_eq!(
            t.offer(t0 + LIFE, &rumor(1, 6, 0), addr(2), good),
            Offer::Duplicate
        );
        assert_eq!(
            t.offer(t0 + LIFE, &rumor(1, 7, 0), addr(2), good),
            Offer::Newer
        );
        assert!(t.get(&key).is_some_and(|e| !e.expired));
    }

    #[test]
    fn status_pages_cover_everything_in_bounded_pieces() {
        let t0 = Instant::now();
        let mut t = RouteTable::new(
            signed(0, 1),
            t0,
            LIFE,
            LIFE,
            10_000,
            UPDATES,
            Origins::new(),
        );
        for i in 1..=200u32 {
            let mut key = [0u8; 32];
            key[..4].copy_from_slice(&(i * 7_919).to_be_bytes());
            key[31] = 1;
            let mut r = rumor(1, 1, 0);
            Arc::make_mut(&mut r.signed).route.origin = PublicKey(key);
            t.offer(t0, &r, addr(1), good);
        }
        let mut from = Some(KeyPrefix::MIN);
        let mut seen = 0;
        let mut pages = 0;
        while let Some(f) = from {
            let (status, next) = t.status_page(f, t0);
            assert!(status.entries.len() <= MAX_STATUS_ENTRIES);
            seen += status.entries.len();
            pages += 1;
            from = next;
        }
        assert_eq!(seen, 201);
        assert_eq!(pages, 201usize.div_ceil(MAX_STATUS_ENTRIES));
    }

    #[test]
    fn comparing_statuses_finds_what_each_side_lacks() {
        let t0 = Instant::now();
        let mut a = table(t0);
        a.offer(t0, &rumor(1, 5, 0), addr(1), good);
        a.offer(t0, &rumor(2, 5, 0), addr(2), good);
        let mut b = RouteTable::new(signed(9, 1), t0, LIFE, LIFE, 100, UPDATES, Origins::new());
        b.offer(t0, &rumor(1, 6, 0), addr(1), good);
        let (b_status, _) = b.status_page(KeyPrefix::MIN, t0);
        // a is asked by b (at addr 50): b lacks a's own route and origin 2; b is newer on origin 1.
        let cmp = a.compare(&b_status, addr(50), t0);
        let sent: Vec<u8> = cmp
            .to_send
            .iter()
            .map(|r| r.signed.route.origin.0[0])
            .collect();
        assert_eq!(sent, vec![0, 2]);
        assert!(!cmp.behind.is_empty());
        // Split horizon: a never offers b a route whose next hop is b itself.
        let cmp = a.compare(&b_status, addr(2), t0);
        let sent: Vec<u8> = cmp
            .to_send
            .iter()
            .map(|r| r.signed.route.origin.0[0])
            .collect();
        assert_eq!(sent, vec![0]);
    }

    /// The simulator keeps one entry per origin per node (10^8 at 10 000 nodes): this is what it costs.
    #[test]
    fn an_entry_takes_48_bytes() {
        assert_eq!(std::mem::size_of::<Option<RouteEntry>>(), 48);
    }

    #[test]
    fn alternates_stay_shortest_first_and_drop_the_longest() {
        let mut alts = Alternates::default();
        for (hop, hops) in [(1, 5), (2, 3), (3, 5), (4, 4)] {
            alts.insert(Hop(hop), hops);
        }
        let held: Vec<(u16, u8)> = alts.iter().map(|(h, n)| (h.0, n)).collect();
        assert_eq!(
            held,
            [(2, 3), (4, 4), (1, 5)],
            "the later of two equals is dropped"
        );
        alts.insert(Hop(5), 9);
        assert!(!alts.has(Hop(5)), "longer than all three");
        alts.remove(Hop(4));
        assert_eq!(alts.take_shortest(), Some((Hop(2), 3)));
        assert_eq!(alts.take_shortest(), Some((Hop(1), 5)));
        assert_eq!(alts.take_shortest(), None);
    }

    #[test]
    fn a_table_clock_moves_its_epoch_without_changing_what_expires_when() {
        let t0 = Instant::now();
        let mut t = table(t0);
        let late = t0 + Duration::from_millis(u64::from(CLOCK_SHIFT_AT)) + LIFE;
        t.offer(late, &rumor(1, 5, 0), addr(1), good);
        let next = t.expire(late + Duration::from_secs(1));
        assert_eq!(
            t.clock.epoch,
            t0 + Duration::from_millis(u64::from(CLOCK_SHIFT))
        );
        assert_eq!(next, Some(late + LIFE), "the same deadline after the shift");
        assert!(t.next_hop(&PublicKey([1; 32])).is_some());
        t.expire(late + LIFE);
        assert!(t.next_hop(&PublicKey([1; 32])).is_none());
    }

    #[test]
    fn a_second_key_with_a_known_prefix_is_refused_until_the_first_is_forgotten() {
        let t0 = Instant::now();
        let mut t = table(t0);
        t.offer(t0, &rumor(1, 5, 0), addr(1), good);
        let mut twin = rumor(1, 5, 0);
        Arc::make_mut(&mut twin.signed).route.origin.0[31] = 2;
        assert_eq!(
            t.offer(t0, &twin, addr(1), |_| panic!("no check for a refused key")),
            Offer::PrefixTaken
        );
        assert!(t.get(&twin.signed.route.origin).is_none());
        t.expire(t0 + LIFE * 12);
        assert!(t.get(&PublicKey([1; 32])).is_none(), "forgotten");
        assert_eq!(t.offer(t0 + LIFE * 12, &twin, addr(1), good), Offer::Newer);
    }

    #[test]
    fn tables_sharing_a_numbering_let_go_of_what_they_forget() {
        let t0 = Instant::now();
        let origins = Origins::new();
        let new = |own| {
            RouteTable::new(
                signed(own, 1),
                t0,
                LIFE,
                LIFE,
                100,
                UPDATES,
                origins.clone(),
            )
        };
        let (mut a, mut b) = (new(0), new(9));
        a.offer(t0, &rumor(1, 5, 0), addr(1), good);
        b.offer(t0, &rumor(1, 5, 0), addr(1), good);
        assert_eq!(b.get(&PublicKey([1; 32])).map(|e| e.seq()), Some(5));
        a.expire(t0 + LIFE * 3);
        assert!(a.get(&PublicKey([1; 32])).is_none());
        assert!(b.get(&PublicKey([1; 32])).is_some(), "b still holds it");
        drop(b);
        assert_eq!(origins.find(&PublicKey([1; 32])), None, "nobody holds it");
        assert_eq!(origins.find(&PublicKey([9; 32])), None);
        assert!(origins.find(&PublicKey([0; 32])).is_some(), "a's own");
    }

    #[test]
    fn next_hops_keep_their_addresses_while_unused_slots_are_swept() {
        let t0 = Instant::now();
        let mut t = table(t0);
        t.offer(t0, &rumor(1, 5, 0), addr(1), good);
        // Origin 2's next hop moves through 3 000 peers in turn, each leaving no trace once the next takes over.
        let last = 3000u16;
        for i in 0..last {
            let now = t0 + Duration::from_millis(5 * u64::from(i));
            let verdict = t.offer(now, &rumor(2, 5 + u64::from(i), 0), addr(1000 + i), good);
            assert_eq!(verdict, Offer::Newer);
        }
        assert_eq!(t.next_hop(&PublicKey([1; 32])), Some(addr(1)));
        assert_eq!(t.next_hop(&PublicKey([2; 32])), Some(addr(1000 + last - 1)));
        assert!(
            t.hops.len() <= 2 * HOP_SLOTS_BEFORE_SWEEP,
            "{} slots for 3 addresses in use",
            t.hops.len()
        );
        // The first peer still introduced origin 2: its slot was kept through the sweeps.
        let first = t
            .hops
            .find(addr(1000))
            .expect("the introducer keeps its slot");
        assert_eq!(t.hops.addr(first), addr(1000));
    }
}
