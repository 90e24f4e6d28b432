//! Private messages this node sent and that are not yet acknowledged: split into fragments, retried with
//! exponential backoff until every fragment is acknowledged end to end (delivered) or the deadline passes (failed).
//!
//! The outbox only keeps state and says what is due; the core signs, routes and sends.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use hearsay_shared::gossip::{MAX_FRAGMENT_BYTES, PrivateMessage, PublicKey};

/// Retry timing for private messages.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    pub first: Duration,
    pub max: Duration,
    /// After this long without every fragment acknowledged, the message has failed.
    pub deadline: Duration,
    /// After this long without any fragment acknowledged, its destination is presumed gone (shown unreachable);
    /// retries go on until the deadline.
    pub presumed_gone: Duration,
}

/// One message in flight.
#[derive(Debug)]
struct Outgoing {
    to: PublicKey,
    /// `None` once acknowledged.
    fragments: Vec<Option<PrivateMessage>>,
    next_try: Instant,
    backoff: Duration,
    deadline: Instant,
    /// When its destination is presumed gone, unless a fragment is acknowledged first (then `None`).
    presume_gone_at: Option<Instant>,
}

/// What became of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Finished {
    pub to: PublicKey,
    pub message_id: u64,
}

/// All messages in flight.
#[derive(Debug)]
pub struct Outbox {
    messages: HashMap<u64, Outgoing>,
    policy: RetryPolicy,
    max_messages: usize,
}

fn fragment_index(f: &PrivateMessage) -> u16 {
    match f.body.content {
        hearsay_shared::gossip::PrivateContent::Fragment { index, .. } => index,
        hearsay_shared::gossip::PrivateContent::Ack { index } => index,
    }
}

/// Splits a payload into fragment payloads (an empty payload is one empty fragment).
pub fn split(payload: &[u8]) -> Vec<Vec<u8>> {
    if payload.is_empty() {
        return vec![Vec::new()];
    }
    payload
        .chunks(MAX_FRAGMENT_BYTES)
        .map(<[u8]>::to_vec)
        .collect()
}

impl Outbox {
    pub fn new(policy: RetryPolicy, max_messages: usize) -> Self {
        Self {
            messages: HashMap::new(),
            policy,
            max_messages,
        }
    }

    pub fn is_full(&self) -> bool {
        self.messages.len() >= self.max_messages
    }

    pub fn contains(&self, message_id: u64) -> bool {
        self.messages.contains_key(&message_id)
    }

    /// Starts tracking a message whose (signed) fragments were just sent for the first time.
    pub fn insert(
        &mut self,
        now: Instant,
        message_id: u64,
        to: PublicKey,
        fragments: Vec<PrivateMessage>,
    ) {
        self.messages.insert(
            message_id,
            Outgoing {
                to,
                fragments: fragments.into_iter().map(Some).collect(),
                next_try: now + self.policy.first,
                backoff: self.policy.first,
                deadline: now + self.policy.deadline,
                presume_gone_at: Some(now + self.policy.presumed_gone),
            },
        );
    }

    /// Records an acknowledgement from `from`; returns the message if that was its last fragment.
    pub fn ack(&mut self, from: PublicKey, message_id: u64, index: u16) -> Option<Finished> {
        let msg = self.messages.get_mut(&message_id)?;
        if msg.to != from {
            return None;
        }
        if let Some(slot) = msg.fragments.get_mut(usize::from(index)) {
            *slot = None;
        }
        msg.presume_gone_at = None;
        if msg.fragments.iter().all(Option::is_none) {
            self.messages.remove(&message_id);
            return Some(Finished {
                to: from,
                message_id,
            });
        }
        None
    }

    /// Destinations of messages that had no fragment acknowledged within [`RetryPolicy::presumed_gone`] (each
    /// message names its destination once).
    pub fn presumed_gone(&mut self, now: Instant) -> Vec<PublicKey> {
        let mut gone = Vec::new();
        for msg in self.messages.values_mut() {
            if msg.presume_gone_at.is_some_and(|at| now >= at) {
                msg.presume_gone_at = None;
                gone.push(msg.to);
            }
        }
        gone
    }

    /// Fragments due for another try (with their destination), and messages whose deadline passed.
    pub fn due(&mut self, now: Instant) -> (Vec<(PublicKey, PrivateMessage)>, Vec<Finished>) {
        let mut resend = Vec::new();
        let mut failed = Vec::new();
        let max = self.policy.max;
        self.messages.retain(|&message_id, msg| {
            if now >= msg.deadline {
                failed.push(Finished {
                    to: msg.to,
                    message_id,
                });
                return false;
            }
            if now >= msg.next_try {
                resend.extend(msg.fragments.iter().flatten().map(|f| (msg.to, f.clone())));
                msg.backoff = (msg.backoff * 2).min(max);
                msg.next_try = now + msg.backoff;
            }
            true
        });
        // HashMap order differs between runs: sort so a seeded simulation replays exactly.
        resend.sort_by_key(|(_, f)| (f.body.message_id, fragment_index(f)));
        failed.sort_by_key(|f| f.message_id);
        (resend, failed)
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.messages
            .values()
            .map(|m| m.next_try.min(m.deadline))
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearsay_shared::gossip::{PrivateBody, PrivateContent, Signature};

    fn fragment(index: u16, count: u16) -> PrivateMessage {
        PrivateMessage {
            body: PrivateBody {
                origin: PublicKey([1; 32]),
                destination: PublicKey([2; 32]),
                message_id: 9,
                sent_at_ms: 0,
                max_hops: 10,
                content: PrivateContent::Fragment {
                    index,
                    count,
                    data: vec![],
                },
            },
            signature: Signature::from_bytes(&[0; 64]),
            hop_limit: 10,
        }
    }

    const POLICY: RetryPolicy = RetryPolicy {
        first: Duration::from_secs(1),
        max: Duration::from_secs(4),
        deadline: Duration::from_secs(10),
        presumed_gone: Duration::from_secs(5),
    };

    #[test]
    fn split_covers_the_payload_in_bounded_fragments() {
        let payload: Vec<u8> = (0..2_000u32).map(|i| i as u8).collect();
        let parts = split(&payload);
        assert_eq!(parts.len(), 3);
        assert!(parts.iter().all(|p| p.len() <= MAX_FRAGMENT_BYTES));
        assert_eq!(parts.concat(), payload);
        assert_eq!(split(&[]), vec![Vec::<u8>::new()]);
    }

    #[test]
    fn unacked_fragments_are_retried_with_backoff_until_all_acked() {
        let t0 = Instant::now();
        let to = PublicKey([2; 32]);
        let mut outbox = Outbox::new(POLICY, 10);
        outbox.insert(t0, 9, to, vec![fragment(0, 2), fragment(1, 2)]);
        assert!(outbox.due(t0).0.is_empty());
        assert_eq!(outbox.ack(to, 9, 0), None);
        assert_eq!(outbox.due(t0 + Duration::from_secs(1)).0.len(), 1);
        // Backoff doubled: nothing at +2 s, the next try at +3 s.
        assert!(outbox.due(t0 + Duration::from_secs(2)).0.is_empty());
        assert_eq!(outbox.due(t0 + Duration::from_secs(3)).0.len(), 1);
        assert_eq!(
            outbox.ack(PublicKey([3; 32]), 9, 1),
            None,
            "ack from someone else"
        );
        assert_eq!(outbox.ack(to, 9, 1), Some(Finished { to, message_id: 9 }));
        assert_eq!(outbox.next_deadline(), None);
    }

    #[test]
    fn a_message_never_acked_fails_at_its_deadline() {
        let t0 = Instant::now();
        let to = PublicKey([2; 32]);
        let mut outbox = Outbox::new(POLICY, 10);
        outbox.insert(t0, 9, to, vec![fragment(0, 1)]);
        let (_, failed) = outbox.due(t0 + Duration::from_secs(10));
        assert_eq!(failed, vec![Finished { to, message_id: 9 }]);
        assert!(!outbox.contains(9));
    }
}
