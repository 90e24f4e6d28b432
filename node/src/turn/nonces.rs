//! Keeping the `turn` crate's nonces few: the crate stores every nonce it hands out in a map it never sweeps (an
//! entry goes only when a request reuses it after its hour is up), and hands one out for every request without a
//! valid nonce. Left alone, a flood of such requests grows the map without bound and, rate-limited by one shared
//! budget, starves real clients of their first answer.
//!
//! So the gate answers those requests itself, with a nonce the crate already holds: [`NonceKeeper`] watches the
//! crate's 401/438 answers go out ([`NonceKeeper::observed`]) and decides for each request
//! ([`NonceKeeper::check`]): a nonce it knows the crate holds passes; otherwise the gate replies 401 (no nonce) or 438
//! (an unknown or old one) with the newest nonce, within a budget per source address (the reply is larger than the
//! request: a reflection budget); only when it has no fresh nonce does it let a request through for the crate to
//! make one, within a small global budget. Nonces in the crate are not tied to a client, so sharing one is sound:
//! the nonce only proves freshness, the password proves identity. The crate's map then grows by about two nonces an
//! hour, whatever arrives.
//!
//! Sans-IO: time comes in as an argument.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::budget::{Bucket, Rate};

/// The crate refuses a nonce an hour after making it; the gate stops accepting one a little earlier.
const ACCEPT_FOR: Duration = Duration::from_secs(55 * 60);
/// The gate hands out a nonce this long after the crate made it, then has the crate make a new one.
const HAND_OUT_FOR: Duration = Duration::from_secs(30 * 60);
/// Nonces remembered (the crate's newest ones).
const MAX_KNOWN: usize = 16;
/// Requests let through for the crate to make a new nonce: one a second, a few at once (clients retransmit).
const MINT: Rate = Rate::new(1, 5);
/// Replies the gate itself sends to one source IP address: enough for a household of clients starting calls, too
/// few to make the node a useful reflector at any one victim.
const REPLIES: Rate = Rate::new(20, 40);
/// Source addresses with a reply budget; past this, idle ones are forgotten, and if none is idle, new sources share
/// one overflow budget.
const MAX_SOURCES: usize = 8192;
const OVERFLOW: Rate = Rate::new(500, 500);

/// What to do with a request, as far as nonces go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NonceVerdict {
    /// Hand it to the crate.
    Pass,
    /// Answer it with this error code (401 or 438) and this nonce.
    Reply { code: u16, nonce: String },
    /// Drop it: over a budget (the client retransmits).
    Drop,
}

/// See the module doc.
#[derive(Debug)]
pub struct NonceKeeper {
    /// Nonces the crate handed out, oldest first, with when the gate saw them go.
    known: VecDeque<(String, Instant)>,
    mint: Bucket,
    replies: HashMap<IpAddr, Bucket>,
    overflow: Bucket,
    /// Replies the gate sent, and requests it dropped, for logs and tests.
    pub replied: u64,
    pub dropped: u64,
}

impl NonceKeeper {
    pub fn new(now: Instant) -> Self {
        Self {
            known: VecDeque::new(),
            mint: Bucket::full(MINT, now),
            replies: HashMap::new(),
            overflow: Bucket::full(OVERFLOW, now),
            replied: 0,
            dropped: 0,
        }
    }

    /// The crate sent a 401 or 438 carrying `nonce`: it holds it from now on.
    pub fn observed(&mut self, nonce: String, now: Instant) {
        if self.known.iter().any(|(n, _)| *n == nonce) {
            return;
        }
        if self.known.len() >= MAX_KNOWN {
            self.known.pop_front();
        }
        self.known.push_back((nonce, now));
    }

    /// Decides about a request from `from` carrying `nonce` (or none).
    pub fn check(&mut self, nonce: Option<&str>, from: IpAddr, now: Instant) -> NonceVerdict {
        let age = |at: &Instant| now.saturating_duration_since(*at);
        if let Some(nonce) = nonce
            && self
                .known
                .iter()
                .any(|(n, at)| n == nonce && age(at) < ACCEPT_FOR)
        {
            return NonceVerdict::Pass;
        }
        let fresh = self
            .known
            .back()
            .filter(|(_, at)| age(at) < HAND_OUT_FOR)
            .map(|(n, _)| n.clone());
        let Some(fresh) = fresh else {
            // No nonce to hand out: let the crate make one.
            return if self.mint.take(MINT, now) {
                NonceVerdict::Pass
            } else {
                self.dropped += 1;
                NonceVerdict::Drop
            };
        };
        if !self.may_reply(from, now) {
            self.dropped += 1;
            return NonceVerdict::Drop;
        }
        self.replied += 1;
        NonceVerdict::Reply {
            code: if nonce.is_some() { 438 } else { 401 },
            nonce: fresh,
        }
    }

    fn may_reply(&mut self, from: IpAddr, now: Instant) -> bool {
        if !self.replies.contains_key(&from) && self.replies.len() >= MAX_SOURCES {
            // Forget sources whose budget has refilled: they have been quiet for a while.
            self.replies.retain(|_, b| !b.is_full(REPLIES, now));
        }
        if self.replies.len() >= MAX_SOURCES && !self.replies.contains_key(&from) {
            return self.overflow.take(OVERFLOW, now);
        }
        self.replies
            .entry(from)
            .or_insert_with(|| Bucket::full(REPLIES, now))
            .take(REPLIES, now)
    }

    /// Source addresses with a reply budget (bounded by `MAX_SOURCES`).
    pub fn sources(&self) -> usize {
        self.replies.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u32) -> IpAddr {
        IpAddr::from(std::net::Ipv4Addr::from(0xC000_0200 + n))
    }

    #[test]
    fn the_crate_makes_a_nonce_once_then_the_gate_hands_it_out() {
        let t0 = Instant::now();
        let mut k = NonceKeeper::new(t0);
        assert_eq!(
            k.check(None, ip(1), t0),
            NonceVerdict::Pass,
            "the crate makes the first"
        );
        k.observed("n1".into(), t0);
        let passed = (0..10_000)
            .filter(|i| k.check(None, ip(*i), t0) == NonceVerdict::Pass)
            .count();
        assert_eq!(
            passed, 0,
            "10 000 nonce-less requests reach the crate not once"
        );
        assert_eq!(
            k.check(None, ip(1), t0),
            NonceVerdict::Reply {
                code: 401,
                nonce: "n1".into()
            }
        );
        assert_eq!(k.check(Some("n1"), ip(1), t0), NonceVerdict::Pass);
        assert_eq!(
            k.check(Some("forged"), ip(2), t0),
            NonceVerdict::Reply {
                code: 438,
                nonce: "n1".into()
            }
        );
        assert!(k.sources() <= MAX_SOURCES);
    }

    #[test]
    fn one_source_cannot_spend_another_sources_replies() {
        let t0 = Instant::now();
        let mut k = NonceKeeper::new(t0);
        k.observed("n1".into(), t0);
        let flood = (0..1000)
            .filter(|_| matches!(k.check(None, ip(1), t0), NonceVerdict::Reply { .. }))
            .count();
        assert_eq!(
            flood, REPLIES.burst as usize,
            "one source gets its burst, then nothing"
        );
        assert!(
            matches!(k.check(None, ip(2), t0), NonceVerdict::Reply { .. }),
            "another source still does"
        );
    }

    #[test]
    fn an_old_nonce_is_replaced_before_the_crate_would_refuse_it() {
        let t0 = Instant::now();
        let mut k = NonceKeeper::new(t0);
        k.observed("n1".into(), t0);
        let later = t0 + HAND_OUT_FOR;
        assert_eq!(
            k.check(None, ip(1), later),
            NonceVerdict::Pass,
            "time for a new one"
        );
        k.observed("n2".into(), later);
        assert_eq!(
            k.check(Some("n1"), ip(1), later),
            NonceVerdict::Pass,
            "the old one still works"
        );
        assert_eq!(
            k.check(Some("n1"), ip(1), t0 + ACCEPT_FOR),
            NonceVerdict::Reply {
                code: 438,
                nonce: "n2".into()
            }
        );
    }
}
