//! Nobody can keep a person from being called: a second caller while one rings waits beside it (not busy), can be
//! answered instead, rings next when the first goes unanswered, and hears busy only once a call is under way. A
//! replayed invite never rings.

use hearsay_shared::call::{CallId, CallMedia, Signal};

use super::*;

/// Delivers every signal sent among `sides` to the side it is addressed to, until nothing moves (bounded).
fn settle_all(sides: &mut [&mut Side], now: u64) {
    for _ in 0..100 {
        let mut moved = false;
        for side in sides.iter_mut() {
            moved |= side.step(now);
        }
        let mut mail = Vec::new();
        for side in sides.iter_mut() {
            let from = side.me.clone();
            mail.extend(
                std::mem::take(&mut side.outbox)
                    .into_iter()
                    .map(|(to, s)| (from.clone(), to, s)),
            );
        }
        if mail.is_empty() && !moved {
            return;
        }
        for (from, to, signal) in mail {
            let side = sides
                .iter_mut()
                .find(|s| s.me.key == to)
                .expect("a signal to a side in the test");
            side.machine.handle_signal(now, from, signal);
        }
    }
    panic!("the machines did not settle within 100 steps");
}

fn place(caller: &mut Side, callee: &Side, id: u64, now: u64) {
    caller.machine.handle_intent(
        now,
        Intent::Call {
            peer: callee.me.clone(),
            media: CallMedia::AudioVideo,
            call: CallId(id),
        },
    );
}

fn waiting_names(side: &Side) -> Vec<String> {
    side.machine
        .waiting()
        .iter()
        .map(|w| w.peer.name.clone())
        .collect()
}

#[test]
fn a_second_caller_while_one_rings_waits_and_rings_next() {
    let (mut a, mut b, mut c) = (Side::new("alice"), Side::new("bob"), Side::new("carol"));
    place(&mut a, &b, 1, 0);
    settle_all(&mut [&mut a, &mut b, &mut c], 0);
    place(&mut c, &b, 2, 10);
    settle_all(&mut [&mut a, &mut b, &mut c], 10);
    assert_eq!(
        c.machine.phase(),
        Phase::RingingOut,
        "carol is not told busy"
    );
    assert_eq!(
        b.machine.call().unwrap().peer.name,
        "alice",
        "alice still rings"
    );
    assert_eq!(waiting_names(&b), ["carol"]);
    // Bob declines alice: carol rings at once.
    b.machine.handle_intent(20, Intent::Reject);
    settle_all(&mut [&mut a, &mut b, &mut c], 20);
    assert_eq!(a.machine.phase(), Phase::Ended(EndReason::Declined));
    assert_eq!(b.machine.phase(), Phase::RingingIn);
    assert_eq!(b.machine.call().unwrap().peer.name, "carol");
    b.machine.handle_intent(
        30,
        Intent::Accept {
            media: CallMedia::AudioVideo,
        },
    );
    settle_all(&mut [&mut a, &mut b, &mut c], 30);
    assert_eq!(b.machine.phase(), Phase::InCall);
    assert_eq!(c.machine.phase(), Phase::InCall);
}

#[test]
fn the_waiting_call_can_be_answered_instead() {
    let (mut a, mut b, mut c) = (Side::new("alice"), Side::new("bob"), Side::new("carol"));
    place(&mut a, &b, 1, 0);
    place(&mut c, &b, 2, 0);
    settle_all(&mut [&mut a, &mut b, &mut c], 0);
    assert_eq!(waiting_names(&b), ["carol"]);
    b.machine.handle_intent(
        5,
        Intent::AnswerWaiting {
            call: CallId(2),
            media: CallMedia::AudioVideo,
        },
    );
    settle_all(&mut [&mut a, &mut b, &mut c], 5);
    assert_eq!(a.machine.phase(), Phase::Ended(EndReason::Declined));
    assert_eq!(b.machine.phase(), Phase::InCall);
    assert_eq!(b.machine.call().unwrap().peer.name, "carol");
    assert_eq!(c.machine.phase(), Phase::InCall);
}

#[test]
fn accepting_turns_the_waiting_callers_away_busy_and_a_call_under_way_makes_callers_busy() {
    let (mut a, mut b, mut c) = (Side::new("alice"), Side::new("bob"), Side::new("carol"));
    let mut d = Side::new("dave");
    place(&mut a, &b, 1, 0);
    place(&mut c, &b, 2, 0);
    settle_all(&mut [&mut a, &mut b, &mut c, &mut d], 0);
    b.machine.handle_intent(
        5,
        Intent::Accept {
            media: CallMedia::AudioVideo,
        },
    );
    settle_all(&mut [&mut a, &mut b, &mut c, &mut d], 5);
    assert_eq!(c.machine.phase(), Phase::Ended(EndReason::Busy));
    assert!(b.machine.waiting().is_empty());
    place(&mut d, &b, 3, 6);
    settle_all(&mut [&mut a, &mut b, &mut c, &mut d], 6);
    assert_eq!(d.machine.phase(), Phase::Ended(EndReason::Busy));
    assert_eq!(b.machine.call().unwrap().peer.name, "alice");
}

#[test]
fn a_waiting_caller_who_gives_up_is_gone_and_a_declined_one_is_told() {
    let (mut a, mut b, mut c) = (Side::new("alice"), Side::new("bob"), Side::new("carol"));
    let mut d = Side::new("dave");
    place(&mut a, &b, 1, 0);
    place(&mut c, &b, 2, 0);
    place(&mut d, &b, 3, 0);
    settle_all(&mut [&mut a, &mut b, &mut c, &mut d], 0);
    assert_eq!(waiting_names(&b), ["carol", "dave"]);
    c.machine.handle_intent(1, Intent::Cancel);
    settle_all(&mut [&mut a, &mut b, &mut c, &mut d], 1);
    assert_eq!(waiting_names(&b), ["dave"]);
    b.machine
        .handle_intent(2, Intent::DeclineWaiting { call: CallId(3) });
    settle_all(&mut [&mut a, &mut b, &mut c, &mut d], 2);
    assert_eq!(d.machine.phase(), Phase::Ended(EndReason::Declined));
    assert!(b.machine.waiting().is_empty());
    assert_eq!(b.machine.phase(), Phase::RingingIn, "alice still rings");
}

#[test]
fn only_a_few_wait_and_the_rest_hear_busy() {
    let mut b = Side::new("bob");
    let mut callers: Vec<Side> = (0..=MAX_WAITING + 1)
        .map(|i| Side::new(&format!("c{i}")))
        .collect();
    for (i, caller) in callers.iter_mut().enumerate() {
        place(caller, &b, i as u64 + 1, 0);
    }
    let mut all: Vec<&mut Side> = callers.iter_mut().collect();
    all.push(&mut b);
    settle_all(&mut all, 0);
    assert_eq!(b.machine.waiting().len(), MAX_WAITING);
    let last = callers.last().unwrap();
    assert_eq!(last.machine.phase(), Phase::Ended(EndReason::Busy));
}

#[test]
fn a_replayed_invite_does_not_ring_again() {
    let (mut a, mut b) = (Side::new("alice"), Side::new("bob"));
    call(&mut a, &b, CallMedia::AudioVideo);
    a.step(0);
    let invite = a
        .outbox
        .iter()
        .find(|(_, s)| matches!(s, Signal::Invite { .. }))
        .cloned()
        .expect("an invite")
        .1;
    settle(&mut a, &mut b, 0);
    b.machine.handle_intent(1, Intent::Reject);
    settle(&mut a, &mut b, 1);
    let rings = b.count(|e| *e == Effect::Ring(true));
    // The same invite, replayed later (by a node on the path, or a recording).
    b.machine.handle_signal(90_000, a.me.clone(), invite);
    b.step(90_000);
    assert_eq!(
        b.count(|e| *e == Effect::Ring(true)),
        rings,
        "no second ring"
    );
    assert_eq!(b.machine.phase(), Phase::Ended(EndReason::DeclinedByYou));
}
