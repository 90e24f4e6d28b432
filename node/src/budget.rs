//! Token buckets: how a node keeps one peer, one origin, one source address or all strangers together from taking
//! more than a fair share of its work. Each limit is a [`Rate`] (a steady rate plus a burst); the gossip engine's
//! named limits and the reasons for their values are in [`crate::gossip::Limits`], the TURN gate's nonce replies in
//! [`crate::turn::nonces`].
//!
//! Time comes in as an argument (sans-IO), and tokens are counted in thousandths so that refilling is exact integer
//! arithmetic: a seeded simulation replays bit for bit.

use std::time::{Duration, Instant};

/// A steady rate and the burst allowed above it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub per_second: u32,
    pub burst: u32,
}

impl Rate {
    pub const fn new(per_second: u32, burst: u32) -> Self {
        Self { per_second, burst }
    }
}

/// One bucket. It holds no rate itself, so the same [`Rate`] serves thousands of buckets without copies.
#[derive(Clone, Copy, Debug)]
pub struct Bucket {
    milli_tokens: u64,
    at: Instant,
}

impl Bucket {
    /// A bucket holding a full burst.
    pub fn full(rate: Rate, now: Instant) -> Self {
        Self {
            milli_tokens: u64::from(rate.burst) * 1000,
            at: now,
        }
    }

    /// Takes one token if there is one.
    pub fn take(&mut self, rate: Rate, now: Instant) -> bool {
        self.refill(rate, now);
        if self.milli_tokens >= 1000 {
            self.milli_tokens -= 1000;
            true
        } else {
            false
        }
    }

    /// Whether the bucket would hold a full burst at `now` (its owner has been quiet long enough to forget).
    pub fn is_full(&self, rate: Rate, now: Instant) -> bool {
        let mut probe = *self;
        probe.refill(rate, now);
        probe.milli_tokens >= u64::from(rate.burst) * 1000
    }

    fn refill(&mut self, rate: Rate, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at);
        if elapsed.is_zero() {
            return;
        }
        // µs × tokens/s / 1000 = thousandths of a token; capped so a long silence cannot overflow.
        let micros = elapsed.min(Duration::from_secs(3600)).as_micros() as u64;
        let earned = micros * u64::from(rate.per_second) / 1000;
        self.milli_tokens = (self.milli_tokens + earned).min(u64::from(rate.burst) * 1000);
        self.at = now;
    }
}

/// A [`Bucket`] in 8 bytes, for tables that keep one per entry (a route table keeps one per origin, the simulator
/// one per origin per node): time is whole milliseconds on its owner's clock, whose epoch the owner may move forward
/// ([`MsBucket::shift`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MsBucket {
    milli_tokens: u32,
    at_ms: u32,
}

impl MsBucket {
    /// A bucket holding a full burst.
    pub fn full(rate: Rate, now_ms: u32) -> Self {
        Self {
            milli_tokens: Self::cap(rate),
            at_ms: now_ms,
        }
    }

    fn cap(rate: Rate) -> u32 {
        rate.burst.saturating_mul(1000)
    }

    /// Takes one token if there is one.
    pub fn take(&mut self, rate: Rate, now_ms: u32) -> bool {
        let elapsed = now_ms.saturating_sub(self.at_ms);
        if elapsed > 0 {
            // ms × tokens/s = thousandths of a token; capped so a long silence cannot overflow.
            let earned = u64::from(elapsed.min(3_600_000)) * u64::from(rate.per_second);
            let tokens = (u64::from(self.milli_tokens) + earned).min(u64::from(Self::cap(rate)));
            self.milli_tokens = tokens as u32;
            self.at_ms = now_ms;
        }
        if self.milli_tokens >= 1000 {
            self.milli_tokens -= 1000;
            true
        } else {
            false
        }
    }

    /// The owner's clock moved its epoch `by` ms later: the same instant is `by` less now (an instant before the new
    /// epoch becomes the epoch itself, which is long enough ago to have refilled any bucket).
    pub fn shift(&mut self, by: u32) {
        self.at_ms = self.at_ms.saturating_sub(by);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_millisecond_bucket_keeps_the_same_rate() {
        let rate = Rate::new(2, 3);
        let mut b = MsBucket::full(rate, 1_000);
        assert!((0..3).all(|_| b.take(rate, 1_000)));
        assert!(!b.take(rate, 1_000), "burst spent");
        assert!(
            !b.take(rate, 1_499),
            "half a second earns one token: not yet"
        );
        assert!(b.take(rate, 1_500));
        assert!(!b.take(rate, 1_000), "time going backwards earns nothing");
        b.shift(1_000);
        assert!(b.take(rate, 1_000), "500 ms after the shifted instant");
    }

    #[test]
    fn a_burst_then_the_steady_rate() {
        let rate = Rate::new(10, 3);
        let t0 = Instant::now();
        let mut b = Bucket::full(rate, t0);
        assert!((0..3).all(|_| b.take(rate, t0)));
        assert!(!b.take(rate, t0), "burst spent");
        assert!(!b.take(rate, t0 + Duration::from_millis(99)));
        assert!(
            b.take(rate, t0 + Duration::from_millis(100)),
            "one per 100 ms"
        );
        assert!(!b.take(rate, t0 + Duration::from_millis(100)));
        let later = t0 + Duration::from_secs(60);
        assert_eq!(
            (0..10).filter(|_| b.take(rate, later)).count(),
            3,
            "never above the burst"
        );
    }

    #[test]
    fn time_going_backwards_earns_nothing() {
        let rate = Rate::new(1000, 1);
        let t0 = Instant::now() + Duration::from_secs(1);
        let mut b = Bucket::full(rate, t0);
        assert!(b.take(rate, t0));
        assert!(!b.take(rate, t0 - Duration::from_secs(1)));
    }
}
