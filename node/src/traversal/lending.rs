//! The helping side: what this node does for other nodes that ask — dial-back probes and TURN credentials — and the
//! budget each key gets.
//!
//! A probe goes only to the IP this node reaches the asking key at as a *direct* peer (so nobody can aim our probes
//! at a third party), at most a few ports, a few times a minute per key. TURN credentials go only when the operator
//! relays for others (`--relay-for all`, the default) and our TURN server is reachable; they are minted for the
//! asking key (the username carries it, so the TURN server's per-user quotas and bandwidth caps apply per key),
//! last [`GRANT_TTL`], and each key may ask a few times a minute.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use hearsay_shared::gossip::PublicKey;

/// Who may relay through this node's TURN server by asking over gossip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RelayFor {
    /// Every user of the overlay (each within its quota and bandwidth cap).
    All,
    /// Nobody but this node's own page.
    None,
}

/// How long lent TURN credentials allow new allocations. Allocations made before then live on while the browser
/// refreshes them (the TURN server checks the expiry only on Allocate), so a call outlives its credentials, but a
/// leaked credential soon stops being worth anything. The asking node asks again before they run out.
pub const GRANT_TTL: Duration = Duration::from_secs(600);

/// Probes: two at once, then one every 10 s, per key.
pub const PROBE_BUDGET: Budget = Budget {
    burst: 2,
    every: Duration::from_secs(10),
};
/// TURN credentials: four at once, then one a minute, per key (a node asks about every 6 minutes per relay).
pub const GRANT_BUDGET: Budget = Budget {
    burst: 4,
    every: Duration::from_secs(60),
};
/// Keys tracked per budget; when full, a key not tracked is refused until others have gone idle.
const MAX_KEYS: usize = 4096;

/// A token bucket's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub burst: u32,
    pub every: Duration,
}

/// One token bucket per key, bounded in the number of keys.
#[derive(Debug)]
pub struct KeyBudget {
    budget: Budget,
    buckets: HashMap<PublicKey, (f64, Instant)>,
}

impl KeyBudget {
    pub fn new(budget: Budget) -> Self {
        Self {
            budget,
            buckets: HashMap::new(),
        }
    }

    fn refilled(&self, tokens: f64, since: Instant, now: Instant) -> f64 {
        let rate = 1.0 / self.budget.every.as_secs_f64().max(f64::MIN_POSITIVE);
        (tokens + now.saturating_duration_since(since).as_secs_f64() * rate)
            .min(f64::from(self.budget.burst))
    }

    /// Takes one token for `key`, or says no.
    pub fn allow(&mut self, now: Instant, key: PublicKey) -> bool {
        let full = f64::from(self.budget.burst);
        if !self.buckets.contains_key(&key) && self.buckets.len() >= MAX_KEYS {
            // A bucket that has refilled is the same as none: forget those.
            let this = &*self;
            let idle: Vec<PublicKey> = this
                .buckets
                .iter()
                .filter(|(_, (t, since))| this.refilled(*t, *since, now) >= full)
                .map(|(k, _)| *k)
                .collect();
            for k in idle {
                self.buckets.remove(&k);
            }
            if self.buckets.len() >= MAX_KEYS {
                return false;
            }
        }
        let (tokens, since) = self.buckets.get(&key).copied().unwrap_or((full, now));
        let tokens = self.refilled(tokens, since, now);
        if tokens >= 1.0 {
            self.buckets.insert(key, (tokens - 1.0, now));
            true
        } else {
            self.buckets.insert(key, (tokens, now));
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u32) -> PublicKey {
        let mut k = [0u8; 32];
        k[..4].copy_from_slice(&n.to_be_bytes());
        PublicKey(k)
    }

    #[test]
    fn each_key_gets_its_burst_then_one_per_period() {
        let t0 = Instant::now();
        let mut b = KeyBudget::new(GRANT_BUDGET);
        for _ in 0..GRANT_BUDGET.burst {
            assert!(b.allow(t0, key(1)));
        }
        assert!(!b.allow(t0, key(1)), "burst spent");
        assert!(b.allow(t0, key(2)), "another key has its own budget");
        assert!(!b.allow(t0 + GRANT_BUDGET.every / 2, key(1)));
        assert!(b.allow(t0 + GRANT_BUDGET.every, key(1)));
    }

    #[test]
    fn the_number_of_keys_is_bounded_and_idle_ones_make_room() {
        let t0 = Instant::now();
        let mut b = KeyBudget::new(PROBE_BUDGET);
        for n in 0..MAX_KEYS as u32 {
            assert!(b.allow(t0, key(n)));
        }
        assert!(!b.allow(t0, key(u32::MAX)), "full of busy keys: refused");
        let later = t0 + PROBE_BUDGET.every * PROBE_BUDGET.burst;
        assert!(b.allow(later, key(u32::MAX)), "idle keys were forgotten");
        assert!(b.buckets.len() <= MAX_KEYS);
    }
}
