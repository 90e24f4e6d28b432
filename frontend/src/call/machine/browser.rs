//! What the browser did or reports — media, descriptions, candidates, ICE states — and time: including ICE
//! restarts when the media path breaks.

use hearsay_shared::call::{CallMedia, SdpKind, Signal};

use super::*;

impl CallMachine {
    // ---- what the browser did ----

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
                self.effects.push_back(Effect::AttachMedia);
                if self.nego.signaled() && sending != call.sending {
                    self.send_media_state();
                }
            }
            // The other side's first picture waits for this camera: sent as soon as it is open.
            RtcEvent::CameraReady => self.effects.push_back(Effect::AttachMedia),
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
            RtcEvent::LocalOffer(offer) => self.local_offer(call, offer),
            RtcEvent::LocalAnswer(answer) => self.local_answer(call, answer),
            RtcEvent::LocalCandidate(candidate) => {
                if let Some(candidate) = self.nego.local_candidate(candidate) {
                    self.send(Signal::Candidate {
                        call: call.id,
                        candidate,
                    });
                }
            }
            RtcEvent::Ice(state) => self.ice_state(now, state),
            RtcEvent::ScreenStarted
                if matches!(self.phase, Phase::InCall | Phase::Reconnecting) =>
            {
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

    fn local_offer(&mut self, call: CallInfo, offer: String) {
        if self.nego.local_description(&offer).is_err() {
            return self.certificate_changed();
        }
        if call.role == Role::Caller && !self.nego.signaled() {
            self.send(Signal::Invite {
                call: call.id,
                media: call.sending,
                offer,
            });
            for candidate in self.nego.signaled_now() {
                self.send(Signal::Candidate {
                    call: call.id,
                    candidate,
                });
            }
            self.update_safety_code();
        } else if self.nego.making_offer() {
            self.send(Signal::Description {
                call: call.id,
                kind: SdpKind::Offer,
                sdp: offer,
            });
        }
    }

    fn local_answer(&mut self, call: CallInfo, answer: String) {
        if self.nego.local_description(&answer).is_err() {
            return self.certificate_changed();
        }
        if call.role == Role::Callee && !self.nego.signaled() {
            self.send(Signal::Accept {
                call: call.id,
                answer,
            });
            for candidate in self.nego.signaled_now() {
                self.send(Signal::Candidate {
                    call: call.id,
                    candidate,
                });
            }
            self.update_safety_code();
        } else {
            self.send(Signal::Description {
                call: call.id,
                kind: SdpKind::Answer,
                sdp: answer,
            });
        }
    }

    fn ice_state(&mut self, now: u64, state: IceState) {
        match (self.phase, state) {
            (Phase::Connecting | Phase::Reconnecting, IceState::Connected) => {
                if self.phase == Phase::Connecting
                    && let Some(c) = &mut self.call
                {
                    c.connected_at.get_or_insert(now);
                }
                self.phase = Phase::InCall;
                for timer in [Timer::Connect, Timer::Grace, Timer::Retry, Timer::GiveUp] {
                    self.timers.clear(timer);
                }
            }
            (Phase::InCall, IceState::Disconnected) => {
                self.phase = Phase::Reconnecting;
                self.timers.start(Timer::Grace, now + DISCONNECT_GRACE_MS);
                self.timers.start(Timer::GiveUp, now + RECONNECT_LIMIT_MS);
            }
            (Phase::InCall | Phase::Reconnecting, IceState::Failed) => {
                self.phase = Phase::Reconnecting;
                self.timers.start(Timer::GiveUp, now + RECONNECT_LIMIT_MS);
                self.timers.clear(Timer::Grace);
                self.restart(now);
            }
            // A first connection that fails may still succeed after a restart (e.g. with relays the node found
            // after the call began); the connect timer bounds it.
            (Phase::Connecting, IceState::Failed) if self.nego.stable() => self.restart(now),
            _ => {}
        }
    }

    /// This side's node moved to another network (its host changed networks): the old path is gone even if the
    /// browser has not noticed yet, so a call under way restarts ICE now rather than after the browser's consent
    /// checks time out and the grace period passes.
    pub fn handle_network_change(&mut self, now: u64) {
        match self.phase {
            Phase::InCall | Phase::Reconnecting => {
                self.phase = Phase::Reconnecting;
                self.timers.start(Timer::GiveUp, now + RECONNECT_LIMIT_MS);
                self.timers.clear(Timer::Grace);
                // Whatever offer was on its way asked about the old network.
                self.timers.clear(Timer::Retry);
                self.restart(now);
            }
            Phase::Connecting => {
                self.timers.clear(Timer::Retry);
                self.restart(now);
            }
            _ => {}
        }
    }

    /// Restarts ICE with a new offer (unless one is already on its way and not yet due for a retry).
    fn restart(&mut self, now: u64) {
        if !self.nego.stable() || (self.nego.making_offer() && self.timers.is_set(Timer::Retry)) {
            return;
        }
        self.nego.start_offer();
        if let Some(c) = &mut self.call {
            c.restarts += 1;
        }
        self.effects
            .push_back(Effect::CreateOffer { ice_restart: true });
        self.timers.set(Timer::Retry, now + RESTART_RETRY_MS);
    }

    // ---- time ----

    pub fn handle_timeout(&mut self, now: u64) {
        self.on_timeout(now);
        self.ring_next_waiting(now);
    }

    fn on_timeout(&mut self, now: u64) {
        for timer in self.timers.take_due(now) {
            match (timer, self.phase) {
                (Timer::Ring, Phase::RingingOut) => {
                    if let Some(id) = self.id() {
                        self.send(Signal::Cancel { call: id });
                    }
                    self.end(EndReason::NoAnswer);
                }
                (Timer::Ring, Phase::RingingIn) => self.end(EndReason::Missed),
                (Timer::Connect, Phase::Connecting) => {
                    self.fail("the connection was not made within 30 s".into())
                }
                (Timer::Grace, Phase::Reconnecting) => self.restart(now),
                (Timer::Retry, Phase::Reconnecting | Phase::Connecting) => self.restart(now),
                (Timer::GiveUp, Phase::Reconnecting) => {
                    if let Some(id) = self.id() {
                        self.send(Signal::HangUp { call: id });
                    }
                    self.end(EndReason::ConnectionLost);
                }
                _ => {}
            }
        }
    }
}
