//! What each side sends and shows: falling back when a camera is missing, mute and camera off, screen sharing, and
//! a browser failure.

use hearsay_shared::call::CallMedia;

use super::*;

#[test]
fn a_missing_camera_falls_back_to_audio_only_and_the_caller_sees_it() {
    let (mut a, mut b) = (Side::new("alice"), Side::new("bob"));
    b.camera_missing = true;
    call_and_accept(&mut a, &mut b, CallMedia::AudioVideo);
    assert_eq!(b.machine.phase(), Phase::InCall);
    assert_eq!(b.machine.call().unwrap().sending, CallMedia::AudioOnly);
    assert!(
        b.effects
            .iter()
            .any(|e| matches!(e, Effect::Notice(n) if n.contains("audio only")))
    );
    let seen = a.machine.call().unwrap();
    assert!(
        !seen.peer_camera_on && seen.peer_mic_on,
        "the caller is told: camera off, microphone on"
    );
}

#[test]
fn muting_tells_the_peer() {
    let (mut a, mut b) = connected(CallMedia::AudioVideo);
    a.machine.handle_intent(2, Intent::SetCamera(false));
    settle(&mut a, &mut b, 2);
    assert!(a.effects.contains(&Effect::SetCamera(false)));
    let seen = b.machine.call().unwrap();
    assert!(!seen.peer_camera_on && seen.peer_mic_on);
}

#[test]
fn a_browser_failure_ends_the_call_with_the_reason() {
    let (mut a, mut b) = connected(CallMedia::AudioVideo);
    a.machine
        .handle_rtc(3, RtcEvent::Failed("could not set the answer".into()));
    settle(&mut a, &mut b, 3);
    assert_eq!(a.machine.phase(), Phase::Ended(EndReason::ConnectionFailed));
    assert!(
        a.effects
            .iter()
            .any(|e| matches!(e, Effect::Notice(n) if n == "could not set the answer"))
    );
    assert_eq!(b.machine.phase(), Phase::Ended(EndReason::HungUpByPeer));
}

#[test]
fn screen_sharing_switches_and_the_peer_knows_which_it_gets() {
    let (mut a, mut b) = connected(CallMedia::AudioVideo);
    a.machine.handle_intent(2, Intent::SetScreen(true));
    settle(&mut a, &mut b, 2);
    assert!(a.machine.call().unwrap().screen_on);
    assert!(b.machine.call().unwrap().peer_screen_on);
    // The person stops sharing with the browser's own button: back to the camera, and the peer is told.
    a.machine.handle_rtc(3, RtcEvent::ScreenEnded);
    settle(&mut a, &mut b, 3);
    assert!(!a.machine.call().unwrap().screen_on);
    assert!(!b.machine.call().unwrap().peer_screen_on);
    assert_eq!(a.count(|e| *e == Effect::SetScreen(false)), 1);
    assert_eq!(
        a.machine.phase(),
        Phase::InCall,
        "the call goes on throughout"
    );
}

#[test]
fn a_refused_screen_picker_leaves_the_camera_on() {
    let (mut a, mut b) = connected(CallMedia::AudioVideo);
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

#[test]
fn the_camera_goes_out_before_the_microphone_opens_and_not_after_the_call() {
    let (mut a, mut b) = (Side::new("alice"), Side::new("bob"));
    b.slow_camera = true;
    call_and_accept(&mut a, &mut b, CallMedia::AudioVideo);
    let attaches = |s: &Side| s.count(|e| *e == Effect::AttachMedia);
    assert_eq!(attaches(&b), 0, "nothing is open yet");
    b.machine.handle_rtc(2, RtcEvent::CameraReady);
    settle(&mut a, &mut b, 2);
    assert_eq!(attaches(&b), 1, "the camera is sent as soon as it opens");
    assert_eq!(b.machine.call().unwrap().sending, CallMedia::AudioVideo);
    b.camera_ready(3);
    settle(&mut a, &mut b, 3);
    assert_eq!(attaches(&b), 2, "then the microphone with it");

    b.machine.handle_intent(4, Intent::HangUp);
    settle(&mut a, &mut b, 4);
    b.machine.handle_rtc(5, RtcEvent::CameraReady);
    settle(&mut a, &mut b, 5);
    assert_eq!(
        attaches(&b),
        2,
        "a camera that opens after the call is not sent"
    );
}
