//! Incoming private messages at their destination: fragments put back together, duplicates suppressed.
//!
//! Memory is bounded, and shared fairly between origins (keys cost nothing to make, so one sender must not be able to
//! crowd out the others):
//! - at most `max_partial` messages (`max_partial_per_origin` per origin) and `max_bytes` bytes wait for missing
//!   fragments. When a new message does not fit, the oldest partial message of the origin holding the most is
//!   dropped to make room — so a flood of fragment-0s from many keys pushes out the flood's own oldest entries, while
//!   a real message, whose fragments arrive together, completes; an origin over its own quota loses its own oldest.
//!   A message not completed within `timeout` is dropped. A dropped message's sender retries.
//! - completed message ids are remembered for `remember` (the engine's replay window), so a retried fragment is
//!   acknowledged again but never delivered twice: at most `max_remembered` ids, `max_remembered_per_origin` per
//!   origin; when full, the origin remembering the most forgets its oldest.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use hearsay_shared::gossip::PublicKey;

/// Limits for [`Reassembly`].
#[derive(Clone, Copy, Debug)]
pub struct ReassemblyLimits {
    pub max_partial: usize,
    pub max_partial_per_origin: usize,
    pub max_bytes: usize,
    pub timeout: Duration,
    pub remember: Duration,
    pub max_remembered: usize,
    pub max_remembered_per_origin: usize,
}

type MessageKey = (PublicKey, u64);

#[derive(Debug)]
struct Partial {
    fragments: Vec<Option<Vec<u8>>>,
    bytes: usize,
    started: Instant,
}

/// What one fragment did.
#[derive(Debug, PartialEq, Eq)]
pub enum Accepted {
    /// The message is whole: here it is (delivered once).
    Complete(Vec<u8>),
    /// Kept; more fragments to come.
    Kept,
    /// Part of a message already delivered, or a fragment already held: acknowledge again, deliver nothing.
    Duplicate,
    /// Inconsistent with fragments already held, or larger than the whole byte bound: not acknowledged.
    Refused,
}

#[derive(Debug)]
pub struct Reassembly {
    partial: HashMap<MessageKey, Partial>,
    /// Completed message ids per origin, oldest first.
    done: HashMap<PublicKey, VecDeque<(u64, Instant)>>,
    done_count: usize,
    bytes: usize,
    limits: ReassemblyLimits,
}

impl Reassembly {
    pub fn new(limits: ReassemblyLimits) -> Self {
        Self {
            partial: HashMap::new(),
            done: HashMap::new(),
            done_count: 0,
            bytes: 0,
            limits,
        }
    }

    fn is_done(&self, (origin, id): &MessageKey) -> bool {
        self.done
            .get(origin)
            .is_some_and(|ids| ids.iter().any(|(done, _)| done == id))
    }

    /// Takes fragment `index` of `count` (already bounds-checked by the wire decoder).
    pub fn accept(
        &mut self,
        now: Instant,
        origin: PublicKey,
        message_id: u64,
        index: u16,
        count: u16,
        data: &[u8],
    ) -> Accepted {
        let key = (origin, message_id);
        if self.is_done(&key) {
            return Accepted::Duplicate;
        }
        if count == 1 {
            self.remember(now, key);
            return Accepted::Complete(data.to_vec());
        }
        if data.len() > self.limits.max_bytes {
            return Accepted::Refused;
        }
        if !self.partial.contains_key(&key) {
            let own = self.partial.keys().filter(|(o, _)| *o == origin).count();
            if own >= self.limits.max_partial_per_origin {
                self.drop_oldest_of(origin);
            }
            while self.partial.len() >= self.limits.max_partial {
                self.drop_from_largest_holder(None);
            }
            self.partial.insert(
                key,
                Partial {
                    fragments: vec![None; usize::from(count)],
                    bytes: 0,
                    started: now,
                },
            );
        }
        // Inserted just above if it was missing.
        let partial = self.partial.get(&key).expect("partial exists");
        if partial.fragments.len() != usize::from(count) {
            return Accepted::Refused;
        }
        match partial.fragments.get(usize::from(index)) {
            None => return Accepted::Refused,
            Some(Some(_)) => return Accepted::Duplicate,
            Some(None) => {}
        }
        while self.bytes + data.len() > self.limits.max_bytes {
            if !self.drop_from_largest_holder(Some(key)) {
                return Accepted::Refused;
            }
        }
        let partial = self.partial.get_mut(&key).expect("partial exists");
        partial.fragments[usize::from(index)] = Some(data.to_vec());
        partial.bytes += data.len();
        self.bytes += data.len();
        if partial.fragments.iter().any(Option::is_none) {
            return Accepted::Kept;
        }
        // Checked just above that it is there.
        let partial = self.partial.remove(&key).expect("partial exists");
        self.bytes -= partial.bytes;
        self.remember(now, key);
        Accepted::Complete(partial.fragments.into_iter().flatten().flatten().collect())
    }

    fn drop_partial(&mut self, key: &MessageKey) {
        if let Some(p) = self.partial.remove(key) {
            self.bytes -= p.bytes;
        }
    }

    fn drop_oldest_of(&mut self, origin: PublicKey) {
        let oldest = self
            .partial
            .iter()
            .filter(|((o, _), _)| *o == origin)
            .min_by_key(|(key, p)| (p.started, key.1))
            .map(|(key, _)| *key);
        if let Some(key) = oldest {
            self.drop_partial(&key);
        }
    }

    /// Drops the oldest partial message among those of the origins holding the most (never `keep`). False if there
    /// is none.
    fn drop_from_largest_holder(&mut self, keep: Option<MessageKey>) -> bool {
        let mut held: HashMap<PublicKey, usize> = HashMap::new();
        for (origin, _) in self.partial.keys() {
            *held.entry(*origin).or_default() += 1;
        }
        let victim = self
            .partial
            .iter()
            .filter(|(k, _)| Some(**k) != keep)
            .min_by_key(|(key, p)| (std::cmp::Reverse(held[&key.0]), p.started, **key))
            .map(|(key, _)| *key);
        match victim {
            Some(key) => {
                self.drop_partial(&key);
                true
            }
            None => false,
        }
    }

    fn remember(&mut self, now: Instant, (origin, id): MessageKey) {
        if self.done_count >= self.limits.max_remembered {
            self.expire(now);
        }
        let own = self.done.get(&origin).map_or(0, VecDeque::len);
        let victim = if own >= self.limits.max_remembered_per_origin {
            Some(origin)
        } else if self.done_count >= self.limits.max_remembered {
            // Still full of recent ids: the origin remembering the most forgets its oldest.
            // Among equals, the one whose oldest id is oldest; then the smaller key (a seeded simulation replays).
            self.done
                .iter()
                .max_by_key(|(o, ids)| {
                    let oldest = ids.front().map(|(_, at)| *at);
                    (ids.len(), std::cmp::Reverse(oldest), std::cmp::Reverse(**o))
                })
                .map(|(o, _)| *o)
        } else {
            None
        };
        if let Some(victim) = victim
            && let Some(ids) = self.done.get_mut(&victim)
            && ids.pop_front().is_some()
        {
            self.done_count -= 1;
            if ids.is_empty() {
                self.done.remove(&victim);
            }
        }
        self.done.entry(origin).or_default().push_back((id, now));
        self.done_count += 1;
    }

    /// Drops incomplete messages past their timeout and forgets old completed ids.
    pub fn expire(&mut self, now: Instant) {
        let timeout = self.limits.timeout;
        let mut freed = 0;
        self.partial.retain(|_, p| {
            let keep = now.saturating_duration_since(p.started) < timeout;
            if !keep {
                freed += p.bytes;
            }
            keep
        });
        self.bytes -= freed;
        let remember = self.limits.remember;
        let mut forgotten = 0;
        self.done.retain(|_, ids| {
            while ids
                .front()
                .is_some_and(|(_, at)| now.saturating_duration_since(*at) >= remember)
            {
                ids.pop_front();
                forgotten += 1;
            }
            !ids.is_empty()
        });
        self.done_count -= forgotten;
    }

    pub fn buffered_bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: ReassemblyLimits = ReassemblyLimits {
        max_partial: 2,
        max_partial_per_origin: 2,
        max_bytes: 100,
        timeout: Duration::from_secs(10),
        remember: Duration::from_secs(60),
        max_remembered: 100,
        max_remembered_per_origin: 100,
    };

    const A: PublicKey = PublicKey([1; 32]);

    #[test]
    fn fragments_in_any_order_make_one_message_delivered_once() {
        let now = Instant::now();
        let mut r = Reassembly::new(LIMITS);
        assert_eq!(r.accept(now, A, 1, 2, 3, b"c"), Accepted::Kept);
        assert_eq!(r.accept(now, A, 1, 0, 3, b"a"), Accepted::Kept);
        assert_eq!(r.accept(now, A, 1, 0, 3, b"a"), Accepted::Duplicate);
        assert_eq!(
            r.accept(now, A, 1, 1, 3, b"b"),
            Accepted::Complete(b"abc".to_vec())
        );
        assert_eq!(r.accept(now, A, 1, 1, 3, b"b"), Accepted::Duplicate);
        assert_eq!(r.buffered_bytes(), 0);
    }

    #[test]
    fn memory_is_bounded_and_stale_partials_time_out() {
        let now = Instant::now();
        let mut r = Reassembly::new(LIMITS);
        assert_eq!(r.accept(now, A, 1, 0, 2, &[0; 60]), Accepted::Kept);
        assert_eq!(
            r.accept(now, A, 2, 0, 2, &[0; 60]),
            Accepted::Kept,
            "pushes message 1 out"
        );
        assert!(r.buffered_bytes() <= 100);
        assert_eq!(
            r.accept(now, A, 1, 1, 2, &[0; 1]),
            Accepted::Kept,
            "message 1 starts over"
        );
        assert_eq!(
            r.accept(now, A, 2, 1, 3, &[0; 1]),
            Accepted::Refused,
            "count changed"
        );
        assert_eq!(
            r.accept(now, A, 3, 0, 2, &[0; 101]),
            Accepted::Refused,
            "larger than everything"
        );
        r.expire(now + Duration::from_secs(10));
        assert_eq!(r.buffered_bytes(), 0);
        assert_eq!(r.accept(now, A, 3, 0, 2, &[0; 1]), Accepted::Kept);
    }

    fn key(b: u8) -> PublicKey {
        PublicKey([b; 32])
    }

    #[test]
    fn a_flood_of_partial_messages_from_many_keys_does_not_stop_a_real_one() {
        let limits = ReassemblyLimits {
            max_partial: 8,
            max_partial_per_origin: 2,
            ..LIMITS
        };
        let t0 = Instant::now();
        let mut r = Reassembly::new(limits);
        // The flood: fragment 0 of 64 from 50 keys, several messages each.
        for (i, k) in (10..60u8).enumerate() {
            for id in 0..3 {
                r.accept(
                    t0 + Duration::from_millis(i as u64),
                    key(k),
                    id,
                    0,
                    64,
                    &[1],
                );
            }
        }
        // A real three-fragment message, fragments arriving interleaved with more flood.
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(r.accept(t1, A, 7, 0, 3, b"a"), Accepted::Kept);
        r.accept(t1, key(200), 0, 0, 64, &[1]);
        r.accept(t1, key(201), 0, 0, 64, &[1]);
        assert_eq!(r.accept(t1, A, 7, 1, 3, b"b"), Accepted::Kept);
        r.accept(t1, key(202), 0, 0, 64, &[1]);
        assert_eq!(
            r.accept(t1, A, 7, 2, 3, b"c"),
            Accepted::Complete(b"abc".to_vec())
        );
    }

    #[test]
    fn many_keys_cannot_make_an_origin_forget_what_it_delivered_while_they_hold_more() {
        let limits = ReassemblyLimits {
            max_remembered: 10,
            max_remembered_per_origin: 3,
            ..LIMITS
        };
        let t0 = Instant::now();
        let mut r = Reassembly::new(limits);
        assert_eq!(
            r.accept(t0, A, 1, 0, 1, b"x"),
            Accepted::Complete(b"x".to_vec())
        );
        // Three keys fill the memory up to their quota, a fourth pushes: the victims are theirs, not A's.
        for k in 10..14u8 {
            for id in 0..5 {
                r.accept(t0, key(k), id, 0, 1, b"junk");
            }
        }
        assert_eq!(r.done_count, 10);
        assert_eq!(
            r.accept(t0, A, 1, 0, 1, b"x"),
            Accepted::Duplicate,
            "still remembered"
        );
        // An origin over its own quota forgets its own oldest.
        for id in 2..5 {
            r.accept(t0, A, id, 0, 1, b"y");
        }
        assert_eq!(
            r.accept(t0, A, 1, 0, 1, b"x"),
            Accepted::Complete(b"x".to_vec())
        );
        r.expire(t0 + Duration::from_secs(60));
        assert_eq!(r.done_count, 0);
    }
}
