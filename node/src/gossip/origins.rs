//! Numbers for origins: every route table in a process names an origin by one small number ([`OriginId`]) and keeps
//! its entries in a vector indexed by it, instead of a map keyed by the 32-byte key.
//!
//! A node holds one route per user, so what a route costs is what its upkeep costs in memory; the simulator holds
//! one per user *per node* (N² in all), which is what decided whether 10 000 nodes fit in one process. Numbering
//! origins once per process (not once per table) makes an entry a plain slot in a vector: no key stored beside it,
//! no tree nodes, one index to find it. The numbering also keeps the order statuses need: status pages walk origins
//! by their key's first 8 bytes ([`KeyPrefix`]), which is the order of [`Origins::walk_from`].
//!
//! Rules:
//! - A number is held while some table stores an entry under it ([`Origins::hold`], [`Origins::release`]); when the
//!   last table lets go, the number is free for the next new key. So the numbering is bounded by what the tables
//!   hold (each bounded by its `max_origins`), however many keys a hostile peer makes up.
//! - **One key per prefix.** Statuses name origins by their 8-byte prefix, so two keys sharing one cannot be told
//!   apart on the wire; the first key numbered keeps the prefix and another is refused while it is held
//!   ([`PrefixTaken`]). Honest keys share a prefix with probability 2⁻⁶⁴ per pair; an attacker can make two of its
//!   own keys collide (2³² work) but not one of someone else's (2⁶⁴), so this refuses only an attacker's second key.
//!
//! A real node has one table and so one numbering; the simulator shares one between all its nodes
//! ([`super::Gossip::with_origins`]). Tables take the lock for each lookup (uncontended: one table per process, or a
//! single-threaded simulator).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use hearsay_shared::gossip::{KeyPrefix, PublicKey};

/// An origin's number in this process's [`Origins`].
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct OriginId(u32);

impl OriginId {
    pub fn index(self) -> usize {
        self.0 as usize
    }

    /// The number at `index` of a table's vector (see [`OriginId::index`]).
    pub fn from_index(index: u32) -> Self {
        Self(index)
    }
}

/// Another key with the same prefix already has a number (see the module doc).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PrefixTaken;

/// The numbering. See the module doc.
#[derive(Debug, Default)]
pub struct Origins {
    inner: Mutex<Numbering>,
}

#[derive(Debug, Default)]
struct Numbering {
    /// Every numbered origin by its key's prefix, for lookups (several per datagram)...
    index: HashMap<u64, OriginId>,
    /// ... and the same in order, for walks (status pages).
    by_prefix: BTreeMap<u64, OriginId>,
    /// By number: the key, and how many tables hold it (0: free).
    slots: Vec<Slot>,
    free: Vec<OriginId>,
}

#[derive(Debug)]
struct Slot {
    key: PublicKey,
    holders: u32,
}

impl Origins {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn lock(&self) -> MutexGuard<'_, Numbering> {
        // A poisoned lock means a thread panicked holding it; the numbering is updated in one step and stays valid.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The number of `key`, held once more by the caller (which must [`Origins::release`] it once).
    pub fn hold(&self, key: &PublicKey) -> Result<OriginId, PrefixTaken> {
        let mut n = self.lock();
        let prefix = key.prefix().as_u64();
        if let Some(&id) = n.index.get(&prefix) {
            let slot = &mut n.slots[id.index()];
            if slot.key != *key {
                return Err(PrefixTaken);
            }
            slot.holders += 1;
            return Ok(id);
        }
        let slot = Slot {
            key: *key,
            holders: 1,
        };
        let id = match n.free.pop() {
            Some(id) => {
                n.slots[id.index()] = slot;
                id
            }
            None => {
                let id =
                    OriginId(u32::try_from(n.slots.len()).expect("fewer than 2^32 origins held"));
                n.slots.push(slot);
                id
            }
        };
        n.by_prefix.insert(prefix, id);
        n.index.insert(prefix, id);
        Ok(id)
    }

    /// Lets go of one hold on `id`; the last one frees the number.
    pub fn release(&self, id: OriginId) {
        let mut n = self.lock();
        let slot = &mut n.slots[id.index()];
        slot.holders = slot
            .holders
            .checked_sub(1)
            .expect("released as often as held");
        if slot.holders == 0 {
            let prefix = slot.key.prefix().as_u64();
            n.by_prefix.remove(&prefix);
            n.index.remove(&prefix);
            n.free.push(id);
        }
    }

    /// The number of exactly this key, if it has one.
    pub fn find(&self, key: &PublicKey) -> Option<OriginId> {
        self.lookup(key).ok().flatten()
    }

    /// The number of this key (`None`: its prefix is free), or [`PrefixTaken`] if another key has the prefix.
    pub fn lookup(&self, key: &PublicKey) -> Result<Option<OriginId>, PrefixTaken> {
        let n = self.lock();
        match n.index.get(&key.prefix().as_u64()) {
            None => Ok(None),
            Some(&id) if n.slots[id.index()].key == *key => Ok(Some(id)),
            Some(_) => Err(PrefixTaken),
        }
    }

    /// The number of the key with this prefix, if one has a number.
    pub fn find_prefix(&self, prefix: KeyPrefix) -> Option<OriginId> {
        self.lock().index.get(&prefix.as_u64()).copied()
    }

    /// How many numbers have been handed out (held or free): a table sizes its vector by this.
    pub fn capacity(&self) -> usize {
        self.lock().slots.len()
    }

    /// Calls `visit` with every numbered origin whose prefix is in `from..=to`, in prefix order, until it returns
    /// false. The numbering is locked meanwhile: `visit` must not call back into it.
    pub fn walk(
        &self,
        from: KeyPrefix,
        to: KeyPrefix,
        mut visit: impl FnMut(KeyPrefix, OriginId) -> bool,
    ) {
        let n = self.lock();
        for (&prefix, &id) in n.by_prefix.range(from.as_u64()..=to.as_u64()) {
            if !visit(KeyPrefix::from_u64(prefix), id) {
                break;
            }
        }
    }

    /// [`Origins::walk`] from `from` to the end.
    pub fn walk_from(&self, from: KeyPrefix, visit: impl FnMut(KeyPrefix, OriginId) -> bool) {
        self.walk(from, KeyPrefix::MAX, visit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key whose 8-byte prefix is all `head` and whose other bytes are all `tail`.
    fn key(head: u8, tail: u8) -> PublicKey {
        let mut k = [tail; 32];
        k[..8].fill(head);
        PublicKey(k)
    }

    #[test]
    fn a_number_lives_while_held_and_is_reused_after() {
        let origins = Origins::new();
        let a = origins.hold(&key(1, 0)).unwrap();
        assert_eq!(origins.hold(&key(1, 0)), Ok(a));
        origins.release(a);
        assert_eq!(origins.find(&key(1, 0)), Some(a), "still held once");
        origins.release(a);
        assert_eq!(origins.find(&key(1, 0)), None);
        let b = origins.hold(&key(2, 0)).unwrap();
        assert_eq!(b, a, "the freed number is reused");
        assert_eq!(origins.lookup(&key(2, 0)), Ok(Some(b)));
        assert_eq!(origins.capacity(), 1);
    }

    #[test]
    fn a_second_key_with_a_held_prefix_is_refused() {
        let origins = Origins::new();
        let first = origins.hold(&key(1, 0)).unwrap();
        assert_eq!(origins.hold(&key(1, 9)), Err(PrefixTaken));
        assert_eq!(origins.lookup(&key(1, 9)), Err(PrefixTaken));
        assert_eq!(origins.lookup(&key(3, 0)), Ok(None));
        assert_eq!(origins.find_prefix(key(1, 9).prefix()), Some(first));
        origins.release(first);
        assert!(origins.hold(&key(1, 9)).is_ok(), "free again once released");
    }

    #[test]
    fn walks_go_in_prefix_order_within_their_range() {
        let origins = Origins::new();
        for head in [5, 1, 9, 3] {
            origins.hold(&key(head, 0)).unwrap();
        }
        let mut seen = Vec::new();
        origins.walk(key(2, 0).prefix(), key(9, 0).prefix(), |prefix, _| {
            seen.push(prefix.0[0]);
            seen.len() < 2
        });
        assert_eq!(seen, [3, 5]);
    }
}
