//! A call's life: ringing, answering, declining, busy, cancelling, timing out, who may speak for a call, and what
//! a call starts and ends with.

use hearsay_shared::call::{CallId, CallMedia, Signal};
use hearsay_shared::ice::IceServer;

use super::*;

#[test]
fn a_call_rings_then_connects_when_accepted() {
    let (mut a, mut b) = (Side::new("alice"), Side::new("bob"));
    call(&mut a, &b, CallMedia::AudioVideo);
    settle(&mut a, &mut b, 0);
    assert_eq!(a.machine.phase(), Phase::RingingOut);
    assert_eq!(b.machine.phase(), Phase::RingingIn);
    assert!(b.effects.contains(&Effect::Ring(true)));
    assert_eq!(b.machine.call().unwrap().peer.name, "alice");
    assert_eq!(
        b.effects[0],
        Effect::StartSession,
        "a new call starts a fresh session"
    );

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
    assert_eq!(a.sent(), ["invite", "candidate", "candidate"]);
    assert_eq!(b.sent(), ["accept", "candidate"]);
    // The callee got the caller's candidates with the offer (held while ringing).
    let answered = b.effects.iter().find_map(|e| match e {
        Effect::AnswerOffer {
            candidates,
            rollback,
            ..
        } => Some((candidates.len(), *rollback)),
        _ => None,
    });
    assert_eq!(answered, Some((2, false)));

    a.machine.handle_intent(5_000, Intent::HangUp);
    settle(&mut a, &mut b, 5_000);
    assert_eq!(a.machine.phase(), Phase::Ended(EndReason::HungUpByYou));
    assert_eq!(b.machine.phase(), Phase::Ended(EndReason::HungUpByPeer));
    assert!(a.effects.contains(&Effect::EndSession) && b.effects.contains(&Effect::EndSession));
    b.machine.handle_intent(6_000, Intent::Dismiss);
    assert_eq!(b.machine.phase(), Phase::Idle);
}

#[test]
fn both_sides_connect_without_waiting_for_their_cameras() {
    let (mut a, mut b) = (Side::new("alice"), Side::new("bob"));
    a.slow_camera = true;
    b.slow_camera = true;
    call_and_accept(&mut a, &mut b, CallMedia::AudioVideo);
    assert_eq!(
        a.machine.phase(),
        Phase::InCall,
        "ICE and DTLS ran while the cameras opened"
    );
    assert_eq!(b.machine.phase(), Phase::InCall);
    assert_eq!(a.count(|e| *e == Effect::AttachMedia), 0);
    a.camera_ready(2);
    b.camera_ready(2);
    settle(&mut a, &mut b, 2);
    assert_eq!(
        a.count(|e| *e == Effect::AttachMedia),
        1,
        "the camera joins the running call"
    );
    assert_eq!(b.count(|e| *e == Effect::AttachMedia), 1);
    // The answer went out before the callee's camera was there.
    let answer_at = b
        .effects
        .iter()
        .position(|e| matches!(e, Effect::AnswerOffer { .. }));
    let attach_at = b.effects.iter().position(|e| *e == Effect::AttachMedia);
    assert!(answer_at < attach_at);
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
    let (mut a, mut b) = connected(CallMedia::AudioVideo);
    let mut c = Side::new("carol");
    call(&mut c, &b, CallMedia::AudioOnly);
    settle(&mut c, &mut b, 2);
    assert_eq!(c.machine.phase(), Phase::Ended(EndReason::Busy));
    assert_eq!(
        b.machine.phase(),
        Phase::InCall,
        "the running call is untouched"
    );
    assert_eq!(b.machine.call().unwrap().peer.name, "alice");
    settle(&mut a, &mut b, 3);
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
    tick(&mut a, &mut b, deadline);
    assert_eq!(a.machine.phase(), Phase::Ended(EndReason::NoAnswer));
    assert_eq!(b.machine.phase(), Phase::Ended(EndReason::Missed));
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
    a.step(1);
    assert_eq!(a.count(|e| matches!(e, Effect::ApplyAnswer { .. })), 0);
}

#[test]
fn candidates_that_overtake_their_invite_are_kept() {
    let (a, mut b) = (Side::new("alice"), Side::new("bob"));
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
}

#[test]
fn undeliverable_signaling_ends_a_call_that_has_not_connected_only() {
    let (mut a, b) = (Side::new("alice"), Side::new("bob"));
    call(&mut a, &b, CallMedia::AudioVideo);
    a.step(0);
    a.machine.handle_undeliverable(b.me.key, CallId(42));
    assert_eq!(a.machine.phase(), Phase::Ended(EndReason::Unreachable));

    let (mut a, b) = connected(CallMedia::AudioVideo);
    a.machine.handle_undeliverable(b.me.key, CallId(42));
    assert_eq!(
        a.machine.phase(),
        Phase::InCall,
        "a lost media-state signal does not end a call"
    );
}

#[test]
fn both_sides_show_the_same_safety_code() {
    let (a, b) = connected(CallMedia::AudioOnly);
    let code = a.machine.call().unwrap().safety_code.clone();
    assert!(code.is_some());
    assert_eq!(code, b.machine.call().unwrap().safety_code);
}

fn server(url: &str) -> IceServer {
    IceServer {
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
    call_and_accept(&mut a, &mut b, CallMedia::AudioVideo);
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
    let mut idle = Side::new("alice");
    idle.machine
        .set_ice_servers(vec![server("stun:192.0.2.1:3478")]);
    idle.step(0);
    assert_eq!(
        idle.count(|e| matches!(e, Effect::UpdateIceServers(_))),
        0,
        "no call: nothing to update"
    );
    let (mut a, _b) = connected(CallMedia::AudioOnly);
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
