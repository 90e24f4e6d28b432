//! The offer/answer side of a call: which descriptions are set, which ICE candidates must wait for one, who wins
//! when both sides offer at once, and the DTLS fingerprints the safety code is made of.
//!
//! Candidates trickle both ways from the start. Remote ones wait until the remote description of the current
//! exchange is set (gossip may deliver them ahead of it); local ones wait until our invite or accept is sent. A
//! renegotiation (an ICE restart) is perfect negotiation (W3C WebRTC §10.7) with fixed roles: the caller is
//! impolite (its offer wins a collision), the callee polite (it rolls its own offer back and answers). The
//! certificates must not change: a renegotiated description with another DTLS fingerprint than the call started
//! with ends the call, since it would also change what the safety code vouched for.

use hearsay_shared::call::IceCandidate;

use super::types::{Effect, Role};
use crate::share::safety;

/// Bound on candidates held back (real calls have a handful per exchange).
pub const MAX_HELD_CANDIDATES: usize = 64;

#[derive(Debug, Default)]
pub struct Negotiation {
    /// Callee: the invite's offer, kept until the person answers.
    pub remote_offer: Option<String>,
    /// The remote description of the current exchange is set: remote candidates go straight in.
    remote_described: bool,
    /// Our invite or accept is sent: local candidates go straight out.
    signaled: bool,
    /// The first offer/answer exchange is complete on this side.
    stable: bool,
    /// We sent a renegotiation offer and wait for its answer.
    making_offer: bool,
    held_local: Vec<IceCandidate>,
    held_remote: Vec<IceCandidate>,
    local_fingerprint: Option<String>,
    remote_fingerprint: Option<String>,
}

/// What to do with a renegotiation offer from the other side.
#[derive(Debug, PartialEq)]
pub enum IncomingOffer {
    /// Answer it (rolling back our own offer first if `rollback`).
    Answer(Effect),
    /// Our own offer wins the collision: ignore theirs.
    Ignore,
}

/// A description whose certificate is not the one the call started with.
#[derive(Debug, PartialEq, Eq)]
pub struct CertificateChanged;

impl Negotiation {
    /// A callee's negotiation, from the invite's offer and any candidates that came ahead of it.
    pub fn for_invite(offer: String, early: Vec<IceCandidate>) -> Self {
        Self {
            remote_fingerprint: safety::dtls_fingerprint(&offer),
            remote_offer: Some(offer),
            held_remote: early,
            ..Self::default()
        }
    }

    pub fn stable(&self) -> bool {
        self.stable
    }

    pub fn signaled(&self) -> bool {
        self.signaled
    }

    pub fn making_offer(&self) -> bool {
        self.making_offer
    }

    /// Both fingerprints, once known: (ours, theirs).
    pub fn fingerprints(&self) -> Option<(&str, &str)> {
        Some((
            self.local_fingerprint.as_deref()?,
            self.remote_fingerprint.as_deref()?,
        ))
    }

    /// A local candidate: `Some` to send now, `None` if held until our invite/accept goes out.
    pub fn local_candidate(&mut self, candidate: IceCandidate) -> Option<IceCandidate> {
        if self.signaled {
            return Some(candidate);
        }
        if self.held_local.len() < MAX_HELD_CANDIDATES {
            self.held_local.push(candidate);
        }
        None
    }

    /// A remote candidate: `Some` effect to add it now, `None` if held for the remote description.
    pub fn remote_candidate(&mut self, candidate: IceCandidate) -> Option<Effect> {
        if self.remote_described {
            return Some(Effect::AddCandidate(candidate));
        }
        if self.held_remote.len() < MAX_HELD_CANDIDATES {
            self.held_remote.push(candidate);
        }
        None
    }

    /// Our first description (offer or answer) is set: record its certificate.
    pub fn local_description(&mut self, sdp: &str) -> Result<(), CertificateChanged> {
        Self::same_certificate(&mut self.local_fingerprint, sdp)
    }

    /// Our invite or accept went out: the held local candidates go too.
    pub fn signaled_now(&mut self) -> Vec<IceCandidate> {
        self.signaled = true;
        std::mem::take(&mut self.held_local)
    }

    /// Callee: answering the invite's offer.
    pub fn answer_invite(&mut self) -> Effect {
        self.remote_described = true;
        self.stable = true;
        Effect::AnswerOffer {
            offer: self.remote_offer.take().unwrap_or_default(),
            candidates: std::mem::take(&mut self.held_remote),
            rollback: false,
        }
    }

    /// Caller: the callee's answer to the invite.
    pub fn apply_first_answer(&mut self, answer: String) -> Result<Effect, CertificateChanged> {
        Self::same_certificate(&mut self.remote_fingerprint, &answer)?;
        self.remote_described = true;
        self.stable = true;
        Ok(Effect::ApplyAnswer {
            answer,
            candidates: std::mem::take(&mut self.held_remote),
        })
    }

    /// We are about to send a renegotiation offer: the other side's new candidates wait for its answer.
    pub fn start_offer(&mut self) {
        self.making_offer = true;
        self.remote_described = false;
    }

    /// A renegotiation offer from the other side.
    pub fn incoming_offer(
        &mut self,
        role: Role,
        offer: String,
    ) -> Result<IncomingOffer, CertificateChanged> {
        Self::same_certificate(&mut self.remote_fingerprint, &offer)?;
        let rollback = self.making_offer;
        if rollback && role == Role::Caller {
            return Ok(IncomingOffer::Ignore);
        }
        self.making_offer = false;
        self.remote_described = true;
        Ok(IncomingOffer::Answer(Effect::AnswerOffer {
            offer,
            candidates: std::mem::take(&mut self.held_remote),
            rollback,
        }))
    }

    /// The answer to our renegotiation offer; `None` if we are not waiting for one (a late or duplicate answer).
    pub fn incoming_answer(
        &mut self,
        answer: String,
    ) -> Result<Option<Effect>, CertificateChanged> {
        if !self.making_offer {
            return Ok(None);
        }
        Self::same_certificate(&mut self.remote_fingerprint, &answer)?;
        self.making_offer = false;
        self.remote_described = true;
        Ok(Some(Effect::ApplyAnswer {
            answer,
            candidates: std::mem::take(&mut self.held_remote),
        }))
    }

    /// Records the certificate of `sdp` in `slot`, or says it differs from the one recorded.
    fn same_certificate(slot: &mut Option<String>, sdp: &str) -> Result<(), CertificateChanged> {
        let fingerprint = safety::dtls_fingerprint(sdp);
        match (slot.as_ref(), fingerprint) {
            (Some(known), Some(now)) if *known != now => Err(CertificateChanged),
            (None, now) => {
                *slot = now;
                Ok(())
            }
            _ => Ok(()),
        }
    }
}
