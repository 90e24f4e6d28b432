//! What the person does: call, answer, decline, cancel, hang up, mute, camera, screen.

use hearsay_shared::call::Signal;

use super::*;

impl CallMachine {
    // ---- what the person does ----

    pub fn handle_intent(&mut self, now: u64, intent: Intent) {
        self.on_intent(now, intent);
        self.ring_next_waiting(now);
    }

    fn on_intent(&mut self, now: u64, intent: Intent) {
        match (self.phase, intent) {
            (Phase::Idle | Phase::Ended(_), Intent::Call { peer, media, call }) => {
                self.new_call(peer, call, Role::Caller, media, now);
                self.nego = Negotiation::default();
                self.phase = Phase::RingingOut;
                self.effects.push_back(Effect::AcquireMedia(media));
                self.effects.push_back(Effect::OpenPeer {
                    ice_servers: self.ice_servers.clone(),
                });
                self.effects
                    .push_back(Effect::CreateOffer { ice_restart: false });
            }
            (Phase::RingingIn, Intent::Accept { media }) => {
                self.turn_waiting_away();
                self.phase = Phase::Connecting;
                self.timers.clear(Timer::Ring);
                self.timers.set(Timer::Connect, now + CONNECT_TIMEOUT_MS);
                if let Some(call) = &mut self.call {
                    call.sending = media;
                    call.mic_on = media.audio();
                    call.camera_on = media.video();
                }
                self.effects.push_back(Effect::Ring(false));
                self.effects.push_back(Effect::AcquireMedia(media));
                self.effects.push_back(Effect::OpenPeer {
                    ice_servers: self.ice_servers.clone(),
                });
                let answer = self.nego.answer_invite();
                self.effects.push_back(answer);
            }
            (Phase::RingingIn, Intent::Reject) => {
                if let Some(id) = self.id() {
                    self.send(Signal::Reject { call: id });
                }
                self.end(EndReason::DeclinedByYou);
            }
            (Phase::RingingIn, Intent::AnswerWaiting { call, media }) => {
                let Some(at) = self.waiting.iter().position(|w| w.id == call) else {
                    return;
                };
                let chosen = self.waiting.remove(at);
                if let Some(id) = self.id() {
                    self.send(Signal::Reject { call: id });
                }
                self.end(EndReason::DeclinedByYou);
                self.ring(now, chosen);
                self.on_intent(now, Intent::Accept { media });
            }
            (_, Intent::DeclineWaiting { call }) => {
                if let Some(at) = self.waiting.iter().position(|w| w.id == call) {
                    let declined = self.waiting.remove(at);
                    self.effects.push_back(Effect::Send {
                        to: declined.peer.key,
                        signal: Signal::Reject { call },
                    });
                }
            }
            (Phase::RingingOut, Intent::Cancel) => {
                if let Some(id) = self.id() {
                    self.send(Signal::Cancel { call: id });
                }
                self.end(EndReason::CancelledByYou);
            }
            (
                Phase::Connecting | Phase::InCall | Phase::Reconnecting | Phase::RingingOut,
                Intent::HangUp,
            ) => {
                if let Some(id) = self.id() {
                    self.send(Signal::HangUp { call: id });
                }
                self.end(EndReason::HungUpByYou);
            }
            (Phase::Connecting | Phase::InCall | Phase::Reconnecting, Intent::SetMic(on)) => {
                self.set_media(Some(on), None)
            }
            (Phase::Connecting | Phase::InCall | Phase::Reconnecting, Intent::SetCamera(on)) => {
                self.set_media(None, Some(on))
            }
            (Phase::InCall | Phase::Reconnecting, Intent::SetScreen(on)) => {
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

    pub(super) fn send_media_state(&mut self) {
        let Some(call) = &self.call else { return };
        let signal = Signal::MediaState {
            call: call.id,
            mic_on: call.mic_on,
            camera_on: call.camera_on,
            screen_on: call.screen_on,
        };
        self.send(signal);
    }

    pub(super) fn screen_stopped(&mut self) {
        if let Some(call) = &mut self.call {
            call.screen_on = false;
        }
        self.send_media_state();
    }
}
