//! Fragment reassembly under any order of fragments, repeats, changed counts, timeouts and memory pressure: every
//! message it completes is exactly its fragments in order, it delivers a message at most once while it remembers
//! the message's id (and remembers ids as its limits say: per origin, and when full the origin remembering the most
//! forgets its oldest), and the bytes it holds stay within `max_bytes` and drop to zero once every partial message
//! has timed out.
#![no_main]

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use hearsay_fuzz::reassembly::{Input, Op};
use hearsay_node::gossip::reassembly::{Accepted, Reassembly, ReassemblyLimits};
use hearsay_shared::gossip::{MAX_FRAGMENT_BYTES, MAX_FRAGMENTS, PublicKey};
use libfuzzer_sys::fuzz_target;

/// A few origins and message ids, so that fragments of the same message meet often.
const ORIGINS: [PublicKey; 3] = [PublicKey([1; 32]), PublicKey([2; 32]), PublicKey([3; 32])];
const MESSAGES: u8 = 4;

type Key = (PublicKey, u64);

/// What the target knows from the answers alone.
#[derive(Default)]
struct Model {
    /// Ids delivered and still remembered, per origin, oldest first: the documented memory (remembered for
    /// `remember`; at most `max_remembered_per_origin` per origin, the origin's oldest forgotten first; at most
    /// `max_remembered` in all, the oldest of the origin remembering the most forgotten first).
    done: BTreeMap<PublicKey, VecDeque<(u64, Instant)>>,
    /// The length of every fragment answered `Kept`, by message and index (the newest, when a message timed out
    /// and came again).
    kept: HashMap<Key, BTreeMap<u16, usize>>,
    /// When the last fragment of a multi-fragment message arrived: no partial message is older.
    last_partial_at: Option<Instant>,
}

impl Model {
    fn count(&self) -> usize {
        self.done.values().map(VecDeque::len).sum()
    }

    fn remembers(&self, (origin, id): &Key) -> bool {
        self.done
            .get(origin)
            .is_some_and(|ids| ids.iter().any(|(d, _)| d == id))
    }

    fn remember(&mut self, now: Instant, (origin, id): Key, limits: &ReassemblyLimits) {
        if self.count() >= limits.max_remembered {
            self.forget_old(now, limits);
        }
        let own = self.done.get(&origin).map_or(0, VecDeque::len);
        let victim = if own >= limits.max_remembered_per_origin {
            Some(origin)
        } else if self.count() >= limits.max_remembered {
            // Times are distinct (every step moves the clock), so ties in count are broken by the oldest id.
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
        {
            ids.pop_front();
            if ids.is_empty() {
                self.done.remove(&victim);
            }
        }
        self.done.entry(origin).or_default().push_back((id, now));
    }

    fn forget_old(&mut self, now: Instant, limits: &ReassemblyLimits) {
        self.done.retain(|_, ids| {
            ids.retain(|(_, at)| now.saturating_duration_since(*at) < limits.remember);
            !ids.is_empty()
        });
    }
}

fuzz_target!(|input: Input| {
    let l = input.limits;
    // The per-origin quotas come from the high bits of the same bytes, so old inputs stay meaningful.
    let limits = ReassemblyLimits {
        max_partial: 1 + usize::from(l.max_partial % 8),
        max_partial_per_origin: 1 + usize::from(l.max_partial / 8 % 4),
        max_bytes: usize::from(l.max_bytes) % (8 * MAX_FRAGMENT_BYTES + 1),
        timeout: Duration::from_millis(u64::from(l.timeout_ms)),
        remember: Duration::from_millis(u64::from(l.remember_ms)),
        max_remembered: usize::from(l.max_remembered % 16),
        max_remembered_per_origin: 1 + usize::from(l.max_remembered / 16 % 8),
    };
    let mut reassembly = Reassembly::new(limits);
    let mut model = Model::default();
    let mut now = Instant::now();
    for op in input.ops {
        // Every step moves the clock, so no two ids are remembered at the same instant.
        now += Duration::from_nanos(1);
        match op {
            Op::Fragment {
                origin,
                message,
                index,
                count,
                len,
            } => {
                let key = (
                    ORIGINS[usize::from(origin) % ORIGINS.len()],
                    u64::from(message % MESSAGES),
                );
                let count = 1 + u16::from(count) % MAX_FRAGMENTS;
                let index = u16::from(index) % count;
                let len = usize::from(len) % (MAX_FRAGMENT_BYTES + 1);
                // Each fragment's bytes name its index, so a payload shows which fragments it was built from.
                let data = vec![index as u8; len];
                let answer = reassembly.accept(now, key.0, key.1, index, count, &data);
                if count > 1 {
                    model.last_partial_at = Some(now);
                }
                if model.remembers(&key) {
                    assert_eq!(
                        answer,
                        Accepted::Duplicate,
                        "a remembered id is a duplicate"
                    );
                    continue;
                }
                match answer {
                    Accepted::Complete(payload) => {
                        let expected: Vec<u8> = if count == 1 {
                            data
                        } else {
                            let kept = model.kept.remove(&key).unwrap_or_default();
                            (0..count)
                                .flat_map(|i| {
                                    let n = if i == index {
                                        len
                                    } else {
                                        *kept.get(&i).unwrap_or_else(|| {
                                            panic!("completed without fragment {i} of {count}")
                                        })
                                    };
                                    std::iter::repeat_n(i as u8, n)
                                })
                                .collect()
                        };
                        assert_eq!(payload.len(), expected.len(), "payload length");
                        assert!(payload == expected, "payload is not its fragments in order");
                        model.remember(now, key, &limits);
                    }
                    Accepted::Kept => {
                        assert!(count > 1, "a one-fragment message is never kept");
                        model.kept.entry(key).or_default().insert(index, len);
                    }
                    Accepted::Duplicate => assert!(
                        model.kept.get(&key).is_some_and(|k| k.contains_key(&index)),
                        "a duplicate of a fragment never kept"
                    ),
                    Accepted::Refused => {}
                }
            }
            Op::Expire { millis } => {
                now += Duration::from_millis(u64::from(millis));
                reassembly.expire(now);
                model.forget_old(now, &limits);
                if model
                    .last_partial_at
                    .is_none_or(|at| now.saturating_duration_since(at) >= limits.timeout)
                {
                    assert_eq!(reassembly.buffered_bytes(), 0, "every partial timed out");
                    model.kept.clear();
                }
            }
            Op::Wait { millis } => now += Duration::from_millis(u64::from(millis)),
        }
        let held = reassembly.buffered_bytes();
        assert!(
            held <= limits.max_bytes,
            "{held} bytes held, limit {}",
            limits.max_bytes
        );
        let kept: usize = model.kept.values().flat_map(|k| k.values()).sum();
        assert!(held <= kept, "{held} bytes held, only {kept} ever kept");
    }
});
