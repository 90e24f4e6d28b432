//! Two call machines talking through a scripted browser: every signal one sends is delivered to the other, and
//! every browser effect is answered the way a real browser would, so whole calls run natively and deterministically.
//! One scenario family per file.

mod lifecycle;
mod media;
mod reconnect;
mod waiting;

use hearsay_shared::call::{CallId, CallMedia, IceCandidate, Signal};
use hearsay_shared::gossip::PublicKey;

use super::machine::*;

pub struct Side {
    pub machine: CallMachine,
    pub me: Peer,
    /// What this side's browser cannot provide: answered with MediaUnavailable.
    pub camera_missing: bool,
    /// Whether a description being applied lets ICE connect (a broken network does not).
    pub network_up: bool,
    /// Hold camera results back until [`Side::camera_ready`] (a camera that takes its time to open).
    pub slow_camera: bool,
    pending_media: Option<CallMedia>,
    pub effects: Vec<Effect>,
    /// Signals sent and not yet delivered.
    pub outbox: Vec<(PublicKey, Signal)>,
    offers: u32,
}

pub fn peer(name: &str) -> Peer {
    let mut key = [0u8; 32];
    key[..name.len().min(32)].copy_from_slice(&name.as_bytes()[..name.len().min(32)]);
    let key = PublicKey(key);
    Peer {
        key,
        name: name.into(),
        fingerprint: key.fingerprint(),
    }
}

pub fn candidate(tag: &str) -> IceCandidate {
    IceCandidate {
        candidate: format!("candidate:{tag} 1 udp 1 127.0.0.1 5000 typ host"),
        sdp_mid: Some("0".into()),
        sdp_m_line_index: Some(0),
    }
}

impl Side {
    pub fn new(name: &str) -> Self {
        let mut machine = CallMachine::default();
        let me = peer(name);
        machine.set_own_key(me.key);
        Self {
            machine,
            me,
            camera_missing: false,
            network_up: true,
            slow_camera: false,
            pending_media: None,
            effects: Vec::new(),
            outbox: Vec::new(),
            offers: 0,
        }
    }

    /// The SDP this side's browser makes: its certificate never changes within a call.
    fn sdp(&self, kind: &str) -> String {
        format!(
            "v=0 {kind}\r\na=fingerprint:sha-256 {}\r\n",
            self.me.name.to_uppercase()
        )
    }

    fn media(&mut self, now: u64, m: CallMedia) {
        if m.video() && self.camera_missing {
            self.machine.handle_rtc(
                now,
                RtcEvent::MediaUnavailable {
                    wanted: m,
                    reason: "no camera".into(),
                },
            )
        } else {
            self.machine
                .handle_rtc(now, RtcEvent::MediaReady { sending: m })
        }
    }

    /// The slow camera opens now.
    pub fn camera_ready(&mut self, now: u64) {
        if let Some(m) = self.pending_media.take() {
            self.media(now, m);
        }
    }

    /// Drains effects, answering browser work at once; returns whether anything happened.
    pub fn step(&mut self, now: u64) -> bool {
        let mut any = false;
        while let Some(effect) = self.machine.poll_effect() {
            any = true;
            self.effects.push(effect.clone());
            match effect {
                Effect::Send { to, signal } => self.outbox.push((to, signal)),
                Effect::AcquireMedia(m) if self.slow_camera => self.pending_media = Some(m),
                Effect::AcquireMedia(m) => self.media(now, m),
                Effect::CreateOffer { .. } => {
                    self.offers += 1;
                    let sdp = self.sdp(&format!("offer {}", self.offers));
                    self.machine
                        .handle_rtc(now, RtcEvent::LocalCandidate(candidate("early")));
                    self.machine.handle_rtc(now, RtcEvent::LocalOffer(sdp));
                    self.machine
                        .handle_rtc(now, RtcEvent::LocalCandidate(candidate("late")));
                }
                Effect::AnswerOffer { .. } => {
                    let sdp = self.sdp("answer");
                    self.machine.handle_rtc(now, RtcEvent::LocalAnswer(sdp));
                    self.machine
                        .handle_rtc(now, RtcEvent::LocalCandidate(candidate("callee")));
                    if self.network_up {
                        self.machine
                            .handle_rtc(now, RtcEvent::Ice(IceState::Connected));
                    }
                }
                Effect::ApplyAnswer { .. } if self.network_up => self
                    .machine
                    .handle_rtc(now, RtcEvent::Ice(IceState::Connected)),
                Effect::SetScreen(true) => self.machine.handle_rtc(now, RtcEvent::ScreenStarted),
                _ => {}
            }
        }
        any
    }

    /// The signals this side sent, by name.
    pub fn sent(&self) -> Vec<&'static str> {
        self.effects
            .iter()
            .filter_map(|e| match e {
                Effect::Send { signal, .. } => Some(signal_name(signal)),
                _ => None,
            })
            .collect()
    }

    pub fn count(&self, pick: impl Fn(&Effect) -> bool) -> usize {
        self.effects.iter().filter(|e| pick(e)).count()
    }
}

pub fn signal_name(signal: &Signal) -> &'static str {
    match signal {
        Signal::Invite { .. } => "invite",
        Signal::Accept { .. } => "accept",
        Signal::Candidate { .. } => "candidate",
        Signal::Reject { .. } => "reject",
        Signal::Busy { .. } => "busy",
        Signal::Cancel { .. } => "cancel",
        Signal::HangUp { .. } => "hang_up",
        Signal::Description { .. } => "description",
        Signal::MediaState { .. } => "media_state",
    }
}

/// Runs both sides until nothing moves, delivering signals between them (bounded: a livelock fails the test).
pub fn settle(a: &mut Side, b: &mut Side, now: u64) {
    for _ in 0..100 {
        let moved = a.step(now) | b.step(now);
        let a_out = std::mem::take(&mut a.outbox);
        let b_out = std::mem::take(&mut b.outbox);
        let delivered = !a_out.is_empty() || !b_out.is_empty();
        for (to, signal) in a_out {
            assert_eq!(to, b.me.key);
            b.machine.handle_signal(now, a.me.clone(), signal);
        }
        for (to, signal) in b_out {
            assert_eq!(to, a.me.key);
            a.machine.handle_signal(now, b.me.clone(), signal);
        }
        if !moved && !delivered {
            return;
        }
    }
    panic!("the two machines did not settle within 100 steps");
}

/// `a` calls `b` (call id 42).
pub fn call(a: &mut Side, b: &Side, media: CallMedia) {
    a.machine.handle_intent(
        0,
        Intent::Call {
            peer: b.me.clone(),
            media,
            call: CallId(42),
        },
    );
}

/// `a` calls `b`, and `b` accepts at t = 1 ms; both settled.
pub fn call_and_accept(a: &mut Side, b: &mut Side, media: CallMedia) {
    call(a, b, media);
    settle(a, b, 0);
    b.machine.handle_intent(1, Intent::Accept { media });
    settle(a, b, 1);
}

/// Alice calls Bob, Bob accepts at t = 1 ms, and both are in the call.
pub fn connected(media: CallMedia) -> (Side, Side) {
    let (mut a, mut b) = (Side::new("alice"), Side::new("bob"));
    call_and_accept(&mut a, &mut b, media);
    assert_eq!(a.machine.phase(), Phase::InCall);
    assert_eq!(b.machine.phase(), Phase::InCall);
    (a, b)
}

/// Fires whatever timers of `side` are due at `now`, then settles both.
pub fn tick(side: &mut Side, other: &mut Side, now: u64) {
    side.machine.handle_timeout(now);
    settle(side, other, now);
}
