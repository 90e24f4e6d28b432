//! The call's negotiation logic as a state machine, with no browser in it.
//!
//! Drive it like a sans-IO protocol core: feed it what happened — the person's [`Intent`]s
//! ([`CallMachine::handle_intent`]), [`Signal`]s from the other page ([`CallMachine::handle_signal`]), results of the
//! browser work it asked for ([`CallMachine::handle_rtc`]), undeliverable signals
//! ([`CallMachine::handle_undeliverable`]) and time ([`CallMachine::handle_timeout`]) — then drain
//! [`CallMachine::poll_effect`] until it returns `None` and carry each [`Effect`] out in order. Effects that touch
//! the browser report back through `handle_rtc`. [`CallMachine::poll_timeout`] says when to call `handle_timeout`.
//! Time is milliseconds on any monotonic clock the caller chooses.
//!
//! The flow: the caller gets media, makes an offer and sends it in [`Signal::Invite`]; the callee rings; on accept
//! it gets media, answers, and sends [`Signal::Accept`]; candidates trickle both ways from the start and are held
//! back until the side that receives them has the remote description (gossip may reorder them ahead of it). Only
//! signals from the current call's peer key, with the current call id, are acted on.

use std::collections::VecDeque;

use hearsay_shared::call::{CallId, CallMedia, IceCandidate, Signal};
use hearsay_shared::ice::IceServer;

/// How long a call may ring, and how long connecting may take, before giving up.
pub const RING_TIMEOUT_MS: u64 = 30_000;
pub const CONNECT_TIMEOUT_MS: u64 = 30_000;
/// Bound on candidates held back for one call (real calls have a handful).
const MAX_HELD_CANDIDATES: usize = 64;

/// The other side of a call, as the node vouches for it (the key signed the signals).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub key: String,
    pub name: String,
    pub fingerprint: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Caller,
    Callee,
}

/// Where the call is, as a person sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Idle,
    RingingOut,
    RingingIn,
    Connecting,
    InCall,
    Ended(EndReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    HungUpByYou,
    HungUpByPeer,
    /// The callee declined.
    Declined,
    /// You declined an incoming call.
    DeclinedByYou,
    Busy,
    NoAnswer,
    /// An incoming call stopped ringing: the caller cancelled or nobody answered in time.
    Missed,
    CancelledByYou,
    /// The signaling could not be delivered to the peer's node.
    Unreachable,
    /// The media connection could not be made or was lost.
    ConnectionFailed,
}

impl EndReason {
    pub fn describe(self) -> &'static str {
        match self {
            EndReason::HungUpByYou => "You ended the call.",
            EndReason::HungUpByPeer => "They ended the call.",
            EndReason::Declined => "They declined the call.",
            EndReason::DeclinedByYou => "You declined the call.",
            EndReason::Busy => "They are in another call.",
            EndReason::NoAnswer => "No answer.",
            EndReason::Missed => "Missed call.",
            EndReason::CancelledByYou => "Call cancelled.",
            EndReason::Unreachable => "Could not reach them: the signaling was not delivered.",
            EndReason::ConnectionFailed => "The call could not connect.",
        }
    }
}

/// What the person asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum Intent {
    Call {
        peer: Peer,
        media: CallMedia,
        call: CallId,
    },
    Accept {
        media: CallMedia,
    },
    Reject,
    /// Stop ringing out.
    Cancel,
    HangUp,
    SetMic(bool),
    SetCamera(bool),
    /// Share the screen in place of the camera, or go back to the camera.
    SetScreen(bool),
    /// Leave the "call ended" view.
    Dismiss,
}

/// Results of browser work the machine asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum RtcEvent {
    /// Local media for `sending` is ready (ReceiveOnly needs none and is always ready).
    MediaReady {
        sending: CallMedia,
    },
    /// `wanted` could not be had (denied, no device…).
    MediaUnavailable {
        wanted: CallMedia,
        reason: String,
    },
    LocalOffer(String),
    LocalAnswer(String),
    LocalCandidate(IceCandidate),
    Connected,
    /// Screen sharing started (the person picked a screen) or could not start.
    ScreenStarted,
    ScreenUnavailable(String),
    /// The person stopped sharing with the browser's own control.
    ScreenEnded,
    /// ICE failed, or a browser call failed: the call cannot go on.
    Failed(String),
}

/// What the machine asks the page to do, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Send a signal to the peer's key over the gossip network.
    Send {
        to: String,
        signal: Signal,
    },
    /// Get camera/microphone for `media`; answer with MediaReady or MediaUnavailable.
    AcquireMedia(CallMedia),
    /// Make the RTCPeerConnection with these ICE servers and attach local media.
    OpenPeer {
        ice_servers: Vec<IceServer>,
    },
    /// The node chose other ICE servers (or fresh credentials) during a call: use them from now on (gathering after
    /// an ICE restart uses them).
    UpdateIceServers(Vec<IceServer>),
    /// Create an offer and set it locally; answer with LocalOffer.
    CreateOffer,
    /// Set the remote offer, add the held candidates, create and set an answer; answer with LocalAnswer.
    AnswerOffer {
        offer: String,
        candidates: Vec<IceCandidate>,
    },
    /// Set the remote answer and add the held candidates.
    ApplyAnswer {
        answer: String,
        candidates: Vec<IceCandidate>,
    },
    AddCandidate(IceCandidate),
    SetMic(bool),
    SetCamera(bool),
    /// Ask for a screen (answer with ScreenStarted / ScreenUnavailable) and send it instead of the camera, or stop
    /// sharing and send the camera again.
    SetScreen(bool),
    /// Start or stop the ring sound and attention cues.
    Ring(bool),
    /// Close the peer connection and release local media.
    Close,
    /// Tell the person something that does not end the call.
    Notice(String),
}

/// The details of the current (or last) call.
#[derive(Debug, Clone, PartialEq)]
pub struct CallInfo {
    pub peer: Peer,
    pub id: CallId,
    pub role: Role,
    /// What the caller offered to send.
    pub offered: CallMedia,
    /// What this side sends (after any fallback).
    pub sending: CallMedia,
    pub mic_on: bool,
    pub camera_on: bool,
    /// This side sends its screen instead of its camera.
    pub screen_on: bool,
    pub peer_mic_on: bool,
    pub peer_camera_on: bool,
    pub peer_screen_on: bool,
    /// When the media connected.
    pub connected_at: Option<u64>,
}

#[derive(Debug, Default)]
struct Negotiation {
    remote_offer: Option<String>,
    /// The remote description is set, so remote candidates can go straight in.
    remote_described: bool,
    /// Our invite/accept is sent, so local candidates can go straight out.
    signaled: bool,
    held_local: Vec<IceCandidate>,
    held_remote: Vec<IceCandidate>,
}

/// See the module docs.
#[derive(Debug)]
pub struct CallMachine {
    phase: Phase,
    call: Option<CallInfo>,
    nego: Negotiation,
    /// The STUN and TURN servers this page's node chose for it; never ones the other side sent.
    ice_servers: Vec<IceServer>,
    /// Candidates that arrived before their invite: (sender, call, candidates). Only the latest call is kept.
    early: Option<(String, CallId, Vec<IceCandidate>)>,
    deadline: Option<u64>,
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
            early: None,
            deadline: None,
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

    /// The node sent the servers to use (its own, or relays it found), or fresh credentials for them. A call under
    /// way switches to them too.
    pub fn set_ice_servers(&mut self, servers: Vec<IceServer>) {
        if servers == self.ice_servers {
            return;
        }
        self.ice_servers = servers.clone();
        if matches!(self.phase, Phase::Connecting | Phase::InCall) {
            self.effects.push_back(Effect::UpdateIceServers(servers));
        }
    }

    pub fn poll_effect(&mut self) -> Option<Effect> {
        self.effects.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<u64> {
        self.deadline
    }

    fn busy(&self) -> bool {
        matches!(
            self.phase,
            Phase::RingingOut | Phase::RingingIn | Phase::Connecting | Phase::InCall
        )
    }

    fn send(&mut self, signal: Signal) {
        if let Some(call) = &self.call {
            self.effects.push_back(Effect::Send {
                to: call.peer.key.clone(),
                signal,
            });
        }
    }

    fn end(&mut self, reason: EndReason) {
        if matches!(self.phase, Phase::RingingIn) {
            self.effects.push_back(Effect::Ring(false));
        }
        self.effects.push_back(Effect::Close);
        self.phase = Phase::Ended(reason);
        self.deadline = None;
        self.nego = Negotiation::default();
    }

    fn id(&self) -> Option<CallId> {
        self.call.as_ref().map(|c| c.id)
    }

    pub fn handle_intent(&mut self, now: u64, intent: Intent) {
        match (self.phase, intent) {
            (Phase::Idle | Phase::Ended(_), Intent::Call { peer, media, call }) => {
                self.call = Some(CallInfo {
                    peer,
                    id: call,
                    role: Role::Caller,
                    offered: media,
                    sending: media,
                    mic_on: media.audio(),
                    camera_on: media.video(),
                    screen_on: false,
                    peer_mic_on: true,
                    peer_camera_on: true,
                    peer_screen_on: false,
                    connected_at: None,
                });
                self.nego = Negotiation::default();
                self.phase = Phase::RingingOut;
                self.deadline = Some(now + RING_TIMEOUT_MS);
                self.effects.push_back(Effect::AcquireMedia(media));
            }
            (Phase::RingingIn, Intent::Accept { media }) => {
                self.phase = Phase::Connecting;
                self.deadline = Some(now + CONNECT_TIMEOUT_MS);
                if let Some(call) = &mut self.call {
                    call.sending = media;
                    call.mic_on = media.audio();
                    call.camera_on = media.video();
                }
                self.effects.push_back(Effect::Ring(false));
                self.effects.push_back(Effect::AcquireMedia(media));
            }
            (Phase::RingingIn, Intent::Reject) => {
                if let Some(id) = self.id() {
                    self.send(Signal::Reject { call: id });
                }
                self.end(EndReason::DeclinedByYou);
            }
            (Phase::RingingOut, Intent::Cancel) => {
                if let Some(id) = self.id() {
                    self.send(Signal::Cancel { call: id });
                }
                self.end(EndReason::CancelledByYou);
            }
            (Phase::Connecting | Phase::InCall | Phase::RingingOut, Intent::HangUp) => {
                if let Some(id) = self.id() {
                    self.send(Signal::HangUp { call: id });
                }
                self.end(EndReason::HungUpByYou);
            }
            (Phase::Connecting | Phase::InCall, Intent::SetMic(on)) => {
                self.set_media(Some(on), None)
            }
            (Phase::Connecting | Phase::InCall, Intent::SetCamera(on)) => {
                self.set_media(None, Some(on))
            }
            (Phase::InCall, Intent::SetScreen(on)) => {
                let sharing = self.call.as_ref().is_some_and(|c| c.screen_on);
                if on != sharing {
                    // Stopping takes effect now; starting once the person has picked a screen.
                    if !on {
                        self.screen_stopped();
                    }
                    self.effects.push_back(Effect::SetScreen(on));
                }
            }
            (Phase::Ended(_), Intent::Dismiss) => {
                self.phase = Phase::Idle;
                self.call = None;
            }
            // Anything else does not apply in this phase (a double click, a stale button): ignore it.
            _ => {}
        }
    }

    fn set_media(&mut self, mic: Option<bool>, camera: Option<bool>) {
        let Some(call) = &mut self.call else { return };
        if let Some(on) = mic {
            if !call.sending.audio() {
                return;
            }
            call.mic_on = on;
            self.effects.push_back(Effect::SetMic(on));
        }
        if let Some(on) = camera {
            if !call.sending.video() {
                return;
            }
            call.camera_on = on;
            self.effects.push_back(Effect::SetCamera(on));
        }
        self.send_media_state();
    }

    fn send_media_state(&mut self) {
        let Some(call) = &self.call else { return };
        let signal = Signal::MediaState {
            call: call.id,
            mic_on: call.mic_on,
            camera_on: call.camera_on,
            screen_on: call.screen_on,
        };
        self.send(signal);
    }

    fn screen_stopped(&mut self) {
        if let Some(call) = &mut self.call {
            call.screen_on = false;
        }
        self.send_media_state();
    }

    /// A signal from key `from` (verified by the node), with the sender's name and fingerprint.
    pub fn handle_signal(&mut self, now: u64, from: Peer, signal: Signal) {
        if signal.validate().is_err() {
            return;
        }
        let is_current = self
            .call
            .as_ref()
            .is_some_and(|c| c.peer.key == from.key && c.id == signal.call());
        match signal {
            Signal::Invite { call, media, offer } => {
                if is_current {
                    return; // a retransmitted invite for the call we already have
                }
                if self.busy() {
                    self.effects.push_back(Effect::Send {
                        to: from.key,
                        signal: Signal::Busy { call },
                    });
                    return;
                }
                let held_remote = match self.early.take() {
                    Some((key, id, candidates)) if key == from.key && id == call => candidates,
                    _ => Vec::new(),
                };
                self.call = Some(CallInfo {
                    peer: from,
                    id: call,
                    role: Role::Callee,
                    offered: media,
                    sending: media,
                    mic_on: media.audio(),
                    camera_on: media.video(),
                    screen_on: false,
                    peer_mic_on: media.audio(),
                    peer_camera_on: media.video(),
                    peer_screen_on: false,
                    connected_at: None,
                });
                self.nego = Negotiation {
                    remote_offer: Some(offer),
                    held_remote,
                    ..Negotiation::default()
                };
                self.phase = Phase::RingingIn;
                self.deadline = Some(now + RING_TIMEOUT_MS);
                self.effects.push_back(Effect::Ring(true));
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
                self.deadline = Some(now + CONNECT_TIMEOUT_MS);
                self.nego.remote_described = true;
                let candidates = std::mem::take(&mut self.nego.held_remote);
                self.effects
                    .push_back(Effect::ApplyAnswer { answer, candidates });
            }
            Signal::Candidate { candidate, .. } if self.busy() => {
                if self.nego.remote_described {
                    self.effects.push_back(Effect::AddCandidate(candidate));
                } else if self.nego.held_remote.len() < MAX_HELD_CANDIDATES {
                    self.nego.held_remote.push(candidate);
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
            // Renegotiation (Description) is handled by the in-call sharing work; other signals are stale.
            _ => {}
        }
    }

    pub fn handle_rtc(&mut self, now: u64, event: RtcEvent) {
        if !self.busy() {
            return; // a late result from a call that already ended
        }
        let Some(call) = self.call.clone() else {
            return;
        };
        match event {
            RtcEvent::MediaReady { sending } => {
                if let Some(c) = &mut self.call {
                    c.sending = sending;
                    c.mic_on = sending.audio();
                    c.camera_on = sending.video();
                }
                match call.role {
                    Role::Caller => {
                        self.effects.push_back(Effect::OpenPeer {
                            ice_servers: self.ice_servers.clone(),
                        });
                        self.effects.push_back(Effect::CreateOffer);
                    }
                    Role::Callee => {
                        self.effects.push_back(Effect::OpenPeer {
                            ice_servers: self.ice_servers.clone(),
                        });
                        let offer = self.nego.remote_offer.clone().unwrap_or_default();
                        self.nego.remote_described = true;
                        let candidates = std::mem::take(&mut self.nego.held_remote);
                        self.effects
                            .push_back(Effect::AnswerOffer { offer, candidates });
                    }
                }
            }
            RtcEvent::MediaUnavailable { wanted, reason } => match wanted.fallback() {
                Some(next) => {
                    let what = match next {
                        CallMedia::AudioOnly => "continuing with audio only",
                        _ => "continuing without sending audio or video",
                    };
                    self.effects
                        .push_back(Effect::Notice(format!("{reason}: {what}.")));
                    self.effects.push_back(Effect::AcquireMedia(next));
                }
                None => self.fail(format!("no media: {reason}")),
            },
            RtcEvent::LocalOffer(offer) if call.role == Role::Caller && !self.nego.signaled => {
                self.send(Signal::Invite {
                    call: call.id,
                    media: call.sending,
                    offer,
                });
                self.flush_local_candidates();
            }
            RtcEvent::LocalAnswer(answer) if call.role == Role::Callee && !self.nego.signaled => {
                self.send(Signal::Accept {
                    call: call.id,
                    answer,
                });
                self.flush_local_candidates();
            }
            RtcEvent::LocalCandidate(candidate) => {
                if self.nego.signaled {
                    self.send(Signal::Candidate {
                        call: call.id,
                        candidate,
                    });
                } else if self.nego.held_local.len() < MAX_HELD_CANDIDATES {
                    self.nego.held_local.push(candidate);
                }
            }
            RtcEvent::Connected if self.phase == Phase::Connecting => {
                self.phase = Phase::InCall;
                self.deadline = None;
                if let Some(c) = &mut self.call {
                    c.connected_at = Some(now);
                }
            }
            RtcEvent::ScreenStarted if self.phase == Phase::InCall => {
                if let Some(c) = &mut self.call {
                    c.screen_on = true;
                }
                self.send_media_state();
            }
            RtcEvent::ScreenUnavailable(reason) => {
                self.effects.push_back(Effect::Notice(format!(
                    "Screen sharing did not start: {reason}"
                )));
            }
            RtcEvent::ScreenEnded if call.screen_on => {
                self.screen_stopped();
                self.effects.push_back(Effect::SetScreen(false));
            }
            RtcEvent::Failed(reason) => self.fail(reason),
            _ => {}
        }
    }

    fn flush_local_candidates(&mut self) {
        self.nego.signaled = true;
        let Some(id) = self.id() else { return };
        for candidate in std::mem::take(&mut self.nego.held_local) {
            self.send(Signal::Candidate {
                call: id,
                candidate,
            });
        }
    }

    fn fail(&mut self, reason: String) {
        if let Some(id) = self.id() {
            self.send(Signal::HangUp { call: id });
        }
        self.effects.push_back(Effect::Notice(reason));
        self.end(EndReason::ConnectionFailed);
    }

    /// The node could not deliver a signal for `call` to `to`.
    pub fn handle_undeliverable(&mut self, to: &str, call: CallId) {
        let current = self
            .call
            .as_ref()
            .is_some_and(|c| c.peer.key == to && c.id == call);
        if current && self.busy() {
            self.end(EndReason::Unreachable);
        }
    }

    pub fn handle_timeout(&mut self, now: u64) {
        let Some(deadline) = self.deadline else {
            return;
        };
        if now < deadline {
            return;
        }
        match self.phase {
            Phase::RingingOut => {
                if let Some(id) = self.id() {
                    self.send(Signal::Cancel { call: id });
                }
                self.end(EndReason::NoAnswer);
            }
            Phase::RingingIn => self.end(EndReason::Missed),
            Phase::Connecting => self.fail("the connection was not made within 30 s".into()),
            _ => self.deadline = None,
        }
    }
}
