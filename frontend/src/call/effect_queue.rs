//! The order the page carries the call machine's effects out in. The machine makes them in causal order; the
//! runtime's worker does browser work one effect at a time, so an answer is always set before the candidates that
//! follow it. Two kinds of effect need not wait their turn, and waiting made calls start later:
//!
//! - **Signals** leave at once, in the order the machine made them. One queued behind the browser's work (an
//!   answer being set, candidates being added) reached the other side ~40 ms later, and the other side's DTLS
//!   waits for the answer. No signal depends on browser work still queued: the machine makes each one from a
//!   result it was given.
//! - **Attaching the camera** goes ahead of candidates still to be added (independent browser work; a Firefox
//!   caller's five held a Chromium callee's camera ~50 ms), never ahead of the description work that makes the
//!   transceivers it goes on. The other side's first picture waits for it.

use std::collections::VecDeque;

use hearsay_shared::call::Signal;
use hearsay_shared::gossip::PublicKey;

use super::types::Effect;

#[derive(Debug, Default)]
pub struct EffectQueue {
    queue: VecDeque<Effect>,
}

impl EffectQueue {
    /// Takes one effect from the machine: a signal comes back to be sent now; anything else waits for the worker.
    pub fn take(&mut self, effect: Effect) -> Option<(PublicKey, Signal)> {
        match effect {
            Effect::Send { to, signal } => return Some((to, signal)),
            Effect::AttachMedia => {
                let mut at = self.queue.len();
                while at > 0 && matches!(self.queue[at - 1], Effect::AddCandidate(_)) {
                    at -= 1;
                }
                self.queue.insert(at, Effect::AttachMedia);
            }
            other => self.queue.push_back(other),
        }
        None
    }

    /// The next effect for the worker.
    pub fn pop(&mut self) -> Option<Effect> {
        self.queue.pop_front()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use hearsay_shared::call::{CallId, IceCandidate};

    use super::*;

    fn candidate(tag: &str) -> Effect {
        Effect::AddCandidate(IceCandidate {
            candidate: tag.into(),
            sdp_mid: None,
            sdp_m_line_index: None,
        })
    }

    fn answer() -> Effect {
        Effect::AnswerOffer {
            offer: "v=0".into(),
            candidates: vec![],
            rollback: false,
        }
    }

    fn drain(q: &mut EffectQueue) -> Vec<Effect> {
        std::iter::from_fn(|| q.pop()).collect()
    }

    #[test]
    fn signals_leave_at_once_and_the_rest_keeps_its_order() {
        let mut q = EffectQueue::default();
        let hang_up = Signal::HangUp { call: CallId(1) };
        assert_eq!(q.take(answer()), None);
        assert_eq!(q.take(candidate("a")), None);
        assert_eq!(
            q.take(Effect::Send {
                to: PublicKey([1; 32]),
                signal: hang_up.clone(),
            }),
            Some((PublicKey([1; 32]), hang_up))
        );
        assert_eq!(q.take(Effect::EndSession), None);
        assert_eq!(
            drain(&mut q),
            vec![answer(), candidate("a"), Effect::EndSession]
        );
    }

    #[test]
    fn the_camera_overtakes_candidates_but_not_the_answer_that_makes_its_transceivers() {
        let mut q = EffectQueue::default();
        for effect in [
            answer(),
            candidate("a"),
            candidate("b"),
            Effect::AttachMedia,
        ] {
            q.take(effect);
        }
        assert_eq!(
            drain(&mut q),
            vec![
                answer(),
                Effect::AttachMedia,
                candidate("a"),
                candidate("b")
            ]
        );
        // Nothing queued: it simply goes first.
        q.take(Effect::AttachMedia);
        assert_eq!(drain(&mut q), vec![Effect::AttachMedia]);
    }
}
