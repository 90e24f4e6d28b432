//! When the media path breaks during a call: ICE restarts after a short grace (at once on "failed"), the side that
//! offers is settled by the roles when both try at once, a path that heals by itself needs no restart, new
//! candidates wait for their description, and a path that never comes back ends the call after a bound.

use hearsay_shared::call::{CallId, CallMedia, SdpKind, Signal};

use super::*;

fn restarts(side: &Side) -> usize {
    side.count(|e| *e == Effect::CreateOffer { ice_restart: true })
}

#[test]
fn a_broken_path_restarts_ice_after_the_grace_and_the_call_goes_on() {
    let (mut a, mut b) = connected(CallMedia::AudioVideo);
    a.network_up = false;
    a.machine
        .handle_rtc(10_000, RtcEvent::Ice(IceState::Disconnected));
    settle(&mut a, &mut b, 10_000);
    assert_eq!(
        a.machine.phase(),
        Phase::Reconnecting,
        "the page says so at once"
    );
    assert_eq!(a.machine.poll_timeout(), Some(10_000 + DISCONNECT_GRACE_MS));
    assert_eq!(restarts(&a), 0, "not before the grace period");
    a.network_up = true;
    tick(&mut a, &mut b, 10_000 + DISCONNECT_GRACE_MS);
    assert_eq!(restarts(&a), 1);
    assert_eq!(
        a.sent().iter().filter(|s| **s == "description").count(),
        1,
        "the restart offer"
    );
    assert_eq!(
        b.sent().iter().filter(|s| **s == "description").count(),
        1,
        "its answer"
    );
    assert_eq!(a.machine.phase(), Phase::InCall);
    assert_eq!(b.machine.phase(), Phase::InCall);
    assert_eq!(a.machine.call().unwrap().restarts, 1);
    assert_eq!(
        a.machine.poll_timeout(),
        None,
        "no timer left once reconnected"
    );
    assert_eq!(
        a.machine.call().unwrap().safety_code,
        b.machine.call().unwrap().safety_code,
        "same certificates, same code"
    );
}

#[test]
fn a_path_that_heals_within_the_grace_needs_no_restart() {
    let (mut a, mut b) = connected(CallMedia::AudioOnly);
    a.machine
        .handle_rtc(10_000, RtcEvent::Ice(IceState::Disconnected));
    a.machine
        .handle_rtc(11_000, RtcEvent::Ice(IceState::Connected));
    tick(&mut a, &mut b, 10_000 + DISCONNECT_GRACE_MS);
    assert_eq!(restarts(&a), 0);
    assert_eq!(a.machine.phase(), Phase::InCall);
}

#[test]
fn failed_restarts_at_once() {
    let (mut a, mut b) = connected(CallMedia::AudioOnly);
    b.machine
        .handle_rtc(10_000, RtcEvent::Ice(IceState::Failed));
    settle(&mut a, &mut b, 10_000);
    assert_eq!(restarts(&b), 1, "the callee may restart too");
    assert_eq!(b.machine.phase(), Phase::InCall);
}

#[test]
fn when_both_sides_restart_at_once_the_callers_offer_wins() {
    let (mut a, mut b) = connected(CallMedia::AudioVideo);
    for side in [&mut a, &mut b] {
        side.network_up = false;
        side.machine
            .handle_rtc(10_000, RtcEvent::Ice(IceState::Failed));
        side.step(10_000);
    }
    assert_eq!(
        (restarts(&a), restarts(&b)),
        (1, 1),
        "both offered before hearing the other"
    );
    a.network_up = true;
    b.network_up = true;
    settle(&mut a, &mut b, 10_000);
    // The callee rolled its own offer back and answered the caller's; the caller ignored the callee's offer.
    let rolled_back = b.count(|e| matches!(e, Effect::AnswerOffer { rollback: true, .. }));
    assert_eq!(rolled_back, 1);
    assert_eq!(a.count(|e| matches!(e, Effect::AnswerOffer { .. })), 0);
    assert_eq!(
        a.count(|e| matches!(e, Effect::ApplyAnswer { .. })),
        2,
        "the first answer and the restart's"
    );
    assert_eq!(a.machine.phase(), Phase::InCall);
    assert_eq!(b.machine.phase(), Phase::InCall);
}

#[test]
fn a_restart_that_never_reconnects_is_retried_then_ends_the_call() {
    let (mut a, mut b) = connected(CallMedia::AudioVideo);
    a.network_up = false;
    b.network_up = false;
    a.machine
        .handle_rtc(10_000, RtcEvent::Ice(IceState::Disconnected));
    let mut now = 10_000;
    while let Some(at) = a.machine.poll_timeout() {
        now = at;
        tick(&mut a, &mut b, now);
    }
    assert_eq!(now, 10_000 + RECONNECT_LIMIT_MS);
    assert_eq!(a.machine.phase(), Phase::Ended(EndReason::ConnectionLost));
    assert_eq!(
        b.machine.phase(),
        Phase::Ended(EndReason::HungUpByPeer),
        "the peer is told"
    );
    let tries = restarts(&a);
    let expected = 1 + ((RECONNECT_LIMIT_MS - DISCONNECT_GRACE_MS) / RESTART_RETRY_MS) as usize;
    assert!(
        tries >= 2 && tries <= expected,
        "{tries} restarts in the bound"
    );
}

#[test]
fn candidates_of_a_restart_wait_for_its_answer() {
    let (mut a, b) = connected(CallMedia::AudioOnly);
    a.machine
        .handle_rtc(10_000, RtcEvent::Ice(IceState::Failed));
    a.step(10_000);
    let adds = |s: &Side| s.count(|e| matches!(e, Effect::AddCandidate(_)));
    let before = adds(&a);
    a.machine.handle_signal(
        10_001,
        b.me.clone(),
        Signal::Candidate {
            call: CallId(42),
            candidate: candidate("new-ufrag"),
        },
    );
    a.step(10_001);
    assert_eq!(
        adds(&a),
        before,
        "held: the restart's answer is not set yet"
    );
    a.machine.handle_signal(
        10_002,
        b.me.clone(),
        Signal::Description {
            call: CallId(42),
            kind: SdpKind::Answer,
            sdp: "v=0 answer\r\na=fingerprint:sha-256 BOB\r\n".into(),
        },
    );
    a.step(10_002);
    let applied = a.effects.iter().rev().find_map(|e| match e {
        Effect::ApplyAnswer { candidates, .. } => Some(candidates.clone()),
        _ => None,
    });
    assert_eq!(applied, Some(vec![candidate("new-ufrag")]));
}

#[test]
fn a_renegotiation_with_another_certificate_ends_the_call() {
    let (mut a, mut b) = connected(CallMedia::AudioOnly);
    a.machine.handle_signal(
        10_000,
        b.me.clone(),
        Signal::Description {
            call: CallId(42),
            kind: SdpKind::Offer,
            sdp: "v=0 offer\r\na=fingerprint:sha-256 MALLORY\r\n".into(),
        },
    );
    settle(&mut a, &mut b, 10_000);
    assert_eq!(a.machine.phase(), Phase::Ended(EndReason::ConnectionFailed));
    assert!(
        a.effects
            .iter()
            .any(|e| matches!(e, Effect::Notice(n) if n.contains("certificate changed")))
    );
    assert_eq!(
        a.count(|e| matches!(e, Effect::AnswerOffer { .. })),
        0,
        "it was never answered"
    );
}

#[test]
fn a_change_of_network_restarts_at_once_without_waiting_for_the_browser() {
    let (mut a, mut b) = connected(CallMedia::AudioVideo);
    a.machine.handle_network_change(10_000);
    settle(&mut a, &mut b, 10_000);
    assert_eq!(
        restarts(&a),
        1,
        "no grace period: the old path is known to be gone"
    );
    assert_eq!(a.machine.phase(), Phase::InCall);
    assert_eq!(b.machine.phase(), Phase::InCall);
    // Not in a call: nothing to restart.
    let mut idle = Side::new("carol");
    idle.machine.handle_network_change(1);
    idle.step(1);
    assert_eq!(restarts(&idle), 0);
}
