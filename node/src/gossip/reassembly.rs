//! Incoming private messages at their destination: fragments put back together, duplicates suppressed.
//!
//! Memory is bounded: at most `max_partial` messages and `max_bytes` bytes wait for missing fragments; a fragment
//! that would go over is refused (the sender retries later), and a message not completed within `timeout` is
//! dropped. Completed message ids are remembered for `remember` so a retried fragment is acknowledged again but
//! never delivered twice.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use hearsay_shared::gossip::PublicKey;

/// Limits for [`Reassembly`].
#[derive(Clone, Copy, Debug)]
pub struct ReassemblyLimits {
    pub max_partial: usize,
    pub max_bytes: usize,
    pub timeout: Duration,
    pub remember: Duration,
    pub max_remembered: usize,
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
    /// Over the memory bounds, or inconsistent with fragments already held: not acknowledged.
    Refused,
}

#[derive(Debug)]
pub struct Reassembly {
    partial: HashMap<MessageKey, Partial>,
    done: HashMap<MessageKey, Instant>,
    bytes: usize,
    limits: ReassemblyLimits,
}

impl Reassembly {
    pub fn new(limits: ReassemblyLimits) -> Self {
        Self {
            partial: HashMap::new(),
            done: HashMap::new(),
            bytes: 0,
            limits,
        }
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
        if self.done.contains_key(&key) {
            return Accepted::Duplicate;
        }
        if count == 1 {
            self.remember(now, key);
            return Accepted::Complete(data.to_vec());
        }
        if !self.partial.contains_key(&key) {
            if self.partial.len() >= self.limits.max_partial {
                return Accepted::Refused;
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
        let partial = self.partial.get_mut(&key).expect("partial exists");
        if partial.fragments.len() != usize::from(count) {
            return Accepted::Refused;
        }
        let Some(slot) = partial.fragments.get_mut(usize::from(index)) else {
            return Accepted::Refused;
        };
        if slot.is_some() {
            return Accepted::Duplicate;
        }
        if self.bytes + data.len() > self.limits.max_bytes {
            return Accepted::Refused;
        }
        *slot = Some(data.to_vec());
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

    fn remember(&mut self, now: Instant, key: MessageKey) {
        if self.done.len() >= self.limits.max_remembered {
            self.expire(now);
        }
        if self.done.len() >= self.limits.max_remembered {
            // Still full of recent ids: forget the oldest to stay bounded.
            if let Some(oldest) = self.done.iter().min_by_key(|(_, at)| **at).map(|(k, _)| *k) {
                self.done.remove(&oldest);
            }
        }
        self.done.insert(key, now);
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
        self.done
            .retain(|_, at| now.saturating_duration_since(*at) < remember);
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
        max_bytes: 100,
        timeout: Duration::from_secs(10),
        remember: Duration::from_secs(60),
        max_remembered: 100,
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
            Accepted::Refused,
            "over bytes"
        );
        assert_eq!(r.accept(now, A, 2, 0, 2, &[0; 10]), Accepted::Kept);
        assert_eq!(
            r.accept(now, A, 3, 0, 2, &[0; 1]),
            Accepted::Refused,
            "over count"
        );
        assert_eq!(
            r.accept(now, A, 1, 1, 3, &[0; 1]),
            Accepted::Refused,
            "count changed"
        );
        r.expire(now + Duration::from_secs(10));
        assert_eq!(r.buffered_bytes(), 0);
        assert_eq!(r.accept(now, A, 3, 0, 2, &[0; 1]), Accepted::Kept);
    }
}
