//! Carries out the call machine's connection and media effects with the browser's objects: the
//! RTCPeerConnection, the camera and microphone, a shared screen, the ring. It owns them (and through them their
//! closures), reports what happened as [`RtcEvent`]s, and decides nothing: every rule is the machine's.
//!
//! Cheap to clone; clones drive the same objects. No borrow is held across an `await`, so browser callbacks may
//! arrive while an effect is in flight. Media streams are copied with `Clone::clone` (a handle): web-sys's
//! `MediaStream::clone` is the JS method that makes a new stream of new tracks.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use hearsay_shared::call::{CallMedia, IceCandidate};
use hearsay_shared::ice::IceServer;
use web_sys::{MediaStream, RtcPeerConnection};
use yew::Callback;

use super::types::RtcEvent;
use crate::rtc::{self, LocalMedia, PeerConnection, PeerEvents, Ringer, ScreenShare};

#[derive(Default)]
struct Parts {
    peer: Option<PeerConnection>,
    local: Option<LocalMedia>,
    screen: Option<ScreenShare>,
    ringer: Option<Ringer>,
    /// Counts closed calls: a camera that opens after its call ended is closed again at once.
    session: u64,
    /// Counts ring starts and stops: a ring that starts after it was stopped is dropped at once.
    ringing: u64,
}

#[derive(Clone)]
pub struct PeerExecutor {
    parts: Rc<RefCell<Parts>>,
    /// Every path through TURN (iceTransportPolicy "relay"): the node's `--testing-relay-only`.
    relay_only: Rc<Cell<bool>>,
    report: Callback<RtcEvent>,
    /// Streams changed (a camera opened, remote tracks arrived): the view should be rebuilt.
    changed: Callback<()>,
}

impl PeerExecutor {
    pub fn new(report: Callback<RtcEvent>, changed: Callback<()>) -> Self {
        Self {
            parts: Rc::default(),
            relay_only: Rc::default(),
            report,
            changed,
        }
    }

    /// Forces every later connection through TURN, or not.
    pub fn set_relay_only(&self, relay_only: bool) {
        self.relay_only.set(relay_only);
    }

    /// The connection, for the data channels and stats.
    pub fn raw(&self) -> Option<RtcPeerConnection> {
        self.parts.borrow().peer.as_ref().map(PeerConnection::raw)
    }

    /// What this side shows as its own picture: the shared screen, else the camera.
    pub fn local_stream(&self) -> Option<MediaStream> {
        let parts = self.parts.borrow();
        parts
            .screen
            .as_ref()
            .map(|s| Clone::clone(&s.stream))
            .or_else(|| parts.local.as_ref().map(|l| Clone::clone(&l.stream)))
    }

    pub fn remote_stream(&self) -> Option<MediaStream> {
        self.parts
            .borrow()
            .peer
            .as_ref()
            .map(PeerConnection::remote_stream)
    }

    /// Makes the connection; returns it for the data channels.
    pub fn open(&self, ice_servers: Vec<IceServer>) -> Result<RtcPeerConnection, String> {
        let (report, changed) = (self.report.clone(), self.changed.clone());
        let events = PeerEvents {
            candidate: Callback::from({
                let report = report.clone();
                move |c| report.emit(RtcEvent::LocalCandidate(c))
            }),
            ice_state: Callback::from(move |state| report.emit(RtcEvent::Ice(state))),
            remote_stream: Callback::from(move |_| changed.emit(())),
        };
        let peer = PeerConnection::open(ice_servers, self.relay_only.get(), events)
            .map_err(|err| format!("could not open a connection: {err}"))?;
        let raw = peer.raw();
        self.parts.borrow_mut().peer = Some(peer);
        self.changed.emit(());
        Ok(raw)
    }

    /// Opens the camera and microphone beside the other effects: reports CameraReady as soon as the camera is open
    /// (its picture can go out while the microphone still opens), then MediaReady or MediaUnavailable.
    pub fn acquire(&self, media: CallMedia) {
        let session = self.parts.borrow().session;
        // Asked for here, not when the task below first runs: the other effects of this turn (making the
        // connection, answering) would go first and delay the camera.
        let requested = rtc::request_capture(media);
        let this = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let (camera, microphone) = match requested {
                Ok(pending) => pending,
                Err(reason) => {
                    return this.report.emit(RtcEvent::MediaUnavailable {
                        wanted: media,
                        reason,
                    });
                }
            };
            let camera = async {
                let opened = rtc::opened_track(camera, media).await;
                if let Ok(Some(track)) = &opened
                    && this.keep_local(session, track)
                {
                    this.report.emit(RtcEvent::CameraReady);
                    this.changed.emit(());
                }
                opened
            };
            let (camera, microphone) = futures::join!(camera, rtc::opened_track(microphone, media));
            let event = match (camera, microphone) {
                (Ok(_), Ok(microphone)) => {
                    if let Some(track) = &microphone
                        && !this.keep_local(session, track)
                    {
                        return;
                    }
                    RtcEvent::MediaReady { sending: media }
                }
                (camera, microphone) => {
                    let reason = [&camera, &microphone]
                        .into_iter()
                        .find_map(|r| r.as_ref().err().cloned())
                        .unwrap_or_default();
                    // Whatever did open is closed again (the camera may already be in the call's stream).
                    for track in [camera, microphone].into_iter().flatten().flatten() {
                        track.stop();
                    }
                    let mut parts = this.parts.borrow_mut();
                    if parts.session != session {
                        return;
                    }
                    parts.local = None;
                    RtcEvent::MediaUnavailable {
                        wanted: media,
                        reason,
                    }
                }
            };
            this.report.emit(event);
            this.changed.emit(());
        });
    }

    /// Adds an opened device's track to this call's local media; false (and the device closed again) if the call
    /// ended meanwhile.
    fn keep_local(&self, session: u64, track: &web_sys::MediaStreamTrack) -> bool {
        let mut parts = self.parts.borrow_mut();
        if parts.session != session {
            track.stop();
            return false;
        }
        if parts.local.is_none() {
            match LocalMedia::new() {
                Ok(local) => parts.local = Some(local),
                Err(_) => {
                    track.stop();
                    return false;
                }
            }
        }
        if let Some(local) = &parts.local {
            local.add(track);
        }
        true
    }

    /// Puts the camera and microphone on the transceivers.
    pub async fn attach(&self) {
        let (pc, local, sharing) = {
            let parts = self.parts.borrow();
            (
                parts.peer.as_ref().map(PeerConnection::raw),
                parts.local.as_ref().map(|l| Clone::clone(&l.stream)),
                parts.screen.is_some(),
            )
        };
        let (Some(pc), Some(local)) = (pc, local) else {
            return;
        };
        if let Err(err) = rtc::peer::attach_tracks(&pc, &local).await {
            self.report.emit(RtcEvent::Failed(format!(
                "could not send the camera: {err}"
            )));
        }
        if sharing {
            // The screen stays on the video sender while it is shared.
            let screen = self
                .parts
                .borrow()
                .screen
                .as_ref()
                .map(|s| Clone::clone(&s.track));
            let _ = rtc::peer::replace_video(&pc, screen.as_ref()).await;
        }
    }

    pub async fn create_offer(&self, ice_restart: bool) {
        let Some(pc) = self.raw() else { return };
        if pc.get_transceivers().length() == 0 {
            // The first offer carries the call's audio and video transceivers.
            if let Some(peer) = &self.parts.borrow().peer {
                peer.add_transceivers();
            }
        }
        self.report
            .emit(match rtc::peer::create_offer(&pc, ice_restart).await {
                Ok(sdp) => RtcEvent::LocalOffer(sdp),
                Err(err) => RtcEvent::Failed(format!("could not make an offer: {err}")),
            });
    }

    pub async fn answer(&self, offer: String, candidates: Vec<IceCandidate>, rollback: bool) {
        let Some(pc) = self.raw() else { return };
        let answered = rtc::peer::answer_offer(&pc, &offer, &candidates, rollback).await;
        self.watch_selected_pair();
        self.report.emit(match answered {
            Ok(sdp) => RtcEvent::LocalAnswer(sdp),
            Err(err) => RtcEvent::Failed(format!("could not answer: {err}")),
        });
    }

    fn watch_selected_pair(&self) {
        if let Some(peer) = self.parts.borrow_mut().peer.as_mut() {
            peer.watch_selected_pair();
        }
    }

    pub async fn apply_answer(&self, answer: String, candidates: Vec<IceCandidate>) {
        let Some(pc) = self.raw() else { return };
        let applied = rtc::peer::apply_answer(&pc, &answer, &candidates).await;
        self.watch_selected_pair();
        if let Err(err) = applied {
            self.report
                .emit(RtcEvent::Failed(format!("could not use the answer: {err}")));
        }
    }

    pub async fn add_candidate(&self, candidate: IceCandidate) {
        let Some(pc) = self.raw() else { return };
        // One bad candidate (or one of an ICE generation that is gone) does not doom the call.
        let _ = rtc::peer::add_candidate(&pc, &candidate).await;
    }

    pub fn update_ice_servers(&self, servers: Vec<IceServer>) {
        if let Some(peer) = self.parts.borrow_mut().peer.as_mut() {
            peer.set_ice_servers(servers);
        }
    }

    /// Mutes or unmutes the microphone (`audio`) or the camera.
    pub fn set_enabled(&self, audio: bool, on: bool) {
        if let Some(local) = &self.parts.borrow().local {
            local.set_enabled(audio, on);
        }
    }

    /// Shares a screen instead of the camera (reporting ScreenStarted / ScreenUnavailable), or goes back.
    pub async fn set_screen(&self, on: bool) {
        let Some(pc) = self.raw() else { return };
        if on {
            let report = self.report.clone();
            let shared = match rtc::share_screen(move || report.emit(RtcEvent::ScreenEnded)).await {
                Ok(screen) => rtc::peer::replace_video(&pc, Some(&screen.track))
                    .await
                    .map(|()| screen),
                Err(err) => Err(err),
            };
            match shared {
                Ok(screen) => {
                    self.parts.borrow_mut().screen = Some(screen);
                    self.report.emit(RtcEvent::ScreenStarted);
                }
                Err(err) => self.report.emit(RtcEvent::ScreenUnavailable(err)),
            }
        } else {
            let (screen, camera) = {
                let mut parts = self.parts.borrow_mut();
                let camera = parts.local.as_ref().map(|l| Clone::clone(&l.stream));
                (parts.screen.take(), camera)
            };
            drop(screen); // stops the capture
            let track = camera
                .as_ref()
                .and_then(|s| rtc::peer::first_track(s, "video"));
            if let Err(err) = rtc::peer::replace_video(&pc, track.as_ref()).await {
                self.report.emit(RtcEvent::ScreenUnavailable(format!(
                    "could not switch back to the camera: {err}"
                )));
            }
        }
        self.changed.emit(());
    }

    /// Rings for `caller`, or stops. The ring starts beside the other effects: a page's first AudioContext takes
    /// ~140 ms to make, and an answer must not wait for a ring tone.
    pub fn ring(&self, caller: Option<String>) {
        let session = {
            let mut parts = self.parts.borrow_mut();
            parts.ringer = None;
            parts.ringing += 1;
            parts.ringing
        };
        let Some(caller) = caller else { return };
        let parts = self.parts.clone();
        wasm_bindgen_futures::spawn_local(async move {
            if parts.borrow().ringing != session {
                return; // answered (or ended) before the ring got to start: no tone at all
            }
            let ringer = Ringer::start(&caller);
            let mut parts = parts.borrow_mut();
            if parts.ringing == session {
                parts.ringer = Some(ringer); // else: stopped meanwhile
            }
        });
    }

    /// Closes the connection and releases the camera, microphone and screen.
    pub fn close(&self) {
        let old = {
            let mut parts = self.parts.borrow_mut();
            let session = parts.session + 1;
            std::mem::replace(
                &mut *parts,
                Parts {
                    session,
                    ..Parts::default()
                },
            )
        };
        // Dropped outside the borrow: their Drop impls unhook closures and stop tracks.
        drop(old);
        self.changed.emit(());
    }
}
