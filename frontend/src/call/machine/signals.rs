//! What the other page says, and signals the node could not deliver.

use hearsay_shared::call::{CallId, SdpKind, Signal};
use hearsay_shared::gossip::PublicKey;

use super::super::negotiation::{CertificateChanged, IncomingOffer, MAX_HELD_CANDIDATES};
use super::*;

impl CallMachine {
    // ---- what the other page says ----

    /// A signal from `from` (whose key the node verified).
    pub fn handle_signal(&mut self, now: u64, from: Peer, signal: Signal) {
        if signal.validate().is_err() {
            return;
        }
        self.on_signal(now, from, signal);
        self.ring_next_waiting(now);
    }

    fn on_signal(&mut self, now: u64, from: Peer, signal: Signal) {
        let is_current = self
            .call
            .as_ref()
            .is_some_and(|c| c.peer.key == from.key && c.id == signal.call());
        match signal {
            Signal::Invite { call, media, offer } => {
                if is_current || !self.first_sight(from.key, call) {
                    return; // a retransmission of an invite we acted on, or a replay
                }
                let early = match self.early.take() {
                    Some((key, id, candidates)) if key == from.key && id == call => candidates,
                    other => {
                        self.early = other;
                        Vec::new()
                    }
                };
                let incoming = WaitingCall {
                    peer: from,
                    id: call,
                    media,
                    since: now,
                    offer,
                    candidates: early,
                };
                if self.phase == Phase::RingingIn {
                    // Beside the ringing call: a newer invite from a caller already waiting replaces theirs.
                    self.waiting.retain(|w| w.peer.key != incoming.peer.key);
                    if self.waiting.len() < MAX_WAITING {
                        self.waiting.push(incoming);
                        return;
                    }
                }
                if self.busy() {
                    self.effects.push_back(Effect::Send {
                        to: incoming.peer.key,
                        signal: Signal::Busy { call },
                    });
                    return;
                }
                self.ring(now, incoming);
            }
            Signal::Candidate { call, candidate }
                if let Some(w) = self
                    .waiting
                    .iter_mut()
                    .find(|w| w.peer.key == from.key && w.id == call) =>
            {
                w.candidates.push(candidate);
                w.candidates.truncate(MAX_HELD_CANDIDATES);
            }
            Signal::Cancel { call } | Signal::HangUp { call }
                if self
                    .waiting
                    .iter()
                    .any(|w| w.peer.key == from.key && w.id == call) =>
            {
                self.waiting
                    .retain(|w| !(w.peer.key == from.key && w.id == call));
            }
            Signal::Candidate { call, candidate } if !is_current => {
                // Possibly ahead of its invite: keep a few for the latest call id we have heard of.
                match &mut self.early {
                    Some((key, id, held)) if *key == from.key && *id == call => {
                        if held.len() < MAX_HELD_CANDIDATES {
                            held.push(candidate);
                        }
                    }
                    _ => self.early = Some((from.key, call, vec![candidate])),
                }
            }
            _ if !is_current => {}
            Signal::Accept { answer, .. } if self.phase == Phase::RingingOut => {
                self.phase = Phase::Connecting;
                self.timers.clear(Timer::Ring);
                self.timers.set(Timer::Connect, now + CONNECT_TIMEOUT_MS);
                match self.nego.apply_first_answer(answer) {
                    Ok(effect) => {
                        self.effects.push_back(effect);
                        self.update_safety_code();
                    }
                    Err(CertificateChanged) => self.certificate_changed(),
                }
            }
            Signal::Candidate { candidate, .. } if self.busy() => {
                if let Some(effect) = self.nego.remote_candidate(candidate) {
                    self.effects.push_back(effect);
                }
            }
            Signal::Description { kind, sdp, .. }
                if self.has_connection() && self.nego.stable() =>
            {
                let role = self.call.as_ref().map_or(Role::Caller, |c| c.role);
                let outcome = match kind {
                    SdpKind::Offer => self.nego.incoming_offer(role, sdp).map(|o| match o {
                        IncomingOffer::Answer(effect) => Some(effect),
                        IncomingOffer::Ignore => None,
                    }),
                    SdpKind::Answer => self.nego.incoming_answer(sdp),
                };
                match outcome {
                    Ok(effect) => self.effects.extend(effect),
                    Err(CertificateChanged) => self.certificate_changed(),
                }
            }
            Signal::Reject { .. } if self.phase == Phase::RingingOut => {
                self.end(EndReason::Declined)
            }
            Signal::Busy { .. } if self.phase == Phase::RingingOut => self.end(EndReason::Busy),
            Signal::Cancel { .. } if self.phase == Phase::RingingIn => self.end(EndReason::Missed),
            Signal::HangUp { .. } if self.busy() => {
                let reason = if self.phase == Phase::RingingIn {
                    EndReason::Missed
                } else {
                    EndReason::HungUpByPeer
                };
                self.end(reason);
            }
            Signal::MediaState {
                mic_on,
                camera_on,
                screen_on,
                ..
            } => {
                if let Some(call) = &mut self.call {
                    call.peer_mic_on = mic_on;
                    call.peer_camera_on = camera_on;
                    call.peer_screen_on = screen_on;
                }
            }
            // Stale for this phase.
            _ => {}
        }
    }

    /// The node could not deliver a signal for `call` to `to`. Before the media connects that ends the call; once
    /// it has, the signaling path may come back while the media still flows (or while reconnecting, which has its
    /// own bound), so it does not.
    pub fn handle_undeliverable(&mut self, to: PublicKey, call: CallId) {
        let current = self
            .call
            .as_ref()
            .is_some_and(|c| c.peer.key == to && c.id == call);
        if current
            && matches!(
                self.phase,
                Phase::RingingOut | Phase::RingingIn | Phase::Connecting
            )
        {
            self.end(EndReason::Unreachable);
        }
    }
}
