//! One RTCPeerConnection and the closures it calls back into.

use hearsay_shared::call::IceCandidate;
use hearsay_shared::ice::IceServer;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    MediaStream, RtcConfiguration, RtcIceCandidateInit, RtcIceConnectionState, RtcIceServer,
    RtcIceTransportPolicy, RtcPeerConnection, RtcPeerConnectionIceEvent, RtcSdpType,
    RtcSessionDescriptionInit, RtcTrackEvent,
};
use yew::Callback;

use super::js_error;
use crate::call::types::IceState;

/// Where the connection's events go.
pub struct PeerEvents {
    pub candidate: Callback<IceCandidate>,
    /// The ICE connection state changed (connected, disconnected, failed…).
    pub ice_state: Callback<IceState>,
    /// The stream remote tracks arrive in (the same stream each time).
    pub remote_stream: Callback<MediaStream>,
}

pub struct PeerConnection {
    pc: RtcPeerConnection,
    remote: MediaStream,
    ice_servers: Vec<IceServer>,
    relay_only: bool,
    _on_candidate: Closure<dyn FnMut(RtcPeerConnectionIceEvent)>,
    _on_track: Closure<dyn FnMut(RtcTrackEvent)>,
    /// Called on ICE state changes and, once hooked, on changes of the selected candidate pair: both report the
    /// connection's ICE state. (After an ICE restart the browser may switch to the new path without the state ever
    /// leaving "connected"; the pair change is then the only sign the new path is up.)
    on_ice_state: Closure<dyn FnMut(web_sys::Event)>,
    /// The ICE transport whose pair changes are watched, once a description has created it.
    watched_transport: Option<wasm_bindgen::JsValue>,
}

fn configuration(servers: &[IceServer], relay_only: bool) -> RtcConfiguration {
    let list = js_sys::Array::new();
    for server in servers {
        let entry = RtcIceServer::new();
        let urls = js_sys::Array::new();
        for url in &server.urls {
            urls.push(&url.into());
        }
        entry.set_urls(&urls);
        if let Some(u) = &server.username {
            entry.set_username(u);
        }
        if let Some(c) = &server.credential {
            entry.set_credential(c);
        }
        list.push(&entry);
    }
    let config = RtcConfiguration::new();
    config.set_ice_servers(&list);
    if relay_only {
        config.set_ice_transport_policy(RtcIceTransportPolicy::Relay);
    }
    config
}

impl PeerConnection {
    /// `relay_only` forces every path through TURN (iceTransportPolicy "relay"), for tests and privacy.
    pub fn open(
        ice_servers: Vec<IceServer>,
        relay_only: bool,
        events: PeerEvents,
    ) -> Result<Self, String> {
        let pc =
            RtcPeerConnection::new_with_configuration(&configuration(&ice_servers, relay_only))
                .map_err(|e| js_error(&e))?;
        let remote = MediaStream::new().map_err(|e| js_error(&e))?;

        let on_candidate = Closure::<dyn FnMut(RtcPeerConnectionIceEvent)>::new({
            let cb = events.candidate;
            move |event: RtcPeerConnectionIceEvent| {
                if let Some(c) = event.candidate() {
                    if c.candidate().is_empty() {
                        return; // end-of-candidates marker
                    }
                    cb.emit(IceCandidate {
                        candidate: c.candidate(),
                        sdp_mid: c.sdp_mid(),
                        sdp_m_line_index: c.sdp_m_line_index(),
                    });
                }
            }
        });
        pc.set_onicecandidate(Some(on_candidate.as_ref().unchecked_ref()));

        // `Clone::clone` copies the handle; `MediaStream::clone` (web-sys's binding of the JS method) would make a
        // new stream with copies of the tracks.
        let on_track = Closure::<dyn FnMut(RtcTrackEvent)>::new({
            let remote = Clone::clone(&remote);
            let cb = events.remote_stream;
            move |event: RtcTrackEvent| {
                remote.add_track(&event.track());
                cb.emit(Clone::clone(&remote));
            }
        });
        pc.set_ontrack(Some(on_track.as_ref().unchecked_ref()));

        let on_ice_state = Closure::<dyn FnMut(web_sys::Event)>::new({
            let pc = pc.clone();
            let report = events.ice_state;
            move |_| {
                let state = match pc.ice_connection_state() {
                    RtcIceConnectionState::Connected | RtcIceConnectionState::Completed => {
                        IceState::Connected
                    }
                    RtcIceConnectionState::Disconnected => IceState::Disconnected,
                    RtcIceConnectionState::Failed => IceState::Failed,
                    RtcIceConnectionState::New | RtcIceConnectionState::Checking => {
                        IceState::Checking
                    }
                    _ => return, // closed: the call is over
                };
                report.emit(state);
            }
        });
        pc.set_oniceconnectionstatechange(Some(on_ice_state.as_ref().unchecked_ref()));

        Ok(Self {
            pc,
            remote,
            ice_servers,
            relay_only,
            _on_candidate: on_candidate,
            _on_track: on_track,
            on_ice_state,
            watched_transport: None,
        })
    }

    /// Starts reporting changes of the selected candidate pair (once the connection has an ICE transport, i.e.
    /// after a description is set). web-sys has no binding for RTCIceTransport, so it is reached by name.
    pub fn watch_selected_pair(&mut self) {
        if self.watched_transport.is_some() {
            return;
        }
        let get = |v: &wasm_bindgen::JsValue, key: &str| {
            js_sys::Reflect::get(v, &key.into())
                .ok()
                .filter(|v| !v.is_undefined() && !v.is_null())
        };
        let transport = self
            .pc
            .get_senders()
            .iter()
            .find_map(|sender| get(&sender, "transport"))
            .and_then(|dtls| get(&dtls, "iceTransport"));
        if let Some(ice) = transport {
            let _ = js_sys::Reflect::set(
                &ice,
                &"onselectedcandidatepairchange".into(),
                self.on_ice_state.as_ref().unchecked_ref(),
            );
            self.watched_transport = Some(ice);
        }
    }

    /// The stream remote tracks arrive in: always the same one.
    pub fn remote_stream(&self) -> MediaStream {
        Clone::clone(&self.remote)
    }

    /// The underlying connection, for async work that must not hold a borrow of this wrapper.
    pub fn raw(&self) -> RtcPeerConnection {
        self.pc.clone()
    }

    /// The caller's side: one audio and one video transceiver, both send-and-receive, with no tracks yet. Every
    /// call has the same two (the callee's come from the offer), so the camera, the microphone or a screen is
    /// attached with replaceTrack whenever it is ready, and no renegotiation is ever needed for it.
    pub fn add_transceivers(&self) {
        let init = web_sys::RtcRtpTransceiverInit::new();
        init.set_direction(web_sys::RtcRtpTransceiverDirection::Sendrecv);
        for kind in ["audio", "video"] {
            self.pc.add_transceiver_with_str_and_init(kind, &init);
        }
    }

    /// Replaces the STUN and TURN servers (fresh credentials, or other relays): gathering after an ICE restart
    /// uses them; allocations already made keep theirs.
    pub fn set_ice_servers(&mut self, servers: Vec<IceServer>) {
        if servers == self.ice_servers {
            return;
        }
        self.ice_servers = servers;
        let _ = self.pc.set_configuration_with_configuration(&configuration(
            &self.ice_servers,
            self.relay_only,
        ));
    }
}

impl Drop for PeerConnection {
    fn drop(&mut self) {
        self.pc.set_onicecandidate(None);
        self.pc.set_ontrack(None);
        self.pc.set_oniceconnectionstatechange(None);
        if let Some(ice) = &self.watched_transport {
            let _ = js_sys::Reflect::set(
                ice,
                &"onselectedcandidatepairchange".into(),
                &wasm_bindgen::JsValue::NULL,
            );
        }
        self.pc.close();
    }
}

fn description(kind: RtcSdpType, sdp: &str) -> RtcSessionDescriptionInit {
    let init = RtcSessionDescriptionInit::new(kind);
    init.set_sdp(sdp);
    init
}

fn sdp_of(value: wasm_bindgen::JsValue) -> Result<String, String> {
    js_sys::Reflect::get(&value, &"sdp".into())
        .ok()
        .and_then(|v| v.as_string())
        .ok_or_else(|| "the browser returned a description without SDP".into())
}

/// Creates an offer (with new ICE credentials if `ice_restart`) and sets it as the local description; returns its
/// SDP.
pub async fn create_offer(pc: &RtcPeerConnection, ice_restart: bool) -> Result<String, String> {
    let options = web_sys::RtcOfferOptions::new();
    options.set_ice_restart(ice_restart);
    let offer = JsFuture::from(pc.create_offer_with_rtc_offer_options(&options))
        .await
        .map_err(|e| js_error(&e))?;
    let sdp = sdp_of(offer)?;
    JsFuture::from(pc.set_local_description(&description(RtcSdpType::Offer, &sdp)))
        .await
        .map_err(|e| js_error(&e))?;
    Ok(sdp)
}

/// The first track of `kind` ("audio" or "video") in `stream`.
pub fn first_track(stream: &MediaStream, kind: &str) -> Option<web_sys::MediaStreamTrack> {
    let tracks = if kind == "audio" {
        stream.get_audio_tracks()
    } else {
        stream.get_video_tracks()
    };
    tracks.get(0).dyn_into().ok()
}

/// The sender of the call's video transceiver (camera or screen).
pub fn video_sender(pc: &RtcPeerConnection) -> Option<web_sys::RtcRtpSender> {
    pc.get_transceivers()
        .iter()
        .filter_map(|t| t.dyn_into::<web_sys::RtcRtpTransceiver>().ok())
        .find(|t| t.receiver().track().kind() == "video")
        .map(|t| t.sender())
}

/// Sends `track` (or nothing) on the video transceiver without renegotiating.
pub async fn replace_video(
    pc: &RtcPeerConnection,
    track: Option<&web_sys::MediaStreamTrack>,
) -> Result<(), String> {
    let sender = video_sender(pc).ok_or("the call has no video transceiver")?;
    JsFuture::from(sender.replace_track(track))
        .await
        .map_err(|e| js_error(&e))?;
    Ok(())
}

/// Puts the local tracks on the call's transceivers, each by its kind, and nothing on a transceiver whose kind
/// `local` lacks (a camera that failed after opening), without renegotiating.
pub async fn attach_tracks(pc: &RtcPeerConnection, local: &MediaStream) -> Result<(), String> {
    for transceiver in pc.get_transceivers().iter() {
        let Ok(transceiver) = transceiver.dyn_into::<web_sys::RtcRtpTransceiver>() else {
            continue;
        };
        let sender = transceiver.sender();
        let track = first_track(local, &transceiver.receiver().track().kind());
        if sender.track() != track {
            JsFuture::from(sender.replace_track(track.as_ref()))
                .await
                .map_err(|e| js_error(&e))?;
        }
    }
    Ok(())
}

/// Answers `offer`: rolls back an offer of our own first if `rollback` (the other side won a collision), sets the
/// remote offer, makes the offered transceivers send and receive (so the callee has the same two as the caller),
/// adds `candidates`, creates and sets an answer; returns its SDP.
pub async fn answer_offer(
    pc: &RtcPeerConnection,
    offer: &str,
    candidates: &[IceCandidate],
    rollback: bool,
) -> Result<String, String> {
    if rollback {
        JsFuture::from(
            pc.set_local_description(&RtcSessionDescriptionInit::new(RtcSdpType::Rollback)),
        )
        .await
        .map_err(|e| js_error(&e))?;
    }
    JsFuture::from(pc.set_remote_description(&description(RtcSdpType::Offer, offer)))
        .await
        .map_err(|e| js_error(&e))?;
    for transceiver in pc.get_transceivers().iter() {
        if let Ok(transceiver) = transceiver.dyn_into::<web_sys::RtcRtpTransceiver>() {
            transceiver.set_direction(web_sys::RtcRtpTransceiverDirection::Sendrecv);
        }
    }
    for c in candidates {
        add_candidate(pc, c).await?;
    }
    let answer = JsFuture::from(pc.create_answer())
        .await
        .map_err(|e| js_error(&e))?;
    let sdp = sdp_of(answer)?;
    JsFuture::from(pc.set_local_description(&description(RtcSdpType::Answer, &sdp)))
        .await
        .map_err(|e| js_error(&e))?;
    Ok(sdp)
}

/// Sets the remote answer and adds `candidates`.
pub async fn apply_answer(
    pc: &RtcPeerConnection,
    answer: &str,
    candidates: &[IceCandidate],
) -> Result<(), String> {
    JsFuture::from(pc.set_remote_description(&description(RtcSdpType::Answer, answer)))
        .await
        .map_err(|e| js_error(&e))?;
    for c in candidates {
        add_candidate(pc, c).await?;
    }
    Ok(())
}

pub async fn add_candidate(pc: &RtcPeerConnection, c: &IceCandidate) -> Result<(), String> {
    let init = RtcIceCandidateInit::new(&c.candidate);
    init.set_sdp_mid(c.sdp_mid.as_deref());
    init.set_sdp_m_line_index(c.sdp_m_line_index);
    JsFuture::from(pc.add_ice_candidate_with_opt_rtc_ice_candidate_init(Some(&init)))
        .await
        .map_err(|e| js_error(&e))?;
    Ok(())
}

/// Makes the browser's WebRTC engine ready before the first call, doing now the one-time work of a page's first
/// call that otherwise lands on its critical path (on the callee's side, between accepting and answering):
/// - the first RTCPeerConnection and offer (~150 ms); nothing is gathered or sent, the offer is never set;
/// - the first media element playing a call's tracks: Chromium then sets up its media player and audio output,
///   blocking the page's main thread for ~60 ms (measured as a long task between setting the offer and the
///   answer, which went out that much later). A muted, detached element plays the connection's silent receiver
///   tracks for a moment;
/// - the browser's capture service: listing the devices starts it without opening any (no camera light, no
///   prompt), and a callee's camera then opens in ~7 ms instead of ~60 ms in a fresh Chromium here, which is what
///   the caller's first picture waits for.
pub fn warm_up() {
    if let Some(devices) = web_sys::window().and_then(|w| w.navigator().media_devices().ok())
        && let Ok(listing) = devices.enumerate_devices()
    {
        wasm_bindgen_futures::spawn_local(async move {
            let _ = JsFuture::from(listing).await;
        });
    }
    wasm_bindgen_futures::spawn_local(async {
        let Ok(pc) = RtcPeerConnection::new() else {
            return;
        };
        let tracks = js_sys::Array::new();
        for kind in ["audio", "video"] {
            tracks.push(&pc.add_transceiver_with_str(kind).receiver().track());
        }
        let _ = JsFuture::from(pc.create_offer()).await;
        let player = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.create_element("video").ok())
            .and_then(|e| e.dyn_into::<web_sys::HtmlVideoElement>().ok());
        if let (Some(player), Ok(stream)) = (player, MediaStream::new_with_tracks(&tracks)) {
            player.set_muted(true);
            player.set_src_object(Some(&stream));
            let _ = player.play();
            gloo_timers::future::sleep(std::time::Duration::from_millis(500)).await;
            player.set_src_object(None);
        }
        pc.close();
    });
}
