//! The call as a state machine, with no browser in it: it owns every rule of a call's life.
//!
//! Drive it like a sans-IO protocol core: feed it what happened — the person's [`Intent`]s
//! ([`CallMachine::handle_intent`]), [`Signal`]s from the other page ([`CallMachine::handle_signal`]), what the
//! browser did or reports ([`CallMachine::handle_rtc`]), undeliverable signals
//! ([`CallMachine::handle_undeliverable`]) and time ([`CallMachine::handle_timeout`]) — then drain
//! [`CallMachine::poll_effect`] until it returns `None` and carry each [`Effect`] out in order.
//! [`CallMachine::poll_timeout`] says when to call `handle_timeout`. Time is milliseconds on any monotonic clock.
//!
//! The flow: the caller opens its connection, offers at once and sends the offer in [`Signal::Invite`] while its
//! camera opens beside it; the callee rings; on accept it opens its connection and answers at once, its camera
//! opening beside it too, and sends [`Signal::Accept`]; tracks are attached to the already negotiated
//! transceivers whenever the camera is ready, so ICE and DTLS never wait for it. Offer/answer details live in
//! [`super::negotiation`]. When the media path breaks during a call (the network changed, a NAT mapping expired)
//! the call goes to [`Phase::Reconnecting`]: after [`DISCONNECT_GRACE_MS`] of "disconnected", or at once on
//! "failed", it restarts ICE with a new offer over [`Signal::Description`], tries again every
//! [`RESTART_RETRY_MS`], and ends after [`RECONNECT_LIMIT_MS`]. Only signals from the current call's peer key, with
//! the current call id, are acted on.
//!
//! Nobody can keep the person from being called: an Invite that arrives while another call rings does not get Busy
//! but waits beside it ([`CallMachine::waiting`], at most [`MAX_WAITING`], one per caller); the person may answer it
//! instead, and it rings next if the ringing one ends unanswered — so a stranger ringing every 30 s cannot make real
//! callers hear "busy". Only a call under way (or one being placed) makes callers busy. An Invite already seen
//! (same caller and call id) is never acted on again, so a replayed Invite does not ring.
//!
//! Its inputs are split by source: [`intents`] (the person), [`signals`] (the other page), [`browser`] (the
//! browser's reports and time); this file holds the state and the rules they share.

use std::collections::VecDeque;

use hearsay_shared::call::{CallId, CallMedia, IceCandidate, Signal};
use hearsay_shared::gossip::PublicKey;
use hearsay_shared::ice::IceServer;

use super::negotiation::Negotiation;
use super::timers::{Timer, Timers};
pub use super::types::*;
use crate::share::safety;

/// How long a call may ring, and how long the first connection may take, before giving up.
pub const RING_TIMEOUT_MS: u64 = 30_000;
pub const CONNECT_TIMEOUT_MS: u64 = 30_000;
/// How long a broken media path may stay "disconnected" before an ICE restart: long enough to ride out a moment of
/// loss (the browser often recovers by itself), short for a person staring at a frozen picture.
pub const DISCONNECT_GRACE_MS: u64 = 2_000;
/// A restart that has not reconnected after this long is tried again (the new path may appear later).
pub const RESTART_RETRY_MS: u64 = 5_000;
/// Reconnecting gives up this long after the path broke, and the call ends.
pub const RECONNECT_LIMIT_MS: u64 = 30_000;
/// Incoming calls that may wait beside a ringing one; a further caller hears busy.
pub const MAX_WAITING: usize = 3;
/// Invites remembered (caller, call id) so none rings twice.
const MAX_SEEN_INVITES: usize = 256;

/// See the module docs.
#[derive(Debug)]
pub struct CallMachine {
    phase: Phase,
    call: Option<CallInfo>,
    nego: Negotiation,
    /// The STUN and TURN servers this page's node chose for it; never ones the other side sent.
    ice_servers: Vec<IceServer>,
    /// This user's key, for the safety code.
    own_key: Option<PublicKey>,
    /// Candidates that arrived before their invite: (sender, call, candidates). Only the latest call is kept.
    early: Option<(PublicKey, CallId, Vec<IceCandidate>)>,
    /// Incoming calls waiting beside the ringing one, oldest first.
    waiting: Vec<WaitingCall>,
    /// Invites already acted on, oldest first.
    seen_invites: VecDeque<(PublicKey, CallId)>,
    timers: Timers,
    effects: VecDeque<Effect>,
}

impl Default for CallMachine {
    fn default() -> Self {
        Self::new(Vec::new())
    }
}

impl CallMachine {
    pub fn new(ice_servers: Vec<IceServer>) -> Self {
        Self {
            phase: Phase::Idle,
            call: None,
            nego: Negotiation::default(),
            ice_servers,
            own_key: None,
            early: None,
            waiting: Vec::new(),
            seen_invites: VecDeque::new(),
            timers: Timers::default(),
            effects: VecDeque::new(),
        }
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The current call, or the last one while the "ended" view shows.
    pub fn call(&self) -> Option<&CallInfo> {
        self.call.as_ref()
    }

    /// Incoming calls waiting beside the ringing one.
    pub fn waiting(&self) -> &[WaitingCall] {
        &self.waiting
    }

    pub fn poll_effect(&mut self) -> Option<Effect> {
        self.effects.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<u64> {
        self.timers.next()
    }

    /// This user's key (from the node), for the safety code.
    pub fn set_own_key(&mut self, key: PublicKey) {
        self.own_key = Some(key);
        self.update_safety_code();
    }

    /// The node sent the servers to use (its own, or relays it found), or fresh credentials for them. A call under
    /// way switches to them too.
    pub fn set_ice_servers(&mut self, servers: Vec<IceServer>) {
        if servers == self.ice_servers {
            return;
        }
        self.ice_servers = servers.clone();
        if self.has_connection() {
            self.effects.push_back(Effect::UpdateIceServers(servers));
        }
    }

    /// Ringing or in a call: another caller hears busy (or waits, while ringing).
    fn busy(&self) -> bool {
        !matches!(self.phase, Phase::Idle | Phase::Ended(_))
    }

    /// Remembers an Invite; false if it was seen before (a retransmission or a replay).
    fn first_sight(&mut self, key: PublicKey, call: CallId) -> bool {
        if self.seen_invites.contains(&(key, call)) {
            return false;
        }
        if self.seen_invites.len() >= MAX_SEEN_INVITES {
            self.seen_invites.pop_front();
        }
        self.seen_invites.push_back((key, call));
        true
    }

    /// Starts ringing for an incoming call.
    fn ring(&mut self, now: u64, incoming: WaitingCall) {
        self.new_call(
            incoming.peer,
            incoming.id,
            Role::Callee,
            incoming.media,
            now,
        );
        self.nego = Negotiation::for_invite(incoming.offer, incoming.candidates);
        self.phase = Phase::RingingIn;
        self.effects.push_back(Effect::Ring(true));
    }

    /// Once nothing rings and no call is under way, the oldest waiting call still within its ring time rings.
    fn ring_next_waiting(&mut self, now: u64) {
        if self.busy() || self.waiting.is_empty() {
            return;
        }
        self.waiting
            .retain(|w| now.saturating_sub(w.since) < RING_TIMEOUT_MS);
        if !self.waiting.is_empty() {
            let next = self.waiting.remove(0);
            self.ring(now, next);
        }
    }

    /// Tells every waiting caller the person is busy now, and forgets them.
    fn turn_waiting_away(&mut self) {
        for w in std::mem::take(&mut self.waiting) {
            self.effects.push_back(Effect::Send {
                to: w.peer.key,
                signal: Signal::Busy { call: w.id },
            });
        }
    }

    /// The peer connection exists and the first exchange is under way or done.
    fn has_connection(&self) -> bool {
        matches!(
            self.phase,
            Phase::Connecting | Phase::InCall | Phase::Reconnecting
        )
    }

    fn send(&mut self, signal: Signal) {
        if let Some(call) = &self.call {
            self.effects.push_back(Effect::Send {
                to: call.peer.key,
                signal,
            });
        }
    }

    fn id(&self) -> Option<CallId> {
        self.call.as_ref().map(|c| c.id)
    }

    fn new_call(&mut self, peer: Peer, id: CallId, role: Role, media: CallMedia, now: u64) {
        self.call = Some(CallInfo {
            peer,
            id,
            role,
            offered: media,
            sending: media,
            mic_on: media.audio(),
            camera_on: media.video(),
            screen_on: false,
            peer_mic_on: role == Role::Caller || media.audio(),
            peer_camera_on: role == Role::Caller || media.video(),
            peer_screen_on: false,
            connected_at: None,
            safety_code: None,
            restarts: 0,
        });
        self.timers.clear_all();
        self.timers.set(Timer::Ring, now + RING_TIMEOUT_MS);
        self.effects.push_back(Effect::StartSession);
    }

    fn end(&mut self, reason: EndReason) {
        if self.phase == Phase::RingingIn {
            self.effects.push_back(Effect::Ring(false));
        }
        self.effects.push_back(Effect::EndSession);
        self.phase = Phase::Ended(reason);
        self.timers.clear_all();
        self.nego = Negotiation::default();
    }

    fn fail(&mut self, reason: String) {
        if let Some(id) = self.id() {
            self.send(Signal::HangUp { call: id });
        }
        self.effects.push_back(Effect::Notice(reason));
        self.end(EndReason::ConnectionFailed);
    }

    fn certificate_changed(&mut self) {
        self.fail(
            "The other side's certificate changed during the call, so it is no longer the one the safety code \
             vouched for: the call was ended."
                .into(),
        );
    }

    fn update_safety_code(&mut self) {
        let (Some(own), Some((local, remote))) = (self.own_key, self.nego.fingerprints()) else {
            return;
        };
        let code = self.call.as_ref().map(|call| {
            safety::safety_code((&own.to_hex(), local), (&call.peer.key.to_hex(), remote))
        });
        if let (Some(call), Some(code)) = (&mut self.call, code) {
            call.safety_code = Some(code);
        }
    }
}

mod browser;
mod intents;
mod signals;
