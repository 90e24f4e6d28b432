//! Two call machines talking through a scripted browser: every signal one sends is delivered to the other, and
//! every browser effect is answered the way a real browser would, so whole calls run natively and deterministically.

use hearsay_shared::call::{CallId, CallMedia, IceCandidate, Signal};

use super::machine::*;

struct Side {
    machine: CallMachine,
    me: Peer,
    /// What this side's browser cannot provide: answered with MediaUnavailable.
    camera_missing: bool,
    effects: Vec<Effect>,
    /// Signals sent and not yet delivered.
    outbox: Vec<(String, Signal)>,
}

fn peer(name: &str) -> Peer {
    Peer {
        key: format!("key-{name}"),
        name: name.into(),
        fingerprint: format!("fp-{name}"),
    }
}

fn candidate(tag: &str) -> IceCandidate {
    IceCandidate {
        candidate: format!("candidate:{tag} 1 udp 1 127.0.0.1 5000 typ host"),
        sdp_mid: Some("0".into()),
        sdp_m_line_index: Some(0),
    }
}

impl Side {
    fn new(name: &str) -> Self {
        Self {
            machine: CallMachine::default(),
            me: peer(name),
            camera_missing: false,
            effects: Vec::new(),
            outbox: Vec::new(),
        }
    }

    /// Drains effects, answering browser work at once; returns whether anything happened.
    fn step(&mut self, now: u64) -> bool {
        let mut any = false;
        while let Some(effect) = self.machine.poll_effect() {
            any = true;
            self.effects.push(effect.clone());
            match effect {
                Effect::Send { to, signal } => self.outbox.push((to, signal)),
                Effect::AcquireMedia(m) if m.video() && self.camera_missing => {
                    self.machine.handle_rtc(
                        now,
                        RtcEvent::MediaUnavailable {
                            wanted: m,
                            reason: "no camera".into(),
                        },
                    )
                }
                Effect::AcquireMedia(m) => self
                    .machine
                    .handle_rtc(now, RtcEvent::MediaReady { sending: m }),
                Effect::CreateOffer => {
                    self.machine
                        .handle_rtc(now, RtcEvent::LocalCandidate(candidate("early")));
                    self.machine
                        .handle_rtc(now, RtcEvent::LocalOffer("offer".into()));
                    self.machine
                        .handle_rtc(now, RtcEvent::LocalCandidate(candidate("late")));
                }
                Effect::AnswerOffer { .. } => {
                    self.machine
                        .handle_rtc(now, RtcEvent::LocalAnswer("answer".into()));
                    self.machine
                        .handle_rtc(now, RtcEvent::LocalCandidate(candidate("callee")));
                    self.machine.handle_rtc(now, RtcEvent::Connected);
                }
                Effect::ApplyAnswer { .. } => self.machine.handle_rtc(now, RtcEvent::Connected),
                Effect::SetScreen(true) => self.machine.handle_rtc(now, RtcEvent::ScreenStarted),
                _ => {}
            }
        }
        any
    }
}

/// Runs both sides until nothing moves, delivering signals between them (bounded: a livelock fails the test).
fn settle(a: &mut Side, b: &mut Side, now: u64) {
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

fn call(a: &mut Side, b: &Side, media: CallMedia) {
    a.machine.handle_intent(
        0,
        Intent::Call {
            peer: b.me.clone(),
            media,
            call: CallId(42),
        },
    );
}

fn sent_signals(side: &Side) -> Vec<&'static str> {
    side.effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send { signal, .. } => Some(match signal {
                Signal::Invite { .. } => "invite",
                Signal::Accept { .. } => "accept",
                Signal::Candidate { .. } => "candidate",
                Signal::Reject { .. } => "reject",
                Signal::Busy { .. } => "busy",
                Signal::Cancel { .. } => "cancel",
                Signal::HangUp { .. } => "hang_up",
                Signal::Description { .. } => "description",
                Signal::MediaState { .. } => "media_state",
            }),
            _ => None,
        })
        .collect()
}

#[test]
fn a_call_rings_then_connects_when_accepted() {
    let (mut a, mut b) = (Side::new("alice"), Side::new("bob"));
    call(&mut a, &b, CallMedia::AudioVideo);
    settle(&mut a, &mut b, 0);
    assert_eq!(a.machine.phase(), Phase::RingingOut);
    assert_eq!(b.machine.phase(), Phase::RingingIn);
    assert!(b.effects.contains(&Effect::Ring(true)));
    assert_eq!(b.machine.call().unwrap().peer.name, "alice");

    b.machine.handle_intent(
        1_000,
        Intent::Accept {
            media: CallMedia::AudioVideo,
        },
    );
    settle(&mut a, &mut b, 1_000);
    assert_eq!(a.machine.phase(), Phase::InCall);
    assert_eq!(b.machine.phase(), Phase::InCall);
    assert!(b.effects.contains(&Effect::Ring(false)));
    // The candidate gathered before the invite went out is sent after it, never before.
    assert_eq!(sent_signals(&a), ["invite", "candidate", "candidate"]);
    assert_eq!(sent_signals(&b), ["accept", "candidate"]);
    // The callee got the caller's candidates with the offer (held while ringing).
    let answered = b.effects.iter().find_map(|e| match e {
        Effect::AnswerOffer { candidates, .. } => Some(candidates.len()),
        _ => None,
    });
    assert_eq!(answered, Some(2));

    a.machine.handle_intent(5_000, Intent::HangUp);
    settle(&mut a, &mut b, 5_000);
    assert_eq!(a.machine.phase(), Phase::Ended(EndReason::HungUpByYou));
    assert_eq!(b.machine.phase(), Phase::Ended(EndReason::HungUpByPeer));
    assert!(a.effects.contains(&Effect::Close) && b.effects.contains(&Effect::Close));
    b.machine.handle_intent(6_000, Intent::Dismiss);
    assert_eq!(b.machine.phase(), Phase::Idle);
}

#[test]
fn rejecting_ends_both_sides() {
    let (mut a, mut b) = (Side::new("alice"), Side::new("bob"));
    call(&mut a, &b, CallMedia::AudioVideo);
    settle(&mut a, &mut b, 0);
    b.machine.handle_intent(1, Intent::Reject);
    settle(&mut a, &mut b, 1);
    assert_eq!(a.machine.phase(), Phase::Ended(EndReason::Declined));
    assert_eq!(b.machine.phase(), Phase::Ended(EndReason::DeclinedByYou));
    assert!(b.effects.contains(&Effect::Ring(false)));
}

#[test]
fn a_second_caller_gets_busy() {
    let (mut a, mut b, mut c) = (Side::new("alice"), Side::new("bob"), Side::new("carol"));
    call(&mut a, &b, CallMedia::AudioVideo);
    settle(&mut a, &mut b, 0);
    b.machine.handle_intent(
        1,
        Intent::Accept {
            media: CallMedia::AudioVideo,
        },
    );
    settle(&mut a, &mut b, 1);
    call(&mut c, &b, CallMedia::AudioOnly);
    settle(&mut c, &mut b, 2);
    assert_eq!(c.machine.phase(), Phase::Ended(EndReason::Busy));
    assert_eq!(
        b.machine.phase(),
        Phase::InCall,
        "the running call is untouched"
    );
    assert_eq!(b.machine.call().unwrap().peer.name, "alice");
}

#[test]
fn cancelling_stops_the_ringing() {
    let (mut a, mut b) = (Side::new("alice"), Side::new("bob"));
    call(&mut a, &b, CallMedia::AudioVideo);
    settle(&mut a, &mut b, 0);
    a.machine.handle_intent(10, Intent::Cancel);
    settle(&mut a, &mut b, 10);
    assert_eq!(a.machine.phase(), Phase::Ended(EndReason::CancelledByYou));
    assert_eq!(b.machine.phase(), Phase::Ended(EndReason::Missed));
    assert!(b.effects.contains(&Effect::Ring(false)));
}

#[test]
fn nobody_answering_times_out_on_both_sides() {
    let (mut a, mut b) = (Side::new("alice"), Side::new("bob"));
    call(&mut a, &b, CallMedia::AudioVideo);
    settle(&mut a, &mut b, 0);
    let deadline = a.machine.poll_timeout().expect("ringing arms a timer");
    assert_eq!(deadline, RING_TIMEOUT_MS);
    a.machine.handle_timeout(deadline - 1);
    assert_eq!(
        a.machine.phase(),
        Phase::RingingOut,
        "not before the deadline"
    );
    a.machine.handle_timeout(deadline);
    settle(&mut a, &mut b, deadline);
    assert_eq!(a.machine.phase(), Phase::Ended(EndReason::NoAnswer));
    assert_eq!(b.machine.phase(), Phase::Ended(EndReason::Missed));
}

#[test]
fn a_missing_camera_falls_back_to_audio_only() {
    let (mut a, mut b) = (Side::new("alice"), Side::new("bob"));
    b.camera_missing = true;
    call(&mut a, &b, CallMedia::AudioVideo);
    settle(&mut a, &mut b, 0);
    b.machine.handle_intent(
        1,
        Intent::Accept {
            media: CallMedia::AudioVideo,
        },
    );
    settle(&mut a, &mut b, 1);
    assert_eq!(b.machine.phase(), Phase::InCall);
    assert_eq!(b.machine.call().unwrap().sending, CallMedia::AudioOnly);
    assert!(
        b.effects
            .iter()
            .any(|e| matches!(e, Effect::Notice(n) if n.contains("audio only")))
    );
}

#[test]
fn signals_from_another_key_are_ignored() {
    let (mut a, mut b) = (Side::new("alice"), Side::new("bob"));
    call(&mut a, &b, CallMedia::AudioVideo);
    settle(&mut a, &mut b, 0);
    // Mallory forges an answer for the same call id: the caller must not act on it.
    let mallory = peer("mallory");
    a.machine.handle_signal(
        1,
        mallory.clone(),
        Signal::Accept {
            call: CallId(42),
            answer: "evil".into(),
        },
    );
    a.machine
        .handle_signal(1, mallory, Signal::HangUp { call: CallId(42) });
    assert_eq!(a.machine.phase(), Phase::RingingOut);
    assert!(
        !a.effects
            .iter()
            .any(|e| matches!(e, Effect::ApplyAnswer { .. }))
    );
}

#[test]
fn candidates_that_overtake_their_invite_are_kept() {
    let (mut a, mut b) = (Side::new("alice"), Side::new("bob"));
    b.machine.handle_signal(
        0,
        a.me.clone(),
        Signal::Candidate {
            call: CallId(9),
            candidate: candidate("overtaker"),
        },
    );
    b.machine.handle_signal(
        1,
        a.me.clone(),
        Signal::Invite {
            call: CallId(9),
            media: CallMedia::AudioOnly,
            offer: "offer".into(),
        },
    );
    b.machine.handle_intent(
        2,
        Intent::Accept {
            media: CallMedia::AudioOnly,
        },
    );
    b.step(2);
    let held = b.effects.iter().find_map(|e| match e {
        Effect::AnswerOffer { candidates, .. } => Some(candidates.clone()),
        _ => None,
    });
    assert_eq!(held, Some(vec![candidate("overtaker")]));
    let _ = &mut a;
}

#[test]
fn undeliverable_signaling_ends_the_call_as_unreachable() {
    let (mut a, b) = (Side::new("alice"), Side::new("bob"));
    call(&mut a, &b, CallMedia::AudioVideo);
    a.step(0);
    a.machine.handle_undeliverable(&b.me.key, CallId(42));
    assert_eq!(a.machine.phase(), Phase::Ended(EndReason::Unreachable));
}

#[test]
fn muting_tells_the_peer() {
    let (mut a, mut b) = (Side::new("alice"), Side::new("bob"));
    call(&mut a, &b, CallMedia::AudioVideo);
    settle(&mut a, &mut b, 0);
    b.machine.handle_intent(
        1,
        Intent::Accept {
            media: CallMedia::AudioVideo,
        },
    );
    settle(&mut a, &mut b, 1);
    a.machine.handle_intent(2, Intent::SetCamera(false));
    settle(&mut a, &mut b, 2);
    assert!(a.effects.contains(&Effect::SetCamera(false)));
    let seen = b.machine.call().unwrap();
    assert!(!seen.peer_camera_on && seen.peer_mic_on);
}

#[test]
fn ice_failure_ends_the_call_with_the_reason() {
    let (mut a, mut b) = (Side::new("alice"), Side::new("bob"));
    call(&mut a, &b, CallMedia::AudioVideo);
    settle(&mut a, &mut b, 0);
    b.machine.handle_intent(
        1,
        Intent::Accept {
            media: CallMedia::AudioVideo,
        },
    );
    settle(&mut a, &mut b, 1);
    a.machine
        .handle_rtc(3, RtcEvent::Failed("ICE failed".into()));
    settle(&mut a, &mut b, 3);
    assert_eq!(a.machine.phase(), Phase::Ended(EndReason::ConnectionFailed));
    assert!(
        a.effects
            .iter()
            .any(|e| matches!(e, Effect::Notice(n) if n == "ICE failed"))
    );
    assert_eq!(b.machine.phase(), Phase::Ended(EndReason::HungUpByPeer));
}

#[test]
fn screen_sharing_switches_and_the_peer_knows_which_it_gets() {
    let (mut a, mut b) = (Side::new("alice"), Side::new("bob"));
    call(&mut a, &b, CallMedia::AudioVideo);
    settle(&mut a, &mut b, 0);
    b.machine.handle_intent(
        1,
        Intent::Accept {
            media: CallMedia::AudioVideo,
        },
    );
    settle(&mut a, &mut b, 1);
    a.machine.handle_intent(2, Intent::SetScreen(true));
    settle(&mut a, &mut b, 2);
    assert!(a.machine.call().unwrap().screen_on);
    assert!(b.machine.call().unwrap().peer_screen_on);
    // The person stops sharing with the browser's own button: back to the camera, and the peer is told.
    a.machine.handle_rtc(3, RtcEvent::ScreenEnded);
    settle(&mut a, &mut b, 3);
    assert!(!a.machine.call().unwrap().screen_on);
    assert!(!b.machine.call().unwrap().peer_screen_on);
    assert_eq!(
        a.effects
            .iter()
            .filter(|e| **e == Effect::SetScreen(false))
            .count(),
        1
    );
    assert_eq!(
        a.machine.phase(),
        Phase::InCall,
        "the call goes on throughout"
    );
}

#[test]
fn a_refused_screen_picker_leaves_the_camera_on() {
    let (mut a, mut b) = (Side::new("alice"), Side::new("bob"));
    call(&mut a, &b, CallMedia::AudioVideo);
    settle(&mut a, &mut b, 0);
    b.machine.handle_intent(
        1,
        Intent::Accept {
            media: CallMedia::AudioVideo,
        },
    );
    settle(&mut a, &mut b, 1);
    a.machine
        .handle_rtc(2, RtcEvent::ScreenUnavailable("NotAllowedError".into()));
    settle(&mut a, &mut b, 2);
    let info = a.machine.call().unwrap();
    assert!(!info.screen_on && info.camera_on);
    assert!(
        a.effects
            .iter()
            .any(|e| matches!(e, Effect::Notice(n) if n.contains("Screen sharing did not start")))
    );
}

fn server(url: &str) -> hearsay_shared::ice::IceServer {
    hearsay_shared::ice::IceServer {
        urls: vec![url.into()],
        username: None,
        credential: None,
    }
}

#[test]
fn each_side_opens_its_peer_connection_with_its_own_nodes_servers() {
    let (mut a, mut b) = (Side::new("alice"), Side::new("bob"));
    a.machine
        .set_ice_servers(vec![server("stun:203.0.113.10:3478")]);
    b.machine
        .set_ice_servers(vec![server("stun:198.51.100.7:3478")]);
    call(&mut a, &b, CallMedia::AudioVideo);
    settle(&mut a, &mut b, 0);
    b.machine.handle_intent(
        1,
        Intent::Accept {
            media: CallMedia::AudioVideo,
        },
    );
    settle(&mut a, &mut b, 1);
    let opened = |side: &Side| {
        side.effects.iter().find_map(|e| match e {
            Effect::OpenPeer { ice_servers } => Some(ice_servers.clone()),
            _ => None,
        })
    };
    assert_eq!(opened(&a), Some(vec![server("stun:203.0.113.10:3478")]));
    assert_eq!(
        opened(&b),
        Some(vec![server("stun:198.51.100.7:3478")]),
        "nothing of the caller's servers reaches the callee"
    );
}

#[test]
fn new_servers_from_the_node_reach_a_call_under_way_only() {
    let (mut a, mut b) = (Side::new("alice"), Side::new("bob"));
    a.machine
        .set_ice_servers(vec![server("stun:192.0.2.1:3478")]);
    a.step(0);
    assert!(
        !a.effects
            .iter()
            .any(|e| matches!(e, Effect::UpdateIceServers(_))),
        "no call: nothing to update"
    );
    call(&mut a, &b, CallMedia::AudioOnly);
    settle(&mut a, &mut b, 0);
    b.machine.handle_intent(
        1,
        Intent::Accept {
            media: CallMedia::AudioOnly,
        },
    );
    settle(&mut a, &mut b, 1);
    assert_eq!(a.machine.phase(), Phase::InCall);
    let fresh = vec![server("turn:192.0.2.1:3479?transport=udp")];
    a.machine.set_ice_servers(fresh.clone());
    a.machine.set_ice_servers(fresh.clone());
    a.step(2);
    let updates: Vec<_> = a
        .effects
        .iter()
        .filter(|e| matches!(e, Effect::UpdateIceServers(_)))
        .collect();
    assert_eq!(
        updates,
        [&Effect::UpdateIceServers(fresh)],
        "once, not for a repeat"
    );
}
